"""Run one adapter over one chunked body, in-process: the byte-level driver.

Driver layer (asyncio, a worker thread for sync adapters, a clock).  :func:`run_stream`
feeds pre-cut chunks through a :class:`~conformance.harness.source.RecordingSource`,
maps every adapter event to canonical events, and returns an :class:`Outcome`: the
events, how the stream ended (:class:`Termination`), what the source saw (pulls,
closed, pulls after a cancel), and, when the adapter misbehaved, one sentence saying
where.  It never raises for anything the adapter does: a hang, an exception, garbage
output and endless output are outcomes.

Cancellation (:class:`CancelPlan`) happens after the consumer has received ``after``
canonical events, in one of four ways (:class:`CancelMode`): ``close`` breaks out and
closes the adapter's iterator (``aclose()``/``close()``); ``task`` cancels the
consuming task while the adapter awaits its next pull; ``timeout`` lets an
``asyncio.timeout`` expire there; ``signal`` sets :attr:`StreamRequest.cancel` and
keeps reading, expecting at most an ``abort`` and the end.  Sync adapters run in a
daemon thread and support ``close`` and ``signal`` only.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import sysconfig
import threading
import time
import traceback
import types
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from conformance.errors import EventError, UsageError
from conformance.events import Abort, Error, Event, Finish, Unknown
from conformance.harness.contract import Adapter, StreamRequest, canonical_events
from conformance.harness.outcome import Outcome, Termination
from conformance.harness.source import RecordingSource

__all__ = ["CancelMode", "CancelPlan", "Outcome", "Termination", "run_stream", "run_stream_sync"]

#: How long a blocked sync adapter's thread is given to notice the poisoned source.
_RELEASE_GRACE = 0.05


class CancelMode(StrEnum):
    """How the consumer cancels."""

    CLOSE = "close"
    TASK = "task"
    TIMEOUT = "timeout"
    SIGNAL = "signal"


@dataclass(frozen=True, slots=True)
class CancelPlan:
    """Cancel after the consumer has received ``after`` canonical events."""

    mode: CancelMode
    after: int


class _EndlessError(Exception):
    pass


@dataclass(slots=True)
class _Consumer:
    """The consuming loop's state, shared by the async and the sync path."""

    adapter: Adapter
    request: StreamRequest
    source: RecordingSource
    plan: CancelPlan | None
    max_events: int
    events: list[Event] = field(default_factory=list)
    raw: int = 0
    cancelled: bool = False
    events_at_cancel: int | None = None
    iterator: Any = None

    def call(self) -> Any:
        """Start the adapter: ``stream(request, source)``."""
        assert self.adapter.stream is not None  # checked by run_stream
        return self.adapter.stream(self.request, self.source)

    def take(self, item: Any) -> bool:
        """Map one adapter event; True when the consumer now cancels (and stops reading)."""
        self.events.extend(canonical_events(self.adapter.to_canonical(item), self.raw))
        self.raw += 1
        if len(self.events) > self.max_events:
            raise _EndlessError
        if self.plan is None or self.cancelled or len(self.events) < self.plan.after:
            return False
        self.cancelled = True
        self.events_at_cancel = len(self.events)
        mode = self.plan.mode
        if mode is CancelMode.SIGNAL:
            self.source.mark_cancel()
            self.request.cancel.set()
            return False
        if mode is CancelMode.CLOSE:
            self.source.mark_cancel()
            return True
        self.source.stall()  # TASK / TIMEOUT: the harness cancels while the next pull waits
        return False


_STDLIB = sysconfig.get_paths()["stdlib"]
_HERE = str(Path(__file__).resolve().parent)


def _is_library(frame: types.FrameType) -> bool:
    name = frame.f_code.co_filename
    return name.startswith((_STDLIB, _HERE))


def _where(obj: Any) -> str:
    """Where a suspended generator / coroutine chain waits: its innermost frame outside
    the standard library and the harness, with the library frame it waits in."""
    frames: list[types.FrameType] = []
    seen = 0
    while obj is not None and seen < 100:
        seen += 1
        for attr in ("ag_frame", "cr_frame", "gi_frame"):
            found = getattr(obj, attr, None)
            if found is not None:
                frames.append(found)
        obj = next(
            (getattr(obj, a) for a in ("ag_await", "cr_await", "gi_yieldfrom") if getattr(obj, a, None)), None
        )
    return _describe_frames(frames)


def _thread_where(frame: types.FrameType | None) -> str:
    """Where a thread is: its innermost frame outside the standard library and the harness."""
    frames: list[types.FrameType] = []
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    return _describe_frames(frames[::-1])


def _describe_frames(frames: list[types.FrameType]) -> str:
    """``file:line in f`` of the innermost user frame of an outermost-first chain."""
    user = [f for f in frames if not _is_library(f)]
    if not user:
        return _frame_text(frames[-1] if frames else None)
    text = _frame_text(user[-1])
    if frames and frames[-1] is not user[-1]:
        text += f" (inside {_frame_text(frames[-1])})"
    return text


def _frame_text(frame: types.FrameType | None) -> str:
    if frame is None:
        return "an unknown place"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"


