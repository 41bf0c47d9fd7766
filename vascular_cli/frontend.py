"""The bodies of the commands the start-up fast path runs (``recommend``, ``validate``, ``--version``) and the
error handling every run shares. Free of typer: cli.py declares the options (typer, for help, completion and usage
errors) and calls these; entry.py calls them directly when the command line parses plainly (see entry.py)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from . import __version__
from .errors import DataError, InputError, VascularError
from .render import CEAP, LIST, RECOMMEND, SHOW, VALIDATE, VOCAB  # noqa: F401 (registries, re-exported to cli)


def version() -> int:
    print(f"vascular {__version__}")
    return 0


def guarded(call: Callable[[], Any]) -> int:
    """Run a command: every error ends in one clear message and a documented exit code, never a traceback."""
    try:
        rv = call()
        return rv if isinstance(rv, int) else 0
    except DataError as e:
        for p in e.problems[:20]:
            print(p, file=sys.stderr)
        more = len(e.problems) - 20
        print(("" if more <= 0 else f"... and {more} more\n") + f"vascular: error: {e} - run 'vascular validate' "
              "on the guideline files for the full report", file=sys.stderr)
        return 1
    except VascularError as e:
        print(f"vascular: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(file=sys.stderr)  # as click does before its Abort
        print("vascular: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except Exception as e:  # a bug: still one line, never a traceback (VASCULAR_DEBUG=1 shows it)
        if os.environ.get("VASCULAR_DEBUG"):
            raise
        print(f"vascular: internal error (please report it): {type(e).__name__}: {e}", file=sys.stderr)
        return 70


def _kb(guidelines: list[str] | None, no_bundled: bool = False) -> Any:
    from .kbcache import load_checked

    for g in guidelines or ():
        if not os.path.exists(g):
            raise InputError(f"--guidelines: {g!r} is not a file or directory")
    if no_bundled and not guidelines:
        raise InputError("--no-bundled needs --guidelines DIR (the knowledge base to use instead)")
    kb = load_checked(guidelines or None, not no_bundled)
    if guidelines and not any(g.path.startswith("<bundled>/") is False for g in kb.guidelines):
        raise InputError(f"--guidelines: no guideline documents (YAML files with a top-level 'guideline' key) in "
                         f"{', '.join(guidelines)}")
    return kb


def _choice(value: str, valid: Any, option: str) -> str:
    from .suggest import did_you_mean

    if value not in valid:
        raise InputError(f"{option}: {value!r} is not valid{did_you_mean(value, valid)} (valid: {', '.join(valid)})")
    return value


def _read_text(path: str, what: str) -> str:
    from .limits import MAX_BYTES
    from .loader import read_bytes
    from .yamlio import YAMLProblem, decode

    try:
        data = sys.stdin.buffer.read(MAX_BYTES + 1) if path == "-" else read_bytes(path)
    except OSError as e:
        raise InputError(f"{what} {path!r}: cannot read ({e.strerror})") from None
    try:
        return decode(data)
    except YAMLProblem as e:
        raise InputError(f"{'<stdin>' if path == '-' else path}:{e.line}:{e.col}: {e.message}") from None


def recommend(ceap: str | None, lesion: list[str] | None, bleeding_risk: str | None, severity: str | None,
              symptom_days: str | None, factor: list[str] | None, abi: str | None, ankle_pressure: str | None,
              toe_pressure: str | None, pregnancy_trimester: str | None, profile: str | None, profiles: str | None,
              fhir: str | None, fhir_bundles: str | None, jobs: str | None, fmt: str, detail: bool, explain: bool,
              show_all: bool, include_unverified: bool, source: list[str] | None, include_superseded: bool,
              guidelines: list[str] | None, no_bundled: bool) -> int:
    """``vascular recommend`` (options as declared in cli.recommend); returns the exit code."""
    from . import profile as profiles_mod
    from .engine import Engine
    from .render import get
    from .render.words import document_error, option_error

    given = dict(ceap=ceap, lesion=lesion or None, bleeding_risk=bleeding_risk, severity=severity,
                 symptom_days=symptom_days, factors=factor or None, abi=abi, ankle_pressure=ankle_pressure,
                 toe_pressure=toe_pressure, pregnancy_trimester=pregnancy_trimester)
    flags = {k: v for k, v in given.items() if v is not None}  # profile values given as options
    kb = _kb(guidelines, no_bundled)
    engine = Engine(kb)
    options = dict(include_superseded=include_superseded, sources=_sources(kb, source),
                   include_unverified=include_unverified)
    if profiles is not None and profile is not None:
        raise InputError("--profiles (batch) and --profile cannot be combined")
    inputs = [o for o, v in (("--profile", profile), ("--profiles", profiles), ("--fhir", fhir),
                             ("--fhir-bundles", fhir_bundles)) if v is not None]
    if len(inputs) > 1:
        raise InputError(f"{' and '.join(inputs)} cannot be combined (give one input)")
    if (profiles is not None or fhir_bundles is not None) and (fmt not in ("table", "jsonl") or explain or detail):
        raise InputError(f"{inputs[0]} (batch) writes JSON Lines: --format, --explain and --detail do not apply")
    workers = _jobs(jobs, profiles is not None or fhir_bundles is not None)
    if profiles is not None:
        from .batch import run_batch

        return run_batch(engine, profiles, options, flags, with_possible=show_all, jobs=workers)
    if fhir_bundles is not None:
        from .batch import run_batch
        from .fhir.bundle import MAX_BUNDLE_BYTES
        from .fhir.commands import converter

        return run_batch(engine, fhir_bundles, options, flags, with_possible=show_all,
                                   convert=converter(kb, guidelines), option="--fhir-bundles",
                                   max_line=MAX_BUNDLE_BYTES, what="a FHIR Bundle", jobs=workers)
    fmt = _choice(fmt, list(RECOMMEND), "--format")
    raw: dict = {}
    from_fhir = None
    if fhir is not None:
        from .fhir.commands import document

        raw, from_fhir = document(kb, fhir, guidelines)
        if "factors" in flags and raw.get("factors"):
            flags["factors"] = _merge_factors(kb, raw["factors"], flags["factors"])
    if profile is not None:
        name = "<stdin>" if profile == "-" else profile
        doc = profiles_mod.parse_text(kb.vocabulary, _read_text(profile, "--profile"), name)
        try:
            profiles_mod.from_mapping(kb.vocabulary, doc, prefix=f"{name}: ")  # reports bad documents precisely
        except InputError as e:
            raise document_error(e) from None
        raw = dict(doc)
        if "factors" in flags and raw.get("factors"):
            flags["factors"] = _merge_factors(kb, raw["factors"], flags["factors"])
    raw.update(flags)
    try:
        prof = profiles_mod.build(kb.vocabulary, **raw)
    except InputError as e:
        raise option_error(e) from None
    result = engine.evaluate(prof, **options)
    render = get(RECOMMEND, fmt)
    if from_fhir is not None:  # the output gains a `fhir` object (provenance per fact, ignored codes)
        from .fhir.commands import with_fhir

        render = with_fhir(render, fmt, from_fhir)
    _emit(render, kb, result, include_all=show_all, explain=explain, detail=detail,
          width=_width() if fmt == "table" else None)
    return 0


def _jobs(jobs: str | None, batch: bool) -> int:
    if jobs is None:
        return 1
    if not batch:
        raise InputError("--jobs applies to batch mode (--profiles, --fhir-bundles)")
    if not (jobs.strip().isdigit() and 1 <= int(jobs) <= 256):
        raise InputError(f"--jobs: {jobs!r} is not a number of processes (1-256)")
    return int(jobs)


def _emit(render: Any, *args: Any, width: int | None = None, **kwargs: Any) -> None:
    """Run a renderer on stdout; a reader that goes away (``| head``) ends the run quietly with exit 0."""
    if width is not None:
        kwargs["width"] = width
    try:
        render(*args, sys.stdout, **kwargs)
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
    except SystemExit as e:  # rich turns a broken pipe into SystemExit(1) itself
        if e.code != 1 or not _stdout_gone():
            raise
        _quiet_stdout()


def _stdout_gone() -> bool:
    try:
        sys.stdout.flush()
        return False
    except (BrokenPipeError, OSError, ValueError):
        return True


def _merge_factors(kb: Any, base: Any, override: Any) -> list:
    """The profile document's factors (list or mapping, already validated) with the --factor options on top."""
    from .profile import merge_factors, parse_factors

    try:
        parse_factors(kb.vocabulary, override)
    except InputError as e:
        from .render.words import option_error

        raise option_error(e) from None
    return merge_factors(kb.vocabulary, base, override)


