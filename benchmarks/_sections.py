"""The sections of ``docs/benchmarks.md`` this module's siblings measure for the harness
(its overhead per event, the test suite's wall time), and how a run's sections are merged
with those of the previous file.  No I/O (the caller reads and writes the file).
"""

from __future__ import annotations

import os
import re
from typing import Any

from benchmarks import bench_harness

__all__ = ["HARNESS_GOAL", "SECTION_ORDER", "harness_section", "merge", "suite_section"]

#: The goal of the harness-overhead benchmark, as the file states it.
HARNESS_GOAL = f"the harness's own overhead <= {bench_harness.GOAL_US:g} µs per canonical event"


def _us(value: object, digits: int = 2) -> str:
    return f"{value:,.{digits}f}" if isinstance(value, int | float) else "—"


def _find(rows: list[dict[str, Any]], prefix: str) -> dict[str, Any] | None:
    return next((row for row in rows if str(row["name"]).startswith(prefix)), None)


def harness_section(rows: list[dict[str, Any]], events: int, measured: str) -> list[str]:
    """The "Harness overhead" section from :func:`benchmarks.bench_harness.run`'s rows
    (``events``: the synthetic response's size asked for; ``measured``: when and under
    what load it was measured)."""
    parts = {
        "a": f"a. driving: `run_stream` over one synthetic response of {events:,} events, "
        "one chunk per event",
        "b": "b. judging: `judge_case` (projection, compare, fold) against a parsed copy of the sequence",
        "c": "c. `execute()` with the reference adapter over the corpus, default chunkings "
        "(floor: the adapter alone over the same pre-cut chunks)",
    }
    out = [
        "## Harness overhead (per canonical event)",
        "",
        measured,
        "",
        "What the harness costs apart from the adapter: total, the floor (the same adapter "
        "consumed by a bare loop), and overhead = total - floor, in µs per canonical event; part c "
        "also per test. A pull is one chunk handed to the adapter.",
    ]
    for part, title in parts.items():
        chosen = [r for r in rows if r["part"] == part]
        if not chosen:
            continue
        out += [
            "",
            f"{title}:",
            "",
            "| what | events | tests | pulls | µs/event | floor µs/event | overhead µs/event "
            "| overhead µs/test |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        out += [
            f"| {r['name']} | {r['events']:,} | {_us(r['tests'], 0)} | {_us(r['pulls'], 0)} "
            f"| {_us(r['us_per_event'])} | {_us(r['floor_us_per_event'])} "
            f"| {_us(r['overhead_us_per_event'])} | {_us(r['overhead_us_per_test'], 0)} |"
            for r in chosen
        ]
    out += ["", *_harness_verdict(rows)]
    return out


