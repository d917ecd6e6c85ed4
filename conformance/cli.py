"""The ``conformance`` command line.

I/O: reads the files named on the command line and writes to stdout/stderr.  Each
subcommand is a thin shell over the pure modules.  Exit status: 0 success, 1 a bad
stream or a failed check, 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.check import (
    CASSETTES_ROOT,
    Problem,
    check_path,
    corpus_listing,
    quirk_coverage,
    render_listing,
)
from conformance.chunking import STRATEGY_NAMES, parse_chunking
from conformance.cli_drift import add_drift_command
from conformance.cli_record import add_record_command
from conformance.cli_run import add_subcommands as add_run_commands
from conformance.cli_serve import add_serve_command
from conformance.errors import ConformanceError, UsageError
from conformance.events import Error, ErrorCategory, Event, dumps
from conformance.framing import FRAMINGS, decode, new_decoder
from conformance.import_vcr import add_subcommand as add_import_vcr
from conformance.registry import api_ids, get_codec

__all__ = ["main"]

PROG = "conformance"


@dataclass(frozen=True)
class _Decoded:
    lines: list[str]
    malformed: str | None = None  # the reference decoder's decode/protocol error message


def _decode_once(args: argparse.Namespace, chunks: Sequence[bytes]) -> _Decoded:
    if args.api is None:
        messages = decode(new_decoder(args.framing), chunks)
        return _Decoded([json.dumps(m.as_json(), ensure_ascii=False) for m in messages])
    decoder = get_codec(args.api).new_decoder(args.flavour, framing=args.framing)
    events: list[Event] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    last = events[-1] if events else None
    malformed = None
    if isinstance(last, Error) and last.category in (ErrorCategory.DECODE, ErrorCategory.PROTOCOL):
        malformed = last.message
    return _Decoded([dumps(e) for e in events], malformed)


def _decode_command(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"{PROG} decode: error: {path}: {exc.strerror}", file=sys.stderr)
        return 1
    if args.api is None and args.framing is None:
        raise UsageError("give --api API (canonical events) or --framing NAME (framed messages)")
    strategy = parse_chunking(args.chunking)
    if args.api is not None:
        get_codec(args.api).new_decoder(args.flavour, framing=args.framing)  # UsageError for bad names
    first: _Decoded | None = None
    count = 0
    for count, chunks in enumerate(strategy.chunkings(data), start=1):
        try:
            result = _decode_once(args, chunks)
        except ConformanceError as exc:
            exc.add_context(source=str(path), chunking=_describe(strategy.name, count))
            print(f"{PROG} decode: error: {exc.describe()}", file=sys.stderr)
            return 1
        if first is None:
            first = result
        elif result != first:
            where = _first_difference(first.lines, result.lines)
            print(
                f"{PROG} decode: error: {path}: chunking {_describe(strategy.name, count)} gave a different "
                f"result at line {where + 1} than the first chunking (a decoder bug: please report it)",
                file=sys.stderr,
            )
            return 1
    if first is None:
        return 0
    for line in first.lines:
        print(line)
    if first.malformed:
        print(f"{PROG} decode: error: {path}: malformed stream: {first.malformed}", file=sys.stderr)
        return 1
    return 0


def _describe(name: str, index: int) -> str:
    return name if name != "every-split" else f"every-split (cut #{index})"


def _first_difference(a: Sequence[object], b: Sequence[object]) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


def _shown(file: str) -> str:
    """``file`` relative to the working directory when it is below it."""
    path = Path(file).absolute()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return file


def _check_command(args: argparse.Namespace) -> int:
    report = check_path(args.path)
    for problem in report.problems:
        print(Problem(_shown(problem.file), problem.line, problem.message).render())
    print(report.summary())
    return 1 if report.problems else 0


def _list_command(args: argparse.Namespace) -> int:
    if args.quirks:
        listing = quirk_coverage(args.path, api=args.api)
    else:
        listing = corpus_listing(args.path, api=args.api)
    if args.json:
        print(json.dumps(listing, indent=2, ensure_ascii=False))
    else:
        for line in render_listing(listing):
            print(line)
    if listing["broken"]:
        print(
            f"{PROG} list: {len(listing['broken'])} case folder(s) do not load; `{PROG} check` says why",
            file=sys.stderr,
        )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Conformance suite for LLM streaming adapters.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    dec = sub.add_parser(
        "decode",
        help="print the canonical events (--api) or framed messages (--framing) of a raw stream file",
        description="Decode a raw stream file and print JSON lines: with --api, the canonical events the "
        "reference decoder makes of it; with only --framing, the framed messages. With a chunking that "
        "yields several cuts (every-split) every cut must agree. Exit 1 on a malformed or truncated stream.",
    )
    dec.add_argument("file", help="raw stream body (bytes exactly as received)")
    dec.add_argument("--api", choices=api_ids(), help="the vendor API whose reference decoder to use")
    dec.add_argument("--flavour", help="the API flavour (e.g. vllm for openai/chat-completions)")
    dec.add_argument(
        "--framing",
        choices=sorted(FRAMINGS),
        help="the stream's framing (with --api: only for APIs with several, e.g. gemini json-array)",
    )
    dec.add_argument(
        "--chunking",
        default="whole",
        metavar="STRATEGY",
        help=f"how to cut the bytes before feeding them (default: whole; one of {', '.join(STRATEGY_NAMES)})",
    )
    dec.set_defaults(handler=_decode_command)
    chk = sub.add_parser(
        "check",
        help="validate the cassette corpus (or one case folder): print every problem",
        description="Check every case folder: files, manifest, checksums, the vcrpy cassette, the "
        "expected sequence (its MUST rules, and the reference decoder's agreement when reviewed) "
        "and secrets. Prints file:line: message per problem and a summary; exit 1 on any problem.",
    )
    chk.add_argument("path", nargs="?", default=str(CASSETTES_ROOT), help="corpus root or one case folder")
    chk.set_defaults(handler=_check_command)
    lst = sub.add_parser(
        "list",
        help="list the APIs (flavours, framings) and the corpus cases, or quirk coverage",
        description="List each API with its flavours and framings and its cases (id, tier, "
        "description); with --quirks, each quirk id of the catalogue with the cases citing it.",
    )
    lst.add_argument(
        "path", nargs="?", default=str(CASSETTES_ROOT), help="corpus root (default: the bundled one)"
    )
    lst.add_argument("--api", choices=api_ids(), help="only this API")
    lst.add_argument("--quirks", action="store_true", help="per quirk id, the case ids that cover it")
    lst.add_argument("--json", action="store_true", help="print JSON instead of text")
    lst.set_defaults(handler=_list_command)
    add_import_vcr(sub, PROG)  # conformance import-vcr (conformance/import_vcr.py)
    add_run_commands(sub, PROG)  # conformance run / replay (conformance/cli_run.py)
    add_serve_command(sub, PROG)  # conformance serve (conformance/cli_serve.py)
    add_record_command(sub, PROG)  # conformance record --live (conformance/cli_record.py)
    add_drift_command(sub, PROG)  # conformance drift (conformance/cli_drift.py)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
    except UsageError as exc:
        parser.error(exc.message)  # exits with status 2
    except BrokenPipeError:  # the reader went away (``| head``): stop quietly
        sys.stderr.close()
        return 1
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
