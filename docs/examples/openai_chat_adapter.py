"""An OpenAI Chat Completions streaming adapter, as a user of the suite would write it.

This is the worked example of ``docs/adapters.md``: a small client-side stream parser
written from scratch against the documented adapter contract
(``conformance.harness.contract``) and nothing else of the suite.  It does no I/O of
its own: it reads the byte source it is handed, as it would read an HTTP response.

It has three layers, as a real client library would:

1. :class:`SSEReader`: bytes to server-sent events.  An incremental UTF-8 decoder
   (a character split across two reads is reassembled, never replaced), CR, LF and
   CRLF line ends (a CRLF split across reads counts once), a leading BOM, comments,
   ``id``/``retry`` fields, multi-line ``data``.
2. :class:`ChatParser`: server-sent events to this library's own stream events
   (:class:`ResponseInfo`, :class:`PartStarted`, :class:`PartDelta`,
   :class:`PartEnded`, :class:`ToolCallEnded`, :class:`TokenUsage`,
   :class:`Finished`, :class:`Cancelled`).  Vendor error payloads and broken streams
   become a :class:`ChatStreamError`, raised after the events delivered before it.
3. :func:`to_canonical` and :func:`map_exception`: this library's events and errors
   to canonical events (JSON objects in the form of the suite's event schema), for
   the suite only.  The library's users never see canonical events.

:func:`stream` (async) and :func:`stream_sync` (a plain generator) drive the layers;
:func:`openai_chat_adapter` and :func:`openai_chat_adapter_sync` are the factories the
suite calls.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from conformance.harness.contract import Adapter, ByteChunks, Capability, StreamRequest

__all__ = [
    "Cancelled",
    "ChatParser",
    "ChatStreamError",
    "Finished",
    "PartDelta",
    "PartEnded",
    "PartStarted",
    "ResponseInfo",
    "SSEReader",
    "ServerSentEvent",
    "TokenUsage",
    "ToolCallEnded",
    "map_exception",
    "openai_chat_adapter",
    "openai_chat_adapter_sync",
    "stream",
    "stream_sync",
    "to_canonical",
]

# -- 1. bytes -> server-sent events ------------------------------------------------------

_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched server-sent event."""

    event: str
    data: str


class SSEReader:
    """Incremental SSE parser (WHATWG rules): ``feed(bytes)`` returns the events completed.

    Invalid UTF-8 stops it: ``feed`` still returns the events completed before the bad
    byte, and ``invalid`` then says what was wrong.
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._pending = ""
        self._first = True
        self._event = ""
        self._data: list[str] = []
        self.offset = 0
        """Bytes read so far."""
        self.invalid: str | None = None

    def feed(self, chunk: bytes, *, final: bool = False) -> list[ServerSentEvent]:
        """The events completed by ``chunk`` (``final``: no more bytes will come)."""
        if self.invalid is not None:
            return []
        self.offset += len(chunk)
        try:
            text = self._utf8.decode(chunk, final=final)
        except UnicodeDecodeError as exc:
            # exc.object is what the decoder held plus this chunk: keep its valid prefix
            text = exc.object[: exc.start].decode("utf-8")
            self.invalid = f"invalid UTF-8 ({exc.reason}) at byte {self.offset - len(exc.object) + exc.start}"
        if self._first and text:
            self._first = False
            text = text.removeprefix("\ufeff")
        # At the end, an unfinished event is dropped, as the SSE rules say.
        return self._lines(self._pending + text, final=final or self.invalid is not None)

    def _lines(self, text: str, *, final: bool) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        start = 0
        for match in _LINE_END.finditer(text):
            if match.group() == "\r" and match.end() == len(text) and not final:
                break  # maybe the first half of a CRLF: wait for the next read
            dispatched = self._line(text[start : match.start()])
            if dispatched is not None:
                events.append(dispatched)
            start = match.end()
        self._pending = text[start:]
        return events

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            event, data = self._event, self._data
            self._event, self._data = "", []
            if not data:
                return None
            return ServerSentEvent(event or "message", "\n".join(data))
        if line.startswith(":"):
            return None  # a comment (keep-alive)
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        return None  # "id" and "retry" do not matter to a one-shot stream


# -- 2. server-sent events -> this library's own events ----------------------------------


@dataclass(frozen=True, slots=True)
class ResponseInfo:
    """The response's id and the model that answered (either may be missing)."""

    response_id: str | None
    model: str | None


