"""Reading the FHIR code mapping file for a run (kept apart from mapping.py, which the validation checks import,
so that the checks never reach the loader through it)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..model import Problem
from .mapping import FILENAME, KIND, Mapping, build, problems


def find(guidelines: Any = None) -> Path:
    """The mapping file a run uses: ``fhir-mapping.yaml`` in a ``--guidelines`` directory, else the bundled one."""
    from ..paths import bundled_dir

    for g in guidelines or ():
        candidate = Path(g) / FILENAME if Path(g).is_dir() else Path(g)
        if candidate.name == FILENAME and candidate.is_file():
            return candidate
    return bundled_dir() / FILENAME


def load_mapping(path: str | Path | None = None, vocabulary: Any = None) -> Mapping:
    """Read and check a mapping file (the bundled one by default). Problems raise DataError (exit 1)."""
    from ..errors import DataError
    from ..loader import SourceFile, _display, read_bytes
    from ..paths import bundled_dir
    from ..yamlio import YAMLProblem, decode, loads

    path = Path(path) if path is not None else find()
    display = f"<bundled>/{FILENAME}" if path == bundled_dir() / FILENAME else _display(path)
    try:
        data = read_bytes(path)
    except OSError as e:
        raise DataError(f"FHIR mapping {display}: cannot read ({e.strerror})") from None
    src = SourceFile(display, hashlib.sha256(data).hexdigest())
    try:
        src.tree = loads(decode(data))
    except YAMLProblem as e:
        problem = Problem(display, e.line, e.col, e.code, e.message)
        raise DataError(f"FHIR mapping {display}: invalid", [problem]) from None
    src.kind = KIND
    if not isinstance(src.tree, dict) or KIND not in src.tree:
        raise DataError(f"FHIR mapping {display}: no top-level '{KIND}' key")
    probs = [x for x in problems(src, vocabulary) if x.level == "error"]
    if probs:
        raise DataError(f"{len(probs)} error(s) in the FHIR mapping {display}", probs)
    return build(src.tree, display, src.sha256)
