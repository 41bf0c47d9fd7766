"""A compiled index for high-throughput matching (batch mode).

The engine (engine.py) evaluates every criterion of every recommendation and explains each finding; that is the
right tool for one profile. For a registry of profiles the index answers the same question - which recommendations
apply, which are possible and which facts they miss - without scanning the criteria:

* Recommendations are numbered in output order; a set of them is an int bitmask.
* Plain factor criteria (``all``/``none`` lists) are answered by bit operations over the factors the profile
  gives (FactorIndex).
* The other criteria are grouped by the profile fields they read (CEAP; lesions; the small-valued fields bleeding
  risk, severity and the numeric ones; each ``any_of`` with its own fields). For each group, a bounded memo maps
  the profile's values of those fields (numeric values reduced to which side of each knowledge-base threshold they
  lie) to masks - where a criterion of the group is false, unknown or true - plus, per missing fact, the mask of
  recommendations that miss it.
* A profile's result is then a few dict lookups and bit operations: applies = ~false & ~unknown, possible =
  unknown & ~false. Profile parsing is memoised per field the same way.

tests/test_batch_matcher.py checks against the engine that both give the same statuses and missing facts.
"""

from __future__ import annotations

import sys
from typing import Any

from .engine import in_range, rank_facts
from .errors import InputError
from .fields import CHOICE, NUMERIC, SMALL, plain_number  # declared once, in fields.py

MEMO_LIMIT = 4096  # entries per memo generation (memory stays bounded whatever the input size)


