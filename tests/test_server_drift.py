"""The drifting vendor: each mutation of conformance.server.drift, per API, and its wiring
into the loopback server (LoopbackServer(drift=...), x-conformance-drift, serve --drift)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from conformance.cassettes import CASSETTES_ROOT, case_body, expected_events, load_case
from conformance.cli import main
from conformance.errors import UsageError
from conformance.fold import fold
from conformance.framing import new_decoder
from conformance.framing.messages import EventStreamMessage, JSONArrayElement, Message, NDJSONLine, SSEEvent
from conformance.registry import get_codec
from conformance.server import LoopbackServer, plan_for_case
from conformance.server.drift import MUTATIONS, apply_drift, parse_mutations

ANTHROPIC_TOOL = "anthropic/messages/synthetic-text-then-tool-call"


def _case_bytes(case_id: str) -> tuple[Any, bytes]:
    case = load_case(CASSETTES_ROOT / case_id)
    return case, case_body(case)


def _messages(framing: str, body: bytes) -> list[Message]:
    options: dict[str, Any] = {"eof": "dispatch", "keep_comments": True} if framing == "sse" else {}
    decoder = new_decoder(framing, **options)
    return [*decoder.feed(body), *decoder.close()]


def _events(framing: str, body: bytes) -> list[tuple[str, Any]]:
    """(event type, payload) per message: the SSE event name or eventstream type, else the
    payload's own."""
    out: list[tuple[str, Any]] = []
    for m in _messages(framing, body):
        if isinstance(m, SSEEvent):
            payload = None if m.data == "[DONE]" else json.loads(m.data)
            out.append((m.event or ("[DONE]" if payload is None else "chunk"), payload))
        elif isinstance(m, EventStreamMessage):
            out.append((str(m.header(":event-type")), json.loads(m.payload)))
        elif isinstance(m, NDJSONLine | JSONArrayElement):
            out.append(("chunk", json.loads(m.text)))
    return out


def _folded(case: Any, body: bytes) -> list[Any]:
    decoder = get_codec(case.api).new_decoder(case.flavour, framing=case.framing)
    return fold([*decoder.feed(body), *decoder.close()])


# -- names -------------------------------------------------------------------------------


def test_mutation_names_parse_in_canonical_order_without_duplicates() -> None:
    assert parse_mutations("move-usage, rename-field,move-usage") == ("rename-field", "move-usage")
    assert parse_mutations(["DROP-TERMINATOR"]) == ("drop-terminator",)
    assert parse_mutations("") == ()
    assert parse_mutations("none") == ()
    assert set(parse_mutations(",".join(MUTATIONS))) == set(MUTATIONS)


def test_an_unknown_mutation_is_a_usage_error_listing_the_valid_ones() -> None:
    with pytest.raises(UsageError, match="unknown drift mutation rename-everything") as info:
        parse_mutations("rename-field,rename-everything")
    assert "reorder-events" in info.value.message


def test_no_mutation_returns_the_body_byte_for_byte() -> None:
    case, body = _case_bytes(ANTHROPIC_TOOL)
    drifted = apply_drift(case.api, case.framing, body, [])
    assert drifted.body is body
    assert drifted.applied == drifted.skipped == ()


# -- each mutation on an Anthropic stream --------------------------------------------------


def test_rename_field_renames_message_delta_output_tokens_and_keeps_other_bytes() -> None:
    case, body = _case_bytes(ANTHROPIC_TOOL)
    drifted = apply_drift(case.api, case.framing, body, ["rename-field"])
    assert drifted.applied == ("rename-field",)
    before, after = _events("sse", body), _events("sse", drifted.body)
    assert [t for t, _ in after] == [t for t, _ in before]
    delta = next(p for t, p in after if t == "message_delta")
    assert delta["usage"] == {"input_tokens": 64, "output_token_count": 31}
    assert [p for t, p in after if t != "message_delta"] == [p for t, p in before if t != "message_delta"]
    # the untouched events keep their exact bytes, trailing padding included
    start = body.index(b"event: message_start")
    first_event = body[start : body.index(b"\n\n", start) + 2]
    assert first_event in drifted.body


