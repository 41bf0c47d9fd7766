"""The controlled vocabulary: terms, aliases and group (broader) relations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from .model import Implication, Term

KINDS = ("lesion", "factor", "action", "bleeding-risk", "severity")
HIERARCHICAL = ("lesion", "factor", "action")


class Vocabulary(NamedTuple):
    terms: Mapping[str, Mapping[str, Term]]  # kind -> name -> Term
    aliases: Mapping[str, Mapping[str, str]] = {}  # kind -> alias -> name
    leaves: Mapping[str, Mapping[str, frozenset]] = {}  # kind -> name -> itself + narrower
    exclusive: Mapping[str, frozenset] = {}  # factor -> factors that cannot also be yes (symmetric)
    implications: tuple[Implication, ...] = ()
    folded: Mapping[str, Mapping[str, str]] = {}  # kind -> lower-cased name or alias -> name

    @classmethod
    def build(cls, terms: Mapping[str, Mapping[str, Term]], implications: Any = ()) -> Vocabulary:
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
        exclusive: dict[str, set[str]] = {}
        for t in terms.get("factor", {}).values():
            for other in t.excludes:
                exclusive.setdefault(t.name, set()).add(other)
                exclusive.setdefault(other, set()).add(t.name)
        folded = {k: {**{a.lower(): n for a, n in aliases[k].items()}, **{n.lower(): n for n in terms.get(k, {})}}
                  for k in KINDS}
        lesion_leaves = leaves.get("lesion", {})
        implications = tuple(i._replace(covers=frozenset(t for n in i.lesion for t in lesion_leaves.get(n, {n})))
                             for i in implications)
        return cls(terms=terms, aliases=aliases, leaves=leaves,
                   exclusive={k: frozenset(v) for k, v in exclusive.items()}, implications=implications,
                   folded=folded)

    def resolve(self, kind: str, word: str) -> str | None:
        """Canonical name of a term or alias (any letter case), or None."""
        if word in self.terms.get(kind, {}):
            return word
        return self.aliases.get(kind, {}).get(word) or self.folded.get(kind, {}).get(word.lower())

    def names(self, kind: str) -> list[str]:
        return sorted(self.terms.get(kind, {}))

    def unknown_message(self, kind: str, word: str) -> str:
        from .suggest import did_you_mean

        choices = list(self.terms.get(kind, {})) + list(self.aliases.get(kind, {}))
        return f"unknown {kind} {word!r}{did_you_mean(word, choices)}"

    def implied_factors(self, given: Mapping[str, bool], start: Any = None) -> dict[str, bool]:
        """What yes/no factors imply: a 'yes' implies 'yes' for its broader terms and 'no' for the factors it
        excludes; a 'no' implies 'no' for its narrower terms. Returns the implied values only; raises ValueError
        when values contradict each other. ``start``: propagate only from these names (the others are known to
        be closed already)."""
        terms = self.terms.get("factor", {})
        narrower = self.leaves.get("factor", {})
        values = dict(given)
        todo = list(given.items()) if start is None else [(n, given[n]) for n in start]
        while todo:
            name, value = todo.pop()
            if value:
                implied = [(b, True) for b in (terms[name].broader if name in terms else ())]
                implied += [(o, False) for o in self.exclusive.get(name, ())]
            else:
                implied = [(n, False) for n in narrower.get(name, ()) if n != name]
            for other, v in implied:
                current = values.get(other)
                if current is None:
                    values[other] = v
                    todo.append((other, v))
                elif current != v:
                    yn = {True: "yes", False: "no"}
                    raise ValueError(f"{name}={yn[value]} implies {other}={yn[v]}, but {other}={yn[current]} "
                                     "is given or implied")
        return {k: v for k, v in values.items() if k not in given}

    def expand(self, kind: str, names: Any) -> frozenset:
        """All terms covered by ``names`` (each with its narrower terms)."""
        table = self.leaves.get(kind, {})
        out: set[str] = set()
        for n in names:
            out |= table.get(n, {n})
        return frozenset(out)
