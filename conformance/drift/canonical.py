"""Canonical comparison of one case: the candidate's reference decoding against the
baseline's expected sequence.  No I/O.

The candidate's bytes are decoded by the API's reference decoder (fed whole: the
decoders give the same events under every chunking) and compared with the baseline's
reviewed expected sequence by :func:`conformance.compare.compare`:

* the folded sequences (:mod:`conformance.fold`) differ -> ``canonical-changed``, at the
  first folded event that differs.  This is strict: the relaxations ``compare`` grants
  an adapter (a synthesised id, tool arguments serialised differently) describe a
  different vendor output here, so they count as a change; their notes are shown.  A
  stream that lost its terminator decodes to a ``protocol`` error and lands here;
* the folded sequences are equal but the events are not -> ``deltas-resplit``, with
  what folding erased (deltas cut at other points, blocks interleaved differently,
  usage reported at another point);
* otherwise nothing.

That is ``exact`` mode, for a candidate with the baseline's content (a replay, the
loopback server).  A live recording says other words with other ids and token counts, so
``shape`` mode (:func:`shape_finding`) compares what a decoder must get right instead:

* the reference decoder could not read the candidate (its decoding ends in a ``decode``
  or ``protocol`` error, e.g. a lost terminator, where the expected sequence has none)
  -> ``canonical-changed``, critical;
* the folded sequences differ in their skeleton -- event types, block kinds, a block cut
  off or with arguments that do not parse, which usage counts are reported, the finish
  reason, the error category -> ``canonical-shape-changed``, a warning (a model may
  answer one request differently from one day to the next);
* otherwise nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from conformance.compare import Verdict, compare
from conformance.drift.model import Finding, Kind
from conformance.events import (
    BlockDelta,
    BlockEnd,
    BlockStart,
    Error,
    ErrorCategory,
    Event,
    Finish,
    JSONValue,
    Usage,
    dumps,
    to_json,
)
from conformance.fold import fold
from conformance.registry import get_codec

__all__ = ["MODES", "canonical_finding", "decode", "shape_finding", "skeleton"]

#: The canonical comparison modes: ``exact`` (the same content) and ``shape`` (a live recording).
MODES = ("exact", "shape")
_UNREADABLE = (ErrorCategory.DECODE, ErrorCategory.PROTOCOL)

_SHOWN = 100  # characters of an error message quoted


def decode(api: str, flavour: str, framing: str, body: bytes) -> list[Event]:
    """The reference decoder's events for ``body`` (UsageError for an unknown API,
    flavour or framing; never an error for bad bytes)."""
    decoder = get_codec(api).new_decoder(flavour, framing=framing)
    return [*decoder.feed(body), *decoder.close()]


def _describe(event: Event | None) -> str:
    """An event in a few words: its type, and for a terminal what it says."""
    if event is None:
        return "nothing (the sequence ends)"
    if isinstance(event, Error):
        text = event.message if len(event.message) <= _SHOWN else event.message[: _SHOWN - 3] + "..."
        return f"error ({event.category.value}: {text})"
    if isinstance(event, Finish):
        return f"finish ({event.reason.value})"
    if isinstance(event, BlockStart | BlockDelta | BlockEnd):
        return f"{event.TYPE} (block {event.block})"
    return event.TYPE


def canonical_finding(
    api: str, case: str, expected: Sequence[Event], actual: Sequence[Event]
) -> Finding | None:
    """The canonical finding for one case, or None when the decodings agree."""
    result = compare(expected, actual)
    if result.verdict is Verdict.PASS:
        return None
    want, got = fold(expected), fold(actual)
    if [dumps(e) for e in want] == [dumps(e) for e in got]:
        notes = "; ".join(result.notes) or "equal only after folding"
        message = f"same folded canonical sequence, delivered differently: {notes}"
        return Finding(
            kind=Kind.DELTAS_RESPLIT,
            api=api,
            case=case,
            path=None,
            message=message,
            baseline=len(expected),
            candidate=len(actual),
        )
    index = next(
        (i for i, (a, b) in enumerate(zip(want, got, strict=False)) if dumps(a) != dumps(b)),
        min(len(want), len(got)),
    )
    before = want[index] if index < len(want) else None
    after = got[index] if index < len(got) else None
    shown = after if after is not None else before
    if before is not None and after is not None and before.TYPE == after.TYPE:
        was, now = to_json(before), to_json(after)
        fields = sorted(k for k in was.keys() | now.keys() if was.get(k) != now.get(k))
        what = f"{before.TYPE} differs in {', '.join(fields)}"
    else:
        what = f"baseline {_describe(before)}, candidate {_describe(after)}"
    message = (
        f"the candidate's canonical decoding differs from the baseline's expected sequence at folded "
        f"event {index}: {what}"
    )
    if result.verdict is Verdict.PASS_NONSTRICT:
        message += f" (an adapter comparison would accept it: {'; '.join(result.notes)})"
    return Finding(
        kind=Kind.CANONICAL_CHANGED,
        api=api,
        case=case,
        path=None if shown is None else shown.TYPE,
        message=message,
        baseline=None if before is None else to_json(before),
        candidate=None if after is None else to_json(after),
    )


def _bone(event: Event) -> str:
    """One folded event as its skeleton: what stays when only the words and counts change."""
    if isinstance(event, BlockStart):
        return f"block.start {event.kind}"
    if isinstance(event, BlockEnd):
        marks = [
            m
            for m, on in (("incomplete", event.incomplete), ("arguments_error", event.arguments_error))
            if on
        ]
        return " ".join(["block.end", *marks])
    if isinstance(event, Usage):
        counts = to_json(event)
        return "usage " + ",".join(sorted(k for k, v in counts.items() if k != "type" and v is not None))
    if isinstance(event, Finish):
        return f"finish {event.reason.value}"
    if isinstance(event, Error):
        return f"error {event.category.value}"
    return event.TYPE


def skeleton(events: Sequence[Event]) -> list[str]:
    """The folded sequence's skeleton (see the module docstring)."""
    return [_bone(e) for e in fold(events)]


def _unreadable(events: Sequence[Event]) -> Error | None:
    return next((e for e in events if isinstance(e, Error) and e.category in _UNREADABLE), None)


def shape_finding(api: str, case: str, expected: Sequence[Event], actual: Sequence[Event]) -> Finding | None:
    """The ``shape``-mode canonical finding for one case, or None when the shapes agree."""
    broken = _unreadable(actual)
    if broken is not None and _unreadable(expected) is None:
        return Finding(
            kind=Kind.CANONICAL_CHANGED,
            api=api,
            case=case,
            path="error",
            message=f"the reference decoder cannot read the candidate: {_describe(broken)}",
            candidate=to_json(broken),
        )
    want, got = skeleton(expected), skeleton(actual)
    if want == got:
        return None
    index = next(
        (i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b), min(len(want), len(got))
    )
    before = want[index] if index < len(want) else "nothing (the sequence ends)"
    after = got[index] if index < len(got) else "nothing (the sequence ends)"
    return Finding(
        kind=Kind.CANONICAL_SHAPE_CHANGED,
        api=api,
        case=case,
        path=(after if index < len(got) else before).split(" ", 1)[0],
        message=f"the canonical decoding has another shape from folded event {index}: baseline {before}, "
        f"candidate {after}",
        baseline=list[JSONValue](want),
        candidate=list[JSONValue](got),
    )
