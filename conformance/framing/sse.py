"""Server-sent events framing: an incremental WHATWG decoder and an encoder.  No I/O.

The decoder follows the WHATWG HTML "event stream interpretation"
(https://html.spec.whatwg.org/multipage/server-sent-events.html, checked 2026-08):

* A line ends at CRLF, LF or a lone CR; a CR ending one chunk and an LF starting the
  next are one line end.  One UTF-8 BOM at the very start of the stream is dropped
  (also when split across chunks); a BOM anywhere else is content.
* Lines are found on bytes, then decoded as UTF-8 with ``errors="replace"`` (the WHATWG
  "UTF-8 decode"): a character split across chunks is fine and no byte ever raises.
* A line starting with ``:`` is a comment: ignored, or reported as :class:`SSEComment`
  (the text after the colon, exactly) with ``keep_comments=True``.
* ``name:value`` is a field; one space right after the colon is dropped (only one); a
  line without a colon is a field name with an empty value.  ``data`` appends the value
  and LF to the data buffer, ``event`` sets the event type, ``id`` sets the
  last-event-ID unless the value holds NUL, ``retry`` is kept only when it is ASCII
  digits.  Other names are ignored, or reported as :class:`SSEStrayLine` (the whole
  line) with ``keep_stray_lines=True`` -- Gemini appends a bare JSON error that way.
* A blank line dispatches: nothing if the data buffer is empty (the data, event type and
  retry are reset), else an :class:`SSEEvent` without the trailing LF; its ``event`` is
  ``None`` when the type is empty, ``id`` is the last-event-ID (persists across events;
  ``None`` until set), ``retry`` the value set within this event, if any.
* ``offset`` of a message is the stream offset (counting any BOM) of the first byte of
  its first line; for an event, of its first ``data``/``event``/``id``/``retry`` line.

At :meth:`SSEDecoder.close`, an unfinished line or undispatched event meets the ``eof`` policy:

* ``"discard"`` (default; WHATWG "any pending data must be discarded"): both dropped.
* ``"dispatch"``: the unfinished line is processed as a line, then the pending event is
  dispatched if its data buffer is not empty (what sseclient-py and many SDKs do).
* ``"raise"``: :class:`TruncatedStream` when there is an unfinished line or a non-empty
  data buffer; its ``offset`` is where the pending event (else the line) starts.

After ``close()``, ``feed()`` and ``close()`` raise :class:`UsageError`.

Strategy: all searching is done by ``bytes`` methods (in C).  An unfinished line waits in
a ``bytearray`` that is only appended to until a line end arrives, so the decoder is
linear under any chunking; big chunks are cut after an LF into ~64 KiB windows.  In a
window whose lines all end alike (all LF or all CRLF, say ``E``), ``split(E E "data: ")``
comes first: if every ``E`` is used by those cuts, each piece is an event of one
``data: `` line (the LLM common case), built without line work; ``split(E E "event: ")``
does the same for events of one ``event:`` and one ``data:`` line (Anthropic, OpenAI
Responses, Cohere).  The rest of an event begun in an earlier chunk goes line by line
first, up to its blank line, so that a cut mid-event does not cost the window its bulk
path.  Whatever the bulk cuts leave is split into blocks on ``E E``: each block is
followed by a blank line, so the state is clean at the start of every block but the
first; one-line ``data:`` blocks and ``event:`` + ``data:`` pairs are built directly,
other blocks go line by line.  Windows with mixed line ends go line by line (a regex
split).
"""

from __future__ import annotations

import re
from itertools import accumulate, repeat
from operator import add
from typing import TYPE_CHECKING, Literal, TypeAlias

from conformance._slots import NEW, slot_setters
from conformance.errors import TruncatedStream, UsageError
from conformance.framing.messages import SSEComment, SSEEvent, SSEStrayLine

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["SSEDecoder", "SSEMessage", "encode", "encode_comment", "encode_event"]

SSEMessage: TypeAlias = SSEEvent | SSEComment | SSEStrayLine
EofPolicy: TypeAlias = Literal["discard", "dispatch", "raise"]
Eol: TypeAlias = Literal["\n", "\r\n", "\r"]

