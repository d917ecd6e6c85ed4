"""The decoders' bulk paths and fast constructors change nothing.

The SSE and NDJSON decoders take whole chunks in bulk where they can (``event:`` +
``data:`` pairs, runs of complete lines), and the hottest objects (SSE events, NDJSON
lines, eventstream frames, block deltas) are built by setting their slots directly.  No
bulk path can run on one-byte chunks, so feeding a body byte by byte is the reference:
every other cut must give the same messages, offsets and errors.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance._slots import slot_setters
from conformance.errors import ConformanceError
from conformance.events import BlockDelta
from conformance.framing.eventstream import EventStreamDecoder, encode_event
from conformance.framing.messages import EventStreamMessage, NDJSONLine
from conformance.framing.ndjson import NDJSONDecoder
from conformance.framing.sse import SSEDecoder
from conformance.vendors._builder import ResponseBuilder

SSE_BLOCKS = [
    b'event: a\ndata: {"x":1}\n\n',
    b"event: b\ndata: y\n\n",
    b"data: z\n\n",
    b"event: \ndata: q\n\n",
    b"event: c\ndata:nospace\n\n",
    b": ping\n\n",
    b"id: 7\n\n",
    b"event: d\ndata: 1\ndata: 2\n\n",
    b"event: e\nid: 9\ndata: w\n\n",
    b"\n",
    b"event: f\r\ndata: g\r\n\r\n",
    b"data: \xc3\xa9\xff\n\n",
    b"event: g\ndata: h\n",
    b"retry: 5\n",
    b"event: x y\ndata:  two spaces\n\n",
    b"event:\ndata: k\n\n",
]
NDJSON_LINES = [
    b'{"a":1}\n',
    b'{"b":"\xc3\xa9"}\n',
    b"\n",
    b"  \n",
    b'{"c":2}\r\n',
    b"x\ry\n",
    b"\t\n",
    b'{"d": 3} \n',
    b"\xff\n",
    b'{"e"',
    b"\r",
    b"abc\n",
]


def _feed_all(decoder: Any, chunks: Sequence[bytes]) -> list[object]:
    out: list[object] = []
    try:
        for chunk in chunks:
            out += [(m, m.offset) for m in decoder.feed(chunk)]
        out += [(m, m.offset) for m in decoder.close()]
    except ConformanceError as exc:
        out.append(("error", type(exc).__name__, str(exc)))
    return out


def _cut(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)] or [b""]


def _same_as_bytewise(make: Callable[[], Any], body: bytes, size: int) -> None:
    reference = _feed_all(make(), [body[i : i + 1] for i in range(len(body))])
    assert _feed_all(make(), [body]) == reference
    assert _feed_all(make(), _cut(body, size)) == reference


@given(
    blocks=st.lists(st.sampled_from(SSE_BLOCKS), max_size=40),
    size=st.integers(1, 64),
    eof=st.sampled_from(["discard", "dispatch"]),
    comments=st.booleans(),
)
def test_sse_bulk_paths_give_what_bytewise_feeding_gives(
    blocks: list[bytes], size: int, eof: str, comments: bool
) -> None:
    _same_as_bytewise(lambda: SSEDecoder(eof=eof, keep_comments=comments), b"".join(blocks), size)  # type: ignore[arg-type]


@given(lines=st.lists(st.sampled_from(NDJSON_LINES), max_size=40), size=st.integers(1, 64))
def test_ndjson_bulk_path_gives_what_bytewise_feeding_gives(lines: list[bytes], size: int) -> None:
    _same_as_bytewise(NDJSONDecoder, b"".join(lines), size)


@given(
    payloads=st.lists(st.binary(max_size=40), min_size=1, max_size=8),
    size=st.integers(1, 64),
    cut_tail=st.integers(0, 3),
)
def test_eventstream_frames_are_the_same_under_every_cut(
    payloads: list[bytes], size: int, cut_tail: int
) -> None:
    body = b"".join(encode_event("contentBlockDelta", p) for p in payloads)
    _same_as_bytewise(EventStreamDecoder, body[: len(body) - cut_tail], size)


def test_fast_built_objects_equal_ordinarily_built_ones() -> None:
    (line,) = NDJSONDecoder().feed(b'{"a":1}\n')
    assert type(line) is NDJSONLine
    assert line == NDJSONLine(text='{"a":1}', offset=0)
    assert repr(line) == repr(NDJSONLine(text='{"a":1}', offset=0))

    (frame,) = EventStreamDecoder().feed(encode_event("messageStop", b"{}"))
    assert type(frame) is EventStreamMessage
    assert frame == EventStreamMessage(headers=frame.headers, payload=b"{}", offset=0)

    builder = ResponseBuilder()
    builder.open("k", "text")
    builder.delta("k", "hi")
    delta = builder.take()[-1]
    assert type(delta) is BlockDelta
    assert delta == BlockDelta(block=0, text="hi")
    assert hash(delta) == hash(BlockDelta(block=0, text="hi"))
    for built in (line, frame, delta):
        field = dataclasses.fields(built)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(built, field, getattr(built, field))


def test_slot_setters_refuse_any_class_that_is_not_exactly_plain() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Plain:
        a: int
        b: str

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        a: int
        b: str

        def __post_init__(self) -> None:
            pass

    assert slot_setters(Plain, ("a", "b")) is not None
    assert slot_setters(Plain, ("b", "a")) is None
    assert slot_setters(Checked, ("a", "b")) is None
    assert slot_setters(dict, ("a", "b")) is None
