"""The sections of ``docs/benchmarks.md`` this module's siblings measure for the harness
(its overhead per event, cancel-to-disconnect latency, peak memory, the test suite's wall
time), and how a run's sections are merged with those of the previous file.  No I/O (the
caller reads and writes the file).
"""

from __future__ import annotations

import math
import os
import re
from typing import Any

from benchmarks import bench_cancel, bench_harness, bench_memory, suite_wall_time

__all__ = [
    "CANCEL_GOAL",
    "HARNESS_GOAL",
    "MEMORY_GOAL",
    "SECTION_ORDER",
    "cancel_section",
    "harness_section",
    "memory_section",
    "merge",
    "suite_growth_section",
    "suite_section",
]

#: The goal of the harness-overhead benchmark, as the file states it.
HARNESS_GOAL = f"the harness's own overhead <= {bench_harness.GOAL_US:g} µs per canonical event"
#: The goal of the cancel-latency benchmark, as the file states it.
CANCEL_GOAL = (
    f"the server sees the client's disconnect <= {bench_cancel.GOAL_MS:g} ms after the cancel, at p99, "
    "with no leaked connection"
)


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
                if met == "MISSED" and "JSON" in label:
                    lines.append(
                        "  What limits it: every JSON object is read and an event built from it (a plain "
                        "`block.delta` through a shortcut that builds it at once; the other events, ~5% "
                        "here, through the compiled schema check and `from_json`), where an adapter "
                        "yielding event objects hands over finished ones."
                    )
    drive, folded = over("run_stream: async adapter, event objects"), over("judge_case: every delta")
    if drive is not None and folded is not None:
        total = drive + folded
        lines.append(
            f"- Per event, async adapter whose deltas are cut unlike the expected ones (PASS_NONSTRICT, "
            f"judged on the folded view): {drive:.2f} + {folded:.2f} = {total:.2f} µs: "
            f"{'met' if total <= goal else 'MISSED'}."
        )
        if total > goal:
            lines.append(
                "  What limits it: the 'certainly identical' check fails, so both sides are folded (every "
                "block's deltas joined), compared as canonical JSON, and notes are made of how they differ; "
                "only tests that pass non-strictly (or fail) take this path."
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


#: The goal of the peak-memory benchmark, as the file states it.
MEMORY_GOAL = (
    "flat: the peak does not grow with the bytes fed (from the first sample to the last, 8x the bytes, "
    f"the RSS peak grows by <= {bench_memory.RSS_TOLERANCE / 1e6:g} MB and the tracemalloc peak by "
    f"<= {bench_memory.TRACED_TOLERANCE / 1e6:g} MB)"
)


def _cancel_met(row: dict[str, Any]) -> bool:
    p99 = row.get("p99_ms")
    return (
        isinstance(p99, int | float)
        and p99 <= bench_cancel.GOAL_MS
        and not row["leaked"]
        and not row["wrong"]
    )


def cancel_section(rows: list[dict[str, Any]], cases: list[str], delay_ms: float, measured: str) -> list[str]:
    """The "Cancel-to-disconnect latency" section from :func:`benchmarks.bench_cancel.run`'s
    rows (``cases``: the case ids cycled over; ``delay_ms``: the server's pause between writes)."""
    counts = sorted({r["cancels"] for r in rows if not r.get("missing")})
    per_row = " or ".join(f"{n:,}" for n in counts) or "no"
    out = [
        f"## Cancel-to-disconnect latency (loopback, {per_row} cancels per row)",
        "",
        measured,
        "",
        "From the consumer's cancel to the loopback server seeing the client's disconnect (its "
        "`ConnectionRecord.client_closed_at`), through the plugin's own HTTP path (`run_http` against "
        f"the in-process `LoopbackServer`), the body served one frame per write with {delay_ms:g} ms "
        "between writes, one cancel after another. The cases cycled over, one per API: "
        + ", ".join(f"`{c}`" for c in cases)
        + ". Modes: `close` breaks out and closes the adapter's iterator; `task` cancels the consuming "
        "task; `timeout` lets an `asyncio.timeout` expire; `signal` sets `request.cancel` and keeps "
        "reading, so the adapter stops at its next chunk (up to one pause later). The floor is a bare "
        "client (`asyncio.open_connection` and h11, no pool or client object): what latency it still shows "
        "is the path's, not an adapter's (the harness, the server thread, which shares the GIL with the "
        "client, and the kernel). Percentiles are "
        "nearest-rank; 'not landed' = a task or timeout cancel the adapter never saw (it ended the "
        "stream from its buffer); 'leaked' = no disconnect within the bound, or only once the body was "
        "complete.",
        "",
        "| adapter | cancel mode | cancels | measured | median ms | p90 ms | p99 ms | max ms "
        "| not landed | leaked | goal |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if r.get("missing"):
            out.append(
                f"| {r['adapter']} | — | — | — | — | — | — | — | — | — | {r['missing']} not installed |"
            )
            continue
        label = bench_cancel.MODE_LABELS.get(r["mode"], r["mode"])
        out.append(
            f"| {r['adapter']} | {label} | {r['cancels']:,} | {r['measured']:,} | {_us(r['median_ms'], 3)} "
            f"| {_us(r['p90_ms'], 3)} | {_us(r['p99_ms'], 3)} | {_us(r['max_ms'], 3)} | {r['not_landed']:,} "
            f"| {r['leaked']:,} | {'met' if _cancel_met(r) else 'MISSED'} |"
        )
    out += ["", *_cancel_verdict(rows)]
    return out


def _cancel_verdict(rows: list[dict[str, Any]]) -> list[str]:
    measured = [r for r in rows if not r.get("missing")]
    lines = [f"Goal: {CANCEL_GOAL}."]
    if not measured:
        return [*lines, "Result: nothing measured (neither example adapter's HTTP library is installed)."]
    missed = [r for r in measured if not _cancel_met(r)]
    worst = max(measured, key=lambda r: r["p99_ms"] if isinstance(r["p99_ms"], int | float) else math.inf)
    worst_text = f"{worst['adapter']} / {worst['mode']}, {_us(worst['p99_ms'], 3)} ms"
    if not missed:
        lines.append(f"Result: met by every adapter and mode (highest p99: {worst_text}).")
    else:
        named = "; ".join(_why_missed(r) for r in missed)
        lines.append(f"Result: MISSED by {len(missed)} of {len(measured)} rows: {named}.")
    problems = [r for r in measured if r.get("problem")]
    for r in problems:
        lines.append(f"- {r['adapter']} / {r['mode']}, first problem: {r['problem']}".replace("\n", " "))
    return lines


def _why_missed(row: dict[str, Any]) -> str:
    reasons = []
    p99 = row.get("p99_ms")
    if not isinstance(p99, int | float):
        reasons.append("no latency measured")
    elif p99 > bench_cancel.GOAL_MS:
        reasons.append(f"p99 {p99:.3f} ms")
    if row["leaked"]:
        reasons.append(f"{row['leaked']} leaked")
    if row["wrong"]:
        reasons.append(f"{row['wrong']} ended otherwise than in an abort")
    return f"{row['adapter']} / {row['mode']} ({', '.join(reasons)})"


#: What the memory table calls each path.
MEMORY_PATHS: dict[str, str] = {
    "decoder": "reference decoder (openai/chat-completions)",
    "driver": "`run_stream` + counting adapter",
}


def _size(n: float, signed: bool = False) -> str:
    """Bytes as B, kB or MB (10**3, 10**6), optionally with a sign."""
    sign = ("+" if n >= 0 else "-") if signed else ("-" if n < 0 else "")
    n = abs(n)
    if n < 1000:
        return f"{sign}{n:,.0f} B"
    if n < 1_000_000:
        return f"{sign}{n / 1000:,.1f} kB"
    return f"{sign}{n / 1e6:,.2f} MB"


def memory_section(results: list[dict[str, Any]], measured: str) -> list[str]:
    """The "Peak memory" section from :func:`benchmarks.bench_memory.run`'s results."""
    if not results:
        return []
    first = results[0]
    gb = first["size"] / bench_memory.GB
    out = [
        f"## Peak memory (replaying a {gb:.3g} GB stream)",
        "",
        measured,
        "",
        f"One OpenAI Chat Completions response of {first['size']:,} bytes (one text block of identical "
        f"deltas, {_count(results, 'decoder')} canonical events), generated lazily in "
        f"{bench_memory.CHUNK_SIZE:,}-byte chunks ({first['chunks']:,} of them) and never held whole. "
        "Each path runs in a child process of its own, twice: untraced for the peak resident set size "
        "(`VmHWM`), and with `tracemalloc` for the peak of Python allocations. The reference decoder's "
        "events are counted and dropped; the counting adapter under `run_stream` reads every chunk and "
        "yields two events (the harness keeps every event an adapter yields, to judge them, so its memory "
        "grows with events by design; this measures what it does per byte). Peaks at each share of the "
        "bytes fed:",
        "",
        "| path | peak | " + " | ".join(f"{at / 1e6:,.0f} MB" for at in first["checkpoints"]) + " | growth |",
        "|---|---|" + "---:|" * (len(first["checkpoints"]) + 1),
    ]
    for r in results:
        name = MEMORY_PATHS.get(r["path"], r["path"])
        flat = r["flatness"]
        out.append(
            f"| {name} | RSS (VmHWM) | "
            + " | ".join(_size(v) for v in r["vm_hwm"])
            + f" | {_size(flat.rss_growth, signed=True)} |"
        )
        out.append(
            f"| {name} | tracemalloc | "
            + " | ".join(_size(v) for v in r["traced_peak"])
            + f" | {_size(flat.traced_growth, signed=True)} |"
        )
    out += ["", f"Goal: {MEMORY_GOAL}."]
    for r in results:
        name = MEMORY_PATHS.get(r["path"], r["path"])
        flat = r["flatness"]
        before = _size(r["baseline_vm_hwm"])
        seconds = f"; {r['seconds']:,.1f} s untraced" if isinstance(r.get("seconds"), int | float) else ""
        out.append(
            f"- {name}: {'flat: met' if flat.flat else 'NOT flat: MISSED'} (RSS before the first chunk "
            f"{before}{seconds})."
        )
    return out


def _count(results: list[dict[str, Any]], path: str) -> str:
    found = next((r for r in results if r["path"] == path), None)
    return f"{found['events']:,}" if found is not None else "—"


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


def suite_growth_section(rows: list[dict[str, Any]], measured: str) -> list[str]:
    """The "Test suite wall time growth" section from :func:`benchmarks.suite_wall_time.growth`'s rows."""
    if not rows:
        return []
    out = [
        "## Test suite wall time growth (cases x xdist workers)",
        "",
        measured,
        "",
        "`conformance run --cases ROOT` (the reference adapter, every default chunking, the cancellation "
        "and fault runs, and the property runs, which do not depend on the cases) over corpora of "
        f"{_and(sorted({r['factor'] for r in rows}))} copies of the bundled cases (copy k of `<api>/<name>` "
        "renamed `<api>/<name>-x<k>`, the same bytes), with "
        f"{_and(sorted({r['workers'] for r in rows}))} pytest-xdist workers (0: no xdist; `-- -n W`), each "
        f"run once after one untimed warm-up run, on {os.cpu_count()} cores; the 1-minute load average "
        "before and after each.",
        "",
        "| copies | cases | workers | tests | wall s | CPU s (user+sys) | exit | load before → after |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if r.get("missing"):
            head = f"| {r['factor']} | {r['cases']:,} | {r['workers']} |"
            out.append(f"{head} — | — | — | — | {r['missing']} not installed |")
            continue
        out.append(
            f"| {r['factor']} | {r['cases']:,} | {r['workers']} | {r['tests']:,} | {r['seconds']:,.1f} "
            f"| {r['cpu_seconds']:,.1f} | {r['exit']} | {r['load_before']} → {r['load_after']} |"
        )
    out += ["", *_growth_lines(rows)]
    return out


def _growth_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Per worker count: the fixed cost and the cost per case of a least-squares line, and
    what the workers save on the largest corpus."""
    timed = [r for r in rows if not r.get("missing")]
    lines = []
    for workers in sorted({r["workers"] for r in timed}):
        points = [(float(r["cases"]), float(r["seconds"])) for r in timed if r["workers"] == workers]
        if len({x for x, _ in points}) < 2:
            continue
        fixed, per_case = suite_wall_time.fit_line(points)
        sign = "+" if per_case >= 0 else "-"
        lines.append(
            f"- {_workers(workers)}: wall ≈ {fixed:,.1f} s {sign} {abs(per_case) * 1000:,.1f} ms per case "
            "(least squares over the corpora)."
        )
    if timed:
        largest = max(r["cases"] for r in timed)
        at = {r["workers"]: r["seconds"] for r in timed if r["cases"] == largest}
        if 0 in at:
            for workers, seconds in sorted(at.items()):
                if workers and seconds:
                    lines.append(
                        f"- {largest:,} cases: {_workers(workers)} take {seconds / at[0]:.2f}x the wall time "
                        "of no xdist."
                    )
    return lines


def _workers(count: int) -> str:
    return f"{count} worker" + ("" if count == 1 else "s")


def _and(items: list[int]) -> str:
    """``1, 2 and 4``."""
    words = [str(i) for i in items]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


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
    "Cancel-to-disconnect latency",
    "Peak memory",
    "Test suite wall time",
    "Test suite wall time growth",
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
