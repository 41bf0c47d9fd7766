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
    workers = spool = None
    try:
        if jobs > 1 and not interactive and _can_fork():
            import gc
            import multiprocessing

            args = (BatchEvaluator(engine, options, defaults, with_possible), convert, max_line, what)
            out.flush()
            try:
                fd = out.fileno()
            except (AttributeError, ValueError, OSError):  # an in-memory stream: the workers write to a file first
                import tempfile

                spool = tempfile.TemporaryFile()
                fd = spool.fileno()
            regular = _regular_file(stream)
            gc.freeze()  # the workers' collector leaves the knowledge base alone: fewer copied pages after the fork
            workers = _Workers(multiprocessing.get_context("fork"), jobs, args, fd, regular)
            gc.unfreeze()
            n_done = workers.feed(stream, progress, stop) if regular is None else 0
            bad, why = workers.finish(progress, stop)
            if regular is not None:
                n_done = workers.next[1] - 1
            if spool is not None:
                import io

                spool.seek(0)
                spooled = io.TextIOWrapper(spool, encoding="utf-8")
                while piece := spooled.read(1 << 20):
                    out.write(piece)
            if why == _READER_GONE:
                raise BrokenPipeError
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
        if workers is not None:
            workers.close()
        if spool is not None:
            spool.close()
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


CHUNK = 2048  # lines per task when the main process reads the input for the workers (not a regular file)
RANGE = 1 << 19  # bytes per task when the workers read a regular file themselves
PIECE = 64  # lines per output buffer of a worker: small buffers are reused chunk after chunk (one buffer of a few
# MB per chunk took a fresh page every 4 KB: 2.5 times the page faults of one process)
HELD = 4  # finished chunks a worker keeps while an earlier one is not written; beyond that it waits for its turn
_READER_GONE, _INTERRUPTED, _FAILED = 1, 2, 3  # why the workers stopped early


