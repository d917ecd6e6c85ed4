"""Reference decoder for Ollama's native streaming API (``ollama/chat``).  No I/O.

Wire: NDJSON, one JSON object per line; the last has ``"done": true``.  Flavour ``chat``
(``/api/chat``) carries ``message.content``, ``message.thinking`` and
``message.tool_calls``; flavour ``generate`` (``/api/generate``) carries ``response`` and
``thinking`` and has no tool calls.

Mapping:

* the first object -> ``response.start`` with its ``model`` (Ollama sends no id);
* Ollama has no block boundaries.  A non-empty ``thinking`` fragment continues the open
  ``reasoning`` block or, when text was streaming, ends the text block and opens a new
  ``reasoning`` block; ``content``/``response`` fragments do the same for ``text``.  The
  block open at the terminal is cut off by it (``incomplete`` on ``length`` or an error);
* tool calls are complete objects (``ollama.tool_calls_complete_objects``) and a later
  frame may *replace* an earlier call.  So calls are held until ``done: true`` and only
  then become ``tool_call`` blocks (start, one delta: the arguments serialised with
  ``json.dumps(ensure_ascii=False, separators=(",", ":"))``, end).  A call whose ``id``
  was seen before replaces that call, keeping its place (ids name one call, so a repeated
  id is a re-send).  ``function.index`` is *not* used as an identity: Ollama has sent
  ``index: 0`` (or no index) for every call of a response (ollama/ollama#15457, #15497;
  langchain4j#6230 fixed the calls it merged), so calls without an id are always distinct;
  an empty ``id`` counts as none.  Arguments that are not an object are serialised all
  the same and reported through ``arguments_error``.  When the stream fails, the calls
  held so far are delivered cut off (``incomplete``): they were never confirmed by ``done``;
* ``done: true``: ``prompt_eval_count`` -> ``input_tokens``, ``eval_count`` ->
  ``output_tokens`` (both ``omitempty`` in Ollama, so absent means not reported);
  ``done_reason`` ``stop`` -> ``stop`` (``tool_calls`` when tool calls were made),
  ``length`` -> ``length``, anything else (``load``, ``unload``...) -> ``other``; absent or
  ``""`` (``ollama.done_reason_absent``) -> ``stop`` (or ``tool_calls``) with the raw reason
  left absent or ``""`` as sent;
* a bare ``{"error": "..."}`` line (``ollama.error_line_mid_stream``, HTTP 200) -> ``error``
  with that message and category ``unknown``: Ollama gives no type, code or status, and
  its messages are free text;
* a stream that ends without ``done: true`` is a ``protocol`` error (the base class);
  lines after ``done: true`` are reported as ``unknown``; after a failure nothing is read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from conformance.errors import PayloadError
from conformance.events import ErrorCategory, FinishReason, JSONObject, JSONValue
from conformance.framing import new_decoder as new_framing_decoder
from conformance.framing.messages import NDJSONLine
from conformance.vendors._base import VendorDecoder, parse_payload
from conformance.vendors._payload import may, need

if TYPE_CHECKING:
    from collections.abc import Hashable

    from conformance.framing.messages import Message

__all__ = ["DONE_REASONS", "FLAVOURS", "OllamaDecoder", "finish_reason_for", "serialise_arguments"]

#: Decoder flavours: the endpoint whose stream is decoded.
FLAVOURS = ("chat", "generate")

#: ``done_reason`` -> unified reason; others -> ``other``; ``stop`` -> ``tool_calls`` when calls were made.
DONE_REASONS: dict[str, FinishReason] = {
    "stop": FinishReason.STOP,
    "": FinishReason.STOP,
    "length": FinishReason.LENGTH,
}


def finish_reason_for(raw: str | None, *, tool_calls: bool) -> FinishReason:
    """The unified reason of a ``done_reason`` (``None``: absent)."""
    reason = DONE_REASONS.get(raw if raw is not None else "", FinishReason.OTHER)
    return FinishReason.TOOL_CALLS if reason is FinishReason.STOP and tool_calls else reason


def serialise_arguments(arguments: JSONValue) -> str:
    """Whole-object tool arguments as the canonical raw JSON text."""
    return json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))


@dataclass(slots=True)
class _Call:
    id: str | None
    name: str
    arguments: str


class OllamaDecoder(VendorDecoder):
    """Ollama ``/api/chat`` (or ``/api/generate``) NDJSON stream -> canonical events."""

    TERMINATOR = 'an object with "done": true'

    def __init__(self, framing: str, flavour: str) -> None:
        super().__init__(new_framing_decoder(framing), flavour=flavour)
        self._generate = flavour == "generate"
        self._text_field = "response" if self._generate else "content"
        self._open: Hashable | None = None  # the text/reasoning block being streamed
        self._open_kind = ""
        self._blocks = 0
        self._calls: dict[Hashable, _Call] = {}  # held until done, in first-seen order
        self._anonymous = 0  # numbers the calls that have no id
        self._done = False
        self._started = False

    def on_message(self, message: Message) -> None:
        if not isinstance(message, NDJSONLine):
            return
        offset = message.offset
        if self.out.terminated and not self._done:
            return  # the stream already failed: nothing after that is trusted
        try:
            payload = parse_payload(message.text, offset)
            if self._done:
                self.out.unknown("error" if "error" in payload else "chunk", payload)
                return
            self._on_payload(payload, offset)
        except PayloadError:
            self._flush_calls()  # held calls are delivered cut off, not lost
            raise

    def on_end(self) -> None:
        if not self.out.terminated:
            self._flush_calls()  # the base reports the truncation; held calls end cut off

    # -- internals -----------------------------------------------------------------

    def _on_payload(self, payload: JSONObject, offset: int) -> None:
        if "error" in payload:
            message = need(payload, "error", str, offset)
            self._flush_calls()
            self.out.error(ErrorCategory.UNKNOWN, message)
            return
        if not self._started:
            self._started = True
            self.out.start(model=may(payload, "model", str, offset))
        done = payload.get("done")
        if type(done) is not bool:
            done = may(payload, "done", bool, offset, False)  # absent is false; another type raises
        source = payload if self._generate else payload.get("message")
        if type(source) is not dict:
            source = may(payload, "message", dict, offset, {})
        # Most objects carry one fragment and nothing else; absent or null is nothing,
        # another type than a string raises (may() words it).
        thinking = source.get("thinking")
        if type(thinking) is not str:
            thinking = may(source, "thinking", str, offset, "")
        if thinking:
            self._fragment("reasoning", thinking)
        text = source.get(self._text_field)
        if type(text) is not str:
            text = may(source, self._text_field, str, offset, "")
        if text:
            self._fragment("text", text)
        if not self._generate and "tool_calls" in source:
            for call in may(source, "tool_calls", list, offset, []):
                self._hold(call, offset)
        counted = "prompt_eval_count" in payload or "eval_count" in payload
        prompt = self._count(payload, "prompt_eval_count", offset) if counted else None
        generated = self._count(payload, "eval_count", offset) if counted else None
        if not done:
            if counted:
                self.out.usage(input_tokens=prompt, output_tokens=generated)
            return
        raw = may(payload, "done_reason", str, offset)
        calls = bool(self._calls)
        self._flush_calls(complete=True)
        self.out.usage(input_tokens=prompt, output_tokens=generated)
        self._done = True
        self.out.finish(finish_reason_for(raw, tool_calls=calls), raw)

    def _fragment(self, kind: str, text: str) -> None:
        if kind != self._open_kind:
            if self._open is not None:
                self.out.end(self._open)
            self._open = ("stream", self._blocks)
            self._open_kind = kind
            self._blocks += 1
            self.out.open(self._open, kind)
        self.out.delta(self._open, text)

    def _hold(self, item: JSONValue, offset: int) -> None:
        if not isinstance(item, dict):
            raise PayloadError("a tool_calls element is not an object", offset=offset)
        function = need(item, "function", dict, offset)
        name = need(function, "name", str, offset)
        if not name:
            raise PayloadError("a tool call without a function name", offset=offset)
        if "arguments" not in function:
            raise PayloadError("required field 'arguments' is missing", offset=offset)
        call_id = may(item, "id", str, offset) or None  # an empty id is no id
        call = _Call(call_id, name, serialise_arguments(function["arguments"]))
        if call.id:
            key: Hashable = ("id", call.id)
        else:
            key = ("anonymous", self._anonymous)
            self._anonymous += 1
        self._calls[key] = call

    def _flush_calls(self, *, complete: bool = False) -> None:
        """Deliver the held calls; ``complete=False`` leaves them open for the failure to cut off."""
        for key, call in self._calls.items():
            block = ("call", key)
            self.out.open(block, "tool_call", id=call.id, name=call.name)
            self.out.delta(block, call.arguments)
            if complete:
                self.out.end(block)
        self._calls.clear()

    @staticmethod
    def _count(payload: JSONObject, key: str, offset: int) -> int | None:
        value = may(payload, key, int, offset)
        if value is not None and value < 0:
            raise PayloadError(f"token count {key!r} is negative: {value}", offset=offset)
        return value
