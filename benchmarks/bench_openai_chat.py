"""Benchmark: the OpenAI Chat Completions reference decoder against openai-python.  I/O: prints a table.

Builds response bodies totalling at least ``size_mb`` MB with our own encoder (OpenAI
flavour, default knobs: obfuscation padding, usage chunk).  Each response is three rounds
of a reasoning block, a text block and two parallel tool calls (~120 KB), every delta a
few tokens long, with Latin, CJK and emoji text and JSON arguments; real responses are
that size, and openai's accumulator is quadratic in the response length, so one giant
response would measure only that.  Each body is fed to a fresh decoder in
``chunk_size`` chunks, and each row reports the median of ``repeats`` timed runs after one warm-up, in MB/s
(1 MB = 10**6 bytes) plus events/s (canonical events) or messages/s (payloads):

* ``floor``: the least any decoder does, defined alike for every API: the joined body
  split at its blank lines (``bytes.split``), every ``data:`` payload decoded from UTF-8
  and parsed by json's C scanner (what ``json.loads`` calls; the reference decoders
  call it directly too) -- no framing objects, no canonical events, nothing checked;
* ``framing + JSON``: our incremental SSE decoder over the same chunks plus the same JSON
  parse: the floor plus what a correct, chunk-proof framing costs;
* ``reference decoder``: :class:`~conformance.vendors.openai_chat.decoder.OpenAIChatDecoder`,
  bytes to canonical events;
* ``openai Stream parse``: what ``openai.Stream.__stream__`` does per event -- its
  ``SSEDecoder.iter_bytes``, ``sse.json()``, the ``error`` check and
  ``construct_type(ChatCompletionChunk)`` (the SDK's own stream parsing, no HTTP);
* ``openai Stream parse + ChatCompletionStreamState``: the same chunks also fed to the
  SDK's accumulator (``client.chat.completions.stream``'s event layer), the SDK's
  counterpart of a decoder that assembles content and tool arguments.

The openai rows run on the first ``sdk_mb`` MB of the bodies only (they are an order of
magnitude slower; every body is alike, so the rates compare).

Run: ``python benchmarks/bench_openai_chat.py [--size-mb 50] [--repeats 5] [--chunk-size 65536]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import TYPE_CHECKING, Any

from benchmarks._harness import MB, SCAN, fixed_chunks
from conformance.events import FinishReason
from conformance.framing.messages import SSEEvent
from conformance.framing.sse import SSEDecoder
from conformance.vendors._builder import ResponseBuilder
from conformance.vendors.openai_chat import CODEC, Knobs

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from conformance.events import Event

_WORDS = (
    " the",
    " quick",
    " brown fox",
    " café",
    " naïve",
    " 你好",
    "世界",
    " 🙂",
    " 🚀✨",
    "\n\n",
    ' "q"',
    " 1234",
)


def build_events(rounds: int = 3) -> list[Event]:
    """One canonical response: ``rounds`` x (reasoning, text, two parallel tool calls)."""
    b = ResponseBuilder()
    b.start(response_id="chatcmpl-bench", model="gpt-bench")
    deltas = 0
    key = 0
    for _ in range(rounds):
        for kind in ("reasoning", "text"):
            key += 1
            b.open(key, kind)
            for i in range(40):
                b.delta(key, _WORDS[i % len(_WORDS)] + _WORDS[(i * 7) % len(_WORDS)])
            deltas += 40
        calls = []
        for _ in range(2):
            key += 1
            b.open(key, "tool_call", id=f"call_{key}", name="lookup")
            calls.append(key)
        arguments = json.dumps({"query": "".join(_WORDS), "limit": 10, "tags": ["a", "é", "😀"]})
        for start in range(0, len(arguments), 6):
            for call in calls:
                b.delta(call, arguments[start : start + 6])
                deltas += 1
    b.usage(input_tokens=1000, output_tokens=deltas, cache_read=100, reasoning_tokens=deltas // 3)
    b.finish(FinishReason.TOOL_CALLS, "tool_calls")
    return b.take()


def build_bodies(size_mb: float) -> list[bytes]:
    """Response bodies (OpenAI flavour, default knobs, obfuscation seeded per body) totalling
    at least ``size_mb`` MB."""
    events = build_events()
    bodies: list[bytes] = []
    size = 0
    while size < size_mb * MB:
        bodies.append(CODEC.encode(events, Knobs(seed=len(bodies))))
        size += len(bodies[-1])
    return bodies


Streams = list[list[bytes]]  # each response body, cut into chunks


def _floor(streams: Streams) -> int:
    scan = SCAN
    count = 0
    for chunks in streams:
        for event in b"".join(chunks).split(b"\n\n"):
            at = event.find(b"data: ")
            if at >= 0 and event.startswith(b"{", at + 6):  # not [DONE]
                scan(event[at + 6 :].decode(), 0)
                count += 1
    return count


def _framing(streams: Streams) -> int:
    scan = SCAN
    count = 0
    for chunks in streams:
        decoder = SSEDecoder()
        for chunk in chunks:
            for message in decoder.feed(chunk):
                if isinstance(message, SSEEvent) and message.data[:1] == "{":
                    scan(message.data, 0)
                    count += 1
        count += len(decoder.close())
    return count


def _ours(streams: Streams) -> int:
    count = 0
    for chunks in streams:
        decoder = CODEC.new_decoder()
        for chunk in chunks:
            count += len(decoder.feed(chunk))
        count += len(decoder.close())
    return count


def _openai_runners() -> dict[str, Callable[[Streams], int]]:
    try:
        from openai._models import construct_type
        from openai._streaming import SSEDecoder as OpenAISSEDecoder
        from openai._utils import is_mapping
        from openai.lib.streaming.chat import ChatCompletionStreamState
        from openai.types.chat import ChatCompletionChunk
    except ImportError:
        return {}

    def parse(chunks: Sequence[bytes], state: Any) -> int:
        """``Stream.__stream__`` without HTTP: SSE decode, [DONE] check, JSON, error check, model."""
        count = 0
        for sse in OpenAISSEDecoder().iter_bytes(iter(chunks)):
            if sse.data.startswith("[DONE]"):
                break
            data = sse.json()
            if is_mapping(data) and data.get("error"):
                raise RuntimeError("unexpected error payload")
            chunk = construct_type(type_=ChatCompletionChunk, value=data)
            count += 1 if state is None else len(list(state.handle_chunk(chunk)))
        return count

    def stream(streams: Streams) -> int:
        return sum(parse(chunks, None) for chunks in streams)

    def accumulate(streams: Streams) -> int:
        return sum(parse(chunks, ChatCompletionStreamState()) for chunks in streams)

    return {
        "openai Stream parse (SSEDecoder + json + construct ChatCompletionChunk)": stream,
        "openai Stream parse + ChatCompletionStreamState (events)": accumulate,
    }


def _time(run: Callable[[Streams], int], streams: Streams, repeats: int) -> tuple[float, int]:
    count = run(streams)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(streams)
        times.append(time.perf_counter() - start)
    return statistics.median(times), count


def run(
    size_mb: float = 50, repeats: int = 5, chunk_size: int = 65536, sdk_mb: float = 4
) -> list[dict[str, object]]:
    """Time every row; each row's ``count`` is in its ``unit``.  The openai rows (an order of
    magnitude slower) take the first ``sdk_mb`` MB of the same bodies, to keep a run
    within minutes; every body is alike, so their rates compare."""
    bodies = build_bodies(size_mb)
    streams = [fixed_chunks(body, chunk_size) for body in bodies]
    few = streams[: max(1, round(len(streams) * min(1.0, sdk_mb / size_mb)))]
    runners: list[tuple[str, str, Callable[[Streams], int], Streams]] = [
        ("floor: split + json's C scanner", "messages", _floor, streams),
        ("framing + JSON: our SSEDecoder + json's C scanner", "messages", _framing, streams),
        ("reference decoder (openai/chat-completions)", "events", _ours, streams),
    ]
    for name, fn in _openai_runners().items():
        runners.append((name, "events" if "State" in name else "messages", fn, few))
    rows: list[dict[str, object]] = []
    for name, unit, fn, chosen in runners:
        total = sum(len(chunk) for chunks in chosen for chunk in chunks)
        seconds, count = _time(fn, chosen, repeats)
        rows.append(
            {
                "name": name,
                "mb_per_s": round(total / MB / seconds, 1),
                f"{unit}_per_s": round(count / seconds),
                "count": count,
                "unit": unit,
                "seconds": round(seconds, 3),
                "mb": round(total / MB, 2),
                "responses": len(chosen),
                "chunk_size": chunk_size,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mb", type=float, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--chunk-size", type=int, default=65536)
    parser.add_argument("--sdk-mb", type=float, default=4)
    args = parser.parse_args()
    for row in run(args.size_mb, args.repeats, args.chunk_size, args.sdk_mb):
        rate = row.get("events_per_s", row.get("messages_per_s"))
        print(f"{row['name']:<74} {row['mb']:>6} MB {row['mb_per_s']:>7} MB/s {rate:>9} {row['unit']}/s")


if __name__ == "__main__":
    main()
