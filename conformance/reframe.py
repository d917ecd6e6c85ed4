"""Re-frame "payload lines" recordings into the vendor's wire bytes.  No I/O.

Some public recordings (vercel/ai chunk fixtures) keep one event payload per line,
the SSE framing stripped by the recorder.  To replay them as a vendor would send them
we wrap each payload in that API's SSE framing again:

* ``anthropic/messages``, ``openai/responses``, ``cohere/chat``: a named event per
  payload, ``event: <payload's "type">`` then ``data: <payload>`` (the vendors name
  every event after its JSON ``type``);
* ``openai/chat-completions`` (and its flavours): ``data: <payload>`` per payload;
* ``gemini/generate-content``: ``data: <payload>`` with CRLF line ends, as Gemini sends.

The recorder also dropped the vendor's *terminator* when it was not a JSON payload:
OpenAI Chat's ``data: [DONE]`` and Cohere's trailing ``data: [DONE]``.  For those two
APIs it is appended again: every such recording we re-frame ends with a completed
response (its finish chunk or ``message-end``), and a completed recording must not
read as a truncated one.  Nothing else is invented.  Cases built this way record
``source: reframed`` so that this step stays visible.
"""

from __future__ import annotations

import json

from conformance.errors import FramingError, UsageError
from conformance.framing.messages import SSEEvent
from conformance.framing.sse import encode

__all__ = ["REFRAMED_APIS", "reframe"]

_NAMED = frozenset({"anthropic/messages", "openai/responses", "cohere/chat"})
_DATA_ONLY = frozenset({"openai/chat-completions"})
_CRLF = frozenset({"gemini/generate-content"})

#: The APIs whose payload-lines recordings can be re-framed.
REFRAMED_APIS = tuple(sorted(_NAMED | _DATA_ONLY | _CRLF))

# APIs whose stream ends with a non-JSON ``data: [DONE]`` the recorder dropped.
_DONE_TERMINATED = frozenset({"openai/chat-completions", "cohere/chat"})


def _payloads(body: bytes) -> list[tuple[int, str]]:
    out = []
    offset = 0
    for raw in body.split(b"\n"):
        line = raw.rstrip(b"\r")
        if line.strip():
            try:
                out.append((offset, line.decode("utf-8")))
            except UnicodeDecodeError as exc:
                msg = "payload line is not valid UTF-8"
                raise FramingError(msg, offset=offset + exc.start) from None
        offset += len(raw) + 1
    return out


def _event_name(offset: int, payload: str) -> str:
    try:
        obj = json.loads(payload)
    except json.JSONDecodeError as exc:
        msg = f"payload line is not JSON ({exc.msg}); cannot name its SSE event"
        raise FramingError(msg, offset=offset + exc.pos) from None
    type_ = obj.get("type") if isinstance(obj, dict) else None
    if not isinstance(type_, str) or not type_:
        msg = "payload has no string 'type' to name its SSE event after"
        raise FramingError(msg, offset=offset)
    return type_


def reframe(body: bytes, *, api: str) -> bytes:
    """Wrap each non-blank payload line of ``body`` in ``api``'s SSE framing."""
    if api not in REFRAMED_APIS:
        raise UsageError(f"cannot re-frame payload lines for {api!r} (valid: {', '.join(REFRAMED_APIS)})")
    payloads = _payloads(body)
    if api in _NAMED:
        events = [SSEEvent(event=_event_name(off, text), data=text) for off, text in payloads]
    else:
        events = [SSEEvent(data=text) for _, text in payloads]
    if api in _DONE_TERMINATED and payloads and payloads[-1][1].strip() != "[DONE]":
        events.append(SSEEvent(data="[DONE]"))
    return encode(events, eol="\r\n" if api in _CRLF else "\n")
