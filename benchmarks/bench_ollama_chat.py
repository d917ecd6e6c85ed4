"""Benchmark: the Ollama native reference decoder against the floor and the ollama SDK.  I/O: prints a table.

Builds one long synthetic ``/api/chat`` response with the codec's own encoder (default
knobs): repeated turns of thinking fragments, answer text and two complete tool calls --
text mixes ASCII, Latin-1, CJK and emoji -- and feeds it in ``chunk_size`` chunks.  Rows
(median of ``repeats`` timed runs after one warm-up):

* floor: the least any decoder does, defined alike for every API: the joined body split
  at its line ends (``bytes.split``), every line decoded from UTF-8 and parsed by json's
  C scanner (what ``json.loads`` calls; the reference decoders call it directly too) --
  no line objects, no canonical events, nothing checked;
* framing + JSON: our incremental NDJSON decoder over the same chunks plus the same JSON
  parse (the floor plus a correct, chunk-proof framing);
* ours: ``ollama/chat``'s reference decoder, wire bytes to canonical events;
* ollama SDK (when the ``ollama`` package is installed): ``Client.chat(stream=True)``
  over an ``httpx.MockTransport`` that streams the same chunks, i.e. the SDK's own
  ``httpx`` ``iter_lines`` + ``json.loads`` + pydantic ``ChatResponse`` per line.

``mb_per_s`` counts wire bytes (1 MB = 10**6 bytes); ``messages_per_s`` counts NDJSON
lines; ``events_per_s`` counts canonical events (ours only).

Run: ``python benchmarks/bench_ollama_chat.py [--size-mb 50] [--repeats 5] [--chunk-size 65536]``.
"""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING

from benchmarks._harness import MB, fixed_chunks, measure_row, ndjson_floor, ndjson_framing, print_rows
from conformance.events import Event, FinishReason
from conformance.vendors._builder import ResponseBuilder
from conformance.vendors.ollama_chat import CODEC

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

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
    """A synthetic Ollama chat response of at least ``size_mb`` MB and its number of lines."""
    rng = random.Random(seed)
    target = int(size_mb * MB)
    b = ResponseBuilder()
    b.start(model="qwen3:8b")
    block = 0
    size = 0  # rough wire size: ~125 bytes of JSON around each fragment

    def words(n: int) -> list[str]:
        return ["".join(rng.choices(_WORDS, k=rng.randint(1, 3))) for _ in range(n)]

    events: list[Event] = []
    while size < target:
        for kind, count in (("reasoning", 40), ("text", 120)):
            if block:
                b.end(block - 1)
            b.open(block, kind)
            for part in words(count):
                b.delta(block, part)
                size += 125 + len(part.encode())
            block += 1
        events.extend(b.take())
    calls = [{"city": "Zürich", "days": 3}, {"city": "東京", "units": ["metric", "°C"]}]
    for n, args in enumerate(calls, start=block):
        b.open(n, "tool_call", id=f"call_{n}", name="get_weather")
        b.delta(n, json.dumps(args, ensure_ascii=False, separators=(",", ":")))
        b.end(n)
    b.usage(input_tokens=906, output_tokens=block * 80)
    b.finish(FinishReason.TOOL_CALLS, "stop")
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


def _sdk_runner() -> Callable[[Sequence[bytes]], tuple[int, int]] | None:
    try:
        import httpx
        from ollama import Client
    except ImportError:
        return None

    class _Body(httpx.SyncByteStream):
        def __init__(self, chunks: Sequence[bytes]) -> None:
            self.chunks = chunks

        def __iter__(self) -> Iterator[bytes]:
            return iter(self.chunks)

    def run(chunks: Sequence[bytes]) -> tuple[int, int]:
        def respond(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, headers={"content-type": "application/x-ndjson"}, stream=_Body(chunks))

        client = Client(host="http://ollama.invalid", transport=httpx.MockTransport(respond))
        return sum(1 for _ in client.chat(model="qwen3:8b", messages=[], stream=True)), 0

    return run


def run(size_mb: float = 50, repeats: int = 5, chunk_size: int = 65536) -> list[dict[str, object]]:
    """Time the floor, our decoder and (if installed) the ollama SDK; one dict per table row."""
    body, messages = build_body(size_mb)
    chunks = fixed_chunks(body, chunk_size)
    runners: list[tuple[str, Callable[[Sequence[bytes]], tuple[int, int]] | None]] = [
        ("floor: split + json's C scanner", _floor),
        ("framing + JSON: our NDJSONDecoder + json's C scanner", _framing),
        ("ours: ollama/chat decoder", _ours),
        ("ollama SDK: Client.chat(stream=True)", _sdk_runner()),
    ]
    rows = [
        measure_row(f"{name} [{chunk_size} B chunks]", runner, chunks, repeats, messages)
        for name, runner in runners
        if runner is not None
    ]
    if runners[-1][1] is None:
        rows.append(
            {"name": "ollama SDK: not installed; not measured", "mb_per_s": None, "messages_per_s": None}
        )
    return rows


def main() -> None:
    print_rows(run, __doc__)


if __name__ == "__main__":
    main()
