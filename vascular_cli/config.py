"""Repository configuration for ``vascular validate``: turn a check off or change its level, per path.

Read from ``.vascular.yaml`` or from ``[tool.vascular]`` in ``pyproject.toml``, in the current directory or the
nearest parent (up to the repository root, the directory holding ``.git``), the way yamllint and ruff find theirs;
``.vascular.yaml`` wins when a directory has both. ``validate --config FILE`` names the file instead.

.. code-block:: yaml

    validate:
      rules:
        - checks: [VG102]            # codes (VG102) or names (missing-doi)
          level: off                 # off | warning | error
          paths: ["protocols/"]      # optional: globs relative to the config file's directory; default: every file

Later rules win over earlier ones. Only the warning checks (VG101-VG103) can be turned off or lowered: an error
check guards ``recommend``, which refuses data that fails it, so a config cannot hide it. Any check can be raised to
``error``. The config itself is checked: every problem is ``file:line:col: VG018 message``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from .model import Problem
from .suggest import did_you_mean

YAML_NAME = ".vascular.yaml"
TOML_NAME = "pyproject.toml"
LEVELS = ("off", "warning", "error")
CODE = "VG018"


@dataclass(frozen=True)
class Rule:
    checks: frozenset[str]
    level: str
    patterns: tuple[re.Pattern, ...] = ()  # empty: every file


@dataclass
class Config:
    path: str | None = None  # display path of the config file, None when there is none
    root: Path = field(default_factory=Path.cwd)
    rules: list[Rule] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def level(self, code: str, path: str, default: str) -> str:
        """The level of a problem ``code`` found in file ``path`` (as displayed)."""
        level = default
        rel = None
        for rule in self.rules:
            if code not in rule.checks:
                continue
            if rule.patterns:
                if rel is None:
                    rel = _relative(path, self.root)
                if rel is None or not any(p.match(rel) for p in rule.patterns):
                    continue
            level = rule.level
        return level

    def apply(self, problems: list[Problem]) -> list[Problem]:
        """The problems with the configured levels; the ones turned off are dropped. The config's own problems
        come first."""
        out = list(self.problems)
        for p in problems:
            level = self.level(p.code, p.path, p.level)
            if level != "off":
                out.append(p if level == p.level else p._replace(level=level))
        return out


def _relative(path: str, root: Path) -> str | None:
    if path.startswith("<"):
        return None
    try:
        rel = os.path.relpath(os.path.abspath(path), root)
    except ValueError:  # pragma: no cover - other drive on Windows
        return None
    rel = rel.replace(os.sep, "/")
    return None if rel.startswith("../") else rel


def glob_regex(pattern: str) -> re.Pattern:
    """A gitignore-like glob: ``*`` and ``?`` within a path segment, ``**`` across segments; a pattern ending in
    ``/`` (or naming a directory) matches everything under it."""
    pattern = pattern.strip().replace("\\", "/").removeprefix("./")
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        out.append({"*": "[^/]*", "?": "[^/]"}.get(c, re.escape(c)))
        i += 1
    body = "".join(out)
    if pattern.endswith("/"):
        return re.compile(body + ".*\\Z")
    return re.compile(body + "(?:/.*)?\\Z")


def find(start: Path | None = None) -> Path | None:
    """The config file for a run started in ``start`` (default: the current directory), or None."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / YAML_NAME).is_file():
            return d / YAML_NAME
        py = d / TOML_NAME
        if py.is_file():
            try:
                text = py.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                text = ""
            if re.search(r"^\s*\[\s*(\[\s*)?tool\s*\.\s*vascular\b", text, re.M) or \
                    re.search(r"^\s*tool\s*\.\s*vascular\b", text, re.M):
                return py
        if (d / ".git").exists():
            return None
    return None