_BOM = b"\xef\xbb\xbf"
_LF = b"\n"
_CR = b"\r"
_CRLF = b"\r\n"
_COLON = 0x3A
_WINDOW = 1 << 16  # big chunks are processed in windows of about this size
_EOL_SPLIT = re.compile(rb"(\r\n|\r|\n)")
_SIMPLE = b"data: "
_NAMED = b"event: "
_BULK_STARTS = (_SIMPLE, _NAMED)
_EOF_POLICIES = ("discard", "dispatch", "raise")
_FIELDS = ("data", "event", "id", "retry")

# Building events.  The frozen dataclass ``__init__`` (``object.__setattr__`` per field)
# costs more than parsing a typical event, so the slots are set through their descriptors
# (2-3x faster) -- only while SSEEvent is exactly today's plain slotted class.
_SLOTS = (*_FIELDS, "offset")
_EVENT_SETTERS = slot_setters(SSEEvent, _SLOTS)
_FAST_EVENTS = _EVENT_SETTERS is not None

if _EVENT_SETTERS is not None:
    _set_data, _set_event, _set_id, _set_retry, _set_offset = _EVENT_SETTERS

    def _make_event(data: str, event: str | None, id_: str | None, retry: int | None, off: int) -> SSEEvent:
        ev: SSEEvent = NEW(SSEEvent)
        _set_data(ev, data)
        _set_event(ev, event)
        _set_id(ev, id_)
        _set_retry(ev, retry)
        _set_offset(ev, off)
        return ev

    def _value_event(value: bytes, off: int, id_: str | None) -> SSEEvent:
        """The event of a block that is one ``data: `` line (the same as ``_make_event``, inlined)."""
        ev: SSEEvent = NEW(SSEEvent)
        _set_data(ev, value.decode("utf-8", "replace"))
        _set_event(ev, None)
        _set_id(ev, id_)
        _set_retry(ev, None)
        _set_offset(ev, off)
        return ev

else:  # pragma: no cover - only if messages.SSEEvent changes shape

    def _make_event(data: str, event: str | None, id_: str | None, retry: int | None, off: int) -> SSEEvent:
        return SSEEvent(data=data, event=event, id=id_, retry=retry, offset=off)

    def _value_event(value: bytes, off: int, id_: str | None) -> SSEEvent:
        return SSEEvent(data=value.decode("utf-8", "replace"), id=id_, offset=off)


