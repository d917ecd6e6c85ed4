"""What both HTTP-level examples share: vendor HTTP errors and the body-decoding loop.

A real client library has these two pieces whatever HTTP library it sits on:

* :class:`VendorHTTPError`: the vendor answered with an error status before streaming.
  Its message and error type come from the vendor's JSON body, in whichever of the
  vendors' shapes it is (OpenAI's and Anthropic's ``{"error": {"message", "type" or
  "code"}}``, Gemini's ``{"error": {"message", "status"}}``, Ollama's ``{"error": "..."}``,
  Bedrock's and Cohere's ``{"message"}``, with Bedrock's exception name in the
  ``x-amzn-errortype`` header); its category and retry advice come from the status
  (SPEC §7).  :func:`error_event` turns it into the canonical ``error``.
* :func:`decode_body`: response body chunks in, events out.  It stops pulling as soon
  as the caller's cancel signal is set and ends with an ``abort`` carrying the last
  usage; when the connection breaks mid-body (reset, truncated chunked encoding) it ends
  the events with a ``protocol`` error, and when a read times out with a ``timeout``
  error, keeping what was delivered before.

The body decoding itself is the suite's reference decoder for the API
(``conformance.registry.get_codec(api).new_decoder(...)``, the documented codec API of
``docs/codecs.md``), standing in for your own stream parser: see ``httpx_adapter.py`` for
why.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import Any

from conformance.events import (
    RETRYABLE_BY_CATEGORY,
    Abort,
    AbortReason,
    Error,
    ErrorCategory,
    ErrorPhase,
    Event,
    Usage,
    category_for_status,
)
from conformance.harness.contract import StreamRequest
from conformance.registry import get_codec

__all__ = ["VendorHTTPError", "decode_body", "error_event", "exception_event", "request_body"]


class VendorHTTPError(Exception):
    """The vendor answered with HTTP ``status`` instead of a stream.

    ``message`` and ``code`` (the vendor's error type, verbatim) are read from the body;
    ``retry_after`` is the ``retry-after`` header, if any.
    """

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.message, self.code = _describe(status, headers, body)
        self.retry_after = headers.get("retry-after")
        super().__init__(f"HTTP {status}: {self.message}")


def _describe(status: int, headers: Mapping[str, str], body: bytes) -> tuple[str, str | None]:
    """The vendor's message and error type in an error body (any vendor's shape)."""
    try:
        obj: Any = json.loads(body)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        error = obj.get("error")
        if isinstance(error, str):  # Ollama
            return error, None
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            for key in ("code", "type", "status"):  # OpenAI's code, else its type; Anthropic; Gemini
                if isinstance(error.get(key), str):
                    return error["message"], error[key]
            return error["message"], None
        if isinstance(obj.get("message"), str):  # Bedrock (type in a header), Cohere
            error_type = headers.get("x-amzn-errortype")
            return obj["message"], error_type.split(":", 1)[0] if error_type else None
    text = body.decode("utf-8", "replace").strip()
    return text or f"HTTP {status}", None


def error_event(exc: VendorHTTPError) -> Error:
    """The canonical ``error`` for an HTTP error response (nothing was streamed yet)."""
    category = category_for_status(exc.status)
    return Error(
        category=category,
        message=exc.message,
        retryable=RETRYABLE_BY_CATEGORY.get(category, True),
        phase=ErrorPhase.BEFORE_OUTPUT,
        status=exc.status,
        code=exc.code,
    )


def exception_event(exc: BaseException, broken: Callable[[Exception], ErrorCategory | None]) -> Error | None:
    """The canonical ``error`` for an exception an example's ``stream`` raised: an HTTP
    error response, or a transport failure ``broken`` names (timeout, protocol); None for
    anything else (a bug, which the suite reports as a crash)."""
    if isinstance(exc, VendorHTTPError):
        return error_event(exc)
    category = broken(exc) if isinstance(exc, Exception) else None
    if category is None:
        return None
    return Error(
        category=category,
        message=f"{type(exc).__name__}: {exc}",
        retryable=True,
        phase=ErrorPhase.BEFORE_OUTPUT,
    )


def request_body(request: StreamRequest) -> bytes:
    """The JSON request body to send: the case's request body (``{}`` when it has none)."""
    return json.dumps(dict(request.body) if request.body is not None else {}).encode("utf-8")


def _broken_off(events: list[Event], category: ErrorCategory, message: str) -> list[Event]:
    """The decoder's final events for a body that broke off, its terminal ``error`` made
    ``category`` (protocol: the connection broke; timeout: a read timed out)."""
    if events and isinstance(events[-1], Error):
        last = events[-1]
        retryable = True if category is ErrorCategory.TIMEOUT else last.retryable
        events[-1] = dataclasses.replace(last, category=category, message=message, retryable=retryable)
    return events


async def decode_body(
    request: StreamRequest,
    body: AsyncIterator[bytes],
    broken: Callable[[Exception], ErrorCategory | None],
) -> AsyncGenerator[Event, None]:
    """Decode the response ``body`` of ``request`` into canonical events.

    ``broken(exc)`` says what an exception raised while reading the body means:
    ``timeout`` (a read timed out), ``protocol`` (the connection broke), or None
    (not a transport failure: re-raised).  ``body`` is closed however this stops.
    """
    decoder = get_codec(request.api).new_decoder(request.flavour, framing=request.framing)
    usage: Usage | None = None
    try:
        try:
            async for chunk in body:
                for event in decoder.feed(chunk):
                    if request.cancel.is_set():
                        break
                    if isinstance(event, Usage):
                        usage = event
                    yield event
                if request.cancel.is_set():
                    counts = None if usage is None else usage.counts()
                    yield Abort(reason=AbortReason.CONSUMER_CANCEL, usage=counts)
                    return
        except Exception as exc:
            category = broken(exc)
            if category is None:
                raise
            message = f"the response body broke off ({type(exc).__name__}: {exc})"
            for event in _broken_off(decoder.close(), category, message):
                yield event
            return
        for event in decoder.close():
            yield event
    finally:
        close = getattr(body, "aclose", None)
        if close is not None:
            await close()
