"""Local protocols (issue 14): local files extend the bundled knowledge base, the repository config for validate,
profile value rules, and the messages a guideline maintainer sees."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, cli

EXAMPLE = ROOT / "examples" / "local-protocol"
DOC = "hospital-iliac-stenting.yaml"
LOCAL_ID = "example-hospital-2025-iliac-stenting"


@pytest.fixture
def local(tmp_path, monkeypatch):
    """A scratch repository holding a copy of the example protocol under protocols/; the current directory."""
    d = tmp_path / "protocols"
    d.mkdir()
    for f in EXAMPLE.glob("*.yaml"):
        if not f.name.startswith("."):
            shutil.copy2(f, d / f.name)
    (tmp_path / ".git").mkdir()  # the repository root: config discovery stops here
    monkeypatch.chdir(tmp_path)
    return d


def _line_of(path: Path, text: str) -> int:
    return next(i for i, x in enumerate(path.read_text().splitlines(), 1) if text in x)


# --- the example -----------------------------------------------------------------------------------------------
def test_example_protocol_is_clean_under_its_config():
    r = cli("validate", "--strict", "--config", str(EXAMPLE / ".vascular.yaml"), str(EXAMPLE))
    assert (r.code, r.out, r.err) == (0, "", "2 file(s), 0 error(s), 0 warning(s)\n")


def test_example_protocol_config_is_found_from_its_directory(monkeypatch):
    monkeypatch.chdir(EXAMPLE)
    assert cli("validate", "--strict", ".").code == 0
    monkeypatch.chdir(ROOT)  # without the config the missing DOI is a warning, and --strict fails
    r = cli("validate", "--strict", str(EXAMPLE))
    assert r.code == 1 and " VG102 " in r.out


def test_example_protocol_is_usable_with_recommend():
    r = cli("recommend", "--guidelines", str(EXAMPLE), "--profile", str(EXAMPLE / "patient.json"), "--format", "json")
    assert r.code == 0, r
    applies = [x["id"] for x in json.loads(r.out)["recommendations"] if x["status"] == "applies"]
    assert f"{LOCAL_ID}/1" in applies  # the local protocol
    assert any(i.startswith("svs-avf-2014-vlu/") for i in applies)  # and the bundled guidelines, together
    assert f"{LOCAL_ID}/2" not in applies  # after-venous-stenting: no


def test_no_bundled_uses_only_the_given_paths(tmp_path):
    r = cli("recommend", "--guidelines", str(EXAMPLE), "--no-bundled", "--ceap", "C6")
    assert r.code == 1 and " VG007 grading system 'svs-grade' is not defined" in r.err  # no bundled grading
    kb_dir = tmp_path / "kb"
    shutil.copytree(EXAMPLE, kb_dir)
    shutil.copy2(ROOT / "guidelines" / "vocabulary.yaml", kb_dir / "base-vocabulary.yaml")
    shutil.copy2(ROOT / "guidelines" / "grading.yaml", kb_dir / "grading.yaml")
    r = cli("list", "--guidelines", str(kb_dir), "--no-bundled", "--format", "json")
    assert r.code == 0, r
    assert [g["id"] for g in json.loads(r.out)["guidelines"]] == [LOCAL_ID]
    r = cli("list", "--guidelines", str(EXAMPLE), "--format", "json")
    assert len(json.loads(r.out)["guidelines"]) > 10


# --- vocabulary extension and clashes --------------------------------------------------------------------------
def test_local_vocabulary_adds_terms_to_the_bundled_one(local):
    r = cli("validate", "protocols/")
    assert r.code == 0 and " VG006 " not in r.out, r
    r = cli("vocab", "action", "--guidelines", "protocols")
    assert "venous-mdt-review" in r.out and "venous-stenting" in r.out  # local and bundled terms


def test_local_vocabulary_clash_names_both_locations(local):
    voc = local / "vocabulary.yaml"
    voc.write_text(voc.read_text() + "  lesion:\n    chronic-occlusion:\n      definition: redefined\n")
    bundled_line = _line_of(ROOT / "guidelines" / "vocabulary.yaml", "  chronic-occlusion:")
    r = cli("validate", "protocols/")
    assert r.code == 1
    assert re.search(rf"^protocols/vocabulary.yaml:{_line_of(voc, 'chronic-occlusion')}:5: VG008 lesion term "
                     rf"'chronic-occlusion' is already defined at <bundled>/vocabulary.yaml:{bundled_line}:\d+ ",
                     r.out, re.M), r.out


def test_guideline_id_clash_with_a_bundled_document_is_reported_by_validate_alone(local):
    doc = local / DOC
    doc.write_text(doc.read_text().replace(f"id: {LOCAL_ID}", "id: esvs-2022-cvd"))
    r = cli("validate", "protocols/")
    line = _line_of(doc, "id: esvs-2022-cvd")
    bundled = _line_of(ROOT / "guidelines" / "esvs-2022-cvd.yaml", "id: esvs-2022-cvd")
    assert r.code == 1
    assert f"protocols/{DOC}:{line}:7: VG008 guideline id 'esvs-2022-cvd' is already defined at " \
           f"<bundled>/esvs-2022-cvd.yaml:{bundled}:7\n" in r.out, r.out
    assert all(not x.startswith("<bundled>") for x in r.out.splitlines())  # the bundled files are context only


def test_validate_of_the_bundled_directory_reads_each_file_once():
    r = cli("validate", "guidelines/")
    assert r.code == 0 and " VG008 " not in r.out


def test_a_changed_file_alone_is_validated_with_its_local_vocabulary(local):
    r = cli("validate", f"protocols/{DOC}")
    assert r.code == 0 and " VG006 " not in r.out, r


# --- repository config ------------------------------------------------------------------------------------------
def test_config_turns_a_warning_off_for_given_paths_and_strict_honours_it(local):
    r = cli("validate", "--strict", "protocols/")
    assert r.code == 1 and " VG102 " in r.out
    Path(".vascular.yaml").write_text("validate:\n  rules:\n    - checks: [VG102]\n      level: off\n"
                                      "      paths: [\"protocols/hospital-*.yaml\"]\n")
    assert cli("validate", "--strict", "protocols/").code == 0
    Path(".vascular.yaml").write_text("validate:\n  rules:\n    - checks: [VG102]\n      level: off\n"
                                      "      paths: [\"elsewhere/\"]\n")
    assert cli("validate", "--strict", "protocols/").code == 1


def test_config_raises_a_warning_to_an_error(local):
    doc = local / DOC
    doc.write_text(doc.read_text().replace("    examples:\n      applies:\n        - {ceap: C6, lesion: chronic-occlusion}"
                                           "\n      not_applicable:\n        - {ceap: C4a, lesion: chronic-occlusion}\n",
                                           ""))
    Path(".vascular.yaml").write_text("validate:\n  rules:\n    - {checks: [missing-examples], level: error}\n"
                                      "    - {checks: [missing-doi], level: off}\n")
    r = cli("validate", "--format", "json", "protocols/")
    problems = json.loads(r.out)["problems"]
    assert r.code == 1 and [(p["code"], p["level"]) for p in problems] == [("VG103", "error")]


def test_config_in_pyproject_toml(local):
    Path("pyproject.toml").write_text('[project]\nname = "x"\n\n[[tool.vascular.validate.rules]]\n'
                                      'checks = ["missing-doi"]\nlevel = "off"\n')
    assert cli("validate", "--strict", "protocols/").code == 0


def test_yaml_config_wins_over_pyproject_in_the_same_directory(local):
    Path("pyproject.toml").write_text('[[tool.vascular.validate.rules]]\nchecks = ["VG102"]\nlevel = "off"\n')
    Path(".vascular.yaml").write_text("validate:\n  rules: []\n")
    assert cli("validate", "--strict", "protocols/").code == 1


@pytest.mark.parametrize("text, line, col, words", [
    ("validate:\n  rules:\n    - checks: [VG102]\n      levle: off\n", 4, 7, "unknown key 'levle' (did you mean 'level'?)"),
    ("validate:\n  rules:\n    - checks: [VG102]\n      level: of\n", 4, 14, "'of' is not one of off, warning, error"),
    ("validate:\n  rules:\n    - checks: [VG1O2]\n      level: off\n", 3, 16, "unknown check 'VG1O2' (did you mean 'VG102'?)"),
    ("validate:\n  rules:\n    - checks: [VG006]\n      level: off\n", 3, 16, "VG006 is an error check"),
    ("validate:\n  rules:\n    - checks: [VG102]\n      level: off\n      paths: [/etc]\n", 5, 15, "must be relative"),
    ("valdate: {}\n", 1, 1, "unknown key 'valdate' (did you mean 'validate'?)"),
    ("validate:\n  rules: [\n", 2, 10, "YAML syntax error"),
])
def test_config_problems_have_file_line_col(local, text, line, col, words):
    Path(".vascular.yaml").write_text(text)
    r = cli("validate", "protocols/")
    first = r.out.splitlines()[0]
    assert r.code == 1 and first.startswith(f".vascular.yaml:{line}:{col}: VG018 ") and words in first, r.out


@pytest.mark.parametrize("text, line, col, words", [
    ('[tool.vascular.validate]\nrules = 3\n', 2, 9, "expected a list of rules"),
    ('[[tool.vascular.validate.rules]]\nchecks = ["VG102"]\nlevel = "of"\n', 3, 9, "is not one of"),
    ('[[tool.vascular.validate.rules]]\nchecks = ["VG102"]\nlevel = "off"\n\n[[tool.vascular.validate.rules]]\n'
     'checks = ["VG102"]\nlevle = "off"\n', 7, 1, "unknown key 'levle'"),
    ('[tool.vascular\n', 1, None, "TOML syntax error"),
])
def test_pyproject_config_problems_have_file_line_col(local, text, line, col, words):
    Path("pyproject.toml").write_text(text)
    r = cli("validate", "protocols/")
    first = r.out.splitlines()[0]
    assert r.code == 1 and first.startswith(f"pyproject.toml:{line}:{col if col else ''}") and " VG018 " in first
    assert words in first, r.out


def test_explicit_config_must_exist(local):
    r = cli("validate", "--config", "nope.yaml", "protocols/")
    assert (r.code, r.out) == (2, "")


# --- the hook's file selection ----------------------------------------------------------------------------------
def test_skip_non_vascular_selects_files_by_content(local):
    Path("docker-compose.yml").write_text("services:\n  web:\n    image: nginx\n")
    Path(".pre-commit-config.yaml").write_text("repos: []\n")
    Path("broken.yaml").write_text("guideline: [\n")  # a vascular document that does not parse: still checked
    files = ["docker-compose.yml", ".pre-commit-config.yaml", f"protocols/{DOC}"]
    assert cli("validate", *files).code == 1  # without the option: VG003 for the others
    r = cli("validate", "--skip-non-vascular", *files)
    assert r.code == 0 and " VG003 " not in r.out and r.err.startswith("1 file(s)"), r
    r = cli("validate", "--skip-non-vascular", "docker-compose.yml")
    assert r.code == 0 and r.err == "0 file(s), 0 error(s), 0 warning(s)\n"
    r = cli("validate", "--skip-non-vascular", "docker-compose.yml", "broken.yaml")
    assert r.code == 1 and r.out.startswith("broken.yaml:1:12: VG001 ")


def test_readme_pre_commit_rev_is_a_commit_that_publishes_the_hook():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rev = re.search(r"repo: https://github.com/vascular/vascular\n\s+rev: ([0-9a-f]{40})\b", text)
    assert rev, "the README's pre-commit snippet pins a full commit sha"
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    r = subprocess.run(["git", "show", f"{rev.group(1)}:.pre-commit-hooks.yaml"], cwd=ROOT, capture_output=True,
                       text=True)
    if r.returncode != 0 and "unknown revision" in r.stderr or "bad object" in r.stderr or "invalid object" in r.stderr:
        pytest.skip("a shallow clone without that commit")
    assert r.returncode == 0 and "id: vascular-validate" in r.stdout and "--skip-non-vascular" in r.stdout


def test_readme_github_actions_snippet_runs(tmp_path):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(name: vascular.*?)```", text, re.S)
    assert block, "the README has a GitHub Actions workflow"
    import yaml

    workflow = yaml.safe_load(block.group(1))
    steps = workflow["jobs"]["validate"]["steps"]
    runs = [s["run"] for s in steps if "run" in s and "vascular validate" in s["run"]]
    assert any("--format github" in x for x in runs) and any("--format sarif" in x for x in runs)
    assert any(s.get("uses", "").startswith("github/codeql-action/upload-sarif@") for s in steps)
    r = cli("validate", "--format", "github", "--config", str(EXAMPLE / ".vascular.yaml"), str(EXAMPLE))
    assert r.code == 0
    r = cli("validate", "--format", "sarif", "--config", str(EXAMPLE / ".vascular.yaml"), str(EXAMPLE))
    assert json.loads(r.out)["version"] == "2.1.0"


# --- profiles -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, message", [
    ('{"ceap": "C6", "ceap": "C2"}', "p.json:1:16: duplicate key 'ceap' (first defined at line 1, column 2)"),
    ('{"ceap": "C6",\n "factors": {"malignancy": true, "malignancy": false}}',
     "p.json:2:34: duplicate key 'malignancy' (first defined at line 2, column 14)"),
    ('{"symptom_days": "5"}', "p.json: symptom_days: expected a whole number, got the string '5' (write it without quotes"),
    ('{"abi": "0.9"}', "p.json: abi: expected a number, got the string '0.9'"),
    ('{"symptom_days": 5.5}', "p.json: symptom_days: expected a whole number, got 5.5"),
])
def test_json_profile_rules(tmp_path, monkeypatch, text, message):
    monkeypatch.chdir(tmp_path)
    Path("p.json").write_text(text)
    r = cli("recommend", "--profile", "p.json")
    assert r.code == 2 and r.err.startswith(f"vascular: error: {message}"), r


def test_yaml_profile_follows_the_same_value_rules(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("p.yaml").write_text('ceap: C6\nsymptom_days: "5"\n')
    r = cli("recommend", "--profile", "p.yaml")
    assert r.code == 2 and "symptom_days: expected a whole number, got the string '5'" in r.err
    assert cli("recommend", "--symptom-days", "5", "--ceap", "C6").code == 0  # options are text: parsed


def test_batch_rejects_duplicate_keys_and_keeps_going():
    r = cli("recommend", "--profiles", "-", stdin=b'{"ceap":"C6","ceap":"C2"}\n{"ceap":"C6","id":"a:b"}\n')
    rows = [json.loads(x) for x in r.out.splitlines()]
    assert r.code == 1 and rows[0]["status"] == "error" and rows[1]["status"] == "ok"
    assert rows[0]["error"] == "duplicate key 'ceap' at column 14 (first at column 2)"


@pytest.mark.parametrize("value", ['"no"', '"No"', '"false"', '"n"', "0", "false"])
def test_factor_mapping_takes_the_list_forms_yes_no_words(tmp_path, monkeypatch, value):
    monkeypatch.chdir(tmp_path)
    Path("p.json").write_text(f'{{"ceap": "C6", "factors": {{"malignancy": {value}}}}}')
    r = cli("recommend", "--profile", "p.json", "--format", "json")
    assert r.code == 0, r
    assert json.loads(r.out)["profile"]["factors"]["malignancy"] is False


def test_factor_mapping_refuses_other_values(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("p.json").write_text('{"factors": {"malignancy": "maybe"}}')
    r = cli("recommend", "--profile", "p.json")
    assert r.code == 2 and "'malignancy' has value 'maybe'" in r.err


# --- messages -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, line, col, words", [
    ("a:\n  b: 1\n   c: 2\n", 3, 4, "indented more than the line before it"),
    ("a: [1, 2\nb: 3\n", 1, 4, "the '[' opened here is not closed"),
    ('a: "abc\nb: 3\n', 1, 4, "the quoted value opened here is not closed"),
    ("a:\n  b: 1\n  c\n  d: 2\n", 3, 3, "expected 'key: value' on this line"),
    ("a: b: c\n", 1, 5, "a ': ' inside a value (put the value in quotes)"),
    ("a:\n  b: 1\n c: 2\n", 3, 2, "does not line up"),
    ("a: @x\n", 1, 4, "'@' cannot start a plain value (put the value in quotes)"),
])
def test_yaml_syntax_errors_are_at_the_mistake_with_a_hint(tmp_path, text, line, col, words):
    f = tmp_path / "g.yaml"
    f.write_text(text)
    r = cli("validate", "--format", "json", str(f))
    (p,) = json.loads(r.out)["problems"]
    assert (p["code"], p["line"], p["col"]) == ("VG001", line, col) and words in p["message"], p
    assert "\n" not in p["message"]


def _broken(local, old, new) -> Path:
    doc = local / DOC
    doc.write_text(doc.read_text().replace(old, new, 1))
    return doc


def test_number_for_a_string_gets_a_quoting_hint(local):
    doc = _broken(local, "    strength: null\n", "    strength: 1\n")
    r = cli("validate", "protocols/")
    line = _line_of(doc, "strength: 1")
    assert f"protocols/{DOC}:{line}:15: VG005 recommendations[0].strength: expected a string, got integer 1 " \
           f'(write it in quotes: "1")\n' in r.out, r.out


def test_enum_value_gets_did_you_mean(local):
    doc = _broken(local, "direction: for", "direction: agaisnt")
    r = cli("validate", "protocols/")
    assert f":{_line_of(doc, 'agaisnt')}:16: VG005 recommendations[0].direction: 'agaisnt' is not one of for, " \
           "against (did you mean 'against'?)" in r.out, r.out


def test_unknown_term_gives_one_error_not_a_follow_on_example_mismatch(local):
    doc = _broken(local, "lesion: [iliocaval-obstruction]", "lesion: [iliocaval-obstructoin]")
    r = cli("validate", "--format", "json", "protocols/")
    errors = [(p["code"], p["line"]) for p in json.loads(r.out)["problems"] if p["level"] == "error"]
    assert errors == [("VG006", _line_of(doc, "obstructoin"))], errors


@pytest.mark.parametrize("old, new, words", [
    ("ceap: {min: C4b, max: C6}", "ceap: {min: C4d, max: C6}", "(did you mean 'C4"),
    ("grading: svs-grade", "grading: svs-grad", "(did you mean 'svs-grade'?)"),
    ("action: venous-mdt-review", "action: venous-mdt-reveiw", "(did you mean 'venous-mdt-review'?)"),
    ("status: active\n", "status: active\n  supersedes: esvs-2022-cdv\n", "(did you mean 'esvs-2022-cvd'?)"),
])
def test_closed_sets_get_did_you_mean(local, old, new, words):
    _broken(local, old, new)
    r = cli("validate", "protocols/")
    assert r.code == 1 and words in r.out, r.out


def test_validate_missing_path_is_a_usage_error():
    r = cli("validate", "/nonexistent")
    assert (r.code, r.out) == (2, "") and "/nonexistent" in r.err


def test_checks_doc_has_no_indented_code_blocks():
    text = (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    assert not [x for x in text.splitlines() if x.startswith("    ")]
