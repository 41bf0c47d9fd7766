"""Batch mode: JSON Lines of profiles in, JSON Lines of results out (schema ``vascular.batch/1``).

* Streaming: one line in memory at a time; memory does not grow with the number of lines.
* Every input line gives exactly one output line, in input order, carrying its line number. A bad line gives an
  error object and the run goes on; the exit code is 1 at the end if any line was bad.
* Output is written in whole lines only, so an interrupted run (Ctrl-C, ``| head``) leaves valid JSON Lines.
* Speed: results depend on a profile only through its *equivalence class* (each numeric value matters only by
  which side of each threshold in the knowledge base it falls on), so results are memoised per class in a bounded
  cache; the line number and id are spliced into the cached JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time

from .engine import in_range
from .errors import InputError
from .profile import RANGES

from .limits import MAX_LINE  # noqa: E402
CACHE_SIZE = 4096
NUMERIC = ("symptom_days", "abi", "ankle_pressure", "toe_pressure")
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _ranges(engine) -> dict[str, list[dict]]:
    """Every distinct numeric range used by a criterion, per field."""
    out: dict[str, list[dict]] = {f: [] for f in NUMERIC}

    def walk(when):
        for k, v in when.items():
            if k in out and v not in out[k]:
                out[k].append(v)
            elif k == "any_of":
                for alt in v:
                    walk(alt)

    for r, _ in engine.compiled:
        walk(r.when)
    return out


class BatchEvaluator:
    """Evaluates profile documents (parsed JSON objects) to result fragments, with a bounded memo."""

    def __init__(self, engine, options: dict, defaults: dict | None = None):
        from . import profile as profiles

        self.engine, self.options, self.defaults = engine, options, defaults or {}
        self.vocab = engine.kb.vocabulary
        self.profiles = profiles
        self.ranges = _ranges(engine)
        self.cache: dict = {}

    def _bucket(self, field: str, value):
        """A numeric value -> which side of every threshold it lies on (validated like a profile would be)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return ("raw", repr(value))  # not a number: let the profile builder report it
        lo, hi = RANGES[field]
        if not lo <= value <= hi or (field == "symptom_days" and not float(value).is_integer()):
            return ("raw", repr(value))
        return tuple(in_range(value, r) for r in self.ranges[field])

    def key(self, doc: dict):
        parts = []
        for k in sorted(doc):
            if k == "id":
                continue
            v = doc[k]
            if k in NUMERIC and v is not None:
                parts.append((k, self._bucket(k, v)))
            elif isinstance(v, list):
                parts.append((k, tuple(v) if all(isinstance(x, str) for x in v) else repr(v)))
            elif isinstance(v, dict):
                parts.append((k, repr(sorted(v.items(), key=repr))))
            else:
                parts.append((k, v if isinstance(v, (str, int, float, bool, type(None))) else repr(v)))
        return tuple(parts)

    def fragment(self, doc: dict) -> tuple[bool, str]:
        """(ok, JSON text of the result fields) for one profile document."""
        if self.defaults:
            doc = {**self.defaults, **doc}
        try:
            key = self.key(doc)
            hit = self.cache.get(key)
        except TypeError:  # unhashable oddities: evaluate without the memo
            key, hit = None, None
        if hit is not None:
            return hit
        try:
            profile = self.profiles.from_mapping(self.vocab, doc)
            result = self.engine.evaluate(profile, **self.options)
            hit = (True, self._result_json(result))
        except InputError as e:
            hit = (False, '"status":"error","error":' + _dumps(str(e)))
        if key is not None:
            if len(self.cache) >= CACHE_SIZE:
                self.cache.clear()
            self.cache[key] = hit
        return hit

    @staticmethod
    def _result_json(result) -> str:
        applies = [m.rec.full_id for m in result.matches if m.status == "applies"]
        possible = [m for m in result.matches if m.status == "possible"]
        missing = list(dict.fromkeys(f for m in possible for f in m.missing))
        conflicts = sorted({tuple(sorted((m.rec.full_id, c))) for m in result.matches for c in m.conflicts_with})
        body = {"status": "ok", "covered": bool(applies), "applies": applies,
                "possible": [m.rec.full_id for m in possible], "missing": missing,
                "conflicts": [list(c) for c in conflicts]}
        return _dumps(body)[1:-1]


def _lines(stream):
    """Yield (line number, bytes or None if over-long) without ever holding more than MAX_LINE bytes."""
    n = 0
    while True:
        chunk = stream.readline(MAX_LINE + 1)
        if not chunk:
            return
        n += 1
        if len(chunk) > MAX_LINE:
            while chunk and not chunk.endswith(b"\n"):  # discard the rest of the over-long line
                chunk = stream.readline(MAX_LINE)
            yield n, None
        else:
            yield n, chunk


