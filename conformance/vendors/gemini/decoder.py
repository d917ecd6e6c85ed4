"""The reference decoder of Gemini / Vertex ``streamGenerateContent``: bytes to canonical events.  No I/O.

Each framed message is one ``GenerateContentResponse`` chunk (SSE ``data:`` event or
JSON-array element); see the package docstring for the mapping and its decisions.

Strategy (blocks): Gemini sends *parts*, not blocks.  At most one text-like block
(``text`` or ``reasoning``) is open at a time: a text part continues it when it has the
same kind, else it closes it and opens a new one; any other part (function call, code
execution) closes it.  A part's ``thoughtSignature`` is kept for its block's end; a
signature-bearing part that meets an open block of its kind which already holds a
signature opens a new block, so no signature is ever overwritten.  An empty text part
with no signature carries nothing and changes nothing; an empty text part *with* a
signature gives it to the open block of its kind (if that block has none yet), else
opens a block of its own (quirks 73, 74).  Function calls sent whole become a complete
``tool_call`` at once; a Vertex streamed call (quirk 50) stays open while its
``partialArgs`` rebuild the arguments, and ends at an empty ``functionCall``, at a
frame without ``willContinue`` (quirk 51), at the next part of another kind, or at the
finish.

Strategy (stray lines): Gemini appends a mid-stream error as a bare pretty-printed JSON
object without ``data:`` (quirk 24).  The SSE framing reports those lines as
:class:`SSEStrayLine`; lines from one starting with ``{`` are collected until their
braces balance (strings and escapes respected), then parsed as one payload.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from conformance.errors import PayloadError
from conformance.events import ErrorCategory, FinishReason, JSONObject, JSONValue
from conformance.framing import new_decoder as new_framing_decoder
from conformance.framing.messages import JSONArrayElement, SSEEvent, SSEStrayLine
from conformance.vendors._base import VendorDecoder, parse_payload, sse_decoder
from conformance.vendors._payload import may, need
from conformance.vendors.gemini.mapping import error_category, finish_reason
from conformance.vendors.gemini.partial_args import ArgsAssembler

if TYPE_CHECKING:
    from conformance.framing.messages import Message

__all__ = ["CODE_EXECUTION", "GeminiDecoder", "dumps_args"]

#: The ``name`` of the server tool call an ``executableCode`` part becomes.
CODE_EXECUTION = "code_execution"

# usageMetadata fields read (the rest -- totalTokenCount, *Details, trafficType -- are not).
_PROMPT = "promptTokenCount"
_TOOL_PROMPT = "toolUsePromptTokenCount"
_CANDIDATES = "candidatesTokenCount"
_THOUGHTS = "thoughtsTokenCount"
_CACHED = "cachedContentTokenCount"
_USAGE_KEYS = (_PROMPT, _TOOL_PROMPT, _CANDIDATES, _THOUGHTS, _CACHED)
_SIGNATURE_ONLY = frozenset({"thought", "thoughtSignature"})


def dumps_args(value: JSONValue, offset: int) -> str:
    """Whole arguments as the one delta of a call: compact JSON, characters kept as is."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (RecursionError, ValueError):
        raise PayloadError("function call arguments are nested too deeply", offset=offset) from None


@dataclass(slots=True)
class _Text:
    key: int
    kind: str
    signature: str | None = None


@dataclass(slots=True)
class _Call:
    key: int
    signature: str | None
    args: ArgsAssembler = field(default_factory=ArgsAssembler)


def _sum(*values: int | None) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


