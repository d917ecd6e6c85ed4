"""``conformance record --live``: re-record the corpus's requests from the vendors.

I/O: reads the baseline corpus, sends requests (``conformance.live``), writes case folders
under ``--out`` and prints one line per case to stdout as it is done -- ``recorded``,
``skipped`` (why: ``no key: set OPENAI_API_KEY``) or ``failed`` (status, error) -- then a
summary.  Exit status: 0 when nothing failed (skipped cases are not failures), 1 when a
case failed, 2 for a usage error (no ``--live``, ``--out`` inside the baseline, httpx
missing...).

``record`` is the only command that may reach a real vendor, so it does so only when
asked explicitly with ``--live``.  ``--base-url URL`` sends every request to ``URL``
instead of the vendor's host, with an ``x-conformance-case: <case id>`` header, so that
the loopback server (``conformance serve``, optionally with ``--drift``) answers with that
case; the vendor's key is still required and sent, as it would be to the vendor.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from conformance.cassettes import CASSETTES_ROOT
from conformance.errors import UsageError
from conformance.live.record import Outcome, record_live, select_cases, summary
from conformance.live.select import keyword_matcher
from conformance.live.send import require_httpx
from conformance.live.store import check_out_dir
from conformance.registry import api_ids

__all__ = ["add_record_command"]

_WIDTH = len("recorded")


def add_record_command(sub: Any, prog: str = "conformance") -> None:
    """Register ``record`` on the command line's subparsers (``sub``)."""
    parser = sub.add_parser(
        "record",
        help="with --live: re-record the corpus's requests from the real vendors into a new folder",
        description="Send each recordable case's stored request to its vendor (keys from the vendor's "
        "usual environment variables), capture the stream with its chunk boundaries, scrub every "
        "credential before anything is written, and write the recordings atomically into --out (never "
        "into the baseline). Compare them with `conformance drift BASELINE OUT`. See docs/nightly.md.",
    )
    parser.add_argument(
        "--live", action="store_true", help="really send requests (required: recording is explicit)"
    )
    parser.add_argument("--out", metavar="DIR", help="the folder the recordings go to (a corpus root)")
    parser.add_argument("--api", choices=api_ids(), help="only this API")
    parser.add_argument("-k", dest="keyword", metavar="EXPR", help="only case ids matching this expression")
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="send every request here instead of the vendor's host, with x-conformance-case: <case id> "
        "(e.g. the loopback server of `conformance serve`)",
    )
    parser.add_argument("--cases", metavar="ROOT", help="the baseline corpus (default: the bundled one)")
    parser.add_argument(
        "--timeout", type=float, default=120.0, metavar="S", help="seconds per request (default: 120)"
    )
    parser.set_defaults(handler=lambda args: _command(args, prog))


def _line(index: int, total: int, outcome: Outcome) -> str:
    width = len(str(total))
    return f"[{index:>{width}}/{total}] {outcome.status:<{_WIDTH}}  {outcome.case_id}  {outcome.detail}"


def _command(args: argparse.Namespace, prog: str) -> int:
    if not args.live:
        raise UsageError(
            "recording reaches the real vendors with your keys, so it is explicit: "
            f"`{prog} record --live --out DIR` (see docs/nightly.md)"
        )
    if args.out is None:
        raise UsageError("record --live needs --out DIR, the folder the recordings go to")
    if not args.timeout > 0:
        raise UsageError("--timeout must be > 0")
    if args.base_url is not None and not args.base_url.startswith(("http://", "https://")):
        raise UsageError(f"--base-url {args.base_url!r} is not an http:// or https:// URL")
    root = Path(args.cases) if args.cases else CASSETTES_ROOT
    if not root.is_dir():
        raise UsageError(f"--cases {root} is not a folder")
    out = check_out_dir(args.out, root)
    require_httpx()
    selection = select_cases(root, api=args.api, matches=keyword_matcher(args.keyword))

    def report(index: int, total: int, outcome: Outcome) -> None:
        print(_line(index, total, outcome), flush=True)

    outcomes = record_live(
        selection, out, environ=os.environ, base_url=args.base_url, timeout=args.timeout, report=report
    )
    counts = summary(outcomes)
    print(
        f"{prog} record: {counts['recorded']} recorded, {counts['skipped']} skipped, "
        f"{counts['failed']} failed ({len(selection.cases)} recordable cases selected, "
        f"{selection.not_recordable} without a stored request); written to {out}",
        flush=True,
    )
    if not counts["recorded"] and not counts["failed"] and selection.cases:
        print(f"{prog} record: nothing was recorded: set the vendors' key variables", file=sys.stderr)
    return 1 if counts["failed"] else 0
