"""A drifting vendor: named mutations of a stream's vendor payloads.  No I/O.

Vendors change their streams without notice.  To test the record -> drift loop end to end
(docs/nightly.md), the loopback server can behave like a vendor that changed: it takes a
case's body, applies mutations to the vendor payloads and re-encodes them in the same
framing (SSE, NDJSON, JSON array, AWS eventstream).  Each mutation is a name:

======================  =====================================================================
``rename-field``        a payload field gets another name (e.g. Anthropic's
                        ``message_delta.usage.output_tokens`` -> ``output_token_count``)
``add-event-type``      a vendor event type nobody has seen is sent before the terminator
``reorder-events``      one event moves before another (e.g. Anthropic's ``message_delta``
                        before the last ``content_block_stop``; OpenAI Chat's usage chunk
                        before the finish chunk; Bedrock's ``metadata`` before ``messageStop``)
``resplit-tool-args``   each run of tool-argument fragments is cut at other points
``move-usage``          the usage object leaves the event it rode on for another one
``drop-terminator``     the vendor's end-of-stream event(s) are not sent
======================  =====================================================================

What each mutation does per API is data (:data:`~conformance.server.drift.profiles.PROFILES`).
A mutation that has nothing to act on -- tool arguments in a text-only case, an event type
in an API whose payloads have none -- leaves the body unchanged and is reported as not
applied (:attr:`Drifted.skipped`), never as an error.  Payloads a mutation does not touch
keep their exact bytes wherever the framing allows (SSE, NDJSON and eventstream are cut into
per-message byte segments; a JSON array is re-joined in Gemini's layout); a payload that
is changed is written as compact JSON.  With no mutation applied the body is returned
unchanged, byte for byte.

The pieces: :mod:`~conformance.server.drift.model` (mutation names, :class:`Drifted`),
:mod:`~conformance.server.drift.units` (framed messages <-> payload units, re-encoding,
payload paths), :mod:`~conformance.server.drift.profiles` (the per-API tables) and
:mod:`~conformance.server.drift.mutations` (the mutations and :func:`apply_drift`).
"""

from __future__ import annotations

from conformance.server.drift.model import DONE, MUTATIONS, Drifted, parse_mutations
from conformance.server.drift.mutations import apply_drift

__all__ = ["DONE", "MUTATIONS", "Drifted", "apply_drift", "parse_mutations"]
