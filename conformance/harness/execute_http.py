"""Execute one HTTP-level test: vcrpy replay, the loopback server, cancels over real
sockets, HTTP errors, a reset and a stalled connection.

Driver layer: starts a :class:`~conformance.server.LoopbackServer` on 127.0.0.1 (once
per process, on first use) and replays cassettes through vcrpy.  The variants
(:attr:`Spec.variant`):

* ``vcr``: the case's cassette replayed by vcrpy, in-process; the canary fails the test
  when vcrpy played nothing (the adapter's HTTP library is not one vcrpy patches);
* ``http``: the case served by the loopback server in ``random:0`` chunks;
* ``http-cancel-<mode>``: served frame by frame with a small delay between writes and cancelled after
  half of the adapter's own events; the server must see the client go away within the
  disconnect bound; the latency, the bytes and frames written after the cancel, and the
  usage the ``abort`` carried are measured;
* ``http-reset:<N>``: the server resets the connection after ``N`` body bytes: a
  ``protocol`` error, content conserved (the rules of a truncation);
* ``http-stall:<N>``: the server stops writing after ``N`` bytes and keeps the connection
  open: with ``read_timeout`` short, a ``timeout`` error, content conserved;
* ``<api>/http-<status>[<adapter>-http]``: the vendor's own error response with that
  status: exactly one ``error`` with the category, ``retryable`` and ``status`` the
  status implies (``conformance.server.errors``); its message and code, as the vendor
  wrote them, are SHOULD.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Sequence
from typing import Any

from conformance.cassettes import Case
from conformance.errors import UsageError
from conformance.events import Error, Event, UsageCounts, dumps
from conformance.harness.contract import Adapter, StreamRequest
from conformance.harness.execute import Limits, Result, request_for
from conformance.harness.faults import Fault, FaultKind
from conformance.harness.http_run import SocketCancel, run_http
from conformance.harness.matrix import CANCEL_CHUNKING, Spec
from conformance.harness.outcome import Outcome, Termination
from conformance.harness.spend import usage_sent
from conformance.harness.vcr_replay import replay_cassette
from conformance.harness.verdict import Judgement, Verdict, apply_xfail, judge_cancel, judge_case, unsupported
from conformance.server import (
    FRAMES_CHUNKING,
    LoopbackServer,
    Plan,
    error_plan,
    match_route,
    plan_for_case,
    vendor_error,
)
from conformance.server.records import ConnectionRecord
from conformance.server.routes import route_for_api

__all__ = [
    "CANCEL_DELAY_MS",
    "STALL_READ_TIMEOUT",
    "execute_http",
    "http_status_of",
    "loopback",
    "serve_plan",
    "socket_json",
]

#: The pause between the server's writes in cancellation runs, so the stream is still
#: flowing when the consumer cancels.
CANCEL_DELAY_MS = 2.0
#: The read timeout an adapter is asked to use in the stall runs (seconds).
STALL_READ_TIMEOUT = 0.5

_SERVER: LoopbackServer | None = None
_LOCK = threading.Lock()


def loopback() -> LoopbackServer:
    """The process's loopback server, started on first use (a daemon thread)."""
    global _SERVER  # noqa: PLW0603  (one server per process, shared by every test)
    with _LOCK:
        if _SERVER is None:
            _SERVER = LoopbackServer().start()
        return _SERVER


def http_status_of(case_id: str) -> int | None:
    """The status of an HTTP-error test id's case (``openai/chat-completions/http-429``)."""
    name = case_id.rsplit("/", 1)[-1]
    if name.startswith("http-") and name[5:].isdigit():
        return int(name[5:])
    return None


def _loopback_request(case: Case, base_url: str, read_timeout: float) -> StreamRequest:
    """The case's request aimed at the loopback server: its own path where the server has
    that route, else the API's usual route (an Azure or OpenRouter path prefix)."""
    request = request_for(case)
    path, query = request.path, dict(request.query)
    target = path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    if match_route(request.method, target) is None:
        spec = route_for_api(case.api, case.framing)
        if spec is not None:
            path, _, rest = spec.example.partition("?")
            query = dict(part.split("=", 1) for part in rest.split("&") if "=" in part)
    headers = dict(case.request.headers or {})
    return dataclasses.replace(
        request, base_url=base_url, path=path, query=query, headers=headers, read_timeout=read_timeout
    )


