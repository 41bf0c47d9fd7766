"""Every usage/input error path: one line on stderr naming the bad value and the valid ones, exact exit code."""

import pytest
from conftest import cli


class Mentions(str):
    """An error whose wording comes from the option parser (click): only the tool's prefix and the bad value are
    the tool's contract, so a new click release cannot break the test."""


CASES = [
    (["recommend", "--ceap", "C7"], 2,
     "vascular: error: --ceap: clinical class 'C7' is not defined in CEAP 2020 (valid: C0, C1, C2, C2r, C3, C4a, "
     "C4b, C4c, C5, C6, C6r) (at column 1 of 'C7')"),
    (["recommend", "--ceap", "C4d"], 2,
     "vascular: error: --ceap: clinical class 'C4d' is not defined in CEAP 2020 (did you mean 'C4'?) (valid: C0, C1, C2, C2r, C3, C4a, "
     "C4b, C4c, C5, C6, C6r) (at column 1 of 'C4d')"),
    (["recommend", "--ceap", "C6 Ez"], 2,
     "vascular: error: --ceap: CEAP etiology 'Ez' is not defined in CEAP 2020 (valid: Ep, Es, Esi, Ese, Ec, En) "
     "(at column 4 of 'C6 Ez')"),
    (["recommend", "--lesion", "chronic-occlussion"], 2,
     "vascular: error: --lesion: unknown lesion 'chronic-occlussion' (did you mean 'chronic-occlusion'?); "
     "see 'vascular vocab lesion'"),
    (["recommend", "--factor", "maligancy"], 2,
     "vascular: error: --factor: unknown factor 'maligancy' (did you mean 'malignancy'?); see 'vascular vocab factor'"),
    (["recommend", "--factor", "malignancy=perhaps"], 2,
     "vascular: error: --factor: 'malignancy=perhaps' has value 'perhaps' (valid: yes, no)"),
    (["recommend", "--factor", "malignancy", "--factor", "malignancy=no"], 2,
     "vascular: error: --factor: 'malignancy' is given both as yes and as no"),
    (["recommend", "--ceap", "C2,s", "--factor", "symptomatic=no"], 2,
     "vascular: error: --ceap: CEAP modifier ',s' contradicts factor symptomatic=no"),
    (["recommend", "--bleeding-risk", "medium"], 2,
     "vascular: error: --bleeding-risk: unknown bleeding-risk 'medium' (valid: high, low, moderate)"),
    (["recommend", "--severity", "severre"], 2,
     "vascular: error: --severity: unknown severity 'severre' (did you mean 'severe'?) (valid: mild, moderate, severe)"),
    (["recommend", "--symptom-days", "-3"], 2, "vascular: error: --symptom-days: -3 is outside the valid range 0-36500"),
    (["recommend", "--symptom-days", "2.5"], 2, "vascular: error: --symptom-days: expected a whole number, got 2.5"),
    (["recommend", "--symptom-days", "ten"], 2, "vascular: error: --symptom-days: 'ten' is not a number"),
    (["recommend", "--abi", "4"], 2, "vascular: error: --abi: 4 is outside the valid range 0-3"),
    (["recommend", "--abi", "nan"], 2, "vascular: error: --abi: nan is not a finite number"),
    (["recommend", "--ankle-pressure", "-1"], 2, "vascular: error: --ankle-pressure: -1 is outside the valid range 0-400"),
    (["recommend", "--format", "xml"], 2, "vascular: error: --format: 'xml' is not valid (valid: table, json, jsonl, markdown)"),
    (["recommend", "--source", "SVS"], 2, None),
    (["recommend", "--bogus"], 2, Mentions("--bogus")),
    (["recommend", "--profile", "/no/such/file.yaml"], 2,
     "vascular: error: --profile '/no/such/file.yaml': cannot read (No such file or directory)"),
    (["recommend", "--profiles", "x.jsonl", "--profile", "y.yaml"], 2,
     "vascular: error: --profiles (batch) and --profile cannot be combined"),
    (["show", "svs-avf-2014-vlu/6.41"], 2,
     "vascular: error: unknown recommendation 'svs-avf-2014-vlu/6.41' (did you mean 'svs-avf-2014-vlu/6.4'?); "
     "'vascular list svs-avf-2014-vlu' lists its ids"),
    (["show", "nope/6.41"], 2,
     "vascular: error: unknown recommendation 'nope/6.41'; 'vascular list DOCUMENT' lists a document's ids "
     "(document ids: 'vascular list')"),
    (["recommend", "--lesion", "acute-iliofemoral-dvt", "--symptom-days", "5", "--factor", "symptomatic=no"], 2,
     "vascular: error: --factor: symptomatic=no contradicts the profile: a symptom duration is given for a current "
     "lower-limb DVT, so the DVT causes symptoms"),
    (["recommend", "--profiles", "-", "--format", "markdown"], 2,
     "vascular: error: --profiles (batch) writes JSON Lines: --format, --explain and --detail do not apply"),
    (["vocab", "lesions"], 2,
     "vascular: error: KIND: 'lesions' is not valid (did you mean 'lesion'?) (valid: lesion, factor, action, "
     "bleeding-risk, severity)"),
    (["ceap", "C9"], 2,
     "vascular: error: CEAP 'C9': clinical class 'C9' is not defined in CEAP 2020 (valid: C0, C1, C2, C2r, C3, C4a, "
     "C4b, C4c, C5, C6, C6r) (at column 1)"),
    (["validate", "--format", "xml"], 2,
     "vascular: error: --format: 'xml' is not valid (valid: text, json, github, sarif)"),
    (["nonsense"], 2, Mentions("nonsense")),
    (["recommend", "--ceap", "C6", "--guidelines", "/no/such/dir"], 2,
     "vascular: error: --guidelines: '/no/such/dir' is not a file or directory"),
    (["recommend", "--ceap", "C6", "--guidelines", "tests/examples"], 2,
     "vascular: error: --guidelines: no guideline documents (YAML files with a top-level 'guideline' key) in "
     "tests/examples"),
    (["validate", "tests/golden"], 2, "vascular: error: no YAML files (*.yaml, *.yml) in tests/golden"),
]


