"""Feedback (POST /cds-services/{id}/feedback) is stored durably in SQLite: a soak of feedback posts with the server
killed (SIGKILL) and restarted in the middle loses nothing, and every stored item still finds its card's content."""

from __future__ import annotations

import sqlite3
import uuid

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("jwt")
httpx = pytest.importorskip("httpx")

from cds_fixtures import CPT, Key, draft, dvt_on_anticoagulation, jwks, orders_bundle, request  # noqa: E402
from cds_support import JwksServer, Server, base_config, validate  # noqa: E402

POSTS = 200


@pytest.fixture()
def env(tmp_path):
    key = Key("ES384")
    jw = JwksServer(jwks(key))
    cfg = base_config(tmp_path, jw.url)
    yield {"key": key, "cfg": cfg, "tmp": tmp_path, "db": tmp_path / "cds.sqlite3"}
    jw.close()


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cds-feedback")
    key = Key("ES384")
    jw = JwksServer(jwks(key))
    server = Server(base_config(tmp, jw.url), tmp).start()
    yield server.url, key, tmp / "cds.sqlite3"
    server.stop()
    jw.close()


def post(url, key, path, body):
    return httpx.post(url + path, json=body, headers={"Authorization": f"Bearer {key.token()}"}, timeout=30)


def cards(url, key) -> list:
    resp = post(url, key, "/cds-services/vascular-order-sign", request(
        "order-sign", dvt_on_anticoagulation(),
        draftOrders=orders_bundle(draft("ServiceRequest", "s1", CPT, "37191", "IVC filter insertion"))))
    assert resp.status_code == 200
    return resp.json()["cards"]


def item(card: str, n: int) -> dict:
    fb = {"card": card, "outcome": "overridden" if n % 2 else "accepted",
          "outcomeTimestamp": f"2026-12-01T10:{n // 60 % 60:02d}:{n % 60:02d}Z"}
    if n % 2:
        fb["overrideReason"] = {"reason": {"system": "https://github.com/vascular/vascular/fhir/CodeSystem/"
                                                     "cds-override-reason", "code": "clinical-judgement"},
                                "userComment": f"soak {n}"}
    return fb


def test_feedback_soak_with_a_killed_and_restarted_server_loses_nothing(env):
    server = Server(env["cfg"], env["tmp"]).start()
    try:
        warning = cards(server.url, env["key"])
        assert len(warning) == 1
        card = warning[0]
        for n in range(POSTS // 2):
            body = {"feedback": [item(card["uuid"], n)]}
            validate(body, "Feedback")
            resp = post(server.url, env["key"], "/cds-services/vascular-order-sign/feedback", body)
            assert resp.status_code == 200 and resp.json() == {"stored": 1}
    finally:
        server.stop(kill=True)  # SIGKILL: no clean shutdown
    server = Server(env["cfg"], env["tmp"]).start()
    try:
        for n in range(POSTS // 2, POSTS):
            resp = post(server.url, env["key"], "/cds-services/vascular-order-sign/feedback",
                        {"feedback": [item(card["uuid"], n)]})
            assert resp.status_code == 200
    finally:
        server.stop()
    with sqlite3.connect(env["db"]) as db:
        rows = db.execute("SELECT f.outcome, f.override_code, f.user_comment, f.card_known, c.summary, c.card "
                          "FROM feedback f JOIN cards c ON c.uuid = f.card ORDER BY f.id").fetchall()
    assert len(rows) == POSTS
    assert [r[0] for r in rows] == ["overridden" if n % 2 else "accepted" for n in range(POSTS)]
    assert [r[2] for r in rows if r[2]] == [f"soak {n}" for n in range(POSTS) if n % 2]
    assert all(r[3] == 1 and r[4] == card["summary"] for r in rows)
    assert {r[1] for r in rows} == {None, "clinical-judgement"}


def test_feedback_for_an_unknown_card_is_kept_and_marked(env):
    server = Server(env["cfg"], env["tmp"]).start()
    try:
        resp = post(server.url, env["key"], "/cds-services/vascular-patient-view/feedback",
                    {"feedback": [item(str(uuid.uuid4()), 0)]})
        assert resp.status_code == 200
    finally:
        server.stop()
    with sqlite3.connect(env["db"]) as db:
        assert db.execute("SELECT card_known FROM feedback").fetchall() == [(0,)]


@pytest.mark.parametrize("body", [
    {}, {"feedback": []}, {"feedback": [{"card": "x"}]}, {"feedback": [{"card": "x", "outcome": "maybe",
                                                                       "outcomeTimestamp": "2026-12-01T10:00:00Z"}]},
    {"feedback": [{"card": "x", "outcome": "accepted", "outcomeTimestamp": "yesterday"}]},
    {"feedback": [{"card": "x", "outcome": "accepted", "outcomeTimestamp": "2026-12-01T10:00:00Z",
                   "overrideReason": {"userComment": "not with accepted"}}]},
    {"feedback": [{"card": "x", "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:00:00Z",
                   "overrideReason": {"reason": "free text"}}]},
    {"feedback": ["x"]}, [],
])
def test_malformed_feedback_is_400_and_nothing_is_stored(shared, body):
    url, key, db_path = shared
    resp = post(url, key, "/cds-services/vascular-patient-view/feedback", body)
    assert resp.status_code == 400
    validate(resp.json(), "OperationOutcome")
    resp = post(url, key, "/cds-services/unknown/feedback", {"feedback": [item("x", 0)]})
    assert resp.status_code == 404
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT count(*) FROM feedback").fetchone() == (0,)
