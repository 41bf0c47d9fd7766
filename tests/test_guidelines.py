"""The bundled knowledge base: valid, schema-conformant, and every recommendation's example profiles behave."""

import json

import pytest
import yaml
from conftest import GUIDELINES

import vascular_cli
from vascular_cli.engine import compile_criteria, status_of
from vascular_cli.profile import from_mapping
from vascular_cli.schema import json_schema

KB = vascular_cli.load()
WANT = {"applies": "applies", "not_applicable": "not-applicable", "possible": "possible"}
EXAMPLES = [(r.full_id, kind, i, doc) for r in KB.recommendations for kind, docs in r.examples.items()
            for i, doc in enumerate(docs)]


def test_bundled_knowledge_base_has_no_errors():
    assert [str(p) for p in KB.errors] == []


def test_every_recommendation_has_an_applies_and_a_near_miss_example():
    lacking = [r.full_id for r in KB.recommendations if r.kind == "recommendation"
               and (not r.examples.get("applies") or not r.examples.get("not_applicable"))]
    assert lacking == []


@pytest.mark.parametrize("rec_id, kind, i, doc", EXAMPLES, ids=[f"{e[0]}:{e[1]}[{e[2]}]" for e in EXAMPLES])
def test_example_profile(rec_id, kind, i, doc):
    rec = next(r for r in KB.recommendations if r.full_id == rec_id)
    findings = [c.eval(from_mapping(KB.vocabulary, doc)) for c in compile_criteria(rec.when, KB.vocabulary)]
    assert status_of(findings) == WANT[kind], [f for f in findings if f.state is not True]


@pytest.mark.parametrize("path", sorted(p for p in GUIDELINES.glob("*.yaml") if p.name not in
                                        ("vocabulary.yaml", "grading.yaml", "fhir-mapping.yaml") and not p.name.startswith("vocab")),
                         ids=lambda p: p.name)
def test_guideline_file_validates_against_the_published_json_schema(path):
    jsonschema = pytest.importorskip("jsonschema")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(json_schema()).validate(json.loads(json.dumps(doc)))


def test_schema_rejects_an_unknown_field():
    jsonschema = pytest.importorskip("jsonschema")
    doc = yaml.safe_load((GUIDELINES / "cirse-2014-iliocaval-stenting.yaml").read_text(encoding="utf-8"))
    doc["recommendations"][0]["statment"] = "typo"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(json_schema()).validate(doc)


def test_native_grades_are_kept():
    grades = {r.full_id: (r.strength, r.evidence) for r in KB.recommendations}
    assert grades["svs-avf-2014-vlu/6.14"] == ("1", "C")
    assert grades["esvs-2022-cvd/R81"] == ("IIa", "B")
    assert grades["esvs-2015-cvd/stenting"] == ("IIa", "B")
    assert grades["cirse-2014-iliocaval-stenting/interventional-therapy-c3-c6"] == (None, None)
    assert grades["acr-2019-vte-ivc-filters/v2-retrievable-ivc-filter"] == ("usually-appropriate", None)


def test_uncertain_facts_stay_visible():
    by_id = {r.full_id: r for r in KB.recommendations}
    assert not by_id["svs-avf-2014-vlu/6.14"].number_verified
    assert by_id["svs-avf-2014-vlu/6.9"].number_verified
    assert all(not r.number_verified and r.number is None
               for r in KB.recommendations if r.guideline.id == "svs-avf-2012-etr")
    assert by_id["esvs-2015-cvd/stenting"].certainty == "seed-only"
    assert by_id["cirse-2014-iliocaval-stenting/interventional-therapy-c3-c6"].certainty == "seed-only"
    for rid, field in (("esvs-2021-vt/R27", "evidence"), ("esvs-2021-vt/R30", "evidence"), ("esvs-2021-vt/R37", "strength")):
        assert by_id[rid].certainty == "uncertain" and field in by_id[rid].grade_conflict


def test_superseded_document_is_marked():
    g = KB.guideline("esvs-2015-cvd")
    assert (g.status, g.superseded_by) == ("superseded", "esvs-2022-cvd")