async def serve_plan(
    plan: Plan,
    adapter: Adapter,
    case: Case,
    limits: Limits,
    *,
    cancel: Any = None,
    read_timeout: float = 10.0,
    bound: float = 5.0,
) -> tuple[Outcome, SocketCancel | None]:
    """Serve ``plan`` from the process's loopback server to ``adapter`` making ``case``'s
    request, cancelling as ``cancel`` says; the outcome and, after a cancel, what the
    server saw (the path every loopback test takes, and the cancel benchmark too)."""
    server = loopback()
    token = server.expect(plan)
    request = _loopback_request(case, server.base_url(token), read_timeout)

    async def watch(cancelled_at: float | None) -> ConnectionRecord | None:
        if cancelled_at is not None:
            closed = await server.wait_closed_async(token, bound)
            if closed is not None:
                return closed
        records = server.connections(token)
        return records[-1] if records else None

    try:
        return await run_http(
            adapter,
            request,
            watch,
            time_limit=limits.timeout,
            max_events=limits.max_events,
            cancel=cancel,
            disconnect_bound=bound,
        )
    finally:
        server.forget(token)


def _judge_error(api: str, status: int, outcome: Outcome) -> Judgement:
    vendor = vendor_error(api, status)
    want = vendor.expected_event()
    errors = [e for e in outcome.events if isinstance(e, Error)]
    if outcome.termination is not Termination.ERROR or len(outcome.events) != 1 or len(errors) != 1:
        got = ", ".join(dumps(e) for e in outcome.events) or "no events"
        reason = f"HTTP {status}: expected exactly one error event, got {got}"
        if outcome.problem:
            reason = f"HTTP {status}: {outcome.termination.value}: {outcome.problem}"
        return Judgement(Verdict.FAIL, outcome.termination, reason.replace("\n", " "), None)
    error = errors[0]
    wrong = [n for n in ("category", "retryable", "status", "phase") if getattr(error, n) != getattr(want, n)]
    should = tuple(
        f"error.{n}: {getattr(error, n)!r} is not the vendor's {getattr(want, n)!r}"
        for n in ("message", "code")
        if getattr(error, n) != getattr(want, n)
    )
    if wrong:
        said = "; ".join(
            f"{n} {_plain(getattr(error, n))} (expected {_plain(getattr(want, n))})" for n in wrong
        )
        return Judgement(
            Verdict.FAIL, outcome.termination, f"HTTP {status} came out with {said}", None, should
        )
    return Judgement(Verdict.PASS, outcome.termination, "", None, should)


def _plain(value: object) -> str:
    return repr(getattr(value, "value", value))


def _fault(spec: Spec) -> Fault:
    kind_name, _, at = (spec.fault or "").partition(":")
    kind = FaultKind.STALL if kind_name == "stall" else FaultKind.TRUNCATE
    return Fault(
        name=f"http-{spec.fault}", kind=kind, at=int(at), body=b"", description=f"{kind_name} at byte {at}"
    )


async def _run(
    spec: Spec, adapter: Adapter, case: Case | None, expected: Sequence[Event], limits: Limits
) -> tuple[Judgement, Outcome, SocketCancel | None]:
    status = http_status_of(spec.case_id)
    if status is not None:
        api = spec.api
        outcome, _ = await serve_plan(error_plan(api, status), adapter, _error_case(api), limits)
        return _judge_error(api, status, outcome), outcome, None
    assert case is not None
    if case.request.method != "POST":
        return unsupported("the loopback server serves the vendors' POST routes only"), Outcome(), None
    if spec.fault is not None:
        fault = _fault(spec)
        stall = fault.kind is FaultKind.STALL
        plan = plan_for_case(
            case,
            chunking=CANCEL_CHUNKING,
            reset_after=None if stall else fault.at,
            stall_after=fault.at if stall else None,
        )
        timeout = STALL_READ_TIMEOUT if stall else 10.0
        outcome, _ = await serve_plan(plan, adapter, case, limits, read_timeout=timeout)
        return (
            fault.judge(expected, outcome.events, outcome.termination, problem=outcome.problem),
            outcome,
            None,
        )
    if spec.cancel is None:
        outcome, _ = await serve_plan(plan_for_case(case, chunking=CANCEL_CHUNKING), adapter, case, limits)
        return judge_case(expected, outcome, adapter.capabilities), outcome, None
    plain, _ = await serve_plan(plan_for_case(case, chunking=CANCEL_CHUNKING), adapter, case, limits)
    point = dataclasses.replace(spec.cancel, after=min(spec.cancel.after, len(plain.events) - 1))
    if point.after < 1:
        return (
            unsupported(f"the adapter made {len(plain.events)} event(s): nothing to cancel between"),
            plain,
            None,
        )
    slow = plan_for_case(case, chunking=FRAMES_CHUNKING, delay_ms=CANCEL_DELAY_MS)
    try:
        outcome, measured = await serve_plan(slow, adapter, case, limits, cancel=point)
    except UsageError as exc:  # a sync adapter cannot be cancelled as a task
        return unsupported(str(exc)), Outcome(), None
    if measured is None:
        reason = (
            "the adapter had the rest of the stream buffered and ended it without waiting again: "
            "the cancel never landed"
        )
        return unsupported(reason), outcome, None
    body = b"".join(slow.chunks)[: measured.bytes_before]
    measured = dataclasses.replace(
        measured, sent_usage=usage_sent(case.api, case.flavour, case.framing, body)
    )
    signal = point.mode.value == "signal"
    return judge_cancel(plain.events, outcome, adapter.capabilities, signal=signal), outcome, measured


