"""The data model: immutable records (NamedTuple) for the knowledge base, profiles, problems and results.

NamedTuple rather than frozen dataclasses: as immutable, several times cheaper to define at import and to unpickle
from the start-up cache (see kbcache.py), which keeps ``vascular recommend`` fast to start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

Tri = bool | None  # three-valued logic: True, False, None (= unknown)

CERTAINTY = ("verified", "verified-content", "secondary", "uncertain", "seed-only")
COMMON_ORDER = {"strong": 0, "conditional": 1, "weak": 2, None: 3}


class Problem(NamedTuple):
    """One finding of validation, reported as ``path:line:col: CODE message``."""

    path: str
    line: int
    col: int
    code: str
    message: str
    level: str = "error"  # error | warning

    def __str__(self) -> str:
        tag = "" if self.level == "error" else " (warning)"
        return f"{self.path}:{self.line}:{self.col}: {self.code} {self.message}{tag}"


class Term(NamedTuple):
    kind: str
    name: str
    definition: str
    aliases: tuple[str, ...] = ()
    broader: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()  # factors only: yes/no facts that cannot both be yes


class Implication(NamedTuple):
    """A definitional implication declared in the vocabulary: when the condition holds, factor ``implies`` is yes.
    Condition: every listed part holds - a lesion of the profile falls under ``lesion`` (group terms expanded),
    every field of ``given`` is given, every factor of ``factors`` is yes."""

    implies: str
    reason: str
    lesion: tuple[str, ...] = ()
    given: tuple[str, ...] = ()
    factors: tuple[str, ...] = ()
    covers: frozenset = frozenset()  # ``lesion`` with every narrower term (set by Vocabulary.build)

    def holds(self, factors: Mapping[str, bool], lesions: tuple[str, ...] | None, symptom_days: Any,
              vocab: Any) -> bool:
        if self.factors and not all(factors.get(f) is True for f in self.factors):
            return False
        if self.given and any({"symptom_days": symptom_days}.get(g) is None for g in self.given):
            return False
        if self.lesion:
            if not lesions:
                return False
            covered = self.covers or vocab.expand("lesion", self.lesion)
            if not any(t in covered for t in lesions):
                return False
        return True


class GradeCode(NamedTuple):
    code: str
    label: str
    meaning: str
    common: str | None = None
    direction: str | None = None
    ratings: tuple[int, ...] = ()


class GradingSystem(NamedTuple):
    id: str
    name: str
    source: str
    display: str
    ungraded: str
    strength: Mapping[str, GradeCode]
    evidence: Mapping[str, GradeCode]
    rating: tuple[int, int] | None = None

    def describe(self, strength: str | None, evidence: str | None, rating: int | None = None) -> str:
        """The grade exactly as the body publishes it, e.g. 'Grade 1, Level C' or 'Class IIa, Level B'."""
        if strength is None and evidence is None:
            return self.ungraded
        if strength is not None and strength in self.strength and not self.evidence:  # category systems (ACR)
            text = self.strength[strength].label
        else:
            text = self.display.format(strength=strength or "-", evidence=evidence or "-")
        if rating is not None:
            text += f" (rating {rating})"
        return text


class Guideline(NamedTuple):
    id: str
    body: str
    title: str
    year: int
    citation: str
    doi: str | None
    grading: str
    status: str
    path: str
    sha256: str
    pmid: str | None = None
    url: str | None = None
    superseded_by: str | None = None
    supersedes: str | None = None
    sources: Mapping[str, str] = {}
    note: str | None = None
    scope: str | None = None  # what part of the document is encoded (README coverage table)
    left_out: tuple = ()  # (records, reason) pairs: statements of the document not encoded, and why


class Recommendation(NamedTuple):
    guideline: Guideline
    id: str
    position: int  # in its file
    line: int
    number: str | None
    number_verified: bool
    locator: str
    statement: str
    action: str
    direction: str | None
    strength: str | None
    evidence: str | None
    certainty: str
    when: Mapping[str, Any]
    kind: str = "recommendation"
    number_basis: str | None = None
    wording: str | None = None
    rating: int | None = None
    rrl: str | None = None
    grade_conflict: Mapping[str, str] | None = None
    uncertain: str | None = None
    source: str | None = None
    source_reliability: str | None = None
    note: str | None = None
    provenance: str | None = None  # maintainers only (source keys, page ids, extraction notes); never in recommend
    examples: Mapping[str, tuple] = {}
    alias: str | None = None  # another id the item is known by (e.g. the dossier's ESVS2021-R5); `show` accepts it

    @property
    def full_id(self) -> str:
        return f"{self.guideline.id}/{self.id}"


class Ceap(NamedTuple):
    """A parsed CEAP 2020 string (see ceap.py)."""

    raw: str
    classes: tuple[str, ...]  # every clinical class written, in order, e.g. ('C2', 'C4a', 'C5')
    top: tuple[str, ...]  # the highest class (several subclasses when e.g. C4a and C4b are both written)
    modifier: str | None  # 's' symptomatic, 'a' asymptomatic, None when not given
    etiology: tuple[str, ...] = ()
    anatomy: tuple[str, ...] = ()
    pathophysiology: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()

    @property
    def clinical(self) -> str:
        return ",".join(self.top)

    @property
    def basic(self) -> str:
        """Basic CEAP: highest class, modifier, E, A groups, P."""
        parts = ["C" + ",".join(c[1:] for c in self.top) + (f",{self.modifier}" if self.modifier else "")]
        if self.etiology:
            parts.append("E" + ",".join(e[1:] for e in self.etiology))
        if self.anatomy:
            parts.append("A" + ",".join(a[1:] for a in self.anatomy))
        if self.pathophysiology:
            parts.append("P" + ",".join(p[1:] for p in self.pathophysiology))
        return " ".join(parts)

    def to_json(self) -> dict:
        return {
            "raw": self.raw, "clinical": self.clinical, "classes": list(self.classes),
            "symptomatic": None if self.modifier is None else self.modifier == "s",
            "etiology": list(self.etiology), "anatomy": list(self.anatomy),
            "pathophysiology": list(self.pathophysiology), "segments": list(self.segments), "basic": self.basic,
        }


class Profile(NamedTuple):
    """A normalised patient description. ``None`` means "not given" (unknown), never "no"."""

    ceap: Ceap | None = None
    lesions: tuple[str, ...] | None = None
    bleeding_risk: str | None = None
    severity: str | None = None
    symptom_days: int | None = None
    factors: Mapping[str, bool] = {}
    abi: float | None = None
    ankle_pressure: float | None = None
    toe_pressure: float | None = None
    pregnancy_trimester: int | None = None
    id: str | None = None
    implied: tuple[tuple[str, str], ...] = ()  # (factor, reason) set to yes by a vocabulary implication

    def to_document(self) -> dict:
        """The profile as a profile document (the input format): feeding it back gives the same profile."""
        from .fields import FIELDS

        doc: dict = {}
        for f in FIELDS:
            v = getattr(self, f.attr)
            if f.kind == "ceap":
                v = v.raw if v is not None else None
            elif f.kind == "lesion":
                v = list(v) if v is not None else None
            elif f.kind == "factors":
                v = dict(sorted(v.items()))
            doc[f.key] = v
        return doc

    def to_json(self) -> dict:
        """The parsed detail: the CEAP parts, and which factors were implied and why."""
        return {
            "ceap": self.ceap.to_json() if self.ceap else None,
            "implied": [{"factor": f, "value": True, "reason": r} for f, r in self.implied],
        }


class Finding(NamedTuple):
    """The outcome of one criterion for one profile: what it requires, what the profile says, and why."""

    criterion: str  # ceap, lesion, factors, bleeding_risk, ... or any_of
    state: Tri
    requires: str
    profile: str | None
    missing: tuple[str, ...] = ()  # facts the profile lacks, e.g. ('ceap',) or ('factor:phlegmasia',)
    positive: bool = True  # the criterion asks for something present (not only for an absence)

    def to_json(self) -> dict:
        d: dict[str, Any] = {"criterion": self.criterion, "requires": self.requires, "profile": self.profile}
        if self.missing:
            d["missing"] = list(self.missing)
        return d


class Match(NamedTuple):
    rec: Recommendation
    status: str
    findings: tuple[Finding, ...]
    conflicts_with: tuple[str, ...] = ()

    @property
    def matched(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.state is True)

    @property
    def failed(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.state is False)

    @property
    def unknown(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.state is None)

    @property
    def partly_matched(self) -> bool:
        """Possible, and at least one positive criterion matches (the others are unknown)."""
        return self.status == "possible" and any(f.state is True and f.positive for f in self.findings)

    @property
    def possible_kind(self) -> str | None:
        if self.status != "possible":
            return None
        return "partly-matched" if self.partly_matched else "unassessed"

    @property
    def missing(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for f in self.findings:
            if f.state is None:
                for m in f.missing:
                    seen[m] = None
        return tuple(seen)
