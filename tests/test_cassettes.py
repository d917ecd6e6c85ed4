"""The corpus cases: every one loads and is consistent, and plain vcrpy replays them.

Each case's manifest validates, its files agree with it (sizes, sha256, event count),
the cassette's body read through vcrpy is the stream, the expected sequence obeys the
rules and is exactly what the reference decoder makes of the stream.  A sample of
cassettes is replayed with vcrpy + httpx as any vcrpy user would, with the network
never touched.  The loader's own checks are exercised on broken copies of a case.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr
from vcr.errors import CannotOverwriteExistingCassetteException

from conformance.cassettes import (
    CASSETTES_ROOT,
    Case,
    case_body,
    cassette_body,
    expected_events,
    iter_cases,
    load_case,
    write_case,
)
from conformance.errors import CaseError
from conformance.grammar import Level, check
from conformance.reframe import reframe
from conformance.registry import get_codec
from conformance.schemas import load_schema
from tests.helpers import REFERENCE_STREAMS

CASES = list(iter_cases())
IDS = [c.id for c in CASES]
BY_ID = {c.id: c for c in CASES}
#: The cases built from the reference recordings (synthetic ones: tests/test_synthetic.py).
RECORDED = [c for c in CASES if c.source.kind != "synthetic"]

#: SHOULD warnings a case's expected sequence carries on purpose: the vendor's own
#: numbers break the rule (the hand-written SDK fixture says output_tokens 1 in
#: message_start, then 0 in message_delta), and the sequence reports them faithfully.
ALLOWED_WARNINGS = {
    "anthropic/messages/refusal-stop-details-synthetic": ["usage.output-monotonic"],
    # Ollama's done object without done_reason (ollama.done_reason_absent): no raw reason.
    "ollama/chat/synthetic-done-reason-absent": ["finish.raw-reason"],
}

#: Replayed with vcrpy + httpx: at least one per API, and the byte-level extremes.
REPLAYED = [
    "openai/chat-completions/parallel-tool-calls",
    "openai/responses/background-resume-starting-after",  # a GET with a query
    "anthropic/messages/minimal-text-padded",  # padded payloads, no BOM
    "gemini/generate-content/text-crlf",  # CRLF
    "gemini/generate-content/json-array-stream-function-call-id",
    "bedrock/converse-stream/redacted-reasoning",  # binary eventstream
    "cohere/chat/text",
    "cohere/chat-v1/ndjson-stream-json",  # application/stream+json
    "ollama/chat/docs-midstream-error-ndjson",
]


def test_the_56_recorded_cases_exist() -> None:
    assert len(RECORDED) == 56
    assert {c.api for c in RECORDED} == {
        "openai/chat-completions",
        "openai/responses",
        "anthropic/messages",
        "gemini/generate-content",
        "bedrock/converse-stream",
        "cohere/chat",
        "cohere/chat-v1",
        "ollama/chat",
    }
    assert {c.source.kind for c in RECORDED} == {"recorded", "reframed"}


def test_ids_are_unique_and_equal_the_folder_path() -> None:
    assert len(set(IDS)) == len(IDS)
    for case in CASES:
        assert case.folder.relative_to(CASSETTES_ROOT).as_posix() == case.id
    assert sorted(IDS, key=lambda i: i.split("/")) == IDS  # iter_cases is ordered by path


def test_the_replay_sample_covers_every_api() -> None:
    assert {BY_ID[i].api for i in REPLAYED} == {c.api for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_case_files_agree_with_the_manifest(case: Case) -> None:
    body = case_body(case)
    assert hashlib.sha256(body).hexdigest() == case.stream.sha256
    assert hashlib.sha256(cassette_body(case)).hexdigest() == case.stream.sha256
    if case.source.kind == "recorded":
        assert case.source.sha256 == case.stream.sha256
    codec = get_codec(case.api)
    assert case.flavour in codec.flavours
    assert case.framing in codec.framings
    assert len(case.description) <= 70


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_expected_sequence_obeys_the_rules(case: Case) -> None:
    events = expected_events(case)
    assert case.expected.reviewed
    assert not [v for v in check(events) if v.level is Level.MUST]
    warnings = [v.rule for v in check(events) if v.level is Level.SHOULD]
    assert warnings == ALLOWED_WARNINGS.get(case.id, [])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_codec_decodes_the_stream_to_the_expected_sequence(case: Case) -> None:
    decoder = get_codec(case.api).new_decoder(case.flavour, framing=case.framing)
    assert decoder.feed(case_body(case)) + decoder.close() == expected_events(case)


@pytest.mark.skipif(not (REFERENCE_STREAMS / "PROVENANCE.json").is_file(), reason="no reference streams")
@pytest.mark.parametrize("case", RECORDED, ids=[c.id for c in RECORDED])
def test_the_source_is_the_reference_recording(case: Case) -> None:
    assert case.source.reference_file is not None
    raw = (REFERENCE_STREAMS / case.source.reference_file).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == case.source.sha256
    if case.source.kind == "recorded":
        assert raw == case_body(case)
    else:  # payload lines, framed again for the API
        assert reframe(raw, api=case.api) == case_body(case)


@pytest.mark.skipif(not (REFERENCE_STREAMS.parent / "QUIRKS.md").is_file(), reason="no QUIRKS.md")
def test_the_schema_knows_exactly_the_quirk_ids_of_quirks_md() -> None:
    text = (REFERENCE_STREAMS.parent / "QUIRKS.md").read_text(encoding="utf-8")
    heads = re.findall(r"^\d+\. \*\*(.+?)\*\*", text, re.M)  # an entry's bold head: one or two ids
    ids = [i for head in heads for i in re.findall(r"`([^`]+)`", head)]
    assert load_schema("case.schema.json")["$defs"]["quirk"]["enum"] == ids


def test_the_schema_and_the_quirk_catalogue_agree() -> None:
    quirks = pytest.importorskip("conformance.quirks")
    assert load_schema("case.schema.json")["$defs"]["quirk"]["enum"] == [q.id for q in quirks.quirks()]


@pytest.mark.skipif(not (REFERENCE_STREAMS / "PROVENANCE.json").is_file(), reason="no reference streams")
def test_the_corpus_is_exactly_what_the_import_script_writes(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(
        "importer", Path(__file__).parents[1] / "tools/import_reference_streams.py"
    )
    assert spec is not None
    assert spec.loader is not None
    importer = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "importer", importer)  # its dataclasses look themselves up there
    spec.loader.exec_module(importer)
    root = tmp_path / "cassettes"
    shutil.copytree(CASSETTES_ROOT, root)
    case = BY_ID["bedrock/converse-stream/redacted-reasoning"]
    for name in ("case.json", "cassette.yaml", "stream.bin"):  # lost files are rebuilt as they were
        (root / case.id / name).unlink()
    args = ["--streams", str(REFERENCE_STREAMS), "--root", str(root), "--expected", str(tmp_path / "none")]
    assert importer.main(args) == 0
    assert f"3 files written; {len(CASES)} cases" in capsys.readouterr().out
    assert importer.main(args) == 0
    assert f"0 files written; {len(CASES)} cases" in capsys.readouterr().out
    for name in ("case.json", "cassette.yaml", "stream.bin"):
        assert (root / case.id / name).read_bytes() == (case.folder / name).read_bytes()


# -- replay with plain vcrpy -------------------------------------------------------------------


def _uri(case: Case) -> str:
    with vcr.VCR(record_mode="none").use_cassette(str(case.cassette_path)) as cassette:
        return str(cassette.requests[0].uri)


@pytest.mark.parametrize("case_id", REPLAYED)
def test_vcrpy_replays_the_exact_body_once_and_never_the_network(case_id: str) -> None:
    case = BY_ID[case_id]
    uri = _uri(case)
    my_vcr = vcr.VCR(record_mode="none")
    with my_vcr.use_cassette(str(case.cassette_path)) as cassette, httpx.Client() as client:
        response = client.request(case.request.method, uri, headers=dict(case.request.headers))
        assert response.status_code == 200
        assert response.headers["content-type"] == case.stream.content_type
        assert hashlib.sha256(response.content).hexdigest() == case.stream.sha256
        assert cassette.play_count == 1
        with pytest.raises(CannotOverwriteExistingCassetteException):
            client.request(case.request.method, uri.replace(case.request.path, "/elsewhere", 1))


# -- the loader's checks -------------------------------------------------------------------------


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of one small case, at the same relative path under a scratch root."""
    case = BY_ID["openai/chat-completions/parallel-tool-calls"]
    target = tmp_path / case.id
    shutil.copytree(case.folder, target)
    return target


