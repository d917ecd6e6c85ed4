"""Run every benchmark and write ``docs/benchmarks.md``.  I/O: runs timings, writes that file.

Usage, from the repository root (with the ``bench`` extra installed for the competitors)::

    python -m benchmarks.run                    # full sizes: ~10-12 minutes on 2 cores
    python -m benchmarks.run --quick            # small sizes, for a smoke run
    python -m benchmarks.run --out -            # print the Markdown instead of writing the file
    python -m benchmarks.run --only harness     # one part (repeatable), see below
    python -m benchmarks.run --suite-wall-time  # also the test suite's parts (~20 minutes more)

The parts (``--only`` names one; repeatable):

* ``framing``: the SSE and AWS eventstream framing decoders against their competitors;
* an API id (``openai/chat-completions``, ...): that reference decoder against the vendor's
  SDK and the floor (``benchmarks/bench_<api>.py``);
* ``harness``: the harness's own overhead per event (``bench_harness``);
* ``cancel``: cancel-to-disconnect latency over loopback sockets, 1,000 cancels per example
  adapter and cancel mode (``bench_cancel``; ~1-2 minutes);
* ``memory``: peak memory replaying a 1 GB stream, each path in a child process
  (``bench_memory``; ~4 minutes);
* ``suite``: the wall time of ``python -m pytest`` (with and without ``-n 2``) and
  ``conformance run`` (``suite_wall_time``; ~6 minutes);
* ``suite-growth``: how ``conformance run``'s wall time grows with 1x, 2x, 4x the cases and
  with 0, 1, 2 xdist workers (``suite_wall_time.growth``; ~10 minutes).

The two suite parts run only when named by ``--only`` or with ``--suite-wall-time``.
``--quick``: small sizes, 3 timed runs, 50 cancels per row, a 64 MB stream, growth corpora of
every 40th case (the suite part has no quick form).

Every ratio is measured in the same run, on the same bytes, on the same machine.  A section
this run does not measure (a part left out by ``--only``; the suite parts without
``--suite-wall-time``) is carried over from the existing output file, unchanged, and the
header says which ones were.
"""

from __future__ import annotations

import argparse
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import (
    bench_anthropic_messages,
    bench_bedrock_converse,
    bench_cancel,
    bench_cohere_chat,
    bench_cohere_chat_v1,
    bench_eventstream,
    bench_gemini,
    bench_harness,
    bench_memory,
    bench_ollama_chat,
    bench_openai_chat,
    bench_openai_responses,
    bench_sse,
    suite_wall_time,
)
from benchmarks._sections import (
    CANCEL_GOAL,
    HARNESS_GOAL,
    MEMORY_GOAL,
    cancel_section,
    harness_section,
    memory_section,
    merge,
    suite_growth_section,
    suite_section,
)

#: Reference decoder benchmarks: (API id, module).  Each module's ``run()`` returns rows
#: with ``name``, ``mb_per_s`` and ``events_per_s`` and/or ``messages_per_s``; the row
#: whose name starts with "ours" is our reference decoder.
CODEC_BENCHMARKS = [
    ("openai/chat-completions", bench_openai_chat),
    ("openai/responses", bench_openai_responses),
    ("anthropic/messages", bench_anthropic_messages),
    ("gemini/generate-content", bench_gemini),
    ("bedrock/converse-stream", bench_bedrock_converse),
    ("cohere/chat", bench_cohere_chat),
    ("cohere/chat-v1", bench_cohere_chat_v1),
    ("ollama/chat", bench_ollama_chat),
]

