"""The synthetic corpus: it is exactly what the scenarios render, and it shows what it claims.

The scenarios are re-rendered in memory and compared byte for byte with the case folders
(so encoder drift is caught); every scenario renders for some API; the corpus is big
enough and covers every API and every expressible quirk; each authored sequence obeys the
MUST rules; and the splits and framing variants the scenarios name really happen in the
wire bytes.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from conformance.cassettes import CASSETTES_ROOT, cassette_yaml, iter_cases, load_case
from conformance.events import BlockDelta, Error, ErrorCategory, dumps
from conformance.grammar import Level, check
from conformance.quirks import quirks
from conformance.registry import get_codec
from conformance.scenarios import APIS, SCENARIOS, default_facts
from conformance.scenarios.core import MID_ESCAPE, MID_KEY, MID_NUMBER, MID_SURROGATE, MID_UNICODE_ESCAPE
from conformance.scenarios.facts import ANTHROPIC, CHAT, GEMINI, RESPONSES
from conformance.scenarios.posts import cut
from conformance.scenarios.render import Rendered, Skip, render, render_all

_DERIVED = {"stream": ("file", "sha256", "bytes"), "expected": ("file", "canonical_version", "events")}


@cache
def _results() -> tuple[list[Rendered], list[Skip]]:
    cases: list[Rendered] = []
    skips: list[Skip] = []
    for result in render_all(SCENARIOS):
        if isinstance(result, Rendered):
            cases.append(result)
        else:
            skips.append(result)
    return cases, skips


def _cases() -> list[Rendered]:
    return _results()[0]


def _by_id() -> dict[str, Rendered]:
    return {c.case_id: c for c in _cases()}


def _synthetic_folders() -> set[str]:
    return {c.id for c in iter_cases() if c.source.kind == "synthetic"}


# -- the corpus is what the scenarios render ---------------------------------------------


def test_the_corpus_holds_exactly_the_rendered_cases() -> None:
    assert _synthetic_folders() == set(_by_id())


def test_every_file_is_byte_for_byte_what_the_scenarios_render() -> None:
    for rendered in _cases():
        folder = CASSETTES_ROOT / rendered.case_id
        case = load_case(folder)
        assert case.stream_path.read_bytes() == rendered.body, rendered.case_id
        lines = "".join(dumps(e) + "\n" for e in rendered.events)
        assert case.expected_path.read_text(encoding="utf-8") == lines, rendered.case_id
        manifest = json.loads(case.manifest_path.read_text(encoding="utf-8"))
        for key, derived in _DERIVED.items():
            for name in derived:
                manifest[key].pop(name)
        assert manifest == json.loads(json.dumps(rendered.manifest)), rendered.case_id
        want = cassette_yaml(case, rendered.body, base_url=rendered.facts.base_url)
        assert case.cassette_path.read_text(encoding="utf-8") == want, rendered.case_id


def test_the_maintainer_script_check_mode(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = importlib.util.spec_from_file_location(
        "renderer", Path(__file__).parents[1] / "tools/render_synthetic.py"
    )
    assert spec is not None
    assert spec.loader is not None
    renderer = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "renderer", renderer)
    spec.loader.exec_module(renderer)
    monkeypatch.setattr(renderer, "SCENARIOS", SCENARIOS[:1])  # one scenario: quick
    root = tmp_path / "cassettes"
    assert renderer.main(["--root", str(root), "--check"]) == 1  # nothing written yet
    assert renderer.main(["--root", str(root)]) == 0
    assert renderer.main(["--root", str(root), "--check"]) == 0
    assert "0 differences" in capsys.readouterr().out
    stream = root / "openai/chat-completions/synthetic-text/stream.sse"
    stream.write_bytes(stream.read_bytes() + b": drift\n")
    assert renderer.main(["--root", str(root), "--check"]) == 1
    assert "synthetic-text/stream.sse differs" in capsys.readouterr().out
    assert renderer.main(["--root", str(root)]) == 0
    assert "wrote cassettes/openai/chat-completions/synthetic-text/stream.sse" in capsys.readouterr().out
    stray = root / "ollama/chat/synthetic-gone"
    stray.mkdir(parents=True)
    (stray / "case.json").write_text("{}")
    assert renderer.main(["--root", str(root), "--check"]) == 1
    assert renderer.main(["--root", str(root)]) == 0
    assert not stray.exists()


# -- size and coverage --------------------------------------------------------------------


def test_at_least_200_cases_and_every_api_has_some() -> None:
    cases = _cases()
    assert len(cases) >= 200
    assert {c.facts.api for c in cases} >= set(APIS)
    total = sum(len(c.body) for c in cases)
    assert total < 1_500_000, f"{total} bytes of synthetic streams"


def test_every_scenario_renders_for_at_least_one_api() -> None:
    rendered = {c.scenario.name for c in _cases()}
    assert [s.name for s in SCENARIOS if s.name not in rendered] == []
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)


def test_every_quirk_has_a_case_or_a_reason_and_never_both() -> None:
    cited = {q for case in iter_cases() for q in case.quirks}
    for quirk in quirks():
        if quirk.not_expressible is None:
            assert quirk.id in cited, f"{quirk.id}: no case and no reason"
        else:
            assert quirk.id not in cited, f"{quirk.id} has a case, yet a reason"
            assert "issue" in quirk.not_expressible


def test_skips_name_their_reason() -> None:
    skips = _results()[1]
    assert all(s.reason for s in skips)
    assert any("cannot interleave" in s.reason for s in skips)
    assert any("not expressed exactly" in s.reason for s in skips)  # the decoder check refused one


def test_a_sequence_the_decoder_reads_back_differently_is_refused() -> None:
    scenario = next(s for s in SCENARIOS if s.name == "max-tokens-mid-text")
    # Wrong about the vendor: Responses ends a cut-off item before it reports the usage.
    wrong = replace(default_facts(RESPONSES), cut_ends_first=False)
    assert isinstance(render(scenario, default_facts(RESPONSES)), Rendered)
    result = render(scenario, wrong)
    assert isinstance(result, Skip)
    assert "not expressed exactly" in result.reason


# -- the authored sequences ---------------------------------------------------------------


def _rendered_ids() -> Iterator[str]:
    yield from sorted(_by_id())


@pytest.mark.parametrize("case_id", list(_rendered_ids()))
def test_the_authored_sequence_obeys_the_must_rules(case_id: str) -> None:
    rendered = _by_id()[case_id]
    assert [v for v in check(rendered.events) if v.level is Level.MUST] == []
    assert len(rendered.manifest["description"]) <= 70  # type: ignore[arg-type]


def test_truncations_end_in_the_decoders_protocol_words() -> None:
    for rendered in _cases():
        if rendered.scenario.name.startswith("truncated-"):
            last = rendered.events[-1]
            assert isinstance(last, Error)
            assert last.category is ErrorCategory.PROTOCOL
            assert last.message
            assert "<" not in last.message


# -- the splits and variants really happen on the wire ------------------------------------


def _deltas(case_id: str) -> list[str]:
    return [e.text for e in _by_id()[case_id].events if isinstance(e, BlockDelta)]


def _chat_fragments(body: bytes) -> list[str]:
    out = []
    for line in body.split(b"\n"):
        if line.startswith(b"data: {"):
            for choice in json.loads(line[6:]).get("choices", []):
                for call in choice["delta"].get("tool_calls", []):
                    if call["function"].get("arguments"):
                        out.append(call["function"]["arguments"])
    return out


def test_mid_escape_fragments_end_in_a_lone_backslash_on_the_wire() -> None:
    body = _by_id()["openai/chat-completions/synthetic-tool-args-split-mid-escape"].body
    fragments = _chat_fragments(body)
    assert fragments == list(MID_ESCAPE)
    assert all(f.endswith("\\") and not f.endswith("\\\\") for f in fragments[:-1])
    assert _deltas("anthropic/messages/synthetic-tool-args-split-mid-escape") == list(MID_ESCAPE)


def test_unicode_escape_splits_fall_inside_escapes() -> None:
    assert MID_UNICODE_ESCAPE[0].endswith("\\u00")
    assert MID_SURROGATE[0].endswith("\\ud83d")
    assert MID_SURROGATE[1].startswith("\\ude00")
    assert MID_SURROGATE[1].endswith("\\ud8")  # inside the high half
    assert MID_SURROGATE[2].endswith("\\ude4")  # inside the low half
    for name in ("unicode-escape", "surrogate"):
        for api in (CHAT, RESPONSES, ANTHROPIC):
            case_id = f"{api}/synthetic-tool-args-split-mid-{name}"
            want = MID_UNICODE_ESCAPE if name == "unicode-escape" else MID_SURROGATE
            assert _deltas(case_id) == list(want)
    body = _by_id()["openai/chat-completions/synthetic-tool-args-split-mid-surrogate"].body
    assert _chat_fragments(body) == list(MID_SURROGATE)


def test_number_and_key_splits() -> None:
    pairs = itertools.pairwise(MID_NUMBER)
    assert all((a[-1].isdigit() or a[-1] == ".") and b[0].isdigit() for a, b in pairs)  # inside numbers
    assert MID_KEY[0] == '{"loca'
    assert _deltas("bedrock/converse-stream/synthetic-tool-args-split-mid-number") == list(MID_NUMBER)
    assert _deltas("cohere/chat/synthetic-tool-args-split-mid-key") == list(MID_KEY)


def _body(case_id: str) -> bytes:
    return _by_id()[case_id].body


def test_framing_variants_are_in_the_bytes() -> None:
    for api in (CHAT, RESPONSES, ANTHROPIC, GEMINI):
        assert _body(f"{api}/synthetic-sse-bom").startswith(b"\xef\xbb\xbf")
        assert _body(f"{api}/synthetic-sse-bom")[3:] == _body(f"{api}/synthetic-text")
        no_space = _body(f"{api}/synthetic-sse-no-space-after-colon")
        assert b"data:{" in no_space
        assert b"data: " not in no_space
        multi = _body(f"{api}/synthetic-sse-multiline-data")
        assert b"\ndata: {\n" in multi.replace(b"\r\n", b"\n")
        ids = _body(f"{api}/synthetic-sse-id-retry-fields")
        assert b"id: evt_0001" in ids
        assert b"retry: 3000" in ids
    cohere = _body("cohere/chat/synthetic-sse-no-space-after-colon")
    assert b"data:{" in cohere
    assert b"data: " not in cohere
    assert _body("openai/chat-completions/synthetic-sse-data-only-keepalive").startswith(
        b"data: \n\ndata: ping\n\n"
    )
    assert _body("openai/chat-completions/synthetic-keep-alives").count(b": keep-alive\n") >= 5
    assert _body("anthropic/messages/synthetic-keep-alives").count(b"event: ping") >= 5


def test_truncations_cut_where_they_say() -> None:
    for api in APIS:
        whole_id = f"{api}/synthetic-truncated-mid-message"
        if whole_id not in _by_id():
            continue
        inside = _body(whole_id)
        boundary = _body(f"{api}/synthetic-truncated-at-boundary")
        assert inside.startswith(boundary)
        assert len(inside) > len(boundary)
        assert b"marmot" not in boundary
        assert b"mar" in inside[len(boundary) :]
    facts = default_facts(ANTHROPIC)
    with pytest.raises(Exception, match="marker"):
        cut(b"data: {}\n\n", facts.framing, "absent", "inside")


def test_error_and_quirk_variants_show_their_vendor_form() -> None:
    assert (
        b'"type":"overloaded_error"'
        in _body("anthropic/messages/synthetic-error-as-first-event").split(b"\n\n")[0]
    )
    assert b"event: error" in _body("openai/chat-completions/synthetic-error-event-no-done-groq")
    assert b"[DONE]" not in _body("openai/chat-completions/synthetic-error-event-no-done-groq")
    assert b'\n{\n  "error": {' in _body("gemini/generate-content/synthetic-error-after-text").replace(
        b"\r\n", b"\n"
    )
    assert b":exception-type" in _body("bedrock/converse-stream/synthetic-error-after-text")
    assert b'"done_reason"' not in _body("ollama/chat/synthetic-done-reason-absent")
    assert b'{"rate_limit_usage": {' in _body("openai/chat-completions/synthetic-json-split-across-events")
    empty_name = _body("openai/chat-completions/synthetic-tool-call-continuation-fields-empty-name")
    assert b'"name":""' in empty_name


def test_every_codec_is_found_for_every_case() -> None:
    for rendered in _cases():
        codec = get_codec(rendered.facts.api)
        assert rendered.facts.flavour in codec.flavours


def test_list_quirks_json_gives_the_reasons(capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.cli import main

    assert main(["list", "--quirks", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    reasons = {q["id"]: q["not_expressible"] for q in listing["quirks"] if q["not_expressible"]}
    assert set(reasons) == {
        "transport.gzip_encoded_stream",
        "bedrock.http_error_before_stream",
        "cancellation.client_abort_mid_stream",
    }
    assert "issue 7" in reasons["transport.gzip_encoded_stream"]
    assert "issue 6" in reasons["cancellation.client_abort_mid_stream"]
