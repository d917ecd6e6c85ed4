"""Hypothesis strategies for the Cohere v1 chat codec: knobs and expressible sequences.  No I/O.

Strategy: a sequence is drawn as a *script* (text runs with citations inside them,
standalone plans and citations, tool turns of a plan and calls, usage, a terminal) and
played through a :class:`ResponseBuilder` in the order the decoder makes its calls: a
text or plan block ends when a block of the other kind or a call starts, the text block
stays open around citations, a turn's calls end together when the turn is over, and the
block open at the terminal is cut off by it.  Runs that would merge with the one before
(two texts or two plans with no call between) are left out.  ``streamed`` selects how
complete calls travel (``Knobs.tool_call_chunks``): streamed calls have any JSON split
anywhere; calls sent only whole have the compact serialisation of their value as one
fragment.  So every sequence is one the decoder can produce under every :func:`knobs` of
the same ``streamed``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from conformance.events import ErrorCategory, Event, JSONValue
from conformance.strategies import fragments, json_values, tool_arguments, unicode_texts
from conformance.vendors._builder import ResponseBuilder
from conformance.vendors.cohere_chat_v1.decoder import (
    FAILURE_REASONS,
    CohereChatV1Decoder,
    failure_message,
    finish_reason_for,
    serialise_parameters,
)
from conformance.vendors.cohere_chat_v1.encoder import Knobs

__all__ = ["knobs", "sequences"]

#: Every finish reason Cohere v1 documents that is not a failure, plus one it may add later.
_FINISH_RAW = ("COMPLETE", "MAX_TOKENS", "ERROR_TOXIC", "USER_CANCEL", "STOP_SEQUENCE")


def knobs(streamed: bool = True) -> st.SearchStrategy[Knobs]:
    """Every rendering Cohere v1 (or a proxy in front of it) can produce; ``streamed`` fixes
    ``tool_call_chunks``."""
    return st.builds(
        Knobs,
        is_finished=st.booleans(),
        eol=st.sampled_from(["\n", "\r\n"]),
        blank_lines=st.booleans(),
        final_newline=st.booleans(),
        go_escapes=st.booleans(),
        ascii_json=st.booleans(),
        tool_call_chunks=st.just(streamed),
        plan_field=st.sampled_from(["text", "tool_call_delta"]),
        citations_together=st.booleans(),
        billed_units=st.booleans(),
    )


def _deep(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": "é"}
    for i in range(depth):
        value = {f"k{i % 3}": [value]}
    return value


_values: st.SearchStrategy[JSONValue] = st.one_of(
    tool_arguments(),
    tool_arguments(),
    st.integers(1, 200).map(_deep),
    st.integers(1_000, 40_000).map(lambda n: {"blob": "x" * n, "n": 1}),
    json_values,  # not an object: reported through arguments_error
)


@st.composite
def _streamed_arguments(draw: st.DrawFn) -> list[str]:
    """A complete call's argument JSON as Cohere may split it, pretty or compact, or nothing."""
    if draw(st.integers(0, 5)) == 0:
        return []
    indent = draw(st.sampled_from([None, 4]))
    text = json.dumps(draw(_values), ensure_ascii=draw(st.booleans()), indent=indent)
    return draw(fragments(text, max_pieces=16))


_citation = st.fixed_dictionaries(
    {
        "start": st.integers(0, 10_000),
        "end": st.integers(0, 10_000),
        "text": unicode_texts,
        "document_ids": st.lists(unicode_texts, max_size=3),
    }
)
_text_parts = unicode_texts.flatmap(fragments)


@dataclass(frozen=True, slots=True)
class _Call:
    name: str
    parts: list[str]


@dataclass(slots=True)
class _Segment:
    """One step of a script: a text run (citations after some of its fragments), a plan,
    standalone citations, or a tool turn (an optional plan, then calls)."""

    kind: str
    parts: list[str] = field(default_factory=list)
    citations: dict[int, list[Any]] = field(default_factory=dict)  # after fragment n
    calls: list[_Call] = field(default_factory=list)


