"""The Cohere v2 Chat codec (``cohere/chat``): real recordings, quirks, round trip, fuzz."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.events import (
    BlockDelta,
    BlockEnd,
    BlockStart,
    Error,
    ErrorCategory,
    ErrorPhase,
    Event,
    Finish,
    FinishReason,
    JSONObject,
    ResponseStart,
    Unknown,
    Usage,
)
from conformance.framing import sse
from conformance.framing.messages import SSEComment, SSEEvent
from conformance.grammar import check
from conformance.reframe import reframe
from conformance.schemas import validate_json
from conformance.vendors.cohere_chat import CODEC, Knobs
from conformance.vendors.cohere_chat.strategies import knobs, sequences
from tests.helpers import REFERENCE_STREAMS, split_at
from tests.vendors.helpers import (
    assert_round_trip,
    assert_rule_abiding,
    decode,
    decode_every_chunking,
    load_expected,
    payloads_of,
)

SCHEMA = CODEC.payload_schema
RECORDINGS = [
    "cohere__text.txt",
    "cohere__tool-plan-then-tool-call.txt",
    "cohere__in-stream-error-invalid-tool-generation.txt",
    "cohere__thinking-payloads.txt",
]


def _recording(name: str) -> bytes:
    path = REFERENCE_STREAMS / name
    if not path.is_file():
        pytest.skip(f"reference stream {name} is not available")
    body = path.read_bytes()
    return reframe(body, api="cohere/chat") if name.endswith("-payloads.txt") else body


def _wire(*payloads: Any, names: bool = True) -> bytes:
    """An SSE body: each payload (a dict, or raw data text) as one event named after its type."""
    items = []
    for p in payloads:
        if isinstance(p, str):
            items.append(SSEEvent(data=p))
        else:
            items.append(SSEEvent(event=p.get("type") if names else None, data=json.dumps(p)))
    return sse.encode(items)


START = {"id": "m-1", "type": "message-start", "delta": {"message": {"role": "assistant"}}}
END = {
    "type": "message-end",
    "delta": {"finish_reason": "COMPLETE", "usage": {"tokens": {"input_tokens": 3, "output_tokens": 2}}},
}


def _text(index: int, *parts: str) -> list[Any]:
    return [
        {
            "type": "content-start",
            "index": index,
            "delta": {"message": {"content": {"type": "text", "text": ""}}},
        },
        *(
            {"type": "content-delta", "index": index, "delta": {"message": {"content": {"text": p}}}}
            for p in parts
        ),
        {"type": "content-end", "index": index},
    ]


def _call(index: int, call_id: str, name: str, *parts: str) -> list[Any]:
    start = {"id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
    return [
        {"type": "tool-call-start", "index": index, "delta": {"message": {"tool_calls": start}}},
        *(
            {
                "type": "tool-call-delta",
                "index": index,
                "delta": {"message": {"tool_calls": {"function": {"arguments": p}}}},
            }
            for p in parts
        ),
        {"type": "tool-call-end", "index": index},
    ]


def _plan(*parts: str) -> list[Any]:
    return [{"type": "tool-plan-delta", "delta": {"message": {"tool_plan": p}}} for p in parts]


def _only(events: list[Event], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def _block_text(events: list[Event], block: int) -> str:
    return "".join(e.text for e in events if isinstance(e, BlockDelta) and e.block == block)


# -- 1. real recordings --------------------------------------------------------------


@pytest.mark.parametrize("name", RECORDINGS)
def test_recording_decodes_to_its_reviewed_sequence_under_every_chunking(name: str) -> None:
    events = decode_every_chunking(CODEC, _recording(name))
    assert_rule_abiding(events)
    assert events == load_expected(name.rsplit(".", 1)[0])


def _facts(name: str) -> tuple[list[dict[str, Any]], list[Event]]:
    body = _recording(name)
    return payloads_of(body), decode(CODEC, [body])


def test_text_recording_facts_come_straight_from_the_payloads() -> None:
    payloads, events = _facts("cohere__text.txt")
    text = "".join(p["delta"]["message"]["content"]["text"] for p in payloads if p["type"] == "content-delta")
    end = payloads[-1]["delta"]
    assert _block_text(events, 0) == text
    assert events[0] == ResponseStart(response_id=payloads[0]["id"])
    assert _only(events, Usage) == [
        Usage(
            input_tokens=end["usage"]["tokens"]["input_tokens"],
            output_tokens=end["usage"]["tokens"]["output_tokens"],
        )
    ]
    assert events[-1] == Finish(reason=FinishReason.STOP, raw_reason=end["finish_reason"])


def test_tool_plan_recording_facts_come_straight_from_the_payloads() -> None:
    payloads, events = _facts("cohere__tool-plan-then-tool-call.txt")
    plan = "".join(p["delta"]["message"]["tool_plan"] for p in payloads if p["type"] == "tool-plan-delta")
    start = next(p for p in payloads if p["type"] == "tool-call-start")["delta"]["message"]["tool_calls"]
    args = "".join(
        p["delta"]["message"]["tool_calls"]["function"]["arguments"]
        for p in payloads
        if p["type"] == "tool-call-delta"
    )
    assert _only(events, BlockStart) == [
        BlockStart(block=0, kind="reasoning"),
        BlockStart(block=1, kind="tool_call", id=start["id"], name=start["function"]["name"]),
    ]
    assert _block_text(events, 0) == plan
    assert _block_text(events, 1) == args
    assert _only(events, BlockEnd)[1] == BlockEnd(block=1, arguments_raw=args, arguments=json.loads(args))
    tokens = payloads[-1]["delta"]["usage"]["tokens"]
    assert _only(events, Usage) == [
        Usage(input_tokens=tokens["input_tokens"], output_tokens=tokens["output_tokens"])
    ]
    assert events[-1] == Finish(reason=FinishReason.TOOL_CALLS, raw_reason="TOOL_CALL")


def test_in_stream_error_recording_facts_come_straight_from_the_payloads() -> None:
    """Quirk 28 (cohere.error_via_finish_reason) on the real stream."""
    payloads, events = _facts("cohere__in-stream-error-invalid-tool-generation.txt")
    plan = "".join(p["delta"]["message"]["tool_plan"] for p in payloads if p["type"] == "tool-plan-delta")
    end = payloads[-1]["delta"]
    assert end["finish_reason"] == "ERROR"
    assert _block_text(events, 0) == plan
    assert _only(events, BlockEnd) == [BlockEnd(block=0, incomplete=True)]
    assert not _only(events, Usage)  # usage: {}
    assert events[-1] == Error(
        category=ErrorCategory.INVALID_REQUEST,
        message=end["error"],
        retryable=False,
        phase=ErrorPhase.MID_STREAM,
        code=end["error_type"],
    )


def test_thinking_recording_facts_come_straight_from_the_payloads() -> None:
    """Quirk 63 (reasoning.field_names_vary): Cohere's ``content.thinking``."""
    payloads, events = _facts("cohere__thinking-payloads.txt")
    content = [p["delta"]["message"]["content"] for p in payloads if p["type"] == "content-delta"]
    assert _only(events, BlockStart) == [
        BlockStart(block=0, kind="reasoning"),
        BlockStart(block=1, kind="text"),
    ]
    assert _block_text(events, 0) == "".join(c["thinking"] for c in content if "thinking" in c)
    assert _block_text(events, 1) == "".join(c["text"] for c in content if "text" in c)
    usage = payloads[-1]["delta"]["usage"]
    assert _only(events, Usage) == [
        Usage(
            input_tokens=usage["tokens"]["input_tokens"],
            output_tokens=usage["tokens"]["output_tokens"],
            cache_read=usage["cached_tokens"],
        )
    ]


