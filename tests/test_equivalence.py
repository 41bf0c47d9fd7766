"""Issue 10 point 3: the batch paths (AtomMatcher fast path, ProfileParser + MatchIndex, the FactorIndex fallback,
bounded memos) give exactly what the engine gives: applies, possible and their order, conflicts, and the ranked
missing facts. Each property fails if its path silently stops working (see the CHANGELOG for what was broken on
purpose and which test caught it)."""

import json

from hypothesis import HealthCheck, given, settings
from strategies import CEAP, FACTORS, LESIONS, profiles

import vascular_cli
from vascular_cli.batch import BatchEvaluator
from vascular_cli.batch_matcher import MatchIndex, _Memo
from vascular_cli.engine import Engine
from vascular_cli.profile import from_mapping

KB = vascular_cli.load()
ENGINE = Engine(KB)
PROFILES = profiles(max_factors=6)


def _engine_line(doc):
    result = ENGINE.evaluate(from_mapping(KB.vocabulary, doc))
    applies = [m.rec.full_id for m in result.by_status("applies")]
    possible = [m.rec.full_id for m in result.by_status("possible")]
    conflicts = sorted(sorted((m.rec.full_id, c)) for m in result.matches for c in m.conflicts_with
                       if m.rec.full_id < c)
    missing = [[f, n, c] for f, n, c in result.ask_next()]
    return {"status": "ok", "covered": bool(applies), "applies": applies, "conflicts": conflicts,
            "possible_count": len(possible), "possible": possible, "missing": missing}


def _batch_line(ev, doc):
    ok, text = ev.fragment(doc)
    return json.loads("{" + text + "}")


FAST = BatchEvaluator(ENGINE, {})
FULL = BatchEvaluator(ENGINE, {}, with_possible=True)


def _valid(doc):
    try:
        from_mapping(KB.vocabulary, doc)
        return True
    except vascular_cli.InputError:
        return False


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PROFILES)
def test_both_batch_paths_give_everything_the_engine_gives(doc):
    if not _valid(doc):
        return
    want = _engine_line(doc)
    assert _batch_line(FULL, doc) == want
    short = {k: v for k, v in want.items() if k not in ("possible", "missing")}
    assert _batch_line(FAST, doc) == short
    assert FAST.raw.match(doc) is not None  # a plainly valid document takes the fast path


def test_conflicts_are_reported_by_the_batch_path():
    found = [d for d in ({"ceap": c, "lesion": [les], "severity": s} for c in ("C3", "C4a", "C6")
                         for les in ("nivl", "chronic-occlusion", "acute-iliofemoral-dvt") for s in ("mild", "severe"))
             if _engine_line(d)["conflicts"]]
    assert found, "no profile with a conflict: the knowledge base changed, pick another"
    for d in found:
        assert _batch_line(FAST, d)["conflicts"] == _engine_line(d)["conflicts"] != []


def test_small_memos_evict_and_stay_correct(monkeypatch):
    from vascular_cli import batch

    monkeypatch.setattr(batch, "HEADS", 3)
    ev = BatchEvaluator(ENGINE, {})
    memos = [m for *_, m in ev.index.groups] + [ev.parser.derived] + list(ev.index.buckets.values()) + [
        memo for _, memo in ev.index.conflict_groups]
    for m in memos:
        m.limit = 3
    ev.raw.limit = 3
    raw_memos = [ev.heads, ev.raw.ceap_memo, ev.raw.ceap_keys, ev.raw.terms, ev.raw.items, ev.raw.derived,
                 *ev.raw.choice_memo.values(), *ev.raw.tables.values(), *(memo for *_, memo in ev.raw.chunks)]
    import random

    rng = random.Random(11)
    for _ in range(150):
        doc = {"ceap": rng.choice(CEAP), "lesion": rng.sample(LESIONS, 2), "symptom_days": rng.randint(0, 30),
               "factors": {f: rng.random() < 0.5 for f in rng.sample(FACTORS, 3)}}
        if not _valid(doc):
            continue
        want = _engine_line(doc)
        assert _batch_line(ev, doc) == {k: v for k, v in want.items() if k not in ("possible", "missing")}
    assert all(len(m.new) <= 3 and len(m.old) <= 3 for m in memos)
    assert all(len(m) <= 3 for m in raw_memos)  # emptied when full (more than 3 CEAP strings, lesions... were seen)


def test_factor_index_fallback_with_many_relevant_factors():
    ix = MatchIndex(ENGINE)
    names = sorted({n for c in (c for _, c in ix.factor_index.members) for n in c.all + c.none})
    many = 13  # more than the old subset walk took (2^13 subsets); the name-set lookup takes any number
    assert len(names) > many
    doc = {"lesion": ["acute-iliofemoral-dvt"], "factors": {n: False for n in names[:many]}}
    if not _valid(doc):  # mutually exclusive factors all "no" are fine; keep the test honest if that changes
        doc["factors"] = dict(list(doc["factors"].items())[:many - 2])
    assert _batch_line(FULL, doc) == _engine_line(doc)
    assert _batch_line(FAST, doc) == {k: v for k, v in _engine_line(doc).items() if k not in ("possible", "missing")}


def test_memo_is_bounded():
    m = _Memo(4)
    for i in range(100):
        m.put(i, i)
    assert len(m.new) <= 4 and len(m.old) <= 4 and m.get(99) == 99 and m.get(0) is None


def test_a_contradicted_implication_gives_the_full_parsers_error_on_the_fast_path():
    doc = {"lesion": ["acute-iliofemoral-dvt"], "symptom_days": 4, "factors": {"symptomatic": False}}
    try:
        from_mapping(KB.vocabulary, doc)
    except vascular_cli.InputError as e:
        want = str(e)
    assert isinstance(FAST.raw.match(doc), vascular_cli.InputError)
    assert FAST.fragment(doc) == FULL.fragment(doc) == (False, '"status":"error","error":' + json.dumps(want))


def test_conflict_pairs_are_the_rule_applied_to_every_pair():
    recs = [r for r, _ in ENGINE.compiled]
    want = [(i, j) for i, a in enumerate(recs) for j, b in enumerate(recs) if i < j and ENGINE.conflicting(a, b)]
    assert want and ENGINE.conflict_pairs(recs) == want
