"""Codec for Cohere v2 Chat streaming (``POST /v2/chat``, ``stream: true``): ``cohere/chat``.  No I/O.

Wire facts, with their sources (see ``shared/reference/FORMATS.md`` §6):

* SSE; every payload is a named event whose ``event:`` equals its JSON ``type``
  (``message-start, content-start, content-delta, content-end, tool-plan-delta,
  tool-call-start, tool-call-delta, tool-call-end, citation-start, citation-end,
  message-end, debug``: cohere-py ``v2/types/v2chat_stream_response.py``, cohere-docs
  ``v2/docs/streaming``).  After ``message-end`` the server sends a bare ``data: [DONE]``
  with no event line, which cohere-py skips (``v2/raw_client.py``:
  ``if _sse.data == "[DONE]"``).  Recorded: ``cohere__text.txt``.
* Inside deltas ``tool_calls`` and ``citations`` are single objects, not lists; a tool
  call starts with ``arguments: ""`` (``cohere__tool-plan-then-tool-call.txt``).
* ``message-end.delta`` carries ``finish_reason`` (``COMPLETE, STOP_SEQUENCE, MAX_TOKENS,
  TOOL_CALL, ERROR, TIMEOUT``: cohere-py ``types/chat_finish_reason.py``) and ``usage``
  ``{billed_units, tokens, cached_tokens?}``; an in-band failure is ``finish_reason:
  "ERROR"`` with ``usage: {}``, ``error`` and ``error_type``
  (``cohere__in-stream-error-invalid-tool-generation.txt``).

Decisions (the decoder module lists the whole mapping):

* ``[DONE]`` is optional.  ``message-end`` is the terminal and carries the finish reason
  and usage, so nothing is lost when ``[DONE]`` is missing, and cohere-py ends the same
  way with or without it.  A stream that ends before ``message-end`` is ``protocol``.
* Tool plan -> ``reasoning``.  Cohere calls it a chain-of-thought style plan written
  before tool calls; it is not the answer and is echoed back in its own ``tool_plan``
  field, not in ``content`` -- as reasoning is.  It has no start/end events, so the block
  ends when the next block starts.
* Usage: ``tokens.input_tokens``/``output_tokens`` are the real counts and become
  ``input_tokens``/``output_tokens``; ``billed_units`` are billing units (4 billed for
  70 real input tokens in ``cohere__text.txt``) and are ignored; ``cached_tokens`` ->
  ``cache_read``.  Recorded ``cached_tokens`` (1360 of 1394) never exceed
  ``tokens.input_tokens``, so that count already includes them and is not summed.
* ``ERROR``/``TIMEOUT`` -> an ``error`` event (SPEC §6 prefers it to ``finish{error}``):
  message = ``error`` (or a description), code = ``error_type`` (or the finish reason).
  Category: ``INVALID_TOOL_GENERATION`` -> ``invalid_request`` (Cohere answers the same
  ``error_type`` with HTTP 422 before a stream, and its message says to change the
  messages or tool definitions); ``TIMEOUT`` -> ``timeout``; else ``unknown``.
* ``TOOL_CALL`` without any tool call -> ``other`` (raw reason kept): ``finish{tool_calls}``
  needs a call to run.

Surprises in the recordings: the in-stream error arrives after a whole tool plan and no
tool call (so the plan is cut off: it ends ``incomplete``); a citation can arrive after
its text block's ``content-end`` (vercel/ai ``cohere-citations.chunks.txt``).  The legacy
v1 API (``/v1/chat``, NDJSON with ``event_type``/``is_finished``,
``cohere-v1__ndjson-stream-json.txt``) is a different API and not decoded here.
"""

from __future__ import annotations

from conformance.vendors._base import Codec
from conformance.vendors.cohere_chat.decoder import CohereChatDecoder
from conformance.vendors.cohere_chat.encoder import Knobs, encode

__all__ = ["CODEC", "CohereChatDecoder", "Knobs", "encode"]

CODEC: Codec[Knobs] = Codec(
    api="cohere/chat",
    framings=("sse",),
    flavours=("cohere",),
    decoder=CohereChatDecoder,
    encoder=encode,
    knobs=Knobs(),
    payload_schema="vendors/cohere/chat.schema.json",
)
