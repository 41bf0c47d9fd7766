"""CEAP 2020 parser (Lurie F et al., J Vasc Surg Venous Lymphat Disord 2020).

Accepts a bare clinical class (``C6``, ``C4b``, ``C2r``), basic strings (``C6,s Es Ad Pr,o``), advanced listings
(``C2,4a,5,s Ep As,p Pr GSVa,GSVb,CPV``) and the compact 2004 form (``C5,SEpAs,pPr``). Anything CEAP 2020 does not
define (``C7``, ``C4d``, ``Ez``) is an error that names the bad part, its column and the valid codes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from .model import Ceap

CLASSES = ("C0", "C1", "C2", "C2r", "C3", "C4", "C4a", "C4b", "C4c", "C5", "C6", "C6r")
ETIOLOGY = ("Ep", "Es", "Esi", "Ese", "Ec", "En")
ANATOMY = ("As", "Ad", "Ap", "An")
PATHOPHYSIOLOGY = ("Pr", "Po", "Pn")
SEGMENTS = (
    "Tel", "Ret", "GSVa", "GSVb", "SSV", "AASV", "NSV", "IVC", "CIV", "IIV", "EIV", "PELV", "CFV", "DFV", "FV",
    "POPV", "TIBV", "PRV", "ATV", "PTV", "MUSV", "GAV", "SOV", "TPV", "CPV",
)
# Group codes: a written group covers its members (C4 = C4a/b/c, ...). Used by the matcher.
GROUPS = {"C2": ("C2r",), "C4": ("C4a", "C4b", "C4c"), "C6": ("C6r",), "Es": ("Esi", "Ese")}
VALID_CLASSES = "C0, C1, C2, C2r, C3, C4a, C4b, C4c, C5, C6, C6r"


class CeapError(ValueError):
    def __init__(self, message: str, col: int):
        super().__init__(message)
        self.col = col


def class_rank(code: str) -> tuple[int, int]:
    return int(code[1]), len(code)


class _Scanner:
    def __init__(self, text: str):
        self.s, self.i = text, 0

    def peek(self, n: int = 1) -> str:
        return self.s[self.i:self.i + n]

    def fail(self, message: str, at: int | None = None) -> Any:
        raise CeapError(message, (self.i if at is None else at) + 1)

    def skip_space(self) -> Any:
        while self.i < len(self.s) and self.s[self.i] in " \t":
            self.i += 1


def parse(text: str) -> Ceap:
    """Parse a CEAP string. Raises CeapError (with a 1-based column) on anything CEAP 2020 does not define."""
    if not isinstance(text, str) or not text.strip():
        raise CeapError("empty CEAP string (expected e.g. C6 or 'C6,s Es Ad Pr,o')", 1)
    raw = " ".join(text.split())
    fast = _FAST.fullmatch(raw)
    if fast is not None:
        done = _fast(raw, fast)
        if done is not None:
            return done
    return _scan(raw)


def _scan(raw: str) -> Ceap:
    """The scanner: every form, and the exact message and column of any error."""
    sc = _Scanner(raw)
    if sc.peek() not in ("C", "c"):
        sc.fail(f"CEAP must start with the clinical class C0..C6 (got {raw[:8]!r}; valid: {VALID_CLASSES})")
    sc.i += 1
    classes, modifier = _clinical(sc)
    parts: dict[str, tuple[str, ...]] = {}
    segments: list[str] = []
    while True:
        sc.skip_space()
        if sc.i >= len(raw):
            break
        if sc.peek() == "," and sc.s[sc.i + 1:sc.i + 2] in ("E", "A", "P"):
            sc.i += 1  # 2004 compact form: "As,p,Pr"
        ch = sc.peek()
        if ch == "(":  # optional "(date; level of investigation)"
            end = raw.find(")", sc.i)
            if end < 0:
                sc.fail("unclosed '(' in CEAP string")
            sc.i = end + 1
            continue
        if ch not in "EAP":
            sc.fail(f"unexpected {raw[sc.i:].split()[0]!r} in CEAP string (expected the E, A or P part)")
        if ch in parts:
            sc.fail(f"CEAP {ch} part given twice")
        start = sc.i
        codes = _codes(sc, ch)
        parts[ch] = codes
        exclusive = {"E": "En", "A": "An", "P": "Pn"}[ch]
        if exclusive in codes and len(codes) > 1:
            sc.fail(f"{exclusive} means none identified and cannot be combined with other {ch} codes", start)
        segments += _segments(sc)
    return _ceap(raw, classes, modifier, parts, segments)


def _ceap(raw: str, classes: list[str], modifier: str | None, parts: dict[str, tuple[str, ...]],
          segments: list[str]) -> Ceap:
    top_rank = max(class_rank(c)[0] for c in classes)
    top = tuple(sorted({c for c in classes if int(c[1]) == top_rank}, key=lambda c: (class_rank(c), c)))
    return Ceap(raw=raw, classes=tuple(classes), top=top, modifier=modifier, etiology=parts.get("E", ()),
                anatomy=parts.get("A", ()), pathophysiology=parts.get("P", ()), segments=tuple(segments))


def _alternatives(codes: Iterable[str]) -> str:
    return "|".join(sorted(codes, key=lambda c: (-len(c), c)))


# The fast path (batch registries: every episode its own CEAP string): the well-formed spaced 2020 form, codes in
# E, A, P order, segments last, read by one regular expression built from the code tables above. Whatever it does
# not take (other forms, errors, repeated or exclusive codes) goes to the scanner, which gives the same result
# (tests/test_ceap.py compares both on generated strings).
def _list(alternatives: str) -> str:
    """A comma-separated list of codes, captured."""
    return f"((?:{alternatives})(?:,(?:{alternatives}))*)"


_FAST = re.compile(
    "C" + _list(_alternatives(c[1:] for c in CLASSES)) + "(?:,([sa]))?"
    + "".join(f"(?: {letter}{_list(_alternatives(c[1:] for c in codes))})?"
              for letter, codes in (("E", ETIOLOGY), ("A", ANATOMY), ("P", PATHOPHYSIOLOGY)))
    + "(?: " + _list(_alternatives(SEGMENTS) + "|1[0-8]|[1-9]") + ")?")
_EXCLUSIVE = {"E": "En", "A": "An", "P": "Pn"}


def _fast(raw: str, m: re.Match) -> Ceap | None:
    """A Ceap from the fast path's match, or None when the scanner must decide (it names repeated codes...)."""
    clinical = _fast_classes(m[1])
    if clinical is None:
        return None
    e, a, p, segments = m.group(3, 4, 5, 6)
    etiology = _fast_codes("E", e) if e is not None else ()
    anatomy = _fast_codes("A", a) if a is not None else ()
    patho = _fast_codes("P", p) if p is not None else ()
    if etiology is None or anatomy is None or patho is None:
        return None
    if segments is not None and not (e or a or p):
        return None  # segments right after the clinical class: the scanner names the error
    return Ceap(raw, clinical[0], clinical[1], m[2], etiology, anatomy, patho,
                tuple(segments.split(",")) if segments is not None else ())


