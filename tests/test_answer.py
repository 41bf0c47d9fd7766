"""Issue 11: the clinician answer's own contract (statuses, ranking, sections, small fixes)."""

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, cli

README = ("recommend", "--ceap", "C6", "--lesion", "chronic-occlusion")


def _json(*args):
    return json.loads(cli(*args, "-f", "json").out)


def test_possible_means_partly_matched_and_json_keeps_every_item(kb):
    doc = _json(*README)
    recs = doc["recommendations"]
    in_scope = [r for r in kb.recommendations if r.kind == "recommendation" and r.guideline.status == "active"
                and r.certainty != "seed-only"]
    assert len(recs) == len(in_scope)  # every evaluated item, with its status
    kinds = {x["possible_kind"] for x in recs if x["status"] == "possible"}
    assert kinds == {"partly-matched", "unassessed"}
    assert all(x["possible_kind"] is None for x in recs if x["status"] != "possible")
    for x in recs:
        if x["possible_kind"] == "unassessed":
            # nothing positive matched: at most criteria satisfied by an absence ("no lesion vte")
            assert all(m["requires"].startswith(("no lesion", "factors none of")) for m in x["matched"]), x["id"]
    # the ACR 2019 prophylaxis items match a C6 ulcer only through "no lesion vte": not listed as possible
    text = cli(*README, env={"COLUMNS": "100"}).out
    prophylaxis = [x for x in recs if x["id"].startswith("acr-2019") and x["status"] == "possible"]
    assert prophylaxis and all(x["possible_kind"] == "unassessed" for x in prophylaxis)
    assert "ACR 2019" not in text
    s = doc["summary"]
    assert s["possible"] == s["partly_matched"] + s["unassessed"]


def test_ask_next_ranks_by_what_each_fact_would_settle():
    doc = _json(*README)
    partly = [x for x in doc["recommendations"] if x["possible_kind"] == "partly-matched"]
    expected = []
    for fact in {m["fact"] for x in partly for m in x["missing"]}:
        having = [x for x in partly if fact in {m["fact"] for m in x["missing"]}]
        alone = [x for x in having if len(x["missing"]) == 1]
        expected.append((-len(having), -len(alone), fact))
    got = [(-a["settles_up_to"], -a["settles_certainly"], a["fact"]) for a in doc["ask_next"]]
    assert got == sorted(expected)
    text = cli(*README, env={"COLUMNS": "100"}).out
    top = doc["ask_next"][:5]
    lines = text.split("ASK NEXT")[1].splitlines()[1:6]
    assert [line.strip().startswith(a["option"] + " ") for line, a in zip(lines, top, strict=False)] == [True] * 5


def test_seed_only_items_apply_only_in_their_own_section():
    default = _json(*README)
    assert not [x for x in default["recommendations"] if x["certainty"] == "seed-only"]
    assert default["summary"]["unverified_left_out"] >= 1
    text = cli(*README, "--include-unverified", env={"COLUMNS": "100"}).out
    applies, _, rest = text.partition("UNVERIFIED - source not found")
    assert "CIRSE" not in applies and "CIRSE 2014" in rest
    with_unverified = _json(*README, "--include-unverified")
    assert with_unverified["summary"]["applies"] == default["summary"]["applies"]


def test_markdown_writes_the_direction_out():
    out = cli("recommend", "--lesion", "isolated-distal-dvt", "--source", "ACR", "-f", "markdown").out
    assert "Permanent IVC filter: AGAINST" in out


def test_one_recommendation_is_singular(tmp_path):
    from vascular_cli.render.answer import Sections, rest_line

    assert rest_line(Sections([], [], [], ["x"], []), False, 0) == \
        "Not listed: 1 recommendation does not apply. Show them with --all."


def test_explain_covers_applying_and_partly_matched_items_and_all_with_all():
    brief = cli(*README, "--explain", env={"COLUMNS": "100"}).out
    full = cli(*README, "--explain", "--all", env={"COLUMNS": "100"}).out
    assert "✓" in brief and "NOT APPLICABLE" not in brief and "UNASSESSED" not in brief
    assert "NOT APPLICABLE" in full and "✗" in full and full.count("\n") > brief.count("\n")


def test_every_output_carries_the_disclaimer():
    from vascular_cli import DISCLAIMER

    for fmt in ("table", "markdown", "json", "jsonl"):
        assert " ".join(DISCLAIMER.split()) in " ".join(cli(*README, "-f", fmt).out.replace("\\", "").split()), fmt
    assert DISCLAIMER in cli("show", "svs-avf-2014-vlu/6.14", env={"COLUMNS": "200"}).out


@pytest.mark.parametrize("args", [["recommend", "--ceap", "C6"], ["vocab"], ["list"], ["show", "svs-avf-2014-vlu/6.14"],
                                  ["recommend", "--ceap", "C6", "-f", "json"]])
def test_a_closed_pipe_ends_quietly_with_exit_0(args):
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="100")
    p = subprocess.Popen([sys.executable, "-m", "vascular_cli", *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    p.stdout.readline()
    p.stdout.close()  # `| head -1`
    err = p.stderr.read()
    assert p.wait() == 0 and err == b""


def test_batch_progress_ends_at_100_percent(monkeypatch, capsys):
    from vascular_cli import batch

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    progress = batch._Progress(1000)
    progress.update(3, 30)
    progress.close(100)
    err = capsys.readouterr().err
    assert "100.0%" in err.rsplit("\r", 1)[-1] and err.endswith("\n")


def test_help_short_option():
    assert cli("recommend", "-h").code == 0 and "--include-unverified" in cli("recommend", "-h").out
    assert "<str>" not in cli("recommend", "--help").out and "<list" not in cli("recommend", "--help").out


def test_show_accepts_an_items_alias():
    assert cli("show", "ESVS2021-R34").out == cli("show", "esvs-2021-vt/R34").out
