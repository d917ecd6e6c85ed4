"""Hypothesis strategies for the OpenAI Chat codec: encoder knobs and expressible sequences.  No I/O.

:func:`sequences` draws canonical sequences Chat Completions can carry, in every
flavour and under every :func:`knobs`: text, reasoning (with OpenRouter signatures or
encrypted data), refusals, citations, single and parallel tool calls whose argument
fragments interleave (unicode of every plane, ASCII-escaped surrogate pairs, deep and
huge arguments, no-argument calls, invalid JSON), usage variants, every finish reason
and error terminal, and truncation.

Strategy: a drawn script is played through a
:class:`~conformance.vendors._builder.ResponseBuilder` -- the one way canonical events
are made -- following the wire's block model (``decoder`` module docstring): a
text-like block ends when another text-like block or a tool call starts, tool calls end
with the terminal, and two text-like blocks of one kind are never adjacent (the wire
would merge them) unless the first is a sealed reasoning block.
"""

from __future__ import annotations

import json
from collections.abc import Hashable

from hypothesis import strategies as st

from conformance.events import ErrorCategory, Event, JSONObject
from conformance.strategies import fragments, tool_arguments, unicode_texts
from conformance.vendors._builder import ResponseBuilder
from conformance.vendors.openai_chat.encoder import FLAVOURS, Knobs, flavour_knobs
from conformance.vendors.openai_chat.mapping import (
    CUT_OFF,
    DONE_WITHOUT_FINISH,
    ENDED_WITHOUT_DONE,
    finish_reason_for,
)

__all__ = ["knobs", "sequences"]

_C = ErrorCategory

#: (category, code, status) triples the wire can carry (see ``mapping.error_fields``).
_ERRORS = (
    (_C.SERVER, "server_error", None),
    (_C.RATE_LIMIT, "rate_limit_exceeded", 429),
    (_C.PERMISSION, "insufficient_quota", 429),
    (_C.CONTEXT_LENGTH, "context_length_exceeded", 400),
    (_C.INVALID_REQUEST, "tool_use_failed", 400),
    (_C.AUTH, "invalid_api_key", 401),
    (_C.INVALID_REQUEST, None, 400),
    (_C.OVERLOADED, None, 503),
    (_C.SERVER, None, 500),
    (_C.TIMEOUT, None, 504),
    (_C.UNKNOWN, None, None),
    (_C.UNKNOWN, "brand_new_code", None),
    (_C.INVALID_REQUEST, "brand_new_invalid", 422),
)

_FINISH_RAW = st.sampled_from(
    ["stop", "length", "tool_calls", "content_filter", "function_call", "error", "end_turn", "max_tokens"]
) | st.text(min_size=1, max_size=12)

_names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=12)
_ids = st.text(st.characters(codec="utf-8"), min_size=1, max_size=16)
_counts = st.none() | st.integers(min_value=0, max_value=2**40)


def knobs(flavour: str | None = None) -> st.SearchStrategy[Knobs]:
    """Any knob combination (or a flavour's usual ones), for ``flavour`` or any."""
    flavours = st.just(flavour) if flavour is not None else st.sampled_from(FLAVOURS)
    anything = st.builds(
        Knobs,
        flavour=flavours,
        usage=st.sampled_from(["chunk", "finish", "x_groq"]),
        role_content=st.sampled_from(["empty", "null", "absent"]),
        role_every_chunk=st.booleans(),
        empty_first_arguments=st.booleans(),
        max_fragment=st.sampled_from([0, 1, 2, 5, 16]),
        continuation_ids=st.sampled_from(["absent", "repeat", "empty", "new"]),
        continuation_name=st.sampled_from(["absent", "empty"]),
        tool_calls=st.sampled_from(["fragments", "whole", "whole_no_index"]),
        reasoning_field=st.sampled_from(["reasoning_content", "reasoning", "openrouter", "mistral"]),
        text_parts=st.booleans(),
        error_style=st.sampled_from(["data", "event", "chunk"]),
        repeat_finish=st.booleans(),
        obfuscation=st.booleans(),
        seed=st.integers(0, 2**16),
        keep_alives=st.integers(0, 3),
        keep_alive_every=st.sampled_from([0, 1, 3]),
        moderation=st.booleans(),
        prompt_filter=st.booleans(),
        eol=st.sampled_from(["\n", "\r\n"]),
    )
    return flavours.map(flavour_knobs) | anything


def _deep(depth: int) -> dict[str, object]:
    value: object = "bottom"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return {"deep": value}


