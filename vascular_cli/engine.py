"""Matching: three-valued evaluation of recommendation criteria against a profile, ordering and conflicts.

Each criterion is compiled once into a small object whose ``eval(profile)`` returns a :class:`Finding` with state
True, False or None (unknown: the profile lacks the fact). A recommendation *applies* when every finding is True,
is *possible* when none is False and some are unknown, and is *not applicable* otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from .ceap import GROUPS
from .fields import BY_KEY, CHOICE, NUMERIC
from .model import COMMON_ORDER, Finding, Match, Profile, Recommendation

State = tuple[bool | None, tuple[str, ...]]  # a criterion's answer and the facts it misses

CEAP_ORDER = ("C0", "C1", "C2", "C2r", "C3", "C4", "C4a", "C4b", "C4c", "C5", "C6", "C6r")
STATUS_ORDER = {"applies": 0, "possible": 1, "not-applicable": 2}
DIRECTION_ORDER = {"for": 0, "against": 1, None: 2}
EVIDENCE_ORDER = {"A": 0, "B": 1, "C": 2}

def _or(states: Iterable[bool | None]) -> bool | None:
    states = list(states)
    if any(s is True for s in states):
        return True
    return None if any(s is None for s in states) else False


def _and(states: Iterable[bool | None]) -> bool | None:
    states = list(states)
    if any(s is False for s in states):
        return False
    return None if any(s is None for s in states) else True


def _membership(profile_terms: Iterable[str], allowed: frozenset, leaves: Callable[[str], frozenset]) -> bool | None:
    """Does some profile term fall inside ``allowed``? A group term that only overlaps it is unknown."""
    state: bool | None = False
    for t in profile_terms:
        cover = leaves(t)
        if cover <= allowed:
            return True
        if cover & allowed:
            state = None
    return state


def _ceap_leaves(code: str) -> frozenset:
    return frozenset((code,) + GROUPS.get(code, ()))


def ceap_set(spec: Any) -> frozenset:
    """The clinical classes a ``ceap`` criterion covers (lists and {min, max} ranges; groups expanded)."""
    if isinstance(spec, dict):
        lo = CEAP_ORDER.index(spec.get("min", "C0"))
        top = spec.get("max", "C6r")
        hi = max(CEAP_ORDER.index(c) for c in _ceap_leaves(top))
        return frozenset(CEAP_ORDER[lo:hi + 1])
    out: set[str] = set()
    for c in spec:
        out |= _ceap_leaves(c)
    return frozenset(out)


def _fmt_range(r: Mapping[str, float], unit: str = "") -> str:
    parts = []
    for key, op in (("min", ">="), ("above", ">"), ("max", "<="), ("below", "<")):
        if key in r:
            parts.append(f"{op} {r[key]:g}{unit}")
    return " and ".join(parts)


def in_range(value: float, r: Mapping[str, float]) -> bool:
    return not (("min" in r and value < r["min"]) or ("max" in r and value > r["max"])
                or ("below" in r and value >= r["below"]) or ("above" in r and value <= r["above"]))


class Criterion:
    """One compiled criterion. ``state`` is the fast three-valued answer (used by the index); ``eval`` adds the
    human-readable finding (used for explanations)."""

    name = ""
    requires = ""
    fields: tuple[str, ...] = ()  # the profile fields it reads
    positive = True  # asks for something present; False when it only asks for absences (e.g. "no lesion vte")

    def state(self, p: Profile) -> State:  # pragma: no cover - interface
        raise NotImplementedError

    def shown(self, p: Profile) -> str | None:
        value = getattr(p, self.fields[0])
        return None if value is None else str(value)

    def eval(self, p: Profile) -> Finding:
        state, missing = self.state(p)
        return Finding(self.name, state, self.requires, self.shown(p), missing, self.positive)


class CeapCriterion(Criterion):
    name, fields = "ceap", ("ceap",)

    def __init__(self, spec: Any) -> None:
        self.allowed = ceap_set(spec)
        self.requires = ("CEAP " + f"{spec.get('min', 'C0')}-{spec.get('max', 'C6')}" if isinstance(spec, dict)
                         else "CEAP " + " or ".join(spec))

    reads = "top"  # the Ceap field ``state`` reads (the batch matchers memoise on it, not on the whole string)

    def state(self, p: Profile) -> State:
        if p.ceap is None:
            return None, ("ceap",)
        state = _membership(p.ceap.top, self.allowed, _ceap_leaves)
        return state, tuple(f"ceap-subclass:{c}" for c in p.ceap.top if c in GROUPS) if state is None else ()

    def shown(self, p: Profile) -> str | None:
        return p.ceap.clinical if p.ceap else None


class EtiologyCriterion(Criterion):
    name, fields = "etiology", ("ceap",)

    def __init__(self, spec: Any) -> None:
        self.allowed = frozenset(c for e in spec for c in _ceap_leaves(e))
        self.requires = "CEAP etiology " + " or ".join(spec)

    reads = "etiology"  # the Ceap field ``state`` reads (see CeapCriterion.reads)

    def state(self, p: Profile) -> State:
        if p.ceap is None or not p.ceap.etiology:
            return None, ("etiology",)
        state = _membership(p.ceap.etiology, self.allowed, _ceap_leaves)
        return state, () if state is not None else ("etiology",)

    def shown(self, p: Profile) -> str | None:
        return " ".join(p.ceap.etiology) if p.ceap and p.ceap.etiology else None


class LesionCriterion(Criterion):
    """Lesions are findings: a profile's list is complete (unlisted = absent); no list at all = unknown."""

    name, fields = "lesion", ("lesions",)

    def __init__(self, spec: Any, vocab: Any) -> None:
        form = {"any": spec} if isinstance(spec, list) else spec
        self.table = vocab.leaves.get("lesion", {})
        self.any = vocab.expand("lesion", form["any"]) if "any" in form else None
        self.all = [vocab.expand("lesion", [t]) for t in form.get("all", ())]
        self.none = [vocab.expand("lesion", [t]) for t in form.get("none", ())]
        bits = []
        if "any" in form:
            bits.append(("lesion " if len(form["any"]) == 1 else "lesion any of ") + ", ".join(form["any"]))
        if form.get("all"):
            bits.append("lesions all of " + ", ".join(form["all"]))
        if form.get("none"):
            bits.append("no lesion " + ", ".join(form["none"]))
        self.requires = "; ".join(bits)
        self.positive = "any" in form or bool(form.get("all"))
        # state reads the lesions only as _membership(p.lesions, S, self.leaves) for each of these sets (the batch
        # index keys its memos on those memberships, not on the term list)
        self.sets = ([self.any] if self.any is not None else []) + self.all + self.none

    def leaves(self, term: str) -> frozenset:
        return self.table.get(term) or frozenset((term,))

    def state(self, p: Profile) -> State:
        if p.lesions is None:
            return None, ("lesion",)
        states = []
        if self.any is not None:
            states.append(_membership(p.lesions, self.any, self.leaves))
        states += [_membership(p.lesions, s, self.leaves) for s in self.all]
        for s in self.none:
            present = _membership(p.lesions, s, self.leaves)
            states.append(None if present is None else not present)
        state = _and(states)
        return state, ("lesion",) if state is None else ()

    def shown(self, p: Profile) -> str | None:
        return None if p.lesions is None else ", ".join(p.lesions) or "none"


