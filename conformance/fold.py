"""Fold a canonical event sequence into a chunking-independent form.  No I/O.

Two adapters that deliver the same content may still cut their deltas at different
points and interleave parallel blocks differently.  :func:`fold` maps every such
variant onto one sequence, which is itself a sequence of canonical events:

1. ``unknown`` events are dropped;
2. every ``response.start`` before the terminal comes first, in order (normally there
   is exactly one; extra ones stay visible rather than being merged away);
3. then each block, in order of first appearance: its ``block.start``, ONE
   ``block.delta`` holding the concatenation of its deltas (left out when that is
   ``""``), and its ``block.end`` if it had one.  Blocks are renumbered 0, 1, 2...;
4. then the last ``usage`` snapshot before the terminal (usage is cumulative, so only
   the last snapshot carries information);
5. then the terminal (the first ``finish``, ``error`` or ``abort``), then every other
   event after it in its original order, with the new block numbers applied.

Strategy (what a "block" is): keys are labels, so blocks are identified by walking
the sequence once (:func:`block_labels`).  A ``block.start`` always opens a new block
under its key.  A delta or end goes to the block currently open under its key; if
none is open (the key never started, or its block already ended) the event opens a
new *implicit* block at that position.  A ``block.end`` closes its block, so its key
is free again.  Consequences, all deliberate so that a comparison shows a broken
producer instead of hiding it:

* a delta or end for a block that never started is kept: its implicit block takes
  its place in the order where its first event appeared, with no ``block.start``
  (none is invented: its kind is unknown).  An implicit block with neither start nor
  end keeps its delta even when the concatenation is ``""``, so it never vanishes;
* a delta after its block's end, or a second end, becomes a separate implicit block
  rather than being merged into the ended one;
* a second ``block.start`` under a key that is still open starts another block (the
  first simply never ends).

Events after the terminal are labelled by the same walk but are not merged.  The
fold is idempotent and, for sequences whose blocks start in the same order,
invariant under re-chunking deltas and re-interleaving blocks.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from conformance.events import (
    Abort,
    BlockDelta,
    BlockEnd,
    BlockStart,
    Error,
    Event,
    Finish,
    ResponseStart,
    Unknown,
    Usage,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = ["Folded", "FoldedBlock", "Terminal", "block_labels", "fold", "fold_parts"]

#: The event types that end a sequence.
Terminal: TypeAlias = Finish | Error | Abort

# isinstance() tuples, built once (a ``A | B`` union is built anew at every call).
_BLOCK_EVENTS = (BlockStart, BlockDelta, BlockEnd)
_DELTA_OR_END = (BlockDelta, BlockEnd)
_TERMINALS = (Finish, Error, Abort)


@dataclass(frozen=True, slots=True, kw_only=True)
class FoldedBlock:
    """One block after folding; ``block`` is its new number (its position)."""

    block: int
    start: BlockStart | None
    delta: BlockDelta | None
    end: BlockEnd | None

    def events(self) -> Iterator[Event]:
        """Its events in sequence order (start, delta, end; absent ones skipped)."""
        if self.start is not None:
            yield self.start
        if self.delta is not None:
            yield self.delta
        if self.end is not None:
            yield self.end


@dataclass(frozen=True, slots=True, kw_only=True)
class Folded:
    """A folded sequence kept in its parts; :meth:`events` flattens it."""

    heads: tuple[ResponseStart, ...]
    blocks: tuple[FoldedBlock, ...]
    usage: Usage | None
    terminal: Terminal | None
    tail: tuple[Event, ...]

    def events(self) -> list[Event]:
        """The folded canonical sequence."""
        out: list[Event] = list(self.heads)
        for block in self.blocks:
            out.extend(block.events())
        if self.usage is not None:
            out.append(self.usage)
        if self.terminal is not None:
            out.append(self.terminal)
        out.extend(self.tail)
        return out


def block_labels(events: Sequence[Event]) -> list[int | None]:
    """The block number of each event (``None`` for events that are not block events).

    Numbers are 0, 1, 2... in order of each block's first appearance; see the module
    docstring for how keys map to blocks.  ``unknown`` events get ``None``.
    """
    open_blocks: dict[int, int] = {}  # producer key -> number of the block open under it
    labels: list[int | None] = []
    next_number = 0
    for event in events:
        number: int | None = None
        if isinstance(event, BlockStart):
            number = next_number
            next_number += 1
            open_blocks[event.block] = number
        elif isinstance(event, _DELTA_OR_END):
            number = open_blocks.get(event.block)
            if number is None:
                number = next_number
                next_number += 1
                open_blocks[event.block] = number
            if isinstance(event, BlockEnd):
                del open_blocks[event.block]
        labels.append(number)
    return labels


def _renumber(event: Event, number: int | None) -> Event:
    if number is None or not isinstance(event, _BLOCK_EVENTS):
        return event
    if event.block == number:
        return event
    return dataclasses.replace(event, block=number)


@dataclass(slots=True)
class _Builder:
    """Mutable accumulator for one block while folding (internal)."""

    start: BlockStart | None = None
    texts: list[str] = dataclasses.field(default_factory=list)
    end: BlockEnd | None = None

    def build(self, number: int) -> FoldedBlock:
        text = "".join(self.texts)
        keep_empty = bool(self.texts) and self.start is None and self.end is None
        delta = BlockDelta(block=number, text=text) if text or keep_empty else None
        return FoldedBlock(block=number, start=self.start, delta=delta, end=self.end)


def fold_parts(events: Sequence[Event]) -> Folded:
    """Fold ``events`` (see the module docstring) and keep the result in its parts."""
    kept = [event for event in events if not isinstance(event, Unknown)]
    labels = block_labels(kept)
    terminal: Terminal | None = None
    cut = len(kept)
    for i, event in enumerate(kept):
        if isinstance(event, _TERMINALS):
            terminal, cut = event, i
            break
    heads: list[ResponseStart] = []
    builders: dict[int, _Builder] = {}  # block number -> builder; numbers arrive in order
    usage: Usage | None = None
    for event, number in zip(kept[:cut], labels[:cut], strict=True):
        if number is not None:  # a block event (only those are labelled); deltas, the most common, first
            builder = builders.get(number)
            if builder is None:
                builder = builders[number] = _Builder()
            if isinstance(event, BlockDelta):
                builder.texts.append(event.text)
            elif isinstance(event, BlockStart):
                builder.start = dataclasses.replace(event, block=number)
            elif isinstance(event, BlockEnd):
                builder.end = dataclasses.replace(event, block=number)
        elif isinstance(event, ResponseStart):
            heads.append(event)
        elif isinstance(event, Usage):
            usage = event
    tail = tuple(_renumber(e, n) for e, n in zip(kept[cut + 1 :], labels[cut + 1 :], strict=True))
    return Folded(
        heads=tuple(heads),
        blocks=tuple(builder.build(number) for number, builder in builders.items()),
        usage=usage,
        terminal=terminal,
        tail=tail,
    )


def fold(events: Sequence[Event]) -> list[Event]:
    """The folded canonical sequence of ``events`` (see the module docstring)."""
    return fold_parts(events).events()
