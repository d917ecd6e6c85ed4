"""The adapter contract: what an adapter under test declares, what it is given, and how
its own output becomes canonical events.  No I/O.

An adapter is a :class:`Adapter` value.  It works at the byte level, the HTTP level,
or both.  Byte level: its ``stream`` callable gets a
:class:`StreamRequest` (the API, flavour, framing and the case's request) and the
response body as a :class:`ByteChunks` source, and returns the adapter's own events,
either as an async iterator (an ``async def`` generator) or a sync iterable (a plain
generator, or a list).  The source is both an async and a sync iterator: an async
adapter writes ``async for chunk in chunks``, a sync one ``for chunk in chunks``, and
both should close it when they stop early (``await chunks.aclose()`` /
``chunks.close()``), as they would close an HTTP response.

HTTP level: its ``http`` callable gets only the :class:`StreamRequest`, whose
``base_url`` says where the vendor is (the loopback fake-vendor server, or the vendor's
own URL while the suite replays a cassette through vcrpy), makes the streaming call
itself (``request.url`` is ``base_url`` + the vendor path + query; ``request.headers``
the case's non-secret headers; ``request.read_timeout`` the read timeout to use) and
returns its events the same way.  An HTTP error or a dropped connection should come
out as a typed ``error`` (emitted, or raised and mapped by ``map_exception``).

``to_canonical`` maps each of the adapter's own events to canonical events: a
:class:`conformance.events.Event`, a JSON mapping in the form of
``schemas/canonical-event.schema.json``, an iterable of those, or ``None`` (nothing).
``map_exception`` maps an exception the adapter raised to a canonical ``error`` event
(SPEC: an error before any output may be raised instead of emitted); returning
``None`` means "not a typed error", and the exception is a crash.

Capabilities say what optional content the adapter produces.  A case whose expected
sequence needs a capability the adapter does not declare is UNSUPPORTED, except
``usage``: without it, usage is left out of the comparison on both sides.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from conformance._slots import new_delta
from conformance.errors import EventError, UsageError
from conformance.events import EVENT_TYPES, BlockDelta, BlockStart, Event, from_json
from conformance.harness.fastcheck import certainly_valid
from conformance.schemas import validate_event_json

__all__ = [
    "ALL",
    "Adapter",
    "ByteChunks",
    "Capability",
    "StreamRequest",
    "canonical_events",
    "needed_capabilities",
]

#: In :attr:`Adapter.apis`, "every flavour of this API".
ALL = "*"


class Capability(StrEnum):
    """Optional content or behaviour an adapter may declare."""

    #: reasoning blocks (thinking, thought parts, ``reasoning_content``, tool plans)
    REASONING = "reasoning"
    #: citation blocks
    CITATIONS = "citations"
    #: server-side tool calls and results (web search, code execution)
    SERVER_TOOLS = "server_tools"
    #: ``usage`` events (without it, usage is left out of every comparison)
    USAGE = "usage"
    #: honours :attr:`StreamRequest.cancel`: stops pulling, closes the source, ends with ``abort``
    ABORT_SIGNAL = "abort_signal"


#: Block kinds whose presence in an expected sequence needs a capability.
_KIND_NEEDS = {
    "reasoning": Capability.REASONING,
    "citation": Capability.CITATIONS,
    "server_tool_call": Capability.SERVER_TOOLS,
    "server_tool_result": Capability.SERVER_TOOLS,
}


_EVENT_CLASSES: tuple[type, ...] = tuple(EVENT_TYPES.values())
_EXACT_CLASSES = frozenset(_EVENT_CLASSES)
_ONE_CLASSES: tuple[type, ...] = (Mapping, *_EVENT_CLASSES)  # what to_canonical may return alone


class ByteChunks(Protocol):
    """The response body, chunk by chunk: iterate it (sync or async), close it when done."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...
    async def __anext__(self) -> bytes: ...
    def __iter__(self) -> Iterator[bytes]: ...
    def __next__(self) -> bytes: ...
    async def aclose(self) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamRequest:
    """What the adapter is asked to decode.

    ``api`` is a registry id (``anthropic/messages``), ``flavour`` the server variant,
    ``framing`` the body's framing (Gemini streams ``sse`` or ``json-array``).
    ``method``, ``path``, ``query`` and ``body`` are the case's request, for adapters
    that want them.  ``cancel`` is set when the consumer cancels in the "signal" mode
    of the cancellation tests; an adapter with :attr:`Capability.ABORT_SIGNAL` checks
    it before each pull and then ends with an ``abort`` event.
    """

    api: str
    flavour: str
    framing: str
    case_id: str = ""
    method: str = "POST"
    path: str = ""
    query: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    base_url: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    read_timeout: float = 10.0

    @property
    def url(self) -> str:
        """``base_url`` + ``path`` + the query string (HTTP-level adapters call this)."""
        query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in self.query.items())
        return self.base_url.rstrip("/") + self.path + (f"?{query}" if query else "")


