"""The reference decoder of OpenAI Chat Completions streams (and compatible servers).  No I/O.

One ``chat.completion.chunk`` per SSE ``data:`` event, ``data: [DONE]`` last.  The
decoder follows choice 0 (the canonical model is one response); every other choice is
reported as ``unknown`` (``vendor_type`` ``choices[N]``, the choice as ``raw``).

Strategy (blocks): the wire has no block boundaries, so the decoder infers them.

* ``content``, ``reasoning_content``/``reasoning`` (and Mistral's typed ``content``
  arrays, and OpenRouter ``reasoning_details`` text when no plain reasoning field is
  present) and ``refusal`` feed the *current* text-like block; a fragment of another
  kind closes it and opens a new block of its kind.  A reasoning block that received
  a ``signature`` or encrypted data (OpenRouter ``reasoning_details``) is sealed:
  more reasoning opens a new block.
* A tool call is found by its ``id`` (when seen before), else by its ``index`` (a new
  ``name`` with a new ``id``, or a different ``name``, under a known index is a new
  call: vLLM reuses index 0), else -- without ``index`` -- a fragment with a ``name``
  is a new whole call (Mistral) and one without continues the latest call.  Ids that
  change on continuation fragments (vLLM) are ignored: the first id stays.  A call
  opens when its ``name`` is known (fragments before that wait); starting a call
  closes the current text-like block.  Calls stay open until the terminal (they may
  interleave), then end complete, or incomplete under ``length``, Mistral's ``error``
  finish reason, or an error.
* ``annotations`` entries become ``citation`` blocks (``data`` = the annotation),
  opened and ended at once.

Strategy (terminal): the first non-null ``finish_reason`` of choice 0 is remembered and
``finish`` is emitted only at ``[DONE]``, after any usage or moderation chunk.  ``[DONE]``
without a ``finish_reason`` is a ``protocol`` error; a stream that ends after a
``finish_reason`` but without ``[DONE]`` is the base's ``protocol`` error.  A payload
with a top-level ``error`` (OpenAI, OpenRouter -- whose chunk may also carry a choice
and usage, processed first) or a Groq ``event: error`` is the terminal ``error``,
whether or not ``[DONE]`` follows.  After the terminal everything is ignored.

Non-JSON ``data:`` that does not look like JSON (``ping``, an empty payload: quirk
``sse.data_only_keepalive``) is reported as ``unknown`` ``keep-alive``; a payload that
starts like JSON must parse, and a JSON object with none of ``choices``, ``usage``,
``error``, ``x_groq`` is an ``unknown`` event (named by its ``object`` or ``type``).
Decoding is the same for every flavour.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from conformance.errors import PayloadError
from conformance.events import ErrorCategory
from conformance.framing.messages import SSEEvent
from conformance.vendors._base import VendorDecoder, parse_payload, sse_decoder
from conformance.vendors._payload import may, need
from conformance.vendors.openai_chat.mapping import (
    CUT_OFF,
    DONE_WITHOUT_FINISH,
    TERMINATOR,
    error_fields,
    finish_reason_for,
    usage_fields,
)

if TYPE_CHECKING:
    from collections.abc import Hashable

    from conformance.events import JSONObject, JSONValue
    from conformance.framing.messages import Message

__all__ = ["OpenAIChatDecoder"]

#: A payload with none of these fields is not a chunk: it is reported as ``unknown``.
_KNOWN_FIELDS = frozenset({"choices", "usage", "error", "x_groq"})

#: The ``index`` under which a deprecated ``delta.function_call`` is tracked.
_FUNCTION_CALL = "function_call"


@dataclass(slots=True)
class _Text:
    """The current text-like block (text, reasoning or refusal); ``sealed`` once it has a
    signature or redacted data (more reasoning then opens a new block)."""

    key: int
    kind: str
    signature: str | None = None
    redacted: str | None = None
    sealed: bool = False


@dataclass(slots=True)
class _Call:
    """One tool call of choice 0; ``key`` is set once it has a name and is open."""

    index: Hashable
    id: str | None
    name: str | None
    key: int | None = None
    waiting: list[str] = field(default_factory=list)


class OpenAIChatDecoder(VendorDecoder):
    """Chat Completions chunks -> canonical events (see the module docstring)."""

    TERMINATOR = TERMINATOR

    def __init__(self, framing: str, flavour: str) -> None:
        super().__init__(sse_decoder(), flavour=flavour)
        self._keys = 0
        self._text: _Text | None = None
        self._seals: dict[Hashable, tuple[str | None, str | None]] = {}
        self._calls: list[_Call] = []
        self._by_index: dict[Hashable, _Call] = {}
        self._by_id: dict[str, _Call] = {}
        self._finish_raw: str | None = None
        self._start_sent = False  # out.start() was called: later calls would do nothing

    # -- messages ------------------------------------------------------------------

    def on_message(self, message: Message) -> None:
        if not isinstance(message, SSEEvent) or self.out.terminated:
            return
        off = message.offset
        data = message.data
        if data[:1] != "{":  # the common case is a JSON object: skip the checks below
            text = data.strip()
            if text == "[DONE]":
                self._done(off)
                return
            if not text.startswith(("{", "[")):
                if message.event == "error":  # a plain-text error event
                    self._vendor_error(text, off)
                else:
                    self.out.unknown("keep-alive", data)
                return
        payload = parse_payload(data, off)
        if message.event == "error" and payload.get("error") is None:
            self._vendor_error(payload, off)
            return
        if "choices" not in payload and not _KNOWN_FIELDS.intersection(payload):
            type_ = payload.get("object") or payload.get("type")
            self.out.unknown(type_ if isinstance(type_, str) else "payload", payload)
            return
        self._chunk(payload, off)
        if payload.get("error") is not None:
            self._vendor_error(payload["error"], off)

    def on_end(self) -> None:
        if not self.out.terminated:  # the base reports the missing terminator next
            self._close_all(incomplete=True)

    # -- chunks --------------------------------------------------------------------

    def _chunk(self, payload: JSONObject, off: int) -> None:
        # The hot path: every chunk passes here, so fields are read with plain type checks
        # first, and may() (which words the error) only when the type is not the usual one.
        response_id, model = payload.get("id"), payload.get("model")
        if type(response_id) is not str:
            response_id = may(payload, "id", str, off)
        if type(model) is not str:
            model = may(payload, "model", str, off)
        if not self._start_sent and (response_id or model):  # Azure's prompt-filter chunk has "" and ""
            self._start_sent = True
            self.out.start(response_id=response_id or None, model=model or None)
        choices = payload.get("choices")
        for choice in choices if type(choices) is list else may(payload, "choices", list, off, []):
            if type(choice) is not dict:
                raise PayloadError("a choice should be an object", offset=off)
            index = choice.get("index")
            if type(index) is not int:
                index = may(choice, "index", int, off, 0)
            if index == 0:
                self._choice(choice, off)
            else:
                self.out.unknown(f"choices[{index}]", choice)
        if (usage := payload.get("usage")) is not None:
            self._usage(usage if type(usage) is dict else need(payload, "usage", dict, off), off)
        if "x_groq" in payload:
            x_groq = may(payload, "x_groq", dict, off) or {}
            if (groq_usage := may(x_groq, "usage", dict, off)) is not None:
                self._usage(groq_usage, off)
        if payload.get("prompt_filter_results") is not None:
            self.out.unknown("prompt_filter_results", payload["prompt_filter_results"])
        if payload.get("moderation") is not None:
            self.out.unknown("moderation", payload["moderation"])

    def _usage(self, usage: JSONObject, off: int) -> None:
        input_tokens, output_tokens, cache_read, cache_write, reasoning = usage_fields(usage, off)
        self.out.usage(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cache_read=cache_read,
            cache_write=cache_write,
            reasoning_tokens=reasoning,
        )

    def _choice(self, choice: JSONObject, off: int) -> None:
        delta = choice.get("delta")
        if type(delta) is not dict:
            delta = may(choice, "delta", dict, off, {})
        # Absent fields are the rule: test for them before the typed reads.
        if "reasoning_content" in delta or "reasoning" in delta or "reasoning_details" in delta:
            self._reasoning(delta, off)
        content = delta.get("content")
        if type(content) is str:
            self._add("text", content)
        elif isinstance(content, list):
            self._content_parts(content, off)
        elif content is not None:
            raise PayloadError("field 'content' should be a string or an array", offset=off)
        if "refusal" in delta and (refusal := may(delta, "refusal", str, off)):
            self._add("refusal", refusal)
        if "annotations" in delta:
            for annotation in may(delta, "annotations", list, off, []):
                if not isinstance(annotation, dict):
                    raise PayloadError("an annotation should be an object", offset=off)
                key = self._new_key()
                self.out.open(key, "citation", data=annotation)
                self.out.end(key)
        if "tool_calls" in delta:
            for call in may(delta, "tool_calls", list, off, []):
                if not isinstance(call, dict):
                    raise PayloadError("a tool call should be an object", offset=off)
                self._tool_fragment(
                    may(call, "index", int, off),
                    may(call, "id", str, off),
                    may(call, "function", dict, off),
                    off,
                )
        if "function_call" in delta and (function_call := may(delta, "function_call", dict, off)) is not None:
            self._tool_fragment(_FUNCTION_CALL, None, function_call, off)
        finish = choice.get("finish_reason")
        if finish is not None and type(finish) is not str:
            finish = may(choice, "finish_reason", str, off)
        if finish and self._finish_raw is None:
            self._finish_raw = finish

    def _reasoning(self, delta: JSONObject, off: int) -> None:
        content = may(delta, "reasoning_content", str, off)
        plain = may(delta, "reasoning", str, off)
        self._add("reasoning", content or plain or "")
        if "reasoning_details" not in delta:
            return
        for detail in may(delta, "reasoning_details", list, off, []):
            if not isinstance(detail, dict):
                raise PayloadError("a reasoning detail should be an object", offset=off)
            if content is None and plain is None:  # else the same text came in the plain field
                self._add(
                    "reasoning", may(detail, "text", str, off) or may(detail, "summary", str, off) or ""
                )
            signature = may(detail, "signature", str, off)
            if signature:
                self._seal(signature=signature)
            if may(detail, "type", str, off) == "reasoning.encrypted":
                data = may(detail, "data", str, off)
                if data:
                    self._seal(redacted=data)

    def _content_parts(self, parts: list[JSONValue], off: int) -> None:
        """Mistral's typed content chunks: ``text`` and ``thinking`` (nested text chunks)."""
        for part in parts:
            if not isinstance(part, dict):
                raise PayloadError("a content chunk should be an object", offset=off)
            type_ = may(part, "type", str, off, "")
            if type_ == "text":
                self._add("text", may(part, "text", str, off, ""))
            elif type_ == "thinking":
                thinking = part.get("thinking")
                for piece in thinking if isinstance(thinking, list) else [thinking]:
                    if isinstance(piece, str):
                        self._add("reasoning", piece)
                    elif isinstance(piece, dict):
                        self._add("reasoning", may(piece, "text", str, off, ""))
                    elif piece is not None:
                        raise PayloadError("a thinking chunk should be a string or an object", offset=off)
            else:
                self.out.unknown(f"content.{type_}", part)

    # -- text-like blocks ----------------------------------------------------------

    def _new_key(self) -> int:
        self._keys += 1
        return self._keys

    def _add(self, kind: str, text: str) -> None:
        if not text:
            return
        current = self._text
        if current is None or current.kind != kind or current.sealed:
            current = self._open_text(kind)
        self.out.delta(current.key, text)

    def _open_text(self, kind: str) -> _Text:
        self._close_text()
        key = self._new_key()
        self.out.open(key, kind)
        self._text = _Text(key, kind)
        return self._text

    def _seal(self, *, signature: str | None = None, redacted: str | None = None) -> None:
        current = self._text
        if current is None or current.kind != "reasoning" or current.sealed:
            current = self._open_text("reasoning")
        current.signature, current.redacted = signature, redacted
        current.sealed = signature is not None or redacted is not None
        self._seals[current.key] = (signature, redacted)

    def _close_text(self) -> None:
        if self._text is not None:
            self._end(self._text.key, incomplete=False)
            self._text = None

    def _end(self, key: Hashable, *, incomplete: bool) -> None:
        signature, redacted = self._seals.get(key, (None, None))
        self.out.end(key, incomplete=incomplete, signature=signature, redacted=redacted)

    def _close_all(self, *, incomplete: bool) -> None:
        """End every open block (with its signature), before a terminal."""
        self._text = None
        for key in self.out.open_keys():
            self._end(key, incomplete=incomplete)

    # -- tool calls ----------------------------------------------------------------

    def _find_call(self, index: Hashable | None, call_id: str | None, name: str | None) -> _Call | None:
        if call_id and call_id in self._by_id:
            return self._by_id[call_id]
        if index is not None:
            known = self._by_index.get(index)
            if (
                known is not None
                and name
                and known.name is not None
                and (name != known.name or (call_id and known.id is not None))
            ):
                return None  # a new call under a reused index (vLLM)
            return known
        if name:
            return None  # a whole call without an index (Mistral)
        return self._calls[-1] if self._calls else None

    def _tool_fragment(
        self, index: Hashable | None, call_id: str | None, function: JSONObject | None, off: int
    ) -> None:
        function = function or {}
        name = may(function, "name", str, off) or None
        call_id = call_id or None
        arguments = function.get("arguments")
        if isinstance(arguments, dict | list):  # a whole object instead of JSON text
            try:
                arguments = json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))
            except RecursionError:
                raise PayloadError("tool arguments are nested too deeply", offset=off) from None
        elif arguments is not None and not isinstance(arguments, str):
            raise PayloadError("field 'arguments' should be a string", offset=off)
        call = self._find_call(index, call_id, name)
        if call is None:
            call = _Call(index, call_id, name)
            self._calls.append(call)
            if index is not None:
                self._by_index[index] = call
        elif call.key is None:
            call.id = call.id or call_id
            call.name = call.name or name
        if call.id is not None:
            self._by_id.setdefault(call.id, call)
        if call.key is None and call.name is not None:
            self._close_text()
            call.key = self._new_key()
            self.out.open(call.key, "tool_call", id=call.id, name=call.name)
            for fragment in call.waiting:
                self.out.delta(call.key, fragment)
            call.waiting.clear()
        if arguments:
            if call.key is None:
                call.waiting.append(arguments)
            else:
                self.out.delta(call.key, arguments)

    # -- terminals -----------------------------------------------------------------

    def _done(self, off: int) -> None:
        raw = self._finish_raw
        if raw is None:
            self._close_all(incomplete=True)
            self.out.error(ErrorCategory.PROTOCOL, DONE_WITHOUT_FINISH)
            return
        for call in self._calls:
            if call.key is None:
                raise PayloadError(f"tool call {call.index!r} never received a function name", offset=off)
        reason = finish_reason_for(raw, has_complete_call=bool(self._calls))
        self._close_all(incomplete=reason in CUT_OFF)
        self.out.finish(reason, raw)

    def _vendor_error(self, error: JSONValue, off: int) -> None:
        category, message, status, code = error_fields(error, off)
        self._close_all(incomplete=True)
        self.out.error(category, message, status=status, code=code)
