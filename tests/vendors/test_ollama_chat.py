"""The Ollama native codec (``ollama/chat``): documented streams, quirks, round trip, fuzz."""

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
from conformance.vendors.ollama_chat import CODEC, Knobs
from conformance.vendors.ollama_chat.strategies import knobs, sequences
from tests.helpers import REFERENCE_STREAMS, split_at
from tests.vendors.helpers import (
    assert_round_trip,
    assert_rule_abiding,
    decode,
    decode_every_chunking,
    load_expected,
)

SCHEMA = CODEC.payload_schema
RECORDINGS = ["ollama__docs-generate-ndjson.txt", "ollama__docs-midstream-error-ndjson.txt"]


def _recording(name: str) -> bytes:
    path = REFERENCE_STREAMS / name
    if not path.is_file():
        pytest.skip(f"reference stream {name} is not available")
    return path.read_bytes()


def _lines(body: bytes) -> list[Any]:
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def _wire(*objects: Any) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objects)


def _chat(
    content: str = "", *, thinking: str | None = None, calls: list[Any] | None = None, **extra: Any
) -> Any:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if thinking is not None:
        message["thinking"] = thinking
    if calls is not None:
        message["tool_calls"] = calls
    return {
        "model": "qwen3",
        "created_at": "2025-10-26T17:15:24Z",
        "message": message,
        "done": False,
        **extra,
    }


def _done(reason: str | None = "stop", **counters: int) -> Any:
    out = _chat(done=True)
    out["done"] = True
    if reason is not None:
        out["done_reason"] = reason
    out.update(counters)
    return out


def _call(name: str, arguments: Any, *, call_id: str | None = None, index: int | None = None) -> Any:
    function: dict[str, Any] = {"name": name, "arguments": arguments}
    if index is not None:
        function["index"] = index
    return {"function": function} if call_id is None else {"id": call_id, "function": function}


