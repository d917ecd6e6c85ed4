"""Encoder: a canonical sequence rendered as an OpenAI Responses SSE stream.  No I/O.

The inverse of :mod:`.decoder`, for the sequences the API can carry:
``response.start`` (id and model) first; text, refusal, reasoning, tool_call and
server_tool_call blocks (a server_tool_result right after its call, citations right
after a text block); at most the last usage snapshot (it goes into the terminal
response object); and a ``finish`` or ``error`` terminal (or none: a truncated
stream).  Each block becomes its own output item, in start order; citations become
``response.output_text.annotation.added`` events of the text part before them.

Strategy: the sequence is first grouped into blocks (start, delta texts, end), then
each block is written as the vendor writes an item (:mod:`._render`) through one
writer that numbers events and adds padding.  Every "random" value (item ids, ``obfuscation`` padding,
the interim ``encrypted_content`` of an added reasoning item) comes from a
``random.Random`` seeded with ``Knobs.seed``, so output is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from conformance.errors import UsageError
from conformance.events import Abort, BlockDelta, BlockEnd, BlockStart, Error, Finish, ResponseStart, Usage
from conformance.framing.sse import encode as encode_sse
from conformance.vendors.openai_responses._render import Block, Stream, plain_end, usage_json

if TYPE_CHECKING:
    from collections.abc import Sequence

    from conformance.events import Event

__all__ = ["FLAVOUR_KNOBS", "Knobs", "encode"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Knobs:
    """How to render a sequence; the defaults are api.openai.com's usual stream."""

    #: ``event: <type>`` line before each ``data:`` line (OpenRouter sends none:
    #: ``sse.mixed_named_and_unnamed_events``).
    event_lines: bool = True
    #: ``data: [DONE]`` after the terminal event (``openrouter.responses.done_sentinel``).
    done_sentinel: bool = False
    #: ``: OPENROUTER PROCESSING`` comments before the first event (``sse.comment_keepalive``).
    keepalive_comments: int = 0
    #: ``sequence_number`` on every event (2025-03 streams had none:
    #: ``openai.responses.sequence_number_optional``).
    sequence_numbers: bool = True
    #: The first event's number: a stream resumed with ``starting_after=N`` starts at N+1.
    first_sequence_number: int = 0
    #: The opening event: ``response.created``, or ``response.queued`` (a resumed
    #: background stream, whose ``response.created`` was before ``starting_after``).
    first_event: Literal["created", "queued"] = "created"
    #: ``response.in_progress`` after the opening event.
    in_progress_event: bool = True
    #: ``obfuscation`` padding on delta events (``padding_fields``), from ``seed``.
    obfuscation: bool = True
    #: Seed of every generated value (item ids, padding, interim encrypted content).
    seed: int = 0
    #: Text, refusal and reasoning arrive as deltas; False: only in the ``.done``
    #: events (or the final item) -- deltas are still sent for a cut-off block.
    text_deltas: bool = True
    #: Function-call arguments arrive as deltas; False: ``.done`` only (LiteLLM #27144).
    argument_deltas: bool = True
    #: ``output_text.done``, ``content_part.done``, ``reasoning_summary_*.done``,
    #: ``function_call_arguments.done``; False: the final text is only in ``output_item.done``.
    part_done_events: bool = True
    #: Reasoning text as summary events (OpenAI) or raw ``reasoning_text`` (OpenRouter, DeepSeek).
    reasoning: Literal["summary", "raw"] = "summary"
    #: The added reasoning item already carries an (interim, different) ``encrypted_content``.
    encrypted_on_added: bool = True
    #: Output item id style: ``rs_<50 hex>`` (OpenAI), ``rs_tmp_<11 base36>`` (OpenRouter), UUIDs (DeepSeek).
    item_ids: Literal["openai", "openrouter", "uuid"] = "openai"
    #: An ``error`` event before ``response.failed`` (``openai.responses.error_event_then_failed``).
    error_event: bool = True
    #: That error event nested (``{"error": {...}}``, as on the wire) or flat (the SDK's type).
    error_shape: Literal["nested", "flat"] = "nested"
    #: Cut-off blocks with text and no signature get no ``output_item.done`` when the
    #: terminal closes them anyway (an error, or ``response.incomplete``).
    cut_items_left_open: bool = False


