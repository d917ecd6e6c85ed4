"""Benchmark: AWS eventstream decoding speed, ours against botocore.  I/O: prints a table.

Builds a deterministic synthetic Bedrock ConverseStream body (``messageStart``, text
``contentBlockDelta`` frames with ~200-byte JSON payloads carrying a random-length ``"p"``
padding field like the recorded streams, ``contentBlockStop``, ``messageStop``,
``metadata``) and reports the median of ``repeats`` timed runs after one warm-up:

* throughput, body fed in ``chunk_size`` chunks: the floor ``zlib.crc32(body)``, our
  :class:`~conformance.framing.eventstream.EventStreamDecoder`, and botocore's
  ``EventStreamBuffer`` (``add_data`` + iterate) when botocore is importable; then ours
  and botocore again on a body whose header blocks all differ (a ``:date`` header per
  frame), which defeats our decoder's header cache;
* linearity, body fed as ONE chunk (what an HTTP replay does) at growing sizes: ours
  should keep its MB/s, botocore's ``EventStreamBuffer`` re-slices its buffer after every
  frame and so slows down as the body grows (quadratic).

Run: ``python benchmarks/bench_eventstream.py [--size-mb 21] [--repeats 5] [--chunk-size 65536]``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import string
import time
import zlib
from typing import TYPE_CHECKING

from benchmarks._harness import MB, fixed_chunks
from conformance.framing.eventstream import EventStreamDecoder, encode_message
from conformance.framing.eventstream import encode_event as encode_plain_event
from conformance.framing.messages import EventStreamHeader, HeaderType

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

_PADDING = string.ascii_lowercase + string.ascii_uppercase + string.digits
_WORDS = [
    *("the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "streaming", "tokens"),
    *("arrive", "in", "small", "frames", "each", "carrying", "one", "delta", "of", "text", "to", "render"),
]
ONE_CHUNK_SIZES_BOTH = (0.25, 0.5, 1.0, 2.0)
ONE_CHUNK_SIZES_OURS_ONLY = (4.0, 8.0)


def _payload(rng: random.Random, fields: dict[str, object]) -> bytes:
    fields = {**fields, "p": _PADDING[: rng.randint(1, len(_PADDING))]}
    return json.dumps(fields, separators=(",", ":"), sort_keys=True).encode()


def build_body(size_mb: float, *, seed: int = 0, vary_headers: bool = False) -> tuple[bytes, int]:
    """A synthetic ConverseStream body of at least ``size_mb`` MB and its frame count.

    ``vary_headers`` adds a ``:date`` timestamp header that changes on every frame, so
    no two header blocks are alike (the decoder's header cache never hits).
    """
    rng = random.Random(seed)
    target = int(size_mb * MB)
    clock = iter(range(1_700_000_000_000, 2**62))

    def encode_event(event_type: str, payload: bytes) -> bytes:
        if not vary_headers:
            return encode_plain_event(event_type, payload)
        date = EventStreamHeader(name=":date", type=HeaderType.TIMESTAMP, value=next(clock))
        return encode_message([*_event_headers(event_type), date], payload)

    frames = [encode_event("messageStart", _payload(rng, {"role": "assistant"}))]
    size = len(frames[0])
    block = 0
    while size < target:
        for _ in range(50):
            text = " ".join(rng.choices(_WORDS, k=rng.randint(12, 22)))
            delta = {"contentBlockIndex": block, "delta": {"text": text}}
            frames.append(encode_event("contentBlockDelta", _payload(rng, delta)))
            size += len(frames[-1])
        frames.append(encode_event("contentBlockStop", _payload(rng, {"contentBlockIndex": block})))
        size += len(frames[-1])
        block += 1
    frames.append(encode_event("messageStop", _payload(rng, {"stopReason": "end_turn"})))
    usage: dict[str, object] = {
        "usage": {"inputTokens": 471, "outputTokens": 91, "totalTokens": 562},
        "metrics": {"latencyMs": 422},
    }
    frames.append(encode_event("metadata", _payload(rng, usage)))
    return b"".join(frames), len(frames)


def _event_headers(event_type: str) -> list[EventStreamHeader]:
    values = ((":event-type", event_type), (":content-type", "application/json"), (":message-type", "event"))
    return [EventStreamHeader(name=n, type=HeaderType.STRING, value=v) for n, v in values]


def _ours(chunks: Sequence[bytes]) -> int:
    decoder = EventStreamDecoder()
    count = 0
    for chunk in chunks:
        count += len(decoder.feed(chunk))
    return count + len(decoder.close())


def _botocore_runner() -> Callable[[Sequence[bytes]], int] | None:
    try:
        from botocore.eventstream import EventStreamBuffer
    except ImportError:
        return None

    def run_botocore(chunks: Sequence[bytes]) -> int:
        buffer = EventStreamBuffer()
        count = 0
        for chunk in chunks:
            buffer.add_data(chunk)
            for _message in buffer:
                count += 1
        return count

    return run_botocore


def _floor(chunks: Sequence[bytes]) -> int:
    for chunk in chunks:
        zlib.crc32(chunk)
    return 0


def _measure(
    name: str, fn: Callable[[Sequence[bytes]], int], chunks: Sequence[bytes], frames: int, repeats: int
) -> dict[str, object]:
    size = sum(len(c) for c in chunks)
    got = fn(chunks)  # warm-up, and a correctness check
    if fn is not _floor and got != frames:
        raise RuntimeError(f"{name} decoded {got} frames, expected {frames}")
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
        "frames": frames,
        "frames_per_s": frames / seconds,
    }


def run(size_mb: float = 21, repeats: int = 5, chunk_size: int = 65536) -> list[dict[str, object]]:
    """Every benchmark row; ``table`` is ``"chunked"`` or ``"one-chunk"``."""
    botocore = _botocore_runner()
    rows: list[dict[str, object]] = []
    body, frames = build_body(size_mb)
    chunks = fixed_chunks(body, chunk_size)
    contenders: list[tuple[str, Callable[[Sequence[bytes]], int]]] = [
        ("floor: zlib.crc32(body)", _floor),
        ("ours: EventStreamDecoder", _ours),
    ]
    if botocore is not None:
        contenders.append(("botocore: EventStreamBuffer", botocore))
    for name, fn in contenders:
        row = _measure(name, fn, chunks, frames, repeats)
        rows.append({"table": "chunked", "chunk_size": chunk_size, **row})
    body, frames = build_body(size_mb, vary_headers=True)
    chunks = fixed_chunks(body, chunk_size)
    for name, fn in contenders[1:]:
        row = _measure(f"{name} (+ :date per frame)", fn, chunks, frames, repeats)
        rows.append({"table": "chunked", "chunk_size": chunk_size, **row})
    for mb in (*ONE_CHUNK_SIZES_BOTH, *ONE_CHUNK_SIZES_OURS_ONLY):
        one_body, one_frames = build_body(mb, seed=1)
        one = [one_body]
        row = _measure("ours: EventStreamDecoder", _ours, one, one_frames, repeats)
        rows.append({"table": "one-chunk", **row})
        if botocore is not None and mb in ONE_CHUNK_SIZES_BOTH:
            row = _measure("botocore: EventStreamBuffer", botocore, one, one_frames, repeats)
            rows.append({"table": "one-chunk", **row})
    return rows


def _print(rows: Sequence[dict[str, object]], repeats: int) -> None:
    chunked = [r for r in rows if r["table"] == "chunked"]
    if chunked:
        first = chunked[0]
        print(
            f"Synthetic Bedrock ConverseStream body: {first['mb']} MB, {first['frames']:,} frames, "
            f"{first['chunk_size']}-byte chunks, median of {repeats}"
        )
        print(f"{'decoder':<48} {'MB/s':>10} {'frames/s':>12}")
        for r in chunked:
            print(f"{r['name']!s:<48} {r['mb_per_s']:>10,.1f} {r['frames_per_s']:>12,.0f}")
    print("\nWhole body fed as ONE chunk (linear: MB/s stays flat; quadratic: seconds x4 per doubling)")
    print(f"{'decoder':<32} {'MB':>6} {'seconds':>9} {'MB/s':>8}")
    for r in rows:
        if r["table"] == "one-chunk":
            print(f"{r['name']!s:<32} {r['mb']!s:>6} {r['seconds']:>9.3f} {r['mb_per_s']:>8,.1f}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mb", type=float, default=21)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--chunk-size", type=int, default=65536)
    args = parser.parse_args(argv)
    _print(run(args.size_mb, args.repeats, args.chunk_size), args.repeats)


if __name__ == "__main__":
    main()
