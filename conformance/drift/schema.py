"""Check vendor payloads against the API's payload schema (``schemas/vendors/``).  No I/O
of its own: the schema files are read once, and cached, by :mod:`conformance.schemas`.

A payload schema is a union (``oneOf``) of one shape per event type.  jsonschema reports a
payload that fits none of them as "not valid under any of the given schemas", and its
own ``best_match`` often picks a branch that was never meant (the ``error`` shape's
"'error' is a required property").  :func:`violations` explains such an error by the
branch the payload was meant for: branches that fail on their discriminator (a
``const``/``enum`` or ``not`` check at the top two levels) are passed over, and of the rest
the one failing deepest is taken, recursively.

A :class:`Violation` is keyed by its path with array indexes dropped and by the failing
keyword, so that the same problem in many payloads is one problem.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from conformance.drift.payloads import VendorPayload
from conformance.errors import UsageError
from conformance.events import JSONValue
from conformance.registry import get_codec
from conformance.schemas import load_schema

__all__ = ["Violation", "violations"]

_DISCRIMINATORS = frozenset({"const", "enum", "not"})
_SHOWN = 160  # characters of a jsonschema message kept


@dataclass(frozen=True, slots=True, kw_only=True)
class Violation:
    """One schema problem of one payload: ``path`` starts with the event type."""

    path: str
    keyword: str
    message: str
    value: JSONValue  # the offending value when it is a scalar, else None

    @property
    def key(self) -> tuple[str, str]:
        return (self.path, self.keyword)


@cache
def _validator(api: str) -> Draft202012Validator | None:
    name = get_codec(api).payload_schema
    try:
        schema = load_schema(name)
    except (UsageError, ValueError):  # a third-party codec may name no (valid) schema file
        return None
    return Draft202012Validator(schema)


def _branch(error: ValidationError) -> int | str:
    return error.relative_schema_path[0] if error.relative_schema_path else -1


def _score(errors: list[ValidationError]) -> tuple[int, int, int]:
    """Fewest discriminator misses, then the deepest error, then the fewest errors."""
    misses = sum(e.validator in _DISCRIMINATORS and len(e.relative_path) <= 1 for e in errors)
    return (-misses, max(len(e.absolute_path) for e in errors), -len(errors))


def _explain(error: ValidationError) -> ValidationError:
    """The most telling leaf error under a ``oneOf``/``anyOf`` error (see the module)."""
    while error.context:
        branches: dict[int | str, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(_branch(sub), []).append(sub)
        chosen = max(branches.values(), key=_score)
        error = max(chosen, key=lambda e: len(e.absolute_path))
    return error


def _where(prefix: str, parts: Iterable[Any]) -> str:
    return prefix + "".join("[]" if isinstance(p, int) else f".{p}" for p in parts)


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def violations(api: str, payload: VendorPayload) -> list[Violation]:
    """Every schema problem of ``payload`` (an API without a schema file has none; a
    payload that is not JSON is one problem)."""
    if payload.value is None and payload.text is not None:
        shown = _one_line(repr(payload.text))
        return [Violation(path=payload.event_type, keyword="json", message=f"not JSON: {shown}", value=None)]
    if payload.document is None:
        return []
    validator = _validator(api)
    if validator is None:
        return []
    document = payload.document
    wrapped = document is not payload.value  # Bedrock: {<event type>: payload}
    out = []
    for error in validator.iter_errors(document):
        leaf = _explain(error)
        parts = list(leaf.absolute_path)[1 if wrapped else 0 :]
        instance = leaf.instance
        value: JSONValue = instance if isinstance(instance, str | int | float | bool) else None
        path = _where(payload.event_type, parts)
        out.append(
            Violation(path=path, keyword=str(leaf.validator), message=_one_line(leaf.message), value=value)
        )
    return out
