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

**Growth** (:func:`growth`): how the wall time grows with the number of cases and with
pytest-xdist workers.  :func:`make_corpus` writes a corpus of ``factor`` copies of every
(``sample``-th) case of the bundled one into a temporary folder, copy ``k > 0`` of case
``<api>/<name>`` renamed ``<api>/<name>-x<k>`` (its folder and its manifest's ``id``; the
bytes are the same).  ``conformance run --cases ROOT`` (the reference adapter, every default
chunking, the cancellation and fault runs; the property runs, which do not depend on the
cases, are a fixed cost) then runs over each corpus with 0 (no xdist), 1 and 2 workers
(``-- -n W``), after one untimed warm-up run over the 1x corpus (cold file caches and
first imports slow the first run down).  :func:`fit_line` splits the times into a fixed
cost and a cost per case.

Run: ``python -m benchmarks.suite_wall_time [--growth] [--sample N]`` (or
``python -m benchmarks.run --suite-wall-time``, ``--only suite``, ``--only suite-growth``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance.cassettes import CASSETTES_ROOT

__all__ = [
    "FACTORS",
    "ROOT",
    "WORKERS",
    "commands",
    "fit_line",
    "growth",
    "growth_command",
    "make_corpus",
    "parse_counts",
    "run",
]

#: How many copies of the corpus the growth runs use.
FACTORS: tuple[int, ...] = (1, 2, 4)
#: pytest-xdist workers of the growth runs (0: no xdist).
WORKERS: tuple[int, ...] = (0, 1, 2)

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


# -- growth with the number of cases and with workers ----------------------------------------


def _case_folders(root: Path) -> list[Path]:
    """The case folders under ``root`` (those holding a ``case.json``), in path order."""
    return sorted(p.parent for p in root.rglob("case.json"))


def make_corpus(source: Path, dest: Path, factor: int, sample: int = 1) -> int:
    """Write ``factor`` copies of every ``sample``-th case under ``source`` into ``dest``:
    copy 0 as it is, copy ``k`` as ``<name>-x<k>`` with its manifest's ``id`` to match.
    Returns how many cases ``dest`` holds."""
    if factor < 1 or sample < 1:
        raise ValueError(f"factor and sample must be >= 1, not {factor} and {sample}")
    count = 0
    for number, folder in enumerate(_case_folders(source)):
        if number % sample:
            continue
        relative = folder.relative_to(source)
        for k in range(factor):
            target = dest / relative.parent / (relative.name if k == 0 else f"{relative.name}-x{k}")
            shutil.copytree(folder, target)
            if k:
                manifest = target / "case.json"
                obj = json.loads(manifest.read_text(encoding="utf-8"))
                obj["id"] = f"{obj['id']}-x{k}"
                manifest.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            count += 1
    return count


def growth_command(cases: Path, report_dir: str, workers: int) -> list[str]:
    """``conformance run`` over the corpus ``cases`` with ``workers`` xdist workers (0: none)."""
    argv = [*_conformance(), "run", "--cases", str(cases), "--report-dir", report_dir]
    return [*argv, "--", "-n", str(workers)] if workers else argv


def fit_line(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """The least-squares line ``y = fixed + per_x * x`` through ``(x, y)`` points:
    ``(fixed, per_x)``."""
    if len({x for x, _ in points}) < 2:
        raise ValueError("a line needs points at two different x at least")
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)
    return mean_y - slope * mean_x, slope


def _has_xdist() -> bool:
    return importlib.util.find_spec("xdist") is not None


def growth(
    factors: Sequence[int] = FACTORS, workers: Sequence[int] = WORKERS, sample: int = 1
) -> list[dict[str, Any]]:
    """One row per corpus size and worker count (``sample``: every n-th case only, for a
    smoke run).  The corpus comes from the bundled cassettes."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="conformance-growth-") as tmp:
        warm = Path(tmp) / "warm-up"
        make_corpus(CASSETTES_ROOT, warm, 1, sample)
        print("warm-up run (not timed) ...", file=sys.stderr)
        run_one("warm-up", growth_command(warm, str(Path(tmp) / "report-warm-up"), 0))
        shutil.rmtree(warm)
        for factor in factors:
            corpus = Path(tmp) / f"corpus-x{factor}"
            cases = make_corpus(CASSETTES_ROOT, corpus, factor, sample)
            for count in workers:
                if count and not _has_xdist():
                    rows.append(
                        {"factor": factor, "cases": cases, "workers": count, "missing": "pytest-xdist"}
                    )
                    continue
                label = f"{cases} cases, {count} workers"
                print(f"{label} ...", file=sys.stderr)
                report = str(Path(tmp) / f"report-x{factor}-n{count}")
                row = run_one(label, growth_command(corpus, report, count))
                rows.append({**row, "factor": factor, "cases": cases, "workers": count})
            shutil.rmtree(corpus)
    return rows


def _print(row: dict[str, Any]) -> None:
    counts = ", ".join(f"{n} {k}" for k, n in row["counts"].items())
    print(
        f"{row['name']:<24} {row['seconds']:>7.1f} s  (CPU {row['cpu_seconds']:.1f} s)  "
        f"exit {row['exit']}  {row['tests']} tests ({counts})  "
        f"load {row['load_before']} -> {row['load_after']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--growth", action="store_true", help="the growth runs instead of the three commands")
    parser.add_argument("--sample", type=int, default=1, help="growth: every n-th case only (a smoke run)")
    args = parser.parse_args()
    for row in growth(sample=args.sample) if args.growth else run():
        if row.get("missing"):
            print(f"{row['cases']} cases, {row['workers']} workers: {row['missing']} is not installed")
        else:
            _print(row)


if __name__ == "__main__":
    main()
