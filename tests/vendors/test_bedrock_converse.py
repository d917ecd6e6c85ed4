"""Bedrock ConverseStream codec: real recordings, quirks, round trip, schema, malformed input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
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
    JSONValue,
    ResponseStart,
    Unknown,
    Usage,
    dumps,
)
from conformance.framing.eventstream import EventStreamDecoder, encode_event, encode_exception, encode_message
from conformance.framing.messages import EventStreamHeader, HeaderType
from conformance.schemas import validate_json
from conformance.vendors.bedrock_converse import CODEC, Knobs
from conformance.vendors.bedrock_converse.strategies import knobs, sequences
from tests.helpers import REFERENCE_STREAMS
from tests.vendors.helpers import (
    assert_round_trip,
    assert_rule_abiding,
    decode,
    decode_every_chunking,
    load_expected,
)

SCHEMA = "vendors/bedrock/converse-stream.schema.json"
RECORDINGS = ("text-only", "text-then-tool-use", "redacted-reasoning", "gpt-oss-empty-text-delta")


# -- helpers ----------------------------------------------------------------------------


def _event(event_type: str, body: dict[str, Any], pad: str = "abc") -> bytes:
    return encode_event(event_type, json.dumps({**body, "p": pad}).encode())


def _start() -> bytes:
    return _event("messageStart", {"role": "assistant"})


def _text(index: int, text: str) -> bytes:
    return _event("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": text}})


def _delta(index: int, delta: dict[str, Any]) -> bytes:
    return _event("contentBlockDelta", {"contentBlockIndex": index, "delta": delta})


def _stop(index: int) -> bytes:
    return _event("contentBlockStop", {"contentBlockIndex": index})


def _tool_start(index: int, call_id: str, name: str, **extra: str) -> bytes:
    use = {"toolUseId": call_id, "name": name, **extra}
    return _event("contentBlockStart", {"contentBlockIndex": index, "start": {"toolUse": use}})


def _end(reason: str = "end_turn", usage: dict[str, int] | None = None) -> bytes:
    counts = usage or {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15}
    return _event("messageStop", {"stopReason": reason}) + _event(
        "metadata", {"usage": counts, "metrics": {"latencyMs": 100}}
    )


def _decode(data: bytes) -> list[Event]:
    events = decode_every_chunking(CODEC, data, chunkings=("whole", "bytewise", "prelude", "random:1"))
    assert_rule_abiding(events)
    return events


def _recording(name: str) -> bytes:
    path = REFERENCE_STREAMS / f"bedrock__{name}.bin"
    if not path.is_file():
        pytest.skip(f"recorded stream {path.name} is not available")
    return path.read_bytes()


def _botocore_frames(data: bytes) -> list[tuple[dict[str, Any], bytes]]:
    """Every frame split by botocore (independent of our framing): (headers, payload)."""
    from botocore.eventstream import EventStreamBuffer

    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [(dict(m.headers), m.payload) for m in buffer]


def _wrapped(headers: dict[str, Any], payload: bytes) -> dict[str, Any]:
    name = headers.get(":event-type") or headers[":exception-type"]
    return {name: json.loads(payload)}


def _texts_by_block(events: list[Event]) -> list[tuple[str, str]]:
    kinds: dict[int, str] = {}
    texts: dict[int, str] = {}
    for e in events:
        if isinstance(e, BlockStart):
            kinds[e.block], texts[e.block] = e.kind, ""
        elif isinstance(e, BlockDelta):
            texts[e.block] += e.text
    return [(kinds[b], texts[b]) for b in sorted(kinds)]


# -- 1. real recordings -------------------------------------------------------------------


@pytest.mark.parametrize("name", RECORDINGS)
def test_recording_decodes_to_the_reviewed_sequence(name: str) -> None:
    events = decode_every_chunking(CODEC, _recording(name))
    assert_rule_abiding(events)
    assert events == load_expected(f"bedrock__{name}")


@pytest.mark.parametrize("name", RECORDINGS)
def test_recording_facts_match_the_raw_frames(name: str) -> None:
    """Blocks, tool calls, usage and stop reason re-derived from botocore's frame split."""
    frames = [(h[":event-type"], json.loads(p)) for h, p in _botocore_frames(_recording(name))]
    blocks: dict[int, list[str]] = {}  # index -> [kind, text, redacted]
    tools: dict[int, tuple[str, str]] = {}
    for event_type, body in frames:
        if event_type == "contentBlockStart":
            use = body["start"]["toolUse"]
            tools[body["contentBlockIndex"]] = (use["toolUseId"], use["name"])
            blocks[body["contentBlockIndex"]] = ["tool_call", "", ""]
        elif event_type == "contentBlockDelta":
            delta, index = body["delta"], body["contentBlockIndex"]
            if delta.get("text"):
                blocks.setdefault(index, ["text", "", ""])[1] += delta["text"]
            elif "reasoningContent" in delta:
                block = blocks.setdefault(index, ["reasoning", "", ""])
                block[1] += delta["reasoningContent"].get("text", "")
                block[2] += delta["reasoningContent"].get("redactedContent", "")
            elif "toolUse" in delta:
                blocks[index][1] += delta["toolUse"]["input"]
    events = decode(CODEC, [_recording(name)])
    assert _texts_by_block(events) == [(kind, text) for kind, text, _ in blocks.values()]
    starts = [(e.id, e.name) for e in events if isinstance(e, BlockStart) and e.kind == "tool_call"]
    assert starts == list(tools.values())
    redacted = [e.redacted for e in events if isinstance(e, BlockEnd) and e.redacted]
    assert redacted == [r for _, _, r in blocks.values() if r]
    usage = next(body["usage"] for t, body in frames if t == "metadata")
    assert [e for e in events if isinstance(e, Usage)] == [
        Usage(input_tokens=usage["inputTokens"], output_tokens=usage["outputTokens"])
    ]
    stop = next(body["stopReason"] for t, body in frames if t == "messageStop")
    assert events[-1] == Finish(
        reason={"end_turn": FinishReason.STOP, "tool_use": FinishReason.TOOL_CALLS}[stop], raw_reason=stop
    )
    assert "abcdefg" not in "".join(map(dumps, events)), "padding leaked"


