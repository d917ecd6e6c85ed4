"""The harness-overhead benchmark and the shortcuts it led to.

Smoke runs of ``benchmarks.bench_harness`` at a tiny size (rows well-formed, no timing
asserted), the rendering and carry-over of ``benchmarks.run``, the summary parsing of
``benchmarks.suite_wall_time``; and property tests pinning that the two fast paths added
for speed never change an answer: the compiled "certainly valid" check of JSON events
(``conformance.harness.contract``) and the "certainly identical" check of ``compare``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import _sections as sections
from benchmarks import bench_harness, suite_wall_time
from benchmarks import run as bench_run
from conformance.compare import Verdict, _certainly_identical, _keys, _strict, compare
from conformance.events import (
    EVENT_TYPES,
    BlockDelta,
    BlockStart,
    Event,
    FinishReason,
    Unknown,
    dumps,
    from_json,
    loads,
    to_json,
)
from conformance.harness.contract import canonical_events
from conformance.harness.fastcheck import _fast_checks
from conformance.harness.fastcheck import certainly_valid as _certainly_valid
from conformance.schemas import validate_event_json
from conformance.strategies import events as any_event

# -- the benchmark itself ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return bench_harness.run(events=2_000, repeats=1, sample=60)


def test_rows_cover_the_three_parts_with_well_formed_numbers(rows: list[dict[str, Any]]) -> None:
    assert {r["part"] for r in rows} == {"a", "b", "c"}
    for row in rows:
        assert isinstance(row["name"], str)
        assert row["name"]
        assert isinstance(row["events"], int)
        assert row["events"] > 0
        assert row["us_per_event"] >= 0
        assert row["floor_us_per_event"] is None or row["floor_us_per_event"] >= 0
        assert isinstance(row["overhead_us_per_event"], float)  # total - floor: may be noise-negative
        assert row["tests"] is None or row["tests"] > 0


def test_driving_rows_count_every_event_of_the_synthetic_response(rows: list[dict[str, Any]]) -> None:
    driving = [r for r in rows if r["part"] == "a"]
    assert [r["name"] for r in driving] == [
        "run_stream: async adapter, event objects",
        "run_stream: sync adapter (worker thread), event objects",
        "run_stream: async adapter, JSON objects (validated)",
    ]
    assert len({r["events"] for r in driving}) == 1
    assert all(r["events"] >= 2_000 and r["pulls"] == r["events"] + 1 for r in driving)


def test_corpus_rows_split_the_tests_by_chunking_and_none_fails(rows: list[dict[str, Any]]) -> None:
    corpus = [r for r in rows if r["part"] == "c"]
    whole = corpus[0]
    assert whole["name"].startswith("execute(), reference adapter")
    assert whole["failed"] == 0
    chunkings = [r for r in corpus if r["name"].startswith("chunking ")]
    assert sum(r["tests"] for r in chunkings) == whole["tests"]
    assert sum(r["events"] for r in chunkings) == whole["events"]
    assert [r["name"] for r in corpus if r["name"].startswith("of which")] == [
        "of which: reading and cutting the bodies",
        "of which: one asyncio.run per test",
        "of which: asyncio.run's repr of the returned result",
    ]


def test_harness_section_renders_every_row_and_a_goal_verdict(rows: list[dict[str, Any]]) -> None:
    text = "\n".join(sections.harness_section(rows, 2_000, "Measured from now."))
    assert text.startswith("## Harness overhead (per canonical event)\n\nMeasured from now.\n")
    for row in rows:
        assert f"| {row['name']} |" in text
    assert "Goal: the harness's own overhead <= 2 µs per canonical event." in text
    assert text.count("- Per event, ") == 4
    assert "- Whole `execute()` over the corpus:" in text


# -- benchmarks.run: sections carried over -----------------------------------------------------

_OLD = """# Benchmarks

- Date: then

## SSE framing (50 MB)

old sse

## Reference decoders (64 KiB chunks)

### openai/chat-completions

old codec

## Test suite wall time