# -- 2. schema ------------------------------------------------------------------------


@pytest.mark.parametrize("name", RECORDINGS)
def test_every_recorded_payload_validates_against_the_schema(name: str) -> None:
    for i, payload in enumerate(payloads_of(_recording(name))):
        assert validate_json(SCHEMA, payload, path=f"payload[{i}]") == []


def test_schema_requires_what_the_decoder_depends_on() -> None:
    assert validate_json(SCHEMA, {"type": "tool-call-delta", "index": 0, "delta": {"message": {}}})
    assert validate_json(SCHEMA, {"type": "content-end"})
    assert validate_json(SCHEMA, {"type": "no-such-event"})


# -- 3. quirks ------------------------------------------------------------------------


def test_quirk_10_dispatch_is_on_the_json_type_not_the_event_name() -> None:
    named = decode_every_chunking(CODEC, _wire(START, *_text(0, "hi"), END, "[DONE]"))
    unnamed = decode_every_chunking(CODEC, _wire(START, *_text(0, "hi"), END, "[DONE]", names=False))
    wrong = _wire(START, *_text(0, "hi"), END).replace(b"event: content-delta", b"event: message-end")
    assert named == unnamed == decode_every_chunking(CODEC, wrong)
    assert _block_text(named, 0) == "hi"


