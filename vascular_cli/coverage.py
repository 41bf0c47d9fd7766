"""The README's knowledge-base coverage table, generated from the guideline documents' own data (counts, `scope`,
`left_out`) and docs/not-bundled.yaml: ``python -m vascular_cli.coverage`` rewrites the README between its
markers; tests/test_readme.py fails when the README is out of date."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .loader import KnowledgeBase

START, END = "<!-- coverage:start (generated: python -m vascular_cli.coverage) -->", "<!-- coverage:end -->"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def markdown(kb: KnowledgeBase, not_bundled: list) -> str:
    """The coverage tables: one row per document, then everything left out (per document, then not bundled)."""
    rows = ["| document | body, year | status | recommendations | practice / scope | numbers not verified | "
            "certainty not 'verified' | what is encoded |", "|---|---|---|---|---|---|---|---|"]
    left = []
    for g in sorted(kb.guidelines, key=lambda g: (g.body, -g.year, g.id)):
        recs = [r for r in kb.recommendations if r.guideline.id == g.id]
        kinds = Counter(r.kind for r in recs)
        status = g.status if g.status == "active" else f"{g.status} by {g.superseded_by}"
        rows.append(f"| `{g.id}` | {g.body} {g.year} | {status} | {kinds['recommendation']} | "
                    f"{kinds['practice']} / {kinds['scope']} | {sum(not r.number_verified for r in recs)} | "
                    f"{sum(r.certainty != 'verified' for r in recs)} | {_cell(g.scope or '')} |")
        left += [f"| `{g.id}`: {_cell(records)} | {_cell(reason)} |" for records, reason in g.left_out]
    left += [f"| {_cell(x['records'])} | {_cell(x['reason'])} |" for x in not_bundled]
    return "\n".join([*rows, "", "Left out, and why:", "", "| records | reason |", "|---|---|", *left])


def readme_text(root: Path) -> str:
    """The README with the coverage section regenerated from the bundled knowledge base."""
    import yaml

    from . import load

    readme = (root / "README.md").read_text(encoding="utf-8")
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    not_bundled = yaml.safe_load((root / "docs" / "not-bundled.yaml").read_text(encoding="utf-8"))
    return f"{head}{START}\n{markdown(load(), not_bundled)}\n{END}{tail}"


if __name__ == "__main__":  # pragma: no cover
    root = Path(__file__).resolve().parent.parent
    (root / "README.md").write_text(readme_text(root), encoding="utf-8")
