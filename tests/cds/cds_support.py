"""Real-server helpers for the CDS Hooks tests: a JWKS server and ``vascular serve`` in a subprocess on loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import jsonschema
from cds_fixtures import AUD, ISS

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((Path(__file__).with_name("cds-hooks-2.0.schema.json")).read_text(encoding="utf-8"))


def validate(instance, definition: str) -> None:
    """Validate against one definition of the CDS Hooks 2.0 schema (raises jsonschema.ValidationError)."""
    schema = {"$schema": SCHEMA["$schema"], "$defs": SCHEMA["$defs"], "$ref": f"#/$defs/{definition}"}
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(instance)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JwksServer:
    """A JWK Set on http://127.0.0.1:PORT/jwks.json (the keys can change during a test); counts fetches."""

    def __init__(self, doc: dict):
        self.doc, self.fetches = doc, 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.fetches += 1
                body = json.dumps(outer.doc).encode()
                self.send_response(200 if self.path == "/jwks.json" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Server:
    """``vascular serve --config FILE --port PORT`` in a subprocess; ``url`` once it answers."""

    def __init__(self, config: dict, directory: Path):
        self.config_path = directory / "cds.json"
        self.config_path.write_text(json.dumps(config), encoding="utf-8")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = directory / f"server-{self.port}.log"
        self.proc = None

    def start(self, timeout: float = 60.0) -> Server:
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "vascular_cli", "serve", "--config",
                                         str(self.config_path), "--port", str(self.port)], cwd=str(ROOT), env=env,
                                        stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/cds-services", timeout=1.0).status_code == 401:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}")

    def stop(self, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def base_config(tmp: Path, jwks_url: str, jwks_file: Path | None = None, **extra) -> dict:
    issuers = [{"iss": ISS, "jku": [jwks_url]}]
    if jwks_file is not None:
        issuers.append({"iss": ISS + "/file", "jwks_file": str(jwks_file)})
    cfg = {"public_base_url": AUD, "database": str(tmp / "cds.sqlite3"), "max_body_bytes": 262144,
           "auth": {"issuers": issuers}, "log_level": "warning"}
    cfg.update(extra)
    return cfg


class ThreadServer:
    """An app object served by uvicorn in a thread of the test process (for configurations built in the test)."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def get(self, path, **kw):
        return httpx.get(self.url + path, timeout=30, **kw)

    def post(self, path, **kw):
        return httpx.post(self.url + path, timeout=30, **kw)

    def options(self, path, **kw):
        return httpx.options(self.url + path, timeout=30, **kw)
