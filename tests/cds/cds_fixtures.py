"""Shared helpers for the CDS Hooks tests: keys, JWKS, tokens, FHIR data, requests."""

from __future__ import annotations

import json
import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

AUD = "https://cds.example.test"
ISS = "https://ehr.example.test"


class Key:
    def __init__(self, alg: str = "ES384", kid: str | None = None):
        self.alg, self.kid = alg, kid or f"{alg.lower()}-{uuid.uuid4().hex[:8]}"
        if alg == "RS384":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            curve = ec.SECP384R1() if alg == "ES384" else ec.SECP256R1()
            self.private = ec.generate_private_key(curve)
            jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwk = dict(jwk, kid=self.kid, alg=alg, use="sig")

    def token(self, aud: str = AUD, iss: str = ISS, exp_in: float = 240, iat_offset: float = 0, jti: str | None = None,
              jku: str | None = None, omit=(), **extra) -> str:
        now = int(time.time())
        claims = {"iss": iss, "sub": "test-client", "aud": aud, "exp": now + exp_in, "iat": now + iat_offset,
                  "jti": jti or uuid.uuid4().hex}
        claims.update(extra)
        for k in omit:
            claims.pop(k, None)
        headers = {"kid": self.kid, "typ": "JWT"}
        if jku:
            headers["jku"] = jku
        return jwt.encode(claims, self.private, algorithm=self.alg, headers=headers)


def jwks(*keys: Key) -> dict:
    return {"keys": [k.jwk for k in keys]}


def hs256_token(secret: str, kid: str, aud: str = AUD) -> str:
    now = int(time.time())
    return jwt.encode({"iss": ISS, "aud": aud, "exp": now + 200, "iat": now, "jti": uuid.uuid4().hex}, secret,
                      algorithm="HS256", headers={"kid": kid})


def none_token(kid: str, aud: str = AUD) -> str:
    import base64

    def b64(d):
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    now = int(time.time())
    return b64({"alg": "none", "typ": "JWT", "kid": kid}) + "." + b64(
        {"iss": ISS, "aud": aud, "exp": now + 200, "iat": now, "jti": uuid.uuid4().hex}) + "."


# --- FHIR data -----------------------------------------------------------------------------------------------------
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
ATC = "http://www.whocc.no/atc"
CPT = "http://www.ama-assn.org/go/cpt"
VOBS = "https://github.com/vascular/vascular/fhir/CodeSystem/vascular-observation"
VLES = "https://github.com/vascular/vascular/fhir/CodeSystem/vascular-lesion"
VFAC = "https://github.com/vascular/vascular/fhir/CodeSystem/vascular-factor"


def searchset(*resources) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"resource": r} for r in resources]}


def condition(cid: str, system: str, code: str, pid: str = "p1", display: str | None = None) -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"resourceType": "Condition", "id": cid, "subject": {"reference": f"Patient/{pid}"},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": "active"}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                               "code": "confirmed"}]},
            "code": {"coding": [coding]}}


def factor(oid: str, name: str, value: bool, pid: str = "p1") -> dict:
    return {"resourceType": "Observation", "id": oid, "status": "final", "subject": {"reference": f"Patient/{pid}"},
            "code": {"coding": [{"system": VFAC, "code": name}]}, "valueBoolean": value}


def medication(mid: str, atc: str, pid: str = "p1", status: str = "active") -> dict:
    return {"resourceType": "MedicationRequest", "id": mid, "status": status, "intent": "order",
            "subject": {"reference": f"Patient/{pid}"},
            "medicationCodeableConcept": {"coding": [{"system": ATC, "code": atc}]}}


def dvt_on_anticoagulation(pid: str = "p1") -> dict:
    """Prefetch for a patient with an acute iliofemoral DVT on a factor Xa inhibitor (apixaban)."""
    return {
        "patient": {"resourceType": "Patient", "id": pid, "gender": "female", "birthDate": "1970-01-01"},
        "conditions": searchset(condition("c1", ICD, "I82.421", pid, "Acute DVT of right iliac vein")),
        "observations": searchset(factor("o1", "first-episode", True, pid)),
        "medications": searchset(medication("m1", "B01AF02", pid)),
    }


def request(hook: str, prefetch: dict | None, pid: str = "p1", **context) -> dict:
    doc = {"hook": hook, "hookInstance": str(uuid.uuid4()),
           "context": {"userId": "Practitioner/dr1", "patientId": pid, **context}}
    if prefetch is not None:
        doc["prefetch"] = prefetch
    return doc


def draft(rt: str, rid: str, system: str, code: str, text: str, pid: str = "p1") -> dict:
    element = {"MedicationRequest": "medicationCodeableConcept", "ServiceRequest": "code"}[rt]
    res = {"resourceType": rt, "id": rid, "status": "draft", "intent": "order",
           "subject": {"reference": f"Patient/{pid}"}, element: {"coding": [{"system": system, "code": code}],
                                                                 "text": text}}
    return res


def orders_bundle(*resources) -> dict:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
