"""The README's first commands are the ones CI runs, and the documented CLI matches the real one."""

import re

from conftest import ROOT, cli


def _readme_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_readme_opens_with_two_setup_commands():
    commands = _readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith("pip install . && vascular recommend --ceap C6 --lesion chronic-occlusion")
    assert 'pip install ".[test]"' in commands[1] and commands[1].endswith("python -m pytest")


def test_ci_runs_exactly_the_readme_commands():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    for command in _readme_commands():
        assert f"readme '{command}'" in ci


def test_lowest_versions_ci_run_pins_the_declared_lower_bounds():
    """.ci/constraints-lowest.txt pins exactly the ">=" bounds of pyproject.toml (dependencies and the test extra)."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {}
    for spec in project["dependencies"] + project["optional-dependencies"]["test"]:
        name, _, low = spec.partition(">=")
        declared[name.strip().lower()] = low.split(",")[0].strip()
    pins = {}
    for line in (ROOT / ".ci" / "constraints-lowest.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = version.strip()
    assert pins == declared


def test_every_command_and_recommend_option_is_documented():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in ("recommend", "validate", "list", "show", "vocab", "ceap", "schema"):
        assert f"vascular {command}" in text, command
    help_text = cli("recommend", "--help").out
    for option in re.findall(r"(--[a-z][a-z-]+)", help_text):
        if option != "--help":
            assert f"`{option}" in text, option


def test_cli_reference_is_generated_from_help():
    from vascular_cli.clidoc import markdown

    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == markdown()


def test_readme_coverage_table_is_generated_from_the_knowledge_base():
    from vascular_cli.coverage import readme_text

    assert (ROOT / "README.md").read_text(encoding="utf-8") == readme_text(ROOT), \
        "README coverage table out of date: python -m vascular_cli.coverage"
