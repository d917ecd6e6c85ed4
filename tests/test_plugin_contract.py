"""The pytest plugin seen from a user's project: a foreign temporary project (pytester)
with the worked example adapter of ``docs/adapters.md`` copied into it.

Covers: the correct adapter passes every ``openai/chat-completions`` case it declares
(the rest is UNSUPPORTED, saying why); the three ways to register an adapter (hook,
fixture override under a bare name, ``--conformance-adapter`` and its ini twin); a
sync adapter; bad option values as usage errors (exit 4, valid values listed);
declared XFAIL, strict; ``-k`` by path-like test id; the reports; the JUnit
property; pytest-xdist; and that the docs include the example verbatim.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance.cassettes import CASSETTES_ROOT, iter_cases
from conformance.harness.matrix import chunkings_for
from tests.helpers import PYTESTER_BASE as BASE

pytest_plugins = ("pytester",)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "openai_chat_adapter.py"
ADAPTERS_MD = ROOT / "docs" / "adapters.md"
API = "openai/chat-completions"
#: The flavours the example adapter declares.
DECLARED = frozenset({"openai", "azure"})
#: Every inner run: the suite only, no cache folder in the temporary project.
CHUNKINGS = "--conformance-chunkings=whole,bytewise"

HOOK_CONFTEST = """
from openai_chat_adapter import openai_chat_adapter, openai_chat_adapter_sync


def pytest_conformance_adapters(config):
    return {"acme": openai_chat_adapter, "acmesync": openai_chat_adapter_sync}
"""


@dataclass
class Run:
    """What an in-process run did, per conformance test id."""

    ret: int
    outcomes: dict[str, str] = field(default_factory=dict)
    """``passed``, ``failed``, ``skipped`` or ``xfailed``."""
    texts: dict[str, str] = field(default_factory=dict)
    """The failure report, or the skip / xfail reason."""
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The plugin's result record (from the report's ``user_properties``)."""

    def having(self, outcome: str) -> set[str]:
        """The test ids with this outcome."""
        return {test_id for test_id, got in self.outcomes.items() if got == outcome}


def _test_id(nodeid: str) -> str:
    return nodeid.split("::", 1)[1] if nodeid.startswith("conformance::") else nodeid


def _reason(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):
        return str(report.wasxfail)
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):
        return str(longrepr[2])
    return str(longrepr)


