"""OpenAI Responses codec: real recordings, quirks, round trip, schema, malformed input."""

from __future__ import annotations

import json
from collections import defaultdict
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
from conformance.fold import fold
from conformance.framing.messages import SSEComment, SSEEvent
from conformance.framing.sse import encode as encode_sse
from conformance.reframe import reframe
from conformance.schemas import validate_json
from conformance.vendors._builder import ResponseBuilder
from conformance.vendors.openai_responses import CODEC, FLAVOUR_KNOBS, Knobs
from conformance.vendors.openai_responses.strategies import knobs, sequences
from tests.helpers import REFERENCE_STREAMS
from tests.vendors.helpers import (
    assert_round_trip,
    assert_rule_abiding,
    decode,
    decode_every_chunking,
    load_expected,
    payloads_of,
)

SCHEMA = "vendors/openai/responses.schema.json"

#: Every real recording of this API, with the flavour that sent it.
RECORDINGS = {
    "openai-responses__background-resume-starting-after.txt": "openai",
    "openai-responses__error-insufficient-quota-payloads.txt": "openai",
    "openai-responses__function-call-usage-sequence-numbers.txt": "openai",
    "openai-responses__moderation-reasoning-encrypted.txt": "openai",
    "openai-responses__reasoning-multi-step-payloads.txt": "openai",
    "openai-responses__web-search-call.txt": "openai",
    "openrouter-responses__data-only-with-done.txt": "openrouter",
    "azure-openai__responses-tool-call-payloads.txt": "azure",
}


def _recording(name: str) -> bytes:
    path = REFERENCE_STREAMS / name
    if not path.is_file():
        pytest.skip(f"reference stream {name} is not available")
    data = path.read_bytes()
    return reframe(data, api="openai/responses") if name.endswith("-payloads.txt") else data


def _wire(*payloads: dict[str, Any] | str, named: bool = True) -> bytes:
    """SSE bytes for payloads (a str is sent as raw data, e.g. ``[DONE]``)."""
    events = []
    for p in payloads:
        if isinstance(p, str):
            events.append(SSEEvent(data=p))
        else:
            events.append(
                SSEEvent(event=p["type"] if named else None, data=json.dumps(p, ensure_ascii=False))
            )
    return encode_sse(events)


def _decode(data: bytes, flavour: str | None = None) -> list[Event]:
    events = decode_every_chunking(CODEC, data, flavour=flavour)
    assert_rule_abiding(events)
    return events


# -- tiny payload builders for the hand-written streams --------------------------------


def _resp(status: str = "in_progress", **extra: Any) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "status": status,
        "model": "gpt-test",
        "output": [],
        **extra,
    }


def _created() -> dict[str, Any]:
    return {"type": "response.created", "sequence_number": 0, "response": _resp()}


def _completed(**extra: Any) -> dict[str, Any]:
    return {"type": "response.completed", "response": _resp("completed", **extra)}


