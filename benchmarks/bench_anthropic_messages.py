"""Benchmark: decoding an Anthropic Messages stream, ours against the anthropic SDK.  I/O: prints a table.

Builds one deterministic Anthropic response of at least ``size_mb`` MB with this
project's encoder (default knobs: padded payloads, pings, the empty first
``input_json_delta``): a repeating mix of thinking (deltas + signature), text (short
deltas, ASCII, accents, CJK, emoji) and tool calls (arguments in ~20-byte
fragments).  The body is fed in ``chunk_size`` chunks; each row is the median of
``repeats`` timed runs after one warm-up (``time.perf_counter``), in MB/s (1 MB =
10**6 bytes) and vendor events/s (SSE events, pings included):

* ``floor``: the least any decoder does, defined alike for every API: the joined body
  split at its blank lines (``bytes.split``), every ``data:`` payload decoded from UTF-8
  and parsed by json's C scanner (what ``json.loads`` calls; the reference decoders call
  it directly too) -- no framing objects, no canonical events, nothing checked;
* ``framing + JSON``: our SSE decoder over the chunks plus the same JSON parse of every
  payload (the floor plus a correct, chunk-proof framing);
* ``ours``: the ``anthropic/messages`` reference decoder, chunks in, canonical events out;
* ``anthropic SDK raw``: ``anthropic._streaming.SSEDecoder.iter_bytes`` over the chunks,
  then what ``Stream.__stream__`` does per event (skip ``ping``, ``sse.json()``,
  ``construct_type`` into ``RawMessageStreamEvent``), when the SDK is installed;
* ``anthropic SDK MessageStream``: the same plus ``accumulate_event`` and
  ``build_events`` (the message snapshot, text/thinking/input_json events), as
  ``client.messages.stream()`` does; timed on the first ``SLOW_LIMIT_MB`` MB only
  (it is the slowest by far).

``produced`` is what each contender yields: payloads, canonical events, SDK events.

Run: ``python benchmarks/bench_anthropic_messages.py [--size-mb 50] [--repeats 5] [--chunk-size 65536]``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

from benchmarks._harness import MB, SCAN, fixed_chunks
from conformance.events import FinishReason
from conformance.framing.sse import SSEDecoder
from conformance.vendors._builder import ResponseBuilder
from conformance.vendors.anthropic_messages import CODEC

_WORDS = (
    "Hello",
    " world",
    ",",
    " the",
    " quick brown fox",
    " café",
    " naïve",
    " Größe",
    " 你好",
    "世界",
    " 日本語の",
    " 🙂",
    " 🚀✨",
    "\n\n",
    ' "quoted"',
    " 1234",
)


def _pieces(rng: random.Random, count: int) -> list[str]:
    return ["".join(rng.choices(_WORDS, k=rng.randint(1, 3))) for _ in range(count)]


def _unit(b: ResponseBuilder, rng: random.Random, key: int) -> int:
    """One thinking block, one text block and one tool call; returns the next key."""
    b.open(key, "reasoning")
    for piece in _pieces(rng, 20):
        b.delta(key, piece)
    b.end(key, signature="EuYBCkQIBxgCKkB" + "x" * 200)
    b.open(key + 1, "text")
    for piece in _pieces(rng, 60):
        b.delta(key + 1, piece)
    b.end(key + 1)
    arguments = json.dumps(
        {"query": "".join(_pieces(rng, 12)), "limit": rng.randint(1, 99)}, ensure_ascii=False
    )
    b.open(key + 2, "tool_call", id=f"toolu_{key:020d}", name="search")
    for start in range(0, len(arguments), 20):
        b.delta(key + 2, arguments[start : start + 20])
    b.end(key + 2)
    return key + 3


def build_body(size_mb: float, *, seed: int = 0) -> bytes:
    """An encoded Anthropic response of at least ``size_mb`` MB (one message)."""
    rng = random.Random(seed)
    b = ResponseBuilder()
    b.start(response_id="msg_01BenchmarkBenchmarkBench", model="claude-sonnet-4-5-20250929")
    b.usage(input_tokens=2479, output_tokens=1, cache_read=0, cache_write=0)
    unit_size = len(CODEC.encode(_sample_unit(seed)))
    key = 0
    for _ in range(max(1, int(size_mb * MB / unit_size) + 1)):
        key = _unit(b, rng, key)
    b.usage(output_tokens=key * 40)
    b.finish(FinishReason.TOOL_CALLS, "tool_use")
    return CODEC.encode(b.take())


def _sample_unit(seed: int) -> list[Any]:
    b = ResponseBuilder()
    _unit(b, random.Random(seed), 0)
    b.finish(FinishReason.TOOL_CALLS, "tool_use")
    return b.take()


def _floor(body: bytes, chunks: list[bytes]) -> int:
    scan = SCAN
    n = 0
    for event in b"".join(chunks).split(b"\n\n"):
        at = event.find(b"data: ")
        if at >= 0:
            scan(event[at + 6 :].decode(), 0)
            n += 1
    return n


def _framing(body: bytes, chunks: list[bytes]) -> int:
    decoder = SSEDecoder(eof="dispatch")
    n = 0
    scan = SCAN
    for chunk in chunks:
        for message in decoder.feed(chunk):
            scan(message.data, 0)  # type: ignore[union-attr]
            n += 1
    for message in decoder.close():
        scan(message.data, 0)  # type: ignore[union-attr]
        n += 1
    return n


def _ours(body: bytes, chunks: list[bytes]) -> int:
    decoder = CODEC.new_decoder()
    n = 0
    for chunk in chunks:
        n += len(decoder.feed(chunk))
    return n + len(decoder.close())


def _sdk_rows() -> list[tuple[str, Callable[[bytes, list[bytes]], int]]]:
    try:
        from anthropic._models import construct_type
        from anthropic._streaming import SSEDecoder as SDKDecoder
        from anthropic.lib.streaming._messages import accumulate_event, build_events
        from anthropic.types import RawMessageStreamEvent
    except ImportError:
        return []

    def events(chunks: list[bytes]) -> Iterator[Any]:
        for sse in SDKDecoder().iter_bytes(iter(chunks)):
            if sse.event == "ping" or sse.event is None or not sse.data:
                continue
            yield construct_type(type_=RawMessageStreamEvent, value=sse.json())

    def raw(body: bytes, chunks: list[bytes]) -> int:
        return sum(1 for _ in events(chunks))

    def accumulated(body: bytes, chunks: list[bytes]) -> int:
        snapshot = None
        json_bufs: dict[int, bytes] = {}
        n = 0
        for event in events(chunks):
            snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=json_bufs)
            n += len(build_events(event=event, message_snapshot=snapshot))
        return n

    return [
        ("anthropic SDK raw: SSEDecoder.iter_bytes + construct_type(RawMessageStreamEvent)", raw),
        ("anthropic SDK MessageStream: raw + accumulate_event + build_events", accumulated),
    ]


def _time(
    fn: Callable[[bytes, list[bytes]], int], body: bytes, chunk_size: int, repeats: int
) -> tuple[float, int]:
    """Median seconds of ``repeats`` runs after a warm-up on the first MB (whole events
    only); and what a run produced."""
    warm = body[: body.rfind(b"\n\n", 0, MB) + 2]
    fn(warm, fixed_chunks(warm, chunk_size))
    chunks = fixed_chunks(body, chunk_size)
    times = []
    produced = 0
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        produced = fn(body, chunks)
        times.append(time.perf_counter() - start)
    return statistics.median(times), produced


#: The slowest contender is timed on at most this many MB (whole events) of the body,
#: so that a default run stays within a few minutes; MB/s is per byte it decoded.
SLOW_LIMIT_MB = 10


def _prefix(body: bytes, size_mb: float) -> bytes:
    """The body up to the last event boundary within ``size_mb`` MB (all of it if shorter)."""
    limit = int(size_mb * MB)
    return body if len(body) <= limit else body[: body.rfind(b"\n\n", 0, limit) + 2]


def run(size_mb: float = 50, repeats: int = 5, chunk_size: int = 65536) -> list[dict[str, object]]:
    """Time every decoder on the same body; one row per decoder."""
    body = build_body(size_mb)
    sdk = _sdk_rows()
    contenders: list[tuple[str, Callable[[bytes, list[bytes]], int], bytes]] = [
        ("floor: split + json's C scanner", _floor, body),
        (f"framing + JSON: our SSEDecoder + json's C scanner [{chunk_size} B chunks]", _framing, body),
        (f"ours: anthropic/messages decoder [{chunk_size} B chunks]", _ours, body),
        *((name, fn, body) for name, fn in sdk[:1]),
        *((f"{name} (first {SLOW_LIMIT_MB} MB)", fn, _prefix(body, SLOW_LIMIT_MB)) for name, fn in sdk[1:]),
    ]
    rows: list[dict[str, object]] = []
    for name, fn, data in contenders:
        seconds, produced = _time(fn, data, chunk_size, repeats)
        vendor_events = sum(1 for e in data.split(b"\n\n") if b"data: " in e)
        rows.append(
            {
                "name": name,
                "mb_per_s": round(len(data) / MB / seconds, 1),
                "messages_per_s": round(vendor_events / seconds),
                "bytes": len(data),
                "vendor_events": vendor_events,
                "produced": produced,
                "seconds": round(seconds, 3),
            }
        )
        if name.startswith("ours"):  # canonical events; the others yield payloads or SDK events
            rows[-1]["events_per_s"] = round(produced / seconds)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size-mb", type=float, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--chunk-size", type=int, default=65536)
    args = parser.parse_args()
    rows = run(args.size_mb, args.repeats, args.chunk_size)
    print("| decoder | MB/s | vendor events/s | produced | s |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        cells = (
            r["name"],
            f"{r['mb_per_s']:,}",
            f"{r['messages_per_s']:,}",
            f"{r['produced']:,}",
            r["seconds"],
        )
        print("| " + " | ".join(map(str, cells)) + " |")


if __name__ == "__main__":
    main()
