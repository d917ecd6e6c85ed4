"""Benchmark: the OpenAI Responses reference decoder against the openai SDK.  I/O: prints a table.

Builds one deterministic Responses SSE body of at least ``size_mb`` MB with OUR encoder
(default knobs: ``event:`` lines, ``sequence_number``, ``obfuscation`` padding; per
turn a reasoning item with summary deltas and ``encrypted_content``, a message with
many text deltas, a function call with fragmented arguments) and feeds it in
``chunk_size`` chunks.  Reports the median of ``repeats`` timed runs after one warm-up,
all on the same bytes:

* ``ours: openai/responses decoder`` - bytes -> canonical events (SSE framing,
  payload parsing, item tracking, ResponseBuilder: the full reference decoder);
* ``floor: split + json's C scanner`` - the least any decoder does, defined alike for
  every API: the joined body split at its blank lines (``bytes.split``), every ``data:``
  payload decoded from UTF-8 and parsed by json's C scanner (what ``json.loads`` calls;
  the reference decoders call it directly too) -- no framing objects, no canonical
  events, nothing checked;
* ``framing + JSON: our SSEDecoder + json's C scanner`` - our incremental SSE decoder
  over the same chunks plus the same JSON parse (the floor plus a correct framing);
* ``openai SDK: SSEDecoder.iter_bytes + json + construct_type(ResponseStreamEvent)`` -
  what ``client.responses.create(stream=True)`` does per event in ``Stream.__stream__``:
  the SDK's SSE decoder, ``sse.json()``, then ``_process_response_data`` building the
  typed event (non-strict ``construct_type`` on the ``ResponseStreamEvent`` union).
  It builds typed objects but no accumulated snapshot, so it does less than ours.
  Being ~10x slower, it warms up on 16 chunks and is timed at most 3 times.

The SDK row is skipped when ``openai`` is not importable.
Run: ``python benchmarks/bench_openai_responses.py [--size-mb 50] [--repeats 5] [--chunk-size 65536]``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from typing import TYPE_CHECKING, Any

from benchmarks._harness import MB, SCAN, fixed_chunks
from conformance.events import FinishReason
from conformance.framing.sse import SSEDecoder
from conformance.vendors._builder import ResponseBuilder
from conformance.vendors.openai_responses import CODEC

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from conformance.events import Event

_WORDS = [
    *("the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "streaming", "tokens"),
    *("arrive", "in", "small", "events", "each", "carrying", "one", "delta", "of", "text", "to", "render"),
    *("—", "café", "naïve", "東京", "😀"),
]


def build_body(size_mb: float, *, seed: int = 0) -> tuple[bytes, int]:
    """Our encoder's output for one long response of at least ``size_mb`` MB, and its event count."""
    target = int(size_mb * MB)
    turns = 1
    while True:
        body = CODEC.encode(_sequence(random.Random(seed), turns))
        if len(body) >= target:
            return body, body.count(b"\n\n")
        turns = max(turns + 1, int(turns * target / len(body) * 1.05))


def _sequence(rng: random.Random, turns: int) -> list[Event]:
    b = ResponseBuilder()
    b.start(response_id="resp_0850765c843cca5300699cc47d93c0819089a181f5feeff8eb", model="gpt-5-2025-08-07")
    for turn in range(turns):
        key = 3 * turn
        b.open(key, "reasoning")
        for _ in range(rng.randint(5, 15)):
            b.delta(key, _words(rng, 1, 3))
        b.end(key, signature="gAAAAAB" + "x" * rng.randint(200, 600))
        b.open(key + 1, "text")
        for _ in range(rng.randint(20, 80)):
            b.delta(key + 1, _words(rng, 1, 3))
        b.end(key + 1)
        b.open(key + 2, "tool_call", id=f"call_{turn:024d}", name="get_weather")
        args = json.dumps({"city": _words(rng, 1, 2), "days": rng.randint(1, 9)}, ensure_ascii=False)
        for i in range(0, len(args), 4):
            b.delta(key + 2, args[i : i + 4])
        b.end(key + 2)
    b.usage(input_tokens=1234, output_tokens=5678, cache_read=1000, reasoning_tokens=900)
    b.finish(FinishReason.TOOL_CALLS, "completed")
    return b.take()


