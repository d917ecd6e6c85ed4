"""Reports: result records become a schema-valid ``report.json``, a GitHub-ready
``report.md`` and aligned terminal lines; bad records and broken documents are refused;
the output does not depend on the order the records came in."""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.compare import compare
from conformance.errors import UsageError
from conformance.events import Event, loads
from conformance.grammar import Level, check
from conformance.harness.run import Termination
from conformance.harness.verdict import Verdict
from conformance.report import (
    FORMAT,
    RECORD_KEYS,
    TERMINATIONS,
    VERDICTS,
    build_report,
    dumps,
    render_markdown,
    render_terminal,
)
from conformance.schemas import validate_json

SCHEMA = "report.schema.json"
CASES = Path(__file__).resolve().parents[1] / "cassettes"
META = {
    "started": "2025-06-01T10:00:00Z",
    "finished": "2025-06-01T10:01:30.250000+00:00",
    "argv": ["pytest", "--conformance-adapter", "reference"],
    "pytest": "8.3.5",
    "seed": 0,
}


def record(case: str, adapter: str, variant: str, verdict: str = "PASS", **fields: Any) -> dict[str, Any]:
    """One result record as the plugin writes it; ``fields`` override the defaults."""
    api = case.rsplit("/", 1)[0]
    chunking = "random:0" if variant.startswith("cancel-") else variant
    reasons = {
        "PASS": "",
        "PASS_NONSTRICT": "deltas chunked differently",
        "UNSUPPORTED": "the adapter does not support flavour deepseek",
        "XFAIL": "known: drops refusal blocks (events differ at folded event 2)",
        "FAIL": "the events differ from the expected sequence at folded event 2",
    }
    rec: dict[str, Any] = {
        "test_id": f"{case}[{adapter}-{variant}]",
        "adapter": adapter,
        "case": case,
        "api": api,
        "flavour": "default",
        "framing": "eventstream" if api.startswith("bedrock/") else "sse",
        "tier": "required",
        "source": "recorded",
        "variant": variant,
        "chunking": chunking,
        "verdict": verdict,
        "termination": None if verdict == "UNSUPPORTED" else "finish",
        "reason": reasons[verdict],
        "duration": 0.0125,
        "first_divergence": 2 if verdict in {"FAIL", "XFAIL"} else None,
        "violations": [],
        "should": [],
        "diff": [],
        "replay": f"conformance replay {case} --adapter {adapter} --chunking {chunking}",
        "seed": 0 if chunking.startswith("random:") else None,
        "socket": None,
    }
    rec.update(fields)
    return rec


def _expected(case: str) -> list[Event]:
    path = CASES / case / "expected.jsonl"
    return [loads(line, path=str(path)) for line in path.read_text(encoding="utf-8").splitlines()]


def real_failure() -> dict[str, Any]:
    """A FAIL as the harness grades an adapter that drops the final ``finish``: the diff
    and the violation come from the real comparator and rules checker."""
    case = "anthropic/messages/text-then-tool-use"
    want = _expected(case)
    got = want[:-1]
    comparison = compare(want, got)
    assert comparison.divergence is not None
    violations = [f"{v.rule} at event {v.index}: {v.message}" for v in check(got) if v.level is Level.MUST]
    return record(
        case,
        "naive",
        "bytewise",
        "FAIL",
        termination="no-terminal",
        reason=f"the events differ from the expected sequence at folded event {comparison.divergence.index}",
        first_divergence=comparison.divergence.index,
        violations=violations,
        diff=list(comparison.diff),
    )


