"""Codec for Cohere's legacy v1 chat stream (``POST /v1/chat``, streaming): ``cohere/chat-v1``.  No I/O.

Wire facts, with their sources (see ``shared/reference/FORMATS.md`` §6, "legacy v1"):

* NDJSON with content type ``application/stream+json`` (not SSE): one JSON object per
  line, discriminated by ``event_type``, each with ``is_finished`` (``true`` only on the
  last).  Recorded: ``cohere-v1__ndjson-stream-json.txt`` (langchain-ai/langchain-cohere
  cassette ``test_invoke_multihop_agent.yaml``).
* Event types ``stream-start`` (``generation_id``), ``search-queries-generation``,
  ``search-results``, ``text-generation`` (``text``), ``citation-generation``
  (``citations[{start, end, text, document_ids}]``), ``tool-calls-chunk``
  (``tool_call_delta{index, name?, parameters?, text?}``), ``tool-calls-generation``
  (``text?``, ``tool_calls[{name, parameters}]``: whole calls with an object of
  parameters and no id) and ``stream-end`` (``finish_reason``, ``response``: the
  aggregated non-streamed response with ``meta{api_version, billed_units, tokens}``)
  -- cohere-python ``types/streamed_chat_response.py``, ``tool_call_delta.py``,
  ``tool_call.py``, ``chat_citation.py``, ``api_meta.py``; Cohere's v1 streaming guide
  (docs.cohere.com/v1/docs/streaming: one ``stream-start``, one ``stream-end`` "returned
  only when streaming is finished" with the aggregated data).  A ``debug`` event is listed
  by an AsyncAPI description of the v1 stream (events.apis.io, cohere ``/v1/chat``).
* Finish reasons ``COMPLETE``, ``ERROR_LIMIT`` (cut off at the context length),
  ``MAX_TOKENS``, ``ERROR``, ``ERROR_TOXIC`` (a reply deemed toxic): cohere-python
  ``types/chat_stream_end_event.py`` and ``chat_stream_end_event_finish_reason.py``; older
  API references add ``USER_CANCEL``.  There is no tool-call finish reason.
* Tool-call streaming: the plan arrives as ``text`` on ``tool-calls-chunk`` lines, then
  per call ``{index, name}`` and ``{index, parameters}`` fragments that may interleave by
  ``index``, then one ``tool-calls-generation`` with the calls whole, matched to the
  streamed ones by position (vercel/ai's v1-era ``packages/cohere/src/
  cohere-chat-language-model.ts`` and its test streams; cohere-python ``ToolCallDelta.text``
  names the plan fragment inside the delta).

Decisions (the decoder module lists the whole mapping):

* ``stream-end`` is the terminator; ``is_finished`` must agree with it.  A stream that ends
  without it is ``protocol``.
* The response id is the ``generation_id`` of ``stream-start``: the only id before the
  content.  Tool calls have no id in v1; the decoder leaves ``id`` null rather than invent
  one (SPEC §3).
* Tool plan -> ``reasoning`` (decision 22, as for v2).  Streamed call fragments are the
  arguments; ``tool-calls-generation`` ends the turn's calls, and delivers whole only what
  was not streamed.
* Citations -> ``citation`` blocks whose ``data`` is the citation as sent; search queries
  and search results -> ``unknown`` (no canonical kind for retrieval metadata).
* Usage: ``response.meta.tokens`` (the model's token counts), not ``billed_units`` (billing
  units, which can differ: Cohere v2 recordings bill 4 of 70 real input tokens).  They
  agree in the recording (949 / 81).
* ``ERROR`` -> ``error{unknown}``, ``ERROR_LIMIT`` -> ``error{context_length}`` (code: the
  finish reason; v1 sends no message); ``ERROR_TOXIC`` -> ``finish{content_filter}`` as for
  other vendors' filtered output; ``COMPLETE`` with calls -> ``tool_calls``.

Surprises in the recording: it is a raw-prompted multi-hop agent, so the plan and a tool
call arrive as ordinary ``text-generation`` text ("Plan: ...", "Action: ```json ...```"):
the stream has no tool events, and decodes to one text block.  Its JSON escapes ``&``,
``<`` and ``>`` as ``\\u0026``, ``\\u003c``, ``\\u003e`` (Go's encoding/json default), and
``stream-end`` repeats the whole prompt in ``response.chat_history``.
"""

from __future__ import annotations

from conformance.vendors._base import Codec
from conformance.vendors.cohere_chat_v1.decoder import CohereChatV1Decoder
from conformance.vendors.cohere_chat_v1.encoder import Knobs, encode

__all__ = ["CODEC", "CohereChatV1Decoder", "Knobs", "encode"]

CODEC: Codec[Knobs] = Codec(
    api="cohere/chat-v1",
    framings=("ndjson",),
    flavours=("cohere",),
    decoder=CohereChatV1Decoder,
    encoder=encode,
    knobs=Knobs(),
    payload_schema="vendors/cohere/chat-v1.schema.json",
)
