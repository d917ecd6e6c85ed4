"""``conformance record --live`` against a loopback server started here (``--base-url``):
fake keys of every vendor's real shape in the environment, the headers, the query and the
body, and not one of them on disk; skipped cases; refused recordings; atomic writes."""

from __future__ import annotations

import json
import os
import random
import re
import string
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.cassettes import CASSETTES_ROOT, case_body, expected_events, load_case, write_case
from conformance.check import check_path
from conformance.cli import main
from conformance.errors import UsageError
from conformance.live import store
from conformance.live.scrub import REDACTED
from conformance.live.send import require_httpx
from conformance.live.vendors import VENDORS
from conformance.secrets import scan
from conformance.server import LoopbackServer, error_plan, plan_for_bytes, plan_for_case

_ALNUM = string.ascii_letters + string.digits


def _fake(seed: int, size: int, alphabet: str = _ALNUM, prefix: str = "") -> str:
    """A fake key of a real shape: ``prefix`` + ``size`` random characters, letters and digits."""
    rng = random.Random(seed)
    body = "".join(rng.choice(alphabet) for _ in range(size - 2))
    return f"{prefix}a7{body}"


#: One fake credential per variable, each shaped like the vendor's real ones.
KEYS: dict[str, str] = {
    "OPENAI_API_KEY": _fake(1, 48, _ALNUM + "-_", "sk-proj-"),
    "OPENAI_ORG_ID": _fake(2, 24, prefix="org-"),
    "OPENAI_PROJECT_ID": _fake(3, 24, prefix="proj_"),
    "ANTHROPIC_API_KEY": _fake(4, 93, _ALNUM + "-_", "sk-ant-api03-") + "AA",
    "GEMINI_API_KEY": _fake(5, 35, _ALNUM + "-_", "AIza"),
    "GOOGLE_API_KEY": _fake(6, 35, _ALNUM + "-_", "AIza"),
    "AWS_ACCESS_KEY_ID": _fake(7, 16, string.ascii_uppercase + string.digits, "AKIA").upper(),
    "AWS_SECRET_ACCESS_KEY": _fake(8, 40, _ALNUM + "/+"),
    "AWS_SESSION_TOKEN": _fake(9, 180, _ALNUM + "/+", "IQoJb3JpZ2luX2Vj"),
    "CO_API_KEY": _fake(10, 40),
    "GROQ_API_KEY": _fake(11, 52, prefix="gsk_"),
    "DEEPSEEK_API_KEY": _fake(12, 32, string.hexdigits[:16], "sk-"),
    "MISTRAL_API_KEY": _fake(13, 32),
    "XAI_API_KEY": _fake(14, 80, prefix="xai-"),
    "OPENROUTER_API_KEY": _fake(15, 64, string.hexdigits[:16], "sk-or-v1-"),
    "ZAI_API_KEY": _fake(16, 32, string.hexdigits[:16]) + "." + _fake(17, 16),
    "HF_TOKEN": _fake(18, 34, prefix="hf_"),
    "AZURE_OPENAI_API_KEY": _fake(19, 32, string.hexdigits[:16]),
    "VLLM_API_KEY": _fake(20, 32, prefix="token-"),
}
#: Secrets that travel in the stored request rather than the environment.
QUERY_KEY = _fake(21, 35, _ALNUM + "-_", "AIza")
BODY_KEYS = (_fake(22, 93, _ALNUM + "-_", "sk-ant-api03-") + "AA", _fake(23, 48, prefix="sk-proj-"))
#: Secrets the server sends in response headers.
COOKIE = _fake(24, 43, _ALNUM + "-_")
EVERY_SECRET = (*KEYS.values(), QUERY_KEY, *BODY_KEYS, COOKIE)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment without any vendor variable of the machine running the tests."""
    names = {"AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", *KEYS}
    for vendor in VENDORS:
        names |= set(vendor.keys) | {variable for variable, _ in vendor.optional_headers}
        if vendor.base_env:
            names.add(vendor.base_env)
    for name in names:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _with_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)


def _copy(
    root: Path,
    source: str,
    new_id: str | None = None,
    *,
    host: str | None = None,
    flavour: str | None = None,
    query: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> str:
    """Copy a bundled case into the corpus ``root`` (as ``new_id``, its request sent to
    ``host``), made recordable."""
    case = load_case(CASSETTES_ROOT / source)
    manifest = json.loads(case.manifest_path.read_text(encoding="utf-8"))
    manifest["id"] = new_id = new_id or source
    manifest["flavour"] = flavour or manifest["flavour"]
    request = manifest["request"]
    request["query"] = query if query is not None else request["query"]
    request["body"] = body if body is not None else request["body"]
    request["recordable"] = request["body"] is not None
    cassette = yaml.safe_load(case.cassette_path.read_text(encoding="utf-8"))
    uri = str(cassette["interactions"][0]["request"]["uri"])
    base = host or uri[: uri.index("/", uri.index("://") + 3)]
    write_case(root / new_id, manifest, case_body(case), expected_events(case), base_url=base)
    return new_id


def _all_vendors_corpus(root: Path) -> dict[str, str]:
    """A corpus with one recordable case per vendor: case id -> vendor."""
    chat = "openai/chat-completions/synthetic-text"
    cases = {
        _copy(root, chat): "OpenAI",
        _copy(root, "openai/responses/synthetic-text"): "OpenAI",
        _copy(root, "anthropic/messages/synthetic-text"): "Anthropic",
        _copy(
            root,
            "gemini/generate-content/synthetic-text",
            query={"alt": "sse", "key": QUERY_KEY},  # a key in the stored query
        ): "Gemini",
        _copy(root, "bedrock/converse-stream/synthetic-text"): "Bedrock",
        _copy(root, "cohere/chat/synthetic-text"): "Cohere",
        _copy(root, "ollama/chat/synthetic-text"): "Ollama",
        _copy(
            root, chat, "openai/chat-completions/live-groq", host="https://api.groq.com", flavour="groq"
        ): "Groq",
        _copy(
            root,
            chat,
            "openai/chat-completions/live-deepseek",
            host="https://api.deepseek.com",
            flavour="deepseek",
        ): "DeepSeek",
        _copy(
            root,
            chat,
            "openai/chat-completions/live-mistral",
            host="https://api.mistral.ai",
            flavour="mistral",
        ): "Mistral",
        _copy(root, chat, "openai/chat-completions/live-xai", host="https://api.x.ai", flavour="xai"): "xAI",
        _copy(
            root,
            chat,
            "openai/chat-completions/live-openrouter",
            host="https://openrouter.ai",
            flavour="openrouter",
        ): "OpenRouter",
        _copy(root, chat, "openai/chat-completions/live-zai", host="https://api.z.ai"): "Z.ai",
        _copy(
            root, chat, "openai/chat-completions/live-hf", host="https://router.huggingface.co"
        ): "Hugging Face",
        _copy(
            root,
            chat,
            "openai/chat-completions/live-azure",
            host="https://res.openai.azure.com",
            flavour="azure",
        ): "Azure OpenAI",
        _copy(
            root, chat, "openai/chat-completions/live-vllm", host="http://localhost:8000", flavour="vllm"
        ): "vLLM",
    }
    anthropic = load_case(CASSETTES_ROOT / "anthropic/messages/synthetic-text")
    assert isinstance(anthropic.request.body, dict)
    secret_body = {
        **anthropic.request.body,
        "metadata": {"user_api_key": BODY_KEYS[0]},  # a credential-like key
        "messages": [
            {"role": "user", "content": f"my key is {BODY_KEYS[1]}, say hello"}
        ],  # a key-shaped value
    }
    cases[
        _copy(
            root,
            "anthropic/messages/synthetic-text",
            "anthropic/messages/live-body-secrets",
            body=secret_body,
        )
    ] = "Anthropic"
    return cases


def _record(*args: str) -> int:
    return main(["record", "--live", *args])


def _every_byte(root: Path) -> Iterator[tuple[Path, bytes]]:
    """Every file under ``root``, and for cassettes also the bodies their YAML holds as
    base64 (``!!binary``), decoded."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        yield path, data
        if path.name == "cassette.yaml":
            for interaction in yaml.safe_load(data)["interactions"]:
                for part in ("request", "response"):
                    body = interaction[part]["body"]
                    body = body.get("string") if isinstance(body, dict) else body
                    if isinstance(body, bytes | str):
                        yield path, body if isinstance(body, bytes) else body.encode()


