"""AWS binary eventstream (``application/vnd.amazon.eventstream``): decoder and encoder.  No I/O.

Wire format of one frame (all integers big-endian)::

    | total_length u32 | headers_length u32 | prelude_crc u32 = CRC32(bytes 0..7) |
    | headers (headers_length bytes) | payload | message_crc u32 = CRC32(bytes 0..total_length-5) |
    header := name_len u8 | name (UTF-8) | type u8 | value      (types: see ``HeaderType``)

Limits follow botocore: headers <= 128 KiB, payload <= 24 MiB, and a frame is at least
16 bytes.  The encoder also keeps header names <= 255 bytes and variable-length header
values <= 32767 bytes (the AWS SDKs' limit); the decoder accepts whatever the u8/u16
length fields can express, as botocore does.  Duplicate header names are kept in order
(botocore rejects them; a conformance suite wants to be able to show them).

Strategy: the decoder keeps one ``bytearray`` of not-yet-decoded bytes and how many bytes
that buffer must hold before decoding can progress (12 for a prelude, else the pending
frame's ``total_length``), so byte-by-byte feeding does no work until a frame can
complete.  When it can, it walks frame offsets over one ``bytes`` object (the chunk itself
when it arrives on an empty buffer, else one copy of the buffer), with
``struct.unpack_from`` and ``zlib.crc32`` on slices, and compacts the buffer once per
``feed``, not once per frame: a whole body fed as one chunk decodes in linear time.
(Slicing ``bytes`` costs less than slicing a ``memoryview`` for frames of a few hundred
bytes, and the payload is a ``bytes`` slice in one step.)  The prelude CRC is checked as
soon as the 12 prelude bytes are present, so garbage fails before any body is awaited.
Header blocks repeat from frame to frame (Bedrock sends the same three headers on every
event), so parsed header tuples are cached by their raw bytes, and so is each header, for
blocks that differ in one header only (all values are immutable, so sharing is safe); a
block equal to the previous frame's is recognised in place, without copying or hashing it.
Both caches are small and bounded: they are emptied when full.

Errors: frames before a malformed spot are always delivered, whatever the chunking; the
error follows on the next call.  A ``feed()`` that completes frames and then meets a bad
frame (CRC, lengths, headers) returns those frames and keeps the error; the next
``feed()`` or ``close()`` raises it.  A call that completed no frame raises at once.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Final
from uuid import UUID
from zlib import crc32

from conformance._slots import NEW, slot_setters
from conformance.errors import ChecksumError, ConformanceError, FramingError, TruncatedStream, UsageError
from conformance.framing.messages import EventStreamHeader, EventStreamMessage, HeaderType

if TYPE_CHECKING:
    from collections.abc import Sequence

    from conformance.framing.messages import HeaderValue

__all__ = [
    "MAX_HEADERS_LENGTH",
    "MAX_PAYLOAD_LENGTH",
    "EventStreamDecoder",
    "encode_event",
    "encode_exception",
    "encode_message",
]

#: botocore's limits (``_MAX_HEADERS_LENGTH`` / ``_MAX_PAYLOAD_LENGTH``).
MAX_HEADERS_LENGTH: Final = 128 * 1024
MAX_PAYLOAD_LENGTH: Final = 24 * 1024 * 1024

_PRELUDE_LENGTH: Final = 12
_MIN_FRAME_LENGTH: Final = 16  # prelude + message CRC
_MAX_NAME_LENGTH: Final = 255
_MAX_VALUE_LENGTH: Final = 32767
_CACHE_ENTRIES: Final = 256  # per cache
_CACHE_MAX_KEY: Final = 256  # bytes of one header
_CACHE_MAX_BLOCK: Final = 1024  # bytes of one header block

_PRELUDE: Final = struct.Struct(">III")
_U32: Final = struct.Struct(">I")
_U16: Final = struct.Struct(">H")

#: Fixed-size integer header types: wire type -> (struct, smallest, largest).
_INT_TYPES: Final[dict[int, tuple[struct.Struct, int, int]]] = {
    HeaderType.BYTE: (struct.Struct(">b"), -(2**7), 2**7 - 1),
    HeaderType.SHORT: (struct.Struct(">h"), -(2**15), 2**15 - 1),
    HeaderType.INTEGER: (struct.Struct(">i"), -(2**31), 2**31 - 1),
    HeaderType.LONG: (struct.Struct(">q"), -(2**63), 2**63 - 1),
    HeaderType.TIMESTAMP: (struct.Struct(">q"), -(2**63), 2**63 - 1),
}
_TYPES: Final[dict[int, HeaderType]] = {int(t): t for t in HeaderType}
_TYPE_BY_CODE: Final = tuple(HeaderType(code) for code in range(len(HeaderType)))
_TRUE: Final = int(HeaderType.BOOL_TRUE)
_FALSE: Final = int(HeaderType.BOOL_FALSE)
_BYTE_ARRAY: Final = int(HeaderType.BYTE_ARRAY)
_STRING: Final = int(HeaderType.STRING)
_UUID: Final = int(HeaderType.UUID)
#: Integer-valued wire codes -> struct, keyed by plain ints (an IntEnum hashes slowly).
_UNPACKERS: Final = {int(t): packer for t, (packer, _lo, _hi) in _INT_TYPES.items()}
#: Wire code -> value size, for the fixed-size types.
_VALUE_SIZES: Final = {_TRUE: 0, _FALSE: 0, _UUID: 16} | {code: p.size for code, p in _UNPACKERS.items()}


# Building frames.  The frozen dataclass ``__init__`` (keyword arguments,
# ``object.__setattr__`` per field) costs as much as checking a frame's two CRCs, so the
# slots are set through their descriptors -- only while EventStreamMessage is exactly
# today's plain slotted class.
_MESSAGE_SLOTS: Final = ("headers", "payload", "offset")
_MESSAGE_SETTERS = slot_setters(EventStreamMessage, _MESSAGE_SLOTS)
if _MESSAGE_SETTERS is not None:
    _set_headers, _set_payload, _set_offset = _MESSAGE_SETTERS

    def _make_message(
        headers: tuple[EventStreamHeader, ...], payload: bytes, offset: int
    ) -> EventStreamMessage:
        message: EventStreamMessage = NEW(EventStreamMessage)
        _set_headers(message, headers)
        _set_payload(message, payload)
        _set_offset(message, offset)
        return message

else:  # pragma: no cover - only if messages.EventStreamMessage changes shape

    def _make_message(
        headers: tuple[EventStreamHeader, ...], payload: bytes, offset: int
    ) -> EventStreamMessage:
        return EventStreamMessage(headers=headers, payload=payload, offset=offset)


# --------------------------------------------------------------------------- decoder


class EventStreamDecoder:
    """Incremental eventstream decoder: ``feed(bytes) -> list[EventStreamMessage]``.

    Every error is a :class:`~conformance.errors.FramingError` (``ChecksumError`` for a
    CRC mismatch) or, from :meth:`close`, a :class:`~conformance.errors.TruncatedStream`;
    its ``offset`` is the stream offset of the offending frame's first byte.  Frames
    completed before the bad one are returned first; the error is then raised by the
    next call (at once when the call completed no frame).  After an error the decoder
    is broken: later ``feed``/``close`` calls raise the same error object.
    """

    __slots__ = (
        "_base",
        "_block_cache",
        "_buf",
        "_closed",
        "_error",
        "_header_cache",
        "_max_headers",
        "_max_payload",
        "_need",
    )

    def __init__(
        self, *, max_headers_length: int = MAX_HEADERS_LENGTH, max_payload_length: int = MAX_PAYLOAD_LENGTH
    ) -> None:
        for name, limit in (
            ("max_headers_length", max_headers_length),
            ("max_payload_length", max_payload_length),
        ):
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
                raise UsageError(f"{name} must be a non-negative int, got {limit!r}")
        self._max_headers = max_headers_length
        self._max_payload = max_payload_length
        self._buf = bytearray()  # undecoded bytes; _buf[0] is stream offset _base
        self._base = 0
        self._need = _PRELUDE_LENGTH  # bytes _buf must hold before decoding can progress
        self._closed = False
        self._error: ConformanceError | None = None
        self._block_cache: dict[bytes, tuple[EventStreamHeader, ...]] = {}
        self._header_cache: dict[bytes, EventStreamHeader] = {}

    def feed(self, data: bytes | bytearray | memoryview) -> list[EventStreamMessage]:
        """Take the next chunk; return the frames it completed (empty: need more)."""
        if self._closed:
            raise UsageError("feed() after close()")
        if self._error is not None:
            raise self._error
        if not isinstance(data, bytes):
            if not isinstance(data, bytearray | memoryview):
                raise UsageError(f"feed() takes bytes, got {type(data).__name__}")
            data = bytes(data)
        buf = self._buf
        buffered = bool(buf)
        if buffered:
            buf += data
            if len(buf) < self._need:
                return []
            source = bytes(buf)
        else:
            if len(data) < self._need:
                buf += data
                return []
            source = data
        out: list[EventStreamMessage] = []
        try:
            used = self._walk(source, out)
        except ConformanceError as exc:
            self._error = exc
            if out:  # deliver the frames before the bad one; the next call raises
                return out
            raise
        if buffered:
            del buf[:used]
        else:
            buf += memoryview(data)[used:]
        self._base += used
        return out

    def close(self) -> list[EventStreamMessage]:
        """End of input: ``[]``, or ``TruncatedStream`` when a frame is half received."""
        if self._error is not None:
            raise self._error
        self._closed = True
        have = len(self._buf)
        if have:
            if have < _PRELUDE_LENGTH:
                what = f"got {have} of {_PRELUDE_LENGTH} prelude bytes"
            else:
                what = f"got {have} of {self._need} bytes"
            self._error = TruncatedStream(
                f"stream ended inside an eventstream frame: {what}", offset=self._base
            )
            raise self._error
        return []

    def _walk(self, view: bytes, out: list[EventStreamMessage]) -> int:
        """Decode every complete frame at the start of ``view``; return the bytes used."""
        size = len(view)
        pos = 0
        base = self._base
        unpack_prelude = _PRELUDE.unpack_from
        unpack_u32 = _U32.unpack_from
        make = _make_message
        block_cache = self._block_cache
        max_headers = self._max_headers
        max_payload = self._max_payload
        # The previous frame's header block and its headers (an empty block parses to ()).
        last_key = b""
        last_headers: tuple[EventStreamHeader, ...] = ()
        while size - pos >= _PRELUDE_LENGTH:
            total, headers_length, prelude_crc = unpack_prelude(view, pos)
            actual = crc32(view[pos : pos + 8])
            if actual != prelude_crc:
                raise ChecksumError(
                    f"prelude CRC32 mismatch: frame says 0x{prelude_crc:08x}, bytes 0..7 give 0x{actual:08x}",
                    offset=base + pos,
                )
            if (
                total < _MIN_FRAME_LENGTH
                or headers_length > total - _MIN_FRAME_LENGTH
                or headers_length > max_headers
                or total - _MIN_FRAME_LENGTH - headers_length > max_payload
            ):
                raise self._bad_lengths(total, headers_length, base + pos)
            end = pos + total
            if end > size:
                self._need = total
                return pos
            message_crc = unpack_u32(view, end - 4)[0]
            actual = crc32(view[pos + 8 : end - 4], actual)  # continues from bytes 0..7
            if actual != message_crc:
                raise ChecksumError(
                    f"message CRC32 mismatch: frame says 0x{message_crc:08x}, "
                    f"bytes 0..{total - 5} give 0x{actual:08x}",
                    offset=base + pos,
                )
            start = pos + _PRELUDE_LENGTH
            stop = start + headers_length
            if headers_length == len(last_key) and view.startswith(last_key, start):
                headers = last_headers  # the same block as the frame before (no copy, no hash)
            elif headers_length <= _CACHE_MAX_BLOCK:
                key = view[start:stop]
                found = block_cache.get(key)
                if found is None:
                    found = self._parse_headers(view, start, stop, pos)
                    if len(block_cache) >= _CACHE_ENTRIES:
                        block_cache.clear()
                    block_cache[key] = found
                headers = last_headers = found
                last_key = key
            else:
                headers = self._parse_headers(view, start, stop, pos)
            out.append(make(headers, view[stop : end - 4], base + pos))
            pos = end
        self._need = _PRELUDE_LENGTH
        return pos

    def _bad_lengths(self, total: int, headers_length: int, offset: int) -> FramingError:
        if total < _MIN_FRAME_LENGTH:
            problem = f"total_length {total} is below the {_MIN_FRAME_LENGTH}-byte minimum"
        elif headers_length > total - _MIN_FRAME_LENGTH:
            problem = f"headers_length {headers_length} exceeds total_length {total} - {_MIN_FRAME_LENGTH}"
        elif headers_length > self._max_headers:
            problem = f"headers_length {headers_length} exceeds the limit of {self._max_headers}"
        else:
            payload = total - _MIN_FRAME_LENGTH - headers_length
            problem = f"payload length {payload} exceeds the limit of {self._max_payload}"
        return FramingError(f"bad eventstream prelude: {problem}", offset=offset)

    def _parse_headers(
        self, view: bytes, start: int, stop: int, frame_pos: int
    ) -> tuple[EventStreamHeader, ...]:
        """Parse the header block ``view[start:stop]`` of the frame at ``view[frame_pos]``.

        Each header's extent is found from its length bytes first; a header whose exact
        bytes were seen before comes from the cache.  Dispatches on the plain wire code,
        not on ``HeaderType`` members: enum lookups and hashing cost more than parsing.
        """
        offset = self._base + frame_pos
        cache = self._header_cache
        headers: list[EventStreamHeader] = []
        p = start
        while p < stop:
            name_end = p + 1 + view[p]
            if name_end >= stop:  # the type byte must follow the name
                where = f"header at frame byte {p - frame_pos}"
                raise _header_error(where, "name runs past the headers area", offset)
            code = view[name_end]
            value_start = name_end + 1
            size = _VALUE_SIZES.get(code, -1)
            if size >= 0:
                end = value_start + size
            elif code in (_STRING, _BYTE_ARRAY):
                if value_start + 2 > stop:
                    raise _header_error(
                        _where(view, p, name_end), "value length runs past the headers area", offset
                    )
                end = value_start + 2 + (view[value_start] << 8 | view[value_start + 1])
            else:
                raise _header_error(_where(view, p, name_end), f"unknown value type {code}", offset)
            if end > stop:
                problem = f"{_TYPES[code].name} value runs past the headers area"
                raise _header_error(_where(view, p, name_end), problem, offset)
            if end - p <= _CACHE_MAX_KEY:
                key = view[p:end]
                header = cache.get(key)
                if header is None:
                    header = _decode_header(view, p, name_end, code, end, at=p - frame_pos, offset=offset)
                    if len(cache) >= _CACHE_ENTRIES:
                        cache.clear()
                    cache[key] = header
            else:
                header = _decode_header(view, p, name_end, code, end, at=p - frame_pos, offset=offset)
            headers.append(header)
            p = end
        return tuple(headers)


def _decode_header(
    view: bytes, p: int, name_end: int, code: int, end: int, *, at: int, offset: int
) -> EventStreamHeader:
    """The header at ``view[p:end]`` (frame byte ``at``); its extent and type are checked."""
    try:
        name = str(view[p + 1 : name_end], "utf-8")
    except UnicodeDecodeError as exc:
        where = f"header at frame byte {at}"
        raise _header_error(where, f"name is not valid UTF-8 ({exc.reason})", offset) from None
    value_start = name_end + 1
    value: HeaderValue
    if code <= _FALSE:
        value = code == _TRUE
    elif code == _STRING:
        try:
            value = str(view[value_start + 2 : end], "utf-8")
        except UnicodeDecodeError as exc:
            problem = f"string value is not valid UTF-8 ({exc.reason})"
            raise _header_error(f"header {name!r}", problem, offset) from None
    elif code == _BYTE_ARRAY:
        value = view[value_start + 2 : end]
    elif code == _UUID:
        value = UUID(bytes=view[value_start:end])
    else:
        value = _UNPACKERS[code].unpack_from(view, value_start)[0]
    return EventStreamHeader(name=name, type=_TYPE_BY_CODE[code], value=value)


def _where(view: bytes, p: int, name_end: int) -> str:
    return f"header {str(view[p + 1 : name_end], 'utf-8', 'replace')!r}"


def _header_error(where: str, problem: str, offset: int) -> FramingError:
    return FramingError(f"bad eventstream header: {where}: {problem}", offset=offset)


# --------------------------------------------------------------------------- encoder


def encode_message(headers: Sequence[EventStreamHeader], payload: bytes) -> bytes:
    """One complete frame (both CRC32s computed); ``UsageError`` for unencodable input."""
    if not isinstance(payload, bytes):
        if not isinstance(payload, bytearray | memoryview):
            raise UsageError(f"payload must be bytes, got {type(payload).__name__}")
        payload = bytes(payload)
    block = b"".join([_encode_header(h) for h in headers])
    if len(block) > MAX_HEADERS_LENGTH:
        raise UsageError(f"headers take {len(block)} bytes, over the limit of {MAX_HEADERS_LENGTH}")
    if len(payload) > MAX_PAYLOAD_LENGTH:
        raise UsageError(f"payload has {len(payload)} bytes, over the limit of {MAX_PAYLOAD_LENGTH}")
    total = _MIN_FRAME_LENGTH + len(block) + len(payload)
    head = struct.pack(">II", total, len(block))
    frame = b"".join([head, _U32.pack(crc32(head)), block, payload])
    return frame + _U32.pack(crc32(frame))


def encode_event(event_type: str, payload: bytes, *, content_type: str = "application/json") -> bytes:
    """A ``:message-type: event`` frame, headers in the order Bedrock sends them."""
    return encode_message(
        (
            _string(":event-type", event_type),
            _string(":content-type", content_type),
            _string(":message-type", "event"),
        ),
        payload,
    )


def encode_exception(exception_type: str, payload: bytes) -> bytes:
    """A ``:message-type: exception`` frame, e.g. ``throttlingException`` (FORMATS.md §5)."""
    return encode_message(
        (
            _string(":exception-type", exception_type),
            _string(":content-type", "application/json"),
            _string(":message-type", "exception"),
        ),
        payload,
    )


def _string(name: str, value: str) -> EventStreamHeader:
    return EventStreamHeader(name=name, type=HeaderType.STRING, value=value)


def _encode_header(header: EventStreamHeader) -> bytes:
    name = _utf8_bytes(header.name, "header name")
    if len(name) > _MAX_NAME_LENGTH:
        raise UsageError(f"header name {header.name[:40]!r}... is {len(name)} bytes, over {_MAX_NAME_LENGTH}")
    code = header.type
    header_type = _TYPES.get(code) if isinstance(code, int) and not isinstance(code, bool) else None
    if header_type is None:
        raise UsageError(f"header {header.name!r}: unknown header type {header.type!r}")
    head = bytes((len(name),)) + name + bytes((header_type,))
    value = header.value
    if header_type is HeaderType.BOOL_TRUE or header_type is HeaderType.BOOL_FALSE:
        wanted = header_type is HeaderType.BOOL_TRUE
        if value is not wanted:
            raise UsageError(f"header {header.name!r}: type {header_type.name} needs value {wanted}")
        return head
    if header_type in _INT_TYPES:
        packer, lo, hi = _INT_TYPES[header_type]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise UsageError(f"header {header.name!r}: {header_type.name} needs an int in [{lo}, {hi}]")
        return head + packer.pack(value)
    if header_type is HeaderType.UUID:
        if not isinstance(value, UUID):
            raise UsageError(f"header {header.name!r}: UUID needs a uuid.UUID value")
        return head + value.bytes
    if header_type is HeaderType.STRING:
        if not isinstance(value, str):
            raise UsageError(f"header {header.name!r}: STRING needs a str value")
        raw = _utf8_bytes(value, f"header {header.name!r} value")
    else:
        if not isinstance(value, bytes):
            raise UsageError(f"header {header.name!r}: BYTE_ARRAY needs a bytes value")
        raw = value
    if len(raw) > _MAX_VALUE_LENGTH:
        raise UsageError(f"header {header.name!r}: value is {len(raw)} bytes, over {_MAX_VALUE_LENGTH}")
    return head + _U16.pack(len(raw)) + raw


def _utf8_bytes(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise UsageError(f"{what} must be a str, got {type(text).__name__}")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UsageError(f"{what} cannot be encoded as UTF-8 ({exc.reason})") from None
