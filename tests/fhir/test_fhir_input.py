"""FHIR R4 input: Bundles -> profile documents with provenance; the same recommendations as the equivalent profile;
bad input is one clear error line (exit 2), or an error line in batch mode; never a traceback."""

from __future__ import annotations

import copy
import importlib
import json
from pathlib import Path

import pytest
import yaml
from conftest import cli

import vascular_cli
from vascular_cli.engine import Engine
from vascular_cli.fhir import load_mapping, profile_from_bundle
from vascular_cli.profile import from_mapping

HERE = Path(__file__).parent
BUNDLES = sorted((HERE / "bundles").glob("*.json"))
SCENARIOS = yaml.safe_load((HERE / "scenarios.yaml").read_text(encoding="utf-8"))
KB = vascular_cli.load()
ENGINE = Engine(KB)
MAPPING = load_mapping(vocabulary=KB.vocabulary)
ICD = "http://hl7.org/fhir/sid/icd-10-cm"


def _bundle(name: str) -> dict:
    return json.loads((HERE / "bundles" / f"{name}.json").read_text(encoding="utf-8"))


def _outcome(doc: dict):
    result = ENGINE.evaluate(from_mapping(KB.vocabulary, doc))
    statuses = {m.rec.full_id: m.status for m in result.matches}
    conflicts = sorted({tuple(sorted((m.rec.full_id, c))) for m in result.matches for c in m.conflicts_with})
    return statuses, conflicts


