"""The guideline file format, declared once.

The same declarations drive structural validation (unknown/missing fields, wrong types, with positions) and the
JSON Schema printed by ``vascular schema``, so the two cannot drift.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .fields import CHOICE, NUMERIC
from .model import CERTAINTY
from .yamlio import YMap, YSeq, key_mark, value_mark

ID = r"^[a-z0-9][a-z0-9-]*$"
TERM = r"^[a-z0-9][a-z0-9-]*$"
REC_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


@dataclass(kw_only=True)
class Spec:
    nullable: bool = False
    doc: str = ""


@dataclass
class Str(Spec):
    pattern: str | None = None
    enum: tuple[str, ...] | None = None


@dataclass
class Int(Spec):
    min: int | None = None
    max: int | None = None


@dataclass
class Num(Spec):
    min: float | None = None
    max: float | None = None


@dataclass
class Bool(Spec):
    pass


@dataclass
class Seq(Spec):
    item: Spec = field(default_factory=Str)
    min_items: int = 0


@dataclass
class Map(Spec):
    fields: dict[str, Spec] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    values: Spec | None = None  # for free-form keys (vocabulary terms, sources)
    key_pattern: str | None = None
    min_fields: int = 0


@dataclass
class OneOf(Spec):
    """A list form or a mapping form of the same thing (e.g. ``ceap: [C5, C6]`` or ``ceap: {min: C3}``)."""

    seq: Seq | None = None
    map: Map | None = None
    scalar: Spec | None = None


# ----------------------------------------------------------------------------------------------------------------
RANGE = Map(fields={k: Num() for k in ("min", "max", "below", "above")}, min_fields=1,
            doc="min/max inclusive, below/above exclusive")
TERMS = Seq(Str(pattern=TERM), min_items=1)
SET_FORM = Map(fields={k: TERMS for k in ("any", "all", "none")}, min_fields=1)
CEAP_CLASS = Str(pattern=r"^C[0-9]+[a-z]?$")


def _criteria(nested: bool) -> Map:
    fields: dict[str, Spec] = {
        "ceap": OneOf(seq=Seq(CEAP_CLASS, min_items=1),
                      map=Map(fields={"min": CEAP_CLASS, "max": CEAP_CLASS}, min_fields=1)),
        "etiology": Seq(Str(pattern=r"^E[a-z]+$"), min_items=1),
        "lesion": OneOf(seq=TERMS, map=SET_FORM),
        "factors": SET_FORM,
    }
    for key in CHOICE:  # the simple profile fields, declared in fields.py
        fields[key] = Seq(Str(pattern=TERM), min_items=1)
    for key in NUMERIC:
        fields[key] = RANGE
    if nested:
        fields["any_of"] = Seq(_criteria(False), min_items=2)
    return Map(fields=fields)


CRITERIA = _criteria(True)

RECOMMENDATION = Map(
    required=("id", "locator", "statement", "action", "direction", "strength", "evidence", "certainty", "when",
              "number", "number_verified"),
    fields={
        "id": Str(pattern=REC_ID),
        "kind": Str(enum=("recommendation", "practice", "scope")),
        "alias": Str(),
        "number": Str(nullable=True),
        "number_verified": Bool(),
        "number_basis": Str(),
        "locator": Str(),
        "statement": Str(),
        "wording": Str(),
        "goal": Str(),
        "action": Str(pattern=TERM),
        "direction": Str(enum=("for", "against"), nullable=True),
        "strength": Str(nullable=True),
        "evidence": Str(nullable=True),
        "rating": Int(min=1, max=9, nullable=True),
        "rrl": Str(nullable=True),
        "grade_conflict": Map(fields={"strength": Str(), "evidence": Str(), "rating": Int(min=1, max=9),
                                      "source": Str()}, required=("source",), nullable=True),
        "certainty": Str(enum=CERTAINTY),
        "uncertain": Str(nullable=True),
        "source": Str(),
        "source_reliability": Str(),
        "when": CRITERIA,
        "note": Str(nullable=True),
        "provenance": Str(nullable=True),
        "examples": Map(fields={"applies": Seq(Map(values=None, fields={}), min_items=0),
                                "not_applicable": Seq(Map(values=None, fields={}), min_items=0),
                                "possible": Seq(Map(values=None, fields={}), min_items=0)}),
    },
)

GUIDELINE_FILE = Map(
    required=("schema_version", "guideline", "recommendations"),
    fields={
        "schema_version": Int(min=1, max=1),
        "guideline": Map(
            required=("id", "body", "title", "year", "citation", "doi", "grading", "status"),
            fields={
                "id": Str(pattern=ID), "body": Str(), "title": Str(), "year": Int(min=1900, max=2100),
                "citation": Str(), "doi": Str(nullable=True, pattern=r"^10\.\d{4,9}/\S+$"),
                "pmid": Str(nullable=True, pattern=r"^\d+$"), "url": Str(nullable=True),
                "grading": Str(pattern=ID), "status": Str(enum=("active", "superseded", "retired")),
                "superseded_by": Str(nullable=True, pattern=ID), "supersedes": Str(nullable=True, pattern=ID),
                "sources": Map(values=Str()), "note": Str(nullable=True), "scope": Str(),
                "left_out": Seq(Map(required=("records", "reason"), fields={"records": Str(), "reason": Str()})),
            }),
        "recommendations": Seq(RECOMMENDATION, min_items=1),
    },
)

TERM_SPEC = Map(required=("definition",), fields={
    "definition": Str(), "aliases": Seq(Str(pattern=TERM)),
    "broader": OneOf(seq=Seq(Str(pattern=TERM)), scalar=Str(pattern=TERM)),
    "excludes": Seq(Str(pattern=TERM), min_items=1)})
IMPLICATION = Map(required=("when", "implies", "reason"), fields={
    "when": Map(fields={"lesion": Seq(Str(pattern=TERM), min_items=1), "given": Seq(Str(enum=("symptom_days",)),
                                                                                    min_items=1),
                        "factors": Seq(Str(pattern=TERM), min_items=1)}, min_fields=1),
    "implies": Str(pattern=TERM, doc="the factor set to yes"),
    "reason": Str(doc="why this follows from the definitions (no clinical judgement)")})
VOCABULARY_FILE = Map(required=("schema_version", "vocabulary"), fields={
    "schema_version": Int(min=1, max=1),
    "implications": Seq(IMPLICATION, doc="facts implied by facts, by definition"),
    "vocabulary": Map(fields={k: Map(values=TERM_SPEC, key_pattern=TERM) for k in
                              ("lesion", "factor", "action", "bleeding-risk", "severity")}),
})
GRADE_CODE = Map(required=("label", "meaning"), fields={
    "label": Str(), "meaning": Str(), "common": Str(enum=("strong", "conditional", "weak")),
    "direction": Str(enum=("for", "against")), "ratings": Seq(Int(min=1, max=9))})
GRADING_FILE = Map(required=("schema_version", "grading"), fields={
    "schema_version": Int(min=1, max=1),
    "grading": Map(key_pattern=ID, values=Map(
        required=("name", "display", "ungraded", "strength", "evidence"),
        fields={"name": Str(), "source": Str(), "display": Str(), "ungraded": Str(),
                "rating": Map(fields={"min": Int(), "max": Int()}, required=("min", "max")),
                "strength": Map(values=GRADE_CODE), "evidence": Map(values=GRADE_CODE)})),
})


# ----------------------------------------------------------------------------------------------------------------
def _type_name(v: Any) -> str:
    if v is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", YMap: "mapping", YSeq: "list",
            dict: "mapping", list: "list"}.get(type(v), type(v).__name__)


def _quote_hint(value: Any) -> str:
    """A hint for a scalar YAML read as a number or a boolean where a string is expected."""
    if isinstance(value, bool):
        return " (put it in quotes: YAML reads unquoted yes/no/true/false/on/off as a boolean)"
    if isinstance(value, int):
        return f' (write it in quotes: "{value}")'
    if isinstance(value, float):
        return " (write it in quotes, exactly as the source writes it: YAML reads it as a number, e.g. 6.10 as 6.1)"
    return ""


def check(value: Any, spec: Spec, where: Any, path: str, out: list) -> None:
    """Append ``(code, message, Mark)`` for every structural problem of ``value`` against ``spec``.

    ``where`` is a callable returning the Mark of ``value``.
    """
    if value is None:
        if not spec.nullable:
            out.append(("VG005", f"{path}: a value is required here (got null)", where()))
        return
    if isinstance(spec, OneOf):
        if isinstance(value, list) and spec.seq is not None:
            return check(value, spec.seq, where, path, out)
        if isinstance(value, dict) and spec.map is not None:
            return check(value, spec.map, where, path, out)
        if not isinstance(value, (list, dict)) and spec.scalar is not None:
            return check(value, spec.scalar, where, path, out)
        forms = " or ".join(f for f, s in (("a list", spec.seq), ("a mapping", spec.map), ("a string", spec.scalar))
                            if s is not None)
        out.append(("VG005", f"{path}: expected {forms}, got {_type_name(value)}", where()))
        return
    if isinstance(spec, Str):
        if not isinstance(value, str):
            out.append(("VG005", f"{path}: expected a string, got {_type_name(value)} {value!r}{_quote_hint(value)}",
                        where()))
        elif not value.strip():
            out.append(("VG005", f"{path}: must not be empty", where()))
        elif spec.enum and value not in spec.enum:
            from .suggest import did_you_mean

            out.append(("VG005", f"{path}: {value!r} is not one of {', '.join(spec.enum)}"
                                 f"{did_you_mean(value, spec.enum)}", where()))
        elif spec.pattern and not re.match(spec.pattern, value):
            out.append(("VG005", f"{path}: {value!r} does not match the pattern {spec.pattern}", where()))
        return
    if isinstance(spec, Bool):
        if not isinstance(value, bool):
            out.append(("VG005", f"{path}: expected true or false, got {_type_name(value)} {value!r}", where()))
        return
    if isinstance(spec, (Int, Num)):
        ok = isinstance(value, int) if isinstance(spec, Int) else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok:
            want = "an integer" if isinstance(spec, Int) else "a number"
            out.append(("VG005", f"{path}: expected {want}, got {_type_name(value)} {value!r}", where()))
        elif (spec.min is not None and value < spec.min) or (spec.max is not None and value > spec.max):
            out.append(("VG005", f"{path}: {value} is outside {spec.min}..{spec.max}", where()))
        return
    if isinstance(spec, Seq):
        if not isinstance(value, list):
            out.append(("VG005", f"{path}: expected a list, got {_type_name(value)} {value!r}", where()))
            return
        if len(value) < spec.min_items:
            out.append(("VG005", f"{path}: needs at least {spec.min_items} item(s)", where()))
        for i, item in enumerate(value):
            check(item, spec.item, lambda i=i: value_mark(value, i), f"{path}[{i}]", out)
        return
    if isinstance(spec, Map):
        if not isinstance(value, dict):
            out.append(("VG005", f"{path}: expected a mapping, got {_type_name(value)} {value!r}", where()))
            return
        for name in spec.required:
            if name not in value:
                out.append(("VG004", f"{path}: missing required field {name!r}", where()))
        if len(value) < spec.min_fields:
            out.append(("VG005", f"{path}: needs at least {spec.min_fields} of {', '.join(spec.fields)}", where()))
        for k, v in value.items():
            sub = f"{path}.{k}" if path else str(k)
            if k in spec.fields:
                check(v, spec.fields[k], lambda k=k: value_mark(value, k), sub, out)
            elif spec.values is not None or (not spec.fields and spec.values is None and spec.required == ()):
                if spec.key_pattern and not re.match(spec.key_pattern, str(k)):
                    out.append(("VG005", f"{sub}: name {k!r} does not match {spec.key_pattern}",
                                key_mark(value, k) if isinstance(value, YMap) else where()))
                if spec.values is not None:
                    check(v, spec.values, lambda k=k: value_mark(value, k), sub, out)
            else:
                from .suggest import did_you_mean

                out.append(("VG003", f"{path or 'top level'}: unknown field {k!r}{did_you_mean(str(k), spec.fields)}"
                            f" (valid: {', '.join(spec.fields)})",
                            key_mark(value, k) if isinstance(value, YMap) else where()))


def json_schema(spec: Spec | None = None) -> dict:
    """The JSON Schema (draft 2020-12) of a guideline file."""
    if spec is None:
        root = _js(GUIDELINE_FILE)
        root.update({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://github.com/vascular/vascular/schema/guideline-1.json",
            "title": "vascular guideline file (schema_version 1)",
        })
        return root
    return _js(spec)


def _js(spec: Spec) -> dict:
    d: dict[str, Any]
    if isinstance(spec, OneOf):
        d = {"oneOf": [_js(s) for s in (spec.seq, spec.map, spec.scalar) if s is not None]}
    elif isinstance(spec, Str):
        d = {"type": "string", "minLength": 1}
        if spec.enum:
            d["enum"] = list(spec.enum)
        if spec.pattern:
            d["pattern"] = spec.pattern
    elif isinstance(spec, Bool):
        d = {"type": "boolean"}
    elif isinstance(spec, (Int, Num)):
        d = {"type": "integer" if isinstance(spec, Int) else "number"}
        if spec.min is not None:
            d["minimum"] = spec.min
        if spec.max is not None:
            d["maximum"] = spec.max
    elif isinstance(spec, Seq):
        d = {"type": "array", "items": _js(spec.item)}
        if spec.min_items:
            d["minItems"] = spec.min_items
    else:
        assert isinstance(spec, Map)
        d = {"type": "object"}
        if spec.fields:
            d["properties"] = {k: _js(v) for k, v in spec.fields.items()}
        if spec.required:
            d["required"] = list(spec.required)
        if spec.values is not None:
            d["additionalProperties"] = _js(spec.values)
            if spec.key_pattern:
                d["propertyNames"] = {"pattern": spec.key_pattern}
        elif spec.fields:
            d["additionalProperties"] = False
        if spec.min_fields:
            d["minProperties"] = spec.min_fields
    if spec.doc:
        d["description"] = spec.doc
    if spec.nullable:
        d = {"anyOf": [d, {"type": "null"}]}
    return d
