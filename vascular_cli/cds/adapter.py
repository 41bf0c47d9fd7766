"""The ONE place where the CDS Hooks service meets the library: the knowledge base, the FHIR input mapping, the
engine's results and the recommendation fields. Everything else in ``vascular_cli.cds`` works on the plain records
defined here (:class:`RecView`, :class:`Assessment`), so a change in the engine's or the renderers' internals only
touches this module.

Public objects used: ``vascular_cli.load``/``kbcache.load_checked``, ``make_profile``, ``evaluate`` (Result, Match:
``rec``, ``status``, ``matched``, ``missing``, ``conflicts_with``), Recommendation/Guideline fields, the vocabulary
(terms, leaves, resolve) and ``vascular_cli.fhir`` (``load_mapping``, ``profile_from_bundle``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple, cast

from .. import DISCLAIMER

if TYPE_CHECKING:
    from ..model import Match, Profile

CERTAINTY_WORDS = {
    "verified": "checked against the source document",
    "verified-content": "content checked against a faithful reproduction of the source",
    "secondary": "taken from a secondary source and not cross-checked against the original",
    "uncertain": "uncertain",
    "seed-only": "known only from a quotation; not read in the source",
}
FACT_WORDS = {
    "ceap": "CEAP clinical class (C0-C6)",
    "etiology": "CEAP etiology (primary, secondary, congenital)",
    "lesion": "the venous findings (e.g. which veins are thrombosed or obstructed)",
    "bleeding_risk": "bleeding risk (low, moderate or high)",
    "severity": "symptom severity (mild, moderate or severe)",
    "symptom_days": "onset date of the current episode (symptom duration)",
    "abi": "ankle-brachial index",
    "ankle_pressure": "ankle systolic pressure",
    "toe_pressure": "toe pressure",
}
ACRONYMS = {"ivc": "IVC", "doac": "DOAC", "lmwh": "LMWH", "vka": "VKA", "dvt": "DVT", "ivus": "IVUS", "pe": "PE",
            "vte": "VTE", "cdt": "CDT", "pmt": "PMT", "asval": "ASVAL", "chiva": "CHIVA", "av": "AV", "xa": "Xa",
            "aptt": "aPTT", "sis": "SIS", "svt": "SVT", "ceap": "CEAP", "abi": "ABI"}


class RecView(NamedTuple):
    """One evaluated recommendation, as the service shows it."""

    id: str
    status: str  # applies | partly-matched | unassessed | not-applicable
    statement: str
    action: str
    direction: str | None  # for | against | None
    grade: str  # the native grade as published
    body: str
    year: int
    document: str
    number: str | None
    number_verified: bool
    doi: str | None
    url: str | None
    citation: str
    certainty: str
    uncertain: str | None
    grade_conflict: dict | None
    note: str | None
    conflicts_with: tuple[str, ...]
    matched: tuple[str, ...]  # what the profile satisfied ("requires" texts)
    missing: tuple[str, ...]  # fact ids the profile lacks


class Assessment(NamedTuple):
    """The outcome for one patient: recommendations by status, the profile in words, FHIR bookkeeping."""

    applies: list
    partly: list
    unassessed: list
    profile_text: str
    errors: list  # FHIR errors (str); when non-empty nothing was evaluated
    ignored: list
    provenance: dict


def action_words(term: str) -> str:
    return " ".join(ACRONYMS.get(w, w) for w in term.split("-"))


def certainty_words(rec: RecView) -> str:
    base = CERTAINTY_WORDS.get(rec.certainty, rec.certainty)
    return f"{base[0].upper()}{base[1:]}" + (f" ({rec.uncertain})" if rec.uncertain else "") + "."


def disclaimer() -> str:
    return DISCLAIMER


class Knowledge:
    """The knowledge base, the FHIR mapping and the order codes, loaded once per server process."""

    def __init__(self, guidelines: Iterable[str] | None = None, mapping_path: str | None = None) -> None:
        from ..fhir import load_mapping
        from ..fhir.load import find
        from ..kbcache import load_checked

        self.kb = load_checked(list(guidelines) if guidelines else None)
        self.mapping = load_mapping(mapping_path or find(guidelines), self.kb.vocabulary)
        self._leaves = self.kb.vocabulary.leaves.get("action", {})
        from ..engine import Engine

        self.engine = Engine(self.kb)

    # -- vocabulary ----------------------------------------------------------------------------------------------
    def related(self, a: str, b: str) -> bool:
        """The same action, or one broader/narrower than the other (as the engine's conflicts use it)."""
        return a == b or a in self._leaves.get(b, ()) or b in self._leaves.get(a, ())

    def fact_words(self, fact: str) -> tuple[str, str]:
        """(a few words, a sentence) for a missing fact id of the engine (``ceap``, ``factor:pregnancy``...)."""
        if fact.startswith("factor:"):
            name = fact[7:]
            term = self.kb.vocabulary.terms.get("factor", {}).get(name)
            definition = term.definition.rstrip(".") if term and term.definition else ""
            words = action_words(name)
            return words, f"{words} (yes or no)" + (f": {definition}" if definition else "")
        if fact.startswith("ceap-subclass:"):
            return f"CEAP {fact[14:]} subclass", f"the CEAP {fact[14:]} subclass (e.g. C4a, C4b or C4c for C4)"
        text = FACT_WORDS.get(fact, fact.replace("_", " "))
        return text.split(" (")[0], text

    def order_action(self, coding: dict) -> tuple[str, str] | None:
        """(action term, display) for a draft order's coding, from the mapping's ``orders`` section."""
        from ..fhir.mapping import ACTION_SYSTEM

        system, code = coding.get("system"), coding.get("code")
        if not isinstance(system, str) or not isinstance(code, str):
            return None
        if system == ACTION_SYSTEM:
            term = self.kb.vocabulary.resolve("action", code)
            return (term, action_words(term)) if term else None
        entry, _ = self.mapping.lookup("orders", system, code)
        return (entry.action, entry.display) if entry is not None and entry.action else None

    # -- evaluation ------------------------------------------------------------------------------------------------
    def assess(self, bundle: dict) -> Assessment:
        from .. import make_profile
        from ..errors import InputError
        from ..fhir import profile_from_bundle

        fp = profile_from_bundle(bundle, self.mapping, self.kb.vocabulary)
        if fp.errors:
            return Assessment([], [], [], "", [str(e) for e in fp.errors], fp.ignored, {})
        try:  # FhirProfile.document is None only when there are errors (handled above)
            profile = make_profile(self.kb, **dict(cast(dict, fp.document)))
        except InputError as e:
            return Assessment([], [], [], "", [str(e)], fp.ignored, fp.provenance)
        result = self.engine.evaluate(profile)  # the library's evaluate(), with the engine built once
        views: dict[str, list[RecView]] = {"applies": [], "partly-matched": [], "unassessed": []}
        for m in result.matches:
            if m.status == "applies":
                views["applies"].append(self._view(m, "applies"))
            elif m.status != "not-applicable":  # possible (or its split: partly matched / unassessed)
                status = "partly-matched" if m.matched else "unassessed"
                views[status].append(self._view(m, status))
        return Assessment(views["applies"], views["partly-matched"], views["unassessed"], _profile_text(profile),
                          [], fp.ignored, fp.provenance)

    def _view(self, m: Match, status: str) -> RecView:
        r, g = m.rec, m.rec.guideline
        system = self.kb.grading.get(g.grading)
        grade = system.describe(r.strength, r.evidence, r.rating) if system else ""
        return RecView(
            id=r.full_id, status=status, statement=r.statement, action=r.action, direction=r.direction, grade=grade,
            body=g.body, year=g.year, document=g.title, number=r.number, number_verified=r.number_verified,
            doi=g.doi, url=g.url, citation=g.citation, certainty=r.certainty, uncertain=r.uncertain,
            grade_conflict=dict(r.grade_conflict) if r.grade_conflict else None, note=r.note,
            conflicts_with=tuple(m.conflicts_with), matched=tuple(f.requires for f in m.matched),
            missing=tuple(m.missing))


def _profile_text(p: Profile) -> str:
    """The patient's facts in one line, as the CLI's answer words them (every field declared once in fields.py)."""
    from ..render.common import profile_line

    text = profile_line(p)
    return "no usable facts" if text == "empty profile" else text


def plain(text: object) -> str:
    """Text from guideline files without control characters (no terminal or markup injection)."""
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", "", str(text)) if text is not None else ""
