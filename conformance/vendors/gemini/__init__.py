"""Google Gemini API and Vertex AI ``streamGenerateContent``: the ``gemini/generate-content`` codec.  No I/O.

The API: ``POST …/models/{model}:streamGenerateContent`` on
``generativelanguage.googleapis.com`` (flavour ``gemini``) or ``aiplatform.googleapis.com``
(flavour ``vertex``: the same payloads plus ``createTime``, ``usageMetadata.trafficType``
and streamed function-call arguments).  Each streamed item is a complete
``GenerateContentResponse`` (FORMATS.md §4; genai-py ``types.py``).

Framings (``CODEC.framings``):

* ``sse`` (``?alt=sse``): data-only SSE with CRLF line ends (quirk 1) and **no
  terminator** (quirk 25): EOF after a chunk carrying ``finishReason`` is the clean
  end; EOF without one is ``error{protocol}``.  A mid-stream failure is a bare
  pretty-printed ``{"error": {...}}`` appended without ``data:`` (quirk 24;
  genai-py ``_api_client.py`` collects such lines by brace balance): the decoder
  keeps SSE stray lines and reassembles them the same way.
* ``json-array`` (no ``alt``): one pretty-printed JSON array streamed element by
  element, ``\\n,\\r\\n`` between elements (quirk 13); the clean end is the closing
  ``]`` after a ``finishReason``; an element ``{"error": {...}}`` is an error.

Mapping and the decisions behind it:

* ``responseId``/``modelVersion`` (first chunk that has them) -> ``response.start``.
  Only ``candidates[0]`` (``index`` 0) is content; other candidates are ``unknown``.
* Text parts -> ``text`` blocks, ``"thought": true`` parts -> ``reasoning`` blocks;
  consecutive parts of one kind (across chunks) continue one block, a change of kind
  opens a new one.  Empty text parts are dropped (quirk 73).  ``thoughtSignature`` on
  any part (quirk 74) goes on that part's block end.  **Decision:** an empty part's
  signature belongs to the open block of the same kind if that block has no signature
  yet (S:gemini__code-execution.txt ends its answer that way), else to a block of its
  own (a text or reasoning block with no deltas); a second signature never overwrites
  a first: it starts a new block.
* ``functionCall {name, args, id?}`` -> a complete ``tool_call`` at once: ``id`` is the
  vendor's or ``None`` (Gemini 2.x, quirk 49), one delta = the arguments as compact
  JSON (``ensure_ascii=False``), ``"{}"`` when there are none.
* Vertex streamed arguments (quirks 50, 51): ``{"name", "willContinue": true}`` opens
  the call, ``partialArgs`` entries rebuild the arguments by JSON path (strings may come
  in pieces), and the call ends at an empty ``{"functionCall": {}}``, at a frame without
  ``willContinue``, at the next non-call part, or at the finish.  **Decision:** the
  rebuilt arguments are emitted as ONE delta at the end (their compact serialisation);
  partial deltas are not streamed, because path/value frames are not JSON text and any
  text rendering of them would be our invention.  A streamed call cut off (``MAX_TOKENS``
  or an error) ends incomplete with no deltas.
* ``executableCode`` -> ``server_tool_call`` named ``code_execution`` whose arguments are
  ``{"language", "code"}``; ``codeExecutionResult`` -> ``server_tool_result`` with
  ``data = {"outcome", "output"}`` (quirk 71); both keep the vendor ``id``.
* ``citationMetadata.citations[]`` entries and ``groundingMetadata`` -> one ``citation``
  block each, ``data`` = the object as sent (quirk 70), read after the chunk's parts.
  Repeats are not merged.
* Usage (quirks 75, 76): ``usageMetadata`` is a running report; the latest value of each
  field wins.  ``input_tokens`` = ``promptTokenCount`` (which already includes
  ``cachedContentTokenCount``) + ``toolUsePromptTokenCount``; ``output_tokens`` =
  ``candidatesTokenCount`` + ``thoughtsTokenCount`` (**decision:** Gemini counts
  thoughts apart from candidates, and the canonical output includes reasoning);
  ``cache_read`` = ``cachedContentTokenCount``; ``reasoning_tokens`` =
  ``thoughtsTokenCount``.  With those sums ``totalTokenCount`` = input + output in every
  recording.  A report whose output is lower than one already emitted is held back
  (server-side code execution restarts the running counts between its model turns,
  S:gemini__code-execution.txt) and emitted before the terminal, where the last report
  always wins.
* Finish (quirks 48, 68, 88): the first ``finishReason`` is remembered and emitted at
  the clean end: ``STOP`` -> ``stop``, or ``tool_calls`` when the response holds a
  complete client call; ``MAX_TOKENS`` -> ``length``; ``SAFETY``, ``RECITATION``,
  ``BLOCKLIST``, ``PROHIBITED_CONTENT``, ``SPII``, ``IMAGE_SAFETY``,
  ``IMAGE_PROHIBITED_CONTENT``, ``IMAGE_RECITATION`` -> ``content_filter``; everything
  else (``MALFORMED_FUNCTION_CALL``, ``UNEXPECTED_TOOL_CALL``, ``TOO_MANY_TOOL_CALLS``,
  ``LANGUAGE``, ``OTHER``, ``NO_IMAGE``, ``IMAGE_OTHER``, unknown values) -> ``other``.
  ``promptFeedback.blockReason`` (no candidates) -> **decision:** ``finish
  {content_filter}`` with the block reason as ``raw_reason``, not an error: the request
  succeeded and the vendor answered that it would not generate (quirk 68).
* Errors: ``{"error": {"code", "message", "status"}}`` -> ``error``: category from
  ``status`` (``UNAVAILABLE`` overloaded, ``RESOURCE_EXHAUSTED`` rate_limit,
  ``INTERNAL``/``UNKNOWN``/``DATA_LOSS`` server, ``INVALID_ARGUMENT`` and friends
  invalid_request, ``PERMISSION_DENIED`` permission, ``UNAUTHENTICATED`` auth,
  ``NOT_FOUND`` not_found, ``DEADLINE_EXCEEDED`` timeout), else from the HTTP ``code``;
  ``code`` = the status string, ``status`` = the number.

Surprises in the real recordings (the streams win): S:gemini__code-execution.txt
reports ``toolUsePromptTokenCount`` apart from ``promptTokenCount`` on its last chunk
and its running output count falls from 152 to 89 between the code turn and the answer
turn; S:gemini__thought-parts.txt puts the signature on the first *answer* part (so it
ends the text block, not the reasoning block); the Vertex partial-args recordings end
each string with an empty ``stringValue`` frame, and one ends its last call with a
frame lacking ``willContinue`` and no empty ``functionCall``.
"""

from __future__ import annotations

from conformance.vendors._base import Codec
from conformance.vendors.gemini.decoder import GeminiDecoder
from conformance.vendors.gemini.encoder import Knobs, encode

__all__ = ["CODEC", "Knobs"]

CODEC: Codec[Knobs] = Codec(
    api="gemini/generate-content",
    framings=("sse", "json-array"),
    flavours=("gemini", "vertex"),
    decoder=GeminiDecoder,
    encoder=encode,
    knobs=Knobs(),
    payload_schema="vendors/gemini/generate-content.schema.json",
)
