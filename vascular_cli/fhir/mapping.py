"""The FHIR code mapping (``guidelines/fhir-mapping.yaml``, top-level key ``fhir_mapping``): data, not code.

The file is one more kind of knowledge-base file: ``vascular validate`` checks it (structure with VG003-VG005,
unknown terms VG006, malformed codes and dangling references VG016, duplicate codes VG017), always with the
``file:line:col`` of the offending node. At run time :func:`vascular_cli.fhir.load.load_mapping` turns it into a
:class:`Mapping`.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from ..model import Problem

FILENAME = "fhir-mapping.yaml"
KIND = "fhir_mapping"

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ATC = "http://www.whocc.no/atc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
BASE = "https://github.com/vascular/vascular/fhir"
CEAP_SYSTEM = f"{BASE}/CodeSystem/ceap-clinical-class"
OBSERVATION_SYSTEM = f"{BASE}/CodeSystem/vascular-observation"
BLEEDING_SYSTEM = f"{BASE}/CodeSystem/bleeding-risk"
LESION_SYSTEM = f"{BASE}/CodeSystem/vascular-lesion"  # code = a lesion term of the vocabulary (Condition.code)
FACTOR_SYSTEM = f"{BASE}/CodeSystem/vascular-factor"  # code = a factor term (Observation.code + valueBoolean)
ACTION_SYSTEM = f"{BASE}/CodeSystem/vascular-action"  # code = an action term (a draft order's code, CDS Hooks)
CPT = "http://www.ama-assn.org/go/cpt"

_PROJECT_CODE = r"^[a-z][a-z0-9-]*$"
# Well-formed codes per system (checked in the mapping file AND in every coding of an input Bundle)
FORMATS = {
    ICD10CM: (r"^[A-TV-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$", "ICD-10-CM codes look like I82.422 (letter, 2 "
              "characters, a dot, up to 4 characters)"),
    SNOMED: (r"^[1-9][0-9]{5,17}$", "SNOMED CT identifiers are 6-18 digits with a Verhoeff check digit"),
    LOINC: (r"^[0-9]{1,7}-[0-9]$", "LOINC codes look like 77194-9"),
    ATC: (r"^[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?$", "ATC codes look like B01AF01"),
    RXNORM: (r"^[0-9]{1,9}$", "RxNorm RXCUIs are digits"),
    OBSERVATION_SYSTEM: (_PROJECT_CODE, "project codes are lower-case words"),
    BLEEDING_SYSTEM: (r"^(low|moderate|high)$", "bleeding-risk codes are low, moderate, high"),
    LESION_SYSTEM: (_PROJECT_CODE, "vascular-lesion codes are lesion terms (vascular vocab lesion)"),
    FACTOR_SYSTEM: (_PROJECT_CODE, "vascular-factor codes are factor terms (vascular vocab factor)"),
    ACTION_SYSTEM: (_PROJECT_CODE, "vascular-action codes are action terms (vascular vocab action)"),
    CPT: (r"^[0-9]{4}[0-9A-Z]$", "CPT codes are 5 characters, e.g. 37191"),
}
SECTIONS = ("conditions", "observations", "values", "body_sites", "medications", "orders")
FIELDS = ("abi", "ankle_pressure", "toe_pressure", "ceap", "bleeding_risk")
SIDES = ("right", "left", "bilateral", "unspecified")


# --- Verhoeff check digit (SNOMED CT identifiers) ----------------------------------------------------------------
_D = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
      [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
      [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
      [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]]
_P = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
      [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
      [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8]]


def verhoeff_ok(digits: str) -> bool:
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[i % 8][int(ch)]]
    return c == 0


def malformed(system: str, code: Any) -> str | None:
    """Why ``code`` is not a well-formed code of ``system`` (None when it is, or when the system has no format)."""
    if not isinstance(code, str) or not code.strip():
        return f"expected a non-empty code string, got {code!r}"
    if system == CEAP_SYSTEM:
        from ..ceap import CLASSES

        return None if code in CLASSES else f"{code!r} is not a CEAP 2020 clinical class ({', '.join(CLASSES)})"
    fmt = FORMATS.get(system)
    if fmt is None:
        return None
    pattern, hint = fmt
    if not re.match(pattern, code):
        extra = ""
        if system == ICD10CM and re.match(r"^[A-Z][0-9][0-9A-Z][0-9A-Z]{1,4}$", code):
            extra = f" (written without its dot? {code[:3]}.{code[3:]})"
        return f"{code!r} is not a well-formed code: {hint}{extra}"
    if system == SNOMED and not verhoeff_ok(code):
        return f"{code!r} is not a valid SNOMED CT identifier (Verhoeff check digit)"
    return None


# --- the file format ---------------------------------------------------------------------------------------------
def spec() -> Any:
    from ..schema import TERM, Bool, Int, Map, Seq, Str

    base = {"system": Str(pattern=r"^[a-z0-9][a-z0-9-]*$"), "code": Str(), "display": Str(), "source": Str(),
            "note": Str()}
    req = ("system", "code", "display", "source")
    factors = Seq(Str(pattern=r"^[a-z0-9][a-z0-9-]*(=(yes|no))?$"), min_items=1)
    match = Str(enum=("exact", "prefix"))
    value_item = Map(required=("system", "code", "display"), fields={**base, "factors": factors})
    return Map(required=("schema_version", KIND), fields={
        "schema_version": Int(min=1, max=1),
        KIND: Map(required=("systems", "sources", "conditions"), fields={
            "systems": Map(values=Str(), key_pattern=r"^[a-z0-9][a-z0-9-]*$"),
            "sources": Map(values=Str(), key_pattern=r"^[a-z0-9][a-z0-9-]*$"),
            "laterality": Map(values=Map(values=Str(enum=SIDES)), key_pattern=r"^[a-z0-9][a-z0-9-]*$"),
            "conditions": Seq(Map(required=req, fields={
                **base, "match": match, "lesion": Str(pattern=TERM), "factors": factors, "laterality": Str(),
                "episode": Bool()})),
            "observations": Seq(Map(required=req, fields={
                **base, "match": match, "field": Str(enum=FIELDS), "values": Seq(value_item, min_items=1)})),
            "values": Seq(Map(required=req, fields={
                **base, "severity": Str(pattern=TERM), "bleeding_risk": Str(pattern=TERM)})),
            "body_sites": Seq(Map(required=req + ("side",), fields={**base, "side": Str(enum=SIDES)})),
            "medications": Seq(Map(required=req, fields={**base, "match": match, "factors": factors})),
            # draft orders (CDS Hooks order-select/order-sign): a MedicationRequest/ServiceRequest/DeviceRequest code
            # -> the action term it carries out
            "orders": Seq(Map(required=req + ("action",),
                              fields={**base, "match": match, "action": Str(pattern=TERM)})),
        }),
    })


def problems(src: Any, vocabulary: Any) -> list[Problem]:
    """Every problem of one mapping file (``src``: a loader SourceFile of kind fhir_mapping), with positions."""
    from ..schema import check
    from ..yamlio import Mark, key_mark, value_mark

    found: list = []
    check(src.tree, spec(), lambda: getattr(src.tree, "mark", Mark(1, 1)), "", found)
    out = [Problem(src.path, m.line, m.col, code, msg) for code, msg, m in found]
    if out:
        return out
    root = src.tree[KIND]
    systems, sources, schemes = root["systems"], root["sources"], root.get("laterality") or {}

    def p(container: Any, key: Any, code: str, msg: str) -> None:
        m = value_mark(container, key)
        out.append(Problem(src.path, m.line, m.col, code, msg, "error"))  # VG006/VG016/VG017: all errors

    for name, scheme in schemes.items():
        for ch in scheme:
            if not isinstance(ch, str) or len(ch) != 1:
                m = key_mark(scheme, ch)
                out.append(Problem(src.path, m.line, m.col, "VG016",
                                   f"laterality scheme {name!r}: key {ch!r} must be one character"))

    def term(kind: str, word: Any, container: Any, key: Any) -> None:
        if vocabulary is not None and vocabulary.resolve(kind, word) is None:
            p(container, key, "VG006", vocabulary.unknown_message(kind, word))

    def entry(section: str, e: Any, seen: dict, where: str) -> None:
        system = systems.get(e["system"])
        if system is None:
            p(e, "system", "VG016", f"{where}: system {e['system']!r} is not defined under 'systems'"
                                    f"{_dym(e['system'], systems)} (defined: {', '.join(systems)})")
        elif (why := malformed(system, e["code"])) is not None:
            p(e, "code", "VG016", f"{where}: {why}")
        else:
            key = (section, system, e["code"])
            if key in seen:
                p(e, "code", "VG017",
                  f"{where}: {e['system']} code {e['code']!r} is already mapped at line {seen[key]}")
            seen.setdefault(key, e.mark.line)
        if "source" in e and e["source"] not in sources:
            p(e, "source", "VG016", f"{where}: source {e['source']!r} is not defined under 'sources'"
                                    f"{_dym(e['source'], sources)} (defined: {', '.join(sources)})")
        if "laterality" in e and section == "conditions" and e["laterality"] not in schemes:
            p(e, "laterality", "VG016", f"{where}: laterality scheme {e['laterality']!r} is not defined"
                                        f"{_dym(e['laterality'], schemes)}")
        if "lesion" in e:
            term("lesion", e["lesion"], e, "lesion")
        for i, f in enumerate(e.get("factors") or ()):
            term("factor", f.partition("=")[0], e["factors"], i)
        if "severity" in e:
            term("severity", e["severity"], e, "severity")
        if "action" in e:
            term("action", e["action"], e, "action")
        if "bleeding_risk" in e:
            term("bleeding-risk", e["bleeding_risk"], e, "bleeding_risk")

    seen: dict = {}
    for section in SECTIONS:
        for i, e in enumerate(root.get(section) or ()):
            where = f"{section}[{i}]"
            entry(section, e, seen, where)
            if section == "observations":
                if "field" in e and "values" in e:
                    p(e, "values", "VG016", f"{where}: give 'field' or 'values', not both")
                for j, v in enumerate(e.get("values") or ()):
                    entry(f"{section}.values", v, seen, f"{where}.values[{j}]")
    return out


# --- run time ------------------------------------------------------------------------------------------------------
class Entry(NamedTuple):
    section: str
    system: str  # URI
    code: str
    display: str
    source: str | None = None
    note: str | None = None
    match: str = "exact"
    lesion: str | None = None
    factors: tuple[tuple[str, bool], ...] = ()
    laterality: dict | None = None  # character after the prefix -> side
    episode: bool = False
    field: str | None = None
    values: tuple = ()
    severity: str | None = None
    bleeding_risk: str | None = None
    side: str | None = None
    action: str | None = None  # orders: the action term a draft order carries out

    @property
    def gives_facts(self) -> bool:
        return bool(self.lesion or self.factors or self.field or self.values or self.severity or self.bleeding_risk
                    or self.side)

    def coding(self) -> dict:
        return {"system": self.system, "code": self.code, "display": self.display}


class Mapping:
    """Lookup tables built from the mapping file: (section, system URI, code) -> Entry."""

    def __init__(self, systems: dict, sources: dict, entries: list[Entry], path: str = "", sha256: str = ""):
        self.systems, self.sources, self.path, self.sha256 = systems, sources, path, sha256
        self.exact: dict = {}
        self.prefix: dict = {}
        for e in entries:
            (self.prefix if e.match == "prefix" else self.exact)[(e.section, e.system, e.code)] = e
            for v in e.values:
                self.exact[("observations.values", v.system, v.code)] = v
        self.known_systems = set(systems.values()) | {LESION_SYSTEM, FACTOR_SYSTEM}

    def lookup(self, section: str, system: str, code: str) -> tuple[Entry | None, str | None]:
        """(entry, side) for a coding: the exact entry, else the longest prefix entry; side from its scheme."""
        e = self.exact.get((section, system, code))
        if e is not None:
            return e, None
        for n in range(len(code), 0, -1):
            e = self.prefix.get((section, system, code[:n]))
            if e is not None:
                side = None
                if e.laterality and n < len(code):
                    side = e.laterality.get(code[n])
                return e, side
        return None, None


def _factor(text: str) -> tuple[str, bool]:
    name, sep, val = text.partition("=")
    return name, not (sep and val == "no")


def build(tree: Any, path: str = "", sha256: str = "") -> Mapping:
    root = tree[KIND]
    systems = dict(root["systems"])
    schemes = {k: dict(v) for k, v in (root.get("laterality") or {}).items()}
    entries: list[Entry] = []

    def make(section: str, e: Any) -> Entry:
        return Entry(
            section=section, system=systems.get(e["system"], e["system"]), code=e["code"], display=e["display"],
            source=e.get("source"), note=e.get("note"), match=e.get("match", "exact"), lesion=e.get("lesion"),
            factors=tuple(_factor(f) for f in e.get("factors") or ()),
            laterality=schemes.get(e.get("laterality")) if section == "conditions" else None,
            episode=bool(e.get("episode")), field=e.get("field"),
            values=tuple(make("observations.values", v) for v in e.get("values") or ()),
            severity=e.get("severity"), bleeding_risk=e.get("bleeding_risk"), side=e.get("side"),
            action=e.get("action"))

    for section in SECTIONS:
        for e in root.get(section) or ():
            entries.append(make(section, e))
    return Mapping(systems, dict(root["sources"]), entries, path, sha256)


def _dym(word: Any, choices: Any) -> str:
    from ..suggest import did_you_mean

    return did_you_mean(str(word), [str(c) for c in choices])
