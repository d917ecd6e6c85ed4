"""Tests for the AWS binary eventstream decoder and encoder (conformance.framing.eventstream)."""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeAlias
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.errors import (
    ChecksumError,
    ConformanceError,
    FramingError,
    StreamError,
    TruncatedStream,
    UsageError,
)
from conformance.framing.eventstream import (
    EventStreamDecoder,
    encode_event,
    encode_exception,
    encode_message,
)
from conformance.framing.messages import EventStreamHeader, EventStreamMessage, HeaderType
from tests.helpers import (
    REFERENCE_STREAMS,
    decode_every_way,
    decode_until_error,
    feed_all,
    feedings,
    reference_stream,
    split_at,
)

STREAMS = REFERENCE_STREAMS
BEDROCK_FILES = sorted(STREAMS.glob("bedrock__*.bin")) if STREAMS.is_dir() else []
needs_streams = pytest.mark.skipif(not BEDROCK_FILES, reason="reference streams directory absent")

# The constructed throttlingException frame of FORMATS.md §5 (CRCs checked by botocore there).
THROTTLING_HEX = (
    "000000b2000000613590d5d30f3a657863657074696f6e2d747970650700137468726f74746c696e6745786365"
    "7074696f6e0d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d657373"
    "6167652d74797065070009657863657074696f6e7b226d657373616765223a22546f6f206d616e7920726571"
    "75657374732c20706c656173652077616974206265666f726520747279696e6720616761696e2e227de8ffb26a"
)
THROTTLING_PAYLOAD = b'{"message":"Too many requests, please wait before trying again."}'

FIRST = encode_event("messageStart", b'{"role":"assistant"}')  # a valid frame to put errors after
UUID_1 = UUID("0123456789abcdef0123456789abcdef")
I64_MIN, I64_MAX = -(2**63), 2**63 - 1


def hdr(name: str, header_type: HeaderType, value: object) -> EventStreamHeader:
    return EventStreamHeader(name=name, type=header_type, value=value)  # type: ignore[arg-type]


def raw_frame(
    headers_block: bytes = b"",
    payload: bytes = b"",
    *,
    total: int | None = None,
    headers_length: int | None = None,
) -> bytes:
    """A frame from raw header bytes, both CRCs valid; lengths overridable (to lie)."""
    total = 16 + len(headers_block) + len(payload) if total is None else total
    headers_length = len(headers_block) if headers_length is None else headers_length
    prelude = struct.pack(">II", total, headers_length)
    body = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers_block + payload
    return body + struct.pack(">I", zlib.crc32(body))


def decode(data: bytes) -> list[EventStreamMessage]:
    return feed_all(EventStreamDecoder(), [data])


#: What an outcome shows of an error: its type, offset and message.
ErrorSeen: TypeAlias = tuple[type[ConformanceError], int | None, str] | None


def outcome(
    chunks: Sequence[bytes], factory: Callable[[], EventStreamDecoder] = EventStreamDecoder
) -> tuple[list[tuple[EventStreamMessage, int]], ErrorSeen]:
    """The frames (with offsets) delivered before the first error, and its type, offset, message."""
    messages, error = decode_until_error(factory, chunks)
    shown = None if error is None else (type(error), error.offset, error.message)
    return [(m, m.offset) for m in messages], shown


def assert_fails_every_way(data: bytes, error: type[Exception], offset: int) -> StreamError:
    """Every standard feeding of ``data`` raises exactly ``error`` at ``offset``, after the same
    frames: every frame that ends at or before ``offset``."""
    expected = decode(data[:offset])
    first: StreamError | None = None
    for name, chunks in feedings(data):
        messages, caught = decode_until_error(EventStreamDecoder, chunks)
        assert type(caught) is error, f"{name}: {caught!r}"
        assert isinstance(caught, StreamError)
        assert caught.offset == offset, f"{name}: {caught}"
        assert messages == expected, name
        assert [m.offset for m in messages] == [m.offset for m in expected], name
        first = first or caught
    assert first is not None
    return first


