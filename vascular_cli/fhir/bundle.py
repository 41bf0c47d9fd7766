"""A FHIR R4 Bundle (plain JSON) -> a profile document, with the resource that produced each fact.

Rules (docs/fhir.md):
- one Patient per Bundle; every Condition/Observation/MedicationRequest/MedicationStatement must refer to it;
- a Condition counts when its clinicalStatus is active (or recurrence/relapse) and its verificationStatus is
  confirmed or absent; refuted, entered-in-error, unconfirmed, provisional and differential ones are ignored
  (listed); an Observation counts when final, amended or corrected; a medication when its status is active;
- a code the mapping does not know is ignored and listed; absence of a code is unknown, never "no";
- a malformed code of a known system (ICD-10-CM, SNOMED CT, LOINC, ATC, CEAP) is an error;
- single-valued facts (CEAP, ABI, pressures, bleeding risk, severity) given differently by several resources:
  the most recent one (effective/onset/recorded time) wins; with no unique most recent, it is an error;
- symptom_days: days from the onset of the current-episode Condition(s) to Bundle.timestamp (the most recent onset).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from .mapping import CEAP_SYSTEM, FACTOR_SYSTEM, LESION_SYSTEM, Entry, Mapping, malformed

CLINICAL_ACTIVE = ("active", "recurrence", "relapse")
VERIFICATION_IGNORED = ("refuted", "entered-in-error", "unconfirmed", "provisional", "differential")
OBSERVATION_OK = ("final", "amended", "corrected")
READ = ("Condition", "Observation", "MedicationRequest", "MedicationStatement")
MAX_BUNDLE_BYTES = 5 * 1024 * 1024  # a --fhir file or one NDJSON line
MMHG = ("mm[Hg]", "mmHg", "mm Hg")


class FhirError(NamedTuple):
    """One reason a Bundle cannot be read. ``resource`` is e.g. 'Condition/c1' (None: the Bundle itself)."""

    resource: str | None
    message: str
    element: str | None = None

    def __str__(self) -> str:
        where = self.resource or "Bundle"
        return f"{where}{'.' + self.element if self.element else ''}: {self.message}"

    def to_json(self) -> dict:
        return {"resource": self.resource, "element": self.element, "message": self.message}


class FhirProfile(NamedTuple):
    """The result of reading a Bundle. ``document`` is None when there are errors."""

    document: dict | None
    provenance: dict  # fact id -> [source records]
    ignored: list
    errors: list
    patient: str | None = None
    mapping: dict | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def message(self) -> str:
        """The errors as one line."""
        if not self.errors:
            return ""
        more = f" (and {len(self.errors) - 1} more error(s))" if len(self.errors) > 1 else ""
        return f"{self.errors[0]}{more}"

    def to_json(self) -> dict:
        return {"patient": self.patient, "provenance": self.provenance, "ignored": self.ignored,
                "mapping": self.mapping}


def _codings(cc: Any) -> list:
    if not isinstance(cc, dict):
        return []
    codings = cc.get("coding")
    return [c for c in codings if isinstance(c, dict)] if isinstance(codings, list) else []


def _status(cc: Any) -> str | None:
    for c in _codings(cc):
        if isinstance(c.get("code"), str):
            return c["code"]
    return None


def _date(value: Any) -> dt.date | None:
    """A FHIR date/dateTime precise to the day -> date (None otherwise)."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _when(res: dict, *keys: str) -> str | None:
    for k in keys:
        v = res.get(k)
        if isinstance(v, dict):
            v = v.get("start")
        if isinstance(v, str):
            return v
    return None


