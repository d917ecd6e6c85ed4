"""The Cohere v1 chat codec (``cohere/chat-v1``): the recording, quirks, round trip, fuzz."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.errors import UsageError
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
from conformance.grammar import check
from conformance.schemas import validate_json
from conformance.vendors.cohere_chat_v1 import CODEC, Knobs
from conformance.vendors.cohere_chat_v1.strategies import knobs, sequences
from tests.helpers import REFERENCE_STREAMS, split_at
from tests.vendors.helpers import (
    assert_round_trip,
    assert_rule_abiding,
    decode,
    decode_every_chunking,
    load_expected,
)

SCHEMA = CODEC.payload_schema
RECORDING = "cohere-v1__ndjson-stream-json.txt"


def _recording() -> bytes:
    path = REFERENCE_STREAMS / RECORDING
    if not path.is_file():
        pytest.skip(f"reference stream {RECORDING} is not available")
    return path.read_bytes()


def _lines(body: bytes) -> list[Any]:
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def _wire(*objects: Any) -> bytes:
    """An NDJSON body; ``is_finished`` is added as Cohere sends it unless an object has one."""
    out = []
    for o in objects:
        obj = o
        if isinstance(o, dict) and "is_finished" not in o:
            obj = {"is_finished": o.get("event_type") == "stream-end", **o}
        out.append((obj if isinstance(obj, str) else json.dumps(obj)).encode() + b"\n")
    return b"".join(out)


START = {"event_type": "stream-start", "generation_id": "g-1"}


def _end(reason: str = "COMPLETE", **tokens: int) -> JSONObject:
    meta: JSONObject = {"api_version": {"version": "1"}}
    if tokens:
        meta["billed_units"] = dict(tokens)
        meta["tokens"] = dict(tokens)
    return {"event_type": "stream-end", "response": {"meta": meta}, "finish_reason": reason}


def _text(*parts: str) -> list[Any]:
    return [{"event_type": "text-generation", "text": p} for p in parts]


def _plan(*parts: str) -> list[Any]:
    return [{"event_type": "tool-calls-chunk", "text": p} for p in parts]


def _chunk(index: int, **delta: str) -> Any:
    return {"event_type": "tool-calls-chunk", "tool_call_delta": {"index": index, **delta}}


def _generation(*calls: tuple[str, Any], text: str | None = None) -> Any:
    out: dict[str, Any] = {"event_type": "tool-calls-generation"}
    if text is not None:
        out["text"] = text
    out["tool_calls"] = [{"name": n, "parameters": p} for n, p in calls]
    return out


def _only(events: list[Event], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def _block_text(events: list[Event], block: int) -> str:
    return "".join(e.text for e in events if isinstance(e, BlockDelta) and e.block == block)


# -- 1. the recording -------------------------------------------------------------------


def test_recording_decodes_to_its_reviewed_sequence_under_every_chunking() -> None:
    """Quirk 14 (ndjson.partial_line_across_reads): every chunking gives the same events."""
    events = decode_every_chunking(CODEC, _recording())
    assert_rule_abiding(events)
    assert events == load_expected(RECORDING.rsplit(".", 1)[0])


def test_recording_facts_come_straight_from_the_objects() -> None:
    """Quirk 75 (usage.location_varies): v1's usage is inside stream-end's aggregated response."""
    body = _recording()
    objects = _lines(body)
    events = decode(CODEC, [body])
    end = objects[-1]
    assert [o["is_finished"] for o in objects] == [False] * (len(objects) - 1) + [True]
    assert events[0] == ResponseStart(response_id=objects[0]["generation_id"])
    assert _only(events, BlockStart) == [BlockStart(block=0, kind="text")]
    text = "".join(o["text"] for o in objects if o["event_type"] == "text-generation")
    assert _block_text(events, 0) == text == end["response"]["text"]
    tokens = end["response"]["meta"]["tokens"]
    assert _only(events, Usage) == [
        Usage(input_tokens=tokens["input_tokens"], output_tokens=tokens["output_tokens"])
    ]
    assert events[-1] == Finish(reason=FinishReason.STOP, raw_reason=end["finish_reason"])


# -- 2. schema --------------------------------------------------------------------------


def test_every_recorded_object_validates_against_the_schema() -> None:
    for i, obj in enumerate(_lines(_recording())):
        assert validate_json(SCHEMA, obj, path=f"line[{i}]") == []


def test_schema_requires_what_the_decoder_depends_on() -> None:
    assert validate_json(SCHEMA, {"event_type": "text-generation"})  # no text
    assert validate_json(SCHEMA, {"event_type": "stream-end", "is_finished": True})  # no finish_reason
    assert validate_json(SCHEMA, {"event_type": "text-generation", "text": "x", "is_finished": True})
    assert validate_json(SCHEMA, _chunk(0, name="f") | {"tool_call_delta": {"parameters": "{"}})
    assert validate_json(SCHEMA, {"event_type": "tool-calls-generation", "tool_calls": [{"name": "f"}]})
    assert validate_json(SCHEMA, {"event_type": "no-such-event"})
    assert validate_json(SCHEMA, _chunk(0, name="f", parameters="{")) == []


# -- 3. the mapping and the quirks ------------------------------------------------------


def test_streamed_tool_turn_plan_calls_and_generation() -> None:
    """The plan is a reasoning block; calls keyed by index may interleave (vercel/ai's v1
    test streams do); the generation ends them; v1 has no tool-call ids, none is invented;
    COMPLETE with calls is ``tool_calls``.  Quirk 36 (tool_args.split_mid_token)."""
    body = _wire(
        START,
        *_plan("I will", " look."),
        _chunk(0, name="quote"),
        _chunk(1, name="quote"),
        _chunk(0, parameters='{"tick'),
        _chunk(1, parameters='{"ticker": "TSLA"}'),
        _chunk(0, parameters='er": "AAPL"}'),
        _generation(("quote", {"ticker": "AAPL"}), ("quote", {"ticker": "TSLA"}), text="I will look."),
        _end(input_tokens=893, output_tokens=62),
    )
    events = decode_every_chunking(CODEC, body)
    assert_rule_abiding(events)
    assert _only(events, BlockStart) == [
        BlockStart(block=0, kind="reasoning"),
        BlockStart(block=1, kind="tool_call", name="quote"),
        BlockStart(block=2, kind="tool_call", name="quote"),
    ]
    assert _block_text(events, 0) == "I will look."
    assert _only(events, BlockEnd)[1:] == [
        BlockEnd(block=1, arguments_raw='{"ticker": "AAPL"}', arguments={"ticker": "AAPL"}),
        BlockEnd(block=2, arguments_raw='{"ticker": "TSLA"}', arguments={"ticker": "TSLA"}),
    ]
    assert events[-1] == Finish(reason=FinishReason.TOOL_CALLS, raw_reason="COMPLETE")


def test_plan_fragments_inside_the_tool_call_delta_are_the_same_plan() -> None:
    """cohere-python's ``ToolCallDelta.text``: the plan chunk may sit inside the delta."""
    top = decode(CODEC, [_wire(START, *_plan("a", "b"), _generation(("f", {})), _end())])
    inner = [{"event_type": "tool-calls-chunk", "tool_call_delta": {"text": t}} for t in ("a", "b")]
    assert decode(CODEC, [_wire(START, *inner, _generation(("f", {})), _end())]) == top


