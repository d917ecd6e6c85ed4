"""Conformance reports: result records in, ``report.json``/``report.md``/terminal text out.  No I/O.

Each conformance test yields one *result record* (a JSON object, :data:`RECORD_KEYS`);
the pytest plugin collects them and writes what these functions return:

* :func:`build_report` checks the records and builds the ``report.json`` document
  (``schemas/report.schema.json``): ``meta`` (versions, times, argv, adapters,
  chunkings, seed), ``summary`` (per adapter and API the count of each verdict, the
  termination counts, the SHOULD findings by rule, the overall ``result``) and
  ``results`` (the records sorted by test id); :func:`dumps` gives its file text;
* :func:`render_markdown` turns a report into Markdown for a GitHub job summary;
* :func:`render_terminal` turns it into the plain-text lines of pytest's terminal
  summary.

Determinism: the document depends only on the set of records and on ``meta``, never on
the order the records came in (test ids are unique, so sorting by them is total).
Renderers read the ``summary`` for the tables and the ``results`` for the details, so
they also work on a ``report.json`` read back from disk.

Size: a job summary is limited (GitHub accepts 1 MiB per step), so the Markdown lists
at most ``max_failures`` failures, shows at most ``max_diff_lines`` lines of each diff,
cuts long lines, and says what it left out.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from conformance import __version__
from conformance.errors import UsageError
from conformance.events import CANONICAL_VERSION

__all__ = [
    "FORMAT",
    "RECORD_KEYS",
    "TERMINATIONS",
    "VERDICTS",
    "VERSION",
    "build_report",
    "dumps",
    "render_markdown",
    "render_terminal",
]

FORMAT = "llm-stream-conformance/report"
VERSION = 1

#: The verdicts, best first (the values of ``conformance.harness.verdict.Verdict``).
VERDICTS: tuple[str, ...] = ("PASS", "PASS_NONSTRICT", "UNSUPPORTED", "XFAIL", "FAIL")

#: How a stream ended (the values of ``conformance.harness.run.Termination``).
TERMINATIONS: tuple[str, ...] = (
    "finish",
    "error",
    "abort",
    "no-terminal",
    "leaked",
    "crash",
    "bad-output",
    "hang",
    "endless",
)

#: The keys of a result record, in the order the report writes them.
RECORD_KEYS: tuple[str, ...] = (
    "test_id",
    "adapter",
    "case",
    "api",
    "flavour",
    "framing",
    "tier",
    "source",
    "variant",
    "chunking",
    "verdict",
    "termination",
    "reason",
    "duration",
    "first_divergence",
    "violations",
    "should",
    "diff",
    "replay",
    "seed",
    "socket",
)
_LIST_KEYS = frozenset({"violations", "should", "diff"})
#: Strings that may be null: a property run's flavour and framing are its failing example's.
_NULLABLE_STR_KEYS = frozenset({"flavour", "framing"})
_STR_KEYS = (
    frozenset(RECORD_KEYS) - _LIST_KEYS - {"termination", "duration", "first_divergence", "seed", "socket"}
)

#: The ``meta`` keys, in order; the caller must give the first group, the rest default.
_META_REQUIRED = ("started", "finished", "argv")
_META_KEYS = (
    "tool_version",
    "canonical_version",
    "python",
    "pytest",
    "started",
    "finished",
    "argv",
    "adapters",
    "chunkings",
    "seed",
)

#: Short column headings of the terminal matrix, per verdict.
_SHORT = {
    "PASS": "PASS",
    "PASS_NONSTRICT": "NONSTRICT",
    "UNSUPPORTED": "UNSUPP",
    "XFAIL": "XFAIL",
    "FAIL": "FAIL",
}
_TITLE = "llm-stream-conformance"

#: The most UTF-8 bytes the Markdown spends on failure details: GitHub refuses a job
#: summary above 1 MiB, and the tables and other sections need room too.
_FAILURE_BUDGET = 640 * 1024


# -- building ----------------------------------------------------------------------------


def _bad(record: Mapping[str, Any], problem: str) -> UsageError:
    name = record.get("test_id")
    where = f"result record {name!r}" if isinstance(name, str) else "a result record"
    return UsageError(f"{where}: {problem}")


def _normalise(record: Mapping[str, Any]) -> dict[str, Any]:
    """A plain dict with the keys in :data:`RECORD_KEYS` order; :class:`UsageError` on a
    record that is not one (wrong keys, verdict or termination, wrong value types)."""
    keys = set(record)
    if missing := [k for k in RECORD_KEYS if k not in keys]:
        raise _bad(record, f"missing key(s) {', '.join(missing)}")
    if extra := sorted(keys - set(RECORD_KEYS)):
        raise _bad(record, f"unknown key(s) {', '.join(map(str, extra))}")
    for key in sorted(_STR_KEYS):
        if not isinstance(record[key], str) and not (record[key] is None and key in _NULLABLE_STR_KEYS):
            raise _bad(record, f"{key} must be a string, not {type(record[key]).__name__}")
    if record["verdict"] not in VERDICTS:
        raise _bad(record, f"verdict {record['verdict']!r} is not one of {', '.join(VERDICTS)}")
    if record["termination"] is not None and record["termination"] not in TERMINATIONS:
        raise _bad(
            record, f"termination {record['termination']!r} is not null or one of {', '.join(TERMINATIONS)}"
        )
    if record["socket"] is not None and not isinstance(record["socket"], Mapping):
        raise _bad(record, "socket must be null or an object")
    out: dict[str, Any] = {}
    for key in RECORD_KEYS:
        value = record[key]
        if key in _LIST_KEYS:
            if isinstance(value, str | bytes) or not isinstance(value, Sequence):
                raise _bad(record, f"{key} must be a list of strings")
            if not all(isinstance(item, str) for item in value):
                raise _bad(record, f"{key} must be a list of strings")
            value = list(value)
        out[key] = value
    return out


def _counts(verdicts: Iterable[str]) -> dict[str, int]:
    seen = Counter(verdicts)
    out = {v: seen[v] for v in VERDICTS}
    out["total"] = sum(seen.values())
    return out


def _termination_counts(records: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    seen = Counter(r["termination"] for r in records)  # a null termination (not run) is left out
    return {t: seen[t] for t in TERMINATIONS}


def _rule_of(finding: str) -> str:
    """The rule id a finding starts with: ``abort.usage: ...`` and
    ``block.delta-nonempty at event 3: ...`` give ``abort.usage``, ``block.delta-nonempty``."""
    return re.split(r"[\s:]", finding, maxsplit=1)[0]


def _summary(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    adapters: dict[str, Any] = {}
    for adapter in sorted({r["adapter"] for r in results}):
        mine = [r for r in results if r["adapter"] == adapter]
        apis = {
            api: _counts(r["verdict"] for r in mine if r["api"] == api)
            for api in sorted({r["api"] for r in mine})
        }
        adapters[adapter] = {
            "apis": apis,
            "totals": _counts(r["verdict"] for r in mine),
            "termination": _termination_counts(mine),
            "should": sum(len(r["should"]) for r in mine),
        }
    totals = _counts(r["verdict"] for r in results)
    should = Counter(_rule_of(f) for r in results for f in r["should"])
    if not results:
        result = "empty"
    elif totals["FAIL"]:
        result = "fail"
    else:
        result = "pass"
    return {
        "result": result,
        "totals": totals,
        "termination": _termination_counts(results),
        "should": {rule: should[rule] for rule in sorted(should)},
        "adapters": adapters,
    }


def _meta(meta: Mapping[str, Any], results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    if unknown := sorted(set(meta) - set(_META_KEYS)):
        raise UsageError(
            f"report meta: unknown key(s) {', '.join(map(str, unknown))} (known: {', '.join(_META_KEYS)})"
        )
    if missing := [k for k in _META_REQUIRED if k not in meta]:
        raise UsageError(f"report meta: missing key(s) {', '.join(missing)}")
    version = sys.version_info
    defaults: dict[str, Any] = {
        "tool_version": __version__,
        "canonical_version": CANONICAL_VERSION,
        "python": f"{version.major}.{version.minor}.{version.micro}",
        "pytest": None,
        "adapters": sorted({r["adapter"] for r in results}),
        "chunkings": sorted({r["chunking"] for r in results}),
        "seed": None,
    }
    out: dict[str, Any] = {}
    for key in _META_KEYS:
        value = meta[key] if key in meta else defaults[key]
        if key in {"argv", "adapters", "chunkings"}:
            if isinstance(value, str) or not isinstance(value, Sequence):
                raise UsageError(f"report meta: {key} must be a list of strings, not {type(value).__name__}")
            value = list(value)
        out[key] = value
    return out


def build_report(records: Sequence[Mapping[str, Any]], *, meta: Mapping[str, Any]) -> dict[str, Any]:
    """The ``report.json`` document of a run (see ``schemas/report.schema.json``).

    ``meta`` must give ``started`` and ``finished`` (ISO 8601 times) and ``argv``; it may
    give ``pytest`` (its version), ``adapters`` and ``chunkings`` (as requested; by
    default those the records used, sorted), ``seed``, and override ``tool_version``,
    ``canonical_version`` and ``python``.  Raises :class:`UsageError` for a record that
    is not one, a duplicate test id, or unknown or missing ``meta`` keys.
    """
    results = [_normalise(r) for r in records]
    results.sort(key=lambda r: r["test_id"])
    for before, after in itertools.pairwise(results):
        if before["test_id"] == after["test_id"]:
            raise _bad(after, "duplicate test_id (every test must have one record)")
    return {
        "format": FORMAT,
        "version": VERSION,
        "meta": _meta(meta, results),
        "summary": _summary(results),
        "results": results,
    }


# -- Markdown ----------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#])")


def _md(text: str) -> str:
    """Prose made safe for Markdown: one line, with Markdown-active characters escaped."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _ticks(text: str, least: int) -> str:
    """A run of backticks longer than any in ``text`` (and at least ``least`` long)."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(least, longest + 1)


def _code(text: str) -> str:
    """An inline code span holding ``text`` whatever backticks it contains."""
    text = " ".join(text.split())
    fence = _ticks(text, 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _block(lines: Sequence[str], info: str) -> list[str]:
    fence = _ticks("\n".join(lines), 3)
    return [f"{fence}{info}", *lines, fence]


def _cut(line: str, limit: int) -> str:
    return line if len(line) <= limit else line[: max(limit - 1, 0)] + "…"


def _title(summary: Mapping[str, Any]) -> str:
    totals = summary["totals"]
    total = totals["total"]
    if summary["result"] == "empty":
        return f"## ⚠️ {_TITLE}: nothing ran (0 conformance tests)"
    if summary["result"] == "fail":
        return f"## ❌ {_TITLE}: {totals['FAIL']} of {total} conformance tests failed"
    return f"## ✅ {_TITLE}: all {total} conformance tests passed"


def _counts_line(totals: Mapping[str, int]) -> str:
    return " · ".join(f"{v} **{totals[v]}**" for v in VERDICTS)


def _meta_lines(meta: Mapping[str, Any]) -> list[str]:
    seed = "none" if meta["seed"] is None else str(meta["seed"])
    pytest_version = "" if meta["pytest"] is None else f", pytest {_md(str(meta['pytest']))}"
    chunkings = ", ".join(meta["chunkings"]) or "none"
    return [
        f"{_TITLE} {_md(str(meta['tool_version']))}, canonical model v{meta['canonical_version']}, "
        f"Python {_md(str(meta['python']))}{pytest_version}; "
        f"{_md(str(meta['started']))} → {_md(str(meta['finished']))}; seed {seed}",
        "",
        f"Command: {_code(' '.join(meta['argv']) or '(none)')}; chunkings: {_md(chunkings)}",
    ]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *, align: str = "") -> list[str]:
    """A GitHub table; ``align`` gives each column's alignment (``l``/``r``), by default
    the first column left-aligned and the others (counts) right-aligned."""
    align = align or "l" + "r" * (len(header) - 1)
    marks = [":---" if a == "l" else "---:" for a in align]
    return ["| " + " | ".join(row) + " |" for row in (header, marks, *rows)]


def _matrix_md(name: str, adapter: Mapping[str, Any]) -> list[str]:
    rows = [
        [_code(api), *(str(c[v]) for v in VERDICTS), str(c["total"])] for api, c in adapter["apis"].items()
    ]
    totals = adapter["totals"]
    rows.append(["**total**", *(f"**{totals[v]}**" for v in VERDICTS), f"**{totals['total']}**"])
    return [f"### Adapter {_code(name)}", "", *_table(["API", *VERDICTS, "total"], rows)]


def _termination_md(summary: Mapping[str, Any]) -> list[str]:
    adapters: Mapping[str, Any] = summary["adapters"]
    used = [t for t in TERMINATIONS if summary["termination"][t]]
    if not used:
        return []
    rows = [[_code(name), *(str(a["termination"][t]) for t in used)] for name, a in adapters.items()]
    if len(adapters) > 1:
        rows.append(["**total**", *(f"**{summary['termination'][t]}**" for t in used)])
    return ["### How the streams ended", "", *_table(["adapter", *used], rows)]


def _failure_md(
    r: Mapping[str, Any], *, max_diff_lines: int, max_line: int, max_violations: int
) -> list[str]:
    out = [f"#### {_code(r['test_id'])}", "", f"**{_md(r['reason']) or 'failed'}**", ""]
    facts = [f"termination: {_code(r['termination'] or 'none')}", f"variant: {_code(r['variant'])}"]
    if r["first_divergence"] is not None:
        facts.append(f"first divergence at folded event {r['first_divergence']}")
    out += [" · ".join(facts), ""]
    if r["violations"]:
        out.append("Rule violations:")
        out += [f"- {_md(_cut(v, max_line))}" for v in r["violations"][:max_violations]]
        if len(r["violations"]) > max_violations:
            out.append(f"- … and {len(r['violations']) - max_violations} more (see report.json)")
        out.append("")
    diff: Sequence[str] = r["diff"]
    if diff:
        shown = [_cut(line, max_line) for line in diff[:max_diff_lines]]
        out += _block(shown, "diff")
        if len(diff) > max_diff_lines:
            out.append(
                f"*… {len(diff) - max_diff_lines} more diff lines (long lines cut; full diff in report.json)*"
            )
        elif any(len(line) > max_line for line in diff):
            out.append("*(long lines cut; full diff in report.json)*")
        out.append("")
    out += ["Reproduce:", "", *_block([r["replay"]], "sh"), ""]
    return out


def _failures_md(
    results: Sequence[Mapping[str, Any]], *, max_failures: int, max_diff_lines: int, max_line: int
) -> list[str]:
    """At most ``max_failures`` failures, and no more than :data:`_FAILURE_BUDGET` bytes of them."""
    failed = [r for r in results if r["verdict"] == "FAIL"]
    if not failed:
        return []
    out = [f"### Failures ({len(failed)})", ""]
    size = shown = 0
    for r in failed[:max_failures]:
        entry = _failure_md(r, max_diff_lines=max_diff_lines, max_line=max_line, max_violations=20)
        size += sum(len(line.encode()) + 1 for line in entry)
        if shown and size > _FAILURE_BUDGET:
            break
        out += entry
        shown += 1
    if len(failed) > shown:
        out += [f"*… and {len(failed) - shown} more failures, not shown (see report.json).*", ""]
    return out


def _unsupported_md(results: Sequence[Mapping[str, Any]], *, limit: int, max_line: int) -> list[str]:
    reasons = Counter(r["reason"] for r in results if r["verdict"] == "UNSUPPORTED")
    if not reasons:
        return []
    ranked = sorted(reasons.items(), key=_by_count)
    rows = [[_md(_cut(reason, max_line)) or "(no reason given)", str(n)] for reason, n in ranked[:limit]]
    if len(ranked) > limit:
        rest = sum(n for _, n in ranked[limit:])
        rows.append([f"*… {len(ranked) - limit} other reasons*", str(rest)])
    return [f"### Unsupported ({reasons.total()})", "", *_table(["reason", "tests"], rows)]


def _by_count(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


def _xfail_md(results: Sequence[Mapping[str, Any]], *, limit: int) -> list[str]:
    xfails = [r for r in results if r["verdict"] == "XFAIL"]
    if not xfails:
        return []
    out = [f"### Expected failures ({len(xfails)})", ""]
    out += [f"- {_code(r['test_id'])}: {_md(r['reason'])}" for r in xfails[:limit]]
    if len(xfails) > limit:
        out.append(f"- … and {len(xfails) - limit} more (see report.json)")
    return out


def _should_md(
    summary: Mapping[str, Any], results: Sequence[Mapping[str, Any]], *, max_line: int
) -> list[str]:
    rules: Mapping[str, int] = summary["should"]
    if not rules:
        return []
    rows = []
    for rule, n in sorted(rules.items(), key=_by_count):
        first, finding = next((r, f) for r in results for f in r["should"] if _rule_of(f) == rule)
        example = _md(_cut(finding[len(rule) :].lstrip(" :"), max_line))
        rows.append([_code(rule), str(n), _code(first["test_id"]), example])
    total = sum(rules.values())
    return [
        f"### SHOULD findings ({total}, never failing)",
        "",
        *_table(["rule", "findings", "first seen in", "finding"], rows, align="lrll"),
    ]


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _usage_cell(usage: Mapping[str, Any] | None) -> str:
    return _code(json.dumps(usage, sort_keys=True)) if usage else "none"


def _spend_note(result: Mapping[str, Any]) -> str:
    """How the abort's usage stands against the usage the server had sent by the cancel.
    Only a ``signal`` cancel has an ``abort`` (closing, cancelling the task or a deadline
    end the stream before the adapter can emit anything): the others are ``no abort``."""
    sock = result["socket"]
    sent, told = sock.get("sent_usage"), sock["abort_usage"]
    if not str(result["variant"]).endswith("signal"):
        return "no abort"
    if not sent:
        return "nothing sent yet"
    if told == sent:
        return "tracked"
    return "differs" if told else "untracked"


def _sockets_md(results: Sequence[Mapping[str, Any]], *, limit: int) -> list[str]:
    """Cancellation over real sockets: the disconnect latency, what the server wrote after
    the cancel, and cancelled spend (the usage the server had sent against the abort's)."""
    rows = [r for r in results if r["socket"] is not None]
    if not rows:
        return []
    seen = [r["socket"]["latency_ms"] for r in rows if r["socket"]["latency_ms"] is not None]
    lines = ["## Cancellation over real sockets", ""]
    if seen:
        lines += [
            f"{len(rows)} cancels; the server saw the disconnect in {len(seen)}: latency median "
            f"{_percentile(seen, 0.5):.2f} ms, p99 {_percentile(seen, 0.99):.2f} ms, max {max(seen):.2f} ms.",
            "",
        ]
    notes = Counter(_spend_note(r) for r in rows)
    lines += [
        "Cancelled spend (signal cancels, the only ones that end in an `abort`): of those where the "
        f"server had already sent usage, the abort carried the same usage in {notes['tracked']}, other "
        f"usage in {notes['differs']} and none in {notes['untracked']} (a gap is no failure: those bytes "
        "may still have been in flight, or the usage came later in the frame the consumer stopped in); "
        f"{notes['nothing sent yet']} came before any usage was sent.",
        "",
        "| test | verdict | disconnect after | bytes after cancel | frames after cancel "
        "| usage sent by the cancel | abort usage | spend |",
        "|---|---|---:|---:|---:|---|---|---|",
    ]
    slowest = sorted(rows, key=lambda r: -(r["socket"]["latency_ms"] or float("inf")))[:limit]
    for r in slowest:
        sock = r["socket"]
        latency = "never" if sock["latency_ms"] is None else f"{sock['latency_ms']:.2f} ms"
        lines.append(
            f"| {_code(r['test_id'])} | {r['verdict']} | {latency} | {sock['bytes_after_cancel']} "
            f"| {sock['frames_after_cancel']} | {_usage_cell(sock.get('sent_usage'))} "
            f"| {_usage_cell(sock['abort_usage'])} | {_spend_note(r)} |"
        )
    if len(rows) > limit:
        lines.append(f"| ... {len(rows) - limit} more | | | | | | | |")
    return lines


def render_markdown(
    report: Mapping[str, Any], *, max_failures: int = 50, max_diff_lines: int = 60, max_line: int = 240
) -> str:
    """``report.md``: the overall result, per adapter an API x verdict table, how the
    streams ended, then the failures (reason, rule violations, diff, replay command),
    the unsupported tests by reason, the expected failures and the SHOULD findings."""
    summary: Mapping[str, Any] = report["summary"]
    results: Sequence[Mapping[str, Any]] = report["results"]
    lines = [_title(summary), ""]
    if summary["result"] != "empty":
        lines += [_counts_line(summary["totals"]), ""]
    lines += [*_meta_lines(report["meta"]), ""]
    if summary["result"] == "empty":
        lines += ["No conformance test ran: no adapter was configured, or every test was deselected.", ""]
    for name, adapter in summary["adapters"].items():
        lines += [*_matrix_md(name, adapter), ""]
    sections = [
        _termination_md(summary),
        _failures_md(results, max_failures=max_failures, max_diff_lines=max_diff_lines, max_line=max_line),
        _unsupported_md(results, limit=max_failures, max_line=max_line),
        _xfail_md(results, limit=max_failures),
        _should_md(summary, results, max_line=max_line),
        _sockets_md(results, limit=max_failures),
    ]
    for section in sections:
        if section:
            lines += [*section, ""] if section[-1] else section
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


# -- terminal ----------------------------------------------------------------------------


def _wrap(head: str, words: Sequence[str], width: int, indent: str) -> list[str]:
    """``head`` then ``words`` joined by ``", "``, wrapped to ``width`` under ``indent``."""
    lines: list[str] = []
    line = head
    for i, word in enumerate(words):
        piece = word + ("," if i < len(words) - 1 else "")
        if line != head and len(line) + 1 + len(piece) > width:
            lines.append(line)
            line = indent + piece
        else:
            line = f"{line} {piece}"
    lines.append(line)
    return lines


def _matrix_terminal(adapter: Mapping[str, Any], width: int) -> list[str]:
    apis: Mapping[str, Mapping[str, int]] = adapter["apis"]
    rows = [(api, counts) for api, counts in apis.items()]
    rows.append(("total", adapter["totals"]))
    headers = [*(_SHORT[v] for v in VERDICTS), "total"]
    widths = [
        max(len(h), *(len(str(c[k])) for _, c in rows))
        for h, k in zip(headers, [*VERDICTS, "total"], strict=True)
    ]
    numbers = sum(w + 2 for w in widths)
    name_width = max(len("API"), *(len(api) for api, _ in rows))
    name_width = max(min(name_width, width - 2 - numbers), 8)

    def line(name: str, cells: Sequence[str]) -> str:
        return (
            "  "
            + _cut(name, name_width).ljust(name_width)
            + "".join(cell.rjust(w + 2) for cell, w in zip(cells, widths, strict=True))
        )

    out = [line("API", headers)]
    out += [line(api, [*(str(c[v]) for v in VERDICTS), str(c["total"])]) for api, c in rows]
    return out


def render_terminal(report: Mapping[str, Any], *, width: int = 100) -> list[str]:
    """The terminal summary: the overall result, then per adapter an API x verdict
    matrix (aligned columns), its termination counts and its SHOULD findings count.
    Plain text, lines at most ``width`` characters where the content allows."""
    summary: Mapping[str, Any] = report["summary"]
    totals = summary["totals"]
    if summary["result"] == "empty":
        return [f"{_TITLE}: nothing ran (0 conformance tests)"]
    verdict = "FAILED" if summary["result"] == "fail" else "passed"
    counts = [f"{totals[v]} {v}" for v in VERDICTS if totals[v]]
    out = _wrap(f"{_TITLE}: {verdict}, {totals['total']} tests:", counts, width, "    ")
    for name, adapter in summary["adapters"].items():
        out.append(f"adapter {name}")
        out += _matrix_terminal(adapter, width)
        ends = [f"{adapter['termination'][t]} {t}" for t in TERMINATIONS if adapter["termination"][t]]
        out += _wrap("  termination:", ends or ["none"], width, "    ")
        out.append(f"  SHOULD findings: {adapter['should']}")
    if summary["should"]:
        rules = [f"{n} {rule}" for rule, n in sorted(summary["should"].items(), key=_by_count)]
        out += _wrap("SHOULD findings by rule:", rules, width, "    ")
    return out


def dumps(report: Mapping[str, Any]) -> str:
    """``report.json`` text: indented, UTF-8 kept, keys in document order, final newline."""
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
