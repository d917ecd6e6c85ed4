"""The :class:`Scenario` record: one reviewable definition of a synthetic case family.  No I/O.

A scenario names its intent (the case description), the quirk ids it exercises, and
how to make its :class:`~conformance.scenarios.script.Script` for a target.  It is
rendered for every API's usual target unless it lists its own ``targets``.  Most
scenarios render the script they expect; a *cut* or *injected* scenario renders a
longer ``wire`` script, then cuts the bytes (or slips a broken message in) at a stated
marker, and expects the shorter ``script``.

The tier follows from the content (cassettes/README.md, "Tiers"): a sequence with a
reasoning, citation or server-tool block is optional, anything else required.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from conformance.events import BlockStart, Event
from conformance.scenarios.facts import APIS, Facts, default_facts
from conformance.scenarios.script import Script, layout

__all__ = ["OPTIONAL_KINDS", "Scenario", "tier_of"]

#: Block kinds an adapter may legitimately leave out.
OPTIONAL_KINDS = frozenset({"reasoning", "citation", "server_tool_call", "server_tool_result"})


def tier_of(events: list[Event]) -> str:
    """``optional`` when the sequence holds a block an adapter may leave out."""
    kinds = {e.kind for e in events if isinstance(e, BlockStart)}
    return "optional" if kinds & OPTIONAL_KINDS else "required"


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """One synthetic case family (see the module docstring)."""

    name: str
    #: What the stream shows: one declarative phrase of at most 70 characters.
    intent: str
    script: Callable[[Facts], Script]
    quirks: tuple[str, ...] = ()
    #: Extra quirk ids per API (the vendor-specific form the scenario takes there).
    api_quirks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: The targets; empty: every API's usual target.
    targets: tuple[Facts, ...] = ()
    #: The script rendered when it differs from the expected one (cuts, injections).
    wire: Callable[[Facts], Script] | None = None
    #: Cut the rendered bytes at the message holding a marker: inside it or before it.
    cut: tuple[str, Literal["inside", "before"]] | None = None
    #: Put an SSE ``data:`` payload right before the message holding a marker.
    inject: tuple[str, str] | None = None
    #: The request: the user's prompt, tool names, whether reasoning was asked for.
    prompt: str = "Say hello."
    tools: tuple[str, ...] = ()
    reasoning: bool = False
    #: The request body is complete: a vendor would accept it (live re-recording).
    recordable: bool = False

    def all_targets(self) -> tuple[Facts, ...]:
        return self.targets or tuple(default_facts(api) for api in APIS)

    def events(self, facts: Facts) -> list[Event]:
        """The expected canonical sequence for ``facts`` (protocol/decode messages are
        still :data:`~conformance.scenarios.script.PRODUCER_WORDS`)."""
        return layout(self.script(facts), facts)

    def wire_events(self, facts: Facts) -> list[Event]:
        """The sequence the encoder renders for ``facts``."""
        return layout((self.wire or self.script)(facts), facts)
