"""Hypothesis strategies for the Cohere v2 Chat codec: knobs and expressible sequences.  No I/O.

Strategy: a sequence is drawn as a *script* (blocks with their fragments, usage, a
terminal) and played through a :class:`ResponseBuilder`, the same one the decoder
drives, with the decoder's own reason and category tables; so every sequence is one the
decoder can produce, under every :func:`knobs`.  Blocks are sequential (Cohere streams
one block at a time), the last block may be cut off by the terminal, and reasoning blocks
are rendered as thinking content or as tool plans depending on what follows them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from conformance.events import ErrorCategory, Event, JSONValue
from conformance.strategies import fragments, json_objects, tool_arguments, unicode_texts
from conformance.vendors._builder import ResponseBuilder
from conformance.vendors.cohere_chat.decoder import (
    CohereChatDecoder,
    failure_category,
    failure_message,
    finish_reason_for,
)
from conformance.vendors.cohere_chat.encoder import Knobs

__all__ = ["knobs", "sequences"]

#: Every finish reason Cohere documents, plus one it may add later.
_FINISH_RAW = ("COMPLETE", "STOP_SEQUENCE", "MAX_TOKENS", "TOOL_CALL", "USER_CANCEL")


def knobs() -> st.SearchStrategy[Knobs]:
    """Every rendering Cohere (or a proxy in front of it) can produce."""
    return st.builds(
        Knobs,
        done=st.booleans(),
        event_names=st.booleans(),
        eol=st.sampled_from(["\n", "\r\n"]),
        space_after_colon=st.booleans(),
        final_blank_line=st.booleans(),
        ascii_json=st.booleans(),
        billed_units=st.booleans(),
        empty_usage=st.booleans(),
        missing_id=st.sampled_from(["omit", "null"]),
        message_skeleton=st.booleans(),
        tool_plans=st.booleans(),
    )


def _deep(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": "é"}
    for i in range(depth):
        value = {f"k{i % 3}": [value]}
    return value


@st.composite
def _argument_fragments(draw: st.DrawFn) -> list[str]:
    """Raw argument JSON as Cohere may split it: any object, pretty or compact, or nothing."""
    shape = draw(st.sampled_from(["object", "object", "empty", "deep", "huge", "invalid"]))
    if shape == "empty":
        return []
    if shape == "invalid":
        return draw(st.lists(unicode_texts, min_size=1, max_size=4))
    if shape == "deep":
        value: Any = _deep(draw(st.integers(1, 200)))
    elif shape == "huge":
        value = {"blob": "x" * draw(st.integers(1_000, 40_000)), "n": 1}
    else:
        value = draw(tool_arguments())
    indent = draw(st.sampled_from([None, 4]))
    text = json.dumps(value, ensure_ascii=draw(st.booleans()), indent=indent)
    return draw(fragments(text, max_pieces=16))


_citations = st.one_of(
    st.fixed_dictionaries(
        {
            "start": st.integers(0, 10_000),
            "end": st.integers(0, 10_000),
            "text": unicode_texts,
            "sources": st.lists(json_objects, max_size=2),
        },
        optional={"type": st.just("TEXT_CONTENT"), "content_index": st.integers(0, 5)},
    ),
    json_objects,
)


@dataclass(frozen=True, slots=True)
class _Block:
    """One block of a drawn script."""

    kind: str
    parts: list[str]
    id: str | None = None
    name: str | None = None
    data: JSONValue = None


@dataclass(frozen=True, slots=True)
class _Terminal:
    """How a drawn script ends: ``finish``, ``failure`` (ERROR/TIMEOUT) or ``cut`` (no message-end)."""

    kind: str
    raw: str = ""
    message: str | None = None
    error_type: str | None = None


_text_parts = unicode_texts.flatmap(fragments)
_tool_call = st.builds(
    _Block, st.just("tool_call"), _argument_fragments(), st.none() | unicode_texts, unicode_texts
)
_block = st.one_of(
    st.builds(_Block, st.just("text"), _text_parts | st.just([])),
    st.builds(_Block, st.just("reasoning"), _text_parts | st.just([])),
    _tool_call,
    st.builds(_Block, st.just("citation"), st.just([]), data=_citations),
)
#: A tool turn: the tool plan (reasoning with text), then the calls.
_tool_turn = st.tuples(
    st.builds(_Block, st.just("reasoning"), _text_parts), st.lists(_tool_call, min_size=1, max_size=3)
).map(lambda turn: [turn[0], *turn[1]])
_many_calls = st.lists(
    st.builds(_Block, st.just("tool_call"), st.just(['{"i":', "1}"]), unicode_texts, unicode_texts),
    min_size=10,
    max_size=40,
)
_segments = st.lists(_block.map(lambda block: [block]) | _tool_turn, max_size=4)

_finish = st.builds(_Terminal, st.just("finish"), st.sampled_from(_FINISH_RAW))
_failure = st.builds(
    _Terminal,
    st.just("failure"),
    st.sampled_from(["ERROR", "TIMEOUT"]),
    st.none() | unicode_texts,
    st.none() | st.sampled_from(["INVALID_TOOL_GENERATION", "X_NEW"]),
)
_cut_off = st.builds(_Terminal, st.just("cut"))
_counts = st.none() | st.integers(0, 2**31)


@st.composite
def sequences(draw: st.DrawFn) -> list[Event]:
    """A canonical sequence Cohere can express under every :func:`knobs`."""
    b = ResponseBuilder()
    b.start(response_id=draw(st.none() | st.uuids().map(str) | unicode_texts))
    # Explicit weights (one_of would pick its branches evenly): mostly ordinary turns.
    many = draw(st.integers(0, 7)) == 7
    blocks = draw(_many_calls) if many else [block for segment in draw(_segments) for block in segment]
    pick = draw(st.integers(0, 6))
    terminal = draw(_finish if pick < 4 else _failure if pick < 6 else _cut_off)
    cut_last = draw(st.booleans())
    ids: set[str] = set()
    for n, block in enumerate(blocks):
        call_id = block.id
        if call_id is not None:
            call_id = call_id if call_id not in ids else f"{call_id}#{n}"
            ids.add(call_id)
        b.open(n, block.kind, id=call_id, name=block.name, data=block.data)
        for part in block.parts:
            b.delta(n, part)
        if not (cut_last and n == len(blocks) - 1):
            b.end(n)
    if terminal.kind == "cut":
        b.error(ErrorCategory.PROTOCOL, f"the stream ended without {CohereChatDecoder.TERMINATOR}")
        return b.take()
    usage = draw(st.tuples(_counts, _counts, _counts))
    b.usage(input_tokens=usage[0], output_tokens=usage[1], cache_read=usage[2])
    raw = terminal.raw
    if terminal.kind == "finish":
        b.finish(finish_reason_for(raw, tool_calls=any(x.kind == "tool_call" for x in blocks)), raw)
    else:
        category = failure_category(raw, terminal.error_type)
        b.error(category, terminal.message or failure_message(raw), code=terminal.error_type or raw)
    return b.take()
