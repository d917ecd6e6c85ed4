"""The rules checker: does a canonical event sequence obey the rules of model v1?  No I/O.

:func:`check` walks a sequence once and returns every :class:`Violation`, in event
order.  A bad sequence is a value, never an exception: ``check`` does not raise for
any sequence of events.  :data:`RULES` lists every rule by its stable id, in the
order of ``docs/SPEC.md``, which is the prose authority for them.

Strategy: three tables, applied to each event in turn (``unknown`` events are
skipped everywhere: they are allowed in every state and change nothing).

1. The response machine, ``_RESPONSE_NEXT[(phase, type)] -> phase``, with phases
   BEFORE (nothing but ``unknown`` yet), OPEN and DONE (a terminal seen).  A pair
   missing from it is refused with the rule ``_RESPONSE_REFUSED`` names.
2. The block machine, ``_BLOCK_NEXT[(block state, type)] -> state or rule id``,
   per block key, with states NEW, OPEN and CLOSED.
3. Field rules, ``_FIELD_RULES[type] -> checks``, run on every event both machines
   accepted.

Cascades are cut off: an event a machine refuses is not checked further; the
response machine reports each of its rules once (the first offending event); and a
block key refused once is *tainted*: later lifecycle slips of that key are not
reported again and its tool arguments are not checked (its deltas are not
trustworthy any more).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any, Final, NoReturn

from conformance.events import (
    EVENT_TYPES,
    RETRYABLE_BY_CATEGORY,
    TERMINAL_TYPES,
    TOO_DEEP,
    Abort,
    BlockDelta,
    BlockEnd,
    BlockStart,
    Error,
    ErrorPhase,
    Event,
    Finish,
    FinishReason,
    ResponseStart,
    Unknown,
    Usage,
    json_equal,
    parse_arguments,
)

__all__ = ["RULES", "Level", "Rule", "Violation", "check"]


class Level(StrEnum):
    """RFC 2119 strength of a rule: a MUST violation fails, a SHOULD one warns."""

    MUST = "MUST"
    SHOULD = "SHOULD"


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One rule: stable ``id``, ``level``, the rule text, why it exists, what it guards."""

    id: str
    level: Level
    summary: str
    reason: str
    guards: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Violation:
    """A rule broken at event ``index`` (``len(events)`` when something is missing at the end)."""

    rule: str
    level: Level
    index: int
    message: str


_TOOL_KINDS: Final = frozenset({"tool_call", "server_tool_call"})
_ARGUMENT_FIELDS: Final = ("arguments_raw", "arguments", "arguments_error")

_MUST, _SHOULD = Level.MUST, Level.SHOULD

