"""'Did you mean' suggestions for unknown names."""

from __future__ import annotations

from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ' (did you mean X?)' for the closest choice, or ''."""
    import difflib

    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        close = [c for c in choices if word and (c.startswith(word) or word in c)][:1]
    return f" (did you mean {close[0]!r}?)" if close else ""
