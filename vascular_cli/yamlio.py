"""Safe YAML reading with positions.

Builds plain Python values from libyaml *events* (never from PyYAML's recursive composer, which overflows the C
stack on deep nesting), so every limit is enforced while reading:

* one document per file, UTF-8 only (a leading BOM is tolerated), no NUL bytes, bounded size;
* only the core YAML tags (no ``!!python/object`` or custom tags);
* no duplicate mapping keys (PyYAML silently keeps the last one);
* bounded nesting depth and bounded alias expansion (the "billion laughs" pattern fails fast).

Mappings and sequences come back as :class:`YMap` / :class:`YSeq`, which remember where each key and item sits
(1-based line and column), so later checks can report ``file:line:col``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

try:  # libyaml when present: several times faster
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

from .limits import MAX_BYTES, MAX_DEPTH, MAX_NODES  # noqa: E402

_CORE_TAGS = {
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map", "!",
}
_RESOLVER = yaml.resolver.Resolver()
_INT_RE = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")


@dataclass(frozen=True, slots=True)
class Mark:
    line: int
    col: int


class YAMLProblem(Exception):
    """A file that cannot be read as safe YAML. ``code`` is a check code (see checks.py)."""

    def __init__(self, code: str, message: str, line: int = 1, col: int = 1):
        super().__init__(message)
        self.code, self.message, self.line, self.col = code, message, line, col


class YMap(dict):
    """A mapping that remembers the position of itself, of each key and of each value."""

    __slots__ = ("mark", "key_marks", "value_marks")
    mark: Mark
    key_marks: dict[str, Mark]
    value_marks: dict[str, Mark]


class YSeq(list):
    """A sequence that remembers the position of itself and of each item."""

    __slots__ = ("mark", "item_marks")
    mark: Mark
    item_marks: list[Mark]


def key_mark(m: YMap, key: str) -> Mark:
    return m.key_marks.get(key, m.mark)


def value_mark(container: Any, key: Any) -> Mark:
    """Position of ``container[key]`` (a key of a YMap or an index of a YSeq)."""
    if isinstance(container, YMap):
        return container.value_marks.get(key, container.mark)
    if isinstance(container, YSeq) and isinstance(key, int) and 0 <= key < len(container.item_marks):
        return container.item_marks[key]
    return getattr(container, "mark", Mark(1, 1))


def decode(data: bytes) -> str:
    """Bytes -> text, refusing what is not UTF-8 text; the error names the line and column."""
    if len(data) > MAX_BYTES:
        raise YAMLProblem("VG001", f"file is larger than the {MAX_BYTES // (1024 * 1024)} MiB limit")
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise YAMLProblem("VG001", "binary data (NUL byte): not a YAML text file", line, 1)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise YAMLProblem("VG001", f"invalid UTF-8 byte 0x{data[e.start]:02x}: files must be UTF-8",
                          line, col) from None
    if "\ufeff" in text:
        at = text.index("\ufeff")
        line = text.count("\n", 0, at) + 1
        raise YAMLProblem("VG001", "byte-order mark inside the file", line, at - (text.rfind("\n", 0, at) + 1) + 1)
    return text


def _mark(ev: Any) -> Mark:
    m = ev.start_mark
    return Mark(m.line + 1, m.column + 1)


def _scalar(ev: Any) -> Any:
    tag = ev.tag
    if tag is not None and tag not in _CORE_TAGS:
        raise YAMLProblem("VG001", f"YAML tag {tag!r} is not allowed (only plain YAML data)", *_pos(ev))
    if tag == "!" or (tag is None and not ev.implicit[0]):
        return ev.value  # quoted or explicitly non-specific: a string
    if tag is None:
        tag = _RESOLVER.resolve(yaml.ScalarNode, ev.value, ev.implicit)
    value = ev.value
    if tag.endswith(":str") or tag.endswith(":timestamp"):
        return value
    if tag.endswith(":null"):
        return None
    if tag.endswith(":bool"):
        return value.lower() in ("yes", "true", "on", "y")
    if tag.endswith(":int"):
        if not _INT_RE.match(value):
            return value  # octal/hex/sexagesimal forms: keep the text, type checks will name it
        return int(value.replace("_", ""))
    if tag.endswith(":float"):
        try:
            return float(value.replace("_", ""))
        except ValueError:
            return value
    return value


def _pos(ev: Any) -> tuple[int, int]:
    m = _mark(ev)
    return m.line, m.col


_FLOW = re.compile(r"[\[\]{}]")


def _flow_too_deep(text: str) -> int | None:
    """Offset just past the first flow opener ('[' or '{') nested deeper than MAX_DEPTH, or None.

    libyaml looks ahead over a whole line of flow openers and stops at a nesting limit of its own (in some releases)
    before any event reaches the depth check below; parsing only the text up to this offset lets the tool's own limit
    decide, whatever the PyYAML/libyaml release. Brackets inside quotes or comments can only give a false alarm,
    which costs one partial parse (see loads)."""
    if "[" not in text and "{" not in text:
        return None
    depth = 0
    for m in _FLOW.finditer(text):
        if m.group() in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return m.end()
        elif depth:
            depth -= 1
    return None


def loads(text: str) -> Any:
    """Parse one YAML document into YMap/YSeq/scalars. Raises YAMLProblem."""
    cut = _flow_too_deep(text)
    if cut is not None:
        try:
            _loads(text[:cut])
        except YAMLProblem as e:
            if e.message == _too_deep():
                raise
    return _loads(text)


def _too_deep() -> str:
    return f"nesting deeper than {MAX_DEPTH} levels"


def _loads(text: str, loader: Any = _Loader) -> Any:
    stack: list = []  # [container, pending_key, pending_key_mark]
    anchors: dict[str, tuple[object, int]] = {}
    sizes: list[int] = []  # node counts of the open containers, for alias accounting
    root = _NOTHING = object()
    docs = 0
    total = 0

    def add(value: Any, mark: Mark, count: int, ev: Any) -> Any:
        nonlocal root, total
        total += count
        if total > MAX_NODES:
            raise YAMLProblem("VG001", f"document expands to more than {MAX_NODES} nodes (alias bomb?)", *_pos(ev))
        if sizes:
            sizes[-1] += count
        if not stack:
            root = value
            return
        frame = stack[-1]
        c = frame[0]
        if isinstance(c, YSeq):
            c.append(value)
            c.item_marks.append(mark)
        elif frame[1] is _NOTHING:
            if not isinstance(value, (str, int, float, bool)) and value is not None:
                raise YAMLProblem("VG001", "mapping keys must be plain scalars", mark.line, mark.col)
            key = value if isinstance(value, str) else (
                "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value))
            if key in c:
                first = c.key_marks[key]
                raise YAMLProblem("VG002",
                                  f"duplicate key {key!r} (first defined at line {first.line}, column {first.col})",
                                  mark.line, mark.col)
            frame[1], frame[2] = key, mark
        else:
            c[frame[1]] = value
            c.key_marks[frame[1]] = frame[2]
            c.value_marks[frame[1]] = mark
            frame[1] = _NOTHING

    try:
        for ev in yaml.parse(text, Loader=loader):
            kind = type(ev)
            if kind is yaml.ScalarEvent:
                value = _scalar(ev)
                if ev.anchor:
                    anchors[ev.anchor] = (value, 1)
                add(value, _mark(ev), 1, ev)
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                if ev.tag is not None and ev.tag not in _CORE_TAGS:
                    raise YAMLProblem("VG001", f"YAML tag {ev.tag!r} is not allowed (only plain YAML data)", *_pos(ev))
                if len(stack) >= MAX_DEPTH:
                    raise YAMLProblem("VG001", _too_deep(), *_pos(ev))
                mark = _mark(ev)
                c: YMap | YSeq
                if kind is yaml.MappingStartEvent:
                    c = YMap()
                    c.key_marks, c.value_marks = {}, {}
                else:
                    c = YSeq()
                    c.item_marks = []
                c.mark = mark
                stack.append([c, _NOTHING, None, ev.anchor, mark, ev])
                sizes.append(1)
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                c, _, _, anchor, mark, start = stack.pop()
                count = sizes.pop()
                if anchor:
                    anchors[anchor] = (c, count)
                add(c, mark, 0, ev)
                if sizes:
                    sizes[-1] += count
            elif kind is yaml.AliasEvent:
                if ev.anchor not in anchors:
                    raise YAMLProblem("VG001", f"alias *{ev.anchor} refers to no anchor", *_pos(ev))
                value, count = anchors[ev.anchor]
                add(value, _mark(ev), count, ev)
            elif kind is yaml.DocumentStartEvent:
                docs += 1
                if docs > 1:
                    raise YAMLProblem("VG001", "more than one YAML document in the file ('---')", *_pos(ev))
    except yaml.MarkedYAMLError as e:
        line, col, msg = syntax_error(text, e)
        raise YAMLProblem("VG001", f"YAML syntax error: {msg}", line, col) from None
    except yaml.YAMLError as e:
        raise YAMLProblem("VG001", f"YAML error: {e}") from None
    return None if root is _NOTHING else root


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def syntax_error(text: str, e: Any) -> tuple[int, int, str]:
    """(line, column, message) for a YAML syntax error, in the tool's own words with a one-line hint, at the place
    the mistake is (PyYAML often notices it a line later: an unclosed quote or bracket, a missing ':')."""
    pm, cm = e.problem_mark, e.context_mark
    problem, context = e.problem or "", e.context or ""
    line, col = (pm.line + 1, pm.column + 1) if pm else (cm.line + 1, cm.column + 1) if cm else (1, 1)
    lines = text.split("\n")
    cur = lines[line - 1] if 0 < line <= len(lines) else ""
    start = _indent(cur) + 1  # first non-space column of the line
    if cur[col - 1:col] == "\t" or "\t" in problem or (cur[:start].endswith("\t") or cur.lstrip(" ").startswith("\t")):
        return line, col, "tab character (YAML indentation must use spaces)"
    if "quoted scalar" in context and cm is not None:
        q = lines[cm.line][cm.column:cm.column + 1] if cm.line < len(lines) else '"'
        return cm.line + 1, cm.column + 1, (f"the quoted value opened here is not closed (a {q} is missing"
                                            + ("; write '' for a quote inside it)" if q == "'" else ")"))
    if "flow" in context and cm is not None and ("expected ','" in problem or "end of stream" in problem
                                                 or "did not find expected" in problem):
        b = lines[cm.line][cm.column:cm.column + 1] if cm.line < len(lines) else ""
        cline, ccol = cm.line + 1, cm.column + 1
        if b not in ("[", "{"):  # the mark is at the end: find the last bracket left open
            opened = []
            for n, x in enumerate(lines[:line], 1):
                for c, ch in enumerate(x, 1):
                    if ch in "[{":
                        opened.append((n, c, ch))
                    elif ch in "]}" and opened:
                        opened.pop()
            if opened:
                cline, ccol, b = opened[-1]
        b = b or "["
        closing = {"[": "]", "{": "}"}.get(b, "]")
        return cline, ccol, (f"the {b!r} opened here is not closed (a {closing!r} is missing, or a "
                                            "',' between items)")
    if "could not find expected ':'" in problem and cm is not None:
        at = lines[cm.line] if cm.line < len(lines) else ""
        return cm.line + 1, _indent(at) + 1, ("expected 'key: value' on this line (a ':' is missing, or a value "
                                             "that runs onto it needs quotes)")
    prev = next((x for x in reversed(lines[:line - 1]) if x.strip() and not x.lstrip().startswith("#")), "")
    if "mapping values are not allowed" in problem:
        if _indent(cur) > _indent(prev) and start < col and not prev.rstrip().endswith(":") \
                and not prev.lstrip().startswith("- ") | prev.rstrip().endswith("-"):
            return line, start, ("this line is indented more than the line before it (the keys of one mapping "
                                 "must line up)")
        return line, col, "a ': ' inside a value (put the value in quotes)"
    if "did not find expected key" in problem or "expected <block end>" in problem:
        if cur.lstrip().startswith("-"):
            return line, start, "a list item ('- ') where a 'key: value' was expected (check the indentation)"
        return line, start, "the indentation of this line does not line up with the keys above it"
    if "expected '-' indicator" in problem:
        return line, start, ("a 'key: value' line inside a list (start a new item with '- ', or line it up with "
                             "the keys of the item above)")
    if "cannot start any token" in problem:
        ch = cur[col - 1:col] or "?"
        return line, col, f"{ch!r} cannot start a plain value (put the value in quotes)"
    return line, col, problem or str(e).split("\n")[0]