def sample() -> list[dict[str, Any]]:
    """Two adapters, three APIs, every verdict, a cancellation, SHOULD findings."""
    am = "anthropic/messages/text-then-tool-use"
    oc = "openai/chat-completions/parallel-tool-calls"
    bc = "bedrock/converse-stream/text-only"
    return [
        record(am, "reference", "whole"),
        record(am, "reference", "bytewise"),
        record(
            am,
            "reference",
            "cancel-signal",
            termination="abort",
            should=["abort.usage: no abort event after the cancel signal, so cancelled spend is not tracked"],
        ),
        record(oc, "reference", "whole"),
        record(oc, "reference", "utf8-boundary", "PASS_NONSTRICT"),
        record(bc, "reference", "prelude"),
        record(bc, "reference", "whole", termination="error"),
        record(am, "naive", "whole", "PASS_NONSTRICT"),
        real_failure(),
        record(am, "naive", "cancel-close", "XFAIL", termination="leaked"),
        record(oc, "naive", "whole", "UNSUPPORTED"),
        record(oc, "naive", "bytewise", "UNSUPPORTED"),
        record(
            oc, "naive", "cancel-signal", "UNSUPPORTED", reason="the adapter does not support cancel signals"
        ),
        record(bc, "naive", "whole", should=["block.delta-nonempty at event 4: an empty text delta"]),
        record(
            bc,
            "naive",
            "random:0",
            termination="crash",
            verdict="FAIL",
            reason="crash: KeyError: 'delta'",
            first_divergence=None,
        ),
    ]


@pytest.fixture
def report() -> dict[str, Any]:
    return build_report(sample(), meta=META)


# -- the document ----------------------------------------------------------------------


def test_the_constants_are_the_harness_enums() -> None:
    assert tuple(v.value for v in Verdict) == VERDICTS
    assert tuple(t.value for t in Termination) == TERMINATIONS


def test_a_report_validates_against_its_schema(report: dict[str, Any]) -> None:
    assert validate_json(SCHEMA, report) == []
    assert report["format"] == FORMAT
    assert report["version"] == 1
    assert [list(r) for r in report["results"]] == [list(RECORD_KEYS)] * len(sample())
    assert json.loads(dumps(report)) == report


def test_meta_is_filled_in(report: dict[str, Any]) -> None:
    meta = report["meta"]
    assert meta["canonical_version"] == 1
    assert meta["tool_version"] == "0.1.0"
    assert re.fullmatch(r"3\.\d+\.\d+", meta["python"])
    assert meta["adapters"] == ["naive", "reference"]
    assert meta["chunkings"] == ["bytewise", "prelude", "random:0", "utf8-boundary", "whole"]
    given_meta = build_report(
        [], meta={**META, "adapters": ["reference"], "chunkings": ["whole", "bytewise"]}
    )["meta"]
    assert given_meta["adapters"] == ["reference"]
    assert given_meta["chunkings"] == ["whole", "bytewise"]  # as requested: order kept
    bare = build_report(sample(), meta={k: META[k] for k in ("started", "finished", "argv")})
    assert (bare["meta"]["pytest"], bare["meta"]["seed"]) == (None, None)
    assert validate_json(SCHEMA, bare) == []
    assert ", pytest" not in render_markdown(bare)
    assert ", pytest 8.3.5;" in render_markdown(build_report([], meta=META))


def test_markdown_code_spans_survive_backticks_in_their_text() -> None:
    doc = build_report([], meta={**META, "argv": ["pytest", "-k", "a`b"]})
    assert "Command: ``pytest -k a`b``; chunkings: none" in render_markdown(doc)
    doc = build_report([], meta={**META, "argv": ["`x"]})
    assert "Command: `` `x ``; chunkings: none" in render_markdown(doc)


def test_results_are_sorted_by_test_id(report: dict[str, Any]) -> None:
    ids = [r["test_id"] for r in report["results"]]
    assert ids == sorted(ids)
    assert ids[0] == "anthropic/messages/text-then-tool-use[naive-bytewise]"


