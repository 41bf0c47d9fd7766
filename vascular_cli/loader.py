"""Load guideline, vocabulary and grading files into a :class:`KnowledgeBase`.

Reading never stops at the first problem: every file is read, every problem is collected with its position, and
the parts that are valid are built. ``recommend`` refuses a knowledge base with errors; ``validate`` reports them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .model import GradeCode, GradingSystem, Guideline, Problem, Recommendation, Term
from .paths import bundled_dir
from .vocab import KINDS, Vocabulary

# schema, yamlio (PyYAML) and checks are imported inside the functions that read files: a cached start-up
# unpickles a KnowledgeBase without needing them.

SUFFIXES = (".yaml", ".yml")


class SourceFile:
    """One file as read: its display path, sha256, parsed tree (None when unreadable) and kind."""

    __slots__ = ("path", "sha256", "tree", "kind")

    def __init__(self, path: str, sha256: str, tree: Any = None, kind: str | None = None) -> None:
        # kind: guideline|vocabulary|grading|fhir_mapping
        self.path, self.sha256, self.tree, self.kind = path, sha256, tree, kind


class KnowledgeBase:
    """Everything loaded: vocabulary, grading systems, documents, recommendations, and the problems found."""

    __slots__ = ("vocabulary", "grading", "guidelines", "recommendations", "problems", "files", "read")

    def __init__(self, vocabulary: Vocabulary, grading: dict[str, GradingSystem], guidelines: tuple[Guideline, ...],
                 recommendations: tuple[Recommendation, ...], problems: list[Problem] | None = None,
                 files: tuple[SourceFile, ...] = (), read: int = 0):
        self.vocabulary, self.grading, self.guidelines = vocabulary, grading, guidelines
        self.recommendations, self.files = recommendations, files
        self.problems = [] if problems is None else problems
        self.read = read  # files read, including the ones that could not be parsed

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]

    def guideline(self, gid: str) -> Guideline | None:
        return next((g for g in self.guidelines if g.id == gid), None)


def collect(paths: Any) -> tuple[list[Path], list[Problem]]:
    """Expand directories (their *.yaml / *.yml files, sorted) and check that each path exists."""
    files: list[Path] = []
    problems: list[Problem] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files += sorted(f for f in p.iterdir()
                            if f.suffix in SUFFIXES and not f.name.startswith(".") and f.is_file())
        elif p.is_file():
            files.append(p)
        else:
            problems.append(Problem(str(p), 1, 1, "VG001", "no such file or directory"))
    return files, problems


def _display(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
        return rel if not rel.startswith("..") else str(path)
    except ValueError:  # pragma: no cover - other drive on Windows
        return str(path)


def read_file(path: Path, display: str | None = None, data: bytes | None = None) -> tuple[SourceFile, list[Problem]]:
    from .yamlio import YAMLProblem, decode, loads

    display = display or _display(path)
    if data is None:
        try:
            data = read_bytes(path)
        except OSError as e:
            return SourceFile(display, ""), [Problem(display, 1, 1, "VG001", f"cannot read file: {e.strerror}")]
    import hashlib  # here, not at the top: a warm start never reads a file (start-up time)

    src = SourceFile(display, hashlib.sha256(data).hexdigest())
    try:
        src.tree = loads(decode(data))
    except YAMLProblem as e:
        return src, [Problem(display, e.line, e.col, e.code, e.message)]
    tree = src.tree
    if isinstance(tree, dict):
        src.kind = next((k for k in ("guideline", "vocabulary", "grading", "fhir_mapping") if k in tree), None)
    if src.kind is None:
        return src, [Problem(display, 1, 1, "VG003", "not a vascular file: expected a top-level 'guideline', "
                             "'vocabulary', 'grading' or 'fhir_mapping' key")]
    return src, []


def read_bytes(path: Path | str) -> bytes:
    from .limits import MAX_BYTES

    with open(path, "rb") as f:
        return f.read(MAX_BYTES + 1)


def _structural(src: SourceFile, spec: Any, value: Any = None, path: Any = "", where: Any = None) -> list[Problem]:
    from . import schema
    from .yamlio import Mark

    out: list = []
    value = src.tree if value is None else value
    schema.check(value, spec, where or (lambda: getattr(value, "mark", Mark(1, 1))), path, out)
    return [Problem(src.path, m.line, m.col, code, msg) for code, msg, m in out]


BUNDLED = "<bundled>/"  # display prefix of the bundled files when they are loaded alongside given paths
_CONTEXT_KEY = re.compile(rb"^(vocabulary|grading)[ \t]*:", re.M)
_VASCULAR_KEY = re.compile(rb"^(guideline|recommendations|vocabulary|grading|fhir_mapping)[ \t]*:", re.M)


def is_vascular_text(data: bytes) -> bool:
    """Whether a file's text has a top-level key of a vascular document (used to select files by content, also
    for files that do not parse)."""
    return _VASCULAR_KEY.search(data) is not None


def resolve(paths: Any = None, bundled: bool = True) -> tuple[list[tuple[Path, str]], list[Problem]]:
    """The files a load reads, as (path, display name). ``paths=None``: the bundled set. Otherwise the given
    files/directories *together with* the bundled set (displayed as ``<bundled>/NAME``, read first, so a clash
    is reported at the given file and names the bundled location), or only the given paths when ``bundled`` is
    False. A given file that is a bundled file (``validate guidelines/`` in a checkout) is read once. For a file
    given on its own (pre-commit passes only the changed files), the vocabulary and grading files next to it are
    read as context too."""
    files, problems, _ = resolve_roles(paths, bundled)
    return files, problems


def resolve_roles(paths: Any = None, bundled: bool = True) -> tuple:
    """``resolve`` plus the set of display names of the given (reported) files."""
    base = bundled_dir()
    if paths is None:
        files, problems = collect([base])
        shown = [(f, _display(f)) for f in files]
        return shown, problems, {d for _, d in shown}
    files, problems = collect(paths)
    seen = {os.path.realpath(f) for f in files}
    context: list[tuple[Path, str]] = []
    for p in paths:
        p = Path(p)
        if not p.is_file():
            continue
        for sib in sorted(p.parent.iterdir()) if p.parent.is_dir() else ():
            if sib.suffix in SUFFIXES and sib.is_file() and os.path.realpath(sib) not in seen:
                try:
                    head = read_bytes(sib)
                except OSError:
                    continue
                if _CONTEXT_KEY.search(head):
                    seen.add(os.path.realpath(sib))
                    context.append((sib, _display(sib)))
    given = [(f, _display(f)) for f in files]
    extra: list[tuple[Path, str]] = []
    if bundled:
        base_files, _ = collect([base])
        extra = [(f, BUNDLED + f.name) for f in base_files if os.path.realpath(f) not in seen]
    return extra + context + given, problems, {d for _, d in given}


def load(paths: Any = None, preread: dict | None = None, bundled: bool = True) -> KnowledgeBase:
    """Load the bundled knowledge base (``paths=None``), or the given files/directories together with it
    (``bundled=False``: the given paths only), collecting every problem. ``kb.read`` counts the files read from
    the given paths (all files for the bundled set)."""
    files, problems, checked = resolve_roles(paths, bundled)
    sources: list[SourceFile] = []
    for f, display in files:
        src, probs = read_file(f, display, (preread or {}).get(f))
        problems += probs
        if src.kind:
            sources.append(src)
    kb = build(sources, problems)
    kb.read = len(checked)
    return kb


def reported(kb: KnowledgeBase) -> list[Problem]:
    """The problems ``validate`` reports: all but those of the bundled files loaded alongside given paths (they are
    context: a clash with them is reported at the given file and names their location)."""
    return [p for p in kb.problems if not p.path.startswith(BUNDLED)]


def build(sources: list[SourceFile], problems: list[Problem]) -> KnowledgeBase:
    from . import checks, schema

    terms: dict[str, dict[str, Term]] = {k: {} for k in KINDS}
    term_where: dict[tuple[str, str], str] = {}
    grading: dict[str, GradingSystem] = {}
    grading_where: dict[str, str] = {}
    docs: list = []  # [(source, guideline, [(yaml node, recommendation)])]
    implications: list = []

    for src in sources:
        spec = {"vocabulary": schema.VOCABULARY_FILE, "grading": schema.GRADING_FILE}.get(src.kind or "")
        if spec is not None:
            probs = _structural(src, spec)
            problems += probs
            if probs:
                continue
            if src.kind == "vocabulary":
                _read_vocabulary(src, terms, term_where, problems)
                implications += _read_implications(src)
            else:
                _read_grading(src, grading, problems, grading_where)
    for src in sources:
        if src.kind == "guideline":
            doc = _read_guideline(src, problems)
            if doc is not None:
                docs.append(doc)

    vocabulary = Vocabulary.build(terms, implications)
    kb = KnowledgeBase(
        vocabulary=vocabulary, grading=grading,
        guidelines=tuple(g for _, g, _ in docs),
        recommendations=tuple(r for _, _, recs in docs for _, r in recs),
        problems=problems, files=tuple(sources),
    )
    problems += checks.run(kb, sources, docs)
    problems.sort(key=lambda p: (p.path, p.line, p.col, p.code))
    return kb


def _read_vocabulary(src: Any, terms: Any, term_where: Any, problems: Any) -> None:
    from .yamlio import key_mark

    for kind, table in src.tree["vocabulary"].items():
        for name, spec in table.items():
            m = key_mark(table, name)
            if name in terms[kind]:
                problems.append(Problem(src.path, m.line, m.col, "VG008",
                                        f"{kind} term {name!r} is already defined at {term_where[kind, name]} "
                                        "(a vocabulary file adds terms; it cannot redefine one)"))
                continue
            broader = spec.get("broader") or ()
            terms[kind][name] = Term(kind, name, spec["definition"], tuple(spec.get("aliases") or ()),
                                     (broader,) if isinstance(broader, str) else tuple(broader),
                                     tuple(spec.get("excludes") or ()))
            term_where[kind, name] = f"{src.path}:{m.line}:{m.col}"


def _read_implications(src: Any) -> list:
    from .model import Implication

    out = []
    for imp in src.tree.get("implications") or ():
        when = imp["when"]
        out.append(Implication(imp["implies"], imp["reason"], tuple(when.get("lesion") or ()),
                               tuple(when.get("given") or ()), tuple(when.get("factors") or ())))
    return out


def _read_grading(src: Any, grading: Any, problems: Any, where: dict) -> None:
    from .yamlio import key_mark

    for gid, g in src.tree["grading"].items():
        m = key_mark(src.tree["grading"], gid)
        if gid in grading:
            problems.append(Problem(src.path, m.line, m.col, "VG008", f"grading system {gid!r} is already defined at "
                                    f"{where[gid]}"))
            continue
        where[gid] = f"{src.path}:{m.line}:{m.col}"

        def codes(table: Any) -> Any:
            return {str(c): GradeCode(str(c), v["label"], v["meaning"], v.get("common"), v.get("direction"),
                                      tuple(v.get("ratings") or ())) for c, v in (table or {}).items()}

        rating = g.get("rating")
        grading[gid] = GradingSystem(gid, g["name"], g.get("source", ""), g["display"], g["ungraded"],
                                     codes(g["strength"]), codes(g["evidence"]),
                                     (rating["min"], rating["max"]) if rating else None)


def _read_guideline(src: SourceFile, problems: list[Problem]) -> Any:
    from . import schema
    from .yamlio import value_mark

    tree = src.tree
    # check the header and the list shape first; recommendations one by one, so one bad item does not hide others
    top = schema.GUIDELINE_FILE
    header_spec = schema.Map(fields={**top.fields, "recommendations": schema.Seq(schema.Spec(), min_items=1)},
                             required=top.required)
    probs = _structural(src, header_spec)
    problems += probs
    if probs:
        return None
    h = tree["guideline"]
    g = Guideline(
        id=h["id"], body=h["body"], title=h["title"], year=h["year"], citation=h["citation"], doi=h["doi"],
        grading=h["grading"], status=h["status"], path=src.path, sha256=src.sha256, pmid=h.get("pmid"),
        url=h.get("url"), superseded_by=h.get("superseded_by"), supersedes=h.get("supersedes"),
        sources=dict(h.get("sources") or {}), note=h.get("note"), scope=h.get("scope"),
        left_out=tuple((x["records"], x["reason"]) for x in h.get("left_out") or ()),
    )
    recs: list = []
    items = tree["recommendations"]
    for i, item in enumerate(items):
        probs = _structural(src, schema.RECOMMENDATION, item, f"recommendations[{i}]",
                            lambda i=i: value_mark(items, i))
        problems += probs
        if probs:
            continue
        recs.append((item, Recommendation(
            guideline=g, id=str(item["id"]), position=i, line=item.mark.line, number=item["number"],
            number_verified=item["number_verified"], locator=item["locator"],
            statement=" ".join(item["statement"].split()),
            action=item["action"], direction=item["direction"], strength=item["strength"], evidence=item["evidence"],
            certainty=item["certainty"], when=plain(item["when"]), kind=item.get("kind", "recommendation"),
            number_basis=item.get("number_basis"), wording=item.get("wording"), rating=item.get("rating"),
            rrl=item.get("rrl"), grade_conflict=plain(item.get("grade_conflict")), uncertain=item.get("uncertain"),
            source=item.get("source"), source_reliability=item.get("source_reliability"), note=item.get("note"),
            provenance=item.get("provenance"), alias=item.get("alias"),
            examples={k: tuple(plain(v)) for k, v in (item.get("examples") or {}).items()},
        )))
    return src, g, recs


def plain(v: Any) -> Any:
    """YMap/YSeq -> plain dict/list (for the model and the cache)."""
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v