def load(path: Path | str | None = None, start: Path | None = None) -> Config:
    """Read and check the config (``path``, else the one found from ``start``). Never raises for bad content:
    problems are in ``Config.problems``."""
    from .loader import _display

    explicit = path is not None
    path = Path(path) if path is not None else find(start)
    if path is None:
        return Config()
    display = _display(path)
    cfg = Config(path=display, root=path.resolve().parent)
    try:
        data = path.read_bytes()
    except OSError as e:
        cfg.problems.append(Problem(display, 1, 1, CODE, f"cannot read the config: {e.strerror}"))
        return cfg
    if path.name.endswith(".toml"):
        tree, marks = _read_toml(cfg, data)
        if tree is None:
            return cfg
        tree = tree.get("tool", {}).get("vascular")
        if tree is None:
            if explicit:
                cfg.problems.append(Problem(display, 1, 1, CODE, "no [tool.vascular] table in this file"))
            return cfg
        prefix: tuple = ("tool", "vascular")
    else:
        tree, marks = _read_yaml(cfg, data)
        if tree is None:
            return cfg
        prefix = ()
    _check(cfg, tree, lambda *keys: marks(prefix + keys))
    cfg.problems.sort(key=lambda p: (p.line, p.col))
    return cfg


def _read_yaml(cfg: Config, data: bytes) -> tuple[Any, Any]:
    from .yamlio import Mark, YAMLProblem, YMap, decode, key_mark, loads, value_mark

    try:
        tree = loads(decode(data))
    except YAMLProblem as e:
        cfg.problems.append(Problem(cast(str, cfg.path), e.line, e.col, CODE, e.message))  # load() set the path
        return None, None
    if tree is None:
        return {}, lambda keys: (1, 1)

    def marks(keys: tuple) -> tuple[int, int]:
        node, m = tree, getattr(tree, "mark", Mark(1, 1))
        for k in keys:
            if isinstance(k, tuple):  # ("key", name): the key itself, not its value
                m = key_mark(cast(YMap, node), k[1]) if isinstance(node, dict) else m  # loads() makes YMaps
                break
            if isinstance(node, dict) and k in node or isinstance(node, list) and isinstance(k, int) and k < len(node):
                m = value_mark(node, k)
                node = node[k]
            else:
                break
        return m.line, m.col

    return tree, marks


