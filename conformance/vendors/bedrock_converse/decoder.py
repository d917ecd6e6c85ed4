"""Reference decoder for AWS Bedrock ConverseStream: eventstream frames -> canonical events.  No I/O.

Frames are dispatched on ``:message-type``: ``event`` frames on ``:event-type`` (the
members of botocore's ``ConverseStreamOutput`` union), ``exception`` frames on
``:exception-type``, generic ``error`` frames on their ``:error-code``/``:error-message``
headers.  The mapping tables (stop reasons, exception types) live here and are shared
with the encoder and the strategies, so the three cannot drift apart.

Strategy (blocks): Bedrock numbers content blocks with ``contentBlockIndex`` and sends a
``contentBlockStart`` only for ``toolUse``/``toolResult``/``image`` blocks; text and
reasoning blocks begin with their first non-empty delta (quirk 60), and an empty text
delta opens nothing (quirk 61), so its ``contentBlockStop`` later finds no open block
and is ignored.  The builder key of a block is its ``contentBlockIndex``; a delta of a
different kind than the block open under that index is a defective stream.  Citation
deltas become their own ``citation`` blocks (opened and ended on the spot, keyed apart
from the index's text block).  Signature and redacted reasoning data are collected
per index and attached to the reasoning block's end.  The stop reason is remembered at
``messageStop``, usage is emitted at ``metadata``, and ``finish`` is emitted at the
clean end of input, only when both were seen.  Frames are routed by their
``:message-type``/``:event-type`` pair, cached per header tuple (the framing reuses one
tuple for identical header blocks), and plain text deltas take a fast path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from conformance.errors import PayloadError
from conformance.events import ErrorCategory, FinishReason, JSONObject, JSONValue
from conformance.framing import new_decoder as new_framing_decoder
from conformance.framing.messages import EventStreamMessage
from conformance.vendors._base import VendorDecoder, parse_payload
from conformance.vendors._builder import TOOL_KINDS
from conformance.vendors._payload import may, need

if TYPE_CHECKING:
    from collections.abc import Callable

    from conformance.framing.messages import Message

__all__ = [
    "EXCEPTION_CATEGORIES",
    "IMAGE_KIND",
    "STATUS_EXCEPTIONS",
    "STOP_REASONS",
    "BedrockConverseDecoder",
    "category_for_exception",
    "finish_reason_for",
]

#: Bedrock ``StopReason`` (botocore service-2.json) -> unified reason.
STOP_REASONS: Final[dict[str, FinishReason]] = {
    "end_turn": FinishReason.STOP,
    "stop_sequence": FinishReason.STOP,
    "tool_use": FinishReason.TOOL_CALLS,
    "max_tokens": FinishReason.LENGTH,
    "model_context_window_exceeded": FinishReason.LENGTH,
    "guardrail_intervened": FinishReason.CONTENT_FILTER,
    "content_filtered": FinishReason.CONTENT_FILTER,
    "malformed_model_output": FinishReason.OTHER,
    "malformed_tool_use": FinishReason.OTHER,
}

#: ``:exception-type`` -> category.  The first five are the exceptions of the
#: ``ConverseStreamOutput`` union; the rest are ConverseStream's operation errors
#: (sent as HTTP errors, mapped here too in case a server sends them in-stream).
EXCEPTION_CATEGORIES: Final[dict[str, ErrorCategory]] = {
    "throttlingException": ErrorCategory.RATE_LIMIT,
    "modelStreamErrorException": ErrorCategory.SERVER,
    "validationException": ErrorCategory.INVALID_REQUEST,
    "serviceUnavailableException": ErrorCategory.OVERLOADED,
    "internalServerException": ErrorCategory.SERVER,
    "modelTimeoutException": ErrorCategory.TIMEOUT,
    "modelNotReadyException": ErrorCategory.OVERLOADED,
    "modelErrorException": ErrorCategory.SERVER,
    "accessDeniedException": ErrorCategory.PERMISSION,
    "resourceNotFoundException": ErrorCategory.NOT_FOUND,
}

#: Exceptions whose payload carries the model's ``originalStatusCode`` (-> ``status``).
STATUS_EXCEPTIONS: Final = frozenset({"modelStreamErrorException", "modelErrorException"})

#: The extension block kind of a streamed image (``contentBlockStart.start.image``).
IMAGE_KIND: Final = "x-bedrock-image"

_PADDING: Final = "p"
_DELTA_MEMBERS: Final = ("text", "reasoningContent", "toolUse", "toolResult", "citation", "image")
_START_MEMBERS: Final = ("toolUse", "toolResult", "image")


def finish_reason_for(raw: str, *, has_tool_call: bool) -> FinishReason:
    """The unified reason for a Bedrock ``stopReason``.

    ``tool_use`` without a complete client tool call (e.g. after a server tool only)
    is ``other``: ``tool_calls`` would tell the consumer to run a call it does not have.
    """
    reason = STOP_REASONS.get(raw, FinishReason.OTHER)
    if reason is FinishReason.TOOL_CALLS and not has_tool_call:
        return FinishReason.OTHER
    return reason


def category_for_exception(code: str) -> ErrorCategory:
    """The category of an exception type or error code (``ThrottlingException`` too)."""
    found = EXCEPTION_CATEGORIES.get(code)
    if found is None and code:
        found = EXCEPTION_CATEGORIES.get(code[0].lower() + code[1:])
    return ErrorCategory.UNKNOWN if found is None else found


def _without_padding(obj: JSONObject) -> JSONObject:
    return {k: v for k, v in obj.items() if k != _PADDING} if _PADDING in obj else obj


class BedrockConverseDecoder(VendorDecoder):
    """Bedrock ConverseStream (``application/vnd.amazon.eventstream``) -> canonical events."""

    TERMINATOR = "messageStop and metadata"

    def __init__(self, framing: str, flavour: str) -> None:
        super().__init__(new_framing_decoder(framing), flavour=flavour)
        self._stop: str | None = None
        self._metadata = False
        self._complete_calls = 0
        self._signatures: dict[int, str] = {}
        self._redacted: dict[int, str] = {}
        self._results: dict[int, list[JSONValue]] = {}
        self._route_cache: dict[int, tuple[object, tuple[str | None, str | None]]] = {}
        self._events: dict[str, Callable[[JSONObject, int], None]] = {
            "messageStart": self._message_start,
            "contentBlockStart": self._block_start,
            "contentBlockDelta": self._block_delta,
            "contentBlockStop": self._block_stop,
            "messageStop": self._message_stop,
            "metadata": self._metadata_event,
        }

    # -- frames --------------------------------------------------------------------

    def on_message(self, message: Message) -> None:
        if self.out.terminated:
            return
        if not isinstance(message, EventStreamMessage):
            raise PayloadError(f"expected an eventstream frame, got {type(message).__name__}", offset=-1)
        offset = message.offset
        cached = self._route_cache.get(id(message.headers))
        if cached is not None and cached[0] is message.headers:
            kind, event_type = cached[1]
        else:
            kind, event_type = self._routing(message)
        if kind == "event":
            if event_type is None:
                raise PayloadError("event frame without an :event-type header", offset=offset)
            handler = self._events.get(event_type)
            if handler is None:
                self.out.unknown(event_type, _lenient_json(message))
                return
            handler(_payload(message), offset)
        elif kind == "exception":
            self._exception(message)
        elif kind == "error":
            code = _header(message, ":error-code")
            text = _header(message, ":error-message")
            code = "unknown error" if code is None else code
            self.out.error(category_for_exception(code), code if text is None else text, code=code)
        else:
            self.out.unknown(f":message-type {kind}", _lenient_json(message))

    def _routing(self, message: EventStreamMessage) -> tuple[str | None, str | None]:
        """``(:message-type, :event-type)``, cached per header tuple: the framing shares
        one tuple between frames with identical header blocks, and Bedrock repeats them.
        (:meth:`on_message` looks in the cache first.)"""
        headers = message.headers
        route = (_header(message, ":message-type"), _header(message, ":event-type"))
        if len(self._route_cache) >= 64:
            self._route_cache.clear()
        self._route_cache[id(headers)] = (headers, route)
        return route

    def on_end(self) -> None:
        if self._stop is None:
            return  # the base class reports the missing terminator
        if not self._metadata:
            self.out.error(
                ErrorCategory.PROTOCOL,
                "the stream ended after messageStop without its metadata event (the usage is lost)",
            )
            return
        has_call = self._complete_calls > 0 or any(
            self.out.kind_of(key) == "tool_call" for key in self.out.open_keys()
        )
        self.out.finish(finish_reason_for(self._stop, has_tool_call=has_call), self._stop)

    # -- events --------------------------------------------------------------------

    def _message_start(self, payload: JSONObject, offset: int) -> None:
        need(payload, "role", str, offset)
        self.out.start()

    def _block_start(self, payload: JSONObject, offset: int) -> None:
        index = _index(payload, offset)
        start = need(payload, "start", dict, offset)
        members = [m for m in _START_MEMBERS if start.get(m) is not None]
        if not members:
            if start:  # a start kind this decoder does not know
                self.out.unknown("contentBlockStart", _without_padding(payload))
            return  # an empty start (other servers, for text): the first delta opens the block
        if len(members) > 1:
            raise PayloadError(f"contentBlockStart.start has {len(members)} members, not one", offset=offset)
        if self.out.is_open(index):
            raise PayloadError(f"contentBlockStart for block index {index}, which is open", offset=offset)
        member = members[0]
        body = need(start, member, dict, offset)
        if member == "toolUse":
            call_id = need(body, "toolUseId", str, offset)
            name = need(body, "name", str, offset)
            if not name:
                raise PayloadError("toolUse name is empty", offset=offset)
            kind = "tool_call" if body.get("type") is None else "server_tool_call"
            self.out.open(index, kind, id=call_id, name=name)
        elif member == "toolResult":
            call_id = need(body, "toolUseId", str, offset)
            header = {k: v for k, v in body.items() if k != "toolUseId"}
            self.out.open(index, "server_tool_result", id=call_id, data=header or None)
            self._results[index] = []
        else:
            self.out.open(index, IMAGE_KIND, data=body)

    def _block_delta(self, payload: JSONObject, offset: int) -> None:
        # The hot path: plain type checks first, _index()/need() only to word an error.
        index, delta = payload.get("contentBlockIndex"), payload.get("delta")
        if type(index) is not int or index < 0 or type(delta) is not dict:
            index, delta = _index(payload, offset), need(payload, "delta", dict, offset)
        if len(delta) == 1 and type(text := delta.get("text")) is str:  # the common case, fast
            if text:  # an empty text delta opens no block (quirk 61)
                if self.out.kind_of(index) != "text":
                    self._open_as(index, "text", offset)
                self.out.delta(index, text)
            return
        if len(delta) == 1:  # the usual shape: one member
            [(member, value)] = delta.items()
            present = [] if value is None else [member]
        else:
            present = [k for k, v in delta.items() if v is not None]
        if len(present) != 1 or present[0] not in _DELTA_MEMBERS:
            if not any(m in _DELTA_MEMBERS for m in present):
                self.out.unknown("contentBlockDelta", _without_padding(payload))
                return
            raise PayloadError(f"contentBlockDelta.delta has {len(present)} members, not one", offset=offset)
        member = present[0]
        if member == "text":
            text = need(delta, "text", str, offset)
            if text:  # an empty text delta opens no block (quirk 61)
                self._open_as(index, "text", offset)
                self.out.delta(index, text)
        elif member == "reasoningContent":
            self._reasoning(index, need(delta, member, dict, offset), offset)
        elif member == "toolUse":
            fragment = need(need(delta, member, dict, offset), "input", str, offset)
            if self.out.kind_of(index) not in TOOL_KINDS:
                raise PayloadError(
                    f"toolUse input for block index {index}, which is no open toolUse block", offset=offset
                )
            self.out.delta(index, fragment)
        elif member == "toolResult":
            self._tool_result(index, need(delta, member, list, offset), payload, offset)
        elif member == "citation":
            key = ("citation", index)
            self.out.open(key, "citation", data=need(delta, member, dict, offset))
            self.out.end(key)
        else:
            self._image(index, need(delta, member, dict, offset), payload, offset)

    def _reasoning(self, index: int, body: JSONObject, offset: int) -> None:
        text = may(body, "text", str, offset, "")
        redacted = may(body, "redactedContent", str, offset, "")
        signature = may(body, "signature", str, offset, "")
        if not (text or redacted or signature):
            if any(k not in ("text", "redactedContent", "signature") for k in body):
                self.out.unknown(
                    "contentBlockDelta", {"contentBlockIndex": index, "delta": {"reasoningContent": body}}
                )
            return
        self._open_as(index, "reasoning", offset)
        self.out.delta(index, text)
        if redacted:
            self._redacted[index] = self._redacted.get(index, "") + redacted
        if signature:
            self._signatures[index] = self._signatures.get(index, "") + signature

    def _tool_result(self, index: int, items: list[JSONValue], payload: JSONObject, offset: int) -> None:
        if self.out.kind_of(index) != "server_tool_result":
            raise PayloadError(
                f"toolResult delta for block index {index}, which is no open toolResult block", offset=offset
            )
        for item in items:
            if not isinstance(item, dict):
                raise PayloadError(
                    f"a toolResult delta item should be an object, got {type(item).__name__}", offset=offset
                )
            if item.get("text") is not None:
                self.out.delta(index, need(item, "text", str, offset))
            elif "json" in item:
                self._results[index].append(item["json"])
            else:
                self.out.unknown("contentBlockDelta", _without_padding(payload))

    def _image(self, index: int, body: JSONObject, payload: JSONObject, offset: int) -> None:
        self._open_as(index, IMAGE_KIND, offset)
        source = may(body, "source", dict, offset)
        data = None if source is None else may(source, "bytes", str, offset)
        if data is None:  # an s3Location or an error: no bytes to stream
            self.out.unknown("contentBlockDelta", _without_padding(payload))
        else:
            self.out.delta(index, data)

    def _block_stop(self, payload: JSONObject, offset: int) -> None:
        index = _index(payload, offset)
        kind = self.out.kind_of(index)
        if kind is None:
            return  # only empty deltas (or nothing) came for this index: no block was opened
        if kind == "tool_call":
            self._complete_calls += 1
        results = self._results.pop(index, None)
        self.out.end(
            index,
            signature=self._signatures.pop(index, None),
            redacted=self._redacted.pop(index, None),
            data=results or None,
        )

    def _message_stop(self, payload: JSONObject, offset: int) -> None:
        reason = need(payload, "stopReason", str, offset)
        if self._stop is None:  # a repeated messageStop does not overwrite the first
            self._stop = reason

    def _metadata_event(self, payload: JSONObject, offset: int) -> None:
        usage = need(payload, "usage", dict, offset)
        uncached = _count(usage, "inputTokens", offset, required=True)
        output = _count(usage, "outputTokens", offset, required=True)
        read = _count(usage, "cacheReadInputTokens", offset)
        write = _count(usage, "cacheWriteInputTokens", offset)
        # inputTokens counts only the uncached part of the prompt (AWS prompt-caching guide):
        # the canonical input_tokens is the whole prompt.
        total_input = (uncached or 0) + (read or 0) + (write or 0)
        self.out.usage(input_tokens=total_input, output_tokens=output, cache_read=read, cache_write=write)
        self._metadata = True

    def _exception(self, message: EventStreamMessage) -> None:
        code = _header(message, ":exception-type")
        code = "unknown exception" if code is None else code
        body = _lenient_json(message)
        text: str | None = None
        status: int | None = None
        if isinstance(body, dict):
            found = body.get("message")
            text = found if isinstance(found, str) else None
            original = body.get("originalStatusCode")
            if code in STATUS_EXCEPTIONS and isinstance(original, int) and not isinstance(original, bool):
                status = original if 100 <= original <= 599 else None
        elif message.payload:
            text = message.payload.decode("utf-8", "replace")
        self.out.error(category_for_exception(code), code if text is None else text, status=status, code=code)

    # -- helpers -------------------------------------------------------------------

    def _open_as(self, index: int, kind: str, offset: int) -> None:
        """Open ``kind`` under ``index`` unless it is open; another kind there is defective."""
        current = self.out.kind_of(index)
        if current is None:
            self.out.open(index, kind)
        elif current != kind:
            raise PayloadError(
                f"a {kind} delta for block index {index}, which is a {current} block", offset=offset
            )


def _header(message: EventStreamMessage, name: str) -> str | None:
    value = message.header(name)
    if value is None or isinstance(value, str):
        return value
    raise PayloadError(f"header {name} should be a string, got {type(value).__name__}", offset=message.offset)


def _payload(message: EventStreamMessage) -> JSONObject:
    try:
        text = message.payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"payload is not UTF-8 ({exc.reason})", offset=message.offset) from None
    return parse_payload(text, message.offset)


def _lenient_json(message: EventStreamMessage) -> JSONValue:
    """The payload as JSON for ``unknown``/exception frames (``None`` if it is not JSON)."""
    try:
        return _without_padding(_payload(message))
    except PayloadError:
        return None


def _count(usage: JSONObject, key: str, offset: int, *, required: bool = False) -> int | None:
    value = need(usage, key, int, offset) if required else may(usage, key, int, offset)
    if value is not None and value < 0:
        raise PayloadError(f"usage.{key} is negative ({value})", offset=offset)
    return value


def _index(payload: JSONObject, offset: int) -> int:
    index = need(payload, "contentBlockIndex", int, offset)
    if index < 0:
        raise PayloadError(f"contentBlockIndex is negative ({index})", offset=offset)
    return index