def test_quirk_29_done_after_message_end_is_accepted_and_optional() -> None:
    with_done = decode_every_chunking(CODEC, _wire(START, *_text(0, "a"), END, "[DONE]"))
    without = decode_every_chunking(CODEC, _wire(START, *_text(0, "a"), END))
    assert with_done == without
    assert with_done[-1] == Finish(reason=FinishReason.STOP, raw_reason="COMPLETE")
    assert_rule_abiding(with_done)


def test_quirk_29_done_before_message_end_is_a_protocol_error() -> None:
    events = decode_every_chunking(CODEC, _wire(START, *_text(0, "a")[:2], "[DONE]"))
    assert events[-2] == BlockEnd(block=0, incomplete=True)
    last = events[-1]
    assert isinstance(last, Error)
    assert last.category is ErrorCategory.PROTOCOL
    assert "[DONE]" in last.message


def test_payloads_after_the_terminal_are_reported_as_unknown() -> None:
    extra: JSONObject = {
        "type": "content-delta",
        "index": 0,
        "delta": {"message": {"content": {"text": "late"}}},
    }
    events = decode(CODEC, [_wire(START, *_text(0, "a"), END, extra, "[DONE]")])
    assert events[-1] == Unknown(vendor_type="content-delta", raw=extra)
    assert_rule_abiding(events)


def test_stream_ending_before_message_end_is_a_protocol_error_never_a_finish() -> None:
    events = decode_every_chunking(CODEC, _wire(START, *_text(0, "cut"), *_call(0, "c1", "f", '{"a":1}')))
    last = events[-1]
    assert isinstance(last, Error)
    assert (last.category, last.message) == (ErrorCategory.PROTOCOL, "the stream ended without message-end")
    assert _block_text(events, 0) == "cut"  # text delivered before the failure is kept


def test_quirk_28_error_finish_reason_becomes_an_error_event_with_the_vendor_type() -> None:
    end = {
        "type": "message-end",
        "delta": {"finish_reason": "ERROR", "usage": {}, "error": "boom", "error_type": "X_NEW"},
    }
    events = decode_every_chunking(CODEC, _wire(START, end, "[DONE]"))
    assert events[-1] == Error(
        category=ErrorCategory.UNKNOWN,
        message="boom",
        retryable=False,
        phase=ErrorPhase.BEFORE_OUTPUT,
        code="X_NEW",
    )


def test_timeout_finish_reason_becomes_a_retryable_timeout_error() -> None:
    end = {"type": "message-end", "delta": {"finish_reason": "TIMEOUT"}}
    events = decode_every_chunking(CODEC, _wire(START, *_text(0, "par"), end, "[DONE]"))
    assert events[-1] == Error(
        category=ErrorCategory.TIMEOUT,
        message="Cohere ended the response with finish_reason TIMEOUT",
        retryable=True,
        phase=ErrorPhase.MID_STREAM,
        code="TIMEOUT",
    )
    assert_rule_abiding(events)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("COMPLETE", FinishReason.STOP),
        ("STOP_SEQUENCE", FinishReason.STOP),
        ("MAX_TOKENS", FinishReason.LENGTH),
        ("TOOL_CALL", FinishReason.TOOL_CALLS),
        ("SOMETHING_NEW", FinishReason.OTHER),
    ],
)
def test_finish_reasons_map_to_the_unified_enum_keeping_the_raw_value(raw: str, reason: FinishReason) -> None:
    end = {"type": "message-end", "delta": {"finish_reason": raw}}
    events = decode(CODEC, [_wire(START, *_call(0, "c1", "f", "{}"), end, "[DONE]")])
    assert events[-1] == Finish(reason=reason, raw_reason=raw)


def test_tool_call_finish_without_any_tool_call_is_other() -> None:
    end = {"type": "message-end", "delta": {"finish_reason": "TOOL_CALL"}}
    events = decode(CODEC, [_wire(START, *_text(0, "x"), end)])
    assert events[-1] == Finish(reason=FinishReason.OTHER, raw_reason="TOOL_CALL")
    assert_rule_abiding(events)