# A data table, one rule per paragraph: id and level, the rule, why, what it guards.
# fmt: off
RULES: Final[dict[str, Rule]] = {r.id: r for r in (
    Rule(id="sequence.terminal", level=_MUST,
         summary="Exactly one terminal event (finish, error or abort) ends the sequence.",
         reason="A consumer must always learn how the response ended, and learn it once.",
         guards="truncation reported as success or as nothing; error frames swallowed; two terminals"),
    Rule(id="sequence.after-terminal", level=_MUST,
         summary="Nothing but unknown events follows the terminal event.",
         reason="Consumers stop reading at the terminal; anything later is lost or misread.",
         guards="usage emitted after finish (bedrock metadata after messageStop, OpenAI usage chunk)"),
    Rule(id="sequence.start-first", level=_MUST,
         summary="At most one response.start, and only unknown events before it.",
         reason="Response metadata belongs to the whole response and is read before any content.",
         guards="anthropic.duplicate_or_spliced_message_start, zai.role_repeated_every_chunk"),
    Rule(id="block.start-once", level=_MUST,
         summary="A block key is started at most once per response, even after its end.",
         reason="A block key names one block; reusing it merges two blocks in every consumer.",
         guards="vllm.tool_call_id_unstable (index 0 reused), openai.chat.n_choices_interleaved"),
    Rule(id="block.started", level=_MUST,
         summary="block.delta and block.end only for an open block (started, not yet ended).",
         reason="Fragments of an unknown or finished block cannot be attributed to content.",
         guards="bedrock.text_block_without_start, deltas after the block's end"),
    Rule(id="block.closed-before-finish", level=_MUST,
         summary="Every started block has ended before finish.",
         reason="A successful response has no half-delivered block; its end carries the final data.",
         guards="max_tokens.truncation_mid_tool_call, implicit ends never emitted (OpenAI chat)"),
    Rule(id="block.closed-before-error", level=_SHOULD,
         summary="Every started block has ended (possibly incomplete) before error.",
         reason="The consumer should know which blocks were cut off and keep what they delivered.",
         guards="anthropic.error_event_after_content (no content_block_stop before the error)"),
    Rule(id="block.delta-nonempty", level=_SHOULD,
         summary="No block.delta has empty text.",
         reason="Empty fragments carry nothing and make delta-by-delta comparison noisy.",
         guards="anthropic.input_json_delta.empty_first, gemini.empty_text_part_final_chunk"),
    Rule(id="block.end-fields", level=_MUST,
         summary="arguments_raw/arguments/arguments_error only on a tool_call or server_tool_call end.",
         reason="Only tool blocks have arguments; elsewhere the fields are misplaced data.",
         guards="tool arguments attached to the wrong block when blocks interleave"),
    Rule(id="tool.name", level=_MUST,
         summary="A tool_call or server_tool_call block.start has a non-empty name.",
         reason="A call without a name cannot be dispatched.",
         guards="tool_call.empty_name_on_continuation, vllm.finish_chunk_drops_fields"),
    Rule(id="tool.arguments-conserved", level=_MUST,
         summary='A complete tool block ends with arguments_raw = the concatenated deltas ("" -> "{}").',
         reason="Arguments are assembled from fragments; nothing may be lost, repaired or added.",
         guards="anthropic.tool_use.no_args_empty_string, tool_args.split_mid_token, calls merged"),
    Rule(id="tool.arguments-parsed", level=_MUST,
         summary="A complete tool block ends with exactly one of arguments (the parse of "
                 "arguments_raw, a JSON object) and arguments_error (only when it is not one).",
         reason="Invalid argument JSON is reported, never dropped or silently replaced.",
         guards="invalid tool JSON dropped; arguments parsed per fragment; no-arg call as an error"),
    Rule(id="tool.incomplete-unparsed", level=_MUST,
         summary="An incomplete tool block end carries no arguments.",
         reason="A call cut off mid-arguments must never be executed.",
         guards="max_tokens.truncation_mid_tool_call (finalised because partial JSON parsed)"),
    Rule(id="tool.distinct-ids", level=_MUST,
         summary="No two tool_call or server_tool_call blocks share a non-null id.",
         reason="The id returns the result to its call; a shared id conflates two calls.",
         guards="parallel calls merged, openai.chat.tool_call_id_only_in_first_fragment"),
    Rule(id="usage.output-monotonic", level=_SHOULD,
         summary="output_tokens never decreases across usage snapshots (usage, abort.usage).",
         reason="Usage is cumulative; a decrease means increments are reported as snapshots.",
         guards="usage summed twice / per-chunk increments, usage reset by a spliced message_start"),
    Rule(id="finish.raw-reason", level=_SHOULD,
         summary="finish carries the vendor's own raw_reason.",
         reason="The unified reason loses detail (stop_sequence, SAFETY, pause_turn...).",
         guards="vendor finish reasons collapsed into 'other'; finish_reason.repeated_or_late"),
    Rule(id="finish.tool-calls", level=_MUST,
         summary="finish reason tool_calls requires at least one complete tool_call block.",
         reason="A consumer told to run tools must have a complete client-side call to run.",
         guards="tool calls dropped under a tool_calls finish; server_tool.result_blocks as calls"),
    Rule(id="error.phase", level=_MUST,
         summary="error.phase is before_output exactly when no block event came before the error.",
         reason="Only an error before any output can be retried transparently.",
         guards="anthropic.error_event_as_first_event; retries that duplicate delivered text"),
    Rule(id="error.retryable", level=_SHOULD,
         summary="retryable agrees with the category (see the table in docs/SPEC.md).",
         reason="Retry policy is driven by this flag; a wrong value retries forever or never.",
         guards="overloaded_error mapped to a generic error; bedrock.exception_frame throttling"),
)}
# fmt: on