# --------------------------------------------------------------------------- decoding basics


def test_two_frames_decode_identically_under_every_feeding() -> None:
    second = encode_exception("throttlingException", THROTTLING_PAYLOAD)
    messages = decode_every_way(EventStreamDecoder, FIRST + second)
    assert [m.header(":event-type") for m in messages] == ["messageStart", None]
    assert messages[1].header(":exception-type") == "throttlingException"
    assert messages[1].payload == THROTTLING_PAYLOAD
    for name, chunks in feedings(FIRST + second):  # offsets are outside equality: check them too
        assert [m.offset for m in feed_all(EventStreamDecoder(), chunks)] == [0, len(FIRST)], name


def test_empty_stream_and_empty_chunks_give_nothing() -> None:
    decoder = EventStreamDecoder()
    assert decoder.feed(b"") == []
    assert decoder.close() == []


def test_minimal_frame_without_headers_or_payload() -> None:
    frame = encode_message((), b"")
    assert len(frame) == 16
    assert decode_every_way(EventStreamDecoder, frame) == [EventStreamMessage(headers=(), payload=b"")]


def test_bytearray_and_memoryview_chunks_decode_like_bytes() -> None:
    data = FIRST + FIRST
    expected = decode(data)
    decoder = EventStreamDecoder()
    got = decoder.feed(bytearray(data[:7])) + decoder.feed(memoryview(data)[7:]) + decoder.close()
    assert got == expected


def test_feed_rejects_text_and_feed_after_close() -> None:
    decoder = EventStreamDecoder()
    with pytest.raises(UsageError):
        decoder.feed("not bytes")  # type: ignore[arg-type]
    decoder.close()
    with pytest.raises(UsageError, match="after close"):
        decoder.feed(FIRST)


