"""Byte-level post-processes of a rendered body: framing variants, cuts, injections.  No I/O.

Some quirks live below what an encoder decides: how the SSE framing is written (a BOM,
``data:`` without the space, one payload over several ``data:`` lines, ``id:``/``retry:``
fields, keep-alive comments or empty ``data:`` lines), or a stream cut short, or a
broken payload a server slipped in.  These functions take the rendered body and give
the variant.  SSE variants decode the body's messages (events, comments and stray
lines, so a Gemini raw JSON error survives) and write them again with
:func:`conformance.framing.sse.encode`; the payloads stay byte for byte, except for
``multiline``, which lays each JSON payload out over several lines.

:func:`cut` and :func:`inject` find a *marker* (a text fragment unique to one wire
message) and act at that message: cut inside it (the message is left half-sent), cut
before it (the stream stops at a message boundary), or put a message in front of it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Literal

from conformance.errors import UsageError
from conformance.framing import new_decoder
from conformance.framing.messages import SSEComment, SSEEvent, SSEStrayLine
from conformance.framing.sse import SSEDecoder, SSEMessage, encode

__all__ = ["POSTS", "cut", "inject", "message_offsets"]

_CRLF = b"\r\n"


def _sse_messages(body: bytes) -> list[SSEMessage]:
    decoder = SSEDecoder(eof="dispatch", keep_comments=True, keep_stray_lines=True)
    return [*decoder.feed(body), *decoder.close()]


def _eol(body: bytes) -> Literal["\n", "\r\n"]:
    return "\r\n" if _CRLF in body else "\n"


def _final_blank(body: bytes) -> bool:
    return body.endswith((b"\n\n", b"\r\n\r\n"))


def _reencode(body: bytes, items: list[SSEMessage], **options: bool) -> bytes:
    return encode(items, eol=_eol(body), final_blank_line=_final_blank(body), **options)  # type: ignore[arg-type]


def bom(body: bytes) -> bytes:
    """A UTF-8 BOM before the first field (``sse.bom_prefix``)."""
    return _reencode(body, _sse_messages(body), bom=True)


def no_space(body: bytes) -> bytes:
    """``data:{...}`` and ``event:x``: no space after the colon (``sse.no_space_after_colon``)."""
    return _reencode(body, _sse_messages(body), space_after_colon=False)


def multiline(body: bytes) -> bytes:
    """Each JSON object payload laid out over several ``data:`` lines (``sse.multiline_data``)."""
    items: list[SSEMessage] = []
    for message in _sse_messages(body):
        if isinstance(message, SSEEvent) and message.data.startswith("{"):
            laid_out = json.dumps(json.loads(message.data), ensure_ascii=False, indent=1)
            items.append(SSEEvent(data=laid_out, event=message.event, id=message.id))
        else:
            items.append(message)
    return _reencode(body, items)


def id_retry(body: bytes) -> bytes:
    """An ``id:`` on every event and a ``retry:`` on the first (``sse.id_retry_fields``)."""
    items: list[SSEMessage] = []
    number = 0
    for message in _sse_messages(body):
        if isinstance(message, SSEEvent):
            number += 1
            retry = 3000 if number == 1 else None
            items.append(
                SSEEvent(data=message.data, event=message.event, id=f"evt_{number:04d}", retry=retry)
            )
        else:
            items.append(message)
    return _reencode(body, items)


def comments(body: bytes) -> bytes:
    """A ``: keep-alive`` comment before the first event and after every event."""
    items: list[SSEMessage] = [SSEComment(text=" keep-alive")]
    for item in _sse_messages(body):
        items.append(item)
        if isinstance(item, SSEEvent):
            items.append(SSEComment(text=" keep-alive"))
    return _reencode(body, items)


def data_keepalive(body: bytes) -> bytes:
    """Two keep-alives as ``data:`` lines (an empty payload, then ``ping``) before the
    first event, as some OpenAI-compatible gateways send while queued (``sse.data_only_keepalive``)."""
    items: list[SSEMessage] = [SSEEvent(data=""), SSEEvent(data="ping"), *_sse_messages(body)]
    return _reencode(body, items)


def total_not_sum(body: bytes) -> bytes:
    """OpenAI Chat: ``total_tokens`` counts the reasoning tokens once more, as xAI's does
    (``usage.total_not_sum``: 291 + 26 reported as 513); decoders must not add it up."""
    items: list[SSEMessage] = []
    for message in _sse_messages(body):
        if isinstance(message, SSEEvent) and '"usage":{' in message.data:
            payload = json.loads(message.data)
            usage = payload["usage"]
            reasoning = usage.get("completion_tokens_details", {}).get("reasoning_tokens", 0)
            usage["total_tokens"] = usage["total_tokens"] + reasoning
            data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
            items.append(SSEEvent(data=data, event=message.event))
        else:
            items.append(message)
    return _reencode(body, items)


def last_fragment_on_finish(body: bytes) -> bytes:
    """OpenAI Chat: the last argument fragment rides on the finish chunk, without id, type
    or name (``vllm.finish_chunk_drops_fields``): the chunk before the finish chunk is
    folded into it."""
    items = _sse_messages(body)
    for n, item in enumerate(items):
        if not isinstance(item, SSEEvent) or not item.data.startswith("{"):
            continue
        payload = json.loads(item.data)
        choices = payload.get("choices") or [{}]
        if choices[0].get("finish_reason") is None:
            continue
        before = next(k for k in range(n - 1, -1, -1) if isinstance(items[k], SSEEvent))
        previous = items[before]
        assert isinstance(previous, SSEEvent)
        fragment = json.loads(previous.data)["choices"][0]["delta"]
        if "tool_calls" not in fragment:
            raise UsageError("the chunk before the finish chunk holds no argument fragment")
        choices[0]["delta"] = {**choices[0]["delta"], **fragment}
        merged = SSEEvent(data=json.dumps(payload, ensure_ascii=False, separators=(",", ":")))
        return _reencode(body, [*items[:before], merged, *items[n + 1 :]])
    raise UsageError("the stream has no finish chunk")


def anthropic_unknown_first(body: bytes) -> bytes:
    """Anthropic: an event type this decoder does not know comes first
    (``anthropic.unknown_event_types``); see :data:`UNKNOWN_ANTHROPIC_EVENT`."""
    event = SSEEvent(data=json.dumps(UNKNOWN_ANTHROPIC_EVENT, separators=(",", ":")), event="session.status")
    return _reencode(body, [event, *_sse_messages(body)])


#: The payload :func:`anthropic_unknown_first` sends (a newer event type).
UNKNOWN_ANTHROPIC_EVENT = {"type": "session.status", "status": "running"}

#: Post-processes by name (a target's ``post``).
POSTS: dict[str, Callable[[bytes], bytes]] = {
    "bom": bom,
    "no-space": no_space,
    "multiline": multiline,
    "id-retry": id_retry,
    "comments": comments,
    "data-keepalive": data_keepalive,
    "total-not-sum": total_not_sum,
    "last-fragment-on-finish": last_fragment_on_finish,
    "unknown-event-first": anthropic_unknown_first,
}


def message_offsets(body: bytes, framing: str) -> list[int]:
    """Where each framed message of ``body`` starts."""
    decoder = new_decoder(framing, **({"eof": "dispatch"} if framing == "sse" else {}))
    messages = [*decoder.feed(body), *decoder.close()]
    return [m.offset for m in messages if not isinstance(m, SSEComment | SSEStrayLine)]


def _marked(body: bytes, framing: str, marker: str) -> tuple[int, int]:
    """(start of the message holding the first ``marker``, offset of that marker)."""
    at = body.find(marker.encode("utf-8"))
    if at < 0:
        raise UsageError(f"the marker {marker!r} is not in the body")
    start = max(o for o in message_offsets(body, framing) if o <= at)
    return start, at


def cut(body: bytes, framing: str, marker: str, where: Literal["inside", "before"]) -> bytes:
    """The body cut inside the message holding ``marker`` (in the middle of the marker)
    or right before that message."""
    start, at = _marked(body, framing, marker)
    return body[: at + len(marker.encode("utf-8")) // 2] if where == "inside" else body[:start]


def inject(body: bytes, framing: str, marker: str, message: bytes) -> bytes:
    """``message`` (framed bytes) put right before the message holding ``marker``."""
    start, _ = _marked(body, framing, marker)
    return body[:start] + message + body[start:]