def _error_case(api: str) -> Case:
    """A stand-in case for an HTTP-error test: the API's first corpus case's request."""
    from conformance.server.cases import default_case_id, find_case  # noqa: PLC0415  (driver-only import)

    case_id = default_case_id(api)
    if case_id is None:
        raise UsageError(f"no corpus case for {api}: an HTTP-error test needs one for its request")
    return find_case(case_id)


def socket_json(measured: SocketCancel | None) -> dict[str, Any] | None:
    """A socket measurement as the report records it."""
    if measured is None:
        return None
    return {
        "latency_ms": None if measured.latency is None else round(measured.latency * 1000, 3),
        "bound_ms": round(measured.bound * 1000, 3),
        "bytes_after_cancel": measured.bytes_after,
        "frames_after_cancel": measured.frames_after,
        "bytes_before_cancel": measured.bytes_before,
        "sent_usage": _usage_json(measured.sent_usage),
        "abort_usage": _usage_json(measured.abort_usage),
    }


def _usage_json(usage: UsageCounts | None) -> dict[str, int] | None:
    if usage is None:
        return None
    return {k: v for k, v in dataclasses.asdict(usage).items() if v is not None}


def execute_http(
    spec: Spec, adapter: Adapter, case: Case | None, expected: Sequence[Event], limits: Limits
) -> tuple[Result, SocketCancel | None]:
    """Run one HTTP-level test and judge it (UNSUPPORTED when the adapter disclaims it)."""
    started = time.perf_counter()
    measured = None
    outcome = Outcome()
    api = spec.api
    if adapter.http is None:
        judgement = unsupported("the adapter has no HTTP-level http()")
    elif case is not None and not adapter.supports(case.api, case.flavour, case.framing):
        judgement = unsupported(f"the adapter does not declare {case.api} ({case.flavour}, {case.framing})")
    elif case is None and api not in adapter.apis:
        judgement = unsupported(f"the adapter does not declare {api}")
    elif spec.variant == "vcr":
        assert case is not None
        judgement, outcome = _vcr(adapter, case, expected, limits)
    else:
        judgement, outcome, measured = asyncio.run(_run(spec, adapter, case, expected, limits))
    judgement = apply_xfail(judgement, spec.test_id, adapter.xfail)
    return Result(spec, judgement, outcome, time.perf_counter() - started), measured


def _vcr(
    adapter: Adapter, case: Case, expected: Sequence[Event], limits: Limits
) -> tuple[Judgement, Outcome]:
    with replay_cassette(case, check=False) as handle:
        request = dataclasses.replace(
            request_for(case), base_url=handle.base_url, headers=dict(case.request.headers or {})
        )

        async def watch(cancelled_at: float | None) -> None:
            del cancelled_at

        outcome, _ = asyncio.run(
            run_http(adapter, request, watch, time_limit=limits.timeout, max_events=limits.max_events)
        )
    problems = handle.problems()
    if problems:
        reason = f"the cassette was not played as recorded: {problems[0]}".replace("\n", " ")
        return Judgement(Verdict.FAIL, outcome.termination, reason, None), outcome
    return judge_case(expected, outcome, adapter.capabilities), outcome