# -- helpers ------------------------------------------------------------------------


def _violation(rule: str, index: int, message: str) -> Violation:
    return Violation(rule=rule, level=RULES[rule].level, index=index, message=message)


def _show(value: object, limit: int = 60) -> str:
    """A short printable form of a value for messages (JSON for containers)."""
    try:
        text = repr(value) if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else f"{text[: limit - 10]}...{text[-7:]}"


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


# -- the walk state -----------------------------------------------------------------


class _Phase(Enum):
    BEFORE = "before"
    OPEN = "open"
    DONE = "done"


class _BlockState(Enum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(slots=True)
class _Block:
    kind: str
    started_at: int
    state: _BlockState = _BlockState.OPEN
    parts: list[str] = field(default_factory=list)
    ended_at: int | None = None
    complete: bool = False


@dataclass(slots=True)
class _Walk:
    phase: _Phase = _Phase.BEFORE
    first_event: tuple[int, str] | None = None  # first non-unknown event
    terminal: tuple[int, str] | None = None
    blocks: dict[int, _Block] = field(default_factory=dict)
    tainted: set[int] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)  # response-machine rules already reported
    tool_ids: dict[str, int] = field(default_factory=dict)  # tool id -> block key
    first_block_event: int | None = None
    last_output: tuple[int, int] | None = None  # (event index, output_tokens)


# -- table 1: the response machine ----------------------------------------------------

_ALL_TYPES: Final = tuple(t for t in EVENT_TYPES if t != Unknown.TYPE)
_CONTENT_TYPES: Final = (BlockStart.TYPE, BlockDelta.TYPE, BlockEnd.TYPE, Usage.TYPE)

_RESPONSE_NEXT: Final[dict[tuple[_Phase, str], _Phase]] = {
    (_Phase.BEFORE, ResponseStart.TYPE): _Phase.OPEN,
    **{(_Phase.BEFORE, t): _Phase.OPEN for t in _CONTENT_TYPES},
    **{(_Phase.OPEN, t): _Phase.OPEN for t in _CONTENT_TYPES},
    **{(p, t): _Phase.DONE for p in (_Phase.BEFORE, _Phase.OPEN) for t in sorted(TERMINAL_TYPES)},
}

_RESPONSE_REFUSED: Final[dict[tuple[_Phase, str], str]] = {
    (_Phase.OPEN, ResponseStart.TYPE): "sequence.start-first",
    **{
        (_Phase.DONE, t): "sequence.terminal" if t in TERMINAL_TYPES else "sequence.after-terminal"
        for t in _ALL_TYPES
    },
}


def _refused_message(rule: str, walk: _Walk, index: int, type_: str) -> str:
    if rule == "sequence.start-first":
        first = walk.first_event
        if first is not None and first[1] == ResponseStart.TYPE:
            return f"a second response.start at event {index} (the first was event {first[0]})"
        where = f"{first[1]!r} at event {first[0]}" if first else "other events"
        return f"response.start at event {index} comes after {where}; only unknown events may precede it"
    at, kind = walk.terminal or (0, "?")
    if rule == "sequence.terminal":
        return f"a second terminal event {type_!r} at event {index} follows {kind!r} at event {at}"
    return f"{type_!r} at event {index} comes after the terminal {kind!r} at event {at}"


# -- table 2: the block machine -------------------------------------------------------