def test_inline_thinking_tags_stay_text_quirk_62() -> None:
    events = decode(CODEC, [_recording("text-then-tool-use")])
    (kind, text), (tool_kind, args) = _texts_by_block(events)
    assert (kind, tool_kind) == ("text", "tool_call")
    assert text.startswith("<thinking> To find")
    assert text.endswith("</thinking>\n")
    assert args == '{"city":"Paris"}'


def test_gpt_oss_empty_text_delta_opens_no_block_quirk_61() -> None:
    events = decode(CODEC, [_recording("gpt-oss-empty-text-delta")])
    assert [k for k, _ in _texts_by_block(events)] == ["reasoning", "text"]


# -- 2. schema ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", RECORDINGS)
def test_every_recorded_payload_validates(name: str) -> None:
    for headers, payload in _botocore_frames(_recording(name)):
        assert validate_json(SCHEMA, _wrapped(headers, payload)) == []


def test_schema_rejects_payloads_missing_what_the_decoder_needs() -> None:
    assert validate_json(SCHEMA, {"contentBlockDelta": {"delta": {"text": "x"}}})
    assert validate_json(SCHEMA, {"messageStop": {"p": "ab"}})
    assert validate_json(SCHEMA, {"metadata": {"usage": {"inputTokens": 1}}})
    assert validate_json(
        SCHEMA, {"contentBlockStart": {"contentBlockIndex": 1, "start": {"toolUse": {"name": "f"}}}}
    )


# -- 3. quirks ----------------------------------------------------------------------------


def test_frames_split_anywhere_decode_the_same_quirk_15() -> None:
    data = _start() + _text(0, "héllo 😀") + _stop(0) + _end()
    events = decode_every_chunking(CODEC, data)  # includes bytewise, prelude and utf8-boundary cuts
    assert _texts_by_block(events) == [("text", "héllo 😀")]


