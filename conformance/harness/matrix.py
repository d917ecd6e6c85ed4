"""The test matrix: adapter x case x chunking (and the cancellation runs), with readable
test ids.  No I/O (cases come in already loaded).

A test id reads as a path: ``<case id>[<adapter>-<variant>]``, e.g.
``anthropic/messages/text-then-tool-use[reference-bytewise]`` or
``openai/chat-completions/parallel-tool-calls[reference-cancel-signal]``, so ``-k`` and
``conformance replay`` can name one.

Chunkings are pruned where they cannot differ from ``whole``: ``recorded`` needs
recorded boundaries, ``prelude`` an eventstream body, and ``cr-lf`` a text framing.
Cancellation runs (one per :class:`~conformance.harness.run.CancelMode`) use the
``random:0`` chunking and cancel after half of the expected events; cases with fewer
than three expected events get none.  Fault runs (``[<adapter>-truncate:812]``,
``-error-frame:4``, ``-garbage:4``; :mod:`conformance.harness.faults`) use the same
chunking over the faulted body.  Property runs, one per adapter and API, have the id
``<api>/property[<adapter>-property]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from conformance.cassettes import Case
from conformance.harness.run import CancelMode, CancelPlan

__all__ = [
    "CANCEL_CHUNKING",
    "PROPERTY",
    "Spec",
    "build_http_matrix",
    "build_matrix",
    "chunkings_for",
    "parse_test_id",
]

#: The chunking of the cancellation and fault runs: many small reads, so there is a next
#: pull to refuse and a fault can land anywhere in a read.
CANCEL_CHUNKING = "random:0"
#: The variant (and chunking) of property runs: Hypothesis draws the cut points.
PROPERTY = "property"
_TEXT_FRAMINGS = frozenset({"sse", "ndjson", "json-array"})


@dataclass(frozen=True, slots=True)
class Spec:
    """One test: an adapter, a case, a chunking, and maybe a cancellation."""

    adapter: str
    case_id: str
    chunking: str
    cancel: CancelPlan | None = None
    fault: str | None = None
    """A fault's name (``truncate:812``): the run is over the faulted body."""
    transport: str | None = None
    """HTTP level: ``vcr`` (replayed by vcrpy) or ``http`` (the loopback server)."""

    @property
    def is_property(self) -> bool:
        """A property run (``case_id`` is ``<api>/property``)."""
        return self.chunking == PROPERTY

    @property
    def api(self) -> str:
        """The API id, the first two segments of the case id."""
        return self.case_id.rsplit("/", 1)[0]

    @property
    def variant(self) -> str:
        """``bytewise``, ``random:0``, ``cancel-close``, ``truncate:812``, ``property``..."""
        if self.transport is not None:
            if self.transport == "vcr":
                return "vcr"
            if self.cancel is not None:
                return f"http-cancel-{self.cancel.mode.value}"
            return "http" if self.fault is None else f"http-{self.fault}"
        if self.fault is not None:
            return self.fault
        return self.chunking if self.cancel is None else f"cancel-{self.cancel.mode.value}"

    @property
    def test_id(self) -> str:
        """``<case id>[<adapter>-<variant>]``."""
        return f"{self.case_id}[{self.adapter}-{self.variant}]"


def chunkings_for(case: Case, names: Iterable[str]) -> list[str]:
    """The chunkings of ``names`` that can cut this case differently from ``whole``."""
    keep = []
    for name in names:
        if name == "recorded" and not case.chunks:
            continue
        if name == "prelude" and case.framing != "eventstream":
            continue
        if name == "cr-lf" and case.framing not in _TEXT_FRAMINGS:
            continue
        keep.append(name)
    return keep


def build_matrix(
    adapters: Sequence[str],
    cases: Sequence[Case],
    chunkings: Sequence[str],
    *,
    expected_counts: Mapping[str, int],
    cancel_modes: Sequence[CancelMode] = tuple(CancelMode),
    faults: Mapping[str, Sequence[str]] | None = None,
    property_apis: Sequence[str] = (),
) -> list[Spec]:
    """Every test, in a stable order: by adapter, then case id, then variant (chunkings,
    cancellations, faults); each adapter's property runs last.  ``faults`` maps a case id
    to the names of its faults."""
    specs: list[Spec] = []
    for adapter in adapters:
        for case in sorted(cases, key=lambda c: c.id):
            specs.extend(Spec(adapter, case.id, name) for name in chunkings_for(case, chunkings))
            count = expected_counts.get(case.id, 0)
            if count >= 3:
                after = count // 2
                specs.extend(
                    Spec(adapter, case.id, CANCEL_CHUNKING, CancelPlan(mode, after)) for mode in cancel_modes
                )
            specs.extend(
                Spec(adapter, case.id, CANCEL_CHUNKING, fault=name)
                for name in (faults or {}).get(case.id, ())
            )
        specs.extend(Spec(adapter, f"{api}/{PROPERTY}", PROPERTY) for api in property_apis)
    return specs


def build_http_matrix(
    adapters: Sequence[str],
    cases: Sequence[Case],
    *,
    expected_counts: Mapping[str, int],
    apis: Sequence[str],
    statuses: Sequence[int],
    reset_points: Mapping[str, int],
    stall_cases: Mapping[str, int],
    cancel_modes: Sequence[CancelMode] = tuple(CancelMode),
) -> list[Spec]:
    """The HTTP-level tests of adapters that have ``http()``: per case ``vcr`` and
    ``http`` (and the cancellations and a reset where the byte level has them; a stall
    for the cases of ``stall_cases``), then per API one test per error status."""
    specs: list[Spec] = []
    for adapter in adapters:
        for case in sorted(cases, key=lambda c: c.id):
            specs.append(Spec(adapter, case.id, "whole", transport="vcr"))
            specs.append(Spec(adapter, case.id, CANCEL_CHUNKING, transport="http"))
            count = expected_counts.get(case.id, 0)
            if count >= 3:
                specs.extend(
                    Spec(adapter, case.id, CANCEL_CHUNKING, CancelPlan(mode, count // 2), transport="http")
                    for mode in cancel_modes
                )
            if case.id in reset_points:
                at = reset_points[case.id]
                specs.append(Spec(adapter, case.id, CANCEL_CHUNKING, fault=f"reset:{at}", transport="http"))
            if case.id in stall_cases:
                at = stall_cases[case.id]
                specs.append(Spec(adapter, case.id, CANCEL_CHUNKING, fault=f"stall:{at}", transport="http"))
        for api in apis:
            specs.extend(
                Spec(adapter, f"{api}/http-{status}", "whole", transport="http") for status in statuses
            )
    return specs


def parse_test_id(test_id: str) -> tuple[str, str, str]:
    """``(case id, adapter, variant)`` of a test id; :class:`ValueError` if it is not one."""
    case_id, _, rest = test_id.partition("[")
    if not rest.endswith("]") or "-" not in rest:
        raise ValueError(f"not a conformance test id: {test_id!r}")
    adapter, _, variant = rest[:-1].partition("-")
    return case_id, adapter, variant
