"""What each drift mutation does per API: the profile tables and the unit selectors they
use.  No I/O.

An API without a profile gets no mutation; a profile without an entry for a mutation
(``None``) reports that mutation as not applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from conformance.server.drift.model import DONE, Path, Payload, Selector
from conformance.server.drift.units import get_at

__all__ = ["PROFILES", "MoveUsage", "Probe", "Profile", "Rename", "Reorder", "Resplit"]


# -- selectors ---------------------------------------------------------------------------


def _of(*types: str) -> Selector:
    return lambda kind, payload: kind in types


def _with(kind_: str | None, path: Path, test: Callable[[Any], bool] = lambda v: v is not None) -> Selector:
    def select(kind: str, payload: Payload | None) -> bool:
        return (kind_ is None or kind == kind_) and payload is not None and test(get_at(payload, path))

    return select


def _chat_usage_chunk(kind: str, payload: Payload | None) -> bool:
    return payload is not None and payload.get("choices") == [] and isinstance(payload.get("usage"), dict)


def _chat_finish_chunk(kind: str, payload: Payload | None) -> bool:
    choices = payload.get("choices") if payload is not None else None
    return isinstance(choices, list) and any(
        isinstance(c, dict) and c.get("finish_reason") is not None for c in choices
    )


def _chat_args_fragment(kind: str, payload: Payload | None) -> bool:
    """A continuation chunk: one choice, one tool call, arguments only (no id, no name)."""
    choices = payload.get("choices") if payload is not None else None
    if not (isinstance(choices, list) and len(choices) == 1 and isinstance(choices[0], dict)):
        return False
    calls = get_at(choices[0], ("delta", "tool_calls"))
    if not (isinstance(calls, list) and len(calls) == 1 and isinstance(calls[0], dict)):
        return False
    call = calls[0]
    function = call.get("function")
    return (
        not call.get("id")
        and isinstance(function, dict)
        and not function.get("name")
        and isinstance(function.get("arguments"), str)
    )


def _gemini_finish(kind: str, payload: Payload | None) -> bool:
    candidates = payload.get("candidates") if payload is not None else None
    return isinstance(candidates, list) and any(
        isinstance(c, dict) and c.get("finishReason") is not None for c in candidates
    )


# -- the per-API profiles --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rename:
    """Rename the last key of ``path`` in the units of ``event_type``."""

    event_type: str | None  # None: every unit holding the path
    path: tuple[str, ...]
    new_name: str


@dataclass(frozen=True, slots=True)
class Reorder:
    """Move the first unit ``what`` selects before the last one ``anchor`` selects
    among the units before it."""

    what: Selector
    anchor: Selector


@dataclass(frozen=True, slots=True)
class Resplit:
    """Tool-argument fragments: which units, where the fragment is, what keys a call."""

    select: Selector
    path: Path
    key: Path


@dataclass(frozen=True, slots=True)
class MoveUsage:
    """Take ``source_path`` out of the last unit ``source`` selects and put it at
    ``target_path`` of the first unit ``target`` selects (``drop_source``: the source
    unit goes too, once it carried nothing else)."""

    source: Selector
    source_path: tuple[str, ...]
    target: Selector
    target_path: tuple[str, ...]
    drop_source: bool = False


@dataclass(frozen=True, slots=True)
class Probe:
    """A new event type: its name and how it is framed."""

    name: str
    payload: Payload


@dataclass(frozen=True, slots=True)
class Profile:
    """One API's mutations (``None``: the mutation has nothing to act on there)."""

    rename: Rename | None = None
    probe: Probe | None = None
    reorder: Reorder | None = None
    resplit: Resplit | None = None
    move_usage: MoveUsage | None = None
    terminator: Selector | None = None
    terminator_last_only: bool = False  # drop only the last unit the selector picks