#: Where a decoder goal is missed, what limits it: profiled on 2026-11-21 (cProfile, and
#: callgrind instruction counts, which a busy machine does not move).  A "stand-in" is a
#: decoder that only frames, parses and emits one block.delta per payload, with no checks
#: and no state: what any decoder built as framing + a vendor layer costs at least.
LIMITS = {
    "anthropic/messages": "per event the floor costs 1.66 µs, our SSE framing + JSON 1.94 µs and the whole "
    "decoder 4.59 µs: the vendor layer's 2.65 µs are payload checks (0.17), index, type and open-block "
    "checks, dispatch, and the builder's delta (0.26, of which 0.19 builds the frozen BlockDelta). The "
    "stand-in alone reaches only 0.49x the floor, so 0.5x also needs cheaper framing (each SSEEvent costs "
    "0.33 µs to build): the next step is SSE decoders that do not build SSEEvent objects.",
    "bedrock/converse-stream": "per frame the floor costs 1.44 µs; our framing + JSON 2.12 µs (both CRC32s, "
    "the header block, 0.24 µs to build the frame object) and the whole decoder 3.96 µs, a vendor layer of "
    "1.84 µs against a budget of 0.76 µs. The stand-in reaches 0.45x.",
    "cohere/chat": "events are small (~120 bytes), so fixed per-event costs dominate: floor 1.68 µs, "
    "framing + JSON 2.14 µs, the whole decoder 3.78 µs; the stand-in reaches 0.55x.",
    "cohere/chat-v1": "lines are ~70 bytes: the floor is 0.88 µs a line, framing + JSON 1.34 µs, the decoder "
    "3.15 µs. The stand-in reaches only 0.46x: any per-line Python layer costs more than the floor's whole "
    "budget. Out of reach for a decoder in Python.",
    "ollama/chat": "the SDK (httpx line reading, json.loads, a pydantic model per line) takes 4.73 µs a "
    "line, so 3x the SDK needs 1.58 µs, within 24% of the floor (1.27 µs); our framing + JSON alone "
    "takes 1.83 µs, so 3x is out of reach for any decoder built as framing + a vendor layer. Against "
    "the floor: a vendor layer of 1.40 µs a line; the stand-in reaches 0.57x.",
    "gemini/generate-content": "chunks are ~300 bytes: floor 2.8-3.1 µs, framing + JSON 3.6 µs (CRLF line "
    "ends), the whole decoder ~6.3 µs; every chunk walks candidates, content and parts and compares the "
    "repeated usageMetadata with the last report. On the line: 0.43-0.49x between runs.",
    "openai/chat-completions": "on the line (0.50-0.52x between runs): the floor moves ~10% between runs.",
    "openai/responses": "0.45-0.50x between runs (the floor itself moves ~10%); like Anthropic's, its "
    "events are named SSE events, so the same next step applies: SSE decoders that do not build SSEEvent "
    "objects (0.33 µs an event).",
}

GOALS = {
    "sse": "SSE decoder >= 150 MB/s on 64 KiB chunks, and faster than httpx-sse's full pipeline",
    "eventstream": "eventstream decoder >= 2x botocore's EventStreamBuffer, and linear on one-chunk input",
    "codec": "reference decoder >= 3x the official SDK's own stream parsing of the same bytes, and >= 50% of "
    "the floor",
    "harness": HARNESS_GOAL,
    "cancel": CANCEL_GOAL,
    "memory": MEMORY_GOAL,
}

