"""JSON Lines output for one profile (log pipelines, grep): a header line, then one line per recommendation."""

from __future__ import annotations

import json
from typing import Any

from .common import header

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def render(kb: Any, result: Any, out: Any, *, include_all: bool = False, explain: bool = False,
           detail: bool = False) -> None:
    doc = header(kb, result)
    items = doc.pop("recommendations")
    doc["schema"] = "vascular.recommend.jsonl/2"
    out.write(_dumps(doc) + "\n")
    for item in items:
        out.write(_dumps(item) + "\n")
