"""Errors that end a command with a documented exit code (never a traceback).

Library errors carry structured data so that each front end (the CLI, a FHIR adapter, a web service) can word them
in its own terms: ``field`` is the profile field (document key) concerned, ``value`` the rejected value, ``valid``
the accepted values when they form a short list, ``kind`` the vocabulary kind of a rejected term, and ``detail``
the message without the location. ``str(error)`` is a plain message that names the document key, never a CLI option.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class VascularError(Exception):
    exit_code = 2


class InputError(VascularError):
    """Bad usage or bad patient input: one line on stderr, exit code 2."""

    exit_code = 2

    def __init__(self, message: str, *, field: str | None = None, value: Any = None,
                 valid: Sequence[str] | None = None, kind: str | None = None, prefix: str = "") -> None:
        self.detail = message
        self.field, self.value, self.kind, self.prefix = field, value, kind, prefix
        self.valid = tuple(valid) if valid is not None else None
        super().__init__(f"{prefix}{field}: {message}" if field else f"{prefix}{message}")

    def located(self, prefix: str) -> InputError:
        """The same error, reported under a location prefix (e.g. 'profile.yaml: ')."""
        return InputError(self.detail, field=self.field, value=self.value, valid=self.valid, kind=self.kind,
                          prefix=prefix + self.prefix)


class DataError(VascularError):
    """Invalid guideline data: ``file:line:col: CODE message`` lines, exit code 1."""

    exit_code = 1

    def __init__(self, message: str, problems: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)
