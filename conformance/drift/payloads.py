"""The vendor payloads of one stream, each with its vendor event type.  No I/O.

The bytes are framed exactly as the reference decoders frame them (SSE with the last
event dispatched at the end of input, Gemini's bare error lines kept, NDJSON, the
streamed JSON array, AWS eventstream), then each message becomes one
:class:`VendorPayload`:

* its *event type* is the API's own notion (:data:`_TYPERS`): the payload's ``type``
  (Anthropic, OpenAI Responses, Cohere v2), ``event_type`` (Cohere v1), the frame's
  ``:event-type`` or ``:exception-type`` header (Bedrock), or, for APIs whose payloads
  carry no type, a stable shape name: ``chunk`` or ``error`` (OpenAI Chat, Gemini,
  Ollama);
* ``data: [DONE]`` is the sentinel type ``[DONE]`` (no fields); data that is not JSON
  is the type ``(not JSON)``; a typed API's payload without a type is ``(untyped)``;
  SSE comments and empty ``data`` keep-alives are not payloads;
* ``marks`` are the *landmarks* an untyped payload carries (``(finish)``,
  ``(usage)``, ``(done)``; :data:`_LANDMARKS`), so that ordering can see where the
  finish and the usage come even when every payload is a ``chunk``;
* ``document`` is what the API's payload schema describes (Bedrock's is
  ``{<event type>: payload}``), None when the schema does not describe it.

A framing error ends the payloads; :class:`Extraction` keeps those before it and says
what went wrong (a truncated or garbled candidate is drift the canonical comparison
reports; it still has payloads to compare).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from conformance.errors import StreamError
from conformance.events import JSONValue
from conformance.framing import new_decoder
from conformance.framing.messages import (
    EventStreamMessage,
    JSONArrayElement,
    Message,
    NDJSONLine,
    SSEEvent,
    SSEStrayLine,
)
from conformance.vendors._base import sse_decoder

__all__ = ["DONE", "NOT_JSON", "UNTYPED", "Extraction", "VendorPayload", "extract"]

DONE = "[DONE]"
NOT_JSON = "(not JSON)"
UNTYPED = "(untyped)"


@dataclass(frozen=True, slots=True, kw_only=True)
class VendorPayload:
    """One vendor message: its event type, parsed JSON (None for a sentinel or text that
    is not JSON), landmarks, the document its schema describes, and where it starts."""

    event_type: str
    value: JSONValue
    marks: tuple[str, ...] = ()
    document: JSONValue = None
    text: str | None = None  # the raw text when it is not JSON
    offset: int = -1


@dataclass(frozen=True, slots=True, kw_only=True)
class Extraction:
    """The payloads of one stream, and the framing problem that ended them, if any."""

    payloads: tuple[VendorPayload, ...]
    problem: str | None = None


def _field_type(key: str) -> Callable[[dict[str, JSONValue], str | None], str]:
    def typer(payload: dict[str, JSONValue], event: str | None) -> str:
        value = payload.get(key)
        if isinstance(value, str):
            return value
        return event or UNTYPED

    return typer


def _shape(payload: dict[str, JSONValue], event: str | None) -> str:
    if event == "error" or ("error" in payload and "choices" not in payload and "candidates" not in payload):
        return "error"
    return "chunk"


#: API id -> the event type of one JSON-object payload (``event`` is the SSE event name).
_TYPERS: Mapping[str, Callable[[dict[str, JSONValue], str | None], str]] = MappingProxyType(
    {
        "anthropic/messages": _field_type("type"),
        "openai/responses": _field_type("type"),
        "cohere/chat": _field_type("type"),
        "cohere/chat-v1": _field_type("event_type"),
        "openai/chat-completions": _shape,
        "gemini/generate-content": _shape,
        "ollama/chat": _shape,
        "bedrock/converse-stream": lambda payload, event: event or UNTYPED,
    }
)


def _choices_finish(payload: dict[str, JSONValue]) -> bool:
    choices = payload.get("choices")
    return isinstance(choices, list) and any(
        isinstance(c, dict) and c.get("finish_reason") is not None for c in choices
    )


def _chat_usage(payload: dict[str, JSONValue]) -> bool:
    groq = payload.get("x_groq")
    in_groq = isinstance(groq, dict) and isinstance(groq.get("usage"), dict)
    return in_groq or isinstance(payload.get("usage"), dict)


def _gemini_finish(payload: dict[str, JSONValue]) -> bool:
    candidates = payload.get("candidates")
    return isinstance(candidates, list) and any(
        isinstance(c, dict) and c.get("finishReason") is not None for c in candidates
    )


#: API id -> (landmark, test) for APIs whose payloads carry no event type.
_LANDMARKS: Mapping[str, tuple[tuple[str, Callable[[dict[str, JSONValue]], bool]], ...]] = MappingProxyType(
    {
        "openai/chat-completions": (("(finish)", _choices_finish), ("(usage)", _chat_usage)),
        "gemini/generate-content": (("(finish)", _gemini_finish),),
        "ollama/chat": (("(done)", lambda p: p.get("done") is True),),
    }
)


def _default_typer(payload: dict[str, JSONValue], event: str | None) -> str:
    value = payload.get("type")
    return value if isinstance(value, str) else event or "chunk"


class _Collector:
    """Turns framed messages into payloads for one API (internal)."""

    def __init__(self, api: str) -> None:
        self.api = api
        self.typer = _TYPERS.get(api, _default_typer)
        self.landmarks = _LANDMARKS.get(api, ())
        self.out: list[VendorPayload] = []
        self.stray: list[str] = []
        self.stray_offset = -1

    def text(self, text: str, event: str | None, offset: int) -> None:
        stripped = text.strip()
        if not stripped:
            return
        if stripped == DONE:
            self.out.append(VendorPayload(event_type=DONE, value=None, offset=offset))
            return
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            self.out.append(VendorPayload(event_type=event or NOT_JSON, value=None, text=text, offset=offset))
            return
        self.json(value, event, offset, value)

    def json(self, value: JSONValue, event: str | None, offset: int, document: JSONValue) -> None:
        if not isinstance(value, dict):
            etype = event or NOT_JSON
            self.out.append(VendorPayload(event_type=etype, value=value, document=document, offset=offset))
            return
        marks = tuple(name for name, test in self.landmarks if test(value))
        etype = self.typer(value, event)
        self.out.append(
            VendorPayload(event_type=etype, value=value, marks=marks, document=document, offset=offset)
        )

    def frame(self, message: EventStreamMessage) -> None:
        kind = message.header(":message-type")
        name = message.header(":event-type") if kind == "event" else message.header(":exception-type")
        if kind not in ("event", "exception") or not isinstance(name, str):
            etype = f":message-type {kind!s}"
            self.out.append(VendorPayload(event_type=etype, value=None, offset=message.offset))
            return
        try:
            value = json.loads(message.payload)
        except (ValueError, RecursionError):
            text = message.payload.decode("utf-8", "replace")
            self.out.append(VendorPayload(event_type=name, value=None, text=text, offset=message.offset))
            return
        self.json(value, name, message.offset, {name: value})

    def message(self, message: Message) -> None:
        if isinstance(message, SSEStrayLine):
            if not self.stray:
                self.stray_offset = message.offset
            self.stray.append(message.text)
            return
        self.flush()
        if isinstance(message, SSEEvent):
            self.text(message.data, message.event, message.offset)
        elif isinstance(message, NDJSONLine | JSONArrayElement):
            self.text(message.text, None, message.offset)
        elif isinstance(message, EventStreamMessage):
            self.frame(message)

    def flush(self) -> None:
        """A run of bare lines (Gemini's error object after the events) is one payload."""
        if self.stray:
            self.text("\n".join(self.stray), None, self.stray_offset)
            self.stray = []


def extract(api: str, framing: str, body: bytes) -> Extraction:
    """The payloads of ``body`` (framed as ``framing``) for ``api``; never raises for bad bytes."""
    if framing == "sse":
        decoder = sse_decoder(keep_stray_lines=api == "gemini/generate-content")
    else:
        decoder = new_decoder(framing)
    collector = _Collector(api)
    problem = None
    try:
        for message in decoder.feed(body):
            collector.message(message)
        for message in decoder.close():
            collector.message(message)
    except StreamError as exc:
        problem = f"{type(exc).__name__}: {exc.describe()}"
    collector.flush()
    return Extraction(payloads=tuple(collector.out), problem=problem)
