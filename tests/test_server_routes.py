"""The loopback server's pure parts: routes, vendor error bodies, plans, records."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest

from conformance.chunking import parse_chunking
from conformance.errors import StreamError, UsageError
from conformance.events import RETRYABLE_BY_CATEGORY, ErrorCategory, ErrorPhase, dumps
from conformance.framing import decode, new_decoder
from conformance.schemas import validate_json
from conformance.server.errors import (
    ERROR_APIS,
    ERROR_STATUSES,
    EXPECTATIONS,
    RETRY_AFTER_SECONDS,
    vendor_error,
)
from conformance.server.plan import (
    FRAMES_CHUNKING,
    Plan,
    content_type_for,
    error_plan,
    frame_ends,
    plan_for_bytes,
)
from conformance.server.records import ConnectionRecord
from conformance.server.routes import (
    ROUTES,
    case_id_for_model,
    guess_api,
    match_route,
    model_from_body,
    parse_target,
    route_for_api,
)
from conformance.vendors._builder import category_for_status

# -- routes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "api", "framing", "model"),
    [
        ("/v1/chat/completions", "openai/chat-completions", "sse", None),
        ("/v1/responses", "openai/responses", "sse", None),
        ("/v1/messages?beta=true", "anthropic/messages", "sse", None),
        (
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            "gemini/generate-content",
            "sse",
            "gemini-2.5-flash",
        ),
        (
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
            "gemini/generate-content",
            "json-array",
            "gemini-2.5-flash",
        ),
        (
            "/v1/models/gemini-pro:streamGenerateContent?key=k&alt=sse",
            "gemini/generate-content",
            "sse",
            "gemini-pro",
        ),
        (
            "/v1beta1/projects/p/locations/global/publishers/google/models/gemini-3-flash-preview:streamGenerateContent?alt=sse",
            "gemini/generate-content",
            "sse",
            "gemini-3-flash-preview",
        ),
        (
            "/model/us.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse-stream",
            "bedrock/converse-stream",
            "eventstream",
            "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        ),
        ("/v2/chat", "cohere/chat", "sse", None),
        ("/v1/chat", "cohere/chat-v1", "ndjson", None),
        ("/api/chat", "ollama/chat", "ndjson", None),
        ("/api/generate", "ollama/chat", "ndjson", None),
    ],
)
def test_each_vendor_route_names_its_api_framing_and_model(
    target: str, api: str, framing: str, model: str | None
) -> None:
    route = match_route("POST", target)
    assert route is not None
    assert (route.api, route.framing, route.model, route.token) == (api, framing, model, None)
    tokened = match_route("POST", "/_t/abc_1-2" + target)
    assert tokened is not None
    assert (tokened.api, tokened.framing, tokened.model, tokened.token) == (api, framing, model, "abc_1-2")
    assert tokened.path == target.partition("?")[0]


def test_routes_cover_every_builtin_api_and_their_examples_match() -> None:
    from conformance.vendors import BUILTIN_CODECS

    assert {spec.api for spec in ROUTES} == set(BUILTIN_CODECS)
    for spec in ROUTES:
        route = match_route(spec.method, spec.example)
        assert route is not None, spec.example
        assert route.api == spec.api
    gemini = route_for_api("gemini/generate-content", "json-array")
    assert gemini is not None
    assert "alt=sse" not in gemini.example
    json_route = match_route("POST", gemini.example)
    assert json_route is not None
    assert json_route.framing == "json-array"
    assert route_for_api("no/such-api") is None


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("GET", "/v1/messages"),
        ("POST", "/v1/messages/count_tokens"),
        ("POST", "/v1/chat/completion"),
        ("POST", "/"),
        ("POST", "/_t/"),
        ("POST", "/_t/tok"),
        ("POST", "/v1beta/models/a/b:streamGenerateContent"),
    ],
)
def test_other_requests_match_no_route(method: str, target: str) -> None:
    assert match_route(method, target) is None


def test_targets_split_into_token_path_and_decoded_query() -> None:
    parsed = parse_target("/_t/T0k/v1/messages?conformance-case=a%2Fb&x=1+2&x=3&flag#frag")
    assert parsed.token == "T0k"
    assert parsed.path == "/v1/messages"
    assert parsed.query == {"conformance-case": "a/b", "x": "3", "flag": ""}
    assert parse_target("/_t/bad token/v1").token is None  # not a token: stays in the path
    assert parse_target("/v1/x?q=%zz%41").query == {"q": "%zzA"}


@pytest.mark.parametrize(
    ("path", "api"),
    [
        ("/v1/messages/batches", "anthropic/messages"),
        ("/v1/responses/resp_1", "openai/responses"),
        ("/v1beta/models", "gemini/generate-content"),
        ("/model/x/invoke", "bedrock/converse-stream"),
        ("/v2/embed", "cohere/chat"),
        ("/api/tags", "ollama/chat"),
        ("/nothing", "openai/chat-completions"),
    ],
)
def test_unknown_paths_get_the_error_shape_of_the_vendor_they_resemble(path: str, api: str) -> None:
    assert guess_api(path) == api


def test_model_names_select_cases_by_id_or_by_name_within_the_route() -> None:
    assert model_from_body({"model": "m"}) == "m"
    assert model_from_body({"model": ""}) is None
    assert model_from_body([1]) is None
    assert case_id_for_model("anthropic/messages", "anthropic/messages/x") == "anthropic/messages/x"
    assert case_id_for_model("anthropic/messages", "minimal-text") == "anthropic/messages/minimal-text"
    assert case_id_for_model("ollama/chat", "llama3.2:1b") is None
    assert case_id_for_model("ollama/chat", "../../etc") is None
    assert case_id_for_model("ollama/chat", None) is None


# -- vendor error bodies ---------------------------------------------------------------


def _body(api: str, status: int) -> Any:
    return json.loads(vendor_error(api, status).body)


@pytest.mark.parametrize("api", ERROR_APIS)
@pytest.mark.parametrize("status", ERROR_STATUSES)
def test_every_vendor_error_has_the_vendors_shape_and_the_status_expectation(api: str, status: int) -> None:
    error = vendor_error(api, status)
    body = json.loads(error.body)
    headers = dict(error.headers)
    assert headers["content-type"].startswith("application/json")
    family = api.split("/", maxsplit=1)[0]
    if family == "openai":
        assert set(body) == {"error"}
        assert set(body["error"]) == {"message", "type", "param", "code"}
        assert error.message == body["error"]["message"]
        code = body["error"]["code"]
        assert error.code == (code if isinstance(code, str) else body["error"]["type"])
    elif family == "anthropic":
        assert body["type"] == "error"
        assert set(body["error"]) == {"type", "message"}
        assert error.code == body["error"]["type"]
        assert headers["request-id"] == body["request_id"]
    elif family == "gemini":
        assert body == {"error": {"code": status, "message": error.message, "status": error.code}}
        assert error.body.startswith(b'{\n  "error": {\n    "code": ')
    elif family == "bedrock":
        assert body == {"message": error.message}
        assert headers["x-amzn-errortype"].split(":")[0] == error.code
        assert error.code is not None
        assert error.code.endswith("Exception")
    elif family == "cohere":
        assert body == {"message": error.message}
        assert error.code is None
    else:
        assert body == {"error": error.message}
        assert error.code is None
    assert (error.category, error.retryable) == EXPECTATIONS[status]
    assert ("retry-after" in headers) == (status == 429)
    if status == 429:
        assert headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    event = error.expected_event()
    assert event.phase is ErrorPhase.BEFORE_OUTPUT
    assert (event.status, event.code, event.message) == (status, error.code, error.message)
    assert validate_json("canonical-event.schema.json", json.loads(dumps(event))) == []


def test_the_status_expectations_agree_with_the_spec_and_the_reference_decoders() -> None:
    assert tuple(EXPECTATIONS) == ERROR_STATUSES
    for status, (category, retryable) in EXPECTATIONS.items():
        assert category_for_status(status) is category, status
        assert RETRYABLE_BY_CATEGORY[category] is retryable, status


@pytest.mark.parametrize("status", ERROR_STATUSES)
def test_the_vendor_error_types_mean_what_the_status_means(status: int) -> None:
    """An adapter that trusts the vendor's error type and one that trusts the status agree
    (the reference decoders' own tables for in-stream errors read the types)."""
    from conformance.vendors.anthropic_messages.decoder import ERROR_CATEGORIES
    from conformance.vendors.bedrock_converse.decoder import category_for_exception
    from conformance.vendors.gemini.mapping import error_category
    from conformance.vendors.openai_chat.mapping import error_fields

    agreeing = {EXPECTATIONS[status][0], ErrorCategory.UNKNOWN}  # unknown: the status decides
    for api in ("openai/chat-completions", "openai/responses"):
        assert error_fields(_body(api, status)["error"], 0)[0] in agreeing
    assert ERROR_CATEGORIES[_body("anthropic/messages", status)["error"]["type"]] is EXPECTATIONS[status][0]
    gemini = _body("gemini/generate-content", status)["error"]
    assert error_category(gemini["status"], gemini["code"]) is EXPECTATIONS[status][0]
    exception = vendor_error("bedrock/converse-stream", status).code
    assert exception is not None
    assert category_for_exception(exception) in agreeing  # 401: an AWS-wide type the table lacks


def test_a_server_message_replaces_the_vendors_and_drops_a_specific_openai_code() -> None:
    error = vendor_error("openai/chat-completions", 404, message="Invalid URL (POST /v1/x)")
    assert json.loads(error.body)["error"] == {
        "message": "Invalid URL (POST /v1/x)",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    assert error.code == "invalid_request_error"
    bedrock = vendor_error("bedrock/converse-stream", 400, message="nope")
    assert json.loads(bedrock.body) == {"message": "nope"}
    assert bedrock.code == "ValidationException"


def test_unknown_apis_and_statuses_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="no vendor error shapes"):
        vendor_error("acme/chat", 400)
    with pytest.raises(UsageError, match="valid: 400, 401"):
        vendor_error("anthropic/messages", 418)


# -- plans -----------------------------------------------------------------------------

SSE = b'data: {"a":1}\n\n: keep-alive\n\ndata: {"b":2}\r\n\r\nevent: x\ndata: {"c":3}'
NDJSON = b'{"a":1}\n\n{"b":2}\n{"c":3}'
ARRAY = b'[{"a": 1}\n,\r\n{"b": [2, "]"]}\n,\r\n{"c": 3}\n]'


def _brute_frame_ends(framing: str, body: bytes) -> tuple[int, ...]:
    decoder = new_decoder(framing, **({"eof": "dispatch"} if framing == "sse" else {}))
    ends: list[int] = []
    with contextlib.suppress(StreamError):
        for i in range(len(body)):
            ends += [i + 1] * len(decoder.feed(body[i : i + 1]))
        ends += [len(body)] * len(decoder.close())
    return tuple(ends)


def _eventstream_body() -> bytes:
    from conformance.framing.eventstream import encode_event

    return encode_event("messageStart", b'{"role":"assistant"}') + encode_event("messageStop", b"{}")


@pytest.mark.parametrize(("framing", "body"), [("sse", SSE), ("ndjson", NDJSON), ("json-array", ARRAY)])
def test_frame_ends_are_where_the_decoder_completes_each_frame(framing: str, body: bytes) -> None:
    ends = frame_ends(framing, body)
    assert ends == _brute_frame_ends(framing, body)
    assert len(ends) == 3
    assert len(decode(new_decoder(framing), [body])) >= 2


def test_eventstream_frame_ends_are_the_frame_lengths() -> None:
    body = _eventstream_body()
    ends = frame_ends("eventstream", body)
    assert ends == _brute_frame_ends("eventstream", body)
    assert len(ends) == 2
    assert ends[-1] == len(body)
    assert frame_ends("eventstream", body + b"\x00\x00\x00\x05junk") == ends  # the frames before the junk


def test_a_malformed_body_counts_the_frames_before_the_bad_spot() -> None:
    broken = b'[{"a": 1}, {"b": 2}}, {"c": 3}]'
    assert frame_ends("json-array", broken) == _brute_frame_ends("json-array", broken) == (9, 19)
    assert frame_ends("json-array", b'[{"a": 1}, {"b"') == (9,)  # the cut-off element is no frame


def test_plans_cut_the_body_by_the_chunking_and_know_their_frames() -> None:
    plan = plan_for_bytes(
        "openai/chat-completions", "sse", SSE, chunking="random:7", delay_ms=5, first_delay_ms=2
    )
    assert plan.body == SSE
    assert list(plan.chunks) == next(parse_chunking("random:7").chunkings(SSE))
    assert plan_for_bytes("openai/chat-completions", "sse", SSE, chunking="random:7") == plan.replace(
        delay_s=0.0, first_delay_s=0.0
    )
    assert (plan.delay_s, plan.first_delay_s, plan.chunking) == (0.005, 0.002, "random:7")
    assert plan.headers == (("content-type", "text/event-stream"),)
    assert plan.frame_ends == frame_ends("sse", SSE)
    assert [plan.frames_within(n) for n in (0, plan.frame_ends[0] - 1, plan.frame_ends[0], len(SSE))] == [
        0,
        0,
        1,
        3,
    ]
    bytewise = plan_for_bytes(None, "ndjson", NDJSON, chunking="bytewise")
    assert len(bytewise.chunks) == len(NDJSON)
    recorded = plan_for_bytes(None, "ndjson", NDJSON, chunking="recorded", recorded=[3, 10])
    assert recorded.chunks == (NDJSON[:3], NDJSON[3:10], NDJSON[10:])


def test_the_frames_chunking_writes_one_vendor_frame_per_chunk() -> None:
    plan = plan_for_bytes("gemini/generate-content", "json-array", ARRAY, chunking=FRAMES_CHUNKING)
    ends = [sum(len(c) for c in plan.chunks[: i + 1]) for i in range(len(plan.chunks))]
    assert ends == [*plan.frame_ends, len(ARRAY)]  # the closing "]" goes last, alone
    assert plan.chunking == "frames"
    assert plan.headers == (("content-type", "application/json; charset=UTF-8"),)


def test_content_types_follow_the_vendor_and_framing() -> None:
    assert content_type_for("cohere/chat-v1", "ndjson") == "application/stream+json"
    assert content_type_for("ollama/chat", "ndjson") == "application/x-ndjson"
    assert content_type_for("bedrock/converse-stream", "eventstream") == "application/vnd.amazon.eventstream"
    assert content_type_for(None, "json-array") == "application/json"
    with pytest.raises(UsageError, match="unknown framing"):
        content_type_for(None, "xml")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"chunking": "every-split"}, "many chunkings"),
        ({"chunking": "bogus"}, "unknown chunking"),
        ({"delay_ms": -1}, "milliseconds >= 0"),
        ({"first_delay_ms": float("nan")}, "milliseconds >= 0"),
        ({"reset_after": len(SSE) + 1}, "outside the"),
        ({"stall_after": -1}, "outside the"),
        ({"reset_after": 1, "stall_after": 2}, "not both"),
        ({"headers": [("x-bad", "a\r\nb")]}, "bad header"),
    ],
)
def test_bad_plan_parameters_are_usage_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        plan_for_bytes("openai/chat-completions", "sse", SSE, **kwargs)


