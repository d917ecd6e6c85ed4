"""Newline-delimited JSON framing: an incremental line decoder and an encoder.  No I/O.

Used by the Ollama native API (``application/x-ndjson``) and Cohere's v1 chat stream
(``application/stream+json``): one JSON text per line.  This layer only finds the
lines; the vendor layer parses their JSON.

Decisions (each one is tested):

* A line ends at LF.  One CR right before the LF is part of the line end (CRLF), also
  when the CR and the LF arrive in different chunks.  A CR anywhere else is content:
  a bare CR does not end a line.
* Lines that are empty or hold only spaces, tabs and CRs are skipped.  Every other
  line is reported as it is, without its line end; no other whitespace is stripped.
* A UTF-8 byte order mark is not special: it stays in the first line's text (where
  the vendor layer's JSON parser will reject it).
* Line text is decoded as strict UTF-8 once the whole line is known, so a character
  split across chunks is fine; invalid UTF-8 raises :class:`FramingError` whose
  ``offset`` is the stream offset of the first bad byte.
* At :meth:`NDJSONDecoder.close`, a final non-blank line without a trailing LF is
  reported (a lone CR at its end is dropped as half a CRLF).  Writers often omit the
  last newline, and NDJSON cannot tell a cut line from a complete one anyway:
  truncation is detected above this layer (e.g. Ollama's missing ``done: true``).
  So ``close()`` never raises :class:`TruncatedStream`.
* Lines before a malformed spot are always delivered, whatever the chunking; the
  error follows on the next call.  When a call finds the bad byte after completing
  lines, it returns those lines and keeps the error; the next ``feed()`` or
  ``close()`` raises it (the same object, so the same type, message and offset).  A
  call that completed no line raises at once.
* After ``close()``, or after the decoder raised an error, ``feed()`` and ``close()``
  raise :class:`UsageError`.

Strategy: only the bytes of the newest chunk are searched for LF (``bytes.find``, in
C); the unfinished line is kept in a ``bytearray`` that is only appended to, and is
joined with the chunk's head once its LF arrives.  Every byte is therefore searched
once and copied at most twice, whatever the chunking: the decoder is linear.  The
complete lines of a chunk go in bulk (one split, decoding and building by ``map``)
when the chunk has no CR and no line that could be blank; otherwise, or when a line
is not valid UTF-8, line by line.
"""

from __future__ import annotations

from itertools import accumulate
from operator import add
from typing import TYPE_CHECKING, Literal, NoReturn

from conformance._slots import NEW, slot_setters
from conformance.errors import FramingError, UsageError
from conformance.framing.messages import NDJSONLine

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["NDJSONDecoder", "encode"]

_LF = b"\n"
_CR = 13
#: Bytes that make a line blank when it holds nothing else.
_BLANK = b" \t\r"
#: Lines ending in a chunk that holds none of these and does not start with LF are neither
#: blank (empty, or ending in a space or tab) nor ending in CR.
_NOT_BULK = (b"\r", b"\n\n", b" \n", b"\t\n")

# Building lines.  The frozen dataclass ``__init__`` (``object.__setattr__`` per field)
# costs as much as finding the line, so the slots are set through their descriptors --
# only while NDJSONLine is exactly today's plain slotted class.
_LINE_SETTERS = slot_setters(NDJSONLine, ("text", "offset"))
if _LINE_SETTERS is not None:
    _set_text, _set_offset = _LINE_SETTERS

    def _make_line(text: str, offset: int) -> NDJSONLine:
        line: NDJSONLine = NEW(NDJSONLine)
        _set_text(line, text)
        _set_offset(line, offset)
        return line

else:  # pragma: no cover - only if messages.NDJSONLine changes shape

    def _make_line(text: str, offset: int) -> NDJSONLine:
        return NDJSONLine(text=text, offset=offset)