def test_there_are_at_least_10_scenario_bundles_each_with_its_profile():
    assert len(BUNDLES) >= 10
    assert sorted(p.stem for p in BUNDLES) == sorted(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_bundle_gives_the_same_recommendations_as_the_equivalent_profile(name):
    case = SCENARIOS[name]
    fp = profile_from_bundle(_bundle(name), MAPPING, KB.vocabulary)
    assert fp.errors == [], fp.message()
    got, expected = _outcome(fp.document), _outcome(case["profile"])
    assert got == expected
    assert any(s == "applies" for s in got[0].values()) or name == "04-pulmonary-embolism"
    for fact, resource in case["sources"].items():
        assert resource in [r["resource"] for r in fp.provenance[fact]], (fact, fp.provenance.get(fact))
    assert sorted({i["resource"] for i in fp.ignored}) == sorted(case["ignored"])


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_fact_has_provenance_and_no_is_never_inferred_from_absence(name):
    fp = profile_from_bundle(_bundle(name), MAPPING, KB.vocabulary)
    doc = fp.document
    for key in ("ceap", "bleeding_risk", "severity", "symptom_days", "abi", "ankle_pressure", "toe_pressure"):
        if key in doc:
            assert fp.provenance[key], key
    for term in doc.get("lesion", []):
        assert fp.provenance[f"lesion:{term}"]
    for factor in doc.get("factors", {}):
        assert fp.provenance[f"factor:{factor}"]  # every yes AND every no comes from a resource that states it
    # no cancer code anywhere: malignancy stays unknown, not "no"
    assert "malignancy" not in doc.get("factors", {})


def test_laterality_is_kept_in_provenance():
    fp = profile_from_bundle(_bundle("02-acute-iliofemoral-dvt-day5-low-bleeding"), MAPPING, KB.vocabulary)
    rec = fp.provenance["lesion:acute-iliofemoral-dvt"][0]
    assert (rec["code"], rec["laterality"], rec["resource"]) == ("I82.422", "left", "Condition/dvt")
    fp = profile_from_bundle(_bundle("09-superficial-vein-thrombosis"), MAPPING, KB.vocabulary)
    assert fp.provenance["lesion:superficial-vein-thrombosis"][0]["laterality"] == "left"


def test_ambiguous_femoral_code_maps_to_the_broader_term_and_says_why():
    fp = profile_from_bundle(_bundle("11-femoral-dvt-not-pregnant-warfarin"), MAPPING, KB.vocabulary)
    rec = fp.provenance["lesion:proximal-dvt"][0]
    assert rec["code"] == "I82.411" and "common femoral" in rec["note"]


@pytest.mark.parametrize("status,field", [("refuted", "verificationStatus"), ("entered-in-error", "verificationStatus"),
                                          ("inactive", "clinicalStatus"), ("resolved", "clinicalStatus")])
def test_refuted_entered_in_error_and_inactive_conditions_are_ignored(status, field):
    b = _bundle("03-calf-dvt")
    cond = b["entry"][1]["resource"]
    cond[field]["coding"][0]["code"] = status
    fp = profile_from_bundle(b, MAPPING, KB.vocabulary)
    assert fp.errors == [] and "lesion" not in fp.document and "symptom_days" not in fp.document
    assert [(i["resource"], i["reason"]) for i in fp.ignored] == [("Condition/calf", f"{field} {status}")]


def test_unknown_codes_are_listed_not_guessed():
    fp = profile_from_bundle(_bundle("01-c6-ulcer-deep-reflux"), MAPPING, KB.vocabulary)
    unknown = [i for i in fp.ignored if i.get("code") == "E11.9"]
    assert unknown == [{"resource": "Condition/dm", "element": "code.coding[0]", "system": ICD, "code": "E11.9",
                        "display": "Type 2 diabetes mellitus without complications",
                        "reason": "code not in the FHIR mapping"}]


def _cli_json(*args, stdin=b""):
    r = cli("recommend", *args, "--format", "json", stdin=stdin)
    assert r.code == 0, r
    return json.loads(r.out)


def test_cli_fhir_output_equals_profile_output_plus_the_fhir_object(tmp_path):
    name = "02-acute-iliofemoral-dvt-day5-low-bleeding"
    via_fhir = _cli_json("--fhir", str(HERE / "bundles" / f"{name}.json"))
    prof = tmp_path / "p.json"
    prof.write_text(json.dumps({"id": "p1", **SCENARIOS[name]["profile"]}))
    via_profile = _cli_json("--profile", str(prof))
    fhir = via_fhir.pop("fhir")
    assert via_fhir == via_profile
    assert list(via_fhir).index("profile") + 1 == list(_cli_json("--fhir", str(HERE / "bundles" / f"{name}.json"))).index("fhir")
    assert fhir["patient"] == "Patient/p1" and fhir["mapping"]["path"] == "<bundled>/fhir-mapping.yaml"
    assert fhir["provenance"]["symptom_days"] == [{"resource": "Condition/dvt", "element": "onset",
                                                   "value": "2026-04-05",
                                                   "counted_to": "Bundle.timestamp 2026-04-10T09:00:00Z"}]


def test_cli_fhir_from_stdin_jsonl_and_options_override():
    data = (HERE / "bundles" / "03-calf-dvt.json").read_bytes()
    r = cli("recommend", "--fhir", "-", "--format", "jsonl", "--symptom-days", "20", stdin=data)
    assert r.code == 0, r
    head = json.loads(r.out.splitlines()[0])
    assert head["profile"]["symptom_days"] == 20 and head["fhir"]["provenance"]["symptom_days"]
    t = cli("recommend", "--fhir", "-", stdin=data)
    assert t.code == 0 and "FHIR Patient/p1: 2 fact(s) from the Bundle, 1 item(s) ignored" in t.err


def test_fhir_and_profile_cannot_be_combined():
    r = cli("recommend", "--fhir", "a.json", "--profile", "b.yaml")
    assert (r.code, r.err) == (2, "vascular: error: --profile and --fhir cannot be combined (give one input)\n")


# --- bad input: one line, exit 2, never a traceback ----------------------------------------------------------------
def _bad(bundle) -> str:
    data = bundle if isinstance(bundle, bytes) else json.dumps(bundle).encode()
    r = cli("recommend", "--fhir", "-", stdin=data)
    assert r.code == 2 and r.out == "", r
    assert r.err.count("\n") == 1 and r.err.startswith("vascular: error: <stdin>"), r.err
    assert "Traceback" not in r.err
    return r.err


def _calf():
    return _bundle("03-calf-dvt")


def test_bad_input_not_a_bundle():
    assert "expected a FHIR Bundle, got resourceType 'Patient'" in _bad(_calf()["entry"][0]["resource"])
    assert "expected a FHIR Bundle (a JSON object), got an array" in _bad([])


def test_bad_input_no_patient():
    b = _calf()
    del b["entry"][0]
    assert "the Bundle has no Patient resource" in _bad(b)


def test_bad_input_two_patients():
    b = _calf()
    other = copy.deepcopy(b["entry"][0])
    other["resource"]["id"] = "p2"
    b["entry"].append(other)
    assert "the Bundle holds 2 Patient resources (Patient/p1, Patient/p2): one patient per Bundle" in _bad(b)


def test_bad_input_resources_for_another_patient():
    b = _calf()
    b["entry"][1]["resource"]["subject"]["reference"] = "Patient/someone-else"
    err = _bad(b)
    assert "Condition/calf.subject: subject 'Patient/someone-else' is not the Bundle's Patient (Patient/p1)" in err


@pytest.mark.parametrize("system,code,why", [
    (ICD, "I824Z1", "(written without its dot? I82.4Z1)"),
    (ICD, "82.4Z1", "is not a well-formed code"),
    ("http://snomed.info/sct", "404223004", "Verhoeff check digit"),
    ("http://loinc.org", "77194", "LOINC codes look like 77194-9"),
])
def test_bad_input_malformed_codes(system, code, why):
    b = _calf()
    b["entry"][1]["resource"]["code"]["coding"] = [{"system": system, "code": code}]
    err = _bad(b)
    assert "Condition/calf.code.coding[0]:" in err and why in err


def test_bad_input_10_mb_bundle():
    b = _calf()
    b["entry"][0]["resource"]["text"] = {"status": "generated", "div": "<div>" + "x" * (10 * 1024 * 1024) + "</div>"}
    assert "the Bundle is larger than the 5 MiB limit" in _bad(b)


@pytest.mark.parametrize("data,message", [
    (b'{"resourceType": "Bundle", "entry": [', "<stdin>:1:38: invalid JSON"),
    (b"", "invalid JSON"),
    (b"\xff\xfe{}", "invalid UTF-8 at byte 1"),
])
def test_bad_input_invalid_json(data, message):
    assert message in _bad(data)


def test_bad_input_conflicting_values_and_contradictions():
    b = _bundle("12-c6-low-abi-pressures")
    second = copy.deepcopy(b["entry"][2])
    second["resource"]["id"] = "abi2"
    second["resource"]["valueQuantity"]["value"] = 0.8
    b["entry"].append(second)
    assert "conflicting abi values: 0.45 (Observation/abi), 0.8 (Observation/abi2)" in _bad(b)
    second["resource"]["effectiveDateTime"] = "2026-04-10"  # a unique most recent one wins
    fp = profile_from_bundle(b, MAPPING, KB.vocabulary)
    assert fp.document["abi"] == 0.8


def test_missing_file_is_an_input_error():
    r = cli("recommend", "--fhir", "/no/such/bundle.json")
    assert (r.code, r.err) == (2, "vascular: error: --fhir '/no/such/bundle.json': cannot read (No such file or "
                                  "directory)\n")


# --- batch: one Bundle per NDJSON line -----------------------------------------------------------------------------
def test_batch_over_ndjson_one_line_per_bundle_error_lines_for_bad_ones():
    good = [json.dumps(_bundle(p.stem)) for p in BUNDLES[:3]]
    no_patient = _calf()
    del no_patient["entry"][0]
    lines = good + ["{not json", json.dumps(no_patient), json.dumps({"resourceType": "Patient"}), "[]"]
    r = cli("recommend", "--fhir-bundles", "-", stdin=("\n".join(lines) + "\n").encode())
    assert r.code == 1 and "Traceback" not in r.err
    out = [json.loads(x) for x in r.out.splitlines()]
    assert [o["line"] for o in out] == list(range(1, 8))
    assert [o["status"] for o in out] == ["ok"] * 3 + ["error"] * 4
    assert [o["id"] for o in out[:3]] == ["p1"] * 3
    assert "invalid JSON at column 2" in out[3]["error"]
    assert out[4]["error"] == "Bundle: the Bundle has no Patient resource (one patient per Bundle)"
    assert out[5]["error"] == "Bundle: expected a FHIR Bundle, got resourceType 'Patient'"
    assert out[6]["error"] == "expected a JSON object (a FHIR Bundle), got an array"
    for o, p in zip(out[:3], BUNDLES[:3], strict=False):
        statuses, _ = _outcome(SCENARIOS[p.stem]["profile"])
        assert sorted(o["applies"]) == sorted(k for k, s in statuses.items() if s == "applies")


def test_library_api_returns_structured_errors():
    fp = profile_from_bundle({"resourceType": "Bundle", "entry": []}, MAPPING)
    assert fp.document is None and not fp.ok
    assert [e.to_json() for e in fp.errors] == [{"resource": None, "element": None,
                                                 "message": "the Bundle has no Patient resource (one patient per "
                                                            "Bundle)"}]


@pytest.mark.parametrize("path", BUNDLES, ids=lambda p: p.stem)
def test_every_test_bundle_parses_with_fhir_resources(path):
    bundle_mod = importlib.import_module("fhir.resources.R4B.bundle")
    b = bundle_mod.Bundle.model_validate_json(path.read_text(encoding="utf-8"))
    assert b.entry
    data = json.loads(path.read_text(encoding="utf-8"))
    ids = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in data["entry"]}
    for e in data["entry"]:  # every reference inside the Bundle resolves
        for ref in _references(e["resource"]):
            assert ref in ids, ref


