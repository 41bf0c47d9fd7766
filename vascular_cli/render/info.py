"""Renderers for the reference commands: ``list``, ``show``, ``vocab`` and ``ceap`` (text and JSON for each).
Plain text, wrapped at word boundaries, never truncated."""

from __future__ import annotations

import json
import textwrap
from typing import Any, TextIO

from .. import DISCLAIMER
from .common import clean, rec_json


def _dump(out: TextIO, doc: Any) -> None:
    out.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


# ---- list --------------------------------------------------------------------------------------------------------
def list_rows(kb: Any) -> list[dict]:
    rows = []
    for g in sorted(kb.guidelines, key=lambda g: (g.body, -g.year, g.id)):
        recs = [r for r in kb.recommendations if r.guideline.id == g.id]
        rows.append({"id": g.id, "body": g.body, "year": g.year, "status": g.status, "superseded_by": g.superseded_by,
                     "recommendations": sum(r.kind == "recommendation" for r in recs),
                     "statements": len(recs),
                     "unverified_numbers": sum(not r.number_verified for r in recs),
                     "title": g.title, "doi": g.doi, "pmid": g.pmid, "url": g.url, "sha256": g.sha256})
    return rows


def list_json(kb: Any, out: TextIO, document: str | None = None, width: int | None = None) -> None:
    if document:
        _dump(out, {"schema": "vascular.list.items/1", "guideline": document,
                    "items": [{"id": r.full_id, "number": r.number, "kind": r.kind, "action": r.action,
                               "direction": r.direction, "certainty": r.certainty}
                              for r in kb.recommendations if r.guideline.id == document]})
        return
    _dump(out, {"schema": "vascular.list/2", "guidelines": list_rows(kb), "disclaimer": DISCLAIMER})


def list_text(kb: Any, out: TextIO, document: str | None = None, width: int | None = None) -> None:
    if document:
        for r in kb.recommendations:
            if r.guideline.id == document:
                kind = "" if r.kind == "recommendation" else f" [{r.kind}]"
                out.write(clean(f"{r.full_id}  {r.number or '-'}  {r.action} {r.direction or ''}{kind}").rstrip()
                          + "\n")
        return
    rows = list_rows(kb)
    head = ("id", "year", "recs", "unverified", "status")
    cells = [(r["id"], str(r["year"]), str(r["recommendations"]), str(r["unverified_numbers"]), r["status"])
             for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *cells, strict=False)]
    for line in [head, tuple("-" * n for n in widths), *cells]:
        out.write("  ".join(c.ljust(n) if i in (0, 4) else c.rjust(n)
                            for i, (c, n) in enumerate(zip(line, widths, strict=False))).rstrip() + "\n")
    notes = [f"{r['id']} is superseded by {r['superseded_by']} (left out unless --include-superseded)."
             for r in rows if r["superseded_by"]]
    notes += ["recs: recommendations matched against profiles; unverified: numbers not verified in the source.",
              "The recommendation ids of a document: vascular list DOCUMENT-ID", DISCLAIMER]
    for note in notes:
        out.write("\n".join(textwrap.wrap(note, width or 100, break_long_words=False, break_on_hyphens=False))
                  + "\n")


# ---- show --------------------------------------------------------------------------------------------------------
def show_json(kb: Any, r: Any, out: TextIO, provenance: bool = False, width: int | None = None) -> None:
    from ..loader import plain

    doc = rec_json(kb, r)
    doc["when"] = plain(r.when)
    if not provenance:
        doc.pop("provenance")
    doc["disclaimer"] = DISCLAIMER
    _dump(out, doc)