def _bits(mask: int) -> list[int]:
    """The set bits of a mask, lowest first, each as a mask."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low)
        mask ^= low
    return out


class _Memo:
    """A bounded memo with two generations: when the newer one is full, the older is dropped and the newer becomes
    the older. Hot entries survive (a hit in the older generation is copied forward); memory stays bounded."""

    __slots__ = ("new", "old", "limit")

    def __init__(self, limit: int = MEMO_LIMIT):
        self.new: dict = {}
        self.old: dict = {}
        self.limit = limit

    def get(self, key: Any) -> Any:
        hit = self.new.get(key)
        if hit is None:
            hit = self.old.get(key)
            if hit is not None:
                self.put(key, hit)
        return hit

    def put(self, key: Any, value: Any) -> Any:
        if len(self.new) >= self.limit:
            self.old, self.new = self.new, {}
        self.new[key] = value
        return value



class MatchIndex:
    def __init__(self, engine: Any, include_superseded: bool = False, sources: Any = None,
                 include_unverified: bool = False) -> None:
        scope = engine.select(include_superseded, sources, include_unverified)
        scope.sort(key=lambda rc: engine.sort_key[rc[0].full_id])
        self.recs = [r for r, _ in scope]
        self.criteria = [criteria for _, criteria in scope]
        self.ids = [r.full_id for r in self.recs]
        self.all = (1 << len(scope)) - 1
        # conflicting pairs (the engine's rule, precomputed per pair), found per connected group of conflicting
        # recommendations, each group with its memo: a profile's conflicts are the union of its groups'
        self.partners: dict[int, list] = {}  # bit -> the pairs it opens (each filed under its first member)
        group: dict[int, int] = {}  # bit -> the recommendations it conflicts with, directly or not
        for i, j in engine.conflict_pairs(self.recs):
            low, high = 1 << i, 1 << j
            self.partners.setdefault(low, []).append((high, *sorted((self.ids[i], self.ids[j]))))
            joined = group.get(low, low) | group.get(high, high)
            for member in _bits(joined):
                group[member] = joined
        self.conflict_groups = [(mask, _Memo()) for mask in sorted(set(group.values()))]
        self._vocab = engine.kb.vocabulary

    _COMPILED = frozenset({"factor_index", "lesion_index", "ceap_views", "groups", "lesion_views", "ranges",
                           "buckets"})

    def __getattr__(self, name: str) -> Any:
        """The matching tables are compiled on first use (the batch hot path, atom_matcher.py, needs only the
        order, the criteria and the conflicting pairs; this index serves --all and unusual documents)."""
        if name not in self._COMPILED:
            raise AttributeError(name)
        self._compile()
        return self.__dict__[name]

    def _compile(self) -> None:
        groups: dict[tuple[str, ...], list] = {}
        self.factor_index = FactorIndex()
        self.lesion_index = LesionIndex()
        scope = list(zip(self.recs, self.criteria, strict=True))
        for bit, (_, criteria) in enumerate(scope):
            for c in criteria:
                if self.factor_index.add(1 << bit, c) or self.lesion_index.add(1 << bit, c):
                    continue
                # criteria reading only small-valued fields share one group (fewer lookups per profile)
                fields = SMALL if set(c.fields) <= set(SMALL) else c.fields
                groups.setdefault(fields, []).append((1 << bit, c))
        vocab = self._vocab
        self.lesion_index.finish(vocab)
        self.ceap_views = _ceap_views(c for _, criteria in scope for c in criteria)
        self.groups = [(fields, _factor_names(members), members, _Memo()) for fields, members in sorted(groups.items())]
        self.lesion_views = [LesionView(members, vocab) if "lesions" in fields else None
                             for fields, _, members, _ in self.groups]
        self.ranges: dict[str, list] = {f: [] for f in NUMERIC}
        for r in self.recs:
            _collect_ranges(r.when, self.ranges)
        self.buckets = {f: _Memo() for f in NUMERIC}

    def ceap_key(self, ceap: Any) -> Any:
        """A CEAP's memo key: what the criteria read of it (engine: each criterion's ``reads``), e.g. the top class
        and the etiology, so that distinct strings with the same classes share memo entries."""
        if ceap is None:
            return None
        if self.ceap_views is None:
            return ceap.raw
        return tuple([getattr(ceap, view) for view in self.ceap_views])

    def _bucket(self, field: str, value: Any) -> Any:
        if value is None:
            return None
        memo = self.buckets[field]
        hit = memo.get(value)
        if hit is None:
            hit = memo.put(value, tuple(in_range(value, r) for r in self.ranges[field]))
        return hit

    def match(self, p: Any) -> Any:
        """(applies mask, possible mask, partial mask, entries) for a profile: ``partial`` = possible and partly
        matched; ``entries`` hold the missing facts, expanded by ``missing(entries, partial)`` only when asked."""
        ceap, lesions = self.ceap_key(p.ceap), p.lesions
        fk = {"ceap": ceap, "lesions": lesions, **{f: getattr(p, f) for f in CHOICE}}
        for f in NUMERIC:
            v = getattr(p, f)
            fk[f] = None if v is None else self._bucket(f, v)
        factors = p.factors
        fi = self.factor_index.match(factors)  # plain all/none factor criteria: bit operations, no memo
        le = self.lesion_index.match(lesions)  # single-set lesion criteria: bit operations, no memo
        false, unknown, touched = fi[0] | le[0], fi[1] | le[1], fi[4] | le[4]
        pending = [e for e in (fi, le) if e[1]]
        for (fields, names, members, memo), view in zip(self.groups, self.lesion_views, strict=True):
            if view is not None:
                fk["lesions"] = view.key(lesions)
            key = _group_key(fields, names, factors, fk)
            entry = memo.new.get(key)
            if entry is None:
                entry = memo.get(key) or memo.put(key, _evaluate(members, p))
            false |= entry[0]
            touched |= entry[4]
            if entry[1]:
                unknown |= entry[1]
                pending.append(entry)
        possible = unknown & ~false
        partial = possible & touched  # possible and partly matched: the ones whose missing facts are reported
        entries = tuple(e for e in pending if e[1] & partial)
        return self.all & ~false & ~unknown, possible, partial, entries

    @staticmethod
    def missing(entries: Any, possible: int) -> list[tuple[str, int, int]]:
        """The facts the given (possible) recommendations miss, ranked by engine.rank_facts (the same rule as
        Result.ask_next): [(fact, settles, bears_on)]."""
        masks: dict[str, int] = {}
        for e in entries:
            overlap = e[1] & possible
            pairs = e[3](overlap).items() if e[2] is None else e[2]  # factor index: computed per recommendation
            for f, m in pairs:
                if m & overlap:
                    masks[f] = masks.get(f, 0) | (m & overlap)
        return rank_facts(masks)

    def ids_of(self, mask: int) -> list[str]:
        return [self.ids[low.bit_length() - 1] for low in _bits(mask)]

    def conflicts(self, applies: int) -> list[list[str]]:
        """The conflicting pairs that both apply, sorted."""
        found: list[list[str]] = []
        for mask, memo in self.conflict_groups:
            part = applies & mask
            if part.bit_count() > 1:
                pairs = memo.get(part)
                if pairs is None:
                    pairs = memo.put(part, [[a, b] for low in _bits(part)
                                            for high, a, b in self.partners.get(low, ()) if part & high])
                found += pairs
        found.sort()
        return found


class FactorIndex:
    """Factor criteria (FactorCriterion.state), answered by bit operations over every profile.

    A criterion is false when a name in ``all`` is 'no', a name in ``none`` is 'yes', or every name of its ``any``
    list is given and none is 'yes'; otherwise true when the profile gives every ``all``/``none`` name and one
    ``any`` name is 'yes', else unknown. So: false = OR of per-(name, value) masks; "every name given" =
    OR of the masks of the name sets the given names cover (each set filed under its first name, so only the sets
    starting with a given name are tested: no enumeration of subsets, whatever the number of given factors). No
    memo, hence no first-time evaluation for new factor combinations."""

    def __init__(self) -> None:
        self.wrong: dict[tuple[str, bool], int] = {}
        self.exact: dict[frozenset, int] = {}
        # bit -> names read (a recommendation may have one such criterion)
        self.names_of: dict[int, tuple[str, ...]] = {}
        self.facts_of: dict[int, tuple[tuple[str, str], ...]] = {}  # bit -> (name, fact id) pairs
        self.ref = 0
        self.positive = 0  # recommendations whose plain factor criterion asks for a 'yes' (an `all` list)
        self.members: list = []
        self._by_first: dict | None = None
        self.any_yes: dict[str, int] = {}  # name -> criteria with it in their `any` list
        self.any_exact: dict[frozenset, int] = {}  # `any` name set -> criteria with exactly that set
        self.any_ref = 0
        self._any_first: dict | None = None

    def add(self, bit: int, c: Any) -> bool:
        from .engine import FactorCriterion

        if type(c) is not FactorCriterion or bit in self.names_of:
            return False
        if c.any:
            for n in c.any:
                self.any_yes[n] = self.any_yes.get(n, 0) | bit
            names_any = frozenset(c.any)
            self.any_exact[names_any] = self.any_exact.get(names_any, 0) | bit
            self.any_ref |= bit
            self._any_first = None
        for n in c.all:
            self.wrong[n, False] = self.wrong.get((n, False), 0) | bit
        for n in c.none:
            self.wrong[n, True] = self.wrong.get((n, True), 0) | bit
        names = frozenset(c.all + c.none)
        self.exact[names] = self.exact.get(names, 0) | bit
        self._by_first = None
        self.names_of[bit] = tuple(sorted(names | frozenset(c.any)))
        self.facts_of[bit] = tuple((n, sys.intern(f"factor:{n}")) for n in self.names_of[bit])
        self.ref |= bit
        if c.positive:
            self.positive |= bit
        self.members.append((bit, c))
        return True

    @property
    def by_first(self) -> dict[str, list]:
        """first name (sorted) -> [(name set, recommendations with exactly that set)]."""
        if self._by_first is None:
            self._by_first = _by_first(self.exact)
        return self._by_first

    @property
    def any_first(self) -> dict[str, list]:
        if self._any_first is None:
            self._any_first = _by_first(self.any_exact)
        return self._any_first

    def match(self, factors: Any) -> Any:
        """An entry like _evaluate's: (false, unknown, None, missing-facts function, true)."""
        wrong, any_yes = self.wrong, self.any_yes
        false = any_true = 0
        given = []
        for kv in factors.items():
            m = wrong.get(kv)
            if m:
                false |= m
            a = any_yes.get(kv[0])
            if a is not None:
                if kv[1]:
                    any_true |= a
                given.append(kv[0])
            elif m or wrong.get((kv[0], not kv[1])):
                given.append(kv[0])
        # "every name given": the name sets (each filed under its first name) that the given names cover; no
        # enumeration of subsets, so any number of given factors costs one set test per candidate
        complete = self.exact.get(frozenset(), 0)
        given_set = frozenset(given)
        by_first = self.by_first
        for n in given:
            for names, m in by_first.get(n, ()):
                if names <= given_set:
                    complete |= m
        if self.any_ref:  # an `any` list is false when every name is given and none is yes, true with one yes
            any_complete = 0
            any_first = self.any_first
            for n in given:
                for names, m in any_first.get(n, ()):
                    if names <= given_set:
                        any_complete |= m
            false |= self.any_ref & any_complete & ~any_true
            complete &= ~self.any_ref | any_true
        live = self.ref & ~false
        facts_of = self.facts_of

        def facts(mask: int) -> dict[str, int]:
            out: dict[str, int] = {}
            while mask:
                low = mask & -mask
                for n, fact in facts_of.get(low, ()):
                    if n not in given_set:
                        out[fact] = out.get(fact, 0) | low
                mask ^= low
            return out

        return false, live & ~complete, None, facts, live & complete & self.positive


