"""Streamed top-level JSON array framing: an incremental element scanner and an encoder.  No I/O.

Gemini's ``streamGenerateContent`` without ``alt=sse`` answers ``application/json``:
one JSON array sent element by element, each element a pretty-printed response
object.  The real layout is ``[`` + elements joined by ``"\\n,\\r\\n"`` + ``"\\n]"``.
This layer cuts the array into its elements and reports each element's exact text;
the vendor layer parses that text with ``json.loads``.

What the scanner checks: the array's punctuation (``[``, ``,`` between elements,
``]``, nothing but whitespace after it), that brackets inside an element balance and
match (``{]`` is an error), and that each element is valid UTF-8.  What it does not
check: the JSON grammar inside an element (``{1 2}`` passes; ``json.loads`` rejects
it later).  Whitespace is JSON's: space, tab, CR, LF.  A UTF-8 byte order mark at
the very start of the stream is skipped (RFC 8259 lets a parser ignore it); anywhere
else it is an error.  An element is a container (``{...}``, ``[...]``), a string,
or a scalar: a run of bytes up to the next whitespace or punctuation (numbers,
``true``, ``false``, ``null``, and anything else, left for ``json.loads`` to judge).

Errors are :class:`FramingError` with the stream offset of the offending byte.
``close()`` before the closing ``]`` raises :class:`TruncatedStream`, whose offset
is the start of the unfinished element or, between elements, the end of the stream.
Elements before a malformed spot are always delivered, whatever the chunking; the
error follows on the next call: a ``feed()`` that completes elements and then finds
a bad byte returns those elements and keeps the error, and the next ``feed()`` or
``close()`` raises it (the same object: same type, message and offset).  A call
that completed no element raises at once.  After ``close()``, or after the decoder
raised an error, ``feed()`` and ``close()`` raise :class:`UsageError`.

Strategy: an explicit state machine whose state survives across chunks, so every
byte is scanned once.  Between elements, a transition table maps (state, kind of
byte) to the next state.  Inside an element, regular expressions jump over the
uninteresting bytes in C: to the next quote or bracket in a container, over a whole
string body (escapes included), to the end of a scalar.  The state inside an element
is the stack of open brackets, "in a string", and "a backslash ended the last
chunk".  The element's bytes are collected in a ``bytearray`` that is only appended
to, and decoded once when the element ends.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import TYPE_CHECKING, Literal, NoReturn

from conformance.errors import FramingError, TruncatedStream, UsageError
from conformance.framing.messages import JSONArrayElement

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["JSONArrayDecoder", "encode"]


class _State(Enum):
    START = "before the opening '['"
    FIRST = "after '['"
    NEXT = "after ','"
    AFTER = "after an element"
    ELEMENT = "inside an element"
    DONE = "after the closing ']'"


class _Kind(Enum):
    """What a byte means between elements."""

    OPEN = "["
    CLOSE = "]"
    COMMA = ","
    STRAY = "stray punctuation"  # '}' or ':' can never start an element
    VALUE = "start of a value"  # '{', '"', or the first byte of a scalar


#: Every legal move between elements; a (state, kind) pair missing here is an error.
_TRANSITIONS: dict[tuple[_State, _Kind], _State] = {
    (_State.START, _Kind.OPEN): _State.FIRST,
    (_State.FIRST, _Kind.CLOSE): _State.DONE,
    (_State.FIRST, _Kind.OPEN): _State.ELEMENT,
    (_State.FIRST, _Kind.VALUE): _State.ELEMENT,
    (_State.NEXT, _Kind.OPEN): _State.ELEMENT,
    (_State.NEXT, _Kind.VALUE): _State.ELEMENT,
    (_State.AFTER, _Kind.COMMA): _State.NEXT,
    (_State.AFTER, _Kind.CLOSE): _State.DONE,
}

#: The error for a byte that has no transition, by state.
_UNEXPECTED: dict[_State, str] = {
    _State.START: "expected '[' at the start of a JSON array stream",
    _State.FIRST: "expected an element or ']' after '['",
    _State.NEXT: "expected an element after ','",
    _State.AFTER: "expected ',' or ']' after an element",
    _State.DONE: "data after the closing ']'",
}

#: What ``close()`` says in each state but ELEMENT and DONE.
_MISSING: dict[_State, str] = {
    _State.START: "the stream ended before the opening '['",
    _State.FIRST: "the stream ended after '[': expected an element or ']'",
    _State.NEXT: "the stream ended after ',': expected an element and the closing ']'",
    _State.AFTER: "the stream ended after an element: expected ',' or ']'",
}

_KINDS: dict[int, _Kind] = {
    ord("["): _Kind.OPEN,
    ord("]"): _Kind.CLOSE,
    ord(","): _Kind.COMMA,
    ord("}"): _Kind.STRAY,
    ord(":"): _Kind.STRAY,
}

_BOM = b"\xef\xbb\xbf"
_QUOTE = ord('"')
_BACKSLASH = ord("\\")
_OPENERS = {ord("{"): ord("}"), ord("["): ord("]")}

#: The next byte that is not JSON whitespace.
_NOT_SPACE = re.compile(rb"[^ \t\r\n]")
#: The next byte that matters in a container, outside strings.
_CONTAINER_STOP = re.compile(rb'[\[\]{}"]')
#: A string body: ends before the closing quote, or before a backslash that ends the chunk.
_STRING_BODY = re.compile(rb'(?:[^"\\]++|\\.)*+', re.DOTALL)
#: The byte that ends a scalar element (not part of it).
_SCALAR_END = re.compile(rb'[ \t\r\n,\[\]{}":]')


def _show(byte: int) -> str:
    """A byte for an error message: ``'d'`` when printable ASCII, else ``byte 0xc3``."""
    if 0x20 < byte < 0x7F:
        return repr(chr(byte))
    return f"byte 0x{byte:02x}"


class JSONArrayDecoder:
    """Incremental decoder of a streamed JSON array: bytes in, :class:`JSONArrayElement` out."""

    def __init__(self) -> None:
        self._state = _State.START
        self._consumed = 0  # bytes fed before the current chunk
        self._closed = False
        self._error: FramingError | None = None  # found after some elements; raised by the next call
        self._failed: str | None = None  # the message of the error already raised
        self._blocked = False  # closed, failed or holding an error: every call goes to _refuse
        self._bom_length = 0  # bytes of a leading UTF-8 BOM seen so far
        # The element being scanned (meaningful in state ELEMENT only).
        self._element = bytearray()  # its bytes from earlier chunks
        self._element_start = 0  # its stream offset
        self._stack: list[tuple[int, int]] = []  # open brackets: (byte, stream offset)
        self._in_string = False
        self._escape = False  # the previous chunk ended with the backslash of an escape
        self._scalar = False

    def feed(self, data: bytes | bytearray | memoryview) -> list[JSONArrayElement]:
        """Take the next chunk (any bytes-like object); return the elements it completed (maybe none)."""
        if self._blocked:
            self._refuse("feed")
        if not isinstance(data, bytes):
            if not isinstance(data, bytearray | memoryview):
                msg = f"feed() takes bytes, not {type(data).__name__}"
                raise UsageError(msg)
            data = bytes(data)
        out: list[JSONArrayElement] = []
        try:
            self._scan(data, out)
        except FramingError as exc:
            self._blocked = True
            if out:  # deliver what came before the bad byte; the next call raises
                self._error = exc
                return out
            self._failed = exc.message
            raise
        self._consumed += len(data)
        return out

    def close(self) -> list[JSONArrayElement]:
        """End of input: nothing more to report, or :class:`TruncatedStream`."""
        if self._blocked:
            self._refuse("close")
        self._closed = self._blocked = True
        state = self._state
        if state is _State.DONE:
            return []
        if state is _State.ELEMENT:
            if self._in_string:
                what = "a string"
            elif self._stack:
                byte, offset = self._stack[-1]
                what = f"the {chr(byte)!r} opened at byte {offset}"
            else:
                what = "a scalar"
            msg = f"the stream ended inside an element (in {what}): expected its end and the closing ']'"
            raise TruncatedStream(msg, offset=self._element_start)
        msg = _MISSING[state]
        if state is _State.START and 0 < self._bom_length < len(_BOM):
            msg = "the stream ended inside the UTF-8 byte order mark"
        raise TruncatedStream(msg, offset=self._consumed)

    def _refuse(self, method: str) -> NoReturn:
        """Raise for a call on a blocked decoder: the error it holds, else :class:`UsageError`."""
        if self._error is not None:
            exc, self._error = self._error, None
            self._failed = exc.message
            raise exc
        if self._failed is not None:
            msg = f"{method}() on a JSON array decoder that already failed ({self._failed})"
            raise UsageError(msg)
        msg = f"{method}() on a JSON array decoder that is already closed"
        raise UsageError(msg)

    # -- scanning ---------------------------------------------------------------------

    def _scan(self, data: bytes, out: list[JSONArrayElement]) -> None:
        """Run the state machine over ``data``, appending finished elements to ``out``."""
        base = self._consumed
        size = len(data)
        pos = 0
        element_from = 0  # where the current element's bytes begin in ``data``
        while pos < size:
            if self._state is _State.ELEMENT:
                end = self._scan_element(data, pos, base)
                if end < 0:
                    break
                self._finish_element(data, element_from, end, out)
                pos = end
                continue
            at = base + pos
            if self._state is _State.START and at == self._bom_length < len(_BOM):
                if data[pos] == _BOM[at]:  # the BOM so far, all from offset 0
                    self._bom_length += 1
                    pos += 1
                    continue
                if at > 0:
                    msg = (
                        f"incomplete UTF-8 byte order mark at the start of the stream, got {_show(data[pos])}"
                    )
                    raise FramingError(msg, offset=at)
            match = _NOT_SPACE.search(data, pos)
            if match is None:
                return
            pos = match.start()
            byte = data[pos]
            kind = _KINDS.get(byte, _Kind.VALUE)
            state = _TRANSITIONS.get((self._state, kind))
            if state is None:
                raise FramingError(self._unexpected(byte), offset=base + pos)
            if state is _State.ELEMENT:
                self._start_element(byte, base + pos)
                element_from = pos
            self._state = state
            pos += 1
        if self._state is _State.ELEMENT:  # the element goes on in the next chunk
            self._element += data[element_from:]

    def _unexpected(self, byte: int) -> str:
        msg = f"{_UNEXPECTED[self._state]}, got {_show(byte)}"
        if self._state is _State.NEXT and byte == ord("]"):
            msg += " (a trailing comma)"
        elif byte in (ord("}"), ord("]")):
            msg += f" (unbalanced {chr(byte)!r})"
        return msg

    def _start_element(self, byte: int, offset: int) -> None:
        self._element_start = offset
        self._element = bytearray()
        self._stack = []
        self._in_string = False
        self._escape = False
        self._scalar = False
        if byte in _OPENERS:
            self._stack.append((byte, offset))
        elif byte == _QUOTE:
            self._in_string = True
        else:
            self._scalar = True

    def _scan_element(self, data: bytes, pos: int, base: int) -> int:
        """Scan an element from ``pos``; return the index just past its end, or -1 if unfinished.

        A scalar's end is the index of the byte that ends it (not part of it).
        """
        size = len(data)
        stack = self._stack
        while pos < size:
            if self._escape:  # the escaped byte is the first of this chunk
                self._escape = False
                pos += 1
                continue
            if self._in_string:
                match = _STRING_BODY.match(data, pos)
                pos = match.end() if match else pos
                if pos == size:
                    return -1
                if data[pos] == _BACKSLASH:  # only possible as the chunk's last byte
                    self._escape = True
                    pos += 1
                    continue
                self._in_string = False  # the closing quote
                pos += 1
                if not stack:
                    return pos
                continue
            if self._scalar:
                match = _SCALAR_END.search(data, pos)
                return -1 if match is None else match.start()
            match = _CONTAINER_STOP.search(data, pos)
            if match is None:
                return -1
            pos = match.start()
            byte = data[pos]
            if byte == _QUOTE:
                self._in_string = True
            elif byte in _OPENERS:
                stack.append((byte, base + pos))
            else:
                opener, opened_at = stack.pop()
                if _OPENERS[opener] != byte:
                    msg = (
                        f"mismatched {chr(byte)!r}: expected {chr(_OPENERS[opener])!r} "
                        f"to close the {chr(opener)!r} at byte {opened_at}"
                    )
                    raise FramingError(msg, offset=base + pos)
                if not stack:
                    return pos + 1
            pos += 1
        return -1

    def _finish_element(self, data: bytes, start: int, end: int, out: list[JSONArrayElement]) -> None:
        """Emit the element made of the saved bytes plus ``data[start:end]``."""
        raw = bytes(self._element) + data[start:end] if self._element else data[start:end]
        self._element = bytearray()
        self._state = _State.AFTER
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            msg = f"invalid UTF-8 in a JSON array element: {exc.reason}"
            raise FramingError(msg, offset=self._element_start + exc.start) from None
        out.append(JSONArrayElement(text=text, offset=self._element_start))


_Style = Literal["gemini", "compact", "pretty"]

#: (opening, separator, closing) of each layout.
_LAYOUTS: dict[str, tuple[str, str, str]] = {
    "gemini": ("[", "\n,\r\n", "\n]"),
    "compact": ("[", ",", "]"),
    "pretty": ("[\n  ", ",\n  ", "\n]\n"),
}
#: An empty array in each layout.
_EMPTY: dict[str, str] = {"gemini": "[\n]", "compact": "[]", "pretty": "[]\n"}
_JSON_SPACE = " \t\r\n"


def encode(elements: Iterable[str], *, style: _Style = "gemini") -> bytes:
    """Encode JSON texts as one streamed JSON array, UTF-8.

    ``gemini`` is the real layout, ``[`` + elements joined by ``"\\n,\\r\\n"`` +
    ``"\\n]"`` (so ``[]`` becomes ``"[\\n]"``); ``compact`` is ``[e1,e2]``;
    ``pretty`` puts each element on its own line, indented by two spaces, and ends
    with ``"]\\n"``.  Elements are written as given, not re-indented and not
    validated as JSON (so broken elements can be encoded on purpose); an element
    that is empty or starts or ends with whitespace raises :class:`UsageError`,
    because a decoder could not give it back unchanged.
    """
    if style not in _LAYOUTS:
        msg = f"style must be one of {sorted(_LAYOUTS)}, not {style!r}"
        raise UsageError(msg)
    texts = list(elements)
    for index, text in enumerate(texts):
        if not text or text[0] in _JSON_SPACE or text[-1] in _JSON_SPACE:
            msg = f"JSON array element {index} is empty or has whitespace around it: {text[:60]!r}"
            raise UsageError(msg)
    opening, separator, closing = _LAYOUTS[style]
    body = opening + separator.join(texts) + closing if texts else _EMPTY[style]
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError as exc:
        msg = f"JSON text cannot be encoded as UTF-8: {exc.reason}"
        raise UsageError(msg) from None