def _edit(folder: Path, change: Any) -> None:
    manifest = json.loads((folder / "case.json").read_text(encoding="utf-8"))
    change(manifest)
    (folder / "case.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _line(folder: Path, needle: str) -> int:
    lines = (folder / "case.json").read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if needle in line)


def test_a_copied_case_loads(copy: Path) -> None:
    case = load_case(copy)
    assert case_body(case) == cassette_body(case)
    assert expected_events(case) == expected_events(BY_ID[case.id])


def test_a_schema_problem_names_the_file_and_line(copy: Path) -> None:
    _edit(copy, lambda m: m["stream"].update(sha256="abc"))
    with pytest.raises(CaseError) as info:
        load_case(copy)
    assert info.value.path == str(copy / "case.json")
    assert info.value.line == _line(copy, '"sha256": "abc"')
    assert "$.stream.sha256" in str(info.value)


def test_an_unknown_quirk_is_refused_at_its_line(copy: Path) -> None:
    _edit(copy, lambda m: m["quirks"].append("no.such_quirk"))
    with pytest.raises(CaseError) as info:
        load_case(copy)
    assert info.value.line == _line(copy, "no.such_quirk")


def test_a_bad_json_manifest_names_its_line(copy: Path) -> None:
    (copy / "case.json").write_text('{\n  "id": "x",\n  oops\n}\n', encoding="utf-8")
    with pytest.raises(CaseError) as info:
        load_case(copy)
    assert info.value.line == 3


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (lambda m: m.update(flavour="gemini"), '"flavour"', "not a flavour"),
        (lambda m: m.update(framing="ndjson"), '"framing"', "not a framing"),
        (lambda m: m.update(id="openai/chat-completions/other"), '"id"', "folder"),
        (lambda m: m.update(description="should stream calls"), '"description"', "should"),
        (lambda m: m["source"].update(sha256="0" * 64), '"0000', "digests differ"),
        (lambda m: m.update(chunks=[5, 3]), '"chunks"', "increase"),
        (lambda m: m["request"].update(recordable=True), '"recordable"', "recordable"),
    ],
    ids=["flavour", "framing", "id", "description", "recorded-sha256", "chunks", "recordable"],
)
def test_rules_beyond_the_schema_are_enforced(copy: Path, change: Any, key: str, words: str) -> None:
    _edit(copy, change)
    with pytest.raises(CaseError, match=re.escape(words)) as info:
        load_case(copy)
    assert info.value.line == _line(copy, key)


