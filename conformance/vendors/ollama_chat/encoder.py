"""Encoder for Ollama's native streaming API: canonical events -> NDJSON as Ollama sends it.  No I/O.

Each text or reasoning delta becomes one ``done: false`` object (``message.content`` /
``message.thinking`` for ``/api/chat``, ``response`` / ``thinking`` for ``/api/generate``),
tool calls become complete objects in ``message.tool_calls`` just before the end, and the
terminal becomes the ``done: true`` object (``done_reason``, counters, durations), a bare
``{"error": ...}`` line, or -- for ``error{protocol}`` -- a stream that simply stops.
Field order and timestamps follow Ollama's documentation examples; timestamps and
durations are derived from the frame number, so the output is deterministic.

Strategy: obvious impossibilities (a response id, signatures, cache counts, tool calls on
``/api/generate``, arguments that are not the compact serialisation of a JSON value...)
raise :class:`UsageError` at once; subtler ones (two adjacent text blocks that would merge,
an ``incomplete`` flag the terminal would not produce, blocks in an order Ollama cannot
deliver) are caught by decoding the result with the reference decoder and comparing the
folded sequences: the encoder never returns bytes that mean something else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
from conformance.framing import ndjson
from conformance.vendors._base import check_expressed
from conformance.vendors.ollama_chat.decoder import OllamaDecoder, serialise_arguments

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Knobs", "encode"]

_EPOCH = datetime(2025, 10, 26, 17, 15, 24, 97_767, tzinfo=UTC)
_FRAME_US = 11_407  # microseconds between frames (about what the documented example shows)


@dataclass(frozen=True, slots=True, kw_only=True)
class Knobs:
    """How to render a sequence; the defaults are what Ollama's ``/api/chat`` sends."""

    #: ``chat`` (``/api/chat``: ``message.content``...) or ``generate`` (``/api/generate``:
    #: ``response``...); decode with the same flavour.
    flavour: Literal["chat", "generate"] = "chat"
    #: Line end (Ollama sends LF; a proxy may send CRLF).
    eol: Literal["\n", "\r\n"] = "\n"
    #: Escape non-ASCII characters in JSON instead of sending them raw.
    ascii_json: bool = False
    #: Tool calls all in one frame (``together``), one frame per call (``each``), or inside
    #: the ``done: true`` object (``done``; one frame when the stream fails instead).
    tool_call_frames: Literal["together", "each", "done"] = "together"
    #: Send ``function.index`` (the call's position) with each call.
    tool_call_index: bool = True
    #: Send every call that has an id twice: first with provisional ``arguments: {}`` (in one
    #: frame with the calls that have no id), then the final call with the same id, which
    #: replaces it (``ollama.tool_calls_complete_objects``).
    replaced_tool_calls: bool = False
    #: Put the last text/reasoning fragment in the ``done: true`` object, as the documented
    #: ``/api/generate`` example does, instead of an empty one.
    last_fragment_in_done: bool = False
    #: Send ``total_duration``, ``load_duration``, ``prompt_eval_duration``, ``eval_duration``.
    durations: bool = True


@dataclass(slots=True)
class _Call:
    position: int  # among the response's calls: its ``function.index``
    id: str | None
    name: str
    arguments: JSONValue


class _Writer:
    """Collects the NDJSON objects of one response."""

    def __init__(self, knobs: Knobs, model: str | None) -> None:
        self.knobs = knobs
        self.model = model
        self.frames: list[JSONObject] = []

    def frame(
        self, *, text: str = "", thinking: str = "", calls: list[_Call] | None = None, done: bool = False
    ) -> JSONObject:
        out: JSONObject = {} if self.model is None else {"model": self.model}
        stamp = _EPOCH + timedelta(microseconds=_FRAME_US * len(self.frames))
        out["created_at"] = stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if self.knobs.flavour == "generate":
            out["response"] = text
            if thinking:
                out["thinking"] = thinking
        else:
            message: JSONObject = {"role": "assistant", "content": text}
            if thinking:
                message["thinking"] = thinking
            if calls:
                message["tool_calls"] = [self._call(call) for call in calls]
            out["message"] = message
        out["done"] = done
        self.frames.append(out)
        return out

    def _call(self, call: _Call) -> JSONObject:
        function: JSONObject = {"name": call.name, "arguments": call.arguments}
        if self.knobs.tool_call_index:
            function = {"index": call.position, **function}
        return {"id": call.id, "function": function} if call.id is not None else {"function": function}

    def finish(self, frame: JSONObject, raw: str | None, usage: Usage | None) -> None:
        if raw is not None:
            frame["done_reason"] = raw
        n = len(self.frames)
        durations = self.knobs.durations
        if durations:
            frame["total_duration"] = n * _FRAME_US * 1000 + 52_000_000
            frame["load_duration"] = 41_000_000
        if usage is not None and usage.input_tokens is not None:
            frame["prompt_eval_count"] = usage.input_tokens
        if durations:
            frame["prompt_eval_duration"] = 11_000_000
        if usage is not None and usage.output_tokens is not None:
            frame["eval_count"] = usage.output_tokens
        if durations:
            frame["eval_duration"] = n * _FRAME_US * 1000

    def body(self) -> bytes:
        dump = json.dumps
        ascii_json = self.knobs.ascii_json
        lines = [dump(f, ensure_ascii=ascii_json, separators=(",", ":")) for f in self.frames]
        return ndjson.encode(lines, eol=self.knobs.eol)


