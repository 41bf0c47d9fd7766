"""CDS Hooks cards from an :class:`~.adapter.Assessment`: plain dicts per the CDS Hooks 2.0 Card model.

- one info card per action group of applying recommendations (same action and direction), detail per item;
- one warning card per unresolved conflict (opposite directions on related actions: both sides shown, never resolved);
- one info card with the top missing facts (what would settle the recommendations the record partly matches);
- order hooks: one warning card per draft order that meets an applicable *against* recommendation or a conflict;
- never a suggestion that changes an order; warning cards carry override reasons for the feedback endpoint.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from collections.abc import Iterable
from typing import Any

from .adapter import Assessment, Knowledge, RecView, action_words, certainty_words, disclaimer, plain

SUMMARY_MAX = 139  # the specification: "<140-character summary"
REASON_SYSTEM = "https://github.com/vascular/vascular/fhir/CodeSystem/cds-override-reason"
OVERRIDE_REASONS = [
    {"system": REASON_SYSTEM, "code": "not-applicable", "display": "Recommendation does not apply to this patient"},
    {"system": REASON_SYSTEM, "code": "record-incomplete", "display": "Patient record incomplete or incorrect"},
    {"system": REASON_SYSTEM, "code": "clinical-judgement", "display": "Benefit judged to outweigh the concern"},
    {"system": REASON_SYSTEM, "code": "patient-preference", "display": "Patient preference"},
]
SERVICE_LABEL = "vascular (venous-disease guidelines)"


def short(text: str, limit: int = SUMMARY_MAX) -> str:
    text = " ".join(plain(text).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


def md(text: object) -> str:
    """Guideline text escaped for Markdown (and for EHRs that render HTML inside it)."""
    s = plain(text).replace("\\", "\\\\")
    s = re.sub(r"([`*_\[\]<>|#!~{}])", r"\\\1", s)
    s = s.replace("&", "&amp;")
    return " ".join(s.split())


def number_label(r: RecView) -> str:
    n = r.number or r.id.split("/", 1)[1]
    if re.fullmatch(r"[0-9.]+( \([a-z]+\))?", n):
        n = "No. " + n
    return n if r.number_verified else f"{n} (number unverified)"


def source(r: RecView, extra: int = 0) -> dict:
    label = f"{r.body} {r.year}, {number_label(r)}" + (f" (+{extra} more)" if extra else "")
    out = {"label": short(label, 100)}
    if r.doi:
        out["url"] = f"https://doi.org/{r.doi}"
    elif r.url:
        out["url"] = r.url
    return out


def rec_block(r: RecView) -> str:
    direction = {"for": "for", "against": "against"}.get(r.direction or "", "no direction")
    lines = [f"**{md(r.body)} {r.year}, {md(number_label(r))}** ({direction}): {md(r.statement)}",
             f"- Grade (as published): {md(r.grade) or 'not graded'}",
             f"- Certainty: {md(certainty_words(r))}"]
    if r.grade_conflict:
        disputed = "; ".join(f"{k}: {v}" for k, v in r.grade_conflict.items())
        lines.append("- Grade disputed between sources: " + md(disputed))
    if r.matched:
        lines.append("- Why it applies: " + md("; ".join(r.matched)))
    if r.note:
        lines.append(f"- Note: {md(r.note)}")
    cite = f"- Source: {md(r.citation)}"
    if r.doi:
        cite += f" [doi:{md(r.doi)}](https://doi.org/{r.doi})"
    lines.append(cite)
    lines.append(f"- Recommendation id: `{r.id}`")
    return "\n".join(lines)


def _card(summary: str, indicator: str, src: dict, detail: str, reasons: bool = False) -> dict:
    card = {"uuid": str(uuidlib.uuid4()), "summary": short(summary), "indicator": indicator,
            "detail": detail + "\n\n*" + md(disclaimer()) + "*", "source": src}
    if reasons:
        card["overrideReasons"] = OVERRIDE_REASONS
    return card


def _direction_words(direction: str | None) -> str:
    return {"for": "Recommended", "against": "Recommended against"}.get(direction or "", "Guideline statement")


def _bodies(recs: Iterable[RecView]) -> str:
    seen = list(dict.fromkeys(f"{r.body} {r.year}" for r in recs))
    return ", ".join(seen[:3]) + (f" +{len(seen) - 3}" if len(seen) > 3 else "")


def conflict_groups(applies: list) -> list[list[RecView]]:
    """Connected groups of applying recommendations that conflict with each other (engine's conflicts_with)."""
    by_id = {r.id: r for r in applies}
    seen: set[str] = set()
    groups = []
    for r in applies:
        if not r.conflicts_with or r.id in seen:
            continue
        group, todo = [], [r.id]
        while todo:
            i = todo.pop()
            if i in seen or i not in by_id:
                continue
            seen.add(i)
            group.append(by_id[i])
            todo.extend(by_id[i].conflicts_with)
        order = {x.id: n for n, x in enumerate(applies)}
        groups.append(sorted(group, key=lambda x: order[x.id]))
    return groups


def conflict_card(group: list[RecView]) -> dict:
    actions = list(dict.fromkeys(action_words(r.action) for r in group))
    summary = f"Guidelines disagree on {' / '.join(actions)} for this patient ({_bodies(group)})"
    detail = ("Applicable recommendations point in opposite directions; the tool does not resolve this.\n\n"
              + "\n\n".join(rec_block(r) for r in group))
    return _card(summary, "warning", source(group[0], len(group) - 1), detail)


def patient_cards(k: Knowledge, a: Assessment, max_cards: int, max_facts: int) -> tuple[list, dict]:
    """(cards, {card uuid: [recommendation ids]}) for patient-view."""
    cards: list[dict[str, Any]] = []
    recs: dict[str, list[str]] = {}
    if a.errors:
        detail = ("The patient's record could not be read into a guideline profile, so no recommendation is shown:\n\n"
                  + "\n".join(f"- {md(e)}" for e in a.errors[:10]))
        c = _card("Venous guideline recommendations unavailable: the record could not be read", "info",
                  {"label": SERVICE_LABEL}, detail)
        return [c], {c["uuid"]: []}
    for group in conflict_groups(a.applies):
        c = conflict_card(group)
        cards.append(c)
        recs[c["uuid"]] = [r.id for r in group]
    groups: dict[tuple, list] = {}
    for r in a.applies:
        if not r.conflicts_with:
            groups.setdefault((r.action, r.direction), []).append(r)
    items = list(groups.items())
    for (action, direction), group in items[:max_cards]:
        summary = f"{_direction_words(direction)}: {action_words(action)} ({_bodies(group)})"
        if len(group) == 1:
            candidate = f"{_direction_words(direction)}: {plain(group[0].statement)}"
            if len(candidate) <= SUMMARY_MAX:
                summary = candidate
        intro = f"{len(group)} applicable recommendations on {md(action_words(action))}.\n\n" if len(group) > 1 else ""
        c = _card(summary, "info", source(group[0], len(group) - 1), intro + "\n\n".join(rec_block(r) for r in group))
        cards.append(c)
        recs[c["uuid"]] = [r.id for r in group]
    if len(items) > max_cards:
        rest = items[max_cards:]
        n = sum(len(g) for _, g in rest)
        detail = "\n".join(f"- {md(_direction_words(d))}: {md(action_words(act))} ({md(_bodies(g))})"
                           for (act, d), g in rest)
        c = _card(f"{n} more applicable recommendations ({len(rest)} more topics)", "info", {"label": SERVICE_LABEL},
                  detail)
        cards.append(c)
        recs[c["uuid"]] = [r.id for _, g in rest for r in g]
    facts = missing_card(k, a, max_facts)
    if facts:
        cards.append(facts)
        recs[facts["uuid"]] = [r.id for r in a.partly]
    return cards, recs


def top_missing(a: Assessment, limit: int) -> list[tuple[str, list]]:
    """The facts that would settle most of the partly matched recommendations: [(fact id, [RecView])]."""
    counts: dict[str, list] = {}
    for r in a.partly:
        for f in r.missing:
            counts.setdefault(f, []).append(r)
    return sorted(counts.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:limit]


def missing_card(k: Knowledge, a: Assessment, limit: int) -> dict | None:
    top = top_missing(a, limit)
    if not top or limit == 0:
        return None
    lines = []
    for fact, recs in top:
        example = recs[0]
        plural = "s" if len(recs) > 1 else ""
        lines.append(f"- {md(k.fact_words(fact)[1])}: bears on {len(recs)} recommendation{plural} "
                     f"(e.g. {md(example.body)} {example.year}, {md(number_label(example))}: "
                     f"{md(action_words(example.action))})")
    names = [k.fact_words(f)[0] for f, _ in top[:2]]
    summary = f"{len(a.partly)} more recommendations may apply; not recorded: {', '.join(names)}"
    detail = ("The record partly matches these recommendations; facts it does not state are unknown (never taken as "
              "'no'). Recording them would settle whether the recommendations apply:\n\n" + "\n".join(lines))
    if a.unassessed:
        detail += (f"\n\n{len(a.unassessed)} further recommendations depend only on facts the record does not "
                   "state at all.")
    return _card(summary, "info", {"label": SERVICE_LABEL}, detail)


def order_cards(k: Knowledge, a: Assessment, orders: list) -> tuple[list, dict]:
    """Warning cards for draft orders: ``orders`` is [(reference, display, action term)]."""
    cards: list[dict[str, Any]] = []
    recs: dict[str, list[str]] = {}
    if a.errors:
        return cards, recs
    for ref, display, action in orders:
        against = [r for r in a.applies if r.direction == "against" and k.related(r.action, action)]
        conflicted = [r for r in a.applies if r.conflicts_with and k.related(r.action, action)]
        if against:
            r0 = against[0]
            verb = "recommends" if len({(r.body, r.year) for r in against}) == 1 else "recommend"
            summary = f"{_bodies(against)} {verb} against {action_words(r0.action)}: draft order {display}"
            lead = (f"The draft order **{md(display)}** (`{md(ref)}`, action: {md(action_words(action))}) meets "
                    f"{len(against)} applicable recommendation{'s' if len(against) > 1 else ''} against it.")
            shown = against + [r for r in conflicted if r not in against]
            detail = lead + "\n\n" + "\n\n".join(rec_block(r) for r in shown)
            if any(r.conflicts_with for r in shown):
                detail += "\n\nOther applicable recommendations point the other way; the tool does not resolve this."
            c = _card(summary, "warning", source(r0, len(against) - 1), detail, reasons=True)
        elif conflicted:
            summary = f"Guidelines disagree on {action_words(action)}: draft order {display}"
            detail = (f"The draft order **{md(display)}** (`{md(ref)}`) concerns an action on which applicable "
                      "recommendations point in opposite directions; the tool does not resolve this.\n\n"
                      + "\n\n".join(rec_block(r) for r in conflicted))
            c = _card(summary, "warning", source(conflicted[0], len(conflicted) - 1), detail, reasons=True)
        else:
            continue
        cards.append(c)
        recs[c["uuid"]] = [r.id for r in (against or conflicted)]
    return cards, recs