class FactorCriterion(Criterion):
    """Factors are yes/no facts; a factor the profile does not mention is unknown, never 'no'."""

    name, fields = "factors", ("factors",)

    def __init__(self, spec: Any) -> None:
        self.all, self.any, self.none = (tuple(spec.get(k, ())) for k in ("all", "any", "none"))
        bits = [f"{label} {', '.join(v)}" for label, v in
                (("all of", self.all), ("any of", self.any), ("none of", self.none)) if v]
        self.requires = "factors " + "; ".join(bits)
        self.names = self.all + self.any + self.none
        self.positive = bool(self.all or self.any)

    def state(self, p: Profile) -> State:
        f = p.factors
        unknown = False
        for n in self.all:
            v = f.get(n)
            if v is False:
                return False, ()
            unknown |= v is None
        for n in self.none:
            v = f.get(n)
            if v is True:
                return False, ()
            unknown |= v is None
        if self.any:
            values = [f.get(n) for n in self.any]
            if True not in values:
                if None not in values:
                    return False, ()
                unknown = True
        return (None, tuple(f"factor:{n}" for n in self.names if n not in f)) if unknown else (True, ())

    def shown(self, p: Profile) -> str | None:
        given = [f"{n}={'yes' if p.factors[n] else 'no'}" for n in self.names if n in p.factors]
        return ", ".join(given) or None


class ChoiceCriterion(Criterion):
    def __init__(self, name: str, spec: Any) -> None:
        field = BY_KEY[name]
        self.name, self.fields, self.allowed = name, (field.attr,), frozenset(spec)
        self.requires = f"{field.label} " + " or ".join(spec)

    def state(self, p: Profile) -> State:
        value = getattr(p, self.fields[0])
        return (None, (self.name,)) if value is None else (value in self.allowed, ())


