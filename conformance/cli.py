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
from pathlib import Path

from conformance.chunking import STRATEGY_NAMES, parse_chunking
from conformance.errors import ConformanceError, UsageError
from conformance.framing import FRAMINGS, decode, new_decoder
from conformance.framing.messages import Message

__all__ = ["main"]

PROG = "conformance"


def _decode_command(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"{PROG} decode: error: {path}: {exc.strerror}", file=sys.stderr)
        return 1
    strategy = parse_chunking(args.chunking)
    first: list[Message] | None = None
    count = 0
    for count, chunks in enumerate(strategy.chunkings(data), start=1):
        try:
            messages = decode(new_decoder(args.framing), chunks)
        except ConformanceError as exc:
            exc.add_context(source=str(path), chunking=_describe(strategy.name, count))
            print(f"{PROG} decode: error: {exc.describe()}", file=sys.stderr)
            return 1
        if first is None:
            first = messages
        elif messages != first:
            where = _first_difference(first, messages)
            print(
                f"{PROG} decode: error: {path}: chunking {_describe(strategy.name, count)} gave a different "
                f"message #{where} than the first chunking (a framing bug: please report it)",
                file=sys.stderr,
            )
            return 1
    for message in first or []:
        print(json.dumps(message.as_json(), ensure_ascii=False))
    return 0


def _describe(name: str, index: int) -> str:
    return name if name != "every-split" else f"every-split (cut #{index})"


def _first_difference(a: Sequence[Message], b: Sequence[Message]) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Conformance suite for LLM streaming adapters.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    dec = sub.add_parser(
        "decode",
        help="print the framed messages of a raw stream file as JSON lines",
        description="Decode a raw stream file with one framing and print its messages as JSON lines. "
        "With a chunking that yields several cuts (every-split) every cut must agree.",
    )
    dec.add_argument("file", help="raw stream body (bytes exactly as received)")
    dec.add_argument("--framing", required=True, choices=sorted(FRAMINGS), help="the stream's framing")
    dec.add_argument(
        "--chunking",
        default="whole",
        metavar="STRATEGY",
        help=f"how to cut the bytes before feeding them (default: whole; one of {', '.join(STRATEGY_NAMES)})",
    )
    dec.set_defaults(handler=_decode_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
    except UsageError as exc:
        parser.error(exc.message)  # exits with status 2
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
