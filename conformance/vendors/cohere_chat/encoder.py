"""Encoder for Cohere v2 Chat streaming: canonical events -> the SSE body Cohere sends.  No I/O.

Field order, event names and the message skeleton follow the recorded streams
(``cohere__*.txt``).  Content blocks, tool calls and citations are numbered separately
from 0, as Cohere does.  A ``reasoning`` block becomes a thinking content block, or a run
of ``tool-plan-delta`` events when it qualifies as a tool plan (see :class:`Knobs`).  A
block whose end is ``incomplete`` gets no end event: the terminal cuts it off.  An
``error{protocol}`` is rendered as what it stands for, a stream cut before
``message-end``.

Strategy: obvious impossibilities (a model name, signatures, cache writes, aborts...)
raise :class:`UsageError` at once; subtler ones (adjacent tool plans that would merge, an
``incomplete`` flag the terminal would not produce, a category no ``error_type`` maps to)
are caught by decoding the result with the reference decoder and comparing the folded
sequences: the encoder never returns bytes that mean something else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from conformance.errors import UsageError
from conformance.events import (
    Abort,
    BlockDelta,
    BlockEnd,
    BlockStart,
    Error,
    ErrorCategory,
    Event,
    Finish,
    JSONObject,
    JSONValue,
    ResponseStart,
    Unknown,
    Usage,
)
from conformance.framing import sse
from conformance.framing.messages import SSEEvent
from conformance.vendors._base import check_expressed
from conformance.vendors.cohere_chat.decoder import DONE, CohereChatDecoder

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Knobs", "encode"]

_SKELETON: JSONObject = {
    "role": "assistant",
    "content": [],
    "tool_plan": "",
    "tool_calls": [],
    "citations": [],
}
_CONTENT_TYPE = {"text": ("text", "text"), "reasoning": ("thinking", "thinking")}
_WIRE_NAME = {"content": "content", "tool": "tool-call", "citation": "citation"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Knobs:
    """How to render a sequence; the defaults are what Cohere sends."""

    #: ``data: [DONE]`` after ``message-end`` (``cohere.done_after_message_end``).
    done: bool = True
    #: ``event: <type>`` before each JSON payload; ``False`` leaves only the JSON ``type``.
    event_names: bool = True
    #: Line end of the SSE body.
    eol: Literal["\n", "\r\n"] = "\n"
    #: ``data: {...}`` (``True``) or ``data:{...}``.
    space_after_colon: bool = True
    #: End the body with the blank line after the last event.
    final_blank_line: bool = True
    #: Escape non-ASCII characters in JSON (``\\u00e9``) instead of sending them raw.
    ascii_json: bool = False
    #: Add ``usage.billed_units`` beside ``usage.tokens`` (the decoder ignores them).
    billed_units: bool = True
    #: ``"usage": {}`` in a ``message-end`` without usage (as in the recorded error) or no member.
    empty_usage: bool = True
    #: A ``response.start`` without an id: leave ``id`` out, or send ``"id": null``.
    missing_id: Literal["omit", "null"] = "omit"
    #: Send the empty message skeleton in ``message-start`` (``role``, ``content: []``...).
    message_skeleton: bool = True
    #: Render a reasoning block with text and no signature as ``tool-plan-delta`` events
    #: when the next block to start is a tool call and it ended complete before that, or
    #: when no block starts after it and the terminal cut it off (``incomplete``, as in the
    #: recorded in-stream error); other reasoning blocks become thinking content blocks.
    tool_plans: bool = True


def _plan_blocks(events: Sequence[Event]) -> set[int]:
    """The reasoning blocks that qualify as tool plans (see ``Knobs.tool_plans``)."""
    starts = [(i, e) for i, e in enumerate(events) if isinstance(e, BlockStart)]
    plans: set[int] = set()
    for n, (i, start) in enumerate(starts):
        last = n + 1 == len(starts)
        if start.kind != "reasoning" or not (last or starts[n + 1][1].kind == "tool_call"):
            continue
        following = len(events) if last else starts[n + 1][0]
        mine = [
            e for e in events[i:following] if isinstance(e, BlockDelta | BlockEnd) and e.block == start.block
        ]
        ends = [e for e in mine if isinstance(e, BlockEnd)]
        if not any(isinstance(e, BlockDelta) and e.text for e in mine) or not ends:
            continue
        if ends[0].signature is None and ends[0].redacted is None and ends[0].incomplete == last:
            plans.add(start.block)
    return plans


class _Writer:
    """Collects the SSE events of one response."""

    def __init__(self, knobs: Knobs) -> None:
        self.knobs = knobs
        self.items: list[SSEEvent] = []

    def send(self, payload: JSONObject) -> None:
        data = json.dumps(payload, ensure_ascii=self.knobs.ascii_json, separators=(",", ":"))
        name = payload["type"] if self.knobs.event_names else None
        self.items.append(SSEEvent(event=name if isinstance(name, str) else None, data=data))

    def usage(self, usage: Usage | None) -> JSONObject | None:
        if usage is None or all(
            v is None for v in (usage.input_tokens, usage.output_tokens, usage.cache_read)
        ):
            return {} if self.knobs.empty_usage else None
        out: JSONObject = {}
        tokens: JSONObject = {}
        if usage.input_tokens is not None:
            tokens["input_tokens"] = usage.input_tokens
        if usage.output_tokens is not None:
            tokens["output_tokens"] = usage.output_tokens
        if tokens and self.knobs.billed_units:
            billed = dict(tokens)
            if usage.input_tokens is not None and usage.cache_read is not None:
                billed["input_tokens"] = max(0, usage.input_tokens - usage.cache_read)
            out["billed_units"] = billed
        if tokens:
            out["tokens"] = tokens
        if usage.cache_read is not None:
            out["cached_tokens"] = usage.cache_read
        return out

    def message_end(self, finish_reason: str | None, usage: Usage | None, **extra: str) -> None:
        delta: JSONObject = {}
        if finish_reason is not None:
            delta["finish_reason"] = finish_reason
        rendered = self.usage(usage)
        if rendered is not None:
            delta["usage"] = rendered
        delta.update(extra)
        self.send({"type": "message-end", "delta": delta})


def _check_no_extras(event: BlockStart, *, allow_tool: bool = False, allow_data: bool = False) -> None:
    if not allow_tool and (event.id is not None or event.name is not None):
        raise UsageError(f"Cohere cannot send an id or name on a {event.kind} block (block {event.block})")
    if not allow_data and event.data is not None:
        raise UsageError(f"Cohere cannot send data on a {event.kind} block (block {event.block})")


def _message(payload: JSONObject) -> JSONObject:
    return {"message": payload}


def encode(events: Sequence[Event], knobs: Knobs) -> bytes:
    """Render ``events`` as Cohere's SSE body; :class:`UsageError` if Cohere cannot say it."""
    plans = _plan_blocks(events) if knobs.tool_plans else set()
    w = _Writer(knobs)
    wire: dict[int, tuple[str, int, str]] = {}  # block -> (wire prefix, vendor index, kind)
    counters = {"content": 0, "tool": 0, "citation": 0}
    usage: Usage | None = None
    terminal: Finish | Error | None = None
    for event in events:
        if terminal is not None or isinstance(event, Unknown):
            continue
        if isinstance(event, ResponseStart):
            if event.model is not None:
                raise UsageError("Cohere's message-start carries no model name")
            head: JSONObject = {}
            if event.response_id is not None or knobs.missing_id == "null":
                head["id"] = event.response_id
            skeleton: JSONObject = dict(_SKELETON) if knobs.message_skeleton else {"role": "assistant"}
            w.send({**head, "type": "message-start", "delta": _message(skeleton)})
        elif isinstance(event, BlockStart):
            _start(w, event, plans, wire, counters)
        elif isinstance(event, BlockDelta):
            _delta(w, event, wire)
        elif isinstance(event, BlockEnd):
            _end(w, event, wire)
        elif isinstance(event, Usage):
            if event.cache_write is not None or event.reasoning_tokens is not None:
                raise UsageError("Cohere reports no cache writes or reasoning tokens")
            usage = event
        elif isinstance(event, Finish):
            terminal = event
            w.message_end(event.raw_reason, usage)
        elif isinstance(event, Error):
            terminal = event
            if event.category is not ErrorCategory.PROTOCOL:
                raw = "TIMEOUT" if event.category is ErrorCategory.TIMEOUT else "ERROR"
                extra = {"error": event.message}
                if event.code is not None and event.code != raw:
                    extra["error_type"] = event.code
                w.message_end(raw, usage, **extra)
        elif isinstance(event, Abort):
            raise UsageError("an abort is the consumer's doing; Cohere cannot send one")
    if terminal is None:
        raise UsageError("the sequence has no terminal event (finish or error)")
    if knobs.done and not (isinstance(terminal, Error) and terminal.category is ErrorCategory.PROTOCOL):
        w.items.append(SSEEvent(data=DONE))
    body = sse.encode(
        w.items,
        eol=knobs.eol,
        space_after_colon=knobs.space_after_colon,
        final_blank_line=knobs.final_blank_line,
    )
    check_expressed("Cohere", CohereChatDecoder("sse", "cohere"), events, body)
    return body