def _added(index: int, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.output_item.added", "output_index": index, "item": item}


def _done(index: int, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.output_item.done", "output_index": index, "item": item}


def _call(index: int = 0, item_id: str = "fc_1", call_id: str = "call_1", args: str = "") -> dict[str, Any]:
    item = {"id": item_id, "type": "function_call", "call_id": call_id, "name": "f", "arguments": args}
    return {**item, "status": "in_progress" if not args else "completed"}


def _args_delta(index: int, delta: str, item_id: str = "fc_1") -> dict[str, Any]:
    return {
        "type": "response.function_call_arguments.delta",
        "item_id": item_id,
        "output_index": index,
        "delta": delta,
    }


def _message(index: int, item_id: str = "msg_1") -> list[dict[str, Any]]:
    """A message item's opening: item added, output_text part added."""
    part = {"type": "output_text", "text": "", "annotations": []}
    where = {"item_id": item_id, "output_index": index, "content_index": 0}
    return [
        _added(
            index,
            {"id": item_id, "type": "message", "status": "in_progress", "content": [], "role": "assistant"},
        ),
        {"type": "response.content_part.added", **where, "part": part},
    ]


def _text_delta(index: int, delta: str, item_id: str = "msg_1", **extra: Any) -> dict[str, Any]:
    where = {"item_id": item_id, "output_index": index, "content_index": 0}
    return {"type": "response.output_text.delta", **where, "delta": delta, **extra}


def _kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events if isinstance(e, BlockStart)]


def _texts(events: list[Event]) -> dict[int, str]:
    out: dict[int, str] = defaultdict(str)
    for e in events:
        if isinstance(e, BlockDelta):
            out[e.block] += e.text
    return dict(out)


def _ends(events: list[Event]) -> list[BlockEnd]:
    return [e for e in events if isinstance(e, BlockEnd)]


def _terminal(events: list[Event]) -> Event:
    terminals = [e for e in events if isinstance(e, Finish | Error)]
    assert len(terminals) == 1, terminals
    return terminals[0]


# -- 1. real recordings ----------------------------------------------------------------


@pytest.mark.parametrize(("name", "flavour"), RECORDINGS.items())
def test_recording_decodes_to_its_reviewed_expected_sequence(name: str, flavour: str) -> None:
    events = _decode(_recording(name), flavour)
    assert events == load_expected(name.rsplit(".", 1)[0])


def _first_response(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The payloads up to the first terminal (the multi-step recording has four responses)."""
    out = []
    for p in payloads:
        out.append(p)
        if p["type"] in ("response.completed", "response.incomplete", "response.failed"):
            break
    return out


@pytest.mark.parametrize(("name", "flavour"), RECORDINGS.items())
def test_recording_facts_match_the_raw_payloads(name: str, flavour: str) -> None:
    """Texts, calls, signatures, usage and the terminal, derived straight from the payloads."""
    payloads = _first_response(payloads_of(_recording(name)))
    events = decode(CODEC, [_recording(name)], flavour=flavour)
    folded = fold(events)
    # Text per part: the vendor's deltas joined; they equal the .done text (nothing doubled).
    texts: dict[tuple[str, str, int], str] = defaultdict(str)
    done_texts: dict[tuple[str, str, int], str] = {}
    for p in payloads:
        t = p["type"]
        if t in ("response.output_text.delta", "response.reasoning_text.delta"):
            texts["text" if "output" in t else "reasoning", p["item_id"], p["content_index"]] += p["delta"]
        elif t == "response.reasoning_summary_text.delta":
            texts["reasoning", p["item_id"], 100 + p["summary_index"]] += p["delta"]
        elif t == "response.output_text.done":
            done_texts["text", p["item_id"], p["content_index"]] = p["text"]
    for key, text in done_texts.items():
        assert texts[key] == text
    starts = [e for e in folded if isinstance(e, BlockStart)]
    deltas = {e.block: e.text for e in folded if isinstance(e, BlockDelta)}
    got = sorted(
        deltas.get(s.block, "") for s in starts if s.kind in ("text", "reasoning") and s.block in deltas
    )
    assert got == sorted(texts.values())
    # Tool calls: id = call_id (not the fc_ item id), name, arguments = the joined deltas (or .done).
    calls = {}
    for p in payloads:
        if p["type"] == "response.output_item.added" and p["item"]["type"] == "function_call":
            calls[p["item"]["id"]] = [p["item"]["call_id"], p["item"]["name"], ""]
        elif p["type"] == "response.function_call_arguments.delta":
            calls[p["item_id"]][2] += p["delta"]
    ends = {e.block: e for e in folded if isinstance(e, BlockEnd)}
    got_calls = [[s.id, s.name, ends[s.block].arguments_raw] for s in starts if s.kind == "tool_call"]
    assert got_calls == list(calls.values())
    # Signatures: the FINAL (output_item.done) encrypted_content of each reasoning item.
    signatures = [
        p["item"].get("encrypted_content")
        for p in payloads
        if p["type"] == "response.output_item.done" and p["item"]["type"] == "reasoning"
    ]
    assert [e.signature for e in ends.values() if e.signature] == [s for s in signatures if s]
    # Usage and terminal from the terminal response object.
    last = payloads[-1]
    usage = last["response"]["usage"]
    got_usage = [e for e in folded if isinstance(e, Usage)]
    if usage is None:
        assert got_usage == []
    else:
        assert got_usage[0].input_tokens == usage["input_tokens"]
        assert got_usage[0].output_tokens == usage["output_tokens"]
        assert got_usage[0].cache_read == usage["input_tokens_details"]["cached_tokens"]
        assert got_usage[0].reasoning_tokens == usage["output_tokens_details"]["reasoning_tokens"]
    terminal = _terminal(events)
    if last["type"] == "response.completed":
        assert isinstance(terminal, Finish)
        want = FinishReason.TOOL_CALLS if calls else FinishReason.STOP
        assert (terminal.reason, terminal.raw_reason) == (want, "completed")
    else:
        assert isinstance(terminal, Error)
        assert terminal.message == last["response"]["error"]["message"]
        assert terminal.code == last["response"]["error"]["code"]
    first = next(p for p in payloads if "response" in p)["response"]
    assert events[0] == ResponseStart(response_id=first["id"], model=first["model"])


def test_recorded_facts_checked_by_hand() -> None:
    """A few values read off the raw files by eye, so the review does not rest on code alone."""
    azure = fold(_decode(_recording("azure-openai__responses-tool-call-payloads.txt"), "azure"))
    assert azure[1] == BlockStart(
        block=0, kind="tool_call", id="call_H5DxLSFnsGhiROnUiDHmgyc8", name="weather"
    )
    assert azure[3].arguments == {"location": "San Francisco"}  # type: ignore[union-attr]
    resumed = _decode(_recording("openai-responses__background-resume-starting-after.txt"))
    assert _texts(resumed) == {0: "2 + 2 equals 4."}
    router = _decode(_recording("openrouter-responses__data-only-with-done.txt"), "openrouter")
    assert _texts(router)[1] == "4"
    assert _texts(router)[0].startswith("The user asks:")
    web = fold(_decode(_recording("openai-responses__web-search-call.txt")))
    assert _kinds(web) == ["reasoning", "server_tool_call", "reasoning", "text"]
    search = next(e for e in web if isinstance(e, BlockEnd) and e.block == 1)
    assert search.arguments == {
        "action": {
            "type": "search",
            "query": "weather: San Francisco, CA",
            "sources": [{"type": "api", "name": "oai-weather"}],
        }
    }
    assert Usage(input_tokens=9463, output_tokens=582, cache_read=8320, reasoning_tokens=512) in web
    quota = _decode(_recording("openai-responses__error-insufficient-quota-payloads.txt"))
    error = quota[-1]
    assert isinstance(error, Error)
    assert (error.category, error.retryable, error.phase, error.code) == (
        ErrorCategory.PERMISSION,
        False,
        ErrorPhase.BEFORE_OUTPUT,
        "insufficient_quota",
    )
    moderation = _decode(_recording("openai-responses__moderation-reasoning-encrypted.txt"))
    assert (
        Usage(input_tokens=13, output_tokens=59, cache_read=0, cache_write=0, reasoning_tokens=0)
        in moderation
    )


def test_multi_step_recording_is_one_response_then_unknowns() -> None:
    """Four concatenated responses: the first is decoded, the rest are unknown after the terminal."""
    events = _decode(_recording("openai-responses__reasoning-multi-step-payloads.txt"))
    cut = next(i for i, e in enumerate(events) if isinstance(e, Finish))
    assert all(isinstance(e, Unknown) and e.raw is None for e in events[cut + 1 :])
    assert [e.vendor_type for e in events[cut + 1 :] if isinstance(e, Unknown)].count("response.created") == 3
    assert events[cut] == Finish(reason=FinishReason.TOOL_CALLS, raw_reason="completed")


@pytest.mark.parametrize("name", RECORDINGS)
def test_every_recorded_payload_matches_the_schema(name: str) -> None:
    for payload in payloads_of(_recording(name)):
        assert validate_json(SCHEMA, payload) == [], payload["type"]


# -- 3. quirks -------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["nested", "flat"])
def test_error_event_then_failed_is_one_error(shape: str) -> None:
    """openai.responses.error_event_then_failed: nested or flat error, then response.failed -> ONE error."""
    body = {"code": "rate_limit_exceeded", "message": "slow down", "param": None}
    error = (
        {"type": "error", "error": {"type": "requests", **body}}
        if shape == "nested"
        else {"type": "error", **body}
    )
    usage = {"input_tokens": 5, "output_tokens": 0}
    failed = {
        "type": "response.failed",
        "response": _resp("failed", error={"code": "server_error", "message": "x"}, usage=usage),
    }
    events = _decode(_wire(_created(), *_message(0), _text_delta(0, "Hi"), error, failed))
    errors = [e for e in events if isinstance(e, Error)]
    assert errors == [
        Error(
            category=ErrorCategory.RATE_LIMIT,
            message="slow down",
            retryable=True,
            phase=ErrorPhase.MID_STREAM,
            code="rate_limit_exceeded",
        )
    ]
    assert Usage(input_tokens=5, output_tokens=0) in events  # the failed response's usage is kept
    assert _ends(events) == [BlockEnd(block=0, incomplete=True)]


def test_error_event_alone_still_ends_the_stream_with_that_error() -> None:
    events = _decode(_wire(_created(), {"type": "error", "code": "server_error", "message": "boom"}))
    assert events[-1] == Error(
        category=ErrorCategory.SERVER,
        message="boom",
        retryable=True,
        phase=ErrorPhase.BEFORE_OUTPUT,
        code="server_error",
    )


def test_error_event_wins_over_a_broken_payload_after_it() -> None:
    events = _decode(
        _wire(_created(), {"type": "error", "code": "server_error", "message": "boom"}) + b"data: {oops\n\n"
    )
    assert [e.category for e in events if isinstance(e, Error)] == [ErrorCategory.SERVER]


@pytest.mark.parametrize(
    ("code", "category", "status"),
    [
        ("insufficient_quota", ErrorCategory.PERMISSION, None),
        ("rate_limit_exceeded", ErrorCategory.RATE_LIMIT, None),
        ("server_error", ErrorCategory.SERVER, None),
        ("invalid_prompt", ErrorCategory.INVALID_REQUEST, None),
        ("context_length_exceeded", ErrorCategory.CONTEXT_LENGTH, None),
        ("vector_store_timeout", ErrorCategory.TIMEOUT, None),
        ("image_content_policy_violation", ErrorCategory.CONTENT_FILTER, None),
        ("brand_new_code", ErrorCategory.UNKNOWN, None),
        (429, ErrorCategory.RATE_LIMIT, 429),
    ],
)
def test_response_failed_error_categories(code: object, category: ErrorCategory, status: int | None) -> None:
    failed = {"type": "response.failed", "response": _resp("failed", error={"code": code, "message": "m"})}
    error = _decode(_wire(_created(), failed))[-1]
    assert isinstance(error, Error)
    assert (error.category, error.status) == (category, status)
    assert error.code == (code if isinstance(code, str) else None)


def test_failed_without_error_details_is_still_an_error() -> None:
    error = _decode(_wire(_created(), {"type": "response.failed", "response": _resp("failed")}))[-1]
    assert isinstance(error, Error)
    assert error.category == ErrorCategory.UNKNOWN


def test_openai_stream_needs_no_done_and_openrouter_done_is_accepted() -> None:
    """openai.responses.no_done_sentinel / openrouter.responses.done_sentinel; sse.comment_keepalive."""
    openai = _decode(_wire(_created(), _completed()))
    router_bytes = b": OPENROUTER PROCESSING\n\n" + _wire(_created(), _completed(), "[DONE]", named=False)
    router = _decode(router_bytes, "openrouter")
    assert openai == router
    assert isinstance(router[-1], Finish)


def test_done_before_a_terminal_is_a_protocol_error() -> None:
    events = _decode(
        _wire(_created(), *_message(0), _text_delta(0, "Hi"), "[DONE]", _completed()), "openrouter"
    )
    assert next(e for e in events if isinstance(e, Error)).category == ErrorCategory.PROTOCOL
    assert not any(isinstance(e, Finish) for e in events)


def test_missing_terminal_is_a_protocol_error_never_a_finish() -> None:
    events = _decode(_wire(_created(), *_message(0), _text_delta(0, "Hi")))
    assert isinstance(events[-1], Error)
    assert events[-1].category == ErrorCategory.PROTOCOL
    assert _ends(events) == [BlockEnd(block=0, incomplete=True)]


def test_json_type_wins_over_the_sse_event_name() -> None:
    """sse.mixed_named_and_unnamed_events: dispatch on the JSON type; the name is a fallback."""
    data = b"event: response.failed\ndata: " + json.dumps(_created()).encode() + b"\n\n"
    data += (
        b"event: response.completed\ndata: " + json.dumps({"response": _resp("completed")}).encode() + b"\n\n"
    )
    events = _decode(data)
    assert events == [
        ResponseStart(response_id="resp_1", model="gpt-test"),
        Finish(reason=FinishReason.STOP, raw_reason="completed"),
    ]


def test_call_id_is_the_tool_id_not_the_item_id() -> None:
    """responses.item_id_vs_call_id (DeepSeek uses UUID item ids)."""
    item_id = "0b1e3f4a-1111-4222-8333-944455556666"
    stream = _wire(
        _created(),
        _added(0, _call(item_id=item_id, call_id="call_X")),
        _args_delta(0, '{"a":', item_id),
        _args_delta(0, "1}", item_id),
        _done(0, _call(item_id=item_id, call_id="call_X", args='{"a":1}')),
        _completed(),
    )
    events = _decode(stream, "deepseek")
    assert BlockStart(block=0, kind="tool_call", id="call_X", name="f") in events
    assert BlockEnd(block=0, arguments_raw='{"a":1}', arguments={"a": 1}) in events
    assert events[-1] == Finish(reason=FinishReason.TOOL_CALLS, raw_reason="completed")


def test_events_bind_by_output_index_or_item_id() -> None:
    """responses.output_index_not_tool_index: reasoning at 0, calls at 1 and 2; deltas interleave."""
    reasoning = {"id": "rs_1", "type": "reasoning", "summary": []}
    first, second = _call(1, "fc_1", "call_1"), _call(2, "fc_2", "call_2")
    by_id = {"type": "response.function_call_arguments.delta", "item_id": "fc_2", "delta": "{}"}
    stream = _wire(
        _created(),
        _added(0, reasoning),
        _done(0, reasoning),
        _added(1, first),
        _added(2, second),
        _args_delta(1, '{"x"', "fc_1"),
        by_id,
        _args_delta(1, ":2}", "fc_1"),
        _done(1, {**first, "arguments": '{"x":2}'}),
        _done(2, {**second, "arguments": "{}"}),
        _completed(),
    )
    events = _decode(stream)
    assert _kinds(events) == ["reasoning", "tool_call", "tool_call"]
    assert _texts(events) == {1: '{"x":2}', 2: "{}"}


def test_arguments_done_without_deltas_delivers_the_arguments() -> None:
    """LiteLLM #27144: function_call_arguments.done with no delta before it."""
    done = {
        "type": "response.function_call_arguments.done",
        "item_id": "fc_1",
        "output_index": 0,
        "arguments": '{"q":"x"}',
    }
    events = _decode(
        _wire(_created(), _added(0, _call()), done, _done(0, _call(args='{"q":"x"}')), _completed())
    )
    assert _texts(events) == {0: '{"q":"x"}'}
    assert BlockEnd(block=0, arguments_raw='{"q":"x"}', arguments={"q": "x"}) in events


def test_done_events_never_double_the_text() -> None:
    where = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    part = {"type": "output_text", "text": "Hello", "annotations": []}
    stream = _wire(
        _created(),
        *_message(0),
        _text_delta(0, "Hel"),
        _text_delta(0, "lo"),
        {"type": "response.output_text.done", **where, "text": "Hello"},
        {"type": "response.content_part.done", **where, "part": part},
        _done(0, {"id": "msg_1", "type": "message", "status": "completed", "content": [part]}),
        _completed(),
    )
    assert _texts(_decode(stream)) == {0: "Hello"}


def test_final_text_beyond_the_deltas_is_delivered_once() -> None:
    """A part whose text only arrives in output_item.done (no deltas, no part events) still shows."""
    part = {"type": "output_text", "text": "Whole", "annotations": []}
    item = {"id": "msg_1", "type": "message", "status": "completed", "content": [part]}
    events = _decode(_wire(_created(), _added(0, {**item, "content": []}), _done(0, item), _completed()))
    assert _texts(events) == {0: "Whole"}


def test_sequence_numbers_are_optional_and_a_resume_starts_late() -> None:
    """openai.responses.sequence_number_optional: none at all, or a resume from N+1 with response.queued."""
    plain = [_created(), *_message(0), _text_delta(0, "Hi"), _completed()]
    for p in plain:
        p.pop("sequence_number", None)
    queued = {"type": "response.queued", "sequence_number": 6, "response": _resp("queued")}
    resumed = [queued, *_message(0), _text_delta(0, "Hi"), _completed()]
    for number, p in enumerate(resumed[1:], 7):
        p["sequence_number"] = number
    assert fold(_decode(_wire(*plain))) == fold(_decode(_wire(*resumed)))


def test_obfuscation_padding_never_leaks() -> None:
    """padding_fields: obfuscation on deltas is dropped."""
    events = _decode(
        _wire(_created(), *_message(0), _text_delta(0, "Hi", obfuscation="SECRETpad"), _completed())
    )
    assert "SECRETpad" not in "".join(dumps(e) for e in events)


def test_reasoning_one_block_per_summary_part_signature_on_the_last() -> None:
    at = {"item_id": "rs_1", "output_index": 0}
    empty = {"type": "summary_text", "text": ""}
    final = {
        "id": "rs_1",
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "One."}, {"type": "summary_text", "text": "Two."}],
        "encrypted_content": "FINAL",
    }
    stream = _wire(
        _created(),
        _added(0, {"id": "rs_1", "type": "reasoning", "summary": [], "encrypted_content": "INTERIM"}),
        {"type": "response.reasoning_summary_part.added", **at, "summary_index": 0, "part": empty},
        {"type": "response.reasoning_summary_text.delta", **at, "summary_index": 0, "delta": "One."},
        {"type": "response.reasoning_summary_part.added", **at, "summary_index": 1, "part": empty},
        {"type": "response.reasoning_summary_text.delta", **at, "summary_index": 1, "delta": "Two"},
        {"type": "response.reasoning_summary_text.done", **at, "summary_index": 1, "text": "Two."},
        _done(0, final),
        _completed(),
    )
    events = _decode(stream)
    assert _kinds(events) == ["reasoning", "reasoning"]
    assert _texts(events) == {0: "One.", 1: "Two."}
    assert _ends(events) == [BlockEnd(block=0), BlockEnd(block=1, signature="FINAL")]


