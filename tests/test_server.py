"""The loopback server over real sockets on 127.0.0.1, driven by httpx and raw sockets.

Delays in plans only make the client see separate reads; bounds such as "within 5 s"
are generous timeouts, never speed claims.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from conformance.cassettes import case_body
from conformance.server import (
    ERROR_STATUSES,
    LoopbackServer,
    Plan,
    error_plan,
    find_case,
    frame_ends,
    plan_for_bytes,
    plan_for_case,
    vendor_error,
)
from conformance.server.errors import ERROR_APIS

EVENTS = (b'data: {"n":1}\n\n', b'data: {"n":2}\n\n', b'data: {"n":3}\n\n', b"data: [DONE]\n\n")
BODY = b"".join(EVENTS)
TIMEOUT = 5.0  # generous: a bound for a loaded CI machine, not a speed claim


def _plan(**changes: object) -> Plan:
    plan = Plan(
        headers=(("content-type", "text/event-stream"),),
        chunks=EVENTS,
        frame_ends=frame_ends("sse", BODY),
        api="openai/chat-completions",
        framing="sse",
    )
    return plan.replace(**changes) if changes else plan


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=TIMEOUT) as http:
        yield http


def _chat(server: LoopbackServer, token: str) -> str:
    return server.base_url(token) + "/v1/chat/completions"


def test_each_planned_chunk_arrives_as_its_own_read(server: LoopbackServer, client: httpx.Client) -> None:
    token = server.expect(_plan(delay_s=0.05))
    with client.stream("POST", _chat(server, token), json={"model": "m", "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        assert response.headers["transfer-encoding"] == "chunked"
        reads = list(response.iter_raw())
    assert reads == list(EVENTS)
    (record,) = server.connections(token)
    assert [n for _, n in record.writes] == [len(e) for e in EVENTS]
    assert (record.bytes_written, record.frames_written, record.planned_frames) == (len(BODY), 4, 4)
    assert record.finished_at is not None
    assert record.client_closed_at is None or record.client_closed_at >= record.finished_at
    gaps = [b[0] - a[0] for a, b in zip(record.writes, record.writes[1:], strict=False)]
    assert all(gap >= 0.045 for gap in gaps), gaps  # the server paused between writes
    assert (record.method, record.path, record.api, record.status) == (
        "POST",
        "/v1/chat/completions",
        "openai/chat-completions",
        200,
    )
    assert json.loads(record.body) == {"model": "m", "stream": True}
    assert record.header("content-type") == "application/json"


def test_each_chunk_is_one_http_chunk_on_the_wire(server: LoopbackServer) -> None:
    token = server.expect(_plan())
    request = (
        f"POST /_t/{token}/v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
        "Connection: close\r\n\r\n{}"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    expected = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in EVENTS) + b"0\r\n\r\n"
    assert body == expected


def test_the_first_delay_comes_before_the_first_chunk(server: LoopbackServer, client: httpx.Client) -> None:
    token = server.expect(_plan(first_delay_s=0.1))
    client.post(_chat(server, token), json={})
    (record,) = server.connections(token)
    assert record.response_at is not None
    assert record.writes[0][0] - record.response_at >= 0.095


def test_a_reset_gives_the_client_an_error_after_the_planned_bytes(
    server: LoopbackServer, client: httpx.Client
) -> None:
    cut = len(EVENTS[0]) + 5
    token = server.expect(_plan(delay_s=0.02, reset_after=cut))
    received = bytearray()

    def read_all() -> None:
        with client.stream("POST", _chat(server, token), json={}) as response:
            for chunk in response.iter_raw():
                received.extend(chunk)

    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        read_all()
    assert BODY.startswith(received)
    assert len(received) <= cut
    (record,) = server.connections(token)
    assert record.reset_at is not None
    assert (record.bytes_written, record.frames_written, record.finished_at) == (cut, 1, None)
    assert record.client_closed_at is None  # the server closed it, not the client


def test_a_stall_keeps_the_connection_open_until_the_client_gives_up(server: LoopbackServer) -> None:
    token = server.expect(_plan(stall_after=len(EVENTS[0])))
    received: list[bytes] = []
    with (
        httpx.Client(timeout=httpx.Timeout(TIMEOUT, read=0.2)) as impatient,
        pytest.raises(httpx.ReadTimeout),
        impatient.stream("POST", _chat(server, token), json={}) as response,
    ):
        received.extend(response.iter_raw())
    assert received == [EVENTS[0]]
    record = server.wait_closed(token, TIMEOUT)
    assert record is not None
    assert record.stalled_at is not None
    assert record.client_closed_at is not None
    assert record.client_closed_at >= record.stalled_at
    assert (record.bytes_written, record.frames_written, record.finished_at) == (len(EVENTS[0]), 1, None)
    assert record.closed_mid_body


def test_a_client_that_closes_mid_stream_is_seen_at_once_and_nothing_more_is_written(
    server: LoopbackServer, client: httpx.Client
) -> None:
    token = server.expect(_plan(delay_s=0.2))
    with client.stream("POST", _chat(server, token), json={}) as response:
        reads = response.iter_raw()
        first = next(reads)
        closed_by_client = time.monotonic()  # the response closes right after this
    assert first == EVENTS[0]
    record = server.wait_closed(token, TIMEOUT)
    assert record is not None
    assert record.client_closed_at is not None
    assert record.client_closed_at >= closed_by_client
    assert record.closed_mid_body
    assert (record.bytes_written, record.frames_written) == (len(EVENTS[0]), 1)
    assert record.bytes_written_after(record.client_closed_at) == 0
    assert record.frames_written_after(closed_by_client) == 0
    time.sleep(0.3)  # past the next planned write: the server has stopped writing
    (later,) = server.connections(token)
    assert later.writes == record.writes


def test_wait_closed_times_out_while_the_client_keeps_the_connection(
    server: LoopbackServer, client: httpx.Client
) -> None:
    token = server.expect(_plan())
    assert client.post(_chat(server, token), json={}).content == BODY  # kept in httpx's pool
    assert server.wait_closed(token, 0.2) is None
    client.close()
    record = server.wait_closed(token, TIMEOUT)
    assert record is not None
    assert record.finished_at is not None
    assert record.client_closed_at is not None
    assert not record.closed_mid_body


def test_keep_alive_serves_several_requests_on_one_connection(
    server: LoopbackServer, client: httpx.Client
) -> None:
    token = server.expect(_plan())
    assert client.post(_chat(server, token), json={}).content == BODY
    assert client.post(_chat(server, token), json={}).content == BODY
    first, second = server.connections(token)
    assert first.connection == second.connection
    assert first.id != second.id


@pytest.mark.parametrize("api", ERROR_APIS)
def test_error_plans_answer_with_the_vendors_own_bodies(
    server: LoopbackServer, client: httpx.Client, api: str
) -> None:
    from conformance.server.routes import route_for_api

    spec = route_for_api(api)
    assert spec is not None
    for status in ERROR_STATUSES:
        token = server.expect(error_plan(api, status))
        response = client.post(server.base_url(token) + spec.example, json={})
        error = vendor_error(api, status)
        assert response.status_code == status
        assert response.content == error.body
        assert response.headers["content-length"] == str(len(error.body))
        for name, value in error.headers:
            assert response.headers[name] == value
        assert ("retry-after" in response.headers) == (status == 429)


def test_unknown_routes_get_a_404_in_the_vendor_shape(server: LoopbackServer, client: httpx.Client) -> None:
    response = client.post(server.url + "/v1/messages/batches", json={})
    assert response.status_code == 404
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "not_found_error"
    assert "Invalid URL (POST /v1/messages/batches)" in body["error"]["message"]
    bedrock = client.post(server.url + "/model/m/invoke", json={})
    assert bedrock.status_code == 404
    assert bedrock.headers["x-amzn-errortype"].startswith("ResourceNotFoundException:")
    assert client.get(server.url + "/v1/chat/completions").json()["error"]["message"] == (
        "Invalid URL (GET /v1/chat/completions)"
    )


def test_a_token_answers_only_on_its_plans_route_and_unknown_tokens_are_404(
    server: LoopbackServer, client: httpx.Client
) -> None:
    token = server.expect(_plan())
    wrong = client.post(server.base_url(token) + "/v1/messages", json={})
    assert wrong.status_code == 404
    assert wrong.json()["error"]["message"] == "Invalid URL (POST /v1/messages)"  # OpenAI's shape: the plan's
    unknown = client.post(server.url + "/_t/0123456789abcdef/v1/messages", json={})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "not_found_error"
    assert "unknown conformance token" in unknown.json()["error"]["message"]
    server.forget(token)
    assert server.connections(token) == []
    assert client.post(_chat(server, token), json={}).status_code == 404


def test_a_body_that_is_not_json_gets_the_vendors_400(server: LoopbackServer, client: httpx.Client) -> None:
    response = client.post(server.url + "/v1beta/models/m:streamGenerateContent?alt=sse", content=b"hello")
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert "not JSON" in response.json()["error"]["message"]
    token = server.expect(_plan())
    assert client.post(_chat(server, token), content=b"{").status_code == 400
    (record,) = server.connections(token)
    assert record.note is not None
    assert "not JSON" in record.note


# -- curl mode ---------------------------------------------------------------------------


def _curl_records(server: LoopbackServer, response: httpx.Response) -> str:
    exchange = int(response.headers["x-conformance-exchange"])
    (record,) = [r for r in server.connections() if r.id == exchange]
    assert record.case_id is not None
    return record.case_id


def test_curl_mode_picks_the_case_by_header_query_or_model(
    server: LoopbackServer, client: httpx.Client
) -> None:
    case = find_case("openai/chat-completions/parallel-tool-calls")
    body = case_body(case)
    url = server.url + "/v1/chat/completions"
    by_header = client.post(url, json={}, headers={"x-conformance-case": case.id})
    by_query = client.post(url, params={"conformance-case": case.id}, json={})
    by_model = client.post(url, json={"model": case.id})
    by_name = client.post(url, json={"model": "parallel-tool-calls"})
    for response in (by_header, by_query, by_model, by_name):
        assert response.status_code == 200
        assert response.content == body
        assert response.headers["x-conformance-case"] == case.id
        assert response.headers["content-type"] == case.stream.content_type
        assert _curl_records(server, response) == case.id
    bedrock = client.post(server.url + "/model/text-only/converse-stream", json={})
    assert (
        bedrock.headers["x-conformance-case"] == "bedrock/converse-stream/text-only"
    )  # the model in the path


def test_curl_mode_falls_back_to_the_default_case_of_the_route(client: httpx.Client) -> None:
    with LoopbackServer(default_case="anthropic/messages/minimal-text-padded") as server:
        anthropic = client.post(server.url + "/v1/messages", json={"model": "claude-sonnet-4-5"})
        assert anthropic.headers["x-conformance-case"] == "anthropic/messages/minimal-text-padded"
        ollama = client.post(server.url + "/api/chat", json={"model": "llama3.2"})
        assert ollama.headers["x-conformance-case"] == "ollama/chat/synthetic-text"
        assert ollama.headers["content-type"] == "application/x-ndjson"
        gemini = client.post(server.url + "/v1beta/models/gemini-2.5-flash:streamGenerateContent", json={})
        assert gemini.status_code == 200
        assert gemini.headers["content-type"].startswith("application/json")


def test_curl_mode_knobs_set_chunking_delay_reset_and_errors(
    server: LoopbackServer, client: httpx.Client
) -> None:
    case_id = "cohere/chat/synthetic-text"
    url = server.url + "/v2/chat"
    size = len(case_body(find_case(case_id)))
    bytewise = client.post(
        url, json={}, headers={"x-conformance-case": case_id, "x-conformance-chunking": "bytewise"}
    )
    assert bytewise.status_code == 200
    exchange = int(bytewise.headers["x-conformance-exchange"])
    (record,) = [r for r in server.connections() if r.id == exchange]
    assert len(record.writes) == size
    assert record.chunking == "bytewise"
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        client.post(url, json={}, params={"conformance-case": case_id, "conformance-reset-after": "10"})
    error = client.post(url, json={}, headers={"x-conformance-error": "503"})
    assert (error.status_code, error.content) == (503, vendor_error("cohere/chat", 503).body)
    for knob, value in [
        ("x-conformance-chunking", "every-split"),
        ("x-conformance-delay-ms", "soon"),
        ("x-conformance-error", "418"),
        ("x-conformance-stall-after", "99999999"),
    ]:
        bad = client.post(url, json={}, headers={"x-conformance-case": case_id, knob: value})
        assert bad.status_code == 400, knob
        assert set(bad.json()) == {"message"}


def test_curl_mode_refuses_unknown_and_mismatched_cases_in_the_vendor_shape(
    server: LoopbackServer, client: httpx.Client
) -> None:
    url = server.url + "/v1/messages"
    unknown = client.post(url, json={}, headers={"x-conformance-case": "anthropic/messages/no-such-case"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "not_found_error"
    other_api = client.post(url, json={}, headers={"x-conformance-case": "ollama/chat/synthetic-text"})
    assert other_api.status_code == 404
    assert "ollama/chat" in other_api.json()["error"]["message"]
    sse_case = "gemini/generate-content/text-crlf"
    as_array = client.post(
        server.url + "/v1beta/models/m:streamGenerateContent",
        json={},
        headers={"x-conformance-case": sse_case},
    )
    assert as_array.status_code == 404
    assert "alt=sse" in as_array.json()["error"]["message"]


def test_expect_100_continue_is_answered_before_the_body(server: LoopbackServer) -> None:
    token = server.expect(_plan())
    head = (
        f"POST /_t/{token}/v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
        "Expect: 100-continue\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(head)
        assert sock.recv(64).startswith(b"HTTP/1.1 100 ")
        sock.sendall(b"{}")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    assert b"HTTP/1.1 200 OK" in raw


# -- in an event loop of one's own -------------------------------------------------------


@pytest.mark.asyncio
async def test_serve_runs_in_the_callers_event_loop() -> None:
    server = LoopbackServer(default_case="anthropic/messages/synthetic-text")
    ready = asyncio.Event()
    task = asyncio.ensure_future(server.serve(ready=ready.set))
    try:
        await asyncio.wait_for(ready.wait(), TIMEOUT)
        plan = plan_for_case("anthropic/messages/synthetic-text", chunking="frames", delay_ms=50)
        token = server.expect(plan)
        async with (
            httpx.AsyncClient(timeout=TIMEOUT) as http,
            http.stream("POST", server.base_url(token) + "/v1/messages", json={}) as response,
        ):
            assert await response.aiter_raw().__anext__() == plan.chunks[0]
        record = await server.wait_closed_async(token, TIMEOUT)
        assert record is not None
        assert record.closed_mid_body
        assert record.frames_written == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_plan_for_bytes_serves_a_synthetic_encoder_body(server: LoopbackServer, client: httpx.Client) -> None:
    from conformance.events import (
        BlockDelta,
        BlockEnd,
        BlockStart,
        Event,
        Finish,
        FinishReason,
        ResponseStart,
    )
    from conformance.registry import get_codec

    codec = get_codec("ollama/chat")
    events: list[Event] = [
        ResponseStart(model="llama3.2"),
        BlockStart(block=0, kind="text"),
        BlockDelta(block=0, text="hi"),
        BlockEnd(block=0),
        Finish(reason=FinishReason.STOP, raw_reason="stop"),
    ]
    body = codec.encode(events)
    token = server.expect(plan_for_bytes("ollama/chat", "ndjson", body, chunking="frames"))
    with client.stream("POST", server.base_url(token) + "/api/chat", json={}) as response:
        assert response.headers["content-type"] == "application/x-ndjson"
        lines = [line for line in response.iter_lines() if line]
    assert [json.loads(line)["done"] for line in lines][-1] is True
    (record,) = server.connections(token)
    assert record.frames_written == record.planned_frames == len(lines)


def test_a_second_start_is_refused_and_a_busy_port_fails_at_start() -> None:
    from conformance.errors import UsageError

    with LoopbackServer() as server:
        with pytest.raises(UsageError, match="already running"):
            server.start()
        with pytest.raises(OSError, match="ddress already in use"):
            LoopbackServer(port=server.port).start()
    with pytest.raises(UsageError, match="not listening"):
        _ = LoopbackServer().url


def test_plans_registered_together_answer_in_turn_and_the_last_repeats(
    server: LoopbackServer, client: httpx.Client
) -> None:
    token = server.expect(error_plan("openai/chat-completions", 429), _plan())
    assert (
        client.post(server.base_url(token) + "/v1/messages", json={}).status_code == 404
    )  # consumes nothing
    assert client.post(_chat(server, token), json={}).status_code == 429
    assert client.post(_chat(server, token), json={}).content == BODY
    assert client.post(_chat(server, token), json={}).content == BODY
    assert [r.status for r in server.connections(token)] == [404, 429, 200, 200]


def test_a_default_plan_answers_curl_requests_that_select_no_case(client: httpx.Client) -> None:
    with LoopbackServer(default_plan=_plan()) as server:
        assert client.post(server.url + "/v1/chat/completions", json={"model": "gpt-4o"}).content == BODY
        chosen = client.post(
            server.url + "/v1/chat/completions",
            json={},
            headers={"x-conformance-case": "openai/chat-completions/logprobs"},
        )
        assert chosen.headers["x-conformance-case"] == "openai/chat-completions/logprobs"
        other_api = client.post(server.url + "/v1/messages", json={})
        assert other_api.headers["x-conformance-case"] == "anthropic/messages/synthetic-text"
