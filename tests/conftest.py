"""Shared test helpers: run the CLI in-process with exact stdout, stderr and exit code."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDELINES = ROOT / "guidelines"


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    os.environ["VASCULAR_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    os.environ.pop("NO_COLOR", None)
    yield


@pytest.fixture(autouse=True)
def _at_repository_root(monkeypatch):
    """Paths in expected messages are relative to the repository root."""
    monkeypatch.chdir(ROOT)


class Run:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def __repr__(self):
        return f"Run(code={self.code}, out={self.out[:300]!r}, err={self.err[:300]!r})"


def cli(*args: str, stdin: bytes = b"", env: dict | None = None) -> Run:
    """Run ``vascular ARGS`` in-process."""
    from vascular_cli.entry import main  # the fast path where it applies, typer otherwise (as installed)

    old = sys.stdin, sys.stdout, sys.stderr
    old_env = {k: os.environ.get(k) for k in (env or {})}
    out, err = io.BytesIO(), io.BytesIO()
    wrappers = (io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"),
                io.TextIOWrapper(out, encoding="utf-8", newline=""),
                io.TextIOWrapper(err, encoding="utf-8", newline=""))
    sys.stdin, sys.stdout, sys.stderr = wrappers
    os.environ.update(env or {})
    try:
        code = main(list(args))
    finally:
        for w in wrappers[1:]:
            w.flush()
        sys.stdin, sys.stdout, sys.stderr = old
        for w in wrappers:
            w.detach()
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return Run(code, out.getvalue().decode("utf-8"), err.getvalue().decode("utf-8"))


@pytest.fixture(scope="session")
def kb():
    import vascular_cli

    return vascular_cli.load()
