"""The OpenAI Responses API stream (``POST /v1/responses``, ``stream: true``): codec.  No I/O.

Wire facts (FORMATS.md §2; oai-py ``types/responses/response_stream_event.py``):
SSE events named after their JSON ``type``; no ``[DONE]`` from api.openai.com or
Azure, while OpenRouter's endpoint sends no ``event:`` lines, SSE keep-alive comments
and a final ``data: [DONE]``.  Output items are addressed by ``output_index`` and
``item_id``; ``sequence_number`` is absent on 2025-03 streams and starts at N+1 on a
resumed one.  Usage is only in the terminal response object.

Mapping decisions (the reference decoder, every flavour alike):

* ``response.created`` / ``.in_progress`` / ``.queued`` -> ``response.start`` (id,
  model) once; a different response id before the terminal is a ``decode`` error.
* ``message`` items: an ``output_text`` part -> a ``text`` block, a ``refusal`` part
  -> a ``refusal`` block, ended at ``content_part.done``.  ``.done`` events and the
  final item are settled against the deltas: text they have beyond the deltas is
  delivered as one more delta (a ``.done`` without deltas still delivers its text);
  text that disagrees with the deltas is ignored (the deltas were shown).
* ``response.output_text.annotation.added`` -> a ``citation`` block (start ``data`` =
  the annotation), opened and ended at once.
* ``reasoning`` items: ONE reasoning block PER summary part (and per raw
  ``reasoning_text`` content part, OpenRouter/DeepSeek), all ended with the item;
  the item's ``encrypted_content`` (the final item's, not the interim value on
  ``output_item.added``) is the ``signature`` of its last block.  An item that
  finishes without any text still gives one reasoning block (with the signature if
  there is one): the model reasoned, and the encrypted content must be echoed back.
* ``function_call`` items -> ``tool_call`` (id = ``call_id``, not the item id
  ``fc_...``; arguments from ``function_call_arguments.delta``, a ``.done`` without
  deltas delivering them whole); ``custom_tool_call`` items likewise (their free-form
  ``input`` is the argument text, so it usually ends with ``arguments_error``).
* Server tools (``web_search_call``, ``file_search_call``, ``code_interpreter_call``,
  ``image_generation_call``, ``mcp_call``, ``mcp_list_tools``) -> ``server_tool_call``
  (id = item id, name = the type without ``_call``) whose arguments are the item's
  input fields, compact JSON, delivered at ``output_item.done``; its output fields
  (``results``, ``outputs``, ``result``, ``output``, ``tools``, ``error``) -> a
  ``server_tool_result`` with them as ``data``.  Progress events produce nothing.
* Terminal: ``response.completed`` -> ``finish`` (``tool_calls`` if a function call
  completed, else ``stop``; raw = ``status``), after settling items left open against
  ``response.output``; ``response.incomplete`` -> open blocks end incomplete, then
  ``finish`` from ``incomplete_details.reason`` (``max_output_tokens`` -> length,
  ``content_filter`` -> content_filter, else other; raw = the reason, or the status
  when none); ``response.failed`` -> ``error`` from ``response.error``.  Usage from
  the response object (``cached_tokens`` -> cache_read, ``cache_write_tokens`` ->
  cache_write, ``reasoning_tokens``), before the terminal.
* ``error`` events (nested ``{"error": {...}}`` or the SDK's flat form) followed by
  ``response.failed``: exactly one canonical ``error``, the ``error`` event's; the
  ``response.failed`` only adds its usage.  ``insufficient_quota`` is ``permission``
  (not retryable: retrying cannot succeed until billing changes), code kept verbatim.
* The terminal event is the terminator in every flavour: OpenRouter's trailing
  ``data: [DONE]`` is accepted but not required; ``[DONE]`` before a terminal is a
  ``protocol`` error.  After the terminal, every payload is ``unknown`` without
  ``raw``: the multi-step recording (four responses concatenated) decodes as its
  first response followed by unknowns, deterministic and rule-abiding.
* Events bind to items by ``output_index`` (``item_id`` only when the index is
  missing); ``sequence_number`` is never checked (absent, or starting at N+1).
* Unknown event types, unknown item types (``computer_call``, ``shell_call``...) and
  unknown content part types -> ``unknown`` with the payload.

Surprises in the real streams: the OpenRouter recording ends the reasoning item
(``reasoning_text.done``, ``output_item.done``) after the whole message item, so the
reasoning block stays open while text streams; ``encrypted_content`` on
``output_item.added`` differs from the final one; a resumed background stream has no
``response.created`` at all (``response.queued`` at sequence 1); gpt-5 streams report
``input_tokens_details.cache_write_tokens``.
"""

from __future__ import annotations

from conformance.vendors._base import Codec
from conformance.vendors.openai_responses.decoder import ResponsesDecoder
from conformance.vendors.openai_responses.encoder import FLAVOUR_KNOBS, Knobs, encode

__all__ = ["CODEC", "FLAVOUR_KNOBS", "Knobs", "ResponsesDecoder", "encode"]

CODEC: Codec[Knobs] = Codec(
    api="openai/responses",
    framings=("sse",),
    flavours=("openai", "azure", "openrouter", "deepseek"),
    decoder=ResponsesDecoder,
    encoder=encode,
    knobs=Knobs(),
    payload_schema="vendors/openai/responses.schema.json",
)
