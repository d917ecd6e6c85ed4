"""OpenAI Chat Completions codec (and compatible servers): real recordings, quirks, round trip,
schema, malformed input."""

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
)
from conformance.fold import fold
from conformance.framing.messages import SSEComment, SSEEvent
from conformance.framing.sse import encode as encode_sse
from conformance.reframe import reframe
from conformance.schemas import validate_json
from conformance.vendors._builder import ResponseBuilder
from conformance.vendors.openai_chat import CODEC, FLAVOURS, Knobs, flavour_knobs
from conformance.vendors.openai_chat.mapping import DONE_WITHOUT_FINISH, ENDED_WITHOUT_DONE
from conformance.vendors.openai_chat.strategies import knobs, sequences
from tests.helpers import REFERENCE_STREAMS
from tests.vendors.helpers import (
    assert_round_trip,
    assert_rule_abiding,
    decode,
    decode_every_chunking,
    load_expected,
    payloads_of,
)

SCHEMA = "vendors/openai/chat-completions.schema.json"

#: Every real recording of this API, with the flavour that sent it (Z.ai and the HF
#: router are plain OpenAI-compatible servers; decoding is the same for every flavour).
RECORDINGS = {
    "openai-chat__parallel-tool-calls.txt": "openai",
    "openai-chat__finish-length-max-tokens.txt": "openai",
    "openai-chat__n3-multiple-choices.txt": "openai",
    "openai-chat__strict-tool-call.txt": "openai",
    "openai-chat__logprobs.txt": "openai",
    "openai-chat__moderation-trailing-empty-choices.txt": "openai",
    "mistral__magistral-thinking-content-array.txt": "mistral",
    "mistral__tool-call-whole-no-index-payloads.txt": "mistral",
    "deepseek__reasoning-content.txt": "deepseek",
    "groq__midstream-error-tool-use-failed.txt": "groq",
    "openrouter__comments-then-error-chunk.txt": "openrouter",
    "openrouter__url-citation-annotations.txt": "openrouter",
    "vllm__crusoe-llama-text.txt": "vllm",
    "hf-router__sla-metrics-usage-chunk.txt": "openai",
    "zai__reasoning-content.txt": "deepseek",
    "azure-openai__prompt-filter-first-payloads.txt": "azure",
}


def _recording(name: str) -> bytes:
    path = REFERENCE_STREAMS / name
    if not path.is_file():
        pytest.skip(f"reference stream {name} is not available")
    data = path.read_bytes()
    return reframe(data, api="openai/chat-completions") if name.endswith("-payloads.txt") else data


def _decode(data: bytes, flavour: str | None = None) -> list[Event]:
    events = decode_every_chunking(CODEC, data, flavour=flavour)
    assert_rule_abiding(events)
    return events


# -- hand-written wire ------------------------------------------------------------------


def _chunk(
    delta: dict[str, Any] | None = None, *, finish: str | None = None, index: int = 0, **extra: Any
) -> Any:
    """A chat.completion.chunk with one choice (or ``choices: []`` when neither delta nor finish)."""
    choices = (
        []
        if delta is None and finish is None
        else [{"index": index, "delta": delta or {}, "finish_reason": finish}]
    )
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": choices,
        **extra,
    }


ROLE = _chunk({"role": "assistant", "content": ""})
DONE = "[DONE]"


def _wire(*items: Any, eol: str = "\n") -> bytes:
    """SSE bytes: a dict is a JSON payload, a str raw data, ``("error", dict)`` a named event,
    ``(":", text)`` a comment."""
    out: list[SSEEvent | SSEComment] = []
    for item in items:
        if isinstance(item, tuple) and item[0] == ":":
            out.append(SSEComment(text=item[1]))
        elif isinstance(item, tuple):
            out.append(SSEEvent(event=item[0], data=json.dumps(item[1], ensure_ascii=False)))
        elif isinstance(item, str):
            out.append(SSEEvent(data=item))
        else:
            out.append(SSEEvent(data=json.dumps(item, ensure_ascii=False)))
    return encode_sse(out, eol=eol)  # type: ignore[arg-type]


def _calls(*fragments: dict[str, Any], finish: str | None = None) -> Any:
    return _chunk({"tool_calls": list(fragments)}, finish=finish)


def _blocks(events: list[Event]) -> list[dict[str, Any]]:
    """Each block (folded): kind, id, name, text, and what its end says."""
    out: list[dict[str, Any]] = []
    for event in fold(events):
        if isinstance(event, BlockStart):
            out.append(
                {"kind": event.kind, "id": event.id, "name": event.name, "text": "", "data": event.data}
            )
        elif isinstance(event, BlockDelta):
            out[event.block]["text"] = event.text
        elif isinstance(event, BlockEnd):
            end = {"incomplete": event.incomplete, "raw": event.arguments_raw, "args": event.arguments}
            end |= {"signature": event.signature, "redacted": event.redacted}
            out[event.block] |= {k: v for k, v in end.items() if v not in (None, False)}
    return out


def _terminal(events: list[Event]) -> Event:
    terminals = [e for e in events if isinstance(e, Finish | Error)]
    assert len(terminals) == 1
    return terminals[0]


def _usage(events: list[Event]) -> Usage | None:
    usages = [e for e in events if isinstance(e, Usage)]
    return usages[-1] if usages else None


# -- real recordings ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_recording_decodes_to_its_reviewed_sequence(name: str) -> None:
    events = _decode(_recording(name), RECORDINGS[name])
    assert events == load_expected(name.removesuffix(".txt"))


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_recording_payloads_validate_against_the_schema(name: str) -> None:
    for payload in payloads_of(_recording(name)):
        assert validate_json(SCHEMA, payload) == []


