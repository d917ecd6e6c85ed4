"""An HTTP-level adapter on httpx (async), wired to the suite: ``factory`` returns it.

It makes the streaming call itself, as your client library does: ``POST request.url``
with the case's headers and JSON body, a read timeout of ``request.read_timeout``, then
reads the body chunk by chunk and yields canonical events.  What it shows is the HTTP
layer, where HTTP-level bugs live:

* an error status before the stream raises :class:`~examples.common.VendorHTTPError`
  (message and error type from the vendor's body), which :func:`map_exception` turns into
  a canonical ``error`` with the category and retry advice the status implies;
* a connection that breaks mid-body ends the events with a ``protocol`` error, a read that
  times out with a ``timeout`` error, after the content already delivered; a connection
  that cannot be made, or breaks before the headers, is raised and mapped the same way;
* however the consumer stops it (closing the generator, cancelling its task, a deadline,
  or ``request.cancel``), the response and its connection are closed at once, by the
  ``async with`` blocks: the vendor sees the disconnect and stops generating (and billing).
  On ``request.cancel`` it also yields an ``abort`` with the usage known so far.

Decision: the body is decoded by the suite's reference decoder for the API
(``conformance.registry.get_codec``, the codec API documented in ``docs/codecs.md``), not
by a parser written here.  Byte-level parsing is what the byte-level suite tests, with
every chunking (its worked example, ``docs/examples/openai_chat_adapter.py``, is a parser
written from scratch); an HTTP-level adapter is that parser plus the HTTP call, and a
parser of our own here would add hundreds of lines per API while showing nothing the
byte-level example does not.  In your adapter, feed the response's chunks to your own
parser at the same place (``examples.common.decode_body``).  So this adapter supports every
API and flavour the suite knows, and every capability, which also makes it the baseline
for the HTTP-level tests (cancellation latency, HTTP errors) and their benchmark.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import aclosing
from functools import cache

import httpcore
import httpx

from conformance.events import Error, ErrorCategory, Event
from conformance.harness.contract import ALL, Adapter, Capability, StreamRequest
from conformance.registry import api_ids
from examples.common import VendorHTTPError, decode_body, exception_event, request_body

__all__ = ["NAME", "factory", "map_exception", "stream"]

NAME = "httpx_example"

#: Seconds allowed to connect (the read timeout is the request's).
CONNECT_TIMEOUT = 10.0


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every call: building one (loading the CA store) costs more than
    a loopback request.  A client per call, as the event loop may differ between calls."""
    return ssl.create_default_context()


def _broken(exc: Exception) -> ErrorCategory | None:
    if isinstance(exc, httpx.TimeoutException):
        return ErrorCategory.TIMEOUT
    if isinstance(exc, httpx.TransportError):  # reset, truncated chunked body, ...
        return ErrorCategory.PROTOCOL
    # httpx maps httpcore's errors while it reads; a reset racing the response's close
    # was once seen to escape unmapped (under load), so the example maps them too
    if isinstance(exc, httpcore.TimeoutException):
        return ErrorCategory.TIMEOUT
    if isinstance(exc, httpcore.NetworkError | httpcore.RemoteProtocolError):
        return ErrorCategory.PROTOCOL
    return None


async def stream(request: StreamRequest) -> AsyncIterator[Event]:
    """Make the streaming call for ``request`` and yield its canonical events."""
    timeout = httpx.Timeout(request.read_timeout, connect=CONNECT_TIMEOUT)
    headers = {**request.headers, "content-type": "application/json"}
    async with (
        httpx.AsyncClient(timeout=timeout, verify=_tls()) as client,
        client.stream(
            request.method, request.url, headers=headers, content=request_body(request)
        ) as response,
    ):
        if response.status_code >= 400:
            await response.aread()
            raise VendorHTTPError(response.status_code, response.headers, response.content)
        async with aclosing(decode_body(request, response.aiter_bytes(), _broken)) as events:
            async for event in events:
                yield event


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