def _words(rng: random.Random, low: int, high: int) -> str:
    return "".join(" " + rng.choice(_WORDS) for _ in range(rng.randint(low, high)))


def _ours(chunks: Sequence[bytes]) -> tuple[int, int]:
    decoder = CODEC.new_decoder()
    events = 0
    for chunk in chunks:
        events += len(decoder.feed(chunk))
    return events + len(decoder.close()), 0


def _floor(chunks: Sequence[bytes]) -> tuple[int, int]:
    scan = SCAN
    messages = 0
    for event in b"".join(chunks).split(b"\n\n"):
        at = event.find(b"data: ")
        if at >= 0:
            scan(event[at + 6 :].decode(), 0)
            messages += 1
    return 0, messages


def _framing(chunks: Sequence[bytes]) -> tuple[int, int]:
    decoder = SSEDecoder()
    scan = SCAN
    messages = 0
    for chunk in chunks:
        for message in decoder.feed(chunk):
            scan(message.data, 0)  # type: ignore[union-attr]
            messages += 1
    return 0, messages


def _openai_runner() -> Callable[[Sequence[bytes]], tuple[int, int]] | None:
    try:
        from openai._models import construct_type
        from openai._streaming import SSEDecoder as OpenAISSEDecoder
        from openai.types.responses import ResponseStreamEvent
    except ImportError:
        return None
    cast_to: Any = ResponseStreamEvent

    def run(chunks: Sequence[bytes]) -> tuple[int, int]:
        messages = 0
        for sse in OpenAISSEDecoder().iter_bytes(iter(chunks)):
            if sse.data.startswith("[DONE]"):
                break
            construct_type(type_=cast_to, value=sse.json())
            messages += 1
        return 0, messages

    return run


def _measure(
    name: str,
    fn: Callable[[Sequence[bytes]], tuple[int, int]],
    chunks: Sequence[bytes],
    messages: int,
    repeats: int,
    *,
    slow: bool = False,
) -> dict[str, object]:
    """Median of ``repeats`` runs after a warm-up; a slow contender warms up on a few
    chunks only and runs at most 3 times, to keep a default run within minutes."""
    size = sum(map(len, chunks))
    if slow:
        fn(chunks[:16])
        repeats = min(repeats, 3)
    else:
        fn(chunks)
    times = []
    results = set()
    for _ in range(repeats):
        start = time.perf_counter()
        results.add(fn(chunks))
        times.append(time.perf_counter() - start)
    assert len(results) == 1, f"{name}: runs disagree: {results}"
    median = statistics.median(times)
    events, seen = results.pop()
    assert seen in (0, messages), f"{name} saw {seen} messages, not {messages}"
    row: dict[str, object] = {
        "name": name,
        "mb_per_s": round(size / MB / median, 1),
        "messages_per_s": round(messages / median),
    }
    if events:
        row["events_per_s"] = round(events / median)
        row["events"] = events
    return row


def run(size_mb: float = 50, repeats: int = 5, chunk_size: int = 65536) -> list[dict[str, object]]:
    """One row per contender (the SDK row only when openai is installed)."""
    body, messages = build_body(size_mb)
    chunks = fixed_chunks(body, chunk_size)
    contenders: list[tuple[str, Callable[[Sequence[bytes]], tuple[int, int]] | None]] = [
        ("ours: openai/responses decoder (bytes -> canonical events)", _ours),
        ("floor: split + json's C scanner", _floor),
        ("framing + JSON: our SSEDecoder + json's C scanner", _framing),
        ("openai SDK: SSEDecoder.iter_bytes + json + construct_type(ResponseStreamEvent)", _openai_runner()),
    ]
    rows = []
    for name, fn in contenders:
        if fn is not None:
            row = _measure(name, fn, chunks, messages, repeats, slow=name.startswith("openai SDK"))
            rows.append({"chunk_size": chunk_size, **row})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mb", type=float, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--chunk-size", type=int, default=65536)
    args = parser.parse_args()
    rows = run(args.size_mb, args.repeats, args.chunk_size)
    for r in rows:
        rates = f"{r['mb_per_s']:>8} MB/s {r['messages_per_s']:>10} messages/s"
        if "events_per_s" in r:
            rates += f" {r['events_per_s']:>10} events/s"
        print(f"{r['name']!s:<84} {rates}")


if __name__ == "__main__":
    main()
