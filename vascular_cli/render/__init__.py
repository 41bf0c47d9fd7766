"""Output formats, registered in one place. Each renderer is imported only when used (rich is heavy)."""

from __future__ import annotations

import importlib
from typing import Any

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

LIST = {"table": "info:list_text", "json": "info:list_json"}
SHOW = {"text": "info:show_text", "json": "info:show_json"}
VOCAB = {"text": "info:vocab_text", "json": "info:vocab_json"}
CEAP = {"text": "info:ceap_text", "json": "info:ceap_json"}


def names(registry: dict) -> str:
    """'a, b or c': the format names of a registry, for help texts."""
    keys = list(registry)
    return ", ".join(keys[:-1]) + " or " + keys[-1] if len(keys) > 1 else keys[0]


def get(registry: dict, name: str) -> Any:
    module, func = registry[name].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), func)