def _only(events: list[Event], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def _block_text(events: list[Event], block: int) -> str:
    return "".join(e.text for e in events if isinstance(e, BlockDelta) and e.block == block)


# -- 1. documented streams ------------------------------------------------------------


@pytest.mark.parametrize("name", RECORDINGS)
def test_recording_decodes_to_its_reviewed_sequence_under_every_chunking(name: str) -> None:
    """Quirk 14 (ndjson.partial_line_across_reads): every chunking gives the same events."""
    events = decode_every_chunking(CODEC, _recording(name), flavour="generate")
    assert_rule_abiding(events)
    assert events == load_expected(name.rsplit(".", 1)[0])


def test_generate_example_facts_come_straight_from_the_objects() -> None:
    body = _recording("ollama__docs-generate-ndjson.txt")
    objects = _lines(body)
    events = decode(CODEC, [body], flavour="generate")
    assert events[0] == ResponseStart(model=objects[0]["model"])
    assert _block_text(events, 0) == "".join(
        o["response"] for o in objects
    )  # the done object carries text too
    assert not _only(events, Usage)  # the example has no counters
    assert events[-1] == Finish(reason=FinishReason.STOP, raw_reason=objects[-1]["done_reason"])


def test_midstream_error_example_facts_come_straight_from_the_objects() -> None:
    """Quirk 32 (ollama.error_line_mid_stream)."""
    body = _recording("ollama__docs-midstream-error-ndjson.txt")
    objects = _lines(body)
    events = decode(CODEC, [body], flavour="generate")
    assert _block_text(events, 0) == "".join(o["response"] for o in objects[:-1])
    assert _only(events, BlockEnd) == [BlockEnd(block=0, incomplete=True)]
    assert events[-1] == Error(
        category=ErrorCategory.UNKNOWN,
        message=objects[-1]["error"],
        retryable=False,
        phase=ErrorPhase.MID_STREAM,
    )


# -- 2. schema ------------------------------------------------------------------------


@pytest.mark.parametrize("name", RECORDINGS)
def test_every_recorded_object_validates_against_the_schema(name: str) -> None:
    for i, obj in enumerate(_lines(_recording(name))):
        assert validate_json(SCHEMA, obj, path=f"line[{i}]") == []


def test_schema_requires_what_the_decoder_depends_on() -> None:
    assert validate_json(SCHEMA, {"model": "m", "message": {"content": "x"}})  # no done
    assert validate_json(SCHEMA, {"error": 3})
    assert validate_json(SCHEMA, _chat(calls=[{"function": {"name": "f"}}]))  # no arguments


# -- 3. quirks ------------------------------------------------------------------------


def test_chat_content_thinking_and_usage() -> None:
    """Quirks 63 (reasoning.field_names_vary: Ollama ``thinking``) and 75 (usage on the done object)."""
    body = _wire(
        _chat(thinking="Hmm"),
        _chat(thinking=", ok"),
        _chat("Hel"),
        _chat("lo"),
        _done(prompt_eval_count=26, eval_count=9),
    )
    events = decode_every_chunking(CODEC, body)
    assert events == [
        ResponseStart(model="qwen3"),
        BlockStart(block=0, kind="reasoning"),
        BlockDelta(block=0, text="Hmm"),
        BlockDelta(block=0, text=", ok"),
        BlockEnd(block=0),
        BlockStart(block=1, kind="text"),
        BlockDelta(block=1, text="Hel"),
        BlockDelta(block=1, text="lo"),
        Usage(input_tokens=26, output_tokens=9),
        BlockEnd(block=1),  # ended by the finish
        Finish(reason=FinishReason.STOP, raw_reason="stop"),
    ]


def test_thinking_after_text_opens_a_new_reasoning_block() -> None:
    events = decode(CODEC, [_wire(_chat("a"), _chat(thinking="b"), _chat("c"), _done())])
    assert [(s.block, s.kind) for s in _only(events, BlockStart)] == [
        (0, "text"),
        (1, "reasoning"),
        (2, "text"),
    ]
    assert_rule_abiding(events)


def test_quirk_53_tool_calls_are_complete_objects_serialised_compactly() -> None:
    args: JSONObject = {"city": "M\u00fcnchen", "days": [1, 2.5], "deep": {"x": None}}
    body = _wire(
        _chat("Let me check."), _chat(calls=[_call("weather", args, call_id="call_1", index=0)]), _done()
    )
    events = decode_every_chunking(CODEC, body)
    raw = json.dumps(args, ensure_ascii=False, separators=(",", ":"))
    assert BlockStart(block=1, kind="tool_call", id="call_1", name="weather") in events
    assert BlockDelta(block=1, text=raw) in events
    assert BlockEnd(block=1, arguments_raw=raw, arguments=args) in events
    assert events[-1] == Finish(reason=FinishReason.TOOL_CALLS, raw_reason="stop")


def test_quirk_53_a_later_frame_with_the_same_id_replaces_the_call_in_place() -> None:
    first = [_call("a", {"v": 1}, call_id="x", index=0), _call("b", {"w": 1}, call_id="y", index=1)]
    body = _wire(_chat(calls=first), _chat(calls=[_call("a", {"v": 2}, call_id="x", index=0)]), _done())
    events = decode_every_chunking(CODEC, body)
    assert [(s.id, s.name) for s in _only(events, BlockStart)] == [("x", "a"), ("y", "b")]
    assert [e.arguments for e in _only(events, BlockEnd)] == [{"v": 2}, {"w": 1}]


def test_quirk_53_calls_without_an_id_are_never_merged_by_index() -> None:
    """Ollama has sent ``index: 0`` for every call (ollama/ollama#15457): those are distinct calls
    (an empty id is no id either)."""
    body = _wire(
        _chat(calls=[_call("write", {"f": "a.py"}, index=0), _call("write", {"f": "b.py"}, index=0)]),
        _chat(
            calls=[_call("write", {"f": "c.py"}, index=0), _call("write", {"f": "d.py"}, call_id="", index=0)]
        ),
        _done(),
    )
    events = decode(CODEC, [body])
    assert [e.arguments for e in _only(events, BlockEnd)] == [
        {"f": "a.py"},
        {"f": "b.py"},
        {"f": "c.py"},
        {"f": "d.py"},
    ]
    assert all(s.id is None for s in _only(events, BlockStart))
    assert_rule_abiding(events)


def test_non_object_arguments_are_reported_not_dropped() -> None:
    events = decode(CODEC, [_wire(_chat(calls=[_call("f", "not an object")]), _done())])
    end = _only(events, BlockEnd)[0]
    assert (end.arguments_raw, end.arguments) == ('"not an object"', None)
    assert end.arguments_error is not None


def test_held_tool_calls_are_cut_off_when_the_stream_fails() -> None:
    body = _wire(_chat("x"), _chat(calls=[_call("f", {"a": 1}, call_id="c")]), {"error": "boom"})
    events = decode_every_chunking(CODEC, body)
    assert _only(events, BlockEnd) == [
        BlockEnd(block=0, incomplete=True),
        BlockEnd(block=1, incomplete=True, arguments_raw='{"a":1}'),
    ]
    assert events[-1] == Error(
        category=ErrorCategory.UNKNOWN, message="boom", retryable=False, phase=ErrorPhase.MID_STREAM
    )
    truncated = decode(CODEC, [body.rsplit(b"\n", 2)[0] + b"\n"])
    assert _only(truncated, BlockEnd)[-1] == BlockEnd(block=1, incomplete=True, arguments_raw='{"a":1}')
    assert isinstance(truncated[-1], Error)
    assert truncated[-1].category is ErrorCategory.PROTOCOL


def test_quirk_32_error_line_before_any_output() -> None:
    events = decode_every_chunking(CODEC, _wire({"error": "model 'x' not found"}))
    assert events == [
        Error(
            category=ErrorCategory.UNKNOWN,
            message="model 'x' not found",
            retryable=False,
            phase=ErrorPhase.BEFORE_OUTPUT,
        )
    ]


def test_quirk_87_absent_done_reason_finishes_stop_without_a_raw_reason() -> None:
    events = decode_every_chunking(CODEC, _wire(_chat("hi"), _done(None)))
    assert events[-1] == Finish(reason=FinishReason.STOP, raw_reason=None)
    # SPEC §6: a vendor that sends no reason leaves raw_reason absent; only that SHOULD fires.
    assert [v.rule for v in check(events)] == ["finish.raw-reason"]
    empty = decode(CODEC, [_wire(_chat("hi"), _done(""))])
    assert empty[-1] == Finish(reason=FinishReason.STOP, raw_reason="")
    with_calls = decode(CODEC, [_wire(_chat(calls=[_call("f", {})]), _done(None))])
    assert with_calls[-1] == Finish(reason=FinishReason.TOOL_CALLS, raw_reason=None)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("stop", FinishReason.STOP),
        ("length", FinishReason.LENGTH),
        ("load", FinishReason.OTHER),
        ("unload", FinishReason.OTHER),
    ],
)
def test_done_reasons_map_to_the_unified_enum(raw: str, reason: FinishReason) -> None:
    events = decode(CODEC, [_wire(_chat("a"), _done(raw))])
    assert events[-1] == Finish(reason=reason, raw_reason=raw)
    assert _only(events, BlockEnd) == [BlockEnd(block=0, incomplete=reason is FinishReason.LENGTH)]


