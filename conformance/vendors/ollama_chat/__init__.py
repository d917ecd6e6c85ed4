"""Codec for Ollama's native streaming API (``POST /api/chat``, ``/api/generate``): ``ollama/chat``.  No I/O.

Wire facts, with their sources (see ``shared/reference/FORMATS.md`` §8):

* NDJSON (``application/x-ndjson``), one JSON object per line, streaming by default; the
  last object has ``"done": true``, ``done_reason`` and the counters ``prompt_eval_count``,
  ``eval_count`` and durations in nanoseconds (ollama ``docs/api/streaming.mdx``,
  ``docs/api.md``; ``api/types.go``: ``done_reason`` and the counters are ``omitempty``).
* ``/api/chat`` streams ``message.content``, ``message.thinking`` (``think`` enabled) and
  complete tool calls ``message.tool_calls[{id?, function:{index?, name, arguments}}]``
  whose ``arguments`` are a JSON object, never partial (``api/types.go`` ``ToolCall``;
  ``docs/api.md`` "Chat request (Streaming with tools)").  ``/api/generate`` streams
  ``response`` and ``thinking``: flavour ``generate``.
* ``done_reason``: ``stop``, ``length``, ``load``/``unload`` (empty-prompt requests); a
  closed-connection stop stringifies to ``""`` and is left out (``llm/server.go``).
* A failure after output is a bare ``{"error": "..."}`` line while the HTTP status stays
  200 (``docs/api/errors.mdx``, ``ollama__docs-midstream-error-ndjson.txt``).

Decisions (the decoder module lists the whole mapping): tool calls are held until
``done: true`` and a repeated call id replaces the earlier call (quirk 53), but
``function.index`` is not trusted as an identity, because Ollama has sent ``index: 0`` for
every call of a response; ``stop`` becomes ``tool_calls`` when calls were made; an absent
``done_reason`` finishes ``stop`` with no raw reason (SPEC §6), ``""`` keeps ``""``;
``load``/``unload`` -> ``other``; the error line -> category ``unknown`` (Ollama gives no
type, code or status, only free text); ``prompt_eval_count`` -> ``input_tokens`` and
``eval_count`` -> ``output_tokens`` (thinking included: Ollama counts every generated
token), no cache or reasoning split.

Recordings: no real Ollama stream was found; the two files are documentation examples of
``/api/generate`` (flavour ``generate``).  One surprise there: the final ``done: true``
object also carries the last text fragment (``"response":"!"``), and has no counters.
"""

from __future__ import annotations

from conformance.vendors._base import Codec
from conformance.vendors.ollama_chat.decoder import FLAVOURS, OllamaDecoder
from conformance.vendors.ollama_chat.encoder import Knobs, encode

__all__ = ["CODEC", "Knobs", "OllamaDecoder", "encode"]

CODEC: Codec[Knobs] = Codec(
    api="ollama/chat",
    framings=("ndjson",),
    flavours=FLAVOURS,
    decoder=OllamaDecoder,
    encoder=encode,
    knobs=Knobs(),
    payload_schema="vendors/ollama/chat.schema.json",
)
