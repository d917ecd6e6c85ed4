"""A scenario's content, vendor-neutral, and its canonical sequence for one target.  No I/O.

A :class:`Script` says *what* a response holds: blocks (kind, fragments, tool name and
id, whether the terminal cuts the block off), the order of their fragments when they
interleave, the usage, and the terminal.  :func:`layout` turns it into the canonical
sequence for one target (:class:`~conformance.scenarios.facts.Facts`) with a
:class:`~conformance.vendors._builder.ResponseBuilder` (the one way canonical events
are made), placing what the vendor decides the way that vendor's wire does: blocks
that end only implicitly (OpenAI Chat, Gemini, Ollama) end when the next block starts or
with the terminal; whole calls get one fragment; Anthropic reports usage early;
finish reasons and errors are the vendor's own (``facts``).

What a target cannot say raises :class:`~conformance.errors.UsageError` (the
renderer skips that target, naming the reason).  The message of a ``protocol`` or
``decode`` error is the producer's own words: the script holds :data:`PRODUCER_WORDS`
there, and the renderer puts in the reference decoder's message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from conformance.errors import UsageError
from conformance.events import ErrorCategory, Event, FinishReason, Unknown, Usage
from conformance.scenarios.facts import Facts
from conformance.vendors._builder import TOOL_KINDS, ResponseBuilder

__all__ = ["PRODUCER_WORDS", "Block", "Script", "Terminal", "layout"]

#: Placeholder message of a protocol/decode error: the producer words it.
PRODUCER_WORDS = "<the reference decoder's own words>"

_TEXT_LIKE = frozenset({"text", "reasoning", "refusal"})


@dataclass(frozen=True, slots=True)
class Block:
    """One block: its kind, fragments, and how it ends."""

    kind: str
    deltas: tuple[str, ...] = ()
    name: str | None = None
    id: str | None = None
    #: The terminal cuts the block off (no end of its own on the wire).
    cut: bool = False
    signature: str | None = None
    redacted: str | None = None


@dataclass(frozen=True, slots=True)
class Terminal:
    """``finish`` with a unified reason, an ``error`` of the vendor (``early`` or
    ``late``), or a ``protocol``/``decode`` error in the producer's words."""

    kind: Literal["finish", "error", "protocol", "decode"]
    reason: str = "stop"
    #: The vendor sends no raw reason at all (``ollama.done_reason_absent``).
    raw_absent: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Script:
    """What one response holds (see the module docstring)."""

    blocks: tuple[Block, ...] = ()
    terminal: Terminal = field(default_factory=lambda: Terminal("finish"))
    usage: Usage | None = None
    #: ``(block, fragment)`` steps when fragments interleave (fragment -1: the start);
    #: None: the blocks one after another.
    order: tuple[tuple[int, int], ...] | None = None
    #: Send ``response.start`` (when the vendor has an id or model to put in it).
    start: bool = True
    #: ``unknown`` events the wire carries before everything else.
    unknown_first: tuple[Unknown, ...] = ()
    #: The final usage arrives (False: the stream stops before it).
    final_usage: bool = True


def _steps(script: Script) -> list[tuple[int, int]]:
    if script.order is not None:
        return list(script.order)
    steps: list[tuple[int, int]] = []
    for i, block in enumerate(script.blocks):
        steps.append((i, -1))
        steps.extend((i, j) for j in range(len(block.deltas)))
    return steps


def _whole(block: Block) -> str:
    """A whole call's one fragment: its arguments (an object: ``{}`` when there are none)."""
    return "".join(block.deltas) or "{}"


def _check_usage(usage: Usage, facts: Facts) -> None:
    for name in ("input_tokens", "output_tokens", "cache_read", "cache_write", "reasoning_tokens"):
        if getattr(usage, name) is not None and name not in facts.usage_fields:
            raise UsageError(f"{facts.api} reports no {name}")


