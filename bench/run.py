"""Benchmarks (not tests): start-up, batch throughput, memory and validation, each measured side by side with its
baseline in one run, medians of several runs. Writes bench/RESULTS.md.

    python bench/run.py              # full run (about 5 minutes; needs check-jsonschema: pip install ".[bench]")
    python bench/run.py --quick      # smaller inputs, fewer repetitions
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
VASCULAR = str(BIN / "vascular")
sys.path.insert(0, str(ROOT / "bench"))
import generate  # noqa: E402


def timed(cmd: list[str], stdin=None, stdout=subprocess.DEVNULL) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t


def interleaved(cmds: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Median wall time of each command, the commands alternating run by run (same machine state for both)."""
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            times[name].append(timed(cmd))
    return {k: statistics.median(v) for k, v in times.items()}


def peak_rss_kib(cmd: list[str], stdin_path: str) -> int:
    """Peak resident memory of one child process (ru_maxrss of a fresh wrapper's children)."""
    code = ("import resource, subprocess, sys\n"
            f"with open({stdin_path!r}, 'rb') as f:\n"
            f"    subprocess.run({cmd!r}, stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


ROUNDTRIP = ("import json, sys\n"
             "out = sys.stdout\n"
             "for line in sys.stdin:\n"
             "    out.write(json.dumps(json.loads(line)) + '\\n')\n")


def bench_startup(runs: int) -> dict:
    cmds = {"vascular": [VASCULAR, "recommend", "--ceap", "C6", "--lesion", "chronic-occlusion", "--format", "json"],
            "typer hello": [sys.executable, str(ROOT / "bench" / "hello.py")]}
    subprocess.run(cmds["vascular"], stdout=subprocess.DEVNULL, check=True)  # warm the knowledge-base cache
    med = interleaved(cmds, runs)
    return {"vascular_ms": med["vascular"] * 1000, "hello_ms": med["typer hello"] * 1000,
            "ratio": med["vascular"] / med["typer hello"], "target": "<= 1.3"}


def bench_throughput(path: str, n: int, runs: int) -> dict:
    ours, floor = [], []
    for _ in range(runs):
        with open(path, "rb") as f:
            ours.append(timed([VASCULAR, "recommend", "--profiles", "-"], stdin=f))
        with open(path, "rb") as f:
            floor.append(timed([sys.executable, "-c", ROUNDTRIP], stdin=f))
    a, b = statistics.median(ours), statistics.median(floor)
    return {"profiles": n, "vascular_s": a, "roundtrip_s": b, "profiles_per_s": n / a, "ratio": a / b,
            "target": ">= 50000 profiles/s and <= 4x the json round trip"}


def bench_memory(small: str, large: str, n_small: int, n_large: int) -> dict:
    cmd = [VASCULAR, "recommend", "--profiles", "-"]
    a, b = peak_rss_kib(cmd, small), peak_rss_kib(cmd, large)
    return {"small_profiles": n_small, "large_profiles": n_large, "small_kib": a, "large_kib": b,
            "difference": (b - a) / a, "target": "< 10%"}


def bench_validate(runs: int, tmp: Path) -> dict:
    schema = tmp / "guideline.schema.json"
    schema.write_text(subprocess.run([VASCULAR, "schema"], capture_output=True, text=True, check=True).stdout)
    docs = sorted(str(p) for p in (ROOT / "guidelines").glob("*.yaml") if p.name not in ("vocabulary.yaml", "grading.yaml", "fhir-mapping.yaml"))
    cj = shutil.which("check-jsonschema", path=str(BIN)) or shutil.which("check-jsonschema")
    cmds = {"vascular": [VASCULAR, "validate", str(ROOT / "guidelines")]}
    if cj:
        cmds["check-jsonschema"] = [cj, "--schemafile", str(schema), *docs]
    env_cache = os.environ.get("VASCULAR_NO_CACHE")
    os.environ["VASCULAR_NO_CACHE"] = "1"  # validate never uses the cache anyway; make it explicit
    med = interleaved(cmds, runs)
    if env_cache is None:
        os.environ.pop("VASCULAR_NO_CACHE")
    out = {"vascular_s": med["vascular"], "files": len(docs) + 2}
    if cj:
        out.update({"check_jsonschema_s": med["check-jsonschema"], "ratio": med["vascular"] / med["check-jsonschema"]})
    else:
        out["check_jsonschema_s"] = None
    out["target"] = "faster than check-jsonschema, while checking strictly more"
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}")


