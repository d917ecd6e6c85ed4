"""The recording transport (conformance.capture) against the loopback server, real sockets.

For httpx and httpx2, sync and async: every chunk the server wrote arrives as one recorded
chunk, in order, with the same bytes; the offsets increase and are at least the server's
pauses; an early close, a reset and a refused connection are recorded as such; a capture
survives its JSON form.  The openai SDK on an ``httpx2.AsyncClient`` with the recording
transport streams a chat completion with every delta delivered.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.capture import Capture, CaptureRecorder
from conformance.cassettes import CASSETTES_ROOT, case_body, expected_events, load_case
from conformance.errors import UsageError
from conformance.events import BlockDelta
from conformance.server import LoopbackServer, Plan, plan_for_case

#: Six writes, one SSE event split across two of them.
CHUNKS = (
    b'data: {"n": 0}\n\n',
    b'data: {"n": 1}\n\ndata: {"n"',
    b": 2}\n\n",
    b'data: {"n": 3, "text": "\xc3\xa9t\xc3\xa9"}\n\n',
    b'data: {"n": 4}\n\n',
    b"data: [DONE]\n\n",
)
DELAY_S = 0.05  # between writes: long enough that no two writes share a read
PATH = "/v1/chat/completions"
CLIENTS = ["httpx-sync", "httpx-async", "httpx2-sync", "httpx2-async"]


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


def _plan(**changes: Any) -> Plan:
    fields: dict[str, Any] = {
        "headers": (("content-type", "text/event-stream"),),
        "chunks": CHUNKS,
        "delay_s": DELAY_S,
        "first_delay_s": DELAY_S,
    }
    return Plan(**{**fields, **changes})


def _library(client: str) -> Any:
    return pytest.importorskip(client.split("-", maxsplit=1)[0])


def _fetch(
    client: str, url: str, *, stop_after: int | None = None
) -> tuple[CaptureRecorder, list[bytes], str]:
    """POST to ``url`` through a recording transport; read ``stop_after`` chunks (all when
    None) and close.  Returns the recorder, the chunks the client got, and the exception
    (type name) reading raised, if any."""
    lib = _library(client)
    recorder = CaptureRecorder()
    got: list[bytes] = []
    failure = ""
    if client.endswith("-sync"):
        with lib.Client(transport=recorder.wrap(lib.HTTPTransport())) as http:
            try:
                with http.stream("POST", url, json={"stream": True}) as response:
                    for chunk in response.iter_raw():
                        got.append(chunk)
                        if stop_after is not None and len(got) >= stop_after:
                            break
            except lib.TransportError as exc:
                failure = type(exc).__name__
        return recorder, got, failure

    async def run() -> str:
        async with lib.AsyncClient(transport=recorder.wrap(lib.AsyncHTTPTransport())) as http:
            try:
                async with http.stream("POST", url, json={"stream": True}) as response:
                    async for chunk in response.aiter_raw():
                        got.append(chunk)
                        if stop_after is not None and len(got) >= stop_after:
                            break
            except lib.TransportError as exc:
                return type(exc).__name__
        return ""

    failure = asyncio.run(run())
    return recorder, got, failure


@pytest.mark.parametrize("client", CLIENTS)
def test_chunks_arrive_as_written_and_are_recorded_in_order_with_their_times(
    server: LoopbackServer, client: str
) -> None:
    plan = _plan()
    token = server.expect(plan)
    recorder, got, failure = _fetch(client, server.base_url(token) + PATH)
    assert failure == ""
    (capture,) = recorder.captures
    assert [data for _, data in capture.chunks] == list(CHUNKS) == got  # boundaries and order kept
    assert capture.body == plan.body
    assert server.connections(token)[0].bytes_written == len(plan.body)  # what the server wrote
    assert capture.boundaries == tuple(itertools.accumulate(map(len, CHUNKS)))
    times = [at for at, _ in capture.chunks]
    assert capture.headers_at is not None
    assert capture.ended_at is not None
    assert capture.headers_at <= times[0]
    assert all(a < b for a, b in itertools.pairwise(times))
    assert times[-1] <= capture.ended_at
    # the server paused DELAY_S before each write: the offsets are at least that far apart
    assert all(b - a >= DELAY_S * 0.5 for a, b in itertools.pairwise(times))
    assert times[-1] >= len(CHUNKS) * DELAY_S * 0.8
    assert (capture.read_to_end, capture.closed_early, capture.error) == (True, False, None)
    assert (capture.method, capture.url, capture.status) == ("POST", server.base_url(token) + PATH, 200)
    assert json.loads(capture.request_body) == {"stream": True}
    assert ("content-type", "application/json") in capture.request_headers
    assert ("content-type", "text/event-stream") in capture.response_headers


@pytest.mark.parametrize("client", CLIENTS)
def test_an_early_close_is_recorded(server: LoopbackServer, client: str) -> None:
    token = server.expect(_plan())
    recorder, got, failure = _fetch(client, server.base_url(token) + PATH, stop_after=2)
    assert (failure, got) == ("", list(CHUNKS[:2]))
    (capture,) = recorder.captures
    assert (capture.read_to_end, capture.closed_early, capture.error) == (False, True, None)
    assert capture.body == b"".join(CHUNKS[:2])
    record = server.wait_closed(token, timeout=5.0)
    assert record is not None
    assert record.closed_mid_body


@pytest.mark.parametrize("client", CLIENTS)
def test_a_connection_reset_is_recorded(server: LoopbackServer, client: str) -> None:
    cut = len(CHUNKS[0]) + len(CHUNKS[1])
    plan = _plan(reset_after=cut)
    token = server.expect(plan)
    recorder, got, failure = _fetch(client, server.base_url(token) + PATH)
    assert failure in {"RemoteProtocolError", "ReadError"}
    (capture,) = recorder.captures
    assert capture.error is not None
    assert capture.error.startswith(failure)
    assert (capture.read_to_end, capture.closed_early) == (False, False)
    assert plan.body[:cut].startswith(capture.body)
    assert capture.body == b"".join(got)
    assert server.connections(token)[0].reset_at is not None


@pytest.mark.parametrize("client", ["httpx-sync", "httpx2-async"])
def test_a_refused_connection_is_recorded(client: str) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    recorder, got, failure = _fetch(client, f"http://127.0.0.1:{port}{PATH}")
    assert failure == "ConnectError"
    (capture,) = recorder.captures
    assert (capture.status, capture.chunks, got) == (None, (), [])
    assert capture.error is not None
    assert capture.error.startswith("ConnectError")


def test_a_capture_survives_its_json_form(server: LoopbackServer) -> None:
    token = server.expect(_plan(delay_s=0.0, first_delay_s=0.0))
    recorder, _, _ = _fetch("httpx-sync", server.base_url(token) + PATH)
    (capture,) = recorder.captures
    text = json.dumps(capture.to_json())
    assert Capture.from_json(json.loads(text)) == capture
    broken = capture.to_json()
    broken["chunks"][0][1] = "not base64!"
    with pytest.raises(UsageError, match=r"chunks\[0\]\[1\] is not base64"):
        Capture.from_json(broken)
    with pytest.raises(UsageError, match="not a capture"):
        Capture.from_json({"version": 1})


def test_wrapping_something_else_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="not an httpx or httpx2 transport"):
        CaptureRecorder().wrap(object())


def test_the_openai_sdk_streams_every_delta_through_the_recording_transport(server: LoopbackServer) -> None:
    openai = pytest.importorskip("openai")
    httpx2 = pytest.importorskip("httpx2")
    case = load_case(CASSETTES_ROOT / "openai/chat-completions/synthetic-text")
    plan = plan_for_case(case, chunking="random:3", delay_ms=2)
    token = server.expect(plan)
    seen: list[Capture] = []
    recorder = CaptureRecorder(on_capture=seen.append)

    async def chat() -> list[str]:
        http_client = httpx2.AsyncClient(transport=recorder.wrap(httpx2.AsyncHTTPTransport()))
        async with openai.AsyncOpenAI(
            api_key="sk-conformance",
            base_url=server.base_url(token) + "/v1",
            http_client=http_client,
            max_retries=0,
        ) as client:
            stream = await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}], stream=True
            )
            return [
                c.choices[0].delta.content async for c in stream if c.choices and c.choices[0].delta.content
            ]

    deltas = asyncio.run(chat())
    assert deltas == [e.text for e in expected_events(case) if isinstance(e, BlockDelta)]
    (capture,) = recorder.captures
    assert seen == [capture]
    assert capture.body == case_body(case)
    assert capture.read_to_end
    assert len(capture.chunks) > 1
    assert json.loads(capture.request_body)["stream"] is True
