"""The ``vascular`` command line: parse options, call the library, pick a renderer. No clinical logic here."""

from __future__ import annotations

import os
import sys
from typing import List, Optional

import typer

from . import DISCLAIMER, __version__
from .errors import DataError, InputError, VascularError

HELP = ("Venous-disease guideline recommendations (SVS/AVF, ESVS, CIRSE, ACR): graded, sourced, explained. "
        + DISCLAIMER)
COMMANDS: dict[str, object] = {}  # name -> function, in help order


def command(name: str | None = None):
    """Register a command; the typer app is built in build_app() with only the commands a run needs."""
    def deco(fn):
        COMMANDS[name or fn.__name__] = fn
        return fn
    return deco


def build_app(only: str | None = None) -> typer.Typer:
    """The typer app. Start-up speed: typer inspects every parameter of every registered command, so a run that
    names a known command gets an app holding just that command (help and errors then concern it alone)."""
    app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                      pretty_exceptions_enable=False, help=HELP)
    app.callback()(_root)
    for name, fn in COMMANDS.items():
        if only is None or name == only:
            app.command(name)(fn)
    return app

FORMATS_HELP = "Output format: table, json, jsonl or markdown."


def _version(value: bool):
    if value:
        print(f"vascular {__version__}")
        raise typer.Exit()


def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Show the version and exit.")):
    """Venous-disease guideline recommendations: graded, sourced, explained."""


def _kb(guidelines: Optional[List[str]]):
    from .kbcache import load_checked

    for g in guidelines or ():
        if not os.path.exists(g):
            raise InputError(f"--guidelines: {g!r} is not a file or directory")
    kb = load_checked(guidelines or None)
    if guidelines and not kb.guidelines:
        raise InputError(f"--guidelines: no guideline documents (YAML files with a top-level 'guideline' key) in "
                         f"{', '.join(guidelines)}")
    return kb


def _choice(value: str, valid, option: str) -> str:
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


