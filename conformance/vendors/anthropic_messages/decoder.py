"""Reference decoder for Anthropic Messages streaming: SSE payloads -> canonical events.  No I/O.

Dispatch is on the payload's JSON ``type`` (the SSE ``event:`` name is only a fallback
when the JSON has none: quirk ``sse.mixed_named_and_unnamed_events``).  Content blocks
are keyed by the vendor's ``index`` (never the tool id), one canonical block each;
``citations_delta`` becomes a ``citation`` block opened and ended at its place in the
stream.  The package docstring lists every mapping decision and its source.

Strategy: the message-level state is small (the first ``message_start``, the last
stop reason, the vendor's raw usage counts); per open block only its vendor type and
the signature or redacted data its end will carry.  Everything canonical goes through
the :class:`~conformance.vendors._builder.ResponseBuilder`; before any terminal the
decoder ends the open blocks itself (incomplete), so that a thinking block cut off
after its ``signature_delta`` still carries the signature.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from conformance.errors import PayloadError
from conformance.events import ErrorCategory, FinishReason, JSONObject, JSONValue
from conformance.framing.messages import Message, SSEEvent
from conformance.vendors._base import VendorDecoder, parse_payload, sse_decoder
from conformance.vendors._payload import may, need

__all__ = [
    "ERROR_CATEGORIES",
    "RESULT_SUFFIX",
    "STOP_REASONS",
    "TOOL_BLOCK_KINDS",
    "AnthropicMessagesDecoder",
]

#: ``stop_reason`` -> unified reason (anth-py ``types/stop_reason.py``); any other
#: value is ``other`` with the raw value kept.
STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": FinishReason.STOP,
    "stop_sequence": FinishReason.STOP,
    "max_tokens": FinishReason.LENGTH,
    "model_context_window_exceeded": FinishReason.LENGTH,
    "tool_use": FinishReason.TOOL_CALLS,
    "pause_turn": FinishReason.PAUSE,
    "refusal": FinishReason.REFUSAL,
}

#: ``error.type`` of an ``event: error`` payload -> category (anth-docs "Errors";
#: any other type is ``unknown``, with the type kept in ``code``).
ERROR_CATEGORIES: dict[str, ErrorCategory] = {
    "invalid_request_error": ErrorCategory.INVALID_REQUEST,
    "request_too_large": ErrorCategory.INVALID_REQUEST,
    "authentication_error": ErrorCategory.AUTH,
    "permission_error": ErrorCategory.PERMISSION,
    "billing_error": ErrorCategory.PERMISSION,
    "not_found_error": ErrorCategory.NOT_FOUND,
    "rate_limit_error": ErrorCategory.RATE_LIMIT,
    "api_error": ErrorCategory.SERVER,
    "timeout_error": ErrorCategory.TIMEOUT,
    "overloaded_error": ErrorCategory.OVERLOADED,
}

#: Content block types whose ``input_json_delta`` fragments are tool arguments.
TOOL_BLOCK_KINDS: dict[str, str] = {
    "tool_use": "tool_call",
    "server_tool_use": "server_tool_call",
    "mcp_tool_use": "server_tool_call",
}

#: Content block types ending in this are provider-executed tool results.
RESULT_SUFFIX = "_tool_result"

#: Delta type -> (payload field, content block types it may extend).
_DELTAS: dict[str, tuple[str, frozenset[str]]] = {
    "text_delta": ("text", frozenset({"text"})),
    "thinking_delta": ("thinking", frozenset({"thinking"})),
    "input_json_delta": ("partial_json", frozenset(TOOL_BLOCK_KINDS)),
    "signature_delta": ("signature", frozenset({"thinking"})),
    "citations_delta": ("citation", frozenset({"text"})),
}

_USAGE_COUNTS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")


def _compact(value: JSONValue) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(slots=True)
class _Block:
    """An open content block: its vendor type and what its end will carry."""

    vtype: str
    signature: str | None = None
    redacted: str | None = None


class AnthropicMessagesDecoder(VendorDecoder):
    """Anthropic Messages ``stream: true`` bytes -> canonical events (flavour ``anthropic``)."""

    TERMINATOR = "message_stop"

    def __init__(self, framing: str, flavour: str) -> None:
        super().__init__(sse_decoder(), flavour=flavour)
        self._message: JSONObject | None = None  # the first message_start's message
        self._stop_reason: str | None = None
        self._usage_seen: dict[str, int] = {}  # the vendor's own counts, latest of each
        self._blocks: dict[int, _Block] = {}  # open blocks by vendor index, in start order
        self._ignored: set[int] = set()  # indexes of blocks of an unknown type
        self._citations = 0
        self._began = False  # a message event other than ping was handled

    # -- dispatch ------------------------------------------------------------------

    def on_message(self, message: Message) -> None:
        if not isinstance(message, SSEEvent):
            return
        data = message.data
        if not data or data.isspace():
            return  # an empty keep-alive: the SDK skips events without data
        offset = message.offset
        try:
            payload = parse_payload(data, offset)
            etype = payload.get("type")
            if type(etype) is not str:
                if message.event is None:
                    raise PayloadError("payload has no string 'type' and its event no name", offset=offset)
                etype = message.event
            if etype == "ping":
                return
            if self.out.terminated:
                self.out.unknown(etype, payload)  # after message_stop or an error: visible, inert
                return
            handler = self._HANDLERS.get(etype)
            if handler is None:
                self.out.unknown(etype, payload)  # anthropic.unknown_event_types
                return
            handler(self, payload, offset)
            self._began = True
        except PayloadError:
            if not self.out.terminated:
                self._end_open()  # keep signatures on what the decode error cuts off
            raise

    def on_end(self) -> None:
        if not self.out.terminated:
            self._end_open()  # the base class then reports the missing message_stop

    # -- message events ------------------------------------------------------------

    def _message_start(self, payload: JSONObject, offset: int) -> None:
        message = need(payload, "message", dict, offset)
        if self._message is not None:
            if message == self._message:
                return  # an identical repeat (anthropic.duplicate_or_spliced_message_start)
            first, second = self._message.get("id"), message.get("id")
            self._protocol(f"byte {offset}: a different message_start ({second!r}) while {first!r} is open")
            return
        if self._began:
            self._protocol(f"byte {offset}: message_start after other message events")
            return
        response_id = may(message, "id", str, offset)
        model = may(message, "model", str, offset)
        usage = may(message, "usage", dict, offset)
        stop_reason = may(message, "stop_reason", str, offset)
        content = may(message, "content", list, offset, [])
        blocks = [self._content_block(item, offset) for item in content]
        self._message = message
        self.out.start(response_id=response_id, model=model)
        if usage is not None:
            self._usage(usage, offset)
        if stop_reason is not None:
            self._stop_reason = stop_reason
        for index, block in enumerate(blocks):  # whole blocks inside message_start
            if self._open(index, block, offset):
                state = self._blocks.pop(index)
                self.out.end(index, signature=state.signature, redacted=state.redacted)
            else:
                self.out.unknown(f"message_start.content[{index}]", block)

    def _message_delta(self, payload: JSONObject, offset: int) -> None:
        delta = need(payload, "delta", dict, offset)
        stop_reason = may(delta, "stop_reason", str, offset)
        usage = may(payload, "usage", dict, offset)
        if stop_reason is not None:  # a later null never erases it (finish_reason.repeated_or_late)
            self._stop_reason = stop_reason
        if usage is not None:
            self._usage(usage, offset)

    def _message_stop(self, payload: JSONObject, offset: int) -> None:
        raw = self._stop_reason
        reason = FinishReason.OTHER if raw is None else STOP_REASONS.get(raw, FinishReason.OTHER)
        self._end_open()  # a block without content_block_stop was cut off (max_tokens)
        self.out.finish(reason, raw)

    def _error(self, payload: JSONObject, offset: int) -> None:
        error = need(payload, "error", dict, offset)
        code = may(error, "type", str, offset)
        text = may(error, "message", str, offset)
        category = ERROR_CATEGORIES.get(code, ErrorCategory.UNKNOWN) if code else ErrorCategory.UNKNOWN
        self._end_open()
        self.out.error(category, text if text is not None else code or "error event", code=code)

    # -- content blocks --------------------------------------------------------------

    def _content_block_start(self, payload: JSONObject, offset: int) -> None:
        index = self._index(payload, offset)
        block = self._content_block(need(payload, "content_block", dict, offset), offset)
        if index in self._blocks or index in self._ignored:
            self._protocol(f"byte {offset}: content_block_start for index {index}, which is already open")
            return
        if not self._open(index, block, offset):
            self._ignored.add(index)
            self.out.unknown("content_block_start", payload)

    def _content_block(self, block: object, offset: int) -> JSONObject:
        """Check a content block's fields (before any state changes)."""
        if not isinstance(block, dict):
            raise PayloadError(
                f"a content block should be an object, got {type(block).__name__}", offset=offset
            )
        vtype = need(block, "type", str, offset)
        if vtype == "text":
            may(block, "text", str, offset)
            for citation in may(block, "citations", list, offset, []):
                if not isinstance(citation, dict):
                    raise PayloadError("a citation should be an object", offset=offset)
        elif vtype == "thinking":
            may(block, "thinking", str, offset)
            may(block, "signature", str, offset)
        elif vtype == "redacted_thinking":
            need(block, "data", str, offset)
        elif vtype in TOOL_BLOCK_KINDS:
            need(block, "id", str, offset)
            if not need(block, "name", str, offset):
                raise PayloadError(f"a {vtype} block with an empty name", offset=offset)
            may(block, "input", dict, offset)
        elif vtype.endswith(RESULT_SUFFIX):
            need(block, "tool_use_id", str, offset)
        return block

    def _open(self, index: int, block: JSONObject, offset: int) -> bool:
        """Open a checked content block under ``index`` with what its start carries;
        ``False`` (and nothing opened) for a block type this decoder does not know."""
        out = self.out
        vtype = block["type"]
        assert isinstance(vtype, str)  # checked by _content_block
        state = _Block(vtype)
        if vtype == "text":
            out.open(index, "text")
            out.delta(index, may(block, "text", str, offset, ""))
            for citation in may(block, "citations", list, offset, []):
                self._citation(citation)
        elif vtype == "thinking":
            out.open(index, "reasoning")
            out.delta(index, may(block, "thinking", str, offset, ""))
            state.signature = may(block, "signature", str, offset) or None
        elif vtype == "redacted_thinking":
            state.redacted = need(block, "data", str, offset)
            out.open(index, "reasoning")
        elif vtype in TOOL_BLOCK_KINDS:
            out.open(
                index, TOOL_BLOCK_KINDS[vtype], id=need(block, "id", str, offset), name=str(block["name"])
            )
            arguments = may(block, "input", dict, offset)
            if arguments:  # a whole input object (normally {} and streamed as deltas)
                out.delta(index, _compact(arguments))
        elif vtype.endswith(RESULT_SUFFIX):
            tool_use_id = need(block, "tool_use_id", str, offset)
            out.open(index, "server_tool_result", id=tool_use_id, name=vtype, data=block.get("content"))
        else:
            return False
        self._blocks[index] = state
        return True

    def _content_block_delta(self, payload: JSONObject, offset: int) -> None:
        # The hot path: plain type checks first, need() only to word an error.
        index, delta = payload.get("index"), payload.get("delta")
        if type(index) is not int or index < 0 or type(delta) is not dict:
            index, delta = self._index(payload, offset), need(payload, "delta", dict, offset)
        dtype = delta.get("type")
        if type(dtype) is not str:
            dtype = need(delta, "type", str, offset)
        if index in self._ignored:
            self.out.unknown("content_block_delta", payload)
            return
        spec = _DELTAS.get(dtype)
        if spec is None:
            self.out.unknown("content_block_delta", payload)
            return
        state = self._blocks.get(index)
        if state is None:
            self._protocol(f"byte {offset}: {dtype} for index {index}, which is not open")
            return
        field, extends = spec
        if state.vtype not in extends:
            self._protocol(f"byte {offset}: {dtype} for index {index}, a {state.vtype} block")
            return
        if dtype == "signature_delta":
            state.signature = need(delta, field, str, offset) or None  # the SDK keeps the last one
        elif dtype == "citations_delta":
            self._citation(need(delta, field, dict, offset))
        else:
            text = delta.get(field)
            self.out.delta(index, text if type(text) is str else need(delta, field, str, offset))

    def _content_block_stop(self, payload: JSONObject, offset: int) -> None:
        index = self._index(payload, offset)
        if index in self._ignored:
            self._ignored.discard(index)
            self.out.unknown("content_block_stop", payload)
            return
        state = self._blocks.pop(index, None)
        if state is None:
            self._protocol(f"byte {offset}: content_block_stop for index {index}, which is not open")
            return
        self.out.end(index, signature=state.signature, redacted=state.redacted)

    def _citation(self, citation: JSONValue) -> None:
        """A citation of the text around it: a citation block, opened and ended here."""
        key = ("citation", self._citations)
        self._citations += 1
        self.out.open(key, "citation", data=citation)
        self.out.end(key)

    # -- helpers ---------------------------------------------------------------------

    @staticmethod
    def _index(payload: JSONObject, offset: int) -> int:
        index = need(payload, "index", int, offset)
        if index < 0:
            raise PayloadError(f"block index {index} is negative", offset=offset)
        return index

    def _usage(self, usage: JSONObject, offset: int) -> None:
        """Merge a (cumulative) vendor usage object; emit the canonical snapshot.

        Input counts are summed (``input_tokens`` + cache writes + cache reads);
        every count carries forward until the vendor reports it again, and a later
        report replaces an earlier one (anthropic.message_delta_usage_overrides).
        """
        report: dict[str, int] = {}
        for key in _USAGE_COUNTS:
            count = may(usage, key, int, offset)
            if count is not None:
                report[key] = count
        details = may(usage, "output_tokens_details", dict, offset)
        if details is not None:
            thinking = may(details, "thinking_tokens", int, offset)
            if thinking is not None:
                report["thinking_tokens"] = thinking
        for key, count in report.items():
            if count < 0:
                raise PayloadError(f"usage field {key!r} is negative ({count})", offset=offset)
        seen = self._usage_seen
        seen.update(report)
        raw_input = seen.get("input_tokens")
        cache_write = seen.get("cache_creation_input_tokens")
        cache_read = seen.get("cache_read_input_tokens")
        self.out.usage(
            input_tokens=None if raw_input is None else raw_input + (cache_write or 0) + (cache_read or 0),
            output_tokens=seen.get("output_tokens"),
            cache_read=cache_read,
            cache_write=cache_write,
            reasoning_tokens=seen.get("thinking_tokens"),
        )

    def _end_open(self) -> None:
        """End every open block as incomplete, keeping its signature or redacted data."""
        for index, state in self._blocks.items():
            self.out.end(index, incomplete=True, signature=state.signature, redacted=state.redacted)
        self._blocks.clear()
        self._ignored.clear()

    def _protocol(self, message: str) -> None:
        self._end_open()
        self.out.error(ErrorCategory.PROTOCOL, message)

    _HANDLERS: ClassVar[dict[str, Callable[[AnthropicMessagesDecoder, JSONObject, int], None]]] = {
        "message_start": _message_start,
        "content_block_start": _content_block_start,
        "content_block_delta": _content_block_delta,
        "content_block_stop": _content_block_stop,
        "message_delta": _message_delta,
        "message_stop": _message_stop,
        "error": _error,
    }