def test_max_tokens_cuts_off_the_open_block() -> None:
    end = {"type": "message-end", "delta": {"finish_reason": "MAX_TOKENS"}}
    events = decode(CODEC, [_wire(START, *_call(0, "c1", "f", '{"a":')[:2], end)])
    assert events[-2] == BlockEnd(block=0, incomplete=True, arguments_raw='{"a":')


def test_quirk_36_arguments_split_mid_token_are_joined_exactly_and_parsed_once() -> None:
    parts = ('{"locati', 'on": "P', "ar", 'is\\u00e9", "n": 1', "2}")
    events = decode_every_chunking(
        CODEC, _wire(START, *_call(0, "get_weather_1", "get_weather", *parts), END)
    )
    joined = "".join(parts)
    assert _only(events, BlockEnd) == [BlockEnd(block=0, arguments_raw=joined, arguments=json.loads(joined))]


def test_tool_call_without_argument_deltas_gets_an_empty_object() -> None:
    """vercel/ai ``cohere-empty-tool-call``: tool-call-start then tool-call-end, nothing between."""
    events = decode_every_chunking(CODEC, _wire(START, *_plan("Now."), *_call(0, "t_1", "currentTime"), END))
    assert _only(events, BlockEnd)[-1] == BlockEnd(block=1, arguments_raw="{}", arguments={})


def test_parallel_calls_keep_their_own_ids_and_arguments() -> None:
    body = _wire(
        START,
        *_plan("Two", " calls"),
        *_call(0, "a_1", "a", '{"x":', "1}"),
        *_call(1, "b_2", "b", '{"y":2}'),
        END,
    )
    events = decode_every_chunking(CODEC, body)
    starts = _only(events, BlockStart)
    assert [(s.kind, s.id, s.name) for s in starts] == [
        ("reasoning", None, None),
        ("tool_call", "a_1", "a"),
        ("tool_call", "b_2", "b"),
    ]
    assert [e.arguments for e in _only(events, BlockEnd)[1:]] == [{"x": 1}, {"y": 2}]


def test_tool_plan_ends_when_the_next_block_starts_and_a_later_plan_is_a_new_block() -> None:
    body = _wire(START, *_plan("one"), *_text(0, "t"), *_plan("two"), END)
    events = decode(CODEC, [body])
    assert [(s.block, s.kind) for s in _only(events, BlockStart)] == [
        (0, "reasoning"),
        (1, "text"),
        (2, "reasoning"),
    ]
    assert events.index(BlockEnd(block=0)) < events.index(BlockStart(block=1, kind="text"))


def test_quirk_70_citations_are_blocks_whose_data_is_the_citation_as_sent() -> None:
    citation: JSONObject = {
        "start": 4,
        "end": 9,
        "text": "tasks",
        "sources": [{"type": "document", "id": "doc:0"}],
        "type": "TEXT_CONTENT",
    }
    cite = [
        {"type": "citation-start", "index": 0, "delta": {"message": {"citations": citation}}},
        {"type": "citation-end", "index": 0},
    ]
    events = decode_every_chunking(CODEC, _wire(START, *_text(0, "The tasks"), *cite, END))
    assert BlockStart(block=1, kind="citation", data=citation) in events
    assert BlockEnd(block=1) in events
    assert_rule_abiding(events)


def test_quirk_75_usage_comes_from_message_end_tokens_not_billed_units() -> None:
    usage = {
        "billed_units": {"input_tokens": 5, "output_tokens": 2},
        "tokens": {"input_tokens": 500, "output_tokens": 5},
        "cached_tokens": 448,
    }
    end = {"type": "message-end", "delta": {"finish_reason": "COMPLETE", "usage": usage}}
    events = decode(CODEC, [_wire(START, *_text(0, "OK"), end)])
    assert _only(events, Usage) == [Usage(input_tokens=500, output_tokens=5, cache_read=448)]


def test_debug_events_are_ignored_and_unknown_types_are_reported() -> None:
    debug = {"type": "debug", "prompt": "..."}
    future: JSONObject = {"type": "annotation-added", "index": 0}
    events = decode(CODEC, [_wire(START, debug, future, *_text(0, "x"), END)])
    assert _only(events, Unknown) == [Unknown(vendor_type="annotation-added", raw=future)]
    assert_rule_abiding(events)


