"""Run one HTTP-level adapter for one request: the HTTP-level driver.

Driver layer (asyncio, a worker thread for sync adapters, a clock; the adapter opens the
sockets).  :func:`run_http` calls ``adapter.http(request)``, maps and bounds its events
as the byte-level driver does, and cancels after ``plan.after`` canonical events the
same four ways (:class:`~conformance.harness.run.CancelMode`): ``close`` closes the
adapter's iterator, ``task`` cancels the consuming task (the cancel lands where the
adapter next waits, normally its network read), ``timeout`` lets an ``asyncio.timeout``
expire there, ``signal`` sets :attr:`StreamRequest.cancel` and keeps reading.

What the byte source tells at the byte level, the loopback server's
:class:`~conformance.server.records.ConnectionRecord` tells here: ``watch`` is called
after the run (and, after a cancel, given the moment of the cancel) and returns the
record of the exchange once the server has seen the client go away, or ``None`` when it
did not within the bound.  A cancelled run whose connection stayed open is ``leaked``,
and the outcome says how long the server waited and what it wrote after the cancel.
Sync adapters (``requests``) are consumed in a daemon thread and support ``close`` and
``signal`` only.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from conformance.errors import EventError, UsageError
from conformance.events import Abort, Error, Event, Finish, Unknown, UsageCounts
from conformance.harness.contract import Adapter, StreamRequest, canonical_events
from conformance.harness.outcome import Outcome, Termination
from conformance.harness.run import CancelMode, CancelPlan, format_crash
from conformance.server.records import ConnectionRecord

__all__ = ["SocketCancel", "Watch", "run_http"]

#: ``watch(cancelled_at)``: the record of the exchange once the client went away (or
#: ``None`` when it did not within the bound); ``cancelled_at`` is ``None`` for a run
#: that was not cancelled (the record is then wanted as it stands).
Watch = Callable[[float | None], Awaitable[ConnectionRecord | None]]


@dataclass(frozen=True, slots=True)
class SocketCancel:
    """What the server saw of one cancel over a real socket."""

    latency: float | None
    """Seconds from the cancel to the server seeing the client gone (``None``: not within the bound)."""
    bound: float
    bytes_after: int
    """Body bytes the server wrote after the cancel."""
    frames_after: int
    abort_usage: UsageCounts | None
    """The usage the adapter's ``abort`` carried."""
    bytes_before: int = 0
    """Body bytes the server had written by the moment of the cancel."""
    sent_usage: UsageCounts | None = None
    """The last usage snapshot in those bytes (``conformance.harness.spend``; filled in by
    the caller, which knows the API): the spend known to the vendor at the cancel."""


class _EndlessError(Exception):
    pass


@dataclass(slots=True)
class _State:
    adapter: Adapter
    request: StreamRequest
    plan: CancelPlan | None
    max_events: int
    events: list[Event]
    raw: int = 0
    cancelled_at: float | None = None
    events_at_cancel: int | None = None
    problem: str | None = None
    termination: Termination | None = None

    def take(self, item: Any) -> CancelMode | None:
        """Map one adapter event; the cancel mode when the consumer cancels now."""
        self.events.extend(canonical_events(self.adapter.to_canonical(item), self.raw))
        self.raw += 1
        if len(self.events) > self.max_events:
            raise _EndlessError
        if self.plan is None or self.cancelled_at is not None or len(self.events) < self.plan.after:
            return None
        self.cancelled_at = time.monotonic()
        if self.plan.mode in (CancelMode.CLOSE, CancelMode.SIGNAL):
            self.events_at_cancel = len(self.events)
        # TASK / TIMEOUT: the cancel lands where the adapter next waits; events it still
        # yields from what it had buffered come before that (``landed``)
        if self.plan.mode is CancelMode.SIGNAL:
            self.request.cancel.set()
        return self.plan.mode

    def landed(self) -> None:
        """A task or timeout cancel reached the adapter where it waited."""
        if self.events_at_cancel is None:
            self.events_at_cancel = len(self.events)

    def exception(self, exc: BaseException) -> None:
        """An exception from the adapter: a typed error when ``map_exception`` says so."""
        mapper = self.adapter.map_exception
        mapped: list[Event] = []
        if mapper is not None:
            try:
                mapped = canonical_events(mapper(exc), self.raw)
            except EventError as bad:
                self._fail(Termination.BAD_OUTPUT, f"map_exception gave a bad event: {bad.message}")
                return
            except Exception as inner:
                self._fail(
                    Termination.CRASH, f"map_exception raised while mapping {exc!r}:\n{format_crash(inner)}"
                )
                return
        if mapped and isinstance(mapped[-1], Error):
            self.events.extend(mapped)
            return
        self._fail(Termination.CRASH, f"the adapter raised:\n{format_crash(exc)}")

    def bad(self, error: EventError) -> None:
        self._fail(
            Termination.BAD_OUTPUT,
            f"adapter event {self.raw} mapped to a bad canonical event: {error.message}",
        )

    def endless(self) -> None:
        self._fail(Termination.ENDLESS, f"more than {self.max_events} events; the output is bounded at that")

    def _fail(self, termination: Termination, problem: str) -> None:
        if self.problem is None:
            self.termination, self.problem = termination, problem