def test_the_summary_counts_every_verdict_per_adapter_and_api(report: dict[str, Any]) -> None:
    summary = report["summary"]
    assert summary["result"] == "fail"
    assert summary["totals"] == {
        "PASS": 7,
        "PASS_NONSTRICT": 2,
        "UNSUPPORTED": 3,
        "XFAIL": 1,
        "FAIL": 2,
        "total": 15,
    }
    naive = summary["adapters"]["naive"]
    assert list(summary["adapters"]) == ["naive", "reference"]
    assert list(naive["apis"]) == ["anthropic/messages", "bedrock/converse-stream", "openai/chat-completions"]
    assert naive["apis"]["anthropic/messages"] == {
        "PASS": 0,
        "PASS_NONSTRICT": 1,
        "UNSUPPORTED": 0,
        "XFAIL": 1,
        "FAIL": 1,
        "total": 3,
    }
    assert naive["apis"]["openai/chat-completions"]["UNSUPPORTED"] == 3
    assert summary["adapters"]["reference"]["totals"]["total"] == 7
    assert summary["termination"] == {
        "finish": 7, "error": 1, "abort": 1, "no-terminal": 1, "leaked": 1,
        "crash": 1, "bad-output": 0, "hang": 0, "endless": 0,
    }  # fmt: skip
    assert naive["termination"]["finish"] == 2
    assert summary["should"] == {"abort.usage": 1, "block.delta-nonempty": 1}
    assert naive["should"] == 1


def test_the_failure_record_carries_the_real_diff_and_violation(report: dict[str, Any]) -> None:
    fail = next(r for r in report["results"] if r["test_id"].endswith("[naive-bytewise]"))
    assert fail["diff"][:2] == ["--- expected", "+++ actual"]
    assert '-{"type":"finish","reason":"tool_calls","raw_reason":"tool_use"}' in fail["diff"]
    assert len(fail["violations"]) == 1
    assert fail["violations"][0].startswith("sequence.terminal at event 13: ")


def test_an_empty_run_is_a_valid_report_saying_nothing_ran() -> None:
    empty = build_report([], meta=META)
    assert validate_json(SCHEMA, empty) == []
    assert empty["summary"]["result"] == "empty"
    assert empty["summary"]["totals"]["total"] == 0
    assert empty["summary"]["adapters"] == {}
    assert empty["results"] == []
    md = render_markdown(empty)
    assert md.startswith("## ⚠️ llm-stream-conformance: nothing ran (0 conformance tests)\n")
    assert "No conformance test ran" in md
    assert render_terminal(empty) == ["llm-stream-conformance: nothing ran (0 conformance tests)"]


# -- broken documents ------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _first(report: dict[str, Any]) -> dict[str, Any]:
    rec: dict[str, Any] = report["results"][0]
    return rec