_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^(\s*)([A-Za-z0-9_.\-\"' ]+?)\s*=\s*(\S)")


def _read_toml(cfg: Config, data: bytes) -> tuple[Any, Any]:
    """pyproject.toml -> (tree, marks); tomllib keeps no positions, so keys are located by a line scan of the usual
    layouts (``[tool.vascular.validate]``, ``[[tool.vascular.validate.rules]]``, ``key = value``)."""
    import tomllib

    try:
        text = data.decode("utf-8")
        tree = tomllib.loads(text)
    except UnicodeDecodeError as e:
        cfg.problems.append(Problem(cast(str, cfg.path), 1, 1, CODE, f"not UTF-8 (byte {e.start + 1})"))
        return None, None
    except tomllib.TOMLDecodeError as e:
        line = getattr(e, "lineno", None)
        col = getattr(e, "colno", None)
        msg = str(getattr(e, "msg", e))
        m = _TOML_POS.search(msg)
        if m:
            line, col = line or int(m.group(1)), col or int(m.group(2))
            msg = msg[:m.start()].rstrip()
        cfg.problems.append(Problem(cast(str, cfg.path), line or 1, col or 1, CODE, f"TOML syntax error: {msg}"))
        return None, None

    positions: dict[tuple, tuple[int, int]] = {}
    counters: dict[tuple, int] = {}
    table: tuple = ()
    for n, raw in enumerate(text.split("\n"), 1):
        h = _HEADER.match(raw)
        if h:
            names = tuple(x.strip().strip("\"'") for x in h.group(2).split("."))
            if h.group(1) == "[[":
                counters[names] = counters.get(names, -1) + 1
                table = names + (counters[names],)
            else:
                table = names
            positions.setdefault(table, (n, raw.index("[") + 1))
            continue
        k = _KEY.match(raw)
        if k and table:
            keys = table + tuple(x.strip().strip("\"'") for x in k.group(2).split("."))
            positions.setdefault(keys + ("<key>",), (n, len(k.group(1)) + 1))
            positions.setdefault(keys, (n, k.start(3) + 1))

    def marks(keys: tuple) -> tuple[int, int]:
        if keys and isinstance(keys[-1], tuple):
            keys = keys[:-1] + (keys[-1][1], "<key>")
        while keys:
            if keys in positions:
                return positions[keys]
            # an item of an inline array: the array's line
            keys = keys[:-1]
        return 1, 1

    return tree, marks


def _check(cfg: Config, tree: Any, mark: Callable[..., tuple[int, int]]) -> None:
    from .checks import REGISTRY

    def bad(keys: tuple, msg: str) -> None:
        line, col = mark(*keys)
        cfg.problems.append(Problem(cast(str, cfg.path), line, col, CODE, msg))  # load() set the path

    suggested: set = set()  # keys a misspelt key was taken for: not also reported as missing

    def keys_of(node: Any, keys: tuple, valid: tuple[str, ...], where: str) -> bool:
        if not isinstance(node, dict):
            bad(keys, f"{where}: expected a mapping (table), got {_kind(node)}")
            return False
        for k in node:
            if k not in valid:
                hint = did_you_mean(str(k), valid)
                suggested.update(v for v in valid if hint == f" (did you mean {v!r}?)")
                bad(keys + (("key", k),), f"{where}: unknown key {k!r}{hint} (valid: {', '.join(valid)})")
        return True

    if not keys_of(tree, (), ("validate",), "config"):
        return
    v = tree.get("validate")
    if v is None or not keys_of(v, ("validate",), ("rules",), "validate"):
        return
    rules = v.get("rules", [])
    if not isinstance(rules, list):
        bad(("validate", "rules"), f"validate.rules: expected a list of rules, got {_kind(rules)}")
        return
    names = {c.name: c.code for c in REGISTRY.values()}
    for i, r in enumerate(rules):
        where = f"validate.rules[{i}]"
        at = ("validate", "rules", i)
        if not keys_of(r, at, ("checks", "level", "paths"), where):
            continue
        ok = True
        for req in ("checks", "level"):
            if req not in r:
                if req not in suggested:
                    bad(at, f"{where}: missing required key {req!r}")
                ok = False
        suggested.clear()
        codes: set[str] = set()
        checks = r.get("checks", [])
        checks = [checks] if isinstance(checks, str) else checks
        if not isinstance(checks, list) or not checks:
            bad(at + ("checks",), f"{where}.checks: expected a list of check codes or names, got {_kind(checks)}")
            ok = False
            checks = []
        level = r.get("level")
        if level is False:  # YAML 1.1 reads an unquoted `off` as false
            level = "off"
        if "level" in r and level not in LEVELS:
            shown = repr(level) if isinstance(level, str) else f"{_kind(level)} {level!r}"
            bad(at + ("level",), f"{where}.level: {shown} is not one of {', '.join(LEVELS)}"
                                 f"{did_you_mean(str(level), LEVELS) if isinstance(level, str) else ''}")
            ok = False
        for j, c in enumerate(checks):
            code = c if isinstance(c, str) and c in REGISTRY else names.get(c) if isinstance(c, str) else None
            if code is None:
                hint = did_you_mean(c, [*REGISTRY, *names]) if isinstance(c, str) else ""
                bad(at + ("checks", j), f"{where}.checks: unknown check {c!r}{hint} (see docs/checks.md)")
                ok = False
                continue
            if code == CODE:
                bad(at + ("checks", j), f"{where}.checks: {CODE} (the config's own check) cannot be configured")
                ok = False
                continue
            if REGISTRY[code].level == "error" and level in ("off", "warning"):
                bad(at + ("checks", j), f"{where}.checks: {code} is an error check: recommend refuses data that "
                                        f"fails it, so it cannot be turned "
                                        f"{'off' if level == 'off' else 'into a warning'}")
                ok = False
                continue
            codes.add(code)
        patterns = r.get("paths", [])
        patterns = [patterns] if isinstance(patterns, str) else patterns
        compiled = []
        if not isinstance(patterns, list):
            bad(at + ("paths",), f"{where}.paths: expected a list of glob patterns, got {_kind(patterns)}")
            ok = False
            patterns = []
        for j, pat in enumerate(patterns):
            if not isinstance(pat, str) or not pat.strip():
                bad(at + ("paths", j), f"{where}.paths: expected a glob pattern string, got {_kind(pat)} {pat!r}")
                ok = False
            elif pat.startswith("/") or re.match(r"^[A-Za-z]:", pat) or pat.startswith("../"):
                bad(at + ("paths", j), f"{where}.paths: {pat!r} must be relative to the config file's directory")
                ok = False
            else:
                compiled.append(glob_regex(pat))
        if ok and codes:
            cfg.rules.append(Rule(frozenset(codes), level, tuple(compiled)))


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a mapping"}.get(type(v), next((n for t, n in ((dict, "a mapping"), (list, "a list"),
                                                                   (str, "a string")) if isinstance(v, t)),
                                                  type(v).__name__))
