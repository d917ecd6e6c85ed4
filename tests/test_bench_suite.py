"""The benchmark suite's own logic: cancel latency statistics, the lazy 1 GB stream and the
flatness judgement, the suite-growth corpora and line fit, the sections they render, and
``benchmarks.run``'s wiring of the parts.

No timing is asserted anywhere: the smoke runs (a few cancels over loopback sockets, a
2 MB stream in child processes) check that rows are well formed and add up.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from benchmarks import _sections as sections
from benchmarks import bench_cancel, bench_memory, suite_wall_time
from benchmarks import run as bench_run
from conformance.cassettes import CASSETTES_ROOT, load_case
from conformance.harness.run import CancelMode

# -- bench_cancel: percentiles and summaries ---------------------------------------------------


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        (list(range(1, 101)), 50, 50),
        (list(range(1, 101)), 90, 90),
        (list(range(1, 101)), 99, 99),
        (list(range(1, 101)), 100, 100),
        (list(range(1, 1001)), 99, 990),  # rank ceil(0.99 * 1000) = 990
        ([1.0, 2.0, 3.0], 50, 2.0),  # rank ceil(1.5) = 2
        ([1.0, 2.0, 3.0], 99, 3.0),
        ([7.5], 1, 7.5),
    ],
)
def test_percentile_is_nearest_rank(values: list[float], q: float, expected: float) -> None:
    assert bench_cancel.percentile(values, q) == expected


@pytest.mark.parametrize("q", [0, -1, 100.5])
def test_percentile_outside_0_100_is_refused(q: float) -> None:
    with pytest.raises(ValueError, match="not in"):
        bench_cancel.percentile([1.0], q)


def test_percentile_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="no values"):
        bench_cancel.percentile([], 50)


def test_summarize_turns_seconds_into_millisecond_statistics() -> None:
    summary = bench_cancel.summarize([0.004, 0.001, 0.003, 0.002])
    assert summary == bench_cancel.Summary(count=4, median_ms=2.5, p90_ms=4.0, p99_ms=4.0, max_ms=4.0)
    assert bench_cancel.summarize([]) is None


@pytest.mark.parametrize(("events", "after"), [(0, 1), (1, 1), (3, 1), (5, 2), (8, 4), (133, 4)])
def test_cancel_point_is_half_the_events_capped_and_at_least_one(events: int, after: int) -> None:
    assert bench_cancel.cancel_point(events) == after


def test_the_benchmark_covers_every_cancel_mode_of_the_harness() -> None:
    assert set(bench_cancel.MODES) == {mode.value for mode in CancelMode}
    assert set(bench_cancel.MODE_LABELS) == set(bench_cancel.MODES)


# -- bench_cancel: a smoke run over real loopback sockets ---------------------------------------


@pytest.fixture(scope="module")
def cancel_rows() -> list[dict[str, Any]]:
    pytest.importorskip("httpx")
    pytest.importorskip("aiohttp")
    return bench_cancel.run(cancels=3, modes=("close", "task"))


def test_cancel_rows_account_for_every_cancel(cancel_rows: list[dict[str, Any]]) -> None:
    assert [(r["adapter"], r["mode"]) for r in cancel_rows] == [
        ("httpx", "close"),
        ("httpx", "task"),
        ("aiohttp", "close"),
        ("aiohttp", "task"),
        ("floor: asyncio + h11", "close"),
        ("floor: asyncio + h11", "task"),
    ]
    for row in cancel_rows:
        assert row["cancels"] == 3
        assert row["measured"] + row["not_landed"] + row["leaked"] + row["wrong"] == 3
        assert row["leaked"] == 0, row["problem"]
        assert row["wrong"] == 0, row["problem"]
        if row["measured"]:
            assert 0 <= row["median_ms"] <= row["p90_ms"] <= row["p99_ms"] <= row["max_ms"]


def test_cancel_cases_are_one_per_api_and_long_where_possible() -> None:
    from conformance.registry import api_ids

    cases = bench_cancel.cases()
    assert [c.rsplit("/", 1)[0] for c in cases] == api_ids()
    assert "openai/chat-completions/synthetic-long-text" in cases


# -- the cancel section ---------------------------------------------------------------------------


def _cancel_row(adapter: str, mode: str, p99: float | None, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "adapter": adapter,
        "mode": mode,
        "cancels": 1000,
        "measured": 1000 if p99 is not None else 0,
        "not_landed": 0,
        "leaked": 0,
        "wrong": 0,
        "median_ms": None if p99 is None else 0.2,
        "p90_ms": None if p99 is None else 0.4,
        "p99_ms": p99,
        "max_ms": None if p99 is None else 9.0,
        "seconds": 10.0,
        "problem": None,
    }
    row.update(extra)
    return row


def test_cancel_section_renders_each_row_against_the_5_ms_p99_goal() -> None:
    rows = [
        _cancel_row("httpx", "close", 1.5),
        _cancel_row("httpx", "task", 6.25),
        _cancel_row("aiohttp", "signal", 0.5, leaked=1, measured=999, problem="stayed\nopen"),
        {"adapter": "aiohttp2", "mode": None, "missing": "aiohttp2"},
    ]
    text = "\n".join(sections.cancel_section(rows, ["a/b/c"], 2.0, "Measured from now."))
    assert text.startswith(
        "## Cancel-to-disconnect latency (loopback, 1,000 cancels per row)\n\nMeasured from now."
    )
    assert (
        "| httpx | close (break + aclose) | 1,000 | 1,000 | 0.200 | 0.400 | 1.500 | 9.000 | 0 | 0 | met |"
        in text
    )
    assert (
        "| httpx | task cancellation | 1,000 | 1,000 | 0.200 | 0.400 | 6.250 | 9.000 | 0 | 0 | MISSED |"
        in text
    )
    assert (
        "| aiohttp | signal (request.cancel) | 1,000 | 999 | 0.200 | 0.400 | 0.500 | 9.000 | 0 | 1 | MISSED |"
        in text
    )
    assert "| aiohttp2 | — |" in text
    assert "aiohttp2 not installed" in text
    assert "`a/b/c`" in text
    assert "2 ms between writes" in text
    assert "Result: MISSED by 2 of 3 rows: httpx / task (p99 6.250 ms); aiohttp / signal (1 leaked)." in text
    assert "- aiohttp / signal, first problem: stayed open" in text


def test_cancel_section_all_met_names_the_highest_p99() -> None:
    rows = [_cancel_row("httpx", "close", 1.5), _cancel_row("aiohttp", "task", 4.9)]
    text = "\n".join(sections.cancel_section(rows, [], 2.0, "M."))
    assert "Result: met by every adapter and mode (highest p99: aiohttp / task, 4.900 ms)." in text


# -- bench_memory: the lazy stream --------------------------------------------------------------


def test_periodic_parts_recompose_every_encoding() -> None:
    head, unit, tail = b"<start>", b"[unit]", b"<end>"
    one, two, three = (head + unit * n + tail for n in (1, 2, 3))
    found = bench_memory.periodic_parts(one, two, three)
    for n, body in ((1, one), (2, two), (3, three), (7, head + unit * 7 + tail)):
        assert found[0] + found[1] * n + found[2] == body
    assert len(found[1]) == len(unit)


@pytest.mark.parametrize(
    ("one", "two", "three"),
    [
        (b"ab", b"ab", b"ab"),  # no growth
        (b"a", b"aXY", b"aXYZ"),  # uneven growth
        (b"h1t", b"h22t", b"h333t"),  # even growth, but not by one repeated unit
    ],
)
def test_periodic_parts_refuses_what_is_not_head_unit_tail(one: bytes, two: bytes, three: bytes) -> None:
    with pytest.raises(ValueError, match="encodings"):
        bench_memory.periodic_parts(one, two, three)


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 7, 64])
@pytest.mark.parametrize("repeats", [0, 1, 4, 9])
def test_lazy_chunks_are_the_body_cut_into_chunks(chunk_size: int, repeats: int) -> None:
    head, unit, tail = b"HEAD:", b"abc", b":TAIL!"
    chunks = bench_memory.LazyChunks(head, unit, repeats, tail, chunk_size)
    body = head + unit * repeats + tail
    assert chunks.size == len(body)
    assert b"".join(chunks) == body
    assert all(0 < len(c) <= chunk_size for c in chunks)
    assert len(chunks) == len(list(chunks))
    assert chunks[-1] == list(chunks)[-1]
    assert chunks[1:3] == list(chunks)[1:3]


def test_lazy_chunks_index_out_of_range_and_bad_shapes() -> None:
    chunks = bench_memory.LazyChunks(b"h", b"u", 2, b"t", 2)
    assert len(chunks) == 3  # "h", "uu", "t"
    with pytest.raises(IndexError):
        chunks[3]
    with pytest.raises(IndexError):
        chunks[-4]
    with pytest.raises(ValueError, match="non-empty unit"):
        bench_memory.LazyChunks(b"h", b"", 2, b"t", 2)


def test_the_stream_of_a_size_is_an_openai_chat_body_the_decoder_reads_to_the_end() -> None:
    from conformance.events import BlockDelta, Finish
    from conformance.registry import get_codec

    chunks = bench_memory.stream_of(20_000, chunk_size=4096)
    assert chunks.size >= 20_000
    decoder = get_codec(bench_memory.API).new_decoder()
    events = [e for c in chunks for e in decoder.feed(c)] + decoder.close()
    assert isinstance(events[-1], Finish)
    deltas = [e for e in events if isinstance(e, BlockDelta)]
    assert len(deltas) == chunks.repeats


# -- bench_memory: flatness -----------------------------------------------------------------------


def test_judge_flat_within_both_tolerances() -> None:
    flat = bench_memory.judge_flat([30_000_000, 30_100_000, 31_000_000], [500_000, 500_100, 600_000])
    assert flat == bench_memory.Flatness(rss_growth=1_000_000, traced_growth=100_000, flat=True)


@pytest.mark.parametrize(
    ("rss", "traced"),
    [
        ([30_000_000, 34_000_001], [500_000, 500_000]),  # RSS grew past 4 MB
        ([30_000_000, 30_000_000], [500_000, 1_500_001]),  # traced grew past 1 MB
    ],
)
def test_judge_flat_says_not_flat_past_a_tolerance(rss: list[int], traced: list[int]) -> None:
    assert not bench_memory.judge_flat(rss, traced).flat


def test_judge_flat_needs_two_samples() -> None:
    with pytest.raises(ValueError, match="two samples"):
        bench_memory.judge_flat([1], [1, 2])


def test_memory_smoke_run_samples_four_checkpoints_per_path() -> None:
    results = bench_memory.run(gb=0.002)
    assert [r["path"] for r in results] == ["decoder", "driver"]
    for r in results:
        assert r["fed"] == r["size"] >= 2_000_000
        assert r["checkpoints"][-1] == r["size"]
        assert len(r["checkpoints"]) == len(r["vm_hwm"]) == len(r["traced_peak"]) == 4
        assert r["checkpoints"] == sorted(r["checkpoints"])
        assert r["vm_hwm"] == sorted(r["vm_hwm"])  # a high-water mark never falls
    assert results[1]["events"] == 2  # the counting adapter: response.start and finish
    assert results[0]["events"] > 1_000


def test_memory_section_renders_a_column_per_checkpoint_and_a_verdict_per_path() -> None:
    result = {
        "path": "decoder",
        "size": 1_000_000_101,
        "chunks": 15_261,
        "events": 3_700_000,
        "fed": 1_000_000_101,
        "baseline_vm_hwm": 31_000_000,
        "checkpoints": [125_000_000, 250_000_000, 500_000_000, 1_000_000_101],
        "vm_hwm": [32_000_000, 32_000_000, 32_100_000, 32_100_000],
        "traced_peak": [565_300, 565_300, 565_400, 565_500],
        "seconds": 35.0,
        "flatness": bench_memory.judge_flat([32_000_000, 32_100_000], [565_300, 565_500]),
    }
    grown = {**result, "path": "driver", "flatness": bench_memory.Flatness(9_000_000, 0, False)}
    text = "\n".join(sections.memory_section([result, grown], "Measured from now."))
    assert text.startswith("## Peak memory (replaying a 1 GB stream)\n\nMeasured from now.")
    assert "| path | peak | 125 MB | 250 MB | 500 MB | 1,000 MB | growth |" in text
    assert (
        "| reference decoder (openai/chat-completions) | RSS (VmHWM) | 32.00 MB | 32.00 MB | 32.10 MB "
        "| 32.10 MB | +100.0 kB |" in text
    )
    assert (
        "| reference decoder (openai/chat-completions) | tracemalloc | 565.3 kB | 565.3 kB | 565.4 kB "
        "| 565.5 kB | +200 B |" in text
    )
    assert "3,700,000 canonical events" in text
    assert "- reference decoder (openai/chat-completions): flat: met" in text
    assert "- `run_stream` + counting adapter: NOT flat: MISSED" in text


# -- suite_wall_time: growth corpora, commands and the line fit ------------------------------------


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    for case_id in ("openai/chat-completions/synthetic-text", "anthropic/messages/synthetic-text"):
        shutil.copytree(CASSETTES_ROOT / case_id, source / case_id)
    return source


def test_make_corpus_copies_every_case_under_renamed_ids(tiny_corpus: Path, tmp_path: Path) -> None:
    dest = tmp_path / "x3"
    assert suite_wall_time.make_corpus(tiny_corpus, dest, 3) == 6
    ids = sorted(load_case(p.parent).id for p in dest.rglob("case.json"))
    assert ids == [
        "anthropic/messages/synthetic-text",
        "anthropic/messages/synthetic-text-x1",
        "anthropic/messages/synthetic-text-x2",
        "openai/chat-completions/synthetic-text",
        "openai/chat-completions/synthetic-text-x1",
        "openai/chat-completions/synthetic-text-x2",
    ]
    original = CASSETTES_ROOT / "openai/chat-completions/synthetic-text/stream.sse"
    assert (
        dest / "openai/chat-completions/synthetic-text-x2/stream.sse"
    ).read_bytes() == original.read_bytes()


def test_make_corpus_samples_every_nth_case(tiny_corpus: Path, tmp_path: Path) -> None:
    assert suite_wall_time.make_corpus(tiny_corpus, tmp_path / "half", 2, sample=2) == 2
    assert [p.parent.name for p in sorted((tmp_path / "half").rglob("case.json"))] == [
        "synthetic-text",
        "synthetic-text-x1",
    ]
    with pytest.raises(ValueError, match=">= 1"):
        suite_wall_time.make_corpus(tiny_corpus, tmp_path / "none", 0)


def test_growth_command_passes_the_workers_to_pytest_after_a_double_dash() -> None:
    none = suite_wall_time.growth_command(Path("/c"), "/r", 0)
    two = suite_wall_time.growth_command(Path("/c"), "/r", 2)
    assert none[-5:] == ["run", "--cases", "/c", "--report-dir", "/r"]
    assert two == [*none, "--", "-n", "2"]


def test_fit_line_finds_the_fixed_cost_and_the_slope() -> None:
    assert suite_wall_time.fit_line([(1, 3), (2, 5), (4, 9)]) == pytest.approx((1.0, 2.0))
    assert suite_wall_time.fit_line([(0, 0), (2, 2), (2, 4)]) == pytest.approx((0.0, 1.5))
    with pytest.raises(ValueError, match="two different x"):
        suite_wall_time.fit_line([(1, 1), (1, 2)])


def _growth_row(factor: int, workers: int, seconds: float) -> dict[str, Any]:
    return {
        "name": f"{274 * factor} cases, {workers} workers",
        "factor": factor,
        "cases": 274 * factor,
        "workers": workers,
        "seconds": seconds,
        "cpu_seconds": seconds,
        "exit": 0,
        "tests": 3446 * factor,
        "counts": {"passed": 3446 * factor},
        "load_before": 1.0,
        "load_after": 1.5,
    }


def test_suite_growth_section_renders_each_run_the_fits_and_the_speedups() -> None:
    rows = [
        _growth_row(1, 0, 15.0),
        _growth_row(2, 0, 25.0),
        _growth_row(4, 0, 45.0),
        _growth_row(1, 2, 12.0),
        _growth_row(4, 2, 27.0),
        {"factor": 4, "cases": 1096, "workers": 1, "missing": "pytest-xdist"},
    ]
    text = "\n".join(sections.suite_growth_section(rows, "Measured from now."))
    assert text.startswith("## Test suite wall time growth (cases x xdist workers)\n\nMeasured from now.")
    assert "| 4 | 1,096 | 0 | 13,784 | 45.0 | 45.0 | 0 | 1.0 → 1.5 |" in text
    assert "| 4 | 1,096 | 1 | — | — | — | — | pytest-xdist not installed |" in text
    # 0 workers: 15, 25, 45 s at 274, 548, 1096 cases: 5 s + 36.5 ms per case
    assert "- 0 workers: wall ≈ 5.0 s + 36.5 ms per case (least squares over the corpora)." in text
    assert "- 1,096 cases: 2 workers take 0.60x the wall time of no xdist." in text
    assert "over corpora of 1, 2 and 4 copies" in text
    assert "with 0, 1 and 2 pytest-xdist workers" in text


def test_suite_growth_section_says_a_falling_time_per_case_with_a_minus_sign() -> None:
    rows = [_growth_row(1, 1, 20.0), _growth_row(2, 1, 19.0)]
    text = "\n".join(sections.suite_growth_section(rows, "M."))
    # 20 s at 274 cases, 19 s at 548: 21 s - 3.6 ms per case
    assert "- 1 worker: wall ≈ 21.0 s - 3.6 ms per case (least squares over the corpora)." in text


# -- benchmarks.run: the parts and the file ------------------------------------------------------


def test_every_part_is_valid_for_only_and_the_slow_ones_are_not_run_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []

    def fake_cancel_run(cancels: int) -> list[dict[str, Any]]:
        calls.append(f"cancel {cancels}")
        return [_cancel_row("httpx", "close", 1.0)]

    monkeypatch.setattr(bench_cancel, "run", fake_cancel_run)
    monkeypatch.setattr(bench_cancel, "cases", lambda: ["a/b/c"])
    previous = "# Benchmarks\n\n## Test suite wall time growth (cases x xdist workers)\n\nold growth\n"
    text = bench_run.render(True, {"cancel"}, previous=previous)
    assert calls == ["cancel 50"]  # quick mode: 50 cancels per adapter and mode
    assert "## Cancel-to-disconnect latency (loopback, 1,000 cancels per row)" in text  # as the rows say
    assert text.index("## Cancel-to-disconnect") < text.index("## Test suite wall time growth")
    assert "old growth" in text
    carried = "Carried over unchanged from the previous file (not measured in this run): "
    assert carried + "Test suite wall time growth" in text
    for part in ("cancel", "memory", "suite", "suite-growth"):
        assert part in bench_run.PARTS + bench_run.SLOW_PARTS
    assert not set(bench_run.SLOW_PARTS) & set(bench_run.PARTS)


def test_merge_orders_the_new_sections_after_the_harness_and_before_the_suite() -> None:
    new = [
        ["## Test suite wall time growth (x)", "", "g"],
        ["## Peak memory (1 GB)", "", "m"],
        ["## Test suite wall time", "", "s"],
        ["## Cancel-to-disconnect latency (y)", "", "c"],
        ["## Harness overhead", "", "h"],
    ]
    lines, carried = sections.merge(new, None)
    headings = [line.split("\n", 1)[0] for line in lines if line]
    assert headings == [
        "## Harness overhead",
        "## Cancel-to-disconnect latency (y)",
        "## Peak memory (1 GB)",
        "## Test suite wall time",
        "## Test suite wall time growth (x)",
    ]
    assert carried == []
