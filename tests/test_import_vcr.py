"""``conformance import-vcr``: a user's vcrpy cassette becomes a case that ``conformance check`` accepts.

The cassettes are made by vcrpy itself: recorded through an ``httpx.MockTransport``
(which vcrpy patches, so nothing touches the network) or written with vcrpy's own YAML
serializer.  The streams are real recorded vendor bodies from the corpus, so every
drafted sequence is compared with that case's reviewed expected sequence.  Round trip:
re-importing every corpus cassette reproduces its stream, cassette and sequence.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr
import vcr.filters
from vcr.request import Request as VcrRequest
from vcr.serializers import yamlserializer

from conformance.cassettes import (
    Case,
    case_body,
    expected_events,
    iter_cases,
    load_case,
)
from conformance.check import check_path
from conformance.cli import main
from conformance.errors import CaseError, UsageError
from conformance.events import Error, ErrorCategory
from conformance.import_vcr import Imported, draft_case, import_cassette

CASES = list(iter_cases())
BY_ID = {c.id: c for c in CASES}
_BYTE_LEVEL = ("sse.", "transport.", "ndjson.")
#: Re-imported: every recording, and the synthetic cases whose point is the bytes.
ROUND_TRIP = [
    c for c in CASES if c.source.kind != "synthetic" or any(q.startswith(_BYTE_LEVEL) for q in c.quirks)
]

_OPENAI_KEY = "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6"
_GOOGLE_KEY = "AIza" + "Sy0123456789abcdefghijABCDEFGHIJ_-x"  # 4 + 35 characters
_BEARER = "Bearer " + _OPENAI_KEY
_RANDOM = "Zq8Xw3Rt7Yp2Lm5Nb9Vc"


def _corpus_uri(case: Case) -> str:
    """The request uri of a corpus case's cassette."""
    data = yamlserializer.deserialize(case.cassette_path.read_text(encoding="utf-8"))
    return str(data["interactions"][0]["request"]["uri"])


@dataclass
class Exchange:
    """One request and the response the mock server gives it."""

    method: str
    url: str
    body: bytes
    content_type: str | None
    status: int = 200
    response_headers: Mapping[str, str] = field(default_factory=dict)
    request_headers: Mapping[str, str] = field(default_factory=dict)
    request_json: Any = None


def record(path: Path, exchanges: Sequence[Exchange], *, serializer: str = "yaml") -> Path:
    """Record ``exchanges`` into the cassette ``path`` with vcrpy, over a mock transport."""
    pending = list(exchanges)

    def handler(request: httpx.Request) -> httpx.Response:
        exchange = pending.pop(0)
        headers = dict(exchange.response_headers)
        if exchange.content_type is not None:
            headers["content-type"] = exchange.content_type
        return httpx.Response(exchange.status, headers=headers, content=exchange.body)

    recorder = vcr.VCR(record_mode="all", serializer=serializer)
    with recorder.use_cassette(str(path)), httpx.Client(transport=httpx.MockTransport(handler)) as client:
        for exchange in exchanges:
            client.request(
                exchange.method,
                exchange.url,
                headers=dict(exchange.request_headers),
                json=exchange.request_json,
            )
    assert not pending
    return path


def write_cassette(path: Path, interactions: Sequence[tuple[VcrRequest, dict[str, Any]]]) -> Path:
    """A cassette written with vcrpy's own YAML serializer (bytes bodies become !!binary)."""
    data = {
        "version": 1,
        "interactions": [{"request": r._to_dict(), "response": resp} for r, resp in interactions],
    }
    path.write_text(yamlserializer.serialize(data), encoding="utf-8")
    return path


def response(body: bytes, content_type: str, *, status: int = 200, **headers: str) -> dict[str, Any]:
    all_headers = {"content-type": [content_type], **{k.replace("_", "-"): [v] for k, v in headers.items()}}
    return {"status": {"code": status, "message": "OK"}, "headers": all_headers, "body": {"string": body}}


