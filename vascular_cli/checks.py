"""Validation rules. Each has a stable code, a one-line title and a docstring with a passing and a failing example;
``docs/checks.md`` is generated from this registry (``python -m vascular_cli.checks > docs/checks.md``).

VG001-VG005 are found while reading (yamlio.py, schema.py); the others run on the loaded knowledge base.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .fields import BY_KEY, CHOICE
from .model import Problem, Recommendation
from .suggest import did_you_mean
from .yamlio import Mark, key_mark, value_mark

if TYPE_CHECKING:
    from .vocab import Vocabulary


@dataclass(frozen=True)
class Check:
    code: str
    name: str
    title: str
    level: str
    doc: str
    run: Callable | None = None


REGISTRY: dict[str, Check] = {}


def check(code: str, name: str, title: str, level: str = "error") -> Any:
    def deco(fn: Any) -> Any:
        REGISTRY[code] = Check(code, name, title, level, inspect.cleandoc(fn.__doc__ or ""), fn)
        return fn
    return deco


def _declare(code: Any, name: Any, title: Any, doc: Any) -> Any:
    REGISTRY[code] = Check(code, name, title, "error", inspect.cleandoc(doc))


_declare("VG001", "yaml-syntax", "File is not safe, readable YAML", """
The file must be UTF-8 YAML text with one document, core tags only, no tabs for indentation, at most 2 MiB,
at most 32 levels deep and at most 200,000 nodes after alias expansion (the "billion laughs" pattern fails).

Pass: ``statement: Compression is recommended.``
Fail: ``statement: !!python/object:os.system echo`` (arbitrary tag), a file with two ``---`` documents.
""")
_declare("VG002", "duplicate-key", "A mapping key appears twice", """
PyYAML silently keeps the last of two equal keys; vascular refuses the file and names both positions.

Pass: ``{id: "6.14", number: "Guideline 6.14"}``
Fail: ``{id: "6.14", id: "6.15"}``
""")
_declare("VG003", "unknown-field", "A field the format does not define", """
Typos must not silently drop data: every field must be known (with a "did you mean").