BROKEN: dict[str, tuple[Mutation, str]] = {
    "record key missing": (lambda d: _first(d).pop("replay"), "'replay' is a required property"),
    "unknown verdict": (lambda d: _first(d).update(verdict="SKIP"), "'SKIP' is not one of"),
    "extra record key": (lambda d: _first(d).update(colour="red"), "Additional properties are not allowed"),
    "unknown termination": (lambda d: _first(d).update(termination="timeout"), "$.results[0].termination"),
    "unknown variant": (lambda d: _first(d).update(variant="random:-1"), "$.results[0].variant"),
    "PASS with a reason": (
        lambda d: d["results"].__setitem__(-1, {**d["results"][-1], "reason": "why?"}),
        "$.results[14].reason: '' was expected",
    ),
    "FAIL without a reason": (lambda d: _first(d).update(reason=""), "should be non-empty"),
    "UNSUPPORTED that ran": (
        lambda d: next(r for r in d["results"] if r["verdict"] == "UNSUPPORTED").update(termination="finish"),
        "None was expected",
    ),
    "violation without a rule": (lambda d: _first(d).update(violations=["it broke"]), "does not match"),
    "summary key missing": (
        lambda d: d["summary"].pop("termination"),
        "'termination' is a required property",
    ),
    "counts without total": (lambda d: d["summary"]["totals"].pop("total"), "$.summary.totals"),
    "bad result": (lambda d: d["summary"].update(result="ok"), "$.summary.result"),
    "wrong format": (lambda d: d.update(format="junit"), "$.format"),
    "time without offset": (lambda d: d["meta"].update(started="2025-06-01 10:00"), "$.meta.started"),
    "bad api in the matrix": (
        lambda d: d["summary"]["adapters"]["naive"]["apis"].update({"Anthropic": d["summary"]["totals"]}),
        "$.summary.adapters.naive.apis",
    ),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_broken_document_fails_validation(report: dict[str, Any], name: str) -> None:
    mutate, needle = BROKEN[name]
    broken = copy.deepcopy(report)
    mutate(broken)
    problems = validate_json(SCHEMA, broken)
    assert problems, name
    assert any(needle in p for p in problems), problems


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"verdict": "SKIP"},
            "result record 'x[a-whole]': verdict 'SKIP' is not one of PASS, PASS_NONSTRICT",
        ),
        ({"termination": "timeout"}, "termination 'timeout' is not null or one of finish"),
        ({"colour": "red"}, "result record 'x[a-whole]': unknown key(s) colour"),
        ({"diff": "--- a"}, "diff must be a list of strings"),
        ({"reason": None}, "reason must be a string, not NoneType"),
    ],
)
def test_build_report_refuses_a_bad_record(change: dict[str, Any], message: str) -> None:
    bad = {**record("a/b/c", "a", "whole"), "test_id": "x[a-whole]", **change}
    with pytest.raises(UsageError, match=re.escape(message)):
        build_report([bad], meta=META)


def test_build_report_refuses_missing_keys_duplicates_and_bad_meta() -> None:
    rec = record("a/b/c", "a", "whole")
    with pytest.raises(UsageError, match=r"'a/b/c\[a-whole\]': missing key\(s\) duration, seed"):
        build_report([{k: v for k, v in rec.items() if k not in {"duration", "seed"}}], meta=META)
    with pytest.raises(UsageError, match=r"'a/b/c\[a-whole\]': duplicate test_id"):
        build_report([rec, {**rec, "duration": 1.0}], meta=META)
    with pytest.raises(UsageError, match=r"report meta: unknown key\(s\) colour"):
        build_report([rec], meta={**META, "colour": "red"})
    with pytest.raises(UsageError, match=r"report meta: missing key\(s\) finished, argv"):
        build_report([rec], meta={"started": META["started"]})
    with pytest.raises(UsageError, match="argv must be a list of strings"):
        build_report([rec], meta={**META, "argv": "pytest -x"})


def test_tuples_from_judgements_become_lists() -> None:
    rec = record("a/b/c", "a", "whole", should=("abort.usage: none",))
    out = build_report([rec], meta=META)
    assert out["results"][0]["should"] == ["abort.usage: none"]
    assert validate_json(SCHEMA, out) == []


# -- determinism -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_shuffled_input_gives_identical_output(report: dict[str, Any], seed: int) -> None:
    records = sample()
    random.Random(seed).shuffle(records)
    again = build_report(records, meta=META)
    assert dumps(again) == dumps(report)
    assert render_markdown(again) == render_markdown(report)
    assert render_terminal(again) == render_terminal(report)


def test_renderers_work_on_a_report_read_back_from_json(report: dict[str, Any]) -> None:
    loaded = json.loads(dumps(report))
    assert render_markdown(loaded) == render_markdown(report)
    assert render_terminal(loaded) == render_terminal(report)