_BLOCK_NEXT: Final[dict[tuple[_BlockState, str], _BlockState | str]] = {
    (_BlockState.NEW, BlockStart.TYPE): _BlockState.OPEN,
    (_BlockState.NEW, BlockDelta.TYPE): "block.started",
    (_BlockState.NEW, BlockEnd.TYPE): "block.started",
    (_BlockState.OPEN, BlockStart.TYPE): "block.start-once",
    (_BlockState.OPEN, BlockDelta.TYPE): _BlockState.OPEN,
    (_BlockState.OPEN, BlockEnd.TYPE): _BlockState.CLOSED,
    (_BlockState.CLOSED, BlockStart.TYPE): "block.start-once",
    (_BlockState.CLOSED, BlockDelta.TYPE): "block.started",
    (_BlockState.CLOSED, BlockEnd.TYPE): "block.started",
}


def _block_message(rule: str, block: _Block | None, key: int, index: int, type_: str) -> str:
    if block is None:
        return f"block {key} gets a {type_} at event {index} but was never started"
    if rule == "block.start-once":
        return f"block {key} is started again at event {index} (first started at event {block.started_at})"
    return f"block {key} gets a {type_} at event {index} after its block.end at event {block.ended_at}"


def _step_block(
    walk: _Walk, index: int, event: BlockStart | BlockDelta | BlockEnd
) -> tuple[bool, Violation | None]:
    """Apply the block machine: (accepted?, the violation to report).

    A refused event of an already tainted key is refused silently."""
    key = event.block
    block = walk.blocks.get(key)
    state = block.state if block is not None else _BlockState.NEW
    outcome = _BLOCK_NEXT[(state, event.TYPE)]
    if not isinstance(outcome, _BlockState):
        if key in walk.tainted:
            return False, None
        walk.tainted.add(key)
        return False, _violation(outcome, index, _block_message(outcome, block, key, index, event.TYPE))
    if isinstance(event, BlockStart):
        walk.blocks[key] = _Block(kind=event.kind, started_at=index)
    elif block is not None and isinstance(event, BlockDelta):
        block.parts.append(event.text)
    elif block is not None and isinstance(event, BlockEnd):
        block.state, block.ended_at, block.complete = outcome, index, not event.incomplete
    return True, None


# -- table 3: field rules, by event type --------------------------------------------


def _tool_name(walk: _Walk, index: int, event: BlockStart) -> Iterator[Violation]:
    if event.kind in _TOOL_KINDS and not event.name:
        what = "an empty name" if event.name == "" else "a name"
        yield _violation("tool.name", index, f"block {event.block} ({event.kind}) starts without {what}")


def _tool_distinct_ids(walk: _Walk, index: int, event: BlockStart) -> Iterator[Violation]:
    if event.kind not in _TOOL_KINDS or event.id is None:
        return
    other = walk.tool_ids.setdefault(event.id, event.block)
    if other != event.block:
        msg = f"block {event.block} reuses the tool call id {event.id!r} of block {other}"
        yield _violation("tool.distinct-ids", index, msg)


def _delta_nonempty(walk: _Walk, index: int, event: BlockDelta) -> Iterator[Violation]:
    if event.text == "":
        yield _violation("block.delta-nonempty", index, f"block {event.block} gets an empty block.delta")


def _end_fields(walk: _Walk, index: int, event: BlockEnd) -> Iterator[Violation]:
    kind = walk.blocks[event.block].kind
    present = [f for f in _ARGUMENT_FIELDS if getattr(event, f) is not None]
    if present and kind not in _TOOL_KINDS:
        msg = (
            f"block {event.block} is a {kind!r} block but its block.end carries {', '.join(present)}; "
            "only tool_call and server_tool_call ends may"
        )
        yield _violation("block.end-fields", index, msg)


def _complete_tool_end(walk: _Walk, event: BlockEnd) -> _Block | None:
    """The block, if this end closes a complete, untainted tool block (else None)."""
    block = walk.blocks[event.block]
    if block.kind in _TOOL_KINDS and not event.incomplete and event.block not in walk.tainted:
        return block
    return None


