"""Small helpers every benchmark shares.  No I/O (``timed`` reads the clock)."""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["MB", "fixed_chunks", "timed"]

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