_NAMES = st.sampled_from(["reference", "naive", "litellm"])
_CASES = st.sampled_from(
    ["anthropic/messages/a", "openai/chat-completions/b", "gemini/generate-content/c", "ollama/chat/d"]
)
_VARIANTS = st.sampled_from(["whole", "bytewise", "random:7", "cancel-task"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_CASES, _NAMES, _VARIANTS, st.sampled_from(VERDICTS)), max_size=30))
def test_any_record_set_gives_a_valid_consistent_report(rows: list[tuple[str, str, str, str]]) -> None:
    unique = {(case, adapter, variant): verdict for case, adapter, variant, verdict in rows}
    records = [record(c, a, v, verdict) for (c, a, v), verdict in unique.items()]
    doc = build_report(records, meta=META)
    assert validate_json(SCHEMA, doc) == []
    summary = doc["summary"]
    assert summary["totals"]["total"] == len(records)
    for verdict in VERDICTS:
        per_adapter = sum(a["totals"][verdict] for a in summary["adapters"].values())
        per_api = sum(c[verdict] for a in summary["adapters"].values() for c in a["apis"].values())
        assert per_adapter == per_api == summary["totals"][verdict]
    ran = sum(1 for r in records if r["termination"] is not None)
    assert sum(summary["termination"].values()) == ran
    assert summary["result"] == ("empty" if not records else "fail" if summary["totals"]["FAIL"] else "pass")
    assert render_markdown(doc).startswith(
        {"empty": "## ⚠️", "fail": "## ❌", "pass": "## ✅"}[summary["result"]]
    )


# -- Markdown --------------------------------------------------------------------------


def test_markdown_title_and_matrix_rows(report: dict[str, Any]) -> None:
    md = render_markdown(report)
    lines = md.splitlines()
    assert lines[0] == "## ❌ llm-stream-conformance: 2 of 15 conformance tests failed"
    assert "PASS **7** · PASS_NONSTRICT **2** · UNSUPPORTED **3** · XFAIL **1** · FAIL **2**" in lines
    assert (
        "Command: `pytest --conformance-adapter reference`; "
        "chunkings: bytewise, prelude, random:0, utf8-boundary, whole"
    ) in lines
    assert "### Adapter `naive`" in lines
    assert "| API | PASS | PASS_NONSTRICT | UNSUPPORTED | XFAIL | FAIL | total |" in lines
    assert "| :--- | ---: | ---: | ---: | ---: | ---: | ---: |" in lines
    assert "| `anthropic/messages` | 0 | 1 | 0 | 1 | 1 | 3 |" in lines
    assert "| `openai/chat-completions` | 0 | 0 | 3 | 0 | 0 | 3 |" in lines
    assert "| **total** | **1** | **1** | **3** | **1** | **2** | **8** |" in lines
    reference = lines.index("### Adapter `reference`")
    assert lines[reference + 4] == "| `anthropic/messages` | 3 | 0 | 0 | 0 | 0 | 3 |"
    # termination table: only the columns that occurred
    assert "| adapter | finish | error | abort | no-terminal | leaked | crash |" in lines
    assert "| `naive` | 2 | 0 | 0 | 1 | 1 | 1 |" in lines
    assert "| **total** | **7** | **1** | **1** | **1** | **1** | **1** |" in lines


def test_markdown_failures_show_reason_violations_diff_and_replay(report: dict[str, Any]) -> None:
    md = render_markdown(report)
    fail = next(r for r in report["results"] if r["test_id"].endswith("[naive-bytewise]"))
    section = md[md.index("### Failures (2)") : md.index("### Unsupported")]
    assert "#### `anthropic/messages/text-then-tool-use[naive-bytewise]`" in section
    assert "**the events differ from the expected sequence at folded event 8**" in section
    assert "termination: `no-terminal` · variant: `bytewise` · first divergence at folded event 8" in section
    assert "- sequence.terminal at event 13: " in section
    assert "```diff\n" + "\n".join(fail["diff"]) + "\n```\n" in section
    assert (
        "```sh\nconformance replay anthropic/messages/text-then-tool-use"
        " --adapter naive --chunking bytewise\n```" in section
    )
    assert "#### `bedrock/converse-stream/text-only[naive-random:0]`" in section
    assert "**crash: KeyError: 'delta'**" in section


