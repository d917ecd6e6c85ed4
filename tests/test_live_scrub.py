"""The pure parts of live recording: the scrubber's allow-lists, the vendor/credential table,
the request builder, the draft manifest and -k selection."""

from __future__ import annotations

import json
import re

import pytest

from conformance.capture import Capture
from conformance.cassettes import CASSETTES_ROOT, load_case
from conformance.errors import UsageError
from conformance.live.draft import draft_recording
from conformance.live.request import USER_AGENT, build_request, is_recordable
from conformance.live.scrub import (
    REDACTED,
    safe_text,
    scrub_capture,
    scrub_json,
    scrub_url,
)
from conformance.live.select import keyword_matcher
from conformance.live.vendors import VENDORS, Credentials, Missing, Vendor, credentials, vendor_for
from conformance.secrets import scan

OPENAI_KEY = "sk-proj-Qx7Lm2Rv9Tb4Nc8Wd1Yf6Gh3Jk5Ps0Az"
ANTHROPIC_KEY = "sk-ant-api03-Vd8Kp2Lq7Xw4Rt9Bn3Mz6Hc1Fy5Gs0Ja-AA"
GOOGLE_KEY = "AIzaSyD4kR9mQ2xT7vL1pW8nB3cF6hJ0sG5aYzE"
COHERE_KEY = "q8W7e6R5t4Y3u2I1o0PaSdFgHjKlZxCvBnM12345"  # no recognisable shape
ORG_ID = "org-Zx81Kq4Lm9Rv2Tb7Nc3Wd6Yf"
PROJECT_ID = "proj_Hg5Jk8Ps1Az4Qx7Lm2Rv9Tb3"


def _capture(**changes: object) -> Capture:
    base: dict[str, object] = {
        "method": "POST",
        "url": "https://api.openai.com/v1/chat/completions",
        "request_headers": (("content-type", "application/json"),),
        "request_body": b'{"model": "gpt-4o-mini", "stream": true}',
        "status": 200,
        "response_headers": (("content-type", "text/event-stream"),),
        "chunks": ((0.01, b"data: {}\n\n"), (0.02, b"data: [DONE]\n\n")),
        "read_to_end": True,
        "ended_at": 0.03,
    }
    base.update(changes)
    return Capture(**base)  # type: ignore[arg-type]


# -- scrubbing ---------------------------------------------------------------------------


def test_request_headers_outside_the_allow_list_are_removed_whatever_their_name() -> None:
    capture = _capture(
        request_headers=(
            ("Content-Type", "application/json"),
            ("Accept", "text/event-stream"),
            ("Authorization", f"Bearer {OPENAI_KEY}"),
            ("x-api-key", ANTHROPIC_KEY),
            ("x-goog-api-key", GOOGLE_KEY),
            ("api-key", COHERE_KEY),
            ("Cookie", f"session={COHERE_KEY}"),
            ("OpenAI-Organization", ORG_ID),
            ("OpenAI-Project", PROJECT_ID),
            ("x-conformance-case", "openai/chat-completions/synthetic-text"),
            ("x-some-new-vendor-header", "anything"),
        )
    )
    scrubbed = scrub_capture(capture)
    assert scrubbed.capture.request_headers == (
        ("content-type", "application/json"),
        ("accept", "text/event-stream"),
    )
    assert "request header authorization" in scrubbed.removed
    assert "request header x-some-new-vendor-header" in scrubbed.removed
    assert all(secret not in " ".join(scrubbed.removed) for secret in (OPENAI_KEY, ORG_ID, COHERE_KEY))


def test_response_headers_keep_type_date_and_request_ids_only() -> None:
    capture = _capture(
        response_headers=(
            ("content-type", "text/event-stream; charset=utf-8"),
            ("date", "Sat, 21 Nov 2026 03:00:00 GMT"),
            ("x-request-id", "req_7f3a9c"),
            ("request-id", "req_011CV"),
            ("set-cookie", f"__cf_bm={COHERE_KEY}; path=/"),
            ("openai-organization", ORG_ID),
            ("openai-project", PROJECT_ID),
            ("anthropic-organization-id", "1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718"),
            ("x-ratelimit-remaining-tokens", "149990"),
            ("cf-ray", "8f00aa11bb22cc33-CDG"),
        )
    )
    kept = dict(scrub_capture(capture).capture.response_headers)
    assert kept == {
        "content-type": "text/event-stream; charset=utf-8",
        "date": "Sat, 21 Nov 2026 03:00:00 GMT",
        "x-request-id": "req_7f3a9c",
        "request-id": "req_011CV",
    }


