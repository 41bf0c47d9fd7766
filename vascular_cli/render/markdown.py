"""Markdown output, for notes, tickets and reports: the same answer as the terminal text (render/answer.py).
All guideline text is escaped; the direction is always written out (for / AGAINST)."""

from __future__ import annotations

from typing import Any, TextIO

from .. import DISCLAIMER
from .answer import (
    UNVERIFIED_LEGEND,
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
from .common import NOTHING, md, profile_line


def render(kb: Any, result: Any, out: TextIO, *, include_all: bool = False, explain: bool = False,
           detail: bool = False) -> None:
    w = out.write
    s = sections(result)
    w(f"# vascular recommendations\n\n**Profile:** {md(profile_line(result.profile))}\n\n")
    for fact, reason in result.profile.implied:
        w(f"- implied: {md(fact)}=yes ({md(reason)})\n")
    if result.profile.implied:
        w("\n")
    if not result.covered:
        w(f"**{NOTHING}**\n\n")
    pairs = conflict_pairs(result)
    if pairs:
        w(f"## Conflicts ({len(pairs)}): same or related action, opposite directions; not resolved by the tool\n\n")
        for a, b in pairs:
            actions = action_label(a.rec.action) + (f" / {action_label(b.rec.action)}"
                                                    if b.rec.action != a.rec.action else "")
            w(f"- {md(actions)}: **for:** {md(cite(kb, a.rec))} `{md(a.rec.full_id)}` **vs AGAINST:** "
              f"{md(cite(kb, b.rec))} `{md(b.rec.full_id)}`\n")
        w("\n")
    full_explain = explain and include_all
    _section(w, kb, "Applies", s.applies, detail, explain)
    _section(w, kb, "Partly matched (facts missing)", s.partly, detail, explain, needs=True)
    asks = ask_next_lines(result)
    if asks:
        w("## Ask next\n\n")
        for option, why in asks:
            w(f"- `{option}`: {md(why)}\n")
        w("\n")
    if include_all:
        _section(w, kb, "Unassessed (the profile gives none of their facts)", s.unassessed, detail, full_explain,
                 needs=True)
        _section(w, kb, "Not applicable", s.not_applicable, detail, full_explain, failed=True)
    if s.unverified:
        _section(w, kb, "Unverified: source not found (seed-only), not part of the answer", s.unverified, True,
                 explain, status=True)
    rest = rest_line(s, include_all, result.unverified_left_out)
    if rest:
        w(f"{md(rest)}\n\n")
    if any(not m.rec.number_verified for m in s.applies + s.partly) and not detail:
        w(f"{md(UNVERIFIED_LEGEND)}\n\n")
    w("Sources: " + "; ".join(f"{md(g.citation)} (sha256 {g.sha256[:12]})" for g in result.guidelines) + "\n\n")
    w(f"*{md(DISCLAIMER)}*\n")


def _section(w: Any, kb: Any, title: str, matches: list, detail: bool, explain: bool, needs: bool = False,
             failed: bool = False, status: bool = False) -> None:
    if not matches:
        return
    gs = groups(matches)
    w(f"## {title}: {plural(len(matches), 'recommendation')}, {plural(len(gs), 'action')}\n\n")
    for g in gs:
        head = f"**{md(g.title)}**"
        if needs and g.needs():
            head += f" (needs `{md(needs_text(g.needs()))}`)"
        if not (detail or explain):
            w(f"- {head}: " + "; ".join(md(c) for c in cites(kb, g.matches, status)) + "\n")
            continue
        w(f"- {head}\n")
        for m in g.matches:
            r = m.rec
            w(f"  - {md(cite(kb, r))} `{md(r.full_id)}`" + (f" ({md(m.status)})" if status else "") + "\n")
            if detail:
                w(f"    {md(r.statement)}<br>*{md(r.locator)}*")
                words = certainty_words(r)
                w(f"<br>*{md(words)}*\n" if words else "\n")
            if explain:
                for f in m.findings:
                    mark, text = finding_line(f)
                    w(f"    - {mark} {md(text)}\n")
            elif failed:
                w("    - fails: " + "; ".join(md(f"{f.requires} (profile: {f.profile})") for f in m.failed) + "\n")
    w("\n")
