"""The example HTTP-level adapters (examples/) against the loopback server and vcrpy.

Each example makes real requests over loopback sockets: corpus cases streamed in small
chunks give the case's expected canonical sequence; every vendor HTTP error status is
mapped to the category, retry advice, status, message and code the vendor's body implies;
a reset mid-body and a stall past the read timeout end in ``protocol`` / ``timeout`` errors
after the content delivered; every way of stopping early closes the connection, which the
server sees; and a cassette replayed by vcrpy goes through the httpx example unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncGenerator, Iterator
from types import ModuleType

import pytest

pytest.importorskip("aiohttp")

from conformance.cassettes import CASSETTES_ROOT, Case, expected_events, load_case
from conformance.compare import Verdict, compare, render
from conformance.events import Abort, BlockDelta, Error, ErrorCategory, ErrorPhase, Event
from conformance.harness.contract import Adapter, StreamRequest, canonical_events
from conformance.harness.execute import request_for
from conformance.harness.vcr_replay import replay_cassette
from conformance.server import ConnectionRecord, LoopbackServer, error_plan, plan_for_case, vendor_error
from conformance.server.errors import ERROR_APIS, ERROR_STATUSES
from examples import aiohttp_adapter, httpx_adapter

EXAMPLES: dict[str, ModuleType] = {"httpx": httpx_adapter, "aiohttp": aiohttp_adapter}

#: A handful of cases: every framing, text, tool calls, an in-stream error, reasoning.
CASE_IDS = [
    "openai/chat-completions/parallel-tool-calls",
    "openai/chat-completions/synthetic-error-after-text",
    "openai/responses/function-call-usage-sequence-numbers",
    "anthropic/messages/text-then-tool-use",
    "gemini/generate-content/function-call-whole",
    "gemini/generate-content/json-array-stream-thought-then-call",
    "bedrock/converse-stream/text-then-tool-use",
    "cohere/chat/text",
    "cohere/chat-v1/ndjson-stream-json",
    "ollama/chat/docs-generate-ndjson",
]
LONG_CASE = "openai/chat-completions/synthetic-long-text"

#: Generous bound for the server to see a disconnect (a loaded CI machine), not a speed claim.
DISCONNECT_BOUND_S = 5.0


def _case(case_id: str) -> Case:
    return load_case(CASSETTES_ROOT / case_id)


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


def _request(case: Case, base_url: str, **changes: object) -> StreamRequest:
    return dataclasses.replace(request_for(case), base_url=base_url, **changes)  # type: ignore[arg-type]


async def _drive(
    adapter: Adapter, request: StreamRequest, *, stop_after: int | None = None, mode: str = "close"
) -> list[Event]:
    """Run the adapter's ``http`` as the harness would; stop after ``stop_after`` events:
    ``close`` (break and close the generator), ``signal`` (set ``request.cancel`` and read
    on) or ``task`` (cancel the consuming task while it waits)."""
    http = adapter.http
    assert http is not None
    out: list[Event] = []
    reached = asyncio.Event()

    async def consume() -> None:
        stream = http(request)
        assert isinstance(stream, AsyncGenerator)
        try:
            async for item in stream:
                out.extend(canonical_events(adapter.to_canonical(item), len(out)))
                if stop_after is not None and len(out) >= stop_after and not reached.is_set():
                    reached.set()
                    if mode == "close":
                        break
                    if mode == "signal":
                        request.cancel.set()
        except Exception as exc:
            assert adapter.map_exception is not None
            mapped = adapter.map_exception(exc)
            if mapped is None:
                raise
            out.extend(canonical_events(mapped, len(out)))
        finally:
            await stream.aclose()

    task = asyncio.ensure_future(consume())
    if mode == "task" and stop_after is not None:
        await asyncio.wait([task, asyncio.ensure_future(reached.wait())], return_when=asyncio.FIRST_COMPLETED)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    else:
        await task
    return out


def _run(adapter: Adapter, request: StreamRequest, **options: object) -> list[Event]:
    return asyncio.run(_drive(adapter, request, **options))  # type: ignore[arg-type]


@pytest.mark.parametrize("example", EXAMPLES)
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_example_streams_a_case_to_its_expected_sequence(
    server: LoopbackServer, example: str, case_id: str
) -> None:
    case = _case(case_id)
    adapter = EXAMPLES[example].factory()
    token = server.expect(plan_for_case(case, chunking="random:7"))
    events = _run(adapter, _request(case, server.base_url(token)))
    comparison = compare(expected_events(case), events)
    assert comparison.verdict is Verdict.PASS, render(comparison)
    (record,) = server.connections(token)
    assert record.status == 200
    assert record.finished_at is not None


@pytest.mark.parametrize("example", EXAMPLES)
@pytest.mark.parametrize("api", ERROR_APIS)
def test_example_maps_every_vendor_http_error(server: LoopbackServer, example: str, api: str) -> None:
    adapter = EXAMPLES[example].factory()
    case = next(c for c in map(_case, CASE_IDS) if c.api == api)
    for status in ERROR_STATUSES:
        token = server.expect(error_plan(api, status))
        events = _run(adapter, _request(case, server.base_url(token)))
        assert events == [vendor_error(api, status).expected_event()], f"{api} HTTP {status}"


@pytest.mark.parametrize("example", EXAMPLES)
def test_a_reset_mid_body_ends_in_a_protocol_error_after_the_delivered_text(
    server: LoopbackServer, example: str
) -> None:
    case = _case(LONG_CASE)
    plan = plan_for_case(case, chunking="random:1", reset_after=4000)
    token = server.expect(plan)
    events = _run(EXAMPLES[example].factory(), _request(case, server.base_url(token)))
    assert any(isinstance(e, BlockDelta) for e in events), "the text before the reset is kept"
    last = events[-1]
    assert isinstance(last, Error)
    assert (last.category, last.phase) == (ErrorCategory.PROTOCOL, ErrorPhase.MID_STREAM)
    assert server.connections(token)[0].reset_at is not None


@pytest.mark.parametrize("example", EXAMPLES)
def test_a_stall_past_the_read_timeout_ends_in_a_timeout_error(server: LoopbackServer, example: str) -> None:
    case = _case(LONG_CASE)
    token = server.expect(plan_for_case(case, chunking="random:1", stall_after=4000))
    request = _request(case, server.base_url(token), read_timeout=0.3)
    events = _run(EXAMPLES[example].factory(), request)
    assert any(isinstance(e, BlockDelta) for e in events)
    last = events[-1]
    assert isinstance(last, Error)
    assert (last.category, last.retryable, last.phase) == (ErrorCategory.TIMEOUT, True, ErrorPhase.MID_STREAM)
    record = server.wait_closed(token, timeout=DISCONNECT_BOUND_S)
    assert record is not None, "the client closed the stalled connection"


async def _stop_early(
    server: LoopbackServer, adapter: Adapter, request: StreamRequest, token: str, mode: str
) -> tuple[list[Event], ConnectionRecord | None]:
    """Stop the adapter after 6 events, then wait for the server to see the disconnect
    while the event loop still runs (its shutdown would close a leaked connection)."""
    events = await _drive(adapter, request, stop_after=6, mode=mode)
    record = await asyncio.to_thread(server.wait_closed, token, DISCONNECT_BOUND_S)
    return events, record


@pytest.mark.parametrize("mode", ["close", "signal", "task"])
@pytest.mark.parametrize("example", EXAMPLES)
def test_stopping_early_closes_the_connection(server: LoopbackServer, example: str, mode: str) -> None:
    case = _case(LONG_CASE)
    plan = plan_for_case(case, chunking="random:1", delay_ms=1)
    token = server.expect(plan)
    request = _request(case, server.base_url(token))
    events, record = asyncio.run(_stop_early(server, EXAMPLES[example].factory(), request, token, mode))
    assert record is not None, f"the server did not see the client go within {DISCONNECT_BOUND_S} s"
    assert record.closed_mid_body
    assert record.bytes_written < plan.size
    expected = expected_events(case)
    if mode == "signal":
        assert isinstance(events[-1], Abort)
        assert events[:-1] == expected[: len(events) - 1]
    else:
        assert events == expected[: len(events)]


def test_the_httpx_example_replays_a_cassette_through_vcrpy() -> None:
    case = _case("anthropic/messages/text-then-tool-use")
    adapter = httpx_adapter.factory()
    with replay_cassette(case) as handle:
        events = _run(adapter, _request(case, handle.base_url))
        assert handle.play_count == 1
    comparison = compare(expected_events(case), events)
    assert comparison.verdict is Verdict.PASS, render(comparison)