class SSEDecoder:
    """Incremental SSE decoder: bytes in, events (and optionally comments) out."""

    def __init__(
        self,
        *,
        eof: EofPolicy = "discard",
        keep_comments: bool = False,
        keep_stray_lines: bool = False,
    ) -> None:
        if eof not in _EOF_POLICIES:
            msg = f"eof must be one of {', '.join(map(repr, _EOF_POLICIES))}, not {eof!r}"
            raise UsageError(msg)
        self._eof = eof
        self._keep_comments = keep_comments
        self._keep_stray = keep_stray_lines
        self._buf = bytearray()  # the unfinished line (no line end in it)
        self._buf_start = 0  # stream offset of ``_buf[0]``
        self._fed = 0  # bytes fed so far
        self._bom_pending = True  # nothing decided at the stream start yet
        self._skip_lf = False  # the last chunk ended in CR: drop an LF that starts the next
        self._closed = False
        # The event being built (WHATWG buffers) and where its first field line starts.
        self._data: list[str] = []  # data lines; the buffer is "\n".join(...) + "\n"
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None
        self._start = -1

    # -- public API ----------------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> list[SSEMessage]:
        """Take the next chunk; return the messages it completed (maybe none)."""
        if self._closed:
            msg = "feed() after close()"
            raise UsageError(msg, offset=self._fed)
        if not isinstance(data, bytes):
            if not isinstance(data, bytearray | memoryview):
                msg = f"feed() takes bytes, not {type(data).__name__}"
                raise UsageError(msg, offset=self._fed)
            data = bytes(data)
        out: list[SSEMessage] = []
        if not data:
            return out
        base = self._fed  # stream offset of data[0]
        self._fed += len(data)
        pos = 0
        if self._bom_pending:
            data = bytes(self._buf) + data
            base = 0
            if len(data) < 3 and _BOM.startswith(data):
                self._buf[:] = data  # maybe a BOM: wait for more
                return out
            self._bom_pending = False
            self._buf.clear()
            if data.startswith(_BOM):
                pos = 3
        if self._skip_lf:
            self._skip_lf = False
            if data[0] == 10:
                pos = 1
        buf = self._buf
        if buf:  # an unfinished line from earlier chunks: it goes in front
            if data.find(_LF, pos) < 0 and data.find(_CR, pos) < 0:
                buf += data[pos:] if pos else data
                return out
            data = bytes(buf) + data[pos:]
            base, pos = self._buf_start, 0
            buf.clear()
        # A big chunk goes in windows cut after an LF, so that the intermediate lists
        # stay small (cache-friendly) whatever the chunk size.
        size = len(data)
        while size - pos > _WINDOW:
            cut = data.rfind(_LF, pos, pos + _WINDOW) + 1
            if not cut:
                break
            self._region(data, pos, cut, base, out)
            pos = cut
        self._region(data, pos, size, base, out)
        return out

    def close(self) -> list[SSEMessage]:
        """End of input: apply the ``eof`` policy to what is pending (see the module doc)."""
        if self._closed:
            msg = "close() called twice"
            raise UsageError(msg, offset=self._fed)
        self._closed = True
        out: list[SSEMessage] = []
        rest = bytes(self._buf)
        self._buf.clear()
        if self._eof == "raise":
            if rest or self._data:
                what = "an unfinished line" if rest else "an event without its final blank line"
                start = self._start if self._start >= 0 else self._buf_start
                raise TruncatedStream(f"stream ended inside {what}", offset=start)
        elif self._eof == "dispatch":
            if rest:
                self._line(rest, self._buf_start, out)
            self._dispatch(out)
        return out

    # -- chunk scanners ------------------------------------------------------------

    def _region(self, data: bytes, pos: int, stop: int, base: int, out: list[SSEMessage]) -> None:
        """Process ``data[pos:stop]`` (it starts a line, and ends the chunk or with LF).

        Complete lines go by block if they all end alike (all LF or all CRLF), else by line.
        """
        last = data.rfind(_LF, pos, stop)
        if last < 0:
            self._any_lines(data, pos, stop, base, out)
            return
        end = last + 1
        if data.find(_CR, pos, end) < 0:
            eol = _LF
        else:
            n = data.count(_LF, pos, end)
            if data.count(_CR, pos, end) != n or data.count(_CRLF, pos, end) != n:
                self._any_lines(data, pos, stop, base, out)
                return
            eol = _CRLF
        self._uniform(data, pos, end, base, out, eol=eol)
        if end < stop:
            self._any_lines(data, end, stop, base, out)

    def _uniform(
        self, data: bytes, pos: int, end: int, base: int, out: list[SSEMessage], *, eol: bytes
    ) -> None:
        """Process ``data[pos:end]``: complete lines that all end with ``eol``."""
        step = len(eol)
        while data.startswith(eol, pos):  # leading blank lines (often a cut "\n\n")
            self._dispatch(out)
            pos += step
            if pos == end:
                return
        text = data if pos == 0 and end == len(data) else data[pos:end]
        off = base + pos
        if self._start >= 0 or not text.startswith(_BULK_STARTS):
            # The rest of an event begun in an earlier chunk (or a block of another shape)
            # goes line by line, up to the first blank line; the bulk paths may take the rest.
            first = text.find(eol + eol)
            if first < 0:
                self._blocks(text, off, out, eol)
                return
            head = first + 2 * step
            self._blocks(text[:head], off, out, eol)
            off += head
            text = text[head:]
        if text.startswith(_SIMPLE):
            done = self._bulk_data(text, off, out, eol)
        elif text.startswith(_NAMED):
            done = self._bulk_named(text, off, out, eol)
        else:
            done = 0
        if done:
            off += done
            text = text[done:]
        self._blocks(text, off, out, eol)

    def _bulk_data(self, text: bytes, off: int, out: list[SSEMessage], eol: bytes) -> int:
        """Events of one ``data: `` line each at the start of ``text`` (complete lines ending
        with ``eol``, no event pending); returns how many bytes they took (maybe 0).

        Cut at every blank line followed by ``data: ``.  If every line end outside the last
        value belongs to such a cut, each value but the last is one whole ``data: `` line
        between blank lines: an event, without line work.
        """
        cut = eol + eol + _SIMPLE
        values = text.split(cut)
        tail = values.pop()
        n = len(values)
        if not n or text.count(eol) != 2 * n + tail.count(eol):
            return 0
        values[0] = values[0][6:]
        # Event i starts at off + the lengths of values before it + i cuts.
        width = len(cut)
        offsets = map(add, accumulate(map(len, values), initial=off), range(0, width * n, width))
        out.extend(map(_value_event, values, offsets, repeat(self._id)))
        return len(text) - len(tail) - 6  # up to the last value's ``data: ``

    def _bulk_named(self, text: bytes, off: int, out: list[SSEMessage], eol: bytes) -> int:
        """Events of an ``event: NAME`` line and one ``data: `` line each (Anthropic, OpenAI
        Responses, Cohere) at the start of ``text``, as :meth:`_bulk_data` does; returns
        how many bytes they took (maybe 0).

        Cut at every blank line followed by ``event: ``; each piece but the last is then
        ``NAME eol data: VALUE`` exactly when it holds ``eol data: `` and no other line
        end: when the line ends outside the last piece are the cuts' and one per piece.
        """
        cut = eol + eol + _NAMED
        pieces = text.split(cut)
        tail = pieces.pop()
        n = len(pieces)
        if not n or text.count(eol) != 3 * n + tail.count(eol):
            return 0
        pieces[0] = pieces[0][7:]
        names, seps, values = zip(*map(bytes.partition, pieces, repeat(eol + _SIMPLE)), strict=True)
        if b"" in seps or b"" in names:  # no ``data: `` line; an empty name (None) goes line by line
            return 0
        width = len(cut)
        offsets = map(add, accumulate(map(len, pieces), initial=off), range(0, width * n, width))
        out.extend(
            map(
                _make_event,
                map(bytes.decode, values, repeat("utf-8"), repeat("replace")),
                map(bytes.decode, names, repeat("utf-8"), repeat("replace")),
                repeat(self._id),
                repeat(None),
                offsets,
            )
        )
        return len(text) - len(tail) - 7  # up to the last piece's ``event: ``

    def _blocks(self, chunk: bytes, off: int, out: list[SSEMessage], eol: bytes) -> None:
        """Process ``chunk`` (complete lines that all end with ``eol``) a block at a time."""
        step = len(eol)
        pieces = chunk.split(eol + eol)
        final = pieces.pop()  # complete lines not followed by a blank line
        event_id = self._id
        line = self._line
        # Only the first piece can continue an event from earlier: each piece is
        # followed by a blank line, which leaves the state clean.
        clean = self._start < 0
        keep_comments = self._keep_comments
        for piece in pieces:
            nl = piece.find(eol)
            if clean and nl < 0 and piece[:5] == b"data:":
                value = piece[6:] if piece[5:6] == b" " else piece[5:]
                out.append(_make_event(value.decode("utf-8", "replace"), None, event_id, None, off))
            elif clean and nl < 0 and piece[:1] == b":" and not keep_comments:
                pass  # a lone comment line, e.g. a keep-alive
            elif (  # ``event: NAME`` then ``data: VALUE``: Anthropic, OpenAI Responses, Cohere
                clean
                and nl > 0
                and piece.startswith(b"event: ")
                and piece.startswith(_SIMPLE, nl + step)
                and piece.find(eol, nl + step) < 0
            ):
                name = piece[7:nl].decode("utf-8", "replace") or None
                text = piece[nl + step + 6 :].decode("utf-8", "replace")
                out.append(_make_event(text, name, event_id, None, off))
            else:
                line_off = off
                for raw in piece.split(eol) if nl >= 0 else (piece,):
                    line(raw, line_off, out)
                    line_off += len(raw) + step
                self._dispatch(out)
                event_id = self._id
                clean = True
            off += len(piece) + 2 * step
        if final:
            for raw in final[:-step].split(eol):
                line(raw, off, out)
                off += len(raw) + step

    def _any_lines(self, data: bytes, pos: int, stop: int, base: int, out: list[SSEMessage]) -> None:
        """Process ``data[pos:stop]`` line by line, with any mix of CR, LF and CRLF."""
        parts = _EOL_SPLIT.split(data[pos:stop])
        rest = parts.pop()
        off = base + pos
        line = self._line
        for i in range(0, len(parts), 2):
            raw = parts[i]
            line(raw, off, out)
            off += len(raw) + len(parts[i + 1])
        if rest:  # the unfinished line waits for the next chunk
            self._buf += rest
            self._buf_start = off
        elif parts and parts[-1] == _CR and stop == len(data):
            self._skip_lf = True

    # -- the WHATWG line and dispatch steps ------------------------------------------

    def _line(self, raw: bytes, off: int, out: list[SSEMessage]) -> None:
        """Interpret one complete line (without its line end) starting at ``off``."""
        if not raw:
            self._dispatch(out)
            return
        if raw[:6] == _SIMPLE:  # the most common line by far
            self._data.append(raw[6:].decode("utf-8", "replace"))
            if self._start < 0:
                self._start = off
            return
        if raw[0] == _COLON:
            if self._keep_comments:
                out.append(SSEComment(text=raw[1:].decode("utf-8", "replace"), offset=off))
            return
        colon = raw.find(b":")
        if colon < 0:
            name, value = raw, b""
        else:
            name = raw[:colon]
            value = raw[colon + 2 :] if raw[colon + 1 : colon + 2] == b" " else raw[colon + 1 :]
        if name == b"data":
            self._data.append(value.decode("utf-8", "replace"))
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id":
            if b"\0" not in value:
                self._id = value.decode("utf-8", "replace")
        elif name == b"retry":
            if value.isdigit():  # bytes.isdigit() is ASCII-only
                self._retry = int(value)
        else:
            if self._keep_stray:
                out.append(SSEStrayLine(text=raw.decode("utf-8", "replace"), offset=off))
            return
        if self._start < 0:
            self._start = off

    def _dispatch(self, out: list[SSEMessage]) -> None:
        """A blank line: emit the pending event if it has data, then reset."""
        if self._data:
            data = "\n".join(self._data)
            out.append(_make_event(data, self._event or None, self._id, self._retry, self._start))
            self._data = []
        self._event = ""
        self._retry = None
        self._start = -1


