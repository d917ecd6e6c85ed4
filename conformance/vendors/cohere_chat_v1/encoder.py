"""Encoder for Cohere's legacy v1 chat stream: canonical events -> the NDJSON Cohere sends.  No I/O.

Field order follows the recording (``cohere-v1__ndjson-stream-json.txt``): ``is_finished``
first, then ``event_type``, then the event's fields; ``stream-end`` carries the
aggregated ``response`` (text, ids, finish reason, ``meta``) before ``finish_reason``.
Text deltas become ``text-generation`` lines; a ``reasoning`` block is the tool plan
(``tool-calls-chunk`` lines with ``text``); tool calls of one turn are streamed as
``tool-calls-chunk`` lines keyed by their position in the turn and restated whole by one
``tool-calls-generation`` (see :class:`Knobs`), which is sent when the turn is over:
before the next non-call block, before a call that the terminal will cut off, or before
the terminal.  Citation blocks become ``citation-generation`` lines.  A block whose end is
``incomplete`` gets nothing more: the terminal cuts it off.  An ``error{protocol}`` is
rendered as what it stands for, a stream that stops before ``stream-end``.

Strategy: obvious impossibilities (a model name, tool-call ids, signatures, cache counts,
aborts...) raise :class:`UsageError` at once; subtler ones (adjacent text blocks that would
merge, a message or code ``stream-end`` cannot carry, an ``incomplete`` flag the terminal
would not produce) are caught by decoding the result with the reference decoder and
comparing the folded sequences: the encoder never returns bytes that mean something else.
"""

from __future__ import annotations

import itertools
import json
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
from conformance.vendors.cohere_chat_v1.decoder import (
    FAILURE_REASONS,
    CohereChatV1Decoder,
    serialise_parameters,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Knobs", "encode"]

#: What Go's ``encoding/json`` escapes by default (HTML-safe output, and the two line
#: separators JavaScript does not accept in strings); the recording shows ``S\\u0026P``.
_GO_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Knobs:
    """How to render a sequence; the defaults are what Cohere's ``/v1/chat`` sends."""

    #: Send ``is_finished`` on every line (``false``, and ``true`` on ``stream-end``).
    is_finished: bool = True
    #: Line end.
    eol: Literal["\n", "\r\n"] = "\n"
    #: A blank line after every object (as in vercel/ai's v1 test streams).
    blank_lines: bool = False
    #: End the body with a line end after ``stream-end``.
    final_newline: bool = True
    #: Escape ``<``, ``>``, ``&``, U+2028 and U+2029 inside strings as Go's encoding/json does.
    go_escapes: bool = True
    #: Escape every non-ASCII character (``\\u00e9``) instead of sending it raw.
    ascii_json: bool = False
    #: Stream every complete tool call as ``tool-calls-chunk`` lines before its
    #: ``tool-calls-generation`` (``True``), or send complete calls only whole in the
    #: generation, with a plan that directly precedes them as its ``text`` (``False``).  A
    #: call the terminal cuts off is always streamed: no generation restates it.
    tool_call_chunks: bool = True
    #: Where a plan fragment goes: ``text`` on the chunk, or ``tool_call_delta.text``.
    plan_field: Literal["text", "tool_call_delta"] = "text"
    #: Put consecutive citation blocks in one ``citation-generation`` (else one each).
    citations_together: bool = True
    #: Send ``response.meta.billed_units`` beside ``tokens`` (the decoder ignores them).
    billed_units: bool = True


@dataclass(slots=True)
class _Call:
    position: int  # among the calls of its turn: the wire index
    name: str
    streamed: bool
    parts: list[str] = field(default_factory=list)
    parameters: JSONValue = None
    done: bool = False


@dataclass(slots=True)
class _Turn:
    """The tool calls since the last ``tool-calls-generation``."""

    calls: list[_Call] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)  # the plan text sent in the generation


