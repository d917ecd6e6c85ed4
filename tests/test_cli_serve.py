"""``conformance serve`` as a person runs it: a subprocess, its printed URL, curl and httpx."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from conformance.cassettes import case_body
from conformance.cli import main
from conformance.cli_serve import describe_exchange, example_curl
from conformance.server.cases import find_case
from conformance.server.records import ConnectionRecord

TIMEOUT = 30.0  # generous: starting Python and importing the package on a loaded machine


@dataclass
class Served:
    process: subprocess.Popen[str]
    url: str
    banner: list[str]
    stderr: list[str] = field(default_factory=list)

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        self.process.send_signal(signum)
        code = self.process.wait(timeout=TIMEOUT)
        self._reader.join(timeout=TIMEOUT)
        return code, "".join(self.stderr)

    def wait_for_log(self, text: str) -> None:
        """Wait until the server's stderr shows ``text`` (it logs an exchange when done with it)."""
        deadline = time.monotonic() + TIMEOUT
        while text not in "".join(self.stderr):
            assert time.monotonic() < deadline, f"no {text!r} in the log: {''.join(self.stderr)!r}"
            time.sleep(0.01)

    def start_reading_stderr(self) -> None:
        assert self.process.stderr is not None
        stream = self.process.stderr
        self._reader = threading.Thread(target=lambda: self.stderr.extend(stream), daemon=True)
        self._reader.start()


def _serve(*args: str) -> Served:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    banner: list[str] = []
    timer = threading.Timer(TIMEOUT, process.kill)  # never hang the test run on a dead server
    timer.start()
    try:
        for line in process.stdout:
            banner.append(line.rstrip("\n"))
            if line.startswith("try:"):
                banner.append(process.stdout.readline().rstrip("\n"))
                break
    finally:
        timer.cancel()
    assert banner, f"no output; stderr: {process.stderr.read() if process.stderr else ''}"
    first = banner[0]
    assert first.startswith("serving on http://127.0.0.1:"), banner
    served = Served(process, first.split()[-1], banner)
    served.start_reading_stderr()
    return served


@pytest.fixture
def served() -> Iterator[Served]:
    running = _serve("--delay-ms", "20")
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait(timeout=TIMEOUT)


def test_serve_prints_its_url_and_routes_streams_a_case_and_logs_it(served: Served) -> None:
    assert any("/v1beta/models/{model}:streamGenerateContent" in line for line in served.banner)
    assert any("bedrock/converse-stream" in line for line in served.banner)
    case = find_case("openai/chat-completions/parallel-tool-calls")
    with (
        httpx.Client(timeout=TIMEOUT) as client,
        client.stream(
            "POST", served.url + "/v1/chat/completions", json={"model": case.id, "stream": True}
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["x-conformance-case"] == case.id
        reads = list(response.iter_raw())
    assert b"".join(reads) == case_body(case)
    assert len(reads) > 1  # one read per frame: the frames came 20 ms apart
    code, stderr = served.stop()
    assert code == 0
    assert f"POST /v1/chat/completions  -> 200  {case.id}" in stderr
    assert "complete in" in stderr
    assert "stopped" in stderr


def test_serve_logs_a_client_that_disconnects_and_stops_on_ctrl_c(served: Served) -> None:
    with (
        httpx.Client(timeout=TIMEOUT) as client,
        client.stream(
            "POST",
            served.url + "/v2/chat",
            json={},
            headers={"x-conformance-case": "cohere/chat/synthetic-long-text"},
        ) as response,
    ):
        next(response.iter_raw())
    served.wait_for_log("client disconnected after")
    code, stderr = served.stop(signal.SIGINT)
    assert code == 0
    assert "cohere/chat/synthetic-long-text" in stderr
    assert "client disconnected after" in stderr


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_printed_curl_example_streams_the_case(served: Served) -> None:
    command = shlex.split(served.banner[-1].strip())
    assert command[:2] == ["curl", "-N"]
    result = subprocess.run([*command, "-sS"], capture_output=True, timeout=TIMEOUT, check=False)
    assert result.returncode == 0, result.stderr
    case_id = command[command.index("-H", command.index("-H") + 1) + 1].split(": ", 1)[1]
    assert result.stdout == case_body(find_case(case_id))
    served.stop()


@pytest.mark.parametrize(
    "args",
    [["--case", "anthropic/messages/no-such-case"], ["--chunking", "every-split"], ["--port", "70000"]],
)
def test_bad_options_are_usage_errors(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", *args])
    assert exited.value.code == 2
    assert "conformance: error:" in capsys.readouterr().err


def test_a_port_in_use_is_reported_with_exit_status_1(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    port = served.url.rsplit(":", 1)[1]
    assert main(["serve", "--port", port]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_the_example_and_log_lines_name_what_happened() -> None:
    example = example_curl(
        "http://h:1", "gemini/generate-content/json-array-stream-function-call-id", "cassettes"
    )
    assert "/v1beta/models/gemini-2.5-flash:streamGenerateContent " in example + " "
    assert "alt=sse" not in example
    record = ConnectionRecord(
        id=3, connection=2, opened_at=0.0, method="POST", target="/v1/messages", status=200
    )
    record.case_id, record.planned_bytes, record.frame_ends = "anthropic/messages/x", 10, (4, 10)
    record.request_at, record.response_at, record.writes = 1.0, 1.0, [(1.0, 4)]
    record.client_closed_at = 1.25
    line = describe_exchange(record)
    assert line.startswith("#3 conn 2  POST /v1/messages  -> 200  anthropic/messages/x  4/10 B  1/2 frames")
    assert line.endswith("client disconnected after 0.250 s")