@pytest.mark.parametrize("kwargs", [{"max_headers_length": -1}, {"max_payload_length": 1.5}])
def test_bad_limits_are_usage_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        EventStreamDecoder(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- header types

ROUND_TRIP_HEADERS = [
    hdr("t", HeaderType.BOOL_TRUE, True),
    hdr("f", HeaderType.BOOL_FALSE, False),
    *(hdr("b", HeaderType.BYTE, v) for v in (-128, -1, 0, 127)),
    *(hdr("s", HeaderType.SHORT, v) for v in (-32768, -1, 32767)),
    *(hdr("i", HeaderType.INTEGER, v) for v in (-(2**31), -2, 2**31 - 1)),
    *(hdr("l", HeaderType.LONG, v) for v in (I64_MIN, -3, I64_MAX)),
    *(hdr("ba", HeaderType.BYTE_ARRAY, v) for v in (b"", b"\x00\xff\x80", bytes(32767))),
    *(hdr("str", HeaderType.STRING, v) for v in ("", "h\u00e9llo \u2603 \U0001f600", "x" * 32767)),
    *(hdr("ts", HeaderType.TIMESTAMP, v) for v in (I64_MIN, -1, 0, 1_700_000_000_123, I64_MAX)),
    hdr("id", HeaderType.UUID, UUID_1),
    hdr("", HeaderType.STRING, "empty name"),
    hdr("n" * 255, HeaderType.BOOL_TRUE, True),
]


@pytest.mark.parametrize("header", ROUND_TRIP_HEADERS, ids=lambda h: f"{h.type.name}-{str(h.value)[:12]}")
def test_every_header_type_round_trips(header: EventStreamHeader) -> None:
    frame = encode_message([header], b"payload")
    (message,) = decode(frame)
    assert message == EventStreamMessage(headers=(header,), payload=b"payload")
    assert type(message.headers[0].value) is type(header.value)


def test_header_wire_bytes_match_the_format() -> None:
    headers = [
        hdr("a", HeaderType.BOOL_TRUE, True),
        hdr("b", HeaderType.BOOL_FALSE, False),
        hdr("c", HeaderType.BYTE, -2),
        hdr("d", HeaderType.SHORT, -2),
        hdr("e", HeaderType.INTEGER, 258),
        hdr("f", HeaderType.LONG, -1),
        hdr("g", HeaderType.BYTE_ARRAY, b"\x01\x02"),
        hdr("h", HeaderType.STRING, "\u00e9"),
        hdr("i", HeaderType.TIMESTAMP, 1),
        hdr("j", HeaderType.UUID, UUID_1),
    ]
    expected = bytes.fromhex(
        "016100"
        "016201"
        "016302fe"
        "016403fffe"
        "01650400000102"
        "016605ffffffffffffffff"
        "0167060002" + "0102"
        "0168070002" + "c3a9"
        "0169080000000000000001"
        "016a09" + "0123456789abcdef0123456789abcdef"
    )
    frame = encode_message(headers, b"")
    assert frame == raw_frame(expected)
    assert decode(frame)[0].headers == tuple(headers)


def test_headers_differing_in_one_byte_are_not_confused() -> None:
    """Header blocks (and headers) that differ only in their last byte decode apart."""
    frames = [
        (hdr(":event-type", HeaderType.STRING, "a"), hdr("n", HeaderType.INTEGER, n % 3)) for n in range(7)
    ]
    frames += [(hdr(":event-type", HeaderType.STRING, "b"), hdr("n", HeaderType.INTEGER, 0))]
    expected = [EventStreamMessage(headers=f, payload=b"") for f in frames]
    assert decode(b"".join(encode_message(f, b"") for f in frames)) == expected


def test_duplicate_header_names_are_kept_in_order() -> None:
    headers = [hdr("x", HeaderType.INTEGER, 1), hdr("x", HeaderType.INTEGER, 2)]
    (message,) = decode(encode_message(headers, b""))
    assert message.headers == tuple(headers)
    assert message.header("x") == 1


# --------------------------------------------------------------------------- encoder


def test_encode_exception_reproduces_the_formats_md_frame() -> None:
    assert encode_exception("throttlingException", THROTTLING_PAYLOAD) == bytes.fromhex(THROTTLING_HEX)


def test_encode_event_header_order_and_values() -> None:
    (message,) = decode(encode_event("contentBlockStop", b"{}", content_type="text/plain"))
    assert [(h.name, h.type, h.value) for h in message.headers] == [
        (":event-type", HeaderType.STRING, "contentBlockStop"),
        (":content-type", HeaderType.STRING, "text/plain"),
        (":message-type", HeaderType.STRING, "event"),
    ]


BAD_HEADERS = [
    hdr("b", HeaderType.BYTE, 128),
    hdr("s", HeaderType.SHORT, -32769),
    hdr("i", HeaderType.INTEGER, 2**31),
    hdr("l", HeaderType.LONG, 2**63),
    hdr("ts", HeaderType.TIMESTAMP, I64_MIN - 1),
    hdr("bool-as-int", HeaderType.INTEGER, True),
    hdr("int-as-bool", HeaderType.BOOL_TRUE, 1),
    hdr("wrong-bool", HeaderType.BOOL_TRUE, False),
    hdr("wrong-bool", HeaderType.BOOL_FALSE, True),
    hdr("str", HeaderType.STRING, b"bytes"),
    hdr("ba", HeaderType.BYTE_ARRAY, "text"),
    hdr("uuid", HeaderType.UUID, str(UUID_1)),
    hdr("n" * 256, HeaderType.BOOL_TRUE, True),
    hdr("\u00e9" * 128, HeaderType.BOOL_TRUE, True),  # 128 chars but 256 bytes
    hdr("long", HeaderType.BYTE_ARRAY, bytes(32768)),
    hdr("long", HeaderType.STRING, "\u00e9" * 16384),  # 32768 bytes
    hdr("surrogate", HeaderType.STRING, "\ud800"),
    hdr("\ud800", HeaderType.STRING, "x"),
    hdr("type", 10, 1),  # type: ignore[arg-type]
    hdr("type", True, True),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("header", BAD_HEADERS, ids=lambda h: f"{h.type!r}-{str(h.value)[:10]}")
def test_encoder_refuses_unencodable_headers(header: EventStreamHeader) -> None:
    with pytest.raises(UsageError):
        encode_message([header], b"")


def test_encoder_refuses_oversized_headers_and_payload() -> None:
    big = [hdr(f"h{i}", HeaderType.BYTE_ARRAY, bytes(32767)) for i in range(5)]  # > 128 KiB
    with pytest.raises(UsageError, match="headers"):
        encode_message(big, b"")
    with pytest.raises(UsageError, match="payload"):
        encode_message((), bytes(24 * 1024 * 1024 + 1))
    with pytest.raises(UsageError, match="payload"):
        encode_message((), "text")  # type: ignore[arg-type]


def test_encoder_accepts_the_exact_limits() -> None:
    headers = [hdr(f"h{i}", HeaderType.BYTE_ARRAY, bytes(32767)) for i in range(3)]  # 32773 bytes each
    headers.append(hdr("rest", HeaderType.BYTE_ARRAY, bytes(128 * 1024 - 3 * 32773 - 8)))
    payload = bytes(24 * 1024 * 1024)
    frame = encode_message(headers, payload)
    assert struct.unpack_from(">I", frame, 4)[0] == 128 * 1024
    (message,) = decode(frame)
    assert message.headers == tuple(headers)
    assert message.payload == payload


# --------------------------------------------------------------------------- errors (in the 2nd frame)


def test_corrupt_prelude_crc() -> None:
    bad = bytearray(encode_event("x", b"{}"))
    bad[9] ^= 0xFF
    err = assert_fails_every_way(FIRST + bytes(bad), ChecksumError, len(FIRST))
    good = zlib.crc32(bytes(bad[:8]))
    assert "prelude CRC32" in err.message
    assert f"0x{good:08x}" in err.message
    assert f"0x{struct.unpack_from('>I', bad, 8)[0]:08x}" in err.message


def test_corrupt_message_crc() -> None:
    bad = bytearray(encode_event("x", b"{}"))
    bad[-3] ^= 0x01  # in the payload
    err = assert_fails_every_way(FIRST + bytes(bad), ChecksumError, len(FIRST))
    assert "message CRC32" in err.message
    assert f"0x{struct.unpack_from('>I', bad, len(bad) - 4)[0]:08x}" in err.message
    assert f"0x{zlib.crc32(bytes(bad[:-4])):08x}" in err.message


def test_prelude_crc_is_checked_before_the_body_arrives() -> None:
    decoder = EventStreamDecoder()
    decoder.feed(FIRST)
    with pytest.raises(ChecksumError) as info:
        decoder.feed(struct.pack(">III", 4_000_000_000, 0, 12345))  # a 4 GB frame, bad CRC
    assert info.value.offset == len(FIRST)


def test_oversized_frame_fails_on_its_prelude_alone() -> None:
    decoder = EventStreamDecoder()
    with pytest.raises(FramingError, match="payload length") as info:
        decoder.feed(raw_frame(total=0xFFFFFFFF)[:12])
    assert type(info.value) is FramingError
    assert info.value.offset == 0


@pytest.mark.parametrize(
    ("frame", "words"),
    [
        (raw_frame(total=15)[:12] + bytes(8), "below the 16-byte minimum"),
        (raw_frame(total=0)[:12] + bytes(8), "below the 16-byte minimum"),
        (raw_frame(b"\x01a\x00", headers_length=4), "exceeds total_length"),
    ],
)
def test_bad_lengths(frame: bytes, words: str) -> None:
    err = assert_fails_every_way(FIRST + frame, FramingError, len(FIRST))
    assert words in err.message


def test_headers_and_payload_over_the_limits() -> None:
    empty = encode_message((), b"")
    frame = encode_message([hdr("abc", HeaderType.STRING, "12345")], b"123456")  # headers: 12 bytes
    cases = [(EventStreamDecoder(max_headers_length=11), "headers_length 12 exceeds the limit of 11")]
    cases.append((EventStreamDecoder(max_payload_length=5), "payload length 6 exceeds the limit of 5"))
    for decoder, words in cases:
        with pytest.raises(FramingError, match=words) as info:
            feed_all(decoder, [empty, frame])
        assert type(info.value) is FramingError
        assert info.value.offset == len(empty)
    assert feed_all(EventStreamDecoder(max_headers_length=12, max_payload_length=6), [frame])


@pytest.mark.parametrize(
    ("block", "words"),
    [
        (b"\x01a\x0a", "unknown value type 10"),
        (b"\x01a\xff", "unknown value type 255"),
        (b"\x05abc", "name runs past"),
        (b"\x01a", "name runs past"),  # no room for the type byte
        (b"\x01a\x07\x00", "value length runs past"),
        (b"\x01a\x07\x00\x05abc", "value runs past"),
        (b"\x01a\x07\x00\x03ab", "value runs past"),  # by one byte
        (b"\x01a\x06\xff\xff", "value runs past"),
        (b"\x01a\x04\x00\x00\x01", "INTEGER value runs past"),
        (b"\x01a\x08" + bytes(7), "TIMESTAMP value runs past"),
        (b"\x01a\x09" + bytes(15), "UUID value runs past"),
        (b"\x02\xc3\x28\x00", "header at frame byte 12: name is not valid UTF-8"),
        (b"\x01a\x07\x00\x02\xed\xa0", "string value is not valid UTF-8"),
        (b"\x01a\x00\x01", "name runs past"),  # a second header cut short
    ],
)
def test_bad_headers(block: bytes, words: str) -> None:
    # The payload after the header block must never be read as headers.
    err = assert_fails_every_way(FIRST + raw_frame(block, b"\x00\x00payload"), FramingError, len(FIRST))
    assert type(err) is FramingError
    assert words in err.message


@pytest.mark.parametrize("cut", [1, 11, 12, 13, len(FIRST) - 1])
def test_truncation_at_close(cut: int) -> None:
    data = FIRST + FIRST[:cut]
    err = assert_fails_every_way(data, TruncatedStream, len(FIRST))
    if cut < 12:
        assert f"got {cut} of 12 prelude bytes" in err.message
    else:
        assert f"got {cut} of {len(FIRST)} bytes" in err.message


SECOND = encode_exception("throttlingException", THROTTLING_PAYLOAD)


def _flipped(frame: bytes, at: int) -> bytes:
    bad = bytearray(frame)
    bad[at] ^= 0x01
    return bytes(bad)


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (_flipped(FIRST, 9), ChecksumError),  # prelude CRC
        (_flipped(FIRST, len(FIRST) - 3), ChecksumError),  # message CRC
        (raw_frame(total=15)[:12] + bytes(8), FramingError),  # lengths
        (raw_frame(b"\x01a\x0a", b"{}"), FramingError),  # a header of unknown type
        (FIRST[:20], TruncatedStream),  # the end comes inside a frame
    ],
    ids=["prelude-crc", "message-crc", "lengths", "header", "truncated"],
)
@pytest.mark.parametrize("good", [0, 1, 3])
def test_frames_before_a_malformed_spot_are_delivered_under_every_feeding(
    bad: bytes, error: type[StreamError], good: int
) -> None:
    """N good frames then a bad one: exactly those N frames, then the error, whatever the chunking."""
    frames = [FIRST, SECOND, FIRST][:good]
    data = b"".join(frames) + bad
    if error is not TruncatedStream:
        data += FIRST  # a good frame after the bad one is never reported
    expected = decode(b"".join(frames))
    assert len(expected) == good
    caught = assert_fails_every_way(data, error, sum(len(f) for f in frames))
    assert decode_until_error(EventStreamDecoder, [data])[0] == expected
    assert outcome([data])[1] == (error, caught.offset, caught.message)