@command()
def recommend(
    ceap: Optional[str] = typer.Option(None, "--ceap", help="CEAP class (C6) or full CEAP 2020 string ('C6,s Es Ad Pr,o')."),
    lesion: Optional[List[str]] = typer.Option(None, "--lesion", help="Lesion or finding (repeatable); see 'vascular vocab lesion'."),
    bleeding_risk: Optional[str] = typer.Option(None, "--bleeding-risk", help="low, moderate or high (CHEST 2016 categories)."),
    severity: Optional[str] = typer.Option(None, "--severity", help="Symptom severity: mild, moderate or severe."),
    symptom_days: Optional[str] = typer.Option(None, "--symptom-days", help="Duration of the current episode in days."),
    factor: Optional[List[str]] = typer.Option(None, "--factor", help="Clinical fact NAME, NAME=yes or NAME=no (repeatable)."),
    abi: Optional[str] = typer.Option(None, "--abi", help="Ankle-brachial index (0-3)."),
    ankle_pressure: Optional[str] = typer.Option(None, "--ankle-pressure", help="Ankle systolic pressure, mm Hg."),
    toe_pressure: Optional[str] = typer.Option(None, "--toe-pressure", help="Toe pressure, mm Hg."),
    profile: Optional[str] = typer.Option(None, "--profile", help="Profile document (YAML or JSON), or - for stdin; options override it."),
    profiles: Optional[str] = typer.Option(None, "--profiles", help="Batch: JSON Lines of profiles (file or -); JSON Lines out."),
    fhir: Optional[str] = typer.Option(None, "--fhir", help="FHIR R4 Bundle (JSON file or -) to read the profile from; options override it."),
    fhir_bundles: Optional[str] = typer.Option(None, "--fhir-bundles", help="Batch: NDJSON, one FHIR R4 Bundle per line (file or -); JSON Lines out."),
    fmt: str = typer.Option("table", "--format", "-f", help=FORMATS_HELP),
    explain: bool = typer.Option(False, "--explain", help="Show every criterion: matched, missing, failed."),
    show_all: bool = typer.Option(False, "--all", help="Also list recommendations that do not apply."),
    source: Optional[List[str]] = typer.Option(None, "--source", help="Only these bodies or document ids (repeatable)."),
    include_superseded: bool = typer.Option(False, "--include-superseded", help="Include superseded documents."),
    guidelines: Optional[List[str]] = typer.Option(None, "--guidelines", help="Guideline directory (repeatable); replaces the bundled documents."),
):
    """Recommendations for a patient profile, each with its native grade, source and why it matched."""
    from . import profile as profiles_mod
    from .engine import Engine
    from .render import RECOMMEND, get

    given = dict(ceap=ceap, lesion=lesion or None, bleeding_risk=bleeding_risk, severity=severity,
                 symptom_days=symptom_days, factors=factor or None, abi=abi, ankle_pressure=ankle_pressure,
                 toe_pressure=toe_pressure)
    flags = {k: v for k, v in given.items() if v is not None}  # profile values given as options
    kb = _kb(guidelines)
    engine = Engine(kb)
    options = dict(include_superseded=include_superseded, sources=_sources(kb, source))
    if profiles is not None and profile is not None:
        raise InputError("--profiles (batch) and --profile cannot be combined")
    inputs = [o for o, v in (("--profile", profile), ("--profiles", profiles), ("--fhir", fhir),
                             ("--fhir-bundles", fhir_bundles)) if v is not None]
    if len(inputs) > 1:
        raise InputError(f"{' and '.join(inputs)} cannot be combined (give one input)")
    if profiles is not None:
        from .batch import run_batch

        raise typer.Exit(run_batch(engine, profiles, options, flags, with_possible=show_all))
    if fhir_bundles is not None:
        from .batch import run_batch
        from .fhir.bundle import MAX_BUNDLE_BYTES
        from .fhir.commands import converter

        raise typer.Exit(run_batch(engine, fhir_bundles, options, flags, with_possible=show_all,
                                   convert=converter(kb, guidelines), option="--fhir-bundles",
                                   max_line=MAX_BUNDLE_BYTES, what="a FHIR Bundle"))
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
        profiles_mod.from_mapping(kb.vocabulary, doc, prefix=f"{name}: ")  # reports bad documents precisely
        raw = dict(doc)
        if "factors" in flags and raw.get("factors"):
            flags["factors"] = _merge_factors(kb, raw["factors"], flags["factors"])
    raw.update(flags)
    prof = profiles_mod.build(kb.vocabulary, cli=True, **raw)
    result = engine.evaluate(prof, **options)
    render = get(RECOMMEND, fmt)
    kwargs = dict(include_all=show_all, explain=explain)
    if fmt == "table":
        kwargs["width"] = _width()
    if from_fhir is not None:  # the output gains a `fhir` object (provenance per fact, ignored codes)
        from .fhir.commands import with_fhir

        render = with_fhir(render, fmt, from_fhir)
    try:
        render(kb, result, sys.stdout, **kwargs)
        sys.stdout.flush()
    except BrokenPipeError:  # `| head`: the reader has what it wanted
        _quiet_stdout()


def _merge_factors(kb, base, override: list) -> list:
    """The profile document's factors (list or mapping, already validated) with the --factor options on top."""
    from .profile import parse_factor

    if isinstance(base, dict):
        base = [f"{k}={'yes' if v else 'no'}" for k, v in base.items()]
    merged = dict(parse_factor(f, kb.vocabulary, "factors") for f in base)
    merged.update(parse_factor(f, kb.vocabulary) for f in override)
    return [f"{k}={'yes' if v else 'no'}" for k, v in merged.items()]


def _sources(kb, wanted):
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


