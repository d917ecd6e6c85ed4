"""Every real recorded vendor stream decodes with its framing, identically under every chunking.

The streams live in ``shared/reference/streams`` beside the checkout (with their
provenance in ``PROVENANCE.json``); the tests skip when that folder is absent.
``-payloads.txt`` recordings are re-framed first (``conformance.reframe``).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from conformance.chunking import parse_chunking
from conformance.framing import decode, new_decoder
from conformance.framing.messages import (
    EventStreamMessage,
    JSONArrayElement,
    Message,
    NDJSONLine,
    SSEEvent,
)
from conformance.reframe import reframe
from tests.helpers import REFERENCE_STREAMS

STREAMS = REFERENCE_STREAMS

#: Chunkings applied to every stream (``every-split`` is handled separately below).
CHUNKINGS = ("whole", "recorded", "bytewise", "utf8-boundary", "cr-lf", "prelude", "random:0", "random:1")
#: Up to this size every split point is tried; above it, a seeded sample of them.
EVERY_SPLIT_FULL = 6000
EVERY_SPLIT_SAMPLE = 300

# Which API a payload-lines recording belongs to (its wire format when re-framed).
_REFRAME_API = {
    "anthropic": "anthropic/messages",
    "openai-responses": "openai/responses",
    "vertex": "gemini/generate-content",
    "cohere": "cohere/chat",
    "mistral": "openai/chat-completions",
}


@dataclass(frozen=True)
class Stream:
    file: str
    framing: str
    reframe_api: str | None
    sha256: str

    def body(self) -> bytes:
        raw = (STREAMS / self.file).read_bytes()
        return reframe(raw, api=self.reframe_api) if self.reframe_api else raw


def _framing(fmt: str) -> str:
    if "eventstream" in fmt:
        return "eventstream"
    if "JSON array" in fmt or "WITHOUT alt=sse" in fmt:
        return "json-array"
    if "ndjson" in fmt or "stream+json" in fmt:
        return "ndjson"
    assert "SSE" in fmt, fmt
    return "sse"


def _reframe_api(entry: dict[str, str]) -> str | None:
    if not entry["format"].startswith("payload lines"):
        return None
    vendor = entry["vendor"]
    if vendor == "azure-openai":
        return "openai/responses" if "responses" in entry["file"] else "openai/chat-completions"
    return _REFRAME_API[vendor]


def _streams() -> list[Stream]:
    index = STREAMS / "PROVENANCE.json"
    if not index.is_file():
        return []
    return [
        Stream(e["file"], _framing(e["format"]), _reframe_api(e), e["sha256"])
        for e in json.loads(index.read_text(encoding="utf-8"))
    ]


ALL = _streams()
pytestmark = pytest.mark.skipif(not ALL, reason=f"reference streams not found at {STREAMS}")


def _every_split(data: bytes) -> Iterator[tuple[str, list[bytes]]]:
    points = range(1, len(data))
    if len(data) > EVERY_SPLIT_FULL:
        points = sorted(random.Random(len(data)).sample(points, EVERY_SPLIT_SAMPLE))  # type: ignore[assignment]
    for i in points:
        yield f"every-split@{i}", [data[:i], data[i:]]


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _assert_well_formed(stream: Stream, messages: list[Message]) -> None:
    assert messages, f"{stream.file}: no messages"
    for m in messages:
        if isinstance(m, SSEEvent):
            assert m.data == "[DONE]" or _is_json(m.data), f"{stream.file}: non-JSON data {m.data[:60]!r}"
        elif isinstance(m, NDJSONLine | JSONArrayElement):
            assert _is_json(m.text), f"{stream.file}: non-JSON element {m.text[:60]!r}"
        elif isinstance(m, EventStreamMessage):
            assert m.header(":message-type") == "event"
            assert _is_json(m.payload.decode("utf-8"))
        else:  # comments and stray lines are only reported when asked for
            pytest.fail(f"{stream.file}: unexpected message {m!r}")


def test_all_56_recordings_are_indexed() -> None:
    assert len(ALL) == 56
    assert {s.framing for s in ALL} == {"sse", "ndjson", "json-array", "eventstream"}


@pytest.mark.parametrize("stream", ALL, ids=[s.file for s in ALL])
def test_recording_matches_its_provenance_sha256(stream: Stream) -> None:
    assert hashlib.sha256((STREAMS / stream.file).read_bytes()).hexdigest() == stream.sha256


@pytest.mark.parametrize("stream", ALL, ids=[s.file for s in ALL])
def test_recording_decodes_identically_under_every_chunking(stream: Stream) -> None:
    data = stream.body()
    expected = decode(new_decoder(stream.framing), [data])
    _assert_well_formed(stream, expected)
    for spec in CHUNKINGS:
        for chunks in parse_chunking(spec).chunkings(data):
            got = decode(new_decoder(stream.framing), chunks)
            assert got == expected, f"{stream.file}: chunking {spec} changed the messages"
    for name, chunks in _every_split(data):
        assert decode(new_decoder(stream.framing), chunks) == expected, f"{stream.file}: {name}"


def test_bedrock_recordings_decode_with_valid_checksums() -> None:
    bins = [s for s in ALL if s.framing == "eventstream"]
    assert len(bins) == 4  # the streams folder holds four Bedrock recordings
    for stream in bins:
        frames = decode(new_decoder("eventstream"), [stream.body()])
        types = [f.header(":event-type") for f in frames if isinstance(f, EventStreamMessage)]
        assert len(types) == len(frames)
        assert types[0] == "messageStart", stream.file
        assert "messageStop" in types, stream.file
        assert types[-1] == "metadata", stream.file  # usage arrives after messageStop


def test_payload_lines_are_reframed_into_named_events() -> None:
    stream = next(s for s in ALL if s.file == "anthropic__partial-json-split-mid-escape-payloads.txt")
    events = decode(new_decoder("sse"), [stream.body()])
    assert all(isinstance(e, SSEEvent) for e in events)
    assert [e.event for e in events[:2]] == ["message_start", "content_block_start"]  # type: ignore[union-attr]
    assert events[-1].event == "message_stop"  # type: ignore[union-attr]
    for e in events:
        assert json.loads(e.data)["type"] == e.event  # type: ignore[union-attr]


def test_reframed_chat_recordings_get_their_done_terminator_back() -> None:
    stream = next(s for s in ALL if s.file == "mistral__tool-call-whole-no-index-payloads.txt")
    events = decode(new_decoder("sse"), [stream.body()])
    assert [e.data for e in events][-1] == "[DONE]"  # type: ignore[union-attr]
    assert len(events) == 3
