"""``conformance check`` and ``conformance list``: the real corpus is clean, and each way
of breaking a case gives exactly the right problem, naming the file (and line), while
the other cases are still checked."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance.cassettes import CASSETTES_ROOT, cassette_yaml, load_case
from conformance.check import check_corpus, check_path
from conformance.cli import main
from conformance.quirks import quirk_ids, quirks
from conformance.schemas import load_schema
from tests.helpers import REFERENCE_STREAMS

CASE = "openai/chat-completions/parallel-tool-calls"
OTHER = "anthropic/messages/text-then-tool-use"
REAL_CASES = sorted(p.parent for p in CASSETTES_ROOT.glob("*/*/*/case.json"))

pytestmark = pytest.mark.skipif(not (CASSETTES_ROOT / CASE).is_dir(), reason="the corpus is not here")

_RANDOM = "Xy12" * 10  # a bare random-looking credential (the shape of Cohere/Mistral keys)
_OPENAI = "sk-proj-" + "A1b2C3d4E5f6G7h8J9k0" * 4  # built here so this file holds no key


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out.splitlines(), err


def _line(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


# -- the real corpus -------------------------------------------------------------------


def test_the_real_corpus_checks_clean() -> None:
    report = check_path(CASSETTES_ROOT)
    assert [p.render() for p in report.problems] == []
    assert report.cases == len(REAL_CASES) > 0


def test_conformance_check_exits_0_on_the_real_corpus(capsys: pytest.CaptureFixture[str]) -> None:
    status, lines, err = _run(capsys, "check")
    assert (status, lines, err) == (0, [f"{len(REAL_CASES)} cases, 0 problems"], "")


# -- a table of broken cassettes ---------------------------------------------------------


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Two real cases and the README, copied: break one, check the other stays clean."""
    root = tmp_path / "cassettes"
    for case_id in (CASE, OTHER):
        shutil.copytree(CASSETTES_ROOT / case_id, root / case_id)
    (root / "README.md").write_text("# the format\n", encoding="utf-8")
    return root


Expected = list[tuple[str, int | None, str]]  # (file under the case folder, line, part of the message)


def _edit(folder: Path, name: str, change: Callable[[str], str]) -> str:
    path = folder / name
    text = change(path.read_text(encoding="utf-8"))
    path.write_text(text, encoding="utf-8")
    return text


def _edit_manifest(folder: Path, change: Callable[[dict[str, Any]], None]) -> str:
    def rewrite(text: str) -> str:
        manifest = json.loads(text)
        change(manifest)
        return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"

    return _edit(folder, "case.json", rewrite)


def _set(key: str, value: object) -> Callable[[dict[str, Any]], None]:
    def change(manifest: dict[str, Any]) -> None:
        manifest[key] = value

    return change


def bad_json(folder: Path) -> Expected:
    text = _edit(folder, "case.json", lambda t: t.replace('"tier": "required",', '"tier": "required",,'))
    return [("case.json", _line(text, '"tier"'), "not JSON")]


def schema_violation(folder: Path) -> Expected:
    text = _edit_manifest(folder, _set("tier", "mandatory"))
    return [("case.json", _line(text, '"tier"'), "'mandatory' is not one of ['required', 'optional']")]


def wrong_sha(folder: Path) -> Expected:
    stream = folder / "stream.sse"
    stream.write_bytes(stream.read_bytes().replace(b"gpt-4o", b"gpt-4x", 1))  # same size, other bytes
    return [("stream.sse", None, "is not the manifest's")]


def cassette_body_differs_from_stream(folder: Path) -> Expected:
    case = load_case(folder)
    body = (folder / "stream.sse").read_bytes().replace(b"Edinb", b"Edinx", 1)
    (folder / "cassette.yaml").write_text(cassette_yaml(case, body, base_url="https://api.openai.com"))
    return [("cassette.yaml", None, "is not the manifest's")]


def unknown_quirk(folder: Path) -> Expected:
    def change(manifest: dict[str, Any]) -> None:
        manifest["quirks"] = ["tool_args.split_mid_token", "tool_args.made_up"]

    text = _edit_manifest(folder, change)
    message = f"'tool_args.made_up' is not one of the {len(quirk_ids())} known values"
    return [("case.json", _line(text, "tool_args.made_up"), message)]


