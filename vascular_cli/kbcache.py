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
from .loader import BUNDLED, KnowledgeBase, load, read_bytes, resolve_roles

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


def install_tag() -> str:
    """Which installation this is (its package directory): two installed versions keep one cache file each, and an
    upgrade in place replaces its own."""
    return f"{zlib.crc32(str(HERE.resolve()).encode()):08x}"


def prune(prefix: str, keep: str, limit: int = 32) -> None:
    """Remove the cache files starting with ``prefix`` other than ``keep`` (stale: the same installation and
    guideline set, an older build), then keep at most ``limit`` files of each kind (the least recently written go)."""
    try:
        d = cache_dir()
        names = os.listdir(d)
        for n in names:
            if n.startswith(prefix) and n != keep:
                os.unlink(d / n)
        for kind in ("kb-", "cli-"):
            mine = sorted((n for n in os.listdir(d) if n.startswith(kind)), key=lambda n: os.stat(d / n).st_mtime_ns)
            for n in mine[:-limit]:
                os.unlink(d / n)
    except OSError:
        pass


class _Pickler(pickle.Pickler):
    """Display names (paths as shown, relative to the working directory) are stored as references to the file list,
    so the cache does not depend on the working directory: on load they become the current display names."""

    def __init__(self, fh: Any, displays: dict[str, int]) -> None:
        super().__init__(fh, protocol=pickle.HIGHEST_PROTOCOL)
        self.displays = displays

    def persistent_id(self, obj: Any) -> Any:
        if type(obj) is str:
            return self.displays.get(obj)
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, fh: Any, displays: list[str]) -> None:
        super().__init__(fh)
        self.displays = displays

    def persistent_load(self, pid: Any) -> Any:
        return self.displays[pid]


def load_cached(paths: Any = None, bundled: bool = True) -> KnowledgeBase:
    files, problems, checked = resolve_roles(paths, bundled)
    if problems or os.environ.get("VASCULAR_NO_CACHE"):
        return load(paths, bundled=bundled)
    # The key: two independent 32-bit checksums (CRC-32 and Adler-32) of every file's resolved path, role and bytes,
    # the tool and Python versions, and the modification times of the modules that define the cached objects (never
    # the working directory: display names are filled in on load). zlib is used rather than hashlib because it
    # imports in a fraction of the time; the file sha256 shown in outputs is computed when the cache is built.
    # The file name: the installation and the guideline set (which files), then the key; a new build of the same
    # set replaces the old file (prune).
    code = "|".join(str(os.stat(HERE / m).st_mtime_ns) for m in CACHED_MODULES)
    parts = [f"{__version__}|{sys.version_info[:2]}|{code}"]
    names = []
    data: dict = {}
    try:
        for f, display in files:
            data[f] = raw = read_bytes(f)
            role = "b" if display.startswith(BUNDLED) else "g" if display in checked else "c"
            names.append(f"{role}:{os.path.realpath(f)}")
            parts.append(f"{len(raw)}:{zlib.crc32(raw):08x}{zlib.adler32(raw):08x}")
    except OSError:
        return load(paths, bundled=bundled)
    blob = "\n".join(names + parts).encode()
    group = "\n".join(names).encode()
    prefix = f"kb-{install_tag()}-{zlib.crc32(group):08x}{zlib.adler32(group):08x}-"
    path = cache_dir() / f"{prefix}{zlib.crc32(blob):08x}{zlib.adler32(blob):08x}.pickle"
    displays = [display for _, display in files]
    try:
        with open(path, "rb") as fh:
            return _Unpickler(fh, displays).load()  # type: ignore[no-any-return]
    except Exception:  # missing, stale format, unreadable: rebuild
        pass
    kb = load(paths, preread=data, bundled=bundled)
    if not _mentions(kb, displays, checked):
        _store(path, kb, displays)
        prune(prefix, path.name)
    return kb


def _mentions(kb: KnowledgeBase, displays: list[str], checked: Any) -> bool:
    """Does a problem message quote a display name that depends on the working directory? (Such a knowledge base,
    invalid anyway, is not cached: its messages would keep the old names.)"""
    local = [d for d in displays if not d.startswith(BUNDLED)]
    return any(d in p.message for p in kb.problems for d in local)


def _store(path: Path, kb: KnowledgeBase, displays: list[str]) -> None:
    for src in kb.files:
        src.tree = None  # positions are only needed while validating
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".kb-")
        with os.fdopen(fd, "wb") as fh:
            _Pickler(fh, {d: i for i, d in enumerate(displays)}).dump(kb)
        os.replace(tmp, path)
    except OSError:
        pass


def load_checked(paths: Any = None, bundled: bool = True) -> KnowledgeBase:
    """The knowledge base for ``recommend`` & co.: refuses invalid guideline data (DataError, exit 1)."""
    kb = load_cached(paths, bundled)
    if kb.errors:
        raise DataError(f"{len(kb.errors)} error(s) in the guideline data", kb.errors)
    return kb
