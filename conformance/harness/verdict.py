"""Verdicts: what one run of an adapter means, graded.  No I/O.

:func:`judge_case` turns an :class:`~conformance.harness.run.Outcome` and the case's
expected sequence into a :class:`Judgement`; :func:`judge_cancel` does the same for a
cancellation run.  Verdicts: ``PASS`` (identical after dropping ``unknown`` and
renumbering blocks), ``PASS_NONSTRICT`` (equal after folding, see
:mod:`conformance.compare`), ``UNSUPPORTED`` (the adapter disclaims the API, flavour,
framing or a capability the case needs: always shown), ``XFAIL`` (a failure the
adapter declared, with its reason) and ``FAIL``.  A judgement also carries the
termination verdict and the SHOULD-level findings (``should``), which never fail a
test but are always reported.

Two projections apply before comparing, both on both sides: without the ``usage``
capability, ``usage`` events and an ``abort``'s usage are left out; and the
``message`` of a ``protocol`` or ``decode`` error is the producer's own description
(SPEC §7), so it is not compared when both sides have such an error of the same
category.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from conformance.compare import Comparison, compare
from conformance.compare import Verdict as CompareVerdict
from conformance.events import Abort, BlockEnd, Error, ErrorCategory, Event, Usage, to_json
from conformance.grammar import Level, check
from conformance.harness.contract import Capability
from conformance.harness.outcome import Outcome, Termination
from conformance.schemas import validate_event_json

__all__ = [
    "Judgement",
    "Verdict",
    "apply_xfail",
    "judge_cancel",
    "judge_case",
    "matches",
    "unsupported",
    "guard",
    "malformed",
    "violations",
]

_OWN_WORDS = frozenset({ErrorCategory.PROTOCOL, ErrorCategory.DECODE})
_RUN_FAILURES = frozenset(
    {Termination.CRASH, Termination.HANG, Termination.ENDLESS, Termination.BAD_OUTPUT, Termination.LEAKED}
)


class Verdict(StrEnum):
    """The graded result of one test."""

    PASS = "PASS"
    PASS_NONSTRICT = "PASS_NONSTRICT"
    UNSUPPORTED = "UNSUPPORTED"
    XFAIL = "XFAIL"
    FAIL = "FAIL"

    @property
    def failed(self) -> bool:
        """Whether the test fails."""
        return self is Verdict.FAIL


@dataclass(frozen=True, slots=True)
class Judgement:
    """A verdict with everything a report needs to explain it."""

    verdict: Verdict
    termination: Termination | None
    reason: str
    """One line: why not PASS (empty for PASS)."""
    comparison: Comparison | None = None
    should: tuple[str, ...] = ()
    rule_violations: tuple[str, ...] = ()
    """MUST-rule violations of the actual sequence, ``rule-id at event i: message``."""


def unsupported(reason: str) -> Judgement:
    """The adapter disclaims what this test needs."""
    return Judgement(Verdict.UNSUPPORTED, None, reason)


def _project(events: Iterable[Event], capabilities: frozenset[Capability]) -> list[Event]:
    if Capability.USAGE in capabilities:
        return list(events)
    out: list[Event] = []
    for event in events:
        if isinstance(event, Usage):
            continue
        out.append(dataclasses.replace(event, usage=None) if isinstance(event, Abort) else event)
    return out


def _own_words(expected: list[Event], actual: list[Event]) -> list[Event]:
    """``actual`` with the texts that are the producer's own words replaced by the expected
    ones: a tool call's ``arguments_error`` (that it is there is compared, not how it is
    worded) and the protocol/decode error message."""
    reasons = {e.block: e.arguments_error for e in expected if isinstance(e, BlockEnd) and e.arguments_error}
    actual = [
        dataclasses.replace(e, arguments_error=reasons[e.block])
        if isinstance(e, BlockEnd) and e.arguments_error and e.block in reasons
        else e
        for e in actual
    ]
    want = next((e for e in reversed(expected) if isinstance(e, Error)), None)
    if want is None or want.category not in _OWN_WORDS:
        return actual
    for i in range(len(actual) - 1, -1, -1):
        got = actual[i]
        if isinstance(got, Error) and got.category == want.category:
            return [*actual[:i], dataclasses.replace(got, message=want.message), *actual[i + 1 :]]
    return actual


def malformed(events: Sequence[Event]) -> str | None:
    """The first event object that is not a valid canonical event (an adapter may yield
    event objects, which are not validated on the way in), as ``$.output[i]...: why``."""
    for i, event in enumerate(events):
        try:
            problems = validate_event_json(to_json(event), path=f"$.output[{i}]")
        except (TypeError, ValueError, AttributeError) as exc:
            return f"$.output[{i}]: {type(event).__name__} cannot be rendered as JSON: {exc}"
        if problems:
            return problems[0]
    return None


def guard(events: Sequence[Event], judge: Callable[[], Judgement]) -> Judgement:
    """``judge()``, with malformed event objects among ``events`` a ``bad-output`` FAIL
    naming the event (they would otherwise crash the comparison with a TypeError)."""
    try:
        return judge()
    except (TypeError, ValueError, AttributeError):
        bad = malformed(events)
        if bad is None:
            raise
        return Judgement(Verdict.FAIL, Termination.BAD_OUTPUT, f"bad-output: {bad}", None)


def violations(events: Sequence[Event], level: Level = Level.MUST) -> tuple[str, ...]:
    """The violations of ``events`` at ``level``, as ``rule at event i: message``."""
    return tuple(f"{v.rule} at event {v.index}: {v.message}" for v in check(events) if v.level is level)


def _fail(outcome: Outcome, reason: str, comparison: Comparison | None = None) -> Judgement:
    return Judgement(Verdict.FAIL, outcome.termination, reason, comparison, (), violations(outcome.events))


def judge_case(expected: Sequence[Event], outcome: Outcome, capabilities: frozenset[Capability]) -> Judgement:
    """The verdict of a plain run against the case's expected sequence."""
    return guard(outcome.events, lambda: _judge_case(expected, outcome, capabilities))