class _Workers:
    """``jobs`` forked processes sharing a batch (--jobs). Each takes the next chunk of lines (a range of a regular
    file that it reads itself, or lines the main process reads), evaluates it with the evaluator built before the
    fork, and writes the chunk's output straight to the output file descriptor once every earlier chunk is written,
    keeping its finished chunks until then. Output never goes through the main process, which runs no threads."""

    def __init__(self, context: Any, jobs: int, args: tuple, fd: int, source: _RegularFile | None) -> None:
        self.args, self.fd = args, fd  # args: _line's (evaluator, convert, max_line, what)
        self.source: Any = source
        self.tasks: Any = None if source else context.SimpleQueue()  # (k, first line number, lines), then one None each
        self.results = context.SimpleQueue()  # one per worker, at the end: (bad lines, exception or None)
        self.claim = context.Lock()  # a regular file: the next range, as (k, its first line number, its start)
        self.next = context.Array("q", [0, 1, source.start if source else 0], lock=False)
        self.cond = context.Condition()  # for the turn: the chunk to write next
        self.turn = context.Value("q", 0, lock=False)
        self.written = context.Value("q", 0, lock=False)  # lines written (the progress line)
        self.stop = context.Value("b", 0, lock=False)
        self.procs = [context.Process(target=self._work, daemon=True) for _ in range(jobs)]
        for p in self.procs:
            p.start()

    # -- in each worker ----------------------------------------------------------------------------------------

    def _work(self) -> None:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process handles Ctrl-C and stops the workers
        ev, convert, max_line, what = self.args
        bad, error, held, ended = 0, None, {}, False
        try:
            while (task := self._take()) is not None:
                if self.stop.value:  # stopped early: take the main process's remaining tasks, evaluate none
                    continue
                k, first, lines = task
                out, pieces, count = [], [], 0
                for n, raw in enumerate(lines, first):
                    ok, text = _line(ev, convert, max_line, what, n, raw)
                    bad += not ok
                    out.append(text)
                    if len(out) == PIECE:
                        pieces.append("".join(out).encode("utf-8"))
                        count += PIECE
                        out.clear()
                pieces.append("".join(out).encode("utf-8"))
                held[k] = (pieces, count + len(out))
                self._write(held, wait=len(held) > HELD)
            ended = True
            self._write(held, wait=True)
        except Exception as e:  # a bug: the main process raises it
            error = e
            self._halt(_FAILED)
            while not ended and self._take() is not None:
                pass
        try:
            self.results.put((bad, error))
        except Exception:  # an exception that cannot be pickled
            self.results.put((bad, RuntimeError(f"{type(error).__name__}: {error}")))

    def _take(self) -> Any:
        """The next task, (k, first line number, lines), or None at the end."""
        if self.tasks is not None:
            return self.tasks.get()
        with self.claim:
            k, first, start = self.next
            span = None if self.stop.value else self.source.after(start, len(self.procs))
            if span is None:
                return None
            end, count = span
            self.next[:] = [k + 1, first + count, end]
        return k, first, (raw for _, raw in _lines(_FileRange(self.source.fd, start, end), self.args[2]))

    def _write(self, held: dict, wait: bool) -> None:
        """Write the held chunks whose turn it is, in order (``wait``: every one, waiting for its turn)."""
        with self.cond:
            while held and not self.stop.value:
                k = min(held)
                if self.turn.value != k:
                    if not wait:
                        return
                    self.cond.wait(0.5)
                    continue
                pieces, count = held.pop(k)
                try:
                    for piece in pieces:
                        view = memoryview(piece)
                        while view:
                            view = view[os.write(self.fd, view):]
                except BrokenPipeError:  # the reader went away (`| head`)
                    self._halt(_READER_GONE)
                    return
                self.turn.value = k + 1
                self.written.value += count
                self.cond.notify_all()

    def _halt(self, why: int) -> None:
        with self.cond:
            self.stop.value = self.stop.value or why
            self.cond.notify_all()

    # -- in the main process -----------------------------------------------------------------------------------

    def feed(self, stream: Any, progress: _Progress, stop: Any) -> int:
        """Read input that is not a regular file for the workers, CHUNK lines per task. Returns the lines read."""
        chunk: list = []
        n = k = 0
        first = 1
        for n, raw in _lines(stream, self.args[2]):
            chunk.append(raw)
            if len(chunk) >= CHUNK:
                if self._stopped(stop):
                    break
                self.tasks.put((k, first, chunk))
                k, first, chunk = k + 1, n + 1, []
                progress.update(self.written.value, None)
        if chunk and not self._stopped(stop):
            self.tasks.put((k, first, chunk))
        for _ in self.procs:
            self.tasks.put(None)
        return n

    def _stopped(self, stop: Any) -> bool:
        """Whether to stop reading: the workers stopped, Ctrl-C (they stop after their current chunk), or a worker
        was killed (set without the cond: a killed worker may hold it; the workers see it within 0.5 s)."""
        if stop.set:
            self.stop.value = self.stop.value or _INTERRUPTED
        elif any(p.exitcode is not None for p in self.procs):
            self.stop.value = self.stop.value or _FAILED
        return bool(self.stop.value)

    def finish(self, progress: _Progress, stop: Any) -> tuple[int, int]:
        """Wait for the workers. Returns (bad lines, why they stopped early or 0); raises what a worker raised."""
        from multiprocessing.connection import wait

        alive = {p.sentinel: p for p in self.procs}
        while alive:
            for sentinel in wait(list(alive), timeout=0.25):
                p = alive.pop(sentinel)
                p.join()
                if p.exitcode:  # killed (a worker does not fail: it reports what it raised)
                    self.stop.value = _FAILED
                    self.close()
            if stop.set:
                self.stop.value = self.stop.value or _INTERRUPTED
            progress.update(self.written.value, self.next[2] if self.source else None)
        results = [self.results.get() for p in self.procs if p.exitcode == 0]
        for _, error in results:
            if error is not None:
                raise error
        if len(results) < len(self.procs):
            raise RuntimeError("a worker process ended unexpectedly")
        return sum(b for b, _ in results), self.stop.value

    def close(self) -> None:
        for p in self.procs:
            if p.exitcode is None:
                p.terminate()
        for p in self.procs:
            p.join()


class _FileRange:
    """Whole lines of a regular file, [start, end), read with os.pread: workers share the file descriptor, not a
    position. Has read1 for _lines."""

    def __init__(self, fd: int, start: int, end: int):
        self.fd, self.pos, self.end = fd, start, end

    def read1(self, n: int) -> bytes:
        if self.pos >= self.end:
            return b""
        data = os.pread(self.fd, min(n, self.end - self.pos), self.pos)
        self.pos += len(data)
        return data


class _RegularFile:
    """A regular file's lines from the stream's position on (what it has buffered counts as read), in ranges."""

    def __init__(self, fd: int, start: int, size: int):
        self.fd, self.start, self.size = fd, start, size

    def after(self, start: int, jobs: int = 1) -> tuple[int, int] | None:
        """The range of whole lines from ``start``, as (its end, its number of lines), or None at the end of the
        file. About RANGE bytes, smaller towards the end (the workers finish together). Lines are counted as _lines
        counts them: one per newline, and a last line without one."""
        block = os.pread(self.fd, max(1, RANGE // 16, min(RANGE, (self.size - start) // (4 * jobs))), start)
        if not block:
            return None
        cut = block.rfind(b"\n")
        if cut >= 0:
            return start + cut + 1, block.count(b"\n")
        end = start + len(block)  # no newline in the block: the range runs to the next one (or the end of the file)
        while block and b"\n" not in block:
            block = os.pread(self.fd, RANGE, end)
            end += len(block)
        return (end + block.index(b"\n") + 1 - len(block), 1) if block else (end, 1)


def _regular_file(stream: Any) -> _RegularFile | None:
    import stat

    try:
        fd = stream.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return _RegularFile(fd, stream.tell(), os.fstat(fd).st_size)
    except (AttributeError, ValueError, OSError):
        return None


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
