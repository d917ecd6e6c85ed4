"""Hypothesis strategies for Bedrock ConverseStream: encoder knobs and expressible sequences.  No I/O.

``sequences()`` draws canonical sequences Bedrock can carry, made with the same
:class:`~conformance.vendors._builder.ResponseBuilder` the decoder uses, so their
shape (tool arguments, incomplete ends, usage snapshots) is exactly what decoding
gives back.  Strategy: each block is a plan of atomic *steps* (a text or reasoning
block's start and its first content are one step, because Bedrock opens those blocks
with their first delta; a citation's start and end are one step); plans are run one
after another or interleaved step by step; blocks may be left open (cut off) when the
terminal is an error or a ``max_tokens``-style finish.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from conformance.events import FinishReason, JSONValue
from conformance.strategies import fragments, json_values, tool_arguments, unicode_texts
from conformance.vendors._builder import ResponseBuilder
from conformance.vendors.bedrock_converse.decoder import (
    EXCEPTION_CATEGORIES,
    IMAGE_KIND,
    STATUS_EXCEPTIONS,
    STOP_REASONS,
    category_for_exception,
    finish_reason_for,
)
from conformance.vendors.bedrock_converse.encoder import Knobs

if TYPE_CHECKING:
    from conformance.events import Event

__all__ = ["knobs", "sequences"]

#: Block kinds, weighted towards the common ones (text, reasoning, client tool calls).
_KINDS = ("text", "text", "text", "reasoning", "reasoning", "tool_call", "tool_call", "tool_call")
_RARE_KINDS = ("server_tool_call", "server_tool_result", "citation", IMAGE_KIND)
_TOOL_NAMES = st.from_regex(r"\A[a-zA-Z0-9_-]{1,24}\Z")
_ID_CHARS = st.from_regex(r"\A[A-Za-z0-9_-]{0,22}\Z")
_TOKENS = st.integers(min_value=0, max_value=2**31)


def knobs() -> st.SearchStrategy[Knobs]:
    """Any encoder configuration."""
    return st.builds(
        _knobs,
        padding=st.booleans(),
        low=st.integers(0, 70),
        extra=st.integers(0, 80),
        seed=st.integers(0, 2**32),
        text_block_start=st.booleans(),
        empty_text_first=st.booleans(),
        header_order=st.sampled_from(["bedrock", "message-type-first"]),
        error_frames=st.sampled_from(["exception", "error"]),
        server_tool_usage=st.booleans(),
        ascii_json=st.booleans(),
    )


def _knobs(*, low: int, extra: int, **rest: Any) -> Knobs:
    return Knobs(padding_min=low, padding_max=low + extra, **rest)


# -- block plans ----------------------------------------------------------------------

Op = tuple[Any, ...]  # ("open", kind, id, name, data) | ("delta", text) | ("end", kwargs)


@dataclass
class _Plan:
    steps: list[list[Op]]
    kind: str
    cuttable: bool  # may be left open when the terminal cuts it off
    end: list[Op] = field(default_factory=list)


def _arguments_text() -> st.SearchStrategy[str]:
    """Tool-argument JSON as a model streams it: objects, deep or huge ones, none, or broken."""
    objects = st.builds(
        lambda args, ascii_: json.dumps(args, ensure_ascii=ascii_), tool_arguments(), st.booleans()
    )
    deep = st.integers(1, 300).map(lambda n: '{"deep":' + "[" * n + "1" + "]" * n + "}")
    huge = st.builds(
        lambda c, n: json.dumps({"blob": c * n}, ensure_ascii=False), unicode_texts, st.integers(0, 4000)
    )
    broken = objects.map(lambda s: s[: max(1, len(s) // 2)])
    return st.one_of(objects, st.just(""), deep, huge, broken, st.just("[1]"))


def _citations() -> st.SearchStrategy[dict[str, JSONValue]]:
    location = st.one_of(
        st.builds(
            lambda i, a, b: {"documentChar": {"documentIndex": i, "start": a, "end": a + b}},
            st.integers(0, 9),
            st.integers(0, 10**6),
            st.integers(0, 10**4),
        ),
        st.builds(lambda u, d: {"web": {"url": u, "domain": d}}, unicode_texts, unicode_texts),
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "title": unicode_texts,
            "source": unicode_texts,
            "sourceContent": st.lists(st.builds(lambda t: {"text": t}, unicode_texts), max_size=2),
            "location": location,
        },
    ).filter(bool)


@st.composite
def _plan(draw: st.DrawFn, ordinal: int) -> _Plan:
    kind = draw(st.sampled_from(_KINDS) | st.sampled_from(_RARE_KINDS))
    call_id = f"tooluse_{draw(_ID_CHARS)}{ordinal}"
    if kind == "text":
        parts = draw(fragments(draw(unicode_texts)))
        return _Plan(
            [[("open", kind, None, None, None), ("delta", parts[0])], *[[("delta", p)] for p in parts[1:]]],
            kind,
            cuttable=True,
            end=[("end", {})],
        )
    if kind == "reasoning":
        text = draw(st.none() | unicode_texts)
        signature = draw(st.none() | st.from_regex(r"\A[A-Za-z0-9+/=]{1,40}\Z"))
        redacted = draw(
            st.none() | st.binary(min_size=1, max_size=60).map(lambda b: base64.b64encode(b).decode())
        )
        end = [("end", {"signature": signature, "redacted": redacted})]
        if text is None:
            if signature is None and redacted is None:
                redacted = "UkVEQUNURUQ="
                end = [("end", {"signature": signature, "redacted": redacted})]
            return _Plan([[("open", kind, None, None, None), *end]], kind, cuttable=False)
        parts = draw(fragments(text))
        steps: list[list[Op]] = [
            [("open", kind, None, None, None), ("delta", parts[0])],
            *[[("delta", p)] for p in parts[1:]],
        ]
        return _Plan(steps, kind, cuttable=True, end=end)
    if kind in ("tool_call", "server_tool_call"):
        name = draw(_TOOL_NAMES)
        parts = draw(fragments(draw(_arguments_text())))
        return _Plan(
            [[("open", kind, call_id, name, None)], *[[("delta", p)] for p in parts]],
            kind,
            cuttable=True,
            end=[("end", {})],
        )
    if kind == "server_tool_result":
        header = draw(
            st.none()
            | st.fixed_dictionaries(
                {"type": st.just("nova_code_interpreter_result")},
                optional={"status": st.sampled_from(["success", "error"])},
            )
        )
        texts = draw(st.lists(unicode_texts, max_size=3))
        items = draw(st.none() | st.lists(json_values, min_size=1, max_size=3))
        return _Plan(
            [[("open", kind, call_id, None, header)], *[[("delta", t)] for t in texts]],
            kind,
            cuttable=True,
            end=[("end", {"data": items})],
        )
    if kind == "citation":
        return _Plan([[("open", kind, None, None, draw(_citations())), ("end", {})]], kind, cuttable=False)
    image = draw(st.sampled_from(["png", "jpeg", "gif", "webp"]))
    chunks = draw(
        st.lists(st.binary(min_size=1, max_size=48).map(lambda b: base64.b64encode(b).decode()), max_size=3)
    )
    return _Plan(
        [[("open", kind, None, None, {"format": image})], *[[("delta", c)] for c in chunks]],
        kind,
        cuttable=True,
        end=[("end", {})],
    )


# -- sequences --------------------------------------------------------------------------


@st.composite
def sequences(draw: st.DrawFn) -> list[Event]:
    """A canonical sequence Bedrock ConverseStream can express (and decode back)."""
    plans = [draw(_plan(i)) for i in range(draw(st.integers(0, 6)))]
    failing = draw(st.booleans())
    reasons = [*STOP_REASONS, "future_stop_reason"]
    if any(plan.kind == "tool_call" for plan in plans):
        reasons = ["tool_use", *reasons]  # shrinks towards a tool-calling finish
    raw = None if failing else draw(st.sampled_from(reasons))
    cutting = failing or STOP_REASONS.get(raw or "") is FinishReason.LENGTH
    cut = {i for i, plan in enumerate(plans) if cutting and plan.cuttable and draw(st.booleans())}
    for i, plan in enumerate(plans):
        plan.steps.append([] if i in cut else plan.end)

    b = ResponseBuilder()
    if draw(st.booleans()) or not failing:
        b.start()
    interleave = draw(st.booleans())
    pending = [list(plan.steps) for plan in plans]
    while any(pending):
        live = [i for i, steps in enumerate(pending) if steps]
        pick = live[draw(st.integers(0, len(live) - 1))] if interleave else live[0]
        for op in pending[pick].pop(0):
            _apply(b, pick, op)

    if failing:
        code = draw(st.sampled_from([*EXCEPTION_CATEGORIES, "someFutureException"]))
        status = draw(st.none() | st.integers(100, 599)) if code in STATUS_EXCEPTIONS else None
        b.error(category_for_exception(code), draw(unicode_texts | st.just("")), status=status, code=code)
    else:
        assert raw is not None
        ended_calls = any(p.kind == "tool_call" and i not in cut for i, p in enumerate(plans))
        has_call = ended_calls or (not cutting and any(p.kind == "tool_call" for p in plans))
        read, write = draw(st.none() | _TOKENS), draw(st.none() | _TOKENS)
        b.usage(
            input_tokens=draw(_TOKENS) + (read or 0) + (write or 0),
            output_tokens=draw(_TOKENS),
            cache_read=read,
            cache_write=write,
        )
        b.finish(finish_reason_for(raw, has_tool_call=has_call), raw)
    return b.take()


def _apply(b: ResponseBuilder, key: int, op: Op) -> None:
    if op[0] == "open":
        _, kind, call_id, name, data = op
        b.open(key, kind, id=call_id, name=name, data=data)
    elif op[0] == "delta":
        b.delta(key, op[1])
    else:
        b.end(key, **op[1])