def _judge_case(
    expected: Sequence[Event], outcome: Outcome, capabilities: frozenset[Capability]
) -> Judgement:
    if outcome.termination in _RUN_FAILURES:
        return _fail(outcome, f"{outcome.termination.value}: {outcome.problem}")
    want = _project(expected, capabilities)
    got = _own_words(want, _project(outcome.events, capabilities))
    comparison = compare(want, got)
    if comparison.verdict is CompareVerdict.FAIL:
        where = comparison.divergence.index if comparison.divergence is not None else "?"
        return _fail(
            outcome, f"the events differ from the expected sequence at folded event {where}", comparison
        )
    if comparison.verdict is CompareVerdict.PASS_NONSTRICT:
        return Judgement(Verdict.PASS_NONSTRICT, outcome.termination, "; ".join(comparison.notes), comparison)
    return Judgement(Verdict.PASS, outcome.termination, "", comparison)


def judge_cancel(
    uncancelled: Sequence[Event], outcome: Outcome, capabilities: frozenset[Capability], *, signal: bool
) -> Judgement:
    """The verdict of a cancellation run.

    ``uncancelled`` is what the same adapter produced from the same chunks without a
    cancel: the events delivered before the cancel must be exactly its beginning
    (nothing lost, nothing invented).  MUST: the termination is ``abort`` (no pull
    after the cancel, the source closed, at most an ``abort`` after).  SHOULD, in the
    signal mode: an ``abort`` is emitted and carries the last usage delivered before
    the cancel.
    """
    return guard(outcome.events, lambda: _judge_cancel(uncancelled, outcome, capabilities, signal=signal))


def _judge_cancel(
    uncancelled: Sequence[Event], outcome: Outcome, capabilities: frozenset[Capability], *, signal: bool
) -> Judgement:
    if outcome.termination is not Termination.ABORT:
        if not signal:  # closed or cancelled by the consumer: no terminal event can follow
            failed = _fail(
                outcome, f"{outcome.termination.value}: {outcome.problem or 'the cancel was not honoured'}"
            )
            kept = tuple(v for v in failed.rule_violations if not v.startswith("sequence.terminal "))
            return dataclasses.replace(failed, rule_violations=kept)
        return _fail(
            outcome, f"{outcome.termination.value}: {outcome.problem or 'the cancel was not honoured'}"
        )
    at = outcome.events_at_cancel or 0
    before = outcome.events[:at]
    if list(before) != list(uncancelled[:at]):
        return _fail(
            outcome,
            f"the {at} events delivered before the cancel differ from the first {at} of an uncancelled run",
        )
    should: list[str] = []
    if signal and Capability.USAGE in capabilities:
        aborts = [e for e in outcome.events[at:] if isinstance(e, Abort)]
        known = next((e for e in reversed(before) if isinstance(e, Usage)), None)
        if not aborts:
            should.append(
                "abort.usage: no abort event after the cancel signal, so cancelled spend is not tracked"
            )
        elif known is not None and aborts[0].usage != known.counts():
            should.append(
                f"abort.usage: the abort carries {aborts[0].usage}, "
                f"not the usage known at the cancel {known.counts()}"
            )
    return Judgement(Verdict.PASS, outcome.termination, "", None, tuple(should))


def matches(pattern: str, test_id: str) -> bool:
    """Whether ``test_id`` matches ``pattern``, where ``*`` is any text and everything
    else (``[``, ``]``, ``?`` included) is literal."""
    return re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), test_id) is not None


def apply_xfail(judgement: Judgement, test_id: str, declared: Mapping[str, str]) -> Judgement:
    """Turn a declared expected failure into XFAIL, and an unexpected pass into FAIL."""
    reason = next((why for pattern, why in declared.items() if matches(pattern, test_id)), None)
    if reason is None or judgement.verdict is Verdict.UNSUPPORTED:
        return judgement
    if judgement.verdict is Verdict.FAIL:
        return dataclasses.replace(judgement, verdict=Verdict.XFAIL, reason=f"{reason} ({judgement.reason})")
    return dataclasses.replace(
        judgement, verdict=Verdict.FAIL, reason=f"declared as an expected failure ({reason}) but it passed"
    )