class NDJSONDecoder:
    """Incremental NDJSON decoder: bytes in, :class:`NDJSONLine` messages out."""

    def __init__(self) -> None:
        self._pending = bytearray()  # the unfinished line, without any LF
        self._pending_start = 0  # stream offset of ``_pending[0]``
        self._consumed = 0  # bytes fed so far
        self._closed = False
        self._error: FramingError | None = None  # found after some lines; raised by the next call
        self._failed: str | None = None  # the message of the error already raised
        self._blocked = False  # closed, failed or holding an error: every call goes to _refuse

    def feed(self, data: bytes | bytearray | memoryview) -> list[NDJSONLine]:
        """Take the next chunk (any bytes-like object); return the lines it completed (maybe none)."""
        if self._blocked:
            self._refuse("feed")
        if not isinstance(data, bytes):
            if not isinstance(data, bytearray | memoryview):
                msg = f"feed() takes bytes, not {type(data).__name__}"
                raise UsageError(msg)
            data = bytes(data)
        base = self._consumed
        out: list[NDJSONLine] = []
        end = data.find(_LF)
        if end < 0:
            self._pending += data
            self._consumed += len(data)
            return out
        last = data.rfind(_LF)
        if self._bulk(data, last, base, out):
            self._pending = bytearray(data[last + 1 :])
            self._pending_start = base + last + 1
            self._consumed += len(data)
            return out
        try:
            # The first line of the chunk may have started in an earlier chunk.
            self._pending += data[:end]
            self._emit(bytes(self._pending), self._pending_start, out)
            start = end + 1
            while (end := data.find(_LF, start)) >= 0:
                self._emit(data[start:end], base + start, out)
                start = end + 1
        except FramingError as exc:
            return self._fail(exc, out)
        self._pending = bytearray(data[start:])
        self._pending_start = base + start
        self._consumed += len(data)
        return out

    def close(self) -> list[NDJSONLine]:
        """End of input: return the final line if it had no trailing LF."""
        if self._blocked:
            self._refuse("close")
        self._closed = self._blocked = True
        out: list[NDJSONLine] = []
        line = bytes(self._pending)
        self._pending = bytearray()
        try:
            self._emit(line, self._pending_start, out)
        except FramingError as exc:
            return self._fail(exc, out)
        return out

    def _bulk(self, data: bytes, last: int, base: int, out: list[NDJSONLine]) -> bool:
        """Append the lines that end in ``data`` (its last LF at ``last``) to ``out`` in bulk,
        if it has no CR, no line that may be blank and no invalid UTF-8; ``False`` (and
        ``out`` untouched) otherwise."""
        head = data if last == len(data) - 1 else data[: last + 1]
        # With none of _NOT_BULK in ``head`` and no LF first, no line ending here is blank
        # or ends in CR, whatever the unfinished line in front of it holds.
        if head[0] == 10 or any(map(head.__contains__, _NOT_BULK)):
            return False
        pending = self._pending
        lines = head.split(_LF)
        lines.pop()  # the empty piece after the last LF
        first = len(lines[0])  # the bytes of the first line that are in this chunk
        if pending:
            lines[0] = bytes(pending) + lines[0]
        try:
            texts = list(map(bytes.decode, lines))
        except UnicodeDecodeError:
            return False  # line by line, to find the bad byte and deliver what precedes it
        # Line i > 0 starts after the LFs of lines 0..i-1: base + their lengths + i.
        offsets = accumulate(map(len, lines[1:-1]), initial=base + first + 1)
        starts = [self._pending_start, *map(add, offsets, range(len(lines) - 1))]
        out.extend(map(_make_line, texts, starts))
        return True

    def _fail(self, exc: FramingError, out: list[NDJSONLine]) -> list[NDJSONLine]:
        """A bad spot after the lines in ``out``: deliver them and keep ``exc``, or raise it now."""
        self._blocked = True
        if out:
            self._error = exc
            return out
        self._failed = exc.message
        raise exc

    def _refuse(self, method: str) -> NoReturn:
        """Raise for a call on a blocked decoder: the error it holds, else :class:`UsageError`."""
        if self._error is not None:
            exc, self._error = self._error, None
            self._failed = exc.message
            raise exc
        if self._failed is not None:
            msg = f"{method}() on an NDJSON decoder that already failed ({self._failed})"
            raise UsageError(msg)
        msg = f"{method}() on an NDJSON decoder that is already closed"
        raise UsageError(msg)

    @staticmethod
    def _emit(line: bytes, offset: int, out: list[NDJSONLine]) -> None:
        """Append ``line`` (LF already removed) to ``out`` unless it is blank."""
        if line and line[-1] == _CR:
            line = line[:-1]
        if not line.strip(_BLANK):
            return
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            msg = f"invalid UTF-8 in an NDJSON line: {exc.reason}"
            raise FramingError(msg, offset=offset + exc.start) from None
        out.append(NDJSONLine(text=text, offset=offset))


def encode(
    lines: Iterable[str],
    *,
    eol: Literal["\n", "\r\n"] = "\n",
    blank_lines: int = 0,
    final_newline: bool = True,
) -> bytes:
    """Encode ``lines`` (JSON texts, one per message) as NDJSON, UTF-8.

    ``eol`` ends every line; ``blank_lines`` empty lines go between consecutive
    lines (a decoder must skip them); ``final_newline=False`` leaves the last line
    without its ``eol``.  A line that holds CR or LF, or is blank (empty or only
    spaces/tabs: the decoder would skip it), or cannot be encoded as UTF-8 (a lone
    surrogate) raises :class:`UsageError`.
    """
    if eol not in ("\n", "\r\n"):
        msg = f"eol must be '\\n' or '\\r\\n', not {eol!r}"
        raise UsageError(msg)
    if blank_lines < 0:
        msg = f"blank_lines must be >= 0, not {blank_lines}"
        raise UsageError(msg)
    texts = list(lines)
    for index, text in enumerate(texts):
        if "\r" in text or "\n" in text:
            msg = f"NDJSON line {index} contains a CR or LF: {text[:60]!r}"
            raise UsageError(msg)
        if not text.strip(" \t"):
            msg = f"NDJSON line {index} is blank, so a decoder would skip it: {text!r}"
            raise UsageError(msg)
    body = (eol * (blank_lines + 1)).join(texts)
    if texts and final_newline:
        body += eol
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError as exc:
        msg = f"NDJSON text cannot be encoded as UTF-8: {exc.reason}"
        raise UsageError(msg) from None
