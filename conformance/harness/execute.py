"""Execute one test of the matrix: run the adapter, judge the outcome, describe it.

Driver layer: reads the case's body from the corpus and runs the adapter through
:mod:`conformance.harness.run` in a fresh event loop.  Shared by the pytest plugin and
``conformance replay``, so both give the same verdict and the same failure text.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from conformance.cassettes import Case, case_body
from conformance.chunking import parse_chunking
from conformance.compare import render
from conformance.errors import UsageError
from conformance.events import Event
from conformance.framing import FRAMINGS as ALL_FRAMINGS
from conformance.harness.contract import Adapter, Capability, StreamRequest, needed_capabilities
from conformance.harness.faults import Fault, faults_for
from conformance.harness.matrix import Spec
from conformance.harness.outcome import Outcome
from conformance.harness.properties import PropertyCase, as_case_files, find_failure
from conformance.harness.run import CancelMode, run_stream, run_stream_sync
from conformance.harness.verdict import Judgement, Verdict, apply_xfail, judge_cancel, judge_case, unsupported
from conformance.registry import get_codec

_T = TypeVar("_T")

__all__ = [
    "Limits",
    "Result",
    "example_text",
    "execute",
    "execute_property",
    "failure_text",
    "find_fault",
    "record",
    "request_for",
]


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds for one stream: seconds before it counts as hung, events before endless."""

    timeout: float = 30.0
    max_events: int = 100_000


@dataclass(frozen=True, slots=True)
class Result:
    """One executed test (``example``: a property run's shrunk failing example)."""

    spec: Spec
    judgement: Judgement
    outcome: Outcome
    duration: float
    example: PropertyCase | None = None


def request_for(case: Case) -> StreamRequest:
    """The :class:`StreamRequest` an adapter gets for ``case`` (a fresh cancel signal)."""
    return StreamRequest(
        api=case.api,
        flavour=case.flavour,
        framing=case.framing,
        case_id=case.id,
        method=case.request.method,
        path=case.request.path,
        query=dict(case.request.query),
        body=case.request.body if isinstance(case.request.body, dict) else None,
    )


def _chunk_sets(spec: Spec, case: Case, body: bytes) -> Iterator[list[bytes]]:
    return parse_chunking(spec.chunking).chunkings(body, recorded=case.chunks)


def find_fault(case: Case, expected: Sequence[Event], name: str) -> Fault:
    """The fault ``name`` (``truncate:812``) of ``case``; :class:`UsageError` listing the
    case's faults when it has none of that name."""
    faults = faults_for(case.api, case.framing, case_body(case), expected, flavour=case.flavour)
    for fault in faults:
        if fault.name == name:
            return fault
    valid = ", ".join(f.name for f in faults) or "none"
    raise UsageError(f"case {case.id} has no fault {name!r} (its faults: {valid})")


async def _run(
    spec: Spec, adapter: Adapter, case: Case, expected: Sequence[Event], limits: Limits
) -> tuple[Judgement, Outcome]:
    body = case_body(case)
    bounds: dict[str, Any] = {"time_limit": limits.timeout, "max_events": limits.max_events}
    if spec.fault is not None:
        fault = find_fault(case, expected, spec.fault)
        chunks = next(parse_chunking(spec.chunking).chunkings(fault.body))
        outcome = await run_stream(adapter, request_for(case), chunks, **bounds)
        judgement = fault.judge(expected, outcome.events, outcome.termination, problem=outcome.problem)
        return judgement, outcome
    if spec.cancel is None:
        judgement = unsupported("the chunking cuts nothing")
        outcome = Outcome()
        for chunks in _chunk_sets(spec, case, body):
            outcome = await run_stream(adapter, request_for(case), chunks, **bounds)
            judgement = judge_case(expected, outcome, adapter.capabilities)
            if judgement.verdict is Verdict.FAIL:
                break
        return judgement, outcome
    if spec.cancel.mode is CancelMode.SIGNAL and Capability.ABORT_SIGNAL not in adapter.capabilities:
        return unsupported("the adapter does not declare the abort_signal capability"), Outcome()
    chunks = next(_chunk_sets(spec, case, body))
    plain = await run_stream(adapter, request_for(case), chunks, **bounds)
    # An adapter that merges deltas makes fewer events than expected: cancel inside its
    # own stream, leaving at least one of its events after the cancel point.
    plan = dataclasses.replace(spec.cancel, after=min(spec.cancel.after, len(plain.events) - 1))
    if plan.after < 1:
        return unsupported(f"the adapter made {len(plain.events)} event(s): nothing to cancel between"), plain
    try:
        outcome = await run_stream(adapter, request_for(case), chunks, cancel=plan, **bounds)
    except UsageError as exc:  # a sync adapter cannot be cancelled as a task
        return unsupported(str(exc)), Outcome()
    signal = spec.cancel.mode is CancelMode.SIGNAL
    return judge_cancel(plain.events, outcome, adapter.capabilities, signal=signal), outcome


def _in_loop(work: Coroutine[Any, Any, _T]) -> _T:
    """``asyncio.run(work)``, its result passed back outside the loop: CPython's runner
    formats the repr of a coroutine's return value on the way out (every event of an
    outcome; about 74 us a test, docs/benchmarks.md), so the coroutine returns nothing."""
    box: list[_T] = []

    async def main() -> None:
        box.append(await work)

    asyncio.run(main())
    return box[0]


