"""Patient profiles: from CLI options or a YAML/JSON document to a normalised :class:`Profile`.

Nothing is clamped, guessed or dropped: an unknown key, term or out-of-range value is an :class:`InputError` that
names the value and the valid choices.
"""

from __future__ import annotations

import json
import math

from . import ceap as ceap_parser
from .errors import InputError
from .model import Profile
from .suggest import did_you_mean
from .vocab import Vocabulary

FIELDS = ("id", "ceap", "lesion", "bleeding_risk", "severity", "symptom_days", "factors", "abi", "ankle_pressure",
          "toe_pressure")
RANGES = {"symptom_days": (0, 36500), "abi": (0.0, 3.0), "ankle_pressure": (0.0, 400.0), "toe_pressure": (0.0, 400.0)}
YES = {"yes": True, "true": True, "y": True, "1": True, "no": False, "false": False, "n": False, "0": False}


def parse_factor(text: str, vocab: Vocabulary, where: str = "--factor") -> tuple[str, bool]:
    """'malignancy' | 'malignancy=yes' | 'malignancy=no' -> (canonical name, value)."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{where}: empty factor (expected NAME, NAME=yes or NAME=no)")
    name, sep, val = text.strip().partition("=")
    name = name.strip()
    value = True
    if sep:
        if val.strip().lower() not in YES:
            raise InputError(f"{where}: {text!r} has value {val!r}{did_you_mean(val.strip().lower(), YES)} "
                             "(valid: yes, no)")
        value = YES[val.strip().lower()]
    canon = vocab.resolve("factor", name)
    if canon is None:
        raise InputError(f"{where}: {vocab.unknown_message('factor', name)}; see 'vascular vocab factor'")
    return canon, value


def _term(vocab: Vocabulary, kind: str, word, where: str) -> str:
    if not isinstance(word, str):
        raise InputError(f"{where}: expected a {kind} name, got {word!r}")
    canon = vocab.resolve(kind, word.strip())
    if canon is None:
        names = vocab.names(kind)
        valid = ", ".join(names) if 0 < len(names) <= 8 else f"see 'vascular vocab {kind}'" if names else "none defined"
        raise InputError(f"{where}: {vocab.unknown_message(kind, word)} (valid: {valid})")
    return canon


def _number(value, name: str, where: str, integer: bool = False, cli: bool = True):
    lo, hi = RANGES[name]
    shown = value
    if isinstance(value, str) and not cli:  # documents: a number is written as a number, as in YAML and JSON alike
        try:
            float(value)
            hint = f" (write it without quotes: {where.rsplit(': ', 1)[-1]}: {value.strip()})"
        except ValueError:
            hint = ""
        raise InputError(f"{where}: expected {'a whole number' if integer else 'a number'}, got the string "
                         f"{value!r}{hint}")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise InputError(f"{where}: {shown!r} is not a number") from None
        if integer and value.is_integer():
            value = int(value)
    if isinstance(value, bool):
        raise InputError(f"{where}: expected {'a whole number' if integer else 'a number'}, got a yes/no value")
    if not isinstance(value, (int, float)) or (integer and isinstance(value, float)
                                                                         and not value.is_integer()):
        raise InputError(f"{where}: expected {'a whole number' if integer else 'a number'}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{where}: {value!r} is not a finite number")
    if not lo <= value <= hi:
        raise InputError(f"{where}: {shown} is outside the valid range {lo:g}-{hi:g}")
    return int(value) if integer else float(value)


def build(vocab: Vocabulary, *, ceap=None, lesion=None, bleeding_risk=None, severity=None, symptom_days=None,
          factors=None, abi=None, ankle_pressure=None, toe_pressure=None, id=None, prefix: str = "",
          cli: bool = False) -> Profile:
    """Validate and normalise raw values (from options or a document). Errors name the CLI option (``cli``) or
    the document key, after ``prefix`` (e.g. 'profile.yaml: ')."""

    def where(key: str) -> str:
        if cli:
            return "--factor" if key == "factors" else "--" + key.replace("_", "-")
        return f"{prefix}{key}"

    parsed_ceap = None
    if ceap is not None:
        if not isinstance(ceap, str):
            raise InputError(f"{where('ceap')}: expected a CEAP string such as 'C6' or 'C6,s Es Ad Pr,o', got {ceap!r}")
        try:
            parsed_ceap = ceap_parser.parse(ceap)
        except ceap_parser.CeapError as e:
            raise InputError(f"{where('ceap')}: {e} (at column {e.col} of {ceap!r})") from None
    lesions = None
    if lesion is not None:
        items = [lesion] if isinstance(lesion, str) else lesion
        if not isinstance(items, list):
            raise InputError(f"{where('lesion')}: expected a lesion name or a list of them, got {lesion!r}")
        lesions = tuple(sorted({_term(vocab, "lesion", x, where("lesion")) for x in items}))
    fac: dict[str, bool] = {}
    if factors is not None:
        if isinstance(factors, dict):
            pairs = []
            for k, v in factors.items():
                word = str(v).strip().lower() if isinstance(v, (str, int)) and not isinstance(v, bool) else None
                if not isinstance(v, bool) and word not in YES:
                    raise InputError(f"{where('factors')}: {k!r} has value {v!r} (valid: yes, no, true, false)")
                pairs.append((parse_factor(str(k), vocab, where("factors"))[0], v if isinstance(v, bool) else YES[word]))
        elif isinstance(factors, list):
            pairs = [parse_factor(x if isinstance(x, str) else repr(x), vocab, where("factors")) for x in factors]
        else:
            raise InputError(f"{where('factors')}: expected a list or a mapping, got {factors!r}")
        for name, value in pairs:
            if fac.get(name, value) != value:
                raise InputError(f"{where('factors')}: {name!r} is given both as yes and as no")
            fac[name] = value
    if parsed_ceap is not None and parsed_ceap.modifier is not None:
        implied = parsed_ceap.modifier == "s"
        if fac.get("symptomatic", implied) != implied:
            raise InputError(f"{where('ceap')}: CEAP modifier ',{parsed_ceap.modifier}' contradicts factor "
                             f"symptomatic={'yes' if fac['symptomatic'] else 'no'}")
        fac["symptomatic"] = implied
    try:
        fac.update(vocab.implied_factors(fac))
    except ValueError as e:
        raise InputError(f"{where('factors')}: {e}") from None
    if id is not None and not isinstance(id, (str, int)):
        raise InputError(f"{where('id')}: expected a string, got {id!r}")
    return Profile(
        ceap=parsed_ceap, lesions=lesions,
        bleeding_risk=None if bleeding_risk is None else _term(vocab, "bleeding-risk", bleeding_risk, where("bleeding_risk")),
        severity=None if severity is None else _term(vocab, "severity", severity, where("severity")),
        symptom_days=None if symptom_days is None else _number(symptom_days, "symptom_days", where("symptom_days"), True, cli),
        factors=dict(sorted(fac.items())),
        abi=None if abi is None else _number(abi, "abi", where("abi"), cli=cli),
        ankle_pressure=None if ankle_pressure is None else _number(ankle_pressure, "ankle_pressure", where("ankle_pressure"), cli=cli),
        toe_pressure=None if toe_pressure is None else _number(toe_pressure, "toe_pressure", where("toe_pressure"), cli=cli),
        id=None if id is None else str(id),
    )


def from_mapping(vocab: Vocabulary, doc, prefix: str = "") -> Profile:
    """A profile document (already parsed) -> Profile. Unknown keys are an error, not ignored."""
    if not isinstance(doc, dict):
        kind = "a list" if isinstance(doc, list) else type(doc).__name__
        raise InputError(f"{prefix}profile must be a mapping of {', '.join(FIELDS)}, got {kind}")
    for k in doc:
        if k not in FIELDS:
            raise InputError(f"{prefix}unknown profile key {k!r}{did_you_mean(str(k), FIELDS)} (valid: {', '.join(FIELDS)})")
    return build(vocab, prefix=prefix, **{k: doc[k] for k in doc if doc[k] is not None})


class DuplicateKey(ValueError):
    """A JSON object with the same key twice (json keeps the last one silently; YAML input refuses it too)."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key
        self.first = (1, 1)

    def position(self, text: str) -> tuple[int, int]:
        """(line, column) of the second occurrence of the key; ``first`` gets the first one."""
        import re

        spots = [m.start() for m in re.finditer(re.escape(json.dumps(self.key)) + r"\s*:", text)] or [0]
        at = [(text.count("\n", 0, i) + 1, i - (text.rfind("\n", 0, i) + 1) + 1) for i in spots]
        self.first = at[0]
        return at[1] if len(at) > 1 else at[0]


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise DuplicateKey(k)
        out[k] = v
    return out


def loads_json(text: str):
    """json.loads that refuses duplicate keys (DuplicateKey)."""
    return json.loads(text, object_pairs_hook=_no_duplicates)


def parse_text(vocab: Vocabulary, text: str, name: str = "profile") -> dict:
    """Profile file contents (YAML or JSON) -> a mapping, with safe YAML rules."""
    from .yamlio import YAMLProblem, loads

    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            doc = loads_json(text)
        except json.JSONDecodeError as e:
            raise InputError(f"{name}:{e.lineno}:{e.colno}: invalid JSON: {e.msg}") from None
        except DuplicateKey as e:
            line, col = e.position(text)
            raise InputError(f"{name}:{line}:{col}: duplicate key {e.key!r} (first defined at line {e.first[0]}, "
                             f"column {e.first[1]})") from None
        return doc
    try:
        doc = loads(text)
    except YAMLProblem as e:
        raise InputError(f"{name}:{e.line}:{e.col}: {e.message}") from None
    if doc is None:
        raise InputError(f"{name}: the profile is empty")
    return doc
