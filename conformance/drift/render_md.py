"""The drift report as Markdown fit for a GitHub issue body.  No I/O.

Layout: a heading with the verdict; one line naming the two corpora and the counts; a
summary table per API (cases compared, findings per severity, cases that could not be
checked); the findings grouped by severity, worst first, one bullet each (kind, API,
case, path, message, then the baseline and candidate values); and last "Could not check",
grouped by API and reason, long case lists folded into ``<details>``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable

from conformance.drift.model import DriftReport, Finding, Severity, Unchecked
from conformance.events import JSONValue

__all__ = ["render_markdown"]

_SHOWN = 200  # characters of a baseline/candidate value
_INLINE = 3  # case ids listed inline; more go into <details>
_FOLD = 5  # findings of one kind in one API shown before the rest are folded


def _code(text: str) -> str:
    return "`" + text.replace("`", "'").replace("\n", " ") + "`"


def _prose(text: str) -> str:
    return " ".join(text.split()).replace("<", "&lt;").replace(">", "&gt;")


def _value(value: JSONValue) -> str:
    if value is None:
        return "—"
    text = json.dumps(value, ensure_ascii=False)
    return _code(text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "...")


def _summary(report: DriftReport) -> list[str]:
    by_api: dict[str, Counter[Severity]] = {name: Counter() for name in report.apis}
    for finding in report.findings:
        by_api.setdefault(finding.api, Counter())[finding.severity] += 1
    lines = [
        "| API | cases compared | critical | warning | info | could not check | not recordable |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for name, counts in sorted(by_api.items()):
        summary = report.apis.get(name)
        compared = summary.cases if summary else 0
        unchecked = summary.could_not_check if summary else 0
        skipped = summary.not_recordable if summary else 0
        cells = [
            _code(name),
            str(compared),
            *(str(counts[s]) for s in Severity),
            str(unchecked),
            str(skipped),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _finding(finding: Finding) -> list[str]:
    where = [f"**{finding.kind.value}**", _code(finding.api)]
    if finding.case is not None:
        where.append(f"case {_code(finding.case)}")
    if finding.path is not None:
        where.append(_code(finding.path))
    lines = [f"- {' · '.join(where)}: {_prose(finding.message)}"]
    if finding.baseline is not None or finding.candidate is not None:
        lines.append(f"  - baseline {_value(finding.baseline)} · candidate {_value(finding.candidate)}")
    return lines


def _findings(findings: list[Finding]) -> list[str]:
    """The bullets of one severity; past :data:`_FOLD` of one kind in one API, the rest
    go into a ``<details>`` block (a change across a whole API repeats per case)."""
    lines: list[str] = []
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.api, finding.kind.value), []).append(finding)
    for (api, kind), group in groups.items():
        for finding in group[:_FOLD]:
            lines += _finding(finding)
        rest = group[_FOLD:]
        if rest:
            lines += ["", f"<details><summary>{len(rest)} more {kind} in {api}</summary>", ""]
            for finding in rest:
                lines += _finding(finding)
            lines += ["", "</details>", ""]
    return lines


def _unchecked(entries: Iterable[Unchecked]) -> list[str]:
    groups: dict[tuple[str, str], list[str | None]] = {}
    for entry in entries:
        groups.setdefault((entry.api, entry.reason), []).append(entry.case)
    lines = []
    for (api, reason), cases in sorted(groups.items()):
        named = sorted(c for c in cases if c is not None)
        if not named:
            lines.append(f"- {_code(api)}: {_prose(reason)}")
        elif len(named) <= _INLINE:
            lines.append(f"- {_code(api)}: {_prose(reason)}: {', '.join(_code(c) for c in named)}")
        else:
            lines.append(f"- {_code(api)}: {_prose(reason)} ({len(named)} cases)")
            lines += ["  <details><summary>cases</summary>", ""]
            lines += [f"  - {_code(c)}" for c in named]
            lines += ["", "  </details>"]
    return lines


def _skipped_note(report: DriftReport) -> list[str]:
    skipped = sum(s.not_recordable for s in report.apis.values())
    if not skipped:
        return []
    return [
        f"{skipped} baseline case{'' if skipped == 1 else 's'} without a recordable request "
        "(and absent from the candidate, as a live recording must be) were left out."
    ]


def render_markdown(report: DriftReport) -> str:
    """The report as Markdown (see the module docstring), ending with a newline."""
    verdict = report.verdict
    counts = report.counts()
    total = sum(counts.values())
    tally = ", ".join(f"{counts[s]} {s.value}" for s in Severity)
    unchecked = len(report.could_not_check)
    lines = [
        f"## Vendor stream drift: {'none' if verdict is None else verdict.value}",
        "",
        f"Baseline {_code(report.baseline)}, candidate {_code(report.candidate)}: "
        f"{total} finding{'' if total == 1 else 's'} ({tally}); "
        f"{unchecked} could not be checked.",
        *_skipped_note(report),
        "",
        *_summary(report),
    ]
    if not report.findings:
        compared = sum(s.cases for s in report.apis.values())
        lines += ["", f"No drift found in the {compared} compared cases."]
    for severity in Severity:
        chosen = [f for f in report.findings if f.severity is severity]
        if chosen:
            lines += ["", f"### {severity.value.capitalize()} ({len(chosen)})", ""]
            lines += _findings(chosen)
    if report.could_not_check:
        lines += ["", f"### Could not check ({unchecked})", "", *_unchecked(report.could_not_check)]
    return "\n".join(lines) + "\n"
