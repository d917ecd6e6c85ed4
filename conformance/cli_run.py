"""``conformance run`` and ``conformance replay``: the suite from the command line.

I/O: ``run`` starts pytest in this process (the plugin does the work and writes the
reports); ``replay`` reads one case from the corpus, runs one adapter over it and
prints the verdict and the diff.  Exit status: 0 nothing failed, 1 a failure, 2 a
usage error (as the rest of the command line).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conformance.cassettes import CASSETTES_ROOT, Case, expected_events, load_case
from conformance.chunking import STRATEGY_NAMES, parse_chunking
from conformance.errors import CaseError, UsageError
from conformance.events import Event, dumps
from conformance.harness.execute import Limits, Result, execute, execute_property, failure_text, find_fault
from conformance.harness.execute_http import execute_http, http_status_of, socket_json
from conformance.harness.loading import load_factory, make_adapter
from conformance.harness.matrix import CANCEL_CHUNKING, PROPERTY, Spec
from conformance.harness.properties import PROFILES, PropertyCase, as_case_files, property_apis
from conformance.harness.run import CancelMode, CancelPlan
from conformance.harness.verdict import Verdict

__all__ = ["add_subcommands"]

DEFAULT_REPORT_DIR = "conformance-report"


def _run_command(args: argparse.Namespace) -> int:
    argv = ["--conformance-only", "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    argv += ["-o", "asyncio_default_fixture_loop_scope=function"]  # pytest-asyncio warns when it is unset
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


def _replay_property(args: argparse.Namespace) -> int:
    api = args.case.rsplit("/", 1)[0]
    if api not in property_apis():
        raise UsageError(f"no property test for {api!r} (valid: {', '.join(property_apis())})")
    if args.profile not in PROFILES:
        raise UsageError(f"--profile {args.profile!r}: unknown profile (valid: {', '.join(PROFILES)})")
    adapter = make_adapter(load_factory(args.adapter), what=f"--adapter {args.adapter}")
    spec = Spec(adapter.name, args.case, PROPERTY)
    limits = Limits(timeout=args.timeout if args.timeout is not None else 30.0)
    seed = args.seed if args.seed is not None else int(time.strftime("%Y%m%d", time.gmtime()))
    result = execute_property(spec, adapter, limits, seed=seed, profile=args.profile)
    verdict = result.judgement.verdict
    print(f"{spec.test_id}: {verdict.value} (seed {seed}, profile {args.profile})")
    if verdict is Verdict.FAIL:
        print(failure_text(result, _replay_line(args, seed)))
    elif result.judgement.reason:
        print(f"  {result.judgement.reason}")
    if result.example is not None and args.save:
        folder = _save_example(result.example, Path(args.save))
        print(f"saved the failing example to {folder} (review expected.jsonl, then set reviewed: true)")
    return 1 if verdict is Verdict.FAIL else 0


def _save_example(example: PropertyCase, root: Path) -> Path:
    files = as_case_files(example)
    manifest = json.loads(files["case.json"])
    folder = root.joinpath(*manifest["id"].split("/"))
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


_HTTP_FAULT = re.compile(r"(reset|stall):\d+")


def _http_spec(args: argparse.Namespace, adapter: str) -> Spec:
    """The HTTP-level test ``--http vcr|http`` (with ``--cancel`` or ``--fault``) names."""
    if args.http == "vcr":
        if args.cancel or args.fault:
            raise UsageError("--http vcr replays the cassette as it is: no --cancel or --fault")
        return Spec(adapter, args.case, "whole", transport="vcr")
    if http_status_of(args.case) is not None:
        return Spec(adapter, args.case, "whole", transport="http")
    if args.fault is not None and _HTTP_FAULT.fullmatch(args.fault) is None:
        raise UsageError(f"--fault {args.fault!r}: over HTTP the faults are reset:N and stall:N (body bytes)")
    if args.fault is not None and args.cancel is not None:
        raise UsageError("--fault and --cancel do not go together")
    return Spec(adapter, args.case, CANCEL_CHUNKING, _cancel_plan(args.cancel), args.fault, transport="http")


def _replay_http(args: argparse.Namespace) -> int:
    status = http_status_of(args.case)
    case: Case | None = None
    expected: list[Event] = []
    if status is None:
        case, expected = _load(args)
        if case is None:
            return 1
    elif args.http == "vcr":
        raise UsageError(f"{args.case} is an HTTP-error test: it runs on the loopback server (--http http)")
    adapter = make_adapter(load_factory(args.adapter), what=f"--adapter {args.adapter}")
    spec = _http_spec(args, adapter.name)
    limits = Limits(timeout=args.timeout if args.timeout is not None else 30.0)
    result, measured = execute_http(spec, adapter, case, expected, limits)
    return _verdict(args, result, socket_json(measured))


def _load(args: argparse.Namespace) -> tuple[Case | None, list[Event]]:
    """The case ``args.case`` names and its expected sequence (``None``: reported, exit 1)."""
    root = Path(args.cases) if args.cases else CASSETTES_ROOT
    folder = root / args.case
    if not (folder / "case.json").is_file():
        raise UsageError(f"no case {args.case!r} under {root} (see `conformance list`)")
    try:
        case = load_case(folder)
        return case, expected_events(case)
    except CaseError as exc:
        print(f"conformance replay: {exc.describe()}", file=sys.stderr)
        return None, []


def _verdict(args: argparse.Namespace, result: Result, socket: dict[str, Any] | None = None) -> int:
    """Print a replayed test's verdict (and diff, findings, what the server saw of a
    cancel, events); the exit status."""
    verdict = result.judgement.verdict
    print(f"{result.spec.test_id}: {verdict.value}")
    if socket is not None:
        print(f"  socket: {json.dumps(socket, sort_keys=True)}")
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


def _replay_command(args: argparse.Namespace) -> int:
    if args.case.endswith(f"/{PROPERTY}"):
        return _replay_property(args)
    if http_status_of(args.case) is not None and args.http is None:
        args.http = "http"  # an HTTP-error test exists only on the loopback server
    if args.http is not None:
        return _replay_http(args)
    case, expected = _load(args)
    if case is None:
        return 1
    adapter = make_adapter(load_factory(args.adapter), what=f"--adapter {args.adapter}")
    chunking = parse_chunking(args.chunking).name
    if args.fault is not None:
        if args.cancel is not None:
            raise UsageError("--fault and --cancel do not go together")
        find_fault(case, expected, args.fault)  # a UsageError naming the case's faults
        chunking = CANCEL_CHUNKING
    spec = Spec(adapter.name, case.id, chunking, _cancel_plan(args.cancel), fault=args.fault)
    limits = Limits(timeout=args.timeout if args.timeout is not None else 30.0)
    return _verdict(args, execute(spec, adapter, case, expected, limits))


def _replay_line(args: argparse.Namespace, seed: int | None = None) -> str:
    parts = ["conformance replay", args.case, f"--adapter {args.adapter}"]
    if seed is not None:
        parts += [f"--seed {seed}", f"--profile {args.profile}"]
    elif args.http is not None:
        parts.append(f"--http {args.http}")
        if args.fault:
            parts.append(f"--fault {args.fault}")
    elif args.fault:
        parts.append(f"--fault {args.fault}")
    else:
        parts.append(f"--chunking {args.chunking}")
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
    rep.add_argument(
        "case",
        help="case id, e.g. anthropic/messages/text-then-tool-use, or <api>/property for a property test",
    )
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
    rep.add_argument(
        "--fault", metavar="NAME", help="a fault of the case: truncate:N, error-frame:K, garbage:K"
    )
    rep.add_argument(
        "--seed", type=int, help="property tests: the seed (default: today's UTC date, YYYYMMDD)"
    )
    rep.add_argument("--profile", default="ci", help=f"property tests: {' or '.join(PROFILES)} (default: ci)")
    rep.add_argument(
        "--save", metavar="DIR", help="property tests: write the failing example as a case folder"
    )
    rep.add_argument(
        "--http",
        choices=("vcr", "http"),
        help="HTTP-level adapters: vcr (the cassette replayed by vcrpy) or http (the loopback server; "
        "with --cancel MODE@K, --fault reset:N or stall:N, or an <api>/http-<status> case)",
    )
    rep.add_argument("--cases", metavar="DIR", help="corpus folder (default: the bundled cassettes)")
    rep.add_argument("--timeout", type=float, metavar="SECONDS", help="per-stream time bound (default 30)")
    rep.add_argument("--events", action="store_true", help="also print the adapter's canonical events")
    rep.set_defaults(handler=_replay_command)
