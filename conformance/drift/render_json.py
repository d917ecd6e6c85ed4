"""The drift report as JSON for machines (the contract in ``docs/drift.md``).  No I/O.

One object, version 1: the two corpus paths, the verdict (the worst severity found, or
``"none"``), the findings worst first, the cases that could not be checked, and per API
the number of cases compared, of findings and of cases that could not be checked.
"""

from __future__ import annotations

import json

from conformance.drift.model import DriftReport, Finding, Unchecked
from conformance.events import JSONObject

__all__ = ["JSON_VERSION", "render_json", "report_json"]

JSON_VERSION = 1


def _finding(finding: Finding) -> JSONObject:
    return {
        "severity": finding.severity.value,
        "kind": finding.kind.value,
        "api": finding.api,
        "case": finding.case,
        "path": finding.path,
        "message": finding.message,
        "baseline": finding.baseline,
        "candidate": finding.candidate,
    }


def _unchecked(entry: Unchecked) -> JSONObject:
    return {"api": entry.api, "case": entry.case, "reason": entry.reason}


def report_json(report: DriftReport) -> JSONObject:
    """The report as a JSON object."""
    verdict = report.verdict
    return {
        "version": JSON_VERSION,
        "baseline": report.baseline,
        "candidate": report.candidate,
        "verdict": "none" if verdict is None else verdict.value,
        "findings": [_finding(f) for f in report.findings],
        "could_not_check": [_unchecked(u) for u in report.could_not_check],
        "apis": {
            name: {
                "cases": s.cases,
                "findings": s.findings,
                "could_not_check": s.could_not_check,
                "not_recordable": s.not_recordable,
            }
            for name, s in report.apis.items()
        },
    }


def render_json(report: DriftReport) -> str:
    """The report as indented JSON text (UTF-8 characters kept), ending without a newline."""
    return json.dumps(report_json(report), indent=2, ensure_ascii=False)