def test_error_after_frames_in_one_feed_is_raised_by_the_next_call() -> None:
    decoder = EventStreamDecoder()
    bad = _flipped(FIRST, 9)
    assert decoder.feed(FIRST + SECOND + bad) == decode(FIRST + SECOND)
    with pytest.raises(ChecksumError) as first:
        decoder.feed(FIRST)  # not decoded: the held error comes first
    assert first.value.offset == len(FIRST + SECOND)
    with pytest.raises(ChecksumError) as again:
        decoder.close()
    assert again.value is first.value


def test_close_raises_the_held_error() -> None:
    decoder = EventStreamDecoder()
    assert len(decoder.feed(FIRST + _flipped(FIRST, 9))) == 1
    with pytest.raises(ChecksumError) as info:
        decoder.close()  # not TruncatedStream: the held error comes first
    assert info.value.offset == len(FIRST)


def test_a_failed_decoder_keeps_failing() -> None:
    decoder = EventStreamDecoder()
    with pytest.raises(ChecksumError) as first:
        decoder.feed(bytes(12) + b"\x01")  # prelude CRC of 8 zero bytes is not 0
    with pytest.raises(ChecksumError) as again:
        decoder.feed(FIRST)
    assert again.value is first.value
    with pytest.raises(ChecksumError):
        decoder.close()