Pass: ``statement: ...``
Fail: ``statment: ...`` (did you mean 'statement'?)
""")
_declare("VG004", "missing-field", "A required field is missing", """
Pass: a recommendation with id, number, number_verified, locator, statement, action, direction, strength,
evidence, certainty and when.
Fail: a recommendation without ``statement``.
""")
_declare("VG005", "wrong-type", "A value has the wrong type or is out of range", """
Pass: ``number_verified: false``, ``year: 2014``
Fail: ``number_verified: "no"``, ``year: twenty-fourteen``, ``direction: maybe``
""")


def _p(path: Any, mark: Mark, code: Any, msg: Any, level: Any = None) -> Problem:
    return Problem(path, mark.line, mark.col, code, msg, level or REGISTRY[code].level)


def run(kb: Any, sources: Any, docs: Any) -> list[Problem]:
    """Run every semantic check. ``docs`` = [(source, guideline, [(yaml node, recommendation)])]."""
    out: list[Problem] = []
    for c in REGISTRY.values():
        if c.run is not None:
            out += c.run(kb, sources, docs)
    return out


def _vocab_files(sources: Any) -> Any:
    return [s for s in sources if s.kind == "vocabulary" and isinstance(s.tree, dict)]


@check("VG006", "unknown-term", "A term, CEAP class or etiology code is not defined")
def unknown_terms(kb: Any, sources: Any, docs: Any) -> Any:
    """Every lesion, factor, action, bleeding-risk and severity term must be defined in the vocabulary (aliases
    are accepted), every ``broader`` term must exist, and CEAP classes/etiology codes must be CEAP 2020 codes.

    Pass: ``action: venous-stenting``; ``ceap: [C4b, C5, C6]``
    Fail: ``action: venous-stent`` (did you mean 'venous-stenting'?); ``ceap: [C4d]``
    """
    from .ceap import CLASSES, ETIOLOGY
    from .vocab import HIERARCHICAL

    v = kb.vocabulary
    out = []
    for src in _vocab_files(sources):
        for imp in src.tree.get("implications") or ():
            for kind, key, names in (("factor", "implies", [imp["implies"]]),
                                     ("lesion", "lesion", imp["when"].get("lesion") or []),
                                     ("factor", "factors", imp["when"].get("factors") or [])):
                for word in names:
                    if v.resolve(kind, word) is None:
                        where = imp if key == "implies" else imp["when"]
                        out.append(_p(src.path, value_mark(where, key), "VG006",
                                      f"implication: {v.unknown_message(kind, word)}"))
        for kind, table in src.tree["vocabulary"].items():
            for name, spec in table.items():
                broader = spec.get("broader") or []
                for b in [broader] if isinstance(broader, str) else broader:
                    if kind not in HIERARCHICAL:
                        out.append(_p(src.path, value_mark(spec, "broader"), "VG006",
                                      f"{kind} terms cannot have 'broader' (only {', '.join(HIERARCHICAL)} terms)"))
                    elif v.resolve(kind, b) is None:
                        out.append(_p(src.path, value_mark(spec, "broader"), "VG006",
                                      f"'broader' of {name!r}: {v.unknown_message(kind, b)}"))
                for other in spec.get("excludes") or []:
                    if kind != "factor":
                        out.append(_p(src.path, value_mark(spec, "excludes"), "VG006",
                                      f"only factor terms can have 'excludes' ({name!r} is a {kind} term)"))
                    elif v.resolve("factor", other) is None or other == name:
                        out.append(_p(src.path, value_mark(spec, "excludes"), "VG006",
                                      f"'excludes' of {name!r}: {v.unknown_message('factor', other)}"))
                for a in spec.get("aliases") or []:
                    if a in v.terms.get(kind, {}):
                        out.append(_p(src.path, value_mark(spec, "aliases"), "VG008",
                                      f"alias {a!r} of {name!r} is also a {kind} term"))

    def term(kind: Any, word: Any, container: Any, key: Any) -> Any:
        if v.resolve(kind, word) is None:
            out.append(_p(path, value_mark(container, key), "VG006", v.unknown_message(kind, word)))

    def walk(when: Any) -> Any:
        for key, spec in when.items():
            if key == "ceap":
                codes = [spec.get("min"), spec.get("max")] if isinstance(spec, dict) else spec
                for i, c in enumerate(codes):
                    if c is not None and c not in CLASSES:
                        where = value_mark(spec, ("min", "max")[i]) if isinstance(spec, dict) else value_mark(spec, i)
                        out.append(_p(path, where, "VG006", f"CEAP clinical class {c!r} is not defined in CEAP 2020"
                                                            f"{did_you_mean(str(c), CLASSES)}"))
            elif key == "etiology":
                for i, c in enumerate(spec):
                    if c not in ETIOLOGY:
                        out.append(_p(path, value_mark(spec, i), "VG006", f"CEAP etiology {c!r} is not defined"
                                                                          f"{did_you_mean(str(c), ETIOLOGY)}"))
            elif key in ("lesion", "factors"):
                kind = "lesion" if key == "lesion" else "factor"
                lists = {"any": spec} if isinstance(spec, list) else spec
                for words in lists.values():
                    for i, w in enumerate(words):
                        term(kind, w, words, i)
            elif key in CHOICE:
                for i, w in enumerate(spec):
                    term(BY_KEY[key].vocab, w, spec, i)
            elif key == "any_of":
                for alt in spec:
                    walk(alt)

    for src, _g, recs in docs:
        path = src.path
        for node, r in recs:
            term("action", r.action, node, "action")
            walk(node["when"])
    return out


@check("VG007", "unknown-grade", "A grade, evidence level or rating is not in the document's grading system")
def unknown_grades(kb: Any, sources: Any, docs: Any) -> Any:
    """``strength`` and ``evidence`` must be codes of the grading system the document names (``guideline.grading``),
    written exactly as that system spells them; an ACR ``rating`` must lie in its category's band.

    Pass: ``strength: IIa`` in an ``esvs-esc`` document
    Fail: ``strength: "2a"`` or ``strength: Ila`` in an ``esvs-esc`` document; ``rating: 3`` with
    ``strength: usually-appropriate``
    """
    out = []
    for src, g, recs in docs:
        system = kb.grading.get(g.grading)
        if system is None:
            out.append(_p(src.path, value_mark(src.tree["guideline"], "grading"), "VG007",
                          f"grading system {g.grading!r} is not defined{did_you_mean(g.grading, kb.grading)} "
                          f"(valid: {', '.join(sorted(kb.grading)) or 'none loaded'})"))
            continue
        for node, r in recs:
            for field, table in (("strength", system.strength), ("evidence", system.evidence)):
                code = getattr(r, field)
                if code is not None and code not in table:
                    valid = ", ".join(table) or "none (leave it null)"
                    out.append(_p(src.path, value_mark(node, field), "VG007",
                                  f"{field} {code!r} is not a code of {g.grading}{did_you_mean(str(code), table)} "
                                  f"(valid: {valid})"))
                conflict = (r.grade_conflict or {}).get(field)
                if conflict is not None and conflict not in table:
                    out.append(_p(src.path, value_mark(node, "grade_conflict"), "VG007",
                                  f"grade_conflict {field} {conflict!r} is not a code of {g.grading}"))
            if r.rating is not None:
                code = system.strength.get(r.strength)
                if system.rating is None:
                    out.append(_p(src.path, value_mark(node, "rating"), "VG007", f"{g.grading} has no numeric rating"))
                elif code is not None and code.ratings and r.rating not in code.ratings:
                    out.append(_p(src.path, value_mark(node, "rating"), "VG007",
                                  f"rating {r.rating} is outside the band of {code.label} "
                                  f"({min(code.ratings)}-{max(code.ratings)})"))
    return out


@check("VG008", "duplicate-id", "An id is defined twice")
def duplicate_ids(kb: Any, sources: Any, docs: Any) -> Any:
    """Recommendation ids are unique within a file, guideline ids across the loaded set (so every full id
    ``<guideline>/<id>`` is unique), and vocabulary terms and grading systems are defined once.

    Pass: ``id: "6.14"`` once in svs-avf-2014-vlu.yaml
    Fail: two recommendations with ``id: "6.14"`` in one file; two files with ``guideline.id: esvs-2022-cvd``
    """
    out = []
    seen_docs: dict[str, str] = {}
    for src, g, recs in docs:
        m = value_mark(src.tree["guideline"], "id")
        if g.id in seen_docs:
            out.append(_p(src.path, m, "VG008", f"guideline id {g.id!r} is already defined at {seen_docs[g.id]}"))
        seen_docs.setdefault(g.id, f"{src.path}:{m.line}:{m.col}")
        seen: dict[str, int] = {}
        for node, r in recs:
            if r.id in seen:
                out.append(_p(src.path, value_mark(node, "id"), "VG008",
                              f"recommendation id {r.id!r} already used at line {seen[r.id]}"))
            seen.setdefault(r.id, node.mark.line)
    return out


@check("VG009", "dangling-reference", "superseded_by / supersedes points to nothing")
def dangling(kb: Any, sources: Any, docs: Any) -> Any:
    """A superseded document must name its successor, and ``superseded_by``/``supersedes`` must name a
    document in the loaded set (the bundled set when validating a local file against it).

    Pass: ``status: superseded`` with ``superseded_by: esvs-2022-cvd`` (loaded)
    Fail: ``superseded_by: esvs-2030-cvd`` (no such document); ``status: superseded`` and no ``superseded_by``
    """
    out = []
    ids = {g.id for g in kb.guidelines} | _bundled_ids()
    for src, g, _recs in docs:
        h = src.tree["guideline"]
        for field in ("superseded_by", "supersedes"):
            target = getattr(g, field)
            if target is not None and target not in ids:
                out.append(_p(src.path, value_mark(h, field), "VG009", f"{field} {target!r} is not a loaded document"
                                                                         f"{did_you_mean(target, sorted(ids))}"))
        if g.status == "superseded" and not g.superseded_by:
            out.append(_p(src.path, value_mark(h, "status"), "VG009", "status superseded needs superseded_by"))
    return out


def _bundled_ids() -> set[str]:
    from .paths import bundled_dir

    return {p.stem for p in bundled_dir().glob("*.yaml")}


@check("VG010", "empty-criteria", "A recommendation has no selection criteria")
def empty_criteria(kb: Any, sources: Any, docs: Any) -> Any:
    """``when`` must hold at least one criterion, otherwise the recommendation would apply to every patient. A
    ``kind: practice`` statement (addressed to clinicians or services, never matched) may have ``when: {}``.

    Pass: ``when: {ceap: [C6]}``
    Fail: ``when: {}``
    """
    out = []
    for src, _g, recs in docs:
        for node, r in recs:
            if r.kind == "practice" and not r.when:
                continue
            alts = [r.when] + list(r.when.get("any_of", []))
            for w in alts:
                if not w:
                    out.append(_p(src.path, getattr(w, "mark", value_mark(node, "when")), "VG010",
                                  "empty criteria: the recommendation would apply to every profile"))
    return out


@check("VG011", "contradictory-criteria", "Criteria that no profile can satisfy")
def contradictions(kb: Any, sources: Any, docs: Any) -> Any:
    """Ranges must be satisfiable (min <= max, below > min ...), a CEAP range must run upwards, and a term must not
    be both required and excluded.

    Pass: ``ceap: {min: C3, max: C6}``; ``symptom_days: {below: 14}``
    Fail: ``ceap: {min: C6, max: C3}``; ``symptom_days: {min: 20, max: 10}``;
    ``factors: {all: [malignancy], none: [malignancy]}``
    """
    from .ceap import CLASSES
    from .engine import CEAP_ORDER

    out = []

    def walk(path: Any, when: Any) -> Any:
        for key, spec in when.items():
            where = value_mark(when, key)
            if key == "ceap" and isinstance(spec, dict) and spec.get("min") in CLASSES and spec.get("max") in CLASSES:
                if CEAP_ORDER.index(spec["min"]) > CEAP_ORDER.index(spec["max"]):
                    out.append(_p(path, where, "VG011", f"CEAP range min {spec['min']} is above max {spec['max']}"))
            elif isinstance(spec, dict) and key not in ("ceap", "lesion", "factors"):
                lo = max([spec[k] for k in ("min", "above") if k in spec], default=None)
                hi = min([spec[k] for k in ("max", "below") if k in spec], default=None)
                strict = "above" in spec or "below" in spec
                if lo is not None and hi is not None and (lo > hi or (lo == hi and strict)):
                    out.append(_p(path, where, "VG011", f"{key}: no value satisfies {dict(spec)}"))
            elif key in ("lesion", "factors") and isinstance(spec, dict):
                required = set(spec.get("all", ())) | (set(spec["any"]) if len(spec.get("any", ())) == 1 else set())
                both = sorted(required & set(spec.get("none", ())))
                if both:
                    out.append(_p(path, where, "VG011", f"{key}: {', '.join(both)} both required and excluded"))
            elif key == "any_of":
                for alt in spec:
                    walk(path, alt)

    for src, _g, recs in docs:
        for node, _r in recs:
            walk(src.path, node["when"])
    return out


@check("VG012", "duplicate-statement", "The same statement appears in more than one recommendation")
def duplicate_statements(kb: Any, sources: Any, docs: Any) -> Any:
    """Each statement must say what is specific to its recommendation; a copied statement usually means a
    copy-and-paste error (wrong population or action).

    Pass: two ACR rows with statements naming their own procedure
    Fail: two recommendations with the statement "Compression is recommended."
    """
    out = []
    seen: dict[str, str] = {}
    for src, _g, recs in docs:
        for node, r in recs:
            key = " ".join(r.statement.lower().split())
            if key in seen:
                out.append(_p(src.path, value_mark(node, "statement"), "VG012",
                              f"statement repeats {seen[key]}"))
            else:
                seen[key] = r.full_id
    return out


@check("VG013", "grade-direction", "The direction contradicts the grade")
def grade_direction(kb: Any, sources: Any, docs: Any) -> Any:
    """A grade that implies a direction must agree with ``direction``: ESVS Class III and ACR Usually Not
    Appropriate are 'against', Class I/IIa/IIb and Usually/May Be Appropriate are 'for'. A scope statement
    (``kind: scope``) has no direction and no grade; a recommendation needs a direction.

    Pass: ``strength: III, direction: against``
    Fail: ``strength: III, direction: for``
    """
    out = []
    for src, g, recs in docs:
        system = kb.grading.get(g.grading)
        for node, r in recs:
            if r.kind == "scope":
                if r.direction is not None or r.strength is not None:
                    out.append(_p(src.path, value_mark(node, "kind"), "VG013",
                                  "a scope statement has direction null and no grade"))
                continue
            if r.direction is None:
                out.append(_p(src.path, value_mark(node, "direction"), "VG013", "a recommendation needs a direction"))
                continue
            code = system.strength.get(r.strength) if system and r.strength else None
            if code is not None and code.direction and code.direction != r.direction:
                out.append(_p(src.path, value_mark(node, "direction"), "VG013",
                              f"direction {r.direction!r} contradicts {code.label} (implies {code.direction!r})"))
    return out


@check("VG014", "example-mismatch", "An example profile does not give the status it claims")
def examples(kb: Any, sources: Any, docs: Any) -> Any:
    """Each ``examples.applies`` profile must make the recommendation apply, each ``not_applicable`` profile
    must make it not applicable (and ``possible`` possible). Examples are profile documents.

    Pass: ``examples: {applies: [{ceap: C6, lesion: chronic-occlusion}]}`` for ``when: {ceap: [C6]}``
    Fail: ``examples: {applies: [{ceap: C3}]}`` for ``when: {ceap: [C6]}``
    """
    from . import profile as profiles
    from .engine import CriteriaError, compile_criteria, status_of
    from .errors import InputError

    out = []
    wanted = {"applies": "applies", "not_applicable": "not-applicable", "possible": "possible"}
    for src, _g, recs in docs:
        for node, r in recs:
            ex = node.get("examples") or {}
            if ex and _unknown_terms(r, kb.vocabulary):
                continue  # reported as VG006 once; the examples cannot be judged against an unknown term
            try:
                crit = compile_criteria(r.when, kb.vocabulary)
            except CriteriaError:  # an unknown criterion key is reported by the structural check
                continue
            for key, items in ex.items():
                for i, doc in enumerate(items or []):
                    where = value_mark(items, i)
                    try:
                        p = profiles.from_mapping(kb.vocabulary, doc)
                    except InputError as e:
                        out.append(_p(src.path, where, "VG014", f"examples.{key}[{i}]: {e}"))
                        continue
                    findings = [c.eval(p) for c in crit]
                    got = status_of(findings)
                    if got != wanted[key]:
                        why = "; ".join(f"{f.requires}: {'unknown' if f.state is None else 'no'}"
                                        for f in findings if f.state is not True)
                        out.append(_p(src.path, where, "VG014",
                                      f"examples.{key}[{i}] gives {got}, not {wanted[key]}"
                                      + (f" ({why})" if why else "")))
    return out


def _unknown_terms(r: Recommendation, v: Vocabulary) -> bool:
    """Whether the recommendation's action or criteria name a term, CEAP class or etiology code VG006 reports."""
    from .ceap import CLASSES, ETIOLOGY

    if v.resolve("action", r.action) is None:
        return True

    def bad(when: Mapping[str, Any]) -> bool:
        for key, spec in when.items():
            if key == "ceap":
                codes = [spec.get("min"), spec.get("max")] if isinstance(spec, dict) else spec
                if any(c is not None and c not in CLASSES for c in codes):
                    return True
            elif key == "etiology" and any(c not in ETIOLOGY for c in spec):
                return True
            elif key in ("lesion", "factors"):
                kind = "lesion" if key == "lesion" else "factor"
                lists = [spec] if isinstance(spec, list) else list(spec.values())
                if any(v.resolve(kind, w) is None for words in lists for w in words):
                    return True
            elif key in ("bleeding_risk", "severity") and any(
                    v.resolve(key.replace("_", "-"), w) is None for w in spec):
                return True
            elif key == "any_of" and any(bad(alt) for alt in spec):
                return True
        return False

    return bad(r.when)