def _arguments_conserved(walk: _Walk, index: int, event: BlockEnd) -> Iterator[Violation]:
    block = _complete_tool_end(walk, event)
    if block is None:
        return
    joined = "".join(block.parts)
    expected = joined or "{}"
    raw, key = event.arguments_raw, event.block
    if raw is None:
        msg = (
            f"block {key}: the complete {block.kind} ends without arguments_raw (expected {_show(expected)})"
        )
    elif raw == expected:
        return
    elif joined == "":
        msg = f"block {key}: arguments_raw {_show(raw)} should be '{{}}' for a call with no argument deltas"
    else:
        msg = (
            f"block {key}: arguments_raw {_show(raw)} is not the concatenation of its deltas {_show(joined)}"
        )
    yield _violation("tool.arguments-conserved", index, msg)


def _arguments_parsed(walk: _Walk, index: int, event: BlockEnd) -> Iterator[Violation]:
    if _complete_tool_end(walk, event) is None:
        return
    key, raw, args, error = event.block, event.arguments_raw, event.arguments, event.arguments_error
    rule = "tool.arguments-parsed"
    if args is not None and error is not None:
        yield _violation(rule, index, f"block {key} carries both arguments and arguments_error")
        return
    if args is None and error is None:
        yield _violation(rule, index, f"block {key} carries neither arguments nor arguments_error")
        return
    if args is not None and not isinstance(args, dict):
        yield _violation(rule, index, f"block {key}: arguments {_show(args)} is not a JSON object")
        return
    if raw is None:
        return  # already a tool.arguments-conserved violation; nothing to compare against
    parsed = parse_arguments(raw)
    if parsed == TOO_DEEP:
        return  # nested too deeply to judge here
    if args is not None and isinstance(parsed, str):
        msg = f"block {key} carries arguments but arguments_raw {_show(raw)} is {parsed}"
        yield _violation(rule, index, msg)
    elif args is not None:
        if not json_equal(args, parsed):
            msg = f"block {key}: arguments {_show(args)} is not the parse of arguments_raw {_show(raw)}"
            yield _violation(rule, index, msg)
    elif not isinstance(parsed, str):
        msg = f"block {key} reports arguments_error {_show(error)} but arguments_raw {_show(raw)} parses"
        yield _violation(rule, index, msg)


def _incomplete_unparsed(walk: _Walk, index: int, event: BlockEnd) -> Iterator[Violation]:
    kind = walk.blocks[event.block].kind
    if event.incomplete and kind in _TOOL_KINDS and event.arguments is not None:
        shown = _show(event.arguments)
        msg = f"block {event.block} ({kind}) is incomplete but its end carries arguments {shown}"
        yield _violation("tool.incomplete-unparsed", index, msg)


def _output_snapshot(walk: _Walk, index: int, output: int | None, what: str) -> Iterator[Violation]:
    if output is None:
        return
    last = walk.last_output
    walk.last_output = (index, output)
    if last is not None and output < last[1]:
        msg = f"{what} output_tokens drops from {last[1]} (event {last[0]}) to {output} at event {index}"
        yield _violation("usage.output-monotonic", index, msg)


def _output_monotonic(walk: _Walk, index: int, event: Usage | Abort) -> Iterator[Violation]:
    if isinstance(event, Usage):
        yield from _output_snapshot(walk, index, event.output_tokens, "usage")
    elif event.usage is not None:
        yield from _output_snapshot(walk, index, event.usage.output_tokens, "the abort's")


def _closed_before(walk: _Walk, index: int, event: Finish | Error) -> Iterator[Violation]:
    rule = "block.closed-before-finish" if isinstance(event, Finish) else "block.closed-before-error"
    for key, block in walk.blocks.items():
        if block.state is _BlockState.OPEN:
            at = block.started_at
            msg = f"block {key} ({block.kind}, started at event {at}) is still open at {event.TYPE}"
            yield _violation(rule, index, msg)


