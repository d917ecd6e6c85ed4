"""What the loopback server saw of each request: :class:`ConnectionRecord`.  No I/O.

One record per request/response exchange (several share a TCP connection under
keep-alive; ``connection`` tells them apart from ``id``).  Times are
``time.monotonic()`` seconds, taken by the server as events happen:

* ``opened_at``        the TCP connection was accepted;
* ``request_at``       the whole request (head and body) had arrived;
* ``response_at``      the response head was written;
* ``writes``           ``(time, body bytes)`` per socket write of body bytes, the time
                       taken just before the write (so bytes the client had read by some
                       moment were all written at or before it);
* ``finished_at``      the whole body was written (the chunked terminator follows);
* ``client_closed_at`` the client closed or reset the connection, as seen by the
                       server's concurrent read (EOF or an error) or by a failing write;
                       ``None`` while it is open.  On a kept-alive connection a close
                       after the response is recorded on the connection's last exchange:
                       compare with ``finished_at`` to tell a close mid-body from one after;
* ``reset_at`` / ``stalled_at``  when the server reset the connection or stopped
                       writing, as its plan said.

Each time is recorded just before the bytes it describes are handed to the socket, so
whatever a client has received, the record already shows.  "Written" means handed to the
kernel; what the client read of it is not observable.  The
server stops writing as soon as it sees the client gone, so writes after
``client_closed_at`` are those that raced with the close.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_right
from dataclasses import dataclass, field

__all__ = ["ConnectionRecord"]


@dataclass(slots=True, kw_only=True)
class ConnectionRecord:
    """One exchange as the server saw it (a snapshot when handed out: later changes are
    not reflected; ask the server again)."""

    id: int
    connection: int
    opened_at: float
    token: str | None = None
    method: str = ""
    target: str = ""  # as requested, query and token prefix included
    path: str = ""  # the vendor path (token prefix removed)
    query: dict[str, str] = field(default_factory=dict)
    headers: tuple[tuple[str, str], ...] = ()  # names lower-cased
    body: bytes = b""
    api: str | None = None
    case_id: str | None = None
    chunking: str | None = None
    status: int | None = None
    note: str | None = None  # why the server answered with an error, if it did
    planned_bytes: int = 0
    frame_ends: tuple[int, ...] = ()
    request_at: float | None = None
    response_at: float | None = None
    writes: list[tuple[float, int]] = field(default_factory=list)
    finished_at: float | None = None
    client_closed_at: float | None = None
    reset_at: float | None = None
    stalled_at: float | None = None

    @property
    def bytes_written(self) -> int:
        """Body bytes handed to the kernel."""
        return sum(n for _, n in self.writes)

    @property
    def planned_frames(self) -> int:
        """Frames in the planned body."""
        return len(self.frame_ends)

    @property
    def frames_written(self) -> int:
        """Frames whose last byte was written."""
        return bisect_right(self.frame_ends, self.bytes_written)

    def bytes_written_by(self, t: float) -> int:
        """Body bytes written at or before time ``t``."""
        return sum(n for when, n in self.writes if when <= t)

    def bytes_written_after(self, t: float) -> int:
        """Body bytes written after time ``t`` (e.g. the moment the client cancelled)."""
        return sum(n for when, n in self.writes if when > t)

    def frames_written_after(self, t: float) -> int:
        """Frames completed by writes after time ``t``."""
        return self.frames_written - bisect_right(self.frame_ends, self.bytes_written_by(t))

    @property
    def closed_mid_body(self) -> bool:
        """The client went away before the whole body was written."""
        return self.client_closed_at is not None and self.finished_at is None and self.response_at is not None

    def header(self, name: str) -> str | None:
        """The value of request header ``name`` (the last one, if repeated)."""
        wanted = name.lower()
        found = None
        for key, value in self.headers:
            if key == wanted:
                found = value
        return found

    def snapshot(self) -> ConnectionRecord:
        """An independent copy."""
        return dataclasses.replace(self, query=dict(self.query), writes=list(self.writes))
