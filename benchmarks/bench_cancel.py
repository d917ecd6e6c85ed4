"""Benchmark: cancel-to-disconnect latency over real loopback sockets, for the example
HTTP-level adapters.  I/O: starts the loopback fake-vendor server, makes HTTP requests
through the adapters, prints a table.

What is measured is what the plugin's ``http-cancel-<mode>`` tests measure, by the same
code: :func:`conformance.harness.execute_http` serves a corpus case from the process's
:class:`~conformance.server.LoopbackServer` (a daemon thread, as under pytest) frame by
frame with :data:`~conformance.harness.execute_http.CANCEL_DELAY_MS` between writes,
:func:`~conformance.harness.http_run.run_http` cancels the adapter after ``after``
canonical events, and the latency is the server's
:attr:`~conformance.server.ConnectionRecord.client_closed_at` minus the consumer's moment
of cancelling (both ``time.monotonic()``), as :class:`~conformance.harness.http_run.SocketCancel`
carries it.  So it includes everything between the consumer deciding to stop and the
server's read seeing EOF: the adapter's own unwinding (closing its response and client),
the kernel, and the server thread getting the GIL.

For each example adapter (``examples/httpx_adapter.py``, ``examples/aiohttp_adapter.py``)
and the floor below, and each cancel mode of the harness (``close``: the consumer closes the adapter's
iterator; ``task``: it cancels the consuming task; ``timeout``: an ``asyncio.timeout``
expires; ``signal``: it sets ``request.cancel`` and keeps reading, so the adapter stops at
its next chunk, up to one server delay later), ``cancels`` cancels, one after the other
in one event loop, cycling over one case per API (its ``synthetic-long-text`` case, about
130 frames, where it has one; else the server's default case for it).  Each cancels after
half the case's expected events, at most :data:`MAX_AFTER`, so that the stream is still
flowing, with many frames to come, and a cancel takes milliseconds (the plugin cancels
after half; where in the stream the cancel falls does not change what the client has to
do, but a ``signal`` cancel just before the last frame would read the whole body).
A few warm-up cancels per adapter (one per case) are not counted.

A third row set is the **floor**: :func:`factory`'s bare client (``asyncio.open_connection``
and h11, no pool or client object), the least an HTTP client can do.  What latency it
still shows is not the adapters' but the path's: the harness's bookkeeping, the server
thread (in the same process, so it shares the GIL with the client), and the kernel.

A cancel "not landed" is a ``task`` or ``timeout`` cancel the adapter never saw (it ended
the stream from what it had buffered); "leaked" is one whose disconnect the server did
not see within the bound (or saw only after writing the rest of the body); "wrong" is a
run that crashed or ended otherwise than in an abort.  Percentiles
are nearest-rank (:func:`percentile`).

Run: ``python -m benchmarks.bench_cancel [--cancels 1000] [--quick]`` (or
``python -m benchmarks.run --only cancel``).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import math
import statistics
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import h11

from conformance.cassettes import Case, expected_events
from conformance.errors import UsageError
from conformance.events import Abort, AbortReason, Event
from conformance.harness.contract import ALL, Adapter, Capability, StreamRequest
from conformance.harness.execute import Limits
from conformance.harness.execute_http import CANCEL_DELAY_MS
from conformance.harness.execute_http import serve_plan as serve  # the plugin's own serving path
from conformance.harness.outcome import Termination
from conformance.harness.run import CancelMode, CancelPlan
from conformance.registry import api_ids, get_codec
from conformance.server import FRAMES_CHUNKING, Plan, default_case_id, find_case, plan_for_case

__all__ = [
    "ADAPTERS",
    "CANCEL_DELAY_MS",
    "FLOOR",
    "GOAL_MS",
    "MAX_AFTER",
    "MODES",
    "Summary",
    "cancel_point",
    "factory",
    "percentile",
    "run",
    "summarize",
]

#: The floor's label: the least an HTTP client can do (see :func:`factory`).
FLOOR = "floor: asyncio + h11"

#: The goal: the server sees the disconnect within this many ms of the cancel, at p99.
GOAL_MS = 5.0

#: A cancel comes after at most this many canonical events (half the case's, if fewer).
MAX_AFTER = 4

#: The adapters: (label, module with ``factory()``, the library it needs); the floor last.
ADAPTERS: tuple[tuple[str, str, str], ...] = (
    ("httpx", "examples.httpx_adapter", "httpx"),
    ("aiohttp", "examples.aiohttp_adapter", "aiohttp"),
    (FLOOR, "benchmarks.bench_cancel", "h11"),
)

#: The harness's cancel modes, in the order the table shows them (``CancelMode`` values).
MODES: tuple[str, ...] = ("close", "task", "timeout", "signal")

#: What the table calls each mode.
MODE_LABELS: dict[str, str] = {
    "close": "close (break + aclose)",
    "task": "task cancellation",
    "timeout": "timeout (asyncio.timeout)",
    "signal": "signal (request.cancel)",
}

#: Seconds the server is given to see the disconnect before a cancel counts as leaked.
BOUND_S = 5.0


# -- pure parts ----------------------------------------------------------------------------


def percentile(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile of ``ordered`` (sorted ascending): the smallest
    value with at least ``q`` % of the values at or below it."""
    if not ordered:
        raise ValueError("no values")
    if not 0 < q <= 100:
        raise ValueError(f"percentile {q!r} is not in (0, 100]")
    rank = math.ceil(q / 100 * len(ordered))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Summary:
    """Latencies in milliseconds: how many, median, p90, p99, max."""

    count: int
    median_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float


