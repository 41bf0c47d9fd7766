"""Terminal output: the short clinician-facing answer (render/answer.py), laid out as plain lines wrapped at the
terminal width (never cut: ids and options break only between words). Colour (ANSI) only on a terminal and unless
NO_COLOR is set. No third-party import: start-up stays lean and a closed pipe is an ordinary BrokenPipeError.
All guideline text goes through ``clean``, so a statement cannot inject terminal escapes."""

from __future__ import annotations

import os
import textwrap
from typing import Any, TextIO

from .. import DISCLAIMER
from .answer import (
    UNVERIFIED_LEGEND,
    UNVERIFIED_MARK,
    Group,
    action_label,
    ask_next_lines,
    certainty_words,
    cite,
    cites,
    conflict_pairs,
    finding_line,
    groups,
    needs_text,
    plural,
    rest_line,
    sections,
)
from .common import NOTHING, clean, grade, profile_line

DEFAULT_WIDTH = 100
STYLES = {"bold": "1", "dim": "2", "italic": "3", "green": "32", "yellow": "33", "red": "31", "magenta": "35",
          "title": "1;36"}


class Writer:
    def __init__(self, out: TextIO, width: int, colour: bool):
        self.out, self.width, self.colour = out, max(width, 40), colour

    def line(self, text: str = "", style: str = "", indent: int = 0, hang: int = 0) -> None:
        """Write ``text`` wrapped at the width; continuation lines are indented by ``indent + hang``."""
        text = clean(text)
        if not text:
            self.out.write("\n")
            return
        lines = textwrap.wrap(text, self.width, initial_indent=" " * indent,
                              subsequent_indent=" " * (indent + hang), break_long_words=False,
                              break_on_hyphens=False) or [""]
        for ln in lines:
            self.out.write(self._style(ln, style) + "\n")

    def _style(self, text: str, style: str) -> str:
        if not self.colour or not style:
            return text
        codes = ";".join(STYLES[s] for s in style.split())
        return f"\x1b[{codes}m{text}\x1b[0m"

    def packed(self, items: list[str], indent: int, sep: str = "; ", lead: str = "", style: str = "") -> None:
        """Items on as few lines as possible after ``lead``, an item never split unless it is longer than a line;
        continuation lines are indented two more."""
        current, level = lead, indent
        for i, item in enumerate(items):
            piece = item + (sep.rstrip() if i < len(items) - 1 else "")
            candidate = f"{current} {piece}" if current else piece
            if current and level + len(candidate) > self.width:
                self.line(current, style, indent=level, hang=2)
                current, level = piece, indent + 2
            else:
                current = candidate
        if current:
            self.line(current, style, indent=level, hang=2)


