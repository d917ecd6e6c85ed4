"""Render scenarios into synthetic corpus cases, in memory.  No I/O.

For each scenario and target: lay out the canonical sequence, encode the wire script
with the target's encoder and knobs, apply the target's post-process and the
scenario's cut or injection, and decode the bytes with the reference decoder.  The
case exists only when the decoder gives back *exactly* the authored sequence (strict
equality of events); otherwise the target is skipped with the reason (the encoder's
:class:`~conformance.errors.UsageError`, or the first event where the decoding differs).
The expected sequence is always the authored one; only the message of a
``protocol``/``decode`` error, which is the producer's own words, is taken from the
reference decoder (:data:`~conformance.scenarios.script.PRODUCER_WORDS`).

``tools/render_synthetic.py`` writes the results with
:func:`conformance.cassettes.write_case`; the tests re-render them to compare.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from conformance.errors import UsageError
from conformance.events import (
    BlockStart,
    Error,
    ErrorCategory,
    Event,
    Finish,
    JSONObject,
    JSONValue,
    Unknown,
    dumps,
)
from conformance.framing.messages import SSEEvent
from conformance.framing.sse import encode_event
from conformance.registry import get_codec
from conformance.scenarios.facts import (
    ANTHROPIC,
    BEDROCK,
    CHAT,
    GEMINI,
    OLLAMA,
    RESPONSES,
    Facts,
    request_for,
)
from conformance.scenarios.posts import POSTS, cut, inject
from conformance.scenarios.scenario import Scenario, tier_of
from conformance.scenarios.script import PRODUCER_WORDS
from conformance.vendors.openai_chat.encoder import flavour_knobs

__all__ = ["Rendered", "Skip", "case_name", "render", "render_all", "target_quirks"]


@dataclass(frozen=True, slots=True)
class Rendered:
    """One synthetic case, ready for :func:`conformance.cassettes.write_case`."""

    scenario: Scenario
    facts: Facts
    manifest: JSONObject
    body: bytes
    events: list[Event]

    @property
    def case_id(self) -> str:
        return str(self.manifest["id"])


@dataclass(frozen=True, slots=True)
class Skip:
    """A scenario a target cannot express exactly, and why."""

    scenario: str
    target: str
    reason: str


def case_name(scenario: Scenario, facts: Facts) -> str:
    return f"synthetic-{scenario.name}{facts.name_suffix}"


def _knobs(facts: Facts) -> tuple[Any, dict[str, Any]]:
    """The encoder knobs for the target, and how they differ from the codec's defaults."""
    codec = get_codec(facts.api)
    base = codec.knobs
    if facts.api == CHAT:
        base = flavour_knobs(facts.flavour)
    elif facts.api == GEMINI:
        base = dataclasses.replace(base, flavour=facts.flavour, framing=facts.framing)
    elif facts.api == OLLAMA:
        base = dataclasses.replace(base, flavour=facts.flavour)
    knobs = dataclasses.replace(base, **facts.knobs)
    default, chosen = dataclasses.asdict(codec.knobs), dataclasses.asdict(knobs)
    return knobs, {k: v for k, v in chosen.items() if default[k] != v}


def target_quirks(facts: Facts, events: list[Event], knobs: dict[str, Any]) -> list[str]:
    """The quirk ids a target's stream of ``events`` shows by the vendor's usual form."""
    starts = [e for e in events if isinstance(e, BlockStart)]
    kinds = {e.kind for e in starts}
    calls = [e for e in starts if e.kind == "tool_call"]
    out = list(facts.quirks)
    if (
        facts.api == CHAT
        and calls
        and facts.calls == "fragments"
        and knobs.get("tool_calls", "fragments") == "fragments"
    ):
        out.append("openai.chat.tool_call_id_only_in_first_fragment")
    if facts.api == CHAT and facts.flavour == "openai" and any(e.TYPE == "usage" for e in events):
        out.append("openai.chat.usage_only_final_chunk")
    if facts.api == ANTHROPIC and calls:
        out.append("anthropic.input_json_delta.empty_first")
    if facts.api == BEDROCK and kinds & {"text", "reasoning"}:
        out.append("bedrock.text_block_without_start")
    if facts.api == BEDROCK and calls:
        out.append("bedrock.tool_input_string_deltas")
    if facts.api == GEMINI and calls:
        out.append("gemini.function_call_id_optional")
        last_start = starts[-1]
        if last_start.kind == "tool_call" and isinstance(events[-1], Finish):
            out.append("gemini.function_call_whole_with_finish")
    if facts.api == RESPONSES and calls:
        out.append("responses.item_id_vs_call_id")
    if facts.api == OLLAMA and calls:
        out.append("ollama.tool_calls_complete_objects")
    return out