class RangeCriterion(Criterion):
    def __init__(self, name: str, spec: Any) -> None:
        field = BY_KEY[name]
        self.name, self.fields, self.range = name, (field.attr,), dict(spec)
        self.requires = f"{field.label} {_fmt_range(spec, field.unit)}"

    def state(self, p: Profile) -> State:
        value = getattr(p, self.fields[0])
        return (None, (self.name,)) if value is None else (in_range(value, self.range), ())

    def shown(self, p: Profile) -> str | None:
        value = getattr(p, self.fields[0])
        return None if value is None else f"{value:g}"


class AnyOfCriterion(Criterion):
    name = "any_of"

    def __init__(self, alternatives: Any, vocab: Any) -> None:
        self.alternatives = [compile_criteria(a, vocab) for a in alternatives]
        self.requires = "any of: " + " | ".join(" and ".join(c.requires for c in alt) for alt in self.alternatives)
        self.fields = tuple(sorted({f for alt in self.alternatives for c in alt for f in c.fields}))
        self.positive = any(c.positive for alt in self.alternatives for c in alt)

    def state(self, p: Profile) -> State:
        results = [[c.state(p) for c in alt] for alt in self.alternatives]
        states = [_and(s for s, _ in alt) for alt in results]
        state = _or(states)
        missing: dict[str, None] = {}
        if state is None:
            for alt, s in zip(results, states, strict=False):
                if s is None:
                    for _, m in alt:
                        missing.update(dict.fromkeys(m))
        return state, tuple(missing)

    def shown(self, p: Profile) -> str | None:
        given = [f"{c.name}: {c.shown(p)}" for alt in self.alternatives for c in alt if c.shown(p) is not None]
        return "; ".join(dict.fromkeys(given)) or None


class CriteriaError(ValueError):
    """A ``when`` mapping uses a key no criterion reads (reported by validation as VG014's sibling VG002)."""


def compile_criteria(when: Mapping[str, Any], vocab: Any) -> list[Criterion]:
    out: list[Criterion] = []
    for key, spec in when.items():
        if key == "ceap":
            out.append(CeapCriterion(spec))
        elif key == "etiology":
            out.append(EtiologyCriterion(spec))
        elif key == "lesion":
            out.append(LesionCriterion(spec, vocab))
        elif key == "factors":
            out.append(FactorCriterion(spec))
        elif key in CHOICE:
            out.append(ChoiceCriterion(key, spec))
        elif key in NUMERIC:
            out.append(RangeCriterion(key, spec))
        elif key == "any_of":
            out.append(AnyOfCriterion(spec, vocab))
        else:
            raise CriteriaError(f"unknown criterion {key!r}")
    return out


def rank_facts(masks: Mapping[str, int]) -> list[tuple[str, int, int]]:
    """Ask next: missing facts ranked by how many possible recommendations each would settle.

    ``masks`` maps each missing fact to the set (int bitmask) of possible recommendations that miss it. Answering a
    fact can settle each of them (``up_to``: an answer that fails a criterion settles the recommendation as not
    applicable); it settles for certain, whatever the answer, those for which it is the only missing fact
    (``certain``). Order: up_to, then certain (both descending), then the fact id.
    Returns [(fact, up_to, certain)]. The one ranking rule, used by the engine and the batch index alike."""
    once = twice = 0
    for m in masks.values():
        twice |= once & m
        once |= m
    alone = once & ~twice
    order = sorted([(-m.bit_count(), -(m & alone).bit_count(), fact) for fact, m in masks.items()])
    return [(fact, -up_to, -certain) for up_to, certain, fact in order]


def status_of(findings: Iterable[Finding]) -> str:
    state = _and(f.state for f in findings)
    return "applies" if state is True else "possible" if state is None else "not-applicable"


class Result(NamedTuple):
    profile: Profile
    guidelines: tuple
    matches: tuple[Match, ...]
    unverified_left_out: int = 0  # seed-only items in scope but not evaluated (include_unverified=False)

    @property
    def covered(self) -> bool:
        return any(m.status == "applies" and m.rec.certainty != "seed-only" for m in self.matches)

    def by_status(self, status: str) -> list[Match]:
        return [m for m in self.matches if m.status == status]

    def ask_next(self) -> list[tuple[str, int, int]]:
        """The facts missing from the partly matched possible recommendations, ranked (see rank_facts)."""
        masks: dict[str, int] = {}
        for i, m in enumerate(self.matches):
            if m.partly_matched:
                for fact in m.missing:
                    masks[fact] = masks.get(fact, 0) | (1 << i)
        return rank_facts(masks)


