"""Benchmark: peak memory while replaying a 1 GB stream (the goal: flat, the peak not
growing with the bytes fed).  I/O: runs each measurement in a child process of its own
(``python -m benchmarks.bench_memory --child ...``), which reads ``/proc/self/status``
and prints JSON lines; the parent prints a table.

The stream is one OpenAI Chat Completions response (our encoder, default knobs without
the random obfuscation padding) of ``head + unit * k + tail``: one text block of
identical deltas, ``k`` chosen so that the body is ``gb`` GB (10**9 bytes).  It is
generated lazily: :func:`periodic_parts` finds ``head``, ``unit`` and ``tail`` from
three tiny encodings, and :class:`LazyChunks` is a sequence of 64 KiB chunks that cuts
chunk ``i`` out of them on demand.  The body is never materialised; one chunk lives at
a time.

Two paths, each in a child process so that its peak is its own:

* ``decoder``: the reference decoder (``conformance.registry.get_codec``) fed every
  chunk, its events counted and dropped;
* ``driver``: the harness's driver (:func:`~conformance.harness.run.run_stream`, which
  wraps the chunks in its recording byte source) with a counting adapter that reads
  every chunk and yields only a ``response.start`` and a ``finish``.  The harness keeps
  every canonical event an adapter yields (the verdict compares them with the expected
  sequence), so its memory grows with the events by design; this path measures what it
  does per byte.

At 1/8, 1/4, 1/2 and all of the bytes, the child samples the peak resident set size
(``VmHWM`` of ``/proc/self/status``, and ``resource.getrusage``'s ``ru_maxrss``) and
``tracemalloc``'s peak of Python allocations (traced from just before the first chunk;
tracing slows Python down, so the ``seconds`` are not a speed figure).  Flat
(:func:`judge_flat`): from the first sample to the last, with 8x the bytes fed, the
``tracemalloc`` peak grows by at most :data:`TRACED_TOLERANCE` and the RSS peak by at most
:data:`RSS_TOLERANCE` (the allocator's arenas move a little on their own).

Run: ``python -m benchmarks.bench_memory [--gb 1] [--quick]`` (or
``python -m benchmarks.run --only memory``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from conformance.events import Event, FinishReason, ResponseStart
from conformance.events import Finish as FinishEvent
from conformance.harness.contract import Adapter, Capability, StreamRequest
from conformance.harness.run import run_stream
from conformance.registry import get_codec
from conformance.vendors._builder import ResponseBuilder
from conformance.vendors.openai_chat import Knobs

__all__ = [
    "API",
    "CHECKPOINTS",
    "GB",
    "LazyChunks",
    "PATHS",
    "QUICK_GB",
    "RSS_TOLERANCE",
    "TRACED_TOLERANCE",
    "Flatness",
    "judge_flat",
    "periodic_parts",
    "run",
]

#: One gigabyte as the table counts it.
GB = 1_000_000_000
#: The API whose encoder writes the stream and whose reference decoder reads it.
API = "openai/chat-completions"
#: The stream's size in a quick run, in GB.
QUICK_GB = 0.064
#: The read size: one chunk handed over at a time.
CHUNK_SIZE = 65536
#: The fractions of the body at which the peaks are sampled.
CHECKPOINTS: tuple[float, ...] = (1 / 8, 1 / 4, 1 / 2, 1.0)
#: The paths measured (each in a child process).
PATHS: tuple[str, ...] = ("decoder", "driver")
#: How much the traced (Python) peak may grow from the first sample to the last and
#: still count as flat.
TRACED_TOLERANCE = 1_000_000
#: How much the RSS peak may grow and still count as flat.
RSS_TOLERANCE = 4_000_000

_DELTA = " the quick brown fox, café 你好 🙂"
_ROOT = Path(__file__).resolve().parent.parent


# -- the lazy stream (pure) ----------------------------------------------------------------


def periodic_parts(one: bytes, two: bytes, three: bytes) -> tuple[bytes, bytes, bytes]:
    """``(head, unit, tail)`` such that the encodings of 1, 2 and 3 repeats are
    ``head + unit * n + tail``; :class:`ValueError` when there is no such split."""
    size = len(two) - len(one)
    if size <= 0 or len(three) - len(two) != size:
        raise ValueError("the encodings do not grow by one fixed unit per repeat")
    for cut in range(len(one) - size + 1):
        head, unit, tail = one[:cut], one[cut : cut + size], one[cut + size :]
        if two == head + unit * 2 + tail and three == head + unit * 3 + tail:
            return head, unit, tail
    raise ValueError("the encodings are not head + unit * n + tail")


class LazyChunks(Sequence[bytes]):
    """``head + unit * repeats + tail`` as chunks of at most ``chunk_size`` bytes, each cut
    on demand; the body is never built.  The head, the run of units and the tail are cut
    separately (each one's last chunk may be shorter), so every chunk is one slice of
    something already in memory, never a join."""

    def __init__(self, head: bytes, unit: bytes, repeats: int, tail: bytes, chunk_size: int) -> None:
        if not unit or repeats < 0 or chunk_size < 1:
            raise ValueError("a lazy stream needs a non-empty unit, repeats >= 0 and chunk_size >= 1")
        self.head, self.unit, self.repeats, self.tail = head, unit, repeats, tail
        self.chunk_size = chunk_size
        self.middle = len(unit) * repeats
        self.size = len(head) + self.middle + len(tail)
        # a run of units long enough that any chunk-sized window of the middle is one slice of it
        self._tile = unit * (chunk_size // len(unit) + 2)
        self._counts = (_pieces(len(head), chunk_size), _pieces(self.middle, chunk_size))
        self._length = sum(self._counts) + _pieces(len(tail), chunk_size)

    def _chunk(self, index: int) -> bytes:
        size = self.chunk_size
        heads, middles = self._counts
        if index < heads:
            return self.head[index * size : (index + 1) * size]
        index -= heads
        if index < middles:
            offset = index * size
            start = offset % len(self.unit)
            return self._tile[start : start + min(size, self.middle - offset)]
        index -= middles
        return self.tail[index * size : (index + 1) * size]

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> bytes: ...

    @overload
    def __getitem__(self, index: slice) -> list[bytes]: ...

    def __getitem__(self, index: int | slice) -> bytes | list[bytes]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._chunk(index)

    def __iter__(self) -> Iterator[bytes]:
        for index in range(len(self)):
            yield self[index]


def _pieces(size: int, chunk_size: int) -> int:
    return -(-size // chunk_size)


def _events(repeats: int) -> list[Event]:
    b = ResponseBuilder()
    b.start(response_id="chatcmpl-memory", model="gpt-memory")
    b.open(1, "text")
    for _ in range(repeats):
        b.delta(1, _DELTA)
    b.end(1)
    b.usage(input_tokens=10, output_tokens=1000)
    b.finish(FinishReason.STOP, "stop")
    return b.take()


def stream_of(size: int, chunk_size: int = CHUNK_SIZE) -> LazyChunks:
    """A lazy OpenAI Chat Completions body of at least ``size`` bytes."""
    codec = get_codec(API)
    knobs = Knobs(obfuscation=False)
    head, unit, tail = periodic_parts(*(codec.encode(_events(n), knobs) for n in (1, 2, 3)))
    repeats = max(1, math.ceil((size - len(head) - len(tail)) / len(unit)))
    return LazyChunks(head, unit, repeats, tail, chunk_size)


# -- flatness (pure) -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flatness:
    """How much each peak grew from the first sample to the last, and the verdict."""

    rss_growth: int
    traced_growth: int
    flat: bool


def judge_flat(
    rss_peaks: Sequence[int],
    traced_peaks: Sequence[int],
    rss_tolerance: int = RSS_TOLERANCE,
    traced_tolerance: int = TRACED_TOLERANCE,
) -> Flatness:
    """Flat when, from the first sample to the last, the RSS peak grew by at most
    ``rss_tolerance`` bytes and the traced peak by at most ``traced_tolerance``."""
    if len(rss_peaks) < 2 or len(traced_peaks) < 2:
        raise ValueError("flatness needs at least two samples of each peak")
    rss = rss_peaks[-1] - rss_peaks[0]
    traced = traced_peaks[-1] - traced_peaks[0]
    return Flatness(rss, traced, rss <= rss_tolerance and traced <= traced_tolerance)


# -- the child: one path, sampled --------------------------------------------------------------


def _vm_hwm() -> int:
    """The process's peak RSS in bytes (``VmHWM``; ``ru_maxrss`` where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return _maxrss()


def _maxrss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


class _Sampler:
    """Samples the peaks each time the bytes fed pass the next checkpoint."""

    def __init__(self, total: int, emit: Callable[[dict[str, Any]], None]) -> None:
        self._marks = [math.ceil(total * f) for f in CHECKPOINTS]
        self._emit = emit
        self._started = time.perf_counter()
        self.fed = 0

    def fed_bytes(self, count: int) -> None:
        self.fed += count
        while self._marks and self.fed >= self._marks[0]:
            self._marks.pop(0)
            self._emit(
                {
                    "bytes": self.fed,
                    "vm_hwm": _vm_hwm(),
                    "maxrss": _maxrss(),
                    "traced_peak": tracemalloc.get_traced_memory()[1] if tracemalloc.is_tracing() else None,
                    "seconds": round(time.perf_counter() - self._started, 2),
                }
            )


def _decoder_path(chunks: LazyChunks, sampler: _Sampler) -> int:
    decoder = get_codec(API).new_decoder()
    events = 0
    for chunk in chunks:
        events += len(decoder.feed(chunk))
        sampler.fed_bytes(len(chunk))
    return events + len(decoder.close())


def _driver_path(chunks: LazyChunks, sampler: _Sampler) -> int:
    async def counting(request: StreamRequest, source: Any) -> AsyncIterator[Event]:
        yield ResponseStart(response_id="counting", model=None)
        try:
            async for chunk in source:
                sampler.fed_bytes(len(chunk))
        finally:
            await source.aclose()
        yield FinishEvent(reason=FinishReason.STOP, raw_reason="stop")

    adapter = Adapter(
        name="counting", stream=counting, apis={API: ("*",)}, capabilities=frozenset(Capability)
    )
    request = StreamRequest(api=API, flavour="openai", framing="sse")
    box: list[int] = []

    async def drive() -> None:
        outcome = await run_stream(adapter, request, chunks, time_limit=3600)
        box.append(len(outcome.events))

    asyncio.run(drive())
    return box[0]


_PATHS: dict[str, Callable[[LazyChunks, _Sampler], int]] = {
    "decoder": _decoder_path,
    "driver": _driver_path,
}


def child(path: str, size: int, *, trace: bool) -> None:
    """Measure one path over a lazy body of ``size`` bytes (``trace``: with ``tracemalloc``
    on from just before the first chunk); JSON lines on stdout."""
    chunks = stream_of(size)

    def emit(obj: dict[str, Any]) -> None:
        print(json.dumps(obj), flush=True)

    emit({"start": True, "size": chunks.size, "chunks": len(chunks), "vm_hwm": _vm_hwm()})
    if trace:
        tracemalloc.start()
    sampler = _Sampler(chunks.size, lambda sample: emit({"sample": sample}))
    events = _PATHS[path](chunks, sampler)
    tracemalloc.stop()
    emit({"done": True, "events": events, "fed": sampler.fed})


# -- the parent ------------------------------------------------------------------------------


def _child_run(path: str, size: int, *, trace: bool, timeout: float) -> dict[str, Any]:
    argv = [sys.executable, "-m", "benchmarks.bench_memory", "--child", path, "--bytes", str(size)]
    if trace:
        argv.append("--trace")
    done = subprocess.run(argv, cwd=_ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"memory benchmark child ({path}) exited {done.returncode}: {tail}")
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    start = next(obj for obj in lines if obj.get("start"))
    end = next(obj for obj in lines if obj.get("done"))
    return {**start, **end, "samples": [obj["sample"] for obj in lines if "sample" in obj]}


def measure(path: str, size: int, timeout: float = 3600) -> dict[str, Any]:
    """One path, twice, each in a child process: untraced (the RSS peaks) and traced (the
    ``tracemalloc`` peaks; tracing adds its own bookkeeping to the RSS, and time)."""
    plain = _child_run(path, size, trace=False, timeout=timeout)
    traced = _child_run(path, size, trace=True, timeout=timeout)
    rss = [s["vm_hwm"] for s in plain["samples"]]
    peaks = [s["traced_peak"] for s in traced["samples"]]
    return {
        "path": path,
        "size": plain["size"],
        "chunks": plain["chunks"],
        "events": plain["events"],
        "fed": plain["fed"],
        "baseline_vm_hwm": plain["vm_hwm"],
        "checkpoints": [s["bytes"] for s in plain["samples"]],
        "vm_hwm": rss,
        "maxrss": [s["maxrss"] for s in plain["samples"]],
        "traced_peak": peaks,
        "seconds": plain["samples"][-1]["seconds"] if plain["samples"] else None,
        "traced_seconds": traced["samples"][-1]["seconds"] if traced["samples"] else None,
        "flatness": judge_flat(rss, peaks),
    }


def run(gb: float = 1.0, paths: Sequence[str] = PATHS) -> list[dict[str, Any]]:
    """One result per path (each measured in two child processes of its own)."""
    size = int(gb * GB)
    results = []
    for path in paths:
        print(f"  {path}: {size / GB:g} GB, untraced then traced ...", file=sys.stderr)
        results.append(measure(path, size))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--gb", type=float, default=1.0, help="the stream's size in GB (10**9 bytes)")
    parser.add_argument("--quick", action="store_true", help="a 64 MB stream")
    parser.add_argument("--child", choices=PATHS, help=argparse.SUPPRESS)
    parser.add_argument("--bytes", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.bytes, trace=args.trace)
        return
    for result in run(QUICK_GB if args.quick else args.gb):
        flat = result["flatness"]
        print(f"{result['path']}: {result['fed']:,} bytes, {result['events']:,} events")
        for at, rss, maxrss, peak in zip(
            result["checkpoints"], result["vm_hwm"], result["maxrss"], result["traced_peak"], strict=True
        ):
            print(
                f"  {at / 1e6:>9,.1f} MB  VmHWM {rss / 1e6:7.1f} MB  ru_maxrss {maxrss / 1e6:7.1f} MB  "
                f"traced peak {peak / 1e6:7.2f} MB"
            )
        print(f"  flat: {flat.flat} (RSS +{flat.rss_growth:,} B, traced +{flat.traced_growth:,} B)")


if __name__ == "__main__":
    main()