def format_crash(exc: BaseException) -> str:
    """An exception with its traceback, as failure texts show it."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()


def _exception_events(consumer: _Consumer, exc: BaseException, outcome: Outcome) -> None:
    """An exception from the adapter: a typed error if ``map_exception`` says so, else a crash."""
    mapped = None
    if consumer.adapter.map_exception is not None:
        try:
            mapped = canonical_events(consumer.adapter.map_exception(exc), consumer.raw)
        except EventError as bad:
            outcome.termination = Termination.BAD_OUTPUT
            outcome.problem = f"map_exception gave a bad event: {bad.message}"
            return
        except Exception as inner:
            outcome.termination = Termination.CRASH
            outcome.problem = f"map_exception raised while mapping {exc!r}:\n{format_crash(inner)}"
            return
    if mapped and isinstance(mapped[-1], Error):
        consumer.events.extend(mapped)
        return
    outcome.termination = Termination.CRASH
    outcome.problem = f"the adapter raised after {consumer.source.offset} bytes:\n{format_crash(exc)}"


def _finish(consumer: _Consumer, outcome: Outcome, started: float) -> Outcome:
    source = consumer.source
    outcome.events = list(consumer.events)  # a copy: an abandoned thread may still append
    outcome.adapter_events = consumer.raw
    outcome.events_at_cancel = consumer.events_at_cancel
    outcome.pulls = source.pulls
    outcome.pulls_after_cancel = source.pulls_after_cancel
    outcome.closed = source.closed
    outcome.exhausted = source.exhausted
    outcome.offset = source.offset
    outcome.last_bytes = source.last_bytes
    outcome.duration = time.perf_counter() - started
    if outcome.problem is not None:
        return outcome
    if consumer.cancelled:
        after = consumer.events[consumer.events_at_cancel or 0 :]
        if source.pulls_after_cancel:
            outcome.termination = Termination.LEAKED
            outcome.problem = f"the adapter pulled {source.pulls_after_cancel} more chunk(s) after the cancel"
        elif not source.done:
            outcome.termination = Termination.LEAKED
            outcome.problem = "the adapter was cancelled and never closed its byte source"
        elif any(not isinstance(e, Abort) for e in after) or len(after) > 1:
            outcome.termination = Termination.BAD_OUTPUT
            kinds = ", ".join(type(e).__name__ for e in after)
            outcome.problem = f"after the cancel the adapter emitted {kinds}; at most one abort may follow"
        else:
            outcome.termination = Termination.ABORT
        return outcome
    last = next((e for e in reversed(consumer.events) if not isinstance(e, Unknown)), None)
    if not source.done:
        outcome.termination = Termination.LEAKED
        outcome.problem = (
            f"the adapter stopped after {source.offset} bytes without reading to the end "
            "or closing its byte source"
        )
    elif isinstance(last, Finish):
        outcome.termination = Termination.FINISH
    elif isinstance(last, Error):
        outcome.termination = Termination.ERROR
    elif isinstance(last, Abort):
        outcome.termination = Termination.ABORT
    else:
        outcome.termination = Termination.NO_TERMINAL
    return outcome


def _bad_output(outcome: Outcome, bad: EventError, consumer: _Consumer) -> None:
    outcome.termination = Termination.BAD_OUTPUT
    outcome.problem = f"adapter event {consumer.raw} mapped to a bad canonical event: {bad.message}"


def _endless(outcome: Outcome, consumer: _Consumer) -> None:
    outcome.termination = Termination.ENDLESS
    outcome.problem = f"more than {consumer.max_events} events; the output is bounded at that"


async def _consume_async(consumer: _Consumer, iterator: AsyncIterator[Any], outcome: Outcome) -> None:
    try:
        async for item in iterator:
            if consumer.take(item):
                close = getattr(iterator, "aclose", None)
                if close is not None:
                    await close()
                return
    except EventError as bad:
        _bad_output(outcome, bad, consumer)
    except _EndlessError:
        _endless(outcome, consumer)
    except (asyncio.CancelledError, TimeoutError):
        if not consumer.cancelled:
            raise
    except Exception as exc:
        _exception_events(consumer, exc, outcome)


async def _run_async(
    consumer: _Consumer, iterator: AsyncIterator[Any], outcome: Outcome, limit: float
) -> None:
    loop = asyncio.get_running_loop()
    mode = consumer.plan.mode if consumer.plan else None

    async def body() -> None:
        if mode is CancelMode.TIMEOUT:
            async with asyncio.timeout(None) as window:
                consumer_window.append(window)
                await _consume_async(consumer, iterator, outcome)
        else:
            await _consume_async(consumer, iterator, outcome)

    consumer_window: list[asyncio.Timeout] = []
    task = asyncio.ensure_future(body())
    blocked = asyncio.ensure_future(consumer.source.wait_blocked())
    deadline = loop.time() + limit
    try:
        while not task.done():
            wait_for: set[asyncio.Future[None]] = {task} if blocked.done() else {task, blocked}
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await asyncio.wait(wait_for, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            if (
                blocked.done()
                and not task.done()
                and consumer.cancelled
                and consumer.source.cancelled_at is None
            ):
                consumer.source.mark_cancel()
                consumer.events_at_cancel = len(consumer.events)  # buffered events came before the cancel
                if mode is CancelMode.TIMEOUT and consumer_window:
                    consumer_window[0].reschedule(loop.time())
                else:
                    task.cancel()
        if not task.done():
            outcome.termination = Termination.HANG
            outcome.problem = (
                f"no result within {limit:g} s after {consumer.source.offset} bytes; "
                f"the adapter was waiting at {_where(iterator)}"
            )
            task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            if outcome.problem is None and not consumer.cancelled:
                raise
    finally:
        blocked.cancel()


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _consume_sync(consumer: _Consumer, iterable: Iterable[Any], outcome: Outcome) -> None:
    iterator: Iterator[Any] = iter(iterable)
    consumer.iterator = iterator
    try:
        for item in iterator:
            if consumer.take(item):
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()
                return
    except EventError as bad:
        _bad_output(outcome, bad, consumer)
    except _EndlessError:
        _endless(outcome, consumer)
    except Exception as exc:
        _exception_events(consumer, exc, outcome)


async def _run_sync(consumer: _Consumer, outcome: Outcome, limit: float) -> Any:
    """Call and consume a sync adapter in a daemon thread, within ``limit`` seconds.

    Returns the call's result instead when it turns out to be an async iterator (a
    plain function returning an async generator), for the caller to consume.  The
    thread reports into its own :class:`Outcome`, copied over only when it finished
    in time, so a thread abandoned after a hang cannot rewrite the verdict.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    mine = Outcome()
    handed_back: list[Any] = []

    def work() -> None:
        try:
            result = consumer.call()
            if hasattr(result, "__aiter__"):
                handed_back.append(result)
            elif isinstance(result, Iterable):
                if consumer.plan is not None and consumer.plan.mode in (CancelMode.TASK, CancelMode.TIMEOUT):
                    handed_back.append(
                        UsageError(f"a sync adapter cannot be cancelled by {consumer.plan.mode.value}")
                    )
                    return
                _consume_sync(consumer, result, mine)
            else:
                mine.termination = Termination.BAD_OUTPUT
                kind = type(result).__name__
                mine.problem = (
                    f"stream() returned {kind}: expected an async iterator or an iterable of events"
                )
        except BaseException as exc:
            _exception_events(consumer, exc, mine)
        finally:
            loop.call_soon_threadsafe(_settle, done)

    thread = threading.Thread(target=work, name=f"conformance-{consumer.adapter.name}", daemon=True)
    thread.start()
    try:
        await asyncio.wait_for(asyncio.shield(done), timeout=limit)
    except TimeoutError:
        frame = sys._current_frames().get(thread.ident or -1)
        outcome.termination = Termination.HANG
        outcome.problem = (
            f"no result within {limit:g} s after {consumer.source.offset} bytes; "
            f"the adapter was at {_thread_where(frame)}"
        )
        consumer.source.poison()
        await asyncio.sleep(_RELEASE_GRACE)
        return None
    if handed_back:
        if isinstance(handed_back[0], UsageError):
            raise handed_back[0]
        return handed_back[0]
    outcome.termination, outcome.problem = mine.termination, mine.problem
    return None