# -- encoder ---------------------------------------------------------------------------

_EOLS = ("\n", "\r\n", "\r")


def _check_line_text(what: str, text: str) -> None:
    if "\r" in text or "\n" in text:
        msg = f"{what} cannot hold CR or LF: {text!r}"
        raise UsageError(msg)


def _field(name: str, value: str, space_after_colon: bool) -> str:
    # A value that starts with a space needs the separator space, or the decoder
    # would take the value's own space for it.
    sep = " " if space_after_colon or value.startswith(" ") else ""
    return f"{name}:{sep}{value}"


def _event_lines(event: SSEEvent, previous_id: str | None, space_after_colon: bool) -> list[str]:
    lines: list[str] = []
    if event.event is not None:
        if not event.event:
            msg = "an empty event name cannot be sent: the decoder reads it as no name (None)"
            raise UsageError(msg)
        _check_line_text("an event name", event.event)
        lines.append(_field("event", event.event, space_after_colon))
    if event.id != previous_id:
        if event.id is None:
            msg = (
                f"cannot unset the id (last sent {previous_id!r}): the decoder's last-event-ID "
                "persists, so repeat it, or send id='' to reset it to the empty string"
            )
            raise UsageError(msg)
        _check_line_text("an id", event.id)
        if "\0" in event.id:
            msg = f"an id cannot hold NUL (the decoder ignores such a line): {event.id!r}"
            raise UsageError(msg)
        lines.append(_field("id", event.id, space_after_colon))
    if event.retry is not None:
        if isinstance(event.retry, bool) or not isinstance(event.retry, int) or event.retry < 0:
            msg = f"retry must be a non-negative int, not {event.retry!r}"
            raise UsageError(msg)
        lines.append(_field("retry", str(event.retry), space_after_colon))
    if "\r" in event.data:
        msg = f"event data cannot hold CR (it would end the line): {event.data!r}"
        raise UsageError(msg)
    lines.extend(_field("data", part, space_after_colon) for part in event.data.split("\n"))
    return lines