def _arguments(event: BlockEnd, raw: str) -> JSONValue:
    """The JSON value a tool call's arguments were serialised from (Ollama sends values)."""
    if event.arguments is not None:
        value: JSONValue = event.arguments
    else:
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):
            raise UsageError(
                f"Ollama sends arguments as JSON values; block {event.block}'s are not JSON"
            ) from None
    if serialise_arguments(value) != raw:
        msg = f"Ollama sends whole arguments; block {event.block}'s are not the compact serialisation of one"
        raise UsageError(msg)
    return value


def encode(events: Sequence[Event], knobs: Knobs) -> bytes:
    """Render ``events`` as Ollama's NDJSON body; :class:`UsageError` if Ollama cannot say it."""
    model = next((e.model for e in events if isinstance(e, ResponseStart)), None)
    w = _Writer(knobs, model)
    kinds: dict[int, str] = {}
    parts: list[tuple[str, str]] = []  # (frame field, text) of each text/reasoning delta
    raws: dict[int, list[str]] = {}
    calls: dict[int, _Call] = {}
    usage: Usage | None = None
    terminal: Finish | Error | None = None
    for event in events:
        if terminal is not None or isinstance(event, Unknown):
            continue
        if isinstance(event, ResponseStart):
            if event.response_id is not None:
                raise UsageError("Ollama sends no response id")
        elif isinstance(event, BlockStart):
            if event.kind not in ("text", "reasoning", "tool_call"):
                raise UsageError(f"Ollama has no {event.kind!r} blocks")
            if event.kind == "tool_call" and knobs.flavour == "generate":
                raise UsageError("/api/generate has no tool calls")
            if event.data is not None or (event.kind != "tool_call" and (event.id or event.name)):
                raise UsageError(
                    f"Ollama cannot send this header on a {event.kind} block (block {event.block})"
                )
            if event.kind == "tool_call":
                if not event.name:
                    raise UsageError(f"Ollama cannot send a tool call without a name (block {event.block})")
                calls[event.block] = _Call(len(calls), event.id, event.name, None)
                raws[event.block] = []
            kinds[event.block] = event.kind
        elif isinstance(event, BlockDelta):
            kind = kinds.get(event.block)
            if kind is None:
                raise UsageError(f"block.delta for block {event.block}, which never started")
            if kind == "tool_call":
                raws[event.block].append(event.text)
            else:
                parts.append(("thinking" if kind == "reasoning" else "text", event.text))
        elif isinstance(event, BlockEnd):
            if event.signature is not None or event.redacted is not None or event.data is not None:
                raise UsageError(
                    f"Ollama sends no signature, redacted data or final data (block {event.block})"
                )
            if event.block in calls:
                calls[event.block].arguments = _arguments(event, "".join(raws[event.block]))
        elif isinstance(event, Usage):
            if any(v is not None for v in (event.cache_read, event.cache_write, event.reasoning_tokens)):
                raise UsageError("Ollama reports only prompt_eval_count and eval_count")
            usage = event
        elif isinstance(event, Finish | Error):
            terminal = event
        elif isinstance(event, Abort):
            raise UsageError("an abort is the consumer's doing; Ollama cannot send one")
    if terminal is None:
        raise UsageError("the sequence has no terminal event (finish or error)")
    for block, call in calls.items():
        if call.arguments is None:  # never ended: the failure cut it off
            call.arguments = _arguments(BlockEnd(block=block), "".join(raws[block]))
    _render(w, parts, list(calls.values()), terminal, usage)
    body = w.body()
    check_expressed("Ollama", OllamaDecoder("ndjson", knobs.flavour), events, body)
    return body


def _render(
    w: _Writer,
    parts: list[tuple[str, str]],
    calls: list[_Call],
    terminal: Finish | Error,
    usage: Usage | None,
) -> None:
    """The fragment frames, the tool-call frames and the terminal."""
    knobs = w.knobs
    if isinstance(terminal, Error) and (terminal.code is not None or terminal.status is not None):
        raise UsageError("Ollama's error line carries only a message (no code or status)")
    finished = isinstance(terminal, Finish)
    last = parts.pop() if parts and finished and knobs.last_fragment_in_done else ("text", "")
    for field, text in parts:
        w.frame(text=text) if field == "text" else w.frame(thinking=text)
    in_done = knobs.tool_call_frames == "done" and finished
    if knobs.replaced_tool_calls and any(c.id is not None for c in calls):
        # Calls without an id go out once, in place; the others first as drafts.
        w.frame(calls=[c if c.id is None else _Call(c.position, c.id, c.name, {}) for c in calls])
        calls = [c for c in calls if c.id is not None]
    if calls and not in_done:
        for batch in [[c] for c in calls] if knobs.tool_call_frames == "each" else [calls]:
            w.frame(calls=batch)
    if isinstance(terminal, Error):
        if terminal.category is not ErrorCategory.PROTOCOL:
            w.frames.append({"error": terminal.message})
        return
    text, thinking = (last[1], "") if last[0] == "text" else ("", last[1])
    done = w.frame(text=text, thinking=thinking, calls=calls if in_done else None, done=True)
    w.finish(done, terminal.raw_reason, usage)