def test_add_event_type_sends_a_new_event_type_before_the_terminator() -> None:
    case, body = _case_bytes(ANTHROPIC_TOOL)
    drifted = apply_drift(case.api, case.framing, body, ["add-event-type"])
    after = _events("sse", drifted.body)
    assert [t for t, _ in after][-2:] == ["drift_probe", "message_stop"]
    assert after[-2][1] == {"type": "drift_probe"}
    assert [e for e in after if e[0] != "drift_probe"] == _events("sse", body)
    assert _folded(case, drifted.body) == fold(expected_events(case))  # the decoder ignores it


def test_reorder_events_moves_message_delta_before_the_last_block_stop() -> None:
    case, body = _case_bytes(ANTHROPIC_TOOL)
    drifted = apply_drift(case.api, case.framing, body, ["reorder-events"])
    types = [t for t, _ in _events("sse", drifted.body)]
    assert types[-3:] == ["message_delta", "content_block_stop", "message_stop"]
    assert sorted(map(json.dumps, (p for _, p in _events("sse", drifted.body)))) == sorted(
        map(json.dumps, (p for _, p in _events("sse", body)))
    )


def test_resplit_tool_args_cuts_the_arguments_elsewhere_and_keeps_their_text() -> None:
    case, body = _case_bytes(ANTHROPIC_TOOL)
    drifted = apply_drift(case.api, case.framing, body, ["resplit-tool-args"])

    def fragments(data: bytes) -> list[str]:
        return [
            p["delta"]["partial_json"]
            for t, p in _events("sse", data)
            if t == "content_block_delta" and p["delta"]["type"] == "input_json_delta"
        ]

    assert fragments(body) == ["", '{"city":', '"Paris"', "}"]
    assert fragments(drifted.body) == ['{"c', "ity", '":"', "Par", 'is"', "}"]
    assert _folded(case, drifted.body) == fold(expected_events(case))


def test_move_usage_takes_usage_from_message_delta_to_message_stop() -> None:
    case, body = _case_bytes(ANTHROPIC_TOOL)
    drifted = apply_drift(case.api, case.framing, body, ["move-usage"])
    after = dict(_events("sse", drifted.body)[-2:])
    assert "usage" not in after["message_delta"]
    assert after["message_stop"] == {
        "type": "message_stop",
        "usage": {"input_tokens": 64, "output_tokens": 31},
    }


def test_drop_terminator_leaves_out_message_stop() -> None:
    case, body = _case_bytes(ANTHROPIC_TOOL)
    drifted = apply_drift(case.api, case.framing, body, ["drop-terminator"])
    types = [t for t, _ in _events("sse", drifted.body)]
    assert "message_stop" not in types
    assert types[-1] == "message_delta"
    assert _folded(case, drifted.body) != fold(expected_events(case))


def test_a_mutation_with_nothing_to_act_on_is_skipped_and_changes_nothing() -> None:
    case, body = _case_bytes("anthropic/messages/synthetic-text")  # no tool call
    drifted = apply_drift(case.api, case.framing, body, ["resplit-tool-args"])
    assert (drifted.body, drifted.applied, drifted.skipped) == (body, (), ("resplit-tool-args",))


def test_several_mutations_apply_in_order() -> None:
    case, body = _case_bytes(ANTHROPIC_TOOL)
    drifted = apply_drift(case.api, case.framing, body, ["drop-terminator", "add-event-type"])
    assert drifted.applied == ("add-event-type", "drop-terminator")
    assert [t for t, _ in _events("sse", drifted.body)][-2:] == ["message_delta", "drift_probe"]


# -- per API: which mutations apply (reviewed table), and the result still frames --------