def _sources(kb: Any, wanted: Any) -> Any:
    if not wanted:
        return None
    valid = sorted({g.body for g in kb.guidelines} | {g.id for g in kb.guidelines})
    lowered = {v.lower() for v in valid}
    for w in wanted:
        if w.lower() not in lowered:
            _choice(w, valid, "--source")
    return wanted


def _width() -> int | None:
    cols = os.environ.get("COLUMNS", "")
    return int(cols) if cols.isdigit() and int(cols) > 20 else None


def validate(paths: list[str] | None, fmt: str, strict: bool, no_bundled: bool, config: str | None,
             skip_other: bool) -> int:
    """``vascular validate`` (options as declared in cli.validate); returns the exit code."""
    from . import config as config_mod
    from .kbcache import load_cached
    from .loader import collect, reported
    from .render import get

    fmt = _choice(fmt, list(VALIDATE), "--format")
    missing = [p for p in paths or () if not os.path.exists(p)]
    if missing:
        raise InputError(f"no such file or directory: {', '.join(missing)}")
    if config is not None and not os.path.isfile(config):
        raise InputError(f"--config: no such file: {config}")
    if no_bundled and not paths:
        raise InputError("--no-bundled needs the paths to check")
    if skip_other and paths:
        paths = _vascular_files(paths)
        if not paths:
            print("0 file(s), 0 error(s), 0 warning(s)", file=sys.stderr)
            return 0
    elif paths and collect(paths) == ([], []):  # only empty directories: nothing to check is a usage error
        raise InputError(f"no YAML files (*.yaml, *.yml) in {', '.join(paths)}")
    kb = load_cached(paths or None, bundled=not no_bundled)  # the checks of unchanged files are cached too
    cfg = config_mod.load(config)
    problems = cfg.apply(reported(kb))
    files = list(kb.files) if not paths or no_bundled else [f for f in kb.files if not f.path.startswith("<bundled>/")]
    sys.stdout.write(get(VALIDATE, fmt)(problems, files))
    errors = sum(p.level == "error" for p in problems)
    warnings = len(problems) - errors
    print(f"{kb.read} file(s), {errors} error(s), {warnings} warning(s)", file=sys.stderr)
    return (1 if errors or (strict and warnings) else 0)


def _vascular_files(paths: list[str]) -> list[str]:
    """The given files that are vascular documents by content (directories are kept: they are read as a whole)."""
    from .loader import is_vascular_text, read_bytes

    out = []
    for p in paths:
        if os.path.isdir(p):
            out.append(p)
            continue
        try:
            if is_vascular_text(read_bytes(p)):
                out.append(p)
        except OSError:
            out.append(p)  # unreadable: reported as such
    return out


def _quiet_stdout() -> None:
    from .stdio import quiet_stdout

    quiet_stdout()