async def _consume_async(state: _State, iterator: AsyncIterator[Any]) -> None:
    window: asyncio.Timeout | None = None
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(None) as window:
            async for item in iterator:
                mode = state.take(item)
                if mode is CancelMode.CLOSE:
                    await iterator.aclose()  # type: ignore[attr-defined]
                    return
                if mode is CancelMode.TASK:
                    task = asyncio.current_task()
                    assert task is not None
                    task.cancel()  # lands where the adapter next waits
                elif mode is CancelMode.TIMEOUT:
                    window.reschedule(loop.time())
    except EventError as bad:
        state.bad(bad)
    except _EndlessError:
        state.endless()
    except (asyncio.CancelledError, TimeoutError):
        if state.cancelled_at is None:
            raise
        state.landed()
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
    except Exception as exc:
        state.exception(exc)


def _consume_sync(state: _State, iterable: Iterable[Any]) -> None:
    iterator = iter(iterable)
    try:
        for item in iterator:
            if state.take(item) is CancelMode.CLOSE:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()
                return
    except EventError as bad:
        state.bad(bad)
    except _EndlessError:
        state.endless()
    except Exception as exc:
        state.exception(exc)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _run_sync(state: _State, limit: float) -> bool:
    """Call and consume a sync adapter in a daemon thread; False when it did not finish in time."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def work() -> None:
        try:
            assert state.adapter.http is not None
            result = state.adapter.http(state.request)
            if not isinstance(result, Iterable):
                state._fail(
                    Termination.BAD_OUTPUT, f"http() returned {type(result).__name__}: expected events"
                )
            else:
                _consume_sync(state, result)
        except BaseException as exc:
            state.exception(exc)
        finally:
            loop.call_soon_threadsafe(_settle, done)

    threading.Thread(target=work, name=f"conformance-http-{state.adapter.name}", daemon=True).start()
    try:
        await asyncio.wait_for(asyncio.shield(done), timeout=limit)
    except TimeoutError:
        return False
    return True


def _termination(
    state: _State, events: list[Event], record: ConnectionRecord | None
) -> tuple[Termination, str | None]:
    if state.problem is not None and state.termination is not None:
        return state.termination, state.problem
    if state.cancelled_at is not None:
        after = events[state.events_at_cancel or 0 :]
        if any(not isinstance(e, Abort) for e in after) or len(after) > 1:
            kinds = ", ".join(type(e).__name__ for e in after)
            return (
                Termination.BAD_OUTPUT,
                f"after the cancel the adapter emitted {kinds}; at most one abort may follow",
            )
        return Termination.ABORT, None
    last = next((e for e in reversed(events) if not isinstance(e, Unknown)), None)
    if isinstance(last, Finish):
        return Termination.FINISH, None
    if isinstance(last, Error):
        return Termination.ERROR, None
    if isinstance(last, Abort):
        return Termination.ABORT, None
    return Termination.NO_TERMINAL, None


def _leak_text(record: ConnectionRecord | None, cancelled_at: float, bound: float) -> str:
    if record is None:
        return f"the server saw no request within {bound:g} s of the cancel"
    written = record.bytes_written_after(cancelled_at)
    frames = record.frames_written_after(cancelled_at)
    return (
        f"the connection stayed open {bound:g} s after the cancel (no disconnect seen by the server); "
        f"the server wrote {written} bytes ({frames} frames) after the cancel"
    )


def _drained(record: ConnectionRecord, cancelled_at: float) -> str | None:
    """Why the client kept reading after the cancel: the server wrote the rest of the body
    and the client went away only once it was complete; ``None`` when it did not.

    One write after the cancel is allowed: it may have raced the cancel, and a ``signal``
    cancel is seen when the next chunk arrives, which may be the body's last."""
    finished, closed = record.finished_at, record.client_closed_at
    written = record.bytes_written_after(cancelled_at)
    writes = sum(1 for when, _ in record.writes if when > cancelled_at)
    if finished is None or finished <= cancelled_at or closed is None or closed < finished or writes <= 1:
        return None
    return (
        f"the client kept reading after the cancel: the server wrote the rest of the body, {written} bytes "
        f"({record.frames_written_after(cancelled_at)} frames), and saw the disconnect only "
        f"{(closed - cancelled_at) * 1000:.1f} ms after the cancel, once the body was complete"
    )


