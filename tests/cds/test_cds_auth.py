"""Authentication against a real server: every request needs a bearer JWT from an allow-listed issuer, verified
with a key from the issuer's JWKS (an in-test JWKS server on 127.0.0.1, or a local JWKS file). Each rejection
answers 401 with an OperationOutcome whose details code names the reason (the tool's own contract)."""

from __future__ import annotations

import json
import time

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
jwt = pytest.importorskip("jwt")
httpx = pytest.importorskip("httpx")

from cds_fixtures import AUD, ISS, Key, dvt_on_anticoagulation, hs256_token, jwks, none_token, request  # noqa: E402
from cds_support import JwksServer, Server, base_config, validate  # noqa: E402


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cds-auth")
    es384, rs384, es256 = Key("ES384"), Key("RS384"), Key("ES256")
    jw = JwksServer(jwks(es384, rs384, es256))
    file_key = Key("ES384")
    jwks_file = tmp / "jwks.json"
    jwks_file.write_text(json.dumps(jwks(file_key)), encoding="utf-8")
    cfg = base_config(tmp, jw.url, jwks_file)
    cfg["auth"]["jwks_refetch_seconds"] = 1
    server = Server(cfg, tmp).start()
    yield {"url": server.url, "jw": jw, "es384": es384, "rs384": rs384, "es256": es256, "file_key": file_key}
    server.stop()
    jw.close()


def get(env, token=None, header=None, path="/cds-services"):
    headers = {}
    if header is not None:
        headers["Authorization"] = header
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.get(env["url"] + path, headers=headers, timeout=30)


def accepted(resp) -> None:
    assert resp.status_code == 200, resp.text  # the rejection's reason when it is not


def rejected(resp) -> str:
    assert resp.status_code == 401, resp.text
    assert resp.headers.get("www-authenticate", "").startswith("Bearer")
    doc = resp.json()
    validate(doc, "OperationOutcome")
    return doc["issue"][0]["details"]["coding"][0]["code"]


@pytest.mark.parametrize("alg", ["es384", "rs384", "es256"])
def test_tokens_signed_with_allowed_asymmetric_algorithms_are_accepted(env, alg):
    key = env[alg]
    accepted(get(env, key.token(jku=env["jw"].url)))
    accepted(get(env, key.token()))  # no jku header: the issuer's allow-listed JWKS URL


def test_local_jwks_file_issuer(env):
    accepted(get(env, env["file_key"].token(iss=ISS + "/file")))
    # the file issuer's key does not verify for the URL issuer, and vice versa
    assert rejected(get(env, env["file_key"].token())) == "key-unknown"


def test_hook_endpoints_require_the_token_too(env):
    resp = httpx.post(env["url"] + "/cds-services/vascular-patient-view",
                      json=request("patient-view", dvt_on_anticoagulation()), timeout=30)
    assert rejected(resp) == "token-missing"
    resp = httpx.post(env["url"] + "/cds-services/vascular-patient-view/feedback",
                      json={"feedback": []}, timeout=30)
    assert rejected(resp) == "token-missing"


def test_no_token(env):
    assert rejected(get(env)) == "token-missing"
    assert rejected(get(env, header="Basic dXNlcjpwYXNz")) == "token-missing"
    assert rejected(get(env, header="Bearer")) == "token-missing"
    assert rejected(get(env, header="Bearer not.a.jwt")) == "token-invalid"


def test_wrong_audience(env):
    k = env["es384"]
    assert rejected(get(env, k.token(aud="https://other.example"))) == "audience-mismatch"
    # aud taken from the Host header the client sent is still wrong: the configured public base URL counts
    resp = httpx.get(env["url"] + "/cds-services", timeout=30, headers={
        "Authorization": f"Bearer {k.token(aud='https://attacker.example')}", "Host": "attacker.example"})
    assert rejected(resp) == "audience-mismatch"
    local = env["url"]  # the address the server really listens on is not its public base URL either
    assert rejected(get(env, k.token(aud=local))) == "audience-mismatch"
    # the public base URL joined with the endpoint path is accepted (the specification's aud)
    accepted(get(env, k.token(aud=AUD + "/cds-services")))


