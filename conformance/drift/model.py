"""What a drift comparison finds: kinds, their severities, findings and the report.  No I/O.

A *finding* is one change between a baseline corpus and a candidate corpus (usually a
fresh live recording of the same requests).  Its *kind* says what changed and decides its
*severity* through one table, :data:`SEVERITY_OF`, so that classification lives in one
place (``docs/drift.md`` explains each kind).  A case that could not be compared is not a
finding: it is listed apart as :class:`Unchecked`, so that "could not check" never reads
as "no drift".  :class:`Corpus` and :class:`CorpusCase` are the loaded input
(:mod:`conformance.drift.loader` builds them).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from conformance.events import Event, JSONValue

__all__ = [
    "SEVERITY_OF",
    "ApiSummary",
    "Corpus",
    "CorpusCase",
    "DriftReport",
    "Finding",
    "Kind",
    "Severity",
    "Unchecked",
    "at_or_above",
    "name_cases",
    "verdict",
]

_EXAMPLES = 3  # case ids a message names


class Severity(StrEnum):
    """How much a finding matters, worst first in :data:`_RANK`."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


_RANK = MappingProxyType({Severity.INFO: 1, Severity.WARNING: 2, Severity.CRITICAL: 3})


class Kind(StrEnum):
    """What changed (the contract's ``kind`` values)."""

    SCHEMA_VIOLATION = "schema-violation"
    EVENT_TYPE_REMOVED = "event-type-removed"
    EVENT_TYPE_ADDED = "event-type-added"
    FIELD_REMOVED = "field-removed"
    FIELD_ADDED = "field-added"
    FIELD_TYPE_CHANGED = "field-type-changed"
    ORDERING_CHANGED = "ordering-changed"
    CANONICAL_CHANGED = "canonical-changed"
    CANONICAL_SHAPE_CHANGED = "canonical-shape-changed"
    DELTAS_RESPLIT = "deltas-resplit"


#: The classification: each kind's severity.  A decoder breaks on the critical ones
#: (a payload it cannot read, a field it reads gone or retyped, a different canonical
#: result); the warnings change what a stream looks like without breaking a careful
#: decoder; the infos are harmless by the model's rules but worth knowing.
SEVERITY_OF: Mapping[Kind, Severity] = MappingProxyType(
    {
        Kind.SCHEMA_VIOLATION: Severity.CRITICAL,
        Kind.EVENT_TYPE_REMOVED: Severity.WARNING,
        Kind.EVENT_TYPE_ADDED: Severity.WARNING,
        Kind.FIELD_REMOVED: Severity.CRITICAL,
        Kind.FIELD_ADDED: Severity.INFO,
        Kind.FIELD_TYPE_CHANGED: Severity.CRITICAL,
        Kind.ORDERING_CHANGED: Severity.WARNING,
        Kind.CANONICAL_CHANGED: Severity.CRITICAL,
        Kind.CANONICAL_SHAPE_CHANGED: Severity.WARNING,
        Kind.DELTAS_RESPLIT: Severity.INFO,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One change.  ``case`` is None for a finding about a whole API (field paths and
    event types are compared over all compared cases of an API); ``path`` is a field
    path (``message_delta.usage.output_tokens``), an event type, a pair of event types
    (``a / b``, for ordering) or None; ``baseline`` and ``candidate`` are JSON values
    showing each side (None where a side has nothing)."""

    kind: Kind
    api: str
    case: str | None
    path: str | None
    message: str
    baseline: JSONValue = None
    candidate: JSONValue = None

    @property
    def severity(self) -> Severity:
        return SEVERITY_OF[self.kind]

    def sort_key(self) -> tuple[int, str, bool, str, str, str, str]:
        """Worst first, then by API, findings about the whole API before those about
        one case, then by kind, path, case and message."""
        rank = -_RANK[self.severity]
        return (
            rank,
            self.api,
            self.case is not None,
            self.kind.value,
            self.path or "",
            self.case or "",
            self.message,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CorpusCase:
    """One case as drift needs it; ``body`` is None when ``problem`` says why, and
    ``expected`` is None when ``expected_problem`` says why (or it was not read)."""

    id: str
    api: str
    flavour: str = ""
    framing: str = ""
    body: bytes | None = None
    problem: str | None = None
    expected: tuple[Event, ...] | None = None
    expected_problem: str | None = None
    recordable: bool = True
    """The manifest's ``request.recordable`` (``conformance record --live`` can re-record it)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Corpus:
    """The cases of one corpus root, by case id."""

    root: str
    cases: Mapping[str, CorpusCase]


@dataclass(frozen=True, slots=True, kw_only=True)
class Unchecked:
    """A case (or, with ``case`` None, a whole API) that could not be compared, and why."""

    api: str
    case: str | None
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiSummary:
    """Per API: cases compared, findings, cases that could not be checked, and baseline
    cases a live recording cannot have (no recordable request) that the candidate lacks."""

    cases: int
    findings: int
    could_not_check: int
    not_recordable: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftReport:
    """Everything one comparison found; ``findings`` sorted worst first."""

    baseline: str
    candidate: str
    findings: tuple[Finding, ...]
    could_not_check: tuple[Unchecked, ...]
    apis: Mapping[str, ApiSummary]

    @property
    def verdict(self) -> Severity | None:
        """The worst severity found, None when nothing was found."""
        return verdict(self.findings)

    def counts(self) -> dict[Severity, int]:
        """How many findings of each severity (every severity present as a key)."""
        out = dict.fromkeys(Severity, 0)
        for finding in self.findings:
            out[finding.severity] += 1
        return out


def verdict(findings: Iterable[Finding]) -> Severity | None:
    """The worst severity among ``findings``, None when there are none."""
    worst: Severity | None = None
    for finding in findings:
        if worst is None or _RANK[finding.severity] > _RANK[worst]:
            worst = finding.severity
    return worst


def at_or_above(severity: Severity, threshold: Severity) -> bool:
    """Whether ``severity`` is ``threshold`` or worse."""
    return _RANK[severity] >= _RANK[threshold]


def name_cases(cases: Iterable[str]) -> str:
    """``3 cases: a, b, c`` or ``40 cases: a, b, c and 37 more`` (sorted, for messages)."""
    names = sorted(set(cases))
    shown = ", ".join(names[:_EXAMPLES])
    more = f" and {len(names) - _EXAMPLES} more" if len(names) > _EXAMPLES else ""
    return f"{len(names)} {'case' if len(names) == 1 else 'cases'}: {shown}{more}"
