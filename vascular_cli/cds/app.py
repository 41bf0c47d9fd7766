"""The Starlette application: discovery, the hook services, feedback; authentication, body limits, CORS and
errors as FHIR OperationOutcomes (400 for malformed requests, never a 500 for bad input)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ExceptionHandler

from .auth import Authenticator, AuthError
from .config import Config
from .hooks import BY_ID, BadRequest, Fetch, Precondition, bundle, check_request, discovery, draft_orders, gather
from .store import Store

if TYPE_CHECKING:
    from .adapter import Knowledge

log = logging.getLogger("vascular.cds")
ERROR_SYSTEM = "https://github.com/vascular/vascular/fhir/CodeSystem/cds-error"
ISSUE_CODES = {400: "invalid", 401: "security", 404: "not-found", 405: "not-supported", 412: "incomplete",
               413: "too-costly", 415: "not-supported", 500: "exception"}
USAGE = ("Requires a bearer JWT from an allow-listed issuer (aud: this service's public base URL). Prefetch patient "
         "and conditions (required); observations and medications improve the answer. Decision support, not a "
         "substitute for clinical judgement.")


def outcome(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    body = {"resourceType": "OperationOutcome", "issue": [{
        "severity": "error", "code": ISSUE_CODES.get(status, "processing"), "diagnostics": message,
        "details": {"coding": [{"system": ERROR_SYSTEM, "code": code}], "text": message}}]}
    return JSONResponse(body, status_code=status, headers=headers, media_type="application/fhir+json")


class TooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadRequest("invalid Content-Length")
        if int(declared) > limit:
            raise TooLarge()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(data: bytes) -> Any:
    if not data:
        raise BadRequest("the request body is empty (a JSON object is expected)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadRequest(f"the request body is not UTF-8 (byte {e.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise BadRequest(f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise BadRequest("invalid JSON: nested too deeply") from None


class Service:
    def __init__(self, config: Config, knowledge: Knowledge | None = None, store: Store | None = None) -> None:
        from .adapter import Knowledge

        self.config = config
        self.k = knowledge or Knowledge(config.guidelines or None)
        self.store = store or Store(config.database)
        self.auth = Authenticator(config, self.store)

    # -- plumbing ----------------------------------------------------------------------------------------------
    async def authenticate(self, request: Request) -> dict:
        return await run_in_threadpool(self.auth.verify, request.headers.get("authorization"), request.url.path)

    async def guarded(self, request: Request, handler: Callable[[Request, dict], Awaitable[Response]]) -> Response:
        try:
            declared = request.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.config.max_body_bytes:
                raise TooLarge()
            claims = await self.authenticate(request)
            return await handler(request, claims)
        except AuthError as e:
            return outcome(401, e.code, e.message, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        except TooLarge:
            return outcome(413, "body-too-large", f"the request body is larger than {self.config.max_body_bytes} bytes")
        except BadRequest as e:
            return outcome(400, e.code, e.message)
        except Precondition as e:
            return outcome(412, "prefetch-missing", "required data was neither prefetched nor obtainable from the "
                                                    f"FHIR server: {', '.join(e.missing)}")
        except HTTPException:
            raise
        except Exception:  # a bug: logged, answered without internals
            log.exception("internal error on %s", request.url.path)
            return outcome(500, "internal-error", "internal error (logged)")

    # -- endpoints ---------------------------------------------------------------------------------------------
    async def discovery(self, request: Request) -> Response:
        async def handler(request: Request, claims: dict) -> Response:
            return JSONResponse(discovery(USAGE))
        return await self.guarded(request, handler)

    async def hook(self, request: Request) -> Response:
        service_id = request.path_params["service"]

        async def handler(request: Request, claims: dict) -> Response:
            service = BY_ID.get(service_id)
            if service is None:
                return outcome(404, "unknown-service", f"no CDS service {service_id[:60]!r}")
            doc = check_request(parse_json(await read_body(request, self.config.max_body_bytes)), service["hook"])
            orders = None
            if service["hook"] != "patient-view":
                orders = draft_orders(doc, self.k, service["hook"])
                if not orders:  # no draft order the mapping knows: nothing to check, no patient data needed
                    return JSONResponse({"cards": []})
            fetch = self.fetcher(doc)
            got = await run_in_threadpool(gather, doc, self.config.required_prefetch, fetch)
            fhir_bundle = bundle(doc, got)
            assessment = self.k.assess(fhir_bundle)
            from .cards import order_cards, patient_cards

            if service["hook"] == "patient-view":
                cards, recs = patient_cards(self.k, assessment, self.config.max_recommendation_cards,
                                            self.config.max_missing_facts)
            else:
                cards, recs = order_cards(self.k, assessment, cast(list, orders))  # set above for the order hooks
            self.store.save_cards(service_id, doc["hookInstance"], doc["context"]["patientId"], cards, recs)
            return JSONResponse({"cards": cards})
        return await self.guarded(request, handler)

    async def feedback(self, request: Request) -> Response:
        service_id = request.path_params["service"]

        async def handler(request: Request, claims: dict) -> Response:
            if service_id not in BY_ID:
                return outcome(404, "unknown-service", f"no CDS service {service_id[:60]!r}")
            items = check_feedback(parse_json(await read_body(request, self.config.max_body_bytes)))
            n = self.store.save_feedback(service_id, items, claims.get("iss"), claims.get("sub"))
            return JSONResponse({"stored": n})
        return await self.guarded(request, handler)

    def fetcher(self, doc: dict) -> Fetch | None:
        """A prefetch fetcher for the request's fhirServer, when fetching is enabled and the server allow-listed."""
        server, auth = doc.get("fhirServer"), doc.get("fhirAuthorization")
        if not (self.config.fhir_fetch and server and auth):
            return None
        server = server.rstrip("/")
        if server not in self.config.fhir_servers:
            return None
        timeout = self.config.fhir_timeout_seconds
        limit = self.config.max_body_bytes

        def fetch(key: str, query: str) -> dict | None:
            import urllib.request

            req = urllib.request.Request(f"{server}/{query}", headers={
                "Accept": "application/fhir+json", "Authorization": f"Bearer {auth['access_token']}"})
            try:
                with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (allow-listed server)
                    data = resp.read(limit + 1)
                if len(data) > limit:
                    return None
                value = json.loads(data)
            except Exception:
                log.warning("FHIR fetch of %s failed", key)
                return None
            return value if isinstance(value, dict) else None
        return fetch


TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$")


def check_feedback(doc: Any) -> list:
    if not isinstance(doc, dict) or not isinstance(doc.get("feedback"), list) or not doc["feedback"]:
        raise BadRequest("the feedback body must be an object with a non-empty 'feedback' list")
    if len(doc["feedback"]) > 1000:
        raise BadRequest("at most 1000 feedback items per request")
    for i, it in enumerate(doc["feedback"]):
        where = f"feedback[{i}]"
        if not isinstance(it, dict):
            raise BadRequest(f"{where}: expected an object")
        if not isinstance(it.get("card"), str) or not it["card"] or len(it["card"]) > 200:
            raise BadRequest(f"{where}.card: required, the card's uuid")
        if it.get("outcome") not in ("accepted", "overridden"):
            raise BadRequest(f"{where}.outcome: expected 'accepted' or 'overridden'")
        ts = it.get("outcomeTimestamp")
        if not isinstance(ts, str) or not TIMESTAMP.match(ts):
            raise BadRequest(f"{where}.outcomeTimestamp: required, an ISO 8601 date-time")
        acc = it.get("acceptedSuggestions")
        if acc is not None and (not isinstance(acc, list) or not all(
                isinstance(a, dict) and isinstance(a.get("id"), str) for a in acc)):
            raise BadRequest(f"{where}.acceptedSuggestions: expected a list of {{\"id\": ...}}")
        reason = it.get("overrideReason")
        if reason is not None:
            if it["outcome"] != "overridden":
                raise BadRequest(f"{where}.overrideReason: only with outcome 'overridden'")
            if not isinstance(reason, dict):
                raise BadRequest(f"{where}.overrideReason: expected an object")
            coding = reason.get("reason")
            if coding is not None and (not isinstance(coding, dict) or not isinstance(coding.get("code"), str)):
                raise BadRequest(f"{where}.overrideReason.reason: expected a Coding with a code")
            if coding is not None and any(not isinstance(coding.get(k), (str, type(None)))
                                          for k in ("system", "display")):
                raise BadRequest(f"{where}.overrideReason.reason: system and display must be strings")
            comment = reason.get("userComment")
            if comment is not None and (not isinstance(comment, str) or len(comment) > 10000):
                raise BadRequest(f"{where}.overrideReason.userComment: expected a string (at most 10,000 characters)")
    return doc["feedback"]


def create_app(config: Config, knowledge: Knowledge | None = None, store: Store | None = None) -> Starlette:
    svc = Service(config, knowledge, store)

    async def not_found(request: Request, exc: Exception) -> Response:
        return outcome(404, "not-found", "no such endpoint")

    async def http_error(request: Request, exc: HTTPException) -> Response:
        return outcome(exc.status_code, "http-error", exc.detail or "request not accepted")

    middleware: list[Middleware] = []
    if config.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        middleware.append(Middleware(CORSMiddleware, allow_origins=list(config.cors_origins),
                                     allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"]))
    routes = [
        Route("/cds-services", svc.discovery, methods=["GET"]),
        Route("/cds-services/{service}", svc.hook, methods=["POST"]),
        Route("/cds-services/{service}/feedback", svc.feedback, methods=["POST"]),
    ]
    # Starlette types a handler as taking any Exception; it calls this one only for the HTTPException it is keyed on
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={
        404: not_found, HTTPException: cast(ExceptionHandler, http_error)})
    app.state.service = svc
    return app


def serve(config: Config) -> None:
    import uvicorn

    app = create_app(config)
    uvicorn.run(app, host=config.host, port=config.port, log_level=config.log_level, server_header=False,
                proxy_headers=False, timeout_keep_alive=30)