def layout(script: Script, facts: Facts) -> list[Event]:
    """The canonical sequence of ``script`` as ``facts``' vendor would produce it."""
    b = ResponseBuilder()
    blocks = script.blocks
    for block in blocks:
        if block.kind in TOOL_KINDS and block.id is not None and not facts.call_ids:
            raise UsageError(f"{facts.api} sends no tool call ids")
        if block.kind == "reasoning" and not facts.reasoning:
            raise UsageError(f"{facts.api} ({facts.flavour}) streams no reasoning")
    if script.start and (facts.response_id or facts.model) and (blocks or not facts.start_on_output):
        b.start(response_id=facts.response_id, model=facts.model)
    usage = script.usage
    if usage is not None:
        _check_usage(usage, facts)
        if facts.early_usage:
            early_output = 1 if usage.output_tokens is None else min(1, usage.output_tokens)
            b.usage(
                input_tokens=usage.input_tokens,
                output_tokens=early_output,
                cache_read=usage.cache_read,
                cache_write=usage.cache_write,
            )
    steps = _steps(script)
    last = {i: max((j for k, j in steps if k == i), default=-1) for i in range(len(blocks))}
    if script.order is not None and not facts.interleave:
        starts = [i for i, j in steps if j == -1]
        runs = [i for n, (i, _) in enumerate(steps) if n == 0 or steps[n - 1][0] != i]
        if runs != starts:
            raise UsageError(f"{facts.api} cannot interleave blocks")
    current: int | None = None  # the open text-like block of an implicit-end wire
    deferred: list[int] = []
    for i, j in steps:
        block = blocks[i]
        tool = block.kind in TOOL_KINDS
        if j == -1:
            if facts.ends == "implicit":
                if tool and facts.calls == "deferred":
                    deferred.append(i)
                    continue
                if current is not None:
                    b.end(current)
                    current = None
            if tool and facts.calls != "fragments":
                b.open(i, block.kind, id=block.id, name=block.name)
                b.delta(i, _whole(block))
                if not block.cut:
                    b.end(i)
                continue
            b.open(i, block.kind, id=block.id, name=block.name)
            b.attach(i, signature=block.signature, redacted=block.redacted)
            if facts.ends == "implicit" and not tool:
                current = i
        elif not (tool and facts.calls != "fragments"):
            b.delta(i, block.deltas[j])
        if facts.ends == "explicit" and j == last[i] and not block.cut:
            b.end(i)
    for i in deferred:
        block = blocks[i]
        b.open(i, block.kind, id=block.id, name=block.name)
        b.delta(i, _whole(block))
        if not block.cut and script.terminal.kind == "finish":
            b.end(i)
    if facts.cut_ends_first:
        for key in b.open_keys():
            b.end(key, incomplete=True)
    if usage is not None and script.final_usage:
        b.usage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read=usage.cache_read,
            cache_write=usage.cache_write,
            reasoning_tokens=usage.reasoning_tokens,
        )
    _terminal(b, script.terminal, facts)
    return [*script.unknown_first, *b.take()]


def _terminal(b: ResponseBuilder, terminal: Terminal, facts: Facts) -> None:
    if terminal.kind == "finish":
        raw = facts.finish.get(terminal.reason)
        if raw is None:
            raise UsageError(f"{facts.api} has no finish reason for {terminal.reason!r}")
        b.finish(FinishReason(terminal.reason), None if terminal.raw_absent else raw)
    elif terminal.kind == "error":
        error = facts.errors.get(terminal.reason)
        if error is None:
            raise UsageError(f"{facts.api} has no {terminal.reason} in-stream error")
        b.error(error.category, error.message, status=error.status, code=error.code)
    elif terminal.kind == "protocol":
        b.error(ErrorCategory.PROTOCOL, PRODUCER_WORDS)
    else:
        b.error(ErrorCategory.DECODE, PRODUCER_WORDS)