class GeminiDecoder(VendorDecoder):
    """Decodes one ``streamGenerateContent`` response (SSE or streamed JSON array)."""

    TERMINATOR = "a chunk carrying finishReason"

    def __init__(self, framing: str, flavour: str) -> None:
        if framing == "sse":
            super().__init__(sse_decoder(keep_stray_lines=True), flavour=flavour)
        else:
            super().__init__(new_framing_decoder(framing), flavour=flavour)
        self._next_key = 0
        self._text: _Text | None = None
        self._call: _Call | None = None
        self._tool_calls = 0
        self._finish: tuple[str, bool] | None = None  # (raw reason, from promptFeedback)
        self._usage: dict[str, int] = {}
        self._last_report: JSONObject | None = None
        self._start_pending = True
        self._emitted_output: int | None = None
        self._usage_pending = False
        # A bare JSON object being collected from stray SSE lines.
        self._stray: list[str] = []
        self._stray_offset = 0
        self._depth = 0
        self._in_string = False
        self._escape = False

    # -- messages ----------------------------------------------------------------------

    def on_message(self, message: Message) -> None:
        if self.out.terminated:
            return
        if isinstance(message, SSEStrayLine):
            self._on_stray(message)
            return
        if isinstance(message, SSEEvent):
            text = message.data
        elif isinstance(message, JSONArrayElement):
            text = message.text
        else:  # pragma: no cover - comments are not kept, other framings are not built
            return
        if self._stray:
            raise PayloadError(
                "an unfinished bare JSON object is followed by an event", offset=message.offset
            )
        self._on_chunk(parse_payload(text, message.offset), message.offset)

    def on_end(self) -> None:
        try:
            self._end()
        except PayloadError as exc:
            self.out.error(ErrorCategory.DECODE, exc.describe())

    def _end(self) -> None:
        if self._stray:
            self._close_all(incomplete=True)
            self.out.error(
                ErrorCategory.PROTOCOL,
                f"byte {self._stray_offset}: the stream ended inside a bare JSON object",
            )
            return
        if self._finish is None:  # the base reports the missing finish; keep signatures
            self._close_all(incomplete=True)
            return
        raw, blocked = self._finish
        length = raw == "MAX_TOKENS" and not blocked
        self._end_call(incomplete=length)
        if blocked:
            reason = FinishReason.CONTENT_FILTER
        else:
            reason = finish_reason(raw, has_tool_calls=self._tool_calls > 0)
        self._close_all(incomplete=length)
        self.out.finish(reason, raw)

    def _close_all(self, *, incomplete: bool) -> None:
        self._flush_usage()
        self._end_call(incomplete=incomplete)
        self._end_text(incomplete=incomplete)

    def _on_chunk(self, payload: JSONObject, off: int) -> None:
        # Fields usually absent are tested with ``in`` first: ``may`` costs a call each.
        if "error" in payload:
            self._on_error(payload["error"], off)
            return
        if self._start_pending:
            response_id = may(payload, "responseId", str, off)
            model = may(payload, "modelVersion", str, off)
            if response_id is not None or model is not None:
                self.out.start(response_id=response_id, model=model)
                self._start_pending = False
        if "candidates" in payload:
            seen = False
            candidates = payload["candidates"]
            if type(candidates) is not list:  # the common case skips ``may``: it only checks
                candidates = may(payload, "candidates", list, off, [])
            for candidate in candidates:
                if not isinstance(candidate, dict):
                    raise PayloadError("a candidate should be an object", offset=off)
                index = may(candidate, "index", int, off, 0) if "index" in candidate else 0
                if index != 0 or seen:
                    self.out.unknown(f"candidate[{index}]", candidate)
                    continue
                seen = True
                self._on_candidate(candidate, off)
        if "promptFeedback" in payload and (feedback := may(payload, "promptFeedback", dict, off)):
            block = may(feedback, "blockReason", str, off)
            if block is not None and self._finish is None:
                self._finish = (block, True)
        if (usage := payload.get("usageMetadata")) is not None:
            self._on_usage(usage if type(usage) is dict else need(payload, "usageMetadata", dict, off), off)

    def _on_candidate(self, candidate: JSONObject, off: int) -> None:
        content = candidate.get("content")
        if content is not None and type(content) is not dict:
            content = may(candidate, "content", dict, off)
        if content is not None:
            parts = content.get("parts")
            if type(parts) is not list:
                parts = may(content, "parts", list, off, [])
            for part in parts:
                if not isinstance(part, dict):
                    raise PayloadError("a part should be an object", offset=off)
                self._on_part(part, off)
        if "citationMetadata" in candidate and (cited := may(candidate, "citationMetadata", dict, off)):
            for citation in may(cited, "citations", list, off, []):
                self._citation(citation)
        if "groundingMetadata" in candidate and (grounding := may(candidate, "groundingMetadata", dict, off)):
            self._citation(grounding)
        if "finishReason" in candidate:
            reason = may(candidate, "finishReason", str, off)
            if reason is not None and self._finish is None:
                self._finish = (reason, False)

    # -- parts -------------------------------------------------------------------------

    def _on_part(self, part: JSONObject, off: int) -> None:
        signature = may(part, "thoughtSignature", str, off) if "thoughtSignature" in part else None
        if "text" in part or part.keys() <= _SIGNATURE_ONLY:
            text = part.get("text")
            if type(text) is not str:
                text = may(part, "text", str, off, "")
            thought = part.get("thought", False)
            if type(thought) is not bool:
                thought = may(part, "thought", bool, off, False)
            self._on_text(text, "reasoning" if thought else "text", signature)
        elif "functionCall" in part:
            self._end_text()
            self._on_function_call(need(part, "functionCall", dict, off), signature, off)
        elif "executableCode" in part:
            code = need(part, "executableCode", dict, off)
            args: JSONObject = {}
            language = may(code, "language", str, off)
            if language is not None:
                args["language"] = language
            args["code"] = need(code, "code", str, off)
            self._whole(
                "server_tool_call",
                id=may(code, "id", str, off),
                name=CODE_EXECUTION,
                args=args,
                signature=signature,
                off=off,
            )
        elif "codeExecutionResult" in part:
            result = need(part, "codeExecutionResult", dict, off)
            data: JSONObject = {}
            for name in ("outcome", "output"):
                value = may(result, name, str, off)
                if value is not None:
                    data[name] = value
            self._end_text()
            self._end_call()
            key = self._open("server_tool_result", id=may(result, "id", str, off), data=data)
            self.out.end(key, signature=signature)
        else:
            self.out.unknown(f"part.{next(k for k in part if k not in _SIGNATURE_ONLY)}", part)

    def _on_text(self, text: str, kind: str, signature: str | None) -> None:
        if not text and signature is None:
            return  # an empty part carries nothing (quirk 73)
        if self._call is not None:
            self._end_call()
        block = self._text
        if block is None or block.kind != kind or (signature is not None and block.signature is not None):
            self._end_text()
            block = self._text = _Text(self._open(kind), kind)
        self.out.delta(block.key, text)
        if signature is not None:
            block.signature = signature

    def _on_function_call(self, call: JSONObject, signature: str | None, off: int) -> None:
        name = may(call, "name", str, off)
        partial = may(call, "partialArgs", list, off)
        more = may(call, "willContinue", bool, off, False)
        streamed = self._call
        if streamed is not None:
            if name:
                self._end_call()  # a new call begins: the open one is done
            elif "args" in call:
                raise PayloadError("functionCall 'args' while a streamed call is open", offset=off)
            else:
                self._apply(streamed, partial or [], off)
                if streamed.signature is None:
                    streamed.signature = signature
                if not more:
                    self._end_call()
                return
        if not name:
            if partial is not None or "args" in call:
                raise PayloadError("functionCall without a 'name' and no streamed call open", offset=off)
            return  # an empty functionCall with nothing to end
        call_id = may(call, "id", str, off)
        if "args" in call or (partial is None and not more):
            args = may(call, "args", dict, off, {})
            self._whole("tool_call", id=call_id, name=name, args=args, signature=signature, off=off)
            self._tool_calls += 1
            return
        self._call = _Call(self._open("tool_call", id=call_id, name=name), signature)
        self._apply(self._call, partial or [], off)
        if not more:
            self._end_call()

    def _apply(self, call: _Call, entries: list[JSONValue], off: int) -> None:
        for entry in entries:
            if not isinstance(entry, dict):
                raise PayloadError("a partialArgs entry should be an object", offset=off)
            call.args.apply(entry, off)

    def _whole(
        self, kind: str, *, id: str | None, name: str, args: JSONObject, signature: str | None, off: int
    ) -> None:
        self._end_text()
        self._end_call()
        text = dumps_args(args, off)
        key = self._open(kind, id=id, name=name)
        self.out.delta(key, text)
        self.out.end(key, signature=signature)

    def _citation(self, data: JSONValue) -> None:
        self.out.end(self._open("citation", data=data))

    # -- blocks --------------------------------------------------------------------------

    def _open(
        self, kind: str, *, id: str | None = None, name: str | None = None, data: JSONValue = None
    ) -> int:
        key = self._next_key
        self._next_key += 1
        self.out.open(key, kind, id=id, name=name, data=data)
        return key

    def _end_text(self, *, incomplete: bool = False) -> None:
        block, self._text = self._text, None
        if block is not None:
            self.out.end(block.key, incomplete=incomplete, signature=block.signature)

    def _end_call(self, *, incomplete: bool = False) -> None:
        call, self._call = self._call, None
        if call is None:
            return
        if not incomplete:
            self.out.delta(call.key, dumps_args(call.args.root, 0))
            self._tool_calls += 1
        self.out.end(call.key, incomplete=incomplete, signature=call.signature)

    # -- usage and errors ----------------------------------------------------------------

    def _on_usage(self, usage: JSONObject, off: int) -> None:
        if usage == self._last_report:
            return  # Gemini repeats the report on every chunk; the same one changes nothing
        self._last_report = usage
        for name in _USAGE_KEYS:
            value = usage.get(name)
            if value is not None:
                if type(value) is not int or value < 0:
                    raise PayloadError(f"usageMetadata.{name} should be a token count", offset=off)
                self._usage[name] = value
        output = _sum(self._usage.get(_CANDIDATES), self._usage.get(_THOUGHTS))
        if self._emitted_output is not None and output is not None and output < self._emitted_output:
            self._usage_pending = True  # not a snapshot to show mid-stream; the last one wins
            return
        self._emit_usage()

    def _flush_usage(self) -> None:
        if self._usage_pending:
            self._emit_usage()

    def _emit_usage(self) -> None:
        u = self._usage
        output = _sum(u.get(_CANDIDATES), u.get(_THOUGHTS))
        self.out.usage(
            input_tokens=_sum(u.get(_PROMPT), u.get(_TOOL_PROMPT)),
            output_tokens=output,
            cache_read=u.get(_CACHED),
            reasoning_tokens=u.get(_THOUGHTS),
        )
        self._usage_pending = False
        if output is not None:
            self._emitted_output = output

    def _on_error(self, error: JSONValue, off: int) -> None:
        if not isinstance(error, dict):
            raise PayloadError("field 'error' should be an object", offset=off)
        code = may(error, "code", int, off)
        status = may(error, "status", str, off)
        message = may(error, "message", str, off, "")
        self._close_all(incomplete=True)
        self.out.error(error_category(status, code), message, status=code, code=status)

    def _on_stray(self, line: SSEStrayLine) -> None:
        text = line.text
        if not self._stray:
            if not text.lstrip().startswith("{"):
                self.out.unknown("sse.stray_line", text)
                return
            self._stray_offset = line.offset
        self._stray.append(text)
        if not self._balanced(text):
            return
        body = "\n".join(self._stray)
        self._stray = []
        payload = parse_payload(body, self._stray_offset)
        if "error" in payload:
            self._on_error(payload["error"], self._stray_offset)
        else:
            self.out.unknown("sse.stray_json", payload)

    def _balanced(self, text: str) -> bool:
        """Scan one more line of the bare object; True once its braces balance."""
        for char in text:
            if self._escape:
                self._escape = False
            elif self._in_string:
                if char == "\\":
                    self._escape = True
                elif char == '"':
                    self._in_string = False
            elif char == '"':
                self._in_string = True
            elif char in "{[":
                self._depth += 1
            elif char in "}]":
                self._depth -= 1
                if self._depth == 0:
                    self._in_string = self._escape = False
                    return True
        return False
