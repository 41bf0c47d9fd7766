"""The compiled index (batch fast path) agrees with the engine (explained path) on every profile."""

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import CEAP, FACTORS, LESIONS, profiles

import vascular_cli
from vascular_cli.atom_matcher import AtomMatcher
from vascular_cli.batch_matcher import MatchIndex, ProfileParser
from vascular_cli.engine import Engine
from vascular_cli.profile import from_mapping

KB = vascular_cli.load()
ENGINE = Engine(KB)
INDEX = MatchIndex(ENGINE)
PARSER = ProfileParser(KB.vocabulary)
PROFILES = profiles(max_factors=5)


def _engine_view(profile):
    result = ENGINE.evaluate(profile)
    applies = [m.rec.full_id for m in result.by_status("applies")]
    possible = [m.rec.full_id for m in result.by_status("possible")]
    return applies, possible, result.ask_next()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PROFILES)
def test_index_matches_engine(doc):
    try:
        profile = from_mapping(KB.vocabulary, doc)
    except vascular_cli.InputError:
        return
    fast = PARSER.parse(doc)
    assert fast == profile
    applies, possible, partial, entries = INDEX.match(fast)
    assert (INDEX.ids_of(applies), INDEX.ids_of(possible), list(INDEX.missing(entries, partial))) == \
        _engine_view(profile)


def test_memoised_results_stay_correct_over_many_profiles():
    rng = random.Random(7)
    for _ in range(300):
        doc = {"ceap": rng.choice(CEAP), "lesion": rng.sample(LESIONS, 2), "symptom_days": rng.randint(0, 30),
               "factors": {f: rng.random() < 0.5 for f in rng.sample(FACTORS, 3)}}
        try:
            profile = from_mapping(KB.vocabulary, doc)
        except vascular_cli.InputError:
            continue
        applies, possible, partial, entries = INDEX.match(PARSER.parse(doc))
        assert (INDEX.ids_of(applies), INDEX.ids_of(possible)) == _engine_view(profile)[:2]


RAW = AtomMatcher(INDEX, KB.vocabulary)
RAW_DOCS = st.fixed_dictionaries({}, optional={
    "id": st.one_of(st.text(max_size=5), st.integers(), st.none(), st.lists(st.integers(), max_size=1)),
    "ceap": st.one_of(st.sampled_from(CEAP + ["C7", "C4d", "C2,a", "  C6 ", 6]), st.text(max_size=4)),
    "lesion": st.one_of(st.lists(st.sampled_from(LESIONS + ["calf-dvt", "nope"]), max_size=3),
                        st.sampled_from(LESIONS), st.integers()),
    "bleeding_risk": st.sampled_from(["low", "moderate", "high", "medium", 1]),
    "severity": st.sampled_from(["mild", "moderate", "severe", "x"]),
    "symptom_days": st.one_of(st.integers(-2, 400), st.floats(allow_nan=True), st.booleans(), st.text(max_size=2)),
    "abi": st.one_of(st.floats(-1, 4), st.integers(0, 3), st.booleans()),
    "ankle_pressure": st.integers(-5, 500),
    "factors": st.one_of(
        st.lists(st.sampled_from(FACTORS + [f + "=no" for f in FACTORS[:20]] + ["bogus", "symptomatic"]), max_size=4),
        st.dictionaries(st.sampled_from(FACTORS), st.booleans(), max_size=3)),
})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RAW_DOCS)
def test_raw_matcher_agrees_with_the_engine_or_declines(doc):
    fast = RAW.match(doc)  # one shared matcher, so later examples hit the memos earlier ones filled
    try:
        profile = from_mapping(KB.vocabulary, doc)
    except vascular_cli.InputError as e:
        # an invalid document goes to the full path, which names the error, or the fast path names the same one
        assert fast is None or str(fast) == str(e)
        return
    assert not isinstance(fast, vascular_cli.InputError)
    if fast is not None:
        applies, possible = fast
        assert (RAW.ids_of(applies), RAW.ids_of(possible)) == _engine_view(profile)[:2]


# Registry-like documents (bench/generate.py's "distinct" data set): any CEAP 2020 string built from its parts, any
# of the vocabulary's lesions and factors. The hot path has no memo of combinations, so every combination is a
# first-time evaluation; each must agree with the engine.
_CLASSES = ["0", "1", "2", "2r", "3", "4", "4a", "4b", "4c", "5", "6", "6r"]
_CEAP_PARTS = st.tuples(
    st.lists(st.sampled_from(_CLASSES), min_size=1, max_size=3, unique=True),
    st.sampled_from(["", ",s", ",a"]),
    st.sampled_from(["", " Ep", " Es", " Esi", " Ese", " Ec", " En", " Ep,s", " Ec,p"]),
    st.sampled_from(["", " As", " Ad", " Ap", " As,d,p", " An"]),
    st.sampled_from(["", " Pr", " Po", " Pr,o", " Pn"]),
    st.sampled_from(["", " GSVa", " CFV,FV,POPV", " 5,12"]))
REGISTRY = st.fixed_dictionaries({
    "ceap": _CEAP_PARTS.map(lambda p: "C" + ",".join(p[0]) + "".join(p[1:])),
    "lesion": st.lists(st.sampled_from(sorted(KB.vocabulary.terms["lesion"])), min_size=1, max_size=5, unique=True),
    "factors": st.dictionaries(st.sampled_from(sorted(KB.vocabulary.terms["factor"])), st.booleans(), min_size=2,
                               max_size=8),
}, optional={"symptom_days": st.integers(0, 36500), "abi": st.floats(0.2, 1.6),
             "bleeding_risk": st.sampled_from(["low", "moderate", "high"]),
             "severity": st.sampled_from(["mild", "moderate", "severe"]),
             "pregnancy_trimester": st.integers(1, 3)})


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(REGISTRY)
def test_hot_path_agrees_with_the_engine_on_registry_documents(doc):
    fast = RAW.match(doc)
    try:
        profile = from_mapping(KB.vocabulary, doc)
    except vascular_cli.InputError as e:
        assert fast is None or str(fast) == str(e)
        return
    assert fast is not None and not isinstance(fast, vascular_cli.InputError)
    applies, possible = fast
    assert (RAW.ids_of(applies), RAW.ids_of(possible)) == _engine_view(profile)[:2]
