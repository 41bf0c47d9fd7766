"""The batch hot path: a raw profile document -> the recommendations that apply and those that are possible, in a
few big-integer operations per line whatever the combination of values (no memo of combinations, hence no
first-time evaluation when every registry episode has its own CEAP string, lesions and factors).

Compiled once from the criteria the engine evaluates (engine.py):

* Every criterion becomes an OR of ANDs of *atoms*: an ``any_of`` is the OR of its alternatives, a factor
  criterion's ``any`` list the OR of one atom per name. Kleene's three-valued AND distributes over OR, so each
  recommendation's state is unchanged. An atom reads one field: a CEAP, choice or range criterion as it stands,
  one set of a lesion criterion (negated for its ``none`` sets), or one factor's yes or no.
* Bits: each conjunction ("variant") of a recommendation owns one bit per atom with a guard bit above them; the
  recommendation's variants are topped by its own guard bit, its bit in the result. Recommendations are laid out
  in output order.
* Per field value, the masks of the atoms it makes false and unknown (one int: false | unknown << width): CEAP,
  choice and numeric atoms by their criterion's own ``state`` on a profile with that value alone (a number by the
  interval between the knowledge base's thresholds it falls in); lesions per vocabulary term (a set is met when one
  term's cover lies inside it: an OR over the terms); factors per yes/no item with everything the vocabulary makes
  it imply (the closure of several items is the union of theirs).

A line starts from the masks of a document without fields and applies each given value's change (one XOR; lesion
terms and factor items are ORed first). Adding 2^width - 1 to a run of bits carries into the guard bit above it
exactly when one bit of the run is set, so two additions give the variants with a false atom and those with a
not-true atom, and two more the recommendations with a true variant and those with a not-false one.

Anything this path does not take as plainly valid gives None: the caller reads it with the full parser, which names
the error. tests/test_batch_matcher.py and tests/test_equivalence.py compare this path with the engine.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from operator import attrgetter
from typing import Any

from .batch_matcher import _bits
from .ceap import CeapError
from .ceap import parse as ceap_parse
from .engine import AnyOfCriterion, FactorCriterion, LesionCriterion, _membership
from .errors import InputError
from .fields import CHOICE, FIELDS, NUMERIC, plain_number
from .model import Profile

MEMO_LIMIT = 8192  # entries per memo: a full memo is emptied (memory stays bounded whatever the input)
CHUNK = 16  # bytes of the result per chunk of its JSON memo (ids_json)
MAX_VARIANTS = 256  # conjunctions per recommendation; beyond that (deeply nested any_of) the full path is used
_INVALID = (None,)  # memo value for a raw value the full parser rejects
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


_CEAP, _LESION, _FACTORS, _CHOICE, _NUMBER, _ID = (f"kind {i}" for i in range(6))  # compared by identity
_KINDS = {"ceap": _CEAP, "lesion": _LESION, "factors": _FACTORS, "choice": _CHOICE, "number": _NUMBER, "id": _ID}


class TooComplex(ValueError):
    """A recommendation's criteria expand to more than MAX_VARIANTS conjunctions."""


def variants(criteria: Any) -> list[list[tuple]]:
    """A conjunction of criteria as an OR of ANDs of atoms (see the module docstring)."""
    out: list[list[tuple]] = [[]]
    for c in criteria:
        out = [a + b for a in out for b in _disjuncts(c)]
        if len(out) > MAX_VARIANTS:
            raise TooComplex(f"more than {MAX_VARIANTS} conjunctions")
    return out


def _disjuncts(c: Any) -> list[list[tuple]]:
    if type(c) is AnyOfCriterion:
        return [v for alt in c.alternatives for v in variants(alt)]
    if type(c) is FactorCriterion:
        both = [("factor", n, True) for n in c.all] + [("factor", n, False) for n in c.none]
        return [both + [("factor", n, True)] for n in c.any] if c.any else [both]
    if type(c) is LesionCriterion:
        sets = ([(c.any, True)] if c.any is not None else []) + [(s, True) for s in c.all]
        return [[("lesion", s, want, c.leaves) for s, want in sets + [(s, False) for s in c.none]]]
    if len(c.fields) != 1:
        raise TooComplex(f"criterion {c.requires!r} reads {len(c.fields)} fields")
    return [[("field", c.fields[0], c)]]