def encode(
    items: Iterable[SSEEvent | SSEComment | SSEStrayLine],
    *,
    eol: Eol = "\n",
    space_after_colon: bool = True,
    bom: bool = False,
    blank_lines: int = 1,
    comment_blank_lines: int = 0,
    final_blank_line: bool = True,
    final_eol: bool = True,
    previous_id: str | None = None,
) -> bytes:
    """Serialise events, comments and stray lines as an SSE body.

    * ``eol``: the line end used throughout; ``bom``: start with a UTF-8 BOM.
    * ``space_after_colon``: ``data: x`` or ``data:x`` (a value that itself starts with
      a space always gets the separator space, so that it survives decoding).
    * ``blank_lines``: blank lines after each event (more than 1 is padding).
    * ``comment_blank_lines``: blank lines after each comment (OpenRouter sends
      ``: OPENROUTER PROCESSING`` followed by one).
    * ``final_blank_line=False``: end right after the last item's last line, so that a
      final event is left undispatched (only ``eof="dispatch"`` decoders see it).
    * ``final_eol=False`` (needs ``final_blank_line=False``): also leave that last line
      without its line end.
    * ``previous_id``: the last-event-ID the reader already has (to continue a stream).

    An :class:`SSEEvent` becomes ``event:``, ``id:``, ``retry:`` then one ``data:`` line
    per line of its data.  ``id:`` is sent only when the id differs from the previously
    sent one, since the decoder's last-event-ID persists; for the same reason an id
    cannot go back to ``None`` once sent (:class:`UsageError`; ``id=""`` resets it to
    the empty string instead).  ``offset`` is ignored.  An :class:`SSEComment` becomes
    ``:`` + its text; an :class:`SSEStrayLine` is written as it is.

    Raises :class:`UsageError` for what cannot be represented: CR or LF in an event
    name, id, comment or stray line; CR in data; NUL in an id; an empty event name; a
    negative retry; text that is not encodable as UTF-8.
    """
    if eol not in _EOLS:
        msg = f"eol must be one of {_EOLS!r}, not {eol!r}"
        raise UsageError(msg)
    if blank_lines < 1 or comment_blank_lines < 0:
        msg = "blank_lines must be >= 1 and comment_blank_lines >= 0"
        raise UsageError(msg)
    if not final_eol and final_blank_line:
        msg = "final_eol=False needs final_blank_line=False"
        raise UsageError(msg)
    lines: list[str] = []
    last_id = previous_id
    for item in items:
        if isinstance(item, SSEEvent):
            lines.extend(_event_lines(item, last_id, space_after_colon))
            last_id = item.id
            lines.extend([""] * blank_lines)
        elif isinstance(item, SSEComment):
            _check_line_text("a comment", item.text)
            lines.append(":" + item.text)
            lines.extend([""] * comment_blank_lines)
        elif isinstance(item, SSEStrayLine):
            _check_line_text("a stray line", item.text)
            if item.text[:1] in ("", ":") or item.text.partition(":")[0] in _FIELDS:
                msg = f"not a stray line (it would be a blank line, comment or field): {item.text!r}"
                raise UsageError(msg)
            lines.append(item.text)
        else:
            msg = f"cannot encode {type(item).__name__} as SSE"
            raise UsageError(msg)
    if not final_blank_line:
        while lines and not lines[-1]:
            lines.pop()
    text = eol.join(lines)
    if text.startswith("\ufeff") and not bom:
        msg = "the stream would start with U+FEFF, which the decoder drops as a BOM; pass bom=True"
        raise UsageError(msg)
    if lines and final_eol:
        text += eol
    try:
        return (_BOM if bom else b"") + text.encode("utf-8")
    except UnicodeEncodeError as exc:
        msg = f"text cannot be encoded as UTF-8 (lone surrogate?): {exc.object[exc.start : exc.end]!r}"
        raise UsageError(msg) from None


def encode_event(
    event: SSEEvent, *, eol: Eol = "\n", space_after_colon: bool = True, previous_id: str | None = None
) -> bytes:
    """One event and its blank line; ``previous_id`` is the id the reader already has."""
    return encode([event], eol=eol, space_after_colon=space_after_colon, previous_id=previous_id)


def encode_comment(text: str, *, eol: Eol = "\n") -> bytes:
    """One comment line (``:`` + ``text``), e.g. ``encode_comment(" keep-alive")``."""
    return encode([SSEComment(text=text)], eol=eol)
