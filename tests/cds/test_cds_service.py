"""The CDS Hooks service against a real server: uvicorn (``vascular serve``) on 127.0.0.1, called with httpx.
Responses are validated against a JSON Schema written from the CDS Hooks 2.0 request/response model."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("jwt")
httpx = pytest.importorskip("httpx")

from cds_fixtures import (  # noqa: E402
    ATC,
    CPT,
    ICD,
    VLES,
    Key,
    condition,
    draft,
    dvt_on_anticoagulation,
    jwks,
    orders_bundle,
    request,
    searchset,
)
from cds_support import JwksServer, Server, base_config, validate  # noqa: E402

PV, OSEL, OSIGN = "/cds-services/vascular-patient-view", "/cds-services/vascular-order-select", \
    "/cds-services/vascular-order-sign"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cds")
    key = Key("ES384")
    jw = JwksServer(jwks(key))
    server = Server(base_config(tmp, jw.url), tmp).start()
    yield {"key": key, "url": server.url, "jwks": jw, "server": server, "tmp": tmp}
    server.stop()
    jw.close()


def call(env, path, body=None, token=None, raw: bytes | None = None, headers=None, method=None):
    h = {"Authorization": f"Bearer {token or env['key'].token()}"}
    h.update(headers or {})
    if method == "GET" or (body is None and raw is None):
        return httpx.get(env["url"] + path, headers=h, timeout=30)
    if raw is not None:
        return httpx.post(env["url"] + path, content=raw, headers={**h, "Content-Type": "application/json"},
                          timeout=30)
    return httpx.post(env["url"] + path, json=body, headers=h, timeout=30)


def cards_of(resp) -> list:
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    validate(doc, "Response")
    return doc["cards"]


def outcome_code(resp) -> str:
    doc = resp.json()
    validate(doc, "OperationOutcome")
    assert resp.headers["content-type"].startswith("application/fhir+json")
    return doc["issue"][0]["details"]["coding"][0]["code"]


def rec_ids(card) -> set:
    import re

    return set(re.findall(r"Recommendation id: `([^`]+)`", card["detail"]))


# --- discovery ---------------------------------------------------------------------------------------------------
def test_discovery_lists_the_three_services_with_prefetch_templates(env):
    resp = call(env, "/cds-services")
    assert resp.status_code == 200
    doc = resp.json()
    validate(doc, "Discovery")
    hooks = {s["hook"]: s for s in doc["services"]}
    assert set(hooks) == {"patient-view", "order-select", "order-sign"}
    for s in doc["services"]:
        assert set(s["prefetch"]) == {"patient", "conditions", "observations", "medications"}
        assert s["prefetch"]["patient"] == "Patient/{{context.patientId}}"
        assert all("{{context.patientId}}" in q for q in s["prefetch"].values())


# --- patient-view ------------------------------------------------------------------------------------------------
def _library_applies(prefetch):
    """The recommendation ids the library says apply to the same data (the service must show each of them)."""
    import vascular_cli as vascular
    from vascular_cli.cds.hooks import bundle
    from vascular_cli.fhir import load_mapping, profile_from_bundle

    kb = vascular.load()
    doc = request("patient-view", prefetch)
    got = {k: (v["entry"] and [e["resource"] for e in v["entry"]]) if v.get("resourceType") == "Bundle" else [v]
           for k, v in prefetch.items()}
    fp = profile_from_bundle(bundle(doc, got), load_mapping(None, kb.vocabulary), kb.vocabulary)
    result = vascular.evaluate(kb, vascular.make_profile(kb, **fp.document))
    return {m.rec.full_id for m in result.by_status("applies")}


def test_patient_view_cards_follow_the_specification_and_the_library(env):
    prefetch = dvt_on_anticoagulation()
    cards = cards_of(call(env, PV, request("patient-view", prefetch)))
    assert cards
    assert len({c["uuid"] for c in cards}) == len(cards)
    from vascular_cli import DISCLAIMER

    shown = set()
    for c in cards:
        assert len(c["summary"]) < 140
        assert "suggestions" not in c  # never a suggestion that changes an order
        assert DISCLAIMER.split(";")[0] in c["detail"].replace("\\", "")
        ids = rec_ids(c)
        shown |= ids
        if ids:  # a recommendation card: source names the body and year, the DOI when there is one
            assert any(f" {y}, " in c["source"]["label"] for y in range(1990, 2100))
            assert "Grade (as published):" in c["detail"] and "Certainty:" in c["detail"]
    applies = _library_applies(prefetch)
    assert applies and applies <= shown  # every applying recommendation is on a card (10-card limit not reached)
    ivc = [c for c in cards if "esvs-2021-vt/R29" in rec_ids(c)]
    assert len(ivc) == 1 and ivc[0]["indicator"] == "info"  # against, not hit by an order: info
    assert ivc[0]["source"]["url"] == "https://doi.org/10.1016/j.ejvs.2020.09.023"
    assert "Class III, Level B" in ivc[0]["detail"]
    conflicts = [c for c in cards if c["summary"].startswith("Guidelines disagree")]
    assert all(c["indicator"] == "warning" for c in conflicts)
    facts = [c for c in cards if "bears on" in c["detail"]]
    assert len(facts) == 1 and facts[0]["indicator"] == "info"


def test_patient_view_missing_facts_card_names_the_engines_missing_facts(env):
    prefetch = {"patient": {"resourceType": "Patient", "id": "p1"},
                "conditions": searchset(condition("c1", VLES, "chronic-occlusion"))}
    cards = cards_of(call(env, PV, request("patient-view", prefetch)))
    facts = [c for c in cards if "bears on" in c["detail"]]
    assert len(facts) == 1
    # the card lists at most 5 facts, each worded (never a raw option such as --ceap)
    lines = [ln for ln in facts[0]["detail"].splitlines() if ln.startswith("- ")]
    assert 1 <= len(lines) <= 5
    assert "--" not in facts[0]["detail"]


def test_unreadable_record_gives_one_info_card_not_an_error(env):
    prefetch = dvt_on_anticoagulation()
    prefetch["conditions"] = searchset(condition("c1", ICD, "I82422"))  # ICD-10-CM code without its dot
    cards = cards_of(call(env, PV, request("patient-view", prefetch)))
    assert len(cards) == 1 and cards[0]["indicator"] == "info"
    assert "I82422" in cards[0]["detail"]


# --- order-select / order-sign -----------------------------------------------------------------------------------
def test_order_select_warns_when_a_selected_order_meets_an_against_recommendation(env):
    orders = orders_bundle(draft("ServiceRequest", "s1", CPT, "37191", "IVC filter insertion"),
                           draft("MedicationRequest", "m9", ATC, "B01AF01", "rivaroxaban 20 mg"))
    body = request("order-select", dvt_on_anticoagulation(), selections=["ServiceRequest/s1"], draftOrders=orders)
    cards = cards_of(call(env, OSEL, body))
    assert len(cards) == 1
    c = cards[0]
    assert c["indicator"] == "warning" and "esvs-2021-vt/R29" in rec_ids(c)
    assert "IVC filter insertion" in c["summary"] and len(c["summary"]) < 140
    assert c["overrideReasons"] and "suggestions" not in c
    # the anticoagulant alone (selected, no against recommendation applies) gives no card
    body = request("order-select", dvt_on_anticoagulation(), selections=["MedicationRequest/m9"], draftOrders=orders)
    assert cards_of(call(env, OSEL, body)) == []


def test_order_sign_checks_every_draft_order_and_stenting(env):
    prefetch = {"patient": {"resourceType": "Patient", "id": "p1"},
                "conditions": searchset(dict(condition("c1", VLES, "chronic-occlusion"), severity={"coding": [
                    {"system": "http://snomed.info/sct", "code": "255604002", "display": "Mild"}]}))}
    orders = orders_bundle(draft("ServiceRequest", "s2", CPT, "37238", "Iliac vein stent"),
                           draft("ServiceRequest", "s3", "http://example.org/local", "X1", "unmapped order"))
    cards = cards_of(call(env, OSIGN, request("order-sign", prefetch, draftOrders=orders)))
    assert len(cards) == 1 and cards[0]["indicator"] == "warning"
    assert "esvs-2022-cvd/R61" in rec_ids(cards[0])
    assert "Iliac vein stent" in cards[0]["summary"]


def test_project_action_codes_are_read_in_draft_orders(env):
    orders = orders_bundle(draft("ServiceRequest", "s1",
                                 "https://github.com/vascular/vascular/fhir/CodeSystem/vascular-action",
                                 "retrievable-ivc-filter", "Retrievable IVC filter"))
    cards = cards_of(call(env, OSIGN, request("order-sign", dvt_on_anticoagulation(), draftOrders=orders)))
    assert len(cards) == 1 and "esvs-2021-vt/R29" in rec_ids(cards[0])


# --- 412 -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("drop", ["patient", "conditions"])
def test_required_prefetch_missing_and_not_obtainable_is_412(env, drop):
    prefetch = dvt_on_anticoagulation()
    del prefetch[drop]
    resp = call(env, PV, request("patient-view", prefetch))
    assert resp.status_code == 412 and outcome_code(resp) == "prefetch-missing"
    assert drop in resp.json()["issue"][0]["diagnostics"]


def test_prefetch_null_or_operation_outcome_counts_as_missing(env):
    for value in (None, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "exception"}]}):
        prefetch = dict(dvt_on_anticoagulation(), conditions=value)
        resp = call(env, PV, request("patient-view", prefetch))
        assert resp.status_code == 412


def test_optional_prefetch_missing_is_fine(env):
    prefetch = dvt_on_anticoagulation()
    del prefetch["observations"], prefetch["medications"]
    assert cards_of(call(env, PV, request("patient-view", prefetch)))


# --- malformed input: 400 with an OperationOutcome, never a 500 ----------------------------------------------------
BAD = [
    b"", b"{", b"[]", b"null", b'"text"', b"\xff\xfe", b'{"hook": "patient-view"}',
    json.dumps({"hook": "order-sign", "hookInstance": "x", "context": {"userId": "u", "patientId": "p1"}}).encode(),
    json.dumps({"hook": "patient-view", "hookInstance": "x", "context": []}).encode(),
    json.dumps({"hook": "patient-view", "hookInstance": "x", "context": {"userId": "u"}}).encode(),
    json.dumps({"hook": "patient-view", "hookInstance": "x", "context": {"userId": "u", "patientId": "../x"}}).encode(),
    json.dumps({"hook": "patient-view", "hookInstance": 5, "context": {"userId": "u", "patientId": "p1"}}).encode(),
    json.dumps({"hook": "patient-view", "hookInstance": "x", "context": {"userId": "u", "patientId": "p1"},
                "prefetch": []}).encode(),
    json.dumps({"hook": "patient-view", "hookInstance": "x", "context": {"userId": "u", "patientId": "p1"},
                "prefetch": {"patient": "Patient/p1", "conditions": {}}}).encode(),
    json.dumps({"hook": "patient-view", "hookInstance": "x", "context": {"userId": "u", "patientId": "p1"},
                "prefetch": {"patient": {"resourceType": "Patient", "id": "other"},
                             "conditions": searchset()}}).encode(),
    json.dumps({"hook": "patient-view", "hookInstance": "x", "context": {"userId": "u", "patientId": "p1"},
                "fhirAuthorization": {"access_token": "t", "token_type": "Bearer", "expires_in": 1, "scope": "s",
                                      "subject": "c"}}).encode(),
    b"[" * 100000 + b"]" * 100000,
]


@pytest.mark.parametrize("raw", BAD, ids=range(len(BAD)))
def test_malformed_requests_get_400_with_an_operation_outcome(env, raw):
    resp = call(env, PV, raw=raw)
    assert resp.status_code == 400, resp.text
    outcome_code(resp)


@pytest.mark.parametrize("context", [
    {"userId": "u", "patientId": "p1"},  # no draftOrders, no selections
    {"userId": "u", "patientId": "p1", "draftOrders": {"resourceType": "Patient"}, "selections": ["X/1"]},
    {"userId": "u", "patientId": "p1", "draftOrders": orders_bundle(), "selections": []},
    {"userId": "u", "patientId": "p1", "draftOrders": {"resourceType": "Bundle", "entry": {}}, "selections": ["a"]},
])
def test_malformed_order_select_contexts_get_400(env, context):
    body = {"hook": "order-select", "hookInstance": "x", "context": context, "prefetch": dvt_on_anticoagulation()}
    resp = call(env, OSEL, body)
    assert resp.status_code == 400 and outcome_code(resp)


def test_random_mutations_of_a_valid_request_never_give_500(env):
    import random

    rng = random.Random(17)
    base = request("order-select", dvt_on_anticoagulation(), selections=["ServiceRequest/s1"],
                   draftOrders=orders_bundle(draft("ServiceRequest", "s1", CPT, "37191", "IVC filter")))
    junk = [None, 0, -1, 1.5, True, "", "x" * 300, [], {}, [None], {"resourceType": "Bundle", "entry": [None]},
            {"coding": "x"}, {"resourceType": "Patient"}]

    def paths(node, prefix=()):
        yield prefix
        if isinstance(node, dict):
            for k, v in node.items():
                yield from paths(v, prefix + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from paths(v, prefix + (i,))

    all_paths = [p for p in paths(base) if p]
    statuses = set()
    for _ in range(120):
        doc = json.loads(json.dumps(base))
        path = rng.choice(all_paths)
        node = doc
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = rng.choice(junk)
        resp = call(env, OSEL, doc)
        statuses.add(resp.status_code)
        assert resp.status_code in (200, 400, 412), (path, resp.text)
        if resp.status_code != 200:
            outcome_code(resp)
        else:
            validate(resp.json(), "Response")
    assert 400 in statuses


def test_body_size_limit_gives_413(env):
    big = json.dumps(request("patient-view", dict(dvt_on_anticoagulation(), padding="x" * 300000))).encode()
    resp = call(env, PV, raw=big)
    assert resp.status_code == 413 and outcome_code(resp) == "body-too-large"


def test_unknown_service_and_endpoint_give_404(env):
    resp = call(env, "/cds-services/nope", request("patient-view", dvt_on_anticoagulation()))
    assert resp.status_code == 404 and outcome_code(resp) == "unknown-service"
    resp = call(env, "/elsewhere", method="GET")
    assert resp.status_code == 404 and outcome_code(resp)


def test_wrong_method_gives_405_with_an_operation_outcome(env):
    resp = httpx.delete(env["url"] + "/cds-services", headers={"Authorization": f"Bearer {env['key'].token()}"})
    assert resp.status_code == 405 and outcome_code(resp)


def test_cors_is_off_by_default(env):
    resp = httpx.options(env["url"] + PV, headers={"Origin": "https://evil.example",
                                                   "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in resp.headers
    resp = call(env, "/cds-services", headers={"Origin": "https://evil.example"})
    assert resp.status_code == 200 and "access-control-allow-origin" not in resp.headers


def test_cards_are_stored_with_their_content(env):
    cards = cards_of(call(env, PV, request("patient-view", dvt_on_anticoagulation())))
    from vascular_cli.cds.store import Store

    store = Store(str(env["tmp"] / "cds.sqlite3"))
    try:
        for c in cards:
            saved = store.card(c["uuid"])
            assert saved is not None and saved["card"] == c and saved["service"] == "vascular-patient-view"
    finally:
        store.close()


def test_order_hooks_without_a_mapped_order_need_no_patient_data(env):
    orders = orders_bundle(draft("ServiceRequest", "s3", "http://example.org/local", "X1", "unmapped order"))
    body = request("order-sign", {"patient": {"resourceType": "Patient", "id": "p1"}}, draftOrders=orders)
    assert cards_of(call(env, OSIGN, body)) == []  # conditions not prefetched, yet no 412: nothing to check