def _by_first(exact: dict[frozenset, int]) -> dict[str, list]:
    out: dict[str, list] = {}
    for names, m in exact.items():
        if names:
            out.setdefault(min(names), []).append((names, m))
    return out


class LesionView:
    """A group's memo key for the lesions: which of its lesion criteria's sets the profile's terms meet.

    A LesionCriterion reads the lesions only through engine._membership(lesions, S, leaves) for each of its
    ``sets``, and _membership is True if one term's cover lies inside S, else unknown if one overlaps it, else
    False: the OR of the answers for the terms alone. So each vocabulary term gets, once, two bitmasks over the
    group's sets (inside, overlapping), computed by _membership itself; a term list's key is the OR of its terms'
    masks. Distinct term lists that meet the same sets share memo entries. When a criterion of the group reads the
    lesions some other way, or a term is not in the vocabulary, the key is the term list itself."""

    def __init__(self, members: Any, vocab: Any) -> None:
        from .engine import LesionCriterion, _membership

        self.masks: dict[str, tuple[int, int]] | None = {}
        sets: dict[frozenset, int] = {}
        leaves: Any = None
        todo = [c for _, c in members]
        while todo:
            c = todo.pop()
            alternatives = getattr(c, "alternatives", None)
            if alternatives:
                for alt in alternatives:
                    todo.extend(alt)
                continue
            if "lesions" not in c.fields:
                continue
            if type(c) is not LesionCriterion:
                self.masks = None
                return
            leaves = c.leaves
            for s in c.sets:
                sets.setdefault(s, len(sets))
        for term in vocab.terms.get("lesion", {}):
            inside = overlap = 0
            for s, i in sets.items():
                state = _membership((term,), s, leaves)
                if state is True:
                    inside |= 1 << i
                elif state is None:
                    overlap |= 1 << i
            self.masks[term] = (inside, overlap)

    def key(self, lesions: Any) -> Any:
        masks = self.masks
        if lesions is None or masks is None:
            return lesions
        inside = overlap = 0
        for term in lesions:
            m = masks.get(term)
            if m is None:
                return lesions
            inside |= m[0]
            overlap |= m[1]
        return inside, overlap & ~inside