#: The parts ``--only`` can name besides the API ids, run by default.
PARTS = ("framing", "harness", "cancel", "memory")
#: The slow parts (minutes each): run only when named by ``--only`` or by ``--suite-wall-time``.
SLOW_PARTS = ("suite", "suite-growth")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _machine() -> list[str]:
    import os

    dists = ["llm-stream-conformance", "httpx-sse", "openai", "anthropic", "google-genai", "botocore"]
    dists += ["ollama", "httpx", "aiohttp", "h11"]
    return [
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {_cpu()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        f"- Python: {platform.python_implementation()} {platform.python_version()}",
        "- Load average when the run started (1/5/15 min): " + " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "- Packages: " + ", ".join(f"{d} {_version(d)}" for d in dists),
    ]


def _find(rows: list[dict[str, Any]], prefix: str, **match: object) -> dict[str, Any] | None:
    for row in rows:
        if str(row["name"]).startswith(prefix) and all(row.get(k) == v for k, v in match.items()):
            return row
    return None


def _sse_section(rows: list[dict[str, Any]], size_mb: float) -> list[str]:
    out = [
        f"## SSE framing ({size_mb:g} MB OpenAI-chat-like stream)",
        "",
        "| decoder | MB/s | events/s | events |",
        "|---|---:|---:|---:|",
    ]
    out += [f"| {r['name']} | {r['mb_per_s']:,} | {r['events_per_s']:,} | {r['events']:,} |" for r in rows]
    ours = _find(rows, "ours: SSEDecoder [6")
    httpx = _find(rows, "httpx-sse")
    verdict = []
    if ours:
        met = "met" if ours["mb_per_s"] >= 150 else "MISSED"
        verdict.append(f"ours {ours['mb_per_s']:,} MB/s against the 150 MB/s goal: {met}")
    if ours and httpx:
        ratio = ours["mb_per_s"] / httpx["mb_per_s"]
        verdict.append(f"{ratio:.2f}x httpx-sse's full pipeline: {'met' if ratio > 1 else 'MISSED'}")
    out += ["", f"Goal: {GOALS['sse']}. Result: " + "; ".join(verdict) + "."]
    return out


def _eventstream_section(rows: list[dict[str, Any]]) -> list[str]:
    chunked = [r for r in rows if r["table"] == "chunked"]
    one = [r for r in rows if r["table"] == "one-chunk"]
    size = chunked[0]["mb"] if chunked else "?"
    out = [
        f"## AWS eventstream framing ({size} MB synthetic Bedrock ConverseStream, 64 KiB chunks)",
        "",
        "| decoder | MB/s | frames/s | frames |",
        "|---|---:|---:|---:|",
    ]
    for r in chunked:
        out.append(f"| {r['name']} | {r['mb_per_s']:,.1f} | {r['frames_per_s']:,.0f} | {r['frames']:,} |")
    out += [
        "",
        "Whole body fed as one chunk (what an HTTP replay does): linear keeps MB/s flat; "
        "quadratic multiplies the seconds by ~4 per doubling.",
        "",
        "| decoder | MB | seconds | MB/s |",
        "|---|---:|---:|---:|",
    ]
    out += [f"| {r['name']} | {r['mb']} | {r['seconds']:.3f} | {r['mb_per_s']:,.1f} |" for r in one]
    ours = _find(chunked, "ours: EventStreamDecoder", name="ours: EventStreamDecoder")
    boto = _find(chunked, "botocore: EventStreamBuffer", name="botocore: EventStreamBuffer")
    verdict = "botocore not installed: no ratio"
    if ours and boto:
        ratio = ours["mb_per_s"] / boto["mb_per_s"]
        verdict = f"{ratio:.2f}x botocore: {'met' if ratio >= 2 else 'MISSED'}"
    out += ["", f"Goal: {GOALS['eventstream']}. Result: {verdict}."]
    return out


def _number(value: object, digits: int = 1) -> str:
    if not isinstance(value, int | float):
        return "—"
    return f"{value:,.{digits}f}"


def _codec_section(api: str, rows: list[dict[str, Any]], size_mb: float) -> list[str]:
    ours = next((r for r in rows if _is_ours(str(r["name"]))), None)
    base = ours["mb_per_s"] if ours and isinstance(ours.get("mb_per_s"), int | float) else None
    out = [
        f"### {api} ({size_mb:g} MB of encoder output)",
        "",
        "| contender | MB/s | canonical events/s | vendor messages/s | ours is |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        mb = r.get("mb_per_s")
        ratio = f"{base / mb:.1f}x" if base and isinstance(mb, int | float) and mb and r is not ours else ""
        out.append(
            f"| {r['name']} | {_number(mb)} | {_number(r.get('events_per_s'), 0)} "
            f"| {_number(r.get('messages_per_s'), 0)} | {ratio} |"
        )
    sdk = [
        r
        for r in rows
        if r.get("sdk", _is_sdk(str(r["name"]))) and isinstance(r.get("mb_per_s"), int | float)
    ]
    floor = next((r for r in rows if str(r["name"]).lower().startswith("floor")), None)
    floor_mb = floor.get("mb_per_s") if floor else None
    results = []
    if base and sdk:
        fastest = max(sdk, key=lambda r: r["mb_per_s"])
        ratio = base / fastest["mb_per_s"]
        results.append(f"{ratio:.1f}x the SDK's own parsing ({fastest['name']}): {_met(ratio >= 3)}")
    elif base:
        results.append("no SDK row (not installed), no SDK ratio")
    if base and isinstance(floor_mb, int | float) and floor_mb:
        share = base / floor_mb
        results.append(f"{share:.0%} of the floor: {_met(share >= 0.5)}")
    if results:
        out += ["", f"Result: {'; '.join(results)}."]
    if any("MISSED" in r for r in results) and api in LIMITS:
        out += ["", f"What limits it: {LIMITS[api]}"]
    return out


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _is_ours(name: str) -> bool:
    return name.lower().startswith(("ours", "reference decoder"))


#: Names that mark a row as an official SDK's own stream parsing (a row may say otherwise with
#: ``"sdk": False``, e.g. a row timing only one part of the SDK's path).
_SDKS = ("openai", "anthropic", "google-genai", "botocore", "ollama sdk", "cohere sdk")


def _is_sdk(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith(_SDKS) and "not installed" not in lowered


def _measured() -> str:
    """When a section's measurement started, and how busy the machine was then."""
    import os

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"Measured from {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average (1/5/15 min) then: {load}."


def render(
    quick: bool, only: set[str] | None = None, *, suite: bool = False, previous: str | None = None
) -> str:
    machine = _machine()  # the date and load when the run started
    size_sse, size_es, size_codec, repeats = (5.0, 3.0, 5.0, 3) if quick else (50.0, 21.0, 50.0, 5)
    events, sample = (20_000, 10) if quick else (200_000, 1)
    cancels = 50 if quick else 1000
    gb = bench_memory.QUICK_GB if quick else 1.0
    growth_sample = 40 if quick else 1  # every n-th case in the growth corpora
    wanted = set(only or {*PARTS, *(api for api, _ in CODEC_BENCHMARKS)})
    if suite:
        wanted |= set(SLOW_PARTS)
    sse: list[str] = []
    eventstream: list[str] = []
    if "framing" in wanted:
        print(f"SSE benchmark ({size_sse:g} MB, {repeats} runs)...", file=sys.stderr)
        sse = _sse_section(bench_sse.run(size_sse, repeats), size_sse)
        print(f"eventstream benchmark ({size_es:g} MB, {repeats} runs)...", file=sys.stderr)
        eventstream = _eventstream_section(bench_eventstream.run(size_es, repeats))
    codecs: list[str] = []
    for api, module in CODEC_BENCHMARKS:
        if api in wanted:
            print(f"{api} benchmark ({size_codec:g} MB, {repeats} runs)...", file=sys.stderr)
            codecs += [*_codec_section(api, module.run(size_codec, repeats), size_codec), ""]
    if codecs:
        codecs = [
            "## Reference decoders (bytes -> canonical events, 64 KiB chunks)",
            "",
            f"Goal: {GOALS['codec']}. The floor row is the same for every API: the body split at its "
            "delimiters (blank lines, line ends, eventstream frame lengths), each payload decoded from "
            "UTF-8 and parsed by json's C scanner, nothing checked and no event built. 'ours is' = our "
            "MB/s divided by that row's.",
            "",
            *codecs,
        ]
    harness: list[str] = []
    if "harness" in wanted:
        print(f"harness overhead benchmark ({events:,} events, {repeats} runs)...", file=sys.stderr)
        measured = _measured()
        harness = harness_section(bench_harness.run(events, repeats, sample), events, measured)
    cancel: list[str] = []
    if "cancel" in wanted:
        print(f"cancel-to-disconnect latency ({cancels:,} cancels per adapter and mode)...", file=sys.stderr)
        measured = _measured()
        cancel = cancel_section(
            bench_cancel.run(cancels), bench_cancel.cases(), bench_cancel.CANCEL_DELAY_MS, measured
        )
    memory: list[str] = []
    if "memory" in wanted:
        print(f"peak memory ({gb:g} GB stream, each path in a child process)...", file=sys.stderr)
        measured = _measured()
        memory = memory_section(bench_memory.run(gb), measured)
    suite_rows: list[str] = []
    if "suite" in wanted:
        print("test suite wall time (three commands, minutes each)...", file=sys.stderr)
        measured = _measured()
        suite_rows = suite_section(suite_wall_time.run(), measured)
    growth_rows: list[str] = []
    if "suite-growth" in wanted:
        print("test suite wall time growth (cases x workers, minutes)...", file=sys.stderr)
        measured = _measured()
        growth_rows = suite_growth_section(suite_wall_time.growth(sample=growth_sample), measured)
    sections = [sse, eventstream, codecs, harness, cancel, memory, suite_rows, growth_rows]
    body, carried = merge(sections, previous)
    note = []
    if carried:
        names = ", ".join(carried)
        note = [f"- Carried over unchanged from the previous file (not measured in this run): {names}"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `python -m benchmarks.run` (install the `bench` extra for the competitors; "
        "`--suite-wall-time` also times the test suite and its growth; `--only PART` runs one part: "
        f"{', '.join(f'`{p}`' for p in (*PARTS, *SLOW_PARTS))} or an API id; `--quick` for a smoke run). "
        "Speeds are medians of the runs after one warm-up, single-threaded, every ratio measured in the "
        "same run; cancel latencies are percentiles over every cancel; memory peaks are sampled as the "
        "bytes are fed; the test suite's commands run once each. The sections from the harness's on say "
        "when they were measured and how busy the machine was. "
        "Re-run it on your machine: absolute numbers move with the CPU and its load; ratios move less.",
        "",
        *machine,
        f"- Mode: {'quick (small sizes)' if quick else 'full'}, {repeats} timed runs per row",
        *note,
        "",
        *body,
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run every benchmark and write docs/benchmarks.md.")
    parser.add_argument("--quick", action="store_true", help="small sizes and 3 runs (a smoke run)")
    parser.add_argument("--out", default="docs/benchmarks.md", help="output file, or - for stdout")
    parser.add_argument(
        "--only",
        action="append",
        metavar="PART",
        help=f"run only this part: {', '.join(map(repr, (*PARTS, *SLOW_PARTS)))} or an API id "
        "(repeatable); default: every part but the slow suite ones",
    )
    parser.add_argument(
        "--suite-wall-time",
        action="store_true",
        help="also time `python -m pytest` (with and without -n 2) and `conformance run`, and the suite's "
        "growth with cases and xdist workers (~20 minutes more)",
    )
    args = parser.parse_args(argv)
    valid = {*PARTS, *SLOW_PARTS, *(api for api, _ in CODEC_BENCHMARKS)}
    unknown = sorted(set(args.only or ()) - valid)
    if unknown:
        parser.error(f"--only {unknown[0]!r}: no such part (valid: {', '.join(sorted(valid))})")
    out = Path(args.out) if args.out != "-" else None
    previous = out.read_text(encoding="utf-8") if out is not None and out.is_file() else None
    text = render(
        args.quick, set(args.only) if args.only else None, suite=args.suite_wall_time, previous=previous
    )
    if args.out == "-":
        print(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
