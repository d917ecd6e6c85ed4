"""The recording transport: capture HTTP exchanges with their chunk boundaries and timing.
I/O: wraps a live httpx or httpx2 transport, so it sends requests and reads responses.

vcrpy cannot keep what the network did to a stream: it joins the body and, while
recording, reads it all before the client gets a byte (ECOSYSTEM.md §1.2).
:class:`CaptureRecorder` wraps an httpx or httpx2 transport, sync or async
(``httpx.HTTPTransport()``, ``httpx2.AsyncHTTPTransport()``, or any other transport of
those libraries), passes every chunk through to the client the moment the inner transport
delivers it, and records one :class:`Capture` per exchange::

    recorder = CaptureRecorder()
    client = httpx2.AsyncClient(transport=recorder.wrap(httpx2.AsyncHTTPTransport()))
    ...                                  # use the client (or an SDK built on it)
    recorder.captures                    # [Capture(...)], in the order exchanges ended

A capture holds the request (method, URL, headers, body), the response's status and
headers, the body as ``(seconds since the request started, bytes)`` chunks in arrival
order, and how the exchange ended: read to the end, closed early by the client, or failed
(the error's type and message).  The chunks are what the transport delivered, i.e. the
body after HTTP/1.1 de-chunking but before any ``content-encoding`` is undone (the
response headers say which).  :attr:`Capture.boundaries` gives them in the form of a
case's recorded read boundaries (``case.json`` ``chunks``).

A capture is finished when its body was read to the end, when reading it failed, or when
the client closed the response; one the client never closes stays unfinished and is not
listed.  Captures are frozen values with a JSON form (:meth:`Capture.to_json`,
:meth:`Capture.from_json`; bytes as base64) so live recording can store them.  No secret is
scrubbed here: the request headers are a field of their own so that a scrubber can replace
them (``dataclasses.replace``) before anything is written.

This module imports neither httpx nor httpx2: :meth:`CaptureRecorder.wrap` recognises the
transport of whichever is loaded.  httpx2's classes are not httpx subclasses, so each library gets wrapper
classes of its own (their streams must be that library's ``SyncByteStream`` /
``AsyncByteStream`` for its ``Response`` to read them).
"""

from __future__ import annotations

import base64
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, overload

from conformance.errors import UsageError

if TYPE_CHECKING:
    import httpx

__all__ = ["CAPTURE_VERSION", "Capture", "CaptureRecorder"]

#: Version of the JSON form of a capture.
CAPTURE_VERSION = 1

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Capture:
    """One recorded HTTP exchange.

    Times are seconds since the transport was asked to send the request: ``headers_at``
    when the response headers arrived, each chunk's when it arrived, ``ended_at`` when the
    body was read to the end, the client closed the response, or the exchange failed.
    ``status`` is None when no response arrived (the connection failed).
    """

    method: str
    url: str
    request_headers: Headers
    request_body: bytes
    status: int | None = None
    response_headers: Headers = ()
    headers_at: float | None = None
    chunks: tuple[tuple[float, bytes], ...] = ()
    read_to_end: bool = False
    closed_early: bool = False
    error: str | None = None
    ended_at: float | None = None

    @property
    def body(self) -> bytes:
        """The response body as received (every chunk, joined)."""
        return b"".join(data for _, data in self.chunks)

    @property
    def boundaries(self) -> tuple[int, ...]:
        """Where each chunk ended, as byte offsets: a case's recorded read boundaries."""
        ends: list[int] = []
        total = 0
        for _, data in self.chunks:
            if data:
                total += len(data)
                ends.append(total)
        return tuple(ends)

    def to_json(self) -> dict[str, Any]:
        """The capture as a JSON-ready object (bytes as base64)."""
        return {
            "version": CAPTURE_VERSION,
            "request": {
                "method": self.method,
                "url": self.url,
                "headers": [list(pair) for pair in self.request_headers],
                "body": _b64(self.request_body),
            },
            "response": {
                "status": self.status,
                "headers": [list(pair) for pair in self.response_headers],
                "headers_at": self.headers_at,
            },
            "chunks": [[at, _b64(data)] for at, data in self.chunks],
            "end": {
                "read_to_end": self.read_to_end,
                "closed_early": self.closed_early,
                "error": self.error,
                "at": self.ended_at,
            },
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Capture:
        """The capture :meth:`to_json` wrote; UsageError naming the first bad field."""
        try:
            if obj["version"] != CAPTURE_VERSION:
                raise UsageError(f"capture version {obj['version']!r}; this package reads {CAPTURE_VERSION}")
            request, response, end = obj["request"], obj["response"], obj["end"]
            return cls(
                method=_typed(request["method"], str, "request.method"),
                url=_typed(request["url"], str, "request.url"),
                request_headers=_headers(request["headers"], "request.headers"),
                request_body=_unb64(request["body"], "request.body"),
                status=_optional(response["status"], int, "response.status"),
                response_headers=_headers(response["headers"], "response.headers"),
                headers_at=_optional_time(response["headers_at"], "response.headers_at"),
                chunks=tuple(
                    (_time(pair[0], f"chunks[{i}][0]"), _unb64(pair[1], f"chunks[{i}][1]"))
                    for i, pair in enumerate(_typed(obj["chunks"], list, "chunks"))
                ),
                read_to_end=_typed(end["read_to_end"], bool, "end.read_to_end"),
                closed_early=_typed(end["closed_early"], bool, "end.closed_early"),
                error=_optional(end["error"], str, "end.error"),
                ended_at=_optional_time(end["at"], "end.at"),
            )
        except (KeyError, IndexError, TypeError) as exc:
            raise UsageError(f"not a capture: missing or malformed {exc}") from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, where: str) -> bytes:
    try:
        return base64.b64decode(_typed(value, str, where), validate=True)
    except ValueError:
        raise UsageError(f"capture field {where} is not base64") from None


