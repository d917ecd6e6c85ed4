"""The secret scanner: every key shape and context form is found, previews never show
the secret, and real vendor streams (full of ids and base64 signatures) scan clean."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.secrets import KINDS, Finding, scan
from tests.helpers import REFERENCE_STREAMS

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"

# Fake keys, built at run time so that this file itself holds nothing key-shaped.
_R = "A1b2C3d4E5f6G7h8J9k0"  # 20 random-looking characters
FAKE = {
    "openai legacy": ("openai key", "sk-" + _R * 2 + "Zz9Yy8Xx"),
    "openai project": ("openai key", "sk-proj-" + _R * 7 + "_-Q1"),
    "openai service account": ("openai key", "sk-svcacct-" + _R * 3),
    "anthropic": ("anthropic key", "sk-ant-api03-" + _R * 4 + "-AA"),
    "openrouter": ("openrouter key", "sk-or-v1-" + "0123456789abcdef" * 4),
    "google": ("google api key", "AIza" + "Sy" + _R + "Q_w-e7Rt8Yu9I"),
    "aws access key id": ("aws access key id", "AKIA" + "IOSFODNN7EXAMPLE"),
    "aws temporary key id": ("aws access key id", "ASIA" + "Y34FZKBOKMUTVV7A"),
    "groq": ("groq key", "gsk_" + _R * 2 + "WGdyb3FY" + "a1B2c3D4e5F6g7H8i9J0k1L2"),
    "xai": ("xai key", "xai-" + _R * 4),
    "huggingface": ("huggingface token", "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh"),
    "github": ("github token", "ghp_" + _R + "x9Y8z7W6v5U4t3S2r1Q0"),
}
assert len(FAKE["google"][1]) == 39  # the documented Google key length


def _one(text: str) -> Finding:
    found = scan(text)
    assert len(found) == 1, found
    return found[0]


def _assert_redacted(finding: Finding, secret: str, public_prefix: str = "") -> None:
    body = secret.removeprefix(public_prefix)
    for i in range(len(body) - 5):
        assert body[i : i + 6] not in finding.preview, (finding.preview, body[i : i + 6])
    assert "redacted" in finding.preview


@pytest.mark.parametrize("name", sorted(FAKE))
def test_every_key_shape_is_found_in_plain_text(name: str) -> None:
    kind, key = FAKE[name]
    finding = _one(f"the key is {key} (do not share)")
    assert (finding.kind, finding.line, finding.column) == (kind, 1, 12)


@pytest.mark.parametrize("name", sorted(FAKE))
def test_every_key_shape_is_found_inside_a_json_body(name: str) -> None:
    kind, key = FAKE[name]
    body = 'data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","note":"' + key + '"}\n\n'
    finding = _one("event: x\n" + body)
    assert (finding.kind, finding.line, finding.column) == (kind, 2, body.index(key) + 1)


@pytest.mark.parametrize("name", sorted(FAKE))
def test_previews_show_at_most_the_public_prefix(name: str) -> None:
    _, key = FAKE[name]
    finding = _one(key)
    prefix = finding.preview.split("<", 1)[0]
    assert key.startswith(prefix)
    assert len(prefix) <= len("sk-svcacct-")
    _assert_redacted(finding, key, prefix)
    assert finding.describe().startswith(f"possible {finding.kind} (")


# -- context forms: headers, query parameters, bearer tokens, assignments -------------

_COHERE_LIKE = "Xy12" * 10  # Cohere and Mistral keys have no prefix: bare random strings

HEADER_FORMS = {
    "raw http": "POST /v1/chat HTTP/1.1\r\nAuthorization: Bearer {k}\r\n\r\n",
    "yaml vcrpy list": "    headers:\n      authorization:\n      - Bearer {k}\n",
    "yaml flow list": "    headers:\n      x-api-key: [{k}]\n",
    "yaml plain": "headers:\n  api-key: {k}\n",
    "json string": '{{"headers": {{"x-goog-api-key": "{k}"}}}}',
    "json list": '{{"headers": {{"Authorization": ["Bearer {k}"]}}}}',
    "json inside a json string": '{{"text": "{{\\"authorization\\": \\"Bearer {k}\\"}}"}}',
    "aws session token": "x-amz-security-token: {k}\n",
    "cookie": "cookie: session={k}\n",
}


@pytest.mark.parametrize("form", sorted(HEADER_FORMS))
def test_credential_headers_are_found_in_every_form(form: str) -> None:
    text = HEADER_FORMS[form].format(k=_COHERE_LIKE)
    finding = _one(text)
    assert finding.kind == "credential header"
    name = finding.preview.split(":")[0]
    assert name.lower() in text.lower()
    assert (
        text.splitlines()[finding.line - 1][finding.column - 1 :]
        .lower()
        .lstrip('"\\')
        .startswith(name.lower())
    )
    _assert_redacted(finding, _COHERE_LIKE)


def test_a_header_holding_a_vendor_key_is_one_finding_not_three() -> None:
    _, key = FAKE["openai project"]
    finding = _one(f"authorization: Bearer {key}\n")
    assert (finding.kind, finding.preview.split(":")[0]) == ("credential header", "authorization")
    _assert_redacted(finding, key)


@pytest.mark.parametrize(
    ("uri", "name"),
    [
        (
            "https://generativelanguage.googleapis.com/v1beta/models/m:streamGenerateContent?alt=sse&key={k}",
            "key",
        ),
        (
            "https://generativelanguage.googleapis.com/v1beta/models/m:streamGenerateContent?key={k}&alt=sse",
            "key",
        ),
        ("https://api.example.com/v1/chat?api_key={k}", "api_key"),
        ("https://api.example.com/v1/chat?access_token={k}#frag", "access_token"),
    ],
)
def test_key_query_parameters_are_found(uri: str, name: str) -> None:
    finding = _one(f"  uri: {uri.format(k=_COHERE_LIKE)}\n")
    assert finding.kind == "key query parameter"
    assert finding.preview == f"{name}=<redacted, {len(_COHERE_LIKE)} chars>"
    assert finding.column == 8 + uri.index("?" if f"?{name}=" in uri else "&")


def test_google_key_in_the_query_is_found_whatever_the_parameter() -> None:
    _, key = FAKE["google"]
    assert [f.kind for f in scan(f"uri: https://x.googleapis.com/v1/m?alt=sse&k2={key}")] == [
        "google api key"
    ]


def test_bearer_tokens_are_found_outside_headers() -> None:
    finding = _one(f"curl -H 'X: y' then Bearer {_COHERE_LIKE} was used")
    assert (finding.kind, finding.preview) == (
        "bearer token",
        f"Bearer <redacted, {len(_COHERE_LIKE)} chars>",
    )


@pytest.mark.parametrize(
    "text",
    [
        "aws_secret_access_key = {s}",
        "AWS_SECRET_ACCESS_KEY={s}",
        '{{"SecretAccessKey": "{s}"}}',
        "COHERE_API_KEY: {s}",
        'client_secret="{s}"',
    ],
)
def test_secret_shaped_assignments_are_found(text: str) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documented example secret key
    finding = _one(text.format(s=secret))
    assert finding.kind == "secret assignment"
    _assert_redacted(finding, secret)


def test_pem_private_keys_are_found() -> None:
    assert [f.kind for f in scan("x\n-----BEGIN RSA " + "PRIVATE KEY-----\nMIIE\n")] == ["private key"]


def test_findings_come_in_text_order_with_lines_and_columns() -> None:
    _, openai = FAKE["openai legacy"]
    _, aws = FAKE["aws access key id"]
    text = f"a\r\nb {aws}\rc\n\n  {openai}"
    assert [(f.kind, f.line, f.column) for f in scan(text)] == [
        ("aws access key id", 2, 3),
        ("openai key", 5, 3),
    ]


def test_every_kind_is_documented_in_kinds() -> None:
    assert set(KINDS) >= {kind for kind, _ in FAKE.values()}
    assert {"credential header", "key query parameter", "bearer token", "secret assignment"} <= set(KINDS)


# -- no false positives ------------------------------------------------------------

LOOKALIKES = [
    "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
    "toolu_01A09q90qw90lq917835lq9",
    "msg_01XFDUDYJgAACzvnptvVoYEL",
    "call_DdmO9pD3xa9XTPNJ32zg2hcA",
    "fc_67ca09c6bedc8190a7abfec07b1a1332096610f474011cc0",
    "resp_67ca09c5efe0819096d0511c92b8c890096610f474011cc0",
    "rs_6890a0b5a8d08190b0b4ec4d9e05c20b0d3bca8bcbd2c1c0",
    "gen-1752081423-lQ4s9UMs5pUYbzXGJmyv",
    "task-sk-" + "a" * 30,
    "EqQBCkgIARABGAIiQL2Ufq2P1vQK8Rm7/kDgKyMWA+NHzfTyAKIAABCDEFGHIJ123456+sk-abc1234567890abcdefghij",
    "CiQBVKhc7+AIzaSyA1b2C3d4E5f6G7h8J9k0ABCDEFGHIJKLMNOP/x==",
    "Authorization: Bearer $OPENAI_API_KEY",
    "x-api-key: <redacted>",
    "authorization: [REDACTED]",
    'api-key: "***"',
    "Authorization headers are scrubbed: see the docs",
    "?key=value&token=abc",
    '"cache_creation_input_tokens": 1234567890123456789',
    '"token": "internationalization"',
    "the xai-grok-4 model and sk-learn-compatible pipelines",
    "hf_router_sla_metrics_usage_chunk",
]


@pytest.mark.parametrize("text", LOOKALIKES)
def test_ids_signatures_and_placeholders_are_not_secrets(text: str) -> None:
    assert scan(text) == []


def _corpus_texts() -> list[tuple[str, str]]:
    texts = []
    for root in (CASSETTES, REFERENCE_STREAMS):
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    texts.append((str(path), path.read_bytes().decode("utf-8", "replace")))
    return texts


def test_the_real_corpus_and_reference_streams_scan_clean() -> None:
    texts = _corpus_texts()
    if not texts:
        pytest.skip("no cassettes and no reference streams here")
    found = {name: [f.describe() for f in scan(text)] for name, text in texts}
    assert {name: findings for name, findings in found.items() if findings} == {}


def test_the_real_cassette_bodies_scan_clean_after_decoding() -> None:
    from conformance.cassettes import CASSETTES_ROOT, cassette_body, iter_cases

    cases = list(iter_cases(CASSETTES_ROOT))
    if not cases:
        pytest.skip("no cassettes yet")
    dirty = {case.id: scan(cassette_body(case).decode("utf-8", "replace")) for case in cases}
    assert {k: v for k, v in dirty.items() if v} == {}


@given(st.text(max_size=300))
def test_scan_never_raises_and_positions_are_inside_the_text(text: str) -> None:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for finding in scan(text):
        assert 1 <= finding.line <= len(lines)
        assert 1 <= finding.column <= len(lines[finding.line - 1]) + 1


CONTEXT_KINDS = ("credential header", "key query parameter", "bearer token", "secret assignment")


@given(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
    st.sampled_from(sorted(FAKE)),
    st.sampled_from([" ", "\n", '"', "'", "=", ": ", "\\n", "(", "["]),
)
def test_a_planted_key_is_found_whatever_surrounds_it(around: str, name: str, sep: str) -> None:
    kind, key = FAKE[name]
    text = around + sep + key + {"(": ")", "[": "]"}.get(sep, sep) + around
    # found as itself, or inside a context form that the text around it happens to spell
    assert {f.kind for f in scan(text)} & {kind, *CONTEXT_KINDS}