_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _quote(text: str) -> str:
    """Percent-encode everything but RFC 3986's unreserved characters."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in text.encode("utf-8"))


#: ``stream(request, chunks)``: an async iterator or a sync iterable of the adapter's events.
StreamFunction = Callable[[StreamRequest, ByteChunks], "AsyncIterator[Any] | Iterable[Any]"]


#: ``http(request)``: makes the call to ``request.url``; returns events as ``stream`` does.
HttpFunction = Callable[[StreamRequest], "AsyncIterator[Any] | Iterable[Any]"]


def _identity(item: Any) -> Any:
    return item


@dataclass(frozen=True, slots=True, kw_only=True)
class Adapter:
    """An adapter under test.

    ``apis`` maps each supported API id to the flavours supported (:data:`ALL` for
    every one); ``framings`` the framings it reads (:data:`ALL` by default).
    ``xfail`` maps test-id patterns to the reason the failure is expected; in a pattern
    ``*`` is any text and everything else is literal (``"gemini/*[*-bytewise]"``, or a
    whole id).  A matching test that passes fails (strict).
    """

    name: str
    stream: StreamFunction | None = None
    http: HttpFunction | None = None
    apis: Mapping[str, Collection[str]]
    capabilities: frozenset[Capability] = frozenset({Capability.USAGE})
    framings: Collection[str] = (ALL,)
    to_canonical: Callable[[Any], Any] = _identity
    map_exception: Callable[[BaseException], Any] | None = None
    xfail: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name or any(c in self.name for c in "[]/- \t\n"):
            msg = f"adapter name {self.name!r} must be non-empty, without spaces, '/', '-', '[' or ']'"
            raise UsageError(msg)
        if self.stream is None and self.http is None:
            raise UsageError(f"adapter {self.name!r}: give stream (byte level), http (HTTP level) or both")
        for role in ("stream", "http"):
            value = getattr(self, role)
            if value is not None and not callable(value):
                raise UsageError(
                    f"adapter {self.name!r}: {role} must be callable, got {type(value).__name__}"
                )
        unknown = {str(c) for c in self.capabilities} - {str(c) for c in Capability}
        if unknown:
            valid = ", ".join(c.value for c in Capability)
            msg = f"adapter {self.name!r}: unknown capabilities {sorted(unknown)} (valid: {valid})"
            raise UsageError(msg)
        object.__setattr__(self, "capabilities", frozenset(Capability(c) for c in self.capabilities))

    def supports(self, api: str, flavour: str, framing: str) -> bool:
        """Whether the adapter claims the API in this flavour and framing."""
        flavours = self.apis.get(api)
        if flavours is None:
            return False
        return (ALL in flavours or flavour in flavours) and (ALL in self.framings or framing in self.framings)


def needed_capabilities(events: Iterable[Event]) -> frozenset[Capability]:
    """The capabilities an adapter needs to produce ``events`` (usage excluded)."""
    return frozenset(
        _KIND_NEEDS[e.kind] for e in events if isinstance(e, BlockStart) and e.kind in _KIND_NEEDS
    )


def _delta(obj: dict[str, Any]) -> BlockDelta | None:
    """``block.delta``, nine events in ten, built at once when it is exactly what the schema
    asks (``{"type", "block": int >= 0, "text": str}``); ``None`` sends it the long way."""
    if len(obj) == 3 and obj.get("type") == "block.delta":
        block, text = obj.get("block"), obj.get("text")
        if type(block) is int and block >= 0 and type(text) is str:
            return new_delta(block, text)
    return None


def _one(item: Any, path: str) -> Event:
    if type(item) is dict and (delta := _delta(item)) is not None:
        return delta  # in a list of several
    if type(item) is dict or isinstance(item, Mapping):
        obj = item if type(item) is dict else dict(item)  # neither check nor from_json mutates it
        if not certainly_valid(obj):
            problems = validate_event_json(obj, path=path)
            if problems:
                raise EventError(problems[0].split(": ", 1)[-1], path=problems[0].split(": ", 1)[0])
        return from_json(obj, path=path)
    if isinstance(item, _EVENT_CLASSES):
        return item  # type: ignore[return-value]
    raise EventError(f"expected a canonical event or its JSON object, got {type(item).__name__}", path=path)


def canonical_events(mapped: Any, index: int) -> list[Event]:
    """What ``to_canonical`` returned for the adapter's ``index``-th event, as events.

    Raises :class:`EventError` naming the path (``$.output[7]``, or
    ``$.output[7][1].usage`` for the second of several) of the first bad value.
    """
    if type(mapped) in _EXACT_CLASSES:  # the common case first: one event object
        return [mapped]
    if type(mapped) is dict and (delta := _delta(mapped)) is not None:
        return [delta]
    if mapped is None:
        return []
    path = f"$.output[{index}]"
    if type(mapped) is dict or isinstance(mapped, _ONE_CLASSES):
        return [_one(mapped, path)]
    if isinstance(mapped, Iterable) and not isinstance(mapped, str | bytes):
        return [_one(item, f"{path}[{i}]") for i, item in enumerate(mapped)]
    raise EventError(
        f"to_canonical returned {type(mapped).__name__}: expected an event, a mapping, a list or None",
        path=path,
    )