class _Writer:
    """Collects the NDJSON lines of one response."""

    def __init__(self, knobs: Knobs) -> None:
        self.knobs = knobs
        self.lines: list[str] = []
        self.citations: list[JSONValue] = []  # held for one citation-generation
        self.chunked = False  # a tool-calls-chunk went out since the last tool-calls-generation

    def send(self, event_type: str, fields: JSONObject, *, finished: bool = False) -> None:
        self.flush_citations()
        if event_type in ("tool-calls-chunk", "tool-calls-generation"):
            self.chunked = event_type == "tool-calls-chunk"
        self._line(event_type, fields, finished)

    def _line(self, event_type: str, fields: JSONObject, finished: bool) -> None:
        obj: JSONObject = {"is_finished": finished} if self.knobs.is_finished else {}
        obj["event_type"] = event_type
        obj.update(fields)
        text = json.dumps(obj, ensure_ascii=self.knobs.ascii_json, separators=(",", ":"))
        self.lines.append(text.translate(_GO_ESCAPES) if self.knobs.go_escapes else text)

    def citation(self, data: JSONValue) -> None:
        if not self.knobs.citations_together:
            self.send("citation-generation", {"citations": [data]})
            return
        self.citations.append(data)

    def flush_citations(self) -> None:
        if self.citations:
            held, self.citations = self.citations, []
            self._line("citation-generation", {"citations": held}, False)

    def plan(self, text: str) -> None:
        if self.knobs.plan_field == "text":
            self.send("tool-calls-chunk", {"text": text})
        else:
            self.send("tool-calls-chunk", {"tool_call_delta": {"text": text}})

    def body(self) -> bytes:
        self.flush_citations()
        return ndjson.encode(
            self.lines,
            eol=self.knobs.eol,
            blank_lines=1 if self.knobs.blank_lines else 0,
            final_newline=self.knobs.final_newline,
        )


