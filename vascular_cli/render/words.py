"""The command line's words for domain things: the option that supplies a missing fact, the option or key that an
input error concerns. The library names facts and fields only (``factor:phlegmasia``, ``symptom_days``); other front
ends (FHIR, a web service) map the same ids to their own words."""

from __future__ import annotations

from ..errors import InputError
from ..fields import EXTRA_FACTS, FIELDS

OPTIONS = {f.key: f.option for f in FIELDS if f.option} | {k: v[0] for k, v in EXTRA_FACTS.items()}
VALUES = {f.key: f.metavar for f in FIELDS if f.kind not in ("factors", "id")}


def supply(fact: str) -> str:
    """The CLI option that supplies a missing fact (a fact id from the engine)."""
    if fact.startswith("factor:"):
        return f"--factor {fact[7:]}=yes|no"
    if fact.startswith("ceap-subclass:"):
        return f"--ceap with the {fact[14:]} subclass"
    if fact in VALUES and fact in OPTIONS:
        return f"{OPTIONS[fact]} {VALUES[fact]}"
    return OPTIONS.get(fact, f"--{fact.replace('_', '-')}")


def option_error(e: InputError) -> InputError:
    """An error about a profile field, reworded for values given as command-line options."""
    if e.field is None or e.prefix:
        return e
    return InputError(_with_hint(e), prefix=OPTIONS.get(e.field, "--" + e.field.replace("_", "-")) + ": ")


def document_error(e: InputError) -> InputError:
    """An error about a profile document, with the CLI's pointer to the vocabulary when the valid list is long."""
    if e.kind and e.valid is not None and len(e.valid) > 8:
        return InputError(_with_hint(e), field=e.field, prefix=e.prefix)
    return e


def _with_hint(e: InputError) -> str:
    if e.kind and e.valid is not None and len(e.valid) > 8:
        return f"{e.detail}; see 'vascular vocab {e.kind}'"
    return e.detail