#: The knobs that render each flavour's usual stream.
FLAVOUR_KNOBS: dict[str, Knobs] = {
    "openai": Knobs(),
    "azure": Knobs(),
    "openrouter": Knobs(
        event_lines=False,
        done_sentinel=True,
        keepalive_comments=1,
        obfuscation=False,
        reasoning="raw",
        encrypted_on_added=False,
        item_ids="openrouter",
    ),
    "deepseek": Knobs(obfuscation=False, reasoning="raw", encrypted_on_added=False, item_ids="uuid"),
}


def _group(events: Sequence[Event]) -> tuple[ResponseStart, list[Block], Usage | None, Event | None]:
    """Split a sequence into its head, blocks in start order, last usage and terminal."""
    head: ResponseStart | None = None
    blocks: list[Block] = []
    open_blocks: dict[int, Block] = {}
    usage: Usage | None = None
    for event in events:
        if isinstance(event, ResponseStart):
            if head is not None or blocks:
                raise UsageError("response.start must come once, before every block")
            head = event
        elif isinstance(event, BlockStart):
            if event.block in open_blocks:
                raise UsageError(f"block {event.block} starts while it is open")
            open_blocks[event.block] = Block(event)
            blocks.append(open_blocks[event.block])
        elif isinstance(event, BlockDelta | BlockEnd):
            block = open_blocks.get(event.block)
            if block is None:
                raise UsageError(f"block {event.block} has a {event.TYPE} but is not open")
            if isinstance(event, BlockDelta):
                block.pieces.append(event.text)
            else:
                block.end = event
                del open_blocks[event.block]
        elif isinstance(event, Usage):
            usage = event
        elif isinstance(event, Finish | Error | Abort):
            if open_blocks:
                raise UsageError(f"blocks {sorted(open_blocks)} are still open at the terminal")
            return _head(head), blocks, usage, event
    return _head(head), blocks, usage, None


def _head(head: ResponseStart | None) -> ResponseStart:
    if head is None or head.response_id is None or head.model is None:
        raise UsageError("a Responses stream starts with response.created, which has an id and a model")
    return head


def encode(events: Sequence[Event], knobs: Knobs) -> bytes:
    """Render ``events`` as the Responses API streams them (see the module docstring)."""
    head, blocks, usage, terminal = _group(events)
    stream = Stream(knobs, head, terminal)
    w = stream.w
    if knobs.first_event == "queued":
        w.emit("response.queued", {"response": stream.response("queued")})
    else:
        w.emit("response.created", {"response": stream.response("in_progress")})
    if knobs.in_progress_event:
        w.emit("response.in_progress", {"response": stream.response("in_progress")})
    calls_done = False
    i = 0
    while i < len(blocks):
        block, kind = blocks[i], blocks[i].start.kind
        i += 1
        if kind == "text":
            citations = []
            while i < len(blocks) and blocks[i].start.kind == "citation":
                citation = blocks[i]
                plain_end(citation, "a citation block")
                if citation.pieces or not citation.complete or not isinstance(citation.start.data, dict):
                    raise UsageError("a citation is an annotation object in data, without text")
                citations.append(citation)
                i += 1
            stream.message(block, citations)
        elif kind == "refusal":
            stream.message(block, [])
        elif kind == "reasoning":
            stream.reasoning(block)
        elif kind == "tool_call":
            stream.function_call(block)
            calls_done = calls_done or block.complete
        elif kind == "server_tool_call":
            result = None
            if (
                i < len(blocks)
                and blocks[i].start.kind == "server_tool_result"
                and blocks[i].start.id == block.start.id
            ):
                result = blocks[i]
                i += 1
            stream.server_call(block, result)
        else:
            raise UsageError(
                f"a {kind} block cannot be expressed here (citations follow a text block, results their call)"
            )
    stream.terminal(terminal, usage_json(usage), calls_done)
    return encode_sse(w.items, comment_blank_lines=1)
