"""The shared codec machinery: ResponseBuilder, the VendorDecoder base, payload access, the registry."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from conformance.errors import PayloadError, UsageError
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
    ResponseStart,
    Unknown,
    Usage,
)
from conformance.framing.messages import Message, NDJSONLine
from conformance.grammar import check
from conformance.registry import api_ids, get_codec
from conformance.vendors import BUILTIN_CODECS
from conformance.vendors._base import Codec, VendorDecoder, parse_payload
from conformance.vendors._builder import ResponseBuilder, category_for_status
from conformance.vendors._payload import may, need


def _events(build: ResponseBuilder) -> list[Event]:
    events = build.take()
    assert check(events) == [], check(events)
    return events


def test_blocks_are_numbered_in_start_order_from_any_vendor_key() -> None:
    b = ResponseBuilder()
    b.start(response_id="r1", model="m")
    b.open(("tool", 7), "tool_call", id="c7", name="f")
    b.open("text", "text")
    b.delta("text", "hi")
    b.delta(("tool", 7), '{"a"')
    b.delta(("tool", 7), ":1}")
    b.finish(FinishReason.TOOL_CALLS, "tool_calls")
    assert _events(b) == [
        ResponseStart(response_id="r1", model="m"),
        BlockStart(block=0, kind="tool_call", id="c7", name="f"),
        BlockStart(block=1, kind="text"),
        BlockDelta(block=1, text="hi"),
        BlockDelta(block=0, text='{"a"'),
        BlockDelta(block=0, text=":1}"),
        BlockEnd(block=0, arguments_raw='{"a":1}', arguments={"a": 1}),
        BlockEnd(block=1),
        Finish(reason=FinishReason.TOOL_CALLS, raw_reason="tool_calls"),
    ]


def test_empty_deltas_are_dropped_and_no_argument_calls_get_an_empty_object() -> None:
    b = ResponseBuilder()
    b.open(0, "tool_call", id="t", name="now")
    b.delta(0, "")
    b.end(0)
    b.finish(FinishReason.TOOL_CALLS, "tool_use")
    events = _events(b)
    assert not any(isinstance(e, BlockDelta) for e in events)
    assert events[1] == BlockEnd(block=0, arguments_raw="{}", arguments={})


def test_invalid_arguments_are_reported_not_dropped() -> None:
    b = ResponseBuilder()
    b.open(0, "tool_call", id="t", name="f")
    b.delta(0, '{"a": NaN}')
    b.end(0)
    end = b.take()[-1]
    assert isinstance(end, BlockEnd)
    assert end.arguments is None
    assert end.arguments_error is not None
    assert "NaN" in end.arguments_error


def test_length_finish_leaves_open_blocks_incomplete_without_arguments() -> None:
    b = ResponseBuilder()
    b.open(0, "tool_call", id="t", name="f")
    b.delta(0, '{"a": 1}')  # parses, but the call was cut off: never finalised
    b.finish(FinishReason.LENGTH, "max_tokens")
    events = _events(b)
    assert events[-2] == BlockEnd(block=0, incomplete=True, arguments_raw='{"a": 1}')


def test_usage_is_a_cumulative_snapshot_emitted_only_when_it_changes() -> None:
    b = ResponseBuilder()
    b.usage(input_tokens=10, output_tokens=1)
    b.usage(output_tokens=1)  # nothing new
    b.usage(output_tokens=5)  # input carried forward
    b.finish(FinishReason.STOP, "end_turn")
    assert [e for e in _events(b) if isinstance(e, Usage)] == [
        Usage(input_tokens=10, output_tokens=1),
        Usage(input_tokens=10, output_tokens=5),
    ]


def test_error_phase_follows_output_and_content_before_it_is_kept() -> None:
    before = ResponseBuilder()
    before.start()
    before.error(ErrorCategory.OVERLOADED, "Overloaded", code="overloaded_error", status=529)
    assert _events(before)[-1] == Error(
        category=ErrorCategory.OVERLOADED,
        message="Overloaded",
        retryable=True,
        phase=ErrorPhase.BEFORE_OUTPUT,
        status=529,
        code="overloaded_error",
    )
    mid = ResponseBuilder()
    mid.open(0, "text")
    mid.delta(0, "partial")
    mid.error(ErrorCategory.PROTOCOL, "cut")
    events = _events(mid)
    assert BlockDelta(block=0, text="partial") in events
    assert events[-2] == BlockEnd(block=0, incomplete=True)
    last = events[-1]
    assert isinstance(last, Error)
    assert (last.phase, last.retryable) == (ErrorPhase.MID_STREAM, True)


def test_one_terminal_then_only_unknown() -> None:
    b = ResponseBuilder()
    b.finish(FinishReason.STOP, "stop")
    b.error(ErrorCategory.SERVER, "late")
    b.open(0, "text")
    b.usage(output_tokens=3)
    b.unknown("response.created", {"n": 2})
    events = _events(b)
    assert events == [
        Finish(reason=FinishReason.STOP, raw_reason="stop"),
        Unknown(vendor_type="response.created", raw={"n": 2}),
    ]
    assert b.terminated


@pytest.mark.parametrize(
    ("status", "category"),
    [
        (400, "invalid_request"),
        (401, "auth"),
        (429, "rate_limit"),
        (503, "overloaded"),
        (529, "overloaded"),
        (504, "timeout"),
        (599, "server"),
        (418, "invalid_request"),
        (None, "unknown"),
        (302, "unknown"),
    ],
)
def test_http_status_categories(status: int | None, category: str) -> None:
    assert category_for_status(status) == category


def test_payload_access_names_the_field_and_offset() -> None:
    obj = parse_payload('{"a": "x", "n": 3, "b": true, "z": null}', 10)
    assert need(obj, "a", str, 10) == "x"
    assert may(obj, "z", str, 10) is None
    assert may(obj, "missing", int, 10, 0) == 0
    with pytest.raises(PayloadError) as info:
        need(obj, "b", int, 10)
    assert (info.value.offset, "'b'" in str(info.value)) == (10, True)
    with pytest.raises(PayloadError):
        need(obj, "z", str, 10)
    for bad in ("[1]", "{", "nope"):
        with pytest.raises(PayloadError) as info:
            parse_payload(bad, 42)
        assert info.value.offset == 42


class _LinesDecoder(VendorDecoder):
    """A toy NDJSON API: {"t": "x"} appends text, {"end": true} finishes."""

    TERMINATOR = 'an {"end": true} line'

    def __init__(self, framing: str, flavour: str) -> None:
        from conformance.framing.ndjson import NDJSONDecoder

        super().__init__(NDJSONDecoder(), flavour=flavour)

    def on_message(self, message: Message) -> None:
        assert isinstance(message, NDJSONLine)
        obj = parse_payload(message.text, message.offset)
        if obj.get("end"):
            self.out.finish(FinishReason.STOP, "end")
        elif "t" in obj:
            if not self.out.is_open(0):
                self.out.open(0, "text")
            self.out.delta(0, need(obj, "t", str, message.offset))
        else:
            self.out.unknown("line", obj)


def _toy_encode(events: Sequence[Event], knobs: None) -> bytes:
    return (
        b"".join(b'{"t": "%s"}\n' % e.text.encode() for e in events if isinstance(e, BlockDelta))
        + b'{"end": true}\n'
    )


TOY: Codec[None] = Codec(
    api="toy/lines",
    framings=("ndjson",),
    flavours=("toy",),
    decoder=_LinesDecoder,
    encoder=_toy_encode,
    knobs=None,
    payload_schema="none",
)


def _run(data: bytes) -> list[Event]:
    dec = TOY.new_decoder()
    return [*dec.feed(data), *dec.close()]


def test_base_decoder_reports_a_missing_terminator_as_protocol_error() -> None:
    events = _run(b'{"t": "a"}\n{"t": "b"}\n')
    last = events[-1]
    assert isinstance(last, Error)
    assert last.category == ErrorCategory.PROTOCOL
    assert 'without an {"end": true} line' in last.message
    assert check(events) == []


def test_base_decoder_turns_a_defective_payload_into_a_decode_error_and_stops() -> None:
    events = _run(b'{"t": "a"}\n{"t": 5}\n{"t": "never"}\n{"end": true}\n')
    last = events[-1]
    assert isinstance(last, Error)
    assert last.category == ErrorCategory.DECODE
    assert "byte 11" in last.message
    assert BlockDelta(block=0, text="never") not in events
    assert check(events) == []


def test_base_decoder_turns_bad_framing_into_a_decode_error() -> None:
    events = _run(b'{"t": "a"}\n\xff\xfe\n')
    last = events[-1]
    assert isinstance(last, Error)
    assert last.category == ErrorCategory.DECODE
    assert "byte 11" in last.message


def test_base_decoder_refuses_misuse_and_unknown_flavours() -> None:
    dec = TOY.new_decoder()
    dec.close()
    with pytest.raises(UsageError):
        dec.feed(b"")
    with pytest.raises(UsageError):
        dec.close()
    with pytest.raises(UsageError, match="valid: toy"):
        TOY.new_decoder("other")
    with pytest.raises(UsageError, match="valid: ndjson"):
        TOY.new_decoder(framing="sse")
    assert TOY.encode([BlockDelta(block=0, text="x")]) == b'{"t": "x"}\n{"end": true}\n'


def test_registry_knows_every_builtin_api_and_refuses_others() -> None:
    assert api_ids()[: len(BUILTIN_CODECS)] == list(BUILTIN_CODECS)
    with pytest.raises(UsageError, match="openai/chat-completions"):
        get_codec("nobody/nothing")


def test_payloads_with_non_json_constants_are_refused() -> None:
    for bad in ('{"v": NaN}', '{"v": Infinity}', '{"v": -Infinity}'):
        with pytest.raises(PayloadError, match="not JSON"):
            parse_payload(bad, 0)


def test_attached_signatures_survive_however_the_block_ends() -> None:
    b = ResponseBuilder()
    b.open(0, "reasoning")
    b.delta(0, "thinking...")
    b.attach(0, signature="sig-1")
    b.open(1, "reasoning")
    b.attach(1, redacted="opaque")
    b.error(ErrorCategory.OVERLOADED, "Overloaded")
    ends = [e for e in _events(b) if isinstance(e, BlockEnd)]
    assert ends == [
        BlockEnd(block=0, incomplete=True, signature="sig-1"),
        BlockEnd(block=1, incomplete=True, redacted="opaque"),
    ]


def test_response_start_is_refused_after_usage() -> None:
    b = ResponseBuilder()
    b.usage(input_tokens=3)
    b.start(response_id="late")
    b.finish(FinishReason.STOP, "stop")
    assert not any(isinstance(e, ResponseStart) for e in _events(b))


def test_a_payload_cut_short_by_the_end_of_input_is_a_protocol_error() -> None:
    events = _run(b'{"t": "a"}\n{"t": "b')  # the last line only ends because the input did
    last = events[-1]
    assert isinstance(last, Error)
    assert last.category == ErrorCategory.PROTOCOL
    assert "ended inside a message" in last.message
    assert BlockDelta(block=0, text="a") in events


@pytest.mark.parametrize("api", list(BUILTIN_CODECS))
def test_every_builtin_codec_loads_with_a_valid_payload_schema(api: str) -> None:
    from jsonschema import Draft202012Validator

    from conformance.schemas import load_schema

    codec = get_codec(api)
    assert codec.api == api
    assert codec.framings
    assert codec.flavours
    schema = load_schema(codec.payload_schema)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for framing in codec.framings:
        for flavour in codec.flavours:
            decoder = codec.new_decoder(flavour, framing=framing)
            events = decoder.close()  # an empty stream is a truncated one, whatever the API
            assert isinstance(events[-1], Error)
            assert events[-1].category == ErrorCategory.PROTOCOL