def test_query_keys_outside_the_allow_list_and_user_info_leave_the_url() -> None:
    removed: list[str] = []
    url = f"https://user:{COHERE_KEY}@generativelanguage.googleapis.com/v1beta/models/g:streamGenerateContent?alt=sse&key={GOOGLE_KEY}&trace=1"
    assert (
        scrub_url(url, removed)
        == "https://generativelanguage.googleapis.com/v1beta/models/g:streamGenerateContent?alt=sse"
    )
    assert removed == ["URL user info", "query key key", "query key trace"]
    assert scrub_url(
        "https://x.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21"
    ) == ("https://x.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21")


def test_credential_like_body_values_and_key_shaped_strings_are_redacted() -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,  # a number under a "token" name stays
        "metadata": {"user_api_key": ANTHROPIC_KEY, "apiKey": COHERE_KEY, "user_id": "u-42"},
        "messages": [
            {"role": "user", "content": f"my key is {OPENAI_KEY}"},
            {"role": "user", "content": "hi"},
        ],
        "client_secret": "not-even-random",
    }
    removed: list[str] = []
    clean = scrub_json(body, removed)
    assert clean == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "metadata": {"user_api_key": REDACTED, "apiKey": REDACTED, "user_id": "u-42"},
        "messages": [{"role": "user", "content": REDACTED}, {"role": "user", "content": "hi"}],
        "client_secret": REDACTED,
    }
    assert removed == [
        "request body metadata.user_api_key",
        "request body metadata.apiKey",
        "request body messages[].content",
        "request body client_secret",
    ]


def test_a_redacted_body_is_reported_and_the_response_body_is_never_edited() -> None:
    stream = f'data: {{"echo": "{OPENAI_KEY}"}}\n\n'.encode()
    capture = _capture(
        request_body=json.dumps({"metadata": {"api_key": ANTHROPIC_KEY}}).encode(), chunks=((0.0, stream),)
    )
    scrubbed = scrub_capture(capture)
    assert json.loads(scrubbed.capture.request_body) == {"metadata": {"api_key": REDACTED}}
    assert scrubbed.body_redacted
    assert scrubbed.capture.body == stream  # a secret here is refused by the writer, not patched
    assert not scrub_capture(_capture()).body_redacted
    assert scrub_capture(_capture()).capture.request_body == _capture().request_body  # untouched: same bytes


def test_a_request_body_that_is_not_json_is_dropped() -> None:
    scrubbed = scrub_capture(_capture(request_body=f"key={OPENAI_KEY}".encode()))
    assert scrubbed.capture.request_body == b""
    assert "request body (not JSON)" in scrubbed.removed


def test_safe_text_hides_known_values_and_withholds_key_shaped_text() -> None:
    assert safe_text(f"invalid key {COHERE_KEY} given", [COHERE_KEY]) == f"invalid key {REDACTED} given"
    assert (
        safe_text(f"Incorrect API key provided: {OPENAI_KEY}")
        == "<withheld: it looks like it holds a secret>"
    )
    assert safe_text("model not found") == "model not found"


# -- vendors and credentials ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "flavour", "host", "vendor"),
    [
        ("openai/chat-completions", "openai", "api.openai.com", "OpenAI"),
        ("openai/chat-completions", "openai", "api.z.ai", "Z.ai"),  # never an OpenAI key to Z.ai
        ("openai/chat-completions", "groq", "api.groq.com", "Groq"),
        ("openai/chat-completions", "vllm", "localhost", "vLLM"),
        ("openai/chat-completions", "azure", "example-resource.openai.azure.com", "Azure OpenAI"),
        ("anthropic/messages", "anthropic", "api.anthropic.com", "Anthropic"),
        ("gemini/generate-content", "gemini", "generativelanguage.googleapis.com", "Gemini"),
        ("gemini/generate-content", "vertex", "us-central1-aiplatform.googleapis.com", "Vertex AI"),
        ("bedrock/converse-stream", "bedrock", "bedrock-runtime.us-east-1.amazonaws.com", "Bedrock"),
        ("cohere/chat", "cohere", "api.cohere.com", "Cohere"),
        ("ollama/chat", "chat", "localhost", "Ollama"),
    ],
)
def test_the_vendor_follows_the_api_then_the_host_then_the_flavour(
    api: str, flavour: str, host: str, vendor: str
) -> None:
    found = vendor_for(api, flavour, host)
    assert found is not None
    assert found.name == vendor


