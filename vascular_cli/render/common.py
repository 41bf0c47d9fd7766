"""Shared helpers for renderers: grades, terminal/Markdown escaping, the JSON view of a match."""

from __future__ import annotations

import re

from .. import DISCLAIMER, __version__
from ..engine import supply

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

COMMON_NOTE = ("'common' is a tool convention for ordering (strong > conditional > weak); "
               "the native grade is authoritative and no source defines a mapping between systems.")


def clean(text) -> str:
    """Text from guideline files with control characters (ANSI escapes...) removed, for any output."""
    return _CONTROL.sub("", str(text)) if text is not None else ""


def md(text) -> str:
    """Escape text for Markdown (tables included)."""
    s = clean(text).replace("\\", "\\\\")
    for ch in "`*_[]<>|#!~":
        s = s.replace(ch, "\\" + ch)
    return s.replace("\n", " ")


def grade(kb, rec) -> dict:
    system = kb.grading.get(rec.guideline.grading)
    code = system.strength.get(rec.strength) if system and rec.strength else None
    ev = system.evidence.get(rec.evidence) if system and rec.evidence else None
    return {
        "display": system.describe(rec.strength, rec.evidence, rec.rating) if system else "",
        "strength": {"system": rec.guideline.grading, "code": rec.strength, "label": code.label if code else None,
                     "common": code.common if code else None},
        "evidence": {"code": rec.evidence, "label": ev.label if ev else None},
    }


def number(rec) -> str:
    label = rec.number or "(no number)"
    return label if rec.number_verified else f"{label} (unverified)"


def missing_json(m) -> list[dict]:
    return [{"fact": f, "option": supply(f)} for f in m.missing]


def match_json(kb, m) -> dict:
    r, g = m.rec, m.rec.guideline
    gr = grade(kb, r)
    d = {
        "id": r.full_id,
        "status": m.status,
        "guideline": {"id": g.id, "body": g.body, "year": g.year, "title": g.title, "citation": g.citation,
                      "doi": g.doi, "status": g.status},
        "number": r.number, "number_verified": r.number_verified, "number_basis": r.number_basis,
        "locator": r.locator, "kind": r.kind, "statement": r.statement,
        "action": r.action, "direction": r.direction, "wording": r.wording,
        "grade": gr["display"], "strength": gr["strength"], "evidence": gr["evidence"],
        "rating": r.rating, "rrl": r.rrl, "grade_conflict": dict(r.grade_conflict) if r.grade_conflict else None,
        "certainty": r.certainty, "uncertain": r.uncertain, "source": r.source,
        "source_reliability": r.source_reliability, "note": r.note,
        "matched": [f.to_json() for f in m.matched],
        "missing": missing_json(m),
        "failed": [f.to_json() for f in m.failed],
        "conflicts_with": list(m.conflicts_with),
    }
    return d


def header(kb, result, include_all: bool) -> dict:
    shown = [m for m in result.matches if include_all or m.status != "not-applicable"]
    return {
        "schema": "vascular.recommend/1",
        "tool": {"name": "vascular", "version": __version__},
        "profile": result.profile.to_json(),
        "guidelines": [{"id": g.id, "body": g.body, "year": g.year, "title": g.title, "status": g.status,
                        "sha256": g.sha256} for g in result.guidelines],
        "summary": {s: sum(1 for m in result.matches if m.status == s) for s in ("applies", "possible", "not-applicable")}
        | {"conflicts": sum(len(m.conflicts_with) for m in result.matches) // 2},
        "recommendations": [match_json(kb, m) for m in shown],
        "covered": result.covered,
        "common_scale": COMMON_NOTE,
        "disclaimer": DISCLAIMER,
    }


def profile_line(p) -> str:
    bits = []
    if p.ceap:
        bits.append(f"CEAP {p.ceap.basic}")
    if p.lesions is not None:
        bits.append("lesions " + (", ".join(p.lesions) or "none"))
    for name in ("bleeding_risk", "severity", "symptom_days", "abi", "ankle_pressure", "toe_pressure"):
        v = getattr(p, name)
        if v is not None:
            bits.append(f"{name.replace('_', ' ')} {v:g}" if isinstance(v, float) else f"{name.replace('_', ' ')} {v}")
    if p.factors:
        bits.append("factors " + ", ".join(f"{k}={'yes' if v else 'no'}" for k, v in p.factors.items()))
    return "; ".join(bits) or "empty profile"


NOTHING = "No recommendation in the loaded guidelines covers this profile."


def status_groups(result, full: bool):
    """[(status, matches)] to show, and the possible items the profile says nothing about at all (every criterion
    unknown): by default those are summarised (unassessed_line), never dropped; ``full`` lists everything."""
    possible = result.by_status("possible")
    unassessed = [] if full else [m for m in possible if not m.matched]
    groups = [("applies", result.by_status("applies")), ("possible", [m for m in possible if m not in unassessed])]
    if full:
        groups.append(("not-applicable", result.by_status("not-applicable")))
    return groups, unassessed


def unassessed_line(unassessed) -> str:
    counts: dict[str, int] = {}
    for m in unassessed:
        for f in m.missing:
            counts[f] = counts.get(f, 0) + 1
    facts = ", ".join(f"{supply(f)} ({n})" for f, n in sorted(counts.items(), key=lambda x: (-x[1], x[0])))
    return (f"{len(unassessed)} more recommendations could not be assessed: the profile gives none of the facts "
            f"they depend on ({facts}). Show them with --all.")