def _harness_verdict(rows: list[dict[str, Any]]) -> list[str]:
    goal = bench_harness.GOAL_US

    def over(prefix: str) -> float | None:
        row = _find(rows, prefix)
        return None if row is None else float(row["overhead_us_per_event"])

    judge = over("judge_case: identical")
    lines = [f"Goal: {HARNESS_GOAL}."]
    if judge is not None:
        for label, prefix in (
            ("async adapter yielding event objects", "run_stream: async adapter, event objects"),
            ("sync adapter yielding event objects", "run_stream: sync adapter"),
            ("async adapter yielding JSON objects", "run_stream: async adapter, JSON"),
        ):
            drive = over(prefix)
            if drive is not None:
                total = drive + judge
                met = "met" if total <= goal else "MISSED"
                sum_text = f"driving {drive:.2f} + judging {judge:.2f} = {total:.2f} µs"
                lines.append(f"- Per event, {label}: {sum_text}: {met}.")
    drive, folded = over("run_stream: async adapter, event objects"), over("judge_case: every delta")
    if drive is not None and folded is not None:
        total = drive + folded
        lines.append(
            f"- Per event, async adapter whose deltas are cut unlike the expected ones (PASS_NONSTRICT, "
            f"judged on the folded view): {drive:.2f} + {folded:.2f} = {total:.2f} µs: "
            f"{'met' if total <= goal else 'MISSED'}."
        )
    whole = next((r for r in rows if r["part"] == "c" and r["name"].startswith("execute()")), None)
    if whole is not None:
        met = "met" if whole["overhead_us_per_event"] <= goal else "MISSED"
        per_event = whole["events"] / whole["tests"]
        lines.append(
            f"- Whole `execute()` over the corpus: {whole['overhead_us_per_event']:.1f} µs/event: {met}; "
            f"that is {whole['overhead_us_per_test']:,.0f} µs per test, and a test yields "
            f"{per_event:.1f} events on average, so fixed per-test costs dominate."
        )
        parts = [r for r in rows if r["part"] == "c" and r["name"].startswith("of which")]
        if parts:
            named = "; ".join(
                f"{r['name'].removeprefix('of which: ')} {r['overhead_us_per_test']:,.0f}" for r in parts
            )
            lines.append(f"  Of those µs per test: {named}.")
        bytewise, plain = _find(rows, "chunking bytewise"), _find(rows, "chunking whole")
        if bytewise is not None and plain is not None:
            extra_pulls = bytewise["pulls"] / bytewise["tests"] - plain["pulls"] / plain["tests"]
            extra_us = bytewise["overhead_us_per_test"] - plain["overhead_us_per_test"]
            per_event = bytewise["pulls"] / bytewise["events"]
            lines.append(
                f"  `bytewise` hands the adapter one byte per pull ({per_event:.0f} pulls per event): "
                f"{extra_us / extra_pulls:.2f} µs of harness per extra pull "
                "(its overhead per test minus `whole`'s, over the extra pulls)."
            )
    return lines


def suite_section(rows: list[dict[str, Any]], measured: str) -> list[str]:
    """The "Test suite wall time" section from :func:`benchmarks.suite_wall_time.run`'s rows."""
    out = [
        "## Test suite wall time",
        "",
        measured,
        "",
        f"Each command once, from the repository root, on {os.cpu_count()} cores; the 1-minute load "
        "average before and after each shows how busy the machine was (other work slows a run down).",
        "",
        "| command | wall s | CPU s (user+sys) | exit | tests | counts | load before → after |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        counts = ", ".join(f"{n} {k}" for k, n in r["counts"].items()) or "no summary line"
        out.append(
            f"| `{r['name']}` | {r['seconds']:,.1f} | {r['cpu_seconds']:,.1f} | {r['exit']} | {r['tests']:,} "
            f"| {counts} | {r['load_before']} → {r['load_after']} |"
        )
    return out


def _sections(text: str) -> dict[str, str]:
    """The ``## `` sections of a generated file, by heading key (the title before any ``(``)."""
    found: dict[str, str] = {}
    for chunk in re.split(r"^(?=## )", text, flags=re.MULTILINE)[1:]:
        found[_heading_key(chunk)] = chunk.rstrip("\n")
    return found


def _heading_key(section: str) -> str:
    return section.splitlines()[0].removeprefix("## ").split(" (", 1)[0].strip()


#: The order of the sections in the file, by heading key.
SECTION_ORDER = (
    "SSE framing",
    "AWS eventstream framing",
    "Reference decoders",
    "Harness overhead",
    "Test suite wall time",
)


def merge(new: list[list[str]], previous: str | None) -> tuple[list[str], list[str]]:
    """This run's sections plus those of ``previous`` (the old file) it did not measure, in
    :data:`SECTION_ORDER`; and the keys of the sections carried over."""
    sections = {_heading_key("\n".join(lines)): "\n".join(lines).rstrip("\n") for lines in new if lines}
    carried = []
    for key, text in _sections(previous or "").items():
        if key not in sections:
            sections[key] = text
            carried.append(key)
    order = {key: i for i, key in enumerate(SECTION_ORDER)}
    keys = sorted(sections, key=lambda k: order.get(k, len(order)))
    out: list[str] = []
    for key in keys:
        out += [sections[key], ""]
    return out, carried