def test_quirk_44_an_empty_name_on_a_continuation_keeps_the_name() -> None:
    body = _wire(
        START, _chunk(0, name="f"), _chunk(0, name="", parameters="{}"), _generation(("f", {})), _end()
    )
    events = decode(CODEC, [body])
    assert _only(events, BlockStart) == [BlockStart(block=0, kind="tool_call", name="f")]
    assert_rule_abiding(events)


def test_a_call_with_no_parameter_fragments_gets_an_empty_object() -> None:
    events = decode(CODEC, [_wire(START, _chunk(0, name="now"), _generation(("now", {})), _end())])
    assert _only(events, BlockEnd) == [BlockEnd(block=0, arguments_raw="{}", arguments={})]


def test_a_generation_without_streamed_chunks_delivers_the_plan_and_calls_whole() -> None:
    """Quirk 53-like whole calls: parameters are a JSON value, serialised compactly."""
    params: JSONObject = {"city": "M\u00fcnchen", "days": [1, 2.5]}
    body = _wire(START, *_text("Hi."), _generation(("weather", params), ("bad", [1]), text="Plan."), _end())
    events = decode_every_chunking(CODEC, body)
    raw = json.dumps(params, ensure_ascii=False, separators=(",", ":"))
    assert [(s.kind, s.name) for s in _only(events, BlockStart)] == [
        ("text", None),
        ("reasoning", None),
        ("tool_call", "weather"),
        ("tool_call", "bad"),
    ]
    assert _block_text(events, 1) == "Plan."
    ends = _only(events, BlockEnd)
    assert ends[2] == BlockEnd(block=2, arguments_raw=raw, arguments=params)
    assert (ends[3].arguments_raw, ends[3].arguments) == ("[1]", None)
    assert ends[3].arguments_error is not None