def corpus_exchange(case_id: str, **changes: Any) -> Exchange:
    case = BY_ID[case_id]
    values: dict[str, Any] = {
        "method": case.request.method,
        "url": _corpus_uri(case),
        "body": case_body(case),
        "content_type": case.stream.content_type,
        **changes,
    }
    return Exchange(**values)


def imported_ok(result: Imported) -> None:
    """The imported folder passes ``conformance check``, as one unreviewed draft."""
    assert result.report.problems == (), [p.render() for p in result.report.problems]
    assert result.report.summary() == "1 case, 0 problems (1 unreviewed draft: decoder agreement not checked)"
    case = load_case(result.folder)
    assert case.expected.reviewed is False
    assert case.source.kind == "imported"
    assert (case.tier, case.quirks, case.chunks) == ("required", (), None)
    assert case.request.recordable is False


def all_text(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()))


# -- round trip over the corpus -----------------------------------------------------------


@pytest.mark.parametrize("case", ROUND_TRIP, ids=[c.id for c in ROUND_TRIP])
def test_reimporting_a_corpus_cassette_reproduces_the_case(case: Case, tmp_path: Path) -> None:
    result = import_cassette(
        case.cassette_path, api=case.api, flavour=case.flavour, root=tmp_path, name="again"
    )
    imported_ok(result)
    new = load_case(result.folder)
    assert new.framing == case.framing  # inferred from the content type (and the Gemini path)
    assert new.stream == case.stream
    # the cassette carries the request line and headers (not the manifest's request body)
    assert (new.request.method, new.request.path) == (case.request.method, case.request.path)
    assert (new.request.query, new.request.headers) == (case.request.query, case.request.headers)
    assert new.source.sha256 == case.stream.sha256
    assert new.source.file == "cassette.yaml"
    assert new.source.interaction == 0
    assert new.description == "imported from cassette.yaml interaction 0"
    assert case_body(new) == case_body(case)
    assert expected_events(new) == expected_events(case)  # the reviewed sequence
    assert new.cassette_path.read_bytes() == case.cassette_path.read_bytes()


# -- one recording per vendor framing -----------------------------------------------------

FRAMINGS = {
    "openai/chat-completions/parallel-tool-calls": "sse",
    "anthropic/messages/text-then-tool-use": "sse",
    "gemini/generate-content/json-array-stream-function-call-id": "json-array",
    "bedrock/converse-stream/text-then-tool-use": "eventstream",
    "ollama/chat/docs-generate-ndjson": "ndjson",
    "cohere/chat/text": "sse",
    "openai/responses/function-call-usage-sequence-numbers": "sse",
}


