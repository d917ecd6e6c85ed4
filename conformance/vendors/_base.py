"""The shape every vendor codec has: a sans-IO decoder base class and the codec record.  No I/O.

A reference decoder turns one response's wire bytes into canonical events::

    decoder = codec.new_decoder(flavour="vllm")
    events = decoder.feed(chunk)     # any chunking; [] when nothing completed
    events += decoder.close()        # end of input

It never raises for bad bytes: every problem becomes the canonical outcome the spec
gives it, through the :class:`~conformance.vendors._builder.ResponseBuilder`:

* a framing error (bad CRC, broken JSON-array structure) or a payload that breaks the
  API's shape (:class:`~conformance.errors.PayloadError`) -> ``error{decode}``;
* the stream ending inside a message, or without the vendor's terminator ->
  ``error{protocol}`` ("truncation must be visible", never a quiet ``finish``);
* an event type the decoder does not know -> ``unknown``, and decoding goes on.

Subclasses implement :meth:`VendorDecoder.on_message` (one framed message) and,
where the vendor's end of stream carries meaning, :meth:`VendorDecoder.on_end`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar

from conformance.errors import PayloadError, StreamError, TruncatedStream, UsageError
from conformance.events import ErrorCategory, Event, JSONObject, dumps
from conformance.fold import fold
from conformance.framing import new_decoder as new_framing_decoder
from conformance.vendors._builder import ResponseBuilder

if TYPE_CHECKING:
    from conformance.framing.messages import Decoder, Message

__all__ = ["Codec", "VendorDecoder", "check_expressed", "parse_payload", "sse_decoder"]

K = TypeVar("K")


def _not_json(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON (RFC 8259)")


# One decoder for every payload: ``json.loads(text, parse_constant=...)`` builds a new
# JSONDecoder (and its C scanner) per call, which costs as much as parsing a short delta.
_DECODER = json.JSONDecoder(parse_constant=_not_json)
#: The decoder's C scanner: (text, index) -> (value, end); typeshed omits the attribute.
_scan_object: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
_JSON_WHITESPACE = " \t\n\r"  # what JSONDecoder.decode allows after the value


def parse_payload(text: str, offset: int) -> JSONObject:
    """Parse one payload as a JSON object; :class:`PayloadError` naming the offset if not.

    The usual payload (``{`` first, valid, maybe trailing whitespace) goes straight to
    json's C scanner; anything else takes :func:`json.loads` as before, so
    every error reads as it always did.
    """
    if text[:1] == "{":
        try:
            value, end = _scan_object(text, 0)
        except (StopIteration, ValueError, RecursionError):
            pass  # json.loads below raises it again, with json's own message
        else:
            if end == len(text) or not text[end:].strip(_JSON_WHITESPACE):
                return value  # type: ignore[no-any-return]  # "{" first: a JSON object
    try:
        value = json.loads(text, parse_constant=_not_json)
    except RecursionError:
        raise PayloadError("payload JSON is nested too deeply to parse", offset=offset) from None
    except ValueError as exc:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise PayloadError(f"payload is not JSON ({exc}): {shown!r}", offset=offset) from None
    if not isinstance(value, dict):
        raise PayloadError(f"payload is a JSON {type(value).__name__}, not an object", offset=offset)
    return value


class VendorDecoder(ABC):
    """Base of every reference decoder: framing in, canonical events out, never raising."""

    #: What the vendor sends to end a stream, for the truncation message (a subclass may
    #: set it per instance when it depends on the framing, e.g. Gemini's closing "]").
    TERMINATOR: str

    def __init__(self, framing: Decoder[Message], *, flavour: str) -> None:
        self.flavour = flavour
        self.out = ResponseBuilder()
        self._framing = framing
        self._framing_failed = False
        self._closed = False

    # -- the sans-IO interface -----------------------------------------------------

    def feed(self, data: bytes) -> list[Event]:
        """Take the next chunk of wire bytes; return the canonical events it completed."""
        if self._closed:
            raise UsageError("feed() after close()")
        if not self._framing_failed:
            try:
                messages = self._framing.feed(data)
            except StreamError as exc:
                self.__fail(exc)
            else:
                self.__dispatch(messages)
        return self.out.take()

    def close(self) -> list[Event]:
        """End of input: finish what the end completes, or report the truncation."""
        if self._closed:
            raise UsageError("close() called twice")
        self._closed = True
        if not self._framing_failed:
            try:
                messages = self._framing.close()
            except TruncatedStream as exc:
                self.on_failure()
                self.out.error(
                    ErrorCategory.PROTOCOL,
                    f"byte {exc.offset}: the stream ended inside a message ({exc.message})",
                )
            except StreamError as exc:
                self.__fail(exc)
            else:
                self.__dispatch(messages, at_end=True)
            if not self.out.terminated:
                self.on_end()
        if not self.out.terminated:
            self.on_failure()
            self.out.error(ErrorCategory.PROTOCOL, f"the stream ended without {self.TERMINATOR}")
        return self.out.take()

    # -- for subclasses ------------------------------------------------------------

    @abstractmethod
    def on_message(self, message: Message) -> None:
        """Handle one framed message (may raise PayloadError for a defective payload)."""

    def on_end(self) -> None:  # noqa: B027 - an optional hook, empty by default
        """The input ended cleanly at a message boundary (hook; default: nothing)."""

    def on_failure(self) -> None:  # noqa: B027 - an optional hook, empty by default
        """The base is about to end the stream with a decode or protocol error: deliver
        anything held back first (hook; default: nothing)."""

    # -- internals -----------------------------------------------------------------

    def __dispatch(self, messages: Sequence[Message], *, at_end: bool = False) -> None:
        for message in messages:
            try:
                self.on_message(message)
            except PayloadError as exc:
                self.on_failure()
                if at_end:
                    # Only the end of input completed this message (e.g. an SSE event
                    # without its blank line): a payload broken there was cut short.
                    msg = f"the stream ended inside a message ({exc.describe()})"
                    self.out.error(ErrorCategory.PROTOCOL, msg)
                else:
                    self.out.error(ErrorCategory.DECODE, exc.describe())

    def __fail(self, exc: StreamError) -> None:
        self._framing_failed = True
        self.on_failure()
        self.out.error(ErrorCategory.DECODE, f"malformed {type(exc).__name__}: {exc.describe()}")


def _choose(api: str, what: str, valid: tuple[str, ...], wanted: str | None) -> str:
    if wanted is None:
        return valid[0]
    if wanted not in valid:
        raise UsageError(f"{api} has no {what} {wanted!r} (valid: {', '.join(valid)})")
    return wanted


def sse_decoder(**options: Any) -> Decoder[Message]:
    """The SSE framing as reference decoders use it.

    ``eof="dispatch"``: a last event missing only its blank line is still delivered
    (two recorded Anthropic fixtures end that way); a stream cut *inside* an event then
    fails JSON parsing or lacks the vendor terminator, so truncation stays visible.
    """
    return new_framing_decoder("sse", **{"eof": "dispatch", **options})


@dataclass(frozen=True, slots=True, kw_only=True)
class Codec(Generic[K]):
    """One vendor API: its reference decoder, its encoder and its payload schema.

    ``framings`` and ``flavours`` list what the decoder supports (Gemini streams SSE or
    a JSON array; OpenAI-compatible servers are flavours of ``openai/chat-completions``);
    the first of each is the default.  ``decoder(framing, flavour)`` builds a decoder;
    ``knobs`` is the encoder's default configuration (the vendor's usual behaviour).
    ``payload_schema`` names the file under ``schemas/`` describing its payloads.
    """

    api: str
    framings: tuple[str, ...]
    flavours: tuple[str, ...]
    decoder: Callable[[str, str], VendorDecoder]
    encoder: Callable[[Sequence[Event], K], bytes]
    knobs: K
    payload_schema: str

    def new_decoder(self, flavour: str | None = None, *, framing: str | None = None) -> VendorDecoder:
        """A fresh reference decoder for one response."""
        chosen = _choose(self.api, "flavour", self.flavours, flavour)
        return self.decoder(_choose(self.api, "framing", self.framings, framing), chosen)

    def encode(self, events: Sequence[Event], knobs: K | None = None) -> bytes:
        """Render a canonical sequence as this vendor's wire bytes."""
        return self.encoder(events, self.knobs if knobs is None else knobs)


def check_expressed(vendor: str, decoder: VendorDecoder, events: Sequence[Event], body: bytes) -> None:
    """For encoders that prove their output: raise :class:`UsageError` unless ``body``,
    decoded by the fresh reference ``decoder``, folds to the same sequence as ``events``."""
    got = fold([*decoder.feed(body), *decoder.close()])
    want = fold(events)
    if got == want:
        return
    pairs = enumerate(zip(want, got, strict=False))
    at = next((i for i, (a, b) in pairs if a != b), min(len(want), len(got)))
    mine = dumps(want[at]) if at < len(want) else "nothing"
    theirs = dumps(got[at]) if at < len(got) else "nothing"
    msg = (
        f"{vendor} cannot express this sequence: folded event {at} would decode as {theirs} instead of {mine}"
    )
    raise UsageError(msg)