def test_stream_without_done_is_a_protocol_error_never_a_finish() -> None:
    events = decode_every_chunking(CODEC, _wire(_chat("partial")))
    assert events[-1] == Error(
        category=ErrorCategory.PROTOCOL,
        message='the stream ended without an object with "done": true',
        retryable=True,
        phase=ErrorPhase.MID_STREAM,
    )
    assert _block_text(events, 0) == "partial"


def test_lines_after_done_are_reported_as_unknown() -> None:
    events = decode(CODEC, [_wire(_chat("a"), _done(), {"error": "late"})])
    assert events[-1] == Unknown(vendor_type="error", raw={"error": "late"})
    assert_rule_abiding(events)


@pytest.mark.parametrize(
    ("name", "transform"),
    [
        ("crlf", lambda b: b.replace(b"\n", b"\r\n")),
        ("no final newline", lambda b: b.rstrip(b"\n")),
        ("blank lines", lambda b: b.replace(b"\n", b"\n\n \n")),
        ("extension fields", lambda b: b.replace(b'"done"', b'"x_extra": [1], "done"')),
    ],
)
def test_framing_variants_do_not_change_the_events(name: str, transform: Any) -> None:
    body = _wire(
        _chat("h\u00e9llo \U0001f600"), _chat(calls=[_call("f", {"k": "\u05d0\u0301"})]), _done(eval_count=3)
    )
    assert decode_every_chunking(CODEC, transform(body)) == decode(CODEC, [body]), name