def test_markdown_unsupported_xfail_and_should_sections(report: dict[str, Any]) -> None:
    lines = render_markdown(report).splitlines()
    unsupported = lines.index("### Unsupported (3)")
    assert lines[unsupported + 2 : unsupported + 6] == [
        "| reason | tests |",
        "| :--- | ---: |",
        "| the adapter does not support flavour deepseek | 2 |",
        "| the adapter does not support cancel signals | 1 |",
    ]
    assert "### Expected failures (1)" in lines
    assert (
        "- `anthropic/messages/text-then-tool-use[naive-cancel-close]`: "
        "known: drops refusal blocks (events differ at folded event 2)"
    ) in lines
    assert "### SHOULD findings (2, never failing)" in lines
    assert "| rule | findings | first seen in | finding |" in lines
    assert "| :--- | ---: | :--- | :--- |" in lines
    assert (
        "| `abort.usage` | 1 | `anthropic/messages/text-then-tool-use[reference-cancel-signal]` | "
        "no abort event after the cancel signal, so cancelled spend is not tracked |"
    ) in lines
    assert (
        "| `block.delta-nonempty` | 1 | `bedrock/converse-stream/text-only[naive-whole]` | "
        "at event 4: an empty text delta |"
    ) in lines


def test_markdown_of_a_clean_run_says_so() -> None:
    doc = build_report([record("openai/chat-completions/x", "reference", "whole")], meta=META)
    md = render_markdown(doc)
    assert md.startswith("## ✅ llm-stream-conformance: all 1 conformance tests passed\n")
    for absent in ("Failures", "Unsupported", "Expected failures", "SHOULD"):
        assert absent not in md
    assert md.endswith(
        "### How the streams ended\n\n| adapter | finish |\n| :--- | ---: |\n| `reference` | 1 |\n"
    )


def test_markdown_caps_failures_and_long_diffs() -> None:
    long_diff = ["--- expected", "+++ actual", "@@ -1,200 +1,200 @@", *(f'-{{"n":{i}}}' for i in range(200))]
    long_diff.append('+{"type":"block.delta","block":0,"text":"' + "x" * 1000 + '"}')
    records = [
        record(f"openai/chat-completions/case-{i:02d}", "reference", "whole", "FAIL", diff=long_diff)
        for i in range(57)
    ]
    md = render_markdown(build_report(records, meta=META), max_failures=50, max_diff_lines=40, max_line=120)
    assert md.count("\n#### ") == 50
    assert "*… and 7 more failures, not shown (see report.json).*" in md
    assert md.count("*… 164 more diff lines (long lines cut; full diff in report.json)*") == 50
    assert "case-49[" in md
    assert "case-50[" not in md
    assert max(len(line) for line in md.splitlines()) < 200
    md = render_markdown(build_report(records[:1], meta=META), max_diff_lines=1000, max_line=120)
    assert "*(long lines cut; full diff in report.json)*" in md
    assert '+{"type":"block.delta","block":0,"text":"' + "x" * 78 + "…" in md


def test_markdown_stays_within_a_job_summary_limit() -> None:
    huge = ["--- expected", "+++ actual", *("-" + "é" * 1000 for _ in range(200))]
    violations = [f"sequence.terminal at event {i}: " + "x" * 1000 for i in range(40)]
    records = [
        record(f"openai/chat-completions/c{i:02d}", "r", "whole", "FAIL", diff=huge, violations=violations)
        for i in range(50)
    ]
    md = render_markdown(build_report(records, meta=META))
    assert len(md.encode()) < 1024 * 1024
    shown = md.count("\n#### ")
    assert 10 < shown < 50
    assert f"*… and {50 - shown} more failures, not shown (see report.json).*" in md
    assert "- … and 20 more (see report.json)" in md  # violations capped at 20 per failure
    unsupported = [
        record(f"openai/chat-completions/u{i}", "r", "whole", "UNSUPPORTED", reason=f"needs feature {i % 7}")
        for i in range(70)
    ]
    lines = render_markdown(build_report(unsupported, meta=META), max_failures=5).splitlines()
    table = lines[lines.index("### Unsupported (70)") + 2 :]
    assert table[2:8] == [
        *(f"| needs feature {i} | 10 |" for i in range(5)),
        "| *… 2 other reasons* | 20 |",
    ]