def compile_bytecode() -> None:
    """Measure what users run: an installed package has its .pyc files (pip compiles them). An editable install
    under PYTHONDONTWRITEBYTECODE would recompile vascular's sources in every process and skew the start-up figure."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    import compileall

    import vascular_cli

    compileall.compile_dir(str(Path(vascular_cli.__file__).parent), quiet=1)


def main() -> None:
    compile_bytecode()
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--output", default=str(ROOT / "bench" / "RESULTS.md"))
    args = ap.parse_args()
    n_tp, n_small, n_large = (20_000, 10_000, 100_000) if args.quick else (200_000, 100_000, 1_000_000)
    runs = 5 if args.quick else 15
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.environ["VASCULAR_CACHE_DIR"] = str(tmp / "cache")
        paths = {n: str(tmp / f"p{n}.jsonl") for n in {n_tp, n_small, n_large}}
        for n, p in paths.items():
            generate.main(n, p)
        results = {
            "startup": bench_startup(runs),
            "throughput": bench_throughput(paths[n_tp], n_tp, 3),
            "memory": bench_memory(paths[n_small], paths[n_large], n_small, n_large),
            "validate": bench_validate(runs, tmp),
        }
    write(results, args)
    print(json.dumps(results, indent=2))


def write(r: dict, args) -> None:
    s, t, m, v = r["startup"], r["throughput"], r["memory"], r["validate"]
    ok = lambda c: "met" if c else "**not met**"  # noqa: E731
    cj = (f"{v['check_jsonschema_s'] * 1000:.0f} ms" if v["check_jsonschema_s"] else "not installed")
    lines = [
        "# Benchmark results",
        "",
        f"Command: `python bench/run.py{' --quick' if args.quick else ''}` (after `pip install \".[bench]\"`).",
        f"Machine: {machine()}.",
        f"Date: {time.strftime('%Y-%m-%d')}. Medians; each pair measured side by side (interleaved) in one run.",
        "",
        "| benchmark | vascular | baseline | ratio / figure | target | |",
        "|---|---|---|---|---|---|",
        f"| start-up: `recommend --ceap C6 --lesion chronic-occlusion --format json` vs a minimal typer app "
        f"| {s['vascular_ms']:.0f} ms | {s['hello_ms']:.0f} ms | {s['ratio']:.2f}x | <= 1.3x | {ok(s['ratio'] <= 1.3)} |",
        f"| batch throughput, {t['profiles']:,} varied profiles, `--profiles` to JSON Lines "
        f"| {t['vascular_s']:.2f} s ({t['profiles_per_s']:,.0f}/s) | json.loads/dumps round trip {t['roundtrip_s']:.2f} s "
        f"| {t['ratio']:.1f}x | >= 50,000/s and <= 4x | {ok(t['profiles_per_s'] >= 50_000 and t['ratio'] <= 4)} |",
        f"| peak RSS, {m['small_profiles']:,} vs {m['large_profiles']:,} profiles "
        f"| {m['large_kib'] / 1024:.1f} MiB | {m['small_kib'] / 1024:.1f} MiB | {m['difference']:+.1%} | < 10% "
        f"| {ok(abs(m['difference']) < 0.10)} |",
        f"| `vascular validate guidelines/` vs `check-jsonschema --schemafile <vascular schema>` ({v['files']} files) "
        f"| {v['vascular_s'] * 1000:.0f} ms | {cj} | "
        + (f"{v['ratio']:.2f}x" if v.get("ratio") else "-")
        + f" | faster | {ok(bool(v.get('ratio')) and v['ratio'] < 1)} |",
        "",
    ]
    out = Path(args.output)
    keep = ""  # the CDS Hooks load test's section (bench/cds_load.py) survives a rerun of this script
    if out.exists() and "<!-- cds-load: begin" in (old := out.read_text(encoding="utf-8")):
        keep = "\n" + old[old.index("<!-- cds-load: begin"):]
    out.write_text("\n".join(lines) + NOTES + keep, encoding="utf-8")


NOTES = """
## How each is measured

- **Start-up**: wall time of the whole process, with compiled bytecode (as pip installs it) and a warm knowledge-base
  cache (the first run after an edit of a
  guideline file pays for reading and checking the YAML once, ~0.1 s). Profiled with `python -X importtime`:
  typer and Python itself take most of it; vascular imports lazily (rich only for tables), defines its model as
  NamedTuples (cheaper than dataclasses to create and unpickle) and builds a typer app holding only the command run.
- **Throughput**: `vascular recommend --profiles -` reading the generated file (bench/generate.py: CEAP strings,
  lesions, bleeding risk, severity, days, ABI and yes/no factors, each present at random) and writing JSON Lines to
  /dev/null, against `json.loads` + `json.dumps` of every line (the I/O floor).
  Where the time goes (per profile): `json.loads` ~4 us; then index.py's RawMatcher reads each field's raw JSON
  value through a memo (parsed and validated once per distinct value), looks up the index's group memos and
  combines bitmasks (~10 us); the line's JSON is memoised per applying set (~2 us). Documents that are invalid or
  unusual take the full path (ProfileParser + MatchIndex), which names the error. `--all` (possible ids and missing
  facts on every line) goes through the full path and roughly halves the throughput.
- **Memory**: peak resident set size of the batch process (`ru_maxrss`), 100,000 versus 1,000,000 profiles. Input is
  streamed line by line and every memo is bounded (index.py `MEMO_LIMIT`), so memory does not grow with input size.
- **Validation**: all bundled files. check-jsonschema checks only the JSON Schema (types, fields); vascular also
  checks duplicate keys, vocabulary terms, grade codes, ids, references, contradictions, copied statements and runs
  every example profile, with file:line:col for each problem.
"""


if __name__ == "__main__":
    main()