@pytest.mark.parametrize(
    "bad",
    [
        b"{not json}\n",
        b"[1, 2]\n",
        json.dumps({"message": {"content": 5}, "done": False}).encode() + b"\n",
        json.dumps({"message": {"content": "x"}, "done": "no"}).encode() + b"\n",
        json.dumps(_chat(calls=[{"function": {"name": "f"}}])).encode() + b"\n",
        json.dumps(_chat(calls=[{"function": {"name": "", "arguments": {}}}])).encode() + b"\n",
        json.dumps({"error": {"message": "nested"}}).encode() + b"\n",
        json.dumps(_done(eval_count=-1)).encode() + b"\n",
    ],
)
def test_defective_lines_become_decode_errors(bad: bytes) -> None:
    events = decode_every_chunking(CODEC, _wire(_chat("a")) + bad + _wire(_done()))
    assert isinstance(events[-1], Error)
    assert events[-1].category is ErrorCategory.DECODE
    assert _block_text(events, 0) == "a"
    assert_rule_abiding(events)


def test_invalid_utf8_is_a_decode_error() -> None:
    """Only the terminal is compared: the shared NDJSON framing drops the complete lines that
    came before the bad byte *in the same chunk* (reported to the lead), so the text before
    it depends on the chunking."""
    body = _wire(_chat("a")) + b'{"x": "\xff"}\n' + _wire(_done())
    for chunks in ([body], [body[:1], body[1:]], [bytes([c]) for c in body]):
        last = decode(CODEC, chunks)[-1]
        assert isinstance(last, Error)
        assert last.category is ErrorCategory.DECODE


# -- 4. round trip --------------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["chat", "generate"])
def test_round_trip_and_every_emitted_object_validates(flavour: str) -> None:
    @settings(max_examples=80)
    @given(seq=sequences(flavour), knob=knobs(flavour), data=st.data())  # type: ignore[arg-type]
    def round_trip(seq: list[Event], knob: Knobs, data: st.DataObject) -> None:
        body = CODEC.encode(seq, knob)
        for i, obj in enumerate(_lines(body)):
            assert validate_json(SCHEMA, obj, path=f"line[{i}]") == []
        cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=12))
        assert_round_trip(CODEC, seq, knob, cuts, flavour=flavour)

    round_trip()


def test_encoder_renders_the_documented_example_with_the_text_in_the_done_object() -> None:
    body = _recording("ollama__docs-generate-ndjson.txt")
    knob = Knobs(flavour="generate", last_fragment_in_done=True, durations=False)
    encoded = _lines(CODEC.encode(decode(CODEC, [body], flavour="generate"), knob))
    recorded = _lines(body)
    for obj in (*encoded, *recorded):
        del obj["created_at"]
    assert encoded == recorded