@dataclass(frozen=True, slots=True)
class PartStarted:
    """A part of the message began: ``kind`` is ``text``, ``refusal`` or ``tool_call``."""

    part: int
    kind: str
    call_id: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class PartDelta:
    """More text of a part (for a tool call: more of its JSON arguments)."""

    part: int
    text: str


@dataclass(frozen=True, slots=True)
class PartEnded:
    """A text or refusal part ended; ``cut_off`` when the output limit or an error ended it."""

    part: int
    cut_off: bool = False


@dataclass(frozen=True, slots=True)
class ToolCallEnded:
    """A tool call ended with all of its argument text.

    ``arguments`` is set only for a complete call whose text parses to a JSON object;
    otherwise ``problem`` says why not (a cut-off call is never parsed).
    """

    part: int
    arguments_text: str
    arguments: dict[str, Any] | None
    problem: str | None
    cut_off: bool = False


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """The token counts reported so far (each report replaces the previous one)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None  # OpenRouter
    reasoning_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Finished:
    """The response completed; ``finish_reason`` is OpenAI's value, verbatim;
    ``called``: a tool call was completed (some servers say ``tool_calls`` without one)."""

    finish_reason: str
    called: bool


@dataclass(frozen=True, slots=True)
class Cancelled:
    """The caller cancelled; ``usage`` is the last usage delivered before that."""

    usage: TokenUsage | None


StreamEvent = (
    ResponseInfo | PartStarted | PartDelta | PartEnded | ToolCallEnded | TokenUsage | Finished | Cancelled
)


class ChatStreamError(Exception):
    """The stream failed: ``kind`` is ``vendor`` (an error payload), ``protocol`` (the
    stream broke off or broke its own format) or ``decode`` (an undecodable payload)."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        offset: int,
        after_output: bool,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(f"{message} (at byte {offset})")
        self.kind = kind
        self.message = message
        self.offset = offset
        self.after_output = after_output
        self.status = status
        self.code = code


@dataclass(slots=True)
class _Call:
    part: int
    fragments: list[str] = field(default_factory=list)