def test_calls_a_generation_lists_beyond_the_streamed_ones_are_added_whole() -> None:
    body = _wire(
        START,
        _chunk(0, name="a", parameters='{"x":1}'),
        _generation(("a", {"x": 99}), ("b", {"y": 2})),  # the streamed deltas stay a's arguments
        _end(),
    )
    events = decode(CODEC, [body])
    assert [e.arguments for e in _only(events, BlockEnd)] == [{"x": 1}, {"y": 2}]
    assert_rule_abiding(events)


def test_a_later_turn_opens_new_calls_for_the_same_indices() -> None:
    body = _wire(
        START,
        _chunk(0, name="a"),
        _generation(("a", {})),
        *_text("then"),
        _chunk(0, name="b"),
        _generation(("b", {})),
        _end(),
    )
    events = decode(CODEC, [body])
    assert [(s.kind, s.name) for s in _only(events, BlockStart)] == [
        ("tool_call", "a"),
        ("text", None),
        ("tool_call", "b"),
    ]
    assert_rule_abiding(events)


def test_text_and_plan_alternate_as_new_blocks() -> None:
    events = decode(CODEC, [_wire(START, *_text("a"), *_plan("p"), *_text("b"), _end())])
    assert [(s.block, s.kind) for s in _only(events, BlockStart)] == [
        (0, "text"),
        (1, "reasoning"),
        (2, "text"),
    ]
    assert events.index(BlockEnd(block=0)) < events.index(BlockStart(block=1, kind="reasoning"))


def test_quirk_70_citations_are_blocks_and_the_text_stays_open_around_them() -> None:
    cites: list[Any] = [
        {"start": 4, "end": 9, "text": "tasks", "document_ids": ["doc_0"]},
        {"start": 10, "end": 12, "text": "on", "document_ids": ["doc_0", "doc_1"]},
    ]
    body = _wire(
        START,
        *_text("The tasks"),
        {"event_type": "citation-generation", "citations": cites},
        *_text(" go on"),
        _end(),
    )
    events = decode_every_chunking(CODEC, body)
    assert _only(events, BlockStart) == [
        BlockStart(block=0, kind="text"),
        BlockStart(block=1, kind="citation", data=cites[0]),
        BlockStart(block=2, kind="citation", data=cites[1]),
    ]
    assert _block_text(events, 0) == "The tasks go on"
    assert_rule_abiding(events)


def test_retrieval_events_are_unknown_debug_is_ignored() -> None:
    queries = {
        "event_type": "search-queries-generation",
        "search_queries": [{"text": "q", "generation_id": "x"}],
    }
    results = {"event_type": "search-results", "search_results": [], "documents": [{"id": "doc_0"}]}
    future = {"event_type": "annotation-added", "x": 1}
    body = _wire(
        START, queries, results, {"event_type": "debug", "prompt": "..."}, future, *_text("y"), _end()
    )
    events = decode(CODEC, [body])
    assert [u.vendor_type for u in _only(events, Unknown)] == [
        "search-queries-generation",
        "search-results",
        "annotation-added",
    ]
    assert _only(events, Unknown)[0].raw == {"is_finished": False, **queries}
    assert_rule_abiding(events)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("COMPLETE", FinishReason.STOP),
        ("MAX_TOKENS", FinishReason.LENGTH),
        ("ERROR_TOXIC", FinishReason.CONTENT_FILTER),
        ("USER_CANCEL", FinishReason.OTHER),
        ("SOMETHING_NEW", FinishReason.OTHER),
    ],
)
def test_finish_reasons_map_to_the_unified_enum_keeping_the_raw_value(raw: str, reason: FinishReason) -> None:
    events = decode(CODEC, [_wire(START, *_text("a"), _end(raw))])
    assert events[-1] == Finish(reason=reason, raw_reason=raw)
    assert _only(events, BlockEnd) == [BlockEnd(block=0, incomplete=reason is FinishReason.LENGTH)]