def parse_line(raw: bytes | None):
    """One input line -> (profile document, None) or (None, error message)."""
    if raw is None:
        return None, f"line longer than {MAX_LINE // 1024} KiB"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, f"invalid UTF-8 at byte {e.start + 1}"
    if not text.strip():
        return None, "empty line (expected a JSON object)"
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        hint = " (truncated line?)" if e.pos >= len(text.rstrip()) else ""
        return None, f"invalid JSON at column {min(e.pos, len(text.rstrip())) + 1}: {e.msg}{hint}"
    except RecursionError:
        return None, "invalid JSON: nested too deeply"
    if not isinstance(doc, dict):
        return None, f"expected a JSON object (a profile), got {type(doc).__name__}"
    return doc, None


class _Progress:
    """A minimal progress line on stderr, only when stderr is a terminal."""

    def __init__(self, total: int | None):
        self.on = sys.stderr.isatty()
        self.total, self.start, self.last = total, time.monotonic(), 0.0

    def update(self, lines: int, pos: int | None) -> None:
        now = time.monotonic()
        if not self.on or now - self.last < 0.25:
            return
        self.last = now
        rate = lines / max(now - self.start, 1e-9)
        if self.total and pos is not None:
            done = min(pos / self.total, 1.0)
            bar = "#" * int(done * 30)
            sys.stderr.write(f"\r[{bar:<30}] {done:5.1%} {lines} profiles {rate:,.0f}/s")
        else:
            sys.stderr.write(f"\r{lines} profiles {rate:,.0f}/s")
        sys.stderr.flush()

    def close(self) -> None:
        if self.on and self.last:
            sys.stderr.write("\n")


def run_batch(engine, source: str, options: dict, defaults: dict | None = None, out=None) -> int:
    """Run batch mode; returns the exit code (0, or 1 if any line was bad)."""
    out = out or sys.stdout
    ev = BatchEvaluator(engine, options, _defaults(defaults))
    try:
        stream = sys.stdin.buffer if source == "-" else open(source, "rb")
    except OSError as e:
        raise InputError(f"--profiles {source!r}: cannot read ({e.strerror})") from None
    total = None
    if source != "-":
        try:
            total = os.fstat(stream.fileno()).st_size
        except OSError:
            pass
    progress = _Progress(total)
    interactive = out.isatty() if hasattr(out, "isatty") else False
    bad = 0
    buf: list[str] = []
    stop = _StopFlag()
    try:
        for n, raw in _lines(stream):
            doc, error = parse_line(raw)
            if doc is not None:
                ok, body = ev.fragment(doc)
                ident = doc.get("id")
                ident = _dumps(ident) if isinstance(ident, (str, int)) and not isinstance(ident, bool) else "null"
            else:
                ok, body, ident = False, '"status":"error","error":' + _dumps(error), "null"
            if not ok:
                bad += 1
            buf.append(f'{{"line":{n},"id":{ident},{body}}}\n')
            if len(buf) >= 256 or interactive or stop.set:
                _flush(out, buf)
                progress.update(n, stream.tell() if total else None)
            if stop.set:
                break
        _flush(out, buf)
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        from .cli import _quiet_stdout

        _quiet_stdout()
        return 0
    finally:
        stop.restore()
        if stream is not sys.stdin.buffer:
            stream.close()
    progress.close()
    if stop.set:
        print("vascular: interrupted", file=sys.stderr)
        return 130
    if bad:
        print(f"vascular: {bad} bad line(s) in {source if source != '-' else '<stdin>'}", file=sys.stderr)
    return 1 if bad else 0


def _flush(out, buf: list[str]) -> None:
    """Write whole lines only, then flush, so an interrupted run never leaves half a line."""
    chunk = "".join(buf)
    buf.clear()
    out.write(chunk)
    out.flush()


class _StopFlag:
    """Ctrl-C sets a flag checked between lines (instead of an exception in the middle of a write)."""

    def __init__(self):
        import signal

        self.set = False
        self._signal = signal
        try:
            self._old = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread
            self._old = None

    def _handle(self, signum, frame):
        self.set = True

    def restore(self) -> None:
        if self._old is not None:
            self._signal.signal(self._signal.SIGINT, self._old)


def _defaults(flags: dict | None) -> dict:
    """Options given next to --profiles apply to every line unless the line sets the field itself."""
    return {k: v for k, v in (flags or {}).items() if v is not None}
