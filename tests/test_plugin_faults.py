"""The plugin's fault and property tests against broken adapters (pytester, in-process).

Faults (``[<adapter>-truncate:N]``, ``-error-frame:K``, ``-garbage:K``) are derived from
the case ``openai/chat-completions/synthetic-text``; what each broken adapter must fail
follows from the rule it breaks (DESIGN §4, SPEC §7 and §10.1).  The property test of
``openai/chat-completions`` must find an adapter that drops the raw finish reason, print
the shrunk example as a ready-to-save case and the seed that replays it, and pass the
reference adapter.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from conformance.events import BlockDelta, BlockEnd, BlockStart, Error, ErrorCategory, Event
from conformance.reference import reference_adapter
from tests.helpers import PYTESTER_BASE as BASE
from tests.test_plugin_broken import (
    OPENAI,
    Filter,
    Run,
    _hide_truncation,
    _lose_raw_reason,
    _run,
    _sabotaged,
    _swallow_errors,
)

pytest_plugins = ("pytester",)

CASE = f"{OPENAI}/synthetic-text"
#: The faults of CASE, as ``faults_for`` derives them (tests/test_faults.py checks where they fall).
TRUNCATIONS = ("truncate:889", "truncate:1043")
ERROR_FRAME = "error-frame:3"
GARBAGE = "garbage:3"
FAULTS = (*TRUNCATIONS, ERROR_FRAME, GARBAGE)


def _any_error_as_unknown() -> Filter:
    """Types every error as ``unknown`` (loses the category the vendor or the rules give)."""

    def keep(event: Event) -> list[Event]:
        if isinstance(event, Error):
            return [dataclasses.replace(event, category=ErrorCategory.UNKNOWN)]
        return [event]

    return keep


def _mark_failure_in_text() -> Filter:
    """Tells the user in the transcript: a text block " [stream failed]" before the error."""
    blocks: list[int] = [-1]

    def keep(event: Event) -> list[Event]:
        if isinstance(event, BlockStart):
            blocks.append(event.block)
        if isinstance(event, Error):
            n = max(blocks) + 1
            note: list[Event] = [
                BlockStart(block=n, kind="text"),
                BlockDelta(block=n, text=" [stream failed]"),
                BlockEnd(block=n),
            ]
            return [*note, event]
        return [event]

    return keep


FAULT_BREAKERS = {
    # a truncation (and nothing else) is a protocol error: reported as a finish instead
    "hidetruncation": (_sabotaged("hidetruncation", _hide_truncation), set(TRUNCATIONS)),
    # every fault ends in an error; without it the run has no terminal
    "swallowerror": (_sabotaged("swallowerror", _swallow_errors), set(FAULTS)),
    # truncation must be protocol, garbage protocol or decode, the error frame its own category
    "untyped": (_sabotaged("untyped", _any_error_as_unknown), set(FAULTS)),
    # the content delivered before any fault must be conserved, not altered
    "markfailure": (_sabotaged("markfailure", _mark_failure_in_text), set(FAULTS)),
}

_SESSIONS: dict[str, Run] = {}


def _fault_session(pytester: pytest.Pytester) -> Run:
    if "faults" not in _SESSIONS:
        adapters = {name: adapter for name, (adapter, _) in FAULT_BREAKERS.items()}
        adapters["reference"] = reference_adapter()
        selection = " or ".join(f"{CASE}[{name}-{fault}]" for name in adapters for fault in FAULTS)
        _SESSIONS["faults"] = _run(pytester, adapters, "-k", selection)
    return _SESSIONS["faults"]


def test_the_case_has_the_faults_these_tests_name(pytester: pytest.Pytester) -> None:
    run = _fault_session(pytester)
    assert run.of("reference") == {f"{CASE}[reference-{fault}]": "passed" for fault in FAULTS}


@pytest.mark.parametrize("name", FAULT_BREAKERS)
def test_a_broken_adapter_fails_exactly_the_faults_its_bug_shows_in(
    pytester: pytest.Pytester, name: str
) -> None:
    run = _fault_session(pytester)
    failing = {f"{CASE}[{name}-{fault}]" for fault in FAULT_BREAKERS[name][1]}
    got = run.of(name)
    assert set(got) == {f"{CASE}[{name}-{fault}]" for fault in FAULTS}
    assert {t for t, o in got.items() if o == "failed"} == failing
    for test_id in failing:
        assert run.texts[test_id].startswith(f"{CASE}: FAIL for adapter {name}, ")


def _reason(run: Run, name: str, fault: str) -> str:
    return run.texts[f"{CASE}[{name}-{fault}]"].splitlines()[1].strip()


def test_fault_failures_say_which_rule(pytester: pytest.Pytester) -> None:
    run = _fault_session(pytester)
    for fault in TRUNCATIONS:
        assert _reason(run, "hidetruncation", fault) == f"{fault}: the broken stream was reported as a finish"
        assert (
            _reason(run, "untyped", fault)
            == f"{fault}: a truncated stream ended with error unknown, not protocol"
        )
    for fault in FAULTS:
        assert (
            _reason(run, "swallowerror", fault) == f"{fault}: the run ended as no-terminal, not with an error"
        )
        assert _reason(run, "markfailure", fault).startswith(
            f"{fault}: content before the fault not conserved: "
        )
    assert _reason(run, "untyped", GARBAGE) == (
        f"{GARBAGE}: a malformed message ended the stream with error unknown, not protocol or decode"
    )
    assert _reason(run, "untyped", ERROR_FRAME).startswith(
        f"{ERROR_FRAME}: the injected error came out with category 'unknown' (injected 'server')"
    )
    text = run.texts[f"{CASE}[untyped-{ERROR_FRAME}]"]
    assert "reproduce: python -m pytest --conformance-only --conformance-seed=" in text
    assert f"-k '{CASE}[untyped-{ERROR_FRAME}]'" in text


# -- property tests ------------------------------------------------------------------------------


def test_the_property_test_finds_a_broken_adapter_and_prints_a_ready_to_save_case(
    pytester: pytest.Pytester,
) -> None:
    adapters = {"rawreason": _sabotaged("rawreason", _lose_raw_reason), "reference": reference_adapter()}
    prop = f"{OPENAI}/property"
    run = _run(pytester, adapters, "--conformance-seed=7", "-k", f"{prop}[")
    assert run.outcomes == {f"{prop}[rawreason-property]": "failed", f"{prop}[reference-property]": "passed"}
    text = run.texts[f"{prop}[rawreason-property]"]
    assert text.startswith(f"{prop}: FAIL for adapter rawreason, property")
    assert "the events differ from the expected sequence at folded event" in text
    assert "the shrunk failing example, as a case folder (expected.reviewed false):" in text
    manifest = text.split("--- case.json\n", 1)[1].split("  --- ", 1)[0]
    assert re.search(r'"id": "openai/chat-completions/property-[0-9a-f]{12}"', manifest)
    assert '"reviewed": false' in manifest
    expected = text.split("--- expected.jsonl\n", 1)[1].split("  --- ", 1)[0]
    assert '"type":"finish"' in expected
    assert '"raw_reason"' in expected
    assert re.search(r"--- stream\.sse \(\d+ bytes, cut at \[[0-9, ]*\]\)\n    b'", text)
    assert "reproduce: python -m pytest --conformance-only --conformance-seed=7 -k" in text


def test_the_same_seed_replays_the_same_shrunk_example(pytester: pytest.Pytester) -> None:
    adapters = {"rawreason": _sabotaged("rawreason", _lose_raw_reason)}
    runs = [_run(pytester, adapters, "--conformance-seed=11", "-k", f"{OPENAI}/property[") for _ in range(2)]
    texts = [r.texts[f"{OPENAI}/property[rawreason-property]"] for r in runs]
    assert "the shrunk failing example" in texts[0]
    assert texts[0] == texts[1]


def test_the_header_names_the_seed(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "from conformance.reference import reference_adapter\n"
        "def pytest_conformance_adapters(config):\n"
        "    return {'reference': reference_adapter}\n"
    )
    result = pytester.runpytest_inprocess(*BASE, "--conformance-seed=42", "-k", "nothing-matches")
    result.stdout.fnmatch_lines(
        ["conformance: adapters reference; property seed 42 (replay: --conformance-seed=42)*"]
    )
