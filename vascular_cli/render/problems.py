"""Validation output formats: text (file:line:col), json, github annotations, SARIF 2.1.0."""

from __future__ import annotations

import json as _json
from typing import Any

from .. import __version__
from ..checks import REGISTRY


def _summary(problems: Any) -> dict:
    errors = sum(p.level == "error" for p in problems)
    return {"errors": errors, "warnings": len(problems) - errors}


def text(problems: Any, files: Any) -> str:
    return "".join(f"{p}\n" for p in problems)


def json(problems: Any, files: Any) -> str:
    doc = {
        "schema": "vascular.validate/1",
        "tool": {"name": "vascular", "version": __version__},
        "files": [{"path": f.path, "kind": f.kind, "sha256": f.sha256} for f in files],
        "problems": [{"path": p.path, "line": p.line, "col": p.col, "code": p.code, "rule": REGISTRY[p.code].name,
                      "level": p.level, "message": p.message} for p in problems],
        "summary": _summary(problems),
    }
    return _json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _gh_escape(s: str, prop: bool = False) -> str:
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return s.replace(":", "%3A").replace(",", "%2C") if prop else s


def github(problems: Any, files: Any) -> str:
    lines = []
    for p in problems:
        kind = "error" if p.level == "error" else "warning"
        title = f"{p.code} {REGISTRY[p.code].name}"
        lines.append(f"::{kind} file={_gh_escape(p.path, True)},line={p.line},col={p.col},"
                     f"title={_gh_escape(title, True)}::{_gh_escape(p.message)}\n")
    return "".join(lines)


def sarif(problems: Any, files: Any) -> str:
    rules = [{
        "id": c.code, "name": c.name,
        "shortDescription": {"text": c.title},
        "fullDescription": {"text": c.doc},
        "defaultConfiguration": {"level": "error" if c.level == "error" else "warning"},
        "helpUri": f"https://github.com/vascular/vascular/blob/main/docs/checks.md#{c.code.lower()}-{c.name}",
    } for c in REGISTRY.values()]
    index = {c.code: i for i, c in enumerate(REGISTRY.values())}
    results = [{
        "ruleId": p.code, "ruleIndex": index[p.code],
        "level": "error" if p.level == "error" else "warning",
        "message": {"text": p.message},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": p.path.replace("\\", "/")},
            "region": {"startLine": p.line, "startColumn": p.col},
        }}],
    } for p in problems]
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "vascular", "version": __version__, "semanticVersion": __version__,
                                "informationUri": "https://github.com/vascular/vascular", "rules": rules}},
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    }
    return _json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