#: Argument JSON as a model would write it: compact or spaced, raw or ASCII-escaped
#: (``\\ud83d\\ude00`` pairs a fragment can split), deeply nested or huge; sometimes
#: empty (a no-argument call) or invalid (reported, never repaired).
_arguments = st.one_of(
    st.tuples(tool_arguments(), st.booleans(), st.booleans()).map(
        lambda t: json.dumps(t[0], ensure_ascii=t[1], separators=(",", ":") if t[2] else None)
    ),
    st.integers(1, 120).map(lambda d: json.dumps(_deep(d))),
    st.integers(200, 2000).map(lambda n: json.dumps({"blob": "é☃😀" * (n // 3)}, ensure_ascii=n % 2 == 0)),
    st.just(""),
    st.just("{}"),
    st.sampled_from(['{"a":', "[1, 2]", '{"x": NaN}', "not json"]),
)


class _Script:
    """The builder plus the wire's block model, for one drawn sequence."""

    def __init__(self) -> None:
        self.b = ResponseBuilder()
        self.keys = 0
        self.current: int | None = None
        self.current_kind = ""
        self.sealed = False
        self.seals: dict[Hashable, tuple[str | None, str | None]] = {}
        self.pending: list[tuple[int, str]] = []
        self.tools = 0

    def new_key(self) -> int:
        self.keys += 1
        return self.keys

    def end(self, key: Hashable, *, incomplete: bool) -> None:
        signature, redacted = self.seals.get(key, (None, None))
        self.b.end(key, incomplete=incomplete, signature=signature, redacted=redacted)

    def supersede(self) -> None:
        if self.current is not None:
            self.end(self.current, incomplete=False)
            self.current = None

    def close_all(self, *, incomplete: bool) -> None:
        for key in self.b.open_keys():
            self.end(key, incomplete=incomplete)


@st.composite
def sequences(draw: st.DrawFn, *, max_steps: int = 5) -> list[Event]:
    """A canonical sequence every flavour of Chat Completions can carry."""
    s = _Script()
    b = s.b
    if draw(st.booleans()):
        response_id, model = draw(st.none() | _ids), draw(st.none() | _names)
        if response_id or model:
            b.start(response_id=response_id, model=model)
    for _ in range(draw(st.integers(0, max_steps))):
        step = draw(st.sampled_from(["text", "reasoning", "refusal", "tool", "parallel", "citation"]))
        if step in ("text", "refusal", "reasoning"):
            if s.current is not None and s.current_kind == step and not s.sealed:
                continue  # the wire would merge it into the current block
            texts = draw(st.lists(unicode_texts, min_size=0 if step == "reasoning" else 1, max_size=4))
            seal = None
            if step == "reasoning":
                seal = draw(
                    st.sampled_from([None, "signature", "redacted"]) if texts else st.just("signature")
                )
            s.supersede()
            key = s.new_key()
            b.open(key, step)
            for text in texts:
                b.delta(key, text)
            s.current, s.current_kind, s.sealed = key, step, seal is not None
            if seal is not None:
                value = draw(_ids)
                s.seals[key] = (value, None) if seal == "signature" else (None, value)
        elif step in ("tool", "parallel"):
            s.supersede()
            for _ in range(draw(st.integers(2, 4)) if step == "parallel" else 1):
                key = s.new_key()
                s.tools += 1
                suffix = draw(st.none() | _ids)
                call_id = None if suffix is None else f"call_{s.tools}_{suffix}"
                b.open(key, "tool_call", id=call_id, name=draw(_names))
                s.pending.extend((key, part) for part in draw(fragments(draw(_arguments))))
        else:
            key = s.new_key()
            url = draw(st.sampled_from(["https://example.com/a", "https://例え.jp/路"]))
            title, start = draw(unicode_texts), draw(st.integers(0, 500))
            citation: JSONObject = {"url": url, "title": title, "start_index": start, "end_index": start + 5}
            b.open(key, "citation", data={"type": "url_citation", "url_citation": citation})
            b.end(key)
        for _ in range(draw(st.integers(0, len(s.pending)))):  # interleave some argument fragments
            key = draw(st.sampled_from(sorted({k for k, _ in s.pending})))
            first = next(i for i, (k, _) in enumerate(s.pending) if k == key)
            b.delta(key, s.pending.pop(first)[1])
    for key, part in s.pending:
        b.delta(key, part)
    usage = draw(st.none() | st.tuples(_counts, _counts, _counts, _counts, _counts))
    if usage is not None and any(count is not None for count in usage):
        inp, out, read, write, reasoning = usage
        b.usage(
            input_tokens=inp,
            output_tokens=out,
            cache_read=read,
            cache_write=write,
            reasoning_tokens=reasoning,
        )
    terminal = draw(st.sampled_from(["finish", "finish", "error", "truncated"]))
    if terminal == "finish":
        raw = "tool_calls" if s.tools and draw(st.booleans()) else draw(_FINISH_RAW)
        reason = finish_reason_for(raw, has_complete_call=s.tools > 0)
        s.close_all(incomplete=reason in CUT_OFF)
        b.finish(reason, raw)
    elif terminal == "error":
        category, code, status = draw(st.sampled_from(_ERRORS))
        s.close_all(incomplete=True)
        b.error(category, draw(unicode_texts | st.just("")), status=status, code=code)
    else:
        s.close_all(incomplete=True)
        b.error(_C.PROTOCOL, draw(st.sampled_from([ENDED_WITHOUT_DONE, DONE_WITHOUT_FINISH])))
    return b.take()
