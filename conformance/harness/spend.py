"""Cancelled spend: the usage a vendor had already sent when the consumer cancelled.  No I/O.

When a consumer cancels mid-stream the vendor has billed for what it generated so far.
Vendors put that figure in the stream (Anthropic's ``message_start`` carries the input
tokens; OpenAI's usage chunk comes last), so the spend known at the cancel is whatever
usage the bytes written *before* the cancel held.  :func:`usage_sent` decodes that prefix
of the served body with the API's reference decoder and returns the last usage snapshot
in it; the report sets it beside the usage the adapter's ``abort`` carried.

The two need not agree, and the suite does not ask them to: bytes the server had written
may still have been in flight when the consumer stopped, so an adapter can honestly know
less than the server sent.  A gap shows where cancelled spend goes untracked.
"""

from __future__ import annotations

from conformance.events import Usage, UsageCounts
from conformance.registry import get_codec

__all__ = ["usage_sent"]


def usage_sent(api: str, flavour: str | None, framing: str | None, body: bytes) -> UsageCounts | None:
    """The last usage snapshot in ``body`` (a prefix of a served stream), or ``None``.

    The prefix usually ends mid-frame; the decoder is never closed, so the cut does not
    count as a truncation, and a frame it cut in two is simply not decoded.
    """
    decoder = get_codec(api).new_decoder(flavour, framing=framing)
    last: Usage | None = None
    for event in decoder.feed(body):
        if isinstance(event, Usage):
            last = event
    return None if last is None else last.counts()
