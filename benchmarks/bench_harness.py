"""Benchmark: the harness's own cost per canonical event, everything but the adapter.
I/O: reads the corpus (part c), prints a table.

Three parts, each in microseconds per canonical event (µs/event), each row the median of
``repeats`` timed runs after one warm-up (part c, the slow one, half as many):

a. **driving** (:func:`~conformance.harness.run.run_stream`): adapters that do no decoding
   work -- they iterate the chunks they are given (one chunk per event) and yield
   pre-built events of one long synthetic response (reasoning, text and parallel tool
   calls, ``events`` canonical events in all).  Each is timed under ``run_stream`` and
   under a *floor*: the same generator over a plain iterator of the same chunks, consumed
   by a bare loop.  The harness's cost is the difference.  Variants: an async generator
   yielding :mod:`conformance.events` objects; a sync generator (``run_stream`` runs it
   in a worker thread); an async generator yielding JSON objects, which ``to_canonical``
   validation (schema, then ``from_json``) makes dearer.
b. **judging** (:func:`~conformance.harness.verdict.judge_case`: projection, compare,
   fold) of that run against a separately parsed copy of the expected sequence: once
   identical (``PASS``), once with every delta cut in two (``PASS_NONSTRICT``, the
   folding path).
c. **execute()** (:func:`~conformance.harness.execute.execute`) with the reference
   adapter over corpus cases under the default chunkings (no cancellation or fault
   runs): everything a test of the matrix does, from reading the body to the verdict.
   The floor is the same adapter's ``stream`` over the same pre-cut chunks in one event
   loop, consumed by a bare loop; the rest is the harness.  Per-chunking rows show
   where it goes (``bytewise`` makes one pull per byte), and three rows break the
   overhead down: cutting the bodies, one ``asyncio.run`` per test, and the ``repr`` of
   the result that ``asyncio.run`` computes on exit in the main thread (CPython's
   ``signal.getsignal`` tries ``Handlers(handler)``, whose error message reprs the
   handler, a partial holding the finished main task, whose repr holds its result).
   ``sample`` takes every n-th case only (a quick run).

Parts a and b run each stream inside ``asyncio.run`` of a coroutine that returns
``None``, so that last quirk is not counted there.

Run: ``python -m benchmarks.bench_harness [--events 200000] [--repeats 5] [--sample 1] [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import inspect
import math
import statistics
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from functools import partial
from typing import Any

from benchmarks._harness import timed
from benchmarks.bench_openai_chat import build_events
from conformance.cassettes import Case, case_body, expected_events, iter_cases
from conformance.chunking import DEFAULT_CHUNKINGS, parse_chunking
from conformance.events import BlockDelta, Event, dumps, loads, to_json
from conformance.harness.contract import Adapter, Capability, StreamRequest
from conformance.harness.execute import Limits, execute, request_for
from conformance.harness.matrix import Spec, chunkings_for
from conformance.harness.outcome import Outcome, Termination
from conformance.harness.run import run_stream
from conformance.harness.verdict import Verdict, judge_case
from conformance.reference import reference_adapter

__all__ = ["GOAL_US", "run"]

#: The goal: the harness's own overhead per canonical event, in microseconds.
GOAL_US = 2.0

_REQUEST = StreamRequest(api="openai/chat-completions", flavour="openai", framing="sse")
_ALL = frozenset(Capability)


# -- part a: driving -----------------------------------------------------------------------


class _PlainChunks:
    """The floor's byte source: the chunks, async and sync, with no bookkeeping."""

    def __init__(self, chunks: Sequence[bytes]) -> None:
        self._chunks = iter(chunks)

    def __aiter__(self) -> _PlainChunks:
        return self

    async def __anext__(self) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            raise StopAsyncIteration from None

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def __next__(self) -> bytes:
        return next(self._chunks)

    async def aclose(self) -> None:
        pass

    def close(self) -> None:
        pass


def _async_replay(items: Sequence[Any]) -> Any:
    """An async adapter yielding ``items``, one per chunk pulled (the rest at the end)."""

    async def stream(request: StreamRequest, chunks: Any) -> AsyncIterator[Any]:
        i = 0
        try:
            async for _ in chunks:
                if i < len(items):
                    yield items[i]
                    i += 1
            for item in items[i:]:
                yield item
        finally:
            await chunks.aclose()

    return stream


def _sync_replay(items: Sequence[Any]) -> Any:
    """The same as a plain generator."""

    def stream(request: StreamRequest, chunks: Any) -> Iterator[Any]:
        i = 0
        try:
            for _ in chunks:
                if i < len(items):
                    yield items[i]
                    i += 1
            yield from items[i:]
        finally:
            chunks.close()

    return stream


def _adapter(stream: Any) -> Adapter:
    return Adapter(name="replay", stream=stream, apis={_REQUEST.api: ("*",)}, capabilities=_ALL)


def _drive(adapter: Adapter, chunks: Sequence[bytes], count: int) -> Outcome:
    """One ``run_stream`` in a fresh event loop; the outcome is handed out of the loop
    by a box, so that ``asyncio.run`` does not repr it on exit (see the module)."""
    box: list[Outcome] = []

    async def main() -> None:
        box.append(await run_stream(adapter, _REQUEST, chunks, time_limit=3600, max_events=count + 1))

    asyncio.run(main())
    return box[0]