@pytest.mark.parametrize("encrypted", [None, "ENC"])
def test_reasoning_item_without_text_still_gives_one_block(encrypted: str | None) -> None:
    item: dict[str, Any] = {"id": "rs_1", "type": "reasoning", "summary": [], "encrypted_content": encrypted}
    events = _decode(_wire(_created(), _added(0, item), _done(0, item), _completed()))
    assert _kinds(events) == ["reasoning"]
    assert _ends(events) == [BlockEnd(block=0, signature=encrypted)]


def test_raw_reasoning_text_events() -> None:
    """reasoning.field_names_vary: OpenRouter/DeepSeek reasoning_text deltas."""
    at = {"item_id": "rs_1", "output_index": 0, "content_index": 0}
    stream = _wire(
        _created(),
        _added(0, {"id": "rs_1", "type": "reasoning", "summary": []}),
        {"type": "response.reasoning_text.delta", **at, "delta": "Think"},
        {"type": "response.reasoning_text.done", **at, "text": "Think!"},
        _done(0, {"id": "rs_1", "type": "reasoning", "summary": []}),
        _completed(),
        "[DONE]",
        named=False,
    )
    assert _texts(_decode(stream, "openrouter")) == {0: "Think!"}


def test_refusal_part_is_a_refusal_block() -> None:
    where = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    stream = _wire(
        _created(),
        _added(0, {"id": "msg_1", "type": "message", "content": []}),
        {"type": "response.content_part.added", **where, "part": {"type": "refusal", "refusal": ""}},
        {"type": "response.refusal.delta", **where, "delta": "No."},
        {"type": "response.refusal.done", **where, "refusal": "No."},
        _completed(),
    )
    events = _decode(stream)
    assert _kinds(events) == ["refusal"]
    assert _texts(events) == {0: "No."}