class LesionIndex:
    """Lesion criteria with one set of terms (``lesion: [a, b]``, ``{any: [...]}``), answered by bit operations.

    LesionCriterion.state asks engine._membership whether the profile's terms fall inside the set: True as soon as
    one term's cover lies inside it, else unknown if one overlaps it, else False. So the answer for a term list is
    the OR of the answers for its terms alone, and those are computed once per vocabulary term, by the same
    criterion's own ``state`` on a one-term profile: per term, the mask of criteria it makes true and the mask it
    makes unknown. A profile's result is then an OR over its terms, whatever the combination (no memo, no
    first-time evaluation). Terms outside the vocabulary, and criteria with all/none lists, take the generic path."""

    def __init__(self) -> None:
        self.members: list = []
        self.mask = 0
        self.true: dict[str, int] = {}
        self.unknown: dict[str, int] = {}
        self.missing: dict[int, tuple] = {}  # bit -> the facts an unknown state misses (the criterion's own)
        self.positive = 0
        self.absent: Any = None  # the entry for a profile without lesions

    def add(self, bit: int, c: Any) -> bool:
        from .engine import LesionCriterion

        if type(c) is not LesionCriterion or c.any is None or c.all or c.none or bit & self.mask:
            return False
        self.members.append((bit, c))
        self.mask |= bit
        if c.positive:
            self.positive |= bit
        return True

    def finish(self, vocab: Any) -> None:
        from .model import Profile

        for term in vocab.terms.get("lesion", {}):
            one = Profile(lesions=(term,))
            t = u = 0
            for bit, c in self.members:
                state, missing = c.state(one)
                if state is True:
                    t |= bit
                elif state is None:
                    u |= bit
                    if self.missing.setdefault(bit, missing) != missing:  # not one fact list per criterion
                        raise ValueError(f"lesion criterion {c.requires!r}: missing facts depend on the terms")
            self.true[term], self.unknown[term] = t, u
        by_facts: dict[tuple, int] = {}
        for bit, missing in self.missing.items():
            by_facts[missing] = by_facts.get(missing, 0) | bit
        self.fact_masks = [(fact, m) for missing, m in by_facts.items() for fact in missing]
        self.absent = _evaluate(self.members, Profile())
        self.none = _evaluate(self.members, Profile(lesions=()))  # an empty list: no set is met

    def match(self, lesions: Any) -> Any:
        """An entry like _evaluate's: (false, unknown, (fact, mask) pairs, None, true)."""
        if lesions is None:
            return self.absent
        if not lesions:
            return self.none
        t = u = 0
        true, unknown = self.true, self.unknown
        for term in lesions:
            m = true.get(term)
            if m is None:  # not a vocabulary term: the generic path
                return _evaluate(self.members, _LesionsOnly(lesions))
            t |= m
            u |= unknown[term]
        u &= ~t
        facts: dict[str, int] = {}
        if u:
            for fact, m in self.fact_masks:
                if m & u:
                    facts[fact] = facts.get(fact, 0) | (m & u)
        return self.mask & ~t & ~u, u, tuple(facts.items()), None, t & self.positive