def test_text_block_without_start_quirk_60() -> None:
    events = _decode(_start() + _text(0, "a") + _text(0, "b") + _stop(0) + _end())
    assert events == [
        ResponseStart(),
        BlockStart(block=0, kind="text"),
        BlockDelta(block=0, text="a"),
        BlockDelta(block=0, text="b"),
        BlockEnd(block=0),
        Usage(input_tokens=10, output_tokens=5),
        Finish(reason=FinishReason.STOP, raw_reason="end_turn"),
    ]


def test_empty_text_delta_then_reasoning_on_next_index_quirk_61() -> None:
    data = (
        _start()
        + _text(0, "")
        + _stop(0)
        + _delta(1, {"reasoningContent": {"text": "think"}})
        + _stop(1)
        + _text(2, "")
        + _text(2, "answer")
        + _stop(2)
        + _end()
    )
    assert _texts_by_block(_decode(data)) == [("reasoning", "think"), ("text", "answer")]


def test_tool_input_string_fragments_join_exactly_quirk_52() -> None:
    pieces = ['{"loca', 'tion": "Pa', "ris \\u00e9\\", 'n", "n": 1', "}"]
    data = (
        _start()
        + _tool_start(0, "tooluse_A", "get")
        + b"".join(_delta(0, {"toolUse": {"input": p}}) for p in pieces)
        + _stop(0)
        + _end("tool_use")
    )
    events = _decode(data)
    end = next(e for e in events if isinstance(e, BlockEnd))
    assert end.arguments_raw == "".join(pieces)
    assert end.arguments == {"location": "Paris é\n", "n": 1}
    assert events[-1] == Finish(reason=FinishReason.TOOL_CALLS, raw_reason="tool_use")


def test_parallel_tool_calls_bind_by_index() -> None:
    data = (
        _start()
        + _tool_start(0, "tooluse_A", "f")
        + _tool_start(1, "tooluse_B", "g")
        + _delta(1, {"toolUse": {"input": '{"b":'}})
        + _delta(0, {"toolUse": {"input": '{"a":1}'}})
        + _delta(1, {"toolUse": {"input": "2}"}})
        + _stop(1)
        + _stop(0)
        + _end("tool_use")
    )
    ends = {e.block: e.arguments for e in _decode(data) if isinstance(e, BlockEnd)}
    assert ends == {0: {"a": 1}, 1: {"b": 2}}


def test_reasoning_signature_and_redacted_go_on_the_end_quirk_59() -> None:
    data = (
        _start()
        + _delta(0, {"reasoningContent": {"text": "hmm"}})
        + _delta(0, {"reasoningContent": {"signature": "SIG=="}})
        + _stop(0)
        + _delta(1, {"reasoningContent": {"redactedContent": "UkVE"}})
        + _stop(1)
        + _text(2, "ok")
        + _stop(2)
        + _end()
    )
    events = _decode(data)
    ends = [e for e in events if isinstance(e, BlockEnd)]
    assert ends == [
        BlockEnd(block=0, signature="SIG=="),
        BlockEnd(block=1, redacted="UkVE"),
        BlockEnd(block=2),
    ]
    assert _texts_by_block(events) == [("reasoning", "hmm"), ("reasoning", ""), ("text", "ok")]