def run_inline(pytester: pytest.Pytester, *args: str) -> Run:
    """Run the suite in-process with ``args``; collect each test's outcome and record."""
    reprec = pytester.inline_run(*BASE, *args)
    run = Run(ret=int(reprec.ret or 0))
    for report in reprec.getreports("pytest_runtest_logreport"):
        test_id = _test_id(report.nodeid)
        for name, value in report.user_properties:
            if name == "conformance":
                run.records[test_id] = json.loads(str(value))
        if report.when == "call" or not report.passed:
            outcome = "xfailed" if hasattr(report, "wasxfail") else report.outcome
            if test_id not in run.outcomes or outcome != "passed":
                run.outcomes[test_id] = outcome
                run.texts[test_id] = _reason(report) if outcome != "passed" else ""
    return run


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A foreign project holding a copy of the example adapter module (importable)."""
    (pytester.path / "openai_chat_adapter.py").write_text(EXAMPLE.read_text("utf-8"), "utf-8")
    pytester.syspathinsert()
    return pytester


def _cases(flavours: frozenset[str] | None = None) -> list[Any]:
    cases = [c for c in iter_cases(CASSETTES_ROOT) if c.api == API]
    return [c for c in cases if flavours is None or c.flavour in flavours]


def _plain_ids(adapter: str, chunkings: list[str], flavours: frozenset[str] | None = None) -> set[str]:
    return {
        f"{case.id}[{adapter}-{chunking}]"
        for case in _cases(flavours)
        for chunking in chunkings_for(case, chunkings)
    }


# -- the correct adapter ------------------------------------------------------------------------


def test_the_example_passes_every_case_it_declares_and_the_rest_is_unsupported(
    project: pytest.Pytester,
) -> None:
    project.makeconftest(HOOK_CONFTEST)
    run = run_inline(project, CHUNKINGS, "-k", f"{API}/ and acme-")
    assert run.ret == 0, run.texts
    declared = _plain_ids("acme", ["whole", "bytewise"], DECLARED)
    assert len(declared) >= 60  # about 35 cases, two chunkings each: not vacuous
    assert not run.having("failed")
    assert declared <= run.having("passed")
    # every verdict of a declared case is a full PASS: the example is exact, not just folded-equal
    assert {run.records[t]["verdict"] for t in declared} == {"PASS"}
    # cancellation: every mode passes, and the signal mode ends with an abort
    cancels = {t for t in run.outcomes if "[acme-cancel-" in t}
    supported_cancels = {t for t in cancels if run.records[t]["flavour"] in DECLARED}
    assert supported_cancels
    assert supported_cancels <= run.having("passed")
    assert {run.records[t]["termination"] for t in supported_cancels} == {"abort"}
    # every other flavour is UNSUPPORTED, and says which flavour is missing
    others = _plain_ids("acme", ["whole", "bytewise"]) - declared
    assert others
    assert others <= run.having("skipped")
    for test_id in others:
        flavour = run.records[test_id]["flavour"]
        assert run.texts[test_id] == (
            f"Skipped: UNSUPPORTED: the adapter does not declare {API} ({flavour}, sse)"
        )
        assert run.records[test_id]["verdict"] == "UNSUPPORTED"


def test_a_sync_adapter_passes_too_and_task_cancellation_is_unsupported(project: pytest.Pytester) -> None:
    project.makeconftest(HOOK_CONFTEST)
    run = run_inline(
        project, "--conformance-chunkings=whole,utf8-boundary", "-k", f"{API}/ and acmesync- and not azure"
    )
    assert run.ret == 0, run.texts
    plain = _plain_ids("acmesync", ["whole", "utf8-boundary"], frozenset({"openai"}))
    assert plain <= run.having("passed")
    assert not run.having("failed")
    for mode in ("task", "timeout"):
        test_id = f"{API}/parallel-tool-calls[acmesync-cancel-{mode}]"
        assert run.texts[test_id] == f"Skipped: UNSUPPORTED: a sync adapter cannot be cancelled by {mode}"
    for mode in ("close", "signal"):
        assert f"{API}/parallel-tool-calls[acmesync-cancel-{mode}]" in run.having("passed")


# -- registration -------------------------------------------------------------------------------

#: One small case, two chunkings, four cancellations and four faults: ten tests per adapter.
ONE_CASE = f"{API}/parallel-tool-calls["
ONE_CASE_FAULTS = ("truncate:3870", "truncate:4022", "error-frame:13", "garbage:13")


def _assert_six_passed(run: Run, adapter: str) -> None:
    assert run.ret == 0, run.texts
    variants = ["whole", "bytewise", "cancel-close", "cancel-task", "cancel-timeout", "cancel-signal"]
    assert run.having("passed") == {f"{ONE_CASE}{adapter}-{v}]" for v in (*variants, *ONE_CASE_FAULTS)}


def test_registration_by_hook_in_conftest(project: pytest.Pytester) -> None:
    project.makeconftest(HOOK_CONFTEST)
    _assert_six_passed(run_inline(project, CHUNKINGS, "-k", f"{ONE_CASE}acme-"), "acme")


def test_registration_by_fixture_override_under_a_bare_name(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        import pytest
        from openai_chat_adapter import openai_chat_adapter

        @pytest.fixture
        def conformance_adapter():
            return openai_chat_adapter()
        """
    )
    run = run_inline(project, "--conformance-adapter=acme", CHUNKINGS, "-k", ONE_CASE)
    _assert_six_passed(run, "acme")


