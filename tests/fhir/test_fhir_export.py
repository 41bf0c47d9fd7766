"""`vascular export --format fhir`: CPG-on-FHIR PlanDefinitions, ActivityDefinitions and CodeSystems; every resource
parses with fhir.resources (R4B models, the nearest to R4), uses only R4 elements, and every reference resolves."""

from __future__ import annotations

import importlib
import json

import pytest
from conftest import cli

import vascular_cli
from vascular_cli.fhir.export import (
    CQF_QUALITY,
    CQF_STRENGTH,
    EXT_CERTAINTY,
    EXT_DIRECTION,
    bundle,
    criteria_text,
    resources,
)

KB = vascular_cli.load()
RESOURCES = resources(KB)
BY_URL = {r["url"]: r for r in RESOURCES}

# R4 (4.0.1) elements of the resources exported. fhir.resources has no R4 package (R4B 4.3.0 is the nearest), and
# R4B added elements R4 lacks (e.g. subjectCanonical on PlanDefinition/ActivityDefinition) and expression languages
# (text/cql-identifier, text/cql-expression): a resource that R4B accepts could still be invalid R4, so the export
# is also held to these R4 element lists and an R4 expression language (or our own documented one).
R4 = {
    "PlanDefinition": {"resourceType", "id", "meta", "text", "extension", "url", "identifier", "version", "name",
                       "title", "subtitle", "type", "status", "experimental", "subjectCodeableConcept",
                       "subjectReference", "date", "publisher", "contact", "description", "useContext",
                       "jurisdiction", "purpose", "usage", "copyright", "approvalDate", "lastReviewDate",
                       "effectivePeriod", "topic", "author", "editor", "reviewer", "endorser", "relatedArtifact",
                       "library", "goal", "action"},
    "action": {"id", "extension", "prefix", "title", "description", "textEquivalent", "priority", "code", "reason",
               "documentation", "goalId", "subjectCodeableConcept", "subjectReference", "trigger", "condition",
               "input", "output", "relatedAction", "participant", "type", "groupingBehavior", "selectionBehavior",
               "requiredBehavior", "precheckBehavior", "cardinalityBehavior", "definitionCanonical", "definitionUri",
               "transform", "dynamicValue", "action"},
    "ActivityDefinition": {"resourceType", "id", "meta", "text", "extension", "url", "identifier", "version",
                           "name", "title", "subtitle", "status", "experimental", "subjectCodeableConcept",
                           "subjectReference", "date", "publisher", "contact", "description", "useContext",
                           "jurisdiction", "purpose", "usage", "copyright", "approvalDate", "lastReviewDate",
                           "effectivePeriod", "topic", "author", "editor", "reviewer", "endorser", "relatedArtifact",
                           "library", "kind", "profile", "code", "intent", "priority", "doNotPerform", "timingTiming",
                           "location", "participant", "productReference", "productCodeableConcept", "quantity",
                           "dosage", "bodySite", "specimenRequirement", "observationRequirement",
                           "observationResultRequirement", "transform", "dynamicValue"},
    "CodeSystem": {"resourceType", "id", "meta", "text", "extension", "url", "identifier", "version", "name", "title",
                   "status", "experimental", "date", "publisher", "contact", "description", "useContext",
                   "jurisdiction", "purpose", "copyright", "caseSensitive", "valueSet", "hierarchyMeaning",
                   "compositional", "versionNeeded", "content", "supplements", "count", "filter", "property",
                   "concept"},
}
R4_EXPRESSION_LANGUAGES = {"text/cql", "text/fhirpath", "application/x-fhir-query"}


def test_one_plandefinition_per_document_one_action_per_recommendation():
    plans = [r for r in RESOURCES if r["resourceType"] == "PlanDefinition"]
    assert sorted(p["id"] for p in plans) == sorted(g.id for g in KB.guidelines)
    for p in plans:
        assert p["type"]["coding"][0]["code"] == "eca-rule"
        recs = [r for r in KB.recommendations if r.guideline.id == p["id"]]
        assert [a["id"] for a in p["action"]] == [r.id for r in recs if r.kind == "recommendation"]
        g = KB.guideline(p["id"])
        cite = p["relatedArtifact"][0]
        assert cite["type"] == "citation" and cite["citation"] == g.citation
        if g.doi:
            assert cite["url"] == f"https://doi.org/{g.doi}"
        assert p["status"] == ("active" if g.status == "active" else "retired")
    scope = [r for r in KB.recommendations if r.kind == "scope"]
    actions = {(p["id"], a["id"]) for p in plans for a in p["action"]}
    assert scope and all((r.guideline.id, r.id) not in actions for r in scope)


def test_action_carries_statement_number_native_grade_direction_and_certainty():
    plan = BY_URL["https://github.com/vascular/vascular/fhir/PlanDefinition/svs-avf-2014-vlu"]
    rec = next(r for r in KB.recommendations if r.full_id == "svs-avf-2014-vlu/6.14")
    action = next(a for a in plan["action"] if a["id"] == "6.14")
    assert action["description"] == rec.statement and action["prefix"] == rec.number
    ext = {e["url"]: e for e in action["extension"]}
    assert ext[CQF_STRENGTH]["valueCodeableConcept"]["coding"][0]["code"] == rec.strength
    assert ext[CQF_QUALITY]["valueCodeableConcept"]["coding"][0]["code"] == rec.evidence
    assert ext[EXT_DIRECTION]["valueCode"] == rec.direction
    certainty = {e["url"]: next(v for k, v in e.items() if k.startswith("value")) for e in ext[EXT_CERTAINTY]["extension"]}
    assert certainty["certainty"] == rec.certainty and certainty["numberVerified"] is False
    assert certainty["numberBasis"] == rec.number_basis
    assert action["condition"][0]["expression"]["expression"] == criteria_text(rec.when)
    assert action["documentation"][0]["url"] == "https://doi.org/10.1016/j.jvs.2014.04.049"


