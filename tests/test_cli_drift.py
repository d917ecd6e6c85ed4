"""``conformance drift`` end to end on the real corpus and on edited copies of its cases."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance.cassettes import (
    CASSETTES_ROOT,
    case_body,
    cassette_body,
    expected_events,
    load_case,
    write_case,
)
from conformance.cli import main

ANTHROPIC = "anthropic/messages"
CASES = ("minimal-text-padded", "text-then-tool-use", "synthetic-text")  # recorded, recorded, synthetic


def drift(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(["drift", *args])
    return status, capsys.readouterr().out


def drift_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    status, out = drift(capsys, *args, "--format", "json")
    return status, json.loads(out)


def copy_case(case_id: str, root: Path, edit: Callable[[bytes], bytes] = lambda body: body) -> Path:
    """The corpus case ``case_id`` written below ``root`` with its stream edited: stream
    file, cassette and manifest rewritten consistently by ``write_case`` (the expected
    sequence is the baseline's, as a re-recording would not have a reviewed one)."""
    case = load_case(CASSETTES_ROOT / case_id)
    body = edit(case_body(case))
    manifest = json.loads(case.manifest_path.read_text(encoding="utf-8"))
    if manifest["source"].get("sha256") == manifest["stream"]["sha256"]:  # recorded: the body is the source
        manifest["source"]["sha256"] = hashlib.sha256(body).hexdigest()
    found = re.search(r"uri: (https?://[^/\s]+)", case.cassette_path.read_text(encoding="utf-8"))
    assert found is not None
    folder = root / case_id
    write_case(folder, manifest, body, expected_events(case), base_url=found.group(1))
    copied = load_case(folder)
    assert cassette_body(copied) == case_body(copied) == body  # stream and cassette agree
    return folder


def test_the_corpus_against_itself_has_no_drift(capsys: pytest.CaptureFixture[str]) -> None:
    root = str(CASSETTES_ROOT)
    status, report = drift_json(capsys, root, root)
    assert status == 0
    assert report["verdict"] == "none"
    assert report["findings"] == []
    assert report["could_not_check"] == []
    cases = len(list(CASSETTES_ROOT.rglob("case.json")))
    assert sum(api["cases"] for api in report["apis"].values()) == cases


def test_the_markdown_report_of_no_drift(capsys: pytest.CaptureFixture[str]) -> None:
    root = str(CASSETTES_ROOT)
    status, out = drift(capsys, root, root, "--api", "cohere/chat")
    assert status == 0
    assert out.startswith("## Vendor stream drift: none\n")
    assert "| `cohere/chat` |" in out
    assert "No drift found in the" in out


def _rename(body: bytes) -> bytes:
    return body.replace(b'"output_tokens"', b'"output_token_count"')


def test_a_renamed_payload_field_is_critical_drift_naming_the_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in CASES:
        copy_case(f"{ANTHROPIC}/{name}", tmp_path, _rename)
    args = (str(CASSETTES_ROOT), str(tmp_path), "--api", ANTHROPIC)
    status, report = drift_json(capsys, *args)
    assert status == 1
    assert report["verdict"] == "critical"
    removed = {f["path"] for f in report["findings"] if f["kind"] == "field-removed"}
    assert "message_delta.usage.output_tokens" in removed
    assert all(f["severity"] == "critical" for f in report["findings"] if f["kind"] == "field-removed")
    added = {f["path"] for f in report["findings"] if f["kind"] == "field-added"}
    assert "message_delta.usage.output_token_count" in added
    assert report["apis"][ANTHROPIC]["cases"] == len(CASES)
    status, markdown = drift(capsys, *args)
    assert status == 1
    assert markdown.startswith("## Vendor stream drift: critical\n")
    assert "`message_delta.usage.output_tokens`" in markdown


def _new_event_type(body: bytes) -> bytes:
    return b'event: message_annotation\ndata: {"type":"message_annotation","note":"x"}\n\n' + body


def test_fail_on_warning(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    copy_case(f"{ANTHROPIC}/synthetic-text", tmp_path, _new_event_type)
    args = (str(CASSETTES_ROOT), str(tmp_path), "--api", ANTHROPIC)
    status, report = drift_json(capsys, *args)
    assert status == 0  # a warning is below the default threshold
    assert report["verdict"] == "warning"
    assert [(f["kind"], f["severity"], f["path"]) for f in report["findings"]] == [
        ("event-type-added", "warning", "message_annotation")
    ]
    status, _ = drift_json(capsys, *args, "--fail-on", "warning")
    assert status == 1


def test_a_missing_candidate_case_could_not_be_checked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    copy_case(f"{ANTHROPIC}/synthetic-text", tmp_path)
    status, report = drift_json(capsys, str(CASSETTES_ROOT), str(tmp_path), "--api", ANTHROPIC)
    assert status == 0
    assert report["verdict"] == "none"
    missing = {u["case"] for u in report["could_not_check"] if u["reason"] == "missing in the candidate"}
    manifests = [json.loads(p.read_text("utf-8")) for p in (CASSETTES_ROOT / ANTHROPIC).glob("*/case.json")]
    recordable = {m["id"] for m in manifests if m["request"]["recordable"]}
    # a missing case a live recording could have is "could not check"; one it cannot is only counted
    assert missing == recordable - {f"{ANTHROPIC}/synthetic-text"}
    assert len(report["could_not_check"]) == len(missing)
    assert report["apis"][ANTHROPIC] == {
        "cases": 1,
        "findings": 0,
        "could_not_check": len(missing),
        "not_recordable": len(manifests) - len(recordable),
    }
    assert len(manifests) - len(recordable) > 40  # most of the corpus stores no request to send


def test_a_bad_path_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["drift", str(CASSETTES_ROOT), str(tmp_path / "nowhere")])
    assert exited.value.code == 2
    assert f"CANDIDATE {tmp_path / 'nowhere'}: no such directory" in capsys.readouterr().err


def test_a_case_folder_given_as_the_root_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["drift", str(CASSETTES_ROOT / ANTHROPIC), str(CASSETTES_ROOT)])
    assert exited.value.code == 2
    assert "give the corpus root" in capsys.readouterr().err


def test_an_empty_baseline_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["drift", str(tmp_path), str(CASSETTES_ROOT)])
    assert exited.value.code == 2
    assert "no cases" in capsys.readouterr().err
