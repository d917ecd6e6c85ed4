"""Reference decoder for Cohere's legacy v1 chat stream (``cohere/chat-v1``).  No I/O.

Wire: NDJSON (``application/stream+json``), one JSON object per line, discriminated by
``event_type``; every object may carry ``is_finished``, which is ``true`` only on the last
one, ``stream-end``.  Dispatch is on ``event_type``.

Mapping (v1 has no block start or end events, and no tool-call ids):

* ``stream-start`` -> ``response.start`` whose ``response_id`` is the ``generation_id``: it
  is the only id the stream has before its content (``stream-end`` repeats it beside a
  ``response_id`` that arrives after everything else, too late for ``response.start``).
  Cohere sends no model name;
* ``text-generation`` -> a fragment of a ``text`` block; the tool plan -- ``text`` on a
  ``tool-calls-chunk``, or ``tool_call_delta.text`` -- a fragment of a ``reasoning`` block
  (decision 22, as for Cohere v2).  A fragment of the other kind ends the open text or plan
  block and opens a new one; so does a tool call starting;
* ``tool-calls-chunk`` with ``tool_call_delta: {index, name}`` opens a ``tool_call`` block
  for that ``index`` (the id is ``null``: v1 has none, and none is invented) and ``{index,
  parameters}`` appends a raw argument fragment to it.  Calls may interleave by ``index``.
  Arguments for an index that was never named, a call that starts with an empty name, or
  a different name for an open index are defective payloads (an empty name on a later
  fragment is no name: ``tool_call.empty_name_on_continuation``);
* ``tool-calls-generation`` restates the turn's calls whole (``tool_calls[{name,
  parameters}]``, and the plan as ``text``) and ends every call of the turn, complete.
  When the turn streamed nothing (no ``tool-calls-chunk`` since the last generation), the
  generation is the only delivery: its ``text`` becomes the plan and each call a
  ``tool_call`` block whose one delta is the ``parameters`` value serialised compactly
  (``json.dumps(ensure_ascii=False, separators=(",", ":"))``; a value that is not an object
  is reported through ``arguments_error``).  Otherwise the streamed deltas are what the
  consumer saw and stay the arguments; calls the generation lists beyond the streamed ones
  (matched by position) are delivered whole the same way;
* ``citation-generation`` -> one ``citation`` block per element of ``citations`` (its
  ``data`` is the citation as sent: ``start``, ``end``, ``text``, ``document_ids``), started
  and ended at once; the text block stays open around it;
* ``search-queries-generation`` and ``search-results`` -> ``unknown`` (with the payload):
  they report retrieval Cohere ran for connectors or the documents the client sent, which
  canonical v1 has no kind for; ``debug`` -> nothing; any other type -> ``unknown``;
* ``stream-end`` is the terminal: ``response.meta.tokens`` gives ``input_tokens`` and
  ``output_tokens`` (``billed_units`` are billing units, which can differ from the token
  counts -- see ``cohere/chat`` -- and are ignored); ``finish_reason`` ``COMPLETE`` -> ``stop``
  (``tool_calls`` when a tool call was made: v1 has no tool finish reason), ``MAX_TOKENS``
  -> ``length`` (the open blocks are cut off), ``ERROR_TOXIC`` -> ``content_filter``,
  ``USER_CANCEL`` and anything else -> ``other``; ``ERROR`` and ``ERROR_LIMIT`` become an
  ``error`` event (SPEC §6), categories ``unknown`` and ``context_length``, with the finish
  reason as ``code`` (v1 sends no error message or type).

``is_finished``, when present, must be a boolean and agree with the event: ``true`` on
anything but ``stream-end``, or ``false`` on it, is a defective payload.  A stream that ends
without ``stream-end`` is a ``protocol`` error (the base class); lines after it are reported
as ``unknown``; after a failure nothing is read.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from conformance.errors import PayloadError
from conformance.events import ErrorCategory, FinishReason, JSONObject, JSONValue
from conformance.framing import new_decoder as new_framing_decoder
from conformance.framing.messages import NDJSONLine
from conformance.vendors._base import VendorDecoder, parse_payload
from conformance.vendors._payload import may, need

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

    from conformance.framing.messages import Message

__all__ = [
    "FAILURE_REASONS",
    "FINISH_REASONS",
    "CohereChatV1Decoder",
    "failure_message",
    "finish_reason_for",
    "serialise_parameters",
]

#: ``finish_reason`` -> unified reason (cohere-py ``chat_stream_end_event_finish_reason.py``);
#: ``COMPLETE`` becomes ``tool_calls`` when calls were made; unlisted values -> ``other``.
FINISH_REASONS: dict[str, FinishReason] = {
    "COMPLETE": FinishReason.STOP,
    "MAX_TOKENS": FinishReason.LENGTH,
    "ERROR_TOXIC": FinishReason.CONTENT_FILTER,
    "USER_CANCEL": FinishReason.OTHER,
}

#: Finish reasons that report a failure -> the category of their ``error`` event.
#: ``ERROR_LIMIT``: "the reply was cut off because the model reached the maximum number of
#: tokens for its context length" (cohere-py ``ChatStreamEndEvent.finish_reason``).
FAILURE_REASONS: dict[str, ErrorCategory] = {
    "ERROR": ErrorCategory.UNKNOWN,
    "ERROR_LIMIT": ErrorCategory.CONTEXT_LENGTH,
}


def finish_reason_for(raw: str, *, tool_calls: bool) -> FinishReason:
    """The unified reason of a ``finish_reason`` that is not a failure."""
    reason = FINISH_REASONS.get(raw, FinishReason.OTHER)
    return FinishReason.TOOL_CALLS if reason is FinishReason.STOP and tool_calls else reason


def failure_message(raw: str) -> str:
    """The ``error`` message for a failure ``finish_reason`` (v1 sends no message)."""
    return f"Cohere ended the response with finish_reason {raw}"


def serialise_parameters(parameters: JSONValue) -> str:
    """Whole tool-call ``parameters`` as the canonical raw argument text."""
    return json.dumps(parameters, ensure_ascii=False, separators=(",", ":"))


class CohereChatV1Decoder(VendorDecoder):
    """Cohere v1 ``/v1/chat`` NDJSON stream -> canonical events."""

    TERMINATOR = 'a stream-end object ("is_finished": true)'

    def __init__(self, framing: str, flavour: str) -> None:
        super().__init__(new_framing_decoder(framing), flavour=flavour)
        self._stream: Hashable | None = None  # the open text or plan block
        self._stream_kind = ""
        self._blocks = 0  # numbers text, plan and citation keys
        self._turn = 0  # tool turns end at tool-calls-generation
        self._calls: dict[int, str] = {}  # open streamed calls of this turn: index -> name
        self._call_keys: list[Hashable] = []  # every open call of this turn, in start order
        self._turn_streamed = False  # a tool-calls-chunk arrived in this turn
        self._tool_calls = 0
        self._ended = False
        self._handlers: dict[str, Callable[[JSONObject, int], None]] = {
            "stream-start": self._stream_start,
            "text-generation": self._text_generation,
            "tool-calls-chunk": self._tool_calls_chunk,
            "tool-calls-generation": self._tool_calls_generation,
            "citation-generation": self._citation_generation,
            "stream-end": self._stream_end,
        }

    def on_message(self, message: Message) -> None:
        if not isinstance(message, NDJSONLine):
            return
        offset = message.offset
        if self.out.terminated and not self._ended:
            return  # the stream already failed: nothing after that is trusted
        payload = parse_payload(message.text, offset)
        type_ = payload.get("event_type")
        if type(type_) is not str:
            type_ = need(payload, "event_type", str, offset)
        if self._ended:
            self.out.unknown(type_, payload)  # after stream-end; cohere-py stops reading there
            return
        finished = payload.get("is_finished")
        if finished is not None and (finished is not (type_ == "stream-end")):
            if type(finished) is not bool:
                need(payload, "is_finished", bool, offset)  # raises, naming the type
            state = "false on stream-end" if type_ == "stream-end" else f"true on a {type_} event"
            raise PayloadError(f"is_finished is {state}", offset=offset)
        handler = self._handlers.get(type_)
        if handler is not None:
            handler(payload, offset)
        elif type_ != "debug":
            self.out.unknown(type_, payload)

    # -- helpers -------------------------------------------------------------------

    def _fragment(self, kind: str, text: str) -> None:
        """A text or plan fragment: continue the open block of its kind or open one."""
        if not text:
            return
        key = self._stream
        if kind == self._stream_kind and key is not None:  # the common case: the run goes on
            self.out.delta(key, text)
            return
        if key is None or kind != self._stream_kind:
            self._end_stream()
            key = self._stream = ("stream", self._blocks)
            self._stream_kind = kind
            self._blocks += 1
            self.out.open(key, kind)
        self.out.delta(key, text)

    def _end_stream(self) -> None:
        if self._stream is not None:
            self.out.end(self._stream)
        self._stream = None
        self._stream_kind = ""

    def _open_call(self, key: Hashable, name: str) -> None:
        self._end_stream()
        self.out.open(key, "tool_call", name=name)
        self._call_keys.append(key)
        self._tool_calls += 1

    # -- handlers ------------------------------------------------------------------

    def _stream_start(self, payload: JSONObject, offset: int) -> None:
        self.out.start(response_id=may(payload, "generation_id", str, offset))

    def _text_generation(self, payload: JSONObject, offset: int) -> None:
        text = payload.get("text")
        if type(text) is not str:
            text = need(payload, "text", str, offset)
        self._fragment("text", text)

    def _tool_calls_chunk(self, payload: JSONObject, offset: int) -> None:
        self._turn_streamed = True
        delta = may(payload, "tool_call_delta", dict, offset, {})
        self._fragment("reasoning", may(payload, "text", str, offset, ""))
        self._fragment("reasoning", may(delta, "text", str, offset, ""))
        name = may(delta, "name", str, offset)
        parameters = may(delta, "parameters", str, offset)
        if name is None and parameters is None:
            return
        index = need(delta, "index", int, offset)
        key = ("call", self._turn, index)
        known = self._calls.get(index)
        if known is None:
            if not name:
                what = "an empty name" if name == "" else "parameters but no name"
                raise PayloadError(f"tool call {index} starts with {what}", offset=offset)
            self._calls[index] = name
            self._open_call(key, name)
        elif name and name != known:  # an empty name on a continuation is no name (quirk 44)
            raise PayloadError(f"tool call {index} is renamed from {known!r} to {name!r}", offset=offset)
        if parameters:
            self.out.delta(key, parameters)

    def _tool_calls_generation(self, payload: JSONObject, offset: int) -> None:
        calls: list[tuple[str, str]] = []
        for item in need(payload, "tool_calls", list, offset):
            if not isinstance(item, dict):
                raise PayloadError("a tool_calls element is not an object", offset=offset)
            name = need(item, "name", str, offset)
            if not name:
                raise PayloadError("a tool call with an empty name", offset=offset)
            if "parameters" not in item:
                raise PayloadError("required field 'parameters' is missing", offset=offset)
            calls.append((name, serialise_parameters(item["parameters"])))
        plan = may(payload, "text", str, offset, "")
        if not self._turn_streamed:
            self._fragment("reasoning", plan)
        for n, (name, arguments) in enumerate(calls[len(self._calls) :]):
            whole = ("whole", self._turn, n)
            self._open_call(whole, name)
            self.out.delta(whole, arguments)
        self._end_stream()
        for key in self._call_keys:
            self.out.end(key)
        self._turn += 1
        self._calls.clear()
        self._call_keys.clear()
        self._turn_streamed = False

    def _citation_generation(self, payload: JSONObject, offset: int) -> None:
        for citation in need(payload, "citations", list, offset):
            if not isinstance(citation, dict):
                raise PayloadError("a citations element is not an object", offset=offset)
            key = ("citation", self._blocks)
            self._blocks += 1
            self.out.open(key, "citation", data=citation)
            self.out.end(key)

    def _stream_end(self, payload: JSONObject, offset: int) -> None:
        raw = need(payload, "finish_reason", str, offset)
        response = may(payload, "response", dict, offset, {})
        meta = may(response, "meta", dict, offset, {})
        tokens = may(meta, "tokens", dict, offset, {})
        counts = [may(tokens, key, int, offset) for key in ("input_tokens", "output_tokens")]
        for key, value in zip(("input_tokens", "output_tokens"), counts, strict=True):
            if value is not None and value < 0:
                raise PayloadError(f"token count {key!r} is negative: {value}", offset=offset)
        self._ended = True
        self.out.usage(input_tokens=counts[0], output_tokens=counts[1])
        if raw in FAILURE_REASONS:
            self.out.error(FAILURE_REASONS[raw], failure_message(raw), code=raw)
        else:
            self.out.finish(finish_reason_for(raw, tool_calls=self._tool_calls > 0), raw)