def test_annotation_is_a_citation_block() -> None:
    """citations.shapes: response.output_text.annotation.added."""
    note: dict[str, JSONValue] = {
        "type": "url_citation",
        "start_index": 0,
        "end_index": 2,
        "title": "T",
        "url": "https://x",
    }
    ann = {
        "type": "response.output_text.annotation.added",
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
    }
    events = _decode(
        _wire(
            _created(),
            *_message(0),
            _text_delta(0, "Hi"),
            {**ann, "annotation_index": 0, "annotation": note},
            _completed(),
        )
    )
    assert BlockStart(block=1, kind="citation", data=note) in events
    assert _kinds(events) == ["text", "citation"]


def test_server_tool_items_are_not_client_calls() -> None:
    """server_tool.result_blocks: file_search_call -> server_tool_call + result; progress is silent."""
    added = {"id": "fs_1", "type": "file_search_call", "status": "in_progress", "queries": []}
    final = {**added, "status": "completed", "queries": ["q"], "results": [{"file_id": "f", "text": "t"}]}
    progress = {"output_index": 0, "item_id": "fs_1"}
    stream = _wire(
        _created(),
        _added(0, added),
        {"type": "response.file_search_call.in_progress", **progress},
        {"type": "response.file_search_call.searching", **progress},
        {"type": "response.file_search_call.completed", **progress},
        _done(0, final),
        _completed(),
    )
    events = _decode(stream)
    assert not any(isinstance(e, Unknown) for e in events)
    assert BlockStart(block=0, kind="server_tool_call", id="fs_1", name="file_search") in events
    assert (
        BlockStart(
            block=1, kind="server_tool_result", id="fs_1", data={"results": [{"file_id": "f", "text": "t"}]}
        )
        in events
    )
    assert _texts(events) == {0: '{"queries":["q"]}'}
    assert events[-1] == Finish(reason=FinishReason.STOP, raw_reason="completed")


