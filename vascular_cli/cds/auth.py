"""Bearer JWT authentication of the CDS client (CDS Hooks 2.0, "Trusting CDS Clients").

Every request (discovery included) carries ``Authorization: Bearer <JWT>``. The token is accepted only when:
- its header ``alg`` is one of the configured asymmetric algorithms (ES384, RS384, ES256): ``none`` and HMAC
  (HS256...) are refused before any key is looked at;
- its ``iss`` is an allow-listed issuer; its key (``kid``) comes from that issuer's JWKS: the ``jku`` header when it
  is on the issuer's allow-list (fetched over HTTP, cached), else the issuer's local JWKS file or allow-listed URLs;
- the key type fits the algorithm (RSA for RS384, EC P-384 for ES384, EC P-256 for ES256) and the signature verifies;
- ``aud`` is the configured public base URL (or it joined with the request path), never derived from the Host header;
- ``exp`` is in the future but no further than the configured maximum lifetime, ``iat`` is not in the future;
- ``jti`` was not seen before (replay cache in the store, kept until the token expires).
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from typing import TYPE_CHECKING, Any

import jwt

from .config import Config, Issuer

if TYPE_CHECKING:
    from .store import Store

CURVES = {"ES384": "P-384", "ES256": "P-256"}


class AuthError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class KeySource:
    """JWKS documents by URL (fetched, cached) or by file (re-read when it changes)."""

    def __init__(self, cache_seconds: float, timeout: float, refetch_seconds: float = 30.0):
        self.cache_seconds, self.timeout, self.refetch_seconds = cache_seconds, timeout, refetch_seconds
        self.urls: dict[str, tuple[float, list]] = {}
        self.files: dict[str, tuple[float, list]] = {}
        self.lock = threading.Lock()

    def from_file(self, path: str) -> list:
        try:
            mtime = os.stat(path).st_mtime
        except OSError as e:
            raise AuthError("jwks-unavailable", f"the issuer's JWKS file cannot be read ({e.strerror})") from None
        cached = self.files.get(path)
        if cached and cached[0] == mtime:
            return cached[1]
        try:
            with open(path, encoding="utf-8") as f:
                keys = _keys(json.load(f))
        except (OSError, ValueError) as e:
            raise AuthError("jwks-unavailable", f"the issuer's JWKS file is not a JWK Set ({e})") from None
        self.files[path] = (mtime, keys)
        return keys

    def from_url(self, url: str, refresh: bool = False) -> list:
        now = time.monotonic()
        cached = self.urls.get(url)
        if cached and now - cached[0] < self.cache_seconds:
            if not (refresh and now - cached[0] > self.refetch_seconds):
                return cached[1]
        with self.lock:
            req = urllib.request.Request(url, headers={"Accept": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 (allow-listed URL)
                    data = resp.read(1024 * 1024 + 1)
                if len(data) > 1024 * 1024:
                    raise ValueError("larger than 1 MiB")
                keys = _keys(json.loads(data))
            except Exception as e:  # network, HTTP or JSON problems: the token cannot be checked
                if cached:
                    return cached[1]
                raise AuthError("jwks-unavailable", f"the issuer's JWKS could not be fetched ({type(e).__name__})") \
                    from None
            self.urls[url] = (time.monotonic(), keys)
            return keys


def _keys(doc: Any) -> list:
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise ValueError("no 'keys' list")
    return [k for k in doc["keys"] if isinstance(k, dict)]


class Authenticator:
    def __init__(self, config: Config, store: Store) -> None:
        self.config, self.store = config, store
        self.issuers = {i.iss: i for i in config.issuers}
        self.keys = KeySource(config.jwks_cache_seconds, config.jwks_timeout_seconds, config.jwks_refetch_seconds)

    def verify(self, authorization: str | None, path: str) -> dict:
        """The verified claims, or AuthError. Blocking (may fetch a JWKS): call it from a worker thread."""
        if not authorization:
            raise AuthError("token-missing", "no bearer token (Authorization: Bearer <JWT> is required)")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthError("token-missing", "the Authorization header is not 'Bearer <JWT>'")
        if len(token) > 16384:
            raise AuthError("token-invalid", "the token is too long")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AuthError("token-invalid", "the token is not a well-formed JWT") from None
        alg = header.get("alg")
        if alg not in self.config.algorithms:
            raise AuthError("algorithm-not-allowed", f"token algorithm {alg!r} is not accepted (accepted: "
                                                     f"{', '.join(self.config.algorithms)})")
        typ = header.get("typ")
        if typ is not None and (not isinstance(typ, str) or typ.upper() != "JWT"):
            raise AuthError("token-invalid", "token typ must be JWT")
        iss: Any = unverified.get("iss")  # unverified claim; a str once an allow-listed issuer is found
        issuer = self.issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise AuthError("issuer-not-allowed", "the token's issuer (iss) is not on the allow-list")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("key-unknown", "the token header has no kid")
        jwk = self._key(issuer, header.get("jku"), kid)
        key = self._public_key(jwk, alg)
        c = self.config
        try:
            claims = jwt.decode(token, key, algorithms=[alg], audience=sorted(c.audiences(path)), issuer=iss,
                                leeway=c.leeway_seconds,
                                options={"require": ["exp", "iat", "jti", "iss", "aud"], "verify_aud": True})
        except jwt.ExpiredSignatureError:
            raise AuthError("token-expired", "the token has expired") from None
        except jwt.InvalidAudienceError:
            raise AuthError("audience-mismatch", "the token's aud is not this service's public base URL") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("token-not-yet-valid", "the token is not valid yet (iat or nbf in the future)") from None
        except jwt.MissingRequiredClaimError as e:
            raise AuthError("claim-missing", f"the token has no {e.claim} claim") from None
        except jwt.InvalidSignatureError:
            raise AuthError("signature-invalid", "the token's signature does not verify") from None
        except jwt.PyJWTError as e:
            raise AuthError("token-invalid", f"the token is not valid ({type(e).__name__})") from None
        now = time.time()
        if not isinstance(claims.get("iat"), (int, float)) or claims["iat"] > now + c.leeway_seconds:
            raise AuthError("token-not-yet-valid", "the token's iat is in the future")
        if claims["exp"] > now + c.max_token_lifetime_seconds + c.leeway_seconds:
            raise AuthError("token-lifetime", f"the token expires more than {c.max_token_lifetime_seconds} s from now")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > 512:
            raise AuthError("claim-missing", "the token's jti must be a non-empty string")
        if not self.store.first_use(iss, jti, float(claims["exp"])):
            raise AuthError("token-replayed", "the token's jti was already used (replay)")
        return claims

    def _key(self, issuer: Issuer, jku: Any, kid: str) -> dict:
        if jku is not None:
            if not isinstance(jku, str) or jku not in issuer.jku:
                raise AuthError("jku-not-allowed", "the token's jku is not on the issuer's allow-list")
            sources = [("url", jku)]
        elif issuer.jwks_file:
            sources = [("file", issuer.jwks_file)]
        else:
            sources = [("url", u) for u in issuer.jku]
        for refresh in (False, True):
            for kind, where in sources:
                keys = self.keys.from_file(where) if kind == "file" else self.keys.from_url(where, refresh)
                for k in keys:
                    if k.get("kid") == kid:
                        return k
            if all(kind == "file" for kind, _ in sources):
                break
        raise AuthError("key-unknown", "no key with the token's kid in the issuer's JWKS")

    @staticmethod
    def _public_key(jwk: dict, alg: str) -> Any:  # PyJWK.key: a cryptography public key
        if jwk.get("use") not in (None, "sig") or (jwk.get("alg") is not None and jwk.get("alg") != alg):
            raise AuthError("key-unsuitable", "the key is not a signing key for the token's algorithm")
        if "d" in jwk:
            raise AuthError("key-unsuitable", "the JWKS holds a private key")
        kty = jwk.get("kty")
        if (alg == "RS384" and kty != "RSA") or (alg in CURVES and (kty != "EC" or jwk.get("crv") != CURVES[alg])):
            raise AuthError("key-unsuitable", f"a {kty} key cannot verify {alg}")
        try:
            return jwt.PyJWK(jwk, algorithm=alg).key
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            raise AuthError("key-unsuitable", "the key in the JWKS is malformed") from None
