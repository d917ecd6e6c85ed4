"""Benchmark: the Cohere v2 Chat reference decoder against the floor.  I/O: prints a table.

Builds one long synthetic Cohere response with the codec's own encoder (default knobs):
repeated turns of a thinking block, a text answer with a citation, then a tool plan and
two tool calls with JSON arguments -- text mixes ASCII, Latin-1, CJK and emoji -- and feeds
it in ``chunk_size`` chunks.  Rows (median of ``repeats`` timed runs after one warm-up):

* floor: the least any decoder does, defined alike for every API: the joined body split
  at its blank lines (``bytes.split``), every ``data:`` JSON payload decoded from UTF-8 and
  parsed by json's C scanner (what ``json.loads`` calls; the reference decoders call it
  directly too) -- no framing objects, no canonical events, nothing checked;
* framing + JSON: our incremental SSE decoder over the same chunks plus the same JSON
  parse (the floor plus a correct, chunk-proof framing);
* ours: ``cohere/chat``'s reference decoder, wire bytes to canonical events;
* the cohere SDK's own stream parsing is not measured: the ``cohere`` package is not
  installed here (it is heavy); its SSE layer (``core/http_sse``) does the same work as
  the floor plus pydantic models per event.

``mb_per_s`` counts wire bytes (1 MB = 10**6 bytes); ``messages_per_s`` counts SSE events;
``events_per_s`` counts canonical events (ours only).

Run: ``python benchmarks/bench_cohere_chat.py [--size-mb 50] [--repeats 5] [--chunk-size 65536]``.
"""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING

from benchmarks._harness import MB, SCAN, fixed_chunks, measure_row, print_rows
from conformance.events import Event, FinishReason
from conformance.framing.sse import SSEDecoder
from conformance.vendors._builder import ResponseBuilder
from conformance.vendors.cohere_chat import CODEC

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

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
    "\n",
    ' "q"',
    " 1234",
)


def build_body(size_mb: float, *, seed: int = 0) -> tuple[bytes, int]:
    """A synthetic Cohere response of at least ``size_mb`` MB and its number of SSE events."""
    rng = random.Random(seed)
    target = int(size_mb * MB)
    b = ResponseBuilder()
    b.start(response_id="3ec845ed-ebb1-4223-9648-4e5632d5c6b5")
    block = 0
    size = 0  # rough wire size: ~110 bytes of framing per delta

    def words(n: int) -> list[str]:
        return ["".join(rng.choices(_WORDS, k=rng.randint(1, 3))) for _ in range(n)]

    events: list[Event] = []
    while size < target:
        for kind, count in (("reasoning", 40), ("text", 120)):
            b.open(block, kind)
            for part in words(count):
                b.delta(block, part)
                size += 110 + len(part.encode())
            b.end(block)
            block += 1
        b.open(block, "citation", data={"start": 0, "end": 5, "text": "quick", "sources": [{"id": "doc:0"}]})
        b.end(block)
        b.open(block + 1, "reasoning")  # the tool plan
        for part in words(20):
            b.delta(block + 1, part)
            size += 90 + len(part.encode())
        b.end(block + 1)
        block += 2
        for _ in range(2):
            args = json.dumps({"city": rng.choice(["Zürich", "東京", "Paris"]), "days": rng.randint(1, 9)})
            b.open(block, "tool_call", id=f"get_weather_{block:012d}", name="get_weather")
            for i in range(0, len(args), 4):
                b.delta(block, args[i : i + 4])
                size += 120
            b.end(block)
            block += 1
        events.extend(b.take())
    b.usage(input_tokens=906, output_tokens=block * 50, cache_read=512)
    b.finish(FinishReason.TOOL_CALLS, "TOOL_CALL")
    events.extend(b.take())
    body = CODEC.encode(events)
    return body, body.count(b"\n\n")


def _floor(chunks: Sequence[bytes]) -> tuple[int, int]:
    scan = SCAN
    count = 0
    for event in b"".join(chunks).split(b"\n\n"):
        at = event.find(b"data: ")
        if at >= 0:
            if event.startswith(b"{", at + 6):  # not [DONE]
                scan(event[at + 6 :].decode(), 0)
            count += 1
    return count, 0


def _framing(chunks: Sequence[bytes]) -> tuple[int, int]:
    decoder = SSEDecoder()
    scan = SCAN
    count = 0
    for chunk in chunks:
        for message in decoder.feed(chunk):
            data = message.data  # type: ignore[union-attr]
            if data[:1] == "{":
                scan(data, 0)
            count += 1
    return count + len(decoder.close()), 0


def _ours(chunks: Sequence[bytes]) -> tuple[int, int]:
    decoder = CODEC.new_decoder()
    events = 0
    for chunk in chunks:
        events += len(decoder.feed(chunk))
    return -1, events + len(decoder.close())


def run(size_mb: float = 50, repeats: int = 5, chunk_size: int = 65536) -> list[dict[str, object]]:
    """Time the floor and our decoder on the synthetic body; one dict per table row."""
    body, messages = build_body(size_mb)
    chunks = fixed_chunks(body, chunk_size)
    runners: list[tuple[str, Callable[[Sequence[bytes]], tuple[int, int]]]] = [
        ("floor: split + json's C scanner", _floor),
        ("framing + JSON: our SSEDecoder + json's C scanner", _framing),
        ("ours: cohere/chat decoder", _ours),
    ]
    rows = [
        measure_row(f"{name} [{chunk_size} B chunks]", r, chunks, repeats, messages) for name, r in runners
    ]
    rows.append(
        {"name": "cohere SDK: not installed (heavy); not measured", "mb_per_s": None, "messages_per_s": None}
    )
    return rows


def main() -> None:
    print_rows(run, __doc__)


if __name__ == "__main__":
    main()
