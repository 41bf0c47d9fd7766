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
import pickle
import sys
import time
from contextlib import contextmanager
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
                conflicts = ix.conflicts(ranks)
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
    try:
        if jobs > 1 and not interactive and _can_fork():
            args = (BatchEvaluator(engine, options, defaults, with_possible), convert, max_line, what)
            n_done, bad, why = _run_parallel(jobs, args, stream, out, progress, stop)
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


def _run_parallel(jobs: int, args: tuple, stream: Any, out: Any, progress: _Progress,
                  stop: Any) -> tuple[int, int, int]:
    """--jobs: (lines read, bad lines, why the workers stopped early or 0)."""
    import gc

    out.flush()
    spool = workers = None
    try:
        try:
            fd = out.fileno()
        except (AttributeError, ValueError, OSError):  # an in-memory stream: the workers write to a file first
            import tempfile

            spool = tempfile.TemporaryFile()
            fd = spool.fileno()
        regular = _regular_file(stream)
        gc.freeze()  # the workers' collector leaves the knowledge base alone: fewer copied pages after the fork
        try:
            workers = _Workers(jobs, args, fd, regular)
        finally:
            gc.unfreeze()
        n = workers.feed(stream, progress, stop) if regular is None else 0
        bad, why = workers.finish(progress, stop)
        if spool is not None:
            import io

            spool.seek(0)
            spooled = io.TextIOWrapper(spool, encoding="utf-8")
            while piece := spooled.read(1 << 20):
                out.write(piece)
        return (n if regular is None else workers.slots[_NEXT_FIRST] - 1), bad, why
    finally:
        if workers is not None:
            workers.close()
            workers.release()
        if spool is not None:
            spool.close()


def _can_fork() -> bool:
    return hasattr(os, "fork")


CHUNK = 2048  # lines per task when the main process reads the input for the workers (not a regular file)
RANGE = 1 << 19  # bytes per task when the workers read a regular file themselves
PIECE = 64  # lines per output buffer of a worker: small buffers are reused chunk after chunk (one buffer of a few
# MB per chunk took a fresh page every 4 KB: 2.5 times the page faults of one process)
HELD = 4  # finished chunks a worker keeps while an earlier one is not written; beyond that it waits for its turn
_READER_GONE, _INTERRUPTED, _FAILED = 1, 2, 3  # why the workers stopped early
_TURN, _WRITTEN, _STOP, _NEXT_K, _NEXT_FIRST, _NEXT_START, _ERROR, _BAD = range(8)  # shared slots, _BAD one per worker
_ERROR_BYTES = 1 << 16  # room for a worker's pickled exception


