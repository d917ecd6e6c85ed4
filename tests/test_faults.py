"""Byte-level faults: where they go, that the reference adapter meets every one, and that
they catch adapters that get failures wrong."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest

from conformance.cassettes import Case, case_body, expected_events, iter_cases
from conformance.events import (
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
    Unknown,
)
from conformance.harness.contract import Adapter, StreamRequest
from conformance.harness.faults import (
    INJECTED_ERRORS,
    Fault,
    FaultKind,
    conservation_problems,
    faults_for,
    judge_fault,
)
from conformance.harness.run import Outcome, Termination, run_stream_sync
from conformance.harness.verdict import Verdict
from conformance.reference import reference_adapter
from conformance.registry import api_ids, get_codec

#: The kinds faults_for derives from a body (STALL is the HTTP level's: the connection stops).
BYTE_KINDS = set(FaultKind) - {FaultKind.STALL}


@cache
def _cases() -> dict[str, Case]:
    return {case.id: case for case in iter_cases()}


@cache
def _faults(case_id: str) -> tuple[Fault, ...]:
    case = _cases()[case_id]
    return tuple(
        faults_for(case.api, case.framing, case_body(case), expected_events(case), flavour=case.flavour)
    )


def _run(adapter: Adapter, case: Case, fault: Fault) -> Outcome:
    request = StreamRequest(api=case.api, flavour=case.flavour, framing=case.framing, case_id=case.id)
    return run_stream_sync(adapter, request, [fault.body], time_limit=10.0)


def _judge(adapter: Adapter, case: Case, fault: Fault) -> Verdict:
    outcome = _run(adapter, case, fault)
    return fault.judge(
        expected_events(case), outcome.events, outcome.termination, problem=outcome.problem
    ).verdict


CASES = sorted(_cases())
#: One case per API with all three kinds of fault, for the wrong-adapter tests.
SAMPLES = [
    "anthropic/messages/text-then-tool-use",
    "bedrock/converse-stream/text-then-tool-use",
    "cohere/chat/tool-plan-then-tool-call",
    "gemini/generate-content/text-crlf",
    "ollama/chat/docs-generate-ndjson",
    "openai/chat-completions/parallel-tool-calls",
    "openai/responses/function-call-usage-sequence-numbers",
]


# -- the reference adapter meets every fault --------------------------------------------------


@pytest.mark.parametrize("case_id", CASES)
def test_the_reference_adapter_meets_every_fault_of_every_case(case_id: str) -> None:
    case = _cases()[case_id]
    adapter = reference_adapter()
    for fault in _faults(case_id):
        outcome = _run(adapter, case, fault)
        judgement = fault.judge(
            expected_events(case), outcome.events, outcome.termination, problem=outcome.problem
        )
        assert judgement.verdict is Verdict.PASS, f"{fault.name}: {judgement.reason}"


def test_most_cases_get_faults_and_every_api_gets_each_kind() -> None:
    with_faults = [case_id for case_id in CASES if _faults(case_id)]
    assert len(with_faults) >= 0.7 * len(CASES)
    for api in api_ids():
        kinds = {f.kind for case_id in with_faults if _cases()[case_id].api == api for f in _faults(case_id)}
        if any(_cases()[c].api == api for c in with_faults):
            assert kinds == BYTE_KINDS, api


# -- where the faults go ----------------------------------------------------------------------


@pytest.mark.parametrize("case_id", SAMPLES)
def test_fault_bodies_are_built_from_the_recorded_bytes(case_id: str) -> None:
    case = _cases()[case_id]
    body = case_body(case)
    faults = _faults(case_id)
    assert [f.kind for f in faults] == [
        FaultKind.TRUNCATE,
        FaultKind.TRUNCATE,
        FaultKind.ERROR_FRAME,
        FaultKind.GARBAGE,
    ]
    assert len({f.name for f in faults}) == len(faults)
    mid, boundary, frame, garbage = faults
    assert 0 < mid.at < len(body)
    assert mid.body == body[: mid.at]
    assert mid.name == f"truncate:{mid.at}"
    assert 0 < boundary.at < len(body)
    assert boundary.body == body[: boundary.at]
    cut = boundary.at
    assert frame.name == f"error-frame:{frame.at}"
    assert frame.body.startswith(body[:cut])
    assert frame.body != body
    assert garbage.body.startswith(body[:cut])
    assert garbage.body.endswith(body[cut:])
    assert len(garbage.body) > len(body)
    assert faults == _faults.__wrapped__(case_id)  # deterministic


def test_the_error_frame_is_the_encoders_own_rendering() -> None:
    anthropic = _faults("anthropic/messages/text-then-tool-use")[2]
    assert b"event: error\ndata: " in anthropic.body
    assert b'"overloaded_error"' in anthropic.body
    chat = _faults("openai/chat-completions/parallel-tool-calls")[2]
    assert b'data: {"error":' in chat.body
    gemini = _faults("gemini/generate-content/text-crlf")[2]
    assert b'"error": {' in gemini.body
    assert b'data: {"error' not in gemini.body
    ollama = _faults("ollama/chat/docs-generate-ndjson")[2]
    assert ollama.body.endswith(b'{"error":"an error was encountered while running the model"}\n')
    bedrock = _faults("bedrock/converse-stream/text-then-tool-use")[2]
    assert b":exception-type" in bedrock.body
    assert b"throttlingException" in bedrock.body


def test_garbage_is_a_known_event_with_a_broken_payload_or_a_bad_checksum() -> None:
    anthropic = _faults("anthropic/messages/text-then-tool-use")[3]
    assert b'data: {"fault": not-json}\n\n' in anthropic.body
    before = anthropic.body[: anthropic.body.index(b'data: {"fault"')]
    assert before.endswith(b"\nevent: content_block_delta\n") or before.rsplit(b"\n\n", 1)[-1].startswith(
        b"event: "
    )
    bedrock_case = _cases()["bedrock/converse-stream/text-then-tool-use"]
    bedrock = _faults(bedrock_case.id)[3]
    outcome = _run(reference_adapter(), bedrock_case, bedrock)
    last = outcome.events[-1]
    assert isinstance(last, Error)
    assert last.category is ErrorCategory.DECODE
    assert "Checksum" in last.message


def test_no_faults_for_short_bodies_or_sequences_without_a_terminal() -> None:
    case = _cases()["anthropic/messages/text-then-tool-use"]
    body, expected = case_body(case), expected_events(case)
    assert faults_for(case.api, case.framing, body, expected[:-1]) == []
    two = get_codec(case.api).encode([Error(**_overloaded())])
    assert faults_for(case.api, case.framing, two, [Error(**_overloaded())]) == []
    assert faults_for(case.api, case.framing, b"", expected) == []


def _overloaded() -> dict[str, Any]:
    return {
        "category": ErrorCategory.OVERLOADED,
        "message": "Overloaded",
        "retryable": True,
        "phase": "before_output",
        "code": "overloaded_error",
    }


def test_faults_stay_before_the_end_of_the_first_response() -> None:
    # 15 messages back to back: every fault must strike inside the first one.
    case_id = "anthropic/messages/programmatic-tool-calling-emoji-args"
    body = case_body(_cases()[case_id])
    first_stop = body.index(b"message_stop")
    assert all(f.at < first_stop for f in _faults(case_id) if f.kind is FaultKind.TRUNCATE)


def test_every_api_has_an_injected_error_its_encoder_can_render() -> None:
    assert set(INJECTED_ERRORS) == set(api_ids())


# -- wrong adapters fail ----------------------------------------------------------------------


def _wrapped(name: str, mapper: Callable[[Event], Any]) -> Adapter:
    return dataclasses.replace(reference_adapter(), name=name, to_canonical=mapper)


def _protocol_to_finish(event: Event) -> Any:
    if isinstance(event, Error) and event.category is ErrorCategory.PROTOCOL:
        return Finish(reason=FinishReason.STOP, raw_reason="end_of_stream")
    return event


def _drop_errors(event: Event) -> Any:
    return None if isinstance(event, Error) else event


def _everything_is_a_server_error(event: Event) -> Any:
    if isinstance(event, Error):
        return dataclasses.replace(event, category=ErrorCategory.SERVER, retryable=True, code="server")
    return event


def _invent_text(event: Event) -> Any:
    if isinstance(event, BlockDelta):
        return dataclasses.replace(event, text=event.text + "!")
    return event


WRONG = [
    ("finish_on_eof", _protocol_to_finish, {FaultKind.TRUNCATE}),
    ("swallows_errors", _drop_errors, BYTE_KINDS),
    ("one_category", _everything_is_a_server_error, BYTE_KINDS),
    ("adds_text", _invent_text, BYTE_KINDS),
]


@pytest.mark.parametrize(("name", "mapper", "caught"), WRONG, ids=[w[0] for w in WRONG])
@pytest.mark.parametrize("case_id", SAMPLES)
def test_faults_catch_adapters_that_get_failures_wrong(
    case_id: str, name: str, mapper: Callable[[Event], Any], caught: set[FaultKind]
) -> None:
    case = _cases()[case_id]
    adapter = _wrapped(name, mapper)
    for fault in _faults(case_id):
        verdict = _judge(adapter, case, fault)
        if fault.kind in caught and not (name == "adds_text" and _no_text_before(case, fault)):
            assert verdict is Verdict.FAIL, f"{name} passed {fault.name}"


def _no_text_before(case: Case, fault: Fault) -> bool:
    outcome = _run(reference_adapter(), case, fault)
    return not any(isinstance(e, BlockDelta) for e in outcome.events)


def test_a_finish_after_truncation_is_named_as_such() -> None:
    case = _cases()["openai/chat-completions/parallel-tool-calls"]
    fault = _faults(case.id)[0]
    outcome = _run(_wrapped("finish_on_eof", _protocol_to_finish), case, fault)
    judgement = fault.judge(expected_events(case), outcome.events, outcome.termination)
    assert judgement.verdict is Verdict.FAIL
    assert "reported as a finish" in judgement.reason


def test_run_failures_fail_and_say_why() -> None:
    fault = _faults("anthropic/messages/text-then-tool-use")[0]
    judgement = judge_fault(fault, [], [], Termination.HANG, problem="no result within 1 s")
    assert judgement.verdict is Verdict.FAIL
    assert judgement.reason == "hang: no result within 1 s"
    ended = judge_fault(fault, [], [], Termination.NO_TERMINAL)
    assert ended.verdict is Verdict.FAIL
    assert "not with an error" in ended.reason


# -- conservation -----------------------------------------------------------------------------

_EXPECTED: list[Event] = [
    ResponseStart(response_id="r", model="m"),
    BlockStart(block=0, kind="text"),
    BlockDelta(block=0, text="Hello there"),
    BlockEnd(block=0),
    BlockStart(block=1, kind="tool_call", id="c1", name="f"),
    BlockDelta(block=1, text='{"a":1}'),
    BlockEnd(block=1, arguments_raw='{"a":1}', arguments={"a": 1}),
    Finish(reason=FinishReason.TOOL_CALLS, raw_reason="tool_use"),
]


def _cut(*events: Event) -> list[Event]:
    cut = Error(category=ErrorCategory.PROTOCOL, message="cut", retryable=True, phase=ErrorPhase.MID_STREAM)
    return [*events, cut]


@pytest.mark.parametrize(
    ("actual", "problem"),
    [
        (_cut(), None),
        (
            _cut(
                Unknown(vendor_type="ping"), BlockStart(block=7, kind="text"), BlockDelta(block=7, text="Hel")
            ),
            None,
        ),
        (
            _cut(
                *_EXPECTED[:4],
                BlockStart(block=1, kind="tool_call", id="c1", name="f"),
                BlockEnd(block=1, incomplete=True, arguments_raw='{"a'),
            ),
            None,
        ),
        (_cut(BlockStart(block=0, kind="text"), BlockDelta(block=0, text="Help")), "not a prefix"),
        (
            _cut(BlockStart(block=0, kind="text"), BlockDelta(block=0, text="Hel"), BlockEnd(block=0)),
            "ended complete",
        ),
        (_cut(BlockStart(block=0, kind="reasoning"), BlockDelta(block=0, text="Hel")), "starts differently"),
        (_cut(*_EXPECTED[:7], BlockStart(block=2, kind="text")), "invented"),
        (_cut(ResponseStart(response_id="other")), "response.start"),
        (
            _cut(*_EXPECTED[:6], BlockEnd(block=1, arguments_raw='{"a":1}', arguments={"a": 2})),
            "ended complete",
        ),
    ],
)
def test_conservation_is_a_prefix_rule_per_folded_block(actual: list[Event], problem: str | None) -> None:
    found = conservation_problems(_EXPECTED, actual)
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1
        assert problem in found[0]
