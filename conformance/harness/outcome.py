"""What one run of an adapter produced and did, and how its stream ended.  No I/O.

The driver (:mod:`conformance.harness.run`) fills an :class:`Outcome`; the verdicts
(:mod:`conformance.harness.verdict`) read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from conformance.events import Event

__all__ = ["Outcome", "Termination"]


class Termination(StrEnum):
    """How a stream ended, as the consumer saw it."""

    FINISH = "finish"  # a clean finish event
    ERROR = "error"  # a typed error: an error event, or an exception mapped to one
    ABORT = "abort"  # cancelled by the consumer, and the source was closed
    NO_TERMINAL = "no-terminal"  # the adapter's iterator ended without a terminal event
    LEAKED = "leaked"  # ended or cancelled with the source left open, or read after the cancel
    CRASH = "crash"  # the adapter raised something that is not a typed error
    BAD_OUTPUT = "bad-output"  # to_canonical gave something that is not a canonical event
    HANG = "hang"  # no progress within the time bound
    ENDLESS = "endless"  # more events than the bound allows


@dataclass(slots=True)
class Outcome:
    """What one run of an adapter produced and did."""

    events: list[Event] = field(default_factory=list)
    termination: Termination = Termination.NO_TERMINAL
    problem: str | None = None
    """Why the run ended badly outside the comparison (traceback, where it hung...)."""
    events_at_cancel: int | None = None
    pulls: int = 0
    pulls_after_cancel: int = 0
    closed: bool = False
    exhausted: bool = False
    offset: int = 0
    last_bytes: bytes = b""
    duration: float = 0.0
    adapter_events: int = 0