def show_text(kb: Any, r: Any, out: TextIO, provenance: bool = False, width: int | None = None) -> None:
    from ..loader import plain
    from .answer import certainty_words, direction_word
    from .common import grade

    width = width or 100
    gr = grade(kb, r)
    g = r.guideline
    lines = [("", f"{r.full_id}  {g.body} {g.year}: {g.title}"),
             ("statement", r.statement),
             ("grade", f"{gr['display']} ({direction_word(r.direction)}; common scale: "
                       f"{gr['strength']['common'] or 'ungraded'})"),
             ("number", (r.number or "(none)") + ("" if r.number_verified else " (not verified in the source)")),
             ("section", r.locator),
             ("action", r.action),
             ("applies when", json.dumps(plain(r.when), ensure_ascii=False)),
             ("certainty", certainty_words(r) or "verified"),
             ("citation", g.citation + (f" doi:{g.doi}" if g.doi else "") + (f" PMID {g.pmid}" if g.pmid else "")
              + (f" {g.url}" if g.url else ""))]
    if r.grade_conflict:
        lines.append(("disputed", json.dumps(plain(r.grade_conflict), ensure_ascii=False)))
    if provenance:
        for key in ("alias", "source", "source_reliability", "number_basis", "uncertain", "note", "provenance"):
            lines.append((key.replace("_", " "), getattr(r, key) or "-"))
    else:
        lines.append(("", "Transcription provenance: vascular show --provenance " + r.full_id))
    for label, text in lines:
        first = f"  {label + ':':<14}" if label else ""
        out.write("\n".join(textwrap.wrap(clean(text), width, initial_indent=first,
                                          subsequent_indent=" " * len(first) if label else "  ",
                                          break_long_words=False, break_on_hyphens=False)) + "\n")
    out.write(DISCLAIMER + "\n")


# ---- vocab -------------------------------------------------------------------------------------------------------
def vocab_json(kb: Any, kinds: list[str], out: TextIO, width: int | None = None) -> None:
    v = kb.vocabulary
    doc: dict = {k: {n: {"definition": t.definition, "aliases": list(t.aliases), "broader": list(t.broader),
                         "excludes": list(t.excludes)}
                     for n, t in sorted(v.terms.get(k, {}).items())} for k in kinds}
    if "factor" in kinds:
        doc["implications"] = [{"when": {"lesion": list(i.lesion), "given": list(i.given), "factors": list(i.factors)},
                                "implies": i.implies, "reason": i.reason} for i in v.implications]
    _dump(out, doc)


def vocab_text(kb: Any, kinds: list[str], out: TextIO, width: int | None = None) -> None:
    v = kb.vocabulary
    for k in kinds:
        out.write(f"{k}:\n")
        for name, t in sorted(v.terms.get(k, {}).items()):
            extra = f" (aliases: {', '.join(t.aliases)})" if t.aliases else ""
            group = f" [in {', '.join(t.broader)}]" if t.broader else ""
            out.write(clean(f"  {name}{group}: {t.definition}{extra}") + "\n")
    if "factor" in kinds and v.implications:
        out.write("implied facts (by definition):\n")
        for i in v.implications:
            cond = " and ".join(p for p in (
                ("lesion " + " or ".join(i.lesion)) if i.lesion else "",
                ("given " + ", ".join(i.given)) if i.given else "",
                ("factor " + ", ".join(i.factors)) if i.factors else "") if p)
            out.write(clean(f"  {cond} -> {i.implies}=yes: {i.reason}") + "\n")
    out.write(DISCLAIMER + "\n")


# ---- ceap --------------------------------------------------------------------------------------------------------
def ceap_json(c: Any, out: TextIO, width: int | None = None) -> None:
    out.write(json.dumps(c.to_json(), indent=2) + "\n")


def ceap_text(c: Any, out: TextIO, width: int | None = None) -> None:
    d = c.to_json()
    sym = {True: "symptomatic", False: "asymptomatic", None: "not stated"}[d["symptomatic"]]
    out.write(f"clinical class:  {c.clinical} (classes written: {', '.join(c.classes)}; {sym})\n"
              f"etiology:        {' '.join(c.etiology) or 'not stated'}\n"
              f"anatomy:         {' '.join(c.anatomy) or 'not stated'}"
              + (f" (segments: {', '.join(c.segments)})" if c.segments else "") + "\n"
              f"pathophysiology: {' '.join(c.pathophysiology) or 'not stated'}\n"
              f"basic CEAP:      {c.basic}\n")