def test_custom_tool_call_input_is_argument_text() -> None:
    item = {"id": "ctc_1", "type": "custom_tool_call", "call_id": "call_C", "name": "shell", "input": ""}
    at = {"item_id": "ctc_1", "output_index": 0}
    stream = _wire(
        _created(),
        _added(0, item),
        {"type": "response.custom_tool_call_input.delta", **at, "delta": "ls -la"},
        {"type": "response.custom_tool_call_input.done", **at, "input": "ls -la"},
        _done(0, {**item, "input": "ls -la"}),
        _completed(),
    )
    events = _decode(stream)
    end = _ends(events)[0]
    assert (end.arguments_raw, end.arguments) == ("ls -la", None)
    assert end.arguments_error is not None


@pytest.mark.parametrize(
    ("reason", "want"),
    [
        ("max_output_tokens", FinishReason.LENGTH),
        ("content_filter", FinishReason.CONTENT_FILTER),
        ("max_messages", FinishReason.OTHER),
        (None, FinishReason.OTHER),
    ],
)
def test_incomplete_response_cuts_open_blocks(reason: str | None, want: FinishReason) -> None:
    """content_filter.stop and max_tokens.truncation_mid_tool_call: a cut call is never finalised."""
    details = {"reason": reason} if reason else None
    incomplete = {"type": "response.incomplete", "response": _resp("incomplete", incomplete_details=details)}
    events = _decode(_wire(_created(), _added(0, _call()), _args_delta(0, '{"a":1}'), incomplete))
    assert _ends(events) == [BlockEnd(block=0, incomplete=True, arguments_raw='{"a":1}')]
    assert events[-1] == Finish(reason=want, raw_reason=reason or "incomplete")