# --------------------------------------------------------------------------- real Bedrock streams


@needs_streams
def test_reference_directory_holds_the_bedrock_files() -> None:
    assert len(BEDROCK_FILES) == 4  # the issue text says six; four are in the corpus


@needs_streams
@pytest.mark.parametrize("path", BEDROCK_FILES, ids=lambda p: p.name)
def test_real_bedrock_stream(path: Path) -> None:
    data = path.read_bytes()
    messages = decode(data)
    offsets = [m.offset for m in messages]
    bytewise = feed_all(EventStreamDecoder(), [data[i : i + 1] for i in range(len(data))])
    assert bytewise == messages
    assert [m.offset for m in bytewise] == offsets
    rng = random.Random(path.name)
    for _ in range(20):
        cuts = rng.sample(range(1, len(data)), rng.randint(1, 40))
        split = feed_all(EventStreamDecoder(), split_at(data, cuts))
        assert split == messages
        assert [m.offset for m in split] == offsets
    # Offsets chain frame to frame and re-encoding gives back the exact bytes.
    ends = [m.offset for m in messages[1:]] + [len(data)]
    frames = [data[m.offset : end] for m, end in zip(messages, ends, strict=True)]
    assert [encode_message(m.headers, m.payload) for m in messages] == frames
    event_types = [m.header(":event-type") for m in messages]
    assert event_types[0] == "messageStart"
    assert event_types[-2:] == ["messageStop", "metadata"]
    for m in messages:
        assert [h.name for h in m.headers] == [":event-type", ":content-type", ":message-type"]
        assert all(h.type is HeaderType.STRING for h in m.headers)
        assert m.header(":message-type") == "event"
        assert m.header(":content-type") == "application/json"
        assert m.payload.startswith(b"{")
        assert b'"p":"a' in m.payload  # the random-length padding


