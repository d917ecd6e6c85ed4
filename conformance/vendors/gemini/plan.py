"""Check a canonical sequence against what Gemini can send, and lay it out for the encoder.  No I/O.

:func:`plan` walks the sequence once and returns a :class:`Plan` (the response start,
the blocks and usage snapshots in order, the terminal as Gemini will send it) or raises
:class:`UsageError` saying what Gemini cannot express and why.  The checks mirror the
reference decoder, so that everything the encoder accepts decodes back to the same
folded sequence:

* blocks follow one another (parts are sequential) and all end;
* two text blocks (or two reasoning blocks) in a row would be read as one, since
  consecutive parts of one kind continue a block; a citation between them does not
  separate them (citations ride beside the parts);
* a text or reasoning block needs a delta or a signature (an empty part without a
  signature carries nothing); ``redacted`` and end ``data`` do not exist on this wire;
* ``tool_call`` arguments arrive as a JSON object and are read back as its compact
  serialisation, so the deltas must concatenate to exactly that; ``server_tool_call``
  is ``code_execution`` with ``{"language"?, "code"}``; ``server_tool_result`` carries
  ``{"outcome"?, "output"?}`` in ``data``;
* ``incomplete`` is true exactly for the text or reasoning block still open when an
  error or a ``length`` finish arrives;
* usage: no ``cache_write``; ``reasoning_tokens`` is part of ``output_tokens``; a field
  once reported stays reported (Gemini reports are merged field by field);
* the terminal: a ``finish`` with a raw reason that maps back to its reason; an
  ``error`` whose ``code``/``status`` give back its category, or the decoder's own
  truncation ``protocol`` error.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from conformance.errors import UsageError
from conformance.events import (
    BlockDelta,
    BlockEnd,
    BlockStart,
    Error,
    ErrorCategory,
    ErrorPhase,
    Event,
    Finish,
    FinishReason,
    JSONObject,
    JSONValue,
    ResponseStart,
    Unknown,
    Usage,
)
from conformance.vendors._builder import default_retryable
from conformance.vendors.gemini.decoder import CODE_EXECUTION, GeminiDecoder
from conformance.vendors.gemini.mapping import (
    BLOCK_REASONS,
    CANDIDATE_CONTENT_FILTER,
    error_category,
    finish_reason,
)

__all__ = ["TRUNCATED", "Block", "Plan", "plan"]

#: The decoder's message for a stream that ends before any ``finishReason``.
TRUNCATED = f"the stream ended without {GeminiDecoder.TERMINATOR}"

_TEXTUAL = ("text", "reasoning")
_KINDS = frozenset({*_TEXTUAL, "tool_call", "server_tool_call", "server_tool_result", "citation"})
_GROUNDING_KEYS = frozenset(
    {"groundingChunks", "groundingSupports", "webSearchQueries", "searchEntryPoint", "retrievalMetadata"}
)
_USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read", "cache_write", "reasoning_tokens")


@dataclass(slots=True)
class Block:
    """One canonical block, as the encoder renders it."""

    key: int
    kind: str
    id: str | None
    name: str | None
    data: JSONValue
    deltas: list[str] = field(default_factory=list)
    signature: str | None = None
    incomplete: bool = False
    ended: bool = False
    args: JSONObject | None = None  # tool kinds: the parsed arguments


@dataclass(slots=True)
class Plan:
    """What to send: the start, blocks and usage snapshots in order, and the end."""

    start: ResponseStart | None
    items: list[Block | Usage]
    final_usage: Usage | None
    finish: tuple[str, bool] | None  # (raw reason, as a blocked prompt)
    error: Error | None  # a vendor error object to append (None: none, or truncation)

    @staticmethod
    def is_grounding(data: JSONValue) -> bool:
        """Citation data sent as ``groundingMetadata`` (else as a ``citationMetadata`` entry)."""
        return isinstance(data, dict) and not _GROUNDING_KEYS.isdisjoint(data)


def plan(events: Sequence[Event], *, block_prompt: bool = False) -> Plan:
    """Lay ``events`` out for the encoder; UsageError for what Gemini cannot send."""
    start: ResponseStart | None = None
    items: list[Block | Usage] = []
    current: Block | None = None
    terminal: Finish | Error | None = None
    for event in events:
        if isinstance(event, Unknown):
            continue
        if terminal is not None:
            raise UsageError(f"{event.TYPE} after the terminal cannot be sent")
        if isinstance(event, ResponseStart):
            if start is not None or items:
                raise UsageError("response.start must come once, before everything else")
            if event.response_id is None and event.model is None:
                raise UsageError("an empty response.start cannot be sent (no responseId, no modelVersion)")
            start = event
        elif isinstance(event, BlockStart):
            if current is not None:
                raise UsageError(
                    f"block {event.block} starts inside block {current.key}: parts are sequential"
                )
            current = Block(event.block, event.kind, event.id, event.name, event.data)
            items.append(current)
        elif isinstance(event, BlockDelta | BlockEnd):
            if current is None or current.key != event.block:
                raise UsageError(f"{event.TYPE} for block {event.block}, which is not the open block")
            if isinstance(event, BlockDelta):
                current.deltas.append(event.text)
                continue
            if event.redacted is not None or event.data is not None:
                raise UsageError("Gemini has no redacted blocks and no end data")
            current.signature, current.incomplete, current.ended = event.signature, event.incomplete, True
            current = None
        elif isinstance(event, Usage):
            items.append(event)
        elif isinstance(event, Finish | Error):
            terminal = event
        else:
            raise UsageError(f"{event.TYPE} is the consumer's doing, not something Gemini sends")
    if current is not None:
        raise UsageError(f"block {current.key} never ends")
    if terminal is None:
        raise UsageError("the sequence has no terminal (finish or error)")
    blocks = [item for item in items if isinstance(item, Block)]
    _check_blocks(blocks, terminal)
    usages = [item for item in items if isinstance(item, Usage)]
    _check_usage(usages)
    final_usage = usages[-1] if usages else None
    if isinstance(terminal, Finish):
        return Plan(start, items, final_usage, _finish(terminal, blocks, block_prompt=block_prompt), None)
    return Plan(start, items, final_usage, None, _error(terminal, blocks))


def _check_blocks(blocks: list[Block], terminal: Finish | Error) -> None:
    previous: str | None = None
    content = [b for b in blocks if b.kind != "citation"]
    cut = isinstance(terminal, Error) or terminal.reason == FinishReason.LENGTH
    open_at_end = content[-1] if content and content[-1].kind in _TEXTUAL and cut else None
    for block in blocks:
        if block.kind not in _KINDS:
            raise UsageError(f"Gemini has no {block.kind!r} blocks")
        _check_block(block)
        if block.incomplete != (block is open_at_end):
            want = "incomplete" if block is open_at_end else "complete"
            raise UsageError(f"block {block.key} ({block.kind}) would be read back {want}")
        if block.kind == "citation":
            continue
        if block.kind in _TEXTUAL and block.kind == previous:
            raise UsageError(f"block {block.key}: two {block.kind} blocks in a row are read as one")
        previous = block.kind


def _check_block(block: Block) -> None:
    kind = block.kind
    block.deltas = [d for d in block.deltas if d]
    if kind in _TEXTUAL or kind == "citation":
        if block.id is not None or block.name is not None:
            raise UsageError(f"block {block.key}: a {kind} block has no id or name")
        if kind == "citation":
            if block.deltas or block.signature is not None:
                raise UsageError(f"block {block.key}: a citation has only data")
        elif block.data is not None:
            raise UsageError(f"block {block.key}: a {kind} block has no data")
        elif not block.deltas and block.signature is None:
            raise UsageError(f"block {block.key}: an empty {kind} block without a signature is not sent")
        return
    if kind == "server_tool_result":
        data = block.data
        if block.deltas or block.name is not None:
            raise UsageError(f"block {block.key}: a code execution result has only an id and data")
        if not isinstance(data, dict) or list(data) not in _RESULT_SHAPES or not _strings(data):
            raise UsageError(f"block {block.key}: result data must be {{'outcome'?, 'output'?}} strings")
        return
    if block.data is not None or not block.name:
        raise UsageError(f"block {block.key}: a {kind} block needs a name and has no data")
    raw = "".join(block.deltas)
    try:
        args = json.loads(raw)
    except ValueError:
        args = None
    if not isinstance(args, dict) or json.dumps(args, ensure_ascii=False, separators=(",", ":")) != raw:
        raise UsageError(
            f"block {block.key}: Gemini sends arguments as an object, read back in compact JSON; "
            f"the deltas must concatenate to exactly that, not {raw[:40]!r}"
        )
    if kind == "server_tool_call" and (
        block.name != CODE_EXECUTION
        or list(args) not in (["code"], ["language", "code"])
        or not _strings(args)
    ):
        raise UsageError(f"block {block.key}: the only server tool is code_execution {{language?, code}}")
    block.args = args


_RESULT_SHAPES: tuple[list[str], ...] = ([], ["outcome"], ["output"], ["outcome", "output"])


def _strings(obj: JSONObject) -> bool:
    return all(isinstance(v, str) for v in obj.values())


def _check_usage(usages: list[Usage]) -> None:
    seen: set[str] = set()
    for usage in usages:
        if usage.cache_write is not None:
            raise UsageError("Gemini reports no cache writes")
        if usage.reasoning_tokens is not None and (
            usage.output_tokens is None or usage.output_tokens < usage.reasoning_tokens
        ):
            raise UsageError("reasoning_tokens is part of output_tokens (thoughts + candidates)")
        present = {name for name in _USAGE_FIELDS if getattr(usage, name) is not None}
        if not seen <= present:
            raise UsageError(f"usage drops {sorted(seen - present)}: earlier reports would carry over")
        seen = present


def _finish(finish: Finish, blocks: list[Block], *, block_prompt: bool) -> tuple[str, bool]:
    raw = finish.raw_reason
    if raw is None:
        raise UsageError("a finish needs the raw finishReason to send")
    if finish.reason == FinishReason.CONTENT_FILTER and raw in BLOCK_REASONS:
        only_blocked = raw not in CANDIDATE_CONTENT_FILTER
        if not blocks and (only_blocked or block_prompt):
            return raw, True
        if only_blocked:
            raise UsageError(f"blockReason {raw!r} blocks the prompt: no content can come before it")
    calls = any(b.kind == "tool_call" for b in blocks)
    if finish_reason(raw, has_tool_calls=calls) != finish.reason:
        raise UsageError(f"finishReason {raw!r} is not read back as {finish.reason.value!r}")
    return raw, False


def _error(error: Error, blocks: list[Block]) -> Error | None:
    phase = ErrorPhase.MID_STREAM if blocks else ErrorPhase.BEFORE_OUTPUT
    if error.phase != phase:
        raise UsageError(f"the error's phase would be read back as {phase.value!r}")
    if error.category == ErrorCategory.PROTOCOL and error.message == TRUNCATED:
        if not error.retryable or error.status is not None or error.code is not None:
            raise UsageError("a truncated stream is a retryable protocol error without status or code")
        return None
    category = error_category(error.code, error.status)
    if category != error.category:
        raise UsageError(f"status {error.code!r} / code {error.status!r} is read back as {category.value!r}")
    if error.retryable != default_retryable(category):
        raise UsageError(f"retryable={error.retryable} disagrees with {category.value!r}")
    return error
