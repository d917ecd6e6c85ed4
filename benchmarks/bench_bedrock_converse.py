"""Benchmark: the Bedrock ConverseStream reference decoder against botocore.  I/O: prints a table.

Builds one deterministic ConverseStream body of at least ``size_mb`` MB with OUR
encoder (a realistic mix per turn: a reasoning block with a signature, a text block,
a tool call with fragmented arguments; default knobs, so every payload carries the
``"p"`` padding) and feeds it in ``chunk_size`` chunks.  Reports the median of
``repeats`` timed runs after one warm-up, all on the same bytes:

* ``ours: bedrock/converse-stream decoder`` - frames -> canonical events (the full
  reference decoder, ResponseBuilder included);
* ``floor: split + json's C scanner`` - the least any decoder does, defined alike for
  every API: the joined body cut into frames by their ``total_length`` and
  ``headers_length`` prelude fields, every payload decoded from UTF-8 and parsed by json's
  C scanner (what ``json.loads`` calls; the reference decoders call it directly too) --
  no frame objects, no canonical events, nothing checked (no CRC);
* ``framing + JSON: our EventStreamDecoder + json's C scanner`` - our incremental
  eventstream decoder (both CRC32s checked, headers parsed) plus the same JSON parse;
* ``botocore: EventStreamBuffer + json.loads`` - botocore's framing and a JSON parse
  of every payload (what a hand-rolled boto consumer does);
* ``botocore: EventStream + EventStreamJSONParser`` - the SDK's full parse, as
  ``bedrock-runtime.converse_stream()['stream']`` iterates it: EventStreamBuffer,
  ``to_response_dict`` and ``EventStreamJSONParser.parse`` with the ConverseStream
  output shape from botocore's own service model.

botocore rows are skipped when botocore is not importable.
Run: ``python benchmarks/bench_bedrock_converse.py [--size-mb 50] [--repeats 5] [--chunk-size 65536]``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import struct
import time
from typing import TYPE_CHECKING

from benchmarks._harness import MB, SCAN, fixed_chunks
from conformance.events import FinishReason
from conformance.framing.eventstream import EventStreamDecoder
from conformance.vendors._builder import ResponseBuilder
from conformance.vendors.bedrock_converse import CODEC

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from conformance.events import Event

_WORDS = [
    *("the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "streaming", "tokens"),
    *("arrive", "in", "small", "frames", "each", "carrying", "one", "delta", "of", "text", "to", "render"),
    *("—", "café", "naïve", "東京", "😀"),
]


def build_body(size_mb: float, *, seed: int = 0) -> tuple[bytes, int]:
    """Our encoder's output for one long response of at least ``size_mb`` MB, and its frame count."""
    rng = random.Random(seed)
    target = int(size_mb * MB)
    turns = 1
    while True:
        body = CODEC.encode(_sequence(rng, turns))
        if len(body) >= target:
            break
        turns = max(turns + 1, int(turns * target / len(body) * 1.05))
    decoder = EventStreamDecoder()
    return body, len(decoder.feed(body))


def _sequence(rng: random.Random, turns: int) -> list[Event]:
    b = ResponseBuilder()
    b.start()
    key = 0
    for turn in range(turns):
        b.open(key, "reasoning")
        for _ in range(20):
            b.delta(key, _words(rng, 4, 10))
        b.end(key, signature="EqQBCkgIARABGAIiQL" + "x" * 120)
        b.open(key + 1, "text")
        for _ in range(40):
            b.delta(key + 1, _words(rng, 2, 8))
        b.end(key + 1)
        args = json.dumps({"city": _words(rng, 1, 3), "turn": turn, "days": list(range(rng.randint(1, 8)))})
        b.open(key + 2, "tool_call", id=f"tooluse_{turn:022d}", name="get_weather")
        for i in range(0, len(args), 7):
            b.delta(key + 2, args[i : i + 7])
        b.end(key + 2)
        key += 3
    b.usage(input_tokens=1200, output_tokens=turns * 700, cache_read=1000)
    b.finish(FinishReason.TOOL_CALLS, "tool_use")
    return b.take()


def _words(rng: random.Random, low: int, high: int) -> str:
    return " " + " ".join(rng.choices(_WORDS, k=rng.randint(low, high)))


# -- contenders: each returns (messages, canonical events or parsed payloads) ------------


def _ours(chunks: Sequence[bytes]) -> int:
    decoder = CODEC.new_decoder()
    count = 0
    for chunk in chunks:
        count += len(decoder.feed(chunk))
    return count + len(decoder.close())