def long_description(folder: Path) -> Expected:
    text = _edit_manifest(folder, _set("description", "two parallel tool calls " + "x" * 47))
    return [("case.json", _line(text, '"description"'), "is too long")]


def should_description(folder: Path) -> Expected:
    text = _edit_manifest(folder, _set("description", "the decoder should see two tool calls"))
    return [("case.json", _line(text, '"description"'), "no 'should'")]


def says_test_that(folder: Path) -> Expected:
    text = _edit_manifest(folder, _set("description", "a stream to test that two tool calls stream"))
    return [("case.json", _line(text, '"description"'), "no 'test that'")]


def duplicate_id(folder: Path) -> Expected:
    copy = folder.with_name(folder.name + "-copy")
    shutil.copytree(folder, copy)
    return [("../parallel-tool-calls-copy/case.json", 2, "duplicate id")]


def id_not_folder(folder: Path) -> Expected:
    _edit_manifest(folder, _set("id", "openai/chat-completions/other-name"))
    return [("case.json", 2, "is not <api>/<folder name>")]


def orphan_file(folder: Path) -> Expected:
    (folder / "notes.txt").write_text("a note\n")
    return [("notes.txt", None, "orphan file")]


def orphan_folder(folder: Path) -> Expected:
    (folder / "__pycache__").mkdir()
    return [("__pycache__", None, "orphan folder")]


def missing_file(folder: Path) -> Expected:
    (folder / "expected.jsonl").unlink()
    return [("expected.jsonl", None, "missing")]


def stream_of_another_framing(folder: Path) -> Expected:
    (folder / "stream.sse").rename(folder / "stream.ndjson")
    return [("case.json", None, "the case has no stream.sse")]


def bad_expected_line(folder: Path) -> Expected:
    def change(text: str) -> str:
        lines = text.splitlines(keepends=True)
        lines[4] = '{"type":"block.delta","block":0}\n'  # no text
        return "".join(lines)

    _edit(folder, "expected.jsonl", change)
    return [("expected.jsonl", 5, "text")]


