"""Hypothesis strategies: canonical sequences Gemini / Vertex can carry, and encoder knobs.  No I/O.

:func:`sequences` draws what ``streamGenerateContent`` can express: text and reasoning
blocks (unicode of every plane, combining marks, signatures on any block), whole
function calls with or without an id (nested, deep and big arguments, many calls in a
row), code execution calls and results, citation and grounding metadata, usage
variants, every finish reason family, a blocked prompt, vendor errors before or after
output, and a truncated stream.  Two text (or two reasoning) blocks are never adjacent:
Gemini would send them as one (see ``plan``).  Everything is built from small draws so
that failures shrink well.
"""

from __future__ import annotations

import json
from typing import cast

from hypothesis import strategies as st

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
    Usage,
    parse_arguments,
)
from conformance.strategies import fragments, tool_arguments, unicode_texts
from conformance.vendors._builder import default_retryable
from conformance.vendors.gemini.decoder import CODE_EXECUTION
from conformance.vendors.gemini.encoder import Knobs
from conformance.vendors.gemini.mapping import BLOCK_REASONS, CANDIDATE_CONTENT_FILTER, error_category
from conformance.vendors.gemini.plan import TRUNCATED

__all__ = ["knobs", "sequences"]

_KINDS = ("text", "reasoning", "tool_call", "server_tool_call", "server_tool_result", "citation")
_OTHER_RAWS = (
    "OTHER",
    "LANGUAGE",
    "MALFORMED_FUNCTION_CALL",
    "UNEXPECTED_TOOL_CALL",
    "NO_IMAGE",
    "IMAGE_OTHER",
)
_ERRORS: tuple[tuple[int | None, str | None], ...] = (
    (503, "UNAVAILABLE"),
    (429, "RESOURCE_EXHAUSTED"),
    (500, "INTERNAL"),
    (400, "INVALID_ARGUMENT"),
    (403, "PERMISSION_DENIED"),
    (401, "UNAUTHENTICATED"),
    (404, "NOT_FOUND"),
    (504, "DEADLINE_EXCEEDED"),
    (None, "UNAVAILABLE"),
    (503, None),
    (418, "A_NEW_STATUS"),
)

_signatures = st.text(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", min_size=1, max_size=24
)
_ids = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)


def _call_ids(key: int) -> st.SearchStrategy[str | None]:
    """No id (Gemini 2.x) or a Gemini 3 style id, unique within the sequence."""
    return st.none() | _ids.map(lambda text: f"{text}_{key}")


_names = st.from_regex(r"\A[a-z][a-z0-9_]{0,15}\Z")
_counts = st.integers(min_value=0, max_value=2**31)


def knobs() -> st.SearchStrategy[Knobs]:
    """Any encoder configuration."""
    return st.builds(
        Knobs,
        framing=st.sampled_from(("sse", "json-array")),
        flavour=st.sampled_from(("gemini", "vertex")),
        parts_per_chunk=st.integers(1, 3),
        usage_every_chunk=st.booleans(),
        candidates_count_only_last=st.booleans(),
        prompt_count_drift=st.sampled_from((0, 2)),
        finish_on_last_part=st.booleans(),
        signature_placement=st.sampled_from(("first", "last", "trailing_empty")),
        partial_args=st.sampled_from(("off", "terminated", "unterminated")),
        string_pieces=st.integers(1, 3),
        block_prompt=st.booleans(),
        candidate_index=st.booleans(),
    )


def _deep(depth: int, leaf: str) -> JSONObject:
    value: JSONValue = leaf
    for level in range(depth):
        value = {"k": value} if level % 2 else [value, level]
    return {"deep": value}


def _arguments() -> st.SearchStrategy[JSONObject]:
    big = st.integers(1000, 20000).map(lambda n: {"blob": "é\u0301😀" * n})
    deep = st.builds(_deep, st.integers(1, 60), unicode_texts)
    return st.one_of(tool_arguments(), tool_arguments(max_leaves=3), deep, big)


def _dumps(value: JSONValue) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@st.composite
def _block(draw: st.DrawFn, kind: str, key: int) -> tuple[BlockStart, list[str], str | None]:
    """A block's start, its deltas and its signature."""
    sig = draw(st.none() | _signatures)
    if kind in ("text", "reasoning"):
        deltas = [] if sig is not None and draw(st.booleans()) else draw(fragments(draw(unicode_texts)))
        return BlockStart(block=key, kind=kind), deltas, sig
    if kind == "tool_call":
        raw = _dumps(draw(_arguments()))
        start = BlockStart(block=key, kind=kind, id=draw(_call_ids(key)), name=draw(_names))
        return start, draw(fragments(raw)), sig
    if kind == "server_tool_call":
        code: JSONObject = {"language": "PYTHON"} if draw(st.booleans()) else {}
        code["code"] = draw(unicode_texts)
        start = BlockStart(block=key, kind=kind, id=draw(_call_ids(key)), name=CODE_EXECUTION)
        return start, draw(fragments(_dumps(code))), sig
    if kind == "server_tool_result":
        data: JSONObject = {
            "outcome": draw(st.sampled_from(("OUTCOME_OK", "OUTCOME_FAILED"))),
            "output": draw(unicode_texts),
        }
        return BlockStart(block=key, kind=kind, id=draw(st.none() | _ids), data=data), [], sig
    entry = st.fixed_dictionaries({"startIndex": _counts, "endIndex": _counts, "uri": unicode_texts})
    grounding = st.fixed_dictionaries(
        {
            "webSearchQueries": st.lists(unicode_texts, max_size=2),
            "groundingChunks": st.lists(st.fixed_dictionaries({"web": st.fixed_dictionaries({"uri": _ids})})),
        }
    )
    return BlockStart(block=key, kind=kind, data=cast("JSONValue", draw(entry | grounding))), [], None