def _raw_facts(payloads: list[Any]) -> dict[str, Any]:
    """Facts straight from the vendor's payloads (choice 0), independent of the decoder."""
    text, reasoning, refusal, finish = [], [], [], None
    calls: dict[Any, list[Any]] = {}
    usage = error = None
    for n, payload in enumerate(payloads):
        if payload.get("error"):
            error = payload["error"]
        for choice in payload.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            reasoning.append(delta.get("reasoning_content") or delta.get("reasoning") or "")
            content = delta.get("content")
            for part in content if isinstance(content, list) else []:
                if part["type"] == "thinking":
                    reasoning.extend(t["text"] for t in part["thinking"])
                else:
                    text.append(part["text"])
            text.append(content if isinstance(content, str) else "")
            refusal.append(delta.get("refusal") or "")
            for call in delta.get("tool_calls") or []:
                entry = calls.setdefault(call.get("index", f"whole{n}"), [call.get("id"), None, ""])
                entry[1] = entry[1] or call["function"].get("name")
                entry[2] += call["function"].get("arguments") or ""
            finish = finish or choice.get("finish_reason")
        usage = payload.get("usage") or (payload.get("x_groq") or {}).get("usage") or usage
    return {
        "text": "".join(text),
        "reasoning": "".join(reasoning),
        "refusal": "".join(refusal),
        "calls": [tuple(c) for c in calls.values()],
        "usage": usage,
        "finish": finish,
        "error": error,
    }


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_recording_facts_match_the_raw_payloads(name: str) -> None:
    """Text, reasoning, refusal, tool calls, usage, finish and error equal what the vendor sent."""
    data = _recording(name)
    raw = _raw_facts(payloads_of(data))
    events = decode(CODEC, [data], flavour=RECORDINGS[name])
    blocks = _blocks(events)
    assert "".join(b["text"] for b in blocks if b["kind"] == "text") == raw["text"]
    assert "".join(b["text"] for b in blocks if b["kind"] == "reasoning") == raw["reasoning"]
    assert "".join(b["text"] for b in blocks if b["kind"] == "refusal") == raw["refusal"]
    calls = [(b["id"], b["name"], b["text"]) for b in blocks if b["kind"] == "tool_call"]
    assert calls == raw["calls"]
    usage = _usage(events)
    if raw["usage"] is None:
        assert usage is None
    else:
        assert usage is not None
        assert (usage.input_tokens, usage.output_tokens) == (
            raw["usage"].get("prompt_tokens"),
            raw["usage"].get("completion_tokens"),
        )
        details = raw["usage"].get("completion_tokens_details") or {}
        assert usage.reasoning_tokens == details.get("reasoning_tokens")
    terminal = _terminal(events)
    if raw["error"] is not None:
        assert isinstance(terminal, Error)
        assert terminal.message == raw["error"]["message"]
    else:
        assert isinstance(terminal, Finish)
        assert terminal.raw_reason == raw["finish"]


def test_recording_anchors() -> None:
    """A few numbers and strings read off the raw files by hand."""
    events = decode(CODEC, [_recording("deepseek__reasoning-content.txt")])
    assert _usage(events) == Usage(input_tokens=6, output_tokens=212, cache_read=0, reasoning_tokens=198)
    events = decode(CODEC, [_recording("groq__midstream-error-tool-use-failed.txt")])
    terminal = _terminal(events)
    assert isinstance(terminal, Error)
    assert (terminal.category, terminal.status, terminal.code) == (
        ErrorCategory.INVALID_REQUEST,
        400,
        "tool_use_failed",
    )
    assert terminal.phase is ErrorPhase.MID_STREAM
    events = decode(CODEC, [_recording("openrouter__comments-then-error-chunk.txt")])
    assert _usage(events) == Usage(input_tokens=43, output_tokens=10, cache_read=0, reasoning_tokens=11)
    assert _terminal(events) == Error(
        category=ErrorCategory.INVALID_REQUEST,
        message="Token limit reached",
        retryable=False,
        phase=ErrorPhase.MID_STREAM,
        status=400,
    )
    events = decode(CODEC, [_recording("openai-chat__n3-multiple-choices.txt")])
    assert sum(isinstance(e, Unknown) and e.vendor_type in ("choices[1]", "choices[2]") for e in events) == 32
    events = decode(CODEC, [_recording("openai-chat__parallel-tool-calls.txt")])
    assert [b["id"] for b in _blocks(events)] == [
        "call_JMW1whyEaYG438VE1OIflxA2",
        "call_DNYTawLBoN8fj3KN6qU9N1Ou",
    ]


# -- quirks (ids from QUIRKS.md) ----------------------------------------------------------


def test_text_role_chunk_then_usage_only_final_chunk() -> None:
    """openai.chat.usage_only_final_chunk: ``choices: []`` + usage before [DONE]; usage precedes finish."""
    usage = {
        "prompt_tokens": 9,
        "completion_tokens": 2,
        "total_tokens": 11,
        "prompt_tokens_details": {"cached_tokens": 4},
    }
    events = _decode(_wire(ROLE, _chunk({"content": "Hi"}), _chunk(finish="stop"), _chunk(usage=usage), DONE))
    assert events == [
        ResponseStart(response_id="chatcmpl-1", model="m"),
        BlockStart(block=0, kind="text"),
        BlockDelta(block=0, text="Hi"),
        Usage(input_tokens=9, output_tokens=2, cache_read=4),
        BlockEnd(block=0),
        Finish(reason=FinishReason.STOP, raw_reason="stop"),
    ]


def test_moderation_chunk_after_usage_is_unknown() -> None:
    """openai.chat.moderation_chunk_after_usage."""
    moderation: JSONValue = {"input": {"type": "moderation_results"}}
    events = _decode(_wire(ROLE, _chunk(finish="stop"), _chunk(moderation=moderation), DONE))
    assert Unknown(vendor_type="moderation", raw=moderation) in events
    assert _terminal(events) == Finish(reason=FinishReason.STOP, raw_reason="stop")


def test_error_data_event_then_done() -> None:
    """openai.chat.error_data_event: ``data: {"error": ...}`` ends the stream; [DONE] after it is ignored."""
    error = {"message": "The server had an error", "type": "server_error", "param": None, "code": None}
    events = _decode(_wire(ROLE, _chunk({"content": "Par"}), {"error": error}, DONE))
    assert _blocks(events) == [
        {"kind": "text", "id": None, "name": None, "text": "Par", "data": None, "incomplete": True}
    ]
    assert events[-1] == Error(
        category=ErrorCategory.SERVER,
        message="The server had an error",
        retryable=True,
        phase=ErrorPhase.MID_STREAM,
        code="server_error",
    )


