"""The loopback fake-vendor server (``conformance serve``), and the plans it answers with.

I/O through :class:`LoopbackServer` (a real HTTP/1.1 server on 127.0.0.1, built on h11
over asyncio) and :func:`plan_for_case` (reads a case's stream file); the rest is pure:

* ``conformance.server.routes``  -- vendor routes -> API id, framing, model;
* ``conformance.server.errors``  -- each vendor's own HTTP error bodies, and the canonical
  error an adapter should make of them;
* ``conformance.server.plan``    -- :class:`Plan`, one response: chunks, delays, frame
  ends, reset or stall;
* ``conformance.server.records`` -- :class:`ConnectionRecord`, what the server saw of one
  exchange (bytes and frames written, when, and when the client went away);
* ``conformance.server.cases``   -- corpus cases as plans (reads case folders);
* ``conformance.server.choose``  -- which plan answers a request (tokens, curl mode);
* ``conformance.server.wire``    -- one connection's socket reads and writes;
* ``conformance.server.server``  -- :class:`LoopbackServer`.

The harness registers a plan, points the adapter at the token's base URL, and reads the
record back::

    with LoopbackServer() as server:
        token = server.expect(plan_for_case("anthropic/messages/minimal-text-padded", delay_ms=5))
        ...  # the adapter streams from server.base_url(token) + "/v1/messages"
        record = server.wait_closed(token, timeout=5.0)

docs/server.md has the routes, the curl knobs and the whole API.
"""

from __future__ import annotations

from conformance.server.cases import default_case_id, find_case, plan_for_case
from conformance.server.errors import ERROR_STATUSES, EXPECTATIONS, VendorError, vendor_error
from conformance.server.plan import FRAMES_CHUNKING, Plan, error_plan, frame_ends, plan_for_bytes
from conformance.server.records import ConnectionRecord
from conformance.server.routes import ROUTES, Route, match_route
from conformance.server.server import KNOB_HEADERS, LoopbackServer

__all__ = [
    "ERROR_STATUSES",
    "EXPECTATIONS",
    "FRAMES_CHUNKING",
    "KNOB_HEADERS",
    "ROUTES",
    "ConnectionRecord",
    "LoopbackServer",
    "Plan",
    "Route",
    "VendorError",
    "default_case_id",
    "error_plan",
    "find_case",
    "frame_ends",
    "match_route",
    "plan_for_bytes",
    "plan_for_case",
    "vendor_error",
]
