"""Terminal output (rich, imported only here). Wide terminals get tables, narrow ones a stacked layout.
All guideline text goes through ``Text`` objects, never markup, so a statement cannot inject styles or escapes."""

from __future__ import annotations

from rich import box
from rich.console import Console, Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from .. import DISCLAIMER
from ..engine import supply
from .common import NOTHING, clean, grade, number, profile_line, status_groups, unassessed_line

WIDE = 100
STATUS_STYLE = {"applies": "bold green", "possible": "bold yellow", "not-applicable": "bold red"}
TITLES = {"applies": "APPLIES", "possible": "POSSIBLE - facts missing", "not-applicable": "NOT APPLICABLE"}
MARK = {True: ("✓", "green"), None: ("?", "yellow"), False: ("✗", "red")}


def _t(text, style: str = "") -> Text:
    return Text(clean(text), style=style)


def _source(r) -> Text:
    return _t(f"{r.guideline.body} {r.guideline.year}", "bold")


def _grade(kb, r) -> Text:
    gr = grade(kb, r)
    t = _t(gr["display"])
    if r.grade_conflict:
        alt = ", ".join(f"{k} {v}" for k, v in r.grade_conflict.items() if k != "source")
        t.append(_t(f"\n(disputed: {alt} per {r.grade_conflict.get('source', '?')})", "yellow"))
    return t


def _common(kb, r) -> Text:
    common = grade(kb, r)["strength"]["common"] or "ungraded"
    arrow = {"for": "for", "against": "AGAINST", None: "scope"}[r.direction]
    return _t(f"{common}\n{arrow}", "red" if r.direction == "against" else "")


def _body(kb, m, explain: bool) -> Text:
    r = m.rec
    t = _t(r.statement)
    t.append(_t(f"\n{r.full_id} · {number(r)} · {r.locator}", "dim"))
    if explain:
        for f in m.findings:
            sym, style = MARK[f.state]
            line = f"\n {sym} {f.requires}" + (f" (profile: {f.profile})" if f.profile is not None else "")
            if f.state is None:
                line += " - supply " + ", ".join(supply(x) for x in f.missing)
            t.append(_t(line, style))
    else:
        if m.matched:
            t.append(_t("\nwhy: " + "; ".join(f.requires for f in m.matched), "green"))
        if m.status == "possible":
            t.append(_t("\nmissing: " + ", ".join(supply(x) for x in m.missing), "yellow"))
        elif m.status == "not-applicable":
            t.append(_t("\nfails: " + "; ".join(f"{f.requires} (profile: {f.profile})" for f in m.failed), "red"))
    if r.certainty != "verified":
        t.append(_t(f"\n{r.certainty}: {r.uncertain or ''}", "yellow"))
    if m.conflicts_with:
        t.append(_t("\nconflicts with " + ", ".join(m.conflicts_with), "bold magenta"))
    if explain and r.note:
        t.append(_t(f"\nnote: {r.note}", "italic"))
    return t


def _table(kb, matches, explain: bool) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_lines=True, expand=True, pad_edge=False)
    table.add_column("Source", width=12)
    table.add_column("Grade (as published)", width=22)
    table.add_column("Common", width=11)
    table.add_column("Recommendation", ratio=1)
    for m in matches:
        table.add_row(_source(m.rec), _grade(kb, m.rec), _common(kb, m.rec), _body(kb, m, explain))
    return table


def _stacked(kb, matches, explain: bool) -> Group:
    parts = []
    for m in matches:
        r = m.rec
        head = _source(r)
        head.append(_t(" · "))
        head.append(_grade(kb, r))
        head.append(_t(" · "))
        head.append(_t(" ".join(_common(kb, r).plain.split()), "red" if r.direction == "against" else ""))
        parts += [head, Padding(_body(kb, m, explain), (0, 0, 1, 2), expand=False)]
    return Group(*parts)


def _conflicts(kb, result) -> Table | None:
    pairs = []
    by_id = {m.rec.full_id: m for m in result.matches}
    for m in result.matches:
        for other in m.conflicts_with:
            if m.rec.full_id < other:
                pairs.append((m, by_id[other]))
    if not pairs:
        return None
    table = Table(title="CONFLICTS - same action, opposite directions (not resolved by the tool)",
                  title_style="bold magenta", box=box.SIMPLE_HEAD, expand=True, show_lines=True)
    table.add_column("For", ratio=1)
    table.add_column("Against", ratio=1)
    for a, b in pairs:
        if a.rec.direction == "against":
            a, b = b, a
        cells = []
        for m in (a, b):
            t = _source(m.rec)
            t.append(_t(f" · {grade(kb, m.rec)['display']}\n"))
            t.append(_t(m.rec.statement))
            t.append(_t(f"\n{m.rec.full_id}", "dim"))
            cells.append(t)
        table.add_row(*cells)
    return table


def render(kb, result, out, *, include_all: bool = False, explain: bool = False, width: int | None = None) -> None:
    console = Console(file=out, width=width, highlight=False, emoji=False, markup=False, soft_wrap=False)
    wide = console.width >= WIDE
    console.print(_t("Profile: ", "bold") + _t(profile_line(result.profile)))
    if not result.covered:
        console.print(_t(NOTHING, "bold red"))
    full = include_all or explain
    groups, unassessed = status_groups(result, full)
    for status, matches in groups:
        if not matches:
            continue
        console.print()
        console.print(_t(f"{TITLES[status]} ({len(matches)})", STATUS_STYLE[status]))
        console.print(_table(kb, matches, explain) if wide else _stacked(kb, matches, explain))
        if status == "applies":
            conflicts = _conflicts(kb, result)
            if conflicts is not None:
                console.print(conflicts)
    if unassessed:
        console.print(_t(unassessed_line(unassessed), "yellow"))
    hidden = len(result.by_status("not-applicable"))
    if hidden and not (include_all or explain):
        console.print(_t(f"{hidden} recommendations do not apply (show them with --all).", "dim"))
    console.print(_t("Sources: " + "; ".join(f"{g.id} (sha256 {g.sha256[:12]})" for g in result.guidelines), "dim"))
    console.print(_t(DISCLAIMER, "italic"))
