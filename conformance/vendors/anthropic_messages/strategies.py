"""Hypothesis strategies for the ``anthropic/messages`` codec: encoder knobs and the
canonical sequences Anthropic's stream can carry.  No I/O.

Sequences are made by driving a :class:`~conformance.vendors._builder.ResponseBuilder`,
the same machinery as the decoder, so that argument parsing, usage merging and
terminal handling are exactly the model's.  They cover: unicode of every plane in
text, thinking and tool arguments; huge, deeply nested, empty and invalid tool
arguments; many calls in a row; thinking with and without signatures, redacted
thinking; server tool calls with their results; citations inside text; usage with
cache counts, thinking tokens and changing input counts; every stop reason
(and an unknown one); error frames first, mid-stream and after content; blocks cut
off by ``max_tokens`` or an error.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

from conformance.events import ErrorCategory, Event, FinishReason, JSONValue
from conformance.strategies import fragments, json_values, texts, tool_arguments, unicode_texts
from conformance.vendors._builder import ResponseBuilder
from conformance.vendors.anthropic_messages.decoder import ERROR_CATEGORIES, STOP_REASONS
from conformance.vendors.anthropic_messages.encoder import Knobs

__all__ = ["knobs", "sequences"]

_STOP_REASONS = (*STOP_REASONS, "a_future_stop_reason")
_ERROR_TYPES = (*ERROR_CATEGORIES, "a_future_error")
_SERVER_TOOLS = (
    "web_search",
    "web_fetch",
    "code_execution",
    "bash_code_execution",
    "text_editor_code_execution",
)
_ids = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=4, max_size=24)
_names = st.from_regex(r"\A[a-zA-Z_][a-zA-Z0-9_-]{0,40}\Z")
_signatures = st.text(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", min_size=1, max_size=200
)
_small = st.integers(min_value=0, max_value=5000)
_maybe_small = st.none() | _small


def knobs() -> st.SearchStrategy[Knobs]:
    """Any encoder configuration."""
    return st.builds(
        Knobs,
        padding_max=st.sampled_from([0, 1, 16]),
        padding_seed=st.integers(min_value=0, max_value=2**32),
        pings=st.integers(min_value=0, max_value=3),
        ping_every=st.sampled_from([0, 0, 1, 5]),
        empty_first_json_delta=st.booleans(),
        signature_placement=st.sampled_from(["before_stop", "after_start", "in_start"]),
        delta_usage=st.sampled_from(["full", "minimal"]),
        stop_details=st.booleans(),
        refusal_category=st.none() | st.sampled_from(["cyber", "bio", "reasoning_extraction"]),
        refusal_explanation=st.none() | unicode_texts,
        caller=st.booleans(),
        error_shape=st.sampled_from(["live", "docs"]),
        request_id=st.just("req_011CConformanceSuite000001") | _ids.map("req_".__add__),
        eol=st.sampled_from(["\n", "\r\n"]),
        event_lines=st.booleans(),
        final_blank_line=st.booleans(),
        model_first=st.booleans(),
    )


@st.composite
def _argument_text(draw: st.DrawFn) -> str:
    """The JSON text of a call's arguments: usually an object, sometimes huge, deep,
    empty (a no-argument call) or not an object at all."""
    shape = draw(st.sampled_from(["object", "object", "object", "empty", "huge", "deep", "invalid"]))
    if shape == "empty":
        return ""
    if shape == "huge":
        size = draw(st.integers(min_value=1_000, max_value=60_000))
        return json.dumps({"blob": draw(st.sampled_from('aé😀\\"')) * size}, ensure_ascii=False)
    if shape == "deep":
        depth = draw(st.integers(min_value=1, max_value=1_200))
        return '{"nested":' + "[" * depth + "]" * depth + "}"
    if shape == "invalid":
        return draw(unicode_texts)
    separators = draw(st.sampled_from([(",", ":"), (", ", ": ")]))
    return json.dumps(draw(tool_arguments()), ensure_ascii=draw(st.booleans()), separators=separators)


def _citation() -> st.SearchStrategy[dict[str, JSONValue]]:
    return st.fixed_dictionaries(
        {
            "type": st.sampled_from(["web_search_result_location", "char_location", "page_location"]),
            "cited_text": unicode_texts,
        },
        optional={
            "url": texts,
            "title": st.none() | texts,
            "start_char_index": _small,
            "encrypted_index": texts,
        },
    )


@st.composite
def _usage(draw: st.DrawFn, b: ResponseBuilder, seen: dict[str, int], *, at_least: int | None) -> int | None:
    """Report a usage snapshot to ``b`` as Anthropic's counts add up: each vendor count
    (``seen``) carries forward until reported again, and the input total is the
    uncached input plus both cache counts.  Returns the output count now known, which
    never goes below ``at_least``."""
    low = at_least or 0
    report = {
        "uncached": draw(st.none() | st.integers(min_value=0, max_value=10**6)),
        "cache_write": draw(_maybe_small),
        "cache_read": draw(_maybe_small),
        "output": draw(st.none() | st.integers(min_value=low, max_value=low + 5000)),
    }
    seen.update({k: v for k, v in report.items() if v is not None})
    output = seen.get("output")
    if output is not None and draw(st.booleans()):
        seen["reasoning"] = draw(st.integers(min_value=0, max_value=output))
    uncached, cache_write, cache_read = seen.get("uncached"), seen.get("cache_write"), seen.get("cache_read")
    b.usage(
        input_tokens=None if uncached is None else uncached + (cache_write or 0) + (cache_read or 0),
        output_tokens=output,
        cache_read=cache_read,
        cache_write=cache_write,
        reasoning_tokens=seen.get("reasoning"),
    )
    return output


def _block(draw: st.DrawFn, b: ResponseBuilder, key: int, ids: set[str]) -> bool:
    """Add one block (or a server tool call and its result) under ``key``..; True when
    it is a complete client tool call.  The last block may stay open."""
    kind = draw(st.sampled_from(["text", "text", "reasoning", "redacted", "tool_call", "server_tool"]))
    if kind == "text":
        b.open(key, "text")
        for n, piece in enumerate(draw(fragments(draw(unicode_texts)))):
            if draw(st.integers(min_value=0, max_value=5)) == 0:  # a citation of the text so far
                b.open(("citation", key, n), "citation", data=draw(_citation()))
                b.end(("citation", key, n))
            b.delta(key, piece)
    elif kind == "reasoning":
        b.open(key, "reasoning")
        for piece in draw(fragments(draw(unicode_texts))):
            b.delta(key, piece)
        cut = draw(st.integers(min_value=0, max_value=5)) == 0  # cut off after its signature_delta
        b.end(key, incomplete=cut, signature=draw(st.none() | _signatures))
        return False
    elif kind == "redacted":
        b.open(key, "reasoning")
        b.end(key, redacted=draw(_signatures))
        return False
    else:
        call_id = draw(_ids.filter(lambda s: s not in ids))
        ids.add(call_id)
        server = kind == "server_tool"
        name = draw(st.sampled_from(_SERVER_TOOLS) if server else _names)
        b.open(key, "server_tool_call" if server else "tool_call", id=call_id, name=name)
        for piece in draw(fragments(draw(_argument_text()), max_pieces=20)):
            b.delta(key, piece)
        if server:
            b.end(key)
            if draw(st.booleans()):  # the result (a paused turn may lack it)
                result_key = ("result", key)
                b.open(
                    result_key,
                    "server_tool_result",
                    id=call_id,
                    name=f"{name}_tool_result",
                    data=draw(json_values),
                )
                b.end(result_key)
            return False
    ending = draw(st.integers(min_value=0, max_value=5))
    if ending == 0:
        return False  # left open: the terminal decides how it ends
    if ending == 1:
        b.end(key, incomplete=True)  # no content_block_stop: it stays open on the wire
        return False
    b.end(key)
    return kind == "tool_call"


@st.composite
def sequences(draw: st.DrawFn) -> list[Event]:
    """A canonical sequence Anthropic's stream can carry (always with a terminal)."""
    b = ResponseBuilder()
    if draw(st.integers(min_value=0, max_value=15)) == 0:  # anthropic.error_event_as_first_event
        code = draw(st.sampled_from(_ERROR_TYPES))
        b.error(ERROR_CATEGORIES.get(code, ErrorCategory.UNKNOWN), draw(unicode_texts), code=code)
        return b.take()
    b.start(response_id=draw(st.none() | _ids.map("msg_".__add__)), model=draw(st.none() | _names))
    seen: dict[str, int] = {}
    output = draw(_usage(b, seen, at_least=None)) if draw(st.integers(min_value=0, max_value=5)) else None
    ids: set[str] = set()
    complete_calls = 0
    for key in range(draw(st.integers(min_value=0, max_value=8))):
        if b.open_keys():
            break  # a block left open is the last one
        complete_calls += _block(draw, b, key, ids)
    if draw(st.booleans()):
        output = draw(_usage(b, seen, at_least=output))
    if draw(st.integers(min_value=0, max_value=4)) == 0:
        code = draw(st.sampled_from(_ERROR_TYPES))  # anthropic.error_event_after_content
        b.error(ERROR_CATEGORIES.get(code, ErrorCategory.UNKNOWN), draw(unicode_texts), code=code)
        return b.take()
    raw = draw(st.sampled_from(_STOP_REASONS))
    reason = STOP_REASONS.get(raw, FinishReason.OTHER)
    if reason == FinishReason.TOOL_CALLS and not complete_calls:
        raw, reason = "end_turn", FinishReason.STOP
    b.finish(reason, raw)
    return b.take()
