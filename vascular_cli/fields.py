"""Every profile field, declared once.

Each declaration says what the field is (its document key and Profile attribute), how a value is read (a vocabulary
kind, or a numeric range and whether it is whole), which criteria read it, how it reads in output (label, unit) and
which command-line option supplies it. The profile parser, the criteria compiler, the file-format schema, the
checks, the batch index, the output and the CLI are driven by this table: a new simple field (a choice from the
vocabulary, or a number in a range) is one entry here, one Profile attribute, and its tests.
"""

from __future__ import annotations

from typing import NamedTuple


class Field(NamedTuple):
    key: str  # document key and criterion key
    attr: str  # Profile attribute
    kind: str  # ceap | lesion | factors | choice | number | id
    label: str  # as read in output: "symptom days", "ABI"
    option: str  # the CLI option that supplies it
    metavar: str  # the option's value, also used in "ask next"
    help: str  # the option's help
    vocab: str | None = None  # choice: the vocabulary kind of its terms
    range: tuple[float, float] | None = None  # number: valid values, inclusive
    integer: bool = False  # number: whole numbers only
    unit: str = ""  # number: unit shown after values (" days", " mm Hg")
    small: bool = False  # few distinct values in practice (the batch index groups such criteria together)


FIELDS: tuple[Field, ...] = (
    Field("id", "id", "id", "id", "", "", "Profile id, echoed in batch output."),
    Field("ceap", "ceap", "ceap", "CEAP", "--ceap", "CEAP",
          "CEAP class (C6) or full CEAP 2020 string ('C6,s Es Ad Pr,o')."),
    Field("lesion", "lesions", "lesion", "lesions", "--lesion", "LESION",
          "Lesion or finding (repeatable); see 'vascular vocab lesion'."),
    Field("bleeding_risk", "bleeding_risk", "choice", "bleeding risk", "--bleeding-risk", "low|moderate|high",
          "low, moderate or high (CHEST 2016 categories).", vocab="bleeding-risk", small=True),
    Field("severity", "severity", "choice", "severity", "--severity", "mild|moderate|severe",
          "Symptom severity: mild, moderate or severe.", vocab="severity", small=True),
    Field("symptom_days", "symptom_days", "number", "symptom days", "--symptom-days", "DAYS",
          "Duration of the current episode's symptoms, days.", range=(0, 36500), integer=True, unit=" days",
          small=True),
    Field("factors", "factors", "factors", "factors", "--factor", "NAME[=yes|no]",
          "Clinical yes/no fact (repeatable); see 'vascular vocab factor'."),
    Field("abi", "abi", "number", "ABI", "--abi", "ABI", "Ankle-brachial index (0-3).", range=(0.0, 3.0), small=True),
    Field("ankle_pressure", "ankle_pressure", "number", "ankle pressure", "--ankle-pressure", "MMHG",
          "Ankle systolic pressure, mm Hg.", range=(0.0, 400.0), unit=" mm Hg", small=True),
    Field("toe_pressure", "toe_pressure", "number", "toe pressure", "--toe-pressure", "MMHG",
          "Toe pressure, mm Hg.", range=(0.0, 400.0), unit=" mm Hg", small=True),
    Field("pregnancy_trimester", "pregnancy_trimester", "number", "pregnancy trimester", "--pregnancy-trimester",
          "1|2|3", "Trimester of a current pregnancy (1-3).", range=(1, 3), integer=True, small=True),
)

BY_KEY = {f.key: f for f in FIELDS}
KEYS = tuple(f.key for f in FIELDS)  # the keys of a profile document
CHOICE = tuple(f.key for f in FIELDS if f.kind == "choice")
NUMERIC = tuple(f.key for f in FIELDS if f.kind == "number")
RANGES = {f.key: f.range for f in FIELDS if f.range is not None}
SMALL = tuple(sorted(f.key for f in FIELDS if f.small))
# Facts the engine reports that are not fields themselves: the CEAP etiology (the E part of --ceap)
EXTRA_FACTS = {"etiology": ("--ceap with the E part (e.g. 'C3 Ep')", "")}


_PLAIN = {f.key: (f.range[0], f.range[1], f.integer) for f in FIELDS if f.range is not None}


def plain_number(key: str, raw: object) -> float | int | None:
    """A JSON value that is plainly valid for a numeric field (the batch fast path's reading: no strings, no
    coercion), or None when the full parser must read it (and name the error). The same rule as profile._number
    for these values: a whole number for an integer field, a finite number otherwise, within the range."""
    lo, hi, integer = _PLAIN[key]
    if type(raw) is int:
        return (raw if integer else float(raw)) if lo <= raw <= hi else None
    if type(raw) is float and not integer and lo <= raw <= hi:  # NaN fails the comparison
        return raw
    return None
