"""Benchmark: the wall time of the project's default test suite and of ``conformance run``.
I/O: runs each command in a subprocess from the repository root, prints a table.

Three commands, each run once (every one takes minutes; they are not repeated):

* ``python -m pytest -q``: the README's test command (the unit tests plus the whole
  conformance suite against the reference adapter, since the root ``conftest.py``
  registers it);
* the same with ``-n 2`` (pytest-xdist, one worker per core on a 2-core machine);
* ``conformance run``: the README's main job (reference adapter, every case, every default
  chunking, the cancellation and fault runs, the property runs), its reports written to a
  temporary folder.

For each: wall seconds (``time.perf_counter`` around the subprocess), the children's CPU
seconds (user + system, from ``resource.getrusage``), the exit status, the test counts of
pytest's summary line, and the 1-minute load average before and after, since other work on
the machine slows a run down.

Run: ``python -m benchmarks.suite_wall_time`` (or ``python -m benchmarks.run --suite-wall-time``).
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["ROOT", "commands", "parse_counts", "run"]

#: The repository root: the commands run there.
ROOT = Path(__file__).resolve().parent.parent

_COUNT = re.compile(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?|deselected|warnings?)\b")
_SECONDS = re.compile(r" in ([0-9.]+)s\b")


def _conformance() -> list[str]:
    script = Path(sys.executable).parent / "conformance"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "conformance.cli"]


def commands(report_dir: str) -> list[tuple[str, list[str]]]:
    """``(label, argv)`` of each command; ``report_dir`` takes ``conformance run``'s reports."""
    pytest = [sys.executable, "-m", "pytest", "-q"]
    return [
        ("python -m pytest", pytest),
        ("python -m pytest -n 2", [*pytest, "-n", "2"]),
        ("conformance run", [*_conformance(), "run", "--report-dir", report_dir]),
    ]


def parse_counts(output: str) -> dict[str, int]:
    """The counts of pytest's last summary line (``12 passed, 3 skipped in 4.5s``)."""
    for line in reversed(output.splitlines()):
        if _SECONDS.search(line) and _COUNT.search(line):
            counts: dict[str, int] = {}
            for number, word in _COUNT.findall(line):
                key = {"error": "errors", "warning": "warnings"}.get(word, word)
                counts[key] = counts.get(key, 0) + int(number)
            return counts
    return {}


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def run_one(label: str, argv: list[str], timeout: float = 3600) -> dict[str, Any]:
    """Run one command to the end and measure it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = _load()
    start = time.perf_counter()
    done = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False, errors="replace"
    )
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    counts = parse_counts(done.stdout)
    tests = sum(counts.get(k, 0) for k in ("passed", "failed", "skipped", "xfailed", "xpassed", "errors"))
    return {
        "name": label,
        "seconds": round(seconds, 1),
        "cpu_seconds": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1),
        "exit": done.returncode,
        "tests": tests,
        "counts": counts,
        "load_before": load_before,
        "load_after": _load(),
        "tail": done.stdout.strip().splitlines()[-1:] or done.stderr.strip().splitlines()[-1:],
    }


def run(only: set[str] | None = None) -> list[dict[str, Any]]:
    """Measure every command (or those whose label is in ``only``), one after the other."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="conformance-report-") as report_dir:
        for label, argv in commands(report_dir):
            if only is None or label in only:
                print(f"{label} ...", file=sys.stderr)
                rows.append(run_one(label, argv))
    return rows


def main() -> None:
    for row in run():
        counts = ", ".join(f"{n} {k}" for k, n in row["counts"].items())
        print(
            f"{row['name']:<24} {row['seconds']:>7.1f} s  (CPU {row['cpu_seconds']:.1f} s)  "
            f"exit {row['exit']}  {row['tests']} tests ({counts})  "
            f"load {row['load_before']} -> {row['load_after']}"
        )


if __name__ == "__main__":
    main()
