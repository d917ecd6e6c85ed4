"""The byte-level harness: the recording source, the driver's outcomes (cancellation,
leaks, hangs, crashes, bad and endless output), verdicts and the matrix."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest

from conformance.cassettes import CASSETTES_ROOT, case_body, expected_events, iter_cases, load_case
from conformance.chunking import parse_chunking
from conformance.errors import UsageError
from conformance.events import (
    Abort,
    AbortReason,
    BlockDelta,
    BlockEnd,
    BlockStart,
    Error,
    ErrorCategory,
    ErrorPhase,
    Event,
    Finish,
    FinishReason,
    ResponseStart,
    Usage,
)
from conformance.harness.contract import ALL, Adapter, ByteChunks, Capability, StreamRequest, canonical_events
from conformance.harness.execute import Limits, execute
from conformance.harness.loading import make_adapter
from conformance.harness.matrix import Spec, build_matrix, chunkings_for, parse_test_id
from conformance.harness.outcome import Outcome, Termination
from conformance.harness.run import CancelMode, CancelPlan, run_stream_sync
from conformance.harness.source import RecordingSource, SourceClosedError
from conformance.harness.verdict import Verdict, apply_xfail, judge_cancel, judge_case, matches
from conformance.reference import reference_adapter

CASE = load_case(CASSETTES_ROOT / "anthropic" / "messages" / "text-then-tool-use")
BODY = case_body(CASE)
EXPECTED = expected_events(CASE)
REQUEST = StreamRequest(api=CASE.api, flavour=CASE.flavour, framing=CASE.framing, case_id=CASE.id)
SMALL = next(parse_chunking("random:0").chunkings(BODY))


def _request() -> StreamRequest:
    return StreamRequest(api=CASE.api, flavour=CASE.flavour, framing=CASE.framing, case_id=CASE.id)


def _adapter(stream: Any, **kwargs: Any) -> Adapter:
    return Adapter(name="t", stream=stream, apis={CASE.api: (ALL,)}, **kwargs)


# -- the source -------------------------------------------------------------------------------


def test_source_counts_pulls_and_knows_when_it_ran_dry() -> None:
    source = RecordingSource([b"ab", b"c"])
    assert list(source) == [b"ab", b"c"]
    assert (source.pulls, source.delivered, source.offset, source.exhausted, source.closed) == (
        3,
        2,
        3,
        True,
        False,
    )
    assert source.last_bytes == b"c"


def test_source_refuses_reads_after_close_and_counts_pulls_after_a_cancel() -> None:
    source = RecordingSource([b"a", b"b"])
    next(source)
    source.mark_cancel()
    source.close()
    with pytest.raises(SourceClosedError, match="closed"):
        next(source)
    assert source.pulls_after_cancel == 1


# -- the driver: plain runs -------------------------------------------------------------------


@pytest.mark.parametrize("chunking", ["whole", "bytewise", "random:3"])
def test_the_reference_adapter_reproduces_the_case_and_finishes(chunking: str) -> None:
    chunks = next(parse_chunking(chunking).chunkings(BODY))
    outcome = run_stream_sync(reference_adapter(), _request(), chunks)
    assert outcome.termination is Termination.FINISH
    assert outcome.events == EXPECTED
    assert outcome.exhausted
    assert outcome.closed
    assert outcome.offset == len(BODY)


def test_a_sync_generator_adapter_runs_in_a_thread_and_is_judged_the_same() -> None:
    codec_adapter = reference_adapter()

    def stream(request: StreamRequest, chunks: ByteChunks) -> Iterator[Event]:
        from conformance.registry import get_codec

        decoder = get_codec(request.api).new_decoder(request.flavour)
        seen.append(threading.current_thread().name)
        for chunk in chunks:
            yield from decoder.feed(chunk)
        yield from decoder.close()

    seen: list[str] = []
    outcome = run_stream_sync(_adapter(stream), _request(), SMALL)
    assert outcome.events == run_stream_sync(codec_adapter, _request(), SMALL).events
    assert outcome.termination is Termination.FINISH
    assert seen == ["conformance-t"]


def test_stopping_early_without_closing_the_source_is_a_leak() -> None:
    async def stream(request: StreamRequest, chunks: ByteChunks) -> AsyncIterator[Event]:
        async for _ in chunks:
            yield ResponseStart()
            yield Finish(reason=FinishReason.STOP, raw_reason="end_turn")
            return  # neither reads to the end nor closes

    outcome = run_stream_sync(_adapter(stream), _request(), SMALL)
    assert outcome.termination is Termination.LEAKED
    assert outcome.problem is not None
    assert "without reading to the end or closing" in outcome.problem


def test_an_exception_is_a_crash_with_traceback_and_offset_unless_mapped_to_an_error() -> None:
    async def stream(request: StreamRequest, chunks: ByteChunks) -> AsyncIterator[Event]:
        try:
            async for _ in chunks:
                raise RuntimeError("boom in the adapter")
            yield ResponseStart()  # pragma: no cover - makes this an async generator
        finally:
            await chunks.aclose()

    outcome = run_stream_sync(_adapter(stream), _request(), SMALL)
    assert outcome.termination is Termination.CRASH
    assert outcome.problem is not None
    assert f"after {len(SMALL[0])} bytes" in outcome.problem
    assert "RuntimeError: boom in the adapter" in outcome.problem

    def mapped(exc: BaseException) -> dict[str, object]:
        return {
            "type": "error",
            "category": "server",
            "message": str(exc),
            "retryable": True,
            "phase": "before_output",
        }

    typed = run_stream_sync(_adapter(stream, map_exception=mapped), _request(), SMALL)
    assert typed.termination is Termination.ERROR
    assert typed.events == [
        Error(
            category=ErrorCategory.SERVER,
            message="boom in the adapter",
            retryable=True,
            phase=ErrorPhase.BEFORE_OUTPUT,
        )
    ]


def test_garbage_output_names_the_json_path() -> None:
    async def stream(request: StreamRequest, chunks: ByteChunks) -> AsyncIterator[object]:
        yield {"type": "response.start"}
        yield {"type": "usage", "input_tokens": "many"}
        async for _ in chunks:
            pass

    outcome = run_stream_sync(_adapter(stream), _request(), SMALL)
    assert outcome.termination is Termination.BAD_OUTPUT
    assert outcome.problem is not None
    assert "$.output[1].input_tokens" in outcome.problem


def test_endless_output_is_bounded() -> None:
    async def stream(request: StreamRequest, chunks: ByteChunks) -> AsyncIterator[Event]:
        yield ResponseStart()
        while True:
            yield BlockDelta(block=0, text="x")

    outcome = run_stream_sync(_adapter(stream), _request(), SMALL, max_events=50)
    assert outcome.termination is Termination.ENDLESS
    assert len(outcome.events) == 51


def test_an_async_hang_fails_and_says_where() -> None:
    async def stream(request: StreamRequest, chunks: ByteChunks) -> AsyncIterator[Event]:
        yield ResponseStart()
        await asyncio.Event().wait()  # the hang
        yield Finish(reason=FinishReason.STOP)  # pragma: no cover

    outcome = run_stream_sync(_adapter(stream), _request(), SMALL, time_limit=0.2)
    assert outcome.termination is Termination.HANG
    assert outcome.problem is not None
    assert "no result within 0.2 s" in outcome.problem
    assert "test_harness.py" in outcome.problem
    assert "in stream (inside " in outcome.problem
    assert "locks.py" in outcome.problem


def test_a_sync_hang_fails_says_where_and_releases_the_thread() -> None:
    released = threading.Event()

    def stream(request: StreamRequest, chunks: ByteChunks) -> list[Event]:
        try:  # a plain function that blocks before returning: bounded too
            while True:
                next(chunks)  # keeps pulling; poisoned after the time bound
                threading.Event().wait(0.01)
        finally:
            released.set()

    outcome = run_stream_sync(_adapter(stream), _request(), [b"x"] * 10_000, time_limit=0.2)
    assert outcome.termination is Termination.HANG
    assert outcome.problem is not None
    assert "test_harness.py" in outcome.problem
    assert "in stream" in outcome.problem
    assert released.wait(2), "the poisoned source did not release the adapter's thread"


# -- the driver: cancellation -----------------------------------------------------------------


@pytest.mark.parametrize("mode", list(CancelMode))
def test_the_reference_adapter_honours_every_cancel_mode(mode: CancelMode) -> None:
    outcome = run_stream_sync(reference_adapter(), _request(), SMALL, cancel=CancelPlan(mode, 3))
    assert outcome.termination is Termination.ABORT, outcome.problem
    assert outcome.pulls_after_cancel == 0
    assert outcome.closed
    assert outcome.events_at_cancel is not None
    assert outcome.events_at_cancel >= 3
    assert outcome.events[: outcome.events_at_cancel] == EXPECTED[: outcome.events_at_cancel]
    after = outcome.events[outcome.events_at_cancel :]
    if mode is CancelMode.SIGNAL:
        assert len(after) == 1
        assert isinstance(after[0], Abort)
        assert after[0].reason is AbortReason.CONSUMER_CANCEL
    else:
        assert after == []


async def _no_close(request: StreamRequest, chunks: ByteChunks) -> AsyncIterator[Event]:
    from conformance.registry import get_codec

    decoder = get_codec(request.api).new_decoder(request.flavour)
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            yield event


@pytest.mark.parametrize("mode", [CancelMode.CLOSE, CancelMode.TASK, CancelMode.TIMEOUT])
def test_a_cancelled_adapter_that_never_closes_its_source_leaks(mode: CancelMode) -> None:
    outcome = run_stream_sync(_adapter(_no_close), _request(), SMALL, cancel=CancelPlan(mode, 3))
    assert outcome.termination is Termination.LEAKED
    assert outcome.problem == "the adapter was cancelled and never closed its byte source"


def test_a_leaking_cancel_is_not_also_blamed_for_the_missing_terminal() -> None:
    plain = run_stream_sync(_adapter(_no_close), _request(), SMALL).events
    outcome = run_stream_sync(_adapter(_no_close), _request(), SMALL, cancel=CancelPlan(CancelMode.CLOSE, 3))
    judgement = judge_cancel(plain, outcome, frozenset(Capability), signal=False)
    assert judgement.verdict is Verdict.FAIL
    assert "never closed its byte source" in judgement.reason
    assert not any(v.startswith("sequence.terminal") for v in judgement.rule_violations)


def test_a_factory_that_raises_is_a_usage_error_naming_it() -> None:
    def factory() -> Adapter:
        raise TypeError("missing api key")

    with pytest.raises(
        UsageError, match=r"--conformance-adapter=x:y: the factory raised TypeError: missing api key"
    ):
        make_adapter(factory, what="--conformance-adapter=x:y")


def test_ignoring_the_cancel_signal_is_a_pull_after_the_cancel() -> None:
    outcome = run_stream_sync(_adapter(_no_close), _request(), SMALL, cancel=CancelPlan(CancelMode.SIGNAL, 3))
    assert outcome.termination is Termination.LEAKED
    assert outcome.problem is not None
    assert "more chunk(s) after the cancel" in outcome.problem


def test_a_sync_adapter_cannot_be_cancelled_as_a_task() -> None:
    def stream(request: StreamRequest, chunks: ByteChunks) -> Iterator[Event]:
        yield from ()

    with pytest.raises(UsageError, match="sync adapter"):
        run_stream_sync(_adapter(stream), _request(), SMALL, cancel=CancelPlan(CancelMode.TASK, 1))


# -- mapping and verdicts ---------------------------------------------------------------------


def test_to_canonical_accepts_events_mappings_lists_and_none() -> None:
    start = ResponseStart(model="m")
    assert canonical_events(start, 0) == [start]
    assert canonical_events({"type": "response.start", "model": "m"}, 0) == [start]
    assert canonical_events([start, {"type": "response.start", "model": "m"}], 0) == [start, start]
    assert canonical_events(None, 0) == []


def _outcome(events: Sequence[Event], termination: Termination = Termination.FINISH) -> Outcome:
    return Outcome(events=list(events), termination=termination)


def test_without_the_usage_capability_usage_is_left_out_of_the_comparison() -> None:
    without = [e for e in EXPECTED if not isinstance(e, Usage)]
    caps = frozenset({Capability.REASONING})
    assert judge_case(EXPECTED, _outcome(without), caps).verdict is Verdict.PASS
    assert judge_case(EXPECTED, _outcome(without), frozenset(Capability)).verdict is Verdict.FAIL


def test_protocol_error_messages_are_the_producers_own_words() -> None:
    def cut(message: str) -> list[Event]:
        return [
            ResponseStart(),
            BlockStart(block=0, kind="text"),
            BlockDelta(block=0, text="hi"),
            BlockEnd(block=0, incomplete=True),
            Error(
                category=ErrorCategory.PROTOCOL, message=message, retryable=True, phase=ErrorPhase.MID_STREAM
            ),
        ]

    got = judge_case(
        cut("stream ended early"), _outcome(cut("EOF before [DONE]"), Termination.ERROR), frozenset()
    )
    assert got.verdict is Verdict.PASS
    server = [
        *cut("x")[:-1],
        Error(category=ErrorCategory.SERVER, message="a", retryable=True, phase=ErrorPhase.MID_STREAM),
    ]
    other = [
        *server[:-1],
        Error(category=ErrorCategory.SERVER, message="b", retryable=True, phase=ErrorPhase.MID_STREAM),
    ]
    assert judge_case(server, _outcome(other, Termination.ERROR), frozenset()).verdict is Verdict.FAIL


def test_a_failing_run_reports_the_must_rules_the_adapter_broke() -> None:
    judgement = judge_case(EXPECTED, _outcome(EXPECTED[:-1], Termination.NO_TERMINAL), frozenset(Capability))
    assert judgement.verdict is Verdict.FAIL
    assert any(v.startswith("sequence.terminal") for v in judgement.rule_violations)


def test_xfail_patterns_treat_brackets_literally_and_are_strict() -> None:
    assert matches("gemini/*[*-bytewise]", "gemini/generate-content/x[mine-bytewise]")
    assert not matches("gemini/*[*-bytewise]", "gemini/generate-content/x[mine-whole]")
    failed = judge_case(EXPECTED, _outcome(EXPECTED[:2], Termination.NO_TERMINAL), frozenset(Capability))
    passed = judge_case(EXPECTED, _outcome(EXPECTED), frozenset(Capability))
    declared = {"anthropic/*": "known bug #12"}
    assert apply_xfail(failed, "anthropic/messages/x[a-whole]", declared).verdict is Verdict.XFAIL
    flipped = apply_xfail(passed, "anthropic/messages/x[a-whole]", declared)
    assert flipped.verdict is Verdict.FAIL
    assert "known bug #12" in flipped.reason


def test_an_adapter_that_disclaims_the_api_or_a_capability_is_unsupported() -> None:
    other = Adapter(name="o", stream=reference_adapter().stream, apis={"openai/chat-completions": (ALL,)})
    result = execute(Spec("o", CASE.id, "whole"), other, CASE, EXPECTED, Limits())
    assert result.judgement.verdict is Verdict.UNSUPPORTED
    reasoning = next(c for c in iter_cases() if c.id == "anthropic/messages/thinking-signature-delta")
    plain = Adapter(name="p", stream=reference_adapter().stream, apis={"anthropic/messages": (ALL,)})
    result = execute(Spec("p", reasoning.id, "whole"), plain, reasoning, expected_events(reasoning), Limits())
    assert result.judgement.verdict is Verdict.UNSUPPORTED
    assert "reasoning" in result.judgement.reason


def test_bad_adapter_declarations_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="name"):
        Adapter(name="a b", stream=_no_close, apis={})
    with pytest.raises(UsageError, match="'-'"):
        Adapter(
            name="my-adapter", stream=_no_close, apis={}
        )  # ids split adapter and variant at the first '-'
    with pytest.raises(UsageError, match="unknown capabilities"):
        Adapter(name="a", stream=_no_close, apis={}, capabilities=frozenset({"telepathy"}))  # type: ignore[arg-type]


# -- the matrix -------------------------------------------------------------------------------


def test_the_matrix_prunes_chunkings_that_cannot_differ_and_ids_read_as_paths() -> None:
    assert chunkings_for(CASE, ["whole", "recorded", "prelude", "cr-lf", "bytewise"]) == [
        "whole",
        "cr-lf",
        "bytewise",
    ]
    specs = build_matrix(["ref"], [CASE], ["whole"], expected_counts={CASE.id: len(EXPECTED)})
    ids = [s.test_id for s in specs]
    assert ids[0] == "anthropic/messages/text-then-tool-use[ref-whole]"
    assert "anthropic/messages/text-then-tool-use[ref-cancel-signal]" in ids
    assert parse_test_id(ids[-1]) == ("anthropic/messages/text-then-tool-use", "ref", "cancel-signal")
    with pytest.raises(ValueError, match="not a conformance test id"):
        parse_test_id("tests/test_x.py::test_y")


def test_a_malformed_event_object_fails_as_bad_output_naming_its_path() -> None:
    # event objects are not validated on the way in; one the comparison cannot handle
    # (an unhashable block number) must be a FAIL naming it, not a TypeError
    good = BlockDelta(block=0, text="a")
    bad = BlockDelta(block={}, text="x")  # type: ignore[arg-type]
    plain = Outcome(events=[good, bad], termination=Termination.NO_TERMINAL)
    judgement = judge_case([good], plain, frozenset())
    assert judgement.verdict is Verdict.FAIL
    assert judgement.termination is Termination.BAD_OUTPUT
    assert judgement.reason == "bad-output: $.output[1].block: {} is not of type 'integer'"