def _floor(stream: Any, chunks: Sequence[bytes]) -> int:
    """The adapter's generator alone, over plain chunks, consumed by a bare loop."""

    async def consume() -> None:
        box[0] = 0
        async for _ in stream(_REQUEST, _PlainChunks(chunks)):
            box[0] += 1

    box = [0]
    if not inspect.isasyncgenfunction(stream):
        return sum(1 for _ in stream(_REQUEST, _PlainChunks(chunks)))
    asyncio.run(consume())
    return box[0]


def _row(
    part: str,
    name: str,
    seconds: float,
    events: int,
    floor: float | None = None,
    *,
    tests: int | None = None,
    pulls: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One table row: total, floor and overhead (total - floor) in µs per event, and the
    overhead per test where tests are counted."""
    overhead = seconds - (floor or 0.0)
    row: dict[str, Any] = {
        "part": part,
        "name": name,
        "events": events,
        "seconds": round(seconds, 4),
        "us_per_event": round(seconds / events * 1e6, 3),
        "floor_us_per_event": None if floor is None else round(floor / events * 1e6, 3),
        "overhead_us_per_event": round(overhead / events * 1e6, 3),
        "tests": tests,
        "pulls": pulls,
        "overhead_us_per_test": round(overhead / tests * 1e6, 1) if tests else None,
    }
    row.update(extra)
    return row


def driving(events: Sequence[Event], repeats: int) -> tuple[list[dict[str, Any]], Outcome]:
    """Part a: rows, and the outcome of the event-object run (for part b)."""
    chunks = [b"x"] * len(events)
    variants = [
        ("async adapter, event objects", _async_replay(events)),
        ("sync adapter (worker thread), event objects", _sync_replay(events)),
        ("async adapter, JSON objects (validated)", _async_replay([to_json(e) for e in events])),
    ]
    rows: list[dict[str, Any]] = []
    first: Outcome | None = None
    for name, stream in variants:
        adapter = _adapter(stream)
        floor, counted = timed(partial(_floor, stream, chunks), repeats)
        seconds, outcome = timed(partial(_drive, adapter, chunks, len(events)), repeats)
        if counted != len(events) or len(outcome.events) != len(events):
            raise RuntimeError(f"{name}: {counted} / {len(outcome.events)} events, not {len(events)}")
        if outcome.termination is not Termination.FINISH:
            raise RuntimeError(f"{name}: ended {outcome.termination.value}: {outcome.problem}")
        rows.append(_row("a", f"run_stream: {name}", seconds, len(events), floor, pulls=outcome.pulls))
        first = first or outcome
    assert first is not None
    return rows, first


# -- part b: judging -----------------------------------------------------------------------


def _split_deltas(events: Sequence[Event]) -> list[Event]:
    out: list[Event] = []
    for e in events:
        if isinstance(e, BlockDelta) and len(e.text) > 1:
            half = len(e.text) // 2
            out += [dataclasses.replace(e, text=e.text[:half]), dataclasses.replace(e, text=e.text[half:])]
        else:
            out.append(e)
    return out


def judging(events: Sequence[Event], outcome: Outcome, repeats: int) -> list[dict[str, Any]]:
    """Part b: judge_case on the driving run's outcome, against a parsed copy of ``events``."""
    expected = [loads(dumps(e)) for e in events]  # equal values, distinct objects
    rechunked = dataclasses.replace(outcome, events=_split_deltas(outcome.events))
    rows = []
    for name, actual, want in (
        ("judge_case: identical (PASS)", outcome, Verdict.PASS),
        ("judge_case: every delta cut in two (PASS_NONSTRICT, folded)", rechunked, Verdict.PASS_NONSTRICT),
    ):
        seconds, judgement = timed(partial(judge_case, expected, actual, _ALL), repeats)
        if judgement.verdict is not want:
            raise RuntimeError(f"{name}: {judgement.verdict.value}, not {want.value}: {judgement.reason}")
        rows.append(_row("b", name, seconds, len(expected)))
    return rows


# -- part c: execute() over the corpus -------------------------------------------------------


@dataclasses.dataclass
class _Test:
    spec: Spec
    case: Case
    expected: list[Event]
    chunk_sets: list[list[bytes]]
    events: int = 0


def _tests(sample: int) -> list[_Test]:
    """Every ``sample``-th corpus case under each default chunking that applies to it."""
    tests = []
    for number, case in enumerate(iter_cases()):
        if number % sample:
            continue
        expected = expected_events(case)
        body = case_body(case)
        for name in chunkings_for(case, DEFAULT_CHUNKINGS):
            sets = [list(c) for c in parse_chunking(name).chunkings(body, recorded=case.chunks)]
            tests.append(_Test(Spec("reference", case.id, name), case, expected, sets))
    return tests


def _floor_corpus(adapter: Adapter, tests: Sequence[_Test]) -> int:
    """The reference adapter's stream over every pre-cut chunk set, in one event loop."""
    stream: Any = adapter.stream

    async def consume() -> int:
        count = 0
        for test in tests:
            test.events = 0
            for chunks in test.chunk_sets:
                async for _ in stream(request_for(test.case), _PlainChunks(chunks)):
                    test.events += 1
            count += test.events
        return count

    return asyncio.run(consume())


def _execute_all(adapter: Adapter, tests: Sequence[_Test]) -> tuple[dict[str, float], int]:
    """Seconds spent in execute() per chunking, and how many tests failed."""
    spent: dict[str, float] = {}
    failed = 0
    limits = Limits()
    for test in tests:
        start = time.perf_counter()
        result = execute(test.spec, adapter, test.case, test.expected, limits)
        spent[test.spec.chunking] = spent.get(test.spec.chunking, 0.0) + time.perf_counter() - start
        failed += result.judgement.verdict is Verdict.FAIL
    return spent, failed


def _cutting(tests: Sequence[_Test]) -> None:
    for test in tests:
        body = case_body(test.case)
        for _ in parse_chunking(test.spec.chunking).chunkings(body, recorded=test.case.chunks):
            pass


def _loops(results: Sequence[Any]) -> None:
    """One ``asyncio.run`` per item, of a coroutine returning that item."""

    async def main(result: Any) -> Any:
        return result

    for result in results:
        asyncio.run(main(result))


def corpus(repeats: int, sample: int) -> list[dict[str, Any]]:
    """Part c: execute() over corpus tests, against the reference adapter's own floor."""
    adapter = reference_adapter()
    tests = _tests(sample)
    floor, total_events = timed(partial(_floor_corpus, adapter, tests), repeats)
    runs = [_execute_all(adapter, tests) for _ in range(repeats + 1)][1:]  # the first warms up
    failed = runs[0][1]
    by_chunking = {name: statistics.median(spent[name] for spent, _ in runs) for name in runs[0][0]}
    seconds = sum(by_chunking.values())
    rows = [
        _row(
            "c",
            f"execute(), reference adapter: {len(tests)} tests, {len({t.case.id for t in tests})} cases",
            seconds,
            total_events,
            floor,
            tests=len(tests),
            pulls=sum(len(c) for t in tests for c in t.chunk_sets),
            failed=failed,
        )
    ]
    for name, spent in sorted(by_chunking.items(), key=lambda kv: DEFAULT_CHUNKINGS.index(kv[0])):
        chosen = [t for t in tests if t.spec.chunking == name]
        events = sum(t.events for t in chosen)
        pulls = sum(len(c) for t in chosen for c in t.chunk_sets)
        floor_part, _ = timed(partial(_floor_corpus, adapter, chosen), repeats)
        rows.append(
            _row("c", f"chunking {name}", spent, max(events, 1), floor_part, tests=len(chosen), pulls=pulls)
        )
    cut, _ = timed(partial(_cutting, tests), repeats)
    rows.append(_row("c", "of which: reading and cutting the bodies", cut, total_events, tests=len(tests)))
    loops, _ = timed(partial(_loops, [None] * len(tests)), repeats)
    rows.append(_row("c", "of which: one asyncio.run per test", loops, total_events, tests=len(tests)))
    results = [execute(t.spec, adapter, t.case, t.expected, Limits()) for t in tests]
    with_repr, _ = timed(partial(_loops, [(r.judgement, r.outcome) for r in results]), repeats)
    name = "of which: asyncio.run's repr of the returned result"
    rows.append(_row("c", name, with_repr - loops, total_events, tests=len(tests)))
    return rows


# -- all parts -------------------------------------------------------------------------------


def long_sequence(events: int) -> list[Event]:
    """One synthetic response of at least ``events`` canonical events."""
    per_round = len(build_events(1)) - 3  # response.start, usage and finish come once
    return build_events(max(1, math.ceil(events / per_round)))


def run(events: int = 200_000, repeats: int = 5, sample: int = 1) -> list[dict[str, Any]]:
    """Every row of the three parts (``sample``: every n-th corpus case in part c)."""
    sequence = long_sequence(events)
    rows, outcome = driving(sequence, repeats)
    rows += judging(sequence, outcome, repeats)
    rows += corpus(max(1, repeats // 2), sample)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sample", type=int, default=1, help="part c: every n-th corpus case")
    parser.add_argument("--quick", action="store_true", help="20,000 events, 3 runs, every 10th case")
    args = parser.parse_args()
    if args.quick:
        args.events, args.repeats, args.sample = 20_000, 3, 10
    for row in run(args.events, args.repeats, args.sample):
        floor = "-" if row["floor_us_per_event"] is None else f"{row['floor_us_per_event']:.3f}"
        per_test = (
            "" if row["overhead_us_per_test"] is None else f"  {row['overhead_us_per_test']:,.0f} us/test"
        )
        print(
            f"{row['part']} {row['name']:<66} {row['us_per_event']:>9.3f} us/event  floor {floor:>7}"
            f"  overhead {row['overhead_us_per_event']:>8.3f}{per_test}"
        )


if __name__ == "__main__":
    main()
