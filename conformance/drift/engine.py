"""Compare two loaded corpora: every finding and every case that could not be checked.  No I/O.

Cases are matched by case id.  A case only one side has, or whose stream cannot be read
or framed into a single payload, is "could not check" -- except a baseline case whose
request is not recordable that the candidate lacks: no live recording can have it, so it
is only counted (``not_recordable``).  Then, per API, over the matched
cases only (a candidate holding a few cases is compared with those same cases of the
baseline):

* field paths, JSON types and event types (:mod:`conformance.drift.shape`), the union over
  the API's cases on each side;
* ordering (:mod:`conformance.drift.ordering`), case by case, grouped per API;
* the payload schema (:mod:`conformance.drift.schema`): a problem of a candidate payload
  counts unless the baseline's same case has the same problem (the corpus keeps broken
  payloads on purpose, e.g. a stream cut inside a message); a candidate payload equal to
  one of the baseline case's is not checked again, since its problems are the baseline's;
* and, case by case, the canonical decoding (:mod:`conformance.drift.canonical`), when the
  baseline case has an expected sequence: ``exact`` or, for a live recording, ``shape``.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from conformance.drift.canonical import MODES, canonical_finding, decode, shape_finding
from conformance.drift.model import (
    ApiSummary,
    Corpus,
    CorpusCase,
    DriftReport,
    Finding,
    Kind,
    Unchecked,
    name_cases,
)
from conformance.drift.ordering import Change, ordering_changes, ordering_findings
from conformance.drift.payloads import VendorPayload, extract
from conformance.drift.schema import Violation, violations
from conformance.drift.shape import Shape, shape_findings
from conformance.errors import UsageError
from conformance.registry import get_codec

__all__ = ["drift"]


@dataclass(slots=True)
class _Api:
    """What is gathered for one API while walking the cases (internal)."""

    base: Shape
    cand: Shape
    compared: int = 0
    orders: dict[str, list[Change]] = field(default_factory=dict)
    schema: dict[tuple[str, str], tuple[Violation, list[str], Counter[str]]] = field(default_factory=dict)


def _fingerprint(payload: VendorPayload) -> str:
    body = payload.text if payload.value is None else json.dumps(payload.document, sort_keys=True)
    return f"{payload.event_type}\n{body}"


def _new_violations(
    api: str, base: tuple[VendorPayload, ...], cand: tuple[VendorPayload, ...]
) -> list[Violation]:
    known = {_fingerprint(p) for p in base}
    found = [v for p in cand if _fingerprint(p) not in known for v in violations(api, p)]
    if not found:
        return found
    old = {v.key for p in base for v in violations(api, p)}
    return [v for v in found if v.key not in old]


def _schema_findings(api: str, gathered: _Api) -> list[Finding]:
    out = []
    for violation, cases, counts in gathered.schema.values():
        payloads = sum(counts.values())
        noun = "payload" if payloads == 1 else "payloads"
        message = f"{violation.path}: {violation.message} ({payloads} {noun}; {name_cases(cases)})"
        case = cases[0] if len(cases) == 1 else None
        out.append(
            Finding(
                kind=Kind.SCHEMA_VIOLATION,
                api=api,
                case=case,
                path=violation.path,
                message=message,
                candidate=violation.value,
            )
        )
    return out


def _unusable(base: CorpusCase | None, cand: CorpusCase | None) -> Unchecked | None:
    if cand is None:
        assert base is not None
        return Unchecked(api=base.api, case=base.id, reason="missing in the candidate")
    if base is None:
        return Unchecked(api=cand.api, case=cand.id, reason="not in the baseline: nothing to compare it with")
    for side, case in (("baseline", base), ("candidate", cand)):
        if case.problem is not None:
            return Unchecked(api=base.api, case=base.id, reason=f"{side}: {case.problem}")
    if base.api != cand.api:
        return Unchecked(
            api=base.api, case=base.id, reason=f"the candidate's API is {cand.api!r}, not {base.api!r}"
        )
    try:
        codec = get_codec(base.api)
    except UsageError as exc:
        return Unchecked(api=base.api, case=base.id, reason=exc.message)
    for side, case in (("baseline", base), ("candidate", cand)):
        if case.framing not in codec.framings or case.flavour not in codec.flavours:
            reason = f"{side}: {base.api} has no flavour {case.flavour!r} with framing {case.framing!r}"
            return Unchecked(api=base.api, case=base.id, reason=reason)
    return None


def _compare_case(
    base: CorpusCase, cand: CorpusCase, gathered: _Api, out: list[Finding | Unchecked], canonical: str
) -> None:
    assert base.body is not None
    assert cand.body is not None
    api = base.api
    was, now = extract(api, base.framing, base.body), extract(api, cand.framing, cand.body)
    if not now.payloads:
        why = f": {now.problem}" if now.problem else ""
        out.append(
            Unchecked(api=api, case=base.id, reason=f"candidate: no vendor payload in the stream{why}")
        )
        return
    gathered.compared += 1
    gathered.base.add(base.id, was.payloads)
    gathered.cand.add(cand.id, now.payloads)
    gathered.orders[base.id] = ordering_changes(was.payloads, now.payloads)
    for violation in _new_violations(api, was.payloads, now.payloads):
        _, cases, counts = gathered.schema.setdefault(violation.key, (violation, [], Counter()))
        if base.id not in counts:
            cases.append(base.id)
        counts[base.id] += 1
    if base.expected is None:
        reason = f"{base.expected_problem}: the canonical decoding was not compared"
        out.append(Unchecked(api=api, case=base.id, reason=reason))
        return
    actual = decode(api, cand.flavour, cand.framing, cand.body)
    judge = shape_finding if canonical == "shape" else canonical_finding
    finding = judge(api, base.id, base.expected, actual)
    if finding is not None:
        out.append(finding)


def _not_recordable(base: CorpusCase | None, cand: CorpusCase | None) -> bool:
    """A baseline case no live recording can have, absent from the candidate: out of scope."""
    return cand is None and base is not None and not base.recordable


def drift(baseline: Corpus, candidate: Corpus, *, canonical: str = "exact") -> DriftReport:
    """Compare ``candidate`` with ``baseline`` (see the module docstring); ``canonical`` is
    ``exact`` (the candidate has the baseline's content) or ``shape`` (a live recording)."""
    if canonical not in MODES:
        raise UsageError(f"canonical comparison {canonical!r}: expected one of {', '.join(MODES)}")
    gathered: dict[str, _Api] = {}
    results: list[Finding | Unchecked] = []
    skipped: Counter[str] = Counter()
    for case_id in sorted(baseline.cases.keys() | candidate.cases.keys()):
        base, cand = baseline.cases.get(case_id), candidate.cases.get(case_id)
        if _not_recordable(base, cand):
            assert base is not None
            skipped[base.api] += 1
            continue
        problem = _unusable(base, cand)
        if problem is not None:
            results.append(problem)
            continue
        assert base is not None
        assert cand is not None
        api = gathered.setdefault(base.api, _Api(base=Shape(base.api), cand=Shape(base.api)))
        _compare_case(base, cand, api, results, canonical)
    findings = [r for r in results if isinstance(r, Finding)]
    unchecked = [r for r in results if isinstance(r, Unchecked)]
    for name, api in gathered.items():
        findings += shape_findings(api.base, api.cand)
        findings += ordering_findings(name, api.orders)
        findings += _schema_findings(name, api)
    findings.sort(key=Finding.sort_key)
    names = sorted({c.api for c in baseline.cases.values()} | {c.api for c in candidate.cases.values()})
    apis = {
        name: ApiSummary(
            cases=gathered[name].compared if name in gathered else 0,
            findings=sum(f.api == name for f in findings),
            could_not_check=sum(u.api == name for u in unchecked),
            not_recordable=skipped[name],
        )
        for name in names
    }
    return DriftReport(
        baseline=baseline.root,
        candidate=candidate.root,
        findings=tuple(findings),
        could_not_check=tuple(unchecked),
        apis=apis,
    )
