"""Ordering patterns of vendor event types, per case, and how two differ.  No I/O.

Every payload contributes *tokens*: its event type and, for APIs whose payloads carry no
type, its landmarks (``(finish)``, ``(usage)``, ``(done)``; see
:mod:`conformance.drift.payloads`).  A token's *positions* are the indexes of the
payloads it appears in.  For two tokens ``a`` and ``b`` the *relation* is:

* ``before``: every ``a`` comes before every ``b``; ``after``: the other way round;
* ``together``: they appear in exactly the same payloads (usage on the finish chunk);
* ``interleaved``: anything else.

The relation is independent of how many deltas a response has, so re-split deltas do
not look like reordering, while a moved event (``message_delta`` before the last
``content_block_stop``) or moved usage (``usage`` now on the finish chunk instead of
after it) changes one relation.  Only tokens present on both sides are compared: a
token that appears or disappears is an event type change, reported as such.

:func:`ordering_findings` groups the changes of every case of an API by the pair and
the two relations: one finding per group, naming its cases.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations

from conformance.drift.model import Finding, Kind, name_cases
from conformance.drift.payloads import VendorPayload

__all__ = ["Change", "ordering_changes", "ordering_findings", "positions", "relation"]

#: (a, b, baseline relation, candidate relation)
Change = tuple[str, str, str, str]

_PHRASES: Mapping[str, str] = {
    "before": "{a!r} before {b!r}",
    "after": "{a!r} after {b!r}",
    "together": "{a!r} and {b!r} in the same payloads",
    "interleaved": "{a!r} and {b!r} interleaved",
}


def positions(payloads: Sequence[VendorPayload]) -> dict[str, list[int]]:
    """Each token's payload indexes, in order."""
    out: dict[str, list[int]] = {}
    for index, payload in enumerate(payloads):
        for token in (payload.event_type, *payload.marks):
            places = out.setdefault(token, [])
            if not places or places[-1] != index:
                places.append(index)
    return out


def relation(a: Sequence[int], b: Sequence[int]) -> str:
    """The relation of two non-empty, sorted position lists (see the module docstring)."""
    if a[-1] < b[0]:
        return "before"
    if b[-1] < a[0]:
        return "after"
    if list(a) == list(b):
        return "together"
    return "interleaved"


def ordering_changes(base: Sequence[VendorPayload], cand: Sequence[VendorPayload]) -> list[Change]:
    """The relations that differ between two payload sequences of one case."""
    was, now = positions(base), positions(cand)
    common = sorted(was.keys() & now.keys())
    out = []
    for a, b in combinations(common, 2):
        before, after = relation(was[a], was[b]), relation(now[a], now[b])
        if before != after:
            out.append((a, b, before, after))
    return out


def phrase(a: str, b: str, rel: str) -> str:
    """A relation in words: ``'message_delta' before 'message_stop'``."""
    return _PHRASES[rel].format(a=a, b=b)


def ordering_findings(api: str, changes: Mapping[str, Iterable[Change]]) -> list[Finding]:
    """One finding per (pair, baseline relation, candidate relation) over the cases of
    ``api`` (``changes`` maps a case id to its changes)."""
    groups: dict[Change, list[str]] = {}
    for case, found in changes.items():
        for change in found:
            groups.setdefault(change, []).append(case)
    out = []
    for (a, b, before, after), cases in sorted(groups.items()):
        cases.sort()
        message = (
            f"the baseline has {phrase(a, b, before)}, the candidate {phrase(a, b, after)} "
            f"({name_cases(cases)})"
        )
        out.append(
            Finding(
                kind=Kind.ORDERING_CHANGED,
                api=api,
                case=cases[0] if len(cases) == 1 else None,
                path=f"{a} / {b}",
                message=message,
                baseline=phrase(a, b, before),
                candidate=phrase(a, b, after),
            )
        )
    return out