@pytest.mark.parametrize(
    ("events", "what"),
    [
        (
            [ResponseStart(response_id="r"), Finish(reason=FinishReason.STOP, raw_reason="stop")],
            "no response id",
        ),
        (
            [
                BlockStart(block=0, kind="citation"),
                BlockEnd(block=0),
                Finish(reason=FinishReason.STOP, raw_reason="stop"),
            ],
            "citation",
        ),
        (
            [Usage(cache_read=3), Finish(reason=FinishReason.STOP, raw_reason="stop")],
            "only prompt_eval_count",
        ),
        (
            [
                BlockStart(block=0, kind="tool_call", name="f"),
                BlockDelta(block=0, text='{"a": 1}'),
                BlockEnd(block=0, arguments_raw='{"a": 1}', arguments={"a": 1}),
                Finish(reason=FinishReason.TOOL_CALLS, raw_reason="stop"),
            ],
            "compact serialisation",
        ),
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
            "only a message",
        ),
        (
            [
                ResponseStart(),
                BlockStart(block=0, kind="text"),
                BlockDelta(block=0, text="a"),
                BlockEnd(block=0),
                BlockStart(block=1, kind="text"),
                BlockDelta(block=1, text="b"),
                BlockEnd(block=1),
                Finish(reason=FinishReason.STOP, raw_reason="stop"),
            ],
            "cannot express",
        ),
    ],
)
def test_encoder_refuses_what_ollama_cannot_say(events: list[Event], what: str) -> None:
    with pytest.raises(UsageError, match=what):
        CODEC.encode(events)


def test_generate_flavour_refuses_tool_calls() -> None:
    events: list[Event] = [
        BlockStart(block=0, kind="tool_call", name="f"),
        BlockEnd(block=0),
        Finish(reason=FinishReason.TOOL_CALLS, raw_reason="stop"),
    ]
    with pytest.raises(UsageError, match="generate"):
        CODEC.encode(events, Knobs(flavour="generate"))


# -- 5. malformed input ---------------------------------------------------------------

SMALL = _wire(
    _chat(thinking="t"),
    _chat("h\u00e9"),
    _chat(calls=[_call("f", {"a": [1]}, call_id="c")]),
    _done(prompt_eval_count=2, eval_count=3),
)


def _assert_sane(events: list[Event]) -> None:
    assert len([e for e in events if isinstance(e, Finish | Error)]) == 1
    violations = [v for v in check(events) if v.rule != "finish.raw-reason"]
    assert not violations, violations


def test_every_prefix_decodes_sanely_and_only_a_complete_done_object_finishes() -> None:
    done_line = SMALL.rindex(b'{"model"')
    for cut in range(len(SMALL) + 1):
        events = decode(CODEC, [SMALL[:cut]])
        _assert_sane(events)
        # a cut done line fails to parse, except when only its newline is missing
        assert isinstance(events[-1], Finish) == (cut >= len(SMALL) - 1), cut
        assert cut > done_line or not isinstance(events[-1], Finish)


@given(st.binary(max_size=300), st.lists(st.integers(0, 400), max_size=5))
def test_random_bytes_never_raise(noise: bytes, cuts: list[int]) -> None:
    _assert_sane(decode(CODEC, split_at(SMALL[:150] + noise, cuts)))


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
    max_leaves=5,
)


@given(data=st.data(), flavour=st.sampled_from(["chat", "generate"]))
def test_mutated_objects_never_raise(data: st.DataObject, flavour: str) -> None:
    objects: list[Any] = _lines(SMALL)
    i = data.draw(st.integers(0, len(objects) - 1))
    victim = objects[i]
    node = victim
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
    _assert_sane(decode(CODEC, ["\n".join(lines).encode()], flavour=flavour))
