"""Small helpers every benchmark shares.  No I/O (``timed`` reads the clock)."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from conformance.framing.ndjson import NDJSONDecoder

__all__ = ["MB", "SCAN", "fixed_chunks", "ndjson_floor", "ndjson_framing", "timed"]

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
