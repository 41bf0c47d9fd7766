"""Exact outputs for key profiles. Regenerate after an intended change: UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py"""

import os

import pytest
from conftest import ROOT, cli

GOLDEN = ROOT / "tests" / "golden"
WIDE, NARROW = {"COLUMNS": "120"}, {"COLUMNS": "80"}

CASES = {
    "c6-chronic-occlusion.json": (["recommend", "--ceap", "C6", "--lesion", "chronic-occlusion", "-f", "json"], {}),
    "c6-chronic-occlusion.txt": (["recommend", "--ceap", "C6", "--lesion", "chronic-occlusion"], WIDE),
    "c6-chronic-occlusion-narrow.txt": (["recommend", "--ceap", "C6", "--lesion", "chronic-occlusion"], NARROW),
    "iliofemoral-dvt-low-bleeding.json": (
        ["recommend", "--lesion", "acute-iliofemoral-dvt", "--symptom-days", "5", "--bleeding-risk", "low",
         "--factor", "first-episode", "--factor", "ambulatory", "--factor", "symptomatic", "-f", "json"], {}),
    "iliofemoral-dvt-low-bleeding.txt": (
        ["recommend", "--lesion", "acute-iliofemoral-dvt", "--symptom-days", "5", "--bleeding-risk", "low",
         "--factor", "first-episode", "--factor", "ambulatory", "--factor", "symptomatic"], WIDE),
    "iliofemoral-dvt-low-bleeding-narrow.txt": (
        ["recommend", "--lesion", "acute-iliofemoral-dvt", "--symptom-days", "5", "--bleeding-risk", "low",
         "--factor", "first-episode", "--factor", "ambulatory", "--factor", "malignancy=no"], NARROW),
    "c6-explain-detail.txt": (["recommend", "--ceap", "C6,s Es Ad Pr,o", "--lesion", "post-thrombotic-obstruction",
                               "--severity", "severe", "--explain", "--detail"], WIDE),
    "c6-unverified.txt": (["recommend", "--ceap", "C6", "--lesion", "chronic-occlusion", "--include-unverified",
                           "--source", "CIRSE", "--source", "ESVS"], NARROW),
    "conflict-narrow.txt": (["recommend", "--ceap", "C6", "--lesion", "nivl", "--severity", "mild"], NARROW),
    "conflict.md": (["recommend", "--ceap", "C6", "--lesion", "nivl", "--severity", "mild", "-f", "markdown"], {}),
    "c6-chronic-occlusion.md": (["recommend", "--ceap", "C6", "--lesion", "chronic-occlusion", "-f", "markdown"], {}),
    "calf-dvt-explain.txt": (["recommend", "--lesion", "calf-dvt", "--factor", "malignancy", "--explain",
                              "--source", "ESVS"], WIDE),
    "c2-asymptomatic.md": (["recommend", "--ceap", "C2,a Ep As Pr", "--lesion", "superficial-reflux",
                            "-f", "markdown"], {}),
    "nothing-applies.json": (["recommend", "--ceap", "C0", "--lesion", "nutcracker", "-f", "json"], {}),
    "nothing-applies.txt": (["recommend", "--ceap", "C0", "--lesion", "nutcracker"], WIDE),
    "show-6.14.txt": (["show", "svs-avf-2014-vlu/6.14"], {}),
    "show-6.14-provenance.txt": (["show", "svs-avf-2014-vlu/6.14", "--provenance"], {}),
    "list.txt": (["list"], NARROW),
    "ceap-advanced.txt": (["ceap", "C2,4a,5,s Ep As,p Pr GSVa,GSVb,CPV"], {}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name):
    args, env = CASES[name]
    r = cli(*args, env=env)
    assert r.code == 0 and r.err == "", r
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(r.out, encoding="utf-8")
    _same(r.out, path.read_text(encoding="utf-8"), name)


def _same(got: str, want: str, name: str) -> None:
    """Exact comparison with a short message (the first differing line): pytest's own diff of two long texts is
    quadratic and can run for minutes."""
    if got != want:
        a, b = got.splitlines(), want.splitlines()
        i = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
        pytest.fail(f"{name}: first difference at line {i + 1}:\n got: {a[i] if i < len(a) else '<end>'!r}\n"
                    f"want: {b[i] if i < len(b) else '<end>'!r} ({len(a)} vs {len(b)} lines)", pytrace=False)


def test_json_is_identical_across_runs():
    args, env = CASES["c6-chronic-occlusion.json"]
    assert cli(*args, env=env).out == cli(*args, env=env).out


def test_jsonl_carries_the_same_content_as_json():
    import json

    args = ["recommend", "--ceap", "C6", "--lesion", "chronic-occlusion"]
    doc = json.loads(cli(*args, "-f", "json").out)
    lines = [json.loads(x) for x in cli(*args, "-f", "jsonl").out.splitlines()]
    head, items = lines[0], lines[1:]
    assert head["schema"] == "vascular.recommend.jsonl/2"
    assert items == doc.pop("recommendations")
    assert {k: v for k, v in head.items() if k != "schema"} == {k: v for k, v in doc.items() if k != "schema"}


README_EXAMPLE = ["recommend", "--ceap", "C6", "--lesion", "chronic-occlusion"]


def test_readme_example_fits_the_line_budget():
    """Issue 11: the README's example answer fits in 100 lines at 100 columns (and no line is wider)."""
    lines = cli(*README_EXAMPLE, env={"COLUMNS": "100"}).out.splitlines()
    assert len(lines) <= 100, len(lines)
    for cols in (80, 100, 120):  # never wider than the terminal, never cut
        assert max(len(x) for x in cli(*README_EXAMPLE, env={"COLUMNS": str(cols)}).out.splitlines()) <= cols


def test_default_answer_names_every_applying_recommendation_with_grade_and_direction(kb):
    import json

    from vascular_cli.render.answer import cite, direction_word

    doc = json.loads(cli(*README_EXAMPLE, "-f", "json").out)
    text = " ".join(cli(*README_EXAMPLE, env={"COLUMNS": "100"}).out.split())
    by_id = {r.full_id: r for r in kb.recommendations}
    applying = [x for x in doc["recommendations"] if x["status"] == "applies"]
    assert applying
    for x in applying:
        r = by_id[x["id"]]
        assert cite(kb, r) in text, x["id"]
        assert f"{direction_word(r.direction)}" in text
