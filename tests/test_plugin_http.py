"""The plugin's HTTP-level tests (issue 7) in a foreign project (pytester, in-process):
the httpx example adapter passes every HTTP variant over real sockets; adapters that keep
reading after the consumer stops, or never close their response, fail the cancellation
tests with the measured wait and the bytes the server wrote after the cancel; an adapter
that maps HTTP errors wrongly fails the error tests with what it got and what was due.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from conformance.events import Error, ErrorCategory, Event
from conformance.harness.contract import ALL, Adapter, Capability, StreamRequest
from conformance.registry import get_codec
from examples import httpx_adapter
from tests.test_plugin_broken import Run, _run

pytest_plugins = ("pytester",)

CASE = "anthropic/messages/synthetic-text"
CANCELS = ("http-cancel-close", "http-cancel-task", "http-cancel-timeout")
_KEEP: list[Any] = []  # responses the never-closing adapter leaves open (so the GC does not close them)


def _events(request: StreamRequest) -> Any:
    return get_codec(request.api).new_decoder(request.flavour, framing=request.framing)


async def drain_after_cancel(request: StreamRequest) -> AsyncIterator[Event]:
    """Keeps reading the body to the end when the consumer stops ("to reuse the connection")."""
    async with (
        httpx.AsyncClient(timeout=request.read_timeout) as client,
        client.stream(request.method, request.url, json=request.body or {}) as response,
    ):
        decoder = _events(request)
        chunks = response.aiter_raw()
        try:
            async for chunk in chunks:
                for event in decoder.feed(chunk):
                    yield event
            for event in decoder.close():
                yield event
        finally:
            async for _ in chunks:
                pass


async def never_close(request: StreamRequest) -> AsyncIterator[Event]:
    """Opens the response and never closes it, however the consumer stops."""
    client = httpx.AsyncClient(timeout=request.read_timeout)
    built = client.build_request(request.method, request.url, json=request.body or {})
    response = await client.send(built, stream=True)
    chunks = response.aiter_raw()
    _KEEP.append((client, response, chunks))  # held, so that no garbage collector closes them either
    decoder = _events(request)
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            yield event
    for event in decoder.close():
        yield event


def _server_error(exc: BaseException) -> Error | None:
    """Maps every HTTP error to a retryable server error (loses the status's meaning)."""
    mapped = httpx_adapter.map_exception(exc)
    if mapped is None:
        return None
    return dataclasses.replace(mapped, category=ErrorCategory.SERVER, retryable=True)


def _adapter(name: str, http: Any, **extra: Any) -> Adapter:
    return Adapter(
        name=name,
        http=http,
        apis=dict.fromkeys(["anthropic/messages", "openai/chat-completions"], (ALL,)),
        capabilities=frozenset(Capability),
        map_exception=extra.pop("map_exception", httpx_adapter.map_exception),
        **extra,
    )


ADAPTERS = {
    "example": dataclasses.replace(httpx_adapter.factory(), name="example"),
    "drains": _adapter("drains", drain_after_cancel),
    "neverclose": _adapter("neverclose", never_close),
    "allserver": dataclasses.replace(httpx_adapter.factory(), name="allserver", map_exception=_server_error),
}

_SESSIONS: dict[str, Run] = {}


def _session(pytester: pytest.Pytester) -> Run:
    if "http" not in _SESSIONS:
        ids = [f"{CASE}[{name}-{v}]" for name in ADAPTERS for v in ("vcr", "http", *CANCELS)]
        ids += [
            f"anthropic/messages/http-{s}[{name}-http]"
            for name in ("example", "allserver")
            for s in (401, 429, 529)
        ]
        _SESSIONS["http"] = _run(pytester, ADAPTERS, "-k", " or ".join(ids))
    return _SESSIONS["http"]


def test_the_httpx_example_passes_over_real_sockets(pytester: pytest.Pytester) -> None:
    run = _session(pytester)
    mine = run.of("example")
    assert set(mine.values()) == {"passed"}, run.texts
    assert {f"{CASE}[example-{v}]" for v in ("vcr", "http", *CANCELS)} <= set(mine)
    assert {f"anthropic/messages/http-{s}[example-http]" for s in (401, 429, 529)} <= set(mine)


@pytest.mark.parametrize(
    ("name", "variants"),
    [
        # a task cancel or timeout lands inside httpx's read, and httpcore drops the
        # connection itself: the leak shows when the consumer closes the generator
        ("drains", ("http-cancel-close",)),
        ("neverclose", ("http-cancel-close",)),
    ],
)
def test_an_adapter_that_keeps_the_connection_fails_with_the_wait_and_the_bytes(
    pytester: pytest.Pytester, name: str, variants: tuple[str, ...]
) -> None:
    run = _session(pytester)
    assert run.outcomes[f"{CASE}[{name}-http]"] == "passed"  # uncancelled, it streams fine
    for variant in variants:
        test_id = f"{CASE}[{name}-{variant}]"
        assert run.outcomes[test_id] == "failed", test_id
        text = run.texts[test_id]
        assert text.splitlines()[1].strip().startswith("leaked: "), text
        assert re.search(r"\d+ bytes \(\d+ frames\)", text), text


def test_wrong_http_error_mapping_fails_with_what_was_due(pytester: pytest.Pytester) -> None:
    run = _session(pytester)
    assert run.outcomes["anthropic/messages/http-529[allserver-http]"] == "failed"
    text = run.texts["anthropic/messages/http-401[allserver-http]"]
    assert (
        "HTTP 401 came out with category 'server' (expected 'auth'); retryable True (expected False)" in text
    )
    assert run.outcomes[f"{CASE}[allserver-http]"] == "passed"


def test_the_report_has_the_socket_measurements(pytester: pytest.Pytester) -> None:
    report = pytester.path / "rep"
    run = _run(
        pytester,
        {"example": ADAPTERS["example"]},
        f"--conformance-report={report}",
        "-k",
        f"{CASE}[example-http-cancel-close] or {CASE}[example-http-cancel-signal]",
    )
    assert run.ret == 0
    results = json.loads((report / "report.json").read_text("utf-8"))["results"]
    by_variant = {entry["variant"]: entry["socket"] for entry in results}
    assert set(by_variant) == {"http-cancel-close", "http-cancel-signal"}
    for socket in by_variant.values():
        assert socket["latency_ms"] is not None
        assert socket["latency_ms"] <= socket["bound_ms"]
        # cancelled spend: the case's message_start (its first frame) says 12 tokens in, 1
        # out, and the cancel comes after half of the events, so the server had sent that
        assert socket["bytes_before_cancel"] > 0
        assert socket["sent_usage"] == {"input_tokens": 12, "output_tokens": 1}
    assert by_variant["http-cancel-close"]["abort_usage"] is None  # closed: no abort to carry it
    assert by_variant["http-cancel-signal"]["abort_usage"] == {"input_tokens": 12, "output_tokens": 1}
    markdown = (report / "report.md").read_text("utf-8")
    assert "## Cancellation over real sockets" in markdown
    assert "the abort carried the same usage in 1, other usage in 0 and none in 0" in markdown
