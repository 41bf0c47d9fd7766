"""Documented input limits (README, "Limits"). One place, so every reader enforces the same numbers."""

MAX_BYTES = 2 * 1024 * 1024  # a guideline or profile file
MAX_DEPTH = 32  # YAML nesting
MAX_NODES = 200_000  # YAML nodes after alias expansion
MAX_LINE = 1024 * 1024  # one batch (JSON Lines) input line
