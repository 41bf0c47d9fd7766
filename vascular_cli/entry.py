"""The ``vascular`` entry point: plain command lines skip building the typer app.

Typer is the CLI framework (help, completion, usage errors), but importing it and building its app costs more than
answering a ``recommend``. So the common path parses the command line with a small parser *generated from the typer
app's own declarations*: :func:`spec` reads the click parameters typer makes from cli.py's command signatures (which
read fields.py) and caches them (one JSON file per installed version and cli.py/fields.py edit, next to the
knowledge-base cache). A command line the small parser takes as plainly valid (known options, values that cannot be
mistaken for options, no positional surprises) runs the command body (frontend.py) directly; anything else, or any
doubt, goes to the typer app, which parses it again and words any error. tests/test_entry.py checks, by property,
that the small parser gives exactly the arguments typer gives, or declines.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from . import __version__

FAST = ("recommend", "validate")  # the commands whose bodies frontend.py holds
_HERE = os.path.dirname(os.path.abspath(__file__))
_SOURCES = ("cli.py", "fields.py", "entry.py")  # the declarations the spec is generated from


_PLAIN_TYPES = ("str", "str | None", "bool", "list[str] | None")  # values passed through as given


def build_spec() -> dict:
    """The parameters typer declares for the root and the FAST commands, as plain data:
    {command: {"options": {flag: [name, kind]}, "defaults": {name: default}, "args": [[name, nargs]]}} where kind
    is "flag", "value" or "multiple". A command with anything this parser does not model (callbacks, other types,
    environment variables, prompts, counts) is left out, so it always goes through typer."""
    import typer.main

    from . import cli

    out: dict = {}
    app = cli.build_app()
    group = typer.main.get_command(app)
    root = [p for p in group.params if p.expose_value or p.is_eager]
    out[""] = {"version": [o for p in root if p.name == "version" for o in p.opts]}
    for name in FAST:
        cmd = group.commands[name]  # type: ignore[attr-defined]
        options: dict = {}
        defaults: dict = {}
        args: list = []
        plain = True
        annotations = cli.COMMANDS[name].__annotations__  # text: cli.py has postponed annotations
        for p in cmd.params:
            if (p.callback is not None or getattr(p, "envvar", None) or getattr(p, "prompt", None)
                    or getattr(p, "count", False) or str(annotations.get(p.name)) not in _PLAIN_TYPES
                    or getattr(p, "secondary_opts", None) or not p.expose_value):
                plain = False
                break
            if p.param_type_name == "argument":
                if p.nargs != -1:
                    plain = False
                    break
                args.append([p.name, p.nargs])
            else:
                kind = "flag" if p.is_flag else "multiple" if p.multiple else "value"
                if kind == "value" and p.nargs != 1 or kind == "flag" and not getattr(
                        p, "is_bool_flag", getattr(p, "flag_value", None) is True):
                    plain = False
                    break
                for o in p.opts:
                    options[o] = [p.name, kind]
            default = p.default
            if callable(default) or isinstance(default, (tuple, set)):
                plain = False
                break
            defaults[p.name] = default
        help_names = cmd.get_help_option_names(click_context(cmd))
        if plain and not any(h in options for h in help_names):
            out[name] = {"options": options, "defaults": defaults, "args": args, "help": sorted(help_names)}
    return out


def click_context(cmd: Any) -> Any:
    from typer.main import get_command  # noqa: F401 (typer's click, whichever it is)

    try:
        from typer._click.core import Context
    except ImportError:  # typer versions that use click directly
        from click.core import Context  # type: ignore[no-redef,assignment]
    return Context(cmd, info_name=cmd.name, help_option_names=["-h", "--help"])


def _key() -> str:
    stamps = "|".join(str(os.stat(os.path.join(_HERE, f)).st_mtime_ns) for f in _SOURCES)
    return f"{__version__}|{sys.version_info[:2]}|{stamps}"


def spec() -> dict | None:
    """The cached parser spec (built from the typer app on the first run after an install or an edit), or None
    when there is no usable cache (VASCULAR_NO_CACHE): then typer parses."""
    if os.environ.get("VASCULAR_NO_CACHE"):
        return None
    import zlib

    from .kbcache import cache_dir, install_tag, prune

    key = _key()
    prefix = f"cli-{install_tag()}-"
    path = cache_dir() / f"{prefix}{zlib.crc32(key.encode()):08x}.json"
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        if data.get("key") == key:
            return data["spec"]
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    data = {"key": key, "spec": build_spec()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)
        prune(prefix, path.name)
    except OSError:
        pass
    return data["spec"]


def parse(args: list[str], sp: dict) -> tuple[str, dict] | None:
    """(command, keyword arguments as typer would pass them) for a plainly valid command line, else None (typer
    decides). ``("--version", {})`` for the root's version flag given alone."""
    if not args:
        return None
    if len(args) == 1 and args[0] in sp.get("", {}).get("version", ()):
        return "--version", {}
    cmd = sp.get(args[0]) if args[0] in FAST else None
    if cmd is None:
        return None
    options, help_names = cmd["options"], cmd["help"]
    values = dict(cmd["defaults"])
    positional: list[str] = []
    multiple: dict[str, list[str]] = {}
    rest = args[1:]
    i = 0
    while i < len(rest):
        tok = rest[i]
        i += 1
        if tok.startswith("-") and tok != "-":
            if tok == "--" or tok in help_names:
                return None
            name, eq, attached = tok.partition("=") if tok.startswith("--") else (tok, "", "")
            decl = options.get(name)
            if decl is None:
                return None
            target, kind = decl
            if kind == "flag":
                if eq:
                    return None
                values[target] = True
                continue
            if eq:
                value = attached
            else:
                if i >= len(rest):
                    return None
                value = rest[i]
                i += 1
                if value.startswith("-") and value != "-":
                    return None  # click would take it as the value; leave such lines to typer
            if kind == "multiple":
                multiple.setdefault(target, []).append(value)
            else:
                values[target] = value
        else:
            if tok == "-" or not cmd["args"]:
                return None
            positional.append(tok)
    values.update(multiple)
    for name, _ in cmd["args"]:
        values[name] = positional or values.get(name)
    return args[0], values


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        sp = spec() if args and (args[0] in FAST or args[0].startswith("--")) else None
    except Exception:  # the spec could not be built: typer parses (and reports anything wrong)
        sp = None
    parsed = parse(args, sp) if sp else None
    if parsed is None:
        from .cli import main as typer_main

        return typer_main(args)
    from . import frontend

    command, kwargs = parsed
    if command == "--version":
        return frontend.version()
    return frontend.guarded(lambda: getattr(frontend, command)(**kwargs))


def run() -> None:
    sys.exit(main())
