"""Helpers shared by the tests: feeding the framing decoders (cf. h11's ``tests/helpers.py``),
and the options of the plugin's in-process pytester sessions."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from conformance.errors import ConformanceError
from conformance.framing.messages import Decoder

#: The real recorded vendor streams (``shared/reference/streams`` beside the checkout, or
#: ``$CONFORMANCE_REFERENCE_STREAMS``); tests that need them skip when it is absent.
REFERENCE_STREAMS = Path(
    os.environ.get(
        "CONFORMANCE_REFERENCE_STREAMS",
        Path(__file__).resolve().parents[2] / "shared" / "reference" / "streams",
    )
)

#: Inputs up to this many bytes are also fed at every two-way split point.
EVERY_SPLIT_LIMIT = 2048


def feed_all(decoder: Decoder[Any], chunks: Iterable[bytes]) -> list[Any]:
    """Feed every chunk, then close; return all messages in order."""
    out: list[Any] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    out.extend(decoder.close())
    return out


def split_at(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    """``data`` cut at the given offsets (duplicates and out-of-range cuts ignored)."""
    points = [0, *sorted({c for c in cuts if 0 < c < len(data)}), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(points)]


def feedings(data: bytes) -> Iterable[tuple[str, Sequence[bytes]]]:
    """The standard feedings: whole, byte by byte, and (small inputs) every split point."""
    yield "whole", [data]
    yield "bytewise", [data[i : i + 1] for i in range(len(data))]
    if len(data) <= EVERY_SPLIT_LIMIT:
        for i in range(1, len(data)):
            yield f"split@{i}", [data[:i], data[i:]]


def decode_every_way(factory: Callable[[], Decoder[Any]], data: bytes) -> list[Any]:
    """Decode ``data`` under every standard feeding; assert all agree; return the result."""
    expected = feed_all(factory(), [data])
    for name, chunks in feedings(data):
        got = feed_all(factory(), chunks)
        assert got == expected, f"feeding {name} gave a different result"
    return expected


def decode_until_error(
    factory: Callable[[], Decoder[Any]], chunks: Iterable[bytes]
) -> tuple[list[Any], ConformanceError | None]:
    """Feed ``chunks`` to a fresh decoder, then close it, stopping at the first error.

    Returns the messages delivered before the first :class:`ConformanceError` and that
    error (``None`` when feeding and closing both succeeded).  Any other exception
    propagates, so a caller also checks that bad bytes only raise the package's errors.
    """
    decoder = factory()
    out: list[Any] = []
    try:
        for chunk in chunks:
            out.extend(decoder.feed(chunk))
        out.extend(decoder.close())
    except ConformanceError as exc:
        return out, exc
    return out, None


def reference_stream(name: str) -> bytes:
    """The bytes of one real recorded stream; skips the calling test when it is absent."""
    import pytest

    path = REFERENCE_STREAMS / name
    if not path.is_file():
        pytest.skip(f"reference stream {path} is absent")
    return path.read_bytes()


#: The options every in-process plugin session (pytester) starts with.
PYTESTER_BASE = (
    "-p",
    "no:cacheprovider",
    "-o",
    "asyncio_default_fixture_loop_scope=function",
    "--conformance-only",
    "--conformance-seed=20261121",  # the property tests repeatable, whatever the date
)
