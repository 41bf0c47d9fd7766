"""The ``vascular`` command line: parse options, call the library, pick a renderer. No clinical logic here."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import typer

from . import DISCLAIMER, frontend
from .errors import InputError
from .fields import BY_KEY
from .frontend import _choice, _emit, _kb, _width
from .render import CEAP, LIST, RECOMMEND, SHOW, VALIDATE, VOCAB, names

HELP = ("Venous-disease guideline recommendations (SVS/AVF, ESVS, CIRSE, ACR): graded, sourced, explained. "
        + DISCLAIMER)
COMMANDS: dict[str, Callable[..., Any]] = {}  # name -> function, in help order


def command(name: str | None = None) -> Any:
    """Register a command; the typer app is built in build_app() with only the commands a run needs."""
    def deco(fn: Any) -> Any:
        COMMANDS[name or fn.__name__] = fn
        return fn
    return deco


def build_app(only: str | None = None) -> typer.Typer:
    """The typer app. Start-up speed: typer inspects every parameter of every registered command, so a run that
    names a known command gets an app holding just that command (help and errors then concern it alone)."""
    app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                      pretty_exceptions_enable=False, help=HELP,
                      context_settings={"help_option_names": ["-h", "--help"]})
    app.callback()(_root)
    for name, fn in COMMANDS.items():
        if only is None or name == only:
            app.command(name)(fn)
    return app



def _version(value: bool) -> Any:
    if value:
        raise typer.Exit(frontend.version())


def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Show the version and exit.")) -> Any:
    """Venous-disease guideline recommendations: graded, sourced, explained."""


NO_BUNDLED_HELP = "Use only the given paths: not the bundled documents, vocabulary, grading systems or FHIR mapping."


def _field(key: str) -> Any:
    """The option that supplies a profile field, as declared in fields.py."""
    f = BY_KEY[key]
    return typer.Option(None, f.option, metavar=f.metavar, help=f.help)


def _guidelines_option(help_text: str = "Guideline directory or file (repeatable), loaded together with the bundled "
                                        "documents.") -> Any:
    return typer.Option(None, "--guidelines", metavar="DIR", help=help_text)


def _no_bundled_option() -> Any:
    return typer.Option(False, "--no-bundled", help=NO_BUNDLED_HELP)


@command()
def recommend(
    ceap: str | None = _field("ceap"),
    lesion: list[str] | None = _field("lesion"),
    bleeding_risk: str | None = _field("bleeding_risk"),
    severity: str | None = _field("severity"),
    symptom_days: str | None = _field("symptom_days"),
    factor: list[str] | None = _field("factors"),
    abi: str | None = _field("abi"),
    ankle_pressure: str | None = _field("ankle_pressure"),
    toe_pressure: str | None = _field("toe_pressure"),
    pregnancy_trimester: str | None = _field("pregnancy_trimester"),
    profile: str | None = typer.Option(
        None, "--profile", metavar="FILE|-",
        help="Profile document (YAML or JSON), or - for stdin; options override it."),
    profiles: str | None = typer.Option(
        None, "--profiles", metavar="FILE|-", help="Batch: JSON Lines of profiles (file or -); JSON Lines out."),
    fhir: str | None = typer.Option(
        None, "--fhir", metavar="FILE|-",
        help="FHIR R4 Bundle (JSON file or -) to read the profile from; options override it."),
    fhir_bundles: str | None = typer.Option(
        None, "--fhir-bundles", metavar="FILE|-",
        help="Batch: NDJSON, one FHIR R4 Bundle per line (file or -); JSON Lines out."),
    jobs: str | None = typer.Option(
        None, "--jobs", "-j", metavar="N",
        help="Batch: evaluate with N processes (default 1); the output is the same, in the same order."),
    fmt: str = typer.Option("table", "--format", "-f", metavar="FORMAT", help=f"Output format: {names(RECOMMEND)}."),
    detail: bool = typer.Option(
        False, "--detail", help="Each recommendation in full: statement, number, section, why."),
    explain: bool = typer.Option(
        False, "--explain", help="Every criterion of the applying and partly matched items (with --all: of all)."),
    show_all: bool = typer.Option(False, "--all", help="Also list unassessed and not applicable recommendations."),
    include_unverified: bool = typer.Option(
        False, "--include-unverified",
        help="Also evaluate items whose source could not be found (seed-only), in their own section."),
    source: list[str] | None = typer.Option(
        None, "--source", metavar="BODY|ID", help="Only these bodies or document ids (repeatable)."),
    include_superseded: bool = typer.Option(False, "--include-superseded", help="Include superseded documents."),
    guidelines: list[str] | None = _guidelines_option(),
    no_bundled: bool = _no_bundled_option(),
) -> None:
    """Recommendations for a patient profile, each with its native grade, source and why it matched."""
    _exit(frontend.recommend(**locals()))


@command()
def validate(
    paths: list[str] | None = typer.Argument(
        None, metavar="[PATHS]...",
        help="Guideline files or directories (default: the bundled set); checked together with the bundled "
             "knowledge base."),
    fmt: str = typer.Option("text", "--format", "-f", metavar="FORMAT", help=f"Output format: {names(VALIDATE)}."),
    strict: bool = typer.Option(False, "--strict", help="Warnings fail too (exit 1)."),
    no_bundled: bool = _no_bundled_option(),
    config: str | None = typer.Option(
        None, "--config", metavar="FILE",
        help="Config file (.vascular.yaml or pyproject.toml); default: found from the current directory upwards."),
    skip_other: bool = typer.Option(
        False, "--skip-non-vascular",
        help="Skip YAML files without a top-level guideline, vocabulary, grading or fhir_mapping key (the pre-commit "
             "hook) instead of reporting VG003."),
) -> Any:
    """Check guideline files; every problem as file:line:col: CODE message. Exit 0 clean, 1 problems."""
    _exit(frontend.validate(**locals()))


@command()
def export(
    fmt: str = typer.Option(
        "fhir", "--format", "-f", metavar="FORMAT",
        help="Export format: fhir (FHIR R4 JSON, CPG-on-FHIR PlanDefinitions)."),
    output: str | None = typer.Option(
        None, "--output", "-o", metavar="DIR|FILE",
        help="A directory (one JSON file per resource) or a .json file (one Bundle); default: the Bundle on stdout."),
    guidelines: list[str] | None = _guidelines_option(),
    no_bundled: bool = _no_bundled_option(),
) -> None:
    """Write the knowledge base as FHIR R4 resources (PlanDefinition per document, one action per recommendation)."""
    from .fhir.export import write

    _choice(fmt, ["fhir"], "--format")
    kb = _kb(guidelines, no_bundled)
    try:
        summary = write(kb, output, sys.stdout)
    except OSError as e:
        raise InputError(f"--output {output!r}: cannot write ({e.strerror})") from None
    print(f"vascular: exported {summary}", file=sys.stderr)


@command("list")
def list_(
    document: str | None = typer.Argument(
        None, metavar="[DOCUMENT]", help="A document id: list its recommendation ids."),
    guidelines: list[str] | None = _guidelines_option(),
    no_bundled: bool = _no_bundled_option(),
    fmt: str = typer.Option("table", "--format", "-f", metavar="FORMAT", help=f"Output format: {names(LIST)}."),
) -> Any:
    """The loaded guideline documents (body, year, status, counts), or the recommendation ids of one document."""
    from .render import get

    fmt = _choice(fmt, list(LIST), "--format")
    kb = _kb(guidelines, no_bundled)
    if document is not None:
        _choice(document, sorted(g.id for g in kb.guidelines), "DOCUMENT")
    _emit(get(LIST, fmt), kb, document=document, width=_width())


@command()
def show(
    rec_id: str = typer.Argument(..., metavar="ID", help="Full id, e.g. svs-avf-2014-vlu/6.14."),
    provenance: bool = typer.Option(False, "--provenance", help="Also the transcription provenance (maintainers)."),
    guidelines: list[str] | None = _guidelines_option(),
    no_bundled: bool = _no_bundled_option(),
    fmt: str = typer.Option("text", "--format", "-f", metavar="FORMAT", help=f"Output format: {names(SHOW)}."),
) -> Any:
    """Everything known about one recommendation: statement, grade, number, section, criteria, certainty."""
    from .render import get
    from .suggest import did_you_mean

    fmt = _choice(fmt, list(SHOW), "--format")
    _required(rec_id, "ID", "a recommendation id such as svs-avf-2014-vlu/6.14")
    kb = _kb(guidelines, no_bundled)
    by_id = {r.full_id: r for r in kb.recommendations}
    aliases = {r.alias.lower(): r for r in kb.recommendations if r.alias}
    r = by_id.get(rec_id) or aliases.get(rec_id.lower())
    if r is None:
        doc = rec_id.partition("/")[0]
        where = (f"'vascular list {doc}' lists its ids" if any(g.id == doc for g in kb.guidelines)
                 else "'vascular list DOCUMENT' lists a document's ids (document ids: 'vascular list')")
        raise InputError(f"unknown recommendation {rec_id!r}{did_you_mean(rec_id, by_id)}; {where}")
    _emit(get(SHOW, fmt), kb, r, provenance=provenance, width=_width())


@command()
def vocab(
    kind: str | None = typer.Argument(
        None, metavar="[KIND]", help="lesion, factor, action, bleeding-risk or severity."),
    guidelines: list[str] | None = _guidelines_option(),
    no_bundled: bool = _no_bundled_option(),
    fmt: str = typer.Option("text", "--format", "-f", metavar="FORMAT", help=f"Output format: {names(VOCAB)}."),
) -> Any:
    """The controlled vocabulary: every term with its definition and aliases, and the implied facts."""
    from .render import get
    from .vocab import KINDS

    fmt = _choice(fmt, list(VOCAB), "--format")
    if kind is not None:
        kind = _choice(kind.lower(), list(KINDS), "KIND")
    kb = _kb(guidelines, no_bundled)
    _emit(get(VOCAB, fmt), kb, [kind] if kind else list(KINDS))


@command("ceap")
def ceap_cmd(text: str = typer.Argument(..., metavar="STRING", help="A CEAP 2020 string, e.g. 'C6,s Es Ad Pr,o'."),
             fmt: str = typer.Option("text", "--format", "-f", metavar="FORMAT",
                                     help=f"Output format: {names(CEAP)}.")) -> Any:
    """Parse a CEAP 2020 string and show its parts."""
    from . import ceap
    from .render import get

    fmt = _choice(fmt, list(CEAP), "--format")
    _required(text, "STRING", "a CEAP 2020 string such as 'C6,s Es Ad Pr,o'")
    try:
        c = ceap.parse(text)
    except ceap.CeapError as e:
        raise InputError(f"CEAP {text!r}: {e} (at column {e.col})") from None
    _emit(get(CEAP, fmt), c)


@command()
def schema() -> Any:
    """Print the JSON Schema of the guideline file format (for editors and check-jsonschema)."""
    import json

    from .schema import json_schema

    print(json.dumps(json_schema(), indent=2))


@command()
def serve(
    config: str = typer.Option(
        ..., "--config", metavar="FILE", help="Service configuration file (YAML or JSON; see README, CDS Hooks)."),
    host: str | None = typer.Option(None, "--host", help="Listen address (overrides the config's host)."),
    port: int | None = typer.Option(None, "--port", help="Listen port (overrides the config's port)."),
    check: bool = typer.Option(False, "--check", help="Check the configuration and the data, print a summary, exit."),
) -> int:
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


def _required(value: Any, name: str, what: str) -> None:
    """A required argument: some typer releases pass None for a missing one with newer clicks instead of refusing."""
    if value is None:
        raise InputError(f"missing argument {name}: give {what}")


class _Never(Exception):
    """Stands in for an exception class the installed click does not define (never raised)."""


def _click_exceptions() -> Any:
    try:
        from typer._click import exceptions
    except ImportError:  # typer versions that use click directly
        from click import exceptions  # type: ignore[no-redef]
    return exceptions


def _exit(code: int) -> None:
    if code:
        raise typer.Exit(code)


def main(argv: list[str] | None = None) -> int:
    """The typer app's entry (help, completion, usage errors; entry.main takes plain command lines without it):
    every error ends in one clear message and a documented exit code, never a traceback."""
    exc = _click_exceptions()
    args = sys.argv[1:] if argv is None else list(argv)
    only = args[0] if args and args[0] in COMMANDS else None

    def call() -> Any:
        try:
            return build_app(only)(args=args, prog_name="vascular", standalone_mode=False)
        except typer.Exit as e:
            return e.exit_code
        except getattr(exc, "NoArgsIsHelpError", _Never) as e:  # click >= 8.2; older clicks print the help
            print(e.format_message() if hasattr(e, "format_message") else "", file=sys.stderr)
            return 2
        except exc.UsageError as e:
            print(f"vascular: error: {e.format_message()}", file=sys.stderr)
            return 2
        except exc.ClickException as e:
            print(f"vascular: error: {e.format_message()}", file=sys.stderr)
            return e.exit_code
        except typer.Abort:  # click has written the new line already
            print("vascular: interrupted", file=sys.stderr)
            return 130

    return frontend.guarded(call)


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
