"""The knowledge base as FHIR R4 resources, following the HL7 CPG-on-FHIR recommendation-definition pattern.

- one PlanDefinition (type eca-rule) per guideline document; one action per ``kind: recommendation`` item
  (``kind: practice`` items become relatedArtifact documentation entries; ``kind: scope`` items are left out);
- each action: statement (description, textEquivalent), number (prefix), citation with DOI (documentation),
  cqf-strengthOfRecommendation / cqf-qualityOfEvidence (native codes from one CodeSystem per grading system),
  the direction and the certainty fields as project extensions, the applicability criteria as a readable
  ``condition`` expression (language ``text/x-vascular-criteria``, docs/fhir.md), definitionCanonical to the
  ActivityDefinition of the action term;
- CodeSystems: CEAP clinical classes, observation codes, bleeding risk, the lesion/factor/action vocabulary and one
  per grading system. Output is deterministic (no dates, sorted), plain JSON.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import DISCLAIMER, __version__
from .mapping import BASE

if TYPE_CHECKING:
    from ..model import GradingSystem, Guideline, Recommendation, Term

ACTION_SYSTEM = f"{BASE}/CodeSystem/vascular-action"
EXT_DIRECTION = f"{BASE}/StructureDefinition/recommendation-direction"
EXT_CERTAINTY = f"{BASE}/StructureDefinition/recommendation-certainty"
CQF_STRENGTH = "http://hl7.org/fhir/StructureDefinition/cqf-strengthOfRecommendation"
CQF_QUALITY = "http://hl7.org/fhir/StructureDefinition/cqf-qualityOfEvidence"
PLAN_TYPE = "http://terminology.hl7.org/CodeSystem/plan-definition-type"
CRITERIA_LANGUAGE = "text/x-vascular-criteria"
STATUS = {"active": "active", "superseded": "retired", "retired": "retired"}

CEAP_CLASSES = [  # CEAP 2020 clinical classes (Lurie F et al., J Vasc Surg Venous Lymphat Disord 2020)
    ("C0", "No visible or palpable signs of venous disease", None),
    ("C1", "Telangiectasias or reticular veins", None),
    ("C2", "Varicose veins", None),
    ("C2r", "Recurrent varicose veins", "C2"),
    ("C3", "Edema", None),
    ("C4", "Changes in skin and subcutaneous tissue secondary to chronic venous disease", None),
    ("C4a", "Pigmentation or eczema", "C4"),
    ("C4b", "Lipodermatosclerosis or atrophie blanche", "C4"),
    ("C4c", "Corona phlebectatica", "C4"),
    ("C5", "Healed venous ulcer", None),
    ("C6", "Active venous ulcer", None),
    ("C6r", "Recurrent active venous ulcer", "C6"),
]
OBSERVATION_CODES = [
    ("abi", "Ankle-brachial index", "Ankle-brachial index (ratio, 0-3): valueQuantity."),
    ("ankle-pressure", "Ankle systolic pressure", "Absolute ankle systolic pressure: valueQuantity in mm[Hg]."),
    ("toe-pressure", "Toe systolic pressure", "Toe systolic pressure: valueQuantity in mm[Hg]."),
    ("ceap", "CEAP classification", "CEAP 2020 classification of the limb: valueString (a full CEAP string such as "
     "'C6,s Es Ad Pr,o') or valueCodeableConcept (a ceap-clinical-class code)."),
    ("bleeding-risk", "Bleeding risk category", "Bleeding risk category (CHEST 2016 Table 11): valueCodeableConcept "
     "from the bleeding-risk code system."),
]
BLEEDING = [("low", "Low bleeding risk", "No bleeding risk factor (CHEST 2016 Table 11)."),
            ("moderate", "Moderate bleeding risk", "One bleeding risk factor (CHEST 2016 Table 11)."),
            ("high", "High bleeding risk", "Two or more bleeding risk factors (CHEST 2016 Table 11).")]


def _url(kind: str, rid: str) -> str:
    return f"{BASE}/{kind}/{rid}"


def _name(text: str) -> str:
    """A computer-friendly name (FHIR inv: starts upper case, letters/digits/_)."""
    parts = re.split(r"[^A-Za-z0-9]+", text)
    name = "".join(p[:1].upper() + p[1:] for p in parts if p)
    return name if name[:1].isalpha() else "X" + name


def _codesystem(cid: str, title: str, description: str, concepts: list[dict], properties: list[dict] | None = None,
                hierarchy: bool = False) -> dict:
    cs = {"resourceType": "CodeSystem", "id": cid, "url": _url("CodeSystem", cid), "version": __version__,
          "name": _name(cid), "title": title, "status": "active", "experimental": False,
          "publisher": "vascular", "description": description, "caseSensitive": True}
    if hierarchy:
        cs["hierarchyMeaning"] = "is-a"
    cs["content"] = "complete"
    cs["count"] = len(concepts)
    if properties:
        cs["property"] = properties
    cs["concept"] = concepts
    return cs


def _term_system(kb: Any, kind: str, cid: str, title: str) -> dict:
    props = [{"code": "parent", "uri": "http://hl7.org/fhir/concept-properties#parent", "type": "code",
              "description": "A broader term (every case of this term is a case of the parent)."}]
    concepts = []
    for name, t in sorted(kb.vocabulary.terms.get(kind, {}).items()):
        c = {"code": name, "display": name, "definition": t.definition}
        if t.aliases:
            c["designation"] = [{"use": {"system": "http://terminology.hl7.org/CodeSystem/designation-usage",
                                         "code": "synonym"}, "value": a} for a in t.aliases]
        if t.broader:
            c["property"] = [{"code": "parent", "valueCode": b} for b in t.broader]
        concepts.append(c)
    return _codesystem(cid, title, f"The {kind} terms of the vascular controlled vocabulary "
                                   f"(guidelines/vocabulary.yaml), with definitions; 'parent' is the broader term.",
                       concepts, props if any("property" in c for c in concepts) else None, hierarchy=True)


def grading_system_id(gid: str) -> str:
    return f"grading-{gid}"


def _grading_system(g: GradingSystem) -> dict:
    props = [{"code": "axis", "type": "code", "description": "strength (of recommendation) or evidence (level)"}]
    concepts = []
    for axis, table in (("strength", g.strength), ("evidence", g.evidence)):
        for code, gc in table.items():
            concepts.append({"code": code, "display": gc.label, "definition": gc.meaning,
                             "property": [{"code": "axis", "valueCode": axis}]})
    return _codesystem(grading_system_id(g.id), g.name, f"Native codes of the grading system {g.name} ({g.source}); "
                       "strength and evidence codes as the body publishes them, with no mapping to other systems.",
                       concepts, props)


# --- criteria as text ----------------------------------------------------------------------------------------------
_OPS = {"min": ">=", "max": "<=", "below": "<", "above": ">"}


def _set(words: Any) -> str:
    return "{" + ", ".join(words) + "}"


def criteria_text(when: Mapping[str, Any]) -> str:
    """The documented text form of a ``when`` mapping (docs/fhir.md), e.g.
    ``ceap in {C4b, C5, C6} and lesion any {chronic-occlusion, severe-stenosis}``."""
    parts = []
    for key, spec in when.items():
        if key == "any_of":
            parts.append("(" + " or ".join(f"({criteria_text(alt)})" for alt in spec) + ")")
        elif key == "ceap" and isinstance(spec, dict):
            parts += [f"ceap {_OPS[k]} {spec[k]}" for k in ("min", "max") if k in spec]
        elif key in ("ceap", "etiology", "bleeding_risk", "severity"):
            parts.append(f"{key} in {_set(spec)}")
        elif key in ("lesion", "factors"):
            name = "lesion" if key == "lesion" else "factor"
            forms = {"any": spec} if isinstance(spec, list) else spec
            parts += [f"{name} {k} {_set(forms[k])}" for k in ("any", "all", "none") if k in forms]
        else:  # ranges: symptom_days, abi, ankle_pressure, toe_pressure
            parts += [f"{key} {_OPS[k]} {spec[k]:g}" for k in ("min", "above", "max", "below") if k in spec]
    return " and ".join(parts)


# --- recommendations -----------------------------------------------------------------------------------------------
def _doi_url(g: Guideline) -> str | None:
    return f"https://doi.org/{g.doi}" if g.doi else g.url


def _certainty(r: Recommendation) -> dict:
    subs = [("certainty", "valueCode", r.certainty), ("uncertain", "valueString", r.uncertain),
            ("numberVerified", "valueBoolean", r.number_verified), ("numberBasis", "valueString", r.number_basis),
            ("source", "valueString", r.source), ("sourceReliability", "valueString", r.source_reliability),
            ("note", "valueString", r.note)]
    ext = [{"url": u, t: v} for u, t, v in subs if v is not None]
    if r.grade_conflict:
        gc = r.grade_conflict
        text = ", ".join(f"{k} {v}" for k, v in gc.items() if k in ("strength", "evidence") and v) + \
            (f" (per {gc['source']})" if gc.get("source") else "")
        ext.append({"url": "gradeConflict", "valueString": text})
    return {"url": EXT_CERTAINTY, "extension": ext}


def _action(kb: Any, r: Recommendation) -> dict:
    g = r.guideline
    system = _url("CodeSystem", grading_system_id(g.grading))
    grading = kb.grading.get(g.grading)
    ext = []
    for url, code, table in ((CQF_STRENGTH, r.strength, grading.strength if grading else {}),
                             (CQF_QUALITY, r.evidence, grading.evidence if grading else {})):
        if code is not None:
            label = table[code].label if code in table else code
            ext.append({"url": url, "valueCodeableConcept": {"coding": [{"system": system, "code": code,
                                                                          "display": label}]}})
    if r.direction:
        ext.append({"url": EXT_DIRECTION, "valueCode": r.direction})
    ext.append(_certainty(r))
    label = r.number or r.id
    doc: dict[str, Any] = {"type": "citation", "label": label, "display": r.locator, "citation": g.citation}
    if _doi_url(g):
        doc["url"] = _doi_url(g)
    return {
        "extension": ext,
        "id": r.id,
        "prefix": label,
        "title": f"{g.body} {g.year} {label}",
        "description": r.statement,
        "textEquivalent": r.statement,
        "code": [{"coding": [{"system": ACTION_SYSTEM, "code": r.action}]}],
        "documentation": [doc],
        "condition": [{"kind": "applicability", "expression": {
            "description": "Population of the recommendation, in the vascular criteria text form (docs/fhir.md)",
            "language": CRITERIA_LANGUAGE, "expression": criteria_text(r.when)}}],
        "definitionCanonical": _url("ActivityDefinition", r.action),
    }


def _plan(kb: Any, g: Guideline) -> dict:
    recs = [r for r in kb.recommendations if r.guideline.id == g.id]
    related: list[dict[str, Any]] = [{"type": "citation", "citation": g.citation}]
    if _doi_url(g):
        related[0]["url"] = _doi_url(g)
    if g.superseded_by:
        related.append({"type": "successor", "resource": _url("PlanDefinition", g.superseded_by)})
    if g.supersedes:
        related.append({"type": "predecessor", "resource": _url("PlanDefinition", g.supersedes)})
    for r in recs:
        if r.kind == "practice":  # guideline-level statements: documentation only, never an action
            related.append({"type": "documentation", "label": r.number or r.id, "display": r.statement})
    desc = (f"Computable recommendations transcribed from {g.body} {g.year}, '{g.title}' (statements are "
            f"paraphrases; check each against the source). {DISCLAIMER}")
    if g.note:
        desc += f" Note: {g.note}"
    return {
        "resourceType": "PlanDefinition", "id": g.id, "url": _url("PlanDefinition", g.id),
        "identifier": [{"system": f"{BASE}/guideline", "value": g.id}], "version": __version__,
        "name": _name(g.id), "title": f"{g.body} {g.year}: {g.title}",
        "type": {"coding": [{"system": PLAN_TYPE, "code": "eca-rule", "display": "ECA Rule"}]},
        "status": STATUS.get(g.status, "unknown"), "experimental": False, "publisher": "vascular",
        "description": desc, "relatedArtifact": related,
        "action": [_action(kb, r) for r in recs if r.kind == "recommendation"],
    }


def _activity(kb: Any, name: str, t: Term) -> dict:
    return {"resourceType": "ActivityDefinition", "id": name, "url": _url("ActivityDefinition", name),
            "version": __version__, "name": _name(name), "title": name, "status": "active", "experimental": False,
            "publisher": "vascular", "description": t.definition,
            "code": {"coding": [{"system": ACTION_SYSTEM, "code": name, "display": name}], "text": t.definition}}


def resources(kb: Any) -> list[dict]:
    """Every exported resource, in a fixed order: CodeSystems, ActivityDefinitions, PlanDefinitions."""
    out = [
        _codesystem("ceap-clinical-class", "CEAP clinical classes", "The clinical (C) classes of CEAP 2020 (Lurie F et "
                    "al., J Vasc Surg Venous Lymphat Disord 2020;8:342-52). CEAP has no HL7 code system; this "
                    "project code system holds the classes only (the full CEAP string goes in an Observation's "
                    "valueString). A lettered or r class is-a its class (C4a is-a C4).",
                    [{"code": c, "display": d} for c, d, p in CEAP_CLASSES if p is None], hierarchy=True),
        _codesystem("vascular-observation", "vascular observation codes", "Observation codes for profile facts that "
                    "have no verified LOINC or SNOMED CT code in the mapping.",
                    [{"code": c, "display": d, "definition": x} for c, d, x in OBSERVATION_CODES]),
        _codesystem("bleeding-risk", "Bleeding risk category", "CHEST 2016 Table 11 bleeding-risk categories.",
                    [{"code": c, "display": d, "definition": x} for c, d, x in BLEEDING]),
        _term_system(kb, "lesion", "vascular-lesion", "vascular lesion terms"),
        _term_system(kb, "factor", "vascular-factor", "vascular factor terms"),
        _term_system(kb, "action", "vascular-action", "vascular action terms"),
    ]
    ceap = out[0]  # nest the lettered classes under their class
    for c in ceap["concept"]:
        kids = [{"code": k, "display": d} for k, d, p in CEAP_CLASSES if p == c["code"]]
        if kids:
            c["concept"] = kids
    ceap["count"] = len(CEAP_CLASSES)
    used = {g.grading for g in kb.guidelines}
    out += [_grading_system(kb.grading[gid]) for gid in sorted(used) if gid in kb.grading]
    out += [_activity(kb, n, t) for n, t in sorted(kb.vocabulary.terms.get("action", {}).items())]
    out += [_plan(kb, g) for g in sorted(kb.guidelines, key=lambda g: g.id)]
    return out


def bundle(kb: Any) -> dict:
    return {"resourceType": "Bundle", "id": "vascular-knowledge-base", "type": "collection",
            "entry": [{"fullUrl": r["url"], "resource": r} for r in resources(kb)]}


def write(kb: Any, output: str | None, out: Any) -> str:
    """Write the export: stdout (a Bundle), a .json file (a Bundle) or a directory (one file per resource).
    Returns a one-line summary for stderr."""
    import json
    from pathlib import Path

    def dump(doc: Any) -> str:
        return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"

    items = resources(kb)
    counts: dict[str, int] = {}
    for r in items:
        counts[r["resourceType"]] = counts.get(r["resourceType"], 0) + 1
    summary = ", ".join(f"{n} {t}" for t, n in counts.items())
    if output is None:
        out.write(dump(bundle(kb)))
        return f"{len(items)} resources ({summary})"
    path = Path(output)
    if path.suffix == ".json" and not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump(bundle(kb)), encoding="utf-8")
        return f"{path}: a Bundle of {len(items)} resources ({summary})"
    path.mkdir(parents=True, exist_ok=True)
    for r in items:
        (path / f"{r['resourceType']}-{r['id']}.json").write_text(dump(r), encoding="utf-8")
    return f"{path}: {len(items)} files ({summary})"