def test_an_unknown_host_has_no_vendor() -> None:
    assert vendor_for("openai/chat-completions", "openai", "api.inference.crusoecloud.com") is None


def _vendor(name: str) -> Vendor:
    return next(v for v in VENDORS if v.name == name)


def test_missing_keys_name_the_variables_to_set() -> None:
    def reason(name: str, base: str = "https://h") -> str:
        result = credentials(_vendor(name), base, {})
        assert isinstance(result, Missing)
        return result.reason

    assert reason("OpenAI") == "no key: set OPENAI_API_KEY"
    assert reason("Gemini") == "no key: set GEMINI_API_KEY or GOOGLE_API_KEY"
    assert reason("Cohere") == "no key: set CO_API_KEY or COHERE_API_KEY"
    assert reason("Bedrock") == "no key: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    assert reason("Ollama").startswith("set OLLAMA_HOST")
    assert "OAuth" in reason("Vertex AI")


def test_keys_become_each_vendors_own_auth_headers() -> None:
    env = {
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_ORG_ID": ORG_ID,
        "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
        "GOOGLE_API_KEY": GOOGLE_KEY,
        "COHERE_API_KEY": COHERE_KEY,
    }

    def creds(name: str, base: str = "https://h") -> Credentials:
        result = credentials(_vendor(name), base, env)
        assert isinstance(result, Credentials)
        return result

    openai = creds("OpenAI", "https://api.openai.com")
    assert dict(openai.headers) == {"authorization": f"Bearer {OPENAI_KEY}", "openai-organization": ORG_ID}
    assert openai.base_url == "https://api.openai.com"
    assert set(openai.secrets) == {OPENAI_KEY, ORG_ID}
    assert dict(creds("Anthropic").headers) == {"anthropic-version": "2023-06-01", "x-api-key": ANTHROPIC_KEY}
    assert dict(creds("Gemini").headers) == {"x-goog-api-key": GOOGLE_KEY}  # never ?key= in the URL
    assert dict(creds("Cohere").headers) == {"authorization": f"Bearer {COHERE_KEY}"}
    assert OPENAI_KEY not in repr(openai)  # a repr never shows a secret


def test_bedrock_takes_its_region_from_the_environment_or_the_recorded_host() -> None:
    env = {
        "AWS_ACCESS_KEY_ID": "AKIAQX7LM2RV9TB4NC8W",
        "AWS_SECRET_ACCESS_KEY": "Wd1Yf6Gh3Jk5Ps0Az8Kp2Lq7Xw4Rt9Bn3Mz6Hc1F",
    }
    recorded = "https://bedrock-runtime.eu-west-3.amazonaws.com"
    plain = credentials(_vendor("Bedrock"), recorded, env)
    assert isinstance(plain, Credentials)
    assert plain.aws is not None
    assert (plain.base_url, plain.aws.region, plain.headers) == (recorded, "eu-west-3", ())
    assert "AKIA" not in repr(plain)
    moved = credentials(_vendor("Bedrock"), recorded, {**env, "AWS_REGION": "us-west-2"})
    assert isinstance(moved, Credentials)
    assert moved.aws is not None
    assert (moved.base_url, moved.aws.region) == (
        "https://bedrock-runtime.us-west-2.amazonaws.com",
        "us-west-2",
    )


@pytest.mark.parametrize(
    ("value", "base"),
    [
        ("http://localhost:11434", "http://localhost:11434"),
        ("127.0.0.1", "http://127.0.0.1:11434"),
        ("0.0.0.0:11500", "http://127.0.0.1:11500"),
        ("https://ollama.internal/", "https://ollama.internal:11434"),
    ],
)
def test_ollama_host_may_be_a_url_or_host_port(value: str, base: str) -> None:
    result = credentials(_vendor("Ollama"), "http://localhost:11434", {"OLLAMA_HOST": value})
    assert isinstance(result, Credentials)
    assert result.base_url == base


def test_base_url_changes_where_a_request_goes_not_what_it_carries() -> None:
    result = credentials(
        _vendor("OpenAI"),
        "https://api.openai.com",
        {"OPENAI_API_KEY": OPENAI_KEY},
        base_url="http://127.0.0.1:9/",
    )
    assert isinstance(result, Credentials)
    assert result.base_url == "http://127.0.0.1:9"
    assert dict(result.headers) == {"authorization": f"Bearer {OPENAI_KEY}"}
    ollama = credentials(_vendor("Ollama"), "http://localhost:11434", {}, base_url="http://127.0.0.1:9")
    assert isinstance(ollama, Credentials)  # no OLLAMA_HOST needed: the base is given