class _LesionsOnly:
    __slots__ = ("lesions",)

    def __init__(self, lesions: Any) -> None:
        self.lesions = lesions


def _group_key(fields: Any, names: Any, factors: Any, fk: Any) -> Any:
    """A group memo's key: the profile's values of the fields the group reads (for factors, only the factors its
    criteria read). ``fk`` maps the other fields to their canonical values (numeric ones as threshold buckets)."""
    if names:
        return (tuple(sorted([kv for kv in factors.items() if kv[0] in names])) if factors else (),
                *[fk[f] for f in fields if f != "factors"])
    if len(fields) == 1:
        return fk[fields[0]]
    return tuple([fk[f] for f in fields])


def _ceap_views(criteria: Any) -> Any:
    """The ``reads`` (Ceap field names) of every criterion that reads the CEAP (any_of alternatives included), or
    None if one does not say what it reads (then the memo keys on the whole CEAP string)."""
    views: dict = {}
    todo = list(criteria)
    while todo:
        c = todo.pop()
        for alt in getattr(c, "alternatives", ()):
            todo.extend(alt)
        if "ceap" in c.fields and not getattr(c, "alternatives", None):
            view = getattr(type(c), "reads", None)
            if view is None:
                return None
            views[view] = None
    return sorted(views)


def _factor_names(members: Any) -> frozenset:
    """Every factor name read by a group's criteria (any_of alternatives included)."""
    names: set[str] = set()
    todo = [c for _, c in members]
    while todo:
        c = todo.pop()
        names.update(getattr(c, "names", ()))
        for alt in getattr(c, "alternatives", ()):
            todo.extend(alt)
    return frozenset(names)


_intern = sys.intern


def _evaluate(members: Any, profile: Any) -> Any:
    false = unknown = true = 0
    facts: dict[str, int] = {}
    for bit, criterion in members:
        state, missing = criterion.state(profile)
        if state is True:
            if criterion.positive:
                true |= bit
        elif state is False:
            false |= bit
        else:
            unknown |= bit
            for fact in missing:
                fact = _intern(fact)
                facts[fact] = facts.get(fact, 0) | bit
    # (false, unknown, (fact, mask) pairs, None, true): true = recommendations with a positive criterion matched here
    return false, unknown, tuple(facts.items()), None, true


def _collect_ranges(when: Any, out: Any) -> None:
    for k, v in when.items():
        if k in out and v not in out[k]:
            out[k].append(v)
        elif k == "any_of":
            for alt in v:
                _collect_ranges(alt, out)