@st.composite
def _usages(draw: st.DrawFn) -> list[Usage]:
    """Zero, one or two snapshots; a later one reports every field the earlier one did."""
    output = draw(st.none() | _counts)
    reasoning = None if output is None else draw(st.none() | st.integers(0, output))
    final = Usage(
        input_tokens=draw(st.none() | _counts),
        output_tokens=output,
        cache_read=draw(st.none() | _counts),
        reasoning_tokens=reasoning,
    )
    if final == Usage() or draw(st.booleans()):
        return [] if final == Usage() else [final]
    earlier = Usage(
        input_tokens=final.input_tokens,
        output_tokens=None if output is None else output // 2,
        cache_read=final.cache_read,
        reasoning_tokens=None if reasoning is None else min(reasoning, output // 2 if output else 0),
    )
    return [earlier, final]


@st.composite
def sequences(draw: st.DrawFn) -> list[Event]:
    """A canonical sequence the encoder can render and the decoder reads back."""
    events: list[Event] = []
    if draw(st.booleans()):
        rid = draw(st.none() | _ids)
        model = draw(st.just("gemini-2.5-flash") if rid is None else st.none() | st.just("gemini-3-pro"))
        events.append(ResponseStart(response_id=rid, model=model))
    many_calls = draw(st.integers(0, 10)) == 0
    kinds = ["tool_call"] * draw(st.integers(2, 8)) if many_calls else draw(st.lists(st.sampled_from(_KINDS)))
    chosen: list[str] = []
    for kind in kinds:  # no two text (or reasoning) blocks in a row, citations aside
        previous = next((k for k in reversed(chosen) if k != "citation"), None)
        if kind != previous or kind not in ("text", "reasoning"):
            chosen.append(kind)
    blocks = [draw(_block(kind, key)) for key, kind in enumerate(chosen)]
    usages = draw(_usages())
    terminal = draw(_terminal([b[0].kind for b in blocks]))
    content = [b for b in blocks if b[0].kind != "citation"]
    cut = isinstance(terminal, Error) or terminal.reason == FinishReason.LENGTH
    open_key = (
        content[-1][0].block if content and content[-1][0].kind in ("text", "reasoning") and cut else None
    )
    early = draw(st.integers(0, len(blocks))) if len(usages) == 2 else -1
    for index, (start, deltas, sig) in enumerate(blocks):
        if index == early:
            events.append(usages[0])
        events.append(start)
        events.extend(BlockDelta(block=start.block, text=d) for d in deltas)
        raw = "".join(deltas) if start.kind in ("tool_call", "server_tool_call") else None
        args = None if raw is None else parse_arguments(raw)
        events.append(
            BlockEnd(
                block=start.block,
                incomplete=start.block == open_key,
                arguments_raw=raw,
                arguments=args if isinstance(args, dict) else None,
                signature=sig,
            )
        )
    events.extend(usages[1:] if early >= 0 and early < len(blocks) else usages)
    events.append(terminal)
    return events


@st.composite
def _terminal(draw: st.DrawFn, kinds: list[str]) -> Finish | Error:
    has_blocks = bool(kinds)
    calls = "tool_call" in kinds
    choice = draw(st.sampled_from(("finish", "finish", "finish", "error", "truncated")))
    if choice == "finish":
        options = [
            Finish(reason=FinishReason.TOOL_CALLS if calls else FinishReason.STOP, raw_reason="STOP"),
            Finish(reason=FinishReason.LENGTH, raw_reason="MAX_TOKENS"),
            Finish(reason=FinishReason.OTHER, raw_reason=draw(st.sampled_from(_OTHER_RAWS))),
            Finish(
                reason=FinishReason.CONTENT_FILTER,
                raw_reason=draw(st.sampled_from(sorted(CANDIDATE_CONTENT_FILTER))),
            ),
        ]
        if not has_blocks and draw(st.booleans()):  # a blocked prompt (quirk 68)
            return Finish(
                reason=FinishReason.CONTENT_FILTER, raw_reason=draw(st.sampled_from(sorted(BLOCK_REASONS)))
            )
        return draw(st.sampled_from(options))
    phase = ErrorPhase.MID_STREAM if has_blocks else ErrorPhase.BEFORE_OUTPUT
    if choice == "truncated":
        return Error(category=ErrorCategory.PROTOCOL, message=TRUNCATED, retryable=True, phase=phase)
    status, code = draw(st.sampled_from(_ERRORS))
    category = error_category(code, status)
    return Error(
        category=category,
        message=draw(st.just("The model is overloaded. Please try again later.") | unicode_texts),
        retryable=default_retryable(category),
        phase=phase,
        status=status,
        code=code,
    )