@st.composite
def _segment(draw: st.DrawFn, streamed: bool) -> _Segment:
    kind = draw(st.sampled_from(["text", "text", "plan", "citations", "turn", "turn"]))
    if kind == "text":
        parts = draw(_text_parts)
        spots = st.integers(0, len(parts) - 1)
        citations = draw(st.dictionaries(spots, st.lists(_citation, min_size=1, max_size=2), max_size=2))
        return _Segment("text", parts, citations)
    if kind == "plan":
        return _Segment("plan", draw(_text_parts))
    if kind == "citations":
        return _Segment("citations", citations={0: draw(st.lists(_citation, min_size=1, max_size=3))})
    if streamed:
        call = st.builds(_Call, unicode_texts, _streamed_arguments())
    else:
        call = st.builds(_Call, unicode_texts, _values.map(lambda v: [serialise_parameters(v)]))
    many = draw(st.integers(0, 9)) == 9
    calls = draw(st.lists(call, min_size=10, max_size=30) if many else st.lists(call, min_size=1, max_size=3))
    plan = draw(st.just([]) | _text_parts)
    return _Segment("turn", plan, calls=calls)


class _Player:
    """Plays a script through a builder in the order the decoder makes its calls."""

    def __init__(self) -> None:
        self.b = ResponseBuilder()
        self.n = 0
        self.stream: tuple[int, str] | None = None  # the open text or plan block
        self.calls: list[int] = []  # the open calls of the turn
        self.made_calls = False

    def _new(self, kind: str, **header: Any) -> int:
        key = self.n
        self.n += 1
        self.b.open(key, kind, **header)
        return key

    def end_stream(self) -> None:
        if self.stream is not None:
            self.b.end(self.stream[0])
            self.stream = None

    def end_turn(self) -> None:
        for key in self.calls:
            self.b.end(key)
        self.calls = []

    def fragment(self, kind: str, text: str) -> None:
        if self.stream is None or self.stream[1] != kind:
            self.end_stream()
            self.stream = (self._new(kind), kind)
        self.b.delta(self.stream[0], text)

    def citations(self, items: list[Any]) -> None:
        for data in items:
            self.b.end(self._new("citation", data=data))

    def call(self, name: str, parts: list[str]) -> None:
        self.end_stream()
        key = self._new("tool_call", name=name)
        self.made_calls = True
        for part in parts:
            self.b.delta(key, part)
        self.calls.append(key)


_counts = st.none() | st.integers(0, 2**31)


@st.composite
def sequences(draw: st.DrawFn, streamed: bool = True) -> list[Event]:
    """A canonical sequence Cohere v1 can express under every :func:`knobs` of ``streamed``."""
    p = _Player()
    p.b.start(response_id=draw(st.none() | st.uuids().map(str) | unicode_texts))
    pick = draw(st.integers(0, 6))  # 0-3 finish, 4-5 a failure, 6 a cut-off stream
    raw = draw(st.sampled_from(_FINISH_RAW if pick < 4 else sorted(FAILURE_REASONS)))
    last_kind: str | None = None  # kind of the text/plan run a new run would merge into
    for segment in draw(st.lists(_segment(streamed), max_size=5)):
        run_kind = {"text": "text", "plan": "reasoning", "turn": "reasoning"}.get(segment.kind)
        if segment.kind in ("text", "plan") and run_kind == last_kind:
            continue
        if segment.kind != "turn":
            p.end_turn()  # a block that is not a call ends the turn (its generation goes out)
        if segment.kind == "citations":
            p.citations(segment.citations[0])
            continue
        if segment.kind != "turn":
            for n, part in enumerate(segment.parts):
                p.fragment(run_kind or "text", part)
                p.citations(segment.citations.get(n, []))
            last_kind = run_kind
            continue
        if segment.parts and last_kind != "reasoning":
            p.end_turn()
            for part in segment.parts:
                p.fragment("reasoning", part)
        for call in segment.calls:
            p.call(call.name, call.parts)
        last_kind = None
    p.end_turn()  # complete calls: their generation goes out before the terminal
    if (pick >= 4 or raw == "MAX_TOKENS") and draw(st.booleans()):
        p.call(draw(unicode_texts), draw(st.lists(unicode_texts, max_size=3)))  # cut off: any text
    if pick == 6:
        p.b.error(ErrorCategory.PROTOCOL, f"the stream ended without {CohereChatV1Decoder.TERMINATOR}")
        return p.b.take()
    p.b.usage(input_tokens=draw(_counts), output_tokens=draw(_counts))
    if pick < 4:
        p.b.finish(finish_reason_for(raw, tool_calls=p.made_calls), raw)
    else:
        p.b.error(FAILURE_REASONS[raw], failure_message(raw), code=raw)
    return p.b.take()