def execute(spec: Spec, adapter: Adapter, case: Case, expected: Sequence[Event], limits: Limits) -> Result:
    """Run one test and judge it (UNSUPPORTED without running when the adapter disclaims it)."""
    started = time.perf_counter()
    outcome = Outcome()
    if not adapter.supports(case.api, case.flavour, case.framing):
        judgement = unsupported(f"the adapter does not declare {case.api} ({case.flavour}, {case.framing})")
    elif missing := needed_capabilities(expected) - adapter.capabilities:
        judgement = unsupported(f"the case needs {', '.join(sorted(c.value for c in missing))}")
    else:
        judgement, outcome = _in_loop(_run(spec, adapter, case, expected, limits))
    judgement = apply_xfail(judgement, spec.test_id, adapter.xfail)
    return Result(spec, judgement, outcome, time.perf_counter() - started)


def execute_property(spec: Spec, adapter: Adapter, limits: Limits, *, seed: int, profile: str) -> Result:
    """Run the property test of ``spec.api`` (``seed`` and ``profile`` as
    :func:`~conformance.harness.properties.find_failure` takes them)."""
    started = time.perf_counter()
    if not any(
        adapter.supports(spec.api, f, fr) for f in get_codec(spec.api).flavours for fr in ALL_FRAMINGS
    ):
        judgement = unsupported(f"the adapter does not declare {spec.api}")
        return Result(spec, apply_xfail(judgement, spec.test_id, adapter.xfail), Outcome(), 0.0)

    def run(example: PropertyCase) -> Outcome:
        request = StreamRequest(
            api=example.api, flavour=example.flavour, framing=example.framing, case_id=spec.case_id
        )
        return run_stream_sync(
            adapter, request, example.chunks, time_limit=limits.timeout, max_events=limits.max_events
        )

    failure = find_failure(spec.api, run, adapter, seed=seed, profile=profile)
    if failure is None:
        judgement = Judgement(Verdict.PASS, None, "", None)
        outcome = Outcome()
    else:
        judgement = failure.judgement
        outcome = run(failure.case)  # the shrunk example's run again, for the bytes fed
    judgement = apply_xfail(judgement, spec.test_id, adapter.xfail)
    example = None if failure is None else failure.case
    return Result(spec, judgement, outcome, time.perf_counter() - started, example)


def example_text(example: PropertyCase) -> list[str]:
    """A failing property example as a ready-to-save case: the files, then how to save them."""
    files = as_case_files(example)
    lines = ["  the shrunk failing example, as a case folder (expected.reviewed false):"]
    for name, data in files.items():
        if name in ("case.json", "expected.jsonl"):
            lines.append(f"  --- {name}")
            lines += ["    " + line for line in data.decode("utf-8").splitlines()]
    stream = next(name for name in files if name.startswith("stream."))
    lines.append(f"  --- {stream} ({len(example.body)} bytes, cut at {list(example.cuts)})")
    lines.append(f"    {example.body!r}")
    return lines


def failure_text(result: Result, replay: str) -> str:
    """The report of a failed test: why, the rules broken, the diff, the bytes, the command."""
    spec, judgement, outcome = result.spec, result.judgement, result.outcome
    lines = [
        f"{spec.case_id}: {judgement.verdict.value} for adapter {spec.adapter}, {spec.variant}",
        f"  {judgement.reason}",
        f"  termination: {judgement.termination.value if judgement.termination else '-'}",
    ]
    if judgement.rule_violations:
        lines.append("  MUST rules broken by the adapter's events:")
        lines += [f"    {v}" for v in judgement.rule_violations]
    if judgement.comparison is not None:
        lines += ["  " + line for line in render(judgement.comparison).splitlines()]
    if result.example is not None:
        lines += example_text(result.example)
    tail = outcome.last_bytes[-80:]
    lines.append(f"  bytes fed: {outcome.offset} in {outcome.pulls} pulls; last bytes fed: {tail!r}")
    lines.append(f"  reproduce: {replay}")
    return "\n".join(lines)


def record(
    result: Result, case: Case | None, replay: str, seed: int | None, socket: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The result record of one test (the shape ``schemas/report.schema.json`` gives);
    ``case`` is None for a property run (its examples are generated)."""
    spec, judgement = result.spec, result.judgement
    comparison = judgement.comparison
    divergence = comparison.divergence if comparison is not None else None
    failed = judgement.verdict is Verdict.FAIL
    example = result.example
    return {
        "test_id": spec.test_id,
        "adapter": spec.adapter,
        "case": spec.case_id,
        "api": spec.api,
        "flavour": case.flavour if case else (example.flavour if example else None),
        "framing": case.framing if case else (example.framing if example else None),
        "tier": case.tier if case else "required",
        "source": case.source.kind if case else "generated",
        "variant": spec.variant,
        "chunking": spec.chunking,
        "verdict": judgement.verdict.value,
        "termination": None if judgement.termination is None else judgement.termination.value,
        "reason": judgement.reason,
        "duration": round(result.duration, 6),
        "first_divergence": None if divergence is None else divergence.index,
        "violations": list(judgement.rule_violations),
        "should": list(judgement.should),
        "diff": list(comparison.diff) if comparison is not None and failed else [],
        "replay": replay,
        "seed": seed,
        "socket": None if socket is None else dict(socket),
    }
