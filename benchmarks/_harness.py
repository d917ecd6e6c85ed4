"""Small helpers every benchmark shares.  No I/O."""

from __future__ import annotations

__all__ = ["MB", "fixed_chunks"]

#: One megabyte as the tables count it (10**6 bytes).
MB = 1_000_000


def fixed_chunks(body: bytes, chunk_size: int) -> list[bytes]:
    """``body`` cut into ``chunk_size``-byte reads (the last one shorter), as a network delivers it."""
    return [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]