#: For each API's text-then-tool-call stream (or its only tool stream), the mutations that
#: have something to act on.  Gemini and Ollama send whole calls, untyped payloads and
#: no usage-only event: only the rename and the terminator apply.
APPLIES = {
    "anthropic/messages/synthetic-text-then-tool-call": set(MUTATIONS),
    "openai/chat-completions/synthetic-text-then-tool-call": set(MUTATIONS) - {"add-event-type"},
    "openai/responses/synthetic-text-then-tool-call": set(MUTATIONS),
    "bedrock/converse-stream/synthetic-text-then-tool-call": set(MUTATIONS),
    "cohere/chat/synthetic-text-then-tool-call": set(MUTATIONS),
    "gemini/generate-content/synthetic-text-then-tool-call": {"rename-field", "drop-terminator"},
    "gemini/generate-content/synthetic-json-array-tool-call-json-array": {"rename-field", "drop-terminator"},
    "ollama/chat/synthetic-text-then-tool-call": {"rename-field", "drop-terminator"},
    "cohere/chat-v1/ndjson-stream-json": {"rename-field", "add-event-type", "drop-terminator"},
}


@pytest.mark.parametrize("case_id", sorted(APPLIES))
def test_each_api_gets_the_mutations_its_payloads_allow_in_its_own_framing(case_id: str) -> None:
    case, body = _case_bytes(case_id)
    for name in MUTATIONS:
        drifted = apply_drift(case.api, case.framing, body, [name])
        assert (name in drifted.applied) == (name in APPLIES[case_id]), name
        assert (drifted.body != body) == (name in APPLIES[case_id]), name
        _messages(case.framing, drifted.body)  # still framed: CRCs, brackets, lines (raises if not)


def test_openai_chat_usage_chunk_moves_before_finish_and_onto_it() -> None:
    case, body = _case_bytes("openai/chat-completions/synthetic-text-then-tool-call")
    reordered = [p for _, p in _events("sse", apply_drift(case.api, "sse", body, ["reorder-events"]).body)]
    assert reordered[-3]["choices"] == []
    assert "usage" in reordered[-3]
    assert reordered[-2]["choices"][0]["finish_reason"] == "tool_calls"
    moved = _events("sse", apply_drift(case.api, "sse", body, ["move-usage"]).body)
    assert moved[-1] == ("[DONE]", None)
    finish = moved[-2][1]
    assert finish["choices"][0]["finish_reason"] == "tool_calls"
    assert finish["usage"] == {"prompt_tokens": 64, "completion_tokens": 31, "total_tokens": 95}
    assert not any(p is not None and p.get("choices") == [] for _, p in moved)
    dropped = _events("sse", apply_drift(case.api, "sse", body, ["drop-terminator"]).body)
    assert ("[DONE]", None) not in dropped


def test_bedrock_frames_are_rebuilt_with_valid_checksums() -> None:
    case, body = _case_bytes("bedrock/converse-stream/synthetic-text-then-tool-call")
    drifted = apply_drift(case.api, case.framing, body, ["reorder-events", "add-event-type"])
    types = [t for t, _ in _events("eventstream", drifted.body)]  # the decoder checks both CRC32s
    assert types[-3:] == ["driftProbe", "metadata", "messageStop"]


def test_a_crlf_stream_stays_crlf() -> None:
    case, body = _case_bytes("gemini/generate-content/text-crlf")
    drifted = apply_drift(case.api, case.framing, body, ["rename-field"])
    assert drifted.applied == ("rename-field",)
    assert drifted.body.count(b"\n") == drifted.body.count(b"\r\n")
    assert b"outputTokenCount" in drifted.body
    assert b"candidatesTokenCount" not in drifted.body


# -- the server --------------------------------------------------------------------------


