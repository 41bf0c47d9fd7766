"""vascular: computable, graded, explainable venous-disease guideline recommendations.

The library API (the CLI is one front end over it; a FHIR or CDS Hooks front end is another)::

    import vascular_cli as vascular
    kb = vascular.load()                                  # bundled guidelines (load(["my/dir"]) adds a directory)
    result = vascular.evaluate(kb, {"ceap": "C6", "lesion": ["chronic-occlusion"]})  # a document or a Profile
    for m in result.by_status("applies"):
        print(m.rec.full_id, m.rec.statement)
    for fact, up_to, certainly in result.ask_next():      # fact ids, e.g. 'factor:arterial-disease', 'severity'
        ...
    problems = vascular.validate(["guidelines/"])         # list of Problem (file, line, col, code, message)

The library names facts and fields, never command-line options; errors are InputError with ``field``, ``value``,
``valid`` and ``kind`` for each front end to word in its own terms.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

DISCLAIMER = ("Decision support for clinicians, not a substitute for clinical judgement; "
              "check each recommendation against its source.")

_LAZY = {
    "Engine": "engine", "Result": "engine", "DataError": "errors", "InputError": "errors", "VascularError": "errors",
    "KnowledgeBase": "loader", "load": "loader", "Match": "model", "Problem": "model", "Profile": "model",
    "Recommendation": "model",
}


def __getattr__(name: str) -> Any:
    """Import on first use, so ``vascular --version`` and the cached start-up path stay lean."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def validate(paths: Any = None, bundled: bool = True) -> list:
    """Every problem (list of Problem) found in the given files/directories (the bundled set when ``paths`` is None).
    Given paths are checked together with the bundled knowledge base (``bundled=False``: on their own); problems of
    the bundled files themselves are not included."""
    from .loader import load, reported

    return reported(load(paths, bundled=bundled))


def make_profile(kb: Any, **values: Any) -> Any:
    """Build a profile from keyword values (ceap, lesion, bleeding_risk, severity, symptom_days, factors, abi,
    ankle_pressure, toe_pressure, pregnancy_trimester, id: the keys of fields.FIELDS). Raises InputError naming
    any bad value."""
    from . import profile

    return profile.build(kb.vocabulary, **values)


def evaluate(kb: Any, profile: Any, **options: Any) -> Any:
    """Match a profile against the knowledge base. ``profile``: a Profile, or a profile document (a mapping with
    the keys of the profile format: ceap, lesion, factors, ...). Options: include_superseded, sources,
    include_unverified. Returns a Result (matches with status, findings, conflicts; ``ask_next()``)."""
    from .engine import Engine
    from .errors import DataError
    from .model import Profile

    if kb.errors:
        raise DataError(f"{len(kb.errors)} problem(s) in the guideline data", kb.errors)
    if not isinstance(profile, Profile):
        from .profile import from_mapping

        profile = from_mapping(kb.vocabulary, profile)
    return Engine(kb).evaluate(profile, **options)


__all__ = ["DISCLAIMER", "DataError", "Engine", "InputError", "KnowledgeBase", "Match", "Problem", "Profile",
           "Recommendation", "Result", "VascularError", "__version__", "evaluate", "load", "make_profile", "validate"]