@pytest.mark.parametrize("args, code, message", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_error_path(args, code, message):
    r = cli(*args)
    assert r.code == code, r
    assert r.out == ""
    lines = r.err.splitlines()
    assert len(lines) == 1, r.err
    assert "Traceback" not in r.err
    if isinstance(message, Mentions):
        assert lines[0].startswith("vascular: error: ") and message in lines[0], lines[0]
    elif message is not None:
        assert lines[0] == message


def test_source_filter_names_valid_choices():
    r = cli("recommend", "--source", "SVS")
    assert r.err.startswith("vascular: error: --source: 'SVS' is not valid (did you mean 'ESVS'?) (valid: ACR, CHEST, CIRSE, "
                            "ESVS, SIR, SVS/AVF, acr-2018-suspected-le-dvt,")


@pytest.mark.parametrize("content, message", [
    (b"ceap: C6\nceap: C5\n", "profile.yaml:2:1: duplicate key 'ceap' (first defined at line 1, column 1)"),
    (b"ceap: [C6\n", "profile.yaml:1:7: YAML syntax error: the '[' opened here is not closed"),
    (b"ceap: !!python/object:os.system C6\n", "profile.yaml:1:7: YAML tag 'tag:yaml.org,2002:python/object:os.system' is not allowed"),
    (b"ceap: C6\nlesions: chronic-occlusion\n", "profile.yaml: unknown profile key 'lesions' (did you mean 'lesion'?)"),
    (b"- C6\n", "profile.yaml: profile must be a mapping of id, ceap, lesion, bleeding_risk, severity, symptom_days, factors, abi, ankle_pressure, toe_pressure, pregnancy_trimester, got a list"),
    (b"", "profile.yaml: the profile is empty"),
    (b"\xff\xfe", "profile.yaml:1:1: invalid UTF-8 byte 0xff"),
    (b"{\"ceap\": \"C6\",}", "profile.yaml:1:15: invalid JSON: "),
    (b"ceap: C6\nabi: 9\n", "profile.yaml: abi: 9 is outside the valid range 0-3"),
    (b"ceap: C6\nsymptom_days: -1\n", "profile.yaml: symptom_days: -1 is outside the valid range 0-36500"),
])
def test_bad_profile_file(tmp_path, content, message):
    path = tmp_path / "profile.yaml"
    path.write_bytes(content)
    r = cli("recommend", "--profile", str(path), env={})
    assert r.code == 2, r
    assert r.err.count("\n") == 1 and "Traceback" not in r.err
    assert message in r.err.replace(str(tmp_path) + "/", ""), r.err


def test_profile_from_stdin_and_flags_override(tmp_path):
    r = cli("recommend", "--profile", "-", "--ceap", "C6", "-f", "json",
            stdin=b"ceap: C3\nlesion: chronic-occlusion\nfactors: [malignancy]\n")
    assert r.code == 0, r
    import json

    doc = json.loads(r.out)
    assert doc["profile_detail"]["ceap"]["clinical"] == "C6"
    assert doc["profile"]["ceap"] == "C6"
    assert doc["profile"]["lesion"] == ["chronic-occlusion"]
    assert doc["profile"]["factors"] == {"malignancy": True}


def test_json_profile_round_trips_as_profile_input(tmp_path):
    import json

    args = ("--ceap", "C6,s Es Ad Pr,o", "--lesion", "chronic-occlusion", "--lesion", "DVT", "--symptom-days", "3",
            "--factor", "pts", "--abi", "0.8", "-f", "json")
    first = json.loads(cli("recommend", *args).out)
    path = tmp_path / "p.json"
    path.write_text(json.dumps(first["profile"]), encoding="utf-8")
    second = json.loads(cli("recommend", "--profile", str(path), "-f", "json").out)
    assert second["profile"] == first["profile"]
    assert second["recommendations"] == first["recommendations"]


def test_terms_are_case_insensitive_and_factor_mappings_take_yes_no_words():
    import json

    a = json.loads(cli("recommend", "--lesion", "PE", "--factor", "Malignancy=No", "-f", "json").out)
    assert a["profile"]["lesion"] == ["pulmonary-embolism"] and a["profile"]["factors"]["malignancy"] is False
    b = json.loads(cli("recommend", "--profile", "-", "-f", "json",
                       stdin=b'{"lesion": "pe", "factors": {"malignancy": "no"}}').out)
    assert b["profile"] == a["profile"]


def test_implied_facts_are_shown_with_their_reason():
    import json

    r = cli("recommend", "--lesion", "acute-iliofemoral-dvt", "--symptom-days", "5", "--factor", "pts", "-f", "json")
    doc = json.loads(r.out)
    assert doc["profile"]["factors"]["symptomatic"] is True and doc["profile"]["factors"]["previous-dvt"] is True
    assert [i["factor"] for i in doc["profile_detail"]["implied"]] == ["previous-dvt", "symptomatic"]
    asked = {a["fact"] for a in doc["ask_next"]}
    assert not asked & {"factor:symptomatic", "factor:previous-dvt"}  # never asked again
    text = cli("recommend", "--lesion", "acute-iliofemoral-dvt", "--symptom-days", "5").out
    assert "implied: symptomatic=yes (a symptom duration is given" in text


def test_invalid_knowledge_is_refused_with_locations(tmp_path):
    (tmp_path / "bad.yaml").write_text(
        "schema_version: 1\nguideline: {id: bad, body: X, title: T, year: 2020, citation: C, doi: null,"
        " grading: svs-grade, status: active}\nrecommendations:\n  - id: '1'\n    number: null\n"
        "    number_verified: false\n    number_basis: none\n    locator: L\n    statement: S\n"
        "    action: venous-stent\n    direction: for\n    strength: '1'\n    evidence: C\n"
        "    certainty: verified\n    when: {ceap: [C6]}\n", encoding="utf-8")
    r = cli("recommend", "--ceap", "C6", "--guidelines", str(tmp_path))
    assert r.code == 1
    assert "bad.yaml:10:13: VG006 unknown action 'venous-stent' (did you mean 'venous-stenting'?)" in r.err
    assert r.err.strip().endswith("run 'vascular validate' on the guideline files for the full report")


def test_factor_options_are_merged_over_the_profile_documents_factors():
    import json

    r = cli("recommend", "--profile", "-", "--factor", "malignancy=no", "--factor", "pregnancy", "-f", "json",
            stdin=b"ceap: C6\nfactors: {malignancy: true, arterial-disease: false}\n")
    assert r.code == 0, r
    # gi-or-gu-cancer is narrower than malignancy: no cancer means no GI/GU cancer
    assert json.loads(r.out)["profile"]["factors"] == {"arterial-disease": False, "malignancy": False, "pregnancy": True,
                                                       "gi-or-gu-cancer": False}


def test_exclusive_factors_imply_no_and_cannot_both_be_yes():
    import json

    r = cli("recommend", "--lesion", "calf-dvt", "--factor", "first-episode", "--factor", "unprovoked", "-f", "json")
    factors = json.loads(r.out)["profile"]["factors"]
    assert factors == {"first-episode": True, "provoked-major-transient": False, "provoked-minor-transient": False,
                       "recurrent-vte": False, "unprovoked": True,
                       "second-unprovoked-vte": False}  # narrower than recurrent-vte: a first episode is no second one
    bad = cli("recommend", "--factor", "first-episode", "--factor", "recurrent-vte")
    assert (bad.code, bad.err) == (2, "vascular: error: --factor: recurrent-vte=yes implies first-episode=no, but "
                                      "first-episode=yes is given or implied\n")