@pytest.mark.parametrize(
    ("raw", "category"), [("ERROR", ErrorCategory.UNKNOWN), ("ERROR_LIMIT", ErrorCategory.CONTEXT_LENGTH)]
)
def test_failure_finish_reasons_become_error_events(raw: str, category: ErrorCategory) -> None:
    events = decode_every_chunking(CODEC, _wire(START, *_text("par"), _end(raw, input_tokens=5)))
    assert _only(events, Usage) == [Usage(input_tokens=5)]
    assert events[-2:] == [
        BlockEnd(block=0, incomplete=True),
        Error(
            category=category,
            message=f"Cohere ended the response with finish_reason {raw}",
            retryable=False,
            phase=ErrorPhase.MID_STREAM,
            code=raw,
        ),
    ]
    assert_rule_abiding(events)


def test_max_tokens_cuts_off_an_open_call_without_arguments() -> None:
    body = _wire(START, _chunk(0, name="f", parameters='{"a":'), _end("MAX_TOKENS"))
    events = decode(CODEC, [body])
    assert _only(events, BlockEnd) == [BlockEnd(block=0, incomplete=True, arguments_raw='{"a":')]
    assert events[-1] == Finish(reason=FinishReason.LENGTH, raw_reason="MAX_TOKENS")


def test_quirk_75_usage_comes_from_meta_tokens_not_billed_units() -> None:
    end: JSONObject = {
        "event_type": "stream-end",
        "response": {
            "meta": {
                "billed_units": {"input_tokens": 4, "output_tokens": 2},
                "tokens": {"input_tokens": 70, "output_tokens": 5},
            }
        },
        "finish_reason": "COMPLETE",
    }
    events = decode(CODEC, [_wire(START, *_text("OK"), end)])
    assert _only(events, Usage) == [Usage(input_tokens=70, output_tokens=5)]
    bare = decode(
        CODEC, [_wire(START, *_text("OK"), {"event_type": "stream-end", "finish_reason": "COMPLETE"})]
    )
    assert not _only(bare, Usage)


def test_stream_without_stream_end_is_a_protocol_error_never_a_finish() -> None:
    events = decode_every_chunking(CODEC, _wire(START, *_text("cut"), _chunk(0, name="f", parameters="{")))
    assert events[-1] == Error(
        category=ErrorCategory.PROTOCOL,
        message='the stream ended without a stream-end object ("is_finished": true)',
        retryable=True,
        phase=ErrorPhase.MID_STREAM,
    )
    assert _block_text(events, 0) == "cut"
    assert _only(events, BlockEnd)[-1] == BlockEnd(block=1, incomplete=True, arguments_raw="{")


def test_lines_after_stream_end_are_reported_as_unknown() -> None:
    late: JSONObject = {"event_type": "text-generation", "text": "late", "is_finished": False}
    events = decode(CODEC, [_wire(START, *_text("a"), _end(), late)])
    assert events[-1] == Unknown(vendor_type="text-generation", raw=late)
    assert_rule_abiding(events)


@pytest.mark.parametrize(
    ("name", "transform"),
    [
        ("crlf", lambda b: b.replace(b"\n", b"\r\n")),
        ("no final newline", lambda b: b.rstrip(b"\n")),
        ("blank lines (vercel/ai's v1 test streams)", lambda b: b.replace(b"\n", b"\n\n")),
        (
            "no is_finished",
            lambda b: b.replace(b'"is_finished": false, ', b"").replace(b'"is_finished": true, ', b""),
        ),
        ("extension fields", lambda b: b.replace(b'"event_type"', b'"x_extra": [1], "event_type"')),
        ("unicode escapes", lambda b: b.replace("\u00e9".encode(), b"\\u00e9").replace(b"&", b"\\u0026")),
    ],
)
def test_framing_variants_do_not_change_the_events(name: str, transform: Any) -> None:
    body = _wire(
        START,
        *_text("h\u00e9llo \U0001f600", " S&P"),
        _chunk(0, name="f", parameters='{"k": "\u05d0\u0301"}'),
        _generation(("f", {"k": "\u05d0\u0301"})),
        _end(output_tokens=3),
    )
    assert decode_every_chunking(CODEC, transform(body)) == decode(CODEC, [body]), name


