"""Hypothesis strategies for the OpenAI Responses codec: knobs and expressible sequences.  No I/O.

``sequences()`` draws a plan -- response id and model, a list of blocks (text with
citations, refusal, reasoning with or without text and signature, function calls
with valid, invalid or empty arguments, server tool calls with results), each complete
or cut off, an optional usage snapshot and a terminal (every finish the API can
carry, or an error with a known or unknown code) -- and plays it through a
:class:`~conformance.vendors._builder.ResponseBuilder`, so that every sequence is made
the way the reference decoder makes its own.  Plans shrink towards fewer, shorter,
complete blocks and a plain ``stop``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from hypothesis import strategies as st

from conformance.events import ErrorCategory, Event, FinishReason, JSONValue
from conformance.strategies import fragments, json_values, texts, tool_arguments, unicode_texts
from conformance.vendors._builder import ResponseBuilder
from conformance.vendors.openai_responses._tables import SERVER_TOOL_BY_NAME, category_for_code
from conformance.vendors.openai_responses.encoder import FLAVOUR_KNOBS, Knobs

__all__ = ["knobs", "sequences"]

_ERROR_CODES = (
    None,
    "server_error",
    "rate_limit_exceeded",
    "insufficient_quota",
    "invalid_prompt",
    "context_length_exceeded",
    "vector_store_timeout",
    "bio_policy",
    "some_future_code",
)


@dataclass
class _Plan:
    kind: str
    pieces: list[str] = field(default_factory=list)
    complete: bool = True
    id: str | None = None
    name: str | None = None
    signature: str | None = None
    citations: list[JSONValue] = field(default_factory=list)
    result: JSONValue = None


_cut = st.booleans().map(lambda cut: not cut)  # shrinks to complete


@st.composite
def _text_block(draw: st.DrawFn) -> _Plan:
    kind = draw(st.sampled_from(["text", "refusal"]))
    plan = _Plan(kind, draw(st.lists(unicode_texts, max_size=4)), draw(_cut))
    if kind == "text":
        annotation: st.SearchStrategy[JSONValue] = st.fixed_dictionaries(
            {
                "type": st.just("url_citation"),
                "start_index": st.integers(0, 500),
                "end_index": st.integers(0, 500),
                "title": texts,
                "url": texts,
            }
        )
        plan.citations = draw(st.lists(annotation, max_size=2))
    return plan


@st.composite
def _reasoning_block(draw: st.DrawFn) -> _Plan:
    pieces = draw(st.lists(unicode_texts, max_size=4))
    return _Plan("reasoning", pieces, draw(_cut), signature=draw(st.none() | unicode_texts))


@st.composite
def _call_block(draw: st.DrawFn) -> _Plan:
    source = draw(
        st.one_of(
            tool_arguments(max_leaves=8).map(lambda a: json.dumps(a, ensure_ascii=False)),
            st.just(""),
            unicode_texts,  # not JSON: the end reports arguments_error
            st.integers(1, 300).map(lambda depth: '{"a":' * depth + "1" + "}" * depth),  # deep
            tool_arguments(max_leaves=60).map(lambda a: json.dumps(a, ensure_ascii=False)),  # big
        )
    )
    name = draw(unicode_texts)
    return _Plan("tool_call", draw(fragments(source, max_pieces=24)), draw(_cut), name=name)


@st.composite
def _server_block(draw: st.DrawFn) -> _Plan:
    tool = SERVER_TOOL_BY_NAME[draw(st.sampled_from(sorted(SERVER_TOOL_BY_NAME)))]
    complete = draw(_cut)
    plan = _Plan("server_tool_call", complete=complete, name=tool.name)
    non_null = json_values.filter(lambda v: v is not None)
    if complete:
        keys = draw(st.lists(st.sampled_from(tool.inputs), unique=True)) if tool.inputs else []
        args = {key: draw(non_null) for key in keys}
        if args:
            plan.pieces = draw(fragments(json.dumps(args, ensure_ascii=False, separators=(",", ":"))))
    with_result = draw(st.booleans())
    if tool.results and with_result:
        keys = draw(st.lists(st.sampled_from(tool.results), min_size=1, unique=True))
        plan.result = {key: draw(non_null) for key in keys}
    return plan


def _play(out: ResponseBuilder, key: int, plan: _Plan) -> None:
    if plan.kind in ("tool_call", "server_tool_call"):
        out.open(key, plan.kind, id=plan.id, name=plan.name)
    else:
        out.open(key, plan.kind)
    for piece in plan.pieces:
        out.delta(key, piece)
    out.end(key, incomplete=not plan.complete, signature=plan.signature)
    for number, citation in enumerate(plan.citations):
        out.open((key, "cite", number), "citation", data=citation)
        out.end((key, "cite", number))
    if plan.result is not None:
        out.open((key, "result"), "server_tool_result", id=plan.id, data=plan.result)
        out.end((key, "result"))


@st.composite
def sequences(draw: st.DrawFn) -> list[Event]:
    """A canonical sequence the Responses API can carry (see the module docstring)."""
    out = ResponseBuilder()
    response_id = draw(st.from_regex(r"\Aresp_[0-9a-f]{1,48}\Z") | unicode_texts)
    out.start(
        response_id=response_id, model=draw(st.sampled_from(["gpt-5-2025-08-07", "gpt-4o"]) | unicode_texts)
    )
    plans = draw(
        st.lists(st.one_of(_text_block(), _reasoning_block(), _call_block(), _server_block()), max_size=8)
    )
    calls_done = False
    for key, plan in enumerate(plans):
        if plan.kind == "tool_call":
            plan.id = f"call_{key}_" + draw(st.from_regex(r"\A[A-Za-z0-9]{0,24}\Z"))
            calls_done = calls_done or plan.complete
        elif plan.kind == "server_tool_call":
            plan.id = f"srv_{key}_" + draw(st.from_regex(r"\A[0-9a-f]{0,40}\Z"))
        _play(out, key, plan)
    counts = st.none() | st.integers(0, 2**40)
    if draw(st.booleans()):
        out.usage(
            input_tokens=draw(counts),
            output_tokens=draw(counts),
            cache_read=draw(counts),
            cache_write=draw(counts),
            reasoning_tokens=draw(counts),
        )
    ending = draw(st.sampled_from(["completed", "incomplete", "error"]))
    if ending == "completed":
        out.finish(FinishReason.TOOL_CALLS if calls_done else FinishReason.STOP, "completed")
    elif ending == "incomplete":
        raw = draw(
            st.sampled_from(["max_output_tokens", "content_filter", "max_messages", "incomplete"])
            | unicode_texts
        )
        reason = {"max_output_tokens": FinishReason.LENGTH, "content_filter": FinishReason.CONTENT_FILTER}
        out.finish(reason.get(raw, FinishReason.OTHER), raw)
    else:
        code = draw(st.sampled_from(_ERROR_CODES))
        category: ErrorCategory = category_for_code(code, code)
        out.error(category, draw(unicode_texts), code=code)
    return out.take()


def knobs() -> st.SearchStrategy[Knobs]:
    """Any rendering the encoder supports (flavour defaults included)."""
    return st.sampled_from(list(FLAVOUR_KNOBS.values())) | st.builds(
        Knobs,
        event_lines=st.booleans(),
        done_sentinel=st.booleans(),
        keepalive_comments=st.integers(0, 2),
        sequence_numbers=st.booleans(),
        first_sequence_number=st.integers(0, 10**6),
        first_event=st.sampled_from(["created", "queued"]),
        in_progress_event=st.booleans(),
        obfuscation=st.booleans(),
        seed=st.integers(0, 2**32),
        text_deltas=st.booleans(),
        argument_deltas=st.booleans(),
        part_done_events=st.booleans(),
        reasoning=st.sampled_from(["summary", "raw"]),
        encrypted_on_added=st.booleans(),
        item_ids=st.sampled_from(["openai", "openrouter", "uuid"]),
        error_event=st.booleans(),
        error_shape=st.sampled_from(["nested", "flat"]),
        cut_items_left_open=st.booleans(),
    )
