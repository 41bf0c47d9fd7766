"""CDS Hooks 2.0 requests: the service definitions, checking a hook request, turning prefetch into one FHIR Bundle for
the FHIR input mapping, and reading draft orders."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, cast, overload

if TYPE_CHECKING:
    from .adapter import Knowledge

# fetch(prefetch key, FHIR query relative to the server) -> the parsed JSON object, or None when unavailable
Fetch = Callable[[str, str], dict[str, Any] | None]

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
}
READ_TYPES = ("Condition", "Observation", "MedicationRequest", "MedicationStatement", "Medication")
ORDER_TYPES: dict[str, tuple[str, ...]] = {
    "MedicationRequest": ("medicationCodeableConcept",), "ServiceRequest": ("code",),
    "DeviceRequest": ("codeCodeableConcept",), "ProcedureRequest": ("code",)}
SERVICES = [
    {"hook": "patient-view", "id": "vascular-patient-view", "title": "Venous-disease guideline recommendations",
     "description": "Applicable recommendations from venous-disease guidelines (SVS/AVF, ESVS, CIRSE, ACR, CHEST, SIR) "
                    "for the patient in context, each with its native grade, source and certainty; the facts that "
                    "would settle further recommendations."},
    {"hook": "order-select", "id": "vascular-order-select",
     "title": "Venous-disease guideline check of selected orders",
     "description": "A warning when a selected draft order (e.g. venous stenting, an anticoagulant, an IVC filter) "
                    "meets an applicable recommendation against it or an unresolved conflict between guidelines."},
    {"hook": "order-sign", "id": "vascular-order-sign", "title": "Venous-disease guideline check before signing",
     "description": "A warning when a draft order about to be signed meets an applicable recommendation against it "
                    "or an unresolved conflict between guidelines."},
]
BY_ID = {s["id"]: s for s in SERVICES}


class BadRequest(Exception):
    def __init__(self, message: str, code: str = "invalid-request"):
        super().__init__(message)
        self.message, self.code = message, code


class Precondition(Exception):
    """Required data was neither prefetched nor obtainable (412)."""

    def __init__(self, missing: list):
        super().__init__(", ".join(missing))
        self.missing = missing


def discovery(usage: str) -> dict:
    return {"services": [dict(s, prefetch=dict(PREFETCH), usageRequirements=usage) for s in SERVICES]}


@overload
def _string(obj: dict[str, Any], key: str, where: str, required: Literal[True] = True,
            pattern: re.Pattern[str] | None = None) -> str: ...
@overload
def _string(obj: dict[str, Any], key: str, where: str, required: bool,
            pattern: re.Pattern[str] | None = None) -> str | None: ...
def _string(obj: dict[str, Any], key: str, where: str, required: bool = True,
            pattern: re.Pattern[str] | None = None) -> str | None:
    v = obj.get(key)
    if v is None and not required:
        return None
    if not isinstance(v, str) or not v.strip():
        raise BadRequest(f"{where}.{key}: {'required, ' if v is None else ''}expected a non-empty string")
    if len(v) > 4096:
        raise BadRequest(f"{where}.{key}: longer than 4096 characters")
    if pattern is not None and not pattern.match(v):
        raise BadRequest(f"{where}.{key}: {v[:80]!r} is not a FHIR resource id")
    return v


def check_request(doc: Any, hook: str) -> dict:
    """The request object, checked against the CDS Hooks 2.0 request model and the hook's context (BadRequest)."""
    if not isinstance(doc, dict):
        raise BadRequest("the request body must be a JSON object")
    got = _string(doc, "hook", "request")
    if got != hook:
        raise BadRequest(f"request.hook: {got[:60]!r} does not match this service's hook {hook!r}")
    _string(doc, "hookInstance", "request")
    server = _string(doc, "fhirServer", "request", required=False)
    if server is not None and not re.match(r"^https?://[^\s/]+", server):
        raise BadRequest("request.fhirServer: expected an http(s) URL")
    auth = doc.get("fhirAuthorization")
    if auth is not None:
        if not isinstance(auth, dict):
            raise BadRequest("request.fhirAuthorization: expected an object")
        for key in ("access_token", "token_type", "scope", "subject"):
            _string(auth, key, "request.fhirAuthorization")
        if not isinstance(auth.get("expires_in"), int) or isinstance(auth.get("expires_in"), bool):
            raise BadRequest("request.fhirAuthorization.expires_in: expected an integer")
        if server is None:
            raise BadRequest("request.fhirAuthorization given without fhirServer")
    ctx = doc.get("context")
    if not isinstance(ctx, dict):
        raise BadRequest("request.context: required, expected an object")
    _string(ctx, "userId", "context")
    _string(ctx, "patientId", "context", pattern=FHIR_ID)
    _string(ctx, "encounterId", "context", required=False)
    if hook in ("order-select", "order-sign"):
        orders = ctx.get("draftOrders")
        if not isinstance(orders, dict) or orders.get("resourceType") != "Bundle":
            raise BadRequest("context.draftOrders: required, expected a FHIR Bundle")
        if not isinstance(orders.get("entry", []), list):
            raise BadRequest("context.draftOrders.entry: expected a list")
    if hook == "order-select":
        sel = ctx.get("selections")
        if not isinstance(sel, list) or not sel or not all(isinstance(s, str) and s for s in sel):
            raise BadRequest("context.selections: required, expected a non-empty list of references")
    pre = doc.get("prefetch")
    if pre is not None and not isinstance(pre, dict):
        raise BadRequest("request.prefetch: expected an object")
    return doc