@check("VG015", "unexplained-uncertainty", "Uncertainty is flagged but not explained")
def unexplained(kb: Any, sources: Any, docs: Any) -> Any:
    """A recommendation whose certainty is not 'verified' must say what is uncertain (``uncertain``); an
    unverified number must say how it was obtained (``number_basis``); a verified number must not be null.

    Pass: ``number_verified: false, number_basis: "inferred from position"``
    Fail: ``number_verified: false`` without ``number_basis``; ``certainty: secondary`` without ``uncertain``
    """
    out = []
    for src, _g, recs in docs:
        for node, r in recs:
            if r.certainty != "verified" and not r.uncertain:
                out.append(_p(src.path, value_mark(node, "certainty"), "VG015",
                              f"certainty {r.certainty!r} needs 'uncertain' saying what is not verified"))
            if not r.number_verified and not r.number_basis:
                out.append(_p(src.path, value_mark(node, "number_verified"), "VG015",
                              "an unverified number needs 'number_basis' (how it was obtained)"))
            if r.number_verified and r.number is None:
                out.append(_p(src.path, value_mark(node, "number"), "VG015",
                              "number_verified is true but number is null"))
    return out


@check("VG016", "fhir-mapping", "A FHIR mapping entry has a malformed code or an undefined reference")
def fhir_mapping(kb: Any, sources: Any, docs: Any) -> Any:
    """In ``fhir-mapping.yaml`` every code must be well formed for its system (ICD-10-CM ``I82.422`` with its dot,
    SNOMED CT digits with a valid Verhoeff check digit, LOINC ``77194-9``, ATC ``B01AF``, CEAP 2020 classes), and
    every ``system``, ``source`` and ``laterality`` scheme must be defined in the file. Terms (``lesion``,
    ``factors``, ``severity``) are checked as VG006, duplicates as VG017.

    Pass: ``{system: icd-10-cm, code: I82.42, match: prefix, lesion: acute-iliofemoral-dvt, ...}``
    Fail: ``code: I8242`` (no dot); ``code: "446841002"`` with ``system: snomed-ct`` (bad check digit);
    ``system: icd10`` (not defined under ``systems``)
    """
    from .fhir.mapping import KIND, problems

    out = []
    for src in sources:
        if src.kind == KIND and isinstance(src.tree, dict):
            out += problems(src, kb.vocabulary)
    return out


