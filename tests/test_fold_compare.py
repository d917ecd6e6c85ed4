"""fold() and compare(): chunking-independent folding and graded comparison."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, replace

from hypothesis import given
from hypothesis import strategies as st

from conformance.compare import Comparison, Divergence, Verdict, compare, render
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
    Unknown,
    Usage,
    dumps,
)
from conformance.fold import block_labels, fold
from conformance.strategies import events as any_valid_event

RS = ResponseStart(response_id="msg_01", model="model-1")
STOP = Finish(reason=FinishReason.STOP, raw_reason="end_turn")
TOOL_STOP = Finish(reason=FinishReason.TOOL_CALLS, raw_reason="tool_use")
USAGE = Usage(input_tokens=12, output_tokens=30)
PING = Unknown(vendor_type="ping", raw={"type": "ping"})


def text_block(key: int, *chunks: str, kind: str = "text", end: BlockEnd | None = None) -> list[Event]:
    """A block of ``kind`` delivering ``chunks``; a plain ``block.end`` unless given."""
    return [
        BlockStart(block=key, kind=kind),
        *(BlockDelta(block=key, text=chunk) for chunk in chunks),
        end if end is not None else BlockEnd(block=key),
    ]


def tool_end(key: int, raw: str) -> BlockEnd:
    """The ``block.end`` the model prescribes for argument text ``raw``."""
    raw = raw or "{}"
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        return BlockEnd(block=key, arguments_raw=raw, arguments_error=str(exc))
    return BlockEnd(block=key, arguments_raw=raw, arguments=parsed)


def tool_block(
    key: int, *chunks: str, id: str | None = "call_1", name: str = "get_weather", kind: str = "tool_call"
) -> list[Event]:
    """A tool call streaming its argument JSON in ``chunks``."""
    return [
        BlockStart(block=key, kind=kind, id=id, name=name),
        *(BlockDelta(block=key, text=chunk) for chunk in chunks),
        tool_end(key, "".join(chunks)),
    ]


# -- fold ------------------------------------------------------------------------------


def test_fold_deinterleaves_blocks_in_start_order_and_concatenates_deltas() -> None:
    events: list[Event] = [
        RS,
        BlockStart(block=7, kind="text"),
        BlockStart(block=3, kind="tool_call", id="call_9", name="f"),
        BlockDelta(block=3, text='{"a"'),
        BlockDelta(block=7, text="Hel"),
        BlockDelta(block=3, text=":1}"),
        BlockDelta(block=7, text="lo"),
        BlockEnd(block=7),
        tool_end(3, '{"a":1}'),
        USAGE,
        TOOL_STOP,
    ]
    assert fold(events) == [
        RS,
        BlockStart(block=0, kind="text"),
        BlockDelta(block=0, text="Hello"),
        BlockEnd(block=0),
        BlockStart(block=1, kind="tool_call", id="call_9", name="f"),
        BlockDelta(block=1, text='{"a":1}'),
        tool_end(1, '{"a":1}'),
        USAGE,
        TOOL_STOP,
    ]


def test_fold_renumbers_keys_by_order_of_first_appearance() -> None:
    events = [*text_block(5, "a"), *text_block(2, "b"), STOP]
    assert [e.block for e in fold(events) if isinstance(e, BlockStart | BlockDelta | BlockEnd)] == [
        0,
        0,
        0,
        1,
        1,
        1,
    ]


def test_fold_omits_a_delta_whose_concatenation_is_empty() -> None:
    events = [RS, *text_block(0, "", ""), *text_block(1), STOP]
    assert fold(events) == [
        RS,
        BlockStart(block=0, kind="text"),
        BlockEnd(block=0),
        BlockStart(block=1, kind="text"),
        BlockEnd(block=1),
        STOP,
    ]


def test_fold_drops_unknown_events() -> None:
    events = [PING, RS, PING, *text_block(0, "a", "b"), PING, STOP, PING]
    assert fold(events) == [RS, *text_block(0, "ab"), STOP]


def test_fold_keeps_only_the_last_usage_and_places_it_before_the_terminal() -> None:
    first, last = Usage(input_tokens=12), Usage(input_tokens=12, output_tokens=40)
    events = [RS, first, *text_block(0, "a"), Usage(input_tokens=12, output_tokens=9), last, STOP]
    assert fold(events) == [RS, *text_block(0, "a"), last, STOP]
    # Without a terminal the last snapshot still comes after the blocks.
    assert fold([first, *text_block(0, "a"), last, BlockDelta(block=0, text="b")]) == [
        *text_block(0, "a"),
        BlockDelta(block=1, text="b"),  # a delta after its block ended is a new block
        last,
    ]


def test_fold_keeps_events_after_the_terminal_in_original_order() -> None:
    late_usage = Usage(output_tokens=99)
    events: list[Event] = [
        RS,
        BlockStart(block=4, kind="text"),
        BlockDelta(block=4, text="a"),
        STOP,
        PING,
        BlockDelta(block=4, text="b"),
        BlockEnd(block=4),
        late_usage,
        STOP,
    ]
    # The usage after the terminal is not "the last usage before the terminal".
    assert fold(events) == [
        RS,
        BlockStart(block=0, kind="text"),
        BlockDelta(block=0, text="a"),
        STOP,
        BlockDelta(block=0, text="b"),
        BlockEnd(block=0),
        late_usage,
        STOP,
    ]


def test_fold_keeps_an_orphan_delta_at_its_first_appearance_without_inventing_a_start() -> None:
    events = [
        RS,
        BlockDelta(block=9, text="x"),  # block 9 never starts
        *text_block(0, "a"),
        BlockDelta(block=9, text="y"),
        BlockEnd(block=9),
        BlockEnd(block=6),  # an end for a block that never started
        STOP,
    ]
    assert fold(events) == [
        RS,
        BlockDelta(block=0, text="xy"),
        BlockEnd(block=0),
        *text_block(1, "a"),
        BlockEnd(block=2),
        STOP,
    ]


def test_fold_keeps_an_empty_orphan_delta_so_the_block_does_not_vanish() -> None:
    events = [BlockDelta(block=3, text=""), *text_block(3, "a"), STOP]
    assert fold(events) == [BlockDelta(block=0, text=""), *text_block(1, "a"), STOP]


def test_fold_treats_a_delta_after_its_blocks_end_as_a_separate_block() -> None:
    events = [*text_block(0, "a"), BlockDelta(block=0, text="late"), STOP]
    assert fold(events) == [*text_block(0, "a"), BlockDelta(block=1, text="late"), STOP]


def test_fold_treats_a_second_start_under_an_open_key_as_a_new_block() -> None:
    events: list[Event] = [
        BlockStart(block=0, kind="text"),
        BlockDelta(block=0, text="a"),
        BlockStart(block=0, kind="reasoning"),
        BlockDelta(block=0, text="b"),
        BlockEnd(block=0),
    ]
    assert fold(events) == [
        BlockStart(block=0, kind="text"),
        BlockDelta(block=0, text="a"),
        *text_block(1, "b", kind="reasoning"),
    ]
    assert block_labels(events) == [0, 0, 1, 1, 1]


def test_fold_puts_every_response_start_first() -> None:
    other = ResponseStart(response_id="msg_02")
    events = [RS, *text_block(0, "a"), other, STOP]
    assert fold(events) == [RS, other, *text_block(0, "a"), STOP]


def test_fold_of_nothing_is_nothing() -> None:
    assert fold([]) == []
    assert fold([PING]) == []


# -- compare: PASS ----------------------------------------------------------------------

WEATHER: list[Event] = [
    RS,
    *text_block(0, "Let me ", "check."),
    *tool_block(1, '{"city":', ' "Paris"}'),
    USAGE,
    TOOL_STOP,
]


def _assert_pass(result: Comparison) -> None:
    assert result == Comparison(verdict=Verdict.PASS, divergence=None, diff=(), notes=())


def test_identical_sequences_pass() -> None:
    _assert_pass(compare(WEATHER, list(WEATHER)))
    _assert_pass(compare([], []))


def test_sequences_equal_up_to_key_renumbering_pass() -> None:
    renumbered = [
        replace(e, block={0: 17, 1: 4}[e.block]) if isinstance(e, BlockStart | BlockDelta | BlockEnd) else e
        for e in WEATHER
    ]
    _assert_pass(compare(WEATHER, renumbered))


def test_sequences_equal_up_to_unknown_events_pass() -> None:
    noisy = [PING, *WEATHER[:3], PING, *WEATHER[3:], PING]
    _assert_pass(compare(WEATHER, noisy))
    _assert_pass(compare(noisy, WEATHER))


def test_object_key_order_in_json_payloads_does_not_matter() -> None:
    a: list[Event] = [
        BlockStart(block=0, kind="citation", data={"url": "u", "title": "t"}),
        BlockEnd(block=0),
    ]
    b: list[Event] = [
        BlockStart(block=0, kind="citation", data={"title": "t", "url": "u"}),
        BlockEnd(block=0),
    ]
    _assert_pass(compare(a, b))


# -- compare: PASS_NONSTRICT --------------------------------------------------------------


def _assert_nonstrict(result: Comparison, *notes: str) -> None:
    assert result.verdict is Verdict.PASS_NONSTRICT
    assert result.divergence is None
    assert result.diff == ()
    assert result.notes == notes


def test_rechunked_deltas_pass_nonstrict_with_a_note() -> None:
    actual = [
        RS,
        *text_block(0, "L", "et me check."),
        *tool_block(1, '{"ci', 'ty": "Paris"}'),
        USAGE,
        TOOL_STOP,
    ]
    _assert_nonstrict(compare(WEATHER, actual), "deltas chunked differently (block 0, 1)")


def test_empty_deltas_count_as_chunking() -> None:
    actual = [RS, *text_block(0, "", "Let me ", "check.", ""), *WEATHER[5:]]
    _assert_nonstrict(compare(WEATHER, actual), "deltas chunked differently (block 0)")


def test_blocks_interleaved_differently_pass_nonstrict() -> None:
    sequential = [RS, *tool_block(0, "{}", id="a"), *tool_block(1, "{}", id="b"), TOOL_STOP]
    interleaved = [
        RS,
        sequential[1],
        sequential[4],
        sequential[2],
        sequential[5],
        sequential[3],
        sequential[6],
    ]
    interleaved.append(TOOL_STOP)
    _assert_nonstrict(compare(sequential, interleaved), "blocks interleaved differently")


def test_intermediate_usage_snapshots_pass_nonstrict() -> None:
    actual = [RS, Usage(input_tokens=12, output_tokens=1), *WEATHER[1:]]
    _assert_nonstrict(
        compare(WEATHER, actual), "intermediate usage snapshots differ (only the last one counts)"
    )


def test_reformatted_tool_arguments_pass_nonstrict_when_expected_has_arguments() -> None:
    expected = [RS, *tool_block(0, '{"city": "Paris",', ' "days": 3}'), TOOL_STOP]
    # A vendor that sends whole argument objects: the adapter serialises them itself.
    actual = [RS, *tool_block(0, '{"days":3.0,"city":"Paris"}'), TOOL_STOP]
    _assert_nonstrict(
        compare(expected, actual),
        "block 0: tool-call arguments serialised differently (equal as parsed JSON)",
    )


def test_empty_arguments_with_or_without_a_delta_pass_nonstrict() -> None:
    expected = [RS, *tool_block(0), TOOL_STOP]  # no deltas: arguments_raw "{}"
    actual = [RS, *tool_block(0, "{ }"), TOOL_STOP]
    _assert_nonstrict(
        compare(expected, actual),
        "block 0: tool-call arguments serialised differently (equal as parsed JSON)",
    )


def test_synthesised_id_passes_nonstrict_when_the_vendor_sent_none() -> None:
    expected = [RS, *tool_block(0, "{}", id=None), TOOL_STOP]
    actual = [RS, *tool_block(0, "{}", id="call_synthetic_0"), TOOL_STOP]
    _assert_nonstrict(compare(expected, actual), "block 0: id synthesised where the vendor sent none")


def test_reused_block_key_is_noted() -> None:
    expected = [*text_block(0, "a"), *text_block(1, "b"), STOP]
    actual = [*text_block(0, "a"), *text_block(0, "b"), STOP]
    _assert_nonstrict(compare(expected, actual), "a block key is reused for a new block (actual)")


# -- compare: FAIL -------------------------------------------------------------------------


def _assert_fail(
    result: Comparison,
    index: int,
    expected: Event | None,
    actual: Event | None,
    *,
    removed: tuple[Event, ...] | None = None,
    added: tuple[Event, ...] | None = None,
) -> None:
    """FAIL at ``index`` with these events; the diff removes/adds these lines."""
    assert result.verdict is Verdict.FAIL
    assert result.divergence == Divergence(index=index, expected=expected, actual=actual)
    assert result.diff[:2] == ("--- expected", "+++ actual")
    for event in removed if removed is not None else (expected,) if expected else ():
        assert f"-{dumps(event)}" in result.diff
    for event in added if added is not None else (actual,) if actual else ():
        assert f"+{dumps(event)}" in result.diff
    report = render(result)
    assert "verdict: FAIL" in report
    assert f"index {index}" in report
    for shown in (expected, actual):
        if shown is not None:
            assert dumps(shown) in report
    if expected is None or actual is None:
        assert "(nothing: the sequence ends here)" in report


def test_a_dropped_tool_call_fragment_fails_at_the_folded_delta() -> None:
    expected = [RS, *tool_block(0, '{"city":', ' "Paris",', ' "unit": "C"}'), TOOL_STOP]
    actual = [RS, *tool_block(0, '{"ci', 'ty":', ' "unit": "C"}'), TOOL_STOP]
    _assert_fail(
        compare(expected, actual),
        2,
        BlockDelta(block=0, text='{"city": "Paris", "unit": "C"}'),
        BlockDelta(block=0, text='{"city": "unit": "C"}'),
    )


def test_two_parallel_calls_merged_into_one_fail() -> None:
    paris, rome = '{"city": "Paris"}', '{"city": "Rome"}'
    a, b = tool_block(0, paris, id="call_a"), tool_block(1, rome, id="call_b")
    expected = [RS, a[0], b[0], a[1], b[1], a[2], b[2], TOOL_STOP]
    actual = [RS, *tool_block(0, paris, rome, id="call_a"), TOOL_STOP]
    _assert_fail(
        compare(expected, actual),
        2,
        BlockDelta(block=0, text=paris),
        BlockDelta(block=0, text=paris + rome),
        removed=(
            BlockDelta(block=0, text=paris),
            BlockStart(block=1, kind="tool_call", id="call_b", name="get_weather"),
        ),
    )


def test_usage_summed_instead_of_replaced_fails_at_the_usage() -> None:
    first, final = Usage(input_tokens=12, output_tokens=1), Usage(input_tokens=12, output_tokens=30)
    expected = [RS, first, *text_block(0, "hi"), final, STOP]
    doubled = Usage(input_tokens=24, output_tokens=31)
    actual = [RS, first, *text_block(0, "hi"), doubled, STOP]
    _assert_fail(compare(expected, actual), 4, final, doubled)


def test_truncation_reported_as_finish_instead_of_protocol_error_fails() -> None:
    truncated = Error(
        category=ErrorCategory.PROTOCOL, message="truncated", retryable=True, phase=ErrorPhase.MID_STREAM
    )
    cut = BlockEnd(block=0, incomplete=True)
    quiet = Finish(reason=FinishReason.OTHER)
    expected = [RS, *text_block(0, "Hel", "lo", end=cut), truncated]
    actual = [RS, *text_block(0, "Hello", end=cut), quiet]
    _assert_fail(compare(expected, actual), 4, truncated, quiet)


def test_a_swallowed_error_frame_fails() -> None:
    overloaded = Error(
        category=ErrorCategory.OVERLOADED,
        message="Overloaded",
        retryable=True,
        phase=ErrorPhase.MID_STREAM,
        status=529,
        code="overloaded_error",
    )
    cut = BlockEnd(block=0, incomplete=True)
    expected = [RS, *text_block(0, "Par", "tial", end=cut), overloaded]
    actual = [RS, *text_block(0, "Partial", end=cut), STOP]
    _assert_fail(compare(expected, actual), 4, overloaded, STOP)


def test_text_lost_before_an_error_fails_at_the_missing_delta() -> None:
    error = Error(category=ErrorCategory.SERVER, message="boom", retryable=True, phase=ErrorPhase.MID_STREAM)
    cut = BlockEnd(block=0, incomplete=True)
    expected = [RS, *text_block(0, "Partial ", "answer", end=cut), error]
    actual = [RS, *text_block(0, end=cut), error]
    _assert_fail(compare(expected, actual), 2, BlockDelta(block=0, text="Partial answer"), cut, added=())


def test_a_lost_signature_fails_at_the_reasoning_blocks_end() -> None:
    signed = BlockEnd(block=0, signature="EqQBCkgIARABGAIiQL")
    expected = [RS, *text_block(0, "Think", "ing", kind="reasoning", end=signed), *text_block(1, "Hi"), STOP]
    actual = [RS, *text_block(0, "Thinking", kind="reasoning"), *text_block(1, "H", "i"), STOP]
    _assert_fail(compare(expected, actual), 3, signed, BlockEnd(block=0))


def test_a_changed_finish_reason_fails() -> None:
    length = Finish(reason=FinishReason.LENGTH, raw_reason="max_tokens")
    mapped_wrong = Finish(reason=FinishReason.STOP, raw_reason="max_tokens")
    expected = [RS, *text_block(0, "a"), length]
    actual = [RS, *text_block(0, "a"), mapped_wrong]
    _assert_fail(compare(expected, actual), 4, length, mapped_wrong)


def test_an_extra_block_fails_where_it_appears() -> None:
    expected = [RS, *text_block(0, "a"), STOP]
    actual = [RS, *text_block(0, "a"), *text_block(1), STOP]
    result = compare(expected, actual)
    extra = BlockStart(block=1, kind="text")
    _assert_fail(result, 4, STOP, extra, removed=(), added=(extra, BlockEnd(block=1)))
    assert f" {dumps(STOP)}" in result.diff  # the terminal itself is unchanged context


def test_a_missing_block_fails_where_it_should_be() -> None:
    thinking = text_block(0, "hmm", kind="reasoning")
    expected = [RS, *thinking, *text_block(1, "a"), STOP]
    actual = [RS, *text_block(0, "a"), STOP]
    _assert_fail(
        compare(expected, actual),
        1,
        thinking[0],
        BlockStart(block=0, kind="text"),
        removed=(thinking[0], thinking[1]),
        added=(),
    )


def test_a_sequence_that_stops_early_fails_with_nothing_on_the_short_side() -> None:
    expected = [RS, *text_block(0, "a"), STOP]
    actual = [RS, *text_block(0, "a")]
    _assert_fail(compare(expected, actual), 4, STOP, None)


def test_render_reports_each_verdict() -> None:
    assert render(compare(WEATHER, WEATHER)) == "verdict: PASS"
    nonstrict = render(compare(WEATHER, [RS, *text_block(0, "Let me check."), *WEATHER[5:]]))
    assert nonstrict.splitlines() == [
        "verdict: PASS_NONSTRICT",
        "not strictly equal:",
        "  - deltas chunked differently (block 0)",
    ]


# -- compare: relaxations never go the other way -------------------------------------------


def test_an_id_lost_by_the_adapter_fails() -> None:
    expected = [RS, *tool_block(0, "{}", id="call_1"), TOOL_STOP]
    actual = [RS, *tool_block(0, "{}", id=None), TOOL_STOP]
    _assert_fail(compare(expected, actual), 1, expected[1], actual[1])


def test_arguments_made_up_where_the_vendor_sent_invalid_json_fail() -> None:
    expected = [RS, *tool_block(0, '{"a": 1'), TOOL_STOP]
    assert isinstance(expected[3], BlockEnd)
    assert expected[3].arguments_error is not None
    repaired = BlockEnd(block=0, arguments_raw='{"a": 1}', arguments={"a": 1})
    actual = [RS, *expected[1:3], repaired, TOOL_STOP]
    _assert_fail(compare(expected, actual), 3, expected[3], repaired)


def test_arguments_equal_only_by_python_equality_fail() -> None:
    expected = [RS, *tool_block(0, '{"flag": 1}'), TOOL_STOP]
    actual = [RS, *tool_block(0, '{"flag": true}'), TOOL_STOP]  # True == 1 in Python, not in JSON
    _assert_fail(
        compare(expected, actual),
        2,
        BlockDelta(block=0, text='{"flag": 1}'),
        BlockDelta(block=0, text='{"flag": true}'),
    )


def test_parsed_arguments_that_differ_fail_even_when_the_raw_text_is_right() -> None:
    expected = [RS, *tool_block(0, '{"a": 1}'), TOOL_STOP]
    stringified = BlockEnd(block=0, arguments_raw='{"a": 1}', arguments={"a": "1"})
    actual = [RS, *expected[1:3], stringified, TOOL_STOP]
    _assert_fail(compare(expected, actual), 3, expected[3], stringified)


def test_lost_argument_deltas_fail_even_when_the_end_is_right() -> None:
    expected = [RS, *tool_block(0, '{"city":', ' "Paris"}'), TOOL_STOP]
    actual = [RS, *expected[1:3], BlockDelta(block=0, text=' "Pa'), expected[4], TOOL_STOP]
    _assert_fail(
        compare(expected, actual),
        2,
        BlockDelta(block=0, text='{"city": "Paris"}'),
        BlockDelta(block=0, text='{"city": "Pa'),
    )


def test_relaxed_differences_are_listed_on_a_fail() -> None:
    expected = [RS, *tool_block(0, "{}", id=None), TOOL_STOP]
    actual = [RS, *tool_block(0, "{}", id="synth"), STOP]
    result = compare(expected, actual)
    _assert_fail(result, 4, TOOL_STOP, STOP)
    assert result.notes == ("block 0: id synthesised where the vendor sent none",)
    assert "accepted differences" in render(result)


# -- properties ---------------------------------------------------------------------------

_texts = st.text(st.characters(codec="utf-8"), max_size=12)


@dataclass(frozen=True)
class _Block:
    kind: str
    text: str
    id: str | None


_blocks = st.one_of(
    st.builds(_Block, kind=st.sampled_from(["text", "reasoning", "refusal"]), text=_texts, id=st.none()),
    st.builds(
        _Block,
        kind=st.just("tool_call"),
        text=st.dictionaries(_texts, st.integers() | _texts, max_size=3).map(json.dumps),
        id=st.none() | _texts,
    ),
)


def _start(key: int, block: _Block) -> BlockStart:
    return BlockStart(block=key, kind=block.kind, id=block.id)


def _end(key: int, block: _Block) -> BlockEnd:
    return tool_end(key, block.text) if block.kind == "tool_call" else BlockEnd(block=key)


@st.composite
def rechunked_pairs(draw: st.DrawFn) -> tuple[list[Event], list[Event]]:
    """A canonical sequence (one delta per block, blocks in order) and a variant of it.

    The variant uses other block keys, splits each block's text at random points
    (empty pieces included), interleaves the blocks' events at random while keeping
    each block's own order and the order in which blocks start, adds earlier usage
    snapshots before the final one, and sprinkles ``unknown`` events.
    """
    blocks = draw(st.lists(_blocks, max_size=4))
    final_usage = draw(st.none() | st.builds(Usage, output_tokens=st.integers(0, 100)))
    terminal = draw(st.sampled_from([STOP, TOOL_STOP, Abort(reason=AbortReason.TIMEOUT), None]))
    canonical: list[Event] = [RS]
    for key, block in enumerate(blocks):
        canonical += [_start(key, block), BlockDelta(block=key, text=block.text), _end(key, block)]
    canonical += [e for e in (final_usage, terminal) if e is not None]

    keys = draw(st.lists(st.integers(0, 40), min_size=len(blocks), max_size=len(blocks), unique=True))
    queues: list[list[Event]] = []
    for key, block in zip(keys, blocks, strict=True):
        cuts = sorted(draw(st.lists(st.integers(0, len(block.text)), max_size=4)))
        bounds = [0, *cuts, len(block.text)]
        pieces = [block.text[a:b] for a, b in itertools.pairwise(bounds)]
        queues.append(
            [_start(key, block), *(BlockDelta(block=key, text=p) for p in pieces), _end(key, block)]
        )
    body: list[Event] = []
    started = 0
    while any(queues):
        ready = [i for i in range(started) if queues[i]]
        if started < len(queues):
            ready.append(started)
        pick = ready[draw(st.integers(0, len(ready) - 1))]
        started = max(started, pick + 1)
        body.append(queues[pick].pop(0))
    if final_usage is not None:
        earlier = draw(st.lists(st.builds(Usage, output_tokens=st.integers(0, 100)), max_size=2))
        for snapshot in [*earlier, final_usage]:
            low = max((i + 1 for i, e in enumerate(body) if isinstance(e, Usage)), default=0)
            body.insert(draw(st.integers(low, len(body))), snapshot)
    variant: list[Event] = [RS, *body, *([terminal] if terminal is not None else [])]
    for _ in range(draw(st.integers(0, 3))):
        variant.insert(draw(st.integers(0, len(variant))), PING)
    return canonical, variant


_small_key_events: st.SearchStrategy[Event] = st.one_of(
    st.builds(
        BlockStart,
        block=st.integers(0, 3),
        kind=st.sampled_from(["text", "tool_call"]),
        id=st.none() | _texts,
    ),
    st.builds(BlockDelta, block=st.integers(0, 3), text=_texts),
    st.builds(
        BlockEnd,
        block=st.integers(0, 3),
        arguments_raw=st.none() | st.just("{}"),
        arguments=st.none() | st.just({}),
    ),
    st.builds(Usage, output_tokens=st.integers(0, 9)),
    st.sampled_from([RS, STOP, TOOL_STOP, PING]),
)
_event_lists = st.lists(_small_key_events | any_valid_event(), max_size=20)


@given(_event_lists)
def test_fold_is_idempotent(events: list[Event]) -> None:
    once = fold(events)
    assert fold(once) == once


@given(rechunked_pairs())
def test_fold_ignores_chunking_interleaving_usage_history_and_unknown_events(
    pair: tuple[list[Event], list[Event]],
) -> None:
    canonical, variant = pair
    assert fold(variant) == fold(canonical)


@given(rechunked_pairs())
def test_compare_never_fails_a_rechunked_sequence(pair: tuple[list[Event], list[Event]]) -> None:
    canonical, variant = pair
    for result in (compare(canonical, variant), compare(variant, canonical)):
        assert result.verdict in (Verdict.PASS, Verdict.PASS_NONSTRICT), render(result)


@given(_event_lists, _event_lists)
def test_compare_never_raises_and_reports_consistently(expected: list[Event], actual: list[Event]) -> None:
    result = compare(expected, actual)
    assert isinstance(render(result), str)
    assert compare(expected, expected).verdict is Verdict.PASS
    if result.verdict is Verdict.FAIL:
        assert result.divergence is not None
        assert result.diff
        folded = fold(expected)
        index = result.divergence.index
        assert result.divergence.expected == (folded[index] if index < len(folded) else None)
    else:
        assert result.divergence is None
        assert result.diff == ()
