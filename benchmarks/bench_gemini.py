"""Benchmark: the Gemini reference decoder against google-genai's own stream handling.  I/O: prints a table.

Builds a deterministic ``streamGenerateContent`` body with our encoder (default knobs:
``alt=sse``, CRLF, usage on every chunk): a response alternating reasoning (thought
parts), answer text and whole function calls, ~300-byte chunks like the recordings.
Fed in ``chunk_size`` chunks; the median of ``repeats`` timed runs after one warm-up:

* ``floor``: the least any decoder does, defined alike for every API: the joined body
  split at its blank lines (``bytes.split`` on CRLF CRLF, Gemini's line end), every
  ``data:`` payload decoded from UTF-8 and parsed by json's C scanner (what
  ``json.loads`` calls; the reference decoders call it directly too) -- no framing
  objects, no canonical events, nothing checked;
* ``framing + JSON``: our incremental SSE decoder over the same chunks plus the same
  JSON parse (the floor plus a correct, chunk-proof framing);
* ``ours (sse)``: the reference decoder, wire bytes to canonical events;
* ``ours (json-array)``: a response in the streamed JSON-array framing (at most
  ``SLOW_ROW_MB``: the shared JSON-array framing decoder is the slow part);
* ``google-genai lines+json``: the SDK's own line reader and brace-balanced payload
  splitter (``HttpResponse.segments`` over an ``httpx.Response``), when installed;
* ``google-genai full``: that plus what ``models.generate_content_stream`` does to every
  payload (the error check's ``json.dumps``/``json.loads`` round, the mldev converter,
  ``GenerateContentResponse._from_response``), on the first ``SLOW_ROW_MB`` of the body.

Run: ``python benchmarks/bench_gemini.py [--size-mb 50] [--repeats 5] [--chunk-size 65536]``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from typing import TYPE_CHECKING, Any

from benchmarks._harness import MB, SCAN, fixed_chunks
from conformance.events import (
    BlockDelta,
    BlockEnd,
    BlockStart,
    Event,
    Finish,
    FinishReason,
    ResponseStart,
    Usage,
)
from conformance.framing.sse import SSEDecoder
from conformance.vendors.gemini import CODEC, Knobs

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

#: The JSON-array row and the SDK's full pipeline (both slow) read at most this many MB.
SLOW_ROW_MB = 8.0
_WORDS = (
    *("the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "streaming", "tokens"),
    *("arrive", "in", "small", "chunks", "each", "carrying", "one", "part", "of", "text", "to", "render"),
    *("—", "naïve", "café", "😀", "日本語"),
)


def build_sequence(size_mb: float, *, seed: int = 0) -> list[Event]:
    """A canonical response whose Gemini SSE encoding is at least ``size_mb`` MB."""
    rng = random.Random(seed)
    events: list[Event] = [ResponseStart(response_id="n1P6abvRFaKdz7IPkcuQ2Aw", model="gemini-2.5-pro")]
    key = 0
    approx = 0
    output = 0
    while approx < size_mb * MB:
        for kind, deltas in (("reasoning", 10), ("text", 30)):
            events.append(BlockStart(block=key, kind=kind))
            for _ in range(deltas):
                text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 14)))
                events.append(BlockDelta(block=key, text=text))
                approx += 260 + len(text.encode())
                output += 8
            events.append(BlockEnd(block=key, signature="CiIB0e2Kb6Sy" if kind == "text" else None))
            key += 1
            events.append(Usage(input_tokens=34, output_tokens=output, reasoning_tokens=output // 4))
        args = json.dumps(
            {"city": rng.choice(_WORDS), "days": rng.randint(1, 9), "units": ["c", "f"]},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        events += [
            BlockStart(block=key, kind="tool_call", id=f"c{key}", name="get_weather"),
            BlockDelta(block=key, text=args),
            BlockEnd(block=key, arguments_raw=args, arguments=json.loads(args)),
        ]
        key += 1
        approx += 300 + len(args)
    events.append(Finish(reason=FinishReason.TOOL_CALLS, raw_reason="STOP"))
    return events


def _ours(framing: str) -> Callable[[Sequence[bytes]], int]:
    def run(chunks: Sequence[bytes]) -> int:
        decoder = CODEC.new_decoder(framing=framing)
        count = 0
        for chunk in chunks:
            count += len(decoder.feed(chunk))
        return count + len(decoder.close())

    return run


def _floor(chunks: Sequence[bytes]) -> int:
    scan = SCAN
    count = 0
    for event in b"".join(chunks).split(b"\r\n\r\n"):
        at = event.find(b"data: ")
        if at >= 0:
            scan(event[at + 6 :].decode(), 0)
            count += 1
    return count


def _framing(chunks: Sequence[bytes]) -> int:
    decoder = SSEDecoder()
    count = 0
    scan = SCAN
    for chunk in chunks:
        for message in decoder.feed(chunk):
            scan(message.data, 0)  # type: ignore[union-attr]
            count += 1
    return count


def _genai_runners() -> dict[str, Callable[[Sequence[bytes]], int]]:
    """The SDK's stream handling, if google-genai (and httpx) are importable."""
    try:
        import httpx
        from google.genai import _api_client, types
        from google.genai.models import _GenerateContentResponse_from_mldev
    except ImportError:
        return {}

    def segments(chunks: Sequence[bytes]) -> Iterator[Any]:
        body = httpx.Response(200, content=iter(chunks))
        return _api_client.HttpResponse(headers={}, response_stream=body).segments()

    def lines_json(chunks: Sequence[bytes]) -> int:
        return sum(1 for _ in segments(chunks))

    def full(chunks: Sequence[bytes]) -> int:
        count = 0
        for chunk in segments(chunks):
            dump = json.dumps(chunk)  # request_streamed: the error check
            if dump.startswith('{"error":'):
                raise RuntimeError(dump)
            converted = _GenerateContentResponse_from_mldev(json.loads(dump), None, None)
            types.GenerateContentResponse._from_response(response=converted, kwargs={})
            count += 1
        return count

    return {"google-genai lines+json": lines_json, "google-genai full": full}


