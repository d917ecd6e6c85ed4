"""Benchmark: SSE decoding speed, ours against httpx-sse and openai.  I/O: prints a table.

Builds a deterministic OpenAI chat-completion-chunk-like SSE body (``data: {...}\\n\\n``
events whose ``delta.content`` mixes ASCII, Latin-1, CJK and emoji, written as raw
UTF-8; ``data: [DONE]`` last) and reports the median of ``repeats`` timed runs after one
warm-up, in MB/s (1 MB = 10**6 bytes) and events/s:

* body fed in ``chunk_size`` chunks: the floor ``body.split(b"\\n\\n")``, our
  :class:`~conformance.framing.sse.SSEDecoder`, httpx-sse (incremental UTF-8 decode,
  ``SSELineDecoder`` then ``SSEDecoder``: the pipeline behind ``iter_sse``) and openai's
  ``SSEDecoder().iter_bytes``, each when importable;
* linearity: our decoder with the whole body fed as ONE chunk.

Every row must count the same number of events (checked).

Run: ``python benchmarks/bench_sse.py [--size-mb 50] [--repeats 5] [--chunk-size 65536]``.
"""

from __future__ import annotations

import argparse
import codecs
import json
import random
import statistics
import time
from typing import TYPE_CHECKING

from benchmarks._harness import MB, fixed_chunks
from conformance.framing.sse import SSEDecoder

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

_DELTAS = (
    "Hello",
    " world",
    ",",
    " the",
    " quick brown fox",
    " jumps over",
    " café",
    " naïve",
    " Größe",
    " déjà vu",
    " 你好",
    "世界",
    " 日本語の",
    "テキスト",
    " 🙂",
    " 🚀✨",
    " 👩\u200d💻",
    "\n\n",
    ' "quoted"',
    " 1234",
)


def build_body(size_mb: float, *, seed: int = 0) -> tuple[bytes, int]:
    """A synthetic chat-completion SSE body of at least ``size_mb`` MB and its event count."""
    rng = random.Random(seed)
    target = int(size_mb * MB)
    head = {
        "id": "chatcmpl-AbCdEfGhIjKlMnOpQrStUvWxYz012",
        "object": "chat.completion.chunk",
        "created": 1730000000,
        "model": "gpt-4o-2024-08-06",
        "system_fingerprint": "fp_0123456789",
    }
    events: list[bytes] = []
    size = 0
    while size < target:
        delta = "".join(rng.choices(_DELTAS, k=rng.randint(1, 4)))
        chunk = {
            **head,
            "choices": [{"index": 0, "delta": {"content": delta}, "logprobs": None, "finish_reason": None}],
        }
        event = b"data: " + json.dumps(chunk, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"
        events.append(event)
        size += len(event)
    events.append(b"data: [DONE]\n\n")
    return b"".join(events), len(events)


def _floor(chunks: Sequence[bytes]) -> int:
    body = b"".join(chunks) if len(chunks) != 1 else chunks[0]
    return len(body.split(b"\n\n")) - 1


def _ours(chunks: Sequence[bytes]) -> int:
    decoder = SSEDecoder()
    count = 0
    for chunk in chunks:
        count += len(decoder.feed(chunk))
    return count + len(decoder.close())


def _httpx_sse_runner() -> Callable[[Sequence[bytes]], int] | None:
    try:
        from httpx_sse._decoders import SSEDecoder as HttpxSSEDecoder
        from httpx_sse._decoders import SSELineDecoder
    except ImportError:
        return None

    def run(chunks: Sequence[bytes]) -> int:
        # What ``EventSource.iter_sse`` does with ``response.iter_text()``.
        text_decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        lines = SSELineDecoder()
        decoder = HttpxSSEDecoder()
        count = 0
        for chunk in chunks:
            for line in lines.decode(text_decoder.decode(chunk)):
                if decoder.decode(line.rstrip("\n")) is not None:
                    count += 1
        tail = text_decoder.decode(b"", True)
        for line in [*(lines.decode(tail) if tail else []), *lines.flush()]:
            if decoder.decode(line.rstrip("\n")) is not None:
                count += 1
        return count

    return run


def _openai_runner() -> Callable[[Sequence[bytes]], int] | None:
    try:
        from openai._streaming import SSEDecoder as OpenAISSEDecoder
    except ImportError:
        return None

    def run(chunks: Sequence[bytes]) -> int:
        return sum(1 for _ in OpenAISSEDecoder().iter_bytes(iter(chunks)))

    return run


def _measure(
    name: str, runner: Callable[[Sequence[bytes]], int], chunks: Sequence[bytes], repeats: int
) -> dict[str, object]:
    size = sum(map(len, chunks))
    events = runner(chunks)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        got = runner(chunks)
        times.append(time.perf_counter() - start)
        assert got == events, f"{name}: {got} events, then {events}"
    median = statistics.median(times)
    return {
        "name": name,
        "mb_per_s": round(size / MB / median, 1),
        "events_per_s": round(events / median),
        "events": events,
    }


def run(size_mb: float = 50, repeats: int = 5, chunk_size: int = 65536) -> list[dict[str, object]]:
    """Time every decoder on the synthetic body; one dict per table row."""
    body, expected = build_body(size_mb)
    chunks = fixed_chunks(body, chunk_size)
    runners: list[tuple[str, Callable[[Sequence[bytes]], int] | None]] = [
        ("floor: body.split(b'\\n\\n')", _floor),
        ("ours: SSEDecoder", _ours),
        ("httpx-sse: SSELineDecoder+SSEDecoder", _httpx_sse_runner()),
        ("openai: SSEDecoder.iter_bytes", _openai_runner()),
    ]
    rows = [
        _measure(f"{name} [{chunk_size} B chunks]", runner, chunks, repeats)
        for name, runner in runners
        if runner is not None
    ]
    rows.append(_measure("ours: SSEDecoder [one chunk]", _ours, [body], repeats))
    for row in rows:
        assert row["events"] == expected, f"{row['name']} counted {row['events']} events, not {expected}"
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mb", type=float, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--chunk-size", type=int, default=65536)
    args = parser.parse_args()
    rows = run(args.size_mb, args.repeats, args.chunk_size)
    width = max(len(str(r["name"])) for r in rows)
    print(f"{'decoder':<{width}}  {'MB/s':>8}  {'events/s':>10}  {'events':>8}")
    for r in rows:
        print(f"{r['name']!s:<{width}}  {r['mb_per_s']:>8}  {r['events_per_s']:>10}  {r['events']:>8}")


if __name__ == "__main__":
    main()