@functools.lru_cache(maxsize=1024)
def _fast_classes(group: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """'2,4a,5' -> (classes, top), or None when a class is repeated."""
    classes = ["C" + c for c in group.split(",")]
    if len(set(classes)) != len(classes):
        return None
    done = _ceap("", classes, None, {}, [])
    return done.classes, done.top


@functools.lru_cache(maxsize=1024)
def _fast_codes(letter: str, group: str) -> tuple[str, ...] | None:
    """'p,s' -> ('Ep', 'Es'), or None when a code is repeated or an exclusive one (En...) is combined."""
    codes = tuple(letter + c for c in group.split(","))
    if len(set(codes)) != len(codes) or (len(codes) > 1 and _EXCLUSIVE[letter] in codes):
        return None
    return codes


def _clinical(sc: _Scanner) -> tuple[list[str], str | None]:
    classes: list[str] = []
    modifier = None
    while True:
        start = sc.i
        d = sc.peek()
        if not d.isdigit():
            got = sc.s[start:start + 3] or "end of text"
            sc.fail(f"expected a clinical class digit after 'C' or ',' (got {got!r}; valid: {VALID_CLASSES})")
        while sc.peek().isdigit():
            sc.i += 1
        num = sc.s[start:sc.i]
        code = "C" + num
        if len(num) > 1 or num > "6":
            sc.fail(f"clinical class {code!r} is not defined in CEAP 2020{_dym(code, CLASSES)} "
                    f"(valid: {VALID_CLASSES})", start - 1)
        nxt = sc.peek()
        if nxt.isalpha() and nxt.islower() and nxt not in "sa" or (num == "4" and nxt in "abc"):
            candidate = code + nxt
            if candidate not in CLASSES:
                sc.fail(f"clinical class {candidate!r} is not defined in CEAP 2020{_dym(candidate, CLASSES)} "
                        f"(valid: {VALID_CLASSES})", start - 1)
            code = candidate
            sc.i += 1
        if code in classes:
            sc.fail(f"clinical class {code!r} written twice", start - 1)
        classes.append(code)
        nxt = sc.peek()
        if nxt in ("s", "a", "S", "A") and not sc.s[sc.i + 1:sc.i + 2].isalpha() or nxt in ("S",) or (
                nxt == "A" and sc.s[sc.i + 1:sc.i + 2] not in ("s", "d", "p", "n")):
            modifier = nxt.lower()
            sc.i += 1
            return classes, modifier
        if nxt == ",":
            after = sc.s[sc.i + 1:sc.i + 2]
            if after.isdigit():
                sc.i += 1
                continue
            if after in ("s", "a", "S", "A"):
                modifier = after.lower()
                sc.i += 2
                return classes, modifier
            sc.fail(f"unexpected {sc.s[sc.i + 1:sc.i + 4]!r} after ',' (expected a class digit or the modifier s/a)")
        if nxt and nxt not in " EAP(":
            sc.fail(f"unexpected {nxt!r} in the clinical class (valid: {VALID_CLASSES}, then ,s or ,a)")
        return classes, modifier


def _codes(sc: _Scanner, letter: str) -> tuple[str, ...]:
    valid = {"E": ETIOLOGY, "A": ANATOMY, "P": PATHOPHYSIOLOGY}[letter]
    names = {"E": "etiology", "A": "anatomy", "P": "pathophysiology"}[letter]
    sc.i += 1
    out: list[str] = []
    while True:
        start = sc.i
        while sc.peek().isalpha() and sc.peek().islower():
            sc.i += 1
        suffix = sc.s[start:sc.i]
        # the compact 2004 form glues the next part on ("Ep" then "As"): split greedy runs that are not codes
        code = letter + suffix
        if code not in valid:
            for n in range(len(suffix) - 1, 0, -1):
                if letter + suffix[:n] in valid:
                    sc.i = start + n
                    code = letter + suffix[:n]
                    break
            else:
                sc.fail(f"CEAP {names} {code!r} is not defined in CEAP 2020{_dym(code, valid)} "
                        f"(valid: {', '.join(valid)})", start - 1)
        if code in out:
            sc.fail(f"CEAP {names} code {code!r} written twice", start - 1)
        out.append(code)
        if sc.peek() == "," and sc.s[sc.i + 1:sc.i + 2].isalpha() and sc.s[sc.i + 1:sc.i + 2].islower():
            sc.i += 1
            continue
        return tuple(out)


def _segments(sc: _Scanner) -> list[str]:
    """Anatomic segments after A or P: 2020 abbreviations (GSVa, CPV...) or 2004 numbers 1-18."""
    found: list[str] = []
    while True:
        save = sc.i
        sc.skip_space()
        if sc.peek() == ",":
            sc.i += 1
        start = sc.i
        while sc.i < len(sc.s) and (sc.s[sc.i].isalnum()):
            sc.i += 1
        token = sc.s[start:sc.i]
        if token in SEGMENTS or (token.isdigit() and 1 <= int(token) <= 18):
            found.append(token)
            continue
        if token and token[0].isupper() and token[0] not in "EAP" and not found:
            sc.fail(f"unknown CEAP anatomic segment {token!r} (valid: {', '.join(SEGMENTS)} or 1-18)", start)
        sc.i = save
        return found


def _dym(word: str, choices: Iterable[str]) -> str:
    from .suggest import did_you_mean

    return did_you_mean(str(word), list(choices))
