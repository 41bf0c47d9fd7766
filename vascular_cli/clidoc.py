"""docs/cli.md, generated from the commands' own --help (``python -m vascular_cli.clidoc > docs/cli.md``);
tests/test_readme.py fails when the file is out of date."""

from __future__ import annotations

import io
import os
from contextlib import redirect_stdout


def markdown() -> str:
    from .cli import COMMANDS, main

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    parts = ["# CLI reference", "", "Generated from `--help` (`python -m vascular_cli.clidoc > docs/cli.md`).", ""]
    for args in [["--help"]] + [[name, "--help"] for name in COMMANDS]:
        buf = io.StringIO()
        with redirect_stdout(buf):
            main(args)
        title = "vascular" if len(args) == 1 else f"vascular {args[0]}"
        parts += [f"## {title}", "", "```", buf.getvalue().rstrip(), "```", ""]
    if saved is None:
        os.environ.pop("COLUMNS", None)
    else:
        os.environ["COLUMNS"] = saved
    return "\n".join(parts)


if __name__ == "__main__":  # pragma: no cover
    print(markdown(), end="")
