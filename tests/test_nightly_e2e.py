"""The nightly loop end to end: ``record --live`` from a drifting loopback server, then
``conformance drift`` against the baseline, for each simulated vendor change.

The expected findings follow from what each mutation does to the Anthropic streams
(conformance/server/drift/) and from the drift contract's kinds and severities
(docs/drift.md): e.g. renaming ``message_delta.usage.output_tokens`` removes that field
path (critical), adds the new one (info) and changes the usage the reference decoder
reads (canonical-changed, critical).  A finding kind outside a mutation's required and
allowed kinds fails the test, so a drift report that cries wolf is caught too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.cassettes import CASSETTES_ROOT, case_body, expected_events, load_case, write_case
from conformance.cli import main
from conformance.secrets import scan
from conformance.server import LoopbackServer
from conformance.server.drift import MUTATIONS

API = "anthropic/messages"
TEXT = f"{API}/synthetic-text"
TOOL = f"{API}/synthetic-text-then-tool-call"
FAKE_KEY = "sk-ant-api03-Nq4Zt8Lw2Hx6Cv0Bm3Kj7Pf1Rd5Gs9Ya2Ue8Io4Tr6Ey0Wq3-AA"


@dataclass(frozen=True)
class Expect:
    """The verdict, the findings that must be there as (kind, severity, path or None for
    any path), and the other kinds that may come with them."""

    verdict: str
    required: tuple[tuple[str, str, str | None], ...] = ()
    allowed: frozenset[str] = field(default_factory=frozenset)


EXPECTED: dict[str, Expect] = {
    "rename-field": Expect(
        "critical",
        (
            ("field-removed", "critical", "message_delta.usage.output_tokens"),
            ("field-added", "info", "message_delta.usage.output_token_count"),
            ("canonical-changed", "critical", None),  # the usage event loses its output tokens
        ),
    ),
    "add-event-type": Expect(
        "warning",
        (("event-type-added", "warning", "drift_probe"),),
        frozenset({"field-added", "ordering-changed"}),  # its own fields; a new place in the order
    ),
    "reorder-events": Expect(
        "warning",
        (("ordering-changed", "warning", None),),
        # the usage snapshot of message_delta now comes before the block ends: the same
        # folded sequence, delivered differently
        frozenset({"deltas-resplit"}),
    ),
    "resplit-tool-args": Expect("info", (("deltas-resplit", "info", None),)),
    "move-usage": Expect(
        "critical",
        (
            ("field-removed", "critical", "message_delta.usage.output_tokens"),
            ("field-added", "info", "message_stop.usage.output_tokens"),
            ("canonical-changed", "critical", None),  # the decoder reads usage from message_delta
        ),
    ),
    "drop-terminator": Expect(
        "critical",
        (
            ("event-type-removed", "warning", "message_stop"),
            ("canonical-changed", "critical", None),  # the stream now reads as truncated
        ),
        frozenset({"ordering-changed", "field-removed"}),  # message_stop's own fields go with it
    ),
}


def test_every_mutation_has_an_expectation() -> None:
    assert set(EXPECTED) == set(MUTATIONS)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-case Anthropic corpus, both recordable: plain text, and text then a tool call
    (whose stored request the bundled corpus keeps but does not mark recordable)."""
    root = tmp_path_factory.mktemp("baseline")
    for case_id in (TEXT, TOOL):
        case = load_case(CASSETTES_ROOT / case_id)
        manifest = json.loads(case.manifest_path.read_text(encoding="utf-8"))
        manifest["request"]["recordable"] = True
        cassette = yaml.safe_load(case.cassette_path.read_text(encoding="utf-8"))
        uri = str(cassette["interactions"][0]["request"]["uri"])
        write_case(
            root / case_id,
            manifest,
            case_body(case),
            expected_events(case),
            base_url=uri[: -len(case.request.path)],
        )
    return root


def _record_and_drift(
    baseline: Path,
    candidate: Path,
    drift: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *record_args: str,
) -> tuple[int, dict[str, Any]]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    with LoopbackServer(cases_root=baseline, drift=drift) as server:
        recorded = main(
            [
                "record",
                "--live",
                "--cases",
                str(baseline),
                "--out",
                str(candidate),
                "--base-url",
                server.url,
                *record_args,
            ]
        )
    out = capsys.readouterr().out
    assert recorded == 0, out
    for path in candidate.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert FAKE_KEY.encode() not in data, path
            assert scan(data.decode("utf-8", "replace")) == [], path
    status = main(["drift", str(baseline), str(candidate), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return status, report


def _shown(findings: list[dict[str, Any]]) -> str:
    return "\n".join(f"{f['severity']} {f['kind']} {f['case']} {f['path']}: {f['message']}" for f in findings)


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_drift_finds_each_simulated_vendor_change_with_its_severity(
    mutation: str,
    baseline: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    expect = EXPECTED[mutation]
    status, report = _record_and_drift(baseline, tmp_path / "candidate", [mutation], monkeypatch, capsys)
    findings = report["findings"]
    shown = _shown(findings)
    for kind, severity, path in expect.required:
        assert any(
            f["kind"] == kind and f["severity"] == severity and (path is None or f["path"] == path)
            for f in findings
        ), f"no {severity} {kind} {path or ''} among:\n{shown}"
    kinds = {f["kind"] for f in findings}
    assert kinds <= {k for k, _, _ in expect.required} | expect.allowed, f"unexpected kinds:\n{shown}"
    assert report["verdict"] == expect.verdict, shown
    assert report["could_not_check"] == []
    assert report["apis"][API]["cases"] == 2
    assert status == (1 if expect.verdict == "critical" else 0)


def test_resplit_arguments_are_reported_on_the_tool_case_only(
    baseline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, report = _record_and_drift(
        baseline, tmp_path / "candidate", ["resplit-tool-args"], monkeypatch, capsys
    )
    assert {f["case"] for f in report["findings"] if f["kind"] == "deltas-resplit"} == {TOOL}


def test_an_unchanged_vendor_shows_no_drift(
    baseline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, report = _record_and_drift(baseline, tmp_path / "candidate", [], monkeypatch, capsys)
    assert (status, report["verdict"], report["findings"], report["could_not_check"]) == (0, "none", [], [])
    assert report["apis"][API] == {"cases": 2, "findings": 0, "could_not_check": 0, "not_recordable": 0}


def test_a_case_missing_from_the_recording_is_listed_as_not_checked(
    baseline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, report = _record_and_drift(baseline, tmp_path / "candidate", [], monkeypatch, capsys, "-k", "tool")
    assert [(c["api"], c["case"]) for c in report["could_not_check"]] == [(API, TEXT)]
    assert report["findings"] == []
    assert report["apis"][API]["could_not_check"] == 1


def test_the_markdown_report_names_the_renamed_field(
    baseline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = tmp_path / "candidate"
    _record_and_drift(baseline, candidate, ["rename-field"], monkeypatch, capsys)
    status = main(["drift", str(baseline), str(candidate), "--format", "md"])
    text = capsys.readouterr().out
    assert status == 1
    assert "message_delta.usage.output_tokens" in text
