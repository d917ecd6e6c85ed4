"""The corpus checked by the vendors' own SDKs (issue 9, part 2).

Every recorded case of OpenAI Chat, OpenAI Responses, Anthropic Messages and Gemini is
served by the loopback server to the vendor's official SDK (openai, anthropic,
google-genai), and what the SDK's own accumulator assembles -- text, reasoning, tool calls
with their arguments, signatures, finish reason, usage, the error -- is compared field by
field with the same view of the fold of the case's expected sequence
(``tests/sdk_assemble.py``).

Where the two disagree and our sequence is right, ``tests/data/sdk_divergences.json``
records the value the SDK produces and ``docs/sdk-divergences.md`` the evidence.  The test
then asserts that the SDK still produces exactly that value, so a mark fails as soon as
the SDK changes (or the expected sequence does) instead of hiding a new disagreement.

Loopback only (127.0.0.1), no retries, bounded timeouts; the cases of an SDK that is not
installed are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.cassettes import Case, case_body, iter_cases
from conformance.events import (
    BlockDelta,
    BlockEnd,
    BlockStart,
    Error,
    ErrorCategory,
    ErrorPhase,
    Event,
    ResponseStart,
    Usage,
)
from conformance.fold import fold
from conformance.registry import get_codec
from conformance.server import LoopbackServer, plan_for_case
from tests.sdk_assemble import FIELDS, SDKS, expected_assembly, plan_for_sdk, sse_from_json_array

pytestmark = pytest.mark.filterwarnings(
    # pydantic's warning when the openai SDK serialises Mistral's list-valued content
    # (a documented divergence: openai/chat-completions/mistral-magistral-thinking-content-array)
    "ignore:Pydantic serializer warnings:UserWarning"
)

_ROOT = Path(__file__).resolve().parent.parent
DIVERGENCES_FILE = _ROOT / "tests" / "data" / "sdk_divergences.json"
DIVERGENCES_DOC = _ROOT / "docs" / "sdk-divergences.md"

CASES: list[Case] = [case for case in iter_cases() if case.source.kind == "recorded" and case.api in SDKS]
JSON_ARRAY_CASES = [case for case in CASES if case.framing == "json-array"]


def _divergences() -> dict[str, dict[str, dict[str, Any]]]:
    data = json.loads(DIVERGENCES_FILE.read_text(encoding="utf-8"))
    table: dict[str, dict[str, dict[str, Any]]] = data["divergences"]
    return table


DIVERGENCES = _divergences()


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


def _show(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 240 else f"{text[:240]}... ({len(text)} chars)"


def _problems(marks: dict[str, dict[str, Any]], got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """Every field where the SDK's value (``got``) is not the expected one (``want``), unless
    ``marks`` documents exactly that value; and every mark that no longer matches."""
    problems = []
    for name in FIELDS:
        mark = marks.get(name)
        if mark is None:
            if got[name] != want[name]:
                problems.append(
                    f"{name}: the SDK assembled {_show(got[name])}, the expected sequence folds to "
                    f"{_show(want[name])} (fix the expected sequence, or document the divergence)"
                )
        elif got[name] == want[name]:
            problems.append(
                f"{name}: the documented divergence is gone (the SDK now agrees with the expected "
                f"sequence): remove it from {DIVERGENCES_FILE.name} and {DIVERGENCES_DOC.name}"
            )
        elif got[name] != mark["sdk"]:
            problems.append(
                f"{name}: the SDK changed: it now assembles {_show(got[name])}, documented "
                f"{_show(mark['sdk'])}, expected {_show(want[name])}"
            )
    return problems


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_the_sdk_assembles_the_fold_of_the_expected_sequence(server: LoopbackServer, case: Case) -> None:
    spec = SDKS[case.api]
    pytest.importorskip(spec.module)
    token = server.expect(plan_for_sdk(case))
    got = spec.run(server.base_url(token), case).as_json()
    want = spec.expected(case).as_json()
    problems = _problems(DIVERGENCES.get(case.id, {}), got, want)
    assert not problems, f"{case.id} through the {spec.module} SDK:\n  " + "\n  ".join(problems)


def test_every_divergence_names_a_checked_case_and_field_and_is_documented() -> None:
    doc = DIVERGENCES_DOC.read_text(encoding="utf-8")
    checked = {case.id for case in CASES}
    for case_id, marks in DIVERGENCES.items():
        assert case_id in checked, f"{case_id}: not a recorded case the cross-check runs"
        assert f"`{case_id}`" in doc, f"{case_id}: no section in {DIVERGENCES_DOC.name}"
        for name, mark in marks.items():
            assert name in FIELDS, f"{case_id}: {name!r} is not a compared field ({', '.join(FIELDS)})"
            assert set(mark) == {"sdk", "reason"}, f"{case_id} {name}: a mark is {{sdk, reason}}"
            assert mark["reason"].strip(), f"{case_id} {name}: the reason is empty"


@pytest.mark.parametrize("case", JSON_ARRAY_CASES, ids=[case.id for case in JSON_ARRAY_CASES])
def test_the_sse_reframing_of_a_json_array_case_decodes_to_the_same_sequence(case: Case) -> None:
    codec = get_codec(case.api)
    array = codec.new_decoder(case.flavour, framing="json-array")
    sse = codec.new_decoder(case.flavour, framing="sse")
    body = case_body(case)
    from_array = fold([*array.feed(body), *array.close()])
    reframed = sse_from_json_array(body)
    assert fold([*sse.feed(reframed), *sse.close()]) == from_array


def test_the_gemini_sdk_asks_for_sse_so_json_array_cases_are_served_as_sse(server: LoopbackServer) -> None:
    pytest.importorskip("google.genai")
    case = JSON_ARRAY_CASES[0]
    token = server.expect(plan_for_sdk(case))
    SDKS[case.api].run(server.base_url(token), case)
    (record,) = server.connections(token)
    assert record.query.get("alt") == "sse"


@pytest.mark.parametrize("case", JSON_ARRAY_CASES, ids=[case.id for case in JSON_ARRAY_CASES])
def test_the_gemini_sdk_cannot_read_the_json_array_framing(server: LoopbackServer, case: Case) -> None:
    pytest.importorskip("google.genai")
    token = server.expect(plan_for_case(case, chunking="frames"))
    assembled = SDKS[case.api].run(server.base_url(token), case)
    assert assembled.error == {"exception": "UnknownApiResponseError"}


def test_a_mark_holds_only_while_the_sdk_assembles_exactly_the_documented_value() -> None:
    want: dict[str, Any] = dict.fromkeys(FIELDS) | {"usage": {"input_tokens": 13}}
    marks = {"usage": {"sdk": None, "reason": "erased by a later chunk"}}
    assert _problems(marks, want | {"usage": None}, want) == []
    (changed,) = _problems(marks, want | {"usage": {"input_tokens": 99}}, want)
    assert changed.startswith("usage: the SDK changed")
    (gone,) = _problems(marks, want, want)
    assert gone.startswith("usage: the documented divergence is gone")
    (unmarked,) = _problems({}, want | {"text": "x"}, want)
    assert unmarked.startswith("text: the SDK assembled")


def test_the_expected_view_joins_text_keeps_argument_text_only_where_asked_and_hides_own_messages() -> None:
    events: list[Event] = [
        ResponseStart(response_id="r1", model="m1"),
        BlockStart(block=0, kind="text"),
        BlockDelta(block=0, text="Hel"),
        BlockStart(block=1, kind="tool_call", id="c1", name="f"),
        BlockDelta(block=1, text='{"a":'),
        BlockDelta(block=0, text="lo"),
        BlockDelta(block=1, text=" 1}"),
        BlockEnd(block=0, signature="sig"),
        BlockEnd(block=1, arguments_raw='{"a": 1}', arguments={"a": 1}),
        Usage(input_tokens=3, output_tokens=4),
        Error(
            category=ErrorCategory.PROTOCOL,
            message="the stream ended early",
            retryable=True,
            phase=ErrorPhase.MID_STREAM,
        ),
    ]
    with_text = expected_assembly(events, raw_argument_kinds=frozenset({"tool_call"}))
    assert with_text.as_json() == {
        "response_id": "r1",
        "model": "m1",
        "text": "Hello",
        "reasoning": "",
        "tools": [
            {"kind": "tool_call", "id": "c1", "name": "f", "arguments_raw": '{"a": 1}', "arguments": {"a": 1}}
        ],
        "signatures": ["sig"],
        "finish": None,
        "usage": {
            "input_tokens": 3,
            "output_tokens": 4,
            "cache_read": None,
            "cache_write": None,
            "reasoning_tokens": None,
        },
        "error": {"message": None, "code": None},
    }
    parsed_only = expected_assembly(events, raw_argument_kinds=frozenset())
    assert parsed_only.tools[0].arguments_raw is None
    assert parsed_only.tools[0].arguments == {"a": 1}
