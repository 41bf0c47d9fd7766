"""JSON output: the public contract ``vascular.recommend/1`` (see docs/json-contract.md).

Layout: top-level keys one per line, each recommendation as one compact line. It reads well, greps well, and uses
the C JSON encoder (``indent`` would force the pure-Python one, several times slower on large results)."""

from __future__ import annotations

import json
from typing import Any

from .common import header

_compact = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode


def dumps(doc: dict) -> str:
    lines = ["{"]
    keys = list(doc)
    for i, key in enumerate(keys):
        value = doc[key]
        comma = "," if i < len(keys) - 1 else ""
        if isinstance(value, list) and value:
            items = ",\n".join(f"    {_compact(v)}" for v in value)
            lines.append(f"  {_compact(key)}: [\n{items}\n  ]{comma}")
        else:
            lines.append(f"  {_compact(key)}: {_compact(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(kb: Any, result: Any, out: Any, *, include_all: bool = False, explain: bool = False,
           detail: bool = False) -> None:
    out.write(dumps(header(kb, result)))