class _Reader:
    def __init__(self, bundle: dict, mapping: Mapping, vocabulary: Any) -> None:
        self.b, self.m, self.vocab = bundle, mapping, vocabulary
        self.errors: list[FhirError] = []
        self.ignored: list[dict] = []
        self.values: dict[str, list] = {}  # fact id -> [(value, time or None, provenance record)]

    # -- helpers --------------------------------------------------------------------------------------------------
    def error(self, resource: str | None, message: str, element: str | None = None) -> None:
        self.errors.append(FhirError(resource, message, element))

    def ignore(self, label: str, reason: str, element: str | None = None, coding: Any = None) -> None:
        rec = {"resource": label}
        if element:
            rec["element"] = element
        if coding:
            rec.update({k: coding.get(k) for k in ("system", "code", "display") if coding.get(k) is not None})
        rec["reason"] = reason
        self.ignored.append(rec)

    def fact(self, key: str, value: Any, record: dict, when: str | None = None) -> None:
        self.values.setdefault(key, []).append((value, when, record))

    def coding_ok(self, label: str, element: str, c: Any) -> bool:
        system, code = c.get("system"), c.get("code")
        if system is not None and not isinstance(system, str):
            self.error(label, f"Coding.system must be a string, got {type(system).__name__}", element)
            return False
        if isinstance(system, str) and (system in self.m.known_systems or system == CEAP_SYSTEM):
            why = malformed(system, code)
            if why is not None:
                self.error(label, why, element)
                return False
        return True

    def lookup(self, section: str, label: str, element: str, c: Any,
               record_unknown: bool = True) -> tuple[Entry | None, str | None]:
        """(entry, side) for a coding, after the well-formedness check; unknown codes are listed as ignored."""
        if not self.coding_ok(label, element, c):
            return None, None
        system, code = c.get("system"), c.get("code")
        if not isinstance(code, str):
            return None, None
        entry, side = self.m.lookup(section, system, code)
        if entry is None and record_unknown:
            reason = "code not in the FHIR mapping" if system in self.m.known_systems else \
                "code system not in the FHIR mapping"
            self.ignore(label, reason, element, c)
        return entry, side

    def term(self, kind: str, label: str, element: str, c: Any) -> str | None:
        """A project code that is a vocabulary term -> the canonical term (an unknown term is an error)."""
        if not self.coding_ok(label, element, c):
            return None
        if self.vocab is None:
            return c["code"]
        canon = self.vocab.resolve(kind, c["code"])
        if canon is None:
            self.error(label, self.vocab.unknown_message(kind, c["code"]), element)
        return canon

    @staticmethod
    def source(label: str, element: str, c: Any, entry: Entry, side: str | None = None) -> dict:
        rec = {"resource": label, "element": element, "system": c.get("system"), "code": c.get("code"),
               "display": entry.display}
        if entry.match == "prefix":
            rec["mapped_by"] = f"{entry.code} and codes below it"
        if side:
            rec["laterality"] = side
        if entry.note:
            rec["note"] = entry.note
        return rec

    # -- the Bundle ------------------------------------------------------------------------------------------------
    def read(self) -> tuple[str | None, dict]:
        b = self.b
        if not isinstance(b, dict):
            kind = "an array" if isinstance(b, list) else type(b).__name__
            self.error(None, f"expected a FHIR Bundle (a JSON object), got {kind}")
            return None, {}
        rt = b.get("resourceType")
        if rt != "Bundle":
            self.error(None, "expected a FHIR Bundle, got " + (f"resourceType {rt!r}" if rt else "no resourceType"))
            return None, {}
        entries = b.get("entry", [])
        if not isinstance(entries, list):
            self.error(None, "Bundle.entry must be a list")
            return None, {}
        resources: list[tuple[str, dict]] = []
        index: dict[str, dict] = {}
        for i, e in enumerate(entries):
            res = e.get("resource") if isinstance(e, dict) else None
            if not isinstance(res, dict) or not isinstance(res.get("resourceType"), str):
                self.error(None, f"entry[{i}] has no resource with a resourceType")
                continue
            rid = res.get("id")
            label = f"{res['resourceType']}/{rid}" if isinstance(rid, str) and rid else (
                e.get("fullUrl") if isinstance(e.get("fullUrl"), str) else f"entry[{i}]")
            resources.append((label, res))
            index[label] = res
            if isinstance(e.get("fullUrl"), str):
                index[e["fullUrl"]] = res
        patients = [(label, r) for label, r in resources if r["resourceType"] == "Patient"]
        if not patients:
            self.error(None, "the Bundle has no Patient resource (one patient per Bundle)")
            return None, {}
        if len(patients) > 1:
            self.error(None, f"the Bundle holds {len(patients)} Patient resources "
                             f"({', '.join(p for p, _ in patients)}): one patient per Bundle")
            return None, {}
        plabel, patient = patients[0]
        prefs = {plabel} | {k for k, v in index.items() if v is patient}
        self.index = index
        for label, res in resources:
            rt = res["resourceType"]
            if rt == "Patient" or rt == "Medication":
                continue
            if rt not in READ:
                self.ignore(label, f"resourceType {rt} is not read")
                continue
            ref = (res.get("subject") or {}).get("reference") if isinstance(res.get("subject"), dict) else None
            if not isinstance(ref, str):
                self.error(label, f"no subject reference (expected {plabel})", "subject")
                continue
            if ref not in prefs and not any(ref.endswith("/" + p) for p in prefs if "/" in p and "://" not in p):
                self.error(label, f"subject {ref!r} is not the Bundle's Patient ({plabel}): resources for "
                                  "two patients", "subject")
                continue
            getattr(self, rt.lower())(label, res)
        ident = patient.get("id") if isinstance(patient.get("id"), str) else None
        return plabel, {"id": ident}

    def reference_date(self) -> dt.date | None:
        return _date(self.b.get("timestamp"))

    # -- resources -------------------------------------------------------------------------------------------------
    def condition(self, label: str, res: dict) -> None:
        clinical = _status(res.get("clinicalStatus"))
        verification = _status(res.get("verificationStatus"))
        first = next(iter(_codings(res.get("code"))), None)
        if verification in VERIFICATION_IGNORED:
            return self.ignore(label, f"verificationStatus {verification}", "code" if first else None, first)
        if clinical not in CLINICAL_ACTIVE:
            return self.ignore(label, f"clinicalStatus {clinical}" if clinical else "no clinicalStatus (not known "
                               "to be active)", "code" if first else None, first)
        when = _when(res, "onsetDateTime", "onsetPeriod", "recordedDate")
        sides = []
        for j, c in enumerate(_codings(res.get("bodySite", [{}])[0] if isinstance(res.get("bodySite"), list)
                                       and res["bodySite"] else None)):
            entry, _ = self.lookup("body_sites", label, f"bodySite[0].coding[{j}]", c, record_unknown=False)
            if entry is not None and entry.side:
                sides.append(entry.side)
        gave = False
        episode = False
        for j, c in enumerate(_codings(res.get("code"))):
            element = f"code.coding[{j}]"
            if c.get("system") == LESION_SYSTEM:
                term = self.term("lesion", label, element, c)
                if term:
                    gave = True
                    self.fact(f"lesion:{term}", True, {"resource": label, "element": element,
                                                       "system": LESION_SYSTEM, "code": c["code"]})
                continue
            entry, side = self.lookup("conditions", label, element, c)
            if entry is None:
                continue
            if not entry.gives_facts:
                self.ignore(label, entry.note or "known code; gives no profile fact", element, c)
                continue
            rec = self.source(label, element, c, entry, side or (sides[0] if sides else None))
            gave = True
            episode = episode or entry.episode
            if entry.lesion:
                self.fact(f"lesion:{entry.lesion}", True, rec)
            for name, value in entry.factors:
                self.fact(f"factor:{name}", value, rec)
        if not _codings(res.get("code")):
            self.ignore(label, "no coded Condition.code")
        if gave:
            for j, c in enumerate(_codings(res.get("severity"))):
                entry, _ = self.lookup("values", label, f"severity.coding[{j}]", c)
                if entry is not None and entry.severity:
                    self.fact("severity", entry.severity, self.source(label, f"severity.coding[{j}]", c, entry), when)
        if episode:
            onset = _when(res, "onsetDateTime", "onsetPeriod")
            ref = self.reference_date()
            day = _date(onset)
            if onset is None:
                pass
            elif ref is None:
                self.ignore(label, "onset not used: the Bundle has no timestamp (symptom days count to it)", "onset")
            elif day is None:
                self.ignore(label, f"onset {onset!r} is not precise to the day", "onset")
            elif day > ref:
                self.error(label, f"onset {onset} is after Bundle.timestamp {self.b.get('timestamp')}", "onset")
            elif (ref - day).days > 36500:
                self.error(label, f"onset {onset} is more than 36,500 days before Bundle.timestamp", "onset")
            else:
                self.fact("symptom_days", (ref - day).days,
                          {"resource": label, "element": "onset", "value": onset,
                           "counted_to": f"Bundle.timestamp {self.b.get('timestamp')}"})
        for i, st in enumerate(res.get("stage") or [] if isinstance(res.get("stage"), list) else []):
            for j, c in enumerate(_codings(st.get("summary") if isinstance(st, dict) else None)):
                element = f"stage[{i}].summary.coding[{j}]"
                if c.get("system") != CEAP_SYSTEM:
                    self.ignore(label, "stage code system not read (CEAP classes only)", element, c)
                elif self.coding_ok(label, element, c):
                    self.fact("ceap", c["code"], {"resource": label, "element": element, "system": CEAP_SYSTEM,
                                                  "code": c["code"]}, when)

    def observation(self, label: str, res: dict) -> None:
        status = res.get("status")
        if status not in OBSERVATION_OK:
            return self.ignore(label, f"status {status}")
        when = _when(res, "effectiveDateTime", "effectivePeriod", "effectiveInstant", "issued")
        used = False
        for j, c in enumerate(_codings(res.get("code"))):
            element = f"code.coding[{j}]"
            if c.get("system") == FACTOR_SYSTEM and not used:
                used = True
                term = self.term("factor", label, element, c)
                if term and isinstance(res.get("valueBoolean"), bool):
                    self.fact(f"factor:{term}", res["valueBoolean"],
                              {"resource": label, "element": element, "system": FACTOR_SYSTEM, "code": c["code"],
                               "value": res["valueBoolean"]}, when)
                elif term:
                    self.error(label, f"factor {term}: expected valueBoolean (true or false)", "value[x]")
                continue
            entry, _ = self.lookup("observations", label, element, c)
            if entry is None or used:
                continue
            used = True
            rec = self.source(label, element, c, entry)
            if entry.values:
                self._coded_value(label, res, entry, rec, when)
            elif entry.field in ("abi", "ankle_pressure", "toe_pressure"):
                q = res.get("valueQuantity")
                if not isinstance(q, dict) or isinstance(q.get("value"), bool) or \
                        not isinstance(q.get("value"), (int, float)):
                    self.ignore(label, "no valueQuantity with a number", "value[x]")
                    continue
                unit = q.get("code") or q.get("unit")
                if entry.field != "abi" and unit is not None and unit not in MMHG:
                    self.error(label, f"{entry.field.replace('_', ' ')} in {unit!r}: expected mm[Hg]", "valueQuantity")
                    continue
                from ..profile import RANGES

                lo, hi = RANGES[entry.field]
                if not lo <= q["value"] <= hi:
                    self.error(label, f"{entry.field.replace('_', ' ')} {q['value']} is outside the valid range "
                                      f"{lo:g}-{hi:g}", "valueQuantity")
                    continue
                self.fact(entry.field, q["value"], {**rec, "value": q["value"]}, when)
            elif entry.field == "ceap":
                text = res.get("valueString")
                if isinstance(text, str):
                    from ..ceap import CeapError, parse

                    try:
                        parse(text)
                    except CeapError as e:
                        self.error(label, f"valueString {text!r} is not a CEAP string: {e} (column {e.col})",
                                   "valueString")
                        continue
                    self.fact("ceap", text, {**rec, "value": text}, when)
                    continue
                for k, vc in enumerate(_codings(res.get("valueCodeableConcept"))):
                    if vc.get("system") == CEAP_SYSTEM and self.coding_ok(label, f"valueCodeableConcept.coding[{k}]",
                                                                          vc):
                        self.fact("ceap", vc["code"], {**rec, "value": vc["code"]}, when)
                        break
                else:
                    self.ignore(label, "no CEAP value (valueString or a ceap-clinical-class code)", "value[x]")
            elif entry.field == "bleeding_risk":
                for k, vc in enumerate(_codings(res.get("valueCodeableConcept"))):
                    ve, _ = self.lookup("values", label, f"valueCodeableConcept.coding[{k}]", vc)
                    if ve is not None and ve.bleeding_risk:
                        self.fact("bleeding_risk", ve.bleeding_risk, {**rec, "value": vc.get("code")}, when)
                        break
        if not used and not _codings(res.get("code")):
            self.ignore(label, "no coded Observation.code")

    def _coded_value(self, label: str, res: dict, entry: Entry, rec: dict, when: str | None) -> None:
        for k, vc in enumerate(_codings(res.get("valueCodeableConcept"))):
            element = f"valueCodeableConcept.coding[{k}]"
            if not self.coding_ok(label, element, vc):
                return
            code = vc.get("code")
            ve, _ = self.m.lookup("observations.values", vc.get("system"), code) if isinstance(code, str) else \
                (None, None)
            if ve is not None:
                for name, value in ve.factors:
                    self.fact(f"factor:{name}", value, {**rec, "value": vc.get("code"), "value_display": ve.display},
                              when)
                return
        self.ignore(label, "value not in the FHIR mapping", "valueCodeableConcept")

    def medicationrequest(self, label: str, res: dict) -> None:
        self._medication(label, res)

    def medicationstatement(self, label: str, res: dict) -> None:
        self._medication(label, res)

    def _medication(self, label: str, res: dict) -> None:
        status = res.get("status")
        if status != "active":
            return self.ignore(label, f"status {status}")
        concept, element = res.get("medicationCodeableConcept"), "medicationCodeableConcept"
        ref = (res.get("medicationReference") or {}).get("reference") if isinstance(res.get("medicationReference"),
                                                                                      dict) else None
        if concept is None and isinstance(ref, str):
            med = None
            if ref.startswith("#"):
                found = res.get("contained")
                contained: list = found if isinstance(found, list) else []
                med = next((c for c in contained if isinstance(c, dict) and c.get("id") == ref[1:]),
                           None)
            else:
                med = self.index.get(ref)
            if not isinstance(med, dict) or med.get("resourceType") != "Medication":
                self.error(label, f"medicationReference {ref!r} does not resolve to a Medication in the Bundle",
                           "medicationReference")
                return
            concept, element = med.get("code"), f"medicationReference({ref}).code"
        gave = False
        for j, c in enumerate(_codings(concept)):
            entry, side = self.lookup("medications", label, f"{element}.coding[{j}]", c)
            if entry is None:
                continue
            if not entry.gives_facts:
                self.ignore(label, entry.note or "known code; gives no profile fact", f"{element}.coding[{j}]", c)
                continue
            if gave:
                continue
            gave = True
            rec = self.source(label, f"{element}.coding[{j}]", c, entry)
            for name, value in entry.factors:
                self.fact(f"factor:{name}", value, rec)
        if not _codings(concept):
            self.ignore(label, "no coded medication")

    # -- assembling the profile ------------------------------------------------------------------------------------
    def assemble(self, doc: dict) -> dict:
        provenance: dict[str, list] = {}
        lesions = [k.split(":", 1)[1] for k in self.values if k.startswith("lesion:")]
        if lesions and self.vocab is not None:  # a group term adds nothing next to one of its narrower terms
            leaves = self.vocab.leaves.get("lesion", {})
            narrower = {t: leaves.get(self.vocab.resolve("lesion", t) or t, frozenset()) for t in lesions}
            dropped = {t for t in lesions if any(o != t and o in narrower[t] for o in lesions)}
            for t in dropped:
                recs = self.values.pop(f"lesion:{t}")
                for _, _, r in recs:
                    self.ignore(r["resource"], f"group term {t} dropped: a narrower lesion is present", r["element"],
                                {"system": r.get("system"), "code": r.get("code")})
            lesions = [t for t in lesions if t not in dropped]
        if lesions:
            doc["lesion"] = sorted(lesions)
        factors: dict[str, bool] = {}
        for key in sorted(self.values):
            items = self.values[key]
            provenance[key] = [r for _, _, r in items]
            if key.startswith("lesion:"):
                continue
            if key.startswith("factor:"):
                name = key.split(":", 1)[1]
                vals = {v for v, _, _ in items}
                if len(vals) > 1:
                    yes = next(r for v, _, r in items if v)
                    no = next(r for v, _, r in items if not v)
                    self.error(None, f"factor {name} is yes from {yes['resource']} and no from {no['resource']}")
                    continue
                factors[name] = vals.pop()
                continue
            if key == "symptom_days":
                doc[key] = min(v for v, _, _ in items)  # the most recent onset: the current episode
                continue
            distinct = {v for v, _, _ in items}
            if len(distinct) == 1:
                doc[key] = distinct.pop()
                continue
            timed = [(w, v, r) for v, w, r in items if w is not None]
            latest = max((w for w, _, _ in timed), default=None)
            winners = {v for w, v, _ in timed if w == latest}
            if len(timed) == len(items) and len(winners) == 1:
                doc[key] = winners.pop()
                continue
            shown = ", ".join(f"{v} ({r['resource']})" for v, _, r in items)
            self.error(None, f"conflicting {key.replace('_', ' ')} values: {shown}; no single most recent one")
        if factors:
            doc["factors"] = factors
        self.provenance = provenance
        return doc


def profile_from_bundle(bundle: Any, mapping: Mapping, vocabulary: Any = None) -> FhirProfile:
    """Read a FHIR R4 Bundle (parsed JSON) into a profile document, its provenance, ignored codes and errors."""
    r = _Reader(bundle, mapping, vocabulary)
    patient, doc = r.read()
    info = {"path": mapping.path, "sha256": mapping.sha256}
    if r.errors:
        return FhirProfile(None, {}, r.ignored, r.errors, patient, info)
    doc = r.assemble(doc)
    if r.errors:
        return FhirProfile(None, {}, r.ignored, r.errors, patient, info)
    return FhirProfile(doc, r.provenance, r.ignored, [], patient, info)


def parse_json(text: str, name: str = "bundle") -> tuple[object, str | None]:
    """JSON text -> (value, None) or (None, one-line error)."""
    import json

    try:
        return json.loads(text), None
    except json.JSONDecodeError as e:
        return None, f"{name}:{e.lineno}:{e.colno}: invalid JSON: {e.msg}"
    except RecursionError:
        return None, f"{name}: invalid JSON: nested too deeply"