@needs_streams
def test_first_frame_of_text_then_tool_use() -> None:
    data = reference_stream("bedrock__text-then-tool-use.bin")
    messages = decode(data)
    first = messages[0]
    assert first.header(":event-type") == "messageStart"
    assert messages[1].offset == 144
    assert struct.unpack_from(">II", data) == (144, 82)
    assert first.payload == b'{"p":"abcdefghijklmnopqrs","role":"assistant"}'
    assert encode_event("messageStart", first.payload) == data[:144]
    assert len(messages) == 26
    assert messages[-2].payload.endswith(b'"stopReason":"tool_use"}')


# --------------------------------------------------------------------------- botocore cross-check


def _botocore_decode(data: bytes) -> list[tuple[dict[str, object], bytes, int]]:
    eventstream = pytest.importorskip("botocore.eventstream")
    buffer = eventstream.EventStreamBuffer()
    buffer.add_data(data)
    return [(dict(m.headers), m.payload, m.prelude.total_length) for m in buffer]


def _as_botocore_headers(message: EventStreamMessage) -> dict[str, object]:
    return {h.name: h.value.bytes if isinstance(h.value, UUID) else h.value for h in message.headers}


def test_botocore_accepts_our_frames_with_every_header_type() -> None:
    # Unique names (botocore rejects duplicates), still at most 255 bytes.
    headers = [hdr(f"{i:02d}{h.name}"[:255], h.type, h.value) for i, h in enumerate(ROUND_TRIP_HEADERS)]
    data = encode_message(headers, b"one") + encode_message(headers[::-1], b"") + encode_event("e", b"{}")
    ours = decode(data)
    theirs = _botocore_decode(data)
    assert [(_as_botocore_headers(m), m.payload) for m in ours] == [(h, p) for h, p, _ in theirs]