def test_plans_check_their_own_fields() -> None:
    with pytest.raises(UsageError, match="status"):
        Plan(status=99)
    with pytest.raises(UsageError, match="non-empty bytes"):
        Plan(chunks=(b"a", b""))
    with pytest.raises(UsageError, match="frame_ends"):
        Plan(chunks=(b"abc",), frame_ends=(2, 1))
    with pytest.raises(UsageError, match="frame_ends"):
        Plan(chunks=(b"abc",), frame_ends=(4,))


def test_error_plans_send_the_vendor_body_whole_with_a_content_length() -> None:
    plan = error_plan("anthropic/messages", 529)
    error = vendor_error("anthropic/messages", 529)
    assert (plan.status, plan.headers, plan.body, plan.chunked, plan.api) == (
        529,
        error.headers,
        error.body,
        False,
        "anthropic/messages",
    )
    assert plan.frame_ends == ()


def test_plan_for_case_serves_the_case_bytes_with_its_recorded_content_type() -> None:
    from conformance.cassettes import case_body
    from conformance.server.cases import default_case_id, find_case, plan_for_case

    case = find_case("gemini/generate-content/json-array-stream-function-call-id")
    plan = plan_for_case(case.id, chunking="recorded", delay_ms=1)
    assert plan.body == case_body(case)
    assert dict(plan.headers)["content-type"] == case.stream.content_type
    assert (plan.api, plan.framing, plan.case_id) == (case.api, "json-array", case.id)
    assert plan_for_case(case, chunking="recorded", delay_ms=1) is plan  # cached
    assert default_case_id("anthropic/messages") == "anthropic/messages/synthetic-text"
    assert default_case_id("no/such-api") is None
    with pytest.raises(UsageError, match="no case"):
        find_case("anthropic/messages/no-such-case")
    with pytest.raises(UsageError, match="not a case id"):
        find_case("../../etc/passwd")


# -- records ---------------------------------------------------------------------------


def test_records_count_bytes_and_frames_written_before_and_after_a_moment() -> None:
    record = ConnectionRecord(id=1, connection=1, opened_at=0.0, frame_ends=(5, 10, 15))
    record.writes += [(1.0, 4), (2.0, 4), (3.0, 4), (4.0, 3)]
    assert (record.bytes_written, record.frames_written, record.planned_frames) == (15, 3, 3)
    assert record.bytes_written_by(2.0) == 8
    assert record.bytes_written_after(2.0) == 7
    assert record.frames_written_after(2.0) == 2  # frames 2 and 3 completed after t=2
    assert record.frames_written_after(0.5) == 3
    assert record.frames_written_after(9.0) == 0
    assert not record.closed_mid_body
    record.response_at, record.client_closed_at = 0.5, 2.5
    assert record.closed_mid_body
    copy = record.snapshot()
    record.writes.append((5.0, 1))
    assert copy.bytes_written == 15
    record.headers = (("x-a", "1"), ("x-a", "2"))
    assert record.header("X-A") == "2"
    assert record.header("x-b") is None
