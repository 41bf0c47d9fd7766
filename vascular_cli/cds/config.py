"""``vascular serve --config FILE``: the service configuration (YAML or JSON), checked strictly: an unknown key or a
wrong type is an error naming the key, never ignored."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

ALGORITHMS = ("ES384", "RS384", "ES256")  # asymmetric only; 'none' and HMAC can never be configured


class ConfigError(ValueError):
    pass


class Issuer(NamedTuple):
    iss: str
    jku: tuple[str, ...] = ()  # allow-listed JWKS URLs (the token's jku header must be one of them)
    jwks_file: str | None = None  # a local JWKS file (used when the token has no jku, or instead of any URL)


class Config(NamedTuple):
    public_base_url: str
    issuers: tuple[Issuer, ...]
    host: str = "127.0.0.1"
    port: int = 8080
    database: str = "vascular-cds.sqlite3"
    guidelines: tuple[str, ...] = ()
    max_body_bytes: int = 5 * 1024 * 1024
    cors_origins: tuple[str, ...] = ()
    algorithms: tuple[str, ...] = ALGORITHMS
    leeway_seconds: int = 30
    max_token_lifetime_seconds: int = 300
    jwks_cache_seconds: int = 3600
    jwks_refetch_seconds: int = 30  # at most one refetch per URL in this time when a kid is unknown (key rotation)
    jwks_timeout_seconds: float = 3.0
    required_prefetch: tuple[str, ...] = ("patient", "conditions")
    fhir_fetch: bool = False
    fhir_servers: tuple[str, ...] = ()
    fhir_timeout_seconds: float = 3.0
    max_recommendation_cards: int = 10
    max_missing_facts: int = 5
    log_level: str = "warning"

    def audiences(self, path: str) -> set[str]:
        """The accepted ``aud`` values: the public base URL, or it joined with the request path (never the Host)."""
        base = self.public_base_url.rstrip("/")
        return {base, base + "/", base + path}


SCHEMA = {
    "public_base_url": str, "host": str, "port": int, "database": str, "guidelines": list, "max_body_bytes": int,
    "cors": dict, "auth": dict, "required_prefetch": list, "fhir_fetch": dict, "cards": dict, "log_level": str,
}
AUTH: dict[str, type | tuple[type, ...]] = {
    "issuers": list, "algorithms": list, "leeway_seconds": int, "max_token_lifetime_seconds": int,
    "jwks_cache_seconds": int, "jwks_refetch_seconds": int, "jwks_timeout_seconds": (int, float)}
PREFETCH_KEYS = ("patient", "conditions", "observations", "medications")


def _check(mapping: Any, schema: Mapping[str, type | tuple[type, ...]], where: str) -> None:
    if not isinstance(mapping, dict):
        raise ConfigError(f"{where}: expected a mapping")
    for key, value in mapping.items():
        if key not in schema:
            raise ConfigError(f"{where}: unknown key {key!r} (valid: {', '.join(schema)})")
        want = schema[key]
        if isinstance(value, bool) and want is not bool and bool not in (want if isinstance(want, tuple) else (want,)):
            raise ConfigError(f"{where}.{key}: expected {getattr(want, '__name__', 'a number')}, got {value!r}")
        if not isinstance(value, want):
            raise ConfigError(f"{where}.{key}: expected {getattr(want, '__name__', 'a number')}, got {value!r}")


def _url(value: Any, where: str) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if not parts or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{where}: expected an http(s) URL, got {value!r}")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: expected a list of strings")
    return tuple(value)


def from_mapping(doc: dict, base_dir: Path | None = None) -> Config:
    _check(doc, SCHEMA, "config")
    if "public_base_url" not in doc:
        raise ConfigError("config: 'public_base_url' is required (the URL the EHR calls; tokens' aud must match it)")
    base_dir = base_dir or Path.cwd()

    def path(p: str) -> str:
        return str(p if Path(p).is_absolute() else (base_dir / p))

    out: dict = {"public_base_url": _url(doc["public_base_url"], "config.public_base_url").rstrip("/")}
    for key in ("host", "log_level"):
        if key in doc:
            out[key] = doc[key]
    if "port" in doc:
        if not 0 <= doc["port"] <= 65535:
            raise ConfigError("config.port: expected 0-65535")
        out["port"] = doc["port"]
    if "database" in doc:
        out["database"] = doc["database"] if doc["database"] == ":memory:" else path(doc["database"])
    if "guidelines" in doc:
        out["guidelines"] = tuple(path(g) for g in _strings(doc["guidelines"], "config.guidelines"))
    if "max_body_bytes" in doc:
        if not 1024 <= doc["max_body_bytes"] <= 64 * 1024 * 1024:
            raise ConfigError("config.max_body_bytes: expected 1024 to 67108864")
        out["max_body_bytes"] = doc["max_body_bytes"]
    cors = doc.get("cors") or {}
    _check(cors, {"allow_origins": list}, "config.cors")
    out["cors_origins"] = _strings(cors.get("allow_origins", []), "config.cors.allow_origins")
    auth = doc.get("auth")
    if not isinstance(auth, dict) or not auth.get("issuers"):
        raise ConfigError("config.auth.issuers: at least one allow-listed issuer is required (every request needs a "
                          "bearer JWT)")
    _check(auth, AUTH, "config.auth")
    issuers = []
    for i, item in enumerate(auth["issuers"]):
        where = f"config.auth.issuers[{i}]"
        _check(item, {"iss": str, "jku": list, "jwks_file": str}, where)
        if not item.get("iss"):
            raise ConfigError(f"{where}.iss: required")
        jku = tuple(_url(u, f"{where}.jku") for u in item.get("jku", []))
        jwks_file = path(item["jwks_file"]) if item.get("jwks_file") else None
        if not jku and not jwks_file:
            raise ConfigError(f"{where}: give 'jku' (allow-listed JWKS URLs) or 'jwks_file'")
        issuers.append(Issuer(item["iss"], jku, jwks_file))
    out["issuers"] = tuple(issuers)
    if "algorithms" in auth:
        algs = _strings(auth["algorithms"], "config.auth.algorithms")
        bad = [a for a in algs if a not in ALGORITHMS]
        if bad or not algs:
            raise ConfigError(f"config.auth.algorithms: only {', '.join(ALGORITHMS)} are allowed, got {bad or algs}")
        out["algorithms"] = algs
    for key in ("leeway_seconds", "max_token_lifetime_seconds", "jwks_cache_seconds", "jwks_refetch_seconds",
                "jwks_timeout_seconds"):
        if key in auth:
            if auth[key] < 0 or (key == "leeway_seconds" and auth[key] > 300):
                raise ConfigError(f"config.auth.{key}: out of range")
            out[key] = auth[key]
    if "required_prefetch" in doc:
        req = _strings(doc["required_prefetch"], "config.required_prefetch")
        bad = [k for k in req if k not in PREFETCH_KEYS]
        if bad:
            raise ConfigError(f"config.required_prefetch: unknown key(s) {bad} (valid: {', '.join(PREFETCH_KEYS)})")
        if "patient" not in req:
            req = ("patient",) + req
        out["required_prefetch"] = req
    fetch = doc.get("fhir_fetch") or {}
    _check(fetch, {"enabled": bool, "allowed_servers": list, "timeout_seconds": (int, float)}, "config.fhir_fetch")
    out["fhir_fetch"] = fetch.get("enabled", False)
    out["fhir_servers"] = tuple(_url(u, "config.fhir_fetch.allowed_servers").rstrip("/")
                                for u in fetch.get("allowed_servers", []))
    if "timeout_seconds" in fetch:
        out["fhir_timeout_seconds"] = fetch["timeout_seconds"]
    cards = doc.get("cards") or {}
    _check(cards, {"max_recommendation_cards": int, "max_missing_facts": int}, "config.cards")
    for key in ("max_recommendation_cards", "max_missing_facts"):
        if key in cards:
            if not 0 <= cards[key] <= 100:
                raise ConfigError(f"config.cards.{key}: expected 0-100")
            out[key] = cards[key]
    return Config(**out)


def load(path: str) -> Config:
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"config {path!r}: cannot read ({getattr(e, 'strerror', None) or e})") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"config {path!r}: invalid YAML/JSON: {e}") from None
    try:
        return from_mapping(doc, Path(path).resolve().parent)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
