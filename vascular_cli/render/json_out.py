"""JSON output: the public contract ``vascular.recommend/1`` (see docs/json-contract.md)."""

from __future__ import annotations

import json

from .common import header


def render(kb, result, out, *, include_all: bool = False, explain: bool = False) -> None:
    out.write(json.dumps(header(kb, result, include_all or explain), indent=2, ensure_ascii=False) + "\n")
