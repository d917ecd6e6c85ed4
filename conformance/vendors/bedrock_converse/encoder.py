"""Encoder for AWS Bedrock ConverseStream: a canonical sequence -> eventstream bytes.  No I/O.

Renders what Bedrock sends: ``messageStart``, blocks as ``contentBlockStart`` (tool
use, tool result, image only) / ``contentBlockDelta`` / ``contentBlockStop`` with
Bedrock's ``contentBlockIndex`` numbering, ``messageStop`` then ``metadata`` (usage),
or an exception frame for an ``error``.  Payloads are compact JSON with sorted keys
and a random-length ``"p"`` padding field, as in the recordings; the padding is drawn
from ``random.Random`` seeded by the ``seed`` knob, so output is deterministic.

Strategy: one walk over the events.  Each canonical block gets the next Bedrock index
when it starts.  Text and reasoning blocks have no start frame on the wire, so their
position in the block order is fixed by their first content frame: between a text or
reasoning ``block.start`` and its first content, no other block may show an event
(``UsageError`` otherwise).  A block ended ``incomplete`` gets no ``contentBlockStop``:
the decoder closes it incomplete at the ``error`` or ``finish{length}`` terminal.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from conformance.errors import UsageError
from conformance.events import (
    Abort,
    BlockDelta,
    BlockEnd,
    BlockStart,
    Error,
    ErrorCategory,
    Finish,
    FinishReason,
    ResponseStart,
    Unknown,
    Usage,
)
from conformance.framing.eventstream import encode_event, encode_exception, encode_message
from conformance.framing.messages import EventStreamHeader, HeaderType
from conformance.vendors._builder import TOOL_KINDS, default_retryable
from conformance.vendors.bedrock_converse.decoder import (
    IMAGE_KIND,
    STATUS_EXCEPTIONS,
    STOP_REASONS,
    category_for_exception,
    finish_reason_for,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from conformance.events import Event, JSONValue

__all__ = ["DEFAULT_EXCEPTIONS", "DEFAULT_STOP_REASONS", "PADDING_ALPHABET", "Knobs", "encode"]

#: The characters of Bedrock's ``"p"`` padding, in order: the value is a prefix of this.
PADDING_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

#: The raw stop reason rendered for a ``finish`` without ``raw_reason``.
DEFAULT_STOP_REASONS: dict[FinishReason, str] = {
    FinishReason.STOP: "end_turn",
    FinishReason.TOOL_CALLS: "tool_use",
    FinishReason.LENGTH: "max_tokens",
    FinishReason.CONTENT_FILTER: "content_filtered",
    FinishReason.OTHER: "malformed_model_output",
}

#: The exception type rendered for an ``error`` without ``code``.
DEFAULT_EXCEPTIONS: dict[ErrorCategory, str] = {
    ErrorCategory.RATE_LIMIT: "throttlingException",
    ErrorCategory.SERVER: "internalServerException",
    ErrorCategory.INVALID_REQUEST: "validationException",
    ErrorCategory.OVERLOADED: "serviceUnavailableException",
    ErrorCategory.TIMEOUT: "modelTimeoutException",
    ErrorCategory.PERMISSION: "accessDeniedException",
    ErrorCategory.NOT_FOUND: "resourceNotFoundException",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Knobs:
    """How to render a sequence; the defaults are what Bedrock itself sends."""

    #: Add the ``"p"`` padding field to every payload (quirk 79).
    padding: bool = True
    #: Shortest and longest padding (a prefix of :data:`PADDING_ALPHABET`; 2..61 seen).
    padding_min: int = 1
    padding_max: int = 62
    #: Seed of the padding lengths and the ``metrics.latencyMs`` value.
    seed: int = 0
    #: Send an empty ``contentBlockStart`` (``"start": {}``) for text and reasoning
    #: blocks too, as other servers might; Bedrock never does (quirk 60).
    text_block_start: bool = False
    #: Open with an empty text delta and a ``contentBlockStop`` on index 0, so that
    #: the real blocks start at index 1 (gpt-oss on Bedrock, quirk 61).
    empty_text_first: bool = False
    #: Header order: Bedrock's (``:event-type``, ``:content-type``, ``:message-type``)
    #: or ``:message-type`` first (what some other eventstream encoders do).
    header_order: Literal["bedrock", "message-type-first"] = "bedrock"
    #: Render errors as ``exception`` frames (Bedrock) or generic ``:message-type:
    #: error`` frames with ``:error-code``/``:error-message`` headers (an error with a
    #: ``status`` still needs an exception frame: only its payload can carry it).
    error_frames: Literal["exception", "error"] = "exception"
    #: Add ``"serverToolUsage": {}`` to ``usage`` (seen from gpt-oss and Nova).
    server_tool_usage: bool = False
    #: Escape non-ASCII characters in payloads (``\\u00e9``) instead of raw UTF-8.
    ascii_json: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.padding_min <= self.padding_max:
            raise UsageError(
                f"need 0 <= padding_min <= padding_max, got {self.padding_min}, {self.padding_max}"
            )


def encode(events: Sequence[Event], knobs: Knobs) -> bytes:
    """Render a canonical sequence as a Bedrock ConverseStream body."""
    return _Encoder(knobs).run(events)


@dataclass(slots=True)
class _Block:
    index: int
    kind: str
    awaiting: bool  # a text/reasoning block whose first content frame is not out yet
    parts: list[str] = field(default_factory=list)


class _Encoder:
    def __init__(self, knobs: Knobs) -> None:
        self.knobs = knobs
        self.rng = random.Random(f"bedrock-converse:{knobs.seed}")
        self.frames: list[bytes] = []
        self.blocks: dict[int, _Block] = {}
        self.left_open: list[int] = []  # blocks ended incomplete: no contentBlockStop
        self.next_index = 0
        self.usage: Usage | None = None
        self.complete_calls = 0
        self.ended = False
        self.prologue_done = False

    def run(self, events: Sequence[Event]) -> bytes:
        for position, event in enumerate(events):
            if isinstance(event, Unknown):
                continue  # comparison skips them; Bedrock has nothing to render them as
            if self.ended:
                raise UsageError(f"event {position} ({event.TYPE}) comes after the terminal")
            try:
                self._event(event)
            except UsageError as exc:
                raise UsageError(f"event {position} ({event.TYPE}): {exc.message}") from None
        if not self.ended:
            raise UsageError("the sequence has no terminal event (finish or error)")
        return b"".join(self.frames)

    # -- one event -----------------------------------------------------------------

    def _event(self, event: Event) -> None:
        if isinstance(event, ResponseStart):
            if event.response_id is not None or event.model is not None:
                raise UsageError("Converse sends no response id or model in messageStart")
            self._emit("messageStart", {"role": "assistant"})
            return
        self._prologue()
        if isinstance(event, BlockStart):
            self._start(event)
        elif isinstance(event, BlockDelta):
            self._delta(event)
        elif isinstance(event, BlockEnd):
            self._end(event)
        elif isinstance(event, Usage):
            self.usage = event
        elif isinstance(event, Finish):
            self._finish(event)
        elif isinstance(event, Error):
            self._error(event)
        elif isinstance(event, Abort):
            raise UsageError("an abort is the consumer's doing; no vendor stream contains one")

    def _prologue(self) -> None:
        if not self.prologue_done:
            self.prologue_done = True
            if self.knobs.empty_text_first:
                self._emit("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": ""}})
                self._emit("contentBlockStop", {"contentBlockIndex": 0})
                self.next_index = 1

    def _start(self, event: BlockStart) -> None:
        self._check_order(event.block)
        if event.block in self.blocks:
            raise UsageError(f"block {event.block} starts twice")
        kind = event.kind
        if kind in ("text", "reasoning"):
            if event.id is not None or event.name is not None or event.data is not None:
                raise UsageError(f"a {kind} block carries no id, name or data on Bedrock")
        elif kind in (*TOOL_KINDS, "server_tool_result"):
            if event.id is None:
                raise UsageError(f"a {kind} block needs the vendor's toolUseId")
        elif kind not in ("citation", IMAGE_KIND):
            raise UsageError(f"Bedrock has no {kind!r} block")
        if kind == "citation":
            self._citation(event)
            return
        index = self.next_index
        self.next_index += 1
        self.blocks[event.block] = _Block(index, kind, awaiting=kind in ("text", "reasoning"))
        if kind in ("text", "reasoning"):
            if self.knobs.text_block_start:
                self._emit("contentBlockStart", {"contentBlockIndex": index, "start": {}})
            return
        start: dict[str, JSONValue]
        if kind in TOOL_KINDS:
            if not event.name:
                raise UsageError(f"a {kind} block needs a tool name")
            use: dict[str, JSONValue] = {"toolUseId": event.id, "name": event.name}
            if kind == "server_tool_call":
                use["type"] = "server_tool_use"
            if event.data is not None:
                raise UsageError(f"a {kind} block carries no start data on Bedrock")
            start = {"toolUse": use}
        elif kind == "server_tool_result":
            header = event.data if event.data is not None else {}
            if not isinstance(header, dict) or "toolUseId" in header:
                raise UsageError("server_tool_result start data must be an object without toolUseId")
            start = {"toolResult": {"toolUseId": event.id, **header}}
        else:
            if not isinstance(event.data, dict) or event.id is not None or event.name is not None:
                raise UsageError(f"an {IMAGE_KIND} block needs its image start object as data, no id or name")
            start = {"image": event.data}
        self._emit("contentBlockStart", {"contentBlockIndex": index, "start": start})

    def _citation(self, event: BlockStart) -> None:
        if event.id is not None or event.name is not None or not isinstance(event.data, dict):
            raise UsageError("a citation block needs the citation object as data, and no id or name")
        # Bedrock streams a citation inside the text block it annotates; without an
        # open text block, the citation gets an index of its own.
        host = next((b for b in reversed(self.blocks.values()) if b.kind == "text" and not b.awaiting), None)
        if host is None:
            index = self.next_index
            self.next_index += 1
        else:
            index = host.index
        self.blocks[event.block] = _Block(index, "citation", awaiting=False)
        self._emit("contentBlockDelta", {"contentBlockIndex": index, "delta": {"citation": event.data}})
        if host is None:
            self._emit("contentBlockStop", {"contentBlockIndex": index})

    def _delta(self, event: BlockDelta) -> None:
        block = self._block(event.block)
        self._check_order(event.block)
        text = event.text
        if block.kind == "citation":
            raise UsageError("a Bedrock citation carries no streamed text")
        if block.kind in TOOL_KINDS:
            block.parts.append(text)
            delta: dict[str, JSONValue] = {"toolUse": {"input": text}}
        elif block.kind == "server_tool_result":
            delta = {"toolResult": [{"text": text}]}
        elif block.kind == "reasoning":
            delta = {"reasoningContent": {"text": text}}
        elif block.kind == "text":
            delta = {"text": text}
        else:
            delta = {"image": {"source": {"bytes": text}}}
        if text:
            block.awaiting = False
        self._emit("contentBlockDelta", {"contentBlockIndex": block.index, "delta": delta})

    def _end(self, event: BlockEnd) -> None:
        block = self._block(event.block)
        self._check_order(event.block)
        del self.blocks[event.block]
        if block.kind != "reasoning" and (event.signature is not None or event.redacted is not None):
            raise UsageError(
                f"Bedrock has signatures and redacted content on reasoning only, not {block.kind}"
            )
        if event.data is not None and (
            block.kind != "server_tool_result" or not isinstance(event.data, list)
        ):
            raise UsageError(
                "only a server_tool_result end carries data on Bedrock: the list of its json items"
            )
        if block.kind == "citation":
            if event.incomplete:
                raise UsageError("a Bedrock citation arrives whole; it cannot be cut off")
            return
        if event.incomplete:
            if event.signature is not None or event.redacted is not None or event.data is not None:
                raise UsageError("a block cut off cannot carry a signature, redacted content or data")
            if block.awaiting:
                raise UsageError(f"a {block.kind} block without content cannot be expressed")
            self.left_open.append(block.index)
            return
        index = block.index
        if block.kind == "reasoning":
            if event.redacted is not None:
                self._content(index, {"reasoningContent": {"redactedContent": event.redacted}})
                block.awaiting = block.awaiting and not event.redacted
            if event.signature is not None:
                self._content(index, {"reasoningContent": {"signature": event.signature}})
                block.awaiting = block.awaiting and not event.signature
        if block.awaiting:
            raise UsageError(
                f"an empty {block.kind} block cannot be expressed: Bedrock opens it with content"
            )
        if isinstance(event.data, list):
            self._content(index, {"toolResult": [{"json": item} for item in event.data]})
        if block.kind == "tool_call":
            self.complete_calls += 1
        self._emit("contentBlockStop", {"contentBlockIndex": index})

    def _finish(self, event: Finish) -> None:
        self._at_terminal(cut_off_allowed=event.reason is FinishReason.LENGTH)
        raw = event.raw_reason
        if raw is None:
            if event.reason not in DEFAULT_STOP_REASONS:
                raise UsageError(f"Bedrock has no stop reason for {event.reason.value!r}")
            raw = DEFAULT_STOP_REASONS[event.reason]
        if finish_reason_for(raw, has_tool_call=self.complete_calls > 0) is not event.reason:
            known = STOP_REASONS.get(raw)
            said = f"means {known.value!r}" if known else "is unknown, so it means 'other'"
            raise UsageError(f"stopReason {raw!r} {said} here, not {event.reason.value!r}")
        usage = self.usage
        if usage is None or usage.input_tokens is None or usage.output_tokens is None:
            raise UsageError("Bedrock always reports usage (input and output tokens) in its metadata event")
        if usage.reasoning_tokens is not None:
            raise UsageError("Bedrock does not report reasoning tokens")
        uncached = usage.input_tokens - (usage.cache_read or 0) - (usage.cache_write or 0)
        if uncached < 0:
            raise UsageError("input_tokens is smaller than cache_read + cache_write")
        counts: dict[str, JSONValue] = {
            "inputTokens": uncached,
            "outputTokens": usage.output_tokens,
            "totalTokens": usage.input_tokens + usage.output_tokens,
        }
        if usage.cache_read is not None:
            counts["cacheReadInputTokens"] = usage.cache_read
        if usage.cache_write is not None:
            counts["cacheWriteInputTokens"] = usage.cache_write
        if self.knobs.server_tool_usage:
            counts["serverToolUsage"] = {}
        self._emit("messageStop", {"stopReason": raw})
        self._emit("metadata", {"metrics": {"latencyMs": self.rng.randint(100, 9999)}, "usage": counts})
        self.ended = True

    def _error(self, event: Error) -> None:
        self._at_terminal(cut_off_allowed=True)
        if self.usage is not None:
            raise UsageError("Bedrock reports usage only in the metadata event of a completed stream")
        code = event.code if event.code is not None else DEFAULT_EXCEPTIONS.get(event.category)
        if code is None:
            raise UsageError(f"Bedrock has no exception for category {event.category.value!r}")
        if category_for_exception(code) is not event.category:
            raise UsageError(
                f"{code!r} means {category_for_exception(code).value!r}, not {event.category.value!r}"
            )
        if event.retryable != default_retryable(event.category):
            raise UsageError(f"Bedrock cannot say retryable={event.retryable} for {event.category.value!r}")
        body: dict[str, JSONValue] = {"message": event.message}
        if event.status is not None:
            if code not in STATUS_EXCEPTIONS:
                raise UsageError(f"only {' and '.join(sorted(STATUS_EXCEPTIONS))} carry a status on Bedrock")
            body["originalStatusCode"] = event.status
        self.ended = True
        if self.knobs.error_frames == "error" and event.status is None:
            self.frames.append(
                encode_message(
                    (
                        _string(":error-code", code),
                        _string(":error-message", event.message),
                        _string(":message-type", "error"),
                    ),
                    b"",
                )
            )
            return
        if not code:
            raise UsageError("an exception type cannot be empty")
        payload = self._json(body)
        if self.knobs.header_order == "bedrock":
            self.frames.append(encode_exception(code, payload))
        else:
            self.frames.append(
                encode_message(
                    (
                        _string(":message-type", "exception"),
                        _string(":exception-type", code),
                        _string(":content-type", "application/json"),
                    ),
                    payload,
                )
            )

    # -- helpers -------------------------------------------------------------------

    def _at_terminal(self, *, cut_off_allowed: bool) -> None:
        if self.blocks:
            open_ = ", ".join(map(str, self.blocks))
            raise UsageError(f"block(s) {open_} still open at the terminal: end them (incomplete if cut off)")
        if self.left_open and not cut_off_allowed:
            raise UsageError("blocks ended incomplete need an error or finish{length} terminal")

    def _check_order(self, block: int) -> None:
        """No other block may show an event while a text/reasoning block awaits content."""
        for key, other in self.blocks.items():
            if other.awaiting and key != block:
                raise UsageError(
                    f"block {key} ({other.kind}) has no content yet, and Bedrock opens it with its "
                    f"first delta: block {block}'s event here would reorder the blocks"
                )

    def _block(self, key: int) -> _Block:
        if key not in self.blocks:
            raise UsageError(f"block {key} is not open")
        return self.blocks[key]

    def _content(self, index: int, delta: dict[str, JSONValue]) -> None:
        self._emit("contentBlockDelta", {"contentBlockIndex": index, "delta": delta})

    def _emit(self, event_type: str, body: dict[str, JSONValue]) -> None:
        payload = self._json(body)
        if self.knobs.header_order == "bedrock":
            self.frames.append(encode_event(event_type, payload))
        else:
            headers = (
                _string(":message-type", "event"),
                _string(":event-type", event_type),
                _string(":content-type", "application/json"),
            )
            self.frames.append(encode_message(headers, payload))

    def _json(self, body: dict[str, JSONValue]) -> bytes:
        if self.knobs.padding:
            size = self.rng.randint(self.knobs.padding_min, self.knobs.padding_max)
            body = {**body, "p": (PADDING_ALPHABET * (size // len(PADDING_ALPHABET) + 1))[:size]}
        try:
            text = json.dumps(
                body,
                sort_keys=True,
                separators=(",", ":"),
                ensure_ascii=self.knobs.ascii_json,
                allow_nan=False,
            )
        except (ValueError, TypeError, RecursionError) as exc:
            raise UsageError(f"payload cannot be JSON: {exc}") from None
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise UsageError(f"text cannot be encoded as UTF-8 ({exc.reason})") from None


def _string(name: str, value: str) -> EventStreamHeader:
    return EventStreamHeader(name=name, type=HeaderType.STRING, value=value)
