"""Shared helpers for renderers: grades, terminal/Markdown escaping, the JSON view of a match."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from .. import DISCLAIMER, __version__
from ..fields import FIELDS
from .words import supply

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

CERTAINTY_WORDS = {
    "verified": "",
    "verified-content": "content verified in the source; number not verified",
    "secondary": "from a secondary source, not checked against the original",
    "uncertain": "transcription uncertain: check the source",
    "seed-only": "source not found: unverified",
}
UNVERIFIED_MARK = "°"
COMMON_NOTE = ("'common' is a tool convention for ordering (strong > conditional > weak); "
               "the native grade is authoritative and no source defines a mapping between systems.")


def clean(text: Any) -> str:
    """Text from guideline files with control characters (ANSI escapes...) removed, for any output."""
    return _CONTROL.sub("", str(text)) if text is not None else ""


def md(text: Any) -> str:
    """Escape text for Markdown (tables included)."""
    s = clean(text).replace("\\", "\\\\")
    for ch in "`*_[]<>|#!~":
        s = s.replace(ch, "\\" + ch)
    return s.replace("\n", " ")


def grade(kb: Any, rec: Any) -> dict:
    system = kb.grading.get(rec.guideline.grading)
    code = system.strength.get(rec.strength) if system and rec.strength else None
    ev = system.evidence.get(rec.evidence) if system and rec.evidence else None
    return {
        "display": system.describe(rec.strength, rec.evidence, rec.rating) if system else "",
        "strength": {"system": rec.guideline.grading, "code": rec.strength, "label": code.label if code else None,
                     "common": code.common if code else None},
        "evidence": {"code": rec.evidence, "label": ev.label if ev else None},
    }


def number(rec: Any) -> str:
    label = rec.number or "(no number)"
    return label if rec.number_verified else f"{label} (unverified)"


def certainty_words(r: Any) -> str:
    words = CERTAINTY_WORDS.get(r.certainty, r.certainty)
    if not r.number_verified and "number not verified" not in words:
        words = (words + "; " if words else "") + "number not verified"
    return words


class Sections(NamedTuple):
    applies: list
    partly: list
    unassessed: list
    not_applicable: list
    unverified: list  # seed-only items (only evaluated with --include-unverified)


def sections(result: Any) -> Sections:
    main = [m for m in result.matches if m.rec.certainty != "seed-only"]
    return Sections(
        [m for m in main if m.status == "applies"],
        [m for m in main if m.partly_matched],
        [m for m in main if m.status == "possible" and not m.partly_matched],
        [m for m in main if m.status == "not-applicable"],
        [m for m in result.matches if m.rec.certainty == "seed-only"],
    )


def missing_json(m: Any) -> list[dict]:
    return [{"fact": f, "option": supply(f)} for f in m.missing]


def provenance_json(r: Any) -> dict:
    """Maintainer-facing fields: where the transcription came from and what is uncertain about it."""
    return {"source": r.source, "source_reliability": r.source_reliability, "number_basis": r.number_basis,
            "uncertain": r.uncertain, "note": r.note, "provenance": r.provenance, "alias": r.alias}


def guideline_json(g: Any) -> dict:
    return {"id": g.id, "body": g.body, "year": g.year, "title": g.title, "citation": g.citation, "doi": g.doi,
            "pmid": g.pmid, "url": g.url, "status": g.status}


def rec_json(kb: Any, r: Any) -> dict:
    """Everything about one recommendation except its match (also ``vascular show --format json``)."""
    gr = grade(kb, r)
    return {
        "id": r.full_id,
        "guideline": guideline_json(r.guideline),
        "number": r.number, "number_verified": r.number_verified,
        "locator": r.locator, "kind": r.kind, "statement": r.statement,
        "action": r.action, "direction": r.direction, "wording": r.wording,
        "grade": gr["display"], "strength": gr["strength"], "evidence": gr["evidence"],
        "rating": r.rating, "rrl": r.rrl, "grade_conflict": dict(r.grade_conflict) if r.grade_conflict else None,
        "certainty": r.certainty, "certainty_text": certainty_words(r) or None,
        "provenance": provenance_json(r),
    }


def match_json(kb: Any, m: Any) -> dict:
    d = rec_json(kb, m.rec)
    head = {"id": d.pop("id"), "status": m.status, "possible_kind": m.possible_kind}
    return head | d | {
        "matched": [f.to_json() for f in m.matched],
        "missing": missing_json(m),
        "failed": [f.to_json() for f in m.failed],
        "conflicts_with": list(m.conflicts_with),
    }


def summary(result: Any) -> dict:
    s = sections(result)
    return {"applies": len(s.applies), "possible": len(s.partly) + len(s.unassessed), "partly_matched": len(s.partly),
            "unassessed": len(s.unassessed), "not_applicable": len(s.not_applicable),
            "conflicts": sum(len(m.conflicts_with) for m in result.matches) // 2,
            "unverified": len(s.unverified), "unverified_left_out": result.unverified_left_out}


def header(kb: Any, result: Any, include_all: bool = True) -> dict:
    """The JSON answer (``vascular.recommend/2``): every evaluated recommendation with its status, whatever the
    options (``include_all`` is accepted for the renderers' common signature)."""
    return {
        "schema": "vascular.recommend/2",
        "tool": {"name": "vascular", "version": __version__},
        "profile": result.profile.to_document(),
        "profile_detail": result.profile.to_json(),
        "guidelines": [{"id": g.id, "body": g.body, "year": g.year, "title": g.title, "status": g.status,
                        "sha256": g.sha256} for g in result.guidelines],
        "summary": summary(result),
        "ask_next": [{"fact": f, "option": supply(f), "settles_up_to": n, "settles_certainly": c}
                     for f, n, c in result.ask_next()],
        "recommendations": [match_json(kb, m) for m in result.matches],
        "covered": result.covered,
        "common_scale": COMMON_NOTE,
        "disclaimer": DISCLAIMER,
    }


def profile_line(p: Any) -> str:
    bits = []
    if p.ceap:
        bits.append(f"CEAP {p.ceap.basic}")
    if p.lesions is not None:
        bits.append("lesions " + (", ".join(p.lesions) or "none"))
    for f in FIELDS:
        v = getattr(p, f.attr) if f.kind in ("choice", "number") else None
        if v is not None:
            bits.append(f"{f.label} {v:g}" if isinstance(v, float) else f"{f.label} {v}")
    if p.factors:
        bits.append("factors " + ", ".join(f"{k}={'yes' if v else 'no'}" for k, v in p.factors.items()))
    return "; ".join(bits) or "empty profile"


NOTHING = "No recommendation in the loaded guidelines covers this profile."
