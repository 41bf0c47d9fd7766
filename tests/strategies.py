"""Hypothesis strategies shared by the batch-matcher property tests: profile documents over the bundled vocabulary."""

from hypothesis import strategies as st

import vascular_cli

KB = vascular_cli.load()
LESIONS = sorted(KB.vocabulary.terms["lesion"])
FACTORS = sorted(KB.vocabulary.terms["factor"])
CEAP = ["C0", "C1", "C2", "C2r", "C2,s", "C2,a Ep", "C3", "C3 Ep As Pr", "C4", "C4a", "C4b", "C4c", "C5", "C6",
        "C6r", "C6,s Es Ad Pr,o", "C6 Esi", "C2,4a,5"]


def profiles(max_factors: int = 6) -> st.SearchStrategy:
    """Profile documents: any subset of the fields, with terms from the bundled vocabulary."""
    return st.fixed_dictionaries({}, optional={
        "ceap": st.sampled_from(CEAP),
        "lesion": st.lists(st.sampled_from(LESIONS), max_size=3),
        "bleeding_risk": st.sampled_from(["low", "moderate", "high"]),
        "severity": st.sampled_from(["mild", "moderate", "severe"]),
        "symptom_days": st.integers(0, 400),
        "abi": st.floats(0, 3, allow_nan=False),
        "ankle_pressure": st.integers(0, 200),
        "toe_pressure": st.integers(0, 200),
        "factors": st.dictionaries(st.sampled_from(FACTORS), st.booleans(), max_size=max_factors),
    })
