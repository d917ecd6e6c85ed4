"""What one response of the loopback server is (:class:`Plan`), and how plans are built.  No I/O.

A plan fixes everything the server writes for one request: the status and headers, the
body already cut into the chunks that go into separate socket writes, the pauses, and
what goes wrong (an abrupt reset, or a stall, after so many body bytes).  It also knows
where each vendor frame of the body ends (:attr:`Plan.frame_ends`), so that the server can
say how many frames a client had received when it went away.

Builders:

* :func:`plan_for_bytes` -- any body (a synthetic sequence rendered by a vendor encoder,
  ``conformance/vendors/*/encoder.py``), cut by a chunking strategy
  (``conformance.chunking``; ``random:SEED`` cuts are deterministic) or by the server's
  own ``frames`` (one write per vendor frame);
* :func:`error_plan` -- the vendor's own HTTP error response (``conformance.server.errors``);
* ``plan_for_case`` (in ``conformance.server.cases``, because it reads the case's stream
  file) -- a corpus case, with the content type its cassette recorded.

Frame ends are found with the framing decoders (``conformance.framing``): the body is fed
in pieces that end after every byte that can complete a frame (a line end for SSE and
NDJSON, a closing bracket, quote, comma or blank for a JSON array, each frame's length for
an eventstream), so each frame's end is the exact offset of the byte that completed it.
A malformed body counts the frames completed before the bad spot.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
import struct
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from conformance.chunking import cut, parse_chunking
from conformance.errors import StreamError, UsageError
from conformance.framing import FRAMINGS, new_decoder
from conformance.server.errors import vendor_error

__all__ = [
    "CONTENT_TYPES",
    "FRAMES_CHUNKING",
    "Plan",
    "content_type_for",
    "error_plan",
    "frame_ends",
    "plan_for_bytes",
]

#: The content type each framing is served with (when the case does not say).
CONTENT_TYPES: dict[str, str] = {
    "sse": "text/event-stream",
    "ndjson": "application/x-ndjson",
    "json-array": "application/json",
    "eventstream": "application/vnd.amazon.eventstream",
}
# Vendors that label a framing their own way (FORMATS.md §0, §4, §6).
_API_CONTENT_TYPES: dict[tuple[str, str], str] = {
    ("cohere/chat-v1", "ndjson"): "application/stream+json",
    ("gemini/generate-content", "json-array"): "application/json; charset=UTF-8",
}

#: The server's own chunking beside those of ``conformance.chunking``: one write per
#: vendor frame (SSE event, NDJSON line, array element, eventstream frame), any bytes
#: after the last frame in a write of their own.
FRAMES_CHUNKING = "frames"

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """One response: what to write, how, and what goes wrong.

    * ``chunks`` -- the body, already cut: one socket write (one HTTP chunk) each;
    * ``first_delay_s`` -- pause after the headers, before the first chunk;
      ``delay_s`` -- pause before every later chunk;
    * ``frame_ends`` -- cumulative body offsets where each vendor frame ends;
    * ``reset_after`` -- after this many body bytes, abort the TCP connection (RST);
      ``stall_after`` -- after this many body bytes, stop writing but keep the
      connection open until the client goes away (at most one of the two);
    * ``api`` -- the API whose route the plan expects (another route gets a 404 in the
      vendor's shape; ``None`` accepts any route); ``framing``, ``case_id`` and
      ``chunking`` are informational (logs, records);
    * ``chunked`` -- ``Transfer-Encoding: chunked`` (streams) or ``Content-Length``
      (error bodies, as vendors send them).
    """

    status: int = 200
    headers: Headers = ()
    chunks: tuple[bytes, ...] = ()
    delay_s: float = 0.0
    first_delay_s: float = 0.0
    frame_ends: tuple[int, ...] = ()
    reset_after: int | None = None
    stall_after: int | None = None
    api: str | None = None
    framing: str | None = None
    chunked: bool = True
    case_id: str | None = None
    chunking: str | None = None

    def __post_init__(self) -> None:
        if not 200 <= self.status <= 599:
            raise UsageError(f"a plan's status must be 200-599, not {self.status!r}")
        if any(not isinstance(c, bytes) or not c for c in self.chunks):
            raise UsageError("a plan's chunks are non-empty bytes")
        for name in ("delay_s", "first_delay_s"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise UsageError(f"{name} must be a finite number >= 0, not {value!r}")
        size = self.size
        for name in ("reset_after", "stall_after"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= size:
                raise UsageError(f"{name}={value} is outside the {size}-byte body")
        if self.reset_after is not None and self.stall_after is not None:
            raise UsageError("a plan resets or stalls, not both")
        ends = self.frame_ends
        if any(b < a for a, b in itertools.pairwise(ends)) or (ends and not 0 < ends[0] <= ends[-1] <= size):
            raise UsageError("frame_ends must be non-decreasing offsets within the body")
        for name, value in self.headers:
            if not name or name != name.strip() or "\n" in name + value or "\r" in name + value:
                raise UsageError(f"bad header {name!r}: {value!r}")

    @property
    def size(self) -> int:
        """The body's length in bytes."""
        return sum(map(len, self.chunks))

    @property
    def body(self) -> bytes:
        """The whole body."""
        return b"".join(self.chunks)

    def frames_within(self, n_bytes: int) -> int:
        """How many frames end within the first ``n_bytes`` body bytes."""
        return bisect_right(self.frame_ends, n_bytes)

    def replace(self, **changes: object) -> Plan:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def content_type_for(api: str | None, framing: str) -> str:
    """The content type ``api``'s vendor labels a ``framing`` body with."""
    if api is not None and (api, framing) in _API_CONTENT_TYPES:
        return _API_CONTENT_TYPES[(api, framing)]
    try:
        return CONTENT_TYPES[framing]
    except KeyError:
        raise UsageError(f"unknown framing {framing!r} (valid: {', '.join(FRAMINGS)})") from None


def _seconds(name: str, ms: float) -> float:
    if not isinstance(ms, int | float) or isinstance(ms, bool) or not math.isfinite(ms) or ms < 0:
        raise UsageError(f"{name} must be a number of milliseconds >= 0, not {ms!r}")
    return float(ms) / 1000.0


def plan_for_bytes(
    api: str | None,
    framing: str,
    body: bytes,
    *,
    chunking: str = "whole",
    recorded: Sequence[int] | None = None,
    delay_ms: float = 0.0,
    first_delay_ms: float = 0.0,
    reset_after: int | None = None,
    stall_after: int | None = None,
    content_type: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    case_id: str | None = None,
) -> Plan:
    """A 200 response streaming ``body`` (``framing``), cut by ``chunking``.

    ``chunking`` is a strategy of ``conformance.chunking`` or :data:`FRAMES_CHUNKING`
    (one write per vendor frame); ``recorded`` are the recorded read boundaries the
    ``recorded`` strategy uses; ``every-split`` (many chunkings, not one) cannot be served.  ``content_type``
    defaults to the vendor's label for the framing (:func:`content_type_for`);
    ``headers`` are added after it.
    """
    ends = frame_ends(framing, body)
    if chunking.strip().lower() == FRAMES_CHUNKING:
        name, chunks = FRAMES_CHUNKING, cut(body, ends)
    else:
        strategy = parse_chunking(chunking)
        if strategy.kind == "every-split":
            raise UsageError(
                "every-split is many chunkings, not one: serve one of the others (e.g. random:SEED)"
            )
        name, chunks = strategy.name, next(iter(strategy.chunkings(body, recorded=recorded)))
    label = content_type if content_type is not None else content_type_for(api, framing)
    return Plan(
        headers=(("content-type", label), *headers),
        chunks=tuple(chunks),
        delay_s=_seconds("delay_ms", delay_ms),
        first_delay_s=_seconds("first_delay_ms", first_delay_ms),
        frame_ends=ends,
        reset_after=reset_after,
        stall_after=stall_after,
        api=api,
        framing=framing,
        case_id=case_id,
        chunking=name,
    )


def error_plan(api: str, status: int, *, message: str | None = None) -> Plan:
    """The vendor's own HTTP error response for ``status`` (``conformance.server.errors``),
    sent whole with a ``Content-Length``."""
    error = vendor_error(api, status, message=message)
    return Plan(status=status, headers=error.headers, chunks=(error.body,), api=api, chunked=False)


# -- frame ends --------------------------------------------------------------------------

# Bytes after which a frame of each text framing can be complete.
_COMPLETING = {
    "sse": re.compile(rb"[\r\n]"),
    "ndjson": re.compile(rb"[\r\n]"),
    "json-array": re.compile(rb"[\"}\],\s]"),
}


def _eventstream_points(body: bytes) -> list[int]:
    """The end of each eventstream frame, walking ``total_length``; stops where the bytes
    stop looking like frames."""
    points = []
    at = 0
    while len(body) - at >= 12:
        (total,) = struct.unpack_from(">I", body, at)
        if total < 16 or at + total > len(body):
            break
        at += total
        points.append(at)
    return points


@lru_cache(maxsize=128)
def frame_ends(framing: str, body: bytes) -> tuple[int, ...]:
    """The offset just after the byte that completes each frame of ``body``, in order.

    SSE is read as the reference decoders read it (a last event missing only its blank
    line counts, at the end of the body); comments are not frames.
    """
    decoder = new_decoder(framing, **({"eof": "dispatch"} if framing == "sse" else {}))
    if framing == "eventstream":
        points = _eventstream_points(body)
    elif framing in _COMPLETING:
        points = [m.end() for m in _COMPLETING[framing].finditer(body)]
    else:  # a third-party framing: every byte may complete a frame
        points = list(range(1, len(body) + 1))
    ends: list[int] = []
    previous = 0
    try:
        for point in [*points, len(body)]:
            if point > previous:
                ends.extend([point] * len(decoder.feed(body[previous:point])))
                previous = point
        ends.extend([len(body)] * len(decoder.close()))
    except StreamError:
        pass  # a malformed or truncated body: the frames completed before the problem
    return tuple(ends)