#: Each API's profile, by API name.
PROFILES: Final[dict[str, Profile]] = {
    "anthropic/messages": Profile(
        rename=Rename("message_delta", ("usage", "output_tokens"), "output_token_count"),
        probe=Probe("drift_probe", {"type": "drift_probe"}),
        reorder=Reorder(_of("message_delta"), _of("content_block_stop")),
        resplit=Resplit(
            _with("content_block_delta", ("delta", "type"), lambda v: v == "input_json_delta"),
            ("delta", "partial_json"),
            ("index",),
        ),
        move_usage=MoveUsage(_of("message_delta"), ("usage",), _of("message_stop"), ("usage",)),
        terminator=_of("message_stop"),
    ),
    "openai/chat-completions": Profile(
        rename=Rename(None, ("usage", "completion_tokens"), "output_tokens"),
        reorder=Reorder(_chat_usage_chunk, _chat_finish_chunk),
        resplit=Resplit(
            _chat_args_fragment,
            ("choices", 0, "delta", "tool_calls", 0, "function", "arguments"),
            ("choices", 0, "delta", "tool_calls", 0, "index"),
        ),
        move_usage=MoveUsage(_chat_usage_chunk, ("usage",), _chat_finish_chunk, ("usage",), drop_source=True),
        terminator=_of(DONE),
    ),
    "openai/responses": Profile(
        rename=Rename("response.completed", ("response", "usage", "output_tokens"), "generated_tokens"),
        probe=Probe("response.drift_probe", {"type": "response.drift_probe"}),
        reorder=Reorder(_of("response.content_part.done"), _of("response.output_text.done")),
        resplit=Resplit(_of("response.function_call_arguments.delta"), ("delta",), ("item_id",)),
        move_usage=MoveUsage(
            _of("response.completed"), ("response", "usage"), _of("response.output_item.done"), ("usage",)
        ),
        terminator=_of("response.completed", "response.incomplete", "response.failed", DONE),
    ),
    "gemini/generate-content": Profile(
        rename=Rename(None, ("usageMetadata", "candidatesTokenCount"), "outputTokenCount"),
        terminator=_gemini_finish,
        terminator_last_only=True,
    ),
    "bedrock/converse-stream": Profile(
        rename=Rename("metadata", ("usage", "outputTokens"), "generatedTokens"),
        probe=Probe("driftProbe", {}),
        reorder=Reorder(_of("metadata"), _of("messageStop")),
        resplit=Resplit(
            _with("contentBlockDelta", ("delta", "toolUse", "input"), lambda v: isinstance(v, str)),
            ("delta", "toolUse", "input"),
            ("contentBlockIndex",),
        ),
        move_usage=MoveUsage(_of("metadata"), ("usage",), _of("messageStop"), ("usage",)),
        terminator=_of("messageStop", "metadata"),
    ),
    "cohere/chat": Profile(
        rename=Rename("message-end", ("delta", "usage", "tokens", "output_tokens"), "generated_tokens"),
        probe=Probe("drift-probe", {"type": "drift-probe"}),
        reorder=Reorder(_of("message-end"), _of("content-end", "tool-call-end")),
        resplit=Resplit(
            _with("tool-call-delta", ("delta", "message", "tool_calls", "function", "arguments")),
            ("delta", "message", "tool_calls", "function", "arguments"),
            ("index",),
        ),
        move_usage=MoveUsage(_of("message-end"), ("delta", "usage"), _of("message-end"), ("usage",)),
        terminator=_of("message-end", DONE),
    ),
    "cohere/chat-v1": Profile(
        rename=Rename("stream-end", ("response", "meta", "tokens", "output_tokens"), "generated_tokens"),
        probe=Probe("drift-probe", {"is_finished": False, "event_type": "drift-probe"}),
        resplit=Resplit(
            _with(
                "tool-calls-chunk",
                ("tool_call_delta",),
                lambda v: isinstance(v, dict) and isinstance(v.get("parameters"), str) and not v.get("name"),
            ),
            ("tool_call_delta", "parameters"),
            ("tool_call_delta", "index"),
        ),
        terminator=_of("stream-end"),
    ),
    "ollama/chat": Profile(
        rename=Rename(None, ("eval_count",), "output_count"),
        terminator=_with(None, ("done",), lambda v: v is True),
    ),
}