@command()
def validate(
    paths: Optional[List[str]] = typer.Argument(None, help="Guideline files or directories (default: the bundled set)."),
    fmt: str = typer.Option("text", "--format", "-f", help="text, json, github or sarif."),
    strict: bool = typer.Option(False, "--strict", help="Warnings fail too (exit 1)."),
):
    """Check guideline files; every problem as file:line:col: CODE message. Exit 0 clean, 1 problems."""
    from .loader import collect, load
    from .render import VALIDATE, get

    fmt = _choice(fmt, list(VALIDATE), "--format")
    if paths and collect(paths) == ([], []):  # only empty directories: nothing to check is a usage error
        raise InputError(f"no YAML files (*.yaml, *.yml) in {', '.join(paths)}")
    kb = load(paths or None)
    sys.stdout.write(get(VALIDATE, fmt)(kb.problems, kb.files))
    errors = len(kb.errors)
    warnings = len(kb.problems) - errors
    print(f"{kb.read} file(s), {errors} error(s), {warnings} warning(s)", file=sys.stderr)
    raise typer.Exit(1 if errors or (strict and warnings) else 0)


@command()
def export(
    fmt: str = typer.Option("fhir", "--format", "-f", help="Export format: fhir (FHIR R4 JSON, CPG-on-FHIR PlanDefinitions)."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="A directory (one JSON file per resource) or a .json file (one Bundle); default: the Bundle on stdout."),
    guidelines: Optional[List[str]] = typer.Option(None, "--guidelines", help="Guideline directory (repeatable)."),
):
    """Write the knowledge base as FHIR R4 resources (PlanDefinition per document, one action per recommendation)."""
    from .fhir.export import write

    _choice(fmt, ["fhir"], "--format")
    kb = _kb(guidelines)
    try:
        summary = write(kb, output, sys.stdout)
    except OSError as e:
        raise InputError(f"--output {output!r}: cannot write ({e.strerror})") from None
    print(f"vascular: exported {summary}", file=sys.stderr)


