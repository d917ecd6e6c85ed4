"""What the framing decoders produce, and the one shape every decoder has.  No I/O.

Each framing turns bytes into *messages*: SSE events, NDJSON lines, JSON-array
elements, AWS eventstream frames.  Messages are frozen dataclasses; ``offset`` is the
byte offset in the stream where the message starts.  It is informational and left out
of equality, so that the same stream gives equal messages under every chunking and
an encoder's output can be compared with what it was given.

Every decoder is a sans-IO state machine::

    decoder.feed(chunk) -> list[Message]   # "need more data" is an empty list
    decoder.close()     -> list[Message]   # end of input; raises TruncatedStream
                                           # when a message is half finished
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol, TypeAlias, TypeVar
from uuid import UUID

__all__ = [
    "Decoder",
    "EventStreamHeader",
    "EventStreamMessage",
    "HeaderType",
    "HeaderValue",
    "JSONArrayElement",
    "Message",
    "NDJSONLine",
    "SSEComment",
    "SSEEvent",
    "SSEStrayLine",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class SSEEvent:
    """A dispatched server-sent event (WHATWG "dispatch the event").

    ``event`` is the value of the event's last ``event:`` field, ``None`` when it had
    none (WHATWG then says ``message``; keeping ``None`` lets vendor decoders tell a
    named ``event: message`` from an unnamed one).  ``id`` is the last-event-ID buffer
    at dispatch time, ``retry`` the reconnection time set by this event, if any.
    """

    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None
    offset: int = field(default=-1, compare=False)

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {"framing": "sse"}
        if self.event is not None:
            out["event"] = self.event
        out["data"] = self.data
        if self.id is not None:
            out["id"] = self.id
        if self.retry is not None:
            out["retry"] = self.retry
        out["offset"] = self.offset
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class SSEComment:
    """A comment line (``:`` first), e.g. a keep-alive; the text after the colon."""

    text: str
    offset: int = field(default=-1, compare=False)

    def as_json(self) -> dict[str, object]:
        return {"framing": "sse", "comment": self.text, "offset": self.offset}


@dataclass(frozen=True, slots=True, kw_only=True)
class SSEStrayLine:
    """A line whose field name is not ``data``/``event``/``id``/``retry``.

    WHATWG ignores such lines; a decoder reports them only when asked, because one
    vendor (Gemini) appends a bare multi-line JSON error object without ``data:``.
    """

    text: str
    offset: int = field(default=-1, compare=False)

    def as_json(self) -> dict[str, object]:
        return {"framing": "sse", "stray": self.text, "offset": self.offset}


@dataclass(frozen=True, slots=True, kw_only=True)
class NDJSONLine:
    """One non-blank line of newline-delimited JSON, without its line end."""

    text: str
    offset: int = field(default=-1, compare=False)

    def as_json(self) -> dict[str, object]:
        return {"framing": "ndjson", "text": self.text, "offset": self.offset}


@dataclass(frozen=True, slots=True, kw_only=True)
class JSONArrayElement:
    """The text of one element of a streamed top-level JSON array."""

    text: str
    offset: int = field(default=-1, compare=False)

    def as_json(self) -> dict[str, object]:
        return {"framing": "json-array", "text": self.text, "offset": self.offset}


class HeaderType(IntEnum):
    """AWS eventstream header value types (the byte after the header name)."""

    BOOL_TRUE = 0
    BOOL_FALSE = 1
    BYTE = 2
    SHORT = 3
    INTEGER = 4
    LONG = 5
    BYTE_ARRAY = 6
    STRING = 7
    TIMESTAMP = 8  # int64 milliseconds since the epoch
    UUID = 9


HeaderValue: TypeAlias = bool | int | bytes | str | UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class EventStreamHeader:
    """One header of an eventstream frame; ``type`` keeps the wire type for re-encoding."""

    name: str
    type: HeaderType
    value: HeaderValue


@dataclass(frozen=True, slots=True, kw_only=True)
class EventStreamMessage:
    """One AWS eventstream frame whose prelude and message CRC32s were verified."""

    headers: tuple[EventStreamHeader, ...]
    payload: bytes
    offset: int = field(default=-1, compare=False)

    def header(self, name: str) -> HeaderValue | None:
        """The value of the first header called ``name``, or ``None``."""
        for h in self.headers:
            if h.name == name:
                return h.value
        return None

    def as_json(self) -> dict[str, object]:
        headers: dict[str, object] = {}
        for h in self.headers:
            v = h.value
            headers[h.name] = v.hex() if isinstance(v, bytes) else str(v) if isinstance(v, UUID) else v
        try:
            payload: object = self.payload.decode("utf-8")
        except UnicodeDecodeError:
            payload = {"hex": self.payload.hex()}
        return {"framing": "eventstream", "headers": headers, "payload": payload, "offset": self.offset}


Message: TypeAlias = SSEEvent | SSEComment | SSEStrayLine | NDJSONLine | JSONArrayElement | EventStreamMessage

M_co = TypeVar("M_co", covariant=True)


class Decoder(Protocol[M_co]):
    """The shape of every framing decoder (sans-IO)."""

    def feed(self, data: bytes) -> Sequence[M_co]:
        """Take the next chunk of bytes; return the messages it completed."""
        ...

    def close(self) -> Sequence[M_co]:
        """End of input: return what the end completes, or raise ``TruncatedStream``."""
        ...
