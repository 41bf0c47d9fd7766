"""Benchmarks (not tests): start-up, cache, batch throughput on four data sets, --jobs, memory and validation, each
measured side by side with its baselines in one run (medians of interleaved whole-process runs). Writes
bench/RESULTS.md.

    python bench/run.py                          # this checkout against the typer hello app and the JSON floor
    python bench/run.py --baseline /tmp/base     # ... and against another source tree (e.g. `git archive` of main)
    python bench/run.py --quick                  # smaller inputs, fewer repetitions

The code measured is the source tree's own (``--tree``, default: this checkout), put first on PYTHONPATH with its
bytecode compiled (as pip installs it), and started by a script that does what pip's console script does; the
Python is this one (its site-packages provide typer, PyYAML...). The knowledge-base cache is warm unless stated.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import generate  # noqa: E402

ROUNDTRIP = ("import json, sys\n"
             "out = sys.stdout\n"
             "for line in sys.stdin:\n"
             "    out.write(json.dumps(json.loads(line)) + '\\n')\n")


class Tree:
    """A source tree run as an installed package would be: compiled bytecode, a console-script-like launcher."""

    def __init__(self, name: str, path: Path, tmp: Path):
        self.name, self.path = name, path
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        compileall.compile_dir(str(path / "vascular_cli"), quiet=1)
        entry = "vascular_cli.entry:run" if (path / "vascular_cli" / "entry.py").exists() else "vascular_cli.cli:main"
        module, func = entry.split(":")
        self.script = tmp / f"vascular-{name}"
        self.script.write_text("import re\nimport sys\n"
                               f"from {module} import {func}\n"
                               "if __name__ == '__main__':\n"
                               "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
                               f"    sys.exit({func}())\n")
        self.env = {**os.environ, "PYTHONPATH": str(path), "VASCULAR_CACHE_DIR": str(tmp / f"cache-{name}")}

    def cmd(self, *args: str) -> list[str]:
        return [sys.executable, str(self.script), *args]


def timed(cmd: list[str], env: dict | None = None, stdin: str | None = None) -> float:
    fh = open(stdin, "rb") if stdin else subprocess.DEVNULL
    t = time.perf_counter()
    subprocess.run(cmd, stdin=fh, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    elapsed = time.perf_counter() - t
    if stdin:
        fh.close()
    return elapsed


def interleaved(cmds: dict[str, tuple], runs: int) -> dict[str, float]:
    """Median wall time of each (command, env, stdin), the commands alternating run by run."""
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(runs):
        for name, (cmd, env, stdin) in cmds.items():
            times[name].append(timed(cmd, env, stdin))
    return {k: statistics.median(v) for k, v in times.items()}


def peak_rss_kib(cmd: list[str], env: dict, stdin_path: str) -> int:
    code = ("import resource, subprocess, sys\n"
            f"with open({stdin_path!r}, 'rb') as f:\n"
            f"    subprocess.run({cmd!r}, stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={env!r})\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


STARTUP = {
    "recommend --format json": ["recommend", "--ceap", "C6", "--lesion", "chronic-occlusion", "--format", "json"],
    "recommend (table)": ["recommend", "--ceap", "C6", "--lesion", "chronic-occlusion"],
    "--version": ["--version"],
    "validate guidelines/": ["validate", str(ROOT / "guidelines")],
}
TARGETS = {"recommend --format json": 0.5, "recommend (table)": 0.8, "--version": 0.5, "validate guidelines/": 1.0}


def bench_startup(trees: list[Tree], runs: int) -> dict:
    hello = ([sys.executable, str(ROOT / "bench" / "hello.py")], None, None)
    out = {}
    for label, args in STARTUP.items():
        cmds = {"hello": hello}
        for t in trees:
            cmds[t.name] = (t.cmd(*args), t.env, None)
            subprocess.run(t.cmd(*args), env=t.env, capture_output=True)  # warm the caches
        med = interleaved(cmds, runs)
        out[label] = {k: v * 1000 for k, v in med.items()}
    return out


def bench_cold(tree: Tree, tmp: Path) -> dict:
    """Empty cache: the first run, then runs from two other working directories (no rebuild expected), and the
    number of cache files left behind."""
    env = {**tree.env, "VASCULAR_CACHE_DIR": str(tmp / f"cold-{tree.name}")}
    args = STARTUP["recommend --format json"]
    first = timed(tree.cmd(*args), env)
    dirs = [tmp / "cwd-a", tmp / "cwd-b"]
    after = []
    for d in dirs:
        d.mkdir(exist_ok=True)
        t = time.perf_counter()
        subprocess.run(tree.cmd(*args), env=env, cwd=d, capture_output=True)
        after.append(time.perf_counter() - t)
    files = sorted(os.listdir(env["VASCULAR_CACHE_DIR"]))
    return {"first_ms": first * 1000, "other_cwd_ms": [x * 1000 for x in after], "cache_files": files}


def bench_batch(trees: list[Tree], paths: dict, n: int, runs: int) -> dict:
    out = {}
    for kind, path in paths.items():
        cmds = {"floor": ([sys.executable, "-c", ROUNDTRIP], None, path)}
        for t in trees:
            cmds[t.name] = (t.cmd("recommend", "--profiles", "-"), t.env, path)
        med = interleaved(cmds, runs)
        out[kind] = {k: v for k, v in med.items()}
    return out


def bench_jobs(trees: list[Tree], path: str, runs: int, tmp: Path) -> dict:
    """--jobs 2 against one process for each tree, and (what the shared machine allows at that moment) two
    independent processes of the first tree on the two halves of the input, all interleaved."""
    lines = Path(path).read_bytes().splitlines(keepends=True)
    halves = [tmp / "half-1.jsonl", tmp / "half-2.jsonl"]
    halves[0].write_bytes(b"".join(lines[:len(lines) // 2]))
    halves[1].write_bytes(b"".join(lines[len(lines) // 2:]))
    one = " ".join(shlex.quote(c) for c in trees[0].cmd("recommend", "--profiles", "-"))
    cmds: dict[str, tuple] = {}
    for t in trees:
        cmds[f"1 {t.name}"] = (t.cmd("recommend", "--profiles", "-"), t.env, path)
        cmds[f"2 {t.name}"] = (t.cmd("recommend", "--profiles", "-", "--jobs", "2"), t.env, path)
    cmds["halves"] = (["bash", "-c", f"{one} < {halves[0]} > /dev/null & {one} < {halves[1]} > /dev/null; wait"],
                      trees[0].env, None)
    identical = {}
    for t in trees:
        a, b = (subprocess.run(cmds[f"{j} {t.name}"][0], env=t.env, stdin=open(path, "rb"), capture_output=True).stdout
                for j in (1, 2))
        identical[t.name] = a == b
    med = interleaved(cmds, runs)
    return {t.name: {"one_s": med[f"1 {t.name}"], "two_s": med[f"2 {t.name}"],
                     "speedup": med[f"1 {t.name}"] / med[f"2 {t.name}"], "identical": identical[t.name]}
            for t in trees} | {"halves_s": med["halves"], "ceiling": med[f"1 {trees[0].name}"] / med["halves"]}


def bench_memory(tree: Tree, small: str, large: str, n_small: int, n_large: int) -> dict:
    cmd = tree.cmd("recommend", "--profiles", "-")
    a, b = peak_rss_kib(cmd, tree.env, small), peak_rss_kib(cmd, tree.env, large)
    return {"small": n_small, "large": n_large, "small_kib": a, "large_kib": b, "difference": (b - a) / a}


def bench_validate_cj(tree: Tree, runs: int, tmp: Path) -> dict:
    schema = tmp / "guideline.schema.json"
    schema.write_text(subprocess.run(tree.cmd("schema"), env=tree.env, capture_output=True, text=True).stdout)
    docs = sorted(str(p) for p in (ROOT / "guidelines").glob("*.yaml")
                  if p.name not in ("vocabulary.yaml", "grading.yaml", "fhir-mapping.yaml"))
    cj = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which("check-jsonschema")
    if not cj:
        return {}
    med = interleaved({"vascular": (tree.cmd("validate", str(ROOT / "guidelines")), tree.env, None),
                       "check-jsonschema": ([cj, "--schemafile", str(schema), *docs], None, None)}, runs)
    return {"vascular_ms": med["vascular"] * 1000, "cj_ms": med["check-jsonschema"] * 1000}


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--tree", default=str(ROOT), help="the source tree measured (default: this checkout)")
    ap.add_argument("--baseline", help="another source tree measured side by side (e.g. the main branch)")
    ap.add_argument("--lines", type=int, help="profiles per batch data set")
    ap.add_argument("--memory-lines", type=int, nargs=2, help="small and large inputs of the memory benchmark")
    ap.add_argument("--runs", type=int, help="repetitions of each start-up command (default 11, --quick 5)")
    ap.add_argument("--output", default=str(ROOT / "bench" / "RESULTS.md"))
    args = ap.parse_args()
    n = args.lines or (20_000 if args.quick else 100_000)
    n_small, n_large = args.memory_lines or ((10_000, 100_000) if args.quick else (100_000, 1_000_000))
    runs = args.runs or (5 if args.quick else 11)
    batch_runs = 3 if args.quick else 5
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        trees = [Tree("new", Path(args.tree), tmp)]
        if args.baseline:
            trees.append(Tree("baseline", Path(args.baseline), tmp))
        paths = {}
        for kind in generate.KINDS:
            paths[kind] = str(tmp / f"{kind}.jsonl")
            generate.main(n, paths[kind], kind=kind)
        generate.main(n_small, str(tmp / "small.jsonl"))
        generate.main(n_large, str(tmp / "large.jsonl"))
        results = {
            "startup": bench_startup(trees, runs),
            "cold": {t.name: bench_cold(t, tmp) for t in trees},
            "batch": bench_batch(trees, paths, n, batch_runs),
            "jobs": bench_jobs(trees, paths["distinct"], batch_runs + 2, tmp),
            "memory": bench_memory(trees[0], str(tmp / "small.jsonl"), str(tmp / "large.jsonl"), n_small, n_large),
            "validate": bench_validate_cj(trees[0], runs, tmp),
        }
    results["load"] = {"before": load_before, "after": os.getloadavg()}
    results["n"] = n
    write(results, args)
    print(json.dumps(results, indent=2))


def write(r: dict, args: argparse.Namespace) -> None:
    ok = lambda c: "met" if c else "**not met**"  # noqa: E731
    base = "baseline" in r["startup"]["--version"]
    cmd = "python bench/run.py" + (" --quick" if args.quick else "") + (
        f" --baseline {args.baseline}" if args.baseline else "") + (f" --lines {args.lines}" if args.lines else "") + (
        f" --memory-lines {args.memory_lines[0]} {args.memory_lines[1]}" if args.memory_lines else "") + (
        f" --runs {args.runs}" if args.runs else "")
    lb, la = r["load"]["before"], r["load"]["after"]
    lines = [
        "# Benchmark results", "",
        f"Command: `{cmd}`.", f"Machine: {machine()}.",
        f"Load average (1/5/15 min) before: {lb[0]:.2f} {lb[1]:.2f} {lb[2]:.2f}; after: {la[0]:.2f} {la[1]:.2f} "
        f"{la[2]:.2f} (the 2 cores are shared with other work: absolute times are noisy, the ratios of interleaved "
        "runs less so).",
        f"Date: {time.strftime('%Y-%m-%d %H:%M')}. Medians of interleaved whole-process runs.", "",
        "## Start-up (warm cache), against the typer hello app (bench/hello.py)", "",
        "| command | hello | new | ratio | " + ("baseline | ratio | " if base else "") + "target | |",
        "|---|---|---|---|" + ("---|---|" if base else "") + "---|---|",
    ]
    for label, m in r["startup"].items():
        ratio = m["new"] / m["hello"]
        row = f"| `{label}` | {m['hello']:.0f} ms | {m['new']:.0f} ms | {ratio:.2f}x | "
        if base:
            row += f"{m['baseline']:.0f} ms | {m['baseline'] / m['hello']:.2f}x | "
        row += f"<= {TARGETS[label]}x | {ok(ratio <= TARGETS[label])} |"
        lines.append(row)
    lines += ["", "## Cold start and cache", ""]
    for name, c in r["cold"].items():
        lines.append(f"- {name}: empty cache {c['first_ms']:.0f} ms; then from two other working directories "
                     f"{', '.join(f'{x:.0f} ms' for x in c['other_cwd_ms'])}; cache files left: {len(c['cache_files'])}"
                     f" ({', '.join(c['cache_files'])})")
    lines += ["", f"## Batch, {r['n']:,} profiles per data set (`recommend --profiles -`), against the stdlib floor",
              "",
              "The floor: `json.loads` + `json.dumps` of every line in one process (bench/run.py ROUNDTRIP).", "",
              "| data set | floor | new | profiles/s | ratio | " + ("baseline | ratio | " if base else "")
              + "target | |",
              "|---|---|---|---|---|" + ("---|---|" if base else "") + "---|---|"]
    for kind, m in r["batch"].items():
        ratio = m["new"] / m["floor"]
        row = f"| {kind} | {m['floor']:.2f} s | {m['new']:.2f} s | {r['n'] / m['new']:,.0f} | {ratio:.1f}x | "
        if base:
            row += f"{m['baseline']:.2f} s | {m['baseline'] / m['floor']:.1f}x | "
        lines.append(row + f"<= 4x | {ok(ratio <= 4)} |")
    j, mem = r["jobs"], r["memory"]
    lines += ["", "## Cores and memory", "",
              f"- `--jobs 2` on the distinct data set: {j['new']['two_s']:.2f} s vs {j['new']['one_s']:.2f} s with one "
              f"process: {j['new']['speedup']:.2f}x (target >= 1.7x: {ok(j['new']['speedup'] >= 1.7)}); output "
              f"identical: {j['new']['identical']}."
              + (f" Baseline: {j['baseline']['two_s']:.2f} s vs {j['baseline']['one_s']:.2f} s: "
                 f"{j['baseline']['speedup']:.2f}x." if base else "")
              + f" Two independent processes on the two halves, same run: {j['halves_s']:.2f} s, {j['ceiling']:.2f}x "
              "(what the shared 2 cores allowed).",
              f"- Peak RSS, {mem['small']:,} vs {mem['large']:,} profiles (project data): {mem['small_kib'] / 1024:.1f}"
              f" vs {mem['large_kib'] / 1024:.1f} MiB ({mem['difference']:+.1%}; target within 10%: "
              f"{ok(abs(mem['difference']) <= 0.10)})."]
    v = r["validate"]
    if v:
        lines.append(f"- `vascular validate guidelines/` {v['vascular_ms']:.0f} ms vs check-jsonschema (schema only) "
                     f"{v['cj_ms']:.0f} ms.")
    out = Path(args.output)
    keep = ""  # the CDS Hooks load test's section (bench/cds_load.py) survives a rerun of this script
    if out.exists() and "<!-- cds-load: begin" in (old := out.read_text(encoding="utf-8")):
        keep = "\n" + old[old.index("<!-- cds-load: begin"):]
    out.write_text("\n".join(lines) + "\n" + NOTES + keep, encoding="utf-8")


NOTES = """
## How each is measured

- **Start-up**: wall time of the whole process, bytecode compiled, warm knowledge-base cache. `vascular` starts in
  `vascular_cli/entry.py`: a command line that its small parser (generated from the typer app's own declarations,
  cached with the knowledge base) takes as plainly valid runs the command body directly, without importing typer,
  click or pydantic; anything else (help, completion, errors, other commands) goes to the typer app.
- **Cold start**: an empty cache builds the knowledge base once (read and check the YAML) and the option spec once;
  the cache key holds resolved paths and contents, never the working directory.
- **Batch**: see the data sets in bench/generate.py; the floor is `json.loads` + `json.dumps` of each input line
  (ROUNDTRIP above: our output, about 4 times larger on the distinct set, is not what it writes). The hot path is
  vascular_cli/atom_matcher.py: criteria compiled to bit runs, per-value masks (CEAP top class and etiology, lesion
  terms, factor items with their closure, numeric intervals), carry additions; no memo of combinations.
- **Memory**: peak resident set size (`ru_maxrss`) of the batch process.
"""


if __name__ == "__main__":
    main()