def _post(server: LoopbackServer, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    with httpx.Client(timeout=30.0) as client:
        return client.post(f"{server.url}{path}", headers=headers or {}, content=b"{}")


def test_the_server_serves_drifted_cases_and_says_which_mutations_applied() -> None:
    case, body = _case_bytes(ANTHROPIC_TOOL)
    with LoopbackServer(drift=["move-usage", "resplit-tool-args"]) as server:
        drifted = _post(server, "/v1/messages", {"x-conformance-case": ANTHROPIC_TOOL})
        plain = _post(
            server, "/v1/messages", {"x-conformance-case": ANTHROPIC_TOOL, "x-conformance-drift": "none"}
        )
        by_query = _post(
            server, f"/v1/messages?conformance-case={ANTHROPIC_TOOL}&conformance-drift=drop-terminator"
        )
        bad = _post(
            server, "/v1/messages", {"x-conformance-case": ANTHROPIC_TOOL, "x-conformance-drift": "bogus"}
        )
    want = apply_drift(case.api, case.framing, body, ["move-usage", "resplit-tool-args"])
    assert drifted.status_code == 200
    assert drifted.content == want.body
    assert drifted.headers["x-conformance-drift"] == "resplit-tool-args,move-usage"
    assert plain.content == body
    assert "x-conformance-drift" not in plain.headers
    assert by_query.content == apply_drift(case.api, case.framing, body, ["drop-terminator"]).body
    assert bad.status_code == 400
    assert bad.json()["type"] == "error"  # Anthropic's own error shape
    assert "unknown drift mutation bogus" in bad.json()["error"]["message"]


def test_a_server_with_an_unknown_mutation_is_refused_at_once() -> None:
    with pytest.raises(UsageError, match="unknown drift mutation"):
        LoopbackServer(drift="rename-field,bogus")


def test_plan_for_case_drifts_and_refuses_recorded_boundaries_for_a_changed_body() -> None:
    case, body = _case_bytes(ANTHROPIC_TOOL)
    plan = plan_for_case(case, chunking="frames", drift=["drop-terminator"])
    assert plan.body == apply_drift(case.api, case.framing, body, ["drop-terminator"]).body
    assert ("x-conformance-drift", "drop-terminator") in plan.headers
    unchanged = plan_for_case(
        "anthropic/messages/synthetic-text", chunking="recorded", drift=["resplit-tool-args"]
    )
    assert ("x-conformance-drift", "none") in unchanged.headers
    with pytest.raises(UsageError, match="no recorded boundaries"):
        plan_for_case(case, chunking="recorded", drift=["drop-terminator"])


def test_serve_rejects_an_unknown_drift_mutation(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["serve", "--port", "0", "--drift", "bogus"])
    assert info.value.code == 2
    assert "unknown drift mutation bogus" in capsys.readouterr().err


def test_cohere_v1_parameters_are_cut_anew_and_the_name_line_kept() -> None:
    lines = [
        {"is_finished": False, "event_type": "stream-start", "generation_id": "g-1"},
        {
            "is_finished": False,
            "event_type": "tool-calls-chunk",
            "tool_call_delta": {"index": 0, "name": "get_weather"},
        },
        {
            "is_finished": False,
            "event_type": "tool-calls-chunk",
            "tool_call_delta": {"index": 0, "parameters": '{"city":'},
        },
        {
            "is_finished": False,
            "event_type": "tool-calls-chunk",
            "tool_call_delta": {"index": 0, "parameters": '"Paris"}'},
        },
        {"is_finished": True, "event_type": "stream-end", "finish_reason": "COMPLETE"},
    ]
    body = "".join(json.dumps(line) + "\n" for line in lines).encode()
    drifted = apply_drift("cohere/chat-v1", "ndjson", body, ["resplit-tool-args"])
    deltas = [p["tool_call_delta"] for _, p in _events("ndjson", drifted.body) if "tool_call_delta" in p]
    assert deltas[0] == {"index": 0, "name": "get_weather"}
    assert [d["parameters"] for d in deltas[1:]] == ['{"c', "ity", '":"', "Par", 'is"', "}"]
    assert drifted.body.startswith(body[: body.index(b"\n") + 1])  # untouched lines keep their bytes
