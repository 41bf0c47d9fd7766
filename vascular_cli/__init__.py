"""vascular: computable, graded, explainable venous-disease guideline recommendations.

The library API (the CLI is a thin layer over it)::

    import vascular_cli as vascular
    kb = vascular.load()                                  # bundled guidelines (load(["my/dir"]) adds a directory)
    profile = vascular.make_profile(kb, ceap="C6", lesion=["chronic-occlusion"])
    result = vascular.evaluate(kb, profile)
    for m in result.by_status("applies"):
        print(m.rec.full_id, m.rec.statement)
    problems = vascular.validate(["guidelines/"])         # list of Problem (file, line, col, code, message)
"""

from __future__ import annotations

__version__ = "0.1.0"

DISCLAIMER = ("Decision support for clinicians, not a substitute for clinical judgement; "
              "check each recommendation against its source.")

_LAZY = {
    "Engine": "engine", "Result": "engine", "DataError": "errors", "InputError": "errors", "VascularError": "errors",
    "KnowledgeBase": "loader", "load": "loader", "Match": "model", "Problem": "model", "Profile": "model",
    "Recommendation": "model",
}


def __getattr__(name: str):
    """Import on first use, so ``vascular --version`` and the cached start-up path stay lean."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def validate(paths=None, bundled=True):
    """Every problem (list of Problem) found in the given files/directories (the bundled set when ``paths`` is None).
    Given paths are checked together with the bundled knowledge base (``bundled=False``: on their own); problems of
    the bundled files themselves are not included."""
    from .loader import load, reported

    return reported(load(paths, bundled=bundled))


def make_profile(kb, **values):
    """Build a profile from keyword values (ceap, lesion, bleeding_risk, severity, symptom_days, factors, abi,
    ankle_pressure, toe_pressure, id). Raises InputError naming any bad value."""
    from . import profile

    return profile.build(kb.vocabulary, **values)


def evaluate(kb, profile, **options):
    """Match a profile against the knowledge base (options: include_superseded, sources)."""
    from .engine import Engine
    from .errors import DataError

    if kb.errors:
        raise DataError(f"{len(kb.errors)} problem(s) in the guideline data", kb.errors)
    return Engine(kb).evaluate(profile, **options)


__all__ = ["DISCLAIMER", "DataError", "Engine", "InputError", "KnowledgeBase", "Match", "Problem", "Profile",
           "Recommendation", "Result", "VascularError", "__version__", "evaluate", "load", "make_profile", "validate"]