def test_markdown_survives_backticks_and_table_syntax_in_its_input() -> None:
    diff = ["--- expected", "+++ actual", '-{"text":"```python"}', '+{"text":"````"}']
    fail = record(
        "openai/chat-completions/x", "reference", "whole", "FAIL", reason="a | b <script> *c*", diff=diff
    )
    unsupported = record("openai/chat-completions/y", "reference", "whole", "UNSUPPORTED", reason="x | y")
    md = render_markdown(build_report([fail, unsupported], meta=META))
    assert "`````diff\n" + "\n".join(diff) + "\n`````" in md  # a fence longer than any run inside
    assert r"**a \| b \<script\> \*c\***" in md
    assert r"| x \| y | 1 |" in md


# -- terminal --------------------------------------------------------------------------


def test_terminal_lines_are_aligned_and_plain(report: dict[str, Any]) -> None:
    lines = render_terminal(report)
    assert (
        lines[0] == "llm-stream-conformance: FAILED, 15 tests: "
        "7 PASS, 2 PASS_NONSTRICT, 3 UNSUPPORTED, 1 XFAIL, 2 FAIL"
    )
    start = lines.index("adapter naive")
    matrix = lines[start + 1 : start + 6]
    assert matrix == [
        "  API                      PASS  NONSTRICT  UNSUPP  XFAIL  FAIL  total",
        "  anthropic/messages          0          1       0      1     1      3",
        "  bedrock/converse-stream     1          0       0      0     1      2",
        "  openai/chat-completions     0          0       3      0     0      3",
        "  total                       1          1       3      1     2      8",
    ]
    assert lines[start + 6] == "  termination: 2 finish, 1 no-terminal, 1 leaked, 1 crash"
    assert lines[start + 7] == "  SHOULD findings: 1"
    assert lines[-1] == "SHOULD findings by rule: 1 abort.usage, 1 block.delta-nonempty"
    for line in lines:
        assert "\x1b" not in line
        assert len(line) <= 100


def test_terminal_columns_align_for_any_widths() -> None:
    records = [
        record("openai/chat-completions/x", "reference", v, "PASS") for v in ["whole", "bytewise", "cr-lf"]
    ] + [
        record(f"a{i}/" + "-".join(["very-long-api-name"] * 4) + f"/c{i}", "reference", "whole")
        for i in range(3)
    ]
    for i in range(1234):
        records.append(record(f"gemini/generate-content/c{i}", "reference", "whole", "FAIL"))
    lines = render_terminal(build_report(records, meta=META), width=80)
    matrix = lines[lines.index("adapter reference") + 1 : lines.index("adapter reference") + 8]
    assert {len(line) for line in matrix} == {80}
    header = matrix[0]
    for row in matrix[1:]:  # every number ends where its heading ends
        ends = [m.end() for m in re.finditer(r"\S+", row)][1:]
        assert ends == [m.end() for m in re.finditer(r"\S+", header)][1:]
    assert any(row.startswith("  a0/very-long-api-name-") and "…" in row for row in matrix)
    assert "  gemini/generate-content" in "\n".join(matrix)
    assert matrix[-1].split() == ["total", "6", "0", "0", "0", "1234", "1240"]


def test_terminal_wraps_a_long_termination_line() -> None:
    records = [
        record(f"openai/chat-completions/c{i}", "reference", "whole", termination=t)
        for i, t in enumerate(TERMINATIONS)
    ]
    lines = render_terminal(build_report(records, meta=META), width=60)
    ends = [line for line in lines if line.startswith(("  termination:", "    "))]
    assert len(ends) >= 2
    assert all(len(line) <= 60 for line in ends)
    assert " ".join(ends).split() == ["termination:", *", ".join(f"1 {t}" for t in TERMINATIONS).split()]
