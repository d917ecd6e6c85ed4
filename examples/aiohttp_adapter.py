"""An HTTP-level adapter on aiohttp, wired to the suite: ``factory`` returns it.

The same adapter as ``httpx_adapter.py`` (read its docstring for what it shows and why
the body is decoded by the suite's reference decoder), on aiohttp: a
``ClientSession`` per call with a per-read timeout of ``request.read_timeout``
(``ClientTimeout(sock_read=...)``), the body read with ``response.content.iter_any()``
(each chunk as it arrives).  Two aiohttp specifics:

* leaving ``async with session.request(...)`` *releases* the connection, which may keep
  it for reuse; when the body was not read to the end (the consumer stopped early), the
  adapter calls ``response.close()`` instead, so the connection is closed and the vendor
  stops;
* a read timeout is ``aiohttp.ServerTimeoutError``; a connection that breaks mid-body is a
  ``ClientPayloadError`` or another ``aiohttp.ClientError``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

import aiohttp

from conformance.events import Error, ErrorCategory, Event
from conformance.harness.contract import ALL, Adapter, Capability, StreamRequest
from conformance.registry import api_ids
from examples.common import VendorHTTPError, decode_body, exception_event, request_body

__all__ = ["NAME", "factory", "map_exception", "stream"]

NAME = "aiohttp_example"

#: Seconds allowed to connect (the read timeout is the request's).
CONNECT_TIMEOUT = 10.0


def _broken(exc: Exception) -> ErrorCategory | None:
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return ErrorCategory.TIMEOUT
    if isinstance(exc, aiohttp.ClientError):
        return ErrorCategory.PROTOCOL
    return None


async def stream(request: StreamRequest) -> AsyncIterator[Event]:
    """Make the streaming call for ``request`` and yield its canonical events."""
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT, sock_read=request.read_timeout)
    headers = {**request.headers, "content-type": "application/json"}
    async with (
        aiohttp.ClientSession(timeout=timeout, auto_decompress=True) as session,
        session.request(request.method, request.url, headers=headers, data=request_body(request)) as response,
    ):
        if response.status >= 400:
            raise VendorHTTPError(response.status, response.headers, await response.read())
        try:
            async with aclosing(decode_body(request, response.content.iter_any(), _broken)) as events:
                async for event in events:
                    yield event
        finally:
            if not response.content.at_eof():
                response.close()  # not read to the end: close the connection, do not reuse it


def map_exception(exc: BaseException) -> Error | None:
    """The canonical ``error`` for an exception :func:`stream` raised (None: a bug)."""
    return exception_event(exc, _broken)


def factory() -> Adapter:
    """The adapter: every API and flavour the suite knows, at the HTTP level."""
    return Adapter(
        name=NAME,
        http=stream,
        apis=dict.fromkeys(api_ids(), (ALL,)),
        capabilities=frozenset(Capability),
        map_exception=map_exception,
    )