def _explain(want: list[Event], got: list[Event]) -> str:
    at = next(
        (i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b), min(len(want), len(got))
    )
    mine = dumps(want[at]) if at < len(want) else "nothing"
    theirs = dumps(got[at]) if at < len(got) else "nothing"
    return f"event {at} decodes as {theirs} instead of {mine}"


def _words(expected: list[Event], got: list[Event]) -> list[Event]:
    """``expected`` with the producer's words for its protocol/decode message."""
    last = expected[-1] if expected else None
    if isinstance(last, Error) and last.message == PRODUCER_WORDS:
        theirs = got[-1] if got else None
        if isinstance(theirs, Error) and theirs.category in (ErrorCategory.PROTOCOL, ErrorCategory.DECODE):
            return [*expected[:-1], dataclasses.replace(last, message=theirs.message)]
    return expected


def wire_body(scenario: Scenario, facts: Facts) -> bytes:
    """The bytes of the case (UsageError when the target cannot render it)."""
    knobs, _ = _knobs(facts)
    wire = [e for e in scenario.wire_events(facts) if not isinstance(e, Unknown)]
    body = get_codec(facts.api).encode(wire, knobs)
    if facts.post is not None:
        body = POSTS[facts.post](body)
    if scenario.cut is not None:
        body = cut(body, facts.framing, *scenario.cut)
    if scenario.inject is not None:
        if facts.framing != "sse":
            raise UsageError(f"{facts.api} is not SSE: an SSE payload cannot be injected")
        marker, data = scenario.inject
        body = inject(body, facts.framing, marker, encode_event(SSEEvent(data=data)))
    return body


def render(scenario: Scenario, facts: Facts) -> Rendered | Skip:
    """The case of ``scenario`` for ``facts``, or why there is none."""
    target = f"{facts.api} ({facts.flavour}{', ' + facts.variant if facts.variant else ''})"
    try:
        expected = scenario.events(facts)
        body = wire_body(scenario, facts)
    except UsageError as exc:
        return Skip(scenario.name, target, exc.message)
    decoder = get_codec(facts.api).new_decoder(facts.flavour, framing=facts.framing)
    got = [*decoder.feed(body), *decoder.close()]
    expected = _words(expected, got)
    if got != expected:
        return Skip(scenario.name, target, f"not expressed exactly: {_explain(expected, got)}")
    _, knob_diff = _knobs(facts)
    quirks: list[JSONValue] = []
    for quirk in (
        *scenario.quirks,
        *scenario.api_quirks.get(facts.api, ()),
        *target_quirks(facts, expected, knob_diff),
    ):
        if quirk not in quirks:
            quirks.append(quirk)
    name = case_name(scenario, facts)
    source: JSONObject = {"kind": "synthetic", "scenario": scenario.name, "knobs": knob_diff}
    if facts.post is not None:
        source["knobs"] = {**knob_diff, "post": facts.post}
    manifest: JSONObject = {
        "id": f"{facts.api}/{name}",
        "api": facts.api,
        "flavour": facts.flavour,
        "framing": facts.framing,
        "description": scenario.intent,
        "quirks": quirks,
        "tier": tier_of(expected),
        "source": source,
        "stream": {"content_type": facts.content_type},
        "chunks": None,
        "request": {
            "method": "POST",
            "path": facts.path,
            "query": dict(facts.query),
            "headers": {"content-type": "application/json"},
            "body": request_for(facts, scenario.prompt, scenario.tools, reasoning=scenario.reasoning),
            "recordable": scenario.recordable,
        },
        "expected": {"reviewed": True},
    }
    return Rendered(scenario, facts, manifest, body, expected)


def render_all(scenarios: tuple[Scenario, ...]) -> Iterator[Rendered | Skip]:
    """Every scenario for every one of its targets, in order."""
    for scenario in scenarios:
        for facts in scenario.all_targets():
            yield render(scenario, facts)
