"""Shared test machinery for the vendor codecs: decoding under every chunking and the
encode -> chunk -> decode round trip."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Collection, Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from conformance.cassettes import Case, expected_events, iter_cases
from conformance.chunking import DEFAULT_CHUNKINGS, parse_chunking
from conformance.events import Event, dumps
from conformance.fold import fold
from conformance.grammar import check
from conformance.vendors._base import Codec
from tests.helpers import split_at

#: Where :func:`write_expected` puts drafts: outside the checkout, so that nothing
#: unreviewed lands in the corpus by accident.  A reviewed draft becomes a case with
#: ``tools/import_reference_streams.py --expected <this folder>``.
DRAFTS = Path(tempfile.gettempdir()) / "conformance-expected-drafts"


def decode(
    codec: Codec[Any],
    chunks: Iterable[bytes],
    *,
    flavour: str | None = None,
    framing: str | None = None,
) -> list[Event]:
    """Feed every chunk to a fresh reference decoder, then close it."""
    decoder = codec.new_decoder(flavour, framing=framing)
    out: list[Event] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    out.extend(decoder.close())
    return out


def decode_every_chunking(
    codec: Codec[Any],
    data: bytes,
    *,
    flavour: str | None = None,
    framing: str | None = None,
    chunkings: Sequence[str] = (*DEFAULT_CHUNKINGS, "random:1", "random:2"),
) -> list[Event]:
    """Decode ``data`` under every chunking; assert all results are identical; return it."""
    expected = decode(codec, [data], flavour=flavour, framing=framing)
    for spec in chunkings:
        for chunks in parse_chunking(spec).chunkings(data):
            got = decode(codec, chunks, flavour=flavour, framing=framing)
            assert got == expected, f"chunking {spec} changed the canonical events"
    return expected


def assert_rule_abiding(events: Sequence[Event], *, allow: Collection[str] = ()) -> None:
    """No violation of any rule, MUST or SHOULD, except the rule ids in ``allow``."""
    violations = [v for v in check(events) if v.rule not in allow]
    assert not violations, "\n".join(f"{v.rule} at {v.index}: {v.message}" for v in violations)


def assert_round_trip(
    codec: Codec[Any],
    events: Sequence[Event],
    knobs: Any,
    cuts: Iterable[int],
    *,
    flavour: str | None = None,
    framing: str | None = None,
    allow: Collection[str] = (),
) -> bytes:
    """encode(events, knobs) cut at ``cuts`` and decoded gives back fold(events).

    ``allow``: rule ids the vendor cannot help violating (e.g. ``finish.raw-reason``
    where it sends no finish reason)."""
    data = codec.encode(events, knobs)
    got = decode(codec, split_at(data, cuts), flavour=flavour, framing=framing)
    assert_rule_abiding(got, allow=allow)
    want = fold(events)
    assert fold(got) == want, "\n".join(
        ["round trip changed the sequence; expected (folded):", *map(dumps, want), "got (folded):"]
        + [dumps(e) for e in fold(got)]
    )
    return data


@cache
def _cases_by_recording() -> dict[str, Case]:
    return {
        Path(case.source.reference_file).stem: case
        for case in iter_cases()
        if case.source.reference_file is not None
    }


def load_expected(name: str) -> list[Event]:
    """The reviewed expected sequence of the corpus case recorded from ``<name>.*``
    (the stem of its ``source.reference_file``)."""
    return expected_events(_cases_by_recording()[name])


def write_expected(name: str, events: Sequence[Event]) -> Path:
    """Write a draft sequence as JSON lines to ``DRAFTS/<name>.jsonl`` and return its
    path (for drafting; every sequence is reviewed by hand before it joins the corpus)."""
    DRAFTS.mkdir(parents=True, exist_ok=True)
    path = DRAFTS / f"{name}.jsonl"
    path.write_text("".join(dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


def payloads_of(data: bytes) -> list[Any]:
    """Every JSON payload in an SSE body (data lines), for independent fact checks."""
    out = []
    for line in data.replace(b"\r\n", b"\n").split(b"\n"):
        if line.startswith(b"data:"):
            text = line[5:].strip()
            if text and text != b"[DONE]":
                out.append(json.loads(text))
    return out