def _colour(out: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def render(kb: Any, result: Any, out: TextIO, *, include_all: bool = False, explain: bool = False,
           detail: bool = False, width: int | None = None) -> None:
    w = Writer(out, width or DEFAULT_WIDTH, _colour(out))
    s = sections(result)
    w.line("Profile: " + profile_line(result.profile), "bold", hang=2)
    for fact, reason in result.profile.implied:
        w.line(f"implied: {fact}=yes ({reason})", "dim", indent=2, hang=4)
    if not result.covered:
        w.line(NOTHING, "bold red")

    pairs = conflict_pairs(result)
    if pairs:
        w.line()
        w.line(f"CONFLICTS ({len(pairs)}) - same or related action, opposite directions; "
               "the tool does not resolve them", "bold magenta", hang=2)
        for a, b in pairs:
            actions = action_label(a.rec.action) + (f" / {action_label(b.rec.action)}"
                                                    if b.rec.action != a.rec.action else "")
            w.line(actions, "bold", indent=2, hang=4)
            w.line(f"for: {cite(kb, a.rec)} [{a.rec.full_id}]", indent=4, hang=4)
            w.line(f"AGAINST: {cite(kb, b.rec)} [{b.rec.full_id}]", "red", indent=4, hang=4)

    full_explain = explain and include_all
    _section(w, kb, "APPLIES", s.applies, "bold green", detail, explain)
    short = not (include_all or detail or explain)
    _section(w, kb, "PARTLY MATCHED - facts missing", s.partly, "bold yellow", detail, explain, needs=True,
             limit=PARTLY_SHOWN if short else None)
    asks = ask_next_lines(result)
    if asks:
        w.line()
        w.line("ASK NEXT - the facts that would settle the most partly matched recommendations", "bold", hang=2)
        col = min(max(len(o) for o, _ in asks) + 2, w.width // 2)
        for option, why in asks:
            w.line(f"{option:<{col}}{why}", indent=2, hang=col)
        more = len(result.ask_next()) - len(asks)
        if more > 0:
            w.line(f"{plural(more, 'more fact')}: --format json lists them all, ranked.", "dim", indent=2)
    if include_all:
        _section(w, kb, "UNASSESSED - the profile gives none of their facts", s.unassessed, "yellow", detail,
                 full_explain, needs=True)
        _section(w, kb, "NOT APPLICABLE", s.not_applicable, "red", detail, full_explain, failed=True)
    if s.unverified:
        _section(w, kb, "UNVERIFIED - source not found (seed-only); not part of the answer above", s.unverified,
                 "bold magenta", True, explain, status=True)
    w.line()
    rest = rest_line(s, include_all, result.unverified_left_out)
    if rest:
        w.line(rest, "dim")
    notes = []
    if any(not m.rec.number_verified for m in s.applies + s.partly) and not detail:
        notes.append(UNVERIFIED_LEGEND + ".")
    if not detail:
        notes.append("Full statements: --detail, or vascular show ID.")
    if notes:
        w.line(" ".join(notes), "dim")
    w.line(f"Sources: {plural(len(result.guidelines), 'guideline document')} (vascular list; sha256 of each in "
           "--format json).", "dim", hang=2)
    w.line(DISCLAIMER, "italic")


PARTLY_SHOWN = 8  # partly matched actions in the short answer: those closest to applying (fewest missing facts)


def _section(w: Writer, kb: Any, title: str, matches: list, style: str, detail: bool, explain: bool,
             needs: bool = False, failed: bool = False, status: bool = False, limit: int | None = None) -> None:
    if not matches:
        return
    gs = groups(matches)
    w.line()
    w.line(f"{title} ({plural(len(matches), 'recommendation')}, {plural(len(gs), 'action')})", style, hang=2)
    shown = gs if limit is None or len(gs) <= limit else sorted(gs, key=lambda g: len(g.needs()))[:limit]
    for g in gs:
        if g in shown:
            _group(w, kb, g, detail, explain, needs, failed, status)
    if len(shown) < len(gs):
        rest = [g for g in gs if g not in shown]
        w.line(f"{plural(len(rest), 'more action')} ({plural(sum(len(g.matches) for g in rest), 'recommendation')}) "
               "with more facts missing: --all lists them.", "dim", indent=2, hang=2)


def _group(w: Writer, kb: Any, g: Group, detail: bool, explain: bool, needs: bool, failed: bool,
           status: bool) -> None:
    head = g.title
    if needs and g.needs():
        head += f" (needs {needs_text(g.needs())})"
    style = "red" if g.direction == "against" else ""
    if not (detail or explain):  # compact: the action, its direction and every source with its grade
        w.packed(cites(kb, g.matches, status), indent=2, lead=head + " -", style=style)
        return
    w.line(head, style or "bold", indent=2, hang=4)
    for m in g.matches:
        r = m.rec
        w.line(f"- {cite(kb, r)} · {r.full_id}" + (f" · {m.status}" if status else ""), indent=4, hang=2)
        if detail:
            w.line(r.statement, indent=6)
            w.line(f"where: {r.locator}", "dim", indent=6, hang=2)
            if m.matched:
                w.line("why: " + "; ".join(f.requires for f in m.matched), "green", indent=6, hang=2)
            words = certainty_words(r)
            if words:
                w.line(words.replace(f"{UNVERIFIED_MARK}", ""), "yellow", indent=6, hang=2)
            if r.grade_conflict:
                alt = ", ".join(f"{k} {v}" for k, v in r.grade_conflict.items() if k != "source")
                w.line(f"grade disputed: {alt} in another source (shown as published: "
                       f"{grade(kb, r)['display']})", "yellow", indent=6, hang=2)
        if explain:
            for f in m.findings:
                mark, text = finding_line(f)
                w.line(f"{mark} {text}", {"✓": "green", "?": "yellow", "✗": "red"}[mark], indent=6, hang=2)
        elif failed:
            w.line("fails: " + "; ".join(f"{f.requires} (profile: {f.profile})" for f in m.failed), "red",
                   indent=6, hang=2)
