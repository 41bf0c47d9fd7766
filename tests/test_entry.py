"""Issue 15 point 1: the start-up fast path (entry.py) parses a command line exactly as the typer app does, or
declines and lets typer parse it (typer then words any error). The parser is generated from the typer app's own
declarations (entry.build_spec), so these properties compare it with typer itself, for valid and invalid lines."""

import io
import sys

import pytest
from conftest import cli as run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vascular_cli import cli, entry, frontend

SPEC = entry.build_spec()
OPTIONS = sorted({o for c in entry.FAST if c in SPEC for o in SPEC[c]["options"]})


def _typer_kwargs(args, monkeypatch):
    """(exit code, the keyword arguments the typer app passes to the command body or None)."""
    got = {}

    def capture(name):
        def body(**kwargs):
            got[name] = kwargs
            return 0
        return body

    for name in entry.FAST:
        monkeypatch.setattr(frontend, name, capture(name))
    monkeypatch.setattr(frontend, "version", capture("--version"))
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
    try:
        code = cli.main(list(args))
    finally:
        sys.stdout, sys.stderr = old
    assert len(got) <= 1
    return code, next(iter(got.items()), None)


VALUES = st.one_of(st.sampled_from(["C6", "", "json", "table", "nivl", "guidelines", "a b", "-1", "-", "x=y",
                                     "recommend", "--ceap", "-f"]), st.text(max_size=6))
ODD = st.sampled_from(["--help", "-h", "--", "-", "--version", "--det", "-fjson", "-f=json", "--format=json", "--ceap=",
                       "--detail=1", "--all=", "--lesion=nivl", "--no-such", "-x", "guidelines", "C6"])


def _unit(option):
    """An option as a user writes it: a flag alone, a value option with its value (separate or with =)."""
    kinds = {o: k for c in entry.FAST if c in SPEC for o, (_, k) in SPEC[c]["options"].items()}
    if kinds[option] == "flag":  # and, less often, a flag given a value (an error)
        return st.one_of(st.just([option]), st.just([option]), VALUES.map(lambda v: [f"{option}={v}"]))
    return VALUES.flatmap(lambda v: st.sampled_from([[option, v], [f"{option}={v}"], [option]] if option.startswith("--")
                                                    else [[option, v], [f"{option}{v}"], [option]]))


UNITS = st.one_of(st.sampled_from(OPTIONS).flatmap(_unit), ODD.map(lambda t: [t]), VALUES.map(lambda t: [t]))
# mostly well-formed lines (so the fast parser accepts many), with odd tokens mixed in (so it must decline)
ARGV = st.tuples(st.sampled_from(["recommend", "validate"] * 3 + ["--version", "list", "recomend", "", "-h"]),
                 st.lists(st.one_of(st.sampled_from(OPTIONS).flatmap(_unit), st.sampled_from(OPTIONS).flatmap(_unit),
                                    st.sampled_from(OPTIONS).flatmap(_unit), UNITS), max_size=6)
                 ).map(lambda t: [t[0], *[tok for unit in t[1] for tok in unit]])


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(ARGV)
def test_the_fast_parser_agrees_with_typer_or_declines(monkeypatch, args):
    fast = entry.parse(args, SPEC)
    code, typer_call = _typer_kwargs(args, monkeypatch)
    if fast is None:
        return
    assert code == 0 and typer_call == fast, (args, fast, typer_call, code)


@pytest.mark.parametrize("args", [
    ["recommend", "--ceap", "C6", "--lesion", "chronic-occlusion", "--format", "json"],
    ["recommend", "--ceap=C6", "-f", "markdown", "--factor", "ambulatory", "--factor=first-episode", "--detail"],
    ["recommend", "--profiles", "-"],
    ["validate", "guidelines", "--format", "json", "--strict"],
    ["validate"],
    ["--version"],
])
def test_the_common_command_lines_take_the_fast_path(monkeypatch, args):
    fast = entry.parse(args, SPEC)
    assert fast is not None
    assert _typer_kwargs(args, monkeypatch) == (0, fast)


@pytest.mark.parametrize("args", [
    ["recommend", "--ceap", "C6", "--lesion", "chronic-occlusion", "--format", "json"],
    ["recommend", "--ceap", "C6", "--lesion", "chronic-occlusion"],
    ["recommend", "--ceap", "C9"],
    ["recommend", "--profile", "examples/local-protocol/patient.json", "-f", "markdown", "--detail"],
    ["validate", "guidelines/esvs-2022-cvd.yaml", "--format", "json"],
    ["--version"],
])
def test_both_entries_write_the_same(args):
    fast = run_cli(*args)
    typer_run = _run_typer(args)
    assert (fast.code, fast.out, fast.err) == (typer_run.code, typer_run.out, typer_run.err)


def _run_typer(args):
    import vascular_cli.entry as e

    old = e.parse
    e.parse = lambda *a: None  # every line through typer
    try:
        return run_cli(*args)
    finally:
        e.parse = old


def test_the_spec_is_cached_per_version_and_pruned(tmp_path, monkeypatch):
    monkeypatch.setenv("VASCULAR_CACHE_DIR", str(tmp_path))
    from vascular_cli.kbcache import install_tag

    (tmp_path / f"cli-{install_tag()}-stale.json").write_text("{}")
    assert entry.spec() == SPEC
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 1 and files[0].startswith("cli-") and "stale" not in files[0]
    assert entry.spec() == SPEC  # read back
