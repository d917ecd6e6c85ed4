"""Tests for conformance.grammar: every rule passes and fails where it should.

Reads docs/SPEC.md (the meta-test that every rule id is documented); nothing else
does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance import grammar
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
    JSONValue,
    ResponseStart,
    Unknown,
    Usage,
    UsageCounts,
)
from conformance.grammar import RULES, Level, Violation, check

SPEC = Path(__file__).resolve().parent.parent / "docs" / "SPEC.md"

# -- builders -----------------------------------------------------------------------

START = ResponseStart(response_id="resp_1", model="model-x")
STOP = Finish(reason=FinishReason.STOP, raw_reason="end_turn")
TOOL_STOP = Finish(reason=FinishReason.TOOL_CALLS, raw_reason="tool_use")
LENGTH = Finish(reason=FinishReason.LENGTH, raw_reason="max_tokens")
PING = Unknown(vendor_type="ping", raw={"type": "ping"})


def seq(*items: Event | Sequence[Event]) -> list[Event]:
    """Flatten events and lists of events into one sequence."""
    out: list[Event] = []
    for item in items:
        out.extend(item if isinstance(item, Sequence) else [item])
    return out


def block(key: int, *parts: str, kind: str = "text", **end: object) -> list[Event]:
    """A whole non-tool block: start, one delta per part, end (with ``end`` fields)."""
    return [
        BlockStart(block=key, kind=kind),
        *(BlockDelta(block=key, text=p) for p in parts),
        BlockEnd(block=key, **end),  # type: ignore[arg-type]
    ]


def _reject(name: str) -> None:
    raise ValueError(name)


def tool(
    key: int, *parts: str, name: str | None = "get_weather", id: str | None = None, kind: str = "tool_call"
) -> list[Event]:
    """A whole, correct tool block: raw = concatenation ("{}" if empty), parsed or error."""
    raw = "".join(parts) or "{}"
    try:
        parsed = json.loads(raw, parse_constant=_reject)
    except ValueError:
        parsed = None
    args, error = (parsed, None) if isinstance(parsed, dict) else (None, "not a JSON object")
    return [
        BlockStart(block=key, kind=kind, id=id, name=name),
        *(BlockDelta(block=key, text=p) for p in parts),
        BlockEnd(block=key, arguments_raw=raw, arguments=args, arguments_error=error),
    ]


def tool_end(key: int, **fields: object) -> list[Event]:
    """A tool block with one delta ``{"a":1}`` whose end has exactly ``fields``."""
    return [
        BlockStart(block=key, kind="tool_call", id=f"call_{key}", name="f"),
        BlockDelta(block=key, text='{"a":1}'),
        BlockEnd(block=key, **fields),  # type: ignore[arg-type]
    ]


def error(
    category: ErrorCategory = ErrorCategory.SERVER,
    *,
    retryable: bool = True,
    phase: ErrorPhase = ErrorPhase.MID_STREAM,
) -> Error:
    return Error(category=category, message="boom", retryable=retryable, phase=phase)


def ids(violations: list[Violation]) -> list[tuple[str, int]]:
    return [(v.rule, v.index) for v in violations]


# -- one passing and one violating sequence per rule -------------------------------

_ARGS = '{"a":1}'

CASES: list[tuple[str, list[Event], list[Event], int]] = [
    # (rule id, a sequence that passes it, a sequence that violates it, index of the violation)
    ("sequence.terminal", seq(START, block(0, "hi"), STOP), seq(START, block(0, "hi")), 4),
    ("sequence.terminal", seq(PING, error(phase=ErrorPhase.BEFORE_OUTPUT)), [PING], 1),
    (
        "sequence.terminal",
        seq(START, STOP, PING),
        seq(START, STOP, PING, Abort(reason=AbortReason.CONSUMER_CANCEL)),
        3,
    ),
    ("sequence.after-terminal", seq(START, STOP, PING, PING), seq(START, STOP, Usage(output_tokens=3)), 2),
    ("sequence.after-terminal", seq(START, STOP), seq(START, STOP, block(0, "late")), 2),
    ("sequence.start-first", seq(PING, START, STOP), seq(START, PING, START, STOP), 2),
    ("sequence.start-first", seq(START, block(0, "a"), STOP), seq(block(0, "a"), START, STOP), 3),
    (
        "sequence.start-first",
        seq(START, Usage(input_tokens=5), STOP),
        seq(Usage(input_tokens=5), START, STOP),
        1,
    ),
    (
        "block.start-once",
        seq(START, block(0, "a"), block(1, "b"), STOP),
        seq(START, block(0, "a"), block(0, "b"), STOP),
        4,
    ),
    (
        "block.start-once",
        seq(START, block(0), STOP),
        seq(
            START, BlockStart(block=0, kind="text"), BlockStart(block=0, kind="text"), BlockEnd(block=0), STOP
        ),
        2,
    ),
    ("block.started", seq(START, block(0, "x"), STOP), seq(START, BlockDelta(block=0, text="x"), STOP), 1),
    ("block.started", seq(START, block(0), STOP), seq(START, BlockEnd(block=0), STOP), 1),
    (
        "block.started",
        seq(START, block(0, "a"), STOP),
        seq(START, block(0, "a"), BlockDelta(block=0, text="b"), STOP),
        4,
    ),
    ("block.started", seq(START, block(0, "a"), STOP), seq(START, block(0, "a"), BlockEnd(block=0), STOP), 4),
    (
        "block.closed-before-finish",
        seq(START, block(0, "a"), STOP),
        seq(START, BlockStart(block=0, kind="text"), BlockDelta(block=0, text="a"), STOP),
        3,
    ),
    (
        "block.closed-before-finish",
        seq(START, tool(0, _ARGS, id="c"), TOOL_STOP),
        seq(START, block(1, "x"), tool(0, _ARGS, id="c")[:2], LENGTH),
        6,
    ),
    (
        "block.closed-before-error",
        seq(
            START,
            BlockStart(block=0, kind="text"),
            BlockDelta(block=0, text="a"),
            BlockEnd(block=0, incomplete=True),
            error(),
        ),
        seq(START, BlockStart(block=0, kind="text"), BlockDelta(block=0, text="a"), error()),
        3,
    ),
    (
        "block.delta-nonempty",
        seq(START, block(0, "hi"), STOP),
        seq(START, block(0, "", "hi"), STOP),
        2,
    ),
    (
        "block.delta-nonempty",
        seq(START, tool(0, _ARGS, id="t"), TOOL_STOP),
        seq(START, tool(0, "", _ARGS, id="t"), TOOL_STOP),
        2,
    ),
    (
        "block.end-fields",
        seq(START, tool(0, _ARGS), TOOL_STOP),
        seq(START, block(0, "hi", arguments_raw="{}"), STOP),
        3,
    ),
    (
        "block.end-fields",
        seq(START, block(0, "hmm", kind="reasoning", signature="sig"), STOP),
        seq(START, block(0, "hmm", kind="reasoning", arguments={}), STOP),
        3,
    ),
    ("tool.name", seq(START, tool(0, _ARGS), TOOL_STOP), seq(START, tool(0, _ARGS, name=None), TOOL_STOP), 1),
    ("tool.name", seq(START, tool(0, _ARGS), TOOL_STOP), seq(START, tool(0, _ARGS, name=""), TOOL_STOP), 1),
    (
        "tool.name",
        seq(START, tool(0, kind="server_tool_call", name="web_search"), STOP),
        seq(START, tool(0, kind="server_tool_call", name=None), STOP),
        1,
    ),
    (
        "tool.arguments-conserved",
        seq(START, tool(0, '{"a"', ":1}"), TOOL_STOP),
        seq(START, tool_end(0, arguments_raw='{"a":12}', arguments={"a": 12}), TOOL_STOP),
        3,
    ),
    (
        "tool.arguments-conserved",
        seq(START, tool(0), tool(1), TOOL_STOP),  # no-arg calls: "" becomes "{}"
        seq(
            START,
            BlockStart(block=0, kind="tool_call", name="now"),
            BlockEnd(block=0, arguments_raw="", arguments_error="empty"),
            TOOL_STOP,
        ),
        2,
    ),
    (
        "tool.arguments-conserved",
        seq(START, tool(0, _ARGS), TOOL_STOP),
        seq(START, tool_end(0, arguments={"a": 1}), TOOL_STOP),
        3,
    ),
    (
        "tool.arguments-parsed",
        seq(START, tool(0, '{"a":'), STOP),  # invalid JSON is reported as arguments_error
        seq(START, tool_end(0, arguments_raw=_ARGS, arguments={"a": 1}, arguments_error="x"), TOOL_STOP),
        3,
    ),
    (
        "tool.arguments-parsed",
        seq(START, tool(0, "[1]"), STOP),
        seq(START, tool_end(0, arguments_raw=_ARGS), TOOL_STOP),
        3,
    ),
    (
        "tool.arguments-parsed",
        seq(START, tool(0, _ARGS), TOOL_STOP),
        seq(START, tool_end(0, arguments_raw=_ARGS, arguments={"a": 2}), TOOL_STOP),
        3,
    ),
    (
        "tool.arguments-parsed",  # true is not 1, although Python says True == 1
        seq(START, tool(0, '{"a":true}'), TOOL_STOP),
        seq(
            START,
            tool(0, '{"a":true}')[:2],
            BlockEnd(block=0, arguments_raw='{"a":true}', arguments={"a": 1}),
            TOOL_STOP,
        ),
        3,
    ),
    (
        "tool.arguments-parsed",
        seq(START, tool(0, _ARGS), TOOL_STOP),
        seq(START, tool_end(0, arguments_raw=_ARGS, arguments_error="bad JSON"), TOOL_STOP),
        3,
    ),
    (
        "tool.arguments-parsed",  # a JSON array is not an object: only arguments_error fits
        seq(START, tool(0, "[1]"), STOP),
        seq(START, tool(0, "[1]")[:2], BlockEnd(block=0, arguments_raw="[1]", arguments={}), TOOL_STOP),
        3,
    ),
    (
        "tool.arguments-parsed",  # NaN is not JSON
        seq(
            START,
            tool(0, '{"a":NaN}')[:2],
            BlockEnd(block=0, arguments_raw='{"a":NaN}', arguments_error="NaN"),
            STOP,
        ),
        seq(
            START,
            tool(0, '{"a":NaN}')[:2],
            BlockEnd(block=0, arguments_raw='{"a":NaN}', arguments={"a": 0}),
            STOP,
        ),
        3,
    ),
    (
        "tool.incomplete-unparsed",
        seq(START, tool_end(0, incomplete=True, arguments_raw=_ARGS), LENGTH),
        seq(START, tool_end(0, incomplete=True, arguments_raw=_ARGS, arguments={"a": 1}), LENGTH),
        3,
    ),
    (
        "tool.distinct-ids",
        seq(
            START,
            tool(0, _ARGS, id="call_1"),
            tool(1, _ARGS, id="call_2"),
            tool(2, id=None),
            tool(3, id=None),
            TOOL_STOP,
        ),
        seq(START, tool(0, _ARGS, id="call_1"), tool(1, _ARGS, id="call_1"), TOOL_STOP),
        4,
    ),
    (
        "tool.distinct-ids",
        seq(START, tool(0, kind="server_tool_call", id="srv_1"), tool(1, id="call_1"), TOOL_STOP),
        seq(START, tool(0, kind="server_tool_call", id="x"), tool(1, id="x"), TOOL_STOP),
        3,
    ),
    (
        "usage.output-monotonic",
        seq(START, Usage(output_tokens=1), Usage(input_tokens=9), Usage(output_tokens=5), STOP),
        seq(START, Usage(output_tokens=10), Usage(output_tokens=4), STOP),
        2,
    ),
    (
        "usage.output-monotonic",
        seq(
            START,
            Usage(output_tokens=10),
            Abort(reason=AbortReason.TIMEOUT, usage=UsageCounts(output_tokens=12)),
        ),
        seq(
            START,
            Usage(output_tokens=10),
            Abort(reason=AbortReason.TIMEOUT, usage=UsageCounts(output_tokens=3)),
        ),
        2,
    ),
    ("finish.raw-reason", seq(START, STOP), seq(START, Finish(reason=FinishReason.STOP)), 1),
    ("finish.tool-calls", seq(START, tool(0, _ARGS), TOOL_STOP), seq(START, block(0, "hi"), TOOL_STOP), 4),
    (
        "finish.tool-calls",
        seq(START, tool_end(0, incomplete=True, arguments_raw='{"a'), LENGTH),
        seq(START, tool_end(0, incomplete=True, arguments_raw='{"a'), TOOL_STOP),
        4,
    ),
    (
        "finish.tool-calls",
        seq(START, tool(0, kind="server_tool_call", name="web_search"), STOP),
        seq(START, tool(0, kind="server_tool_call", name="web_search"), TOOL_STOP),
        3,
    ),
    (
        "error.phase",
        seq(START, block(0, "a"), error(phase=ErrorPhase.MID_STREAM)),
        seq(START, block(0, "a"), error(phase=ErrorPhase.BEFORE_OUTPUT)),
        4,
    ),
    (
        "error.phase",
        seq(START, Usage(input_tokens=3), error(phase=ErrorPhase.BEFORE_OUTPUT)),
        seq(START, Usage(input_tokens=3), error(phase=ErrorPhase.MID_STREAM)),
        2,
    ),
    (
        "error.retryable",
        seq(START, error(ErrorCategory.RATE_LIMIT, retryable=True, phase=ErrorPhase.BEFORE_OUTPUT)),
        seq(START, error(ErrorCategory.RATE_LIMIT, retryable=False, phase=ErrorPhase.BEFORE_OUTPUT)),
        1,
    ),
    (
        "error.retryable",
        seq(error(ErrorCategory.PROTOCOL, retryable=False, phase=ErrorPhase.BEFORE_OUTPUT)),
        seq(error(ErrorCategory.CONTEXT_LENGTH, retryable=True, phase=ErrorPhase.BEFORE_OUTPUT)),
        0,
    ),
]


@pytest.mark.parametrize(
    ("rule", "good", "bad", "index"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_rule_passes_and_fails(rule: str, good: list[Event], bad: list[Event], index: int) -> None:
    assert check(good) == []
    violations = check(bad)
    assert ids(violations) == [(rule, index)], [v.message for v in violations]
    assert violations[0].level is RULES[rule].level


def test_every_rule_has_a_case_and_is_documented() -> None:
    covered = {c[0] for c in CASES}
    assert set(RULES) <= covered
    assert covered <= set(RULES)
    spec = SPEC.read_text(encoding="utf-8")
    missing = [rule for rule in RULES if f"`{rule}`" not in spec]
    assert missing == []


def test_rules_are_consistent() -> None:
    assert all(rid == r.id and r.summary and r.reason and r.guards for rid, r in RULES.items())
    should = {rid for rid, r in RULES.items() if r.level is Level.SHOULD}
    assert should == {
        "block.closed-before-error",
        "block.delta-nonempty",
        "usage.output-monotonic",
        "finish.raw-reason",
        "error.retryable",
    }


def test_state_tables_are_total() -> None:
    phases = list(grammar._Phase)
    types = list(grammar._ALL_TYPES)
    for phase in phases:
        for type_ in types:
            in_next = (phase, type_) in grammar._RESPONSE_NEXT
            in_refused = (phase, type_) in grammar._RESPONSE_REFUSED
            assert in_next != in_refused, (phase, type_)
    assert set(grammar._RESPONSE_REFUSED.values()) <= set(RULES)
    block_types = (BlockStart.TYPE, BlockDelta.TYPE, BlockEnd.TYPE)
    assert set(grammar._BLOCK_NEXT) == {(s, t) for s in grammar._BlockState for t in block_types}
    assert {v for v in grammar._BLOCK_NEXT.values() if isinstance(v, str)} <= set(RULES)


# -- messages and cascades --------------------------------------------------------------


def test_conservation_message_names_block_and_values() -> None:
    bad = seq(
        START,
        BlockStart(block=2, kind="tool_call", name="f"),
        BlockDelta(block=2, text='{"a":1'),
        BlockDelta(block=2, text="2"),
        BlockEnd(block=2, arguments_raw='{"a":1', arguments_error="truncated"),
        TOOL_STOP,
    )
    violations = check(bad)
    assert violations[0].rule == "tool.arguments-conserved"
    assert violations[0].message == (
        "block 2: arguments_raw '{\"a\":1' is not the concatenation of its deltas '{\"a\":12'"
    )


def test_orphan_block_is_reported_once_and_not_checked_for_conservation() -> None:
    bad = seq(
        START,
        BlockDelta(block=7, text='{"a"'),
        BlockStart(block=7, kind="tool_call", name="f"),
        BlockDelta(block=7, text=":1}"),
        BlockEnd(block=7, arguments_raw=":1}", arguments_error="bad"),
        BlockDelta(block=7, text="late"),
        TOOL_STOP,
    )
    assert ids(check(bad)) == [("block.started", 1)]


def test_tainted_tool_block_still_counts_as_a_complete_call() -> None:
    bad = seq(START, BlockDelta(block=0, text="{"), tool(0, _ARGS), TOOL_STOP)
    assert ids(check(bad)) == [("block.started", 1)]


def test_after_terminal_reported_once_and_second_terminal_separately() -> None:
    bad = seq(START, STOP, block(0, "x"), Usage(output_tokens=1), error(), STOP)
    assert ids(check(bad)) == [("sequence.after-terminal", 2), ("sequence.terminal", 6)]


def test_open_blocks_each_reported_at_finish() -> None:
    bad = seq(START, BlockStart(block=0, kind="text"), BlockStart(block=1, kind="reasoning"), STOP)
    violations = check(bad)
    assert ids(violations) == [("block.closed-before-finish", 3), ("block.closed-before-finish", 3)]
    assert "block 0" in violations[0].message
    assert "block 1" in violations[1].message


def test_abort_may_leave_blocks_open() -> None:
    ok = seq(
        START,
        BlockStart(block=0, kind="text"),
        BlockDelta(block=0, text="Hel"),
        Abort(reason=AbortReason.TASK_CANCEL),
    )
    assert check(ok) == []


def test_violations_come_in_event_order() -> None:
    bad = seq(
        Usage(output_tokens=5),
        START,
        BlockDelta(block=3, text="x"),
        Usage(output_tokens=2),
        Finish(reason=FinishReason.TOOL_CALLS),
    )
    assert ids(check(bad)) == [
        ("sequence.start-first", 1),
        ("block.started", 2),
        ("usage.output-monotonic", 3),
        ("finish.raw-reason", 4),
        ("finish.tool-calls", 4),
    ]


@pytest.mark.parametrize(
    "raw",
    ["[" * 100_000, '{"a":' * 100_000, "{" + '"k":1,' * 10_000 + '"k":2}', "\ud800", "\x00"],
    ids=["deep-array", "deep-object", "many-keys", "lone-surrogate", "nul"],
)
def test_hostile_arguments_never_raise(raw: str) -> None:
    deep: JSONValue = {}
    for _ in range(5_000):
        deep = {"a": deep}
    for end in (
        BlockEnd(block=0, arguments_raw=raw, arguments_error="x"),
        BlockEnd(block=0, arguments_raw=raw, arguments=deep),  # type: ignore[arg-type]
        BlockEnd(block=0, arguments_raw=raw, arguments=[1]),  # type: ignore[arg-type]
    ):
        events = seq(
            START, BlockStart(block=0, kind="tool_call", name="f"), BlockDelta(block=0, text=raw), end, STOP
        )
        assert all(isinstance(v, Violation) for v in check(events))


# -- realistic valid sequences ------------------------------------------------------------

VALID: dict[str, list[Event]] = {
    "text-tool-usage-finish": seq(
        START,
        Usage(input_tokens=472, output_tokens=1),
        block(0, "Okay, let me check ", "the weather."),
        tool(1, '{"locati', 'on": "P', "ar", 'is"}', id="toolu_01", name="get_weather"),
        Usage(input_tokens=472, output_tokens=89),
        TOOL_STOP,
    ),
    "reasoning-with-signature": seq(
        START,
        block(0, "Let me think", " step by step.", kind="reasoning", signature="EqQBCkgIARABGAI..."),
        block(1, "The answer is 4."),
        Usage(input_tokens=40, output_tokens=120, reasoning_tokens=80),
        STOP,
    ),
    "redacted-reasoning-and-gemini-signature-on-call": seq(
        START,
        block(0, kind="reasoning", redacted="EmwKAhgBEgy3va3pzix/LafPsn4a..."),
        tool(1, '{"city":"Paris"}', name="get_weather")[:2],
        BlockEnd(block=1, arguments_raw='{"city":"Paris"}', arguments={"city": "Paris"}, signature="CiQB..."),
        TOOL_STOP,
    ),
    "parallel-calls-interleaved": seq(
        START,
        BlockStart(block=0, kind="tool_call", id="call_a", name="get_weather"),
        BlockStart(block=1, kind="tool_call", id="call_b", name="get_time"),
        BlockDelta(block=0, text='{"ci'),
        BlockDelta(block=1, text='{"tz":'),
        BlockDelta(block=0, text='ty": "Paris"}'),
        BlockDelta(block=1, text='"CET"}'),
        BlockEnd(block=1, arguments_raw='{"tz":"CET"}', arguments={"tz": "CET"}),
        BlockEnd(block=0, arguments_raw='{"city": "Paris"}', arguments={"city": "Paris"}),
        Usage(input_tokens=80, output_tokens=40),
        Finish(reason=FinishReason.TOOL_CALLS, raw_reason="tool_calls"),
    ),
    "parallel-no-arg-calls": seq(
        START, tool(0, id="toolu_a", name="now"), tool(1, id="toolu_b", name="now"), TOOL_STOP
    ),
    "error-mid-stream-after-incomplete-block": seq(
        START,
        BlockStart(block=0, kind="text"),
        BlockDelta(block=0, text="Once upon"),
        BlockEnd(block=0, incomplete=True),
        Error(
            category=ErrorCategory.OVERLOADED,
            message="Overloaded",
            retryable=True,
            phase=ErrorPhase.MID_STREAM,
            status=529,
            code="overloaded_error",
        ),
    ),
    "error-before-output": seq(
        Error(
            category=ErrorCategory.RATE_LIMIT,
            message="slow down",
            retryable=True,
            phase=ErrorPhase.BEFORE_OUTPUT,
            status=429,
            code="rate_limit_error",
        )
    ),
    "abort-with-usage": seq(
        START,
        Usage(input_tokens=12, output_tokens=3),
        BlockStart(block=0, kind="text"),
        BlockDelta(block=0, text="Hello"),
        Abort(reason=AbortReason.CONSUMER_CANCEL, usage=UsageCounts(input_tokens=12, output_tokens=7)),
    ),
    "refusal-zero-blocks": seq(
        START,
        Usage(input_tokens=9, output_tokens=2),
        Finish(reason=FinishReason.REFUSAL, raw_reason="refusal"),
    ),
    "unknown-events-everywhere": seq(
        PING, START, PING, block(0, "hi"), PING, STOP, Unknown(vendor_type="message_stop"), PING
    ),
    "truncated-tool-call-max-tokens": seq(
        START,
        tool_end(0, incomplete=True, arguments_raw='{"a":1'),
        Finish(reason=FinishReason.LENGTH, raw_reason="max_tokens"),
    ),
    "invalid-tool-json-reported": seq(START, tool(0, '{"a": 1,,}', id="call_1"), TOOL_STOP),
    "server-tool-and-vendor-kinds": seq(
        START,
        tool(0, '{"query":"weather"}', kind="server_tool_call", id="srvtoolu_1", name="web_search"),
        BlockStart(block=1, kind="server_tool_result", id="srvtoolu_1", data={"results": []}),
        BlockEnd(block=1),
        block(2, "note", kind="x-acme-annotation", data={"k": 1}),
        block(3, "It is sunny."),
        Finish(reason=FinishReason.PAUSE, raw_reason="pause_turn"),
    ),
    "no-response-start": seq(block(0, "hi"), STOP),
}


@pytest.mark.parametrize("events", VALID.values(), ids=VALID.keys())
def test_realistic_valid_sequences_have_no_violations(events: list[Event]) -> None:
    assert check(events) == []


# -- properties -----------------------------------------------------------------------------

_small_text = st.sampled_from(["", "a", "{", "}", '{"a":1}', "[1]", '"', "\\", "é", "🙂", "{}"])
_key = st.integers(min_value=0, max_value=3)
_count = st.none() | st.integers(min_value=0, max_value=20)
_kind = st.sampled_from(
    ["text", "reasoning", "tool_call", "server_tool_call", "server_tool_result", "x-acme-note"]
)
_opt_text = st.none() | _small_text

_any_event: st.SearchStrategy[Event] = st.one_of(
    st.builds(ResponseStart, response_id=st.none() | st.just("r")),
    st.builds(
        BlockStart, block=_key, kind=_kind, id=st.none() | st.sampled_from(["c1", "c2"]), name=_opt_text
    ),
    st.builds(BlockDelta, block=_key, text=_small_text),
    st.builds(
        BlockEnd,
        block=_key,
        incomplete=st.booleans(),
        arguments_raw=_opt_text,
        arguments=st.none() | st.just({}) | st.just({"a": 1}) | st.just({"a": True}),
        arguments_error=_opt_text,
        signature=_opt_text,
    ),
    st.builds(Usage, input_tokens=_count, output_tokens=_count),
    st.builds(Finish, reason=st.sampled_from(FinishReason), raw_reason=_opt_text),
    st.builds(
        Error,
        category=st.sampled_from(ErrorCategory),
        message=st.just("m"),
        retryable=st.booleans(),
        phase=st.sampled_from(ErrorPhase),
    ),
    st.builds(
        Abort,
        reason=st.sampled_from(AbortReason),
        usage=st.none() | st.builds(UsageCounts, output_tokens=_count),
    ),
    st.builds(Unknown, vendor_type=st.just("ping")),
)


@given(st.lists(_any_event, max_size=25))
def test_check_never_raises_and_reports_well_formed_violations(events: list[Event]) -> None:
    violations = check(events)
    assert isinstance(violations, list)
    indices = [v.index for v in violations]
    assert indices == sorted(indices)
    for v in violations:
        assert v.rule in RULES
        assert v.level is RULES[v.rule].level
        assert 0 <= v.index <= len(events)
        assert v.message
    missing_terminal = not any(e.TYPE in {"finish", "error", "abort"} for e in events)
    assert (("sequence.terminal", len(events)) in ids(violations)) == missing_terminal


@st.composite
def valid_sequences(draw: st.DrawFn) -> list[Event]:
    """A conforming sequence: blocks with interleaved deltas, usage, unknowns, a finish."""
    plans: list[list[Event]] = []
    for key in range(draw(st.integers(min_value=0, max_value=4))):
        kind = draw(st.sampled_from(["text", "reasoning", "tool_call", "x-acme-note"]))
        parts = draw(st.lists(st.text(min_size=1, max_size=4), max_size=4))
        if kind == "tool_call":
            if draw(st.booleans()):
                obj = draw(
                    st.dictionaries(st.text(max_size=3), st.integers() | st.booleans() | st.text(max_size=3))
                )
                text = json.dumps(obj)
                cuts = sorted(
                    draw(st.sets(st.integers(min_value=1, max_value=max(1, len(text) - 1)), max_size=3))
                )
                parts = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True) if text[a:b]]
            plans.append(tool(key, *parts, id=f"call_{key}", name="fn"))
        else:
            plans.append(block(key, *parts, kind=kind))
    out: list[Event] = [START]
    output = 0
    while any(plans):
        out.append(plans[draw(st.sampled_from([i for i, p in enumerate(plans) if p]))].pop(0))
        if draw(st.integers(min_value=0, max_value=5)) == 0:
            output += draw(st.integers(min_value=0, max_value=3))
            extra: list[Event] = [Usage(output_tokens=output), PING]
            out.append(draw(st.sampled_from(extra)))
    calls = any(isinstance(e, BlockStart) and e.kind == "tool_call" for e in out)
    out.append(TOOL_STOP if calls and draw(st.booleans()) else STOP)
    return out


@given(valid_sequences())
def test_generated_valid_sequences_have_no_violations(events: list[Event]) -> None:
    assert check(events) == []


@given(valid_sequences())
def test_dropping_the_terminal_is_exactly_one_violation(events: list[Event]) -> None:
    cut = events[:-1]
    assert ids(check(cut)) == [("sequence.terminal", len(cut))]


@given(valid_sequences(), _any_event.filter(lambda e: e.TYPE != "unknown"))
def test_anything_after_the_terminal_is_exactly_one_violation(events: list[Event], extra: Event) -> None:
    rule = "sequence.terminal" if extra.TYPE in {"finish", "error", "abort"} else "sequence.after-terminal"
    assert ids(check([*events, PING, extra])) == [(rule, len(events) + 1)]