@command("list")
def list_(
    guidelines: Optional[List[str]] = typer.Option(None, "--guidelines", help="Guideline directory (repeatable)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table or json."),
):
    """The loaded guideline documents: body, year, status, recommendations, unverified numbers."""
    import json

    fmt = _choice(fmt, ["table", "json"], "--format")
    kb = _kb(guidelines)
    rows = []
    for g in sorted(kb.guidelines, key=lambda g: (g.body, -g.year, g.id)):
        recs = [r for r in kb.recommendations if r.guideline.id == g.id]
        rows.append({"id": g.id, "body": g.body, "year": g.year, "status": g.status, "superseded_by": g.superseded_by,
                     "recommendations": len(recs), "unverified_numbers": sum(not r.number_verified for r in recs),
                     "title": g.title, "doi": g.doi, "sha256": g.sha256})
    if fmt == "json":
        print(json.dumps({"schema": "vascular.list/1", "guidelines": rows}, indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Loaded guideline documents", expand=False)
    for col in ("id", "body", "year", "status", "recommendations", "unverified numbers"):
        table.add_column(col, justify="right" if col in ("year", "recommendations", "unverified numbers") else "left",
                         no_wrap=col == "id")
    for r in rows:
        status = r["status"] + (f" by {r['superseded_by']}" if r["superseded_by"] else "")
        table.add_row(r["id"], r["body"], str(r["year"]), status, str(r["recommendations"]), str(r["unverified_numbers"]))
    Console(markup=False, highlight=False, width=_width()).print(table)


@command()
def show(
    rec_id: str = typer.Argument(..., metavar="ID", help="Full id, e.g. svs-avf-2014-vlu/6.14."),
    guidelines: Optional[List[str]] = typer.Option(None, "--guidelines", help="Guideline directory (repeatable)."),
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
):
    """Everything known about one recommendation: grade, source, criteria, certainty."""
    import json

    from .loader import plain
    from .render.common import clean, grade, number
    from .suggest import did_you_mean

    fmt = _choice(fmt, ["text", "json"], "--format")
    kb = _kb(guidelines)
    by_id = {r.full_id: r for r in kb.recommendations}
    r = by_id.get(rec_id)
    if r is None:
        raise InputError(f"unknown recommendation {rec_id!r}{did_you_mean(rec_id, by_id)}; see 'vascular list' "
                         "(ids look like svs-avf-2014-vlu/6.14)")
    gr = grade(kb, r)
    doc = {"id": r.full_id, "guideline": {"id": r.guideline.id, "body": r.guideline.body, "year": r.guideline.year,
                                          "title": r.guideline.title, "citation": r.guideline.citation,
                                          "doi": r.guideline.doi, "status": r.guideline.status},
           "number": r.number, "number_verified": r.number_verified, "number_basis": r.number_basis,
           "locator": r.locator, "kind": r.kind, "statement": r.statement, "wording": r.wording, "action": r.action,
           "direction": r.direction, "grade": gr["display"], "strength": gr["strength"], "evidence": gr["evidence"],
           "rating": r.rating, "rrl": r.rrl, "grade_conflict": r.grade_conflict, "certainty": r.certainty,
           "uncertain": r.uncertain, "source": r.source, "source_reliability": r.source_reliability,
           "note": r.note, "when": plain(r.when)}
    if fmt == "json":
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    lines = [f"{r.full_id}  {r.guideline.body} {r.guideline.year}: {r.guideline.title}",
             f"  statement:   {r.statement}",
             f"  grade:       {gr['display']} (common: {gr['strength']['common'] or 'ungraded'}; {r.direction or 'scope'})",
             f"  number:      {number(r)}" + (f" - {r.number_basis}" if r.number_basis else ""),
             f"  locator:     {r.locator}",
             f"  action:      {r.action}",
             f"  when:        {json.dumps(plain(r.when), ensure_ascii=False)}",
             f"  certainty:   {r.certainty}" + (f" - {r.uncertain}" if r.uncertain else ""),
             f"  source:      {r.source or '-'} ({r.source_reliability or '-'})",
             f"  citation:    {r.guideline.citation}" + (f" doi:{r.guideline.doi}" if r.guideline.doi else "")]
    if r.grade_conflict:
        lines.append(f"  disputed:    {json.dumps(plain(r.grade_conflict), ensure_ascii=False)}")
    if r.note:
        lines.append(f"  note:        {r.note}")
    print("\n".join(clean(line) for line in lines))


@command()
def vocab(
    kind: Optional[str] = typer.Argument(None, help="lesion, factor, action, bleeding-risk or severity."),
    guidelines: Optional[List[str]] = typer.Option(None, "--guidelines", help="Guideline directory (repeatable)."),
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
):
    """The controlled vocabulary: every term with its definition and aliases."""
    import json

    from .vocab import KINDS

    fmt = _choice(fmt, ["text", "json"], "--format")
    if kind is not None:
        _choice(kind, list(KINDS), "KIND")
    kb = _kb(guidelines)
    kinds = [kind] if kind else list(KINDS)
    if fmt == "json":
        print(json.dumps({k: {n: {"definition": t.definition, "aliases": list(t.aliases), "broader": list(t.broader)}
                              for n, t in sorted(kb.vocabulary.terms.get(k, {}).items())} for k in kinds},
                         indent=2, ensure_ascii=False))
        return
    for k in kinds:
        print(f"{k}:")
        for name, t in sorted(kb.vocabulary.terms.get(k, {}).items()):
            extra = f" (aliases: {', '.join(t.aliases)})" if t.aliases else ""
            group = f" [in {', '.join(t.broader)}]" if t.broader else ""
            print(f"  {name}{group}: {t.definition}{extra}")


@command("ceap")
def ceap_cmd(text: str = typer.Argument(..., metavar="STRING", help="A CEAP 2020 string, e.g. 'C6,s Es Ad Pr,o'."),
             fmt: str = typer.Option("text", "--format", "-f", help="text or json.")):
    """Parse a CEAP 2020 string and show its parts."""
    import json

    from . import ceap

    fmt = _choice(fmt, ["text", "json"], "--format")
    try:
        c = ceap.parse(text)
    except ceap.CeapError as e:
        raise InputError(f"CEAP {text!r}: {e} (at column {e.col})") from None
    d = c.to_json()
    if fmt == "json":
        print(json.dumps(d, indent=2))
        return
    sym = {True: "symptomatic", False: "asymptomatic", None: "not stated"}[d["symptomatic"]]
    print(f"clinical class:  {c.clinical} (classes written: {', '.join(c.classes)}; {sym})\n"
          f"etiology:        {' '.join(c.etiology) or 'not stated'}\n"
          f"anatomy:         {' '.join(c.anatomy) or 'not stated'}"
          + (f" (segments: {', '.join(c.segments)})" if c.segments else "") + "\n"
          f"pathophysiology: {' '.join(c.pathophysiology) or 'not stated'}\n"
          f"basic CEAP:      {c.basic}")


@command()
def schema():
    """Print the JSON Schema of the guideline file format (for editors and check-jsonschema)."""
    import json

    from .schema import json_schema

    print(json.dumps(json_schema(), indent=2))


@command()
def serve(
    config: str = typer.Option(..., "--config", help="Service configuration file (YAML or JSON; see README, CDS Hooks)."),
    host: Optional[str] = typer.Option(None, "--host", help="Listen address (overrides the config's host)."),
    port: Optional[int] = typer.Option(None, "--port", help="Listen port (overrides the config's port)."),
    check: bool = typer.Option(False, "--check", help="Check the configuration and the data, print a summary, exit."),
):
    """Run the CDS Hooks 2.0 service (needs the optional extra: pip install "vascular[cds]")."""
    from .cds.config import ConfigError, load

    try:
        cfg = load(config)
    except ConfigError as e:
        raise InputError(str(e)) from None
    if host is not None:
        cfg = cfg._replace(host=host)
    if port is not None:
        if not 0 <= port <= 65535:
            raise InputError("--port: expected 0-65535")
        cfg = cfg._replace(port=port)
    import importlib

    try:
        cds_app = importlib.import_module(".cds.app", __package__)
    except ImportError as e:
        raise InputError(f"vascular serve needs the optional extra: pip install \"vascular[cds]\" ({e.name} is "
                         "not installed)") from None
    if check:
        from .cds.adapter import Knowledge

        k = Knowledge(cfg.guidelines or None)
        print(f"vascular serve: configuration OK; {len(k.kb.recommendations)} recommendations, "
              f"{len(cfg.issuers)} issuer(s), public base URL {cfg.public_base_url}, database {cfg.database}")
        return 0
    print(f"vascular serve: listening on http://{cfg.host}:{cfg.port} (public base URL {cfg.public_base_url})",
          file=sys.stderr, flush=True)
    cds_app.serve(cfg)
    return 0


def _click_exceptions():
    try:
        from typer._click import exceptions
    except ImportError:  # typer versions that use click directly
        from click import exceptions  # type: ignore[no-redef]
    return exceptions


def main(argv: list[str] | None = None) -> int:
    """Entry point: every error ends in one clear message and a documented exit code, never a traceback."""
    exc = _click_exceptions()
    args = sys.argv[1:] if argv is None else list(argv)
    only = args[0] if args and args[0] in COMMANDS else None
    try:
        rv = build_app(only)(args=args, prog_name="vascular", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except typer.Exit as e:
        return e.exit_code
    except exc.NoArgsIsHelpError as e:
        print(e.format_message() if hasattr(e, "format_message") else "", file=sys.stderr)
        return 2
    except exc.UsageError as e:
        print(f"vascular: error: {e.format_message()}", file=sys.stderr)
        return 2
    except exc.ClickException as e:
        print(f"vascular: error: {e.format_message()}", file=sys.stderr)
        return e.exit_code
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
    except (typer.Abort, KeyboardInterrupt):
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


def _quiet_stdout() -> None:
    """After the reader of our stdout went away (``| head``), stop Python from complaining at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:  # pragma: no cover
        pass


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