old suite
"""


def test_merge_keeps_the_sections_not_measured_and_replaces_the_others() -> None:
    new_harness = ["## Harness overhead (per canonical event)", "", "new harness"]
    new_sse = ["## SSE framing (5 MB)", "", "new sse"]
    lines, carried = sections.merge([new_sse, [], new_harness], _OLD)
    text = "\n".join(lines)
    assert carried == ["Reference decoders", "Test suite wall time"]
    assert "new sse" in text
    assert "old sse" not in text
    assert text.index("## SSE framing") < text.index("## Reference decoders") < text.index("## Harness")
    assert text.index("## Harness") < text.index("## Test suite wall time")
    assert "### openai/chat-completions\n\nold codec" in text


def test_merge_without_a_previous_file_carries_nothing() -> None:
    lines, carried = sections.merge([["## Harness overhead", "", "x"]], None)
    assert carried == []
    assert lines == ["## Harness overhead\n\nx", ""]


def test_an_unknown_part_is_a_usage_error_listing_the_valid_ones(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        bench_run.main(["--only", "nonsense", "--out", "-"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "'nonsense'" in err
    assert "valid: " in err
    assert "framing" in err
    assert "harness" in err


# -- benchmarks.suite_wall_time ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "counts"),
    [
        ("....\n12 passed, 3 skipped, 1 xfailed in 4.50s\n", {"passed": 12, "skipped": 3, "xfailed": 1}),
        (
            "x\n==== 1 failed, 2 passed, 1 warning, 2 errors in 0.12s (0:00:00) ====\n",
            {"failed": 1, "passed": 2, "warnings": 1, "errors": 2},
        ),
        ("no summary here\n", {}),
    ],
)
def test_parse_counts_reads_pytests_last_summary_line(output: str, counts: dict[str, int]) -> None:
    assert suite_wall_time.parse_counts(output) == counts


def test_suite_section_renders_one_row_per_command() -> None:
    row = {
        "name": "python -m pytest",
        "seconds": 190.0,
        "cpu_seconds": 181.9,
        "exit": 0,
        "tests": 12,
        "counts": {"passed": 10, "skipped": 2},
        "load_before": 1.0,
        "load_after": 1.1,
    }
    text = "\n".join(sections.suite_section([row], "Measured from now."))
    assert text.startswith("## Test suite wall time\n\nMeasured from now.\n")
    assert "| `python -m pytest` | 190.0 | 181.9 | 0 | 12 | 10 passed, 2 skipped | 1.0 → 1.1 |" in text


def test_suite_commands_are_the_readme_commands() -> None:
    labels = [label for label, _ in suite_wall_time.commands("/tmp/x")]
    assert labels == ["python -m pytest", "python -m pytest -n 2", "conformance run"]
    argv = dict(suite_wall_time.commands("/tmp/x"))
    assert argv["python -m pytest -n 2"][-2:] == ["-n", "2"]
    assert argv["conformance run"][-3:] == ["run", "--report-dir", "/tmp/x"]


# -- the compiled "certainly valid" check never accepts what the schema rejects ----------------

_NAMES = sorted({"type", "extra"} | {f.name for cls in EVENT_TYPES.values() for f in dataclasses.fields(cls)})
_TRICKY: list[Any] = [
    -1,
    0,
    3,
    True,
    False,
    1.0,
    0.5,
    None,
    "",
    "text",
    "tool_call",
    "x-acme.thing",
    "x-",
    "x-bad name",
    "x-trailing\n",
    "stop",
    "mid_stream",
    "rate_limit",
    "consumer_cancel",
    FinishReason.STOP,
    [],
    [1],
    {},
    {"input_tokens": 1},
    {"input_tokens": -1},
    {"input_tokens": True},
    {"other": 1},
]


@st.composite
def json_events(draw: st.DrawFn) -> dict[Any, Any]:
    """Event-like JSON objects, mostly near-valid: a real type and real field names with
    values of the wrong type, out of range, or right."""
    obj: dict[Any, Any] = {"type": draw(st.sampled_from([*EVENT_TYPES, "block.other", 1]))}
    keys = draw(st.lists(st.sampled_from(_NAMES), max_size=6, unique=True))
    for key in keys:
        obj[key] = draw(st.sampled_from(_TRICKY) | st.integers() | st.text(max_size=4))
    if draw(st.booleans()):
        obj.pop("type", None)
    return obj


@given(json_events())
def test_certainly_valid_implies_the_schema_accepts(obj: dict[Any, Any]) -> None:
    if _certainly_valid(obj):
        assert validate_event_json(obj) == []


@given(any_event())
def test_valid_events_take_the_fast_path_and_come_out_as_from_json_makes_them(event: Event) -> None:
    obj = to_json(event)
    if validate_event_json(obj) == []:
        assert _certainly_valid(obj)
        assert canonical_events(obj, 0) == [from_json(obj)]


@given(json_events())
def test_the_block_delta_shortcut_accepts_only_what_the_schema_accepts(obj: dict[Any, Any]) -> None:
    from conformance.harness.contract import _delta

    built = _delta(obj)
    if built is not None:
        assert validate_event_json(obj) == []
        assert built == from_json(obj)


def test_every_event_type_has_a_compiled_check() -> None:
    assert set(_fast_checks()) == set(EVENT_TYPES)


def test_a_bad_json_event_still_gets_the_schema_message_and_path() -> None:
    from conformance.errors import EventError

    with pytest.raises(EventError) as raised:
        canonical_events({"type": "block.delta", "block": True, "text": "x"}, 7)
    assert raised.value.path == "$.output[7].block"


# -- compare's "certainly identical" check never says yes when the canonical JSON differs ------


_SWAPS: list[Any] = [True, 1, 1.0, 0.0, -0.0, "1", None, [1], (1,), {"a": 1}, {"a": True}, FinishReason.STOP]


@st.composite
def twisted(draw: st.DrawFn, event: Event) -> Event:
    """``event``, the same object, a parsed copy, or a copy with one field swapped for a
    value that compares equal in Python but not as JSON (or not at all)."""
    how = draw(st.sampled_from(["same", "copy", "swap"]))
    if how == "same":
        return event
    if how == "copy":
        return loads(dumps(event))
    name = draw(st.sampled_from([f.name for f in dataclasses.fields(event)]))
    return dataclasses.replace(event, **{name: draw(st.sampled_from(_SWAPS))})


@st.composite
def sequence_pairs(draw: st.DrawFn) -> tuple[list[Event], list[Event]]:
    first = draw(st.lists(any_event(), max_size=6))
    second = [draw(twisted(e)) for e in first]
    if draw(st.booleans()):
        second.insert(draw(st.integers(0, len(second))), Unknown(vendor_type="ping"))
    return first, second


@given(sequence_pairs())
def test_certainly_identical_implies_equal_strict_keys(pair: tuple[list[Event], list[Event]]) -> None:
    expected, actual = pair
    if _certainly_identical(expected, actual):
        assert _keys(_strict(expected)) == _keys(_strict(actual))


@given(st.lists(any_event(), max_size=8))
def test_a_parsed_copy_is_certainly_identical_and_passes(events: list[Event]) -> None:
    copy = [loads(dumps(e)) for e in events]
    assert _certainly_identical(events, copy)
    assert compare(events, copy).verdict is Verdict.PASS


def test_block_keys_renumbered_alike_are_identical_and_a_bool_key_is_left_to_the_keys() -> None:
    ours: list[Event] = [BlockStart(block=5, kind="text"), BlockDelta(block=5, text="hi")]
    theirs: list[Event] = [BlockStart(block=0, kind="text"), BlockDelta(block=0, text="hi")]
    assert _certainly_identical(ours, theirs)
    assert not _certainly_identical(ours, [BlockStart(block=True, kind="text"), theirs[1]])
    assert not _certainly_identical([BlockDelta(block=0, text="1")], [BlockDelta(block=0, text="2")])