def test_server_tool_call_and_result_quirk_71() -> None:
    result = {"toolUseId": "tooluse_S", "type": "nova_code_interpreter_result", "status": "success"}
    data = (
        _start()
        + _tool_start(0, "tooluse_S", "nova_code_interpreter", type="server_tool_use")
        + _delta(0, {"toolUse": {"input": '{"snippet":"print(1)"}'}})
        + _stop(0)
        + _event("contentBlockStart", {"contentBlockIndex": 1, "start": {"toolResult": result}})
        + _delta(1, {"toolResult": [{"text": "1\n"}, {"json": {"exitCode": 0}}]})
        + _stop(1)
        + _text(2, "It printed 1.")
        + _stop(2)
        + _end("tool_use")
    )
    events = _decode(data)
    assert events[1] == BlockStart(
        block=0, kind="server_tool_call", id="tooluse_S", name="nova_code_interpreter"
    )
    assert (
        BlockStart(
            block=1,
            kind="server_tool_result",
            id="tooluse_S",
            data={"type": "nova_code_interpreter_result", "status": "success"},
        )
        in events
    )
    assert BlockEnd(block=1, data=[{"exitCode": 0}]) in events
    assert _texts_by_block(events)[1] == ("server_tool_result", "1\n")
    # tool_use with only a server tool: no client call to run, so not tool_calls.
    assert events[-1] == Finish(reason=FinishReason.OTHER, raw_reason="tool_use")


def test_citation_delta_becomes_a_citation_block_quirk_70() -> None:
    citation: dict[str, JSONValue] = {
        "title": "Doc",
        "sourceContent": [{"text": "Paris"}],
        "location": {"documentChar": {"start": 0}},
    }
    data = (
        _start() + _text(0, "Paris") + _delta(0, {"citation": citation}) + _text(0, ".") + _stop(0) + _end()
    )
    events = _decode(data)
    assert BlockStart(block=1, kind="citation", data=citation) in events
    assert _texts_by_block(events) == [("text", "Paris."), ("citation", "")]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("end_turn", FinishReason.STOP),
        ("stop_sequence", FinishReason.STOP),
        ("max_tokens", FinishReason.LENGTH),
        ("model_context_window_exceeded", FinishReason.LENGTH),
        ("guardrail_intervened", FinishReason.CONTENT_FILTER),  # quirk 68
        ("content_filtered", FinishReason.CONTENT_FILTER),
        ("malformed_model_output", FinishReason.OTHER),
        ("malformed_tool_use", FinishReason.OTHER),
        ("something_new", FinishReason.OTHER),
    ],
)
def test_stop_reasons_map_with_raw_kept(raw: str, reason: FinishReason) -> None:
    events = _decode(_start() + _text(0, "x") + _stop(0) + _end(raw))
    assert events[-1] == Finish(reason=reason, raw_reason=raw)


def test_max_tokens_with_an_open_tool_block_ends_it_incomplete() -> None:
    data = (
        _start()
        + _tool_start(0, "tooluse_A", "f")
        + _delta(0, {"toolUse": {"input": '{"a": "tru'}})
        + _end("max_tokens")
    )
    events = _decode(data)
    assert BlockEnd(block=0, incomplete=True, arguments_raw='{"a": "tru') in events
    assert events[-1] == Finish(reason=FinishReason.LENGTH, raw_reason="max_tokens")


def test_usage_after_message_stop_comes_before_finish_quirk_75() -> None:
    usage = {
        "inputTokens": 5,
        "outputTokens": 7,
        "totalTokens": 112,
        "cacheReadInputTokens": 60,
        "cacheWriteInputTokens": 40,
    }
    events = _decode(_start() + _text(0, "x") + _stop(0) + _end(usage=usage))
    assert events[-2:] == [
        Usage(input_tokens=105, output_tokens=7, cache_read=60, cache_write=40),
        Finish(reason=FinishReason.STOP, raw_reason="end_turn"),
    ]


def test_message_stop_without_metadata_is_a_protocol_error() -> None:
    data = _start() + _text(0, "x") + _stop(0) + _event("messageStop", {"stopReason": "end_turn"})
    last = _decode(data)[-1]
    assert isinstance(last, Error)
    assert (last.category, last.phase) == (ErrorCategory.PROTOCOL, ErrorPhase.MID_STREAM)
    assert "metadata" in last.message


def test_repeated_message_stop_keeps_the_first_reason_quirk_88() -> None:
    data = _start() + _text(0, "x") + _stop(0) + _event("messageStop", {"stopReason": "max_tokens"}) + _end()
    assert _decode(data)[-1] == Finish(reason=FinishReason.LENGTH, raw_reason="max_tokens")


