"""Compare an adapter's canonical events with the expected ones: a graded verdict.  No I/O.

A wrong sequence is an outcome, not an exception: :func:`compare` never raises for
any two sequences of events, and :func:`render` turns its result into a report.

Verdicts:

* ``PASS``: after dropping ``unknown`` events and renumbering block keys by order of
  first appearance (each side on its own), the sequences are identical event for
  event.  "Identical" means the same canonical JSON with object keys sorted, so
  ``true`` never equals ``1`` and the key order of a JSON object does not matter.
* ``PASS_NONSTRICT``: not ``PASS``, but the folded sequences (:mod:`conformance.fold`)
  are identical once these relaxations are applied to the ACTUAL side only, each
  where the EXPECTED side allows it (never the other way round).  Block *i* of the
  folded actual sequence is relaxed against block *i* of the folded expected one:

  - ids: where the expected ``block.start`` has ``id`` ``None`` (the vendor sent
    none), the actual block's id is accepted whatever it is (a synthesised one);
  - tool-call arguments: for a ``tool_call``/``server_tool_call`` block whose
    expected ``block.end`` has ``arguments``, an actual block of the same kind
    whose ``block.end`` ``arguments`` are equal as parsed JSON is accepted even
    when its ``arguments_raw`` and its folded delta text are serialised
    differently, as long as each of those still parses to the same JSON (an empty
    delta text counts as ``{}``, as in the model).  JSON numbers compare by value
    (``1`` equals ``1.0``); booleans are never numbers.

  ``notes`` say why the result was not ``PASS``: each relaxation used (with its
  block number) and what folding erased (deltas chunked differently, blocks
  interleaved differently, intermediate or moved usage snapshots, a moved
  ``response.start``, a reused block key).
* ``FAIL``: anything else.

Strategy (which view a FAIL reports): strict sequences nearly always differ in their
delta boundaries, so a strict first divergence would point at harmless chunking
noise.  A FAIL is therefore reported on the folded view: ``divergence.index`` is the
first position where the folded expected sequence and the folded, relaxed actual
sequence differ (an event is ``None`` when its side has already ended there), and
``divergence.actual`` is
the actual event as folded, before any relaxation, so that it shows what the
adapter really produced.  The relaxations never move events, except that accepting
differently serialised arguments may add or drop that block's delta; the index then
counts in the relaxed actual sequence (equal to the expected side up to it).
``diff`` is a unified diff of the two folded sequences, one canonical JSON line
(:func:`conformance.events.dumps`) per event, without relaxations; on a FAIL,
``notes`` list the relaxations that were applied, i.e. which differences in the diff
are accepted.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from conformance.events import (
    Abort,
    BlockDelta,
    BlockEnd,
    BlockStart,
    Error,
    Event,
    Finish,
    ResponseStart,
    Unknown,
    Usage,
    UsageCounts,
    dumps,
    json_equal,
    to_json,
)
from conformance.fold import Folded, FoldedBlock, block_labels, fold_parts

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Comparison", "Divergence", "Verdict", "compare", "render"]

#: Block kinds whose ``block.end`` arguments may be re-serialised by the adapter.
_ARGUMENT_KINDS = frozenset({"tool_call", "server_tool_call"})
# isinstance() tuples, built once (a ``A | B`` union is built anew at every call).
_BLOCK_TYPES = (BlockStart, BlockDelta, BlockEnd)
_TERMINAL_TYPES = (Finish, Error, Abort)


class Verdict(StrEnum):
    """The graded outcome of a comparison."""

    PASS = "PASS"
    PASS_NONSTRICT = "PASS_NONSTRICT"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True, kw_only=True)
class Divergence:
    """The first difference, as an index into the folded sequences (see the module)."""

    index: int
    expected: Event | None
    actual: Event | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    """What :func:`compare` found."""

    verdict: Verdict
    divergence: Divergence | None  # None unless FAIL
    diff: tuple[str, ...]  # unified diff of the folded sequences; empty unless FAIL
    notes: tuple[str, ...]  # PASS_NONSTRICT: why not PASS; FAIL: relaxations applied


# -- rendering and equality keys ------------------------------------------------------


def _unrenderable(event: object) -> str:
    return f"<unrenderable {type(event).__name__} at {id(event):#x}>"


def _key(event: Event) -> str:
    """Equality key: canonical JSON with sorted object keys."""
    try:
        return json.dumps(to_json(event), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        return _unrenderable(event)


def _line(event: Event) -> str:
    """Display line: the canonical JSON line, or a placeholder if it cannot be rendered."""
    try:
        return dumps(event)
    except (TypeError, ValueError, RecursionError):
        return _unrenderable(event)


def _keys(events: Sequence[Event]) -> list[str]:
    return [_key(event) for event in events]


# -- strict view ----------------------------------------------------------------------


def _strict(events: Sequence[Event]) -> list[Event]:
    """Unknown events dropped; block keys renumbered by order of first appearance."""
    numbers: dict[int, int] = {}
    out: list[Event] = []
    for event in events:
        if isinstance(event, Unknown):
            continue
        if isinstance(event, _BLOCK_TYPES):
            number = numbers.setdefault(event.block, len(numbers))
            out.append(event if number == event.block else dataclasses.replace(event, block=number))
        else:
            out.append(event)
    return out


def _same_value(x: object, y: object) -> bool:
    """Whether ``x`` and ``y`` certainly have the same canonical JSON: the same type all the
    way down (so ``True`` is never ``1``, nor ``1`` ``1.0``) and equal values.  ``False``
    means "not sure", never "different"."""
    kind = type(x)
    if kind is not type(y):
        return False
    if kind is str or kind is int or kind is bool or x is None:
        return x == y
    if kind is float:
        return repr(x) == repr(y)  # json.dumps writes a float's repr: 0.0 and -0.0 differ
    if isinstance(x, dict) and isinstance(y, dict) and kind is dict:
        return len(x) == len(y) and all(
            type(key) is str and key in y and _same_value(value, y[key]) for key, value in x.items()
        )
    if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)) and (kind is list or kind is tuple):
        return len(x) == len(y) and all(_same_value(v, w) for v, w in zip(x, y, strict=True))
    return isinstance(x, StrEnum) and x == y  # the same member of the same StrEnum


def _same_field(x: object, y: object) -> bool:
    """:func:`_same_value` for an event's field, which may also hold :class:`UsageCounts`
    (written as an object by ``to_json``)."""
    if type(x) is UsageCounts and type(y) is UsageCounts:
        return all(_same_value(getattr(x, name), getattr(y, name)) for name in _COUNT_NAMES)
    return _same_value(x, y)


_COUNT_NAMES = tuple(f.name for f in dataclasses.fields(UsageCounts))
#: Field names of every event type but ``unknown`` (block keys are compared apart).
_FIELDS: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in dataclasses.fields(cls) if f.name != "block")
    for cls in (ResponseStart, BlockStart, BlockDelta, BlockEnd, Usage, Finish, Error, Abort)
}


def _certainly_identical(expected: Sequence[Event], actual: Sequence[Event]) -> bool:
    """A fast, conservative ``_keys(_strict(expected)) == _keys(_strict(actual))``.

    True only when the two strict views certainly have the same canonical JSON, event for
    event: the same event types, block keys that renumber alike, and field values of the
    same types with equal values.  False means "compute the keys to know".
    """
    want = [e for e in expected if type(e) is not Unknown]
    got = [e for e in actual if type(e) is not Unknown]
    if len(want) != len(got):
        return False
    numbers_want: dict[int, int] = {}
    numbers_got: dict[int, int] = {}
    try:
        for e, a in zip(want, got, strict=True):
            kind = type(e)
            names = _FIELDS.get(kind)
            if names is None or kind is not type(a):  # None: a subclass; the keys decide
                return False
            if kind in _BLOCK_TYPES:
                key_e, key_a = e.block, a.block  # type: ignore[union-attr]
                if type(key_e) is not int or type(key_a) is not int:
                    return False
                number = numbers_want.setdefault(key_e, len(numbers_want))
                if number != numbers_got.setdefault(key_a, len(numbers_got)):
                    return False
                if kind is BlockDelta:  # most events: the one field inline
                    text_e, text_a = e.text, a.text  # type: ignore[union-attr]
                    if type(text_e) is not str or type(text_a) is not str or text_e != text_a:
                        return False
                    continue
            for name in names:
                if not _same_field(getattr(e, name), getattr(a, name)):
                    return False
    except RecursionError:  # nested too deeply (or circular): the keys decide
        return False
    return True


def _unknowns(events: Sequence[Event]) -> int:
    return sum(isinstance(event, Unknown) for event in events)


def _strictly_equal(expected: Sequence[Event], actual: Sequence[Event]) -> bool:
    """``_keys(_strict(expected)) == _keys(_strict(actual))``, stopping at the first difference."""
    if len(expected) - _unknowns(expected) != len(actual) - _unknowns(actual):
        return False  # the strict views differ in length
    want, got = _strict(expected), _strict(actual)
    return len(want) == len(got) and all(_key(e) == _key(a) for e, a in zip(want, got, strict=True))


# -- relaxations ----------------------------------------------------------------------

_UNPARSEABLE = object()


def _parse(text: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return _UNPARSEABLE


def _relaxed_arguments(want: FoldedBlock, got: FoldedBlock) -> tuple[BlockDelta | None, BlockEnd | None]:
    """``got``'s delta and end, re-serialised like ``want``'s where they parse the same."""
    delta, end = got.delta, got.end
    if (
        want.start is None
        or want.start.kind not in _ARGUMENT_KINDS
        or want.end is None
        or want.end.arguments is None
        or got.start is None
        or got.start.kind != want.start.kind
        or end is None
        or end.arguments is None
        or not json_equal(end.arguments, want.end.arguments)
    ):
        return delta, end
    target = want.end.arguments
    raw = end.arguments_raw
    if raw is not None and want.end.arguments_raw is not None and json_equal(_parse(raw), target):
        raw = want.end.arguments_raw
    end = dataclasses.replace(end, arguments=target, arguments_raw=raw)
    text = delta.text if delta is not None else ""
    if json_equal(_parse(text or "{}"), target):  # an empty concatenation means "{}"
        delta = want.delta
    return delta, end


def _relax_block(want: FoldedBlock, got: FoldedBlock) -> tuple[FoldedBlock, list[str]]:
    """``got`` with the relaxations ``want`` allows applied, and a note for each one used."""
    notes: list[str] = []
    start = got.start
    if want.start is not None and start is not None and want.start.id is None and start.id is not None:
        start = dataclasses.replace(start, id=None)
        notes.append(f"block {got.block}: id synthesised where the vendor sent none")
    delta, end = _relaxed_arguments(want, got)
    if [_key(e) if e else "" for e in (got.delta, got.end)] != [_key(e) if e else "" for e in (delta, end)]:
        notes.append(f"block {got.block}: tool-call arguments serialised differently (equal as parsed JSON)")
    return FoldedBlock(block=got.block, start=start, delta=delta, end=end), notes


def _relax(expected: Folded, actual: Folded) -> tuple[Folded, list[str]]:
    notes: list[str] = []
    blocks: list[FoldedBlock] = []
    for want, got in zip(expected.blocks, actual.blocks, strict=False):
        relaxed, block_notes = _relax_block(want, got)
        blocks.append(relaxed)
        notes.extend(block_notes)
    blocks.extend(actual.blocks[len(blocks) :])
    return dataclasses.replace(actual, blocks=tuple(blocks)), notes


def _origins(relaxed: Folded, folded: Folded) -> list[Event | None]:
    """For each event of ``relaxed.events()``, the folded actual event it stands for."""
    out: list[Event | None] = list(folded.heads)
    for new, old in zip(relaxed.blocks, folded.blocks, strict=True):
        if new.start is not None:
            out.append(old.start)
        if new.delta is not None:
            out.append(old.delta)
        if new.end is not None:
            out.append(old.end)
    if folded.usage is not None:
        out.append(folded.usage)
    if folded.terminal is not None:
        out.append(folded.terminal)
    out.extend(folded.tail)
    return out


# -- what folding erased --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Profile:
    """What folding forgets about one side's events before the terminal.

    A *place* says where an event sits in a chunking-independent way: how many
    blocks had started and ended before it, and how much delta text came before it.
    """

    chunks: dict[int, list[str]]  # block number -> its delta texts
    runs: list[int]  # block numbers of the block events, runs of one block collapsed
    usages: list[tuple[str, tuple[int, int, int]]]  # each usage snapshot and its place
    heads: list[tuple[int, int, int]]  # the place of each response.start
    reuses_keys: bool


def _profile(events: Sequence[Event]) -> _Profile:
    kept = [event for event in events if not isinstance(event, Unknown)]
    labels = block_labels(kept)
    first_seen: dict[int, int] = {}
    plain = [
        first_seen.setdefault(e.block, len(first_seen)) if isinstance(e, _BLOCK_TYPES) else None for e in kept
    ]
    chunks: dict[int, list[str]] = {}
    runs: list[int] = []
    usages: list[tuple[str, tuple[int, int, int]]] = []
    heads: list[tuple[int, int, int]] = []
    starts = ends = chars = 0
    for event, label in zip(kept, labels, strict=True):
        if isinstance(event, _TERMINAL_TYPES):
            break
        place = (starts, ends, chars)
        if isinstance(event, Usage):
            usages.append((_key(event), place))
        elif isinstance(event, ResponseStart):
            heads.append(place)
        elif (
            label is not None
            and (not runs or runs[-1] != label)
            and not (isinstance(event, BlockDelta) and not event.text)
        ):
            runs.append(label)
        if isinstance(event, BlockStart):
            starts += 1
        elif isinstance(event, BlockEnd):
            ends += 1
        elif isinstance(event, BlockDelta) and label is not None:
            chunks.setdefault(label, []).append(event.text)
            chars += len(event.text)
    return _Profile(chunks=chunks, runs=runs, usages=usages, heads=heads, reuses_keys=plain != labels)


def _fold_notes(expected: Sequence[Event], actual: Sequence[Event]) -> list[str]:
    want, got = _profile(expected), _profile(actual)
    notes: list[str] = []
    rechunked = [
        label
        for label in sorted(want.chunks.keys() | got.chunks.keys())
        if want.chunks.get(label, []) != got.chunks.get(label, [])
        and "".join(want.chunks.get(label, [])) == "".join(got.chunks.get(label, []))
    ]
    if rechunked:
        notes.append(f"deltas chunked differently (block {', '.join(map(str, rechunked))})")
    if want.runs != got.runs:
        notes.append("blocks interleaved differently")
    if [key for key, _ in want.usages] != [key for key, _ in got.usages]:
        notes.append("intermediate usage snapshots differ (only the last one counts)")
    elif want.usages != got.usages:
        notes.append("usage snapshot reported at a different point")
    if want.heads != got.heads:
        notes.append("response.start at a different position")
    for side, profile in (("expected", want), ("actual", got)):
        if profile.reuses_keys:
            notes.append(f"a block key is reused for a new block ({side})")
    return notes


# -- compare and render ---------------------------------------------------------------


def compare(expected: Sequence[Event], actual: Sequence[Event]) -> Comparison:
    """Grade ``actual`` against ``expected`` (see the module docstring); never raises."""
    if _certainly_identical(expected, actual) or _strictly_equal(expected, actual):
        return Comparison(verdict=Verdict.PASS, divergence=None, diff=(), notes=())
    want, got = fold_parts(expected), fold_parts(actual)
    relaxed, relax_notes = _relax(want, got)
    want_events, relaxed_events = want.events(), relaxed.events()
    want_keys, relaxed_keys = _keys(want_events), _keys(relaxed_events)
    if want_keys == relaxed_keys:
        notes = relax_notes + _fold_notes(expected, actual)
        if not notes:
            notes = ["equal only after folding"]
        return Comparison(verdict=Verdict.PASS_NONSTRICT, divergence=None, diff=(), notes=tuple(notes))
    index = next(
        (i for i, (a, b) in enumerate(zip(want_keys, relaxed_keys, strict=False)) if a != b),
        min(len(want_keys), len(relaxed_keys)),
    )
    origins = _origins(relaxed, got)
    actual_event: Event | None = None
    if index < len(relaxed_events):
        actual_event = origins[index] or relaxed_events[index]
    divergence = Divergence(
        index=index,
        expected=want_events[index] if index < len(want_events) else None,
        actual=actual_event,
    )
    diff = difflib.unified_diff(
        [_line(e) for e in want_events],
        [_line(e) for e in got.events()],
        fromfile="expected",
        tofile="actual",
        n=3,
        lineterm="",
    )
    return Comparison(verdict=Verdict.FAIL, divergence=divergence, diff=tuple(diff), notes=tuple(relax_notes))


def _describe(event: Event | None) -> str:
    return "(nothing: the sequence ends here)" if event is None else _line(event)


def render(comparison: Comparison) -> str:
    """A human-readable, multi-line report of ``comparison``."""
    lines = [f"verdict: {comparison.verdict.value}"]
    divergence = comparison.divergence
    if divergence is not None:
        lines += [
            f"first divergence at folded event index {divergence.index}:",
            f"  expected: {_describe(divergence.expected)}",
            f"  actual:   {_describe(divergence.actual)}",
        ]
    if comparison.notes:
        if comparison.verdict is Verdict.FAIL:
            lines.append("accepted differences (relaxations applied before comparing):")
        else:
            lines.append("not strictly equal:")
        lines += [f"  - {note}" for note in comparison.notes]
    if comparison.diff:
        lines.append("diff of the folded sequences (canonical JSON, one event per line):")
        lines += comparison.diff
    return "\n".join(lines)