def test_a_bare_name_nobody_provides_stops_the_session_once_saying_so(project: pytest.Pytester) -> None:
    result = project.runpytest_inprocess(
        *BASE, "--conformance-adapter=nobody", "--conformance-chunkings=whole", "-k", ONE_CASE
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stdout.str() + result.stderr.str()
    assert text.count("no factory for adapter 'nobody'") == 1, text
    assert "override the conformance_adapter fixture to provide it" in text


def test_registration_by_option(project: pytest.Pytester) -> None:
    spec = "--conformance-adapter=openai_chat_adapter:openai_chat_adapter"
    run = run_inline(project, spec, CHUNKINGS, "-k", ONE_CASE)
    _assert_six_passed(run, "acme")
    # the reproduce line names the spec the user gave
    assert run.records[f"{ONE_CASE}acme-bytewise]"]["replay"] == (
        f"conformance replay {API}/parallel-tool-calls --adapter openai_chat_adapter:openai_chat_adapter "
        "--chunking bytewise"
    )


def test_registration_by_ini(project: pytest.Pytester) -> None:
    project.makeini(
        """
        [pytest]
        conformance_adapter = openai_chat_adapter:openai_chat_adapter_sync
        conformance_chunkings = whole,bytewise
        """
    )
    run = run_inline(project, "-k", ONE_CASE)
    assert run.ret == 0, run.texts
    assert run.having("passed") == {
        f"{ONE_CASE}acmesync-{v}]"
        for v in ("whole", "bytewise", "cancel-close", "cancel-signal", *ONE_CASE_FAULTS)
    }


def test_the_suite_is_not_collected_without_an_adapter(project: pytest.Pytester) -> None:
    project.makepyfile(test_own="def test_own():\n    pass\n")
    result = project.runpytest_inprocess(*BASE[:4])
    result.assert_outcomes(passed=1)


def test_explicit_paths_narrow_the_run_unless_conformance_is_given(project: pytest.Pytester) -> None:
    project.makeconftest(HOOK_CONFTEST)
    project.makepyfile(test_own="def test_own():\n    pass\n")
    narrowed = project.runpytest_inprocess(*BASE[:4], "test_own.py")
    narrowed.assert_outcomes(passed=1)
    forced = project.runpytest_inprocess(
        *BASE[:4], "test_own.py", "--conformance", CHUNKINGS, "-k", f"test_own or {ONE_CASE}acme-whole"
    )
    forced.assert_outcomes(passed=2)


# -- bad options --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--conformance-chunkings=whole,zigzag"],
            "--conformance-chunkings: unknown chunking 'zigzag' (valid: whole, recorded, bytewise, "
            "every-split, utf8-boundary, cr-lf, prelude, random:SEED)",
        ),
        (["--conformance-timeout=-1"], "--conformance-timeout='-1': expected a positive float"),
        (["--conformance-timeout=soon"], "--conformance-timeout='soon': expected a positive float"),
        (["--conformance-max-events=0"], "--conformance-max-events='0': expected a positive int"),
        (
            ["--conformance-adapter=openai_chat_adapter:"],
            "adapter spec 'openai_chat_adapter:' is not 'package.module:factory' (or 'reference')",
        ),
        (
            ["--conformance-adapter=no_such_module_here:factory"],
            "adapter spec 'no_such_module_here:factory': cannot import 'no_such_module_here'",
        ),
        (
            ["--conformance-adapter=openai_chat_adapter:missing"],
            "adapter spec 'openai_chat_adapter:missing': 'openai_chat_adapter' has no attribute 'missing'",
        ),
        (
            ["--conformance-adapter=openai_chat_adapter:ChatParser"],
            "--conformance-adapter=openai_chat_adapter:ChatParser: the factory returned ChatParser, "
            "not a conformance Adapter",
        ),
        (["--conformance-cases=no/such/folder"], "--conformance-cases: no/such/folder is not a folder"),
    ],
    ids=[
        "chunking",
        "negative-timeout",
        "timeout-word",
        "max-events",
        "spec",
        "module",
        "attr",
        "factory",
        "cases",
    ],
)
def test_bad_options_are_usage_errors_listing_valid_values(
    project: pytest.Pytester, args: list[str], message: str
) -> None:
    result = project.runpytest_inprocess(*BASE, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: {message}" in result.stderr.str()


# -- XFAIL --------------------------------------------------------------------------------------

XFAIL_CONFTEST = """
import dataclasses
from openai_chat_adapter import Finished, openai_chat_adapter, to_canonical


def _no_finish(event):
    return None if isinstance(event, Finished) else to_canonical(event)


def _declared(pattern, reason):
    def factory():
        adapter = openai_chat_adapter()
        xfail = {pattern: reason}
        return dataclasses.replace(adapter, name=factory.name, to_canonical=_no_finish, xfail=xfail)
    return factory


def pytest_conformance_adapters(config):
    known = _declared("openai/chat-completions/synthetic-text[*-whole]", "finish is not mapped yet (#12)")
    known.name = "known"
    stale = _declared("openai/chat-completions/synthetic-text[stale-cancel-close]", "stale entry")
    stale.name = "stale"
    return {"known": known, "stale": stale}
"""


def test_declared_xfail_is_reported_with_its_reason_and_an_unexpected_pass_fails(
    project: pytest.Pytester,
) -> None:
    project.makeconftest(XFAIL_CONFTEST)
    run = run_inline(project, "--conformance-chunkings=whole", "-k", f"{API}/synthetic-text[")
    case = f"{API}/synthetic-text"
    # a declared failure: XFAIL with the declared reason and the real one
    assert run.outcomes[f"{case}[known-whole]"] == "xfailed"
    assert run.texts[f"{case}[known-whole]"].startswith("finish is not mapped yet (#12) (")
    assert run.records[f"{case}[known-whole]"]["verdict"] == "XFAIL"
    # the same bug, undeclared: FAIL
    assert run.outcomes[f"{case}[stale-whole]"] == "failed"
    assert "sequence.terminal" in run.texts[f"{case}[stale-whole]"]
    # a declared failure that passes (the cancel runs compare with the adapter's own run): FAIL
    stale = f"{case}[stale-cancel-close]"
    assert run.outcomes[stale] == "failed"
    assert "declared as an expected failure (stale entry) but it passed" in run.texts[stale]
    assert run.ret == pytest.ExitCode.TESTS_FAILED


# -- selection, reports, JUnit, xdist -----------------------------------------------------------


def test_k_selects_by_path_like_test_id(project: pytest.Pytester) -> None:
    project.makeconftest(HOOK_CONFTEST)
    one = run_inline(project, CHUNKINGS, "-k", f"{API}/strict-tool-call[acme-bytewise]")
    assert set(one.outcomes) == {f"{API}/strict-tool-call[acme-bytewise]"}
    assert one.ret == 0
    every_cancel = run_inline(project, CHUNKINGS, "-k", f"acme-cancel-signal and {API}/azure")
    assert set(every_cancel.outcomes) == {f"{API}/azure-prompt-filter-first[acme-cancel-signal]"}
    whole_api = run_inline(
        project, "--conformance-chunkings=whole", "-k", "anthropic/messages/ and acme-whole"
    )
    anthropic = {c.id for c in iter_cases(CASSETTES_ROOT) if c.api == "anthropic/messages"}
    assert {t.split("[")[0] for t in whole_api.outcomes} == anthropic
    assert whole_api.having("skipped") == set(whole_api.outcomes)  # the example is OpenAI only


def test_report_files_are_written(project: pytest.Pytester) -> None:
    pytest.importorskip("conformance.report", reason="conformance/report.py is not written yet")
    jsonschema = pytest.importorskip("jsonschema")
    project.makeconftest(HOOK_CONFTEST)
    out = project.path / "out"
    run = run_inline(
        project, CHUNKINGS, f"--conformance-report={out}", "-k", f"{ONE_CASE}acme- or vllm-crusoe"
    )
    assert run.ret == 0
    document = json.loads((out / "report.json").read_text("utf-8"))
    schema = json.loads((ROOT / "schemas" / "report.schema.json").read_text("utf-8"))
    jsonschema.validate(document, schema)
    results = {r["test_id"]: r for r in document["results"]}
    assert set(results) == set(run.outcomes)
    assert results[f"{ONE_CASE}acme-bytewise]"]["verdict"] == "PASS"
    assert results[f"{API}/vllm-crusoe-llama-text[acme-whole]"]["verdict"] == "UNSUPPORTED"
    markdown = (out / "report.md").read_text("utf-8")
    assert "acme" in markdown
    assert API in markdown


def test_junit_xml_carries_the_conformance_property(project: pytest.Pytester) -> None:
    project.makeconftest(HOOK_CONFTEST)
    junit = project.path / "junit.xml"
    run = run_inline(project, CHUNKINGS, f"--junitxml={junit}", "-k", f"{ONE_CASE}acme-")
    assert run.ret == 0
    properties: dict[str, dict[str, Any]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        for prop in case.iter("property"):
            if prop.get("name") == "conformance":
                record = json.loads(prop.get("value") or "{}")
                properties[record["test_id"]] = record
    assert set(properties) == set(run.outcomes)
    whole = properties[f"{ONE_CASE}acme-whole]"]
    assert (whole["verdict"], whole["termination"], whole["adapter"], whole["chunking"]) == (
        "PASS",
        "finish",
        "acme",
        "whole",
    )


def _verdicts_from_junit(path: Path) -> dict[str, str]:
    verdicts: dict[str, str] = {}
    for prop in ET.parse(path).getroot().iter("property"):
        if prop.get("name") == "conformance":
            record = json.loads(prop.get("value") or "{}")
            verdicts[record["test_id"]] = record["verdict"]
    return verdicts


def test_xdist_gives_the_same_verdicts(project: pytest.Pytester) -> None:
    pytest.importorskip("xdist", reason="pytest-xdist is not installed")
    # every verdict appears: PASS, UNSUPPORTED (vllm), XFAIL and FAIL (the xfail adapters)
    project.makeconftest(
        XFAIL_CONFTEST.replace('"stale": stale}', '"stale": stale, "acme": openai_chat_adapter}')
    )
    args = ("--conformance-chunkings=whole", "-k", f"{API}/synthetic-text[ or {API}/synthetic-tool-call-w")
    serial = run_inline(project, *args)
    junit = project.path / "parallel.xml"
    parallel = project.runpytest_subprocess(*BASE, *args, "-n", "2", f"--junitxml={junit}")
    assert serial.ret == parallel.ret == pytest.ExitCode.TESTS_FAILED
    parallel.stdout.fnmatch_lines(["*2 workers*"])
    verdicts = {t: r["verdict"] for t, r in serial.records.items()}
    assert set(verdicts.values()) == {"PASS", "UNSUPPORTED", "XFAIL", "FAIL"}
    assert _verdicts_from_junit(junit) == verdicts
    # the controller prints the verdict matrix from the workers' records
    parallel.stdout.fnmatch_lines(["*conformance verdicts*", "adapter acme"])


# -- the docs -----------------------------------------------------------------------------------


def test_the_docs_include_the_example_verbatim() -> None:
    text = ADAPTERS_MD.read_text("utf-8")
    match = re.search(
        r"<!-- example: docs/examples/openai_chat_adapter\.py -->\n```python\n(.*?)```\n", text, re.DOTALL
    )
    assert match is not None, "docs/adapters.md lost its example block"
    assert match.group(1) == EXAMPLE.read_text("utf-8")