@pytest.mark.parametrize(
    "bad",
    [
        b"{not json}",
        b"[1, 2]",
        b'{"text": "no event_type"}',
        b'{"event_type": "text-generation", "text": 5}',
        b'{"event_type": "text-generation", "text": "x", "is_finished": true}',
        b'{"event_type": "stream-end", "finish_reason": "COMPLETE", "is_finished": false}',
        b'{"event_type": "text-generation", "text": "x", "is_finished": "no"}',
        b'{"event_type": "tool-calls-chunk", "tool_call_delta": {"index": 3, "parameters": "{"}}',
        b'{"event_type": "tool-calls-chunk", "tool_call_delta": {"index": 1, "name": ""}}',
        b'{"event_type": "tool-calls-chunk", "tool_call_delta": {"name": "f"}}',
        b'{"event_type": "tool-calls-chunk", "tool_call_delta": {"index": 0, "name": "g"}}',
        b'{"event_type": "tool-calls-generation", "tool_calls": [{"name": "f"}]}',
        b'{"event_type": "tool-calls-generation", "tool_calls": ["f"]}',
        b'{"event_type": "citation-generation", "citations": [1]}',
        b'{"event_type": "stream-end"}',
        json.dumps(_end(input_tokens=-1)).encode(),
    ],
)
def test_defective_lines_become_decode_errors(bad: bytes) -> None:
    body = _wire(START, *_text("a"), _chunk(0, name="f")) + bad + b"\n" + _wire(_end())
    events = decode_every_chunking(CODEC, body)
    assert isinstance(events[-1], Error)
    assert events[-1].category is ErrorCategory.DECODE
    assert _block_text(events, 0) == "a"
    assert_rule_abiding(events)


def test_invalid_utf8_is_a_decode_error() -> None:
    body = _wire(START, *_text("a")) + b'{"event_type": "text-generation", "text": "\xff"}\n' + _wire(_end())
    for chunks in ([body], [body[:1], body[1:]], [bytes([c]) for c in body]):
        last = decode(CODEC, chunks)[-1]
        assert isinstance(last, Error)
        assert last.category is ErrorCategory.DECODE


# -- 4. round trip ----------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [True, False], ids=["chunked-calls", "whole-calls"])
def test_round_trip_and_every_emitted_object_validates(streamed: bool) -> None:
    @settings(max_examples=100)
    @given(seq=sequences(streamed), knob=knobs(streamed), data=st.data())
    def round_trip(seq: list[Event], knob: Knobs, data: st.DataObject) -> None:
        body = CODEC.encode(seq, knob)
        for i, obj in enumerate(_lines(body)):
            assert validate_json(SCHEMA, obj, path=f"line[{i}]") == []
        cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=12))
        assert_round_trip(CODEC, seq, knob, cuts)

    round_trip()


def test_encoder_renders_the_recording_as_cohere_sent_it() -> None:
    """Every line but stream-end byte for byte (field order, Go's ``\\u0026`` escapes); the
    stream-end's finish reason and meta too (its ids and chat history are not canonical)."""
    body = _recording()
    encoded = CODEC.encode(decode(CODEC, [body]))
    assert encoded.splitlines()[:-1] == body.splitlines()[:-1]
    mine, theirs = _lines(encoded)[-1], _lines(body)[-1]
    assert list(mine) == list(theirs) == ["is_finished", "event_type", "response", "finish_reason"]
    assert mine["finish_reason"] == theirs["finish_reason"]
    assert mine["response"]["meta"] == theirs["response"]["meta"]
    assert mine["response"]["text"] == theirs["response"]["text"]


def test_encoder_renders_a_tool_turn_as_chunks_then_one_generation() -> None:
    body = _wire(
        START,
        *_plan("Look."),
        _chunk(0, name="f"),
        _chunk(0, parameters='{"a":1}'),  # compact: the same call can travel whole
        _generation(("f", {"a": 1}), text="Look."),
        _end(input_tokens=3, output_tokens=4),
    )
    events = decode(CODEC, [body])
    types = [o["event_type"] for o in _lines(CODEC.encode(events))]
    assert types == ["stream-start", *["tool-calls-chunk"] * 3, "tool-calls-generation", "stream-end"]
    whole = _lines(CODEC.encode(events, Knobs(tool_call_chunks=False)))
    assert [o["event_type"] for o in whole] == ["stream-start", "tool-calls-generation", "stream-end"]
    assert whole[1]["text"] == "Look."