@pytest.mark.parametrize(
    ("error", "category", "status", "code"),
    [
        (
            {"message": "m", "type": "invalid_request_error", "code": "context_length_exceeded"},
            "context_length",
            None,
            "context_length_exceeded",
        ),
        (
            {"message": "m", "type": "insufficient_quota", "code": "insufficient_quota"},
            "permission",
            None,
            "insufficient_quota",
        ),
        (
            {"message": "m", "type": "requests", "code": "rate_limit_exceeded"},
            "rate_limit",
            None,
            "rate_limit_exceeded",
        ),
        (
            {"message": "m", "type": "invalid_request_error", "code": None},
            "invalid_request",
            None,
            "invalid_request_error",
        ),
        ({"message": "m", "code": 429}, "rate_limit", 429, None),
        ({"message": "m", "code": 502}, "server", 502, None),
        (
            {"message": "m", "type": "odd", "code": "new_thing", "status_code": 503},
            "overloaded",
            503,
            "new_thing",
        ),
        ({"message": "m"}, "unknown", None, None),
    ],
)
def test_error_categories(error: dict[str, Any], category: str, status: int | None, code: str | None) -> None:
    """Error ``code``/``type`` -> category (code first); Groq ``status_code`` or OpenRouter's
    numeric ``code`` -> status."""
    terminal = _terminal(_decode(_wire(ROLE, {"error": error})))
    assert isinstance(terminal, Error)
    assert (terminal.category.value, terminal.status, terminal.code, terminal.phase) == (
        category,
        status,
        code,
        ErrorPhase.BEFORE_OUTPUT,
    )


def test_string_error_and_error_without_message() -> None:
    terminal = _terminal(_decode(_wire({"error": "boom"})))
    assert isinstance(terminal, Error)
    assert (terminal.message, terminal.category) == ("boom", ErrorCategory.UNKNOWN)
    terminal = _terminal(_decode(_wire({"error": {"code": 500}})))
    assert isinstance(terminal, Error)
    assert (terminal.message, terminal.status, terminal.category) == (
        '{"code":500}',
        500,
        ErrorCategory.SERVER,
    )


def test_json_split_across_events_is_a_decode_error() -> None:
    """openai.chat.json_split_across_events: an incomplete JSON payload never crashes."""
    events = _decode(_wire(ROLE, _chunk({"content": "a"}), '{"rate_limit_usage": {', DONE))
    terminal = _terminal(events)
    assert isinstance(terminal, Error)
    assert terminal.category is ErrorCategory.DECODE


def test_groq_error_event_without_done() -> None:
    """groq.error_event_no_done + sse.mixed_named_and_unnamed_events: ``event: error`` is terminal."""
    error = {"message": "bad", "type": "invalid_request_error", "code": "tool_use_failed", "status_code": 400}
    events = _decode(
        _wire(ROLE, _chunk({"reasoning": "We", "channel": "analysis"}), ("error", {"error": error}))
    )
    assert events[-1] == Error(
        category=ErrorCategory.INVALID_REQUEST,
        message="bad",
        retryable=False,
        phase=ErrorPhase.MID_STREAM,
        status=400,
        code="tool_use_failed",
    )
    events = _decode(_wire(ROLE, ("error", {"message": "flat", "code": 503})))
    assert events[-1] == Error(
        category=ErrorCategory.OVERLOADED,
        message="flat",
        retryable=True,
        phase=ErrorPhase.BEFORE_OUTPUT,
        status=503,
    )


def test_plain_text_error_event() -> None:
    events = _decode(
        _wire(ROLE, _chunk({"content": "x"}), ("error", "x")).replace(b'data: "x"', b"data: Internal")
    )
    assert events[-1] == Error(
        category=ErrorCategory.UNKNOWN, message="Internal", retryable=False, phase=ErrorPhase.MID_STREAM
    )


def test_openrouter_error_chunk_with_usage_after_length() -> None:
    """openrouter.error_chunk_with_usage + finish_reason.repeated_or_late: error wins, usage kept."""
    usage = {"prompt_tokens": 43, "completion_tokens": 10}
    wire = _wire(
        (":", " OPENROUTER PROCESSING"),
        _chunk({"role": "assistant", "content": "", "reasoning": "We"}),
        _chunk({"content": "", "reasoning": " need"}, finish="length"),
        _chunk({"content": ""}, finish="length"),
        _chunk({"content": ""}, error={"code": 400, "message": "Token limit reached"}, usage=usage),
        DONE,
    )
    events = _decode(wire)
    assert _usage(events) == Usage(input_tokens=43, output_tokens=10)
    assert events[-2:] == [
        BlockEnd(block=0, incomplete=True),
        Error(
            category=ErrorCategory.INVALID_REQUEST,
            message="Token limit reached",
            retryable=False,
            phase=ErrorPhase.MID_STREAM,
            status=400,
        ),
    ]


def test_finish_reason_repeated_then_null() -> None:
    """finish_reason.repeated_or_late: the first non-null finish_reason wins."""
    wire = _wire(
        ROLE, _chunk({"content": "x"}, finish="length"), _chunk(finish="stop"), _chunk({"content": ""}), DONE
    )
    assert _terminal(_decode(wire)) == Finish(reason=FinishReason.LENGTH, raw_reason="length")


def test_keep_alives_comments_and_data_only() -> None:
    """sse.comment_keepalive and sse.data_only_keepalive: comments vanish, non-JSON data is ``unknown``."""
    wire = _wire(
        (":", " keep-alive"), ROLE, "ping", "", (":", " OPENROUTER PROCESSING"), _chunk(finish="stop"), DONE
    )
    events = _decode(wire)
    assert [e for e in events if isinstance(e, Unknown)] == [
        Unknown(vendor_type="keep-alive", raw="ping"),
        Unknown(vendor_type="keep-alive", raw=""),  # ``data:`` with an empty value is dispatched (WHATWG)
    ]
    assert _terminal(events) == Finish(reason=FinishReason.STOP, raw_reason="stop")