def _typed(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise UsageError(f"capture field {where} is not a {kind.__name__}: {value!r}")
    return value


def _optional(value: Any, kind: type, where: str) -> Any:
    return None if value is None else _typed(value, kind, where)


def _time(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise UsageError(f"capture field {where} is not a time in seconds: {value!r}")
    return float(value)


def _optional_time(value: Any, where: str) -> float | None:
    return None if value is None else _time(value, where)


def _headers(value: Any, where: str) -> Headers:
    pairs = []
    for i, pair in enumerate(_typed(value, list, where)):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            raise UsageError(f"capture field {where}[{i}] is not a [name, value] pair: {pair!r}")
        pairs.append((pair[0], pair[1]))
    return tuple(pairs)


# -- recording -----------------------------------------------------------------------------


class _Exchange:
    """The capture of one exchange while it is under way."""

    def __init__(self, recorder: CaptureRecorder, request: Any, body: bytes, start: float) -> None:
        self._recorder = recorder
        self._start = start
        self._request = (request.method, str(request.url), tuple(request.headers.multi_items()), body)
        self._status: int | None = None
        self._headers: Headers = ()
        self._headers_at: float | None = None
        self._chunks: list[tuple[float, bytes]] = []
        self._finished = False

    def _now(self) -> float:
        return time.perf_counter() - self._start

    def response(self, response: Any) -> None:
        self._headers_at = self._now()
        self._status = int(response.status_code)
        self._headers = tuple(response.headers.multi_items())

    def chunk(self, data: bytes) -> None:
        self._chunks.append((self._now(), bytes(data)))

    def finish(self, *, read_to_end: bool = False, error: BaseException | None = None) -> None:
        """End the capture (only the first call counts): read, failed, or else closed early."""
        if self._finished:
            return
        self._finished = True
        method, url, headers, body = self._request
        capture = Capture(
            method=method,
            url=url,
            request_headers=headers,
            request_body=body,
            status=self._status,
            response_headers=self._headers,
            headers_at=self._headers_at,
            chunks=tuple(self._chunks),
            read_to_end=read_to_end,
            closed_early=not read_to_end and error is None,
            error=None if error is None else f"{type(error).__name__}: {error}",
            ended_at=self._now(),
        )
        self._recorder._add(capture)


class CaptureRecorder:
    """Wraps httpx/httpx2 transports and collects the :class:`Capture` of each exchange.

    ``on_capture`` is called with each capture as it is finished (from the thread or
    task that finished it).  One recorder may wrap several transports.
    """

    def __init__(self, on_capture: Callable[[Capture], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._captures: list[Capture] = []
        self._on_capture = on_capture

    @property
    def captures(self) -> list[Capture]:
        """The finished captures so far, in the order they finished (a copy)."""
        with self._lock:
            return list(self._captures)

    def _add(self, capture: Capture) -> None:
        with self._lock:
            self._captures.append(capture)
        if self._on_capture is not None:
            self._on_capture(capture)

    @overload
    def wrap(self, inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport: ...
    @overload
    def wrap(self, inner: httpx.BaseTransport) -> httpx.BaseTransport: ...
    @overload
    def wrap(self, inner: Any) -> Any: ...  # httpx2's transports (typed here as Any)

    def wrap(self, inner: Any) -> Any:
        """A transport of ``inner``'s library and kind (sync or async) that records
        through this recorder and passes everything through to ``inner``."""
        for name in ("httpx", "httpx2"):
            lib = sys.modules.get(name)  # an object of one of its classes means it is imported
            if lib is None:
                continue
            sync_transport, async_transport = _wrapper_classes(lib)
            if isinstance(inner, lib.AsyncBaseTransport):
                return async_transport(inner, self)
            if isinstance(inner, lib.BaseTransport):
                return sync_transport(inner, self)
        raise UsageError(f"cannot record through {type(inner).__name__}: not an httpx or httpx2 transport")


@cache
def _wrapper_classes(lib: Any) -> tuple[type, type]:
    """The (sync, async) recording transport classes for one library (httpx or httpx2)."""

    class RecordingStream(lib.SyncByteStream):  # type: ignore[misc]
        def __init__(self, inner: Any, exchange: _Exchange) -> None:
            self._inner = inner
            self._exchange = exchange

        def __iter__(self) -> Iterator[bytes]:
            try:
                for chunk in self._inner:
                    self._exchange.chunk(chunk)
                    yield chunk
            except Exception as exc:
                self._exchange.finish(error=exc)
                raise
            self._exchange.finish(read_to_end=True)

        def close(self) -> None:
            try:
                self._inner.close()
            finally:
                self._exchange.finish()

    class AsyncRecordingStream(lib.AsyncByteStream):  # type: ignore[misc]
        def __init__(self, inner: Any, exchange: _Exchange) -> None:
            self._inner = inner
            self._exchange = exchange

        async def __aiter__(self) -> AsyncIterator[bytes]:
            try:
                async for chunk in self._inner:
                    self._exchange.chunk(chunk)
                    yield chunk
            except Exception as exc:
                self._exchange.finish(error=exc)
                raise
            self._exchange.finish(read_to_end=True)

        async def aclose(self) -> None:
            try:
                await self._inner.aclose()
            finally:
                self._exchange.finish()

    class RecordingTransport(lib.BaseTransport):  # type: ignore[misc]
        """Records each exchange, passing every chunk through as it arrives."""

        def __init__(self, inner: Any, recorder: CaptureRecorder) -> None:
            self.inner = inner
            self._recorder = recorder

        def handle_request(self, request: Any) -> Any:
            start = time.perf_counter()
            exchange = _Exchange(self._recorder, request, request.read(), start)
            try:
                response = self.inner.handle_request(request)
            except Exception as exc:
                exchange.finish(error=exc)
                raise
            exchange.response(response)
            response.stream = RecordingStream(response.stream, exchange)
            return response

        def close(self) -> None:
            self.inner.close()

    class AsyncRecordingTransport(lib.AsyncBaseTransport):  # type: ignore[misc]
        """Records each exchange, passing every chunk through as it arrives."""

        def __init__(self, inner: Any, recorder: CaptureRecorder) -> None:
            self.inner = inner
            self._recorder = recorder

        async def handle_async_request(self, request: Any) -> Any:
            start = time.perf_counter()
            exchange = _Exchange(self._recorder, request, await request.aread(), start)
            try:
                response = await self.inner.handle_async_request(request)
            except Exception as exc:
                exchange.finish(error=exc)
                raise
            exchange.response(response)
            response.stream = AsyncRecordingStream(response.stream, exchange)
            return response

        async def aclose(self) -> None:
            await self.inner.aclose()

    return RecordingTransport, AsyncRecordingTransport