def _resources(value: Any, key: str) -> list | None:
    """Resources of one prefetch value (a searchset Bundle or one resource). None: not available."""
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise BadRequest(f"prefetch.{key}: expected a FHIR resource or a Bundle")
    rt = value["resourceType"]
    if rt == "OperationOutcome":  # the client could not prefetch it
        return None
    if rt != "Bundle":
        return [value]
    entries = value.get("entry", [])
    if not isinstance(entries, list):
        raise BadRequest(f"prefetch.{key}.entry: expected a list")
    out = []
    for i, e in enumerate(entries):
        res = e.get("resource") if isinstance(e, dict) else None
        if not isinstance(res, dict) or not isinstance(res.get("resourceType"), str):
            raise BadRequest(f"prefetch.{key}.entry[{i}]: no resource")
        out.append(res)
    return out


def gather(doc: dict, required: tuple, fetch: Fetch | None = None) -> dict:
    """{prefetch key: [resources]} from the request's prefetch, fetching what is missing through ``fetch(key,
    query)`` when given; Precondition when a required key stays unavailable."""
    pre = doc.get("prefetch") or {}
    patient_id = doc["context"]["patientId"]
    got: dict = {}
    for key in PREFETCH:
        got[key] = _resources(pre.get(key), key)
    missing = [k for k in PREFETCH if got[k] is None]
    if missing and fetch is not None:
        for key in missing:
            query = PREFETCH[key].replace("{{context.patientId}}", patient_id)
            value = fetch(key, query)
            if value is not None:
                got[key] = _resources(value, key)
    still = [k for k in required if got.get(k) is None]
    if still:
        raise Precondition(still)
    return got


def bundle(doc: dict, got: dict, now: dt.datetime | None = None) -> dict:
    """One collection Bundle for the FHIR input mapping: the Patient and the resources it reads."""
    patient_id = doc["context"]["patientId"]
    patients = [r for r in got["patient"] if r.get("resourceType") == "Patient"]
    if len(patients) != 1:
        raise BadRequest("prefetch.patient: expected exactly one Patient resource")
    patient = patients[0]
    if patient.get("id") is None:
        patient = dict(patient, id=patient_id)
    elif patient.get("id") != patient_id:
        raise BadRequest("prefetch.patient: the Patient's id is not context.patientId")
    entries = [{"resource": patient}]
    seen = set()
    for key in ("conditions", "observations", "medications"):
        for res in got.get(key) or ():
            if res.get("resourceType") not in READ_TYPES:
                continue  # OperationOutcome entries of a search, other included resources
            if isinstance(res.get("id"), str):
                ident = (res["resourceType"], res["id"])
                if ident in seen:
                    continue
                seen.add(ident)
            entries.append({"resource": res})
    stamp = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    return {"resourceType": "Bundle", "type": "collection", "timestamp": stamp, "entry": entries}


def draft_orders(doc: dict, k: Knowledge, hook: str) -> list:
    """[(reference, display, action term)] of the draft orders the hook is about (order-select: the selections)."""
    ctx = doc["context"]
    wanted = set(ctx.get("selections") or ()) if hook == "order-select" else None
    out: list[tuple[str, str, str]] = []
    for i, e in enumerate(ctx["draftOrders"].get("entry") or ()):
        res = e.get("resource") if isinstance(e, dict) else None
        if not isinstance(res, dict):
            raise BadRequest(f"context.draftOrders.entry[{i}]: no resource")
        rt: Any = res.get("resourceType")  # parsed JSON
        ref = f"{rt}/{res.get('id')}"
        if wanted is not None and ref not in wanted:
            continue
        for element in ORDER_TYPES.get(rt, ()):
            concept: Any = res.get(element)  # parsed JSON: a dict whenever it has a coding list
            codings = concept.get("coding") if isinstance(concept, dict) else None
            if not isinstance(codings, list):
                continue
            for c in codings:
                if not isinstance(c, dict):
                    continue
                hit = k.order_action(c)
                if hit:
                    action, display = hit
                    # a str in every branch (the isinstance checks do not narrow the repeated .get calls)
                    text = cast(str, concept.get("text") if isinstance(concept.get("text"), str) else
                                c.get("display") if isinstance(c.get("display"), str) else display)
                    out.append((ref, text[:100], action))
                    break
            else:
                continue
            break
    return out