def _count(obj: Any, key: str) -> int | None:
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _arguments(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """A complete call's arguments: the parsed object, or why there is none."""

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        value = json.loads(text or "{}", parse_constant=no_constants)
    except (ValueError, RecursionError) as exc:
        return None, f"invalid JSON: {exc}"
    if not isinstance(value, dict):
        return None, f"a JSON {type(value).__name__}, not an object"
    return value, None


class ChatParser:
    """Chat Completions chunks to stream events, for choice 0 (the response).

    ``feed(chunk)`` returns the events the chunk completed.  When the stream fails,
    the returned events end with the ends of the parts it cut off, ``failure`` holds
    the :class:`ChatStreamError` to raise, and the parser takes nothing more; when it
    completed (``data: [DONE]``), ``done`` is true.
    """

    def __init__(self) -> None:
        self._sse = SSEReader()
        self._out: list[StreamEvent] = []
        self._info = False
        self._parts = 0
        self._text: tuple[int, str] | None = None  # the open text-like part and its kind
        self._calls: dict[int, _Call] = {}
        self._finish_reason: str | None = None
        self.done = False
        self.failure: ChatStreamError | None = None

    @property
    def offset(self) -> int:
        """Bytes read so far."""
        return self._sse.offset

    def feed(self, chunk: bytes, *, final: bool = False) -> list[StreamEvent]:
        """The events ``chunk`` completes; ``final``: the input ends here, and a stream
        that has not reached ``data: [DONE]`` by then fails (it was cut off)."""
        if self.done or self.failure is not None:
            return []
        try:
            for sse in self._sse.feed(chunk, final=final):
                self._message(sse)
                if self.done:
                    return self._take()
        except ChatStreamError as exc:
            self._fail(exc)
            return self._take()
        if self._sse.invalid is not None:
            self._fail(self._error("decode", self._sse.invalid))
        elif final:
            self._fail(self._error("protocol", "the stream ended before data: [DONE]"))
        return self._take()

    # -- messages -------------------------------------------------------------------

    def _message(self, sse: ServerSentEvent) -> None:
        data = sse.data.strip()
        if data == "[DONE]":
            self._done()
            return
        if not data.startswith("{"):
            return  # "data: ping", an empty data line: keep-alives
        try:
            payload = json.loads(data)
        except ValueError as exc:
            raise self._error("decode", f"a data line is not JSON: {exc}") from None
        error = payload.get("error")
        if error is not None:
            raise self._vendor_error(error)
        response_id, model = payload.get("id"), payload.get("model")
        response_id = response_id if isinstance(response_id, str) and response_id else None
        model = model if isinstance(model, str) and model else None
        if not self._info and (response_id or model):
            self._info = True  # Azure's first chunk (prompt filter results) has neither
            self._out.append(ResponseInfo(response_id, model))
        for choice in payload.get("choices") or []:
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                self._choice(choice)
        usage = payload.get("usage")
        if isinstance(usage, dict):
            self._out.append(
                TokenUsage(
                    prompt_tokens=_count(usage, "prompt_tokens"),
                    completion_tokens=_count(usage, "completion_tokens"),
                    cached_tokens=_count(usage.get("prompt_tokens_details"), "cached_tokens"),
                    cache_write_tokens=_count(usage.get("prompt_tokens_details"), "cache_write_tokens"),
                    reasoning_tokens=_count(usage.get("completion_tokens_details"), "reasoning_tokens"),
                )
            )

    def _choice(self, choice: dict[str, Any]) -> None:
        delta = choice.get("delta") or {}
        for kind in ("content", "refusal"):
            text = delta.get(kind)
            if isinstance(text, str) and text:
                self._add_text("text" if kind == "content" else "refusal", text)
        for fragment in delta.get("tool_calls") or []:
            self._tool_fragment(fragment)
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason and self._finish_reason is None:
            self._finish_reason = reason  # finish comes at [DONE], after the usage chunk

    def _add_text(self, kind: str, text: str) -> None:
        if self._text is None or self._text[1] != kind:
            self._end_text(cut_off=False)
            self._text = (self._new_part(), kind)
            self._out.append(PartStarted(self._text[0], kind))
        self._out.append(PartDelta(self._text[0], text))

    def _tool_fragment(self, fragment: dict[str, Any]) -> None:
        index = fragment.get("index", len(self._calls))
        function = fragment.get("function") or {}
        call = self._calls.get(index)
        if call is None:
            self._end_text(cut_off=False)
            call = self._calls[index] = _Call(self._new_part())
            self._out.append(PartStarted(call.part, "tool_call", fragment.get("id"), function.get("name")))
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            call.fragments.append(arguments)
            self._out.append(PartDelta(call.part, arguments))

    # -- ends -----------------------------------------------------------------------

    def _new_part(self) -> int:
        self._parts += 1
        return self._parts - 1

    def _end_text(self, *, cut_off: bool) -> None:
        if self._text is not None:
            self._out.append(PartEnded(self._text[0], cut_off))
            self._text = None

    def _end_all(self, *, cut_off: bool) -> bool:
        """End every open part; True when a tool call ended complete."""
        self._end_text(cut_off=cut_off)
        called = bool(self._calls) and not cut_off
        for call in self._calls.values():
            text = "".join(call.fragments)
            if cut_off:
                self._out.append(ToolCallEnded(call.part, text, None, "the call was cut off", cut_off=True))
            else:
                arguments, problem = _arguments(text)
                self._out.append(ToolCallEnded(call.part, text or "{}", arguments, problem))
        self._calls.clear()
        return called

    def _done(self) -> None:
        if self._finish_reason is None:
            raise self._error("protocol", "data: [DONE] came before any finish_reason")
        # the output limit or a failed generation leaves open parts cut off
        cut_off = _FINISH_REASONS.get(self._finish_reason) in ("length", "error")
        called = self._end_all(cut_off=cut_off)
        self._out.append(Finished(self._finish_reason, called))
        self.done = True

    def _error(self, kind: str, message: str, **extra: Any) -> ChatStreamError:
        return ChatStreamError(kind, message, offset=self.offset, after_output=self._parts > 0, **extra)

    def _vendor_error(self, error: Any) -> ChatStreamError:
        if not isinstance(error, dict):
            return self._error("vendor", str(error))
        code, status, message = error.get("code"), error.get("status_code"), error.get("message")
        return self._error(
            "vendor",
            message if isinstance(message, str) else json.dumps(error),  # the vendor's words, verbatim
            status=status if isinstance(status, int) else None,
            code=code if isinstance(code, str) else error.get("type"),
        )

    def _fail(self, error: ChatStreamError) -> None:
        self._end_all(cut_off=True)
        self.failure = error

    def _take(self) -> list[StreamEvent]:
        out, self._out = self._out, []
        return out


# -- the byte-level stream functions ---------------------------------------------------


async def stream(request: StreamRequest, chunks: ByteChunks) -> AsyncIterator[StreamEvent]:
    """Parse the body, honouring ``request.cancel``; the byte source is closed however it ends."""
    parser = ChatParser()
    usage: TokenUsage | None = None  # the last usage delivered, for Cancelled
    reads = aiter(chunks)
    try:
        while not parser.done and parser.failure is None:
            try:
                batch = parser.feed(await anext(reads))
            except StopAsyncIteration:
                batch = parser.feed(b"", final=True)
            for event in batch:
                if request.cancel.is_set():
                    break
                usage = event if isinstance(event, TokenUsage) else usage
                yield event
            if request.cancel.is_set():
                yield Cancelled(usage)  # no further read, and nothing after this
                return
        if parser.failure is not None:
            raise parser.failure
    finally:
        await chunks.aclose()


def stream_sync(request: StreamRequest, chunks: ByteChunks) -> Iterator[StreamEvent]:
    """:func:`stream` for synchronous callers: the same parser, a plain generator."""
    parser = ChatParser()
    usage: TokenUsage | None = None
    reads = iter(chunks)
    try:
        while not parser.done and parser.failure is None:
            chunk = next(reads, None)
            batch = parser.feed(b"", final=True) if chunk is None else parser.feed(chunk)
            for event in batch:
                if request.cancel.is_set():
                    break
                usage = event if isinstance(event, TokenUsage) else usage
                yield event
            if request.cancel.is_set():
                yield Cancelled(usage)
                return
        if parser.failure is not None:
            raise parser.failure
    finally:
        chunks.close()


# -- 3. this library's events -> canonical events (for the suite only) -----------------

_FINISH_REASONS = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
    # OpenAI-compatible servers: Mistral's "error" and "model_length", and reasons passed
    # through from other vendors' APIs
    "error": "error",
    "model_length": "length",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "eos": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
}