def test_crlf_and_no_space_after_colon() -> None:
    """sse.crlf_line_endings, sse.cr_lf_split_across_reads, sse.no_space_after_colon."""
    lf = _wire(ROLE, _chunk({"content": "日本 😀"}), _chunk(finish="stop"), DONE)
    crlf = _wire(ROLE, _chunk({"content": "日本 😀"}), _chunk(finish="stop"), DONE, eol="\r\n")
    bare = lf.replace(b"data: ", b"data:")
    assert _decode(lf) == _decode(crlf) == _decode(bare)  # every chunking: cr-lf, utf8-boundary...


def test_sse_framing_quirks() -> None:
    """sse.bom_prefix, sse.multiline_data (a pretty-printed payload), sse.eof_without_final_blank_line."""
    plain = _wire(ROLE, _chunk({"content": "x"}), _chunk(finish="stop"), DONE)
    pretty = b"data: " + json.dumps(_chunk({"content": "x"}), indent=1).encode().replace(b"\n", b"\ndata: ")
    multiline = _wire(ROLE) + pretty + b"\n\n" + _wire(_chunk(finish="stop"), DONE)
    assert _decode(b"\xef\xbb\xbf" + plain) == _decode(multiline) == _decode(plain[:-2]) == _decode(plain)


def test_truncation_is_visible() -> None:
    """A stream cut after finish_reason (no [DONE]) and [DONE] without finish_reason are protocol errors."""
    events = _decode(_wire(ROLE, _chunk({"content": "x"}), _chunk(finish="stop")))
    assert events[-2:] == [
        BlockEnd(block=0, incomplete=True),
        Error(
            category=ErrorCategory.PROTOCOL,
            message=ENDED_WITHOUT_DONE,
            retryable=True,
            phase=ErrorPhase.MID_STREAM,
        ),
    ]
    terminal = _terminal(_decode(_wire(ROLE, _chunk({"content": "x"}), DONE)))
    assert isinstance(terminal, Error)
    assert (terminal.category, terminal.message) == (ErrorCategory.PROTOCOL, DONE_WITHOUT_FINISH)


def test_tool_call_fragments_joined_by_index() -> None:
    """openai.chat.tool_call_id_only_in_first_fragment, tool_args.split_mid_token,
    anthropic.input_json_delta.split_mid_escape, tool_args.split_mid_unicode_escape,
    tool_args.raw_non_ascii; a first ``arguments: ""`` fragment (cf. input_json_delta.empty_first)."""
    fragments = ['{"q": "a\\', 'nb \\"c\\" \\ud83d', "\\ude00 \\u00", 'e9 ☃", "n": 1', "2.5e", "3}"]
    head = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}
    body = [_calls({"index": 0, "function": {"arguments": f}}) for f in fragments]
    events = _decode(
        _wire(
            _chunk({"role": "assistant", "content": None}),
            _calls(head),
            *body,
            _chunk(finish="tool_calls"),
            DONE,
        )
    )
    raw = "".join(fragments)
    assert _blocks(events) == [
        {
            "kind": "tool_call",
            "id": "call_1",
            "name": "f",
            "text": raw,
            "data": None,
            "raw": raw,
            "args": json.loads(raw),
        }
    ]
    assert json.loads(raw) == {"q": 'a\nb "c" 😀 é ☃', "n": 12500.0}
    assert not any(isinstance(e, BlockStart) and e.kind == "text" for e in events)  # role_chunk_content_null


def test_parallel_calls_sequential_and_interleaved() -> None:
    """openai.chat.parallel_tool_calls_sequential_indices (and interleaved fragments);
    no-argument calls get "{}"."""

    def call(index: int, name: str) -> dict[str, Any]:
        return {
            "index": index,
            "id": f"call_{index}",
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }

    def args(index: int, text: str) -> Any:
        return _calls({"index": index, "function": {"arguments": text}})

    sequential = _wire(
        ROLE,
        _calls(call(0, "a")),
        args(0, '{"x":'),
        args(0, "1}"),
        _calls(call(1, "b")),
        _chunk(finish="tool_calls"),
        DONE,
    )
    interleaved = _wire(
        ROLE,
        _calls(call(0, "a"), call(1, "b")),
        args(0, '{"x":'),
        args(1, ""),
        args(0, "1}"),
        _chunk(finish="tool_calls"),
        DONE,
    )
    for wire in (sequential, interleaved):
        blocks = _blocks(_decode(wire))
        assert [(b["id"], b["name"], b["raw"]) for b in blocks] == [
            ("call_0", "a", '{"x":1}'),
            ("call_1", "b", "{}"),
        ]
        assert blocks[1]["args"] == {}


def test_mistral_whole_call_without_index_with_finish_and_usage() -> None:
    """mistral.tool_call_whole_without_index: two whole calls, finish and usage in one chunk."""
    calls = [
        {"id": "gSIMJiOkT", "function": {"name": "weather", "arguments": '{"location": "SF"}'}},
        {"id": "aaaaaaaaa", "function": {"name": "weather", "arguments": '{"location": "NY"}'}},
    ]
    last = _chunk(
        {"content": None, "tool_calls": calls},
        finish="tool_calls",
        usage={"prompt_tokens": 3, "completion_tokens": 4},
    )
    events = _decode(_wire(ROLE, last, DONE), "mistral")
    assert [(b["id"], b["raw"]) for b in _blocks(events)] == [
        ("gSIMJiOkT", '{"location": "SF"}'),
        ("aaaaaaaaa", '{"location": "NY"}'),
    ]
    assert events[-1] == Finish(reason=FinishReason.TOOL_CALLS, raw_reason="tool_calls")


def test_groq_whole_call_in_one_delta_and_object_arguments() -> None:
    """groq.tool_call_whole_single_delta; arguments sent as an object are serialised compactly."""
    call = {
        "id": "fc_1",
        "type": "function",
        "function": {"name": "f", "arguments": {"a": "é", "b": [1]}},
        "index": 0,
    }
    blocks = _blocks(_decode(_wire(ROLE, _calls(call), _chunk(finish="tool_calls"), DONE)))
    assert blocks[0]["raw"] == '{"a":"é","b":[1]}'