def test_expired_and_not_yet_valid(env):
    k = env["es384"]
    assert rejected(get(env, k.token(exp_in=-120, iat_offset=-400))) == "token-expired"
    assert rejected(get(env, k.token(iat_offset=600, exp_in=700))) == "token-not-yet-valid"
    assert rejected(get(env, k.token(exp_in=3600))) == "token-lifetime"


def test_replayed_jti(env):
    token = env["es384"].token(jti="replay-me-" + str(time.time()))
    accepted(get(env, token))
    assert rejected(get(env, token)) == "token-replayed"
    # the same jti in a fresh token is still a replay
    assert rejected(get(env, env["es384"].token(jti=json.loads(
        jwt.utils.base64url_decode(token.split(".")[1]))["jti"]))) == "token-replayed"


@pytest.mark.parametrize("claim", ["exp", "iat", "jti", "aud", "iss"])
def test_missing_claims(env, claim):
    code = rejected(get(env, env["es384"].token(omit=(claim,))))
    assert code in {"claim-missing", "issuer-not-allowed"}


def test_unknown_key(env):
    stranger = Key("ES384", kid=env["es384"].kid)  # same kid, different key: the signature does not verify
    assert rejected(get(env, stranger.token())) == "signature-invalid"
    assert rejected(get(env, Key("ES384").token())) == "key-unknown"  # a kid the JWKS does not hold


def test_unknown_issuer_and_jku_not_allow_listed(env):
    assert rejected(get(env, env["es384"].token(iss="https://evil.example"))) == "issuer-not-allowed"
    assert rejected(get(env, env["es384"].token(jku="http://127.0.0.1:1/jwks.json"))) == "jku-not-allowed"


def test_hs256_is_rejected_even_with_the_public_key_as_secret(env):
    """The algorithm-confusion attack: HMAC keyed with the issuer's public key."""
    from cryptography.hazmat.primitives import serialization

    pem = env["rs384"].private.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        token = hs256_token(pem.decode(), env["rs384"].kid)
    except jwt.exceptions.InvalidKeyError:  # newer PyJWT refuses to sign with a PEM key: build it by hand
        import base64
        import hashlib
        import hmac

        def b64(b):
            return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
        now = int(time.time())
        head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": env["rs384"].kid}).encode())
        body = b64(json.dumps({"iss": ISS, "aud": AUD, "exp": now + 200, "iat": now, "jti": "h1"}).encode())
        sig = b64(hmac.new(pem, f"{head}.{body}".encode(), hashlib.sha256).digest())
        token = f"{head}.{body}.{sig}"
    assert rejected(get(env, token)) == "algorithm-not-allowed"
    token = hs256_token("a-shared-secret-of-at-least-32-bytes!", env["es384"].kid)
    assert rejected(get(env, token)) == "algorithm-not-allowed"


def test_alg_none_is_rejected(env):
    assert rejected(get(env, none_token(env["es384"].kid))) == "algorithm-not-allowed"


def test_key_type_must_fit_the_algorithm(env):
    """An ES256 token whose kid names the P-384 key (or the RSA key) is refused before verification."""
    k = Key("ES256", kid=env["es384"].kid)
    assert rejected(get(env, k.token())) == "key-unsuitable"
    k = Key("ES384", kid=env["rs384"].kid)
    assert rejected(get(env, k.token())) == "key-unsuitable"


def test_tampered_payload(env):
    token = env["es384"].token()
    head, body, sig = token.split(".")
    claims = json.loads(jwt.utils.base64url_decode(body))
    claims["sub"] = "someone-else"
    forged = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    assert rejected(get(env, f"{head}.{forged}.{sig}")) == "signature-invalid"


def test_key_rotation_is_picked_up_from_the_jwks_url(env):
    new = Key("ES384")
    env["jw"].doc = jwks(env["es384"], env["rs384"], env["es256"], new)
    time.sleep(1.2)  # an unknown kid triggers at most one JWKS refetch per jwks_refetch_seconds (1 s here)
    accepted(get(env, new.token()))