class ProfileParser:
    """Profile documents -> Profile, memoising each field's parsing (the same rules as profile.build, which it
    calls on every memo miss; a document with any error is re-read by profile.from_mapping for the exact message)."""

    def __init__(self, vocab: Any) -> None:
        from . import profile

        self.vocab, self.profile = vocab, profile
        self.fields = frozenset(profile.FIELDS)
        # The CEAP s/a modifier sets the factor `symptomatic`; if the vocabulary ever relates that factor to others,
        # the combined closure must be computed by profile.build (the full path) instead of merged here.
        self.symptomatic_plain = not any(vocab.implied_factors({"symptomatic": v}) for v in (True, False))
        self.memos = {k: _Memo() for k in ("ceap", "lesion", *CHOICE, "factors")}
        self.derived = _Memo()
        reads = profile.implication_reads(vocab)
        self.covers = reads.covers
        self.trigger_lesions = frozenset().union(*reads.covers)
        self.trigger_factors, self.always, self.relevant = reads.triggers, reads.always, reads.factors
        self.lesion_hits = _Memo()  # lesions (canonical, sorted) -> which implications' lesion sets they meet

    def derive(self, factors: dict, lesions: Any, symptom_days: Any) -> Any:
        """profile.derive_factors (the one rule for implied facts), memoised: (factors, sorted items, implied) or
        None when the facts contradict an implication. derive_factors reads lesions only through each
        implication's lesion set and symptom days only as given or not, so those make the memo key."""
        items = tuple(sorted(factors.items()))
        # a necessary condition for any implication to hold, read from the declarations (cheap set tests first)
        if not (self.always or (lesions and not self.trigger_lesions.isdisjoint(lesions))
                or (factors and not self.trigger_factors.isdisjoint(factors))):
            return factors, items, ()
        hits = self.lesion_hits.new.get(lesions) or self.lesion_hits.get(lesions)
        if hits is None:
            hits = self.lesion_hits.put(lesions, tuple(bool(lesions) and not covers.isdisjoint(lesions)
                                                       for covers in self.covers))
        # The factors are closed already (each field's closure; the CEAP s/a merge only when symptomatic_plain),
        # so what derive_factors adds depends only on the factors the implications read or imply: key on those.
        relevant = tuple([kv for kv in items if kv[0] in self.relevant])
        key = (relevant, hits, symptom_days is None)
        hit = self.derived.new.get(key) or self.derived.get(key)
        if hit is None:
            try:
                base = dict(relevant)
                final, implied = self.profile.derive_factors(self.vocab, base, lesions, symptom_days, closed=True)
                hit = ({k: v for k, v in final.items() if k not in base}, implied)
            except InputError as e:
                hit = e  # the facts contradict an implication (the same error profile.build raises)
            self.derived.put(key, hit)
        if isinstance(hit, InputError):
            return hit
        if not hit[0]:
            return factors, items, ()
        merged = dict(sorted({**factors, **hit[0]}.items()))
        return merged, tuple(merged.items()), hit[1]

    def _field(self, name: str, value: Any) -> Any:
        key = tuple(value) if isinstance(value, list) else (
            tuple(sorted(value.items(), key=repr)) if isinstance(value, dict) else value)
        try:
            hit = self.memos[name].get(key)
        except TypeError:  # unhashable (nested lists...): let the full parser report it
            return None
        if hit is None:
            try:
                built = self.profile.build(self.vocab, **{name: value})
                hit = (built, None)
            except InputError as e:
                hit = (None, e)
            self.memos[name].put(key, hit)
        return hit[0]

    def parse(self, doc: dict) -> Any:
        if not doc.keys() <= self.fields:
            return self.profile.from_mapping(self.vocab, doc)
        values: dict = {}
        factors: dict = {}
        implied_by_factors: tuple = ()
        for name in ("ceap", "lesion", *CHOICE, "factors"):
            raw = doc.get(name)
            if raw is None:
                continue
            built = self._field(name, raw)
            if built is None:
                return self.profile.from_mapping(self.vocab, doc)
            if name == "ceap":
                values["ceap"] = built.ceap
                symptomatic = built.factors.get("symptomatic")
                if symptomatic is not None:
                    if not self.symptomatic_plain:
                        return self.profile.from_mapping(self.vocab, doc)
                    factors["symptomatic"] = symptomatic
            elif name == "lesion":
                values["lesions"] = built.lesions
            elif name == "factors":
                implied_by_factors = built.implied
                for k, v in built.factors.items():
                    if factors.get(k, v) != v:
                        return self.profile.from_mapping(self.vocab, doc)  # ceap s/a contradicts a factor
                    factors[k] = v
            else:
                values[name] = getattr(built, name)
        for name in NUMERIC:
            raw = doc.get(name)
            if raw is None:
                continue
            value = plain_number(name, raw)
            if value is None:
                return self.profile.from_mapping(self.vocab, doc)
            values[name] = value
        ident = doc.get("id")
        if ident is not None and not isinstance(ident, (str, int)):
            return self.profile.from_mapping(self.vocab, doc)
        from .model import Profile

        derived = self.derive(factors, values.get("lesions"), values.get("symptom_days"))
        if isinstance(derived, InputError):
            raise derived  # every field is valid on its own: the error profile.build raises for the document
        implied = tuple(sorted(implied_by_factors + derived[2]))
        return Profile(factors=derived[0], id=None if ident is None else str(ident), implied=implied, **values)