def test_empty_name_on_continuation() -> None:
    """tool_call.empty_name_on_continuation: ``name: ""`` does not overwrite the name."""
    head = {"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a"'}}
    more = {"index": 0, "id": None, "type": "function", "function": {"name": "", "arguments": ": 1}"}}
    blocks = _blocks(_decode(_wire(ROLE, _calls(head), _calls(more), _chunk(finish="tool_calls"), DONE)))
    assert [(b["id"], b["name"], b["raw"]) for b in blocks] == [("c1", "f", '{"a": 1}')]


def test_vllm_unstable_ids_and_reused_index() -> None:
    """vllm.tool_call_id_unstable: a new id (or ``""``) on every fragment is the same call; a new
    name (with a new id) under index 0 is a second call."""
    wire = _wire(
        ROLE,
        _calls(
            {
                "index": 0,
                "id": "chatcmpl-tool-a",
                "type": "function",
                "function": {"name": "f", "arguments": ""},
            }
        ),
        _calls({"index": 0, "id": "chatcmpl-tool-b", "function": {"arguments": '{"x"'}}),
        _calls({"index": 0, "id": "", "function": {"arguments": ":1}"}}),
        _calls(
            {
                "index": 0,
                "id": "chatcmpl-tool-c",
                "type": "function",
                "function": {"name": "g", "arguments": "{}"},
            }
        ),
        _calls({"index": 0, "id": "chatcmpl-tool-d", "function": {"arguments": ""}}),
        _chunk(finish="tool_calls"),
        DONE,
    )
    blocks = _blocks(_decode(wire, "vllm"))
    assert [(b["id"], b["name"], b["raw"]) for b in blocks] == [
        ("chatcmpl-tool-a", "f", '{"x":1}'),
        ("chatcmpl-tool-c", "g", "{}"),
    ]


def test_vllm_missing_ids_and_finish_chunk_without_fields() -> None:
    """vllm.tool_call_id_missing / vllm.finish_chunk_drops_fields: the last fragment rides on
    the finish chunk."""
    wire = _wire(
        ROLE,
        _calls({"index": 0, "type": "function", "function": {"name": "f", "arguments": '{"a":'}}),
        _calls({"index": 0, "function": {"arguments": "2}"}}, finish="tool_calls"),
        DONE,
    )
    blocks = _blocks(_decode(wire, "vllm"))
    assert [(b["id"], b["name"], b["raw"]) for b in blocks] == [(None, "f", '{"a":2}')]


def test_name_arriving_late_and_never() -> None:
    """A call whose name comes in a later fragment opens then; one that never gets a name is a
    decode error."""
    late = _wire(
        ROLE,
        _calls({"index": 0, "id": "c", "function": {"arguments": '{"a"'}}),
        _calls({"index": 0, "function": {"name": "f", "arguments": ":1}"}}),
        _chunk(finish="tool_calls"),
        DONE,
    )
    assert [(b["name"], b["raw"]) for b in _blocks(_decode(late))] == [("f", '{"a":1}')]
    never = _wire(
        ROLE,
        _calls({"index": 0, "id": "c", "function": {"arguments": "{}"}}),
        _chunk(finish="tool_calls"),
        DONE,
    )
    terminal = _terminal(_decode(never))
    assert isinstance(terminal, Error)
    assert terminal.category is ErrorCategory.DECODE


def test_finish_length_mid_tool_call() -> None:
    """max_tokens.truncation_mid_tool_call: open calls end incomplete, never with parsed arguments."""
    wire = _wire(
        ROLE,
        _calls({"index": 0, "id": "c", "function": {"name": "f", "arguments": '{"a": 1'}}),
        _chunk(finish="length"),
        DONE,
    )
    events = _decode(wire)
    assert _blocks(events) == [
        {
            "kind": "tool_call",
            "id": "c",
            "name": "f",
            "text": '{"a": 1',
            "data": None,
            "incomplete": True,
            "raw": '{"a": 1',
        }
    ]
    assert events[-1] == Finish(reason=FinishReason.LENGTH, raw_reason="length")


def test_tool_calls_reason_without_calls_is_other_and_function_call_is_a_tool_call() -> None:
    """finish ``tool_calls`` with no call -> ``other``; the deprecated ``delta.function_call``."""
    assert _terminal(_decode(_wire(ROLE, _chunk(finish="tool_calls"), DONE))) == Finish(
        reason=FinishReason.OTHER, raw_reason="tool_calls"
    )
    wire = _wire(
        ROLE,
        _chunk({"function_call": {"name": "f", "arguments": '{"a"'}}),
        _chunk({"function_call": {"arguments": ":1}"}}),
        _chunk(finish="function_call"),
        DONE,
    )
    events = _decode(wire)
    assert [(b["id"], b["name"], b["raw"]) for b in _blocks(events)] == [(None, "f", '{"a":1}')]
    assert events[-1] == Finish(reason=FinishReason.TOOL_CALLS, raw_reason="function_call")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("content_filter", "content_filter"),
        ("error", "error"),
        ("stop", "stop"),
        ("eos", "stop"),
        ("weird", "other"),
    ],
)
def test_finish_reasons(raw: str, reason: str) -> None:
    """content_filter.stop, Mistral ``error`` (blocks cut off), unknown values -> ``other``
    with the raw kept."""
    events = _decode(_wire(ROLE, _chunk({"content": "x"}), _chunk(finish=raw), DONE))
    assert events[-1] == Finish(reason=FinishReason(reason), raw_reason=raw)
    assert _blocks(events)[0].get("incomplete", False) is (reason == "error")


def test_refusal_deltas() -> None:
    """openai.chat.refusal_deltas: ``delta.refusal`` (first ``""``) is a refusal block, no empty text."""
    wire = _wire(
        _chunk({"role": "assistant", "content": None, "refusal": ""}),
        _chunk({"refusal": "I can't"}),
        _chunk({"refusal": " help."}),
        _chunk(finish="stop"),
        DONE,
    )
    assert [(b["kind"], b["text"]) for b in _blocks(_decode(wire))] == [("refusal", "I can't help.")]


