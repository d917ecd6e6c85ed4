"""``conformance run`` and ``conformance replay``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.schemas import validate_json

BROKEN = '''
from conformance.events import Usage
from conformance.harness.contract import Adapter
from conformance.reference import reference_adapter


def summing():
    """Adds every usage snapshot to the previous one (DESIGN rule 7)."""
    base = reference_adapter()
    total = {}

    def to_canonical(event):
        if not isinstance(event, Usage):
            return event
        for key in ("input_tokens", "output_tokens"):
            total[key] = total.get(key, 0) + (getattr(event, key) or 0)
        return Usage(**total)

    return Adapter(name="summing", stream=base.stream, apis=base.apis, capabilities=base.capabilities,
                   to_canonical=to_canonical)
'''


def test_run_passes_the_reference_adapter_and_writes_valid_reports(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "conformance.cli", "run", "-k", "ollama", "--report-dir", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "conformance verdicts" in done.stdout
    assert "ollama/chat" in done.stdout
    report = json.loads((tmp_path / "report.json").read_text("utf-8"))
    assert validate_json("report.schema.json", report) == []
    assert {r["verdict"] for r in report["results"]} == {"PASS"}
    assert all(r["api"] == "ollama/chat" for r in report["results"])
    assert (tmp_path / "report.md").read_text("utf-8").strip()


def test_run_exits_1_when_an_adapter_fails(tmp_path: Path) -> None:
    (tmp_path / "broken_adapter.py").write_text(BROKEN, "utf-8")
    command = [
        sys.executable,
        "-m",
        "conformance.cli",
        "run",
        "--adapter",
        "broken_adapter:summing",
        "-k",
        "anthropic/messages/text-then-tool-use and whole",
        "--report-dir",
        str(tmp_path / "out"),
    ]
    env_path = {"PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
        env={**os.environ, **env_path},
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "reproduce: conformance replay anthropic/messages/text-then-tool-use --adapter" in done.stdout


def test_replay_prints_the_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["replay", "openai/chat-completions/parallel-tool-calls", "--chunking", "bytewise"])
    out = capsys.readouterr().out
    assert status == 0
    assert out.splitlines()[0] == "openai/chat-completions/parallel-tool-calls[reference-bytewise]: PASS"


def test_replay_a_cancellation(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        ["replay", "anthropic/messages/text-then-tool-use", "--chunking", "random:0", "--cancel", "signal@4"]
    )
    assert status == 0
    assert "[reference-cancel-signal]: PASS" in capsys.readouterr().out


def test_replay_shows_the_failure_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken_adapter.py").write_text(BROKEN, "utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    case = "anthropic/messages/text-then-tool-use"
    status = main(["replay", case, "--adapter", "broken_adapter:summing", "--events"])
    out = capsys.readouterr().out
    assert status == 1
    assert f"{case}[summing-whole]: FAIL" in out
    assert "first divergence at folded event index" in out
    assert f"reproduce: conformance replay {case} --adapter broken_adapter:summing --chunking whole" in out
    assert '"type":"usage"' in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["replay", "no/such/case"], "no case 'no/such/case'"),
        (["replay", "ollama/chat/docs-generate-ndjson", "--chunking", "bogus"], "unknown chunking"),
        (
            ["replay", "ollama/chat/docs-generate-ndjson", "--adapter", "nomodule"],
            "not 'package.module:factory'",
        ),
        (["replay", "ollama/chat/docs-generate-ndjson", "--cancel", "later@3"], "MODE@EVENTS"),
    ],
)
def test_replay_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


HTTPX_EXAMPLE = "examples.httpx_adapter:factory"
CANCEL_CASE = "anthropic/messages/synthetic-text"


def test_replay_an_http_cancel_over_a_real_socket(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("httpx")
    argv = ["replay", CANCEL_CASE, "--adapter", HTTPX_EXAMPLE, "--http", "http", "--cancel", "close@3"]
    status = main(argv)
    out = capsys.readouterr().out
    assert status == 0, out
    lines = out.splitlines()
    assert lines[0] == f"{CANCEL_CASE}[httpx_example-http-cancel-close]: PASS"
    socket = json.loads(lines[1].removeprefix("  socket: "))
    assert socket["latency_ms"] is not None
    assert socket["sent_usage"] == {"input_tokens": 12, "output_tokens": 1}  # the case's message_start


@pytest.mark.parametrize(
    ("argv", "first_line"),
    [
        (["replay", CANCEL_CASE, "--http", "vcr"], f"{CANCEL_CASE}[httpx_example-vcr]: PASS"),
        (["replay", CANCEL_CASE, "--http", "http", "--fault", "reset:300"], "-http-reset:300]: PASS"),
        # an HTTP-error test needs no --http: it exists only on the loopback server
        (["replay", "anthropic/messages/http-429"], "anthropic/messages/http-429[httpx_example-http]: PASS"),
    ],
)
def test_replay_the_other_http_variants(
    argv: list[str], first_line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("httpx")
    status = main([*argv, "--adapter", HTTPX_EXAMPLE])
    out = capsys.readouterr().out
    assert status == 0, out
    assert out.splitlines()[0].endswith(first_line), out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--http", "vcr", "--cancel", "close@3"], "no --cancel or --fault"),
        (["--http", "http", "--fault", "truncate:10"], "reset:N and stall:N"),
    ],
)
def test_replay_http_usage_errors_exit_2(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["replay", CANCEL_CASE, "--adapter", HTTPX_EXAMPLE, *extra])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
