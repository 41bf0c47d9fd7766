"""Start-up speed: the compiled knowledge base is cached, keyed by checksums of every file it was built from.

Reading and checking ~15 YAML files costs tens of milliseconds; unpickling the result costs a few. The key covers
the tool version and the exact bytes of every file, so an edited file is always re-read and re-validated. Set
``VASCULAR_NO_CACHE=1`` to bypass it; ``VASCULAR_CACHE_DIR`` moves it (default: ``$XDG_CACHE_HOME/vascular``).
A cache that cannot be read or written is ignored.
"""

from __future__ import annotations

import os
import pickle
import sys
import zlib
from pathlib import Path
from typing import Any

from . import __version__
from .errors import DataError
from .loader import KnowledgeBase, load, read_bytes, resolve

HERE = Path(__file__).parent
# Every module whose code shapes what the cache stores (classes pickled, or output pickled: the checks' problems,
# the schema's structural findings, the YAML reader's values and positions): an edit to any invalidates the cache.
CACHED_MODULES = ("model.py", "vocab.py", "loader.py", "engine.py", "checks.py", "schema.py", "yamlio.py", "ceap.py",
                  "fields.py", "paths.py", "limits.py", "suggest.py", "fhir/mapping.py")


def cache_dir() -> Path:
    if os.environ.get("VASCULAR_CACHE_DIR"):
        return Path(os.environ["VASCULAR_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vascular"


def load_cached(paths: Any = None, bundled: bool = True) -> KnowledgeBase:
    files, problems = resolve(paths, bundled)
    if problems or os.environ.get("VASCULAR_NO_CACHE"):
        return load(paths, bundled=bundled)
    # The key: two independent 32-bit checksums (CRC-32 and Adler-32) of every file's path and bytes, the tool and
    # Python versions, and the modification times of the modules that define the cached objects. zlib is used rather
    # than hashlib because it imports in a fraction of the time; the file
    # sha256 shown in outputs is computed when the cache is built.
    code = "|".join(str(os.stat(HERE / m).st_mtime_ns) for m in CACHED_MODULES)
    parts = [f"{__version__}|{sys.version_info[:2]}|{code}"]
    data: dict = {}
    try:
        for f, display in files:
            data[f] = raw = read_bytes(f)
            parts.append(f"{display}:{len(raw)}:{zlib.crc32(raw):08x}{zlib.adler32(raw):08x}")
    except OSError:
        return load(paths, bundled=bundled)
    blob = "\n".join(parts).encode()
    path = cache_dir() / f"kb-{zlib.crc32(blob):08x}{zlib.adler32(blob):08x}.pickle"
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except Exception:  # missing, stale format, unreadable: rebuild
        pass
    kb = load(paths, preread=data, bundled=bundled)
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


def load_checked(paths: Any = None, bundled: bool = True) -> KnowledgeBase:
    """The knowledge base for ``recommend`` & co.: refuses invalid guideline data (DataError, exit 1)."""
    kb = load_cached(paths, bundled)
    if kb.errors:
        raise DataError(f"{len(kb.errors)} error(s) in the guideline data", kb.errors)
    return kb
