"""``conformance drift BASELINE CANDIDATE``: how a fresh recording differs from the corpus.

I/O: reads the two corpora and writes the report to stdout.  The comparison is
:mod:`conformance.drift`; ``docs/drift.md`` explains the findings.  Exit status: 0 when
no finding is at or above ``--fail-on`` (default ``critical``), 1 when one is, 2 for a
usage error (a path that is not a corpus, an unknown API).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from conformance.drift import (
    DriftReport,
    Severity,
    at_or_above,
    drift,
    load_corpus,
    render_json,
    render_markdown,
)
from conformance.drift.canonical import MODES
from conformance.errors import UsageError
from conformance.registry import api_ids

__all__ = ["add_drift_command"]


def _json_text(report: DriftReport) -> str:
    return render_json(report) + "\n"


_RENDERERS: dict[str, Callable[[DriftReport], str]] = {"md": render_markdown, "json": _json_text}


def _drift_command(args: argparse.Namespace) -> int:
    baseline = load_corpus(args.baseline, label="BASELINE", expected=True, api=args.api)
    if not baseline.cases:
        where = f" of API {args.api}" if args.api else ""
        msg = f"BASELINE {args.baseline}: no cases{where} (expected <vendor>/<api-name>/<case>/case.json)"
        raise UsageError(msg)
    candidate = load_corpus(args.candidate, label="CANDIDATE", expected=False, api=args.api)
    report = drift(baseline, candidate, canonical=args.canonical)
    print(_RENDERERS[args.format](report), end="")
    threshold = Severity(args.fail_on)
    return 1 if any(at_or_above(f.severity, threshold) for f in report.findings) else 0


def add_drift_command(sub: Any, prog: str) -> None:
    """Register ``drift`` on the subparsers object ``sub`` of the ``prog`` command."""
    cmd = sub.add_parser(
        "drift",
        help="compare a candidate corpus (e.g. a live recording) with a baseline: what drifted",
        description="Compare two corpora case by case and per API: payload-schema violations, event "
        "types added or removed, field paths and JSON types added, removed or changed, the order of "
        "vendor events, and the candidate's canonical decoding against the baseline's expected "
        "sequence. Findings are critical, warning or info; cases that could not be checked are "
        "listed apart. Exit 1 when a finding is at or above --fail-on. See docs/drift.md.",
    )
    cmd.add_argument("baseline", help="the baseline corpus root (e.g. cassettes)")
    cmd.add_argument("candidate", help="the candidate corpus root (e.g. the output of record --live)")
    cmd.add_argument("--format", choices=sorted(_RENDERERS), default="md", help="md (default) or json")
    cmd.add_argument(
        "--fail-on",
        choices=[Severity.CRITICAL.value, Severity.WARNING.value],
        default=Severity.CRITICAL.value,
        help="the lowest severity that makes the exit status 1 (default: critical)",
    )
    cmd.add_argument("--api", choices=api_ids(), help="compare only this API's cases")
    cmd.add_argument(
        "--canonical",
        choices=MODES,
        default="exact",
        help="exact (default): the candidate's canonical decoding must equal the baseline's expected "
        "sequence (a replay, the loopback server); shape: a live recording, whose words, ids and token "
        "counts differ, must decode without error to the same skeleton (event types, block kinds, "
        "usage fields, finish reason)",
    )
    cmd.set_defaults(handler=_drift_command)