def _references(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "reference" and isinstance(v, str):
                yield v
            else:
                yield from _references(v)
    elif isinstance(node, list):
        for v in node:
            yield from _references(v)


def test_fhir_is_not_imported_on_the_common_start_up_path(tmp_path):
    import os
    import subprocess
    import sys

    code = ("import sys; from vascular_cli.cli import main; main(['recommend', '--ceap', 'C6', '--format', 'json']); "
            "sys.stderr.write(str(sorted(m for m in sys.modules if m.startswith('vascular_cli.fhir'))))")
    env = {**os.environ, "VASCULAR_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=HERE.parent.parent)
            for _ in range(2)]
    assert runs[1].returncode == 0 and runs[1].stderr == "[]"  # a cached start-up never imports the FHIR package


def test_out_of_range_values_name_the_resource():
    b = _bundle("12-c6-low-abi-pressures")
    b["entry"][2]["resource"]["valueQuantity"]["value"] = 4.5
    assert "Observation/abi.valueQuantity: abi 4.5 is outside the valid range 0-3" in _bad(b)
    b = _bundle("12-c6-low-abi-pressures")
    b["entry"][3]["resource"]["valueQuantity"]["code"] = "kPa"
    assert "Observation/ap.valueQuantity: ankle pressure in 'kPa': expected mm[Hg]" in _bad(b)


def test_onset_after_the_bundle_timestamp_or_too_old_is_an_error():
    b = _calf()
    b["entry"][1]["resource"]["onsetDateTime"] = "2026-05-01"
    assert "Condition/calf.onset: onset 2026-05-01 is after Bundle.timestamp 2026-04-10T09:00:00Z" in _bad(b)
    b["entry"][1]["resource"]["onsetDateTime"] = "1900-01-01"
    assert "more than 36,500 days before Bundle.timestamp" in _bad(b)
    del b["timestamp"]
    fp = profile_from_bundle(b, MAPPING, KB.vocabulary)
    assert "symptom_days" not in fp.document
    assert any("the Bundle has no timestamp" in i["reason"] for i in fp.ignored)


def test_non_string_coding_system_and_non_list_contained_are_errors_not_crashes():
    """Found by the CDS Hooks service's mutation test: malformed JSON shapes give FhirErrors, never an exception."""
    import vascular_cli as vascular
    from vascular_cli.fhir import load_mapping, profile_from_bundle

    kb = vascular.load()
    mapping = load_mapping(None, kb.vocabulary)
    patient = {"resourceType": "Patient", "id": "p1"}
    cond = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
            "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"coding": [{"system": ["http://hl7.org/fhir/sid/icd-10-cm"], "code": "I82.421"}]}}
    med = {"resourceType": "MedicationRequest", "id": "m1", "status": "active", "subject": {"reference": "Patient/p1"},
           "medicationReference": {"reference": "#x"}, "contained": 1.5}
    for res in (cond, med):
        bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": patient}, {"resource": res}]}
        fp = profile_from_bundle(bundle, mapping, kb.vocabulary)
        assert fp.errors and fp.document is None


def test_orders_section_unknown_action_term_and_malformed_cpt_code_are_reported(tmp_path):
    """The draft-order mapping (CDS Hooks) is data checked like the rest: VG006 unknown action term, VG016 bad code."""
    from vascular_cli.errors import DataError
    from vascular_cli.loader import bundled_dir

    text = (bundled_dir() / "fhir-mapping.yaml").read_text(encoding="utf-8")
    text = text.replace("action: ivc-filter,", "action: ivc-filtre,", 1).replace('code: "37238"', 'code: "3723"', 1)
    path = tmp_path / "fhir-mapping.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as e:
        load_mapping(path, vascular_cli.load().vocabulary)
    codes = sorted(p.code for p in e.value.problems)
    assert codes == ["VG006", "VG016"]
    mapping = load_mapping(None, vascular_cli.load().vocabulary)
    entry, _ = mapping.lookup("orders", "http://www.whocc.no/atc", "B01AF02")
    assert entry.action == "oral-xa-inhibitor"