def test_reasoning_field_names_vary() -> None:
    """reasoning.field_names_vary, deepseek.reasoning_content_null_vs_empty,
    mistral.content_string_or_array."""
    deepseek = _wire(
        _chunk({"role": "assistant", "content": None, "reasoning_content": ""}),
        _chunk({"content": None, "reasoning_content": "Hm"}),
        _chunk({"content": "Hi", "reasoning_content": None}),
        _chunk({"content": "", "reasoning_content": None}, finish="stop"),
        DONE,
    )
    groq = _wire(
        ROLE,
        _chunk({"reasoning": "Hm", "channel": "analysis"}),
        _chunk({"content": "Hi"}),
        _chunk(finish="stop"),
        DONE,
    )
    both = _wire(
        ROLE,
        _chunk({"reasoning_content": "Hm", "reasoning": "Hm"}),
        _chunk({"content": "Hi"}),
        _chunk(finish="stop"),
        DONE,
    )
    detail = {"type": "reasoning.text", "text": "Hm", "format": None, "index": 0}
    openrouter = _wire(
        ROLE,
        _chunk({"content": "", "reasoning": "Hm", "reasoning_details": [detail]}),
        _chunk({"content": "Hi"}),
        _chunk(finish="stop"),
        DONE,
    )
    details_only = _wire(
        ROLE, _chunk({"reasoning_details": [detail]}), _chunk({"content": "Hi"}), _chunk(finish="stop"), DONE
    )
    thinking = [
        {"type": "thinking", "thinking": [{"type": "text", "text": "H"}, {"type": "text", "text": "m"}]}
    ]
    mistral = _wire(
        ROLE,
        _chunk({"content": thinking}),
        _chunk({"content": [{"type": "text", "text": "H"}]}),
        _chunk({"content": "i"}),
        _chunk(finish="stop"),
        DONE,
    )
    for wire in (deepseek, groq, both, openrouter, details_only, mistral):
        assert [(b["kind"], b["text"]) for b in _blocks(_decode(wire))] == [
            ("reasoning", "Hm"),
            ("text", "Hi"),
        ]


def test_reasoning_details_signature_and_encrypted() -> None:
    """OpenRouter ``reasoning_details``: a signature ends its block; encrypted data is ``redacted``;
    reasoning after a signature is a new block."""
    sig = {
        "type": "reasoning.text",
        "text": "",
        "signature": "c2ln",
        "format": "anthropic-claude-v1",
        "index": 0,
    }
    enc = {"type": "reasoning.encrypted", "data": "ZW5j", "format": "openai-responses-v1", "index": 1}
    wire = _wire(
        ROLE,
        _chunk({"reasoning": "A", "reasoning_details": [{"type": "reasoning.text", "text": "A"}]}),
        _chunk({"reasoning_details": [sig]}),
        _chunk({"reasoning": "B"}),
        _chunk({"reasoning_details": [enc]}),
        _chunk({"content": "Hi"}),
        _chunk(finish="stop"),
        DONE,
    )
    blocks = _blocks(_decode(wire, "openrouter"))
    assert [(b["kind"], b["text"], b.get("signature"), b.get("redacted")) for b in blocks] == [
        ("reasoning", "A", "c2ln", None),
        ("reasoning", "B", None, "ZW5j"),
        ("text", "Hi", None, None),
    ]


def test_signature_survives_truncation_and_error() -> None:
    sig = {"type": "reasoning.text", "text": "", "signature": "s"}
    for tail in ((), ({"error": {"message": "x"}},)):
        events = _decode(_wire(ROLE, _chunk({"reasoning": "A"}), _chunk({"reasoning_details": [sig]}), *tail))
        assert _blocks(events)[0] == {
            "kind": "reasoning",
            "id": None,
            "name": None,
            "text": "A",
            "data": None,
            "incomplete": True,
            "signature": "s",
        }


def test_inline_think_tags_stay_text() -> None:
    """inline_think_tags: no structured reasoning is invented from ``<think>`` in content."""
    wire = _wire(
        ROLE, _chunk({"content": "<think>hm"}), _chunk({"content": "</think>Hi"}), _chunk(finish="stop"), DONE
    )
    assert [(b["kind"], b["text"]) for b in _blocks(_decode(wire))] == [("text", "<think>hm</think>Hi")]


def test_azure_prompt_filter_first_chunk() -> None:
    """azure.prompt_filter_first_chunk: no response id/model from it; content_filter_results ignored."""
    first = {
        "choices": [],
        "created": 0,
        "id": "",
        "model": "",
        "object": "",
        "prompt_filter_results": [{"prompt_index": 0}],
    }
    text = _chunk({"content": "Hi"}, content_filter_results={})
    events = _decode(_wire(first, ROLE, text, _chunk(finish="content_filter"), DONE), "azure")
    assert events[:2] == [
        Unknown(vendor_type="prompt_filter_results", raw=[{"prompt_index": 0}]),
        ResponseStart(response_id="chatcmpl-1", model="m"),
    ]
    assert events[-1] == Finish(reason=FinishReason.CONTENT_FILTER, raw_reason="content_filter")


def test_openrouter_annotations_are_citations() -> None:
    """citations.shapes: OpenRouter ``delta.annotations`` -> citation blocks; text around
    them stays one block."""
    annotation = {
        "type": "url_citation",
        "url_citation": {"url": "https://x", "title": "X", "start_index": 0, "end_index": 1},
    }
    wire = _wire(
        ROLE,
        _chunk({"content": "A"}),
        _chunk({"content": "", "annotations": [annotation]}),
        _chunk({"content": "B"}),
        _chunk(finish="stop"),
        DONE,
    )
    blocks = _blocks(_decode(wire, "openrouter"))
    assert [(b["kind"], b["text"], b["data"]) for b in blocks] == [
        ("text", "AB", None),
        ("citation", "", annotation),
    ]