@needs_streams
@pytest.mark.parametrize("path", BEDROCK_FILES, ids=lambda p: p.name)
def test_botocore_agrees_on_real_streams(path: Path) -> None:
    data = path.read_bytes()
    theirs = _botocore_decode(data)
    ours = decode(data)
    assert [(_as_botocore_headers(m), m.payload) for m in ours] == [(h, p) for h, p, _ in theirs]
    lengths = [total for _, _, total in theirs]
    assert [m.offset for m in ours] == [sum(lengths[:i]) for i in range(len(lengths))]


# --------------------------------------------------------------------------- property tests

_INT_RANGES = {
    HeaderType.BYTE: 7,
    HeaderType.SHORT: 15,
    HeaderType.INTEGER: 31,
    HeaderType.LONG: 63,
    HeaderType.TIMESTAMP: 63,
}
_VALUES: dict[HeaderType, st.SearchStrategy[object]] = {
    HeaderType.BOOL_TRUE: st.just(True),
    HeaderType.BOOL_FALSE: st.just(False),
    **{t: st.integers(-(2**bits), 2**bits - 1) for t, bits in _INT_RANGES.items()},
    HeaderType.BYTE_ARRAY: st.binary(max_size=40),
    HeaderType.STRING: st.text(max_size=20),
    HeaderType.UUID: st.uuids(),
}
headers_st = st.one_of(
    *(
        st.builds(EventStreamHeader, name=st.text(max_size=12), type=st.just(t), value=values)
        for t, values in _VALUES.items()
    )
)
frame_st = st.tuples(st.lists(headers_st, max_size=5), st.binary(max_size=80))


def _random_chunks(data: st.DataObject, blob: bytes) -> list[bytes]:
    cuts = data.draw(st.lists(st.integers(0, len(blob)), max_size=12), label="cuts")
    return split_at(blob, cuts)


@given(frames=st.lists(frame_st, max_size=4), data=st.data())
def test_random_frames_round_trip_under_random_chunking(
    frames: list[tuple[list[EventStreamHeader], bytes]], data: st.DataObject
) -> None:
    encoded = [encode_message(h, p) for h, p in frames]
    got = feed_all(EventStreamDecoder(), _random_chunks(data, b"".join(encoded)))
    assert got == [EventStreamMessage(headers=tuple(h), payload=p) for h, p in frames]
    assert [m.offset for m in got] == [sum(len(f) for f in encoded[:i]) for i in range(len(encoded))]


@given(blob=st.binary(max_size=300), data=st.data())
def test_arbitrary_bytes_raise_only_stream_errors(blob: bytes, data: st.DataObject) -> None:
    """Only stream errors, and (frames delivered, error type, offset, message) never depends
    on the chunking."""
    whole = outcome([blob])  # any exception but a ConformanceError fails the test
    assert outcome(_random_chunks(data, blob)) == whole
    assert whole[1] is None or issubclass(whole[1][0], StreamError)


