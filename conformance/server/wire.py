"""One connection's socket work for the loopback server: reading, writing a plan, resetting.

I/O: reads and writes an asyncio stream pair.  :class:`Peer` reads the socket for the whole
life of the connection, so the moment the client closes or resets it is seen at once, even
while the server pauses between writes.  :func:`send_plan` writes a plan: the head, then
each chunk as one ``Transfer-Encoding: chunked`` chunk and one socket write, drained before
the next (the transport's write buffer limit is 0, so a write counts once the kernel took
it), pausing as planned and stopping as soon as the client is gone; then the terminator,
or the plan's reset (RST via ``SO_LINGER`` 0) or stall.  Each time is recorded, through
the ``update`` callback, just before the bytes it describes go out.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections.abc import Callable
from http import HTTPStatus

import h11

from conformance.server.plan import Plan
from conformance.server.records import ConnectionRecord

__all__ = ["Peer", "Update", "reason_phrase", "reset", "send_plan", "write"]

#: Applies a change to a record under the server's lock (and wakes its waiters).
Update = Callable[[Callable[[], None]], None]

_READ_SIZE = 65536
_REASONS = {529: b"Overloaded"}


class Peer:
    """The reading side of one connection: a task that reads until EOF, so that the
    server sees the client go away the moment it does, even while writing."""

    def __init__(self, reader: asyncio.StreamReader, on_gone: Callable[[float], None]) -> None:
        self.buffer = bytearray()
        self.arrived = asyncio.Event()
        self.gone = asyncio.Event()
        self.gone_at: float | None = None
        self.server_closing = False  # our own close: not the client's doing
        self._on_gone = on_gone
        self.task = asyncio.ensure_future(self._pump(reader))

    async def _pump(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                data = await reader.read(_READ_SIZE)
                if not data:
                    break
                self.buffer += data
                self.arrived.set()
        except (ConnectionError, OSError):
            pass
        self.mark_gone()

    def mark_gone(self) -> None:
        if self.gone.is_set():
            return
        self.gone_at = time.monotonic()
        self.gone.set()
        self.arrived.set()
        if not self.server_closing:
            self._on_gone(self.gone_at)

    async def take(self) -> bytes:
        """The bytes that arrived since the last call (waiting for some); ``b""`` at EOF."""
        while not self.buffer and not self.gone.is_set():
            self.arrived.clear()
            await self.arrived.wait()
        data = bytes(self.buffer)
        self.buffer.clear()
        return data

    async def pause(self, seconds: float) -> bool:
        """Sleep ``seconds``, waking early if the client goes; True if it has gone."""
        if seconds > 0 and not self.gone.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.gone.wait(), seconds)
        return self.gone.is_set()


async def send_plan(
    *,
    conn: h11.Connection,
    peer: Peer,
    writer: asyncio.StreamWriter,
    record: ConnectionRecord,
    plan: Plan,
    update: Update,
) -> bool:
    """Write ``plan``; True if the connection may serve another request."""
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in plan.headers]
    headers.append((b"x-conformance-exchange", str(record.id).encode()))
    if plan.case_id is not None:
        headers.append((b"x-conformance-case", plan.case_id.encode("latin-1")))
    if not plan.chunked:
        headers.append((b"content-length", str(plan.size).encode()))

    def begin() -> None:
        record.api, record.case_id, record.chunking, record.status = (
            plan.api,
            plan.case_id,
            plan.chunking,
            plan.status,
        )
        record.planned_bytes, record.frame_ends = plan.size, plan.frame_ends

    update(begin)
    reason = _REASONS.get(plan.status) or reason_phrase(plan.status)
    # Each time is recorded before the bytes it describes go out: whatever a client has
    # seen, the record already says.
    update(lambda: setattr(record, "response_at", time.monotonic()))
    if not await write(
        writer, peer, conn.send(h11.Response(status_code=plan.status, headers=headers, reason=reason))
    ):
        return False
    limit = plan.size
    for stop in (plan.reset_after, plan.stall_after):
        if stop is not None:
            limit = stop
    if plan.chunks and await peer.pause(plan.first_delay_s):
        return False
    sent = 0
    for index, chunk in enumerate(plan.chunks):
        if sent >= limit:
            break
        if index and await peer.pause(plan.delay_s):
            return False
        piece = chunk[: limit - sent]
        if not await write(
            writer, peer, conn.send(h11.Data(data=piece)), update=update, record=record, body_bytes=len(piece)
        ):
            return False
        sent += len(piece)
    if plan.reset_after is not None:
        reset(writer, peer, record, update)
        return False
    if plan.stall_after is not None:
        update(lambda: setattr(record, "stalled_at", time.monotonic()))
        await peer.gone.wait()
        return False
    update(lambda: setattr(record, "finished_at", time.monotonic()))  # every body byte is out
    return await write(writer, peer, conn.send(h11.EndOfMessage()))


async def write(
    writer: asyncio.StreamWriter,
    peer: Peer,
    data: bytes | None,
    *,
    update: Update | None = None,
    record: ConnectionRecord | None = None,
    body_bytes: int = 0,
) -> bool:
    """Write ``data`` and wait until the kernel took it; False if the client is gone."""
    if peer.gone.is_set() or writer.transport.is_closing():
        return False
    try:
        if record is not None and update is not None:  # recorded first: a client never sees unrecorded bytes
            at = time.monotonic()
            update(lambda: record.writes.append((at, body_bytes)))
        writer.write(data or b"")
        await writer.drain()
    except (ConnectionError, OSError):
        peer.mark_gone()
        return False
    return not peer.gone.is_set()


def reset(writer: asyncio.StreamWriter, peer: Peer, record: ConnectionRecord, update: Update) -> None:
    """Abort the connection with an RST (SO_LINGER 0), as a crashed vendor would."""
    peer.server_closing = True
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    update(lambda: setattr(record, "reset_at", time.monotonic()))
    writer.transport.abort()


def reason_phrase(status: int) -> bytes:
    """The standard reason phrase of ``status`` (empty for statuses without one)."""
    try:
        return HTTPStatus(status).phrase.encode("latin-1")
    except ValueError:
        return b""
