"""Start-up speed: the compiled knowledge base is cached, keyed by the sha256 of every file it was built from.

Reading and checking ~15 YAML files costs tens of milliseconds; unpickling the result costs a few. The key covers
the tool version and the exact bytes of every file, so an edited file is always re-read and re-validated. Set
``VASCULAR_NO_CACHE=1`` to bypass it; ``VASCULAR_CACHE_DIR`` moves it (default: ``$XDG_CACHE_HOME/vascular``).
A cache that cannot be read or written is ignored.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from pathlib import Path

from . import __version__
from .errors import DataError
from .loader import KnowledgeBase, load, read_bytes, resolve


def cache_dir() -> Path:
    if os.environ.get("VASCULAR_CACHE_DIR"):
        return Path(os.environ["VASCULAR_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vascular"


def load_cached(paths=None) -> KnowledgeBase:
    files, problems = resolve(paths)
    if problems or os.environ.get("VASCULAR_NO_CACHE"):
        return load(paths)
    digest = hashlib.sha256(f"{__version__}|{sys.version_info[:2]}".encode())
    data: dict = {}
    try:
        for f, display in files:
            data[f] = read_bytes(f)
            digest.update(display.encode() + b"\0" + hashlib.sha256(data[f]).digest())
    except OSError:
        return load(paths)
    path = cache_dir() / f"kb-{digest.hexdigest()[:32]}.pickle"
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except Exception:  # missing, stale format, unreadable: rebuild
        pass
    kb = load(paths, preread=data)
    _store(path, kb)
    return kb


def _store(path: Path, kb: KnowledgeBase) -> None:
    for src in kb.files:
        src.tree = None  # positions are only needed while validating
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".kb-")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(kb, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass


def load_checked(paths=None) -> KnowledgeBase:
    """The knowledge base for ``recommend`` & co.: refuses invalid guideline data (DataError, exit 1)."""
    kb = load_cached(paths)
    if kb.errors:
        raise DataError(f"{len(kb.errors)} error(s) in the guideline data", kb.errors)
    return kb
