"""What the CLI needs for FHIR (imported only by ``recommend --fhir/--fhir-bundles`` and ``export``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, cast

from ..errors import InputError
from .bundle import MAX_BUNDLE_BYTES, FhirProfile, parse_json, profile_from_bundle
from .load import find, load_mapping
from .mapping import Mapping


def mapping_for(kb: Any, guidelines: Any) -> Mapping:
    return load_mapping(find(guidelines), kb.vocabulary)


def read_bundle(path: str) -> str:
    """The text of a --fhir file (or stdin), at most MAX_BUNDLE_BYTES, UTF-8."""
    name = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_BUNDLE_BYTES + 1)
        else:
            with open(path, "rb") as f:
                data = f.read(MAX_BUNDLE_BYTES + 1)
    except OSError as e:
        raise InputError(f"--fhir {path!r}: cannot read ({e.strerror})") from None
    if len(data) > MAX_BUNDLE_BYTES:
        raise InputError(f"{name}: the Bundle is larger than the {MAX_BUNDLE_BYTES // (1024 * 1024)} MiB limit")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{name}: invalid UTF-8 at byte {e.start + 1}") from None


def document(kb: Any, path: str, guidelines: Any = None) -> tuple[dict, FhirProfile]:
    """(profile document, FhirProfile) for ``--fhir PATH``; every problem is one InputError line (exit 2)."""
    name = "<stdin>" if path == "-" else path
    bundle, error = parse_json(read_bundle(path), name)
    if error:
        raise InputError(error)
    fp = profile_from_bundle(bundle, mapping_for(kb, guidelines), kb.vocabulary)
    if fp.errors:
        raise InputError(f"{name}: {fp.message()}")
    return dict(cast(dict, fp.document)), fp  # no errors: the document is set


def converter(kb: Any, guidelines: Any = None) -> Callable[[Any], tuple[dict | None, str | None]]:
    """For batch mode: a parsed NDJSON line (a Bundle) -> (profile document, None) or (None, error)."""
    mapping = mapping_for(kb, guidelines)

    def convert(doc: Any) -> tuple[dict | None, str | None]:
        fp = profile_from_bundle(doc, mapping, kb.vocabulary)
        return (None, fp.message()) if fp.errors else (fp.document, None)

    return convert


def with_fhir(render: Callable[..., None], fmt: str, fp: FhirProfile) -> Callable[..., None]:
    """``render`` with the FHIR provenance added (see render_with_fhir)."""
    return lambda kb, result, out, **kwargs: render_with_fhir(render, fmt, fp, kb, result, out, **kwargs)


def render_with_fhir(render: Callable[..., None], fmt: str, fp: FhirProfile, kb: Any, result: Any, out: Any,
                     **kwargs: Any) -> None:
    """The recommend output with the ``fhir`` object (provenance per fact, ignored codes) added: the one place
    where FHIR input changes the output. json/jsonl: a top-level ``fhir`` key (jsonl: on the header line);
    table/markdown: a one-line summary on stderr."""
    import io

    if fmt not in ("json", "jsonl"):
        render(kb, result, out, **kwargs)
        facts = len(fp.provenance)
        print(f"vascular: FHIR {fp.patient}: {facts} fact(s) from the Bundle, {len(fp.ignored)} item(s) ignored "
              "(--format json lists them)", file=sys.stderr)
        return
    buf = io.StringIO()
    render(kb, result, buf, **kwargs)
    text = buf.getvalue()
    if fmt == "json":
        from ..render.json_out import dumps

        doc = json.loads(text)
        out.write(dumps(_insert(doc, fp.to_json())))
    else:
        head, _, rest = text.partition("\n")
        doc = _insert(json.loads(head), fp.to_json())
        out.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n" + rest)


def _insert(doc: dict, fhir: dict) -> dict:
    """``fhir`` right after ``profile`` (it explains where the profile came from)."""
    out = {}
    for k, v in doc.items():
        out[k] = v
        if k == "profile":
            out["fhir"] = fhir
    out.setdefault("fhir", fhir)
    return out