_declare("VG017", "fhir-duplicate-code", "A code is mapped twice in the FHIR mapping", """
Each (section, system, code) is mapped once in ``fhir-mapping.yaml``, so a code never gives two different sets of
facts depending on the order of the file (reported by the VG016 pass).

Pass: ``I82.42`` once under ``conditions``
Fail: ``{system: icd-10-cm, code: I82.42, ...}`` twice under ``conditions``
""")


_declare("VG018", "config", "The repository configuration for validate is invalid", """
``.vascular.yaml`` or ``[tool.vascular]`` in ``pyproject.toml`` (see the README, "Repository configuration"):
known keys only, ``level`` one of off/warning/error, check codes or names that exist, relative path globs; an error
check (VG001-VG017) cannot be turned off or lowered to a warning, because ``recommend`` refuses data that fails it.
A rule with a problem is not applied.

Pass: ``validate: {rules: [{checks: [VG102], level: off, paths: ["protocols/"]}]}``
Fail: ``validate: {rules: [{checks: [VG102], levle: off}]}`` (did you mean 'level'?); ``checks: [VG006]`` with
``level: off``
""")


@check("VG101", "unverified-number", "The recommendation number was not read in the source", level="warning")
def unverified_numbers(kb: Any, sources: Any, docs: Any) -> Any:
    """A warning, shown to users too: the label was inferred (e.g. from position) or is unknown.

    Pass: ``number_verified: true``
    Warn: ``number_verified: false``
    """
    out = []
    for src, _g, recs in docs:
        for node, r in recs:
            if not r.number_verified:
                label = repr(r.number) if r.number else "no number"
                out.append(_p(src.path, value_mark(node, "number_verified"), "VG101",
                              f"{r.full_id}: {label} not verified in the source "
                              f"({r.number_basis or 'no basis given'})"))
    return out


