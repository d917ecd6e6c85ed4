"""The drifting vendor's names and result: the mutation names, their parser, :class:`Drifted`
and the shared type aliases.  No I/O."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from conformance.errors import UsageError

__all__ = ["DONE", "MUTATIONS", "Drifted", "Path", "Payload", "Selector", "parse_mutations"]

#: Every mutation, in the order they are applied when several are asked for.
MUTATIONS: Final = (
    "rename-field",
    "add-event-type",
    "reorder-events",
    "resplit-tool-args",
    "move-usage",
    "drop-terminator",
)

#: The data of the ``[DONE]`` sentinel event (OpenAI Chat, Cohere v2).
DONE: Final = "[DONE]"

#: A vendor payload: one JSON object.
Payload = dict[str, Any]
#: Where a value sits in a payload: keys and list indexes.
Path = tuple[str | int, ...]
#: Picks units by their event type and payload.
Selector = Callable[[str, Payload | None], bool]


def parse_mutations(spec: str | Iterable[str]) -> tuple[str, ...]:
    """The mutation names of ``spec`` (``"rename-field,move-usage"`` or a list of names),
    without duplicates, in :data:`MUTATIONS` order; ``""`` and ``"none"`` are none.
    :class:`UsageError` names an unknown one and lists the valid ones."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    names = {item.strip().lower() for item in items} - {"", "none"}
    unknown = sorted(names - set(MUTATIONS))
    if unknown:
        raise UsageError(f"unknown drift mutation {', '.join(unknown)} (valid: {', '.join(MUTATIONS)})")
    return tuple(name for name in MUTATIONS if name in names)


@dataclass(frozen=True, slots=True)
class Drifted:
    """A mutated body, the mutations that changed it and those that had nothing to act on."""

    body: bytes
    applied: tuple[str, ...]
    skipped: tuple[str, ...]
