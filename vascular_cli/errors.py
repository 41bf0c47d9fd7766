"""Errors that end a command with a documented exit code (never a traceback)."""

from __future__ import annotations


class VascularError(Exception):
    exit_code = 2


class InputError(VascularError):
    """Bad usage or bad patient input: one line on stderr, exit code 2."""

    exit_code = 2


class DataError(VascularError):
    """Invalid guideline data: ``file:line:col: CODE message`` lines, exit code 1."""

    exit_code = 1

    def __init__(self, message: str, problems=()):
        super().__init__(message)
        self.problems = list(problems)