@pytest.mark.parametrize(
    ("events", "what"),
    [
        (
            [ResponseStart(model="command-r"), Finish(reason=FinishReason.STOP, raw_reason="COMPLETE")],
            "model",
        ),
        (
            [
                BlockStart(block=0, kind="tool_call", id="call_1", name="f"),
                BlockEnd(block=0, arguments_raw="{}", arguments={}),
                Finish(reason=FinishReason.TOOL_CALLS, raw_reason="COMPLETE"),
            ],
            "no tool-call ids",
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
                BlockStart(block=0, kind="tool_call", name="f"),
                BlockDelta(block=0, text="{bad"),
                BlockEnd(block=0, arguments_raw="{bad", arguments_error="invalid JSON"),
                Finish(reason=FinishReason.TOOL_CALLS, raw_reason="COMPLETE"),
            ],
            "not JSON",
        ),
        (
            [Usage(cache_read=3), Finish(reason=FinishReason.STOP, raw_reason="COMPLETE")],
            "only input and output",
        ),
        ([Finish(reason=FinishReason.STOP)], "finish_reason"),
        ([Finish(reason=FinishReason.LENGTH, raw_reason="COMPLETE")], "cannot express"),
        (
            [
                Error(
                    category=ErrorCategory.RATE_LIMIT,
                    message="m",
                    retryable=True,
                    phase=ErrorPhase.BEFORE_OUTPUT,
                    status=429,
                )
            ],
            "HTTP status",
        ),
        ([BlockStart(block=0, kind="text")], "no terminal"),
    ],
)
def test_encoder_refuses_what_cohere_v1_cannot_say(events: list[Event], what: str) -> None:
    with pytest.raises(UsageError, match=what):
        CODEC.encode(events)


def test_whole_calls_must_carry_compact_arguments() -> None:
    events: list[Event] = [
        BlockStart(block=0, kind="tool_call", name="f"),
        BlockDelta(block=0, text='{"a": 1}'),
        BlockEnd(block=0, arguments_raw='{"a": 1}', arguments={"a": 1}),
        Finish(reason=FinishReason.TOOL_CALLS, raw_reason="COMPLETE"),
    ]
    assert _lines(CODEC.encode(events))[-2]["tool_calls"] == [{"name": "f", "parameters": {"a": 1}}]
    with pytest.raises(UsageError, match="compact"):
        CODEC.encode(events, Knobs(tool_call_chunks=False))


# -- 5. malformed input -----------------------------------------------------------------

SMALL = _wire(
    START,
    *_plan("p"),
    _chunk(0, name="f"),
    _chunk(0, parameters='{"a": [1]}'),
    _generation(("f", {"a": [1]})),
    *_text("h\u00e9"),
    _end(input_tokens=2, output_tokens=3),
)


def _assert_sane(events: list[Event]) -> None:
    assert len([e for e in events if isinstance(e, Finish | Error)]) == 1
    violations = [v for v in check(events) if v.rule != "finish.raw-reason"]
    assert not violations, violations


def test_every_prefix_decodes_sanely_and_only_a_complete_stream_end_finishes() -> None:
    end_line = SMALL.rindex(b'{"is_finished"')
    for cut in range(len(SMALL) + 1):
        events = decode(CODEC, [SMALL[:cut]])
        _assert_sane(events)
        # a cut stream-end line fails to parse, except when only its newline is missing
        assert isinstance(events[-1], Finish) == (cut >= len(SMALL) - 1), cut
        assert cut > end_line or not isinstance(events[-1], Finish)


@given(st.binary(max_size=300), st.lists(st.integers(0, 400), max_size=5))
def test_random_bytes_never_raise(noise: bytes, cuts: list[int]) -> None:
    _assert_sane(decode(CODEC, split_at(SMALL[:200] + noise, cuts)))


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
    max_leaves=5,
)


@given(data=st.data())
def test_mutated_objects_never_raise(data: st.DataObject) -> None:
    objects: list[Any] = _lines(SMALL)
    i = data.draw(st.integers(0, len(objects) - 1))
    node = objects[i]
    while True:
        key = data.draw(st.sampled_from(sorted(node)))
        if isinstance(node[key], dict) and node[key] and data.draw(st.booleans()):
            node = node[key]
            continue
        if data.draw(st.booleans()):
            del node[key]
        else:
            node[key] = data.draw(_json_values)
        break
    lines = [json.dumps(o) for o in objects]
    if data.draw(st.booleans()):
        lines[i] = lines[i][: data.draw(st.integers(0, len(lines[i])))]
    _assert_sane(decode(CODEC, ["\n".join(lines).encode()]))
