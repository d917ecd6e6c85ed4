"""The in-process byte source an adapter reads: it records every pull and whether it was
closed.  Driver layer (asyncio and threads; no files, no sockets).

One :class:`RecordingSource` serves one stream.  It is both an async and a sync
iterator over pre-cut chunks, so the same object serves ``async for`` and ``for``
adapters.  What it records is what the cancellation and leak checks need: how many
pulls happened (and how many after the consumer cancelled), whether the adapter
closed it, whether it ran dry, and the last bytes it handed out.

``stall()`` makes the next pull block (an async pull awaits forever, until its task
is cancelled; a sync pull waits until :meth:`poison` or ``close``), so that the
harness can cancel a consumer *while* it awaits bytes.  ``poison()`` makes every
later pull raise :class:`SourceClosedError`, which is how a hung sync adapter's thread is
eventually released.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

from conformance.errors import ConformanceError

__all__ = ["RecordingSource", "SourceClosedError"]


class SourceClosedError(ConformanceError):
    """The adapter read from a byte source that was already closed (or poisoned)."""


class RecordingSource:
    """Pre-cut chunks, handed out one per pull, with a record of every pull."""

    def __init__(self, chunks: Sequence[bytes]) -> None:
        self._chunks = chunks
        self.pulls = 0
        """Pulls so far, including one that found the source dry."""
        self.delivered = 0
        """Chunks handed out."""
        self.offset = 0
        """Bytes handed out."""
        self.closed = False
        self.exhausted = False
        self.cancelled_at: int | None = None
        """``pulls`` when the consumer cancelled (``None``: not cancelled)."""
        self.pulls_after_cancel = 0
        self.waiting = False
        """Whether a pull is blocked in a stall right now."""
        self._stall = False
        self._poisoned = False
        self._release = threading.Event()
        self._blocked = asyncio.Event() if _running_loop() else None

    # -- what the harness does ------------------------------------------------------

    def mark_cancel(self) -> None:
        """The consumer cancels now: later pulls are counted as pulls after the cancel."""
        if self.cancelled_at is None:
            self.cancelled_at = self.pulls

    def stall(self) -> None:
        """Make the next pull block until it is cancelled (async) or released (sync)."""
        self._stall = True

    async def wait_blocked(self) -> None:
        """Return once a pull is blocked in a stall."""
        if self._blocked is None:
            raise RuntimeError("wait_blocked needs the source to be built inside the event loop")
        await self._blocked.wait()

    def poison(self) -> None:
        """Every later pull raises :class:`SourceClosedError`; a blocked sync pull is released."""
        self._poisoned = True
        self._release.set()

    @property
    def last_bytes(self) -> bytes:
        """The last chunk handed out (empty before the first)."""
        return self._chunks[self.delivered - 1] if self.delivered else b""

    @property
    def done(self) -> bool:
        """Closed by the adapter, or read to the end."""
        return self.closed or self.exhausted

    # -- what the adapter sees --------------------------------------------------------

    def _pull(self) -> bytes | None:
        """One pull's bookkeeping; the chunk, or ``None`` at the end."""
        self.pulls += 1
        if self.cancelled_at is not None:
            self.pulls_after_cancel += 1
        if self._poisoned or self.closed:
            what = "poisoned by the harness" if self._poisoned else "closed"
            raise SourceClosedError(f"read from a byte source that was {what}", offset=self.offset)
        if self.delivered >= len(self._chunks):
            self.exhausted = True
            return None
        chunk = self._chunks[self.delivered]
        self.delivered += 1
        self.offset += len(chunk)
        return chunk

    def __aiter__(self) -> RecordingSource:
        return self

    async def __anext__(self) -> bytes:
        if self._stall:
            self._stall = False
            self.waiting = True
            if self._blocked is not None:
                self._blocked.set()
            try:
                await asyncio.Event().wait()  # until the task is cancelled
            finally:
                self.waiting = False
        chunk = self._pull()
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    def __iter__(self) -> RecordingSource:
        return self

    def __next__(self) -> bytes:
        if self._stall:
            self._stall = False
            self.waiting = True
            self._release.wait()
            self.waiting = False
        chunk = self._pull()
        if chunk is None:
            raise StopIteration
        return chunk

    async def aclose(self) -> None:
        """Close the source (idempotent)."""
        self.closed = True

    def close(self) -> None:
        """Close the source (idempotent)."""
        self.closed = True
        self._release.set()


def _running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
