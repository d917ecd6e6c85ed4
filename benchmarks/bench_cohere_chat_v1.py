"""Benchmark: the Cohere v1 chat reference decoder against the floor.  I/O: prints a table.

Builds one long synthetic Cohere v1 response with the codec's own encoder (default
knobs): repeated turns of a text answer with a citation, then a tool plan and two tool
calls whose JSON arguments stream in ``tool-calls-chunk`` fragments and are restated by a
``tool-calls-generation`` -- text mixes ASCII, Latin-1, CJK and emoji -- and feeds it in
``chunk_size`` chunks.  Rows (median of ``repeats`` timed runs after one warm-up):

* floor: the least any decoder does, defined alike for every API: the joined body split
  at its line ends (``bytes.split``), every line decoded from UTF-8 and parsed by json's
  C scanner (what ``json.loads`` calls; the reference decoders call it directly too) --
  no line objects, no canonical events, nothing checked;
* framing + JSON: our incremental NDJSON decoder over the same chunks plus the same JSON
  parse (the floor plus a correct, chunk-proof framing);
* ours: ``cohere/chat-v1``'s reference decoder, wire bytes to canonical events;
* the cohere SDK's own stream parsing is not measured: the ``cohere`` package is not
  installed here (it is heavy); its v1 ``chat_stream`` reads ``iter_lines()`` and builds a
  pydantic model per line, the floor's work and more.

``mb_per_s`` counts wire bytes (1 MB = 10**6 bytes); ``messages_per_s`` counts NDJSON
lines; ``events_per_s`` counts canonical events (ours only).

Run: ``python benchmarks/bench_cohere_chat_v1.py [--size-mb 50] [--repeats 5] [--chunk-size 65536]``.
"""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING

from benchmarks._harness import MB, fixed_chunks, measure_row, ndjson_floor, ndjson_framing, print_rows
from conformance.events import Event, FinishReason
from conformance.vendors._builder import ResponseBuilder
from conformance.vendors.cohere_chat_v1 import CODEC

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
    """A synthetic Cohere v1 response of at least ``size_mb`` MB and its number of lines."""
    rng = random.Random(seed)
    target = int(size_mb * MB)
    b = ResponseBuilder()
    b.start(response_id="87a52a39-dd54-48fa-80cf-14385235c8bd")
    block = 0
    size = 0  # rough wire size: ~55 bytes of JSON around each text fragment

    def words(n: int) -> list[str]:
        return ["".join(rng.choices(_WORDS, k=rng.randint(1, 3))) for _ in range(n)]

    events: list[Event] = []
    while size < target:
        b.open(block, "text")
        for part in words(120):
            b.delta(block, part)
            size += 55 + len(part.encode())
        b.end(block)
        b.open(block + 1, "citation", data={"start": 0, "end": 5, "text": "quick", "document_ids": ["doc_0"]})
        b.end(block + 1)
        b.open(block + 2, "reasoning")  # the tool plan
        for part in words(20):
            b.delta(block + 2, part)
            size += 55 + len(part.encode())
        b.end(block + 2)
        block += 3
        for _ in range(2):
            args = json.dumps({"city": rng.choice(["Zürich", "東京", "Paris"]), "days": rng.randint(1, 9)})
            b.open(block, "tool_call", name="get_weather")
            for i in range(0, len(args), 4):
                b.delta(block, args[i : i + 4])
                size += 95
            b.end(block)
            block += 1
        events.extend(b.take())
    b.usage(input_tokens=949, output_tokens=block * 50)
    b.finish(FinishReason.TOOL_CALLS, "COMPLETE")
    events.extend(b.take())
    body = CODEC.encode(events)
    return body, body.count(b"\n")


_floor, _framing = ndjson_floor, ndjson_framing


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
        ("framing + JSON: our NDJSONDecoder + json's C scanner", _framing),
        ("ours: cohere/chat-v1 decoder", _ours),
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