def _raw_reason(walk: _Walk, index: int, event: Finish) -> Iterator[Violation]:
    if event.raw_reason is None:
        yield _violation("finish.raw-reason", index, f"finish {str(event.reason)!r} carries no raw_reason")


def _finish_tool_calls(walk: _Walk, index: int, event: Finish) -> Iterator[Violation]:
    if event.reason != FinishReason.TOOL_CALLS:
        return
    if not any(b.kind == "tool_call" and b.complete for b in walk.blocks.values()):
        msg = "finish reason is 'tool_calls' but no tool_call block ended complete"
        yield _violation("finish.tool-calls", index, msg)


def _error_phase(walk: _Walk, index: int, event: Error) -> Iterator[Violation]:
    first = walk.first_block_event
    if event.phase == ErrorPhase.BEFORE_OUTPUT and first is not None:
        msg = f"error phase is 'before_output' but block events came before it (the first at event {first})"
        yield _violation("error.phase", index, msg)
    elif event.phase != ErrorPhase.BEFORE_OUTPUT and first is None:
        msg = f"error phase is {str(event.phase)!r} but no block event came before it"
        yield _violation("error.phase", index, msg)


def _error_retryable(walk: _Walk, index: int, event: Error) -> Iterator[Violation]:
    expected = RETRYABLE_BY_CATEGORY.get(event.category)
    if expected is not None and event.retryable != expected:
        word, got = ("retryable" if expected else "not retryable"), str(event.retryable).lower()
        msg = f"error category {str(event.category)!r} is {word}, but retryable is {got}"
        yield _violation("error.retryable", index, msg)


_Check = Callable[[_Walk, int, Any], Iterator[Violation]]

_FIELD_RULES: Final[dict[str, tuple[_Check, ...]]] = {
    BlockStart.TYPE: (_tool_name, _tool_distinct_ids),
    BlockDelta.TYPE: (_delta_nonempty,),
    BlockEnd.TYPE: (_end_fields, _arguments_conserved, _arguments_parsed, _incomplete_unparsed),
    Usage.TYPE: (_output_monotonic,),
    Finish.TYPE: (_closed_before, _raw_reason, _finish_tool_calls),
    Error.TYPE: (_closed_before, _error_phase, _error_retryable),
    Abort.TYPE: (_output_monotonic,),
}


# -- the walk -------------------------------------------------------------------------


def check(events: Sequence[Event]) -> list[Violation]:
    """Every rule violation in ``events``, in event order; ``[]`` for a conforming sequence."""
    walk = _Walk()
    out: list[Violation] = []
    for index, event in enumerate(events):
        type_ = event.TYPE
        if type_ == Unknown.TYPE:
            continue
        phase = _RESPONSE_NEXT.get((walk.phase, type_))
        if phase is None:
            rule = _RESPONSE_REFUSED[(walk.phase, type_)]
            if rule not in walk.refused:
                walk.refused.add(rule)
                out.append(_violation(rule, index, _refused_message(rule, walk, index, type_)))
            continue
        walk.phase = phase
        if walk.first_event is None:
            walk.first_event = (index, type_)
        if type_ in TERMINAL_TYPES:
            walk.terminal = (index, type_)
        if isinstance(event, BlockStart | BlockDelta | BlockEnd):
            if walk.first_block_event is None:
                walk.first_block_event = index
            accepted, refused = _step_block(walk, index, event)
            if refused is not None:
                out.append(refused)
            if not accepted:
                continue
        for rule_check in _FIELD_RULES.get(type_, ()):
            out.extend(rule_check(walk, index, event))
    if walk.phase is not _Phase.DONE:
        n = len(events)
        msg = f"the sequence ends after {n} events without a terminal event (finish, error or abort)"
        out.append(_violation("sequence.terminal", n, msg))
    return out
