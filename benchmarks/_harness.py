"""Small helpers every benchmark shares.  No I/O but the clock (``timed``, ``measure_row``)
and ``print_rows``, a benchmark module's command line."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from conformance.framing.ndjson import NDJSONDecoder

__all__ = [
    "MB",
    "SCAN",
    "fixed_chunks",
    "measure_row",
    "ndjson_floor",
    "ndjson_framing",
    "print_rows",
    "timed",
]

#: json's C scanner: ``json.loads`` without its Python wrapper (type checks, two
#: whitespace regex matches), called as the reference decoders call it.  The floor of
#: every decoder benchmark parses with it.
SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]

#: One megabyte as the tables count it (10**6 bytes).
MB = 1_000_000

T = TypeVar("T")


def fixed_chunks(body: bytes, chunk_size: int) -> list[bytes]:
    """``body`` cut into ``chunk_size``-byte reads (the last one shorter), as a network delivers it."""
    return [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]


def timed(run: Callable[[], T], repeats: int) -> tuple[float, T]:
    """The median seconds of ``repeats`` timed calls of ``run`` after one warm-up call, and
    what the warm-up call returned."""
    result = run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def ndjson_floor(chunks: Sequence[bytes]) -> tuple[int, int]:
    """The NDJSON floor: the joined body split at line ends, each line parsed by
    :data:`SCAN`; (lines, 0 canonical events)."""
    scan = SCAN
    count = 0
    for line in b"".join(chunks).split(b"\n"):
        if line:
            scan(line.decode(), 0)
            count += 1
    return count, 0


def ndjson_framing(chunks: Sequence[bytes]) -> tuple[int, int]:
    """Our NDJSON framing plus :data:`SCAN`: what the framing costs over the floor."""
    decoder = NDJSONDecoder()
    scan = SCAN
    count = 0
    for chunk in chunks:
        for line in decoder.feed(chunk):
            scan(line.text, 0)
            count += 1
    for line in decoder.close():
        scan(line.text, 0)
        count += 1
    return count, 0


def measure_row(
    name: str,
    runner: Callable[[Sequence[bytes]], tuple[int, int]],
    chunks: Sequence[bytes],
    repeats: int,
    messages: int,
) -> dict[str, object]:
    """One table row: ``runner`` (returning (messages counted or -1, canonical events)) timed
    over ``chunks``, median of ``repeats`` runs after a warm-up; every run must agree."""
    size = sum(map(len, chunks))
    first = runner(chunks)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        got = runner(chunks)
        times.append(time.perf_counter() - start)
        assert got == first, f"{name}: {got}, then {first}"
    counted, events = first
    assert counted in (-1, messages), f"{name} counted {counted} messages, not {messages}"
    median = statistics.median(times)
    row: dict[str, object] = {
        "name": name,
        "mb_per_s": round(size / MB / median, 1),
        "messages_per_s": round(messages / median),
        "messages": messages,
    }
    if events:
        row["events_per_s"] = round(events / median)
        row["events"] = events
    return row


def print_rows(run: Callable[[float, int, int], list[dict[str, object]]], doc: str | None) -> None:
    """A benchmark module's command line: ``--size-mb``, ``--repeats``, ``--chunk-size``; prints
    ``run``'s rows as a table."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--size-mb", type=float, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--chunk-size", type=int, default=65536)
    args = parser.parse_args()
    rows = run(args.size_mb, args.repeats, args.chunk_size)
    width = max(len(str(r["name"])) for r in rows)
    print(f"{'decoder':<{width}}  {'MB/s':>8}  {'messages/s':>11}  {'events/s':>10}")
    for r in rows:
        line = f"{r['name']!s:<{width}}  {r['mb_per_s']!s:>8}  {r['messages_per_s']!s:>11}"
        print(f"{line}  {r.get('events_per_s', '')!s:>10}")
