"""AWS Bedrock ConverseStream (``POST /model/{modelId}/converse-stream``): the codec.  No I/O.

The body is ``application/vnd.amazon.eventstream``: binary frames with CRC32s, each
with ``:message-type`` / ``:event-type`` (or ``:exception-type``) / ``:content-type``
string headers and a JSON payload (FORMATS.md §5).  Sources: botocore 1.44
``botocore/data/bedrock-runtime/2023-09-30/service-2.json`` (``ConverseStreamOutput``,
``StopReason``, ``TokenUsage``, the exception shapes), botocore ``eventstream.py``,
the AWS prompt-caching guide (quoted in crmne/ruby_llm PR #832 and LiteLLM PR #15292),
and the four recorded bodies ``streams/bedrock__*.bin`` (pydantic-ai cassettes).

Event sequence: ``messageStart{role}`` -> per block ``contentBlockStart`` (toolUse /
toolResult / image only) ``contentBlockDelta``... ``contentBlockStop`` ->
``messageStop{stopReason}`` -> ``metadata{usage, metrics}`` -> EOF.  Every payload
carries a random-length ``"p"`` padding field (quirk 79), keys sorted, compact JSON.

Mapping decisions (the canonical side is docs/SPEC.md):

* ``messageStart`` -> ``response.start`` without id or model: Converse sends neither.
* Blocks: text and reasoning open at their first non-empty delta (quirks 60, 61);
  ``toolUse`` -> ``tool_call``, or ``server_tool_call`` when ``type`` is present
  (``server_tool_use``; only server tools carry a type); ``toolResult`` ->
  ``server_tool_result`` (``id`` = its ``toolUseId``, start ``data`` = the other start
  members such as ``type``/``status``; streamed ``text`` items are deltas, ``json``
  items are collected into the end's ``data`` list); ``reasoningContent.signature``
  and ``.redactedContent`` (the base64 text exactly as sent) go on the reasoning
  block's end (quirk 59); each ``citation`` delta is one ``citation`` block whose
  ``data`` is the citation object; ``image`` blocks are ``x-bedrock-image`` (start
  ``data`` = ``{"format"}``, deltas = the base64 ``source.bytes``).  Inline
  ``<thinking>`` tags in text stay text (quirk 62).
* Finish: ``end_turn``/``stop_sequence`` -> stop, ``tool_use`` -> tool_calls (other
  when no complete client tool call exists), ``max_tokens`` and
  ``model_context_window_exceeded`` -> length, ``guardrail_intervened`` /
  ``content_filtered`` -> content_filter, ``malformed_model_output`` /
  ``malformed_tool_use`` and unknown values -> other (the model's output was unusable,
  but the stream itself completed: no ``error``, raw reason kept).
* Usage: ``inputTokens`` excludes cached prompt tokens (AWS prompt-caching guide:
  "total input tokens = inputTokens + cacheReadInputTokens + cacheWriteInputTokens"),
  so ``input_tokens`` is that sum; ``cache_read``/``cache_write`` as reported;
  ``reasoning_tokens`` is never reported.  ``totalTokens``, ``metrics``, ``trace``,
  ``serverToolUsage`` are ignored.
* Termination: the finish is emitted at the clean end of input after both
  ``messageStop`` and ``metadata``.  A stream that ends after ``messageStop`` without
  ``metadata`` is an ``error{protocol}``: the service model marks ``usage`` and
  ``metrics`` required and Bedrock always sends the event, so its absence means the
  stream was cut, and a quiet ``finish`` would hide lost usage.
* Errors (quirk 26): exception frames by ``:exception-type``: throttlingException ->
  rate_limit, serviceUnavailableException / modelNotReadyException -> overloaded,
  internalServerException / modelStreamErrorException / modelErrorException -> server
  (``originalStatusCode`` -> ``status``), validationException -> invalid_request,
  modelTimeoutException -> timeout, accessDeniedException -> permission,
  resourceNotFoundException -> not_found, others -> unknown; ``code`` is the type,
  ``message`` the payload's ``message``.  Generic ``:message-type: error`` frames map
  their ``:error-code`` the same way.  An HTTP error body (quirk 27) is not an
  eventstream at all: its first bytes fail the prelude CRC -> ``error{decode}``.

Surprises in the recordings: gpt-oss sends an empty text delta on index 0 and then
a ``contentBlockStop`` for it (no block may be opened for it), reasoning on index 1;
``usage`` sometimes carries ``serverToolUsage: {}``; padding lengths are 2..61.
"""

from __future__ import annotations

from conformance.vendors._base import Codec
from conformance.vendors.bedrock_converse.decoder import BedrockConverseDecoder
from conformance.vendors.bedrock_converse.encoder import Knobs, encode

__all__ = ["CODEC", "BedrockConverseDecoder", "Knobs", "encode"]

CODEC: Codec[Knobs] = Codec(
    api="bedrock/converse-stream",
    framings=("eventstream",),
    flavours=("bedrock",),
    decoder=BedrockConverseDecoder,
    encoder=encode,
    knobs=Knobs(),
    payload_schema="vendors/bedrock/converse-stream.schema.json",
)