def _assert_no_secret(root: Path, texts: Sequence[str] = ()) -> None:
    for path, data in _every_byte(root):
        for secret in EVERY_SECRET:
            assert secret.encode() not in data, f"{path} holds a fake secret"
        assert scan(data.decode("utf-8", "replace")) == [], path
    for text in texts:
        for secret in EVERY_SECRET:
            assert secret not in text


def _sent(server: LoopbackServer) -> dict[str, dict[str, str]]:
    """The request headers the server received, by the case asked for."""
    return {dict(r.headers)["x-conformance-case"]: dict(r.headers) for r in server.connections()}


# -- the secret-safety test --------------------------------------------------------------


def test_no_fake_key_of_any_vendor_reaches_disk(
    tmp_path: Path, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus, out = tmp_path / "baseline", tmp_path / "out"
    cases = _all_vendors_corpus(corpus)
    _with_keys(env)
    with LoopbackServer(cases_root=corpus) as server:
        status = _record("--out", str(out), "--cases", str(corpus), "--base-url", server.url)
        sent = _sent(server)
    printed = capsys.readouterr()
    assert status == 0, printed.out
    assert f"{len(cases)} recorded, 0 skipped, 0 failed" in printed.out

    # every key really went out, each in its vendor's own header ...
    bearer = {
        "Groq": "GROQ_API_KEY",
        "DeepSeek": "DEEPSEEK_API_KEY",
        "Mistral": "MISTRAL_API_KEY",
        "xAI": "XAI_API_KEY",
        "OpenRouter": "OPENROUTER_API_KEY",
        "Z.ai": "ZAI_API_KEY",
        "Hugging Face": "HF_TOKEN",
        "vLLM": "VLLM_API_KEY",
        "Cohere": "CO_API_KEY",
        "OpenAI": "OPENAI_API_KEY",
    }
    for case_id, vendor in cases.items():
        headers = sent[case_id]
        if vendor in bearer:
            assert headers["authorization"] == f"Bearer {KEYS[bearer[vendor]]}", case_id
    openai = sent["openai/chat-completions/synthetic-text"]
    assert (openai["openai-organization"], openai["openai-project"]) == (
        KEYS["OPENAI_ORG_ID"],
        KEYS["OPENAI_PROJECT_ID"],
    )
    assert sent["anthropic/messages/synthetic-text"]["x-api-key"] == KEYS["ANTHROPIC_API_KEY"]
    assert sent["gemini/generate-content/synthetic-text"]["x-goog-api-key"] == KEYS["GEMINI_API_KEY"]
    assert sent["openai/chat-completions/live-azure"]["api-key"] == KEYS["AZURE_OPENAI_API_KEY"]
    bedrock = sent["bedrock/converse-stream/synthetic-text"]
    assert bedrock["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={KEYS['AWS_ACCESS_KEY_ID']}/")
    assert bedrock["x-amz-security-token"] == KEYS["AWS_SESSION_TOKEN"]
    assert "authorization" not in sent["ollama/chat/synthetic-text"]

    # ... and none of them, nor the query and body secrets, is in any written byte or output
    _assert_no_secret(out, [printed.out, printed.err])
    report = check_path(out)
    assert (report.cases, report.problems) == (len(cases), ())

    gemini = load_case(out / "gemini/generate-content/synthetic-text")
    assert dict(gemini.request.query) == {"alt": "sse"}
    redacted = load_case(out / "anthropic/messages/live-body-secrets")
    assert redacted.request.body == {
        **secret_body_shape(),
        "metadata": {"user_api_key": REDACTED},
        "messages": [{"role": "user", "content": REDACTED}],
    }
    assert redacted.request.recordable is False  # the stored request is not the one sent
    assert "request body values redacted" in printed.out


def secret_body_shape() -> dict[str, Any]:
    body = load_case(CASSETTES_ROOT / "anthropic/messages/synthetic-text").request.body
    assert isinstance(body, dict)
    return dict(body)


def test_a_recording_is_a_case_of_the_corpus_format_with_its_read_boundaries(
    tmp_path: Path, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    env.setenv("ANTHROPIC_API_KEY", KEYS["ANTHROPIC_API_KEY"])
    with LoopbackServer() as server:  # the bundled corpus, one write per frame
        status = _record("--out", str(out), "-k", "anthropic and synthetic-text", "--base-url", server.url)
    assert status == 0
    baseline = load_case(CASSETTES_ROOT / "anthropic/messages/synthetic-text")
    recorded = load_case(out / "anthropic/messages/synthetic-text")
    assert (out / "anthropic/messages/synthetic-text/stream.sse").read_bytes() == case_body(baseline)
    assert recorded.source.kind == "live"
    assert recorded.source.sha256 == baseline.stream.sha256
    assert recorded.expected.reviewed is False
    assert recorded.chunks is not None
    assert len(recorded.chunks) == 9
    assert recorded.request.path == "/v1/messages"
    assert recorded.request.recordable
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("[1/1] recorded  anthropic/messages/synthetic-text  1210 B in 9 reads")
    assert lines[-1].startswith("conformance record: 1 recorded, 0 skipped, 0 failed")


def test_response_headers_with_cookies_and_organisation_ids_are_not_kept(
    tmp_path: Path, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    env.setenv("OPENAI_API_KEY", KEYS["OPENAI_API_KEY"])
    plan = plan_for_case("openai/chat-completions/synthetic-text", chunking="frames")
    leaky = plan.replace(
        headers=(
            *plan.headers,
            ("set-cookie", f"__cf_bm={COOKIE}; path=/; HttpOnly"),
            ("openai-organization", KEYS["OPENAI_ORG_ID"]),
            ("openai-project", KEYS["OPENAI_PROJECT_ID"]),
            ("x-request-id", "req_0f3a9c"),
        )
    )
    with LoopbackServer() as server:
        token = server.expect(leaky)
        base = server.base_url(token)
        status = _record(
            "--out", str(out), "-k", "openai/chat-completions/synthetic-text", "--base-url", base
        )
    printed = capsys.readouterr()
    assert status == 0
    assert "request id req_0f3a9c" in printed.out  # request ids may stay
    _assert_no_secret(out, [printed.out, printed.err])
    assert load_case(out / "openai/chat-completions/synthetic-text").request.path == "/v1/chat/completions"


# -- skipped, failed, refused --------------------------------------------------------------


def test_without_keys_every_case_is_skipped_with_the_variable_to_set(
    tmp_path: Path, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    status = _record("--out", str(out))  # the bundled corpus; no request leaves: no key
    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    manifests = [json.loads(p.read_text(encoding="utf-8")) for p in CASSETTES_ROOT.rglob("case.json")]
    recordable = sum(
        1 for m in manifests if m["request"]["recordable"] and isinstance(m["request"]["body"], dict)
    )
    parsed = [re.fullmatch(rf"\[\s*\d+/{recordable}\] (\w+)\s+(\S+)  (.*)", line) for line in lines[:-1]]
    skipped = {m.group(2): m.group(3) for m in parsed if m is not None and m.group(1) == "skipped"}
    assert len(skipped) == recordable == len(lines) - 1
    assert skipped["openai/chat-completions/synthetic-text"] == "no key: set OPENAI_API_KEY"
    assert skipped["anthropic/messages/synthetic-text"] == "no key: set ANTHROPIC_API_KEY"
    assert skipped["gemini/generate-content/synthetic-text"] == "no key: set GEMINI_API_KEY or GOOGLE_API_KEY"
    assert (
        skipped["bedrock/converse-stream/synthetic-text"]
        == "no key: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )
    assert skipped["cohere/chat/synthetic-text"] == "no key: set CO_API_KEY or COHERE_API_KEY"
    assert skipped["ollama/chat/synthetic-text"].startswith("set OLLAMA_HOST")
    assert lines[-1].startswith(
        f"conformance record: 0 recorded, {recordable} skipped, 0 failed ({recordable} recordable cases "
        f"selected, {len(manifests) - recordable} "
    )
    assert not out.exists()


def test_bedrock_without_botocore_is_skipped_with_a_message(
    tmp_path: Path, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_keys(env)
    env.setattr("conformance.live.record.sigv4_available", lambda: False)
    assert (
        _record("--out", str(tmp_path / "out"), "--api", "bedrock/converse-stream", "-k", "synthetic-text")
        == 0
    )
    assert (
        "skipped   bedrock/converse-stream/synthetic-text  botocore is not installed"
        in capsys.readouterr().out
    )


def test_a_stream_holding_a_key_is_refused_and_nothing_is_written(
    tmp_path: Path, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    env.setenv("OPENAI_API_KEY", KEYS["OPENAI_API_KEY"])
    leaked = BODY_KEYS[1]
    chunk = {
        "id": "c",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": leaked}}],
    }
    body = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
    with LoopbackServer() as server:
        token = server.expect(plan_for_bytes("openai/chat-completions", "sse", body))
        status = _record(
            "--out", str(out), "-k", "chat-completions/synthetic-text", "--base-url", server.base_url(token)
        )
    printed = capsys.readouterr()
    assert status == 1
    assert (
        "failed    openai/chat-completions/synthetic-text  refused, nothing written: the stream line 1"
        in printed.out
    )
    assert "possible openai key (sk-proj-<redacted" in printed.out
    assert leaked not in printed.out + printed.err
    assert not any(p.is_file() for p in out.rglob("*"))


def test_a_vendor_error_is_a_failure_with_its_status(
    tmp_path: Path, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("ANTHROPIC_API_KEY", KEYS["ANTHROPIC_API_KEY"])
    with LoopbackServer() as server:
        token = server.expect(error_plan("anthropic/messages", 401, message="invalid x-api-key"))
        status = _record(
            "--out",
            str(tmp_path / "out"),
            "-k",
            "anthropic/messages/synthetic-text",
            "--base-url",
            server.base_url(token),
        )
    lines = capsys.readouterr().out.splitlines()
    assert status == 1
    assert lines[0].startswith("[1/1] failed    anthropic/messages/synthetic-text  HTTP 401: ")
    assert "invalid x-api-key" in lines[0]
    assert lines[-1].startswith("conformance record: 0 recorded, 0 skipped, 1 failed")


# -- atomic writes ---------------------------------------------------------------------------


def test_a_failure_half_way_leaves_the_older_recording_and_no_debris(
    tmp_path: Path, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    old = out / "anthropic/messages/synthetic-text"
    old.mkdir(parents=True)
    (old / "marker").write_text("an older recording")
    env.setenv("ANTHROPIC_API_KEY", KEYS["ANTHROPIC_API_KEY"])
    real = write_case

    def write_then_fail(folder: Path, *args: Any, **kwargs: Any) -> list[Path]:
        written = real(folder, *args, **kwargs)
        assert len(written) == 4  # the whole case was in the staging folder ...
        raise OSError(28, "No space left on device")  # ... when the disk filled up

    with LoopbackServer() as server:
        env.setattr(store, "write_case", write_then_fail)
        failed = _record(
            "--out", str(out), "-k", "anthropic/messages/synthetic-text", "--base-url", server.url
        )
        assert "cannot write the case: No space left on device" in capsys.readouterr().out
        assert sorted(p.name for p in old.iterdir()) == ["marker"]
        assert sorted(p.name for p in out.iterdir()) == ["anthropic"]  # no staging folder left
        env.setattr(store, "write_case", real)
        replaced = _record(
            "--out", str(out), "-k", "anthropic/messages/synthetic-text", "--base-url", server.url
        )
    assert (failed, replaced) == (1, 0)
    assert sorted(p.name for p in old.iterdir()) == [
        "case.json",
        "cassette.yaml",
        "expected.jsonl",
        "stream.sse",
    ]
    assert sorted(p.name for p in out.iterdir()) == ["anthropic"]


def test_a_failing_final_move_puts_the_older_recording_back(
    tmp_path: Path, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    old = out / "anthropic/messages/synthetic-text"
    old.mkdir(parents=True)
    (old / "marker").write_text("an older recording")
    env.setenv("ANTHROPIC_API_KEY", KEYS["ANTHROPIC_API_KEY"])
    real_replace = os.replace
    moves: list[tuple[str, str]] = []

    def replace(src: Any, dst: Any) -> None:
        moves.append((Path(src).name, Path(dst).name))
        if Path(dst) == old and Path(src).name != "replaced":  # the new recording's move fails
            raise OSError(18, "Invalid cross-device link")
        real_replace(src, dst)

    env.setattr(os, "replace", replace)
    with LoopbackServer() as server:
        status = _record(
            "--out", str(out), "-k", "anthropic/messages/synthetic-text", "--base-url", server.url
        )
    assert status == 1
    # write_case's own file moves come first; then the older folder aside, the failed move, and back
    assert moves[-3:] == [
        ("synthetic-text", "replaced"),
        ("synthetic-text", "synthetic-text"),
        ("replaced", "synthetic-text"),
    ]
    assert sorted(p.name for p in old.iterdir()) == ["marker"]
    assert sorted(p.name for p in out.iterdir()) == ["anthropic"]  # no staging folder left
    assert "Invalid cross-device link" in capsys.readouterr().out


# -- usage errors --------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["", "anthropic/messages"])
def test_out_inside_the_baseline_is_refused(
    tmp_path: Path, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    corpus = tmp_path / "baseline"
    _copy(corpus, "anthropic/messages/synthetic-text")
    with pytest.raises(SystemExit) as info:
        _record("--out", str(corpus / where), "--cases", str(corpus))
    assert info.value.code == 2
    assert "is inside the baseline corpus" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _record("--out", str(CASSETTES_ROOT / "new"))


def test_record_without_live_explains_that_recording_is_explicit(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["record", "--out", "somewhere"])
    assert info.value.code == 2
    assert "so it is explicit: `conformance record --live --out DIR`" in capsys.readouterr().err


def test_a_missing_httpx_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "httpx", None)
    with pytest.raises(UsageError, match=r"pip install 'llm-stream-conformance\[live\]'"):
        require_httpx()