def test_padding_never_leaks_quirk_79() -> None:
    data = _start() + _event("somethingNew", {"x": 1}, pad="PADPAD") + _text(0, "x") + _stop(0) + _end()
    events = _decode(data)
    assert Unknown(vendor_type="somethingNew", raw={"x": 1}) in events
    assert "PADPAD" not in "".join(map(dumps, events))


@pytest.mark.parametrize(
    ("exception", "category"),
    [
        ("throttlingException", ErrorCategory.RATE_LIMIT),
        ("modelStreamErrorException", ErrorCategory.SERVER),
        ("validationException", ErrorCategory.INVALID_REQUEST),
        ("serviceUnavailableException", ErrorCategory.OVERLOADED),
        ("internalServerException", ErrorCategory.SERVER),
        ("modelTimeoutException", ErrorCategory.TIMEOUT),
        ("brandNewException", ErrorCategory.UNKNOWN),
    ],
)
def test_exception_frame_mid_stream_is_an_error_quirk_26(exception: str, category: ErrorCategory) -> None:
    frame = encode_exception(exception, json.dumps({"message": "boom"}).encode())
    events = _decode(_start() + _text(0, "partial") + frame)
    assert events[-2:] == [
        BlockEnd(block=0, incomplete=True),
        Error(
            category=category,
            message="boom",
            retryable=category
            in {
                ErrorCategory.RATE_LIMIT,
                ErrorCategory.SERVER,
                ErrorCategory.OVERLOADED,
                ErrorCategory.TIMEOUT,
            },
            phase=ErrorPhase.MID_STREAM,
            code=exception,
        ),
    ]


def test_documented_throttling_frame_before_output_quirk_26() -> None:
    """The CRC-valid constructed frame of FORMATS.md §5, as the first frame."""
    frame = bytes.fromhex(
        "000000b2000000613590d5d30f3a657863657074696f6e2d747970650700137468726f74746c696e67457863657074696f6e"
        "0d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d7479706507000965"
        "7863657074696f6e7b226d657373616765223a22546f6f206d616e792072657175657374732c20706c65617365207761697420"
        "6265666f726520747279696e6720616761696e2e227de8ffb26a"
    )
    assert _decode(frame) == [
        Error(
            category=ErrorCategory.RATE_LIMIT,
            message="Too many requests, please wait before trying again.",
            retryable=True,
            phase=ErrorPhase.BEFORE_OUTPUT,
            code="throttlingException",
        )
    ]


def test_model_stream_error_keeps_the_original_status() -> None:
    body = {"message": "upstream failed", "originalStatusCode": 529, "originalMessage": "overloaded"}
    frame = encode_exception("modelStreamErrorException", json.dumps(body).encode())
    last = _decode(_start() + frame)[-1]
    assert isinstance(last, Error)
    assert (last.category, last.status, last.code) == (ErrorCategory.SERVER, 529, "modelStreamErrorException")


def test_generic_error_frame_uses_its_headers() -> None:
    headers = tuple(
        EventStreamHeader(name=n, type=HeaderType.STRING, value=v)
        for n, v in (
            (":message-type", "error"),
            (":error-code", "ThrottlingException"),
            (":error-message", "slow"),
        )
    )
    last = _decode(_start() + encode_message(headers, b""))[-1]
    assert last == Error(
        category=ErrorCategory.RATE_LIMIT,
        message="slow",
        retryable=True,
        phase=ErrorPhase.BEFORE_OUTPUT,
        code="ThrottlingException",
    )


def test_http_error_body_is_not_an_eventstream_quirk_27() -> None:
    events = _decode(b'{"message":"The provided model identifier is invalid."}')
    assert len(events) == 1
    assert isinstance(events[0], Error)
    assert (events[0].category, events[0].phase) == (ErrorCategory.DECODE, ErrorPhase.BEFORE_OUTPUT)


