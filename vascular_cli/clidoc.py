"""docs/cli.md, generated from the commands' own declarations (``python -m vascular_cli.clidoc > docs/cli.md``):
names, arguments, options and help texts as the code declares them, laid out by this module rather than by the
option parser's --help renderer, so that a new typer/click release cannot change the file. tests/test_readme.py
fails when the file is out of date."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    import click


def _row(param: click.Parameter) -> str:
    names = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
    value = "" if getattr(param, "is_flag", False) else f" `{param.name.upper()}`"
    help_text = " ".join((getattr(param, "help", None) or "").split())
    if getattr(param, "multiple", False) and "repeatable" not in help_text:
        help_text += " (repeatable)"
    return f"| {names}{value} | {help_text} |"


def _section(title: str, command: click.Command) -> list[str]:
    doc = inspect.cleandoc(command.help or "")
    args = [p for p in command.params if p.param_type_name == "argument"]
    opts = [p for p in command.params if p.param_type_name == "option"]
    usage = " ".join([title] + [f"[{a.name.upper()}]..." if a.nargs == -1 else a.name.upper() for a in args]
                     + (["[OPTIONS]"] if opts else []))
    out = [f"## {title}", "", f"`{usage}`", "", doc, ""]
    if opts:
        out += ["| option | meaning |", "|---|---|", *(_row(p) for p in opts), ""]
    return out


def markdown() -> str:
    import typer

    from .cli import COMMANDS, build_app

    root = cast("click.Group", typer.main.get_command(build_app()))  # the app has subcommands: a Group
    parts = ["# CLI reference", "",
             "Generated from the commands' declarations (`python -m vascular_cli.clidoc > docs/cli.md`).", ""]
    parts += _section("vascular", root)
    parts += ["| command | what it does |", "|---|---|"]
    parts += [f"| `vascular {name}` | {inspect.cleandoc(root.commands[name].help or '').splitlines()[0]} |"
              for name in COMMANDS]
    parts.append("")
    for name in COMMANDS:
        parts += _section(f"vascular {name}", root.commands[name])
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(markdown(), end="")