@pytest.mark.parametrize("where", ["chunk", "finish", "x_groq"])
def test_usage_location_varies(where: str) -> None:
    """usage.location_varies, usage.total_not_sum; DeepSeek cache hits; OpenRouter cache writes."""
    usage = {
        "prompt_tokens": 291,
        "completion_tokens": 26,
        "total_tokens": 513,
        "prompt_tokens_details": {"cached_tokens": 7, "cache_write_tokens": 5},
        "completion_tokens_details": {"reasoning_tokens": 20},
        "prompt_cache_hit_tokens": 9,
        "prompt_cache_miss_tokens": 282,
    }
    if where == "chunk":
        items = [_chunk(finish="stop"), _chunk(usage=usage)]
    elif where == "finish":
        items = [_chunk(finish="stop", usage=usage)]
    else:
        items = [_chunk(finish="stop", x_groq={"id": "req_1", "usage": usage})]
    events = _decode(_wire(ROLE, *items, DONE))
    assert _usage(events) == Usage(
        input_tokens=291, output_tokens=26, cache_read=9, cache_write=5, reasoning_tokens=20
    )


def test_padding_and_vendor_extension_fields_are_ignored() -> None:
    """padding_fields, vendor_extension_fields, zai.role_repeated_every_chunk, hf.role_only_first_delta."""
    plain = _wire(_chunk({"role": "assistant"}), _chunk({"content": "Hi"}), _chunk(finish="stop"), DONE)
    noisy = _wire(
        _chunk(
            {"role": "assistant"},
            obfuscation="xyz",
            x_groq={"id": "req"},
            prompt_token_ids=None,
            sla_metrics={"ttft_ms": 1},
        ),
        _chunk({"role": "assistant", "content": "Hi"}, p="abcdef", provider="P", system_fingerprint=""),
        {
            **_chunk(finish="stop"),
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant"},
                    "finish_reason": "stop",
                    "native_finish_reason": "stop",
                    "token_ids": None,
                    "logprobs": {"content": []},
                }
            ],
        },
        DONE,
    )
    assert _decode(plain) == _decode(noisy)


def test_other_choices_are_unknown_and_tool_indices_are_per_choice() -> None:
    """openai.chat.n_choices_interleaved: choice 1's tool call (index 0) never joins choice 0's."""
    head = {"index": 0, "id": "c0", "type": "function", "function": {"name": "f", "arguments": '{"a":'}}
    other = {"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": "XXX"}}
    wire = _wire(
        ROLE,
        _calls(head),
        _chunk({"tool_calls": [other]}, index=1),
        _calls({"index": 0, "function": {"arguments": "1}"}}),
        _chunk(finish="tool_calls"),
        DONE,
    )
    events = _decode(wire)
    assert [(b["id"], b["raw"]) for b in _blocks(events)] == [("c0", '{"a":1}')]
    assert [e.vendor_type for e in events if isinstance(e, Unknown)] == ["choices[1]"]


def test_unknown_payloads_are_reported() -> None:
    events = _decode(
        _wire(ROLE, {"type": "ping"}, {"object": "custom.thing"}, {"x": 1}, _chunk(finish="stop"), DONE)
    )
    assert [e.vendor_type for e in events if isinstance(e, Unknown)] == ["ping", "custom.thing", "payload"]


# -- encoder: round trip, schema, expressibility ----------------------------------------


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None)
@given(st.data())
def test_round_trip(data: st.DataObject) -> None:
    """Any expressible sequence, any flavour and knobs, any cuts: decode(encode(s)) folds to fold(s);
    every payload the encoder emits validates against the schema."""
    flavour = data.draw(st.sampled_from(FLAVOURS), label="flavour")
    knob = data.draw(knobs(flavour), label="knobs")
    sequence = data.draw(sequences(), label="sequence")
    wire = CODEC.encode(sequence, knob)
    cuts = data.draw(st.lists(st.integers(1, max(1, len(wire) - 1)), max_size=6), label="cuts")
    assert assert_round_trip(CODEC, sequence, knob, cuts, flavour=flavour) == wire
    for payload in payloads_of(wire):
        assert validate_json(SCHEMA, payload) == []


def _rich() -> list[Event]:
    b = ResponseBuilder()
    b.start(response_id="chatcmpl-9", model="gpt-x")
    b.open("r", "reasoning")
    b.delta("r", "think 😀")
    b.end("r", signature="sig")
    b.open("t", "text")
    b.delta("t", "Hello ")
    b.delta("t", "wörld")
    b.end("t")
    b.open("c", "citation", data={"type": "url_citation", "url_citation": {"url": "https://x"}})
    b.end("c")
    for n in range(3):
        b.open(n, "tool_call", id=f"call_{n}", name="get")
    b.delta(0, '{"a": "\\u00e9')
    b.delta(1, "{}")
    b.delta(0, '\\n"}')
    b.usage(input_tokens=10, output_tokens=5, cache_read=2, reasoning_tokens=1)
    b.finish(FinishReason.TOOL_CALLS, "tool_calls")
    return b.take()


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_each_flavours_usual_knobs_round_trip(flavour: str) -> None:
    knob = flavour_knobs(flavour)
    wire = assert_round_trip(CODEC, _rich(), knob, [7, 100, 101], flavour=flavour)
    assert wire == CODEC.encode(_rich(), knob)  # deterministic
    payloads = payloads_of(wire)
    assert payloads
    assert all(validate_json(SCHEMA, p) == [] for p in payloads)


def test_encoder_renders_the_flavour_quirks() -> None:
    """What each knob puts on the wire (a few spot checks of the bytes)."""
    rich = _rich()
    assert b'"obfuscation":' in CODEC.encode(rich)
    assert CODEC.encode(rich, Knobs(seed=1)) != CODEC.encode(rich, Knobs(seed=2))
    mistral = CODEC.encode(rich, flavour_knobs("mistral"))
    assert b'"index":0,"id"' not in mistral
    assert b'"finish_reason":"tool_calls","logprobs"' not in mistral  # rides on the last call's chunk
    assert b'{"type":"thinking","thinking"' in mistral
    groq = CODEC.encode(rich, flavour_knobs("groq"))
    assert b'"x_groq":{"id":"req_conformance","usage":' in groq
    openrouter = CODEC.encode(rich, flavour_knobs("openrouter"))
    assert openrouter.startswith(b": OPENROUTER PROCESSING\n\n")
    assert b'"reasoning_details":[{"type":"reasoning.text","text":"","signature":"sig"' in openrouter
    assert CODEC.encode(rich, Knobs(eol="\r\n")).count(b"\r\n\r\n") == CODEC.encode(rich).count(b"\n\n")
    azure = CODEC.encode(rich, flavour_knobs("azure"))
    assert azure.startswith(b'data: {"choices":[],"created":0,"id":"","model":""')