_CATEGORIES = {
    "rate_limit_exceeded": "rate_limit",
    "rate_limit_error": "rate_limit",
    "insufficient_quota": "permission",
    "server_error": "server",
    "api_error": "server",
    "invalid_request_error": "invalid_request",
    "invalid_api_key": "auth",
    "authentication_error": "auth",
    "permission_error": "permission",
    "model_not_found": "not_found",
    "context_length_exceeded": "context_length",
    "content_filter": "content_filter",
}

_STATUS_CATEGORIES = {
    400: "invalid_request",
    401: "auth",
    403: "permission",
    404: "not_found",
    408: "timeout",
    413: "invalid_request",
    422: "invalid_request",
    429: "rate_limit",
    500: "server",
    502: "server",
    503: "overloaded",
    504: "timeout",
    529: "overloaded",
}


def _status_category(status: int | None) -> str:
    """What an HTTP status says about an error the vendor gave no known code for."""
    if status is None:
        return "unknown"
    if status in _STATUS_CATEGORIES:
        return _STATUS_CATEGORIES[status]
    return "server" if status >= 500 else "invalid_request" if status >= 400 else "unknown"


_RETRYABLE = {"rate_limit", "overloaded", "server", "timeout", "protocol"}


def _usage_json(usage: TokenUsage) -> dict[str, int]:
    counts = {
        "input_tokens": usage.prompt_tokens,
        "output_tokens": usage.completion_tokens,
        "cache_read": usage.cached_tokens,
        "cache_write": usage.cache_write_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
    }
    return {name: value for name, value in counts.items() if value is not None}


