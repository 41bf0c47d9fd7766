"""Clinical scenarios (tests/scenarios/*.yaml), written by hand from the guideline sources before the tool was run.

Each scenario gives a profile and the recommendations that must apply and must not apply, each with a one-line
clinical rationale (`why`) and the source words it rests on (`source`); optionally pairs that must be shown as a
conflict. Only what the scenario states is checked: the rest of the output may change as the knowledge base grows.
The CLI's JSON output is used, so the scenarios test the public contract end to end.
"""

import json
from pathlib import Path

import pytest
import yaml
from conftest import cli

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.yaml"))


def _load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_there_are_at_least_60_scenarios():
    assert len(SCENARIOS) >= 60


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_is_documented(path):
    case = _load(path)
    assert case.get("title") and isinstance(case.get("profile"), dict)
    assert case.get("must_apply") or case.get("must_not_apply"), "a scenario states at least one expectation"
    for entry in (case.get("must_apply") or []) + (case.get("must_not_apply") or []):
        assert set(entry) >= {"id", "why", "source"}, entry
        assert entry["why"].strip() and entry["source"].strip(), entry


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario(path):
    case = _load(path)
    r = cli("recommend", "--profile", "-", "--format", "json", *(case.get("options") or []),
            stdin=json.dumps(case["profile"]).encode())
    assert r.code == 0, r
    out = json.loads(r.out)
    status = {x["id"]: x["status"] for x in out["recommendations"]}
    for entry in case.get("must_apply") or []:
        assert entry["id"] in status, f"{entry['id']} is not a loaded recommendation"
        assert status[entry["id"]] == "applies", f"{entry['id']} should apply: {entry['why']}"
    for entry in case.get("must_not_apply") or []:
        assert entry["id"] in status, f"{entry['id']} is not a loaded recommendation"
        assert status[entry["id"]] != "applies", f"{entry['id']} must not apply: {entry['why']}"
    conflicts = {x["id"]: set(x.get("conflicts_with") or ()) for x in out["recommendations"]}
    for a, b in case.get("conflicts") or []:
        assert b in conflicts.get(a, ()), f"{a} and {b} should be shown as a conflict"