def test_unknown_content_types_are_reported_with_their_deltas() -> None:
    image = [
        {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "image"}}}},
        {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"url": "x"}}}},
        {"type": "content-end", "index": 0},
    ]
    events = decode(CODEC, [_wire(START, *image, *_text(1, "y"), END)])
    assert [u.vendor_type for u in _only(events, Unknown)] == [
        "content-start:image",
        "content-delta",
        "content-end",
    ]
    assert _only(events, BlockStart) == [BlockStart(block=0, kind="text")]


def test_vendor_extension_fields_are_ignored() -> None:
    """Quirk 82 (vendor_extension_fields)."""
    delta = {
        "type": "content-delta",
        "index": 0,
        "x_extra": 1,
        "delta": {"message": {"content": {"text": "a", "logprobs": []}}},
    }
    plain = decode(CODEC, [_wire(START, *_text(0, "a"), END)])
    extended = decode(CODEC, [_wire(START, _text(0)[0], delta, _text(0)[-1], END)])
    assert plain == extended


@pytest.mark.parametrize(
    ("name", "transform"),
    [
        ("1: sse.crlf_line_endings", lambda b: b.replace(b"\n", b"\r\n")),
        ("3: sse.comment_keepalive", lambda b: sse.encode([SSEComment(text=" keep-alive")]) + b),
        ("5: sse.eof_without_final_blank_line", lambda b: b.rstrip(b"\n")),
        ("6: sse.bom_prefix", lambda b: b"\xef\xbb\xbf" + b),
        (
            "8: sse.no_space_after_colon",
            lambda b: b.replace(b"data: ", b"data:").replace(b"event: ", b"event:"),
        ),
        ("9: sse.trailing_whitespace_in_data", lambda b: b.replace(b"}\n", b"}   \n")),
    ],
)
def test_generic_sse_quirks_do_not_change_the_events(name: str, transform: Any) -> None:
    body = _wire(START, *_text(0, "h\u00e9llo \U0001f600"), END, "[DONE]")
    assert decode_every_chunking(CODEC, transform(body)) == decode(CODEC, [body]), name


def test_quirk_11_utf8_split_across_reads_and_raw_non_ascii_arguments() -> None:
    """Quirks 11 (utf8 split) and 39 (tool_args.raw_non_ascii): utf8-boundary chunking is in the matrix."""
    args = '{"city": "M\u00fcnchen \U0001f600", "note": "\u05d0\u0301"}'
    events = decode_every_chunking(CODEC, _wire(START, *_call(0, "c", "f", args[:13], args[13:]), END))
    assert _only(events, BlockEnd)[0].arguments == json.loads(args)


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": 5}}}},
        {"type": "content-delta", "index": 7, "delta": {"message": {"content": {"text": "x"}}}},
        {"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": [{"id": "x"}]}}},
        {
            "type": "tool-call-start",
            "index": 1,
            "delta": {"message": {"tool_calls": {"function": {"name": ""}}}},
        },
        {
            "type": "message-end",
            "delta": {"finish_reason": "COMPLETE", "usage": {"tokens": {"input_tokens": -1}}},
        },
        {"type": "message-end", "delta": {"finish_reason": 3}},
        {"index": 0},
    ],
)
def test_defective_payloads_become_decode_errors(bad: dict[str, Any]) -> None:
    events = decode_every_chunking(CODEC, _wire(START, *_text(0, "a")[:2], bad, END))
    terminal = next(e for e in events if isinstance(e, Finish | Error))
    assert isinstance(terminal, Error)
    assert terminal.category is ErrorCategory.DECODE
    assert events[-1] == terminal  # nothing after a failure is read
    assert _block_text(events, 0) == "a"
    assert_rule_abiding(events)


def test_a_repeated_tool_call_id_is_a_decode_error() -> None:
    events = decode(CODEC, [_wire(START, *_call(0, "same", "f", "{}"), *_call(1, "same", "g", "{}"))])
    assert isinstance(events[-1], Error)
    assert events[-1].category is ErrorCategory.DECODE
    assert_rule_abiding(events)


# -- 4. round trip --------------------------------------------------------------------


def test_encoder_reproduces_the_recorded_error_stream_byte_for_byte() -> None:
    """Event names, field order, the tool plan, ``usage: {}`` and ``[DONE]`` as Cohere sent them."""
    body = _recording("cohere__in-stream-error-invalid-tool-generation.txt")
    assert CODEC.encode(decode(CODEC, [body])) == body


