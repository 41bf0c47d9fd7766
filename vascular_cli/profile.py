"""Patient profiles: from CLI options or a YAML/JSON document to a normalised :class:`Profile`.

Nothing is clamped, guessed or dropped: an unknown key, term or out-of-range value is an :class:`InputError` that
names the value and the valid choices.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from . import ceap as ceap_parser
from . import fields
from .errors import InputError
from .model import Profile
from .suggest import did_you_mean
from .vocab import Vocabulary

FIELDS = fields.KEYS
RANGES = fields.RANGES
YES = {"yes": True, "true": True, "y": True, "1": True, "no": False, "false": False, "n": False, "0": False}


def parse_factor(text: str, vocab: Vocabulary, field: str = "factors") -> tuple[str, bool]:
    """'malignancy' | 'malignancy=yes' | 'malignancy=no' -> (canonical name, value)."""
    if not isinstance(text, str) or not text.strip():
        raise InputError("empty factor (expected NAME, NAME=yes or NAME=no)", field=field, value=text)
    name, sep, val = text.strip().partition("=")
    name = name.strip()
    value = True
    if sep:
        value = _yes_no(val, field, text)
    canon = vocab.resolve("factor", name)
    if canon is None:
        raise InputError(vocab.unknown_message("factor", name), field=field, value=name, kind="factor",
                         valid=vocab.names("factor"))
    return canon, value


def _yes_no(val: Any, field: str, text: Any) -> bool:
    if isinstance(val, bool):
        return val
    if isinstance(val, str) and val.strip().lower() in YES:
        return YES[val.strip().lower()]
    raise InputError(f"{text!r} has value {val!r} (valid: yes, no)", field=field, value=val, valid=("yes", "no"))


def _term(vocab: Vocabulary, kind: str, word: Any, field: str) -> str:
    if not isinstance(word, str):
        raise InputError(f"expected a {kind} name, got {word!r}", field=field, value=word, kind=kind)
    canon = vocab.resolve(kind, word.strip())
    if canon is None:
        names = vocab.names(kind)
        shown = f" (valid: {', '.join(names)})" if len(names) <= 8 else ""
        raise InputError(vocab.unknown_message(kind, word) + shown, field=field, value=word, kind=kind, valid=names)
    return canon


def _number(value: Any, name: str, integer: bool = False, document: bool = False) -> Any:
    lo, hi = RANGES[name]
    shown = value
    whole = "a whole number" if integer else "a number"
    if isinstance(value, str) and document:  # a document writes a number as a number, in YAML and JSON alike
        try:
            float(value)
            hint = f" (write it without quotes: {name}: {value.strip()})"
        except ValueError:
            hint = ""
        raise InputError(f"expected {whole}, got the string {value!r}{hint}", field=name, value=shown)
    if isinstance(value, str):  # an option's text
        try:
            value = float(value.strip())
        except ValueError:
            raise InputError(f"{shown!r} is not a number", field=name, value=shown) from None
        if integer and value.is_integer():
            value = int(value)
    if isinstance(value, bool):
        raise InputError(f"expected {whole}, got a yes/no value", field=name, value=shown)
    if not isinstance(value, (int, float)) or (integer and isinstance(value, float) and not value.is_integer()):
        raise InputError(f"expected {whole}, got {value!r}", field=name, value=shown)
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{value!r} is not a finite number", field=name, value=shown)
    if not lo <= value <= hi:
        raise InputError(f"{shown} is outside the valid range {lo:g}-{hi:g}", field=name, value=shown)
    return int(value) if integer else float(value)


def parse_factors(vocab: Vocabulary, factors: Any) -> dict[str, bool]:
    """The ``factors`` value of a profile (a list of NAME, NAME=yes|no or a mapping NAME: yes/no/true/false) ->
    {canonical name: value}, as given (nothing implied yet)."""
    if isinstance(factors, dict):
        pairs = []
        for k, v in factors.items():
            if isinstance(v, int) and not isinstance(v, bool):  # 0/1, as the list form's NAME=0 / NAME=1
                v = str(v)
            if not isinstance(v, (bool, str)):
                raise InputError(f"{k!r} must be yes or no, got {v!r}", field="factors", value=v, valid=("yes", "no"))
            pairs.append((parse_factor(str(k), vocab)[0], _yes_no(v, "factors", k)))
    elif isinstance(factors, list):
        pairs = [parse_factor(x if isinstance(x, str) else repr(x), vocab) for x in factors]
    else:
        raise InputError(f"expected a list or a mapping, got {factors!r}", field="factors", value=factors)
    fac: dict[str, bool] = {}
    for name, value in pairs:
        if fac.get(name, value) != value:
            raise InputError(f"{name!r} is given both as yes and as no", field="factors", value=name)
        fac[name] = value
    return fac


def merge_factors(vocab: Vocabulary, base: Any, override: Any) -> list[str]:
    """Two ``factors`` values merged, ``override`` winning for a factor both name (front ends: defaults and a
    document, a document and options). Raises InputError for an invalid value."""
    merged = {**parse_factors(vocab, base), **parse_factors(vocab, override)}
    return [f"{k}={'yes' if v else 'no'}" for k, v in merged.items()]


class ImplicationReads(NamedTuple):
    """What derive_factors reads of a profile, from the declared implications (the batch paths key their memos on
    it): the factors it reads or can set (with what setting them implies), the factors whose presence can make one
    hold, per implication the lesion terms that meet its lesion condition (empty: none), and whether one needs
    neither a lesion nor a factor."""

    factors: frozenset
    triggers: frozenset
    covers: tuple[frozenset, ...]
    always: bool


def implication_reads(vocab: Vocabulary) -> ImplicationReads:
    imps = vocab.implications
    return ImplicationReads(
        factors=frozenset([n for i in imps for n in (*i.factors, i.implies)]
                          + [n for i in imps for n in vocab.implied_factors({i.implies: True})]),
        triggers=frozenset(f for i in imps for f in i.factors),
        covers=tuple((i.covers or vocab.expand("lesion", i.lesion)) if i.lesion else frozenset() for i in imps),
        always=any(not i.lesion and not i.factors for i in imps))


def derive_factors(vocab: Vocabulary, factors: Mapping[str, bool], lesions: tuple[str, ...] | None,
                   symptom_days: Any, closed: bool = False) -> tuple[dict[str, bool], tuple[tuple[str, str], ...]]:
    """The factors a profile states plus what they imply: the vocabulary's broader/excludes closure and its
    declared implications (definitional only, each with its reason). Returns (factors, ((fact, reason), ...)).
    One rule for every path (profile.build and the batch fast path; ``closed``: the given factors are already
    closed under broader/excludes). Raises InputError on a contradiction."""
    fac = dict(factors)
    implied: list[tuple[str, str]] = []
    new: list[str] | None = [] if closed else None  # None: propagate from every factor
    for _ in range(1 + len(vocab.implications)):
        if new is None or new:
            try:
                fac.update(vocab.implied_factors(fac, start=new))
            except ValueError as e:
                raise InputError(str(e), field="factors") from None
        new = []
        for imp in vocab.implications:
            if not imp.holds(fac, lesions, symptom_days, vocab):
                continue
            current = fac.get(imp.implies)
            if current is False:
                raise InputError(f"{imp.implies}=no contradicts the profile: {imp.reason}", field="factors",
                                 value=imp.implies)
            if current is None:
                fac[imp.implies] = True
                implied.append((imp.implies, imp.reason))
                new.append(imp.implies)
        if not new:
            break
    return dict(sorted(fac.items())), tuple(sorted(implied))


def build(vocab: Vocabulary, *, prefix: str = "", document: bool = False, **values: Any) -> Profile:
    """Validate and normalise raw values (from a document or a front end's options), keyed by document key
    (fields.KEYS). Errors are InputError with the field (document key), the value and the valid values;
    ``prefix`` locates them (e.g. 'profile.yaml: '). ``document``: values come from a parsed document, where a
    number must be written as a number (an option's text is parsed)."""
    try:
        return _build(vocab, values, document)
    except InputError as e:
        if prefix:
            raise e.located(prefix) from None
        raise


def _build(vocab: Vocabulary, values: dict, document: bool = False) -> Profile:
    out: dict = {}
    for key in values:
        if key not in fields.BY_KEY:
            raise TypeError(f"build() got an unexpected profile field {key!r}")
    fac: dict[str, bool] = {}
    for f in fields.FIELDS:
        raw = values.get(f.key)
        if raw is None:
            continue
        if f.kind == "ceap":
            if not isinstance(raw, str):
                raise InputError(f"expected a CEAP string such as 'C6' or 'C6,s Es Ad Pr,o', got {raw!r}",
                                 field="ceap", value=raw)
            try:
                out["ceap"] = ceap_parser.parse(raw)
            except ceap_parser.CeapError as e:
                raise InputError(f"{e} (at column {e.col} of {raw!r})", field="ceap", value=raw) from None
        elif f.kind == "lesion":
            items = [raw] if isinstance(raw, str) else raw
            if not isinstance(items, list):
                raise InputError(f"expected a lesion name or a list of them, got {raw!r}", field="lesion", value=raw)
            out[f.attr] = tuple(sorted({_term(vocab, "lesion", x, "lesion") for x in items}))
        elif f.kind == "factors":
            fac = parse_factors(vocab, raw)
        elif f.kind == "choice":
            out[f.attr] = _term(vocab, f.vocab or "", raw, f.key)
        elif f.kind == "number":
            out[f.attr] = _number(raw, f.key, f.integer, document)
        elif f.kind == "id":
            if not isinstance(raw, (str, int)):
                raise InputError(f"expected a string, got {raw!r}", field="id", value=raw)
            out["id"] = str(raw)
    parsed_ceap = out.get("ceap")
    if parsed_ceap is not None and parsed_ceap.modifier is not None:
        implied = parsed_ceap.modifier == "s"
        if fac.get("symptomatic", implied) != implied:
            raise InputError(f"CEAP modifier ',{parsed_ceap.modifier}' contradicts factor "
                             f"symptomatic={'yes' if fac['symptomatic'] else 'no'}", field="ceap",
                             value=values.get("ceap"))
        fac["symptomatic"] = implied
    out["factors"], out["implied"] = derive_factors(vocab, fac, out.get("lesions"), out.get("symptom_days"))
    return Profile(**out)


def from_mapping(vocab: Vocabulary, doc: Any, prefix: str = "") -> Profile:
    """A profile document (already parsed) -> Profile. Unknown keys are an error, not ignored."""
    if not isinstance(doc, dict):
        kind = "a list" if isinstance(doc, list) else type(doc).__name__
        raise InputError(f"profile must be a mapping of {', '.join(FIELDS)}, got {kind}", prefix=prefix, value=doc)
    for k in doc:
        if k not in FIELDS:
            raise InputError(f"unknown profile key {k!r}{did_you_mean(str(k), FIELDS)} (valid: {', '.join(FIELDS)})",
                             prefix=prefix, value=k, valid=FIELDS)
    return build(vocab, prefix=prefix, document=True, **{k: doc[k] for k in doc if doc[k] is not None})


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


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = {}
    for k, v in pairs:
        if k in out:
            raise DuplicateKey(k)
        out[k] = v
    return out


def loads_json(text: str) -> Any:
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