class AtomMatcher:
    """Raw profile documents -> (applies, possible) bit masks; ``ids_of`` and ``conflicts`` read them."""

    def __init__(self, index: Any, vocab: Any) -> None:
        from . import profile

        self.vocab = vocab
        self.profile: Any = profile
        self.limit = MEMO_LIMIT
        fields: dict[str, dict[int, list]] = {}  # attr -> id(criterion) -> [criterion, mask]
        lesions: dict[tuple, list] = {}  # (set, want) -> [leaves, mask]
        self.wrong: dict[tuple[str, bool], int] = {}  # factor item -> atoms it makes false
        self.named: dict[str, int] = {}  # factor name -> its atoms
        self.lesion_pos = self.lesion_neg = 0
        k1 = h1 = k2 = h2 = 0
        self.id_at: dict[int, str] = {}  # result bit -> recommendation id
        pos = 0
        for rec, criteria in zip(index.recs, index.criteria, strict=True):
            start = pos
            for variant in variants(criteria):
                for i, atom in enumerate(variant):
                    bit = 1 << (pos + i)
                    if atom[0] == "field":
                        fields.setdefault(atom[1], {}).setdefault(id(atom[2]), [atom[2], 0])[1] |= bit
                    elif atom[0] == "lesion":
                        # one entry per (set, negated?): every lesion criterion reads the vocabulary's leaves
                        lesions.setdefault(atom[1:3], [atom[3], 0])[1] |= bit
                        if atom[2]:
                            self.lesion_pos |= bit
                        else:
                            self.lesion_neg |= bit
                    else:
                        _, name, want = atom
                        self.wrong[name, not want] = self.wrong.get((name, not want), 0) | bit
                        self.named[name] = self.named.get(name, 0) | bit
                k1 |= ((1 << len(variant)) - 1) << pos
                pos += len(variant)
                h1 |= 1 << pos
                pos += 1
            k2 |= ((1 << (pos - start)) - 1) << start
            h2 |= 1 << pos
            self.id_at[pos] = rec.full_id
            pos += 1
        self.k1, self.h1, self.k2, self.h2 = k1, h1, k2, h2
        # a value's masks are one int: the atoms it makes false in the low ``width`` bits, unknown above them
        self.width, self.low = pos, (1 << pos) - 1
        self.nbytes = (pos + 7) // 8
        # the result's bytes in slices of CHUNK, each with a memo of its ids' JSON (ids_json)
        self.chunks: list[tuple[int, int, bytes, dict]] = [(lo, lo + CHUNK, bytes(min(CHUNK, self.nbytes - lo)), {})
                                                           for lo in range(0, self.nbytes, CHUNK)]
        self.factor_atoms = sum(self.named.values())
        self.lesion_sets = [(s, want, leaves, mask) for (s, want), (leaves, mask) in lesions.items()]
        self.field_atoms = {attr: list(by_id.values()) for attr, by_id in fields.items()}
        # a CEAP's memo key: its modifier and what the atoms read of it (engine: each criterion's ``reads``, a Ceap
        # field), or the whole string when one does not say
        views: dict[str, list] = {}  # Ceap field -> the CEAP atoms reading it (their masks: one memo per field)
        for c, mask in self.field_atoms.get("ceap", ()):
            views.setdefault(getattr(type(c), "reads", "raw"), []).append((c, mask))
        self.ceap_key = attrgetter("modifier", *sorted(views))
        self.ceap_views: list[tuple[str, list, dict]] = [(view, atoms, {}) for view, atoms in sorted(views.items())]
        self.bounds = {f: sorted({v for c, _ in self.field_atoms.get(f, ()) for v in c.range.values()})
                       for f in NUMERIC}
        self.tables: dict[str, dict] = {f: {} for f in (*CHOICE, *NUMERIC)}  # value key -> delta
        self.absent = {f: self._states(f, None) for f in ("ceap", *CHOICE, *NUMERIC)}
        self.lesion_absent = (self.lesion_pos | self.lesion_neg) << pos
        self.base = sum(self.absent.values()) | self.lesion_absent  # a document without any field
        self.ceap_memo: dict[str, Any] = {}  # CEAP string -> what ceap_keys holds for it
        self.ceap_keys: dict[tuple, Any] = {}  # (modifier, what the atoms read) -> (delta, modifier's factor item)
        self.choice_memo: dict[str, dict] = {f: {} for f in CHOICE}  # raw value -> its delta, or _INVALID
        self.numbers = {f: (self.bounds[f], self.tables[f]) for f in NUMERIC}
        self.kinds = {f.key: _KINDS[f.kind] for f in FIELDS}  # document key -> how match reads it
        self.terms: dict[Any, Any] = {}
        self.items: dict[Any, Any] = {}
        self.derived: dict[tuple, Any] = {}
        self._setup_implications(vocab)
        bit_of = {rid: b for b, rid in self.id_at.items()}
        self.compact = [bit_of[rid] for rid in index.ids]  # MatchIndex bit (output rank) -> result bit
        self.rank = {bit: i for i, bit in enumerate(self.compact)}  # and back

    # -- tables, filled on first sight of a value --------------------------------------------------------------

    def _states(self, attr: str, value: Any, atoms: Any = None) -> int:
        """The masks of the atoms reading ``attr`` (or of ``atoms``, some of them) for a value (None: not given), by
        the criteria's own state."""
        one = Profile() if value is None else Profile(**{attr: value})
        false = unknown = 0
        for c, mask in self.field_atoms.get(attr, ()) if atoms is None else atoms:
            state = c.state(one)[0]
            if state is False:
                false |= mask
            elif state is None:
                unknown |= mask
        return false | unknown << self.width

    def _delta(self, attr: str, key: Any, value: Any) -> int:
        """What a given value changes in the masks of a document without the field (one XOR per line)."""
        delta = self._states(attr, value) ^ self.absent[attr]
        if len(self.tables[attr]) < self.limit:  # keys are bounded by construction; this bounds them anyway
            self.tables[attr][key] = delta
        return delta

    def _ceap(self, raw: Any) -> Any:
        """A CEAP string -> (its delta, the factor item of its s/a modifier or None), or _INVALID."""
        if len(self.ceap_memo) >= self.limit:
            self.ceap_memo.clear()
        try:  # a string is a valid CEAP value exactly when the parser reads it (profile.build: the same call)
            ceap = ceap_parse(raw)
        except CeapError:
            self.ceap_memo[raw] = _INVALID
            return _INVALID
        key = self.ceap_key(ceap)
        hit = self.ceap_keys.get(key)
        if hit is None:
            item = None if ceap.modifier is None else self._item("symptomatic", ceap.modifier == "s")
            hit = _INVALID if item is _INVALID else (self._ceap_states(ceap) ^ self.absent["ceap"], item)
            if len(self.ceap_keys) >= self.limit:
                self.ceap_keys.clear()
            self.ceap_keys[key] = hit
        self.ceap_memo[raw] = hit
        return hit

    def _ceap_states(self, ceap: Any) -> int:
        """The CEAP atoms' masks for a CEAP: the union of those of the atoms reading each of its fields, each
        memoised on that field's value alone (a few dozen top classes and etiologies, not their combinations)."""
        states = 0
        for view, atoms, memo in self.ceap_views:
            value = getattr(ceap, view)
            part = memo.get(value)
            if part is None:
                if len(memo) >= self.limit:
                    memo.clear()
                part = memo[value] = self._states("ceap", ceap, atoms)
            states |= part
        return states

    def _choice(self, name: str, raw: Any) -> Any:
        memo = self.choice_memo[name]
        if len(memo) >= self.limit:
            memo.clear()
        try:
            value = getattr(self.profile.build(self.vocab, **{name: raw}), name)
        except InputError:
            memo[raw] = _INVALID
            return _INVALID
        hit = memo[raw] = self.tables[name].get(value)
        if hit is None:
            hit = memo[raw] = self._delta(name, value, value)
        return hit

    def _term(self, raw: Any) -> Any:
        """A lesion list item -> (canonical term, atoms its cover meets, atoms it overlaps, implications it
        meets), or _INVALID."""
        if len(self.terms) >= self.limit:
            self.terms.clear()
        try:
            term = self.profile.build(self.vocab, lesion=[raw]).lesions[0]
        except InputError:
            self.terms[raw] = _INVALID
            return _INVALID
        inside = overlap = 0
        for s, _, leaves, mask in self.lesion_sets:
            state = _membership((term,), s, leaves)
            if state is True:
                inside |= mask
            elif state is None:
                overlap |= mask
        hits = sum(1 << i for i, covers in enumerate(self.covers) if term in covers)
        hit = self.terms[raw] = (term, inside | overlap << self.width, hits)
        return hit

    def _item(self, name: str, value: bool) -> Any:
        """A factor yes/no with everything it implies -> _masks_of them, or _INVALID."""
        try:
            closure = {name: value, **self.vocab.implied_factors({name: value})}
        except ValueError:
            return _INVALID
        return self._masks_of(closure)

    def _masks_of(self, factors: dict) -> tuple[int, int, int]:
        """Factor values -> (names yes, names no, the atoms they make false | the atoms they give << width)."""
        yes = no = false = given = 0
        for n, v in factors.items():
            bit = self.name_bit.get(n)
            if bit is None:
                bit = self.name_bit[n] = 1 << len(self.name_bit)
            if v:
                yes |= bit
            else:
                no |= bit
            false |= self.wrong.get((n, v), 0)
            given |= self.named.get(n, 0)
        return yes, no, false | given << self.width

    def _factor_item(self, raw: Any, key: Any) -> Any:
        if len(self.items) >= self.limit:
            self.items.clear()
        try:
            parsed = self.profile.parse_factors(self.vocab, raw)
        except InputError:
            self.items[key] = _INVALID
            return _INVALID
        ((name, value),) = parsed.items()
        hit = self.items[key] = self._item(name, value)
        return hit

    def _setup_implications(self, vocab: Any) -> None:
        """Declared implications (profile.derive_factors): what they read, as name bits, for the derive memo key."""
        reads = self.profile.implication_reads(vocab)
        self.name_bit: dict[str, int] = {}
        self.covers = reads.covers
        self.relevant = self._masks_of(dict.fromkeys(sorted(reads.factors), True))[0]
        self.trigger = self._masks_of(dict.fromkeys(sorted(reads.triggers), True))[0]
        self.always = reads.always

    def _derive(self, key: tuple, lesions: Any, symptom_days: Any) -> Any:
        """What the declared implications add to the factors (profile.derive_factors, the one rule), as item
        masks, or the InputError of a contradiction. Keyed on what derive_factors reads: the factors the
        implications read or imply (the others are closed already), which implications' lesion sets are met,
        and whether symptom days are given."""
        if len(self.derived) >= self.limit:
            self.derived.clear()
        yes, no = key[0], key[1]
        base = {n: bool(b & yes) for n, b in self.name_bit.items() if b & (yes | no)}
        try:
            final, _ = self.profile.derive_factors(self.vocab, base, lesions, symptom_days, closed=True)
            hit: Any = self._masks_of({k: v for k, v in final.items() if k not in base})
        except InputError as e:
            hit = e
        self.derived[key] = hit
        return hit

    # -- the hot path ----------------------------------------------------------------------------------------

    def match(self, doc: dict) -> Any:
        """(applies, possible) masks; the InputError when the fields, each valid, contradict an implied fact; or
        None when the document needs the full parser (errors, unusual values)."""
        masks = self.base  # then each given field's delta
        delta: Any
        yes = no = factors = hits = 0
        symptom_days = lesion = None
        kinds = self.kinds
        for key, raw in doc.items():
            if raw is None:
                continue
            kind = kinds.get(key)
            if kind is _NUMBER:
                value = plain_number(key, raw)
                if value is None:
                    return None
                if key == "symptom_days":
                    symptom_days = value
                bounds, table = self.numbers[key]
                i = bisect_left(bounds, value)  # the thresholds: every atom is constant between two of them
                bucket = 2 * i if i < len(bounds) and bounds[i] == value else 2 * i + 1
                delta = table.get(bucket)
                masks ^= self._delta(key, bucket, value) if delta is None else delta
            elif kind is _LESION:
                if type(raw) is str:
                    raw = [raw]
                elif type(raw) is not list:
                    return None
                lesion = raw
                met = 0  # the sets one term's cover lies inside | those one overlaps << width
                table = self.terms
                try:
                    for item in raw:
                        hit = table.get(item) or self._term(item)
                        if hit is _INVALID:
                            return None
                        met |= hit[1]
                        hits |= hit[2]
                except TypeError:  # an unhashable item (a nested list...): the full parser names it
                    return None
                inside = met & self.low
                overlap = (met >> self.width) & ~inside
                masks ^= self.lesion_absent ^ ((self.lesion_pos & ~(inside | overlap)) | (self.lesion_neg & inside)
                                               | overlap << self.width)
            elif kind is _FACTORS:
                table = self.items
                if type(raw) is list:
                    for item in raw:
                        if type(item) is not str:
                            return None
                        hit = table.get(item) or self._factor_item([item], item)
                        if hit is _INVALID:
                            return None
                        yes |= hit[0]
                        no |= hit[1]
                        factors |= hit[2]
                elif type(raw) is dict:
                    for item in raw.items():
                        typed = (*item, type(item[1]))  # True, 1 and 1.0 are equal keys but not the same value
                        try:
                            hit = table.get(typed) or self._factor_item(dict([item]), typed)
                        except TypeError:
                            return None
                        if hit is _INVALID:
                            return None
                        yes |= hit[0]
                        no |= hit[1]
                        factors |= hit[2]
                else:
                    return None
            elif kind is _CEAP:
                if type(raw) is not str:
                    return None
                hit = self.ceap_memo.get(raw) or self._ceap(raw)
                if hit is _INVALID:
                    return None
                masks ^= hit[0]
                if hit[1] is not None:
                    yes |= hit[1][0]
                    no |= hit[1][1]
                    factors |= hit[1][2]
            elif kind is _CHOICE:
                memo = self.choice_memo[key]
                delta = memo.get(raw) if type(raw) is str else _INVALID
                if delta is None:
                    delta = self._choice(key, raw)
                if delta is _INVALID:
                    return None
                masks ^= delta
            elif kind is _ID:
                if not isinstance(raw, (str, int)):
                    return None
            else:  # not a profile field: the full parser names it
                return None
        if yes & no:
            return None  # the items contradict each other: the full parser names them
        if self.always or hits or (yes | no) & self.trigger:
            key = (yes & self.relevant, no & self.relevant, hits, symptom_days is None)
            added = self.derived.get(key)
            if added is None:
                lesions = None if lesion is None else tuple(sorted({(self.terms.get(t) or self._term(t))[0]
                                                                    for t in lesion}))
                added = self._derive(key, lesions, symptom_days)
            if type(added) is not tuple:
                return added  # every field is valid on its own: the error profile.build raises for the document
            factors |= added[2]
        width, low = self.width, self.low
        false = (masks | factors) & low
        unknown = (masks >> width) | (self.factor_atoms & ~(factors >> width))
        h1, k1, h2, k2 = self.h1, self.k1, self.h2, self.k2
        variant_true = h1 & ~((false | unknown) + k1)
        variant_not_false = h1 & ~(false + k1)
        applies = h2 & (variant_true + k2)
        not_false = h2 & (variant_not_false + k2)
        return applies, not_false & ~applies

    # -- reading the masks --------------------------------------------------------------------------------------

    def ids_of(self, mask: int) -> list[str]:
        """The ids of a mask, in output order."""
        id_at = self.id_at
        return [id_at[low.bit_length() - 1] for low in _bits(mask)]

    def ids_json(self, mask: int) -> tuple[str, int]:
        """The ids of a mask as a JSON array, and the mask in MatchIndex bits (for MatchIndex.conflicts), built from the
        memoised answers for each chunk's part of it."""
        parts = []
        ranks = 0
        data = mask.to_bytes(self.nbytes, "little")
        for lo, hi, zero, memo in self.chunks:
            part = data[lo:hi]
            if part != zero:
                hit = memo.get(part)
                if hit is None:
                    if len(memo) >= self.limit:
                        memo.clear()
                    bits = int.from_bytes(part, "little") << (8 * lo)
                    hit = memo[part] = (_dumps(self.ids_of(bits))[1:-1],
                                        sum(1 << self.rank[low.bit_length() - 1] for low in _bits(bits)))
                parts.append(hit[0])
                ranks |= hit[1]
        return "[" + ",".join(parts) + "]", ranks

    def from_compact(self, mask: int) -> int:
        """A MatchIndex mask (the full path's) in this matcher's bits."""
        return sum(1 << self.compact[low.bit_length() - 1] for low in _bits(mask))
