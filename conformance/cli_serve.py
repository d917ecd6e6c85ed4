"""``conformance serve``: the loopback fake-vendor server in the foreground.

I/O: listens on a TCP port (``conformance.server``), prints the URL, the routes and a
ready ``curl -N`` example to stdout, and one line per exchange to stderr (route, case,
status, bytes and frames written, how it ended).  Ctrl-C or SIGTERM stops it cleanly
(exit status 0); a port that cannot be bound is exit status 1, a bad option 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shlex
import signal
import sys
from typing import Any

from conformance.cassettes import CASSETTES_ROOT
from conformance.chunking import STRATEGY_NAMES, parse_chunking
from conformance.errors import UsageError
from conformance.server.cases import default_case_id, find_case
from conformance.server.drift import MUTATIONS, parse_mutations
from conformance.server.plan import FRAMES_CHUNKING
from conformance.server.records import ConnectionRecord
from conformance.server.routes import ROUTES, route_for_api
from conformance.server.server import LoopbackServer

__all__ = ["DEFAULT_PORT", "add_serve_command", "describe_exchange"]

#: The port ``conformance serve`` listens on unless told otherwise.
DEFAULT_PORT = 8765


def add_serve_command(sub: Any, prog: str = "conformance") -> None:
    """Register ``serve`` on the command line's subparsers (``sub``)."""
    parser = sub.add_parser(
        "serve",
        help="run the loopback fake-vendor server: vendor routes streaming corpus cases chunk by chunk",
        description="Serve corpus cases over real HTTP/1.1 on the vendors' own routes, cut into chunks "
        "by a chunking strategy and paced by a delay, for adapters and for curl -N. A request picks its "
        "case with the x-conformance-case header (or ?conformance-case=, or a model name that is a case "
        "id); see docs/server.md. Ctrl-C stops it.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0 = any free port)"
    )
    parser.add_argument("--case", metavar="ID", help="the case served when a request names none")
    parser.add_argument(
        "--chunking",
        default=FRAMES_CHUNKING,
        metavar="STRATEGY",
        help=f"how bodies are cut into writes (default: {FRAMES_CHUNKING}, one write per vendor frame; "
        f"or one of {', '.join(STRATEGY_NAMES)})",
    )
    parser.add_argument("--delay-ms", type=float, default=0.0, metavar="D", help="pause between writes (ms)")
    parser.add_argument(
        "--first-delay-ms", type=float, default=0.0, metavar="D", help="pause before the first write (ms)"
    )
    parser.add_argument("--cases", metavar="ROOT", help="corpus root (default: the bundled corpus)")
    parser.add_argument(
        "--drift",
        default="",
        metavar="MUTATION[,...]",
        help=f"behave like a vendor that changed its stream: {', '.join(MUTATIONS)} "
        "(docs/nightly.md; a request's x-conformance-drift header replaces the list)",
    )
    parser.set_defaults(handler=lambda args: _command(args, prog))


def _command(args: argparse.Namespace, prog: str) -> int:
    root = args.cases or str(CASSETTES_ROOT)
    if args.chunking.strip().lower() != FRAMES_CHUNKING:
        parse_chunking(args.chunking)  # UsageError -> exit 2
    if args.chunking.strip().lower() == "every-split":
        raise UsageError("every-split is many chunkings, not one: choose another --chunking")
    for name in ("delay_ms", "first_delay_ms"):
        if not getattr(args, name) >= 0:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 0")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is not a port number")
    if args.case is not None:
        find_case(args.case, root)
    drift = parse_mutations(args.drift)
    server = LoopbackServer(
        args.host,
        args.port,
        default_case=args.case,
        chunking=args.chunking,
        delay_ms=args.delay_ms,
        first_delay_ms=args.first_delay_ms,
        cases_root=root,
        on_exchange=lambda record: print(describe_exchange(record), file=sys.stderr, flush=True),
        drift=drift,
    )
    try:
        asyncio.run(_serve(server, args, root))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(
            f"{prog} serve: error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    print(f"{prog} serve: stopped", file=sys.stderr, flush=True)
    return 0


async def _serve(server: LoopbackServer, args: argparse.Namespace, root: str) -> None:
    task = asyncio.ensure_future(server.serve(ready=lambda: _banner(server, args, root)))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on every platform
            loop.add_signal_handler(signum, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _banner(server: LoopbackServer, args: argparse.Namespace, root: str) -> None:
    lines = [
        f"serving on {server.url}",
        "",
        "routes (POST; any of them also under /_t/<token>/ for planned responses):",
    ]
    width = max(len(spec.pattern) for spec in ROUTES)
    lines += [f"  {spec.pattern:<{width}}  {spec.api}" for spec in ROUTES]
    chosen = args.case or "(the route's default case, e.g. synthetic-text)"
    lines += [
        "",
        f"default case: {chosen}; chunking {args.chunking}; delay {args.delay_ms:g} ms "
        f"(first {args.first_delay_ms:g} ms); drift: {', '.join(server.drift) or 'none'}",
        "per request: x-conformance-case, -chunking, -delay-ms, -first-delay-ms, -reset-after, -stall-after,",
        "  -error, -drift (headers; or the query parameters conformance-case=... etc.)",
        "",
        "try:",
        f"  {example_curl(server.url, args.case, root)}",
        "",
    ]
    print("\n".join(lines), flush=True)


def example_curl(url: str, case_id: str | None, root: str) -> str:
    """A ready ``curl -N`` command streaming ``case_id`` (or a default text case)."""
    if case_id is None:
        case_id = default_case_id("anthropic/messages", root) or "anthropic/messages/synthetic-text"
    api = case_id.rsplit("/", 1)[0]
    framing = None
    with contextlib.suppress(Exception):
        framing = find_case(case_id, root).framing
    spec = route_for_api(api, framing)
    path = spec.example if spec is not None else "/v1/messages"
    parts = [
        "curl",
        "-N",
        f"{url}{path}",
        "-H",
        "content-type: application/json",
        "-H",
        f"x-conformance-case: {case_id}",
        "-H",
        "x-conformance-delay-ms: 200",
        "-d",
        '{"stream": true}',
    ]
    return shlex.join(parts)


def describe_exchange(record: ConnectionRecord) -> str:
    """One log line for an exchange."""
    what = record.case_id or record.api or "-"
    parts = [
        f"#{record.id} conn {record.connection}",
        f"{record.method} {record.target}",
        f"-> {record.status}",
        what,
        f"{record.bytes_written}/{record.planned_bytes} B",
        f"{record.frames_written}/{record.planned_frames} frames",
    ]
    if record.note:
        parts.append(f"({record.note})")
    if record.reset_at is not None:
        parts.append("reset by plan")
    elif record.stalled_at is not None:
        parts.append("stalled by plan")
    if record.client_closed_at is not None and record.finished_at is None and record.response_at is not None:
        parts.append(f"client disconnected after {record.client_closed_at - record.response_at:.3f} s")
    elif record.finished_at is not None:
        parts.append(f"complete in {record.finished_at - (record.request_at or record.opened_at):.3f} s")
    return "  ".join(parts)