def test_empty_content_block_start_for_text_is_accepted() -> None:
    start = _event("contentBlockStart", {"contentBlockIndex": 0, "start": {}})
    assert _texts_by_block(_decode(_start() + start + _text(0, "x") + _stop(0) + _end())) == [("text", "x")]


@pytest.mark.parametrize(
    "frames",
    [
        pytest.param(_text(0, "x") + _delta(0, {"reasoningContent": {"text": "y"}}), id="kind-conflict"),
        pytest.param(_delta(0, {"toolUse": {"input": "{}"}}), id="tool-input-without-start"),
        pytest.param(_delta(0, {"toolResult": [{"text": "r"}]}), id="tool-result-without-start"),
        pytest.param(_tool_start(0, "a", "f") + _tool_start(0, "b", "g"), id="start-of-open-index"),
        pytest.param(_tool_start(0, "a", ""), id="empty-tool-name"),
        pytest.param(_delta(0, {"text": "x", "toolUse": {"input": ""}}), id="two-member-union"),
        pytest.param(
            _event("contentBlockDelta", {"contentBlockIndex": -1, "delta": {"text": "x"}}), id="negative"
        ),
        pytest.param(
            _event("contentBlockDelta", {"contentBlockIndex": "0", "delta": {"text": "x"}}), id="str-index"
        ),
        pytest.param(_event("metadata", {"usage": {"inputTokens": 1}}), id="usage-without-output"),
        pytest.param(
            _event("metadata", {"usage": {"inputTokens": -1, "outputTokens": 1}}), id="negative-usage"
        ),
        pytest.param(_event("messageStop", {"stopReason": 3}), id="stop-reason-not-string"),
        pytest.param(encode_event("messageStart", b'{"role": "assistant"'), id="truncated-json"),
        pytest.param(encode_event("messageStart", b"\xff\xfe"), id="not-utf8"),
    ],
)
def test_defective_payloads_are_decode_errors(frames: bytes) -> None:
    events = _decode(_start() + frames + _end())
    last = events[-1]
    assert isinstance(last, Error), dumps(last)
    assert last.category is ErrorCategory.DECODE, dumps(last)


# -- 4. round trip and encoder ----------------------------------------------------------------


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(sequences(), knobs(), st.data())
def test_round_trip(seq: list[Event], knob: Knobs, data: st.DataObject) -> None:
    body = CODEC.encode(seq, knob)
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=10))
    assert_round_trip(CODEC, seq, knob, cuts)


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(sequences(), knobs())
def test_every_encoded_payload_validates(seq: list[Event], knob: Knobs) -> None:
    decoder = EventStreamDecoder()
    for frame in decoder.feed(CODEC.encode(seq, knob)) + decoder.close():
        headers = {h.name: h.value for h in frame.headers}
        if headers[":message-type"] != "error":
            wrapped = _wrapped(headers, frame.payload)
            assert validate_json(SCHEMA, wrapped) == [], wrapped
            assert knob.padding == ("p" in next(iter(wrapped.values())))


def test_encoder_renders_what_bedrock_sends() -> None:
    seq: list[Event] = [
        ResponseStart(),
        BlockStart(block=0, kind="text"),
        BlockDelta(block=0, text="hi"),
        BlockEnd(block=0),
        Usage(input_tokens=3, output_tokens=1),
        Finish(reason=FinishReason.STOP, raw_reason="end_turn"),
    ]
    frames = _botocore_frames(CODEC.encode(seq, Knobs(padding=False)))
    assert [(h[":event-type"], json.loads(p)) for h, p in frames] == [
        ("messageStart", {"role": "assistant"}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "hi"}}),
        ("contentBlockStop", {"contentBlockIndex": 0}),
        ("messageStop", {"stopReason": "end_turn"}),
        (
            "metadata",
            {
                "metrics": {"latencyMs": json.loads(frames[-1][1])["metrics"]["latencyMs"]},
                "usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4},
            },
        ),
    ]
    assert list(frames[0][0]) == [":event-type", ":content-type", ":message-type"]
    assert CODEC.encode(seq) == CODEC.encode(seq), "deterministic"
    padded = _botocore_frames(CODEC.encode(seq, Knobs(seed=7)))
    assert all(json.loads(p)["p"] for _, p in padded)
    quirky = _botocore_frames(
        CODEC.encode(seq, Knobs(empty_text_first=True, header_order="message-type-first"))
    )
    assert json.loads(quirky[1][1])["delta"] == {"text": ""}
    assert json.loads(quirky[3][1])["contentBlockIndex"] == 1
    assert next(iter(quirky[0][0])) == ":message-type"


