"""Sans-IO framing: SSE, NDJSON, streamed JSON array, AWS eventstream.  No I/O.

Each framing has a decoder class with ``feed(bytes) -> list`` / ``close() -> list``
(see ``conformance.framing.messages``) and an encoder for synthetic streams.
``FRAMINGS`` maps the framing names used on the command line and in cases to a
decoder factory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from conformance.errors import UsageError
from conformance.framing.eventstream import EventStreamDecoder
from conformance.framing.jsonarray import JSONArrayDecoder
from conformance.framing.messages import Decoder, Message
from conformance.framing.ndjson import NDJSONDecoder
from conformance.framing.sse import SSEDecoder

__all__ = ["FRAMINGS", "decode", "new_decoder"]

#: Framing name -> factory of a fresh decoder with default options.
FRAMINGS: dict[str, Callable[..., Decoder[Message]]] = {
    "sse": SSEDecoder,
    "ndjson": NDJSONDecoder,
    "json-array": JSONArrayDecoder,
    "eventstream": EventStreamDecoder,
}


def new_decoder(name: str, **options: Any) -> Decoder[Message]:
    """A fresh decoder for the framing called ``name`` (with the decoder's keyword
    options, e.g. ``eof="dispatch"`` for SSE); UsageError for unknown names."""
    try:
        factory = FRAMINGS[name]
    except KeyError:
        raise UsageError(f"unknown framing {name!r} (valid: {', '.join(FRAMINGS)})") from None
    return factory(**options)


def decode(decoder: Decoder[Message], chunks: Iterable[bytes]) -> list[Message]:
    """Feed every chunk to ``decoder``, then close it; all messages in order."""
    out: list[Message] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    out.extend(decoder.close())
    return out
