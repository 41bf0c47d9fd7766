"""`vascular validate`: the example corpora, output formats, exit codes, the pre-commit hook and generated docs."""

import json
import shlex
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, cli

from vascular_cli.checks import REGISTRY, markdown

EXAMPLES = ROOT / "tests" / "examples"
INVALID = sorted(EXAMPLES.glob("invalid/*/*.yaml"))


def _expect(path: Path):
    head = path.read_bytes().split(b"\n", 1)[0].decode()
    code, pos = head.removeprefix("# expect: ").split()
    line, col = map(int, pos.split(":"))
    return code, line, col


def test_every_check_has_an_invalid_example():
    assert {p.parent.name for p in INVALID} == set(REGISTRY)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("valid/*.yaml")), ids=lambda p: p.name)
def test_valid_example_is_clean(path):
    r = cli("validate", "--strict", str(path))
    assert (r.code, r.out) == (0, ""), r


@pytest.mark.parametrize("path", INVALID, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_invalid_example_fails_with_exactly_its_code(path):
    code, line, col = _expect(path)
    if code == "VG018":  # a repository config: checked when validate reads it
        r = cli("validate", "--format", "json", "--config", str(path), str(EXAMPLES / "valid/local-protocol.yaml"))
    else:
        r = cli("validate", "--format", "json", str(path))
    problems = json.loads(r.out)["problems"]
    errors = [(p["code"], p["line"], p["col"]) for p in problems if p["level"] == "error"]
    if REGISTRY[code].level == "error":
        assert r.code == 1
        assert errors == [(code, line, col)], problems
    else:
        assert (r.code, errors) == (0, [])
        assert (code, line, col) in [(p["code"], p["line"], p["col"]) for p in problems]
        assert cli("validate", "--strict", str(path)).code == 1


def test_text_format_is_file_line_col_code_message():
    path = EXAMPLES / "invalid/VG006/unknown-action.yaml"
    r = cli("validate", str(path))
    rel = str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)
    assert f"{rel}:18:13: VG006 unknown action 'venous-stent' (did you mean 'venous-stenting'?)\n" in r.out
    assert r.err == "1 file(s), 1 error(s), 1 warning(s)\n"


def test_github_format():
    r = cli("validate", "--format", "github", str(EXAMPLES / "invalid/VG007/esvs-code-in-svs-document.yaml"))
    line = [x for x in r.out.splitlines() if x.startswith("::error")][0]
    assert line.startswith("::error file=") and ",line=20,col=15,title=VG007 unknown-grade::strength 'IIa'" in line


def test_sarif_is_valid_sarif_2_1_0():
    r = cli("validate", "--format", "sarif", *map(str, INVALID))
    doc = json.loads(r.out)
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [x["id"] for x in rules] == list(REGISTRY)
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        region = res["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert res["level"] in ("error", "warning")


def test_bundled_set_is_clean_and_strict_fails_only_on_warnings():
    r = cli("validate")
    assert r.code == 0 and "0 error(s)" in r.err
    assert all("(warning)" in line for line in r.out.splitlines())
    assert cli("validate", "--strict").code == (1 if r.out else 0)


def test_missing_path_is_a_usage_error():
    r = cli("validate", "/no/such/dir")
    assert (r.code, r.out) == (2, "") and r.err == "vascular: error: no such file or directory: /no/such/dir\n"


def test_pre_commit_hook_entry_runs_as_published():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "vascular-validate")
    argv = shlex.split(hook["entry"])
    assert argv[0] == "vascular"
    good = cli(*argv[1:], str(EXAMPLES / "valid/local-protocol.yaml"))
    bad = cli(*argv[1:], str(EXAMPLES / "invalid/VG006/unknown-action.yaml"))
    assert (good.code, bad.code) == (0, 1)


def test_checks_doc_is_generated_from_the_registry():
    assert (ROOT / "docs" / "checks.md").read_text(encoding="utf-8") == markdown()


def test_every_check_documents_a_pass_and_a_fail_example():
    for c in REGISTRY.values():
        assert "Pass:" in c.doc and ("Fail:" in c.doc or "Warn:" in c.doc), c.code


def test_schema_command_prints_the_json_schema():
    r = cli("schema")
    doc = json.loads(r.out)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "recommendations" in doc["properties"]