class _Workers:
    """``jobs`` forked processes sharing a batch (--jobs). Each takes the next chunk of lines (a range of a regular
    file that it reads itself, or lines the main process reads), evaluates it with the evaluator built before the
    fork, and writes the chunk's output straight to the output file descriptor when every earlier chunk is written
    (the turn), keeping its finished chunks until then. Output never goes through the main process.

    Plain os.fork, pipes and a shared anonymous mapping (multiprocessing's start-up cost 25 ms): integers in
    ``slots``; one lock, a pipe holding one token, for taking a task; each worker's sentinel is a pipe it holds
    open until it ends."""

    def __init__(self, jobs: int, args: tuple, fd: int, source: _RegularFile | None) -> None:
        import mmap

        self.jobs, self.args, self.fd, self.parent = jobs, args, fd, os.getpid()  # args: _line's first four
        self.source: Any = source
        self.mem = mmap.mmap(-1, 8 * (_BAD + jobs) + _ERROR_BYTES)
        self.slots = memoryview(self.mem)[:8 * (_BAD + jobs)].cast("q")
        self.slots[_NEXT_FIRST], self.slots[_NEXT_START] = 1, source.start if source else 0
        self.lock = os.pipe()
        os.write(self.lock[1], b".")
        self.tasks: Any = None if source else os.pipe()  # pickled tasks, each after its length; length 0: the end
        self.procs: dict[int, int] = {}  # sentinel -> pid
        self.failed = False
        try:
            for i in range(jobs):
                self._fork(_BAD + i)
        except BaseException:  # no more processes: stop those started
            self.close()
            raise
        if self.tasks:
            os.close(self.tasks[0])  # every worker gone: writing a task fails instead of waiting forever
            os.set_blocking(self.tasks[1], False)

    def _fork(self, slot: int) -> None:
        sentinel, alive = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - in the worker (its coverage is not collected)
            code = 1
            try:
                os.close(sentinel)
                if self.tasks:
                    os.close(self.tasks[1])  # the main process's end: reading ends if it is gone
                code = self._work(slot)
            finally:
                os._exit(code)
        os.close(alive)
        self.procs[sentinel] = pid

    # -- in each worker ----------------------------------------------------------------------------------------

    def _work(self, slot: int) -> int:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process handles Ctrl-C and stops the workers
        ev, convert, max_line, what = self.args
        held, bad = {}, 0
        try:
            while (task := self._take()) is not None:
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
                self.slots[slot] = bad
                self._write(held, wait=len(held) > HELD)
            self._write(held, wait=True)
        except Exception as e:  # a bug: the main process raises it
            self._fail(e)
        return 0

    def _take(self) -> Any:
        """The next task, (k, first line number, lines), or None at the end (or when stopped early)."""
        with self._locked():
            if self.slots[_STOP]:
                return None
            if self.tasks:
                size = int.from_bytes(_read_exactly(self.tasks[0], 8) or bytes(8), "little")
                return pickle.loads(_read_exactly(self.tasks[0], size)) if size else None
            if os.getppid() != self.parent:  # the main process is gone
                return None
            k, first, start = self.slots[_NEXT_K], self.slots[_NEXT_FIRST], self.slots[_NEXT_START]
            span = self.source.after(start, self.jobs)
            if span is None:
                return None
            end, count = span
            self.slots[_NEXT_K], self.slots[_NEXT_FIRST], self.slots[_NEXT_START] = k + 1, first + count, end
        return k, first, (raw for _, raw in _lines(_FileRange(self.source.fd, start, end), self.args[2]))

    def _write(self, held: dict, wait: bool) -> None:
        """Write the held chunks whose turn it is, in order (``wait``: every one, waiting for its turn). Only the
        worker holding the turn's chunk writes and moves the turn on: no lock."""
        slots = self.slots
        while held and not slots[_STOP]:
            k = min(held)
            if slots[_TURN] != k:
                if not wait:
                    return
                time.sleep(0.001)
                continue
            pieces, count = held.pop(k)
            try:
                for piece in pieces:
                    view = memoryview(piece)
                    while view:
                        view = view[os.write(self.fd, view):]
            except BrokenPipeError:  # the reader went away (`| head`)
                slots[_STOP] = slots[_STOP] or _READER_GONE
                return
            slots[_WRITTEN] += count
            slots[_TURN] = k + 1

    def _fail(self, error: Exception) -> None:
        """Stop every worker; the first failing one leaves its exception for the main process."""
        try:
            data = pickle.dumps(error)
        except Exception:  # an exception that cannot be pickled
            data = pickle.dumps(RuntimeError(f"{type(error).__name__}: {error}"))
        with self._locked():
            self.slots[_STOP] = _FAILED
            if not self.slots[_ERROR] and len(data) <= _ERROR_BYTES:
                self.mem[8 * len(self.slots):8 * len(self.slots) + len(data)] = data
                self.slots[_ERROR] = len(data)

    @contextmanager
    def _locked(self) -> Any:
        os.read(self.lock[0], 1)
        try:
            yield
        finally:
            os.write(self.lock[1], b".")

    # -- in the main process -----------------------------------------------------------------------------------

    def feed(self, stream: Any, progress: _Progress, stop: Any) -> int:
        """Read input that is not a regular file for the workers, CHUNK lines per task. Returns the lines read."""
        chunk: list = []
        n = k = 0
        first = 1
        for n, raw in _lines(stream, self.args[2]):
            chunk.append(raw)
            if len(chunk) >= CHUNK:
                if not self._put((k, first, chunk), stop):
                    break
                k, first, chunk = k + 1, n + 1, []
                progress.update(self.slots[_WRITTEN], None)
        if chunk:
            self._put((k, first, chunk), stop)
        for _ in range(self.jobs):
            self._put(None, stop)
        return n

    def _put(self, task: Any, stop: Any) -> bool:
        """Write a task for the workers, watching for Ctrl-C and for workers ending early. False: stopped."""
        import select

        data = b"" if task is None else pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(len(data).to_bytes(8, "little") + data)
        while view and not self._stopping(stop):
            select.select([], [self.tasks[1]], [], 0.25)
            try:
                view = view[os.write(self.tasks[1], view[:1 << 16]):]
            except BlockingIOError:
                pass
            except BrokenPipeError:  # every worker is gone
                self.failed = True
        return not view

    def _stopping(self, stop: Any) -> bool:
        if stop.set:
            self.slots[_STOP] = self.slots[_STOP] or _INTERRUPTED
        self._reap(0)
        return bool(self.slots[_STOP]) or self.failed

    def _reap(self, timeout: float) -> None:
        """Wait up to ``timeout`` for workers to end; one killed (a worker reports its exceptions) stops them all."""
        import select

        for sentinel in select.select(list(self.procs), [], [], timeout)[0]:
            _, status = os.waitpid(self.procs.pop(sentinel), 0)
            os.close(sentinel)
            self.failed = self.failed or status != 0
        if self.failed:
            self.close()

    def finish(self, progress: _Progress, stop: Any) -> tuple[int, int]:
        """Wait for the workers. Returns (bad lines, why they stopped early or 0); raises what a worker raised."""
        while self.procs:
            self._stopping(stop)
            if self.procs:
                self._reap(0.25)
            progress.update(self.slots[_WRITTEN], self.slots[_NEXT_START] if self.source else None)
        if self.slots[_ERROR]:
            start = 8 * len(self.slots)
            raise pickle.loads(self.mem[start:start + self.slots[_ERROR]])
        if self.failed:
            raise RuntimeError("a worker process ended unexpectedly")
        return sum(self.slots[_BAD:]), self.slots[_STOP]

    def close(self) -> None:
        """Stop the workers still running (an error in the main process, or a worker killed)."""
        import signal

        for sentinel, pid in list(self.procs.items()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            os.close(sentinel)
            del self.procs[sentinel]

    def release(self) -> None:
        """Close the main process's pipes and mapping (once the workers are gone)."""
        for fd in (*self.lock, *(self.tasks[1:] if self.tasks else ())):
            os.close(fd)
        self.slots.release()
        self.mem.close()


def _read_exactly(fd: int, size: int) -> bytes:
    """``size`` bytes from a pipe, or fewer at its end."""
    parts = []
    while size > 0:
        part = os.read(fd, min(size, 1 << 20))
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


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