async def run_http(
    adapter: Adapter,
    request: StreamRequest,
    watch: Watch,
    *,
    time_limit: float = 30.0,
    max_events: int = 100_000,
    cancel: CancelPlan | None = None,
    disconnect_bound: float = 5.0,
) -> tuple[Outcome, SocketCancel | None]:
    """Run ``adapter.http(request)``; the outcome and, after a cancel, what the server saw
    (``None`` also when a task or timeout cancel never landed: the adapter ended the
    stream from what it had buffered without waiting again)."""
    http = adapter.http
    if http is None:
        raise UsageError(f"adapter {adapter.name!r} has no HTTP-level http()")
    state = _State(adapter, request, cancel, max_events, [])
    started = time.perf_counter()
    finished = True
    if inspect.isasyncgenfunction(http) or inspect.isasyncgenfunction(type(http).__call__):
        try:
            iterator = http(request)
        except Exception as exc:
            state.exception(exc)
        else:
            task = asyncio.ensure_future(_consume_async(state, iterator))  # type: ignore[arg-type]
            done, _ = await asyncio.wait({task}, timeout=time_limit)
            if not done:
                finished = False
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            elif not task.cancelled():  # cancelled: a task cancel that never landed
                task.result()
    else:
        if cancel is not None and cancel.mode in (CancelMode.TASK, CancelMode.TIMEOUT):
            raise UsageError(f"a sync adapter cannot be cancelled by {cancel.mode.value}")
        finished = await _run_sync(state, time_limit)
    if state.cancelled_at is not None and state.events_at_cancel is None and finished:
        # the adapter had the rest buffered and ended without waiting again: no cancel happened
        state.cancelled_at = None
        state.plan = None
    events = list(state.events)
    outcome = Outcome(events=events, adapter_events=state.raw, events_at_cancel=state.events_at_cancel)
    hung = not finished
    if hung:
        outcome.termination = Termination.HANG
        outcome.problem = f"no result within {time_limit:g} s; the adapter was still waiting"
    record = await watch(state.cancelled_at)
    socket_cancel = None
    if state.cancelled_at is not None:
        closed = record.client_closed_at if record is not None else None
        latency = None if closed is None else max(0.0, closed - state.cancelled_at)
        abort = next((e for e in events[state.events_at_cancel or 0 :] if isinstance(e, Abort)), None)
        socket_cancel = SocketCancel(
            latency=latency,
            bound=disconnect_bound,
            bytes_after=record.bytes_written_after(state.cancelled_at) if record else 0,
            bytes_before=record.bytes_written_by(state.cancelled_at) if record else 0,
            frames_after=record.frames_written_after(state.cancelled_at) if record else 0,
            abort_usage=abort.usage if abort is not None else None,
        )
    if not hung:
        outcome.termination, outcome.problem = _termination(state, events, record)
        at = state.cancelled_at or 0.0
        if outcome.termination is Termination.ABORT and socket_cancel is not None:
            if socket_cancel.latency is None or socket_cancel.latency > disconnect_bound:
                outcome.termination = Termination.LEAKED
                outcome.problem = _leak_text(record, at, disconnect_bound)
            elif record is not None and (drained := _drained(record, at)) is not None:
                outcome.termination, outcome.problem = Termination.LEAKED, drained
    if record is not None:
        outcome.offset = record.bytes_written
        outcome.pulls = len(record.writes)
        outcome.closed = record.client_closed_at is not None
        outcome.exhausted = record.finished_at is not None
    outcome.duration = time.perf_counter() - started
    return outcome, socket_cancel
