"""``conformance run`` and ``conformance replay``: the suite from the command line.

I/O: ``run`` starts pytest in this process (the plugin does the work and writes the
reports); ``replay`` reads one case from the corpus, runs one adapter over it and
prints the verdict and the diff.  Exit status: 0 nothing failed, 1 a failure, 2 a
usage error (as the rest of the command line).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.cassettes import CASSETTES_ROOT, expected_events, load_case
from conformance.chunking import STRATEGY_NAMES, parse_chunking
from conformance.errors import CaseError, UsageError
from conformance.events import dumps
from conformance.harness.execute import Limits, execute, failure_text
from conformance.harness.loading import load_factory, make_adapter
from conformance.harness.matrix import Spec
from conformance.harness.run import CancelMode, CancelPlan
from conformance.harness.verdict import Verdict

__all__ = ["add_subcommands"]

DEFAULT_REPORT_DIR = "conformance-report"


def _run_command(args: argparse.Namespace) -> int:
    argv = ["--conformance-only", "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    argv.append(f"--conformance-report={args.report_dir}")
    argv += [f"--conformance-adapter={spec}" for spec in (args.adapter or ["reference"])]
    if args.chunkings:
        argv.append(f"--conformance-chunkings={args.chunkings}")
    if args.cases:
        argv.append(f"--conformance-cases={args.cases}")
    if args.timeout is not None:
        argv.append(f"--conformance-timeout={args.timeout}")
    if args.keyword:
        argv += ["-k", args.keyword]
    argv += args.pytest_args
    status = int(pytest.main(argv))
    if status == int(pytest.ExitCode.NO_TESTS_COLLECTED):
        print("conformance run: no test selected", file=sys.stderr)
        return 1
    if status in (int(pytest.ExitCode.OK), int(pytest.ExitCode.TESTS_FAILED)):
        return status
    return 2


def _cancel_plan(text: str | None) -> CancelPlan | None:
    if text is None:
        return None
    match = re.fullmatch(r"(\w+)@(\d+)", text.strip())
    modes = ", ".join(m.value for m in CancelMode)
    if match is None or match[1] not in {m.value for m in CancelMode}:
        raise UsageError(f"--cancel {text!r}: expected MODE@EVENTS with MODE one of {modes}")
    return CancelPlan(CancelMode(match[1]), int(match[2]))


def _replay_command(args: argparse.Namespace) -> int:
    root = Path(args.cases) if args.cases else CASSETTES_ROOT
    folder = root / args.case
    if not (folder / "case.json").is_file():
        raise UsageError(f"no case {args.case!r} under {root} (see `conformance list`)")
    try:
        case = load_case(folder)
        expected = expected_events(case)
    except CaseError as exc:
        print(f"conformance replay: {exc.describe()}", file=sys.stderr)
        return 1
    adapter = make_adapter(load_factory(args.adapter), what=f"--adapter {args.adapter}")
    chunking = parse_chunking(args.chunking).name
    spec = Spec(adapter.name, case.id, chunking, _cancel_plan(args.cancel))
    limits = Limits(timeout=args.timeout if args.timeout is not None else 30.0)
    result = execute(spec, adapter, case, expected, limits)
    verdict = result.judgement.verdict
    print(f"{spec.test_id}: {verdict.value}")
    if verdict is Verdict.FAIL:
        print(failure_text(result, _replay_line(args)))
    elif result.judgement.reason:
        print(f"  {result.judgement.reason}")
    for finding in result.judgement.should:
        print(f"  SHOULD: {finding}")
    if args.events:
        for event in result.outcome.events:
            print(dumps(event))
    return 1 if verdict is Verdict.FAIL else 0


def _replay_line(args: argparse.Namespace) -> str:
    parts = ["conformance replay", args.case, f"--adapter {args.adapter}", f"--chunking {args.chunking}"]
    if args.cancel:
        parts.append(f"--cancel {args.cancel}")
    if args.cases:
        parts.append(f"--cases {args.cases}")
    return " ".join(parts)


def add_subcommands(sub: Any, prog: str) -> None:
    """Add ``run`` and ``replay`` to the command line's subparsers."""
    run = sub.add_parser(
        "run",
        help="run the conformance suite (pytest in-process) and write the reports",
        description="Run the suite against the named adapters (default: the bundled reference adapter), "
        "show progress, print the verdict matrix and write report.json and report.md. Exit 0 iff "
        "no test failed. Arguments after `--` go to pytest (e.g. `-- -n 2 -x`).",
    )
    run.add_argument(
        "--adapter",
        action="append",
        metavar="SPEC",
        help="pkg.mod:factory, or 'reference' (the default); repeatable",
    )
    run.add_argument("--report-dir", default=DEFAULT_REPORT_DIR, help=f"default: ./{DEFAULT_REPORT_DIR}/")
    run.add_argument(
        "-k", dest="keyword", metavar="EXPR", help="only tests matching this pytest -k expression"
    )
    run.add_argument("--chunkings", metavar="LIST", help="comma-separated chunking strategies")
    run.add_argument("--cases", metavar="DIR", help="corpus folder (default: the bundled cassettes)")
    run.add_argument("--timeout", type=float, metavar="SECONDS", help="per-stream time bound (default 30)")
    run.add_argument("pytest_args", nargs="*", help=argparse.SUPPRESS)
    run.set_defaults(handler=_run_command)
    rep = sub.add_parser(
        "replay",
        help="rerun one case with one adapter and chunking; print the verdict and the diff",
        description=f"Rerun one test of the suite, as a failure's `reproduce:` line prints it. Exit 1 on "
        f"FAIL. Example: {prog} replay openai/chat-completions/parallel-tool-calls --adapter reference "
        "--chunking bytewise",
    )
    rep.add_argument("case", help="case id, e.g. anthropic/messages/text-then-tool-use")
    rep.add_argument("--adapter", default="reference", metavar="SPEC", help="pkg.mod:factory or 'reference'")
    rep.add_argument(
        "--chunking",
        default="whole",
        metavar="STRATEGY",
        help=f"one of {', '.join(STRATEGY_NAMES)} (default: whole)",
    )
    rep.add_argument(
        "--cancel", metavar="MODE@K", help="cancel after K events: close, task, timeout or signal"
    )
    rep.add_argument("--cases", metavar="DIR", help="corpus folder (default: the bundled cassettes)")
    rep.add_argument("--timeout", type=float, metavar="SECONDS", help="per-stream time bound (default 30)")
    rep.add_argument("--events", action="store_true", help="also print the adapter's canonical events")
    rep.set_defaults(handler=_replay_command)
