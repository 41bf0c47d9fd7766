"""Batch mode: JSON Lines of profiles in, JSON Lines of results out (schema ``vascular.batch/2``).

* Streaming: one line in memory at a time; memory does not grow with the number of lines.
* Every input line gives exactly one output line, in input order, carrying its line number. A bad line gives an
  error object and the run goes on; the exit code is 1 at the end if any line was bad.
* Output is written in whole lines only, so an interrupted run (Ctrl-C, ``| head``) leaves valid JSON Lines.
* Speed: matching goes through the compiled matcher (atom_matcher.py reads raw JSON values, falling
  back to the full ProfileParser path for anything invalid or unusual); the JSON of each distinct applying set is
  built once (bounded memo) and the line number, id and counts are spliced in. The detail (`--all`: possible ids and
  missing facts) takes the full path and costs more per line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from .errors import InputError
from .limits import MAX_LINE
from .profile import DuplicateKey, _no_duplicates, merge_factors
from .stdio import quiet_stdout

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_decode = json.JSONDecoder().raw_decode
_fast_loads: Any = None  # the optional extra "fast": orjson reads a plainly valid line about twice as fast as json
try:
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - depends on the installation
    pass
_string = json.encoder.encode_basestring  # a str as JSON (ensure_ascii=False), the encoder's own function


HEADS = 4096  # memo entries of the result JSON per applying set (emptied when full)


class BatchEvaluator:
    """Profile documents (parsed JSON objects) -> JSON text of their result fields, through the compiled index."""

    def __init__(self, engine: Any, options: dict, defaults: dict | None = None, with_possible: bool = False) -> None:
        from .atom_matcher import AtomMatcher, TooComplex
        from .batch_matcher import MatchIndex, ProfileParser, _Memo

        self.with_possible = with_possible
        self.index = MatchIndex(engine, **options)
        self.parser = ProfileParser(engine.kb.vocabulary)
        self.raw: Any = None
        if not with_possible:
            try:
                self.raw = AtomMatcher(self.index, engine.kb.vocabulary)
            except TooComplex:  # criteria too deeply nested for the hot path: every line takes the full path
                pass
        self.defaults = defaults or {}
        self.vocab = engine.kb.vocabulary
        self.heads: dict[int, str] = {}  # applying set -> its JSON (applies, conflicts), at most HEADS
        self.lists = _Memo(4096)  # possible set -> its id list

    def fragment(self, doc: dict) -> tuple[bool, str]:
        """(ok, JSON text of the result fields) for one profile document."""
        if self.defaults:
            if "factors" in self.defaults and isinstance(doc.get("factors"), (list, dict)):
                try:  # --factor defaults and the line's factors merge (the line wins), as with --profile
                    doc = {**doc, "factors": merge_factors(self.vocab, self.defaults["factors"], doc["factors"])}
                except InputError:
                    pass  # the line's own factors are invalid: the full path reports them
            doc = {**self.defaults, **doc}
        ix = self.index
        raw = self.raw
        fast = raw.match(doc) if raw is not None else None
        if isinstance(fast, InputError):
            return False, '"status":"error","error":' + _dumps(str(fast))
        if fast is not None:
            applies, possible = fast
        else:
            try:
                profile = self.parser.parse(doc)
            except InputError as e:
                return False, '"status":"error","error":' + _dumps(str(e))
            applies, possible, partial, entries = ix.match(profile)
            if raw is not None:  # the answer in the hot path's bits, so that both share the memo below
                applies, possible = raw.from_compact(applies), raw.from_compact(possible)
        head = self.heads.get(applies)
        if head is None:  # everything that depends on the applying set alone, as JSON text
            if len(self.heads) >= HEADS:
                self.heads.clear()
            if raw is not None:
                ids, ranks = raw.ids_json(applies)
                conflicts = raw.conflicts(ranks)
            else:
                ids, conflicts = _dumps(ix.ids_of(applies)), ix.conflicts(applies)
            head = self.heads[applies] = (f'"status":"ok","covered":{"true" if applies else "false"},'
                                          f'"applies":{ids},"conflicts":{_dumps(conflicts)}')
        text = f'{head},"possible_count":{possible.bit_count()}'
        if self.with_possible:  # the detail (--all): possible ids and the facts that would settle them
            pp = self.lists.get(possible) or self.lists.put(possible, _dumps(ix.ids_of(possible)))
            # [fact, settles_up_to, settles_certainly], ranked (compact: the detail costs more than the matching)
            text += f',"possible":{pp},"missing":{_dumps(ix.missing(entries, partial))}'
        return True, text


BLOCK = 1 << 16  # bytes per read


def _lines(stream: Any, max_line: int = MAX_LINE) -> Any:
    """Yield (line number, bytes without the newline, or None if over-long) without ever holding more than about
    max_line bytes. Read in blocks as they come (read1: the lines of a pipe are answered as they arrive)."""
    read = stream.read1 if hasattr(stream, "read1") else stream.read
    n = 0
    rest = b""
    skipping = False  # inside an over-long line, already reported: discard up to its newline
    while True:
        block = read(BLOCK)
        if not block:
            break
        lines = (rest + block).split(b"\n") if rest else block.split(b"\n")
        rest = lines.pop()
        for line in lines:
            if skipping:
                skipping = False
                continue
            n += 1
            yield n, line if len(line) < max_line else None  # with its newline, more than max_line bytes
        if len(rest) > max_line:
            if not skipping:
                n += 1
                yield n, None
                skipping = True
            rest = b""
    if rest and not skipping:
        n += 1
        yield n, rest if len(rest) <= max_line else None


def parse_line(raw: bytes | None, max_line: int = MAX_LINE, what: str = "a profile") -> Any:
    """One input line -> (profile document, None) or (None, error message)."""
    if raw is None:
        return None, f"line longer than the {max_line // (1024 * 1024)} MiB limit"
    if _fast_loads is not None:  # the optional reader takes a plainly valid line; the rest is read (and worded) below
        try:
            doc = _fast_loads(raw)
        except Exception:  # noqa: BLE001 - whatever it refuses, the stdlib reader decides and words
            doc = None
        if type(doc) is dict and raw.count(b":") == (len(doc) if raw.count(b"{") == 1 else _keys(doc)):
            return doc, None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, f"invalid UTF-8 at byte {e.start + 1}"
    if not text or text.isspace():
        return None, "empty line (expected a JSON object)"
    try:
        try:  # the decoder itself (json.loads adds two whitespace scans); anything unusual goes to json.loads
            doc, end = _decode(text)
            if end != len(text) and not text[end:].isspace():
                raise ValueError
        except ValueError:
            doc = json.loads(text)
        # fewer keys than colons: a duplicate key, or a colon inside a string (a single "{": no nested object)
        if text.count(":") != (len(doc) if type(doc) is dict and text.count("{") == 1 else _keys(doc)):
            doc = json.loads(text, object_pairs_hook=_no_duplicates)
    except DuplicateKey as e:
        return None, f"duplicate key {e.key!r} at column {e.position(text)[1]} (first at column {e.first[1]})"
    except json.JSONDecodeError as e:
        hint = " (truncated line?)" if e.pos >= len(text.rstrip()) else ""
        return None, f"invalid JSON at column {min(e.pos, len(text.rstrip())) + 1}: {e.msg}{hint}"
    except RecursionError:
        return None, "invalid JSON: nested too deeply"
    if not isinstance(doc, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
            type(doc), "null")
        return None, f"expected a JSON object ({what}), got {kind}"
    return doc, None


def _keys(v: Any) -> int:
    """The number of object keys in a parsed JSON object or array."""
    n = 0
    if type(v) is dict:
        n = len(v)
        v = v.values()
    elif type(v) is not list:
        return 0
    for x in v:
        if type(x) is dict or type(x) is list:
            n += _keys(x)
    return n


class _Progress:
    """A minimal progress line on stderr, only when stderr is a terminal."""

    def __init__(self, total: int | None):
        self.on = sys.stderr.isatty()
        self.total, self.start, self.last = total, time.monotonic(), 0.0

    def update(self, lines: int, pos: int | None) -> None:
        now = time.monotonic()
        if not self.on or (now - self.last < 0.25 and self.last):
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

    def close(self, lines: int) -> None:
        """The final state (100%), then a new line."""
        if not self.on:
            return
        if self.total:
            self.last = 0.0
            self.update(lines, self.total)
        sys.stderr.write("\n")


def _line(ev: BatchEvaluator, convert: Any, max_line: int, what: str, n: int, raw: bytes | None) -> tuple[bool, str]:
    """One input line -> (ok, its output line). The one place a line is turned into output, in every process."""
    doc, error = parse_line(raw, max_line, what)
    if doc is not None and convert is not None:
        doc, error = convert(doc)
    if doc is not None:
        ok, body = ev.fragment(doc)
        ident = doc.get("id")
        ident = _string(ident) if type(ident) is str else str(ident) if type(ident) is int else "null"
    else:
        ok, body, ident = False, '"status":"error","error":' + _dumps(error), "null"
    return ok, f'{{"line":{n},"id":{ident},{body}}}\n'


CHUNK = 2048  # lines per task sent to a worker process (--jobs)
RANGE = 1 << 19  # bytes per task when the workers read a regular file themselves
_WORKER: Any = None  # (evaluator, convert, max_line, what, writer): the evaluator's arguments until a worker builds it


def _start_worker() -> None:
    """Each worker builds its own evaluator (in parallel, after the fork: not on the parent's critical path)."""
    global _WORKER
    ev, *rest = _WORKER
    try:
        _WORKER = (BatchEvaluator(*ev), *rest)
    except Exception as e:  # raised by the first task instead (a failing initializer would be restarted forever)
        _WORKER = (e, *rest)


class _TurnWriter:
    """Chunks of output written straight to the output file descriptor in input order: a worker writes its chunk
    if the previous one is written (no pipe, no parent in between), otherwise hands it to the parent, which writes
    the chunks it gets back in order (no worker ever waits). Whole lines only."""

    def __init__(self, fd: int, context: Any):
        self.fd, self.turn, self.lock = fd, context.Value("q", 0, lock=False), context.Lock()

    def write(self, k: int, data: bytes, wait: bool = False) -> bool | None:
        """Write chunk ``k`` if chunk k - 1 is written (``wait``: it is, or is being written): True; False if the
        reader went away (the run stops); None if it is not chunk k's turn yet."""
        with self.lock:
            if self.turn.value != k and not wait:
                return None
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(self.fd, view):]
                return True
            except BrokenPipeError:
                return False
            finally:
                self.turn.value = k + 1