_LENGTHS = struct.Struct(">II")  # a frame's total_length and headers_length


def _floor(chunks: Sequence[bytes]) -> int:
    body = b"".join(chunks)
    scan = SCAN
    lengths = _LENGTHS.unpack_from
    size = len(body)
    pos = count = 0
    while pos < size:
        total, headers = lengths(body, pos)
        scan(body[pos + 12 + headers : pos + total - 4].decode(), 0)
        count += 1
        pos += total
    return count


def _framing(chunks: Sequence[bytes]) -> int:
    decoder = EventStreamDecoder()
    count = 0
    scan = SCAN
    for chunk in chunks:
        for message in decoder.feed(chunk):
            scan(message.payload.decode(), 0)
            count += 1
    return count + len(decoder.close())


def _botocore_buffer() -> Callable[[Sequence[bytes]], int] | None:
    try:
        from botocore.eventstream import EventStreamBuffer
    except ImportError:
        return None

    def run(chunks: Sequence[bytes]) -> int:
        buffer = EventStreamBuffer()
        count = 0
        loads = json.loads
        for chunk in chunks:
            buffer.add_data(chunk)
            for message in buffer:
                loads(message.payload)
                count += 1
        return count

    return run


def _botocore_full() -> Callable[[Sequence[bytes]], int] | None:
    try:
        import botocore.session
        from botocore.eventstream import EventStream
        from botocore.parsers import EventStreamJSONParser
    except ImportError:
        return None
    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    shape = model.operation_model("ConverseStream").output_shape.members["stream"]

    class _Raw:
        def __init__(self, chunks: Sequence[bytes]) -> None:
            self.chunks = chunks

        def stream(self) -> Iterator[bytes]:
            yield from self.chunks

    def run(chunks: Sequence[bytes]) -> int:
        return sum(1 for _ in EventStream(_Raw(chunks), shape, EventStreamJSONParser(), "ConverseStream"))

    return run


def _measure(
    name: str, fn: Callable[[Sequence[bytes]], int], chunks: Sequence[bytes], frames: int, repeats: int
) -> dict[str, object]:
    size = sum(len(c) for c in chunks)
    produced = fn(chunks)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(chunks)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    return {
        "name": name,
        "mb": round(size / MB, 3),
        "seconds": seconds,
        "mb_per_s": size / MB / seconds,
        "messages_per_s": frames / seconds,
        "outputs": produced,
        "events_per_s": produced / seconds,
    }


def run(size_mb: float = 50, repeats: int = 5, chunk_size: int = 65536) -> list[dict[str, object]]:
    """One row per contender (botocore rows only when botocore is installed)."""
    body, frames = build_body(size_mb)
    chunks = fixed_chunks(body, chunk_size)
    contenders: list[tuple[str, Callable[[Sequence[bytes]], int] | None]] = [
        ("floor: split + json's C scanner", _floor),
        ("framing + JSON: our EventStreamDecoder + json's C scanner", _framing),
        ("ours: bedrock/converse-stream decoder", _ours),
        ("botocore: EventStreamBuffer + json.loads", _botocore_buffer()),
        ("botocore: EventStream + EventStreamJSONParser (ConverseStream shape)", _botocore_full()),
    ]
    rows = []
    for name, fn in contenders:
        if fn is not None:
            rows.append({"chunk_size": chunk_size, **_measure(name, fn, chunks, frames, repeats)})
    for row in rows:  # the SDK's own path is EventStream + its parser; the buffer row is one part of it
        row["sdk"] = str(row["name"]).startswith("botocore: EventStream +")
        if not str(row["name"]).startswith("ours"):  # they yield payloads, not canonical events
            row.pop("events_per_s")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mb", type=float, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--chunk-size", type=int, default=65536)
    args = parser.parse_args()
    rows = run(args.size_mb, args.repeats, args.chunk_size)
    first = rows[0]
    print(
        f"Bedrock ConverseStream body from our encoder: {first['mb']} MB, {args.chunk_size}-byte chunks, "
        f"median of {args.repeats}"
    )
    print(f"{'contender':<72} {'MB/s':>8} {'msgs/s':>10} {'outputs/s':>11}")
    for r in rows:
        rates = f"{r['mb_per_s']:>8,.1f} {r['messages_per_s']:>10,.0f} {r.get('events_per_s', 0):>11,.0f}"
        print(f"{r['name']!s:<72} {rates}")
    print("(outputs: canonical events for ours; 0 for the others, which yield payloads)")


if __name__ == "__main__":
    main()