def test_grades_are_native_codes_of_the_documents_own_system():
    for p in (r for r in RESOURCES if r["resourceType"] == "PlanDefinition"):
        g = KB.guideline(p["id"])
        for a in p["action"]:
            rec = next(r for r in KB.recommendations if r.guideline.id == g.id and r.id == a["id"])
            for e in a["extension"]:
                if e["url"] in (CQF_STRENGTH, CQF_QUALITY):
                    coding = e["valueCodeableConcept"]["coding"][0]
                    assert coding["system"].endswith(f"/CodeSystem/grading-{g.grading}")
                    assert coding["code"] == (rec.strength if e["url"] == CQF_STRENGTH else rec.evidence)
                    cs = BY_URL[coding["system"]]
                    axis = {c["code"]: c["property"][0]["valueCode"] for c in cs["concept"]}
                    assert axis[coding["code"]] == ("strength" if e["url"] == CQF_STRENGTH else "evidence")


def test_criteria_text_form():
    assert criteria_text({"ceap": ["C4b", "C5", "C6"], "lesion": ["chronic-occlusion", "severe-stenosis"]}) == \
        "ceap in {C4b, C5, C6} and lesion any {chronic-occlusion, severe-stenosis}"
    assert criteria_text({"ceap": {"min": "C3"}, "symptom_days": {"below": 14},
                          "factors": {"all": ["first-episode"], "none": ["malignancy"]},
                          "any_of": [{"abi": {"max": 0.5}}, {"ankle_pressure": {"below": 60}}]}) == \
        ("ceap >= C3 and symptom_days < 14 and factor all {first-episode} and factor none {malignancy} and "
         "((abi <= 0.5) or (ankle_pressure < 60))")


def _references(node):
    """(kind, target) for every canonical or coding system inside an exported resource."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("definitionCanonical", "resource") and isinstance(v, str):
                yield k, v
            elif k == "system" and "code" in node and v.startswith("https://github.com/vascular/"):
                yield k, v
            else:
                yield from _references(v)
    elif isinstance(node, list):
        for v in node:
            yield from _references(v)


def test_every_reference_resolves_within_the_export():
    for r in RESOURCES:
        for kind, target in _references(r):
            assert target in BY_URL, (r["id"], kind, target)
    codes = {cs["url"]: {c["code"] for c in _flat(cs["concept"])} for cs in RESOURCES
             if cs["resourceType"] == "CodeSystem"}
    for r in RESOURCES:
        for coding in _codings(r):
            if coding["system"] in codes:
                assert coding["code"] in codes[coding["system"]], coding


def _flat(concepts):
    for c in concepts:
        yield c
        yield from _flat(c.get("concept", []))


def _codings(node):
    if isinstance(node, dict):
        if "system" in node and "code" in node:
            yield node
        for v in node.values():
            yield from _codings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _codings(v)


def test_ceap_code_system_has_every_ceap_2020_class():
    from vascular_cli.ceap import CLASSES

    cs = BY_URL["https://github.com/vascular/vascular/fhir/CodeSystem/ceap-clinical-class"]
    assert sorted(c["code"] for c in _flat(cs["concept"])) == sorted(CLASSES) and cs["count"] == len(CLASSES)


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: f"{r['resourceType']}/{r['id']}")
def test_every_exported_resource_parses_with_fhir_resources_and_uses_only_r4_elements(resource):
    mod = importlib.import_module(f"fhir.resources.R4B.{resource['resourceType'].lower()}")
    model = getattr(mod, resource["resourceType"])
    model.model_validate(resource)
    assert set(resource) <= R4[resource["resourceType"]], set(resource) - R4[resource["resourceType"]]
    for action in resource.get("action", []):
        assert set(action) <= R4["action"]
        lang = action["condition"][0]["expression"]["language"]
        assert lang in R4_EXPRESSION_LANGUAGES or lang.startswith("text/x-")


def test_the_bundle_parses_and_cli_export_is_deterministic(tmp_path):
    mod = importlib.import_module("fhir.resources.R4B.bundle")
    mod.Bundle.model_validate(bundle(KB))
    a, b = cli("export"), cli("export", "--format", "fhir")
    assert a.code == 0 and a.out == b.out and json.loads(a.out) == bundle(KB)
    assert a.err.startswith("vascular: exported ") and "PlanDefinition" in a.err
    r = cli("export", "-o", str(tmp_path / "out"))
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert r.code == 0 and len(files) == len(RESOURCES) and "PlanDefinition-esvs-2022-cvd.json" in files
    r = cli("export", "-o", str(tmp_path / "kb.json"))
    assert r.code == 0 and json.loads((tmp_path / "kb.json").read_text()) == bundle(KB)
    r = cli("export", "--format", "cql")
    assert (r.code, r.err) == (2, "vascular: error: --format: 'cql' is not valid (valid: fhir)\n")


def test_practice_items_are_documentation_only_never_actions():
    from vascular_cli.fhir.export import _plan
    from vascular_cli.loader import KnowledgeBase

    recs = list(KB.recommendations)
    i = next(i for i, r in enumerate(recs) if r.full_id == "svs-avf-2014-vlu/6.14")
    recs[i] = recs[i]._replace(kind="practice")
    kb = KnowledgeBase(KB.vocabulary, KB.grading, KB.guidelines, tuple(recs))
    plan = _plan(kb, KB.guideline("svs-avf-2014-vlu"))
    assert "6.14" not in [a["id"] for a in plan["action"]]
    assert {"type": "documentation", "label": recs[i].number, "display": recs[i].statement} in plan["relatedArtifact"]