def test_error_styles_render_as_the_vendors_do() -> None:
    b = ResponseBuilder()
    b.open(0, "text")
    b.delta(0, "x")
    b.usage(input_tokens=1, output_tokens=1)
    b.error(ErrorCategory.INVALID_REQUEST, "bad", status=400, code="tool_use_failed")
    events = b.take()
    groq = assert_round_trip(CODEC, events, Knobs(error_style="event"), [])
    assert b"event: error\n" in groq
    assert not groq.endswith(b"data: [DONE]\n\n")
    openrouter = assert_round_trip(CODEC, events, Knobs(error_style="chunk"), [])
    assert b'"error":{"message":"bad"' in openrouter
    assert openrouter.endswith(b"data: [DONE]\n\n")


def _seq(*steps: str, terminal: str = "stop") -> list[Event]:
    b = ResponseBuilder()
    for n, kind in enumerate(steps):
        b.open(n, kind, **({"id": "c", "name": "f"} if kind == "tool_call" else {}))
        b.delta(n, "x")
        b.end(n)
    b.finish(FinishReason(terminal) if terminal != "tool_calls" else FinishReason.TOOL_CALLS, terminal)
    return b.take()


def _failed(category: ErrorCategory) -> list[Event]:
    b = ResponseBuilder()
    b.open(0, "text")
    b.delta(0, "x")
    b.error(category, "m")  # neither status nor code: only `unknown` has that wire form
    return b.take()


@pytest.mark.parametrize(
    ("events", "why"),
    [
        (_seq("text", "text"), "merge"),
        (_seq("server_tool_call"), "no 'server_tool_call'"),
        (
            [
                BlockStart(block=0, kind="text"),
                BlockEnd(block=0),
                Finish(reason=FinishReason.STOP, raw_reason="stop"),
            ],
            "empty",
        ),
        ([*_seq("text")[:-1], Finish(reason=FinishReason.STOP)], "finish_reason"),
        (
            [*_seq("text")[:-1], Finish(reason=FinishReason.CONTENT_FILTER, raw_reason="stop")],
            "does not decode",
        ),
        (_seq("text", terminal="length"), "incomplete"),
        (_seq("text")[:-1], "no terminal"),
        (_failed(ErrorCategory.SERVER), "cannot be sent"),
    ],
)
def test_encoder_refuses_what_the_wire_cannot_carry(events: list[Event], why: str) -> None:
    with pytest.raises(UsageError, match=why):
        CODEC.encode(events)


# -- malformed input ------------------------------------------------------------------------


def _assert_sane(events: list[Event]) -> None:
    assert sum(isinstance(e, Finish | Error) for e in events) == 1
    assert_rule_abiding(events)


def test_every_prefix_of_a_small_stream() -> None:
    """A stream cut anywhere ends in exactly one terminal and never in a quiet finish."""
    wire = CODEC.encode(_rich(), flavour_knobs("openrouter"))
    assert len(wire) < 6000
    for n in range(len(wire) + 1):
        events = decode(CODEC, [wire[:n]])
        _assert_sane(events)
        if b"data: [DONE]" not in wire[:n]:
            assert not isinstance(events[-1], Finish), n


@pytest.mark.parametrize(
    "payload",
    [
        {"choices": "x"},
        {"choices": [1]},
        {"choices": [{"index": "0"}]},
        {"choices": [{"index": 0, "delta": []}]},
        {"choices": [{"index": 0, "delta": {"content": 5}}]},
        {"choices": [{"index": 0, "delta": {"content": [1]}}]},
        {"choices": [{"index": 0, "delta": {"content": [{"type": "thinking", "thinking": [5]}]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": True}]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": 5}}]}}]},
        {"choices": [{"index": 0, "delta": {"reasoning_details": ["x"]}}]},
        {"choices": [{"index": 0, "delta": {"annotations": [1]}}]},
        {"choices": [{"index": 0, "finish_reason": 3}]},
        {"choices": [], "usage": {"prompt_tokens": -1}},
        {"choices": [], "usage": {"prompt_tokens": 1.5}},
        {"choices": [], "usage": {"completion_tokens_details": {"reasoning_tokens": "1"}}},
        {"choices": [], "id": 5},
        {"error": 5},
        {"error": {"message": 5}},
    ],
)
def test_wrong_field_types_are_decode_errors(payload: dict[str, Any]) -> None:
    events = _decode(_wire(ROLE, _chunk({"content": "x"}), payload, _chunk(finish="stop"), DONE))
    terminal = _terminal(events)
    assert isinstance(terminal, Error)
    assert terminal.category is ErrorCategory.DECODE


@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data: bytes) -> None:
    _assert_sane(decode(CODEC, [data]))


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_payloads_never_raise(data: st.DataObject) -> None:
    """Valid chunks with one field replaced by a random JSON value, or a random prefix of the payload."""
    payloads = payloads_of(CODEC.encode(_rich(), Knobs(obfuscation=False)))
    payload = data.draw(st.sampled_from(payloads))
    paths: list[list[Any]] = []

    def walk(value: Any, path: list[Any]) -> None:
        paths.append(path)
        items = (
            value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        )
        for key, child in items:
            walk(child, [*path, key])

    walk(payload, [])
    path = data.draw(st.sampled_from(paths[1:]))
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = data.draw(_json_values)
    text = json.dumps(payload)
    if data.draw(st.booleans()):
        text = text[: data.draw(st.integers(0, len(text)))]
    _assert_sane(decode(CODEC, [_wire(ROLE, text.replace("\n", " "), _chunk(finish="stop"), DONE)]))
