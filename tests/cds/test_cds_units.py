"""In-process checks of the CDS Hooks service pieces: configuration, cards over every FHIR example Bundle, CORS when
configured, fetching missing prefetch from an allow-listed FHIR server (a loopback mock), and the CLI command."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("jwt")
pytest.importorskip("httpx")

from cds_fixtures import AUD, ISS, Key, dvt_on_anticoagulation, jwks, request, searchset  # noqa: E402
from cds_support import ROOT, ThreadServer, validate  # noqa: E402
from conftest import cli  # noqa: E402

BUNDLES = sorted((ROOT / "tests" / "fhir" / "bundles").glob("*.json"))


@pytest.fixture(scope="module")
def knowledge():
    from vascular_cli.cds.adapter import Knowledge

    return Knowledge()


def config(tmp: Path, **extra):
    from vascular_cli.cds.config import from_mapping

    key = Key("ES384")
    (tmp / "jwks.json").write_text(json.dumps(jwks(key)), encoding="utf-8")
    doc = {"public_base_url": AUD, "database": str(tmp / "db.sqlite3"),
           "auth": {"issuers": [{"iss": ISS, "jwks_file": str(tmp / "jwks.json")}]}}
    doc.update(extra)
    return from_mapping(doc), key


@pytest.mark.parametrize("path", BUNDLES, ids=[p.stem for p in BUNDLES])
def test_cards_for_every_example_bundle_follow_the_model(knowledge, path):
    from vascular_cli.cds.cards import patient_cards

    bundle = json.loads(path.read_text(encoding="utf-8"))
    a = knowledge.assess(bundle)
    cards, recs = patient_cards(knowledge, a, 10, 5)
    validate({"cards": cards}, "Response")
    assert set(recs) == {c["uuid"] for c in cards}
    for c in cards:
        assert len(c["summary"]) < 140 and c["indicator"] in ("info", "warning")
    if not a.errors:
        shown = {i for ids in recs.values() for i in ids}
        assert {r.id for r in a.applies} <= shown


@pytest.mark.parametrize("doc, message", [
    ({}, "public_base_url"),
    ({"public_base_url": "cds.example"}, "http(s) URL"),
    ({"public_base_url": AUD}, "issuers"),
    ({"public_base_url": AUD, "auth": {"issuers": [{"iss": ISS}]}}, "jku"),
    ({"public_base_url": AUD, "auth": {"issuers": [{"iss": ISS, "jku": ["x"]}]}}, "http(s) URL"),
    ({"public_base_url": AUD, "auth": {"issuers": [{"iss": ISS, "jwks_file": "k.json"}], "algorithms": ["HS256"]}},
     "only ES384, RS384, ES256"),
    ({"public_base_url": AUD, "auth": {"issuers": [{"iss": ISS, "jwks_file": "k.json"}], "algorithms": ["none"]}},
     "only ES384, RS384, ES256"),
    ({"public_base_url": AUD, "auth": {"issuers": [{"iss": ISS, "jwks_file": "k.json"}]}, "port": "80"}, "port"),
    ({"public_base_url": AUD, "auth": {"issuers": [{"iss": ISS, "jwks_file": "k.json"}]}, "colour": 1}, "unknown key"),
    ({"public_base_url": AUD, "auth": {"issuers": [{"iss": ISS, "jwks_file": "k.json"}]},
      "required_prefetch": ["labs"]}, "required_prefetch"),
    ({"public_base_url": AUD, "auth": {"issuers": [{"iss": ISS, "jwks_file": "k.json"}]}, "cors": {"allow": []}},
     "unknown key"),
])
def test_bad_configuration_is_refused_with_the_key_named(doc, message):
    from vascular_cli.cds.config import ConfigError, from_mapping

    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        from_mapping(doc)


def test_defaults_are_safe(tmp_path):
    cfg, _ = config(tmp_path)
    assert cfg.cors_origins == () and cfg.fhir_fetch is False
    assert set(cfg.algorithms) == {"ES384", "RS384", "ES256"}
    assert cfg.audiences("/cds-services") == {AUD, AUD + "/", AUD + "/cds-services"}


def test_cors_when_configured(tmp_path):
    from vascular_cli.cds.app import create_app

    cfg, key = config(tmp_path, cors={"allow_origins": ["https://ehr.example"]})
    with ThreadServer(create_app(cfg)) as client:
        _cors(client, key)


def _cors(client, key):
    resp = client.options("/cds-services", headers={"Origin": "https://ehr.example",
                                                    "Access-Control-Request-Method": "GET",
                                                    "Access-Control-Request-Headers": "authorization"})
    assert resp.headers.get("access-control-allow-origin") == "https://ehr.example"
    resp = client.options("/cds-services", headers={"Origin": "https://other.example",
                                                    "Access-Control-Request-Method": "GET"})
    assert resp.headers.get("access-control-allow-origin") != "https://other.example"
    resp = client.get("/cds-services", headers={"Origin": "https://ehr.example",
                                                "Authorization": f"Bearer {key.token()}"})
    assert resp.status_code == 200 and resp.headers["access-control-allow-origin"] == "https://ehr.example"


class FhirMock:
    """A loopback FHIR server answering the prefetch queries; records the queries and the bearer tokens."""

    def __init__(self, data: dict):
        self.queries, self.tokens = [], []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.queries.append(self.path)
                outer.tokens.append(self.headers.get("Authorization"))
                rt = self.path.split("/fhir/", 1)[1].split("?")[0].split("/")[0]
                value = data.get(rt)
                body = json.dumps(value).encode()
                self.send_response(200 if value is not None else 404)
                self.send_header("Content-Type", "application/fhir+json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/fhir"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_missing_prefetch_is_fetched_from_an_allow_listed_fhir_server(tmp_path):
    from vascular_cli.cds.app import create_app

    pre = dvt_on_anticoagulation()
    mock = FhirMock({"Patient": pre["patient"], "Condition": pre["conditions"], "Observation": searchset(),
                     "MedicationRequest": pre["medications"]})
    try:
        auth = {"access_token": "ehr-token", "token_type": "Bearer", "expires_in": 300, "scope": "patient/*.read",
                "subject": "vascular"}
        body = dict(request("patient-view", None), fhirServer=mock.base, fhirAuthorization=auth)
        # fetching disabled (the default): 412
        cfg, key = config(tmp_path)
        with ThreadServer(create_app(cfg)) as client:
            resp = client.post("/cds-services/vascular-patient-view", json=body,
                               headers={"Authorization": f"Bearer {key.token()}"})
        assert resp.status_code == 412 and mock.queries == []
        # enabled but the server is not allow-listed: 412, no call
        (tmp_path / "b").mkdir()
        cfg, key = config(tmp_path / "b", fhir_fetch={"enabled": True, "allowed_servers": ["https://other.example/fhir"]})
        with ThreadServer(create_app(cfg)) as client:
            resp = client.post("/cds-services/vascular-patient-view", json=body,
                               headers={"Authorization": f"Bearer {key.token()}"})
        assert resp.status_code == 412 and mock.queries == []
        # enabled and allow-listed: fetched with the EHR's access token
        (tmp_path / "c").mkdir()
        cfg, key = config(tmp_path / "c", fhir_fetch={"enabled": True, "allowed_servers": [mock.base]})
        with ThreadServer(create_app(cfg)) as client:
            resp = client.post("/cds-services/vascular-patient-view", json=body,
                               headers={"Authorization": f"Bearer {key.token()}"})
        assert resp.status_code == 200, resp.text
        validate(resp.json(), "Response")
        assert any("R29" in c["detail"] for c in resp.json()["cards"])
        assert sorted(q.split("?")[0] for q in mock.queries) == ["/fhir/Condition", "/fhir/MedicationRequest",
                                                                 "/fhir/Observation", "/fhir/Patient/p1"]
        assert set(mock.tokens) == {"Bearer ehr-token"}
    finally:
        mock.close()


def test_serve_check_and_bad_config_through_the_cli(tmp_path):
    key = Key("ES384")
    (tmp_path / "jwks.json").write_text(json.dumps(jwks(key)), encoding="utf-8")
    good = tmp_path / "cds.yaml"
    good.write_text(f"public_base_url: {AUD}\nauth:\n  issuers:\n    - iss: {ISS}\n      jwks_file: jwks.json\n",
                    encoding="utf-8")
    run = cli("serve", "--config", str(good), "--check")
    assert run.code == 0 and "configuration OK" in run.out
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"public_base_url: {AUD}\n", encoding="utf-8")
    run = cli("serve", "--config", str(bad))
    assert run.code == 2 and "issuers" in run.err
    run = cli("serve", "--config", str(tmp_path / "missing.yaml"))
    assert run.code == 2 and "cannot read" in run.err


def test_serve_without_the_extra_says_how_to_install_it(tmp_path, monkeypatch):
    key = Key("ES384")
    (tmp_path / "jwks.json").write_text(json.dumps(jwks(key)), encoding="utf-8")
    good = tmp_path / "cds.yaml"
    good.write_text(f"public_base_url: {AUD}\nauth:\n  issuers:\n    - iss: {ISS}\n      jwks_file: jwks.json\n",
                    encoding="utf-8")
    for name in [m for m in sys.modules if m == "vascular_cli.cds.app" or m.startswith("starlette")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "starlette", None)
    run = cli("serve", "--config", str(good))
    assert run.code == 2 and 'pip install "vascular[cds]"' in run.err


def test_the_cli_start_up_path_imports_nothing_of_the_service():
    code = ("import sys; from vascular_cli.cli import main; main(['recommend', '--ceap', 'C6', '--format', 'json']); "
            "bad = [m for m in ('starlette', 'uvicorn', 'jwt', 'httpx', 'sqlite3', 'vascular_cli.cds') "
            "if m in sys.modules]; sys.stderr.write(repr(bad)); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-500:]
