"""The clinician-facing answer, shared by the text (table) and Markdown renderers.

What a clinician reads, in order: the profile (with implied facts and why), conflicts, the applying recommendations
grouped per action and direction so that agreement between societies is visible at a glance, the partly matched
ones with what they still need, the next questions (ranked), and one line counting the rest. Only clinician-facing
fields are used here: statement, number, section (locator), grade, direction, certainty in plain words. Maintainer
fields (source, source_reliability, number_basis, note, provenance, uncertain) are never rendered by ``recommend``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from .common import CERTAINTY_WORDS, UNVERIFIED_MARK, Sections, certainty_words, grade, sections  # noqa: F401
from .words import supply

UNVERIFIED_LEGEND = f"{UNVERIFIED_MARK} number not verified in the source (inferred)"
_UPPER = {"ivc", "dvt", "doac", "lmwh", "vka", "ivus", "av", "cdt", "pe", "vte", "ct", "mr", "us"}


def action_label(action: str) -> str:
    words = [w.upper() if w in _UPPER else w for w in action.split("-")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def direction_word(direction: str | None) -> str:
    return {"for": "for", "against": "AGAINST"}.get(direction or "", "no direction")


def short_number(r: Any) -> str:
    """The document's own number, short: 'R69', '6.14', 'V3'; the item id when the document numbers nothing."""
    n = r.number
    if not n:
        return r.id
    m = re.fullmatch(r"(Recommendation|Variant|Guideline|Statement)\s+(.+)", n)
    if m:
        prefix = {"Recommendation": "R", "Variant": "V", "Guideline": "", "Statement": "S"}[m.group(1)]
        n = prefix + m.group(2)
    return n + ("" if r.number_verified else UNVERIFIED_MARK)


def cite(kb: Any, r: Any) -> str:
    """'ESVS 2022 R69 Class I, Level A' (body, year, number, native grade)."""
    g = grade(kb, r)["display"]
    disputed = " (grade disputed)" if r.grade_conflict else ""
    return f"{r.guideline.body} {r.guideline.year} {short_number(r)} {g}{disputed}"


class Group(NamedTuple):
    action: str
    direction: str | None
    matches: list

    @property
    def title(self) -> str:
        return f"{action_label(self.action)}: {direction_word(self.direction)}"

    def needs(self) -> list[str]:
        seen: dict[str, None] = {}
        for m in self.matches:
            seen.update(dict.fromkeys(m.missing))
        return list(seen)


def groups(matches: Iterable[Any]) -> list[Group]:
    """Matches grouped per action and direction, in the order of their first (best ranked) member."""
    out: dict[tuple, Group] = {}
    for m in matches:
        key = (m.rec.action, m.rec.direction)
        if key not in out:
            out[key] = Group(m.rec.action, m.rec.direction, [])
        out[key].matches.append(m)
    return list(out.values())


def conflict_pairs(result: Any) -> list[tuple[Any, Any]]:
    """(for, against) pairs of applying recommendations on related actions."""
    by_id = {m.rec.full_id: m for m in result.matches}
    pairs = []
    for m in result.matches:
        for other in m.conflicts_with:
            if m.rec.full_id < other:
                a, b = m, by_id[other]
                pairs.append((b, a) if a.rec.direction == "against" else (a, b))
    return pairs


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def rest_line(s: Sections, include_all: bool, left_out: int) -> str:
    """One count line for what the default answer does not list."""
    bits = []
    if not include_all:
        if s.unassessed:
            bits.append(f"{plural(len(s.unassessed), 'recommendation')} unassessed (the profile gives none of the "
                        "facts they need)")
        if s.not_applicable:
            verb = "does" if len(s.not_applicable) == 1 else "do"
            bits.append(f"{plural(len(s.not_applicable), 'recommendation')} {verb} not apply")
    text = "; ".join(bits)
    if text:
        text = "Not listed: " + text + ". Show them with --all."
    if left_out:
        text += (" " if text else "") + (f"{plural(left_out, 'item')} whose source could not be found "
                                         f"{'is' if left_out == 1 else 'are'} left out (--include-unverified).")
    return text


def ask_next_lines(result: Any, limit: int | None = 5) -> list[tuple[str, str]]:
    """[(option, 'settles up to N; K whatever the answer')] for the top facts."""
    ranked = result.ask_next()
    shown = ranked if limit is None else ranked[:limit]
    return [(supply(f), f"settles up to {n}" + (f"; {c} whatever the answer" if c else ""))
            for f, n, c in shown]


def cites(kb: Any, matches: list, status: bool = False) -> list[str]:
    """The group's citations, identical ones (e.g. several ACR procedures rated alike) merged with a count."""
    counts: dict[str, int] = {}
    for m in matches:
        c = cite(kb, m.rec) + (f" [{m.status}]" if status else "")
        counts[c] = counts.get(c, 0) + 1
    return [c if n == 1 else f"{c} ×{n}" for c, n in counts.items()]


def needs_text(facts: list[str]) -> str:
    """'--factor a, b; --severity LEVEL': the options that supply the facts, factors folded into one."""
    factors = [f[7:] for f in facts if f.startswith("factor:")]
    parts = [supply(f) for f in facts if not f.startswith("factor:")]
    if factors:
        parts.insert(0, "--factor " + ", ".join(factors))
    return "; ".join(parts)


def finding_line(f: Any) -> tuple[str, str]:
    """(mark, text) for one criterion finding (--explain)."""
    mark = {True: "✓", None: "?", False: "✗"}[f.state]
    text = f.requires + (f" (profile: {f.profile})" if f.profile is not None else "")
    if f.state is None and f.missing:
        text += " - supply " + ", ".join(supply(x) for x in f.missing)
    return mark, text
