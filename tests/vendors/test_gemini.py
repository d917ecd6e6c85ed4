"""The gemini/generate-content codec: real recordings, quirks, round trip, schema, fuzz.

Quirk ids refer to /work/shared/reference/QUIRKS.md.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
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
    ResponseStart,
    Unknown,
    Usage,
)
from conformance.framing.messages import SSEEvent, SSEStrayLine
from conformance.framing.sse import SSEDecoder
from conformance.reframe import reframe
from conformance.schemas import validate_json
from conformance.vendors.gemini import CODEC, Knobs
from conformance.vendors.gemini.partial_args import format_path, parse_path
from conformance.vendors.gemini.plan import TRUNCATED
from conformance.vendors.gemini.strategies import knobs, sequences
from tests.helpers import REFERENCE_STREAMS, split_at
from tests.vendors.helpers import (
    assert_round_trip,
    assert_rule_abiding,
    decode,
    decode_every_chunking,
    load_expected,
)

SCHEMA = "vendors/gemini/generate-content.schema.json"
BLOCKED_USAGE = {"promptTokenCount": 7, "totalTokenCount": 7}

#: Every recording of this API: file -> framing.
RECORDINGS = {
    "gemini__text-crlf.txt": "sse",
    "gemini__function-call-whole.txt": "sse",
    "gemini__thought-parts.txt": "sse",
    "gemini__code-execution.txt": "sse",
    "vertex__flex-tier-text.txt": "sse",
    "gemini__json-array-stream-thought-then-call.txt": "json-array",
    "gemini__json-array-stream-function-call-id.txt": "json-array",
    "vertex__streamed-function-call-args-payloads.txt": "sse",
    "vertex__streamed-array-args-missing-terminal-payloads.txt": "sse",
}


def _body(name: str) -> bytes:
    if not REFERENCE_STREAMS.is_dir():
        pytest.skip("reference streams not available")
    raw = (REFERENCE_STREAMS / name).read_bytes()
    return reframe(raw, api="gemini/generate-content") if name.endswith("-payloads.txt") else raw


def wire_payloads(data: bytes, framing: str) -> list[Any]:
    """Every JSON payload of a body, the bare SSE error object included (read independently
    of the codec: SSE data lines and stray lines, or the JSON array as a whole)."""
    if framing == "json-array":
        value = json.loads(data)
        assert isinstance(value, list)
        return value
    decoder = SSEDecoder(eof="dispatch", keep_stray_lines=True)
    messages = [*decoder.feed(data), *decoder.close()]
    out: list[Any] = [json.loads(m.data) for m in messages if isinstance(m, SSEEvent)]
    stray = "\n".join(m.text for m in messages if isinstance(m, SSEStrayLine))
    if stray:
        out.append(json.loads(stray))
    return out


def _events(text: str, framing: str = "sse") -> list[Event]:
    """Decode hand-written wire text under every chunking; assert the rules hold."""
    events = decode_every_chunking(CODEC, text.encode(), framing=framing)
    assert_rule_abiding(events)
    return events


def sse(*chunks: object, tail: str = "") -> str:
    """Gemini SSE: each chunk as ``data: <json>`` with CRLF lines, then ``tail`` as is."""
    return "".join(f"data: {json.dumps(c, ensure_ascii=False)}\r\n\r\n" for c in chunks) + tail


def chunk(*parts: object, finish: str | None = None, usage: dict[str, int] | None = None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": list(parts), "role": "model"}}
    if finish is not None:
        candidate["finishReason"] = finish
    out: dict[str, Any] = {"candidates": [candidate]}
    if usage is not None:
        out["usageMetadata"] = usage
    out["modelVersion"] = "gemini-2.5-flash"
    out["responseId"] = "r1"
    return out


def texts_of(events: list[Event], kind: str) -> str:
    kinds = {e.block: e.kind for e in events if isinstance(e, BlockStart)}
    return "".join(e.text for e in events if isinstance(e, BlockDelta) and kinds[e.block] == kind)


def of_type(events: list[Event], cls: type[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, cls)]


def error_category(events: list[Event]) -> ErrorCategory:
    """The category of the error that ends ``events`` (fails if they end otherwise)."""
    last = events[-1]
    assert isinstance(last, Error), last
    return last.category


# -- 1. real recordings ------------------------------------------------------------------------


def test_every_recording_of_this_api_is_listed() -> None:
    if not REFERENCE_STREAMS.is_dir():
        pytest.skip("reference streams not available")
    provenance = json.loads((REFERENCE_STREAMS / "PROVENANCE.json").read_text(encoding="utf-8"))
    ours = {e["file"] for e in provenance if e["vendor"] in ("gemini", "vertex")}
    assert ours == set(RECORDINGS)


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_recording_matches_reviewed_expected(name: str) -> None:
    events = decode_every_chunking(CODEC, _body(name), framing=RECORDINGS[name])
    assert_rule_abiding(events)
    assert events == load_expected(name.rsplit(".", 1)[0])


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_recording_facts_from_raw_payloads(name: str) -> None:
    """Independent of the decoder: text, reasoning, calls, usage and finish straight from the payloads."""
    framing = RECORDINGS[name]
    payloads = wire_payloads(_body(name), framing)
    events = decode(CODEC, [_body(name)], framing=framing)
    parts = [p for c in payloads for cand in c.get("candidates", []) for p in cand["content"]["parts"]]
    assert texts_of(events, "text") == "".join(
        p["text"] for p in parts if "text" in p and not p.get("thought")
    )
    assert texts_of(events, "reasoning") == "".join(p["text"] for p in parts if p.get("thought"))
    whole = [p["functionCall"] for p in parts if "functionCall" in p and "args" in p["functionCall"]]
    calls = [e for e in events if isinstance(e, BlockEnd) and e.arguments is not None]
    starts = {e.block: e for e in events if isinstance(e, BlockStart)}
    tool_calls = [e for e in calls if starts[e.block].kind == "tool_call"]
    if whole:
        assert [(starts[e.block].name, starts[e.block].id, e.arguments) for e in tool_calls] == [
            (c["name"], c.get("id"), c["args"]) for c in whole
        ]
    signatures = [p["thoughtSignature"] for p in parts if "thoughtSignature" in p]
    assert [e.signature for e in of_type(events, BlockEnd) if e.signature] == signatures
    last = payloads[-1]["usageMetadata"]
    usage = of_type(events, Usage)[-1]
    assert usage.input_tokens == last["promptTokenCount"] + last.get("toolUsePromptTokenCount", 0)
    assert usage.output_tokens == last["candidatesTokenCount"] + last.get("thoughtsTokenCount", 0)
    assert usage.reasoning_tokens == last.get("thoughtsTokenCount")
    assert usage.input_tokens + usage.output_tokens == last["totalTokenCount"]
    reasons = [cand["finishReason"] for c in payloads for cand in c["candidates"] if "finishReason" in cand]
    finish = events[-1]
    assert isinstance(finish, Finish)
    assert [finish.raw_reason] == reasons
    assert finish.reason == (FinishReason.TOOL_CALLS if tool_calls else FinishReason.STOP)


def test_streamed_arguments_recordings_rebuild_the_calls_by_hand() -> None:
    """Quirks 50, 51: the arguments read off the partialArgs frames by eye."""
    got = [
        (e.arguments, e.signature is not None)
        for e in decode(CODEC, [_body("vertex__streamed-function-call-args-payloads.txt")])
        if isinstance(e, BlockEnd)
    ]
    assert got == [({"location": "Boston"}, True), ({"location": "San Francisco"}, False)]
    ends = of_type(
        decode(CODEC, [_body("vertex__streamed-array-args-missing-terminal-payloads.txt")]), BlockEnd
    )
    assert [e.arguments for e in ends] == [
        {
            "operations": [
                {"action": "add", "description": "Fresh red apple", "itemid": "apple_001", "price": 0.5},
                {"action": "add", "description": "Ripe yellow banana", "itemid": "banana_001", "price": 0.3},
            ]
        }
    ]


def test_code_execution_recording_facts() -> None:
    """Quirk 71: the executed code and its result are server blocks, never client calls."""
    events = decode(CODEC, [_body("gemini__code-execution.txt")])
    starts = of_type(events, BlockStart)
    assert [(s.kind, s.id) for s in starts] == [
        ("server_tool_call", "8xju7mua"),
        ("server_tool_result", "8xju7mua"),
        ("text", None),
    ]
    assert starts[1].data == {"outcome": "OUTCOME_OK", "output": "-428330955.97745\n"}
    assert of_type(events, BlockEnd)[0].arguments == {
        "language": "PYTHON",
        "code": "result = 65465 - 6544 * 65464 - 6 + 1.02255\nprint(result)",
    }
    assert events[-1] == Finish(reason=FinishReason.STOP, raw_reason="STOP")


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_recording_payloads_validate_against_schema(name: str) -> None:
    for payload in wire_payloads(_body(name), RECORDINGS[name]):
        assert validate_json(SCHEMA, payload) == []


# -- 2. quirks ---------------------------------------------------------------------------------


def test_q1_q2_crlf_and_lf_and_cr_lf_split_give_the_same_events() -> None:
    body = sse(chunk({"text": "a"}), chunk({"text": "b"}, finish="STOP"))
    crlf = _events(body)
    assert _events(body.replace("\r\n", "\n")) == crlf
    data = body.encode()
    cut = data.index(b"\r\n") + 1  # between CR and LF
    assert decode(CODEC, split_at(data, [cut])) == crlf
    assert texts_of(crlf, "text") == "ab"


def test_q5_q7_q8_last_event_without_blank_line_multiline_data_no_space() -> None:
    pretty = json.dumps(chunk({"text": "x"}, finish="STOP"), indent=1).split("\n")
    body = "\r\n".join(f"data:{line}" for line in pretty)  # no space, several lines, no blank line
    events = _events(body)
    assert texts_of(events, "text") == "x"
    assert events[-1] == Finish(reason=FinishReason.STOP, raw_reason="STOP")


def test_q11_utf8_split_anywhere_and_vertex_flavour_reads_the_same() -> None:
    body = sse(chunk({"text": "é😀日本\u0301"}), chunk({"text": "ش"}, finish="STOP"))
    events = _events(body)  # every chunking, utf8-boundary and bytewise included
    assert texts_of(events, "text") == "é😀日本\u0301ش"
    assert decode_every_chunking(CODEC, body.encode(), flavour="vertex") == events


def test_null_fields_are_absent_fields() -> None:
    body: dict[str, Any] = {
        "candidates": [{"content": None, "finishReason": "STOP", "citationMetadata": None}]
    }
    body.update(usageMetadata=None, promptFeedback=None, responseId=None)
    assert _events(sse(body)) == [Finish(reason=FinishReason.STOP, raw_reason="STOP")]


def test_q13_json_array_stream() -> None:
    elements = [json.dumps(chunk({"text": "hé"}), indent=2), json.dumps(chunk({"text": "!"}, finish="STOP"))]
    events = _events("[" + "\n,\r\n".join(elements) + "\n]", framing="json-array")
    assert texts_of(events, "text") == "hé!"
    assert events[-1] == Finish(reason=FinishReason.STOP, raw_reason="STOP")
    cut = _events("[" + "\n,\r\n".join(elements), framing="json-array")
    assert error_category(cut) == ErrorCategory.PROTOCOL


def test_q13_json_array_error_element() -> None:
    error = {"error": {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"}}
    events = _events(f"[{json.dumps(chunk({'text': 'a'}))},\n{json.dumps(error)}\n]", framing="json-array")
    assert events[-1] == Error(
        category=ErrorCategory.RATE_LIMIT,
        message="Resource exhausted",
        retryable=True,
        phase=ErrorPhase.MID_STREAM,
        status=429,
        code="RESOURCE_EXHAUSTED",
    )
    assert of_type(events, BlockEnd) == [BlockEnd(block=0, incomplete=True)]


RAW_ERROR = '{\n  "error": {\n    "code": 503,\n    "message": "The model is overloaded. Please try again later.",\n    "status": "UNAVAILABLE"\n  }\n}\n'  # noqa: E501


def test_q24_bare_error_object_after_data_events() -> None:
    events = _events(sse(chunk({"text": "Hel", "thoughtSignature": "S"})) + RAW_ERROR.replace("\n", "\r\n"))
    assert texts_of(events, "text") == "Hel"
    assert of_type(events, BlockEnd) == [BlockEnd(block=0, incomplete=True, signature="S")]
    assert events[-1] == Error(
        category=ErrorCategory.OVERLOADED,
        message="The model is overloaded. Please try again later.",
        retryable=True,
        phase=ErrorPhase.MID_STREAM,
        status=503,
        code="UNAVAILABLE",
    )


def test_q24_bare_error_first_compact_or_with_braces_in_the_message() -> None:
    first = _events('{"error": {"code": 500, "message": "bad } \\" {", "status": "INTERNAL"}}')
    assert first == [
        Error(
            category=ErrorCategory.SERVER,
            message='bad } " {',
            retryable=True,
            phase=ErrorPhase.BEFORE_OUTPUT,
            status=500,
            code="INTERNAL",
        )
    ]


@pytest.mark.parametrize(
    ("status", "code", "category"),
    [
        ("UNAVAILABLE", 503, ErrorCategory.OVERLOADED),
        ("RESOURCE_EXHAUSTED", 429, ErrorCategory.RATE_LIMIT),
        ("INTERNAL", 500, ErrorCategory.SERVER),
        ("INVALID_ARGUMENT", 400, ErrorCategory.INVALID_REQUEST),
        ("PERMISSION_DENIED", 403, ErrorCategory.PERMISSION),
        ("UNAUTHENTICATED", 401, ErrorCategory.AUTH),
        ("NOT_FOUND", 404, ErrorCategory.NOT_FOUND),
        ("DEADLINE_EXCEEDED", 504, ErrorCategory.TIMEOUT),
        (None, 503, ErrorCategory.OVERLOADED),
        ("SOMETHING_NEW", 429, ErrorCategory.RATE_LIMIT),
    ],
)
def test_q24_error_categories(status: str | None, code: int, category: ErrorCategory) -> None:
    body: dict[str, Any] = {"code": code, "message": "m"}
    if status is not None:
        body["status"] = status
    error = _events(json.dumps({"error": body}, indent=2))[-1]
    assert isinstance(error, Error)
    assert (error.category, error.status, error.code) == (category, code, status)


def test_q24_bare_error_cut_off_is_a_protocol_error_not_a_finish() -> None:
    events = _events(sse(chunk({"text": "a"}, finish="STOP")) + RAW_ERROR[:40])
    assert error_category(events) == ErrorCategory.PROTOCOL


def test_q24_stray_text_that_is_not_json_is_unknown() -> None:
    events = _events(sse(chunk({"text": "a"})) + "garbage line\r\n" + sse(chunk(finish="STOP")))
    assert Unknown(vendor_type="sse.stray_line", raw="garbage line") in events
    assert events[-1] == Finish(reason=FinishReason.STOP, raw_reason="STOP")


def test_q25_no_terminator_eof_without_finish_reason_is_truncation() -> None:
    events = _events(sse(chunk({"text": "The"}, usage={"promptTokenCount": 3})))
    assert events[-3:] == [
        Usage(input_tokens=3),
        BlockEnd(block=0, incomplete=True),
        Error(
            category=ErrorCategory.PROTOCOL, message=TRUNCATED, retryable=True, phase=ErrorPhase.MID_STREAM
        ),
    ]
    assert _events("") == [
        Error(
            category=ErrorCategory.PROTOCOL, message=TRUNCATED, retryable=True, phase=ErrorPhase.BEFORE_OUTPUT
        )
    ]


def test_q48_q49_whole_call_with_stop_is_tool_calls_id_optional() -> None:
    events = _events(
        sse(
            chunk(
                {"functionCall": {"name": "a", "args": {"x": "é"}}},
                {"functionCall": {"name": "b", "args": {}, "id": "c9"}},
                {"functionCall": {"name": "c"}},
                finish="STOP",
            )
        )
    )
    starts = of_type(events, BlockStart)
    assert [(s.name, s.id) for s in starts] == [("a", None), ("b", "c9"), ("c", None)]
    assert [d.text for d in of_type(events, BlockDelta)] == ['{"x":"é"}', "{}", "{}"]
    assert events[-1] == Finish(reason=FinishReason.TOOL_CALLS, raw_reason="STOP")


def _call(**fields: Any) -> dict[str, Any]:
    return {"functionCall": fields}


def test_q50_partial_args_rebuilt_by_path() -> None:
    frames = [
        _call(name="f", willContinue=True),
        _call(
            partialArgs=[{"jsonPath": "$.s", "stringValue": "Bo", "willContinue": True}], willContinue=True
        ),
        _call(
            partialArgs=[{"jsonPath": "$.s", "stringValue": "ston", "willContinue": True}], willContinue=True
        ),
        _call(partialArgs=[{"jsonPath": "$.s", "stringValue": ""}], willContinue=True),
        _call(
            partialArgs=[
                {"jsonPath": "$.a[0].n", "numberValue": 1},
                {"jsonPath": "$.a[1]", "boolValue": False},
                {"jsonPath": "$['we.ird \\'key']", "nullValue": "NULL_VALUE"},
                {"jsonPath": "$.a[0].m", "numberValue": 2.5},
            ],
            willContinue=True,
        ),
        _call(),
    ]
    events = _events(sse(*(chunk(f) for f in frames), chunk(finish="STOP")))
    ends = of_type(events, BlockEnd)
    assert ends[0].arguments == {"s": "Boston", "a": [{"n": 1, "m": 2.5}, False], "we.ird 'key": None}
    assert len(of_type(events, BlockDelta)) == 1  # the rebuilt arguments, once, at the end
    assert events[-1] == Finish(reason=FinishReason.TOOL_CALLS, raw_reason="STOP")


def test_q51_partial_args_without_terminator_end_at_the_last_frame_or_the_finish() -> None:
    events = _events(
        sse(
            chunk(_call(name="f", willContinue=True)),
            chunk(_call(partialArgs=[{"jsonPath": "$.x", "numberValue": 1}])),
            chunk(_call(name="g", willContinue=True)),
            chunk(_call(partialArgs=[{"jsonPath": "$.y", "boolValue": True}], willContinue=True)),
            chunk({"text": ""}, finish="STOP"),
        )
    )
    assert [e.arguments for e in of_type(events, BlockEnd)] == [{"x": 1}, {"y": True}]
    assert events[-1] == Finish(reason=FinishReason.TOOL_CALLS, raw_reason="STOP")


def test_q51_streamed_call_cut_by_max_tokens_is_incomplete() -> None:
    events = _events(
        sse(
            chunk(_call(name="f", willContinue=True)),
            chunk(
                _call(partialArgs=[{"jsonPath": "$.x", "numberValue": 1}], willContinue=True),
                finish="MAX_TOKENS",
            ),
        )
    )
    assert of_type(events, BlockEnd) == [BlockEnd(block=0, incomplete=True, arguments_raw="")]
    assert events[-1] == Finish(reason=FinishReason.LENGTH, raw_reason="MAX_TOKENS")


def test_q50_streamed_call_ends_at_a_new_call_or_another_part() -> None:
    events = _events(
        sse(
            chunk(_call()),  # an empty functionCall with no call open: nothing to end
            chunk(_call(name="f", willContinue=True)),
            chunk(_call(partialArgs=[{"jsonPath": "$.a", "numberValue": 1}], willContinue=True)),
            chunk(_call(name="g", id="g1", willContinue=True)),
            chunk(_call(partialArgs=[{"jsonPath": "$.b", "stringValue": "x"}], willContinue=True)),
            chunk({"text": "done"}, finish="STOP"),
        )
    )
    starts = of_type(events, BlockStart)
    assert [(s.kind, s.name, s.id) for s in starts] == [
        ("tool_call", "f", None),
        ("tool_call", "g", "g1"),
        ("text", None, None),
    ]
    assert [e.arguments for e in of_type(events, BlockEnd)] == [{"a": 1}, {"b": "x"}, None]


def test_json_paths_round_trip() -> None:
    cases: list[list[str | int]] = [["a"], ["a", 0, "b"], ["we.ird", "x'y\\z", 3], ["日本", "$"]]
    for keys in cases:
        assert parse_path(format_path(keys), 0) == keys
    assert parse_path('$["q\\"x"][2]', 0) == ['q"x', 2]


def test_q62_inline_think_tags_stay_text() -> None:
    events = _events(sse(chunk({"text": "<think>hm</think>ok"}, finish="STOP")))
    assert texts_of(events, "text") == "<think>hm</think>ok"
    assert texts_of(events, "reasoning") == ""


def test_q63_thought_parts_are_reasoning_and_kind_changes_open_blocks() -> None:
    events = _events(
        sse(
            chunk({"text": "r1", "thought": True}),
            chunk({"text": "r2", "thought": True}, {"text": "t1"}),
            chunk({"text": "r3", "thought": True}, finish="STOP"),
        )
    )
    assert [s.kind for s in of_type(events, BlockStart)] == ["reasoning", "text", "reasoning"]
    assert texts_of(events, "reasoning") == "r1r2r3"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("SAFETY", FinishReason.CONTENT_FILTER),
        ("RECITATION", FinishReason.CONTENT_FILTER),
        ("PROHIBITED_CONTENT", FinishReason.CONTENT_FILTER),
        ("SPII", FinishReason.CONTENT_FILTER),
        ("IMAGE_SAFETY", FinishReason.CONTENT_FILTER),
        ("MALFORMED_FUNCTION_CALL", FinishReason.OTHER),
        ("LANGUAGE", FinishReason.OTHER),
        ("OTHER", FinishReason.OTHER),
        ("SOMETHING_NEW", FinishReason.OTHER),
        ("MAX_TOKENS", FinishReason.LENGTH),
    ],
)
def test_q68_finish_reasons(raw: str, reason: FinishReason) -> None:
    events = _events(sse(chunk({"text": "a", "thoughtSignature": "S"}, finish=raw)))
    assert events[-1] == Finish(reason=reason, raw_reason=raw)
    end = of_type(events, BlockEnd)[0]
    assert (end.incomplete, end.signature) == (reason == FinishReason.LENGTH, "S")


def test_q68_blocked_prompt_is_a_content_filter_finish() -> None:
    body = {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "usageMetadata": {"promptTokenCount": 7}}
    assert _events(sse(body)) == [
        Usage(input_tokens=7),
        Finish(reason=FinishReason.CONTENT_FILTER, raw_reason="PROHIBITED_CONTENT"),
    ]


def test_q70_citation_and_grounding_metadata_are_citation_blocks() -> None:
    citation = {"startIndex": 0, "endIndex": 4, "uri": "https://example.com"}
    grounding = {"webSearchQueries": ["q"], "groundingChunks": [{"web": {"uri": "u", "title": "t"}}]}
    last = chunk({"text": " more"}, finish="STOP")
    last["candidates"][0].update(citationMetadata={"citations": [citation]}, groundingMetadata=grounding)
    events = _events(sse(chunk({"text": "Text"}), last))
    assert [(s.kind, s.data) for s in of_type(events, BlockStart)] == [
        ("text", None),
        ("citation", citation),
        ("citation", grounding),
    ]
    assert texts_of(events, "text") == "Text more"


def test_q71_code_execution_parts_are_server_blocks() -> None:
    events = _events(
        sse(
            chunk({"executableCode": {"language": "PYTHON", "code": "print(1)"}}),
            chunk({"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1\n"}}, finish="STOP"),
        )
    )
    assert [(s.kind, s.name, s.data) for s in of_type(events, BlockStart)] == [
        ("server_tool_call", "code_execution", None),
        ("server_tool_result", None, {"outcome": "OUTCOME_OK", "output": "1\n"}),
    ]
    assert events[-1] == Finish(reason=FinishReason.STOP, raw_reason="STOP")  # not tool_calls


def test_q73_empty_final_text_part_is_dropped_and_its_signature_kept() -> None:
    events = _events(sse(chunk({"text": "Hi"}), chunk({"text": "", "thoughtSignature": "S"}, finish="STOP")))
    assert of_type(events, BlockDelta) == [BlockDelta(block=0, text="Hi")]
    assert of_type(events, BlockEnd) == [BlockEnd(block=0, signature="S")]
    plain = _events(
        sse(chunk({"functionCall": {"name": "f", "args": {}}}), chunk({"text": ""}, finish="STOP"))
    )
    assert [s.kind for s in of_type(plain, BlockStart)] == ["tool_call"]


def test_q74_signature_on_any_part_stays_with_its_block() -> None:
    events = _events(
        sse(
            chunk({"text": "a", "thoughtSignature": "S1"}, {"text": "b"}),
            chunk({"text": "c", "thoughtSignature": "S2"}),  # a second signature: a new block
            chunk({"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "S3"}),
            chunk({"text": "", "thoughtSignature": "S4"}, finish="STOP"),  # no text block open: its own
        )
    )
    starts = of_type(events, BlockStart)
    assert [(s.kind, e.signature) for s, e in zip(starts, of_type(events, BlockEnd), strict=True)] == [
        ("text", "S1"),
        ("text", "S2"),
        ("tool_call", "S3"),
        ("text", "S4"),
    ]
    assert texts_of(events, "text") == "abc"


def test_q75_q76_q78_usage_latest_per_field_no_total_recomputed() -> None:
    events = _events(
        sse(
            chunk(
                {"text": "a"}, usage={"promptTokenCount": 15, "totalTokenCount": 15, "thoughtsTokenCount": 4}
            ),
            chunk(
                {"text": "b"},
                finish="STOP",
                usage={"promptTokenCount": 13, "candidatesTokenCount": 8, "cachedContentTokenCount": 5},
            ),
        )
    )
    assert of_type(events, Usage)[-1] == Usage(
        input_tokens=13, output_tokens=12, cache_read=5, reasoning_tokens=4
    )


def test_usage_falling_mid_stream_is_held_until_the_end() -> None:
    events = _events(
        sse(
            chunk({"text": "a"}, usage={"candidatesTokenCount": 50}),
            chunk({"text": "b"}, usage={"candidatesTokenCount": 20}),
            chunk({"text": "c"}, finish="STOP", usage={"candidatesTokenCount": 70}),
        )
    )
    assert [u.output_tokens for u in of_type(events, Usage)] == [50, 70]


def test_q82_q83_extension_fields_unknown_parts_and_other_candidates() -> None:
    first = chunk({"inlineData": {"mimeType": "image/png", "data": "AA=="}}, {"text": "x"})
    first.update(createTime="2026-01-01T00:00:00Z", usageMetadata={"trafficType": "ON_DEMAND"})
    first["candidates"].append({"index": 1, "content": {"parts": [{"text": "other"}]}})
    events = _events(sse(first, chunk(finish="STOP")))
    assert Unknown(vendor_type="part.inlineData", raw=first["candidates"][0]["content"]["parts"][0]) in events
    assert Unknown(vendor_type="candidate[1]", raw=first["candidates"][1]) in events
    assert texts_of(events, "text") == "x"
    assert events[0] == ResponseStart(response_id="r1", model="gemini-2.5-flash")


def test_q88_first_finish_reason_wins() -> None:
    events = _events(sse(chunk({"text": "a"}, finish="SAFETY"), chunk({"text": "b"}, finish="STOP")))
    assert events[-1] == Finish(reason=FinishReason.CONTENT_FILTER, raw_reason="SAFETY")


# -- 3. round trip and encoder -----------------------------------------------------------------


@given(sequences(), knobs(), st.lists(st.integers(0, 4000), max_size=6))
def test_round_trip(seq: list[Event], k: Knobs, cuts: list[int]) -> None:
    data = assert_round_trip(CODEC, seq, k, cuts, framing=k.framing)
    for payload in wire_payloads(data, k.framing):
        assert validate_json(SCHEMA, payload) == []


@pytest.mark.parametrize(
    "events",
    [
        [
            BlockStart(block=0, kind="refusal"),
            BlockEnd(block=0),
            Finish(reason=FinishReason.STOP, raw_reason="STOP"),
        ],
        [
            BlockStart(block=0, kind="text"),
            BlockDelta(block=0, text="a"),
            BlockEnd(block=0),
            BlockStart(block=1, kind="text"),
            BlockDelta(block=1, text="b"),
            BlockEnd(block=1),
            Finish(reason=FinishReason.STOP, raw_reason="STOP"),
        ],
        [
            BlockStart(block=0, kind="tool_call", name="f"),
            BlockDelta(block=0, text='{"a": 1}'),
            BlockEnd(block=0),
            Finish(reason=FinishReason.TOOL_CALLS, raw_reason="STOP"),
        ],
        [Finish(reason=FinishReason.STOP)],
        [Finish(reason=FinishReason.TOOL_CALLS, raw_reason="STOP")],
        [Usage(cache_write=3), Finish(reason=FinishReason.STOP, raw_reason="STOP")],
        [BlockStart(block=0, kind="text"), BlockDelta(block=0, text="a")],
    ],
    ids=[
        "refusal",
        "adjacent-text",
        "args-not-compact",
        "no-raw",
        "tool-calls-without-call",
        "cache-write",
        "open",
    ],
)
def test_encoder_refuses_what_gemini_cannot_send(events: list[Event]) -> None:
    with pytest.raises(UsageError):
        CODEC.encode(events)


@pytest.mark.parametrize("raw", ["JAILBREAK", "SAFETY"])
def test_q68_blocked_prompt_round_trip(raw: str) -> None:
    seq: list[Event] = [Usage(input_tokens=7), Finish(reason=FinishReason.CONTENT_FILTER, raw_reason=raw)]
    data = assert_round_trip(CODEC, seq, Knobs(block_prompt=True), [])
    assert wire_payloads(data, "sse") == [
        {"promptFeedback": {"blockReason": raw}, "usageMetadata": BLOCKED_USAGE}
    ]


def test_encoder_defaults_look_like_the_recording() -> None:
    seq: list[Event] = [
        ResponseStart(response_id="w1", model="gemini-2.0-flash-exp"),
        BlockStart(block=0, kind="text"),
        BlockDelta(block=0, text="The"),
        BlockEnd(block=0),
        Usage(input_tokens=13, output_tokens=8),
        Finish(reason=FinishReason.STOP, raw_reason="STOP"),
    ]
    assert CODEC.encode(seq) == (
        b'data: {"candidates": [{"content": {"parts": [{"text": "The"}],"role": "model"},'
        b'"finishReason": "STOP"}],'
        b'"usageMetadata": {"promptTokenCount": 13,"candidatesTokenCount": 8,"totalTokenCount": 21},'
        b'"modelVersion": "gemini-2.0-flash-exp","responseId": "w1"}\r\n\r\n'
    )


# -- 4. malformed input ------------------------------------------------------------------------


def _assert_sane(events: list[Event]) -> None:
    terminals = [e for e in events if e.TYPE in ("finish", "error", "abort")]
    assert len(terminals) == 1
    assert_rule_abiding(events)


BAD_PAYLOADS = [
    '{"candidates": "x"}',
    '{"candidates": [5]}',
    '{"candidates": [{"content": {"parts": [5]}}]}',
    '{"candidates": [{"content": {"parts": [{"text": 5}]}}]}',
    '{"candidates": [{"content": {"parts": [{"functionCall": "x"}]}}]}',
    '{"candidates": [{"content": {"parts": [{"functionCall": {"args": {}}}]}}]}',
    '{"candidates": [{"content": {"parts": [{"functionCall": {"name": "f", "args": [1]}}]}}]}',
    '{"candidates": [{"content": {"parts": [{"functionCall": {"partialArgs": []}}]}}]}',
    '{"candidates": [{"content": {"parts": [{"executableCode": {}}]}}]}',
    '{"candidates": [{"finishReason": 1}]}',
    '{"usageMetadata": {"promptTokenCount": "5"}}',
    '{"usageMetadata": {"promptTokenCount": -1}}',
    '{"error": "boom"}',
    '{"candidates": [',
    "[1]",
    "not json",
]


@pytest.mark.parametrize("payload", BAD_PAYLOADS)
def test_defective_payload_is_a_decode_error(payload: str) -> None:
    events = decode(CODEC, [sse(chunk({"text": "a"})).encode() + f"data: {payload}\r\n\r\n".encode()])
    _assert_sane(events)
    assert error_category(events) == ErrorCategory.DECODE


@pytest.mark.parametrize(
    "entries",
    [
        [{"jsonPath": "x", "numberValue": 1}],
        [{"jsonPath": "$", "numberValue": 1}],
        [{"jsonPath": "$.a[2]", "numberValue": 1}],
        [{"jsonPath": "$.a", "numberValue": 1}, {"jsonPath": "$.a.b", "numberValue": 1}],
        [{"jsonPath": "$.a", "numberValue": True}],
        [{"jsonPath": "$.a"}],
        [{"jsonPath": "$['a", "numberValue": 1}],
        ["x"],
    ],
)
def test_bad_partial_args_are_decode_errors(entries: list[Any]) -> None:
    body = sse(
        chunk(_call(name="f", willContinue=True)), chunk(_call(partialArgs=entries, willContinue=True))
    )
    events = decode(CODEC, [body.encode()])
    _assert_sane(events)
    assert error_category(events) == ErrorCategory.DECODE


SMALL = sse(
    chunk({"text": "Hé😀", "thought": True}, usage={"promptTokenCount": 2}),
    chunk({"functionCall": {"name": "f", "args": {"a": [1, "x"]}}}),
    chunk({"text": "ok"}, finish="STOP", usage={"promptTokenCount": 2, "candidatesTokenCount": 3}),
).encode()
SMALL_ARRAY = json.dumps(wire_payloads(SMALL, "sse"), indent=2).encode()


@pytest.mark.parametrize(("data", "framing"), [(SMALL, "sse"), (SMALL_ARRAY, "json-array")])
def test_every_truncation_never_finishes(data: bytes, framing: str) -> None:
    end = data.rindex(b"}") + 1 if framing == "sse" else data.rindex(b"]")
    for size in range(len(data)):
        events = decode(CODEC, [data[:size]], framing=framing)
        _assert_sane(events)
        if size < end:
            assert events[-1].TYPE == "error", size
    assert decode(CODEC, [data], framing=framing)[-1].TYPE == "finish"


@given(st.binary(max_size=300), st.sampled_from(("sse", "json-array")))
def test_random_bytes_never_raise(data: bytes, framing: str) -> None:
    _assert_sane(decode(CODEC, [data], framing=framing))


@given(st.integers(0, len(SMALL) - 1), st.integers(0, 255), st.sampled_from((SMALL, SMALL_ARRAY)))
def test_corrupted_streams_never_raise(at: int, byte: int, data: bytes) -> None:
    framing = "sse" if data is SMALL else "json-array"
    broken = data[:at] + bytes([byte]) + data[at + 1 :]
    _assert_sane(decode(CODEC, split_at(broken, [at, at + 1]), framing=framing))
