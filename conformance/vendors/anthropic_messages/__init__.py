"""Codec for ``anthropic/messages``: Anthropic Messages ``POST /v1/messages`` with ``stream: true``.  No I/O.

Wire format (FORMATS.md §3; anth-docs "Streaming Messages"; anthropic-sdk-python
``_streaming.py``, ``types/raw_*``, ``lib/streaming/_messages.py``): SSE where every
event's ``event:`` name equals its JSON ``type``::

    message_start -> (content_block_start, content_block_delta*, content_block_stop)*
                  -> message_delta+ -> message_stop          (ping anywhere)

A failure is an ``event: error`` (``{"type":"error","error":{"type":...,"message":...}}``,
live with ``details: null`` and ``request_id``), after which the connection closes
without ``message_stop``.  Flavour: ``anthropic`` only (Bedrock invoke and Vertex
variants are not covered yet).

Mapping to the canonical model (decoder.py):

* ``message_start`` -> ``response.start`` (``message.id``, ``message.model``) and a
  usage snapshot.  An identical repeat is ignored; a *different* ``message_start``
  while the message is open is an ``error{protocol}``
  (``anthropic.duplicate_or_spliced_message_start``).  Whole blocks already inside
  ``message.content`` are delivered as blocks.
* Blocks are keyed by the vendor ``index``: ``text`` -> ``text``; ``thinking`` ->
  ``reasoning`` whose end carries the ``signature_delta`` value (the last one, as the
  SDK keeps it; a non-empty ``signature`` in the start counts too);
  ``redacted_thinking`` -> ``reasoning`` with ``redacted`` = ``data`` and no deltas;
  ``tool_use`` -> ``tool_call`` and ``server_tool_use``/``mcp_tool_use`` ->
  ``server_tool_call`` (id, name; ``partial_json`` fragments exactly as sent, the
  empty first one dropped by the builder; a non-empty start ``input`` becomes one
  compact JSON fragment); ``*_tool_result`` -> ``server_tool_result`` with ``id`` =
  ``tool_use_id``, ``name`` = the vendor block type (e.g. ``web_search_tool_result``:
  which tool answered, and what an encoder needs) and ``data`` = ``content`` on the
  start.  Other block types -> ``unknown`` (their deltas and stop too).
* ``citations_delta`` -> a ``citation`` block with ``data`` = the citation object,
  started and ended at its place inside the text block (a text start's own
  ``citations`` likewise).
* ``content_block_stop`` ends a block.  A block without one when the message stops,
  errors or the bytes end is ended ``incomplete``, keeping its signature
  (``max_tokens.truncation_mid_tool_call``: no arguments are parsed).
* Usage (cumulative): ``input_tokens`` = ``input_tokens`` + ``cache_creation_input_tokens``
  + ``cache_read_input_tokens`` (the SDK's ``Usage`` docstring: the total input is
  their sum); ``cache_write``/``cache_read`` are those two; ``output_tokens`` as sent;
  ``reasoning_tokens`` = ``output_tokens_details.thinking_tokens``.  Each vendor count
  carries forward until reported again, and a later report wins
  (``anthropic.message_delta_usage_overrides``).  Input is ``None`` while the vendor's
  ``input_tokens`` is unknown, even if cache counts are.
* ``message_delta`` remembers ``stop_reason`` (a later ``null`` does not erase it);
  ``message_stop`` finishes with it: ``end_turn``/``stop_sequence`` -> ``stop``,
  ``max_tokens`` -> ``length``, ``model_context_window_exceeded`` -> ``length`` (the
  output was cut by the context window, the same consequence for a client),
  ``tool_use`` -> ``tool_calls``, ``pause_turn`` -> ``pause``, ``refusal`` ->
  ``refusal`` (maybe with zero blocks: ``anthropic.refusal_no_content_blocks``),
  anything else -> ``other``; no stop reason at all -> ``other`` without
  ``raw_reason``.  ``stop_details`` (refusal category and explanation) and
  ``stop_sequence`` have no place in model v1 and are dropped.
* ``error`` -> ``error`` with ``code`` = ``error.type`` verbatim and the category
  from it (``overloaded_error`` -> overloaded, ``api_error`` -> server,
  ``rate_limit_error`` -> rate_limit, ``invalid_request_error``/``request_too_large``
  -> invalid_request, ``authentication_error`` -> auth, ``permission_error``/
  ``billing_error`` -> permission, ``not_found_error`` -> not_found,
  ``timeout_error`` -> timeout, others -> unknown); no ``status`` (the payload
  has none).  Its phase follows from the blocks already delivered
  (``anthropic.error_event_as_first_event``, ``anthropic.error_event_after_content``).
* ``ping`` -> nothing; an empty ``data`` -> nothing (the SDK skips it); unknown
  event types -> ``unknown`` (``anthropic.unknown_event_types``); a delta or stop
  for an index that is not open, a delta of the wrong type for its block, a start
  for an open index, or a first ``message_start`` after other message events ->
  ``error{protocol}``.  Events before any ``message_start`` are decoded as they come
  (no ``response.start``).  After the terminal every payload
  but ``ping`` is kept as ``unknown``.

Surprises in the recorded streams (the streams win):

* ``anthropic__programmatic-tool-calling-emoji-args-payloads.txt`` (vercel/ai) holds
  15 messages one after another (message_start ... message_stop, then 13
  ``message_start`` whose ``content`` already holds a whole ``tool_use`` and whose
  ``stop_reason`` is set, each followed by ``message_stop``, then a last full
  message).  One stream is one response here: the first ``message_stop`` is the
  terminal and the rest is kept as ``unknown``.
* ``anthropic__minimal-text-padded-payloads.txt`` is raw SSE despite its name; only
  PROVENANCE's ``format`` tells which recordings are payload lines.
* The SDK's synthetic refusal fixture (``anthropic__refusal-stop-details-synthetic.txt``)
  reports ``output_tokens`` 1 in ``message_start`` and 0 in ``message_delta``: decoded
  as sent, it breaks the SHOULD rule ``usage.output-monotonic``.
* Programmatic tool calls can arrive whole: ``content_block_start`` with the full
  ``input`` object and no ``input_json_delta`` at all.
* ``message_delta.usage`` may carry ``output_tokens_details.thinking_tokens``
  (``anthropic__refusal-no-content-blocks.txt``, ``anthropic__pause-turn-web-search.txt``),
  which maps to ``reasoning_tokens``.
"""

from __future__ import annotations

from conformance.vendors._base import Codec
from conformance.vendors.anthropic_messages.decoder import AnthropicMessagesDecoder
from conformance.vendors.anthropic_messages.encoder import Knobs, encode

__all__ = ["CODEC", "AnthropicMessagesDecoder", "Knobs", "encode"]

CODEC: Codec[Knobs] = Codec(
    api="anthropic/messages",
    framings=("sse",),
    flavours=("anthropic",),
    decoder=AnthropicMessagesDecoder,
    encoder=encode,
    knobs=Knobs(),
    payload_schema="vendors/anthropic/messages.schema.json",
)