# -- the request and the draft -----------------------------------------------------------


def test_the_built_request_is_the_stored_one_without_any_credential() -> None:
    case = load_case(CASSETTES_ROOT / "gemini/generate-content/synthetic-text")
    assert is_recordable(case)
    request = build_request(case, "http://127.0.0.1:8765/", tag_case=True)
    assert request.url == "http://127.0.0.1:8765/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert dict(request.headers) == {
        "content-type": "application/json",
        "accept-encoding": "identity",
        "user-agent": USER_AGENT,
        "x-conformance-case": "gemini/generate-content/synthetic-text",
    }
    assert json.loads(request.body) == case.request.body
    assert not is_recordable(load_case(CASSETTES_ROOT / "anthropic/messages/minimal-text-padded"))


def test_the_draft_is_an_unreviewed_case_with_the_captures_boundaries() -> None:
    case = load_case(CASSETTES_ROOT / "openai/chat-completions/synthetic-text")
    body = (case.folder / case.stream.file).read_bytes()
    capture = _capture(
        request_headers=(("content-type", "application/json"), ("accept", "*/*")),
        request_body=json.dumps(case.request.body).encode(),
        chunks=((0.01, body[:100]), (0.02, body[100:])),
        response_headers=(("content-type", "text/event-stream; charset=utf-8"),),
    )
    draft = draft_recording(
        case,
        capture,
        vendor_base="https://api.openai.com",
        sent_to="http://127.0.0.1:9",
        recorded_at="2026-11-21T03:00:00Z",
        recordable=True,
    )
    m = draft.manifest
    assert (m["id"], m["flavour"], m["tier"], m["quirks"]) == (case.id, "openai", case.tier, [])
    assert m["chunks"] == [100, len(body)]
    assert m["stream"] == {"content_type": "text/event-stream; charset=utf-8"}
    assert m["request"]["headers"] == {"content-type": "application/json"}  # httpx's accept is not kept
    assert m["request"]["recordable"] is True
    assert m["request"]["body"] == case.request.body
    assert m["expected"] == {"reviewed": False}
    assert m["source"]["kind"] == "live"
    assert m["source"]["url"] == "https://api.openai.com" + case.request.path
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", m["source"]["recorded_at"])
    assert m["source"]["note"].startswith("conformance record --live: POST ")
    assert "127.0.0.1:9 (--base-url)" in m["source"]["note"]
    assert len(m["description"]) <= 70
    assert draft.base_url == "https://api.openai.com"
    assert draft.events
    assert draft.decoder_problem is None


# -- -k --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "chosen"),
    [
        ("text", {"anthropic/messages/synthetic-text", "openai/responses/synthetic-long-text"}),
        ("anthropic and not long", {"anthropic/messages/synthetic-text", "anthropic/messages/tool-use"}),
        ("(TOOL or long) and openai", {"openai/responses/synthetic-long-text"}),
        ("not (text or tool)", set()),
    ],
)
def test_k_expressions_select_case_ids_like_pytest(expression: str, chosen: set[str]) -> None:
    ids = [
        "anthropic/messages/synthetic-text",
        "anthropic/messages/tool-use",
        "openai/responses/synthetic-long-text",
    ]
    matches = keyword_matcher(expression)
    assert {i for i in ids if matches(i)} == chosen
    assert all(keyword_matcher(None)(i) for i in ids)


@pytest.mark.parametrize("expression", ["", "a and", "(a or b", "a b", "and a", "a )"])
def test_a_malformed_k_expression_is_a_usage_error(expression: str) -> None:
    with pytest.raises(UsageError, match="-k"):
        keyword_matcher(expression)


# The pure live modules (vendors, scrub, request, draft, select) are in
# tests/test_architecture.py's PURE list, which checks they import nothing that does I/O.


def test_nothing_here_leaks_a_test_key_into_scanner_blind_spots() -> None:
    # the fake keys above have the real shapes: the scanner recognises the shaped ones
    assert [f.kind for f in scan(f"{OPENAI_KEY} {ANTHROPIC_KEY} {GOOGLE_KEY}")] == [
        "openai key",
        "anthropic key",
        "google api key",
    ]
    assert scan(COHERE_KEY) == []  # which is why the writer also searches for the values used