@given(frames=st.lists(frame_st, max_size=3), tail=st.binary(max_size=60), data=st.data())
def test_good_frames_then_garbage_give_the_same_outcome_under_any_chunking(
    frames: list[tuple[list[EventStreamHeader], bytes]], tail: bytes, data: st.DataObject
) -> None:
    """Valid frames followed by arbitrary bytes: the valid frames, then whatever the tail gives,
    identical whole, bytewise and in random chunks."""
    good = [EventStreamMessage(headers=tuple(h), payload=p) for h, p in frames]
    blob = b"".join(encode_message(h, p) for h, p in frames) + tail
    whole = outcome([blob])
    assert [m for m, _ in whole[0][: len(good)]] == good
    assert outcome(_random_chunks(data, blob)) == whole
    assert outcome([blob[i : i + 1] for i in range(len(blob))]) == whole
    if tail:  # limits low enough for garbage to hit them too

        def small() -> EventStreamDecoder:
            return EventStreamDecoder(max_headers_length=8, max_payload_length=8)

        assert outcome(_random_chunks(data, blob), small) == outcome([blob], small)


@given(block=st.binary(max_size=60), payload=st.binary(max_size=20), data=st.data())
def test_random_header_blocks_with_valid_crcs(block: bytes, payload: bytes, data: st.DataObject) -> None:
    """Headers area of random bytes: a FramingError, or messages that re-encode to the same bytes."""
    blob = FIRST + raw_frame(block, payload)
    try:
        messages = feed_all(EventStreamDecoder(), _random_chunks(data, blob))
    except FramingError as exc:
        error: FramingError | None = exc
    else:
        error = None
        assert b"".join(encode_message(m.headers, m.payload) for m in messages) == blob
    if error is not None:
        assert type(error) is FramingError
        assert error.offset == len(FIRST)


@given(frames=st.lists(frame_st, min_size=1, max_size=3), data=st.data())
def test_any_flipped_byte_is_a_checksum_error_in_its_frame(
    frames: list[tuple[list[EventStreamHeader], bytes]], data: st.DataObject
) -> None:
    encoded = [encode_message(h, p) for h, p in frames]
    blob = bytearray(b"".join(encoded))
    at = data.draw(st.integers(0, len(blob) - 1), label="at")
    blob[at] ^= data.draw(st.integers(1, 255), label="mask")
    starts = [sum(len(f) for f in encoded[:i]) for i in range(len(encoded))]
    messages, error = decode_until_error(EventStreamDecoder, _random_chunks(data, bytes(blob)))
    assert type(error) is ChecksumError
    assert error.offset == max(s for s in starts if s <= at)
    # The frames before the damaged one are all delivered, whatever the chunking.
    assert (
        messages
        == [EventStreamMessage(headers=tuple(h), payload=p) for h, p in frames][: starts.index(error.offset)]
    )


@given(frames=st.lists(frame_st, min_size=1, max_size=3), data=st.data())
def test_a_cut_stream_is_truncated_at_its_frame_start(
    frames: list[tuple[list[EventStreamHeader], bytes]], data: st.DataObject
) -> None:
    encoded = [encode_message(h, p) for h, p in frames]
    blob = b"".join(encoded)
    cut = data.draw(st.integers(0, len(blob)), label="cut")
    starts = [sum(len(f) for f in encoded[:i]) for i in range(len(encoded) + 1)]
    if cut in starts:
        complete = starts.index(cut)
        assert len(feed_all(EventStreamDecoder(), _random_chunks(data, blob[:cut]))) == complete
    else:
        with pytest.raises(TruncatedStream) as info:
            feed_all(EventStreamDecoder(), _random_chunks(data, blob[:cut]))
        assert info.value.offset == max(s for s in starts if s < cut)