class _Encoder:
    """Walks one canonical sequence and renders it."""

    def __init__(self, events: Sequence[Event], knobs: Knobs) -> None:
        self.events = events
        self.knobs = knobs
        self.w = _Writer(knobs)
        self.roles: dict[int, str] = {}  # block -> text / plan / held-plan / call / citation
        self.calls: dict[int, _Call] = {}
        self.turn = _Turn()
        self.generation_id: str | None = None
        self.text: list[str] = []
        self.usage: Usage | None = None
        self.complete = {e.block for e in events if isinstance(e, BlockEnd) and not e.incomplete}
        self.held_plans = self._held_plans() if not knobs.tool_call_chunks else set()

    def _held_plans(self) -> set[int]:
        """Reasoning blocks sent as a generation's ``text``: each ends complete and the next
        block to start is a complete tool call (whole-call rendering only)."""
        starts = [e for e in self.events if isinstance(e, BlockStart)]
        return {
            s.block
            for s, after in itertools.pairwise(starts)
            if s.kind == "reasoning"
            and s.block in self.complete
            and after.kind == "tool_call"
            and after.block in self.complete
        }

    def run(self) -> bytes:
        terminal: Finish | Error | None = None
        for event in self.events:
            if isinstance(event, Unknown):
                continue
            if isinstance(event, Finish | Error):
                terminal = event
                break
            self._event(event)
        if terminal is None:
            raise UsageError("the sequence has no terminal event (finish or error)")
        self._end_turn()
        if isinstance(terminal, Finish):
            if terminal.raw_reason is None:
                raise UsageError("Cohere v1 always sends a finish_reason; the finish has no raw reason")
            self._stream_end(terminal.raw_reason)
        elif terminal.category is not ErrorCategory.PROTOCOL:
            if terminal.status is not None:
                raise UsageError("Cohere v1's stream-end carries no HTTP status")
            raw = terminal.code if terminal.code in FAILURE_REASONS else None
            if raw is None:
                raw = "ERROR_LIMIT" if terminal.category is ErrorCategory.CONTEXT_LENGTH else "ERROR"
            self._stream_end(raw)
        return self.w.body()

    def _event(self, event: Event) -> None:
        if isinstance(event, ResponseStart):
            if event.model is not None:
                raise UsageError("Cohere v1's stream-start carries no model name")
            self.generation_id = event.response_id
            head: JSONObject = {} if event.response_id is None else {"generation_id": event.response_id}
            self.w.send("stream-start", head)
        elif isinstance(event, BlockStart):
            self._start(event)
        elif isinstance(event, BlockDelta):
            self._delta(event)
        elif isinstance(event, BlockEnd):
            self._end(event)
        elif isinstance(event, Usage):
            if any(v is not None for v in (event.cache_read, event.cache_write, event.reasoning_tokens)):
                raise UsageError("Cohere v1 reports only input and output tokens (no cache or reasoning)")
            self.usage = event
        elif isinstance(event, Abort):
            raise UsageError("an abort is the consumer's doing; Cohere cannot send one")

    def _start(self, event: BlockStart) -> None:
        if event.block in self.roles:
            raise UsageError(f"block {event.block} starts twice")
        if event.kind != "tool_call" and (event.id is not None or event.name is not None):
            raise UsageError(f"Cohere v1 sends no id or name on a {event.kind} block (block {event.block})")
        if event.kind != "citation" and event.data is not None:
            raise UsageError(f"Cohere v1 cannot send data on a {event.kind} block (block {event.block})")
        if event.kind == "tool_call":
            self._start_call(event)
            return
        self._end_turn()
        if event.kind == "text":
            self.roles[event.block] = "text"
        elif event.kind == "reasoning":
            # A turn that streamed a chunk takes no plan from its generation (see the decoder).
            held = event.block in self.held_plans and not self.w.chunked
            self.roles[event.block] = "held-plan" if held else "plan"
        elif event.kind == "citation":
            if not isinstance(event.data, dict):
                raise UsageError(f"a Cohere citation is an object; block {event.block} has {event.data!r}")
            self.roles[event.block] = "citation"
            self.w.citation(event.data)
        else:
            raise UsageError(f"Cohere v1 has no {event.kind!r} blocks")

    def _start_call(self, event: BlockStart) -> None:
        if event.id is not None:
            raise UsageError(f"Cohere v1 sends no tool-call ids (block {event.block} has {event.id!r})")
        if not event.name:
            raise UsageError(f"Cohere cannot send a tool call without a name (block {event.block})")
        complete = event.block in self.complete
        if not complete:
            self._end_turn()  # no generation restates a call that is cut off
        streamed = not complete or self.knobs.tool_call_chunks
        call = _Call(len(self.turn.calls), event.name, streamed)
        self.turn.calls.append(call)
        self.calls[event.block] = call
        self.roles[event.block] = "call"
        if streamed:
            self.w.send("tool-calls-chunk", {"tool_call_delta": {"index": call.position, "name": call.name}})

    def _delta(self, event: BlockDelta) -> None:
        role = self.roles.get(event.block)
        if role is None:
            raise UsageError(f"block.delta for block {event.block}, which never started")
        if role == "text":
            self.text.append(event.text)
            self.w.send("text-generation", {"text": event.text})
        elif role in ("plan", "held-plan"):
            self.turn.plan.append(event.text)
            if role == "plan":
                self.w.plan(event.text)
        elif role == "call":
            call = self.calls[event.block]
            call.parts.append(event.text)
            if call.streamed:
                delta: JSONObject = {"index": call.position, "parameters": event.text}
                self.w.send("tool-calls-chunk", {"tool_call_delta": delta})
        else:
            raise UsageError(f"Cohere citations have no deltas (block {event.block})")

    def _end(self, event: BlockEnd) -> None:
        if event.block not in self.roles:
            raise UsageError(f"block.end for block {event.block}, which never started")
        if event.signature is not None or event.redacted is not None or event.data is not None:
            raise UsageError(f"Cohere v1 sends no signature, redacted or final data (block {event.block})")
        call = self.calls.get(event.block)
        if call is None or event.incomplete:
            return
        raw = "".join(call.parts) or "{}"
        value: JSONValue = event.arguments
        if value is None:
            try:
                value = json.loads(raw)
            except (ValueError, RecursionError):
                msg = f"Cohere v1 restates complete calls whole; block {event.block}'s arguments are not JSON"
                raise UsageError(msg) from None
        if not call.streamed and serialise_parameters(value) != raw:
            raise UsageError(
                f"a call sent only whole has compact arguments; block {event.block}'s are not the "
                "compact serialisation of its object"
            )
        call.parameters = value
        call.done = True

    def _end_turn(self) -> None:
        """Send the turn's ``tool-calls-generation`` if it has complete calls."""
        turn, self.turn = self.turn, _Turn()
        done = [c for c in turn.calls if c.done]
        if not done:
            return
        fields: JSONObject = {}
        if turn.plan:
            fields["text"] = "".join(turn.plan)
        fields["tool_calls"] = [{"name": c.name, "parameters": c.parameters} for c in done]
        self.w.send("tool-calls-generation", fields)

    def _stream_end(self, raw: str) -> None:
        response: JSONObject = {"text": "".join(self.text)}
        if self.generation_id is not None:
            response["generation_id"] = self.generation_id
        response["finish_reason"] = raw
        meta: JSONObject = {"api_version": {"version": "1"}}
        tokens: JSONObject = {}
        if self.usage is not None and self.usage.input_tokens is not None:
            tokens["input_tokens"] = self.usage.input_tokens
        if self.usage is not None and self.usage.output_tokens is not None:
            tokens["output_tokens"] = self.usage.output_tokens
        if tokens and self.knobs.billed_units:
            meta["billed_units"] = dict(tokens)
        if tokens:
            meta["tokens"] = tokens
        response["meta"] = meta
        self.w.send("stream-end", {"response": response, "finish_reason": raw}, finished=True)


def encode(events: Sequence[Event], knobs: Knobs) -> bytes:
    """Render ``events`` as Cohere's v1 NDJSON body; :class:`UsageError` if Cohere v1 cannot say it."""
    body = _Encoder(events, knobs).run()
    check_expressed("Cohere v1", CohereChatV1Decoder("ndjson", "cohere"), events, body)
    return body
