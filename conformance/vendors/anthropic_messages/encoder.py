"""Encoder for Anthropic Messages streaming: a canonical sequence -> the SSE bytes Anthropic sends.  No I/O.

Every payload is compact JSON (non-ASCII kept raw) in an ``event: <type>`` +
``data: <json>`` SSE event, as the API sends it; :class:`Knobs` selects the variants
real streams show (padding spaces, pings, the empty first ``input_json_delta``,
where the thinking signature goes, which usage counts ``message_delta`` repeats,
``stop_details``, ``caller``, the error frame's shape, line ends, a missing final
blank line).  Output is a function of (events, knobs) only: padding lengths come
from a seeded ``random.Random``.

Strategy: a first pass finds each block's start and end (keys are labels, as in
:mod:`conformance.fold`), so that what the wire needs up front (a redacted block's
data, a signature sent early) is known when the block starts.  A second pass
renders the events in order.  Usage is placed the way Anthropic reports it: the
first snapshot before any content in ``message_start``, the last one before the
terminal in ``message_delta``.  Blocks ended ``incomplete`` get no
``content_block_stop``: on the wire a cut-off block simply never ends, and the
decoder ends it at the terminal.

What Anthropic cannot send raises :class:`~conformance.errors.UsageError`: refusal
or extension block kinds, a finish reason without its vendor value, error
categories no ``error.type`` maps to (``protocol``, ``decode``...), an HTTP status
inside a stream error, a citation outside a text block, deltas on a redacted or
result block, an ``abort`` (the consumer's act, not the vendor's).
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

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
    FinishReason,
    JSONObject,
    JSONValue,
    ResponseStart,
    Usage,
)
from conformance.fold import block_labels
from conformance.framing.messages import SSEEvent
from conformance.framing.sse import encode as encode_sse
from conformance.vendors._builder import default_retryable
from conformance.vendors.anthropic_messages.decoder import ERROR_CATEGORIES, RESULT_SUFFIX, STOP_REASONS

__all__ = ["PING", "Knobs", "encode"]

#: The keep-alive payload, byte for byte (note the space; never padded).
PING = '{"type": "ping"}'

#: Canonical tool kinds -> Anthropic content block types.
_TOOL_TYPES = {"tool_call": "tool_use", "server_tool_call": "server_tool_use"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Knobs:
    """Variants of Anthropic's wire output; the defaults are what the API sends today.

    * ``padding_max``: each payload but ``ping`` is followed by 0..``padding_max``
      spaces (``sse.trailing_whitespace_in_data``); ``padding_seed`` picks the counts.
    * ``pings``: ``ping`` events right after the first ``content_block_start``
      (none when there is no block, as in ``anthropic.refusal_no_content_blocks``);
      ``ping_every``: also one after every N-th event (0: never).
    * ``empty_first_json_delta``: a tool block's first ``input_json_delta`` is ``""``
      (``anthropic.input_json_delta.empty_first``).
    * ``signature_placement``: the thinking signature as a ``signature_delta`` just
      before ``content_block_stop`` (``"before_stop"``, what the API does), right
      after ``content_block_start`` (``"after_start"``), or in the start's
      ``signature`` field (``"in_start"``).
    * ``delta_usage``: ``message_delta.usage`` repeats every count (``"full"``, today)
      or holds ``output_tokens`` plus only the counts that changed since
      ``message_start`` (``"minimal"``, the older API).
    * ``stop_details``: send ``delta.stop_details`` (``null``, or for ``refusal`` the
      object with ``refusal_category`` and ``refusal_explanation``).
    * ``caller``: ``tool_use`` blocks carry ``"caller":{"type":"direct"}``.
    * ``error_shape``: ``"live"`` (``details: null`` and a top-level ``request_id``,
      as captured in the wild) or ``"docs"`` (type and message only).
    * ``eol``: line ends; ``event_lines``: send the ``event:`` line (some proxies drop
      it); ``final_blank_line``: end with a blank line (``sse.eof_without_final_blank_line``).
    * ``model_first``: ``message_start.message`` lists ``model`` before ``id`` (newer API).
    """

    padding_max: int = 16
    padding_seed: int = 0
    pings: int = 1
    ping_every: int = 0
    empty_first_json_delta: bool = True
    signature_placement: Literal["before_stop", "after_start", "in_start"] = "before_stop"
    delta_usage: Literal["full", "minimal"] = "full"
    stop_details: bool = True
    refusal_category: str | None = None
    refusal_explanation: str | None = None
    caller: bool = True
    error_shape: Literal["live", "docs"] = "live"
    request_id: str = "req_011CConformanceSuite000001"
    eol: Literal["\n", "\r\n"] = "\n"
    event_lines: bool = True
    final_blank_line: bool = True
    model_first: bool = True

    def __post_init__(self) -> None:
        for name in ("padding_max", "pings", "ping_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise UsageError(f"Knobs.{name} must be an integer >= 0, not {value!r}")


def _compact(value: JSONValue) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _vendor_usage(usage: Usage) -> dict[str, JSONValue]:
    """A canonical snapshot as Anthropic's usage object (input split from the cache counts)."""
    out: dict[str, JSONValue] = {}
    if usage.input_tokens is not None:
        uncached = usage.input_tokens - (usage.cache_write or 0) - (usage.cache_read or 0)
        if uncached < 0:
            raise UsageError(
                f"input_tokens {usage.input_tokens} is less than its cache reads and writes: "
                "Anthropic reports them apart from the uncached input"
            )
        out["input_tokens"] = uncached
    if usage.cache_write is not None:
        out["cache_creation_input_tokens"] = usage.cache_write
    if usage.cache_read is not None:
        out["cache_read_input_tokens"] = usage.cache_read
    if usage.output_tokens is not None:
        out["output_tokens"] = usage.output_tokens
    if usage.reasoning_tokens is not None:
        out["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
    return out


@dataclass(slots=True)
class _Plan:
    """What the first pass learns about one block."""

    start: BlockStart
    end: BlockEnd | None = None
    index: int = -1  # the wire index (citations have none)


@dataclass(slots=True)
class _Renderer:
    knobs: Knobs
    out: list[tuple[str, str]] = field(default_factory=list)  # (type, JSON) in order
    carried: dict[str, JSONValue] = field(default_factory=dict)  # usage the decoder already has

    def emit(self, payload: JSONObject) -> None:
        etype = payload["type"]
        assert isinstance(etype, str)
        self.out.append((etype, _compact(payload)))


def _plan(events: Sequence[Event]) -> list[_Plan | None]:
    """Per event, the plan of the block it belongs to (``None`` for other events)."""
    plans: dict[int, _Plan] = {}
    out: list[_Plan | None] = []
    for event, label in zip(events, block_labels(events), strict=True):
        plan = None
        if isinstance(event, BlockStart | BlockDelta | BlockEnd) and label is not None:
            if isinstance(event, BlockStart):
                plans[label] = _Plan(event)
            plan = plans.get(label)
            if plan is None:
                raise UsageError(f"block {event.block} has no block.start: its kind cannot be rendered")
            if isinstance(event, BlockEnd):
                plan.end = event
        out.append(plan)
    return out


def _check_start(start: BlockStart, end: BlockEnd | None) -> None:
    kind = start.kind
    if kind in ("text", "reasoning") and (
        start.id is not None or start.name is not None or start.data is not None
    ):
        raise UsageError(f"a {kind} block start carries no id, name or data on Anthropic's wire")
    if kind in _TOOL_TYPES and (start.id is None or not start.name or start.data is not None):
        raise UsageError(f"a {kind} block needs an id and a name (and no data) on Anthropic's wire")
    if kind == "server_tool_result" and (start.id is None or not (start.name or "").endswith(RESULT_SUFFIX)):
        raise UsageError(
            "a server_tool_result needs the call's id and a '*_tool_result' name (its block type)"
        )
    if kind == "citation" and (not isinstance(start.data, dict) or start.id or start.name):
        raise UsageError("a citation block needs the citation object as data (and no id or name)")
    if kind not in ("text", "reasoning", "citation", "server_tool_result", *_TOOL_TYPES):
        raise UsageError(f"Anthropic has no {kind!r} block")
    if end is None:
        return
    if (end.signature is not None or end.redacted is not None) and kind != "reasoning":
        raise UsageError(
            f"Anthropic carries signatures and redacted data on thinking blocks only, not {kind}"
        )
    if end.signature is not None and end.redacted is not None:
        raise UsageError("a redacted_thinking block has no signature")
    if end.data is not None:
        raise UsageError("Anthropic sends no data at a block's end")
    if kind == "citation" and end.incomplete:
        raise UsageError("a citation is whole on Anthropic's wire; it cannot be cut off")


def _finish_reason(finish: Finish) -> str | None:
    raw = finish.raw_reason
    if raw is None:
        if finish.reason != FinishReason.OTHER:
            raise UsageError(
                f"finish {finish.reason.value!r} needs raw_reason: Anthropic always names its stop reason"
            )
        return None
    if STOP_REASONS.get(raw, FinishReason.OTHER) != finish.reason:
        raise UsageError(f"stop_reason {raw!r} does not mean finish {finish.reason.value!r}")
    return raw


def _error_payload(error: Error, knobs: Knobs) -> JSONObject:
    code = error.code
    if code is None or ERROR_CATEGORIES.get(code, ErrorCategory.UNKNOWN) != error.category:
        raise UsageError(
            f"no Anthropic error type gives category {error.category.value!r} with code {code!r}"
            " (protocol and decode errors have no wire form: cut or corrupt the bytes instead)"
        )
    if error.status is not None:
        raise UsageError("an in-stream Anthropic error carries no HTTP status")
    if error.retryable != default_retryable(error.category):
        raise UsageError(f"retryable={error.retryable} is not what category {error.category.value!r} implies")
    if knobs.error_shape == "docs":
        return {"type": "error", "error": {"type": code, "message": error.message}}
    return {
        "type": "error",
        "error": {"details": None, "type": code, "message": error.message},
        "request_id": knobs.request_id,
    }


def _message_start(start: ResponseStart, usage: Usage | None, r: _Renderer) -> None:
    message: dict[str, JSONValue] = {}
    if r.knobs.model_first and start.model is not None:
        message["model"] = start.model
    if start.response_id is not None:
        message["id"] = start.response_id
    message.update(type="message", role="assistant")
    if not r.knobs.model_first and start.model is not None:
        message["model"] = start.model
    message.update(content=[], stop_reason=None, stop_sequence=None)
    if r.knobs.stop_details:
        message["stop_details"] = None
    if usage is not None:
        r.carried = _vendor_usage(usage)
        message["usage"] = dict(r.carried)
    r.emit({"type": "message_start", "message": message})


def _delta_usage(usage: Usage, r: _Renderer) -> dict[str, JSONValue]:
    full = _vendor_usage(usage)
    if r.knobs.delta_usage == "full":
        return full
    return {k: v for k, v in full.items() if k == "output_tokens" or r.carried.get(k) != v}


def _block_start(plan: _Plan, index: int, r: _Renderer) -> None:
    start, end, knobs = plan.start, plan.end, r.knobs
    kind = start.kind
    block: dict[str, JSONValue]
    if kind == "text":
        block = {"type": "text", "text": ""}
    elif kind == "reasoning" and end is not None and end.redacted is not None:
        block = {"type": "redacted_thinking", "data": end.redacted}
    elif kind == "reasoning":
        early = end.signature if knobs.signature_placement == "in_start" and end is not None else None
        block = {"type": "thinking", "thinking": "", "signature": early or ""}
    elif kind in _TOOL_TYPES:
        block = {"type": _TOOL_TYPES[kind], "id": start.id, "name": start.name, "input": {}}
        if kind == "tool_call" and knobs.caller:
            block["caller"] = {"type": "direct"}
    else:  # server_tool_result
        block = {"type": start.name, "tool_use_id": start.id, "content": start.data}
    r.emit({"type": "content_block_start", "index": index, "content_block": block})
    if kind in _TOOL_TYPES and knobs.empty_first_json_delta:
        _delta(index, "input_json_delta", "partial_json", "", r)
    if kind == "reasoning" and knobs.signature_placement == "after_start" and end and end.signature:
        _delta(index, "signature_delta", "signature", end.signature, r)


def _delta(index: int, dtype: str, key: str, value: JSONValue, r: _Renderer) -> None:
    r.emit({"type": "content_block_delta", "index": index, "delta": {"type": dtype, key: value}})


_DELTA_TYPES = {
    "text": ("text_delta", "text"),
    "reasoning": ("thinking_delta", "thinking"),
    "tool_call": ("input_json_delta", "partial_json"),
    "server_tool_call": ("input_json_delta", "partial_json"),
}


def _render_blocks(events: Sequence[Event], stop: int, r: _Renderer) -> None:
    plans = _plan(events[:stop])
    open_text: list[_Plan] = []  # text blocks not yet ended, in start order
    next_index = 0
    for event, plan in zip(events[:stop], plans, strict=True):
        if plan is None:
            continue
        kind = plan.start.kind
        if isinstance(event, BlockStart):
            _check_start(plan.start, plan.end)
            if kind == "citation":
                if not open_text:
                    raise UsageError(
                        "a citation needs an open text block: Anthropic sends it as citations_delta"
                    )
                _delta(open_text[-1].index, "citations_delta", "citation", plan.start.data, r)
                continue
            plan.index, next_index = next_index, next_index + 1
            _block_start(plan, plan.index, r)
            if kind == "text":
                open_text.append(plan)
        elif isinstance(event, BlockDelta):
            spec = _DELTA_TYPES.get(kind)
            redacted = plan.end is not None and plan.end.redacted is not None
            if spec is None or redacted:
                raise UsageError(
                    f"Anthropic streams no deltas into a {'redacted ' if redacted else ''}{kind} block"
                )
            _delta(plan.index, spec[0], spec[1], event.text, r)
        elif isinstance(event, BlockEnd) and kind != "citation":
            if plan in open_text:
                open_text.remove(plan)
            if event.signature is not None and r.knobs.signature_placement == "before_stop":
                _delta(plan.index, "signature_delta", "signature", event.signature, r)
            if not event.incomplete:
                r.emit({"type": "content_block_stop", "index": plan.index})


def _render(events: Sequence[Event], knobs: Knobs) -> _Renderer:
    r = _Renderer(knobs)
    stop = next((i for i, e in enumerate(events) if isinstance(e, Finish | Error | Abort)), len(events))
    terminal = events[stop] if stop < len(events) else None
    if isinstance(terminal, Abort):
        raise UsageError("an abort is the consumer's act: Anthropic's wire has no form for it")
    usages = [(i, e) for i, e in enumerate(events[:stop]) if isinstance(e, Usage)]
    first_block = next(
        (i for i, e in enumerate(events) if isinstance(e, BlockStart | BlockDelta | BlockEnd)), stop
    )
    initial = usages[0][1] if usages and usages[0][0] < first_block else None
    final = usages[-1][1] if usages else None
    head = next((i for i, e in enumerate(events[:stop]) if isinstance(e, ResponseStart)), None)
    if head is not None:
        start = events[head]
        assert isinstance(start, ResponseStart)
        _message_start(start, initial, r)
    elif initial is not None:
        raise UsageError("usage before any content needs a response.start to carry it (message_start)")
    _render_blocks(events, stop, r)
    if isinstance(terminal, Finish):
        raw = _finish_reason(terminal)
        delta: dict[str, JSONValue] = {"stop_reason": raw, "stop_sequence": None}
        if knobs.stop_details:
            delta["stop_details"] = None
            if raw == "refusal":
                delta["stop_details"] = {
                    "type": "refusal",
                    "category": knobs.refusal_category,
                    "explanation": knobs.refusal_explanation,
                }
        payload: JSONObject = {"type": "message_delta", "delta": delta}
        if final is not None:
            payload["usage"] = _delta_usage(final, r)
        r.emit(payload)
        r.emit({"type": "message_stop"})
    elif isinstance(terminal, Error):
        error = _error_payload(terminal, knobs)
        if final is not None and _vendor_usage(final) != r.carried:
            r.emit(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": None, "stop_sequence": None},
                    "usage": _delta_usage(final, r),
                }
            )
        r.emit(error)
    return r


def encode(events: Sequence[Event], knobs: Knobs) -> bytes:
    """Render ``events`` as an Anthropic Messages SSE body (see the module docstring)."""
    r = _render(events, knobs)
    rng = random.Random(knobs.padding_seed)
    items: list[SSEEvent] = []
    pings_due = knobs.pings
    since_ping = 0
    for etype, text in r.out:
        pad = " " * rng.randint(0, knobs.padding_max) if knobs.padding_max else ""
        items.append(SSEEvent(event=etype if knobs.event_lines else None, data=text + pad))
        ping = 0
        if etype == "content_block_start" and pings_due:
            ping, pings_due = pings_due, 0
        since_ping += 1
        if knobs.ping_every and since_ping >= knobs.ping_every:
            ping, since_ping = ping + 1, 0
        items.extend(SSEEvent(event="ping" if knobs.event_lines else None, data=PING) for _ in range(ping))
    return encode_sse(items, eol=knobs.eol, final_blank_line=knobs.final_blank_line)
