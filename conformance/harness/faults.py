"""Byte-level faults derived from a corpus case, and what an adapter must make of them.  No I/O.

:func:`faults_for` takes a case's body and expected sequence and derives broken
variants of the body, each a :class:`Fault` named for test ids:

* ``truncate:<N>``: the body cut at byte ``N``, before the vendor's terminator.  Two
  cuts per case: in the middle of a message (the message left half-sent) and at a
  message boundary (the stream stops cleanly, but too early).
* ``error-frame:<k>``: after ``k`` messages of the recorded body, the vendor's own
  in-stream error frame, then nothing (vendors close the stream after an error).  The
  frame is rendered by the API's encoder: the codec encodes a sequence that is only the
  error (:data:`INJECTED_ERRORS`: one error per API, as the vendor words it), and the
  frame is the encoded messages from the one that carries the error on (a preamble such
  as Responses' ``response.created`` is left out).  It is spliced into the *recorded*
  bytes, so everything before it is what the vendor really sent.
* ``garbage:<k>``: after ``k`` messages, one malformed message, then the rest of the
  body: a payload that is not JSON (SSE under the next event's own name, an NDJSON line,
  a JSON-array element) or, for AWS eventstream, a copy of the next frame whose message
  CRC is wrong.

Where the faults go.  Messages are found with the framing decoders.  The one place a
reference decoder is consulted is to find *where* the response is complete: the fewest
messages after which the decoded stream already ends with the terminal the whole body
ends with (a binary search over message prefixes).  Every fault is placed strictly before
that message, so the response has not ended yet where the fault strikes.  A case gets
faults only when its body has at least :data:`MIN_MESSAGES` messages and the fault
position leaves at least one whole message before it.

What is expected (:func:`judge_fault`) follows from the rules of ``docs/SPEC.md``, never
from a decoder's output:

* the run ends with an ``error`` (never a ``finish``): category ``protocol`` for a
  truncation (SPEC §10.1: a stream without its terminator is a protocol error);
  ``protocol`` or ``decode`` for garbage (§7); for an error frame, the injected error's
  category, ``retryable``, ``code``, ``status`` and message (the vendor's words);
* no MUST rule of :func:`conformance.grammar.check` is broken (SHOULD findings, such as
  blocks left open at the error, are reported in ``should``);
* conservation: folded, block *i* of the output matches block *i* of the expected
  sequence: the same start (an id may be synthesised where the vendor sent none), text
  that is a prefix of the expected text (or, for a tool call left cut off, a whole JSON
  object: a vendor that resends whole calls, as Ollama does, may have replaced a call's
  arguments after the fault; a cut-off call is never run), and a block the output ends
  complete (not
  ``incomplete``) equal to the expected block, its whole text and its end (a tool call
  ended before the fault keeps its arguments).  No block beyond the expected ones, and
  no ``response.start`` other than the expected one.

Conservation is a prefix rule: it catches lost, altered and invented content, but not
content an adapter holds back and never delivers before the error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

from conformance.errors import StreamError, UsageError
from conformance.events import (
    Abort,
    BlockStart,
    Error,
    ErrorCategory,
    ErrorPhase,
    Event,
    Finish,
    ResponseStart,
    parse_arguments,
    to_json,
)
from conformance.events import json_equal as _json_equal
from conformance.fold import FoldedBlock, fold_parts
from conformance.framing import new_decoder
from conformance.framing.messages import Message, SSEEvent
from conformance.grammar import Level
from conformance.harness.run import Termination
from conformance.harness.verdict import Judgement, Verdict, guard, violations
from conformance.registry import get_codec
from conformance.vendors._builder import default_retryable
from conformance.vendors.openai_chat import flavour_knobs
from conformance.vendors.openai_responses import FLAVOUR_KNOBS

__all__ = [
    "INJECTED_ERRORS",
    "MIN_MESSAGES",
    "Fault",
    "FaultKind",
    "VendorError",
    "conservation_problems",
    "encoder_knobs",
    "faults_for",
    "judge_fault",
]

#: A body with fewer framed messages gets no faults (nothing meaningful to cut between).
MIN_MESSAGES = 3

_RUN_FAILURES = frozenset(
    {Termination.CRASH, Termination.HANG, Termination.ENDLESS, Termination.BAD_OUTPUT, Termination.LEAKED}
)
_GARBAGE = b'{"fault": not-json}'
_TOOL_KINDS = frozenset({"tool_call", "server_tool_call"})


class FaultKind(StrEnum):
    """What was done to the body."""

    TRUNCATE = "truncate"
    ERROR_FRAME = "error-frame"
    GARBAGE = "garbage"
    #: HTTP level: the connection stops delivering (the adapter's read timeout must fire)
    STALL = "stall"


@dataclass(frozen=True, slots=True)
class VendorError:
    """An in-stream error as one vendor sends it mid-stream (canonical fields).

    ``worded``: the vendor sends ``message`` itself; when false (Cohere v1 sends only a
    finish reason) the message is the producer's description and is not compared.
    """

    category: ErrorCategory
    message: str
    code: str | None = None
    status: int | None = None
    worded: bool = True


_C = ErrorCategory
#: The error injected by ``error-frame`` faults, per API: a failure each vendor sends
#: after content has streamed (FORMATS.md §10, QUIRKS.md ids in the comments).
INJECTED_ERRORS: dict[str, VendorError] = {
    # openai.chat.error_data_event
    "openai/chat-completions": VendorError(
        _C.SERVER, "The server had an error while processing your request. Sorry about that!", "server_error"
    ),
    # openai.responses.error_event_then_failed
    "openai/responses": VendorError(
        _C.SERVER,
        "An error occurred while processing your request. Please include the request ID in your message.",
        "server_error",
    ),
    # anthropic.error_event_after_content
    "anthropic/messages": VendorError(_C.OVERLOADED, "Overloaded", "overloaded_error"),
    # gemini.error_raw_json_in_sse
    "gemini/generate-content": VendorError(
        _C.SERVER, "An internal error has occurred. Please retry or report it.", "INTERNAL", 500
    ),
    # bedrock.exception_frame
    "bedrock/converse-stream": VendorError(
        _C.RATE_LIMIT, "Too many requests, please wait before trying again.", "throttlingException"
    ),
    # cohere.error_via_finish_reason
    "cohere/chat": VendorError(
        _C.INVALID_REQUEST,
        "your request resulted in an invalid tool generation. Try updating the messages or tool definitions.",
        "INVALID_TOOL_GENERATION",
    ),
    # cohere.error_via_finish_reason (v1 sends no message: the encoder wants the producer's words)
    "cohere/chat-v1": VendorError(
        _C.UNKNOWN, "Cohere ended the response with finish_reason ERROR", "ERROR", worded=False
    ),
    # ollama.error_line_mid_stream
    "ollama/chat": VendorError(_C.UNKNOWN, "an error was encountered while running the model"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    """One faulted body derived from a case.

    ``at`` is the byte offset of the cut (truncate) or the number of messages before the
    injected one (error-frame, garbage); ``error`` is the injected error (error-frame).
    """

    name: str
    kind: FaultKind
    at: int
    body: bytes
    description: str
    error: VendorError | None = None

    def judge(
        self,
        expected: Sequence[Event],
        events: Sequence[Event],
        termination: Termination,
        *,
        problem: str | None = None,
    ) -> Judgement:
        """:func:`judge_fault` for this fault."""
        return guard(events, lambda: judge_fault(self, expected, events, termination, problem=problem))


# -- where the messages are ----------------------------------------------------------------


def _messages(framing: str, body: bytes) -> list[Message]:
    """The framed messages of ``body`` (those before a malformed spot, if any)."""
    decoder = new_decoder(framing, **({"eof": "dispatch"} if framing == "sse" else {}))
    try:
        out = list(decoder.feed(body))
    except StreamError:
        return []
    with contextlib.suppress(StreamError):
        out.extend(decoder.close())
    return out


def _terminal(events: Sequence[Event]) -> Finish | Error | Abort | None:
    return next((e for e in events if isinstance(e, Finish | Error | Abort)), None)


def _complete_after(api: str, flavour: str | None, framing: str, body: bytes, ends: Sequence[int]) -> int:
    """The fewest messages after which the reference decoder reaches the terminal it
    reaches on the whole body (the same event), by binary search over message prefixes."""
    codec = get_codec(api)

    def terminal_after(count: int) -> Event | None:
        decoder = codec.new_decoder(flavour, framing=framing)
        return _terminal([*decoder.feed(body[: ends[count - 1]]), *decoder.close()])

    final = terminal_after(len(ends))
    low, high = 1, len(ends)
    while low < high:
        middle = (low + high) // 2
        if terminal_after(middle) == final:
            high = middle
        else:
            low = middle + 1
    return low


# -- the injected bytes --------------------------------------------------------------------


def encoder_knobs(api: str, flavour: str | None, framing: str | None) -> Any:
    """The codec's knobs for a flavour and framing: a flavour's usual knobs where the
    codec has a table of them (OpenAI Chat, Responses), else the defaults with the
    ``flavour``/``framing`` fields set where the knobs have them."""
    codec = get_codec(api)
    if api == "openai/chat-completions" and flavour is not None:
        return flavour_knobs(flavour)
    if api == "openai/responses" and flavour is not None:
        return FLAVOUR_KNOBS.get(flavour, codec.knobs)
    knobs = codec.knobs
    if not dataclasses.is_dataclass(knobs) or isinstance(knobs, type):
        return knobs
    names = {f.name for f in dataclasses.fields(knobs)}
    wanted = {"flavour": flavour, "framing": framing}
    return dataclasses.replace(knobs, **{k: v for k, v in wanted.items() if k in names and v is not None})


def _error_event(vendor: VendorError) -> Error:
    return Error(
        category=vendor.category,
        message=vendor.message,
        retryable=default_retryable(vendor.category),
        phase=ErrorPhase.BEFORE_OUTPUT,
        status=vendor.status,
        code=vendor.code,
    )


def _error_frame(api: str, flavour: str | None, framing: str, vendor: VendorError) -> bytes | None:
    """The encoder's rendering of ``vendor`` from the message that carries it, or None
    when the encoder cannot render it for this flavour and framing."""
    codec = get_codec(api)
    knobs = encoder_knobs(api, flavour, framing)
    error = _error_event(vendor)
    heads: tuple[list[Event], ...] = (
        [],
        [ResponseStart(response_id="conformance-fault", model="conformance-fault")],
        [ResponseStart(response_id="conformance-fault")],
    )
    for head in heads:
        try:
            encoded = codec.encode([*head, error], knobs)
        except UsageError:
            continue
        marks = [encoded.find(text.encode("utf-8")) for text in (vendor.message, vendor.code or "") if text]
        found = [m for m in marks if m >= 0]
        where = min(found) if found else 0
        starts = [m.offset for m in _messages(framing, encoded)]
        return encoded[max((s for s in starts if s <= where), default=0) :]
    return None


def _garbage(
    framing: str, body: bytes, messages: Sequence[Message], spans: Sequence[tuple[int, int]], k: int
) -> bytes:
    """One malformed message to put before message ``k``."""
    eol = b"\r\n" if b"\r\n" in body else b"\n"
    if framing == "eventstream":
        start, end = spans[k]
        frame = bytearray(body[start:end])
        frame[-1] ^= 0xFF  # the message CRC32 no longer matches
        return bytes(frame)
    if framing == "sse":
        following = messages[k]
        name = following.event if isinstance(following, SSEEvent) else None
        head = b"" if name is None else b"event: " + name.encode("utf-8") + eol
        return head + b"data: " + _GARBAGE + eol + eol
    if framing == "json-array":
        return _GARBAGE + b"," + eol
    return _GARBAGE + eol


# -- deriving the faults -------------------------------------------------------------------


def faults_for(
    case_api: str,
    framing: str,
    body: bytes,
    expected: Sequence[Event],
    *,
    flavour: str | None = None,
) -> list[Fault]:
    """The faults that are meaningful for this case (see the module docstring), in a
    stable order: truncate mid-message, truncate at a boundary, error-frame, garbage.

    ``expected`` is the case's expected sequence; a case that has no terminal, or
    whose body has fewer than :data:`MIN_MESSAGES` messages, gets none.
    """
    if _terminal(expected) is None:
        return []
    messages = _messages(framing, body)
    starts = [m.offset for m in messages]
    if len(starts) < MIN_MESSAGES or any(b <= a for a, b in itertools.pairwise(starts)):
        return []
    ends = [*starts[1:], len(body)]
    spans = list(zip(starts, ends, strict=True))
    complete = _complete_after(case_api, flavour, framing, body, ends)
    if complete < 2:
        return []
    faults: list[Fault] = []
    middle = (complete - 1) // 2
    start, end = spans[middle]
    cut = start + (end - start) // 2
    if start < cut < end:
        faults.append(
            Fault(
                name=f"truncate:{cut}",
                kind=FaultKind.TRUNCATE,
                at=cut,
                body=body[:cut],
                description=f"the body cut at byte {cut}, inside message {middle + 1} of {len(starts)}",
            )
        )
    k = complete // 2
    boundary = starts[k]
    faults.append(
        Fault(
            name=f"truncate:{boundary}",
            kind=FaultKind.TRUNCATE,
            at=boundary,
            body=body[:boundary],
            description=f"the body cut at byte {boundary}, after message {k} of {len(starts)}",
        )
    )
    vendor = INJECTED_ERRORS.get(case_api)
    frame = None if vendor is None else _error_frame(case_api, flavour, framing, vendor)
    if vendor is not None and frame is not None:
        faults.append(
            Fault(
                name=f"error-frame:{k}",
                kind=FaultKind.ERROR_FRAME,
                at=k,
                body=body[:boundary] + frame,
                description=(
                    f"the vendor's {vendor.category.value} error frame ({vendor.code or 'no code'}) after"
                    f" message {k} of {len(starts)}, then the end of the stream"
                ),
                error=vendor,
            )
        )
    faults.append(
        Fault(
            name=f"garbage:{k}",
            kind=FaultKind.GARBAGE,
            at=k,
            body=body[:boundary] + _garbage(framing, body, messages, spans, k) + body[boundary:],
            description=f"a malformed message after message {k} of {len(starts)}, then the rest of the body",
        )
    )
    return faults


# -- judging a run -------------------------------------------------------------------------


def _same(a: Event, b: Event) -> bool:
    return _json_equal(to_json(a), to_json(b))


def _same_start(want: BlockStart | None, got: BlockStart | None) -> bool:
    if want is None or got is None:
        return want is got
    if want.id is None and got.id is not None:
        got = dataclasses.replace(got, id=None)  # an id synthesised where the vendor sent none
    return _same(want, got)


def _whole_object(text: str) -> bool:
    return not isinstance(parse_arguments(text), str)


def _text(block: FoldedBlock) -> str:
    return "" if block.delta is None else block.delta.text


def conservation_problems(expected: Sequence[Event], actual: Sequence[Event]) -> list[str]:
    """Where the content of ``actual`` is not a prefix-conserving image of ``expected``
    (see the module docstring); empty when it is."""
    want, got = fold_parts(expected), fold_parts(actual)
    problems: list[str] = []
    for head in got.heads:
        if not want.heads or not _same(want.heads[0], head):
            problems.append("a response.start the expected sequence does not have")
    for block in got.blocks:
        n = block.block
        if n >= len(want.blocks):
            problems.append(f"folded block {n} is not in the expected sequence (content invented)")
            break
        wanted = want.blocks[n]
        if not _same_start(wanted.start, block.start):
            problems.append(f"folded block {n} starts differently from the expected block {n}")
            continue
        text, full = _text(block), _text(wanted)
        end = block.end
        cut_off = end is None or end.incomplete
        if cut_off and block.start is not None and block.start.kind in _TOOL_KINDS and _whole_object(text):
            continue  # a call sent whole, then cut off: a vendor that resends calls may have replaced it
        if not full.startswith(text):
            problems.append(f"folded block {n}: the text delivered is not a prefix of the expected text")
            continue
        if end is None or end.incomplete:
            continue
        if wanted.end is None or wanted.end.incomplete or text != full or not _same(wanted.end, end):
            problems.append(f"folded block {n} ended complete, but differs from the expected block {n}")
    return problems


def _shown(value: object) -> str:
    """A field value as the canonical JSON has it (an enum by its value), quoted."""
    return repr(value.value if isinstance(value, Enum) else value)


def _terminal_problem(fault: Fault, terminal: Error) -> str | None:
    if fault.kind is FaultKind.TRUNCATE:
        if terminal.category is not _C.PROTOCOL:
            return f"a truncated stream ended with error {terminal.category.value}, not protocol"
        return None
    if fault.kind is FaultKind.STALL:
        if terminal.category is not _C.TIMEOUT:
            return f"a stalled connection ended with error {terminal.category.value}, not timeout"
        return None
    if fault.kind is FaultKind.GARBAGE:
        if terminal.category not in (_C.PROTOCOL, _C.DECODE):
            got = terminal.category.value
            return f"a malformed message ended the stream with error {got}, not protocol or decode"
        return None
    vendor = fault.error
    if vendor is None:
        return None
    want = _error_event(vendor)
    fields = ["category", "retryable", "code", "status", *(["message"] if vendor.worded else [])]
    wrong = [name for name in fields if getattr(terminal, name) != getattr(want, name)]
    if wrong:
        said = ", ".join(
            f"{name} {_shown(getattr(terminal, name))} (injected {_shown(getattr(want, name))})"
            for name in wrong
        )
        return f"the injected error came out with {said}"
    return None


def judge_fault(
    fault: Fault,
    expected: Sequence[Event],
    events: Sequence[Event],
    termination: Termination,
    *,
    problem: str | None = None,
) -> Judgement:
    """The verdict of one run over ``fault.body`` (``events`` and ``termination`` from
    :class:`~conformance.harness.run.Outcome`; ``problem`` its explanation, if any)."""
    musts = violations(events)
    shoulds = violations(events, Level.SHOULD)

    def fail(reason: str) -> Judgement:
        return Judgement(Verdict.FAIL, termination, reason, None, shoulds, musts)

    if termination in _RUN_FAILURES:
        return fail(f"{termination.value}: {problem}")
    if any(isinstance(e, Finish) for e in events):
        return fail(f"{fault.name}: the broken stream was reported as a finish")
    terminal = _terminal(events)
    if termination is not Termination.ERROR or not isinstance(terminal, Error):
        return fail(f"{fault.name}: the run ended as {termination.value}, not with an error")
    wrong = _terminal_problem(fault, terminal)
    if wrong is not None:
        return fail(f"{fault.name}: {wrong}")
    if musts:
        return fail(f"{fault.name}: {len(musts)} MUST rule(s) broken, first {musts[0]}")
    lost = conservation_problems(expected, events)
    if lost:
        return fail(f"{fault.name}: content before the fault not conserved: {lost[0]}")
    return Judgement(Verdict.PASS, termination, "", None, shoulds, ())
