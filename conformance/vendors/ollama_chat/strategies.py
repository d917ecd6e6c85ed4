"""Hypothesis strategies for the Ollama codec: knobs and expressible sequences.  No I/O.

Strategy: a sequence is drawn as a *script* (alternating text/reasoning runs, tool calls,
usage, a terminal) and played through a :class:`ResponseBuilder` in the order the
decoder makes its calls: a run ends when the other kind begins, the last run is cut off
by the terminal, tool calls arrive at the end (complete at ``done``, cut off by a
failure).  So every sequence is one the decoder can produce.  ``flavour="generate"``
draws no tool calls (``/api/generate`` has none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from hypothesis import strategies as st

from conformance.events import ErrorCategory, Event, JSONValue
from conformance.strategies import fragments, json_values, tool_arguments, unicode_texts
from conformance.vendors._builder import ResponseBuilder
from conformance.vendors.ollama_chat.decoder import OllamaDecoder, finish_reason_for, serialise_arguments
from conformance.vendors.ollama_chat.encoder import Knobs

__all__ = ["knobs", "sequences"]

#: ``done_reason`` values: documented ones, the empty string, and one Ollama may add later.
_DONE_REASONS = ("stop", "length", "load", "unload", "", "cancelled")

Flavour = Literal["chat", "generate"]


def knobs(flavour: Flavour = "chat") -> st.SearchStrategy[Knobs]:
    """Every rendering Ollama (or a proxy in front of it) can produce for ``flavour``."""
    return st.builds(
        Knobs,
        flavour=st.just(flavour),
        eol=st.sampled_from(["\n", "\r\n"]),
        ascii_json=st.booleans(),
        tool_call_frames=st.sampled_from(["together", "each", "done"]),
        tool_call_index=st.booleans(),
        replaced_tool_calls=st.booleans(),
        last_fragment_in_done=st.booleans(),
        durations=st.booleans(),
    )


def _deep(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": [1.5, None, True]}
    for i in range(depth):
        value = {f"k{i % 3}": value}
    return value


@dataclass(frozen=True, slots=True)
class _Call:
    id: str | None
    name: str
    arguments: JSONValue


_arguments: st.SearchStrategy[JSONValue] = st.one_of(
    tool_arguments(),
    tool_arguments(),
    st.integers(1, 200).map(_deep),
    st.integers(1_000, 40_000).map(lambda n: {"blob": "ü" * n}),
    json_values,  # not an object: reported through arguments_error
)
_calls = st.lists(st.builds(_Call, st.none() | unicode_texts, unicode_texts, _arguments), max_size=4)
_many_calls = st.lists(
    st.builds(_Call, st.none() | unicode_texts, unicode_texts, st.just({"i": 1})), min_size=10, max_size=40
)
_runs = st.lists(unicode_texts.flatmap(fragments), max_size=5)
_counts = st.none() | st.integers(0, 2**31)


@st.composite
def sequences(draw: st.DrawFn, flavour: Flavour = "chat") -> list[Event]:
    """A canonical sequence Ollama can express under every :func:`knobs` of ``flavour``."""
    b = ResponseBuilder()
    model = draw(st.none() | st.sampled_from(["gemma4", "qwen3:8b", "llama3.2"]) | unicode_texts)
    kind = draw(st.sampled_from(["reasoning", "text"]))
    runs = draw(_runs)
    calls: list[_Call] = []
    if flavour == "chat":
        calls = draw(_many_calls) if draw(st.integers(0, 7)) == 7 else draw(_calls)
    pick = draw(st.integers(0, 6))  # 0-4 done, 5 an error line, 6 a cut-off stream
    if runs or calls or pick < 5:  # the first object that is not an error line starts the response
        b.start(model=model)
    for n, run in enumerate(runs):
        if n:
            b.end(n - 1)
            kind = "text" if kind == "reasoning" else "reasoning"
        b.open(n, kind)
        for part in run:
            b.delta(n, part)
    ids: set[str] = set()
    for n, call in enumerate(calls, start=len(runs)):
        call_id = call.id if call.id not in ids else f"{call.id}#{n}"
        if call_id is not None:
            ids.add(call_id)
        b.open(n, "tool_call", id=call_id, name=call.name)
        b.delta(n, serialise_arguments(call.arguments))
    if pick < 5:
        for n in range(len(runs), len(runs) + len(calls)):
            b.end(n)
        b.usage(input_tokens=draw(_counts), output_tokens=draw(_counts))
        raw = draw(st.sampled_from(_DONE_REASONS))
        b.finish(finish_reason_for(raw, tool_calls=bool(calls)), raw)
    elif pick == 5:
        b.error(ErrorCategory.UNKNOWN, draw(unicode_texts))
    else:
        b.error(ErrorCategory.PROTOCOL, f"the stream ended without {OllamaDecoder.TERMINATOR}")
    return b.take()