class Engine:
    """A knowledge base compiled for matching. Build once, evaluate many profiles."""

    def __init__(self, kb: Any) -> None:
        self.kb = kb
        self.compiled = [(r, compile_criteria(r.when, kb.vocabulary)) for r in kb.recommendations]
        self.sort_key = {r.full_id: self._sort_key(r) for r in kb.recommendations}
        leaves = kb.vocabulary.leaves.get("action", {})
        self.related = lambda a, b: a == b or a in leaves.get(b, ()) or b in leaves.get(a, ())

    def conflicting(self, a: Recommendation, b: Recommendation) -> bool:
        """The conflict rule (one place; the batch index precomputes it per pair): two recommendations with
        opposite directions on the same, a broader or a narrower action; seed-only items never conflict."""
        return (a.kind == b.kind == "recommendation" and bool(a.direction) and bool(b.direction)
                and a.direction != b.direction and a.certainty != "seed-only" and b.certainty != "seed-only"
                and self.related(a.action, b.action))

    def conflict_pairs(self, recs: list[Recommendation]) -> list[tuple[int, int]]:
        """Every (i, j), i < j, with ``conflicting(recs[i], recs[j])``: the pairs are tested per pair of related
        actions (the rule's last clause) instead of every pair of recommendations (tests/test_equivalence.py checks
        that both give the same pairs)."""
        by_action: dict[Any, list[int]] = {}
        for i, r in enumerate(recs):
            by_action.setdefault(r.action, []).append(i)
        actions = list(by_action)
        out = []
        for n, x in enumerate(actions):
            for y in actions[n:]:
                if self.related(x, y):
                    out += [(min(i, j), max(i, j)) for i in by_action[x] for j in by_action[y]
                            if i != j and (x != y or i < j) and self.conflicting(recs[i], recs[j])]
        return sorted(out)

    def _sort_key(self, r: Recommendation) -> tuple:
        system = self.kb.grading.get(r.guideline.grading)
        code = system.strength.get(r.strength) if system and r.strength else None
        return (DIRECTION_ORDER.get(r.direction, 2), COMMON_ORDER.get(code.common if code else None, 3),
                EVIDENCE_ORDER.get(r.evidence or "", 3), r.guideline.body, -r.guideline.year, r.guideline.id,
                r.position)

    def select(self, include_superseded: bool = False, sources: Iterable[str] | None = None,
               include_unverified: bool = False) -> list[tuple[Recommendation, list[Criterion]]]:
        """The (recommendation, criteria) pairs in scope: recommendations (not scope or practice statements) of
        active documents (all with include_superseded), optionally only some bodies or document ids. Items whose
        source could not be found (certainty seed-only) only with include_unverified."""
        wanted = {s.lower() for s in sources} if sources else None
        out = []
        for r, crit in self.compiled:
            g = r.guideline
            if r.kind != "recommendation":
                continue
            if r.certainty == "seed-only" and not include_unverified:
                continue
            if g.status != "active" and not include_superseded:
                continue
            if wanted and g.body.lower() not in wanted and g.id.lower() not in wanted:
                continue
            out.append((r, crit))
        return out

    def evaluate(self, profile: Profile, *, include_superseded: bool = False, sources: Iterable[str] | None = None,
                 include_unverified: bool = False) -> Result:
        scope = self.select(include_superseded, sources, include_unverified)
        matches = []
        for r, crit in scope:
            findings = tuple(c.eval(profile) for c in crit)
            matches.append(Match(r, status_of(findings), findings))
        matches = self._with_conflicts(matches)
        matches.sort(key=lambda m: (STATUS_ORDER[m.status],) + self.sort_key[m.rec.full_id])
        wanted = {s.lower() for s in sources} if sources else None
        guidelines = tuple(g for g in self.kb.guidelines if (g.status == "active" or include_superseded)
                           and (not wanted or g.body.lower() in wanted or g.id.lower() in wanted))
        left_out = 0 if include_unverified else (
            len(self.select(include_superseded, sources, True)) - len(scope))
        return Result(profile, guidelines, tuple(matches), left_out)

    def _with_conflicts(self, matches: list[Match]) -> list[Match]:
        """Two applicable recommendations on the same (or a broader/narrower) action with opposite directions."""
        live = [m for m in matches if m.status == "applies"]
        conflicts: dict[str, list[str]] = {}
        for i, a in enumerate(live):
            for b in live[i + 1:]:
                if self.conflicting(a.rec, b.rec):
                    conflicts.setdefault(a.rec.full_id, []).append(b.rec.full_id)
                    conflicts.setdefault(b.rec.full_id, []).append(a.rec.full_id)
        if not conflicts:
            return matches
        return [Match(m.rec, m.status, m.findings, tuple(sorted(conflicts.get(m.rec.full_id, ())))) for m in matches]
