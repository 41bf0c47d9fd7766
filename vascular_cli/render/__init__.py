"""Output formats, registered in one place. Each renderer is imported only when used (rich is heavy)."""

from __future__ import annotations

import importlib

# format name -> "module:function"
RECOMMEND = {
    "table": "table:render",
    "json": "json_out:render",
    "jsonl": "jsonl:render",
    "markdown": "markdown:render",
}
VALIDATE = {
    "text": "problems:text",
    "json": "problems:json",
    "github": "problems:github",
    "sarif": "problems:sarif",
}


def get(registry: dict, name: str):
    module, func = registry[name].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), func)