async def run_stream(
    adapter: Adapter,
    request: StreamRequest,
    chunks: Sequence[bytes],
    *,
    time_limit: float = 30.0,
    max_events: int = 100_000,
    cancel: CancelPlan | None = None,
) -> Outcome:
    """Feed ``chunks`` to ``adapter`` and record what it does (see the module docstring).

    An async generator function (or coroutine function) is called in the event loop;
    anything else is called *and* consumed in a daemon thread, so that a sync adapter
    that blocks is bounded by ``time_limit`` too.
    """
    source = RecordingSource(chunks)
    consumer = _Consumer(adapter, request, source, cancel, max_events)
    outcome = Outcome()
    started = time.perf_counter()
    stream = adapter.stream
    if stream is None:
        raise UsageError(f"adapter {adapter.name!r} has no byte-level stream()")
    if inspect.isasyncgenfunction(stream) or inspect.isasyncgenfunction(type(stream).__call__):
        try:
            result: Any = consumer.call()
        except Exception as exc:
            _exception_events(consumer, exc, outcome)
            return _finish(consumer, outcome, started)
    else:
        result = await _run_sync(consumer, outcome, time_limit)
    if result is not None:
        await _run_async(consumer, result, outcome, time_limit)
    return _finish(consumer, outcome, started)


def run_stream_sync(
    adapter: Adapter,
    request: StreamRequest,
    chunks: Sequence[bytes],
    *,
    time_limit: float = 30.0,
    max_events: int = 100_000,
    cancel: CancelPlan | None = None,
) -> Outcome:
    """:func:`run_stream` in a fresh event loop (for callers without one)."""
    return asyncio.run(
        run_stream(adapter, request, chunks, time_limit=time_limit, max_events=max_events, cancel=cancel)
    )
