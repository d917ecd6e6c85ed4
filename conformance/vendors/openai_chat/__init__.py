"""OpenAI Chat Completions streaming (``POST /v1/chat/completions``, ``stream: true``) and
every OpenAI-compatible server that speaks it.  No I/O.

The API streams SSE ``data:`` events, each a ``chat.completion.chunk`` JSON object, and
ends with ``data: [DONE]`` (openai-python ``_streaming.py``: ``if sse.data.startswith("[DONE]")``;
``types/chat/chat_completion_chunk.py`` for the chunk shape).  Facts this codec relies on,
with their sources (``/work/shared/reference/FORMATS.md`` §1, §7, §9, ``QUIRKS.md``):

* the first chunk carries ``delta.role`` with ``content: ""`` (text) or ``null`` (tool
  calls, refusals), or no ``content`` at all (HF router); Z.ai repeats ``role`` on every
  chunk;
* tool calls stream as ``delta.tool_calls[{index, id?, type?, function{name?, arguments}}]``:
  ``id``/``name`` only on a call's first fragment, ``arguments`` split anywhere, joined
  by ``index`` (per choice); vLLM may send a new ``id`` (or ``""``) on every fragment or
  reuse ``index: 0`` for a second call; Mistral sends each call whole without ``index``
  on the finish chunk; Groq and xAI send each call whole in one delta;
* ``delta.refusal`` carries refusal text; ``reasoning_content`` (DeepSeek, Z.ai, xAI,
  vLLM) or ``reasoning`` (Groq gpt-oss, OpenRouter, newer vLLM) carries reasoning;
  OpenRouter repeats it in ``reasoning_details`` (with ``signature`` / encrypted ``data``)
  and streams ``delta.annotations`` (``url_citation``); Mistral's ``content`` is a
  string or an array of ``text`` / ``thinking`` chunks;
* usage comes in a ``choices: []`` chunk before ``[DONE]`` (OpenAI ``include_usage``),
  on the finish chunk (DeepSeek, Mistral, Z.ai, OpenRouter) or in ``x_groq.usage``;
  ``prompt_tokens`` includes cached tokens (``prompt_tokens_details.cached_tokens``;
  DeepSeek ``prompt_cache_hit_tokens``), ``completion_tokens`` includes
  ``completion_tokens_details.reasoning_tokens``;
* ``finish_reason``: ``stop``, ``length``, ``tool_calls``, ``content_filter``,
  ``function_call`` (deprecated), Mistral ``error``; OpenRouter repeats it and then
  sends ``null``;
* errors: ``data: {"error": {message, type, param, code}}`` (then ``[DONE]`` may follow);
  Groq ``event: error`` with ``status_code`` and no ``[DONE]``; OpenRouter a chunk with a
  top-level ``error: {code: <HTTP status>, message}`` beside a choice and the usage;
* extension fields are normal (``x_groq``, ``provider``, ``native_finish_reason``,
  ``prompt_token_ids``/``token_ids``, ``sla_metrics``, ``content_filter_results``,
  ``prompt_filter_results``, ``moderation``) and padding (``obfuscation``, Mistral ``p``)
  is ignored.

Decisions (see ``decoder`` and ``mapping`` for the details): only choice 0 is decoded,
other choices are ``unknown`` events (``n>1``); ``finish`` waits for ``[DONE]``;
``[DONE]`` before any ``finish_reason`` is a ``protocol`` error; ``length`` and ``error``
finish reasons end open blocks incomplete; ``tool_calls`` without a complete call is
``other``.  What the real recordings showed: the Azure prompt-filter chunk has
``id: ""``/``model: ""`` (no ``response.start`` is taken from it); OpenRouter reports
``reasoning_tokens`` (11) above ``completion_tokens`` (10) in its error chunk, and its
error chunk comes after two ``finish_reason: "length"`` chunks (the error wins); the
``n: 3`` recording's usage counts all three choices.
"""

from __future__ import annotations

from conformance.vendors._base import Codec
from conformance.vendors.openai_chat.decoder import OpenAIChatDecoder
from conformance.vendors.openai_chat.encoder import FLAVOURS, Knobs, encode, flavour_knobs

__all__ = ["CODEC", "FLAVOURS", "Knobs", "OpenAIChatDecoder", "encode", "flavour_knobs"]

CODEC: Codec[Knobs] = Codec(
    api="openai/chat-completions",
    framings=("sse",),
    flavours=FLAVOURS,
    decoder=OpenAIChatDecoder,
    encoder=encode,
    knobs=Knobs(),
    payload_schema="vendors/openai/chat-completions.schema.json",
)