def test_lines_are_found_for_nested_and_missing_json_paths() -> None:
    from conformance._json_lines import line_of

    text = '{\n  "a": [1,\n    {"b": "x"}],\n  "c": null\n}\n'
    assert [line_of(text, p) for p in (".a[1].b", ".a[0]", ".c", ".c.d", "")] == [3, 2, 4, 4, 1]
    assert line_of("{oops", ".a") is None


def test_a_changed_stream_fails_its_checksum(copy: Path) -> None:
    case = load_case(copy)
    data = bytearray(case.stream_path.read_bytes())
    data[10] ^= 1
    case.stream_path.write_bytes(bytes(data))
    with pytest.raises(CaseError, match="sha256"):
        case_body(case)


def test_a_cassette_for_another_request_is_refused(copy: Path) -> None:
    case = load_case(copy)
    text = case.cassette_path.read_text(encoding="utf-8")
    case.cassette_path.write_text(text.replace("/v1/chat/completions", "/v1/completions"), encoding="utf-8")
    with pytest.raises(CaseError, match="not the manifest's"):
        cassette_body(case)


def test_an_expected_line_that_is_not_an_event_is_named(copy: Path) -> None:
    case = load_case(copy)
    lines = case.expected_path.read_text(encoding="utf-8").splitlines()
    lines[2] = '{"type":"block.delta"}'
    case.expected_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CaseError) as info:
        expected_events(case)
    assert info.value.line == 3


def test_write_case_rewrites_nothing_that_is_right_and_fixes_what_is_not(copy: Path) -> None:
    case = load_case(copy)
    manifest = json.loads(case.manifest_path.read_text(encoding="utf-8"))
    body, events = case_body(case), expected_events(case)
    base = _uri(case).removesuffix(case.request.path)
    assert write_case(copy, manifest, body, events, base_url=base) == []
    case.expected_path.write_text("", encoding="utf-8")
    assert write_case(copy, manifest, body, events, base_url=base) == [case.expected_path]
    assert expected_events(load_case(copy)) == events
    assert not list(copy.glob(".*.tmp"))


def test_write_case_refuses_a_bad_manifest_before_writing(tmp_path: Path) -> None:
    case = BY_ID["openai/chat-completions/parallel-tool-calls"]
    manifest = json.loads(case.manifest_path.read_text(encoding="utf-8"))
    manifest["tier"] = "sometimes"
    with pytest.raises(CaseError):
        write_case(tmp_path / case.id, manifest, case_body(case), [], base_url="https://api.openai.com")
    assert not (tmp_path / case.id).exists()
