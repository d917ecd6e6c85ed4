"""vcrpy replay of the corpus cassettes for HTTP-level adapters (conformance.harness.vcr_replay).

Every case is replayed through httpx and must give the case's body byte for byte; one case
per API through httpx2, requests and aiohttp (sync and async); the canary fires when nothing
was played; other hosts and raw non-loopback connections are refused while replaying, and
the socket module is itself again afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import socket
from collections.abc import Callable, Iterator

import httpx
import pytest

from conformance.cassettes import Case, case_body, iter_cases
from conformance.errors import UsageError
from conformance.harness.contract import StreamRequest
from conformance.harness.execute import request_for
from conformance.harness.vcr_replay import ReplayHandle, replay_cassette

CASES = list(iter_cases())
ONE_PER_API = list({case.api: case for case in CASES}.values())


def _request(case: Case, handle: ReplayHandle) -> StreamRequest:
    return dataclasses.replace(request_for(case), base_url=handle.base_url)


def _httpx_sync(request: StreamRequest) -> bytes:
    with httpx.Client() as client, client.stream(request.method, request.url, json=request.body) as response:
        return b"".join(response.iter_bytes())


def _httpx_async(request: StreamRequest) -> bytes:
    async def call() -> bytes:
        async with (
            httpx.AsyncClient() as client,
            client.stream(request.method, request.url, json=request.body) as response,
        ):
            return b"".join([chunk async for chunk in response.aiter_bytes()])

    return asyncio.run(call())


def _httpx2_sync(request: StreamRequest) -> bytes:
    httpx2 = pytest.importorskip("httpx2")

    with httpx2.Client() as client, client.stream(request.method, request.url, json=request.body) as response:
        return b"".join(response.iter_bytes())


def _httpx2_async(request: StreamRequest) -> bytes:
    httpx2 = pytest.importorskip("httpx2")

    async def call() -> bytes:
        async with (
            httpx2.AsyncClient() as client,
            client.stream(request.method, request.url, json=request.body) as response,
        ):
            return b"".join([chunk async for chunk in response.aiter_bytes()])

    return asyncio.run(call())


def _requests(request: StreamRequest) -> bytes:
    requests = pytest.importorskip("requests")

    with requests.request(request.method, request.url, json=request.body, stream=True, timeout=5) as response:
        return b"".join(response.iter_content(chunk_size=None))


def _aiohttp(request: StreamRequest) -> bytes:
    aiohttp = pytest.importorskip("aiohttp")

    async def call() -> bytes:
        async with (
            aiohttp.ClientSession() as session,
            session.request(request.method, request.url, json=request.body) as response,
        ):
            return b"".join([chunk async for chunk in response.content.iter_any()])

    return asyncio.run(call())


CLIENTS: dict[str, Callable[[StreamRequest], bytes]] = {
    "httpx-async": _httpx_async,
    "httpx2-sync": _httpx2_sync,
    "httpx2-async": _httpx2_async,
    "requests": _requests,
    "aiohttp": _aiohttp,
}


@pytest.fixture(scope="module")
def httpx_client() -> Iterator[httpx.Client]:
    """One client for all cases (vcrpy patches the transport class, so it sees every replay)."""
    with httpx.Client() as client:
        yield client


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_every_cassette_replays_its_body_byte_for_byte_through_httpx(
    case: Case, httpx_client: httpx.Client
) -> None:
    with replay_cassette(case) as handle:
        request = _request(case, handle)
        with httpx_client.stream(request.method, request.url, json=request.body) as response:
            body = b"".join(response.iter_bytes())
        assert handle.play_count == 1
    assert body == case_body(case)


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("case", ONE_PER_API, ids=[case.api for case in ONE_PER_API])
def test_one_cassette_per_api_replays_through_each_http_library(case: Case, client: str) -> None:
    with replay_cassette(case) as handle:
        body = CLIENTS[client](_request(case, handle))
        assert handle.play_count == 1
    assert body == case_body(case)


def test_base_url_is_the_recorded_scheme_host_and_port() -> None:
    by_id = {case.id: case for case in CASES}
    local = next(case for case in CASES if case.api == "ollama/chat")
    with replay_cassette(by_id["gemini/generate-content/function-call-whole"], check=False) as handle:
        assert handle.base_url == "https://generativelanguage.googleapis.com"
    with replay_cassette(local, check=False) as handle:
        assert handle.base_url == "http://localhost:11434"


def test_the_canary_fires_when_nothing_was_played() -> None:
    case = CASES[0]
    idle = replay_cassette(case)
    with pytest.raises(UsageError, match=r"was not played \(play_count 0\)") as caught, idle as handle:
        pass
    assert handle.base_url in str(caught.value)
    with replay_cassette(case, check=False) as handle:
        pass
    assert handle.play_count == 0
    assert handle.problems()  # without check, the harness judges


def test_a_request_to_another_host_is_refused_with_vcrpys_message() -> None:
    from vcr.errors import CannotOverwriteExistingCassetteException

    def elsewhere() -> None:
        with replay_cassette(CASES[0]):
            httpx.post("https://example.com/v1/other")

    with pytest.raises(CannotOverwriteExistingCassetteException, match="no recorded interaction") as caught:
        elsewhere()
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert "was not played" in notes


def test_a_refused_request_the_adapter_swallowed_still_fails_the_replay() -> None:
    case = CASES[0]

    def retrying_adapter() -> None:
        with replay_cassette(case) as handle:
            request = _request(case, handle)
            _httpx_sync(request)
            # a retry, whose exception the adapter turns into an error event of its own
            with contextlib.suppress(Exception):
                httpx.post(request.url, json=request.body)

    with pytest.raises(UsageError, match="vcrpy refused a request") as caught:
        retrying_adapter()
    assert "already been played back" in str(caught.value)


def test_a_second_identical_request_is_not_played_again() -> None:
    from vcr.errors import CannotOverwriteExistingCassetteException

    case = CASES[0]

    def twice() -> None:
        with replay_cassette(case) as handle:
            request = _request(case, handle)
            _httpx_sync(request)
            _httpx_sync(request)

    with pytest.raises(CannotOverwriteExistingCassetteException, match="already been played back"):
        twice()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP listener on every interface (connections are accepted by the kernel backlog)."""
    server = socket.create_server(("0.0.0.0", 0), backlog=8)
    yield server
    server.close()