def must_violation(folder: Path) -> Expected:
    lines = (folder / "expected.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    first_end = next(i for i, line in enumerate(lines) if '"block.end"' in line)
    del lines[first_end]  # block 0 never ends: the finish comes with a block open
    text = "".join(lines)
    (folder / "expected.jsonl").write_text(text, encoding="utf-8")

    def change(manifest: dict[str, Any]) -> None:
        manifest["expected"] = {**manifest["expected"], "events": len(lines), "reviewed": False}

    _edit_manifest(folder, change)
    return [("expected.jsonl", _line(text, '"type":"finish"'), "MUST rule block.closed-before-finish")]


def decoder_disagrees(folder: Path) -> Expected:
    _edit(folder, "expected.jsonl", lambda t: t.replace('"model":"gpt-4o-2024-08-06"', '"model":"gpt-4o"', 1))
    return [("expected.jsonl", 1, "the reference decoder disagrees")]


def decoder_chunks_differently(folder: Path) -> Expected:
    lines = (folder / "expected.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    first, second = json.loads(lines[2]), json.loads(lines[3])
    assert first["type"] == second["type"] == "block.delta"
    lines[2:4] = [json.dumps({**first, "text": first["text"] + second["text"]}, separators=(",", ":")) + "\n"]
    (folder / "expected.jsonl").write_text("".join(lines), encoding="utf-8")

    def change(manifest: dict[str, Any]) -> None:
        manifest["expected"] = {**manifest["expected"], "events": len(lines)}

    _edit_manifest(folder, change)
    return [("expected.jsonl", 3, "disagrees (reviewed case): equal only after folding")]


def openai_key_in_cassette(folder: Path) -> Expected:
    body = f'    body: \'{{"model": "gpt-4o", "user": "{_OPENAI}"}}\'\n'
    text = _edit(folder, "cassette.yaml", lambda t: t.replace("    body: null\n", body, 1))
    return [("cassette.yaml", _line(text, _OPENAI), "possible openai key")]


def authorization_header(folder: Path) -> Expected:
    header = f"    headers:\n      authorization:\n      - Bearer {_RANDOM}\n"
    text = _edit(folder, "cassette.yaml", lambda t: t.replace("    headers:\n", header, 1))
    return [("cassette.yaml", _line(text, "authorization:"), "possible credential header")]


def key_query_parameter(folder: Path) -> Expected:
    text = _edit(
        folder,
        "cassette.yaml",
        lambda t: t.replace("/chat/completions\n", f"/chat/completions?key={_RANDOM}\n"),
    )

    def change(manifest: dict[str, Any]) -> None:
        manifest["request"] = {**manifest["request"], "query": {"key": _RANDOM}}

    manifest = _edit_manifest(folder, change)
    return [
        ("case.json", _line(manifest, '"key"'), "request query: possible key query parameter"),
        ("cassette.yaml", _line(text, "?key="), "possible key query parameter"),
    ]


BREAKERS = [
    bad_json,
    schema_violation,
    wrong_sha,
    cassette_body_differs_from_stream,
    unknown_quirk,
    long_description,
    should_description,
    says_test_that,
    duplicate_id,
    id_not_folder,
    orphan_file,
    orphan_folder,
    missing_file,
    stream_of_another_framing,
    bad_expected_line,
    must_violation,
    decoder_disagrees,
    decoder_chunks_differently,
    openai_key_in_cassette,
    authorization_header,
    key_query_parameter,
]


def os_rel(file: str, folder: Path) -> str:
    return os.path.relpath(file, folder).replace(os.sep, "/")


@pytest.mark.parametrize("breaker", BREAKERS, ids=lambda b: b.__name__)
def test_each_breakage_gives_exactly_the_right_problem(
    corpus: Path, breaker: Callable[[Path], Expected]
) -> None:
    folder = corpus / CASE
    expected = breaker(folder)
    problems = check_corpus(corpus)
    assert [(os_rel(p.file, folder), p.line) for p in problems] == [(f, line) for f, line, _ in expected], [
        p.render() for p in problems
    ]
    for problem, (_, _, text) in zip(problems, expected, strict=True):
        assert text in problem.message


@pytest.mark.parametrize("breaker", [openai_key_in_cassette, bad_expected_line, schema_violation])
def test_the_cli_prints_file_line_message_and_goes_on(
    corpus: Path, breaker: Callable[[Path], Expected], capsys: pytest.CaptureFixture[str]
) -> None:
    ((name, line, text),) = breaker(corpus / CASE)
    status, lines, err = _run(capsys, "check", str(corpus))
    assert (status, err) == (1, "")
    assert lines[-1] == "2 cases, 1 problem"
    (problem,) = lines[:-1]
    assert problem.startswith(f"{corpus / CASE / name}:{line}: ")
    assert text in problem
    assert _OPENAI[8:] not in problem  # a secret is never printed


def test_problems_in_several_cases_are_all_reported_in_folder_order(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orphan_file(corpus / CASE)
    (corpus / OTHER / "stream.sse").write_bytes(b"data: {}\n\n")
    status, lines, _ = _run(capsys, "check", str(corpus))
    assert status == 1
    assert lines == [
        f"{corpus / OTHER / 'stream.sse'}: 10 bytes, but the manifest says "
        f"{json.loads((corpus / OTHER / 'case.json').read_text())['stream']['bytes']}",
        f"{corpus / CASE / 'notes.txt'}: orphan file: a case folder holds only its four files",
        "2 cases, 2 problems",
    ]


def test_one_case_folder_can_be_checked_alone(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing_file(corpus / CASE)
    status, lines, _ = _run(capsys, "check", str(corpus / CASE))
    assert status == 1
    assert lines[-1] == "1 case, 1 problem"
    assert lines[0].startswith(f"{corpus / CASE / 'expected.jsonl'}: missing")
    assert _run(capsys, "check", str(corpus / OTHER))[:2] == (0, ["1 case, 0 problems"])


@pytest.mark.parametrize("name", ["case.json", "cassette.yaml", "stream.sse", "expected.jsonl"])
def test_garbage_in_any_file_is_a_problem_never_an_exception(corpus: Path, name: str) -> None:
    (corpus / CASE / name).write_bytes(b"\xff\xfe\x00garbage: [\n\x80")
    problems = check_corpus(corpus)
    assert [os_rel(p.file, corpus / CASE) for p in problems] == [name], [p.render() for p in problems]


def test_stray_entries_outside_case_folders_are_problems_but_readme_is_not(corpus: Path) -> None:
    (corpus / "notes.txt").write_text("x")
    (corpus / "openai" / "index.json").write_text("{}")
    (corpus / "openai" / "chat-completions" / "README.md").write_text("x")
    problems = check_corpus(corpus)
    assert [(os_rel(p.file, corpus), p.line) for p in problems] == [
        ("notes.txt", None),
        ("openai/chat-completions/README.md", None),
        ("openai/index.json", None),
    ]
    assert all("stray file" in p.message for p in problems)


def test_a_path_that_is_no_folder_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["check", str(tmp_path / "nowhere")])
    assert exit_info.value.code == 2
    assert "is not a folder" in capsys.readouterr().err


# -- conformance list ------------------------------------------------------------------


def test_list_shows_every_api_with_flavours_framings_and_cases(capsys: pytest.CaptureFixture[str]) -> None:
    status, lines, _ = _run(capsys, "list")
    assert status == 0
    assert any(
        line.startswith("gemini/generate-content  flavours: gemini, vertex  framings: sse, json-array")
        for line in lines
    )
    case = load_case(CASSETTES_ROOT / CASE)
    assert f"  {CASE}  [{case.tier}]  {case.description}" in lines
    assert sum(1 for line in lines if line.startswith("  ")) == len(REAL_CASES)


def test_list_json_for_one_api(capsys: pytest.CaptureFixture[str]) -> None:
    status, lines, _ = _run(capsys, "list", "--api", "anthropic/messages", "--json")
    data = json.loads("\n".join(lines))
    assert status == 0
    assert [a["api"] for a in data["apis"]] == ["anthropic/messages"]
    ids = [c["id"] for c in data["apis"][0]["cases"]]
    assert ids == sorted(str(p.relative_to(CASSETTES_ROOT)) for p in REAL_CASES if "anthropic/" in str(p))
    assert set(data["apis"][0]["cases"][0]) == {"id", "tier", "description"}


def test_list_with_a_bad_api_exits_2_naming_the_valid_ones(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["list", "--api", "openai/chat"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "openai/chat-completions" in err
    assert "anthropic/messages" in err


def test_list_quirks_names_the_covering_cases_or_none_yet(capsys: pytest.CaptureFixture[str]) -> None:
    status, lines, _ = _run(capsys, "list", "--quirks")
    assert status == 0
    by_id = {line.split()[0]: line.split(None, 1)[1] for line in lines}
    assert list(by_id) == [q.id for q in quirks()]
    assert CASE in by_id["openai.chat.parallel_tool_calls_sequential_indices"].split(", ")
    cited = {q for folder in REAL_CASES for q in load_case(folder).quirks}
    reasons = {q.id for q in quirks() if q.not_expressible is not None}
    assert {q for q, cases in by_id.items() if cases == "none yet"} == quirk_ids() - cited - reasons
    for quirk in reasons:  # the reason is shown instead of "none yet"
        assert by_id[quirk].startswith("not expressible as a case: ")


def test_list_counts_broken_folders_on_stderr(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad_json(corpus / CASE)
    status, lines, err = _run(capsys, "list", str(corpus), "--json")
    data = json.loads("\n".join(lines))
    assert status == 0
    assert data["broken"] == [str(corpus / CASE)]
    assert "1 case folder(s) do not load" in err


# -- the quirk catalogue ------------------------------------------------------------------


def test_quirk_data_matches_the_case_schema_enum() -> None:
    assert [q.id for q in quirks()] == load_schema("case.schema.json")["$defs"]["quirk"]["enum"]


def test_quirk_data_matches_quirks_md_when_present() -> None:
    source = REFERENCE_STREAMS.parent / "QUIRKS.md"
    if not source.is_file():
        pytest.skip("QUIRKS.md is not here")
    bold = re.findall(r"^\d+\. \*\*(.+?)\*\* — ", source.read_text(encoding="utf-8"), re.MULTILINE)
    ids = [name.strip("`") for entry in bold for name in entry.split(" / ")]
    assert [q.id for q in quirks()] == ids
    assert all(q.kind and q.title and q.entry >= 1 for q in quirks())
