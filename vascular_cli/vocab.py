"""The controlled vocabulary: terms, aliases and group (broader) relations."""

from __future__ import annotations

from typing import Mapping, NamedTuple

from .model import Term

KINDS = ("lesion", "factor", "action", "bleeding-risk", "severity")
HIERARCHICAL = ("lesion", "factor", "action")


class Vocabulary(NamedTuple):
    terms: Mapping[str, Mapping[str, Term]]  # kind -> name -> Term
    aliases: Mapping[str, Mapping[str, str]] = {}  # kind -> alias -> name
    leaves: Mapping[str, Mapping[str, frozenset]] = {}  # kind -> name -> itself + narrower

    @classmethod
    def build(cls, terms: Mapping[str, Mapping[str, Term]]) -> "Vocabulary":
        aliases = {k: {a: t.name for t in terms.get(k, {}).values() for a in t.aliases} for k in KINDS}
        leaves: dict[str, dict[str, frozenset]] = {}
        for kind in KINDS:
            kt = terms.get(kind, {})
            narrower: dict[str, set[str]] = {n: set() for n in kt}
            for t in kt.values():
                for b in t.broader:
                    narrower.setdefault(b, set()).add(t.name)
            out: dict[str, frozenset] = {}
            for name in kt:
                seen, todo = {name}, [name]
                while todo:  # iterative closure; cycles are reported by checks, not followed forever
                    for child in narrower.get(todo.pop(), ()):
                        if child not in seen:
                            seen.add(child)
                            todo.append(child)
                out[name] = frozenset(seen)
            leaves[kind] = out
        return cls(terms=terms, aliases=aliases, leaves=leaves)

    def resolve(self, kind: str, word: str) -> str | None:
        """Canonical name of a term or alias, or None."""
        if word in self.terms.get(kind, {}):
            return word
        return self.aliases.get(kind, {}).get(word)

    def names(self, kind: str) -> list[str]:
        return sorted(self.terms.get(kind, {}))

    def unknown_message(self, kind: str, word: str) -> str:
        from .suggest import did_you_mean

        choices = list(self.terms.get(kind, {})) + list(self.aliases.get(kind, {}))
        return f"unknown {kind} {word!r}{did_you_mean(word, choices)}"

    def implied_factors(self, given: Mapping[str, bool]) -> dict[str, bool]:
        """Close yes/no factors over ``broader``: a narrower 'yes' implies its broader term, a broader 'no' implies
        'no' for every narrower term. Returns the additions only; raises ValueError when given values contradict."""
        terms = self.terms.get("factor", {})
        out: dict[str, bool] = {}
        for name, value in given.items():
            if value:
                todo = list(terms[name].broader) if name in terms else []
                while todo:
                    b = todo.pop()
                    if given.get(b) is False:
                        raise ValueError(f"{name}=yes implies {b}=yes, but {b}=no is given")
                    if b not in given and b not in out:
                        out[b] = True
                        todo += list(terms[b].broader) if b in terms else []
            else:
                for narrower in self.leaves.get("factor", {}).get(name, ()):
                    if narrower != name and narrower not in given:
                        out[narrower] = False
        return out

    def expand(self, kind: str, names) -> frozenset:
        """All terms covered by ``names`` (each with its narrower terms)."""
        table = self.leaves.get(kind, {})
        out: set[str] = set()
        for n in names:
            out |= table.get(n, {n})
        return frozenset(out)