def test_usage_comes_from_the_terminal_response_before_the_finish() -> None:
    """usage.location_varies: input includes cached; cache_write_tokens; reasoning tokens."""
    usage = {
        "input_tokens": 100,
        "input_tokens_details": {"cached_tokens": 80, "cache_write_tokens": 5},
        "output_tokens": 30,
        "output_tokens_details": {"reasoning_tokens": 20},
        "total_tokens": 130,
    }
    events = _decode(_wire(_created(), _completed(usage=usage)))
    assert events[-2:] == [
        Usage(input_tokens=100, output_tokens=30, cache_read=80, cache_write=5, reasoning_tokens=20),
        Finish(reason=FinishReason.STOP, raw_reason="completed"),
    ]


def test_unknown_events_and_extension_fields_do_not_stop_decoding() -> None:
    """vendor_extension_fields and unknown event types (cf. anthropic.unknown_event_types)."""
    novel: dict[str, JSONValue] = {"type": "response.brand_new_event", "x": 1}
    events = _decode(
        _wire(
            {**_created(), "x_extra": {"a": 1}}, novel, *_message(0), _text_delta(0, "Hi", x=2), _completed()
        )
    )
    assert Unknown(vendor_type="response.brand_new_event", raw=novel) in events
    assert _texts(events) == {0: "Hi"}
    assert isinstance(events[-1], Finish)