def _start(
    w: _Writer,
    event: BlockStart,
    plans: set[int],
    wire: dict[int, tuple[str, int, str]],
    counters: dict[str, int],
) -> None:
    if event.block in wire:
        raise UsageError(f"block {event.block} starts twice")
    if event.block in plans:
        _check_no_extras(event)
        wire[event.block] = ("plan", 0, event.kind)
        return
    if event.kind in _CONTENT_TYPE:
        _check_no_extras(event)
        prefix = "content"
        content_type, field = _CONTENT_TYPE[event.kind]
        body: JSONObject = {"content": {"type": content_type, field: ""}}
    elif event.kind == "tool_call":
        _check_no_extras(event, allow_tool=True)
        if not event.name:
            raise UsageError(f"Cohere cannot send a tool call without a name (block {event.block})")
        prefix = "tool"
        call: JSONObject = {"type": "function", "function": {"name": event.name, "arguments": ""}}
        body = {"tool_calls": {"id": event.id, **call} if event.id is not None else call}
    elif event.kind == "citation":
        _check_no_extras(event, allow_data=True)
        if not isinstance(event.data, dict):
            raise UsageError(f"a Cohere citation is an object; block {event.block} has data {event.data!r}")
        prefix = "citation"
        body = {"citations": event.data}
    else:
        raise UsageError(f"Cohere has no {event.kind!r} blocks")
    index = counters[prefix]
    counters[prefix] += 1
    wire[event.block] = (prefix, index, event.kind)
    w.send({"type": f"{_WIRE_NAME[prefix]}-start", "index": index, "delta": _message(body)})


