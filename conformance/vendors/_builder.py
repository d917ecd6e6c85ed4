"""The one place canonical events are made from a vendor stream.  No I/O.

Every reference decoder parses its vendor's payloads and calls a
:class:`ResponseBuilder`; the builder owns everything the rules of ``docs/SPEC.md``
say about sequences, so that no decoder has to get them right again:

* blocks are numbered 0, 1, 2... in the order they start, from any hashable vendor
  key (Anthropic's ``index``, OpenAI's ``(choice, "tool", index)``...);
* empty deltas are dropped (``block.delta-nonempty``);
* tool-call arguments are accumulated and finished exactly once: the exact
  concatenation, ``""`` -> ``"{}"``, strict JSON parse into an object or an
  ``arguments_error``; an incomplete call never gets ``arguments``;
* usage is a cumulative snapshot: later reports replace earlier values field by
  field, unreported fields keep their last value, and a snapshot is emitted only when
  it changed;
* exactly one terminal: ``finish`` closes open blocks (incomplete when the reason is
  ``length``), ``error`` closes them incomplete and knows its phase; after the
  terminal everything but ``unknown`` is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from conformance._slots import new_delta
from conformance.events import (
    RETRYABLE_BY_CATEGORY,
    BlockEnd,
    BlockStart,
    Error,
    ErrorCategory,
    ErrorPhase,
    Event,
    Finish,
    FinishReason,
    JSONValue,
    ResponseStart,
    Unknown,
    Usage,
    category_for_status,
    parse_arguments,
)

if TYPE_CHECKING:
    from collections.abc import Hashable

__all__ = ["TOOL_KINDS", "ResponseBuilder", "category_for_status", "default_retryable"]

#: Block kinds whose deltas are raw JSON of tool arguments.
TOOL_KINDS = frozenset({"tool_call", "server_tool_call"})

_USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read", "cache_write", "reasoning_tokens")

#: Retry advice for the categories the model leaves open (see RETRYABLE_BY_CATEGORY):
#: a stream cut short may well succeed again; a payload we cannot decode will not.
_RETRYABLE_DEFAULT = {ErrorCategory.PROTOCOL: True, ErrorCategory.DECODE: False, ErrorCategory.UNKNOWN: False}


def default_retryable(category: ErrorCategory) -> bool:
    """Whether a retry makes sense for an error of ``category`` when the vendor does not say."""
    return RETRYABLE_BY_CATEGORY.get(category, _RETRYABLE_DEFAULT.get(category, False))


@dataclass(slots=True)
class _Open:
    number: int
    kind: str
    tool: bool  # a tool kind: its deltas are kept to finish the arguments
    parts: list[str] = field(default_factory=list)
    signature: str | None = None  # attached before the end arrived (see ResponseBuilder.attach)
    redacted: str | None = None


class ResponseBuilder:
    """Collects canonical events for one response; :meth:`take` hands them over."""

    def __init__(self) -> None:
        self._out: list[Event] = []
        self._open: dict[Hashable, _Open] = {}
        self._next_block = 0
        self._started = False
        self._output = False
        self._terminated = False
        self._usage: dict[str, int | None] = dict.fromkeys(_USAGE_FIELDS)
        self._usage_emitted = False

    # -- state ---------------------------------------------------------------------

    @property
    def terminated(self) -> bool:
        """A terminal event (finish or error) has been emitted."""
        return self._terminated

    @property
    def output_started(self) -> bool:
        """A block has been opened (an error now is ``mid_stream``)."""
        return self._output

    def is_open(self, key: Hashable) -> bool:
        return key in self._open

    def kind_of(self, key: Hashable) -> str | None:
        """The kind of the open block under ``key``, if any."""
        block = self._open.get(key)
        return block.kind if block else None

    def open_keys(self) -> list[Hashable]:
        """Keys of the open blocks, in the order they started."""
        return sorted(self._open, key=lambda k: self._open[k].number)

    def take(self) -> list[Event]:
        """The events made since the last call."""
        out, self._out = self._out, []
        return out

    # -- events --------------------------------------------------------------------

    def start(self, *, response_id: str | None = None, model: str | None = None) -> None:
        """``response.start`` (once; ignored once any other event than ``unknown`` was made)."""
        if self._started or self._terminated or self._output or self._usage_emitted:
            return
        self._started = True
        self._out.append(ResponseStart(response_id=response_id, model=model))

    def open(
        self,
        key: Hashable,
        kind: str,
        *,
        id: str | None = None,
        name: str | None = None,
        data: JSONValue = None,
    ) -> int | None:
        """Open a block under ``key``; returns its number (``None`` after the terminal)."""
        if self._terminated:
            return None
        if key in self._open:
            msg = f"block key {key!r} is already open"
            raise ValueError(msg)  # a decoder bug, not bad input: decoders check is_open first
        number = self._next_block
        self._next_block += 1
        self._open[key] = _Open(number, kind, kind in TOOL_KINDS)
        self._output = True
        self._out.append(BlockStart(block=number, kind=kind, id=id, name=name, data=data))
        return number

    def delta(self, key: Hashable, text: str) -> None:
        """Append a fragment to the open block ``key``; empty fragments are dropped."""
        if self._terminated or not text:
            return
        block = self._open[key]
        if block.tool:
            block.parts.append(text)
        self._out.append(new_delta(block.number, text))

    def attach(self, key: Hashable, *, signature: str | None = None, redacted: str | None = None) -> None:
        """Keep opaque continuation data for the open block ``key`` until it ends, so
        that it survives however the block ends (its own end, a finish, an error)."""
        if self._terminated:
            return
        block = self._open[key]
        if signature is not None:
            block.signature = signature
        if redacted is not None:
            block.redacted = redacted

    def end(
        self,
        key: Hashable,
        *,
        incomplete: bool = False,
        signature: str | None = None,
        redacted: str | None = None,
        data: JSONValue = None,
    ) -> None:
        """Close the open block ``key`` (tool blocks get their final arguments; data
        :meth:`attach`-ed earlier is used where no ``signature``/``redacted`` is given)."""
        if self._terminated:
            return
        block = self._open.pop(key)
        signature = block.signature if signature is None else signature
        redacted = block.redacted if redacted is None else redacted
        raw = arguments = error = None
        if block.tool:
            raw = "".join(block.parts)
            if not incomplete:
                raw = raw or "{}"
                parsed = parse_arguments(raw)
                if isinstance(parsed, str):
                    error = parsed
                else:
                    arguments = parsed
        self._out.append(
            BlockEnd(
                block=block.number,
                incomplete=incomplete,
                arguments_raw=raw,
                arguments=arguments,
                arguments_error=error,
                signature=signature,
                redacted=redacted,
                data=data,
            )
        )

    def end_all(self, *, incomplete: bool) -> None:
        """Close every open block, in the order they started."""
        for key in self.open_keys():
            self.end(key, incomplete=incomplete)

    def usage(
        self,
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cache_read: int | None = None,
        cache_write: int | None = None,
        reasoning_tokens: int | None = None,
    ) -> None:
        """Merge a (cumulative) report into the snapshot; emit it if it changed."""
        if self._terminated:
            return
        report = {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read": cache_read,
            "cache_write": cache_write,
            "reasoning_tokens": reasoning_tokens,
        }
        merged = {k: report[k] if report[k] is not None else self._usage[k] for k in _USAGE_FIELDS}
        if merged == self._usage and self._usage_emitted:
            return
        if all(v is None for v in merged.values()):
            return
        self._usage = merged
        self._usage_emitted = True
        self._out.append(Usage(**merged))

    def finish(self, reason: FinishReason, raw_reason: str | None) -> None:
        """Terminal ``finish``; open blocks close (incomplete if the reason is ``length``)."""
        if self._terminated:
            return
        self.end_all(incomplete=reason == FinishReason.LENGTH)
        self._terminated = True
        self._out.append(Finish(reason=reason, raw_reason=raw_reason))

    def error(
        self,
        category: ErrorCategory,
        message: str,
        *,
        retryable: bool | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        """Terminal ``error``; open blocks close incomplete; the phase follows from output."""
        if self._terminated:
            return
        if retryable is None:
            retryable = default_retryable(category)
        self.end_all(incomplete=True)
        self._terminated = True
        phase = ErrorPhase.MID_STREAM if self._output else ErrorPhase.BEFORE_OUTPUT
        self._out.append(
            Error(
                category=category, message=message, retryable=retryable, phase=phase, status=status, code=code
            )
        )

    def unknown(self, vendor_type: str, raw: JSONValue = None) -> None:
        """An event the decoder does not recognise (allowed anywhere, even after the end)."""
        self._out.append(Unknown(vendor_type=vendor_type, raw=raw))
