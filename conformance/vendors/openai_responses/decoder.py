"""Reference decoder for the OpenAI Responses stream (``openai/responses``).  No I/O.

Bytes in, canonical events out, through the shared
:class:`~conformance.vendors._builder.ResponseBuilder`.  The mapping decisions are
listed in the package docstring; this module implements them.

Strategy: every payload is dispatched on its JSON ``type`` (the SSE ``event:`` name
is only a fallback when ``type`` is missing: OpenRouter sends no names).  Output items
are tracked by ``output_index`` (``item_id`` when an event has no index) in an
``_Item`` record; their content parts, summary parts and argument text become
builder blocks keyed ``(output_index, group, index)``.  Every ``.done`` event and the
final item of ``response.output_item.done`` are *settled* against what the deltas
delivered: when the deltas are a prefix of the final text, the missing rest is
emitted as one more delta (so a ``.done`` without deltas still delivers its text,
LiteLLM #27144); otherwise the deltas stand and the final text is ignored.  Text and
refusal blocks end at ``content_part.done``; reasoning blocks and calls end with
their item, because only the item carries ``encrypted_content`` and the final status.

An ``error`` event is held until the next message: ``response.failed`` right after
it contributes its usage and is otherwise ignored (one failure, one canonical error,
the first report wins); anything else, or the end of the input, emits it at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from conformance.errors import PayloadError
from conformance.events import ErrorCategory, FinishReason, JSONObject
from conformance.framing.messages import SSEEvent
from conformance.vendors._base import VendorDecoder, parse_payload, sse_decoder
from conformance.vendors._payload import may, need
from conformance.vendors.openai_responses._fields import (
    ErrorFields,
    error_fields,
    need_index,
    need_text,
    usage_counts,
)
from conformance.vendors.openai_responses._tables import (
    CLIENT_CALLS,
    INCOMPLETE_REASONS,
    KNOWN_QUIET_EVENTS,
    SERVER_TOOLS,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from conformance.framing.messages import Message

__all__ = ["ResponsesDecoder"]

_DONE = "[DONE]"
#: Content part type -> (block kind, the part's text field).
_PART_KINDS = {
    "output_text": ("text", "text"),
    "refusal": ("refusal", "refusal"),
    "reasoning_text": ("reasoning", "text"),
}
_ITEM_OF_KIND = {"text": "message", "refusal": "message", "reasoning": "reasoning"}

_Key = tuple[object, ...]


@dataclass(slots=True)
class _Part:
    """One open or ended block of an item, with the text its deltas delivered."""

    key: _Key
    kind: str
    pieces: list[str] = field(default_factory=list)
    open: bool = True


@dataclass(slots=True)
class _Item:
    """One output item, by ``output_index``."""

    index: int
    type: str
    parts: dict[tuple[str, int], _Part] = field(default_factory=dict)
    order: list[_Part] = field(default_factory=list)
    call: _Part | None = None
    encrypted: str | None = None
    done: bool = False


class ResponsesDecoder(VendorDecoder):
    """One Responses stream -> canonical events (every flavour decodes alike)."""

    TERMINATOR = "response.completed, response.incomplete or response.failed"

    def __init__(self, framing: str, flavour: str) -> None:
        super().__init__(sse_decoder(), flavour=flavour)
        self._items: dict[int, _Item] = {}
        self._by_id: dict[str, int] = {}
        self._response_id: str | None = None
        self._calls_done = False  # a tool_call block ended complete
        self._citations = 0
        self._pending: ErrorFields | None = None  # an `error` event waiting for its response.failed
        self._handlers: dict[str, Callable[[JSONObject, int], None]] = {
            "response.created": self._on_response,
            "response.in_progress": self._on_response,
            "response.queued": self._on_response,
            "response.completed": self._on_completed,
            "response.incomplete": self._on_incomplete,
            "response.failed": self._on_failed,
            "error": self._on_error,
            "response.output_item.added": self._on_item_added,
            "response.output_item.done": self._on_item_done,
            "response.content_part.added": self._on_part_added,
            "response.content_part.done": self._on_part_done,
            "response.output_text.delta": partial(self._content_delta, kind="text"),
            "response.output_text.done": partial(self._content_done, kind="text", text_field="text"),
            "response.refusal.delta": partial(self._content_delta, kind="refusal"),
            "response.refusal.done": partial(self._content_done, kind="refusal", text_field="refusal"),
            "response.output_text.annotation.added": self._on_annotation,
            "response.reasoning_summary_part.added": self._on_summary_added,
            "response.reasoning_summary_part.done": self._on_summary_done,
            "response.reasoning_summary_text.delta": self._on_summary_delta,
            "response.reasoning_summary_text.done": self._on_summary_text_done,
            "response.reasoning_text.delta": partial(self._content_delta, kind="reasoning"),
            "response.reasoning_text.done": partial(self._content_done, kind="reasoning", text_field="text"),
            "response.function_call_arguments.delta": self._on_call_delta,
            "response.function_call_arguments.done": self._on_call_done,
            "response.custom_tool_call_input.delta": self._on_input_delta,
            "response.custom_tool_call_input.done": self._on_input_done,
        }

    # -- messages ------------------------------------------------------------------

    def on_message(self, message: Message) -> None:
        if not isinstance(message, SSEEvent):
            return
        if self._pending is None:
            self._handle(message)
            return
        try:
            self._handle(message)
        finally:
            self._flush_error()  # a defective message after `error` must not replace it

    def on_end(self) -> None:
        self._flush_error()

    def _handle(self, message: SSEEvent) -> None:
        data, offset = message.data, message.offset
        if data == _DONE:
            self._flush_error()
            if not self.out.terminated:
                self.out.error(
                    ErrorCategory.PROTOCOL, f"byte {offset}: data: [DONE] before {self.TERMINATOR}"
                )
            return
        if not data.strip():
            return  # an empty keep-alive event carries nothing
        payload = parse_payload(data, offset)
        kind = payload.get("type", message.event)
        if not isinstance(kind, str):
            raise PayloadError("payload has no string 'type' (and the SSE event has no name)", offset=offset)
        if self._pending is not None:
            failed = kind == "response.failed"
            if failed:  # the same failure again: keep its usage only
                self._usage(need(payload, "response", dict, offset), offset)
            self._flush_error()
            if failed:
                return
        if self.out.terminated:
            self.out.unknown(kind)  # e.g. the next response of a concatenated multi-step recording
            return
        handler = self._handlers.get(kind)
        if handler is not None:
            handler(payload, offset)
        elif kind not in KNOWN_QUIET_EVENTS:
            self.out.unknown(kind, payload)

    def _flush_error(self) -> None:
        if self._pending is not None:
            category, message, status, code = self._pending
            self._pending = None
            self.out.error(category, message, status=status, code=code)

    # -- the response object -------------------------------------------------------

    def _start(self, response: JSONObject, offset: int) -> None:
        response_id = may(response, "id", str, offset)
        if self._response_id is None:
            self._response_id = response_id
            self.out.start(response_id=response_id, model=may(response, "model", str, offset))
        elif response_id is not None and response_id != self._response_id:
            msg = f"response id changed mid-stream from {self._response_id!r} to {response_id!r}"
            raise PayloadError(msg, offset=offset)

    def _usage(self, response: JSONObject, offset: int) -> None:
        counts = usage_counts(response, offset)
        if counts is not None:
            self.out.usage(**counts)

    def _on_response(self, payload: JSONObject, offset: int) -> None:
        response = need(payload, "response", dict, offset)
        self._start(response, offset)
        self._usage(response, offset)

    def _on_completed(self, payload: JSONObject, offset: int) -> None:
        response = need(payload, "response", dict, offset)
        self._start(response, offset)
        self._usage(response, offset)
        for index, final in enumerate(may(response, "output", list, offset, [])):
            if isinstance(final, dict):  # the final items settle what the stream left open
                item = self._items.get(index) or self._add(index, final, "response.completed", offset)
                self._close(item, final, cut=False, offset=offset)
        self._close_rest(cut=False, offset=offset)
        reason = FinishReason.TOOL_CALLS if self._calls_done else FinishReason.STOP
        self.out.finish(reason, may(response, "status", str, offset, "completed"))

    def _on_incomplete(self, payload: JSONObject, offset: int) -> None:
        response = need(payload, "response", dict, offset)
        self._start(response, offset)
        self._usage(response, offset)
        self._close_rest(cut=True, offset=offset)
        details = may(response, "incomplete_details", dict, offset, {})
        raw = may(details, "reason", str, offset)
        reason = INCOMPLETE_REASONS.get(raw, FinishReason.OTHER) if raw else FinishReason.OTHER
        self.out.finish(reason, raw or may(response, "status", str, offset, "incomplete"))

    def _on_failed(self, payload: JSONObject, offset: int) -> None:
        response = need(payload, "response", dict, offset)
        self._start(response, offset)
        self._usage(response, offset)
        error = may(response, "error", dict, offset)
        if error is None:
            self.out.error(ErrorCategory.UNKNOWN, "the response failed (response.failed without an error)")
            return
        category, message, status, code = error_fields(error, offset, typed=True)
        self.out.error(category, message, status=status, code=code)

    def _on_error(self, payload: JSONObject, offset: int) -> None:
        nested = payload.get("error")
        if isinstance(nested, dict):
            self._pending = error_fields(nested, offset, typed=True)
        elif nested is None:  # the SDK's flat ResponseErrorEvent: code/message/param at the top
            self._pending = error_fields(payload, offset, typed=False)
        else:
            raise PayloadError(
                f"field 'error' should be an object, got {type(nested).__name__}", offset=offset
            )

    # -- output items --------------------------------------------------------------

    def _add(self, index: int, final: JSONObject, vendor_type: str, offset: int) -> _Item:
        item_type = need(final, "type", str, offset)
        item = self._items[index] = _Item(index, item_type)
        item_id = may(final, "id", str, offset)
        if item_id is not None:
            self._by_id[item_id] = index
        if item_type in CLIENT_CALLS:
            name = need(final, "name", str, offset)
            if not name:
                raise PayloadError("a tool call item has an empty 'name'", offset=offset)
            item.call = self._open(
                (index, "call"), "tool_call", id=need(final, "call_id", str, offset), name=name
            )
        elif item_type in SERVER_TOOLS:
            item_id = need(final, "id", str, offset)
            item.call = self._open(
                (index, "call"), "server_tool_call", id=item_id, name=SERVER_TOOLS[item_type].name
            )
        elif item_type == "reasoning":
            item.encrypted = may(final, "encrypted_content", str, offset)
        elif item_type != "message":
            self.out.unknown(vendor_type, final)
        return item

    def _open(self, key: _Key, kind: str, *, id: str | None = None, name: str | None = None) -> _Part:
        self.out.open(key, kind, id=id, name=name)
        return _Part(key, kind)

    def _on_item_added(self, payload: JSONObject, offset: int) -> None:
        index = need_index(payload, "output_index", offset)
        if index in self._items:
            raise PayloadError(f"output item {index} was added twice", offset=offset)
        self._add(index, need(payload, "item", dict, offset), "response.output_item.added", offset)

    def _on_item_done(self, payload: JSONObject, offset: int) -> None:
        index = need_index(payload, "output_index", offset)
        final = need(payload, "item", dict, offset)
        item = self._items.get(index) or self._add(index, final, "response.output_item.done", offset)
        if item.done:
            raise PayloadError(f"output item {index} is done twice", offset=offset)
        self._close(item, final, cut=may(final, "status", str, offset) == "incomplete", offset=offset)

    def _item(self, payload: JSONObject, offset: int) -> _Item:
        """The item an event addresses: by ``output_index``, else by ``item_id``."""
        index = payload.get("output_index")
        if index is None:
            index = self._by_id.get(need_text(payload, "item_id", offset))
        elif type(index) is not int:
            raise PayloadError(f"field 'output_index' should be an integer, got {index!r}", offset=offset)
        item = self._items.get(index) if index is not None else None
        if item is None:
            raise PayloadError("the event addresses an output item that was never added", offset=offset)
        return item

    def _part(self, item: _Item, group: str, number: int, kind: str, offset: int) -> _Part:
        """The part's block, opened on first sight (``content_part.added`` is optional)."""
        part = item.parts.get((group, number))
        if part is None:
            if item.type != _ITEM_OF_KIND[kind] or item.done:
                raise PayloadError(f"a {kind} part cannot belong to this {item.type} item", offset=offset)
            part = item.parts[group, number] = self._open((item.index, group, number), kind)
            item.order.append(part)
        elif not part.open:
            raise PayloadError(f"output item {item.index} {group}{number} already ended", offset=offset)
        elif part.kind != kind:
            raise PayloadError(
                f"output item {item.index} {group}{number} is {part.kind}, not {kind}", offset=offset
            )
        return part

    def _delta(self, part: _Part, text: str) -> None:
        part.pieces.append(text)
        self.out.delta(part.key, text)

    def _settle(self, part: _Part, final: object) -> None:
        """Deliver what the final text has beyond the deltas (nothing if they disagree)."""
        if not part.open or not isinstance(final, str) or not final:
            return
        seen = "".join(part.pieces)
        part.pieces[:] = [seen]
        if len(final) > len(seen) and final.startswith(seen):
            self._delta(part, final[len(seen) :])

    def _end(self, part: _Part, *, incomplete: bool, signature: str | None = None) -> None:
        part.open = False
        self.out.end(part.key, incomplete=incomplete, signature=signature)
        if part.kind == "tool_call" and not incomplete:
            self._calls_done = True

    def _close(self, item: _Item, final: JSONObject | None, *, cut: bool, offset: int) -> None:
        """End an item: settle its blocks against the final item (if any), then end them."""
        if item.done:
            return
        settle = final is not None and not cut
        if item.type == "message":
            if settle and final is not None:
                self._settle_parts(item, "c", may(final, "content", list, offset, []), offset)
            for part in item.order:
                if part.open:
                    self._end(part, incomplete=cut)
        elif item.type == "reasoning":
            if settle and final is not None:
                self._settle_parts(item, "s", may(final, "summary", list, offset, []), offset)
                self._settle_parts(item, "c", may(final, "content", list, offset, []), offset)
            if final is not None and not item.order:  # no text: the block still carries the item
                item.order.append(self._open((item.index, "r", 0), "reasoning"))
            signature = (may(final, "encrypted_content", str, offset) if final else None) or item.encrypted
            still_open = [part for part in item.order if part.open]
            for part in still_open:
                self._end(part, incomplete=cut, signature=signature if part is still_open[-1] else None)
        elif item.call is not None:
            tool = SERVER_TOOLS.get(item.type)
            if settle and final is not None:
                if tool is None:
                    self._settle(item.call, final.get(CLIENT_CALLS[item.type]))
                else:
                    args = {k: v for k, v in final.items() if k in tool.inputs and v is not None}
                    if args:
                        self._delta(item.call, json.dumps(args, ensure_ascii=False, separators=(",", ":")))
            if item.call.open:
                self._end(item.call, incomplete=cut)
            if tool is not None and final is not None:
                results: JSONObject = {k: v for k, v in final.items() if k in tool.results and v is not None}
                if results:
                    key = (item.index, "result")
                    self.out.open(key, "server_tool_result", id=need(final, "id", str, offset), data=results)
                    self.out.end(key)
        item.done = True

    def _settle_parts(self, item: _Item, group: str, finals: list[object], offset: int) -> None:
        for number, final in enumerate(finals):
            if not isinstance(final, dict):
                continue
            part_type = final.get("type")
            kind, text_field = (
                _PART_KINDS.get(part_type, (None, "")) if isinstance(part_type, str) else (None, "")
            )
            if group == "s":
                kind, text_field = "reasoning", "text"
            if kind is None:
                continue
            text = final.get(text_field)
            part = item.parts.get((group, number))
            if part is None and isinstance(text, str) and text:
                part = self._part(item, group, number, kind, offset)
            if part is not None:
                self._settle(part, text)

    def _close_rest(self, *, cut: bool, offset: int) -> None:
        for index in sorted(self._items):
            self._close(self._items[index], None, cut=cut, offset=offset)

    # -- content parts ---------------------------------------------------------------

    def _on_part_added(self, payload: JSONObject, offset: int) -> None:
        item = self._item(payload, offset)
        part = need(payload, "part", dict, offset)
        kind, _ = _PART_KINDS.get(need(part, "type", str, offset), (None, ""))
        if kind is None:
            self.out.unknown("response.content_part.added", payload)
            return
        number = need_index(payload, "content_index", offset)
        if ("c", number) in item.parts:
            raise PayloadError(f"content part {number} of item {item.index} was added twice", offset=offset)
        self._part(item, "c", number, kind, offset)

    def _on_part_done(self, payload: JSONObject, offset: int) -> None:
        item = self._item(payload, offset)
        final = need(payload, "part", dict, offset)
        kind, text_field = _PART_KINDS.get(need(final, "type", str, offset), (None, ""))
        if kind is None:
            return
        number = need_index(payload, "content_index", offset)
        part = item.parts.get(("c", number))
        text = final.get(text_field)
        if part is None and isinstance(text, str) and text:
            part = self._part(item, "c", number, kind, offset)
        if part is None or not part.open:
            return
        self._settle(part, text)
        if kind != "reasoning":  # reasoning blocks wait for the item's encrypted_content
            self._end(part, incomplete=False)

    def _open_part(self, payload: JSONObject, group: str, number_field: str, kind: str) -> _Part | None:
        """Fast path: the open part of this kind a delta addresses by index, if there is one."""
        index, number = payload.get("output_index"), payload.get(number_field)
        if type(index) is int and type(number) is int:
            item = self._items.get(index)
            part = item.parts.get((group, number)) if item is not None else None
            if part is not None and part.open and part.kind == kind:
                return part
        return None

    def _content_delta(self, payload: JSONObject, offset: int, kind: str) -> None:
        part = self._open_part(payload, "c", "content_index", kind)
        text = payload.get("delta")
        if part is not None and type(text) is str:
            part.pieces.append(text)
            self.out.delta(part.key, text)
            return
        item = self._item(payload, offset)
        part = self._part(item, "c", need_index(payload, "content_index", offset), kind, offset)
        self._delta(part, need_text(payload, "delta", offset))

    def _content_done(self, payload: JSONObject, offset: int, kind: str, text_field: str) -> None:
        item = self._item(payload, offset)
        text = need_text(payload, text_field, offset)
        number = need_index(payload, "content_index", offset)
        part = item.parts.get(("c", number))
        if part is None and text:
            part = self._part(item, "c", number, kind, offset)
        if part is not None:
            self._settle(part, text)

    def _on_annotation(self, payload: JSONObject, offset: int) -> None:
        annotation = need(payload, "annotation", dict, offset)
        key = ("citation", self._citations)
        self._citations += 1
        self.out.open(key, "citation", data=annotation)
        self.out.end(key)

    # -- reasoning summaries ---------------------------------------------------------

    def _summary(self, payload: JSONObject, offset: int, *, added: bool = False) -> _Part:
        item = self._item(payload, offset)
        number = need_index(payload, "summary_index", offset)
        if added and ("s", number) in item.parts:
            raise PayloadError(f"summary part {number} of item {item.index} was added twice", offset=offset)
        return self._part(item, "s", number, "reasoning", offset)

    def _on_summary_added(self, payload: JSONObject, offset: int) -> None:
        self._summary(payload, offset, added=True)

    def _on_summary_delta(self, payload: JSONObject, offset: int) -> None:
        part = self._open_part(payload, "s", "summary_index", "reasoning")
        text = payload.get("delta")
        if part is None or type(text) is not str:
            part, text = self._summary(payload, offset), need_text(payload, "delta", offset)
        self._delta(part, text)

    def _summary_settle(self, payload: JSONObject, offset: int, text: object) -> None:
        item = self._item(payload, offset)
        number = need_index(payload, "summary_index", offset)
        part = item.parts.get(("s", number))
        if part is None and isinstance(text, str) and text:
            part = self._part(item, "s", number, "reasoning", offset)
        if part is not None:
            self._settle(part, text)

    def _on_summary_text_done(self, payload: JSONObject, offset: int) -> None:
        self._summary_settle(payload, offset, need_text(payload, "text", offset))

    def _on_summary_done(self, payload: JSONObject, offset: int) -> None:
        self._summary_settle(payload, offset, need(payload, "part", dict, offset).get("text"))

    # -- tool calls ------------------------------------------------------------------

    def _call(self, payload: JSONObject, offset: int, item_type: str) -> _Part:
        item = self._item(payload, offset)
        if item.type != item_type or item.call is None:
            raise PayloadError(f"output item {item.index} is a {item.type}, not a {item_type}", offset=offset)
        if not item.call.open:
            raise PayloadError(f"tool call item {item.index} already ended", offset=offset)
        return item.call

    def _on_call_delta(self, payload: JSONObject, offset: int) -> None:
        index, text = payload.get("output_index"), payload.get("delta")
        item = self._items.get(index) if type(index) is int else None
        call = item.call if item is not None and item.type == "function_call" else None
        if call is not None and call.open and type(text) is str:
            self._delta(call, text)
            return
        self._delta(self._call(payload, offset, "function_call"), need_text(payload, "delta", offset))

    def _on_call_done(self, payload: JSONObject, offset: int) -> None:
        self._settle(self._call(payload, offset, "function_call"), need_text(payload, "arguments", offset))

    def _on_input_delta(self, payload: JSONObject, offset: int) -> None:
        self._delta(self._call(payload, offset, "custom_tool_call"), need_text(payload, "delta", offset))

    def _on_input_done(self, payload: JSONObject, offset: int) -> None:
        self._settle(self._call(payload, offset, "custom_tool_call"), need_text(payload, "input", offset))
