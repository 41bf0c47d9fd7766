"""Markdown output, for notes, tickets and reports. All guideline text is escaped."""

from __future__ import annotations

from .. import DISCLAIMER
from ..engine import supply
from .common import NOTHING, grade, md, number, profile_line, status_groups, unassessed_line

TITLES = {"applies": "Applies", "possible": "Possible (missing facts)", "not-applicable": "Not applicable"}


def render(kb, result, out, *, include_all: bool = False, explain: bool = False) -> None:
    w = out.write
    w(f"# vascular recommendations\n\n**Profile:** {md(profile_line(result.profile))}\n\n")
    if not result.covered:
        w(f"**{NOTHING}**\n\n")
    full = include_all or explain
    groups, unassessed = status_groups(result, full)
    for status, matches in groups:
        if not matches:
            continue
        w(f"## {TITLES[status]} ({len(matches)})\n\n")
        w("| Source | Grade | Common | Recommendation | Why |\n|---|---|---|---|---|\n")
        for m in matches:
            w(_row(kb, m) + "\n")
        w("\n")
        if status == "applies":
            _conflicts(kb, result, w)
    if unassessed:
        w(f"*{md(unassessed_line(unassessed))}*\n\n")
    w("Sources: " + "; ".join(f"{md(g.citation)} (sha256 {g.sha256[:12]})" for g in result.guidelines) + "\n\n")
    w(f"*{md(DISCLAIMER)}*\n")


def _row(kb, m) -> str:
    r, g = m.rec, m.rec.guideline
    gr = grade(kb, r)
    rec = f"{md(r.statement)}<br>`{md(r.full_id)}` {md(number(r))}; {md(r.locator)}"
    if r.certainty != "verified":
        rec += f"<br>*{md(r.certainty)}: {md(r.uncertain or '')}*"
    if m.conflicts_with:
        rec += "<br>**conflicts with** " + ", ".join(f"`{md(c)}`" for c in m.conflicts_with)
    why = "; ".join(md(f.requires) for f in m.matched)
    if m.missing:
        why += ("; " if why else "") + "missing: " + ", ".join(md(supply(f)) for f in m.missing)
    if m.status == "not-applicable":
        why = "fails: " + "; ".join(md(f"{f.requires} (profile: {f.profile})") for f in m.failed)
    return (f"| {md(g.body)} {g.year} | {md(gr['display'])} | {md(gr['strength']['common'] or 'ungraded')} "
            f"| {rec} | {why} |")


def _conflicts(kb, result, w) -> None:
    by_id = {m.rec.full_id: m for m in result.matches}
    pairs = [(m, by_id[o]) for m in result.matches for o in m.conflicts_with if m.rec.full_id < o]
    if not pairs:
        return
    w("### Conflicts (same action, opposite directions; not resolved by the tool)\n\n| For | Against |\n|---|---|\n")
    for a, b in pairs:
        if a.rec.direction == "against":
            a, b = b, a
        cell = [f"{md(m.rec.guideline.body)} {m.rec.guideline.year}, {md(grade(kb, m.rec)['display'])}: "
                f"{md(m.rec.statement)} `{md(m.rec.full_id)}`" for m in (a, b)]
        w(f"| {cell[0]} | {cell[1]} |\n")
    w("\n")