def _chunk(k: int, first: int, lines: Any) -> tuple[bytes, int, bool]:
    """A worker's task: chunk ``k``, consecutive lines from line number ``first`` (a list of bytes, None if
    over-long; or a _FileRange the worker reads itself) -> (their output lines as UTF-8 unless the worker wrote
    them, bad line count, whether the reader is still there)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the workers
    ev, convert, max_line, what, writer = _WORKER
    if isinstance(ev, Exception):
        raise ev
    out = []
    bad = 0
    if isinstance(lines, _FileRange):
        lines = (raw for _, raw in _lines(lines, max_line))
    for n, raw in enumerate(lines, first):
        ok, text = _line(ev, convert, max_line, what, n, raw)
        bad += not ok
        out.append(text)
    data = "".join(out).encode("utf-8")
    written = None if writer is None else writer.write(k, data)
    return (data, bad, True) if written is None else (b"", bad, written)


def run_batch(engine: Any, source: str, options: dict, defaults: dict | None = None, out: Any = None,
              with_possible: bool = False, convert: Any = None, option: str = "--profiles", max_line: int = MAX_LINE,
              what: str = "a profile", jobs: int = 1) -> int:
    """Run batch mode; returns the exit code (0, or 1 if any line was bad). ``convert`` turns each parsed line
    into a profile document, returning (document, None) or (None, error message) (FHIR Bundles: fhir/commands.py).
    ``jobs`` > 1: that many worker processes evaluate chunks of lines; the output is the same, in the same order."""
    out = out or sys.stdout
    try:
        stream = sys.stdin.buffer if source == "-" else open(source, "rb")
    except OSError as e:
        raise InputError(f"{option} {source!r}: cannot read ({e.strerror})") from None
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
    n_done = 0
    pool = None
    try:
        if jobs > 1 and not interactive and _can_fork():
            global _WORKER
            import multiprocessing

            context = multiprocessing.get_context("fork")
            try:
                fd = out.fileno()
            except (AttributeError, ValueError, OSError):  # an in-memory stream: the parent writes every chunk
                fd = None
            out.flush()
            writer = None if fd is None else _TurnWriter(fd, context)
            _WORKER = ((engine, options, defaults, with_possible), convert, max_line, what, writer)
            import gc

            gc.freeze()  # the workers' collector leaves the knowledge base alone: fewer copied pages after the fork
            pool = context.Pool(jobs, initializer=_start_worker)
            n_done, bad = _run_parallel(pool, jobs, stream, max_line, out, progress, stop, total)
        else:
            ev = BatchEvaluator(engine, options, defaults, with_possible)
            for n, raw in _lines(stream, max_line):
                n_done = n
                ok, text = _line(ev, convert, max_line, what, n, raw)
                if not ok:
                    bad += 1
                buf.append(text)
                if len(buf) >= 256 or interactive or stop.set:
                    _flush(out, buf)
                    progress.update(n, stream.tell() if total else None)
                if stop.set:
                    break
            _flush(out, buf)
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        quiet_stdout()
        return 0
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        stop.restore()
        if stream is not sys.stdin.buffer:
            stream.close()
    progress.close(n_done)
    if stop.set:
        print("vascular: interrupted", file=sys.stderr)
        return 130
    if bad:
        print(f"vascular: {bad} bad line(s) in {source if source != '-' else '<stdin>'}", file=sys.stderr)
    return 1 if bad else 0


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def _run_parallel(pool: Any, jobs: int, stream: Any, max_line: int, out: Any, progress: _Progress, stop: Any,
                  total: int | None) -> tuple[int, int]:
    """Chunks of lines to the workers, at most 2 per worker in flight (memory stays bounded); results written in
    input order as they complete. Returns (lines read, bad lines)."""
    from collections import deque

    pending: deque = deque()
    bad = n_done = k = 0
    chunk: list = []

    writer = _WORKER[4]
    done = 0  # chunks drained

    def drain(limit: int) -> None:
        nonlocal bad, done
        while len(pending) > limit:
            data, b, reader = pending.popleft().get()
            bad += b
            if data and writer is not None:  # handed back, not its turn yet: every earlier chunk is written now
                reader = writer.write(done, data, wait=True)
            elif data:  # an output without a file descriptor
                _flush(out, [data.decode("utf-8")])
            done += 1
            if not reader:
                raise BrokenPipeError

    first = 1
    ranges = _file_ranges(stream, jobs)
    if ranges is not None:  # a regular file: the workers read their chunks themselves (no lines through pipes)
        for first, task in ranges:
            pending.append(pool.apply_async(_chunk, (k, first, task)))
            k += 1
            drain(2 * jobs)
            progress.update(first, task.start if total else None)
            if stop.set:
                break
        drain(0)
        return (first - 1 + task.lines if k else 0), bad
    for n, raw in _lines(stream, max_line):
        n_done = n
        chunk.append(raw)
        if len(chunk) >= CHUNK:
            pending.append(pool.apply_async(_chunk, (k, first, chunk)))
            k, first, chunk = k + 1, n + 1, []
            drain(2 * jobs)
            progress.update(n, stream.tell() if total else None)
        if stop.set:
            break
    if chunk and not stop.set:
        pending.append(pool.apply_async(_chunk, (k, first, chunk)))
    drain(0)
    return n_done, bad


class _FileRange:
    """Whole lines of a regular file, [start, end), read with os.pread: workers share the file descriptor, not a
    position. Has read1 for _lines."""

    def __init__(self, fd: int, start: int, end: int, lines: int):
        self.fd, self.start, self.end, self.lines, self.pos = fd, start, end, lines, start

    def read1(self, n: int) -> bytes:
        if self.pos >= self.end:
            return b""
        data = os.pread(self.fd, min(n, self.end - self.pos), self.pos)
        self.pos += len(data)
        return data


def _file_ranges(stream: Any, jobs: int = 1) -> Any:
    """(first line number, _FileRange) of consecutive ranges of whole lines, about RANGE bytes each and smaller
    towards the end (the workers finish together), when the input is a regular file (None otherwise). Lines are
    counted as _lines counts them: one per newline, and a last line without one."""
    import stat

    try:
        fd = stream.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        pos = stream.tell()  # the stream's position (what it has buffered counts as read)
        size = os.fstat(fd).st_size
    except (AttributeError, ValueError, OSError):
        return None

    def ranges() -> Any:
        start, first = pos, 1
        while True:
            block = os.pread(fd, max(1, RANGE // 16, min(RANGE, (size - start) // (4 * jobs))), start)
            if not block:
                return
            end = start + len(block)
            newlines = block.count(b"\n")
            cut = block.rfind(b"\n")
            if cut >= 0:
                end = start + cut + 1
            else:  # no newline in the block: the range runs to the next one (or the end of the file)
                while block and b"\n" not in block:
                    block = os.pread(fd, RANGE, end)
                    end += len(block)
                if block:
                    end += block.index(b"\n") + 1 - len(block)
                newlines = 1 if block else 0
            lines = newlines if cut >= 0 or block else newlines + 1
            yield first, _FileRange(fd, start, end, lines)
            first += lines
            start = end

    return ranges()


def _flush(out: Any, buf: list[str]) -> None:
    """Write whole lines only, then flush, so an interrupted run never leaves half a line."""
    chunk = "".join(buf)
    buf.clear()
    out.write(chunk)
    out.flush()


class _StopFlag:
    """Ctrl-C sets a flag checked between lines (instead of an exception in the middle of a write)."""

    def __init__(self) -> None:
        import signal

        self.set = False
        self._signal = signal
        try:
            self._old = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread
            self._old = None

    def _handle(self, signum: Any, frame: Any) -> Any:
        self.set = True

    def restore(self) -> None:
        if self._old is not None:
            self._signal.signal(self._signal.SIGINT, self._old)