@pytest.mark.parametrize("case_id", list(FRAMINGS))
def test_a_recording_of_each_framing_imports_to_the_reviewed_sequence(case_id: str, tmp_path: Path) -> None:
    case = BY_ID[case_id]
    exchange = corpus_exchange(
        case_id,
        request_headers={"authorization": _BEARER, "x-api-key": _RANDOM + "1", "user-agent": "my-app/1.0"},
        request_json={"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
    )
    cassette = record(tmp_path / "recorded.yaml", [exchange])
    text = cassette.read_text(encoding="utf-8")
    binary = case.framing == "eventstream"
    assert ("!!binary" in text) is binary  # vcrpy keeps UTF-8 bodies as YAML text, others base64
    result = import_cassette(cassette, api=case.api, flavour=case.flavour, root=tmp_path / "corpus")
    imported_ok(result)
    new = load_case(result.folder)
    assert new.id == f"{case.api}/recorded"
    assert new.framing == FRAMINGS[case_id]
    assert case_body(new) == case_body(case)
    assert expected_events(new) == expected_events(case)
    assert new.request.headers == {"content-type": "application/json", "accept": "*/*"}
    assert new.request.body == exchange.request_json
    assert result.draft.scrubbed == [
        "request headers accept-encoding, authorization, connection, content-length, host, "
        "user-agent, x-api-key"
    ]
    files = all_text(result.folder)
    assert _OPENAI_KEY.encode() not in files
    assert _RANDOM.encode() not in files


def test_flavour_and_framing_are_inferred_from_host_and_content_type(tmp_path: Path) -> None:
    deepseek = BY_ID["openai/chat-completions/deepseek-reasoning-content"]
    vertex = BY_ID["gemini/generate-content/vertex-flex-tier-text"]
    cassette = record(
        tmp_path / "two.yaml",
        [
            corpus_exchange(deepseek.id),
            corpus_exchange(vertex.id, url=_corpus_uri(vertex).replace("://", "://us-central1-", 1)),
        ],
    )
    first = draft_case(cassette.read_text(), source=str(cassette), api=deepseek.api, interaction=0)
    second = draft_case(cassette.read_text(), source=str(cassette), api=vertex.api, interaction=1)
    assert (first.manifest["flavour"], first.manifest["framing"]) == ("deepseek", "sse")
    assert (second.manifest["flavour"], second.manifest["framing"]) == ("vertex", "sse")
    assert "flavour deepseek (from the host api.deepseek.com; --flavour to change)" in first.notes
    assert second.base_url == "https://us-central1-aiplatform.googleapis.com"
    assert first.events == expected_events(deepseek)
    assert second.events == expected_events(vertex)


# -- compressed bodies --------------------------------------------------------------------


@pytest.mark.parametrize(("encoding", "compress"), [("gzip", gzip.compress), ("deflate", zlib.compress)])
def test_a_compressed_body_is_decompressed_as_vcrpy_does(
    encoding: str, compress: Any, tmp_path: Path
) -> None:
    case = BY_ID["openai/chat-completions/parallel-tool-calls"]
    plain = case_body(case)
    packed = compress(plain)
    exchange = corpus_exchange(case.id, body=packed, response_headers={"content-encoding": encoding})
    cassette = record(tmp_path / "packed.yaml", [exchange])
    assert "!!binary" in cassette.read_text(encoding="utf-8")  # vcrpy kept the wire bytes
    result = import_cassette(cassette, api=case.api, root=tmp_path)
    imported_ok(result)
    new = load_case(result.folder)
    assert case_body(new) == plain
    assert new.source.content_encoding == encoding
    assert new.source.sha256 == hashlib.sha256(packed).hexdigest() != new.stream.sha256
    assert f"content-encoding {encoding}: decompressed with vcrpy, {len(packed)} -> {len(plain)} bytes" in (
        result.draft.notes
    )
    assert expected_events(new) == expected_events(case)


def test_a_gzip_header_on_a_plain_body_keeps_the_body(tmp_path: Path) -> None:
    case = BY_ID["cohere/chat/text"]
    body = case_body(case)
    request = VcrRequest("POST", "https://api.cohere.com/v2/chat", None, {})
    cassette = write_cassette(
        tmp_path / "c.yaml", [(request, response(body, "text/event-stream", content_encoding="gzip"))]
    )
    draft = draft_case(cassette.read_text(), source=str(cassette), api=case.api)
    assert draft.body == body
    assert "content_encoding" not in draft.manifest["source"]
    assert draft.notes[0].startswith("content-encoding gzip, but the body is not compressed")


def test_scalar_header_values_are_read_as_one_value_lists(tmp_path: Path) -> None:
    case = BY_ID["openai/chat-completions/parallel-tool-calls"]
    plain = case_body(case)
    cassette = tmp_path / "hand.yaml"
    interaction = {
        "request": {"method": "POST", "uri": _corpus_uri(case), "body": None, "headers": {}},
        "response": {
            "status": {"code": 200, "message": "OK"},
            "headers": {"Content-Type": "text/event-stream", "Content-Encoding": "gzip"},
            "body": {"string": gzip.compress(plain)},
        },
    }
    cassette.write_text(yamlserializer.serialize({"version": 1, "interactions": [interaction]}))
    draft = draft_case(cassette.read_text(), source=str(cassette), api=case.api)
    assert draft.body == plain
    assert draft.manifest["stream"]["content_type"] == "text/event-stream"
    assert draft.events == expected_events(case)


def test_brotli_needs_the_brotli_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = BY_ID["cohere/chat/text"]
    body = case_body(case)
    request = VcrRequest("POST", "https://api.cohere.com/v2/chat", None, {})
    packed = body[::-1]  # stands in for brotli data: the decompressor below reverses it
    cassette = write_cassette(
        tmp_path / "br.yaml", [(request, response(packed, "text/event-stream", content_encoding="br"))]
    )
    monkeypatch.delitem(vcr.filters.AVAILABLE_DECOMPRESSORS, "br", raising=False)
    with pytest.raises(
        UsageError, match=r"brotli \(or brotlicffi\) package is installed; pip install brotli"
    ):
        draft_case(cassette.read_text(), source=str(cassette), api=case.api)
    monkeypatch.setitem(vcr.filters.AVAILABLE_DECOMPRESSORS, "br", lambda data: data[::-1])
    draft = draft_case(cassette.read_text(), source=str(cassette), api=case.api)
    assert draft.body == body
    assert draft.manifest["source"]["content_encoding"] == "br"


# -- choosing the interaction -------------------------------------------------------------


def _models_call() -> Exchange:
    return Exchange("GET", "https://api.openai.com/v1/models", b'{"data": []}', "application/json")


def test_the_only_stream_among_several_interactions_is_chosen(tmp_path: Path) -> None:
    case = BY_ID["openai/chat-completions/parallel-tool-calls"]
    cassette = record(tmp_path / "mixed.yaml", [_models_call(), corpus_exchange(case.id), _models_call()])
    result = import_cassette(cassette, api=case.api, root=tmp_path)
    imported_ok(result)
    assert result.draft.manifest["source"]["interaction"] == 1
    assert result.draft.manifest["description"] == "imported from mixed.yaml interaction 1"
    assert result.draft.events == expected_events(case)


def test_several_streams_need_interaction_n(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chat = BY_ID["openai/chat-completions/parallel-tool-calls"]
    other = BY_ID["openai/chat-completions/logprobs"]
    cassette = record(
        tmp_path / "two.yaml", [corpus_exchange(chat.id), _models_call(), corpus_exchange(other.id)]
    )
    with pytest.raises(UsageError, match="2 interactions are streams") as info:
        import_cassette(cassette, api=chat.api, root=tmp_path)
    assert "#0 POST /v1/chat/completions -> 200 text/event-stream" in info.value.message
    assert "#2 POST /v1/chat/completions" in info.value.message
    assert "#1" not in info.value.message
    result = import_cassette(cassette, api=chat.api, root=tmp_path, interaction=2)
    imported_ok(result)
    assert result.draft.events == expected_events(other)
    with pytest.raises(UsageError, match="--interaction 3: the cassette has 3"):
        import_cassette(cassette, api=chat.api, root=tmp_path, interaction=3, name="x")
    with pytest.raises(SystemExit) as exit_info:  # the command line: a usage error is status 2
        main(["import-vcr", str(cassette), "--api", chat.api, "--root", str(tmp_path), "--name", "y"])
    assert exit_info.value.code == 2
    assert "choose one with --interaction N" in capsys.readouterr().err


def test_no_stream_is_bad_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cassette = record(tmp_path / "none.yaml", [_models_call()])
    status = main(["import-vcr", str(cassette), "--api", "openai/chat-completions", "--root", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith(f"conformance import-vcr: error: {cassette}: no interaction is a stream")
    assert "#0 GET /v1/models -> 200 application/json" in err


def test_a_status_other_than_200_is_refused(tmp_path: Path) -> None:
    case = BY_ID["openai/chat-completions/parallel-tool-calls"]
    cassette = record(tmp_path / "429.yaml", [corpus_exchange(case.id, status=429)])
    with pytest.raises(CaseError, match="interaction 0: the response status is 429, not 200"):
        import_cassette(cassette, api=case.api, root=tmp_path)


# -- secrets ------------------------------------------------------------------------------


def test_credentials_in_headers_and_query_are_scrubbed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = BY_ID["gemini/generate-content/text-crlf"]
    url = _corpus_uri(case) + f"&key={_GOOGLE_KEY}&access_token=ya29.{_RANDOM}"
    exchange = corpus_exchange(
        case.id,
        url=url.replace("https://", "https://user:hunter2@", 1),
        request_headers={"x-goog-api-key": _GOOGLE_KEY, "accept": "text/event-stream"},
    )
    cassette = record(tmp_path / "keyed.yaml", [exchange])
    assert _GOOGLE_KEY in cassette.read_text(encoding="utf-8")
    argv = ["import-vcr", str(cassette), "--api", case.api, "--root", str(tmp_path / "corpus")]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "conformance import-vcr: scrubbed the user info before @ in the uri\n" in err
    assert "conformance import-vcr: scrubbed query parameter key\n" in err
    assert "conformance import-vcr: scrubbed query parameter access_token\n" in err
    assert (  # httpx turned the user info into a basic authorization header
        "scrubbed request headers accept-encoding, authorization, connection, content-length, host, "
        "user-agent, x-goog-api-key\n"
    ) in err
    assert _GOOGLE_KEY not in err + out
    assert out.endswith("check: 1 case, 0 problems (1 unreviewed draft: decoder agreement not checked)\n")
    new = load_case(tmp_path / "corpus" / case.api / "keyed")
    assert new.request.query == {"alt": "sse"}
    assert new.request.headers == {"accept": "text/event-stream"}
    files = all_text(new.folder)
    for secret in (_GOOGLE_KEY, _RANDOM, "hunter2"):
        assert secret.encode() not in files
    assert expected_events(new) == expected_events(case)


def test_a_request_body_with_a_secret_is_dropped(tmp_path: Path) -> None:
    case = BY_ID["anthropic/messages/text-then-tool-use"]
    body = {"model": "claude", "stream": True, "metadata": {"user_id": _OPENAI_KEY}}
    cassette = record(tmp_path / "body.yaml", [corpus_exchange(case.id, request_json=body)])
    result = import_cassette(cassette, api=case.api, root=tmp_path)
    imported_ok(result)
    assert result.draft.manifest["request"]["body"] is None
    assert any(
        s.startswith("the request body (it holds a possible openai key (sk-proj-<redacted")
        for s in result.draft.scrubbed
    )
    assert _OPENAI_KEY.encode() not in all_text(result.folder)


def test_a_request_body_that_is_not_a_json_object_is_dropped(tmp_path: Path) -> None:
    case = BY_ID["cohere/chat/text"]
    request = VcrRequest("POST", "https://api.cohere.com/v2/chat", b"[1, 2]", {})
    cassette = write_cassette(
        tmp_path / "c.yaml", [(request, response(case_body(case), "text/event-stream"))]
    )
    draft = draft_case(cassette.read_text(), source=str(cassette), api=case.api)
    assert draft.manifest["request"]["body"] is None
    assert draft.scrubbed == ["the request body (a JSON list, not an object)"]


def test_a_secret_in_the_stream_refuses_the_import_naming_the_byte(tmp_path: Path) -> None:
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "gpt-4o",
        "choices": [
            {"index": 0, "delta": {"content": f"é, your key is {_OPENAI_KEY}"}, "finish_reason": None}
        ],
    }
    body = b": \xff\xfe\n\n" + b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n"
    request = VcrRequest("POST", "https://api.openai.com/v1/chat/completions", None, {})
    cassette = write_cassette(tmp_path / "leak.yaml", [(request, response(body, "text/event-stream"))])
    offset = body.index(b"sk-proj-")
    with pytest.raises(CaseError) as info:
        import_cassette(cassette, api="openai/chat-completions", root=tmp_path)
    assert info.value.path == str(cassette)
    assert "interaction 0: the response body holds a possible openai key (sk-proj-<redacted, " in (
        info.value.message
    )
    assert f"at byte {offset}: refused" in info.value.message
    assert _OPENAI_KEY not in info.value.describe()
    assert not (tmp_path / "openai").exists()


# -- wrong input --------------------------------------------------------------------------


def test_a_wrong_api_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bedrock = BY_ID["bedrock/converse-stream/text-then-tool-use"]
    chat = BY_ID["openai/chat-completions/parallel-tool-calls"]
    cassette = record(tmp_path / "b.yaml", [corpus_exchange(bedrock.id)])
    with pytest.raises(UsageError, match="anthropic/messages has no framing 'eventstream'"):
        import_cassette(cassette, api="anthropic/messages", root=tmp_path)
    cassette = record(tmp_path / "c.yaml", [corpus_exchange(chat.id)])
    with pytest.raises(UsageError, match=r"reference decoder \(cohere, sse\) recognises nothing"):
        import_cassette(cassette, api="cohere/chat", root=tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["import-vcr", str(cassette), "--api", "acme/chat"])
    assert info.value.code == 2
    assert "invalid choice: 'acme/chat'" in capsys.readouterr().err
    with pytest.raises(UsageError, match="has no flavour 'groq'"):
        import_cassette(cassette, api="anthropic/messages", flavour="groq", root=tmp_path)
    assert not any(tmp_path.glob("*/*/*/case.json"))


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("version: 1\n  interactions: []\n", "unreadable YAML: mapping values are not allowed", 2),
        ("- 1\n- 2\n", "not a vcrpy cassette: no 'interactions' list", None),
        ("version: 1\ninteractions: []\n", "the cassette has no interactions", None),
        ("version: 1\ninteractions:\n- request: {}\n", "interaction 0 has no response mapping", None),
        (
            "version: 1\ninteractions:\n- request: {}\n  response: {}\n",
            "interaction 0: vcrpy cannot load the request",
            None,
        ),
        ("- request: {uri: x}\n", "a cassette of vcrpy before 1.0", None),
    ],
)
def test_a_broken_cassette_is_a_case_error(text: str, message: str, line: int | None, tmp_path: Path) -> None:
    cassette = tmp_path / "broken.yaml"
    cassette.write_text(text, encoding="utf-8")
    with pytest.raises(CaseError) as info:
        import_cassette(cassette, api="openai/chat-completions", root=tmp_path)
    assert message in info.value.message
    assert (info.value.path, info.value.line) == (str(cassette), line)


def test_an_unreadable_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.yaml"
    assert main(["import-vcr", str(missing), "--api", "cohere/chat", "--root", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith(f"conformance import-vcr: error: {missing}: cannot read")


def test_an_existing_case_folder_needs_force(tmp_path: Path) -> None:
    sse = BY_ID["gemini/generate-content/text-crlf"]
    array = BY_ID["gemini/generate-content/json-array-stream-function-call-id"]
    first = record(tmp_path / "a.yaml", [corpus_exchange(sse.id)])
    second = record(tmp_path / "b.yaml", [corpus_exchange(array.id)])
    imported_ok(import_cassette(first, api=sse.api, root=tmp_path, name="mine"))
    with pytest.raises(UsageError, match="mine exists: choose another --name, or --force to replace it"):
        import_cassette(second, api=sse.api, root=tmp_path, name="mine")
    assert (tmp_path / sse.api / "mine" / "stream.sse").is_file()
    result = import_cassette(second, api=sse.api, root=tmp_path, name="mine", force=True)
    imported_ok(result)  # the other framing's stream.sse is gone: no orphan
    assert sorted(p.name for p in result.folder.iterdir()) == [
        "case.json",
        "cassette.yaml",
        "expected.jsonl",
        "stream.json",
    ]


def test_a_pytest_recording_layout_names_the_case_after_the_test(tmp_path: Path) -> None:
    case = BY_ID["openai/responses/function-call-usage-sequence-numbers"]
    folder = tmp_path / "tests" / "cassettes" / "test_agent"  # pytest-recording: <module>/<test>.yaml
    folder.mkdir(parents=True)
    cassette = record(folder / "test_streams_a_tool_call.yaml", [corpus_exchange(case.id)])
    result = import_cassette(cassette, api=case.api, root=tmp_path / "corpus")
    imported_ok(result)
    assert result.folder == tmp_path / "corpus" / case.api / "streams-a-tool-call"
    assert result.draft.manifest["description"] == "imported from test_streams_a_tool_call.yaml interaction 0"
    assert result.draft.manifest["source"]["file"] == "test_streams_a_tool_call.yaml"


def test_a_long_file_name_gives_a_70_character_description(tmp_path: Path) -> None:
    case = BY_ID["cohere/chat/text"]
    cassette = record(tmp_path / ("test_" + "very_long_name_" * 6 + ".yaml"), [corpus_exchange(case.id)])
    result = import_cassette(cassette, api=case.api, root=tmp_path)
    imported_ok(result)
    description = result.draft.manifest["description"]
    assert len(description) == 70
    assert description.startswith("imported from test_very_long_name_")
    assert description.endswith("… interaction 0")
    with pytest.raises(UsageError, match="--name 'Bad Name'"):
        import_cassette(cassette, api=case.api, root=tmp_path, name="Bad Name")


def test_a_truncated_stream_is_imported_with_a_loud_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = BY_ID["openai/chat-completions/parallel-tool-calls"]
    body = case_body(case)
    cut = body[: body.index(b"data: ", len(body) // 2) + 20]  # inside a data line
    cassette = record(tmp_path / "cut.yaml", [corpus_exchange(case.id, body=cut)])
    status = main(["import-vcr", str(cassette), "--api", case.api, "--root", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 0
    assert "conformance import-vcr: WARNING: the reference decoder reports a protocol error" in err
    assert "Imported anyway" in err
    new = load_case(tmp_path / case.api / "cut")
    events = expected_events(new)
    assert isinstance(events[-1], Error)
    assert events[-1].category is ErrorCategory.PROTOCOL
    assert check_path(new.folder).problems == ()


def test_vcrpys_legacy_httpx_layout_and_json_serializer_load(tmp_path: Path) -> None:
    case = BY_ID["ollama/chat/docs-generate-ndjson"]
    body = case_body(case)
    legacy = {
        "request": {
            "method": "POST",
            "uri": "http://localhost:11434/api/generate",
            "body": None,
            "headers": {},
        },
        "response": {
            "status_code": 200,
            "http_version": "HTTP/1.1",
            "headers": {"content-type": ["application/x-ndjson"]},
            "content": body.decode("utf-8"),
        },
    }
    old = tmp_path / "legacy.yaml"
    old.write_text(yamlserializer.serialize({"version": 1, "interactions": [legacy]}), encoding="utf-8")
    draft = draft_case(old.read_text(), source=str(old), api=case.api)
    assert draft.body == body
    assert draft.events == expected_events(case)
    assert draft.manifest["flavour"] == "generate"  # from the path /api/generate
    as_json = record(tmp_path / "recorded.json", [corpus_exchange(case.id)], serializer="json")
    result = import_cassette(as_json, api=case.api, root=tmp_path)
    imported_ok(result)
    assert case_body(load_case(result.folder)) == body


def test_the_loader_holds_an_imported_case_to_its_digest(tmp_path: Path) -> None:
    case = BY_ID["cohere/chat/text"]
    result = import_cassette(case.cassette_path, api=case.api, root=tmp_path, name="c")
    manifest_path = result.folder / "case.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["source"]["sha256"] = "0" * 64
    manifest_path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    with pytest.raises(CaseError, match="imported body that was not decompressed is the stream"):
        load_case(result.folder)
    manifest["source"]["content_encoding"] = "gzip"
    manifest_path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    load_case(result.folder)
