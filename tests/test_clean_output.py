"""Issue 11 point 4: recommend output is clinician-facing text only. Every recommendation of the bundled knowledge
base is rendered in every format (and by `vascular show` without --provenance), and the rendered text must not
carry transcription provenance: maintainer-only fields, or the tokens that betray them."""

import io
import json
import re

import pytest
from conftest import cli

ALL = ("recommend", "--all", "--detail", "--explain", "--include-unverified", "--include-superseded")
FORMATS = ("table", "markdown", "json", "jsonl")
BANNED = [r"(?i)dossier", r"SCRAPE", r"(?i)medsquares", r"\bMSQ\b", r"(?i)\bpage id", r"\bOCR\b",
          r"as_extracted", r"(?i)per the table copy", r"(?i)seed-attributed", r"(?i)scope only"]
MAINTAINER_FIELDS = ("source", "source_reliability", "number_basis", "uncertain", "note", "provenance")


def _source_keys(kb):
    """Keys of the documents' `sources` maps that cannot be ordinary words (they have a digit or a hyphen)."""
    keys = {k for g in kb.guidelines for k in g.sources if re.search(r"[\d-]", k)} | {"GIGHZ"}
    return [r"\b" + re.escape(k) + r"\b" for k in sorted(keys)]


def _rendered(fmt):
    """What a clinician reads: the whole output of text formats; JSON without its `provenance` objects."""
    out = cli(*ALL, "--format", fmt, env={"COLUMNS": "200"}).out
    if fmt not in ("json", "jsonl"):
        return out
    docs = [json.loads(out)] if fmt == "json" else [json.loads(x) for x in out.splitlines()]
    items = [i for d in docs for i in d.get("recommendations", [d])]
    for i in items:
        i.pop("provenance", None)
    return json.dumps(docs + items, ensure_ascii=False)


def _show_all(kb):
    from vascular_cli.render.info import show_text

    buf = io.StringIO()
    for r in kb.recommendations:
        show_text(kb, r, buf, width=200)
    return buf.getvalue()


def test_every_recommendation_is_rendered(kb):
    text = _rendered("table")
    missing = [r.full_id for r in kb.recommendations if r.kind == "recommendation" and r.full_id not in text]
    assert missing == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_maintainer_fields_are_never_rendered(kb, fmt):
    text = _rendered(fmt)
    leaks = []
    for r in kb.recommendations:
        shown = {r.statement, r.locator, r.number or ""}
        for name in MAINTAINER_FIELDS:
            value = getattr(r, name)
            if value and len(value) > 25 and value not in shown and not any(value in s for s in shown):
                if value in text:
                    leaks.append((r.full_id, name))
    assert leaks == []


def test_show_keeps_provenance_behind_its_option(kb):
    r = next(r for r in kb.recommendations if r.source and len(r.source) > 25)
    assert r.source not in cli("show", r.full_id, env={"COLUMNS": "200"}).out
    assert r.source in cli("show", r.full_id, "--provenance", env={"COLUMNS": "200"}).out


@pytest.mark.parametrize("fmt", FORMATS + ("show",))
def test_rendered_text_has_no_provenance_tokens(kb, fmt):
    text = _show_all(kb) if fmt == "show" else _rendered(fmt)
    found = sorted({m.group(0) for pattern in BANNED + _source_keys(kb) for m in re.finditer(pattern, text)})
    assert found == []
