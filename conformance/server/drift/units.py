"""A stream body as units (one framed message each, with its payload and original bytes),
encoded back in its framing, and the path helpers that read and edit payloads.  No I/O.

Units a mutation does not touch keep their exact bytes wherever the framing allows (SSE,
NDJSON and eventstream are cut into per-message byte segments; a JSON array is re-joined
in Gemini's layout); a changed unit is written again with its payload as compact JSON.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from conformance.errors import StreamError, UsageError
from conformance.framing import new_decoder
from conformance.framing.eventstream import encode_message
from conformance.framing.jsonarray import encode as encode_json_array
from conformance.framing.messages import (
    EventStreamMessage,
    JSONArrayElement,
    Message,
    NDJSONLine,
    SSEEvent,
)
from conformance.framing.sse import encode_event
from conformance.server.drift.model import DONE, Path, Payload

__all__ = [
    "Unit",
    "Units",
    "compact",
    "cut_units",
    "encode_units",
    "eol_of",
    "get_at",
    "has_at",
    "pop_at",
    "rename_key",
    "set_at",
    "with_payload",
]


@dataclass(frozen=True, slots=True)
class Unit:
    """One framed message: ``type`` is its vendor event type (the SSE ``event:`` name,
    the eventstream ``:event-type``, the payload's ``type`` or ``event_type``, ``[DONE]``,
    else ``chunk``); ``payload`` its JSON object (None when it is none); ``raw`` its
    original bytes, or None once changed (it is then encoded again)."""

    message: Message
    type: str
    payload: Payload | None
    raw: bytes | None


Units = list[Unit]


def _payload_text(message: Message) -> str | None:
    if isinstance(message, SSEEvent):
        return message.data
    if isinstance(message, NDJSONLine | JSONArrayElement):
        return message.text
    if isinstance(message, EventStreamMessage):
        try:
            return message.payload.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None  # comments and stray lines


def _parse(text: str | None) -> Payload | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _type_of(message: Message, payload: Payload | None) -> str:
    if isinstance(message, EventStreamMessage):
        value = message.header(":event-type") or message.header(":exception-type")
        return str(value) if value is not None else "chunk"
    if isinstance(message, SSEEvent):
        if message.event:
            return message.event
        if message.data == DONE:
            return DONE
    if payload is not None:
        for key in ("type", "event_type"):
            if isinstance(payload.get(key), str):
                return str(payload[key])
    return "chunk"


def cut_units(framing: str, body: bytes) -> tuple[bytes, Units] | None:
    """The body's prefix (a BOM) and units, or None when it cannot be cut into them."""
    options: dict[str, Any] = {}
    if framing == "sse":
        options = {"eof": "dispatch", "keep_comments": True, "keep_stray_lines": True}
    decoder = new_decoder(framing, **options)
    try:
        messages = [*decoder.feed(body), *decoder.close()]
    except StreamError:
        return None
    if not messages:
        return None
    starts = [m.offset for m in messages]
    if any(b <= a for a, b in itertools.pairwise(starts)) or starts[0] < 0:
        return None
    ends = [*starts[1:], len(body)]
    units = []
    for message, start, end in zip(messages, starts, ends, strict=True):
        payload = _parse(_payload_text(message))
        units.append(Unit(message, _type_of(message, payload), payload, body[start:end]))
    return body[: starts[0]], units


def eol_of(body: bytes) -> str:
    """The line end ``body`` uses (CRLF, CR or LF), for units encoded again."""
    if b"\r\n" in body:
        return "\r\n"
    return "\r" if b"\r" in body else "\n"


def compact(payload: Payload) -> str:
    """``payload`` as compact JSON text."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def with_payload(unit: Unit, payload: Payload) -> Unit:
    """``unit`` carrying ``payload`` instead (to be encoded again)."""
    text = compact(payload)
    message = unit.message
    if isinstance(message, SSEEvent):
        message = dataclasses.replace(message, data=text)
    elif isinstance(message, NDJSONLine | JSONArrayElement):
        message = dataclasses.replace(message, text=text)
    elif isinstance(message, EventStreamMessage):
        message = dataclasses.replace(message, payload=text.encode("utf-8"))
    return Unit(message, unit.type, payload, None)


def encode_units(framing: str, prefix: bytes, units: Sequence[Unit], eol: str) -> bytes:
    """The body of ``units`` in ``framing``: ``prefix``, then each unit's original bytes or,
    once changed, its message encoded again."""
    if framing == "json-array":
        texts = [_payload_text(u.message) or "" for u in units]
        return encode_json_array(texts, style="gemini")
    out = [prefix]
    for i, unit in enumerate(units):
        last = i == len(units) - 1
        data = unit.raw if unit.raw is not None else _encode_unit(unit, eol)
        if not last:
            data = _closed(unit.message, data, eol)
        out.append(data)
    return b"".join(out)


def _encode_unit(unit: Unit, eol: str) -> bytes:
    message = unit.message
    if isinstance(message, SSEEvent):
        event = dataclasses.replace(message, id=None, retry=None)
        return encode_event(event, eol=eol)  # type: ignore[arg-type]
    if isinstance(message, NDJSONLine):
        return (message.text + eol).encode("utf-8")
    if isinstance(message, EventStreamMessage):
        return encode_message(message.headers, message.payload)
    raise UsageError(f"cannot encode {type(message).__name__} again")  # pragma: no cover


def _closed(message: Message, data: bytes, eol: str) -> bytes:
    """``data`` ended so that what follows it starts a new message (a last SSE event may
    lack its blank line, a last NDJSON line its line end)."""
    end = eol.encode("ascii")
    if isinstance(message, SSEEvent) and not data.endswith(end + end):
        return data + (end if data.endswith(end) else end + end)
    if isinstance(message, NDJSONLine) and not data.endswith((b"\n", b"\r")):
        return data + end
    return data


# -- paths in payloads -----------------------------------------------------------------


def get_at(obj: Any, path: Path) -> Any:
    """The value at ``path`` in ``obj``, or None when there is none."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(obj, list) or not -len(obj) <= step < len(obj):
                return None
            obj = obj[step]
        else:
            if not isinstance(obj, dict) or step not in obj:
                return None
            obj = obj[step]
    return obj


def has_at(obj: Any, path: Path) -> bool:
    """Whether the object at ``path[:-1]`` has the key ``path[-1]``."""
    parent = get_at(obj, path[:-1])
    return isinstance(parent, dict) and path[-1] in parent


def set_at(obj: Any, path: Path, value: Any) -> None:
    """Set the value at ``path`` when its parent exists (else do nothing)."""
    parent = get_at(obj, path[:-1])
    key = path[-1]
    if isinstance(parent, dict):
        parent[key] = value
        return
    if isinstance(parent, list) and isinstance(key, int):
        parent[key] = value


def pop_at(obj: Any, path: Path) -> Any:
    """Remove and return the value at ``path`` (None when its parent is no object)."""
    parent = get_at(obj, path[:-1])
    return parent.pop(path[-1]) if isinstance(parent, dict) else None


def rename_key(obj: Payload, path: Path, new: str) -> None:
    """Rename the last key of ``path`` to ``new``, keeping its place among its siblings."""
    parent = get_at(obj, path[:-1])
    if isinstance(parent, dict):
        items = [(new if k == path[-1] else k, v) for k, v in parent.items()]
        parent.clear()
        parent.update(items)