def to_canonical(event: StreamEvent) -> list[dict[str, Any]] | dict[str, Any] | None:
    """One of this library's events as canonical events (JSON objects)."""
    match event:
        case ResponseInfo(response_id=response_id, model=model):
            start: dict[str, Any] = {"type": "response.start"}
            return (
                start
                | ({"response_id": response_id} if response_id else {})
                | ({"model": model} if model else {})
            )
        case PartStarted(part=part, kind=kind, call_id=call_id, name=name):
            opened: dict[str, Any] = {"type": "block.start", "block": part, "kind": kind}
            return opened | {k: v for k, v in (("id", call_id), ("name", name)) if v is not None}
        case PartDelta(part=part, text=text):
            return {"type": "block.delta", "block": part, "text": text}
        case PartEnded(part=part, cut_off=cut_off):
            return {"type": "block.end", "block": part} | ({"incomplete": True} if cut_off else {})
        case ToolCallEnded(part=part, cut_off=True, arguments_text=text):
            return {"type": "block.end", "block": part, "incomplete": True, "arguments_raw": text}
        case ToolCallEnded(part=part, arguments_text=text, arguments=arguments, problem=problem):
            ended: dict[str, Any] = {"type": "block.end", "block": part, "arguments_raw": text}
            if arguments is not None:
                return ended | {"arguments": arguments}
            return ended | {"arguments_error": problem}
        case TokenUsage():
            counts = _usage_json(event)
            return {"type": "usage", **counts} if counts else None
        case Finished(finish_reason=raw, called=called):
            reason = _FINISH_REASONS.get(raw, "other")
            if reason == "tool_calls" and not called:
                reason = "other"  # SPEC: "tool_calls" only when a call was completed
            return {"type": "finish", "reason": reason, "raw_reason": raw}
        case Cancelled(usage=usage):
            known = _usage_json(usage) if usage is not None else {}
            return {"type": "abort", "reason": "consumer_cancel"} | ({"usage": known} if known else {})
    return None


def map_exception(exc: BaseException) -> dict[str, Any] | None:
    """A :class:`ChatStreamError` as a canonical ``error``; anything else is a crash (``None``)."""
    if not isinstance(exc, ChatStreamError):
        return None
    if exc.kind == "vendor":
        category = _CATEGORIES.get(exc.code or "") or _status_category(exc.status)
    else:
        category = exc.kind  # "protocol" or "decode"
    error: dict[str, Any] = {
        "type": "error",
        "category": category,
        "message": exc.message,
        "retryable": category in _RETRYABLE,
        "phase": "mid_stream" if exc.after_output else "before_output",
    }
    if exc.status is not None:
        error["status"] = exc.status
    if exc.code is not None:
        error["code"] = exc.code
    return error


# -- the factories the suite calls ------------------------------------------------------


def openai_chat_adapter() -> Adapter:
    """The async adapter: OpenAI and Azure OpenAI streams, with usage and the cancel signal."""
    return Adapter(
        name="acme",
        stream=stream,
        apis={"openai/chat-completions": ("openai", "azure")},
        framings=("sse",),
        capabilities=frozenset({Capability.USAGE, Capability.ABORT_SIGNAL}),
        to_canonical=to_canonical,
        map_exception=map_exception,
    )


def openai_chat_adapter_sync() -> Adapter:
    """The same parser behind a plain generator (the suite runs it in a worker thread)."""
    return Adapter(
        name="acmesync",
        stream=stream_sync,
        apis={"openai/chat-completions": ("openai", "azure")},
        framings=("sse",),
        capabilities=frozenset({Capability.USAGE, Capability.ABORT_SIGNAL}),
        to_canonical=to_canonical,
        map_exception=map_exception,
    )