def summarize(latencies_s: Sequence[float]) -> Summary | None:
    """The summary of latencies given in seconds (``None`` when there are none)."""
    if not latencies_s:
        return None
    ordered = sorted(s * 1000 for s in latencies_s)
    return Summary(
        count=len(ordered),
        median_ms=statistics.median(ordered),
        p90_ms=percentile(ordered, 90),
        p99_ms=percentile(ordered, 99),
        max_ms=ordered[-1],
    )


def cancel_point(expected_events: int) -> int:
    """After how many canonical events a case of ``expected_events`` is cancelled: half,
    at most :data:`MAX_AFTER`, at least 1."""
    return max(1, min(expected_events // 2, MAX_AFTER))


# -- the floor: the least an HTTP client does ---------------------------------------------------


async def _floor_stream(request: StreamRequest) -> AsyncIterator[Event]:
    """A bare HTTP/1.1 client: one ``asyncio.open_connection``, h11 for the framing, the
    reference decoder for the body, the socket closed in ``finally`` however it stops
    (on ``request.cancel``, after the chunk in hand, with an ``abort``).  No pool, no
    client object, no timeouts: what is left of a cancel's latency with it is the
    harness's, the server's and the kernel's."""
    url = urlsplit(request.url)
    body = json.dumps(dict(request.body) if request.body is not None else {}).encode("utf-8")
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        conn = h11.Connection(h11.CLIENT)
        headers = [
            *request.headers.items(),
            ("host", url.netloc),
            ("content-type", "application/json"),
            ("content-length", str(len(body))),
        ]
        target = url.path + (f"?{url.query}" if url.query else "")
        head = h11.Request(method=request.method, target=target, headers=headers)
        writer.write(
            conn.send(head) + (conn.send(h11.Data(data=body)) or b"") + (conn.send(h11.EndOfMessage()) or b"")
        )
        decoder = get_codec(request.api).new_decoder(request.flavour, framing=request.framing)
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await reader.read(65536))
            elif isinstance(event, h11.Data):
                for item in decoder.feed(bytes(event.data)):
                    yield item
                if request.cancel.is_set():
                    yield Abort(reason=AbortReason.CONSUMER_CANCEL)
                    return
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                break
        for item in decoder.close():
            yield item
    finally:
        writer.close()


def factory() -> Adapter:
    """The floor adapter (HTTP level, every API the suite knows)."""
    return Adapter(
        name="floor",
        http=_floor_stream,
        apis=dict.fromkeys(api_ids(), (ALL,)),
        capabilities=frozenset(Capability),
    )


# -- driving ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    case: Case
    plan: Plan
    after: int


#: The case served for each API: this one where the API has it (a long answer, so the
#: stream is still flowing when the cancel comes), else the server's default case.
PREFERRED_CASE = "synthetic-long-text"


def _case_for(api: str) -> Case | None:
    try:
        return find_case(f"{api}/{PREFERRED_CASE}")
    except UsageError:
        case_id = default_case_id(api)
        return None if case_id is None else find_case(case_id)


def _targets() -> list[_Target]:
    """One served case per API, served frame by frame."""
    targets = []
    for api in api_ids():
        case = _case_for(api)
        if case is None:
            continue
        if case.request.method != "POST":
            continue
        plan = plan_for_case(case, chunking=FRAMES_CHUNKING, delay_ms=CANCEL_DELAY_MS)
        targets.append(_Target(case, plan, cancel_point(len(expected_events(case)))))
    return targets


@dataclass(slots=True)
class _Tally:
    latencies: list[float]
    not_landed: int = 0
    leaked: int = 0
    wrong: int = 0
    problem: str | None = None


async def _cancel_once(adapter: Adapter, target: _Target, mode: str, tally: _Tally | None) -> None:
    """One cancelled exchange through the plugin's HTTP path (loopback server, token,
    watch, ``run_http``); counted into ``tally``."""
    plan = CancelPlan(CancelMode(mode), target.after)
    outcome, measured = await serve(target.plan, adapter, target.case, Limits(), cancel=plan, bound=BOUND_S)
    if tally is None:
        return
    if measured is None:  # no cancel happened: the adapter ended the stream itself, or failed
        if outcome.termination is Termination.FINISH:
            tally.not_landed += 1
        else:
            tally.wrong += 1
            tally.problem = tally.problem or f"{outcome.termination.value}: {outcome.problem}"
        return
    if outcome.termination is Termination.LEAKED or measured.latency is None:
        tally.leaked += 1
        tally.problem = tally.problem or outcome.problem
        return
    if outcome.termination is not Termination.ABORT:
        tally.wrong += 1
        tally.problem = tally.problem or f"{outcome.termination.value}: {outcome.problem}"
        return
    tally.latencies.append(measured.latency)


async def _batch(adapter: Adapter, targets: Sequence[_Target], mode: str, cancels: int) -> _Tally:
    tally = _Tally([])
    for target in targets:  # warm-up: one per case, not counted
        await _cancel_once(adapter, target, mode, None)
    for i in range(cancels):
        await _cancel_once(adapter, targets[i % len(targets)], mode, tally)
    return tally


def _row(label: str, mode: str, cancels: int, tally: _Tally, seconds: float) -> dict[str, Any]:
    summary = summarize(tally.latencies)
    return {
        "adapter": label,
        "mode": mode,
        "cancels": cancels,
        "measured": len(tally.latencies),
        "not_landed": tally.not_landed,
        "leaked": tally.leaked,
        "wrong": tally.wrong,
        "median_ms": None if summary is None else round(summary.median_ms, 3),
        "p90_ms": None if summary is None else round(summary.p90_ms, 3),
        "p99_ms": None if summary is None else round(summary.p99_ms, 3),
        "max_ms": None if summary is None else round(summary.max_ms, 3),
        "seconds": round(seconds, 1),
        "problem": tally.problem,
    }


def _missing_row(label: str, library: str) -> dict[str, Any]:
    return {"adapter": label, "mode": None, "missing": library}


def run(cancels: int = 1000, modes: Sequence[str] = MODES) -> list[dict[str, Any]]:
    """One row per adapter and mode (a ``missing`` row for an adapter whose HTTP library
    is not installed)."""
    targets = _targets()
    rows: list[dict[str, Any]] = []
    for label, module_name, library in ADAPTERS:
        try:
            importlib.import_module(library)
        except ImportError:
            rows.append(_missing_row(label, library))
            continue
        adapter = importlib.import_module(module_name).factory()
        for mode in modes:
            print(f"  {label} / {mode}: {cancels:,} cancels ...", file=sys.stderr)
            start = time.perf_counter()
            tally = asyncio.run(_batch(adapter, targets, mode, cancels))
            rows.append(_row(label, mode, cancels, tally, time.perf_counter() - start))
    return rows


def cases() -> list[str]:
    """The ids of the cases the benchmark cycles over."""
    return [t.case.id for t in _targets()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cancels", type=int, default=1000, help="cancels per adapter and mode")
    parser.add_argument("--quick", action="store_true", help="50 cancels per adapter and mode")
    args = parser.parse_args()
    count = 50 if args.quick else args.cancels
    for row in run(count):
        if row.get("missing"):
            print(f"{row['adapter']:<8} not measured: {row['missing']} is not installed")
            continue
        print(
            f"{row['adapter']:<8} {row['mode']:<8} {row['measured']:>5}/{row['cancels']} measured  "
            f"median {row['median_ms']} ms  p90 {row['p90_ms']}  p99 {row['p99_ms']}  max {row['max_ms']}  "
            f"(not landed {row['not_landed']}, leaked {row['leaked']}, {row['seconds']} s)"
        )


if __name__ == "__main__":
    main()
