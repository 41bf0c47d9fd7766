"""Clinical scenarios (tests/cases/*.yaml): profile -> the exact sets of recommendations that apply / are possible."""

from pathlib import Path

import pytest
import yaml

import vascular_cli
from vascular_cli.engine import Engine
from vascular_cli.profile import from_mapping

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))
KB = vascular_cli.load()
ENGINE = Engine(KB)


def test_there_are_at_least_25_scenarios():
    assert len(CASES) >= 25


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_scenario(path):
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    result = ENGINE.evaluate(from_mapping(KB.vocabulary, case["profile"]), **(case.get("options") or {}))
    got = {s: sorted(m.rec.full_id for m in result.by_status(s)) for s in ("applies", "possible")}
    assert got["applies"] == sorted(case.get("applies") or [])
    assert got["possible"] == sorted(case.get("possible") or [])
    if "conflicts" in case:
        pairs = sorted({tuple(sorted((m.rec.full_id, c))) for m in result.matches for c in m.conflicts_with})
        assert pairs == sorted(tuple(sorted(p)) for p in case["conflicts"])
