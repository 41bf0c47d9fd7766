"""Markdown output, for notes, tickets and reports. All guideline text is escaped."""

from __future__ import annotations

from .. import DISCLAIMER
from ..engine import supply
from .common import NOTHING, grade, md, number, profile_line


def render(kb, result, out, *, include_all: bool = False, explain: bool = False) -> None:
    w = out.write
    w(f"# vascular recommendations\n\n**Profile:** {md(profile_line(result.profile))}\n\n")
    if not result.covered:
        w(f"**{NOTHING}**\n\n")
    statuses = ("applies", "possible", "not-applicable") if include_all or explain else ("applies", "possible")
    titles = {"applies": "Applies", "possible": "Possible (missing facts)", "not-applicable": "Not applicable"}
    for status in statuses:
        matches = result.by_status(status)
        if not matches:
            continue
        w(f"## {titles[status]} ({len(matches)})\n\n")
        w("| Source | Grade | Common | Recommendation | Why |\n|---|---|---|---|---|\n")
        for m in matches:
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
            if status == "not-applicable":
                why = "fails: " + "; ".join(md(f"{f.requires} (profile: {f.profile})") for f in m.failed)
            w(f"| {md(g.body)} {g.year} | {md(gr['display'])} | {md(gr['strength']['common'] or 'ungraded')} "
              f"| {rec} | {why} |\n")
        w("\n")
    w("Sources: " + "; ".join(f"{md(g.citation)} (sha256 {g.sha256[:12]})" for g in result.guidelines) + "\n\n")
    w(f"*{md(DISCLAIMER)}*\n")