def _delta(w: _Writer, event: BlockDelta, wire: dict[int, tuple[str, int, str]]) -> None:
    if event.block not in wire:
        raise UsageError(f"block.delta for block {event.block}, which never started")
    prefix, index, kind = wire[event.block]
    fragment: JSONValue
    if prefix == "plan":
        w.send({"type": "tool-plan-delta", "delta": _message({"tool_plan": event.text})})
        return
    if prefix == "content":
        fragment = {"content": {_CONTENT_TYPE[kind][1]: event.text}}
        w.send({"type": "content-delta", "index": index, "delta": _message(fragment)})
    elif prefix == "tool":
        fragment = {"tool_calls": {"function": {"arguments": event.text}}}
        w.send({"type": "tool-call-delta", "index": index, "delta": _message(fragment)})
    else:
        raise UsageError(f"Cohere citations have no deltas (block {event.block})")


def _end(w: _Writer, event: BlockEnd, wire: dict[int, tuple[str, int, str]]) -> None:
    if event.block not in wire:
        raise UsageError(f"block.end for block {event.block}, which never started")
    if event.signature is not None or event.redacted is not None or event.data is not None:
        raise UsageError(f"Cohere sends no signature, redacted data or final data (block {event.block})")
    prefix, index, _ = wire[event.block]
    if event.incomplete or prefix == "plan":
        return  # cut off by the terminal / a tool plan ends when the next block starts
    w.send({"type": f"{_WIRE_NAME[prefix]}-end", "index": index})
