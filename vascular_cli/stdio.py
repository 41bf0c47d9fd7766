"""Standard-output helpers shared by the front ends."""

from __future__ import annotations

import os
import sys


def quiet_stdout() -> None:
    """After the reader of our stdout went away (``| head``), stop Python from complaining at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests, wrappers)
        pass
