"""CEAP 2020 parser: classes, subclasses, modifiers, E/A/P parts, errors with columns, and no crash on any string."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vascular_cli.ceap import CeapError, parse


@pytest.mark.parametrize("text, top, classes, modifier", [
    ("C6", ("C6",), ("C6",), None),
    ("c6", ("C6",), ("C6",), None),
    ("C4a", ("C4a",), ("C4a",), None),
    ("C4b", ("C4b",), ("C4b",), None),
    ("C4c", ("C4c",), ("C4c",), None),
    ("C4", ("C4",), ("C4",), None),
    ("C2r", ("C2r",), ("C2r",), None),
    ("C6r", ("C6r",), ("C6r",), None),
    ("C2,s", ("C2",), ("C2",), "s"),
    ("C2s", ("C2",), ("C2",), "s"),
    ("C2S", ("C2",), ("C2",), "s"),
    ("C2,a", ("C2",), ("C2",), "a"),
    ("C2A", ("C2",), ("C2",), "a"),
    ("C4a,s", ("C4a",), ("C4a",), "s"),
    ("C4as", ("C4a",), ("C4a",), "s"),
    ("C2,4a,5", ("C5",), ("C2", "C4a", "C5"), None),
    ("C2,4a,4b,s", ("C4a", "C4b"), ("C2", "C4a", "C4b"), "s"),
    ("C0", ("C0",), ("C0",), None),
])
def test_clinical_class(text, top, classes, modifier):
    c = parse(text)
    assert (c.top, c.classes, c.modifier) == (top, classes, modifier)


@pytest.mark.parametrize("text, e, a, p, segments, basic", [
    ("C6,s Es Ad Pr,o", ("Es",), ("Ad",), ("Pr", "Po"), (), "C6,s Es Ad Pr,o"),
    ("C3 Ep As Pr", ("Ep",), ("As",), ("Pr",), (), "C3 Ep As Pr"),
    ("C6 Esi Ad Po", ("Esi",), ("Ad",), ("Po",), (), "C6 Esi Ad Po"),
    ("C5 Ese Ad,p Pr", ("Ese",), ("Ad", "Ap"), ("Pr",), (), "C5 Ese Ad,p Pr"),
    ("C2 Ec As Pr", ("Ec",), ("As",), ("Pr",), (), "C2 Ec As Pr"),
    ("C1 En An Pn", ("En",), ("An",), ("Pn",), (), "C1 En An Pn"),
    ("C2,4a,5,s Ep As,p Pr GSVa,GSVb,CPV", ("Ep",), ("As", "Ap"), ("Pr",), ("GSVa", "GSVb", "CPV"), "C5,s Ep As,p Pr"),
    ("C5,SEpAs,pPr", ("Ep",), ("As", "Ap"), ("Pr",), (), "C5,s Ep As,p Pr"),
    ("C2,4a,5,SEpAs,p,Pr2,3,18", ("Ep",), ("As", "Ap"), ("Pr",), ("2", "3", "18"), "C5,s Ep As,p Pr"),
    ("C6,s Es Ad Pr (2024-01-05; L2)", ("Es",), ("Ad",), ("Pr",), (), "C6,s Es Ad Pr"),
])
def test_eap_parts(text, e, a, p, segments, basic):
    c = parse(text)
    assert (c.etiology, c.anatomy, c.pathophysiology, c.segments, c.basic) == (e, a, p, segments, basic)


@pytest.mark.parametrize("text, col, message", [
    ("C7", 1, "clinical class 'C7' is not defined in CEAP 2020"),
    ("C4d", 1, "clinical class 'C4d' is not defined in CEAP 2020"),
    ("C66", 1, "clinical class 'C66' is not defined"),
    ("C3r", 1, "clinical class 'C3r' is not defined"),
    ("C6 Ez", 4, "CEAP etiology 'Ez' is not defined in CEAP 2020 (valid: Ep, Es, Esi, Ese, Ec, En)"),
    ("C6 Ad,z", 6, "CEAP anatomy 'Az' is not defined"),
    ("C6 Px", 4, "CEAP pathophysiology 'Px' is not defined"),
    ("X6", 1, "CEAP must start with the clinical class"),
    ("", 1, "empty CEAP string"),
    ("C6 Es Es", 7, "CEAP E part given twice"),
    ("C6 En,p", 4, "En means none identified"),
    ("C6,6", 3, "clinical class 'C6' written twice"),
    ("C2,", 3, "after ','"),
    ("C6 Ad FOO", 7, "unknown CEAP anatomic segment 'FOO'"),
])
def test_errors_name_the_part_and_column(text, col, message):
    with pytest.raises(CeapError) as e:
        parse(text)
    assert message in str(e.value)
    assert e.value.col == col


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=40))
def test_no_string_crashes_the_parser(text):
    try:
        c = parse(text)
    except CeapError as e:
        assert e.col >= 1 and str(e)
    else:
        assert c.top and all(x.startswith("C") for x in c.classes)


ALPHABET = st.sampled_from(list("C0123456789abcrsSAEPpdnoi, ()") + ["Es", "Ad", "Pr", "GSVa", "Esi", "C4", ","])


@settings(max_examples=400, deadline=None)
@given(st.lists(ALPHABET, max_size=12).map("".join))
def test_no_ceap_like_string_crashes_the_parser(text):
    try:
        c = parse(text)
    except CeapError as e:
        assert e.col >= 1
    else:
        assert parse(c.basic).top == c.top  # the basic form parses back to the same clinical class


# The fast path (a regular expression for the spaced 2020 form) and the scanner give the same answer: the same
# Ceap, or the same error with the same column. Strings are built from valid and near-valid pieces so that both
# the taken and the declined cases are common.
_PIECES = ["C", "c", "0", "1", "2", "2r", "3", "4", "4a", "4b", "4c", "4d", "5", "6", "6r", "7", ",", ",s", ",a",
           "s", " ", "  ", " E", "p", "s", "si", "se", "c", "n", " A", "d", " P", "r", "o", "GSVa", "CPV", "AASV",
           "EIV", "Tel", "12", "18", "19", "0", "(2020-01-01; L2)", "x", "\t", "Pr", "Ep", "As"]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=14))
def test_fast_path_agrees_with_the_scanner(pieces):
    from vascular_cli.ceap import _scan

    text = "C" + "".join(pieces)
    raw = " ".join(text.split())

    def outcome(f, s):
        try:
            return f(s)
        except CeapError as e:
            return str(e), e.col

    assert outcome(parse, text) == outcome(_scan, raw)


@pytest.mark.parametrize("text", ["C2,4a,5,s Ep As,p Pr GSVa,GSVb,CPV", "C6,s Es Ad Pr,o", "C4a Ep,s As Pr,o TIBV,IVC",
                                  "C1,4a,6r,a Es Ap,d,s Pr,o POPV,GSVb", "C3 Esi,c An Pn 1,18", "C0"])
def test_fast_path_takes_the_usual_forms(text):
    from vascular_cli.ceap import _FAST, _fast

    m = _FAST.fullmatch(text)
    assert m is not None and _fast(text, m) is not None
