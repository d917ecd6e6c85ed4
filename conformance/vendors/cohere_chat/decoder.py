"""Reference decoder for Cohere v2 Chat streaming (``cohere/chat``).  No I/O.

Wire: SSE whose ``event:`` names repeat each payload's JSON ``type``; dispatch is on the
JSON ``type`` only (``sse.mixed_named_and_unnamed_events``), and a bare ``data: [DONE]``
(no event line, not JSON) follows ``message-end`` (``cohere.done_after_message_end``).

Mapping (block keys: ``("content", index)``, ``("tool", index)``, ``("citation", index)``
and ``PLAN``; Cohere numbers content, tool calls and citations separately):

* ``message-start`` -> ``response.start`` with the message ``id`` (Cohere sends no model);
* ``content-start`` with ``content.type`` ``text``/``thinking`` opens a ``text``/``reasoning``
  block; ``content-delta`` carries ``content.text``/``content.thinking``; ``content-end``
  ends it.  Another content type is reported as ``unknown`` (with its deltas and end);
* ``tool-plan-delta`` -> a ``reasoning`` block (the package docstring says why);
  it has no start or end event, so it ends when the next block starts (content, tool call
  or citation), or at the terminal;
* ``tool-call-start`` (``tool_calls`` is an object there, not a list) -> ``tool_call`` with
  the call ``id`` and ``function.name``; its initial ``arguments`` (``""``) and each
  ``tool-call-delta`` fragment are argument deltas; ``tool-call-end`` ends it.  An empty
  id counts as none; a call id used twice is a defective payload (its results could not
  be routed back);
* ``citation-start`` -> a ``citation`` block whose ``data`` is the ``citations`` object as
  sent; ``citation-end`` ends it;
* ``message-end`` is the terminal: ``usage.tokens`` gives input/output tokens and
  ``usage.cached_tokens`` the cache read (``billed_units`` are billing units, not token
  counts, and are ignored); ``finish_reason`` ``COMPLETE``/``STOP_SEQUENCE`` -> ``stop``,
  ``MAX_TOKENS`` -> ``length``, ``TOOL_CALL`` -> ``tool_calls`` (``other`` if no tool call
  was made), anything else -> ``other``; ``ERROR`` and ``TIMEOUT`` become an ``error``
  event (``cohere.error_via_finish_reason``) with the vendor's ``error`` message and its
  ``error_type`` (else the finish reason) as ``code``;
* ``debug`` -> nothing; any other type -> ``unknown``.

``[DONE]`` is accepted but not required: ``message-end`` already carries everything and
cohere-py stops at either.  A ``[DONE]`` before ``message-end`` is a ``protocol`` error;
payloads after ``message-end`` are reported as ``unknown``; after a failure nothing is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conformance.errors import PayloadError
from conformance.events import ErrorCategory, FinishReason, JSONObject, JSONValue
from conformance.framing.messages import SSEEvent
from conformance.vendors._base import VendorDecoder, parse_payload, sse_decoder
from conformance.vendors._payload import may, need

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

    from conformance.framing.messages import Message

__all__ = [
    "CONTENT_TYPES",
    "DONE",
    "ERROR_TYPES",
    "FAILURE_REASONS",
    "FINISH_REASONS",
    "PLAN",
    "CohereChatDecoder",
    "failure_category",
    "failure_message",
    "finish_reason_for",
]

#: The non-JSON sentinel after ``message-end``.
DONE = "[DONE]"

#: Block key of the tool plan (``tool-plan-delta`` has no index).
PLAN = ("plan",)

#: ``content.type`` -> (canonical kind, the field holding its text in deltas).
CONTENT_TYPES: dict[str, tuple[str, str]] = {"text": ("text", "text"), "thinking": ("reasoning", "thinking")}

#: Cohere ``finish_reason`` -> unified reason (cohere-py ``chat_finish_reason.py``).
FINISH_REASONS: dict[str, FinishReason] = {
    "COMPLETE": FinishReason.STOP,
    "STOP_SEQUENCE": FinishReason.STOP,
    "MAX_TOKENS": FinishReason.LENGTH,
    "TOOL_CALL": FinishReason.TOOL_CALLS,
}

#: Finish reasons that report a failure: they become an ``error`` event.
FAILURE_REASONS = frozenset({"ERROR", "TIMEOUT"})

#: ``error_type`` -> category.  Cohere answers INVALID_TOOL_GENERATION with HTTP 422
#: outside a stream and tells the user to change the messages or tool definitions.
ERROR_TYPES: dict[str, ErrorCategory] = {"INVALID_TOOL_GENERATION": ErrorCategory.INVALID_REQUEST}


def finish_reason_for(raw: str | None, *, tool_calls: bool) -> FinishReason:
    """The unified reason of a non-failure ``finish_reason`` (``None``: none was sent)."""
    reason = FINISH_REASONS.get(raw, FinishReason.OTHER) if raw is not None else FinishReason.OTHER
    if reason is FinishReason.TOOL_CALLS and not tool_calls:
        return FinishReason.OTHER  # a consumer told to run tools needs a call to run
    return reason


def failure_category(raw: str, error_type: str | None) -> ErrorCategory:
    """The error category of a failure ``finish_reason`` and its ``error_type``."""
    if error_type is not None and error_type in ERROR_TYPES:
        return ERROR_TYPES[error_type]
    return ErrorCategory.TIMEOUT if raw == "TIMEOUT" else ErrorCategory.UNKNOWN


def failure_message(raw: str) -> str:
    """What an ``error`` says when ``message-end`` carries no ``error`` message."""
    return f"Cohere ended the response with finish_reason {raw}"


def _count(obj: JSONObject, key: str, offset: int) -> int | None:
    value = may(obj, key, int, offset)
    if value is not None and value < 0:
        raise PayloadError(f"token count {key!r} is negative: {value}", offset=offset)
    return value


def _dig(obj: JSONValue, *path: str) -> JSONValue:
    """``obj[p0][p1]...``, or ``None`` when any step is missing or not an object."""
    for step in path:
        if type(obj) is not dict:
            return None
        obj = obj.get(step)
    return obj


def _message(payload: JSONObject, offset: int) -> JSONObject:
    return need(need(payload, "delta", dict, offset), "message", dict, offset)


class CohereChatDecoder(VendorDecoder):
    """Cohere v2 ``/v2/chat`` SSE stream -> canonical events."""

    TERMINATOR = "message-end"

    def __init__(self, framing: str, flavour: str) -> None:
        super().__init__(sse_decoder(), flavour=flavour)
        self._fields: dict[Hashable, str] = {}  # open content key -> its delta field
        self._skipped: set[int] = set()  # content indices of unknown content types
        self._tool_ids: set[str] = set()
        self._ended = False  # message-end was seen
        self._tool_calls = 0
        self._handlers: dict[str, Callable[[JSONObject, int], None]] = {
            "message-start": self._message_start,
            "content-start": self._content_start,
            "content-delta": self._content_delta,
            "content-end": self._content_end,
            "tool-plan-delta": self._tool_plan_delta,
            "tool-call-start": self._tool_call_start,
            "tool-call-delta": self._tool_call_delta,
            "tool-call-end": self._tool_call_end,
            "citation-start": self._citation_start,
            "citation-end": self._citation_end,
            "message-end": self._message_end,
        }

    def on_message(self, message: Message) -> None:
        if not isinstance(message, SSEEvent):
            return
        offset = message.offset
        data = message.data
        if data[:1] != "{" and data.strip() == DONE:
            if not self.out.terminated:
                self.out.error(
                    ErrorCategory.PROTOCOL, f"byte {offset}: data: [DONE] arrived before message-end"
                )
            return
        if self.out.terminated and not self._ended:
            return  # the stream already failed: nothing after that is trusted
        payload = parse_payload(data, offset)
        type_ = payload.get("type")
        if type(type_) is not str:
            type_ = need(payload, "type", str, offset)
        if self._ended:
            self.out.unknown(type_, payload)  # after message-end; cohere-py stops reading there
            return
        handler = self._handlers.get(type_)
        if handler is not None:
            handler(payload, offset)
        elif type_ != "debug":
            self.out.unknown(type_, payload)

    # -- helpers -------------------------------------------------------------------

    def _open_key(self, prefix: str, payload: JSONObject, offset: int, *, must_be_open: bool) -> Hashable:
        index = need(payload, "index", int, offset)
        key = (prefix, index)
        if self.out.is_open(key) != must_be_open:
            state = "not open" if must_be_open else "already open"
            raise PayloadError(f"{payload['type']} for index {index}, which is {state}", offset=offset)
        return key

    def _close_plan(self) -> None:
        if self.out.is_open(PLAN):
            self.out.end(PLAN)

    # -- handlers ------------------------------------------------------------------

    def _message_start(self, payload: JSONObject, offset: int) -> None:
        self.out.start(response_id=may(payload, "id", str, offset))

    def _content_start(self, payload: JSONObject, offset: int) -> None:
        content = need(_message(payload, offset), "content", dict, offset)
        content_type = need(content, "type", str, offset)
        index = need(payload, "index", int, offset)
        if content_type not in CONTENT_TYPES:
            self._skipped.add(index)
            self.out.unknown(f"content-start:{content_type}", payload)
            return
        self._skipped.discard(index)
        key = self._open_key("content", payload, offset, must_be_open=False)
        kind, field = CONTENT_TYPES[content_type]
        initial = may(content, field, str, offset, "")
        self._close_plan()
        self.out.open(key, kind)
        self._fields[key] = field
        self.out.delta(key, initial)

    def _content_delta(self, payload: JSONObject, offset: int) -> None:
        # Fast path for the commonest event (plain type checks, _dig inlined); the checked
        # path below names the defect.
        index = payload.get("index")
        fast: Hashable = ("content", index)
        field = self._fields.get(fast) if type(index) is int else None
        if field is not None:
            delta = payload.get("delta")
            message = delta.get("message") if type(delta) is dict else None
            content = message.get("content") if type(message) is dict else None
            text = content.get(field) if type(content) is dict else None
            if type(text) is str:
                self.out.delta(fast, text)
                return
        if need(payload, "index", int, offset) in self._skipped:
            self.out.unknown("content-delta", payload)
            return
        key = self._open_key("content", payload, offset, must_be_open=True)
        content = need(_message(payload, offset), "content", dict, offset)
        self.out.delta(key, need(content, self._fields[key], str, offset))

    def _content_end(self, payload: JSONObject, offset: int) -> None:
        index = need(payload, "index", int, offset)
        if index in self._skipped:
            self._skipped.discard(index)
            self.out.unknown("content-end", payload)
            return
        key = self._open_key("content", payload, offset, must_be_open=True)
        del self._fields[key]
        self.out.end(key)

    def _tool_plan_delta(self, payload: JSONObject, offset: int) -> None:
        text = need(_message(payload, offset), "tool_plan", str, offset)
        if text and not self.out.is_open(PLAN):
            self.out.open(PLAN, "reasoning")
        if text:
            self.out.delta(PLAN, text)

    def _tool_call_start(self, payload: JSONObject, offset: int) -> None:
        call = need(_message(payload, offset), "tool_calls", dict, offset)
        function = need(call, "function", dict, offset)
        name = need(function, "name", str, offset)
        if not name:
            raise PayloadError("tool-call-start with an empty function name", offset=offset)
        arguments = may(function, "arguments", str, offset, "")
        call_id = may(call, "id", str, offset) or None  # an empty id is no id
        if call_id is not None and call_id in self._tool_ids:
            raise PayloadError(f"tool call id {call_id!r} is used twice", offset=offset)
        key = self._open_key("tool", payload, offset, must_be_open=False)
        if call_id is not None:
            self._tool_ids.add(call_id)
        self._close_plan()
        self.out.open(key, "tool_call", id=call_id, name=name)
        self.out.delta(key, arguments)
        self._tool_calls += 1

    def _tool_call_delta(self, payload: JSONObject, offset: int) -> None:
        fast: Hashable = ("tool", payload.get("index"))
        if type(payload.get("index")) is int and self.out.is_open(fast):  # fast path, as for content deltas
            text = _dig(payload, "delta", "message", "tool_calls", "function", "arguments")
            if type(text) is str:
                self.out.delta(fast, text)
                return
        key = self._open_key("tool", payload, offset, must_be_open=True)
        call = need(_message(payload, offset), "tool_calls", dict, offset)
        function = need(call, "function", dict, offset)
        self.out.delta(key, need(function, "arguments", str, offset))

    def _tool_call_end(self, payload: JSONObject, offset: int) -> None:
        self.out.end(self._open_key("tool", payload, offset, must_be_open=True))

    def _citation_start(self, payload: JSONObject, offset: int) -> None:
        citation = need(_message(payload, offset), "citations", dict, offset)
        key = self._open_key("citation", payload, offset, must_be_open=False)
        self._close_plan()
        self.out.open(key, "citation", data=citation)

    def _citation_end(self, payload: JSONObject, offset: int) -> None:
        self.out.end(self._open_key("citation", payload, offset, must_be_open=True))

    def _message_end(self, payload: JSONObject, offset: int) -> None:
        delta = need(payload, "delta", dict, offset)
        raw = may(delta, "finish_reason", str, offset)
        usage = may(delta, "usage", dict, offset, {})
        tokens = may(usage, "tokens", dict, offset, {})
        counts = {
            "input_tokens": _count(tokens, "input_tokens", offset),
            "output_tokens": _count(tokens, "output_tokens", offset),
            "cache_read": _count(usage, "cached_tokens", offset),
        }
        failed = raw is not None and raw in FAILURE_REASONS
        message = may(delta, "error", str, offset) if failed else None
        error_type = may(delta, "error_type", str, offset) if failed else None
        self._ended = True
        self.out.usage(**counts)
        if raw is not None and failed:
            code = error_type or raw
            self.out.error(failure_category(raw, error_type), message or failure_message(raw), code=code)
        else:
            self.out.finish(finish_reason_for(raw, tool_calls=self._tool_calls > 0), raw)