@settings(max_examples=120)
@given(seq=sequences(), knob=knobs(), data=st.data())
def test_round_trip_and_every_emitted_payload_validates(
    seq: list[Event], knob: Knobs, data: st.DataObject
) -> None:
    body = CODEC.encode(seq, knob)
    for i, payload in enumerate(payloads_of(body)):
        assert validate_json(SCHEMA, payload, path=f"payload[{i}]") == []
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=12))
    assert_round_trip(CODEC, seq, knob, cuts)


@pytest.mark.parametrize(
    ("events", "what"),
    [
        (
            [ResponseStart(model="command-a"), Finish(reason=FinishReason.STOP, raw_reason="COMPLETE")],
            "model",
        ),
        (
            [
                BlockStart(block=0, kind="refusal"),
                BlockEnd(block=0),
                Finish(reason=FinishReason.STOP, raw_reason="COMPLETE"),
            ],
            "refusal",
        ),
        (
            [
                BlockStart(block=0, kind="reasoning"),
                BlockEnd(block=0, signature="s"),
                Finish(reason=FinishReason.STOP, raw_reason="x"),
            ],
            "signature",
        ),
        ([Usage(cache_write=3), Finish(reason=FinishReason.STOP, raw_reason="COMPLETE")], "cache writes"),
        ([Finish(reason=FinishReason.LENGTH, raw_reason="COMPLETE")], "cannot express"),
        ([BlockStart(block=0, kind="text")], "no terminal"),
    ],
)
def test_encoder_refuses_what_cohere_cannot_say(events: list[Event], what: str) -> None:
    from conformance.errors import UsageError

    with pytest.raises(UsageError, match=what):
        CODEC.encode(events)


# -- 5. malformed input ---------------------------------------------------------------

SMALL = _wire(START, *_plan("p"), *_call(0, "c", "f", '{"a"', ":1}"), *_text(0, "h\u00e9"), END, "[DONE]")


def _assert_sane(events: list[Event]) -> None:
    terminals = [e for e in events if isinstance(e, Finish | Error)]
    assert len(terminals) == 1
    violations = [v for v in check(events) if v.rule != "finish.raw-reason"]
    assert not violations, violations


def test_every_prefix_decodes_sanely_and_only_a_complete_message_end_finishes() -> None:
    message_end = SMALL.index(b"\n", SMALL.index(b'"type": "message-end"'))
    for cut in range(len(SMALL) + 1):
        events = decode(CODEC, [SMALL[:cut]])
        _assert_sane(events)
        assert isinstance(events[-1], Finish) == (cut >= message_end), cut


@given(st.binary(max_size=300), st.lists(st.integers(0, 400), max_size=5))
def test_random_bytes_never_raise(noise: bytes, cuts: list[int]) -> None:
    _assert_sane(decode(CODEC, split_at(SMALL[:200] + noise, cuts)))


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
    max_leaves=5,
)


@given(data=st.data())
def test_mutated_payloads_never_raise(data: st.DataObject) -> None:
    payloads: list[Any] = [START, *_plan("p"), *_call(0, "c", "f", '{"a":1}'), *_text(0, "x"), END]
    i = data.draw(st.integers(0, len(payloads) - 1))
    mutation = data.draw(st.sampled_from(["value", "drop", "truncate", "type"]))
    victim = json.loads(json.dumps(payloads[i]))
    if mutation == "truncate":
        text = json.dumps(victim)
        payloads[i] = text[: data.draw(st.integers(0, len(text) - 1))]
    elif mutation == "type":
        victim["type"] = data.draw(
            st.sampled_from(["message-start", "content-end", "tool-call-delta", "zzz"])
        )
        payloads[i] = victim
    else:
        node = victim
        while True:
            key = data.draw(st.sampled_from(sorted(node)))
            if isinstance(node[key], dict) and node[key] and data.draw(st.booleans()):
                node = node[key]
                continue
            if mutation == "drop":
                del node[key]
            else:
                node[key] = data.draw(_json_values)
            break
        payloads[i] = victim
    items = [json.dumps(p) if isinstance(p, dict) else p for p in payloads]
    body = sse.encode([SSEEvent(data=t) for t in [*items, "[DONE]"]])
    _assert_sane(decode(CODEC, [body]))
