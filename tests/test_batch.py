"""Batch mode: one output line per input line, in order, bad lines reported and the run goes on."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import cli
from hypothesis import given, settings
from hypothesis import strategies as st

GOOD = b'{"id": "a", "ceap": "C6", "lesion": "chronic-occlusion"}\n'


def _lines(out: str):
    return [json.loads(x) for x in out.splitlines()]


def test_one_result_per_line_in_order_with_line_numbers():
    data = GOOD + b'{"id": 2, "lesion": ["acute-iliofemoral-dvt"], "symptom_days": 3, "bleeding_risk": "low"}\n'
    r = cli("recommend", "--profiles", "-", stdin=data)
    assert r.code == 0 and r.err == ""
    rows = _lines(r.out)
    assert [(x["line"], x["id"], x["status"]) for x in rows] == [(1, "a", "ok"), (2, 2, "ok")]
    assert "svs-avf-2014-vlu/6.14" in rows[0]["applies"]
    assert "svs-avf-2014-vlu/8.3c" in rows[1]["applies"]
    assert rows[0]["covered"] is True


@pytest.mark.parametrize("line, message", [
    (b"\n", "empty line (expected a JSON object)"),
    (b"   \n", "empty line (expected a JSON object)"),
    (b"not json\n", "invalid JSON at column 1: "),
    (b"[1, 2]\n", "expected a JSON object (a profile), got an array"),
    (b'"C6"\n', "expected a JSON object (a profile), got a string"),
    (b'{"ceap": "C7"}\n', "ceap: clinical class 'C7' is not defined in CEAP 2020"),
    (b'{"ceap": "C6", "lesions": "x"}\n', "unknown profile key 'lesions' (did you mean 'lesion'?)"),
    (b'{"symptom_days": -4}\n', "symptom_days: -4 is outside the valid range 0-36500"),
    (b'{"abi": "high"}\n', "abi: expected a number, got the string 'high'"),
    (b'{"ceap": "C6", \xff}\n', "invalid UTF-8 at byte 16"),
    (b'{"ceap": "C6"', "invalid JSON at column 14: "),
])
def test_bad_line_is_reported_and_the_run_goes_on(line, message):
    data = GOOD + line + GOOD if line.endswith(b"\n") else GOOD + GOOD + line  # a truncated line can only be last
    r = cli("recommend", "--profiles", "-", stdin=data)
    rows = _lines(r.out)
    assert r.code == 1
    bad = [x for x in rows if x["status"] == "error"]
    assert len(bad) == 1 and bad[0]["error"].startswith(message), bad
    assert [x["line"] for x in rows] == list(range(1, len(rows) + 1))
    assert sum(x["status"] == "ok" for x in rows) == 2
    assert r.err == "vascular: 1 bad line(s) in <stdin>\n"


def test_over_long_line_is_skipped_without_reading_it_whole():
    huge = b'{"id": "' + b"x" * (10 * 1024 * 1024) + b'"}\n'
    r = cli("recommend", "--profiles", "-", stdin=GOOD + huge + GOOD)
    rows = _lines(r.out)
    assert [x["status"] for x in rows] == ["ok", "error", "ok"]
    assert rows[1] == {"line": 2, "id": None, "status": "error", "error": "line longer than the 1 MiB limit"}


def test_flags_are_defaults_for_every_line():
    r = cli("recommend", "--profiles", "-", "--all", "--ceap", "C6",
            stdin=b'{"lesion": "chronic-occlusion"}\n{"ceap": "C3"}\n')
    rows = _lines(r.out)
    assert "svs-avf-2014-vlu/6.14" in rows[0]["applies"]
    assert "svs-avf-2014-vlu/6.14" not in rows[1]["applies"] + rows[1]["possible"]


def test_batch_and_single_profile_agree(kb):
    doc = {"ceap": "C6", "lesion": ["chronic-occlusion"], "factors": ["arterial-disease"], "abi": 0.4}
    single = json.loads(cli("recommend", "--profile", "-", "-f", "json", stdin=json.dumps(doc).encode()).out)
    batch = _lines(cli("recommend", "--profiles", "-", "--all", stdin=json.dumps(doc).encode() + b"\n").out)[0]
    assert batch["applies"] == [x["id"] for x in single["recommendations"] if x["status"] == "applies"]
    assert batch["possible"] == [x["id"] for x in single["recommendations"] if x["status"] == "possible"]
    assert batch["possible_count"] == len(batch["possible"]) == single["summary"]["possible"]
    assert batch["missing"] == [[a["fact"], a["settles_up_to"], a["settles_certainly"]]
                                for a in single["ask_next"]]  # the same ranking
    assert batch["missing"] and {a["fact"] for a in single["ask_next"]} == {
        m["fact"] for x in single["recommendations"] if x["possible_kind"] == "partly-matched" for m in x["missing"]}
    assert "possible" not in _lines(cli("recommend", "--profiles", "-", stdin=json.dumps(doc).encode() + b"\n").out)[0]


def test_memo_does_not_mix_up_threshold_sides():
    lines = b"".join(json.dumps({"lesion": "acute-iliofemoral-dvt", "bleeding_risk": "low", "symptom_days": d}).encode()
                     + b"\n" for d in (13, 14, 13, 14))
    rows = _lines(cli("recommend", "--profiles", "-", stdin=lines).out)
    has = ["svs-avf-2014-vlu/8.3c" in x["applies"] for x in rows]
    assert has == [True, False, True, False]


def _run_subprocess(args, **kw):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.Popen([sys.executable, "-c", "from vascular_cli.entry import run; run()", *args], env=env, **kw)


JOBS = pytest.mark.parametrize("jobs", [[], ["--jobs", "2"]], ids=["one process", "two workers"])


@JOBS
def test_sigpipe_from_head_leaves_whole_lines_and_exits_quietly(tmp_path, jobs):
    src = tmp_path / "many.jsonl"
    src.write_bytes(GOOD * 20000)
    p = _run_subprocess(["recommend", "--profiles", str(src), *jobs], stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE)
    first = p.stdout.readline()
    p.stdout.close()  # like `| head -1`
    err = p.stderr.read()
    p.wait(timeout=60)
    assert json.loads(first)["line"] == 1
    assert b"Traceback" not in err and p.returncode == 0, err


@JOBS
def test_sigint_leaves_only_whole_json_lines(tmp_path, jobs):
    src = tmp_path / "many.jsonl"
    src.write_bytes(GOOD * 2000000)  # several seconds of work, whatever the machine
    out = tmp_path / "out.jsonl"
    with open(out, "wb") as fh:
        p = _run_subprocess(["recommend", "--profiles", str(src), *jobs], stdout=fh, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not out.stat().st_size and time.monotonic() < deadline:  # interrupted while it writes
            time.sleep(0.02)
        p.send_signal(signal.SIGINT)
        err = p.communicate(timeout=60)[1]
    src.unlink()  # 112 MB: not kept with pytest's last temporary directories
    assert p.returncode == 130 and err.endswith(b"vascular: interrupted\n"), err
    text = out.read_text()
    out.unlink()
    assert text.endswith("\n") and text.count("\n") < 2000000
    for i, line in enumerate(text.splitlines(), 1):
        assert json.loads(line)["line"] == i


def test_factor_defaults_merge_with_each_line_like_a_profile_document():
    rows = _lines(cli("recommend", "--profiles", "-", "--all", "--factor", "malignancy=no", "--factor", "pregnancy",
                      stdin=b'{"lesion": "pe", "factors": ["pregnancy=no"]}\n').out)
    single = json.loads(cli("recommend", "--profile", "-", "--factor", "malignancy=no", "-f", "json",
                            stdin=b'{"lesion": "pe", "factors": ["pregnancy=no"]}').out)
    # the line wins for pregnancy in batch (defaults), the option wins with --profile (overrides); both merge
    assert single["profile"]["factors"]["malignancy"] is False and single["profile"]["factors"]["pregnancy"] is False
    assert rows[0]["status"] == "ok"
    assert rows[0]["applies"] == [x["id"] for x in single["recommendations"] if x["status"] == "applies"]


def test_jobs_give_the_output_of_one_process():
    """Issue 15 point 4: --jobs N writes exactly what one process writes (line numbers, order, errors, exit code),
    over several chunks."""
    import random

    from vascular_cli import batch

    rng = random.Random(5)
    lines = []
    for i in range(3 * batch.CHUNK + 17):
        r = rng.random()
        if r < 0.05:
            lines.append(b"not json\n")
        elif r < 0.08:
            lines.append(b'{"ceap": "C7"}\n')
        else:
            lines.append(json.dumps({"id": i, "ceap": rng.choice(["C2", "C4b", "C6,s Es Ad Pr,o"]),
                                     "lesion": rng.sample(["nivl", "chronic-occlusion", "deep-reflux",
                                                           "acute-iliofemoral-dvt"], 2),
                                     "symptom_days": rng.randint(0, 30)}).encode() + b"\n")
    data = b"".join(lines)
    one = cli("recommend", "--profiles", "-", stdin=data)
    two = cli("recommend", "--profiles", "-", "--jobs", "2", stdin=data)
    assert one.code == 1 and (two.code, two.out, two.err) == (one.code, one.out, one.err)
    assert [x["line"] for x in _lines(two.out)] == list(range(1, len(lines) + 1))
    full = cli("recommend", "--profiles", "-", "--all", "-j", "3", stdin=data)
    assert full.out == cli("recommend", "--profiles", "-", "--all", stdin=data).out


def test_workers_writing_to_a_file_give_the_output_of_one_process(tmp_path):
    """With a real output file, each worker writes its chunks itself, in turn: still the output of one process."""
    import random

    from vascular_cli import batch

    rng = random.Random(6)
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(rng.choice([GOOD, b"not json\n", b'{"ceap": "C6,s", "symptom_days": 3}\n',
                                         b'{"lesion": ["nivl"], "severity": "severe"}\n'])
                             for _ in range(5 * batch.CHUNK + 3)))
    outputs = []
    for jobs in ([], ["--jobs", "2"], ["--jobs", "3"]):
        out = tmp_path / f"out{len(jobs)}.jsonl"
        with open(out, "wb") as fh:
            p = _run_subprocess(["recommend", "--profiles", str(src), *jobs], stdout=fh, stderr=subprocess.PIPE)
            err = p.communicate(timeout=120)[1]
        outputs.append((p.returncode, out.read_bytes(), err))
    assert outputs[0][0] == 1 and outputs[1] == outputs[0] and outputs[2] == outputs[0]


@pytest.mark.parametrize("source", ["pipe", "file"])
@pytest.mark.parametrize("how", ["raises", "killed"])
def test_a_failing_worker_ends_the_run_with_an_error_not_a_hang(tmp_path, monkeypatch, source, how):
    """A bug in a worker (an exception) is reported by the main process as one line; a worker killed (out of
    memory, kill -9) stops the others and the run. Either way: exit 70, no traceback, no process left waiting."""
    from vascular_cli import batch

    main, real = os.getpid(), batch._line

    def line(ev, convert, max_line, what, n, raw):
        if n == 3000 and os.getpid() != main:
            if how == "killed":
                os.kill(os.getpid(), signal.SIGKILL)
            raise KeyError("boom")
        return real(ev, convert, max_line, what, n, raw)

    monkeypatch.setattr(batch, "_line", line)
    data = GOOD * 6000
    if source == "file":
        (tmp_path / "in.jsonl").write_bytes(data)
        r = cli("recommend", "--profiles", str(tmp_path / "in.jsonl"), "--jobs", "2")
    else:
        r = cli("recommend", "--profiles", "-", "--jobs", "2", stdin=data)
    words = "KeyError: 'boom'" if how == "raises" else "RuntimeError: a worker process ended unexpectedly"
    assert (r.code, r.err) == (70, f"vascular: internal error (please report it): {words}\n")


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads /proc")
@pytest.mark.parametrize("source", ["pipe", "file"])
def test_workers_stop_when_the_main_process_is_killed(tmp_path, source):
    """kill -9 of the main process (or a SIGTERM it does not catch) leaves no worker running on its own."""

    def children(pid):
        out = []
        for d in os.listdir("/proc"):
            try:
                if d.isdigit() and int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d))
            except OSError:
                pass
        return out

    def running(pid):
        try:
            return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    src = tmp_path / "in.jsonl"
    src.write_bytes(GOOD * 2000000)  # several seconds of work: longer than the workers may outlive the main process
    feeder = subprocess.Popen(["cat", str(src)], stdout=subprocess.PIPE) if source == "pipe" else None
    try:
        p = _run_subprocess(["recommend", "--profiles", "-" if feeder else str(src), "--jobs", "2"],
                            stdin=feeder.stdout if feeder else subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while len(workers := children(p.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(workers) == 2
        time.sleep(0.5)
        p.kill()
        p.wait()
        deadline = time.monotonic() + 3
        while any(running(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        if feeder:
            feeder.kill()
            feeder.wait()
        src.unlink()  # 112 MB: not kept with pytest's last temporary directories
    assert not any(running(w) for w in workers)


@pytest.mark.parametrize("args, message", [
    (["--jobs", "0", "--profiles", "-"], "--jobs: '0' is not a number of processes (1-256)"),
    (["--jobs", "two", "--profiles", "-"], "--jobs: 'two' is not a number of processes (1-256)"),
    (["--jobs", "2", "--ceap", "C6"], "--jobs applies to batch mode (--profiles, --fhir-bundles)"),
])
def test_jobs_errors(args, message):
    r = cli("recommend", *args)
    assert r.code == 2 and r.err == f"vascular: error: {message}\n"


def _readline_lines(stream, max_line):
    """The lines a readline loop gives (the reading batch mode had before it read blocks): the oracle below."""
    n = 0
    while True:
        chunk = stream.readline(max_line + 1)
        if not chunk:
            return
        n += 1
        if len(chunk) > max_line:
            while chunk and not chunk.endswith(b"\n"):
                chunk = stream.readline(max_line)
            yield n, None
        else:
            yield n, chunk[:-1] if chunk.endswith(b"\n") else chunk


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([b"a", b"bb", b"\n", b"ccccc", b"\r\n", b"d" * 12]), max_size=14),
       st.sampled_from([1, 2, 3, 5, 8, 64]), st.sampled_from([1, 2, 3, 4, 10]))
def test_block_reading_gives_the_lines_and_over_long_lines_of_readline(pieces, block, max_line):
    import io

    from vascular_cli import batch

    data = b"".join(pieces)
    old, batch.BLOCK = batch.BLOCK, block
    try:
        assert list(batch._lines(io.BytesIO(data), max_line)) == list(_readline_lines(io.BytesIO(data), max_line))
    finally:
        batch.BLOCK = old


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"a", b"bb", b"\n", b"ccccc", b"\r\n", b"d" * 12]), max_size=14),
       st.sampled_from([1, 2, 3, 7, 64]), st.sampled_from([1, 2, 4, 10]), st.integers(0, 3))
def test_file_ranges_give_the_lines_of_the_whole_file(tmp_path_factory, pieces, size, max_line, skip):
    """--jobs on a regular file: each worker reads its own range of whole lines; together, with their first line
    numbers, they are the lines of the file (over-long ones included), from the current position on."""
    from vascular_cli import batch

    data = b"".join(pieces)
    path = tmp_path_factory.mktemp("ranges") / "in.jsonl"
    path.write_bytes(b"x\n" * skip + data)
    old, batch.RANGE = batch.RANGE, size
    try:
        with open(path, "rb") as fh:
            for _ in range(skip):  # the ranges start where the stream is (a redirected stdin may be read from)
                fh.readline()
            source = batch._regular_file(fh)
            got, start, first = [], source.start, 1
            while (span := source.after(start)) is not None:
                end, count = span
                part = list(batch._lines(batch._FileRange(source.fd, start, end), max_line))
                assert len(part) == count  # the range's line count, as the workers number their lines
                got += [(first + n - 1, raw) for n, raw in part]
                start, first = end, first + count
    finally:
        batch.RANGE = old
    import io

    assert got == list(batch._lines(io.BytesIO(data), max_line))


_JSON_PIECES = [b'{"ceap": "C6"', b', "abi": 0.9', b', "abi": 1e400', b', "symptom_days": 12345678901234567890123',
                b', "id": "\\ud800"', b', "id": "a:b{"', b', "ceap": "C5"', b', "x": NaN', b', "f": {"a": 1, "a": 2}',
                b', "lesion": ["nivl", {"k": [1, 2.50, -0, true, null]}]', b"}", b" ", b"\t", b"]", b"[", b'"',
                b"\xff", b"\xef\xbb\xbf", b'{"id": 1.0}', b"null", b"7", b'{"a": "\\u00e9\xc3\xa9"}']


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_JSON_PIECES), min_size=1, max_size=6))
def test_the_optional_fast_reader_reads_lines_as_the_stdlib_reader_does(pieces):
    """The extra "fast" (orjson) may only take lines the stdlib reader takes, and read them the same (types
    included); everything else, and every error message, is the stdlib reader's."""
    orjson = pytest.importorskip("orjson")
    from vascular_cli import batch

    raw = b"".join(pieces)
    old = batch._fast_loads
    try:
        batch._fast_loads = None
        want = batch.parse_line(raw)
        batch._fast_loads = orjson.loads
        got = batch.parse_line(raw)
    finally:
        batch._fast_loads = old
    assert repr(got) == repr(want)