def _measure(
    name: str, run: Callable[[Sequence[bytes]], int], chunks: Sequence[bytes], size: int, repeats: int
) -> dict[str, object]:
    run(chunks)  # warm-up
    times = []
    count = 0
    for _ in range(repeats):
        start = time.perf_counter()
        count = run(chunks)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {
        "name": name,
        "mb_per_s": round(size / MB / median, 1),
        "events_per_s": round(count / median),
        "count": count,
        "seconds": round(median, 3),
    }


def run(size_mb: float = 50, repeats: int = 5, chunk_size: int = 65536) -> list[dict[str, object]]:
    """Every row of the table (see the module docstring)."""
    sse = CODEC.encode(build_sequence(size_mb), Knobs())
    array = CODEC.encode(build_sequence(min(size_mb, SLOW_ROW_MB)), Knobs(framing="json-array"))
    sse_chunks, array_chunks = fixed_chunks(sse, chunk_size), fixed_chunks(array, chunk_size)
    # The slow rows read a complete, smaller stream of at most SLOW_ROW_MB (cut at an event
    # boundary: the SDK rejects a body sliced mid-event), to keep a run within minutes.
    small = CODEC.encode(build_sequence(min(size_mb, SLOW_ROW_MB)), Knobs())
    prefix, prefix_size = fixed_chunks(small, chunk_size), len(small)
    rows = [
        _measure("floor: split + json's C scanner", _floor, sse_chunks, len(sse), repeats),
        _measure(
            "framing + JSON: our SSEDecoder + json's C scanner", _framing, sse_chunks, len(sse), repeats
        ),
        _measure("ours (sse)", _ours("sse"), sse_chunks, len(sse), repeats),
        _measure("ours (json-array)", _ours("json-array"), array_chunks, len(array), repeats),
    ]
    rows[-1]["body_mb"] = round(len(array) / MB, 1)
    runners = _genai_runners()
    if not runners:
        rows.append({"name": "google-genai (not installed: skipped)", "mb_per_s": None, "events_per_s": None})
    for name, runner in runners.items():
        full = name.endswith("full")
        chunks, size = (prefix, prefix_size) if full else (sse_chunks, len(sse))
        rows.append(_measure(name, runner, chunks, size, repeats))
        rows[-1]["body_mb"] = round(size / MB, 1)
        rows[-1]["sdk"] = full  # generate_content_stream's path; lines+json is only its line reader
    for row in rows:
        row["chunk_size"] = chunk_size
        row.setdefault("body_mb", round(len(sse) / MB, 1))
        if not str(row["name"]).startswith("ours"):  # they count vendor payloads, not canonical events
            row["messages_per_s"] = row.pop("events_per_s")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size-mb", type=float, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--chunk-size", type=int, default=65536)
    args = parser.parse_args()
    rows = run(args.size_mb, args.repeats, args.chunk_size)
    print(f"{'decoder':<34} {'MB/s':>8} {'events|msgs/s':>14} {'count':>9} {'body MB':>8}")
    for row in rows:
        rate = row.get("events_per_s", row.get("messages_per_s"))
        print(
            f"{row['name']!s:<34} {row['mb_per_s']!s:>8} {rate!s:>14} "
            f"{row.get('count', '')!s:>9} {row['body_mb']!s:>8}"
        )
    print("(ours: canonical events/s; the others: payloads/s)")


if __name__ == "__main__":
    main()