def test_a_different_response_id_mid_stream_is_a_decode_error() -> None:
    other = {"type": "response.in_progress", "response": {**_resp(), "id": "resp_2"}}
    events = _decode(_wire(_created(), other, _completed()))
    assert [e.category for e in events if isinstance(e, Error)] == [ErrorCategory.DECODE]


def test_last_event_without_its_blank_line_is_still_read() -> None:
    """sse.eof_without_final_blank_line."""
    events = _decode(_wire(_created(), _completed()).rstrip(b"\n"))
    assert isinstance(events[-1], Finish)


# -- 4. round trip and the encoder -------------------------------------------------------


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], max_examples=120)
@given(sequences(), knobs(), st.lists(st.integers(0, 4000), max_size=6))
def test_round_trip(seq: list[Event], k: Knobs, cuts: list[int]) -> None:
    data = assert_round_trip(CODEC, seq, k, cuts)
    for payload in payloads_of(data):
        assert validate_json(SCHEMA, payload) == [], payload


def _simple() -> list[Event]:
    out = ResponseBuilder()
    out.start(response_id="resp_1", model="m")
    out.open(0, "text")
    out.delta(0, "Hi")
    out.end(0)
    out.finish(FinishReason.STOP, "completed")
    return out.take()


def test_encoder_is_deterministic_and_renders_the_flavours() -> None:
    seq = _simple()
    assert CODEC.encode(seq) == CODEC.encode(seq, Knobs())
    router = CODEC.encode(seq, FLAVOUR_KNOBS["openrouter"])
    assert b"event:" not in router
    assert router.endswith(b"data: [DONE]\n\n")
    assert router.startswith(b": OPENROUTER PROCESSING\n\n")
    assert b'"obfuscation"' in CODEC.encode(seq)
    resumed = CODEC.encode(seq, Knobs(first_event="queued", first_sequence_number=5))
    assert payloads_of(resumed)[0] == {
        "type": "response.queued",
        "sequence_number": 5,
        "response": payloads_of(resumed)[0]["response"],
    }


@pytest.mark.parametrize(
    "bad",
    [
        [Finish(reason=FinishReason.STOP, raw_reason="completed")],  # no response.start
        [*_simple()[:-1], Finish(reason=FinishReason.REFUSAL, raw_reason="refusal")],
        [*_simple()[:-1], Finish(reason=FinishReason.STOP, raw_reason="end_turn")],
        [
            *_simple()[:-1],
            Error(
                category=ErrorCategory.SERVER,
                message="m",
                retryable=True,
                phase=ErrorPhase.MID_STREAM,
                code="rate_limit_exceeded",
            ),
        ],
        [_simple()[0], BlockStart(block=0, kind="citation", data={}), BlockEnd(block=0)],
        [
            _simple()[0],
            BlockStart(block=0, kind="tool_call", name="f"),
            BlockEnd(block=0, arguments_raw="{}", arguments={}),
        ],
    ],
)
def test_encoder_refuses_what_the_api_cannot_carry(bad: list[Event]) -> None:
    with pytest.raises(UsageError):
        CODEC.encode(bad)


# -- 5. malformed input ----------------------------------------------------------------


def _small_stream() -> bytes:
    part = {"type": "output_text", "text": "Hé🙂", "annotations": []}
    return _wire(
        _created(),
        *_message(0),
        _text_delta(0, "Hé"),
        _text_delta(0, "🙂"),
        _done(0, {"id": "msg_1", "type": "message", "status": "completed", "content": [part]}),
        _added(1, _call(1)),
        _args_delta(1, '{"a":1}'),
        _completed(usage={"input_tokens": 1, "output_tokens": 2}),
    )


def test_every_truncation_ends_in_one_terminal_and_never_a_finish_before_the_terminal() -> None:
    data = _small_stream()
    terminal_end = data.rindex(b"}") + 1  # the response.completed payload is complete from here on
    for cut in range(len(data)):
        events = decode(CODEC, [data[:cut]])
        assert_rule_abiding(events)
        if cut < terminal_end:
            assert not any(isinstance(e, Finish) for e in events), cut


