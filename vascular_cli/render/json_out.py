"""JSON output: the public contract ``vascular.recommend/1`` (see docs/json-contract.md).

Layout: top-level keys one per line, each recommendation as one compact line. It reads well, greps well, and uses
the C JSON encoder (``indent`` would force the pure-Python one, several times slower on large results)."""

from __future__ import annotations

import json
from typing import Any

from .common import header

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))


def _chunk_encoder() -> Any:
    """value -> its JSON in chunks, one C encoder for every value of the answer (``JSONEncoder.encode`` builds one
    per call, then joins: a third of the time on the 432 recommendations). Without the C encoder, or if its
    signature changed: ``encode``, as one chunk."""
    make: Any = getattr(json.encoder, "c_make_encoder", None)  # None without the C accelerator: TypeError below
    try:
        encode = make(None, _ENCODER.default, json.encoder.encode_basestring, None, ": ", ", ", False, False, True)
        if "".join(encode({"a": [1.5, None, "é"]}, 0)) == _ENCODER.encode({"a": [1.5, None, "é"]}):
            return encode
    except Exception:  # pragma: no cover - depends on the Python version
        pass
    return lambda value, level: (_ENCODER.encode(value),)  # pragma: no cover


_chunks = _chunk_encoder()


def dumps(doc: dict) -> str:
    parts = ["{\n"]
    last = len(doc) - 1
    for i, (key, value) in enumerate(doc.items()):
        parts.append("  ")
        parts.extend(_chunks(key, 0))
        parts.append(": ")
        if isinstance(value, list) and value:
            parts.append("[\n")
            for item in value:
                parts.append("    ")
                parts.extend(_chunks(item, 0))
                parts.append(",\n")
            parts[-1] = "\n  ]"
        else:
            parts.extend(_chunks(value, 0))
        parts.append(",\n" if i < last else "\n")
    parts.append("}\n")
    return "".join(parts)


def render(kb: Any, result: Any, out: Any, *, include_all: bool = False, explain: bool = False,
           detail: bool = False) -> None:
    out.write(dumps(header(kb, result)))