def _local_non_loopback_address() -> str:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # UDP: picks a route, sends nothing
        address = str(probe.getsockname()[0])
    except OSError:
        pytest.skip("no non-loopback IPv4 address on this machine")
    finally:
        probe.close()
    if address.startswith("127."):
        pytest.skip("no non-loopback IPv4 address on this machine")
    return address


def _connect(address: tuple[str, int]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(address)


def test_non_loopback_sockets_are_refused_during_replay_and_work_again_after(
    listener: socket.socket,
) -> None:
    port = listener.getsockname()[1]
    target = (_local_non_loopback_address(), port)
    originals = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.create_connection,
        socket.getaddrinfo,
    )
    _connect(target)  # reachable before
    case = CASES[0]
    with replay_cassette(case, check=False) as handle:
        with pytest.raises(ConnectionRefusedError, match="network access blocked during cassette replay"):
            _connect(target)
        with socket.socket() as sock:
            assert sock.connect_ex(target) != 0
        with pytest.raises(ConnectionRefusedError, match=re.escape(f"connect to {target[0]}:{port} refused")):
            socket.create_connection(target, timeout=5).close()
        with pytest.raises(socket.gaierror, match=r"DNS lookup of example\.com refused"):
            socket.getaddrinfo("example.com", 443)
        assert socket.getaddrinfo(target[0], port)  # an address needs no lookup: its connect is refused
        _connect(("127.0.0.1", port))  # loopback still works (the fake-vendor server)
    assert len(handle.refused) == 4
    assert (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.create_connection,
        socket.getaddrinfo,
    ) == originals
    assert "connect" not in vars(socket.socket)  # inherited from _socket again
    _connect(target)  # and reachable after


def test_a_loopback_cassette_address_is_refused_to_bypassing_clients(listener: socket.socket) -> None:
    local = next(case for case in CASES if case.api == "ollama/chat")  # recorded at localhost:11434
    with replay_cassette(local, check=False):
        with pytest.raises(ConnectionRefusedError, match="the cassette's own address"):
            _connect(("127.0.0.1", 11434))
        _connect(("127.0.0.1", listener.getsockname()[1]))


def test_the_network_block_is_removed_even_when_the_body_raises() -> None:
    original = socket.getaddrinfo

    def failing() -> None:
        with replay_cassette(CASES[0]):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        failing()
    assert socket.getaddrinfo is original


def test_nested_replays_share_the_block_until_the_last_one_closes() -> None:
    original = socket.socket.connect
    first, second = CASES[0], CASES[1]
    with replay_cassette(first, check=False):
        with replay_cassette(second, check=False):
            assert socket.socket.connect is not original
        assert socket.socket.connect is not original
        with pytest.raises(ConnectionRefusedError):
            _connect(("192.0.2.1", 9))
    assert socket.socket.connect is original