@pytest.mark.parametrize(
    ("seq", "problem"),
    [
        ([ResponseStart(response_id="r")], "no response id"),
        ([BlockStart(block=0, kind="refusal")], "no 'refusal' block"),
        ([BlockStart(block=0, kind="text"), BlockEnd(block=0)], "empty text block"),
        (
            [BlockStart(block=0, kind="text"), BlockStart(block=1, kind="tool_call", id="a", name="f")],
            "reorder",
        ),
        ([BlockStart(block=0, kind="tool_call", name="f")], "toolUseId"),
        ([Finish(reason=FinishReason.STOP, raw_reason="end_turn")], "always reports usage"),
        (
            [
                Usage(input_tokens=1, output_tokens=1),
                Finish(reason=FinishReason.STOP, raw_reason="max_tokens"),
            ],
            "means 'length'",
        ),
        (
            [
                Error(
                    category=ErrorCategory.PROTOCOL,
                    message="x",
                    retryable=True,
                    phase=ErrorPhase.BEFORE_OUTPUT,
                )
            ],
            "no exception",
        ),
        ([ResponseStart()], "no terminal"),
    ],
)
def test_encoder_refuses_what_bedrock_cannot_express(seq: list[Event], problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        CODEC.encode(seq)


# -- 5. malformed input ---------------------------------------------------------------------


def _assert_sane(events: list[Event]) -> None:
    assert_rule_abiding(events)
    terminals = [e for e in events if isinstance(e, Finish | Error)]
    assert len(terminals) == 1


def test_every_truncation_of_a_small_stream_is_visible() -> None:
    data = (
        _start()
        + _text(0, "é")
        + _stop(0)
        + _tool_start(1, "tooluse_A", "f")
        + _delta(1, {"toolUse": {"input": "{}"}})
        + _stop(1)
        + _end("tool_use")
    )
    for size in range(len(data)):
        events = decode(CODEC, [data[:size]])
        _assert_sane(events)
        assert not isinstance(events[-1], Finish), f"truncation at {size} reported as finish"
    assert isinstance(decode(CODEC, [data])[-1], Finish)


@settings(max_examples=60)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data: bytes) -> None:
    _assert_sane(decode(CODEC, [data]))


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "messageStart",
                    "contentBlockStart",
                    "contentBlockDelta",
                    "contentBlockStop",
                    "messageStop",
                    "metadata",
                    "mystery",
                ]
            ),
            st.dictionaries(
                st.sampled_from(["role", "contentBlockIndex", "start", "delta", "stopReason", "usage", "p"]),
                st.none()
                | st.integers(-2, 3)
                | st.text(max_size=3)
                | st.just({"text": "t"})
                | st.just({"toolUse": {"toolUseId": "i", "name": "n"}})
                | st.just({"inputTokens": 1, "outputTokens": 2})
                | st.just({"reasoningContent": {"signature": "s"}})
                | st.just({"toolUse": {"input": "{"}}),
            ),
        ),
        max_size=12,
    ),
    st.booleans(),
)
def test_wrong_field_types_and_orders_never_raise(
    frames: list[tuple[str, dict[str, Any]]], exc: bool
) -> None:
    data = b"".join(encode_event(t, json.dumps(body).encode()) for t, body in frames)
    if exc:
        data += encode_exception("throttlingException", b"not json")
    _assert_sane(decode(CODEC, [data]))