@pytest.mark.parametrize(
    "payload",
    [
        {
            "type": "response.output_text.delta",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "delta": 5,
        },
        {"type": "response.output_text.delta", "output_index": 9, "content_index": 0, "delta": "x"},
        {"type": "response.output_item.added", "output_index": "0", "item": {}},
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {"type": "function_call", "name": ""},
        },
        {"type": "response.completed", "response": {"id": "resp_1", "usage": {"input_tokens": -1}}},
        {
            "type": "response.function_call_arguments.delta",
            "item_id": "msg_1",
            "output_index": 0,
            "delta": "x",
        },
        {"type": "error", "error": "text"},
        {"no_type": True},
        [1, 2],
    ],
)
def test_defective_payloads_become_one_decode_error(payload: object) -> None:
    data = (
        _wire(_created(), *_message(0))
        + b"data: "
        + json.dumps(payload).encode()
        + b"\n\n"
        + _wire(_completed())
    )
    events = _decode(data)
    errors = [e for e in events if isinstance(e, Error)]
    assert [e.category for e in errors] == [ErrorCategory.DECODE]


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), st.integers(0, 2000))
def test_random_bytes_anywhere_never_raise(noise: bytes, at: int) -> None:
    data = _small_stream()
    at = min(at, len(data))
    events = decode(CODEC, [data[:at] + noise + data[at:]])
    assert_rule_abiding(events)
    assert sum(isinstance(e, Finish | Error) for e in events) == 1


def test_comments_and_blank_data_are_ignored() -> None:
    data = encode_sse([SSEComment(text=" keep-alive"), SSEEvent(data=" ")]) + _wire(_created(), _completed())
    assert _decode(data) == _decode(_wire(_created(), _completed()))


def _rich_payloads() -> list[dict[str, Any]]:
    """One payload of most known shapes: reasoning summary, text, annotation, call, server tool."""
    at = {"item_id": "rs_1", "output_index": 0}
    reasoning = {"id": "rs_1", "type": "reasoning", "summary": [], "encrypted_content": "E"}
    note = {"type": "url_citation", "start_index": 0, "end_index": 1, "title": "t", "url": "u"}
    ann = {
        "type": "response.output_text.annotation.added",
        "item_id": "msg_1",
        "output_index": 1,
        "content_index": 0,
    }
    search = {"id": "ws_1", "type": "web_search_call", "status": "in_progress"}
    return [
        _created(),
        _added(0, reasoning),
        {
            "type": "response.reasoning_summary_part.added",
            **at,
            "summary_index": 0,
            "part": {"type": "summary_text", "text": ""},
        },
        {"type": "response.reasoning_summary_text.delta", **at, "summary_index": 0, "delta": "r"},
        _done(0, {**reasoning, "summary": [{"type": "summary_text", "text": "r"}]}),
        *_message(1),
        _text_delta(1, "t"),
        {**ann, "annotation_index": 0, "annotation": note},
        _done(
            1,
            {
                "id": "msg_1",
                "type": "message",
                "status": "completed",
                "content": [{"type": "output_text", "text": "t"}],
            },
        ),
        _added(2, _call(2)),
        _args_delta(2, "{}"),
        {
            "type": "response.function_call_arguments.done",
            "item_id": "fc_1",
            "output_index": 2,
            "arguments": "{}",
        },
        _done(2, _call(2, args="{}")),
        _added(3, search),
        {"type": "response.web_search_call.completed", "output_index": 3, "item_id": "ws_1"},
        _done(3, {**search, "status": "completed", "action": {"query": "q"}}),
        _completed(usage={"input_tokens": 1, "output_tokens": 2}),
    ]


def test_rich_stream_decodes_cleanly() -> None:
    events = _decode(_wire(*_rich_payloads()))
    assert _kinds(events) == ["reasoning", "text", "citation", "tool_call", "server_tool_call"]
    assert events[-1] == Finish(reason=FinishReason.TOOL_CALLS, raw_reason="completed")


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_field_with_any_value_never_raises(data: st.DataObject) -> None:
    """Wrong field types anywhere: one terminal, rules kept, no exception."""
    from conformance.strategies import json_values

    payloads = _rich_payloads()
    target = data.draw(st.integers(0, len(payloads) - 1))
    path = data.draw(st.sampled_from(_paths(payloads[target])))
    node: Any = payloads[target]
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = data.draw(json_values)
    events = decode(CODEC, [_wire(*payloads, named=False)])
    assert_rule_abiding(events)
    assert sum(isinstance(e, Finish | Error) for e in events) == 1


def test_generic_sse_variants_decode_alike() -> None:
    """sse.crlf_line_endings, sse.cr_lf_split_across_reads, sse.bom_prefix, sse.multiline_data,
    sse.no_space_after_colon / sse.id_retry_fields, transport.utf8_split_across_reads."""
    payloads = [_created(), *_message(0), _text_delta(0, "Grüße 🙂"), _completed()]
    plain = _wire(*payloads)
    variants = [
        plain.replace(b"\n", b"\r\n"),
        b"\xef\xbb\xbf" + plain,
        plain.replace(b"data: ", b"data:"),
        plain.replace(b'","', b'",\ndata: "'),  # one payload over several data lines
        b"id: 7\nretry: 100\n" + plain,
    ]
    want = _decode(plain)
    assert _texts(want) == {0: "Grüße 🙂"}
    for variant in variants:
        assert _decode(variant) == want