@check("VG102", "missing-doi", "The document has no DOI", level="warning")
def missing_doi(kb: Any, sources: Any, docs: Any) -> Any:
    """A warning: a DOI lets a clinician find the exact document.

    Pass: ``doi: 10.1016/j.jvs.2014.04.049``
    Warn: ``doi: null``
    """
    return [_p(src.path, value_mark(src.tree["guideline"], "doi"), "VG102", f"{g.id}: no DOI")
            for src, g, recs in docs if not g.doi]


@check("VG103", "missing-examples", "A recommendation has no example profiles", level="warning")
def missing_examples(kb: Any, sources: Any, docs: Any) -> Any:
    """A warning: without an ``applies`` and a ``not_applicable`` example, a mistyped criterion goes unnoticed.
    Practice statements with no criteria (never matched) need none.

    Pass: ``examples: {applies: [...], not_applicable: [...]}``
    Warn: no ``examples``
    """
    out = []
    for src, _g, recs in docs:
        for node, r in recs:
            if r.kind == "practice" and not r.when:
                continue
            ex = node.get("examples") or {}
            lacking = [k for k in ("applies", "not_applicable") if not ex.get(k)]
            if lacking:
                out.append(_p(src.path, key_mark(node, "examples") if "examples" in node else node.mark, "VG103",
                              f"{r.full_id}: no {' or '.join(lacking)} example"))
    return out


def markdown() -> str:
    """docs/checks.md, generated from this registry."""
    lines = ["# Validation checks", "", "Generated from `vascular_cli/checks.py` "
             "(`python -m vascular_cli.checks > docs/checks.md`); do not edit by hand.", "",
             "| code | name | level | title |", "|---|---|---|---|"]
    lines += [f"| {c.code} | {c.name} | {c.level} | {c.title} |" for c in REGISTRY.values()]
    for c in REGISTRY.values():
        # Pass/Fail/Warn lines as list items (adjacent lines would run together into one paragraph)
        out: list[str] = []
        in_list = False
        for line in c.doc.split("\n"):
            if re.match(r"(Pass|Fail|Warn):", line):
                if not in_list and out and out[-1]:
                    out.append("")
                line, in_list = "- " + line, True
            elif not line:
                in_list = False
            out.append(line)
        doc = "\n".join(out)
        lines += ["", f"## {c.code} {c.name}", "", f"*{c.title}* ({c.level})", "", doc]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(markdown(), end="")
