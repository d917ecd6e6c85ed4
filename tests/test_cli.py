"""``conformance decode``: JSON lines out, one-line errors with the byte offset, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from conformance.cli import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out.splitlines(), err


def test_decode_prints_one_json_line_per_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "s.sse"
    f.write_bytes(b': keep-alive\r\nevent: delta\r\ndata: {"a":"\xc3\xa9"}\r\n\r\ndata: [DONE]\r\n\r\n')
    status, lines, err = _run(capsys, "decode", str(f), "--framing", "sse", "--chunking", "bytewise")
    assert (status, err) == (0, "")
    assert [json.loads(line) for line in lines] == [
        {"framing": "sse", "event": "delta", "data": '{"a":"é"}', "offset": 14},
        {"framing": "sse", "data": "[DONE]", "offset": 48},
    ]


def test_every_split_agrees_and_prints_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "s.ndjson"
    f.write_bytes(b'{"a":1}\r\n\n{"b":"\xe2\x82\xac"}\n')
    status, lines, _ = _run(capsys, "decode", str(f), "--framing", "ndjson", "--chunking", "every-split")
    assert status == 0
    assert [json.loads(line)["text"] for line in lines] == ['{"a":1}', '{"b":"€"}']


def _frame(payload: bytes) -> bytes:
    headers = b"\x0d:message-type\x07\x00\x05event"
    total = 12 + len(headers) + len(payload) + 4
    prelude = total.to_bytes(4, "big") + len(headers).to_bytes(4, "big")
    prelude += zlib.crc32(prelude).to_bytes(4, "big")
    body = prelude + headers + payload
    return body + zlib.crc32(body).to_bytes(4, "big")


def test_corrupt_frame_gives_one_line_with_file_and_offset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _frame(b"{}")
    bad = bytearray(_frame(b'{"x":1}'))
    bad[-1] ^= 0xFF  # break the second frame's message CRC
    f = tmp_path / "s.bin"
    f.write_bytes(good + bytes(bad))
    status, lines, err = _run(capsys, "decode", str(f), "--framing", "eventstream", "--chunking", "random:3")
    assert status == 1
    assert lines == []
    assert err.count("\n") == 1
    assert str(f) in err
    assert f"byte {len(good)}" in err
    assert "random:3" in err


def test_truncated_json_array_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "s.json"
    f.write_bytes(b'[{"a": 1}\n,\r\n{"b": ')
    status, _, err = _run(capsys, "decode", str(f), "--framing", "json-array")
    assert status == 1
    assert str(f) in err
    assert "byte " in err


def test_missing_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _run(capsys, "decode", str(tmp_path / "nope"), "--framing", "sse")
    assert status == 1
    assert "nope" in err


def test_bad_chunking_is_a_usage_error_listing_valid_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "s.sse"
    f.write_bytes(b"data: x\n\n")
    with pytest.raises(SystemExit) as info:
        main(["decode", str(f), "--framing", "sse", "--chunking", "sideways"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "sideways" in err
    assert "bytewise" in err


def test_console_script_entry_point_runs(tmp_path: Path) -> None:
    f = tmp_path / "s.sse"
    f.write_bytes(b"data: hi\n\n")
    done = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "decode", str(f), "--framing", "sse"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"framing": "sse", "data": "hi", "offset": 0}


def test_readme_quick_start_file_decodes(capsys: pytest.CaptureFixture[str]) -> None:
    data = Path(__file__).parent / "data" / "openai-chat-parallel-tool-calls.sse"
    status, lines, _ = _run(capsys, "decode", str(data), "--framing", "sse", "--chunking", "bytewise")
    assert status == 0
    messages = [json.loads(line) for line in lines]
    assert messages[-1]["data"] == "[DONE]"
    chunks = [json.loads(m["data"]) for m in messages[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    calls = [tc for c in chunks for ch in c["choices"] for tc in ch["delta"].get("tool_calls") or []]
    assert [tc["id"] for tc in calls if "id" in tc] == [
        "call_JMW1whyEaYG438VE1OIflxA2",
        "call_DNYTawLBoN8fj3KN6qU9N1Ou",
    ]


def test_decode_api_prints_canonical_events(capsys: pytest.CaptureFixture[str]) -> None:
    data = Path(__file__).parent / "data" / "openai-chat-parallel-tool-calls.sse"
    status, lines, err = _run(
        capsys, "decode", str(data), "--api", "openai/chat-completions", "--chunking", "utf8-boundary"
    )
    assert (status, err) == (0, "")
    events = [json.loads(line) for line in lines]
    assert events[0]["type"] == "response.start"
    assert [e["name"] for e in events if e["type"] == "block.start"] == ["GetWeatherArgs", "get_stock_price"]
    assert events[-1] == {"type": "finish", "reason": "tool_calls", "raw_reason": "tool_calls"}


def test_decode_api_exits_1_on_a_truncated_stream(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    whole = (Path(__file__).parent / "data" / "openai-chat-parallel-tool-calls.sse").read_bytes()
    f = tmp_path / "cut.sse"
    f.write_bytes(whole[: len(whole) // 2])
    status, lines, err = _run(capsys, "decode", str(f), "--api", "openai/chat-completions")
    assert status == 1
    assert json.loads(lines[-1])["category"] == "protocol"
    assert "malformed stream" in err
    assert str(f) in err


def test_decode_api_refuses_an_unknown_flavour(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "s.sse"
    f.write_bytes(b"data: [DONE]\n\n")
    with pytest.raises(SystemExit) as info:
        main(["decode", str(f), "--api", "openai/chat-completions", "--flavour", "nope"])
    assert info.value.code == 2
    assert "vllm" in capsys.readouterr().err
