"""Units of ``conformance.drift``: each finding kind from small hand-built corpora, the
classification, the payload, shape, ordering and schema pieces, and the renderers."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from conformance.drift import (
    SEVERITY_OF,
    DriftReport,
    Finding,
    Kind,
    Severity,
    Unchecked,
    at_or_above,
    drift,
    load_corpus,
    render_json,
    render_markdown,
    report_json,
)
from conformance.drift.canonical import canonical_finding, skeleton
from conformance.drift.model import ApiSummary, verdict
from conformance.drift.ordering import ordering_changes, ordering_findings, relation
from conformance.drift.payloads import DONE, NOT_JSON, VendorPayload, extract
from conformance.drift.schema import violations
from conformance.drift.shape import Shape, field_paths, json_type, shape_findings
from conformance.errors import UsageError
from conformance.events import (
    BlockDelta,
    BlockEnd,
    BlockStart,
    Event,
    Finish,
    FinishReason,
    JSONValue,
    ResponseStart,
    Usage,
    dumps,
)
from conformance.framing.eventstream import encode_event, encode_exception

ANTHROPIC = "anthropic/messages"
CHAT = "openai/chat-completions"

# -- a small Anthropic stream and its reviewed canonical sequence ----------------------------

MESSAGE: list[dict[str, Any]] = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-x",
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": 10, "output_tokens": 1},
        },
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}},
    {"type": "content_block_stop", "index": 0},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 5},
    },
    {"type": "message_stop"},
]

EXPECTED: list[Event] = [
    ResponseStart(response_id="msg_1", model="claude-x"),
    Usage(input_tokens=10, output_tokens=1),
    BlockStart(block=0, kind="text"),
    BlockDelta(block=0, text="Hel"),
    BlockDelta(block=0, text="lo"),
    BlockEnd(block=0),
    Usage(input_tokens=10, output_tokens=5),
    Finish(reason=FinishReason.STOP, raw_reason="end_turn"),
]


def sse(payloads: list[dict[str, Any]], *, named: bool = True) -> bytes:
    """Payloads as SSE events (named after their type, as Anthropic sends them)."""
    out = []
    for p in payloads:
        head = f"event: {p['type']}\n" if named else ""
        out.append(f"{head}data: {json.dumps(p)}\n\n")
    return "".join(out).encode()


def message() -> list[dict[str, Any]]:
    """A deep copy of MESSAGE."""
    return copy.deepcopy(MESSAGE)


def write_case(
    root: Path,
    case_id: str,
    body: bytes,
    *,
    api: str = ANTHROPIC,
    flavour: str = "anthropic",
    expected: list[Event] | None = None,
) -> Path:
    """A case folder as drift reads it: case.json, the stream, and expected.jsonl if given."""
    folder = root / case_id
    folder.mkdir(parents=True)
    manifest = {
        "id": case_id,
        "api": api,
        "flavour": flavour,
        "framing": "sse",
        "stream": {"file": "stream.sse", "sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)},
    }
    (folder / "case.json").write_text(json.dumps(manifest), encoding="utf-8")
    (folder / "stream.sse").write_bytes(body)
    if expected is not None:
        (folder / "expected.jsonl").write_text("".join(dumps(e) + "\n" for e in expected), encoding="utf-8")
    return folder


def run(
    tmp_path: Path,
    candidate: list[dict[str, Any]] | bytes,
    case: str = "anthropic/messages/one",
    canonical: str = "exact",
) -> DriftReport:
    """Drift of one candidate stream against MESSAGE with its reviewed sequence."""
    write_case(tmp_path / "base", case, sse(MESSAGE), expected=EXPECTED)
    body = candidate if isinstance(candidate, bytes) else sse(candidate)
    write_case(tmp_path / "cand", case, body)
    return drift(
        load_corpus(tmp_path / "base", label="BASELINE", expected=True),
        load_corpus(tmp_path / "cand", label="CANDIDATE", expected=False),
        canonical=canonical,
    )


def kinds(report: DriftReport) -> list[tuple[str, str, str | None]]:
    return sorted((f.kind.value, f.severity.value, f.path) for f in report.findings)


# -- classification --------------------------------------------------------------------------


def test_classification_is_the_contract_table() -> None:
    assert {k.value: s.value for k, s in SEVERITY_OF.items()} == {
        "schema-violation": "critical",
        "event-type-removed": "warning",
        "event-type-added": "warning",
        "field-removed": "critical",
        "field-added": "info",
        "field-type-changed": "critical",
        "ordering-changed": "warning",
        "canonical-changed": "critical",
        "canonical-shape-changed": "warning",
        "deltas-resplit": "info",
    }


def test_verdict_is_the_worst_severity_and_thresholds_include_worse() -> None:
    def finding(kind: Kind) -> Finding:
        return Finding(kind=kind, api=ANTHROPIC, case=None, path=None, message="m")

    assert verdict([]) is None
    assert verdict([finding(Kind.FIELD_ADDED), finding(Kind.ORDERING_CHANGED)]) is Severity.WARNING
    assert verdict([finding(Kind.FIELD_ADDED), finding(Kind.FIELD_REMOVED)]) is Severity.CRITICAL
    assert at_or_above(Severity.CRITICAL, Severity.WARNING)
    assert at_or_above(Severity.WARNING, Severity.WARNING)
    assert not at_or_above(Severity.INFO, Severity.WARNING)
    assert not at_or_above(Severity.WARNING, Severity.CRITICAL)


# -- each kind from hand-built corpora -------------------------------------------------------


def test_identical_corpora_have_no_drift(tmp_path: Path) -> None:
    report = run(tmp_path, message())
    assert report.findings == ()
    assert report.could_not_check == ()
    assert report.verdict is None
    assert report.apis == {ANTHROPIC: ApiSummary(cases=1, findings=0, could_not_check=0)}


def test_a_renamed_field_is_removed_plus_added_and_changes_the_canonical_usage(tmp_path: Path) -> None:
    payloads = message()
    payloads[6]["usage"] = {"output_token_count": 5}
    report = run(tmp_path, payloads)
    assert kinds(report) == [
        ("canonical-changed", "critical", "usage"),
        ("field-added", "info", "message_delta.usage.output_token_count"),
        ("field-removed", "critical", "message_delta.usage.output_tokens"),
    ]
    removed = next(f for f in report.findings if f.kind is Kind.FIELD_REMOVED)
    assert removed.baseline == ["integer"]
    assert removed.candidate is None
    assert "renamed to 'message_delta.usage.output_token_count'?" in removed.message
    changed = next(f for f in report.findings if f.kind is Kind.CANONICAL_CHANGED)
    assert changed.case == "anthropic/messages/one"
    assert changed.baseline == {"type": "usage", "input_tokens": 10, "output_tokens": 5}
    assert changed.candidate == {"type": "usage", "input_tokens": 10, "output_tokens": 1}
    assert changed.message.endswith("at folded event 4: usage differs in output_tokens")


def test_a_retyped_field_is_a_type_change_and_a_schema_violation(tmp_path: Path) -> None:
    payloads = message()
    payloads[6]["usage"]["output_tokens"] = "5"
    report = run(tmp_path, payloads)
    found = kinds(report)
    assert ("field-type-changed", "critical", "message_delta.usage.output_tokens") in found
    assert ("schema-violation", "critical", "message_delta.usage.output_tokens") in found
    retyped = next(f for f in report.findings if f.kind is Kind.FIELD_TYPE_CHANGED)
    assert (retyped.baseline, retyped.candidate) == (["integer"], ["string"])
    violation = next(f for f in report.findings if f.kind is Kind.SCHEMA_VIOLATION)
    assert violation.candidate == "5"
    assert violation.case == "anthropic/messages/one"


def test_a_schema_violation_without_a_shape_change(tmp_path: Path) -> None:
    payloads = message()
    payloads[3]["index"] = -1  # still an integer, but the schema says minimum 0
    report = run(tmp_path, payloads)
    violations_ = [f for f in report.findings if f.kind is Kind.SCHEMA_VIOLATION]
    assert [(f.path, f.severity) for f in violations_] == [("content_block_delta.index", Severity.CRITICAL)]
    assert not [f for f in report.findings if f.kind.value.startswith("field-")]


def test_a_new_event_type_is_a_warning_and_nothing_canonical(tmp_path: Path) -> None:
    payloads = message()
    payloads.insert(1, {"type": "message_annotation", "note": "x"})
    report = run(tmp_path, payloads)
    assert kinds(report) == [("event-type-added", "warning", "message_annotation")]
    assert report.findings[0].candidate == 1  # payloads of that type
    assert report.verdict is Severity.WARNING


def test_a_vanished_event_type_is_a_warning_and_its_fields_are_not_listed(tmp_path: Path) -> None:
    payloads = [p for p in message() if p["type"] != "ping"]
    report = run(tmp_path, payloads)
    assert kinds(report) == [("event-type-removed", "warning", "ping")]


def test_a_moved_event_is_an_ordering_change_and_a_usage_move(tmp_path: Path) -> None:
    payloads = message()
    payloads[5], payloads[6] = payloads[6], payloads[5]  # message_delta before content_block_stop
    report = run(tmp_path, payloads)
    assert kinds(report) == [
        ("deltas-resplit", "info", None),
        ("ordering-changed", "warning", "content_block_stop / message_delta"),
    ]
    moved = next(f for f in report.findings if f.kind is Kind.ORDERING_CHANGED)
    assert moved.baseline == "'content_block_stop' before 'message_delta'"
    assert moved.candidate == "'content_block_stop' after 'message_delta'"
    assert moved.case == "anthropic/messages/one"
    resplit = next(f for f in report.findings if f.kind is Kind.DELTAS_RESPLIT)
    assert "usage snapshot reported at a different point" in resplit.message


def test_deltas_cut_elsewhere_are_info_only(tmp_path: Path) -> None:
    payloads = message()
    payloads[3]["delta"]["text"], payloads[4]["delta"]["text"] = "H", "ello"
    report = run(tmp_path, payloads)
    assert kinds(report) == [("deltas-resplit", "info", None)]
    assert "deltas chunked differently (block 0)" in report.findings[0].message
    assert report.verdict is Severity.INFO


def test_a_dropped_terminator_is_canonical_change_to_a_protocol_error(tmp_path: Path) -> None:
    payloads = [p for p in message() if p["type"] != "message_stop"]
    report = run(tmp_path, payloads)
    assert kinds(report) == [
        ("canonical-changed", "critical", "error"),
        ("event-type-removed", "warning", "message_stop"),
    ]
    changed = next(f for f in report.findings if f.kind is Kind.CANONICAL_CHANGED)
    assert isinstance(changed.candidate, dict)
    assert changed.candidate["category"] == "protocol"
    assert changed.message.endswith(
        "at folded event 5: baseline finish (stop), "
        "candidate error (protocol: the stream ended without message_stop)"
    )


def test_usage_moved_onto_the_finish_chunk_changes_the_landmark_order(tmp_path: Path) -> None:
    def chunk(choices: list[Any], **more: Any) -> dict[str, Any]:
        return {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": choices,
            **more,
        }

    usage = {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    text = chunk([{"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": None}])
    stop = chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}])
    before = [text, stop, chunk([], usage=usage)]
    after = [text, {**stop, "usage": usage}]

    def body(chunks: list[dict[str, Any]]) -> bytes:
        return sse(chunks, named=False) + b"data: [DONE]\n\n"

    case = "openai/chat-completions/one"
    write_case(tmp_path / "base", case, body(before), api=CHAT, flavour="openai")
    write_case(tmp_path / "cand", case, body(after), api=CHAT, flavour="openai")
    report = drift(
        load_corpus(tmp_path / "base", label="BASELINE", expected=True),
        load_corpus(tmp_path / "cand", label="CANDIDATE", expected=False),
    )
    assert kinds(report) == [("ordering-changed", "warning", "(finish) / (usage)")]
    assert report.findings[0].candidate == "'(finish)' and '(usage)' in the same payloads"
    # no expected.jsonl in this baseline: the canonical comparison is listed as not done
    assert [u.reason for u in report.could_not_check] == [
        "openai/chat-completions/one/expected.jsonl: the baseline case has no expected sequence: "
        "the canonical decoding was not compared"
    ]
    assert report.apis[CHAT].cases == 1


def test_a_broken_payload_the_baseline_already_has_is_not_drift(tmp_path: Path) -> None:
    cut = sse(MESSAGE)[:-12]  # inside the last event's JSON
    case = "anthropic/messages/cut"
    write_case(tmp_path / "base", case, cut)
    write_case(tmp_path / "cand", case, cut)
    report = drift(
        load_corpus(tmp_path / "base", label="BASELINE", expected=True),
        load_corpus(tmp_path / "cand", label="CANDIDATE", expected=False),
    )
    assert report.findings == ()


# -- could not check -------------------------------------------------------------------------


def test_missing_and_extra_and_damaged_cases_are_listed_apart(tmp_path: Path) -> None:
    base, cand = tmp_path / "base", tmp_path / "cand"
    for name in ("kept", "missing", "damaged"):
        write_case(base, f"anthropic/messages/{name}", sse(MESSAGE), expected=EXPECTED)
    write_case(cand, "anthropic/messages/kept", sse(MESSAGE))
    write_case(cand, "anthropic/messages/extra", sse(MESSAGE))
    damaged = write_case(cand, "anthropic/messages/damaged", sse(MESSAGE))
    (damaged / "stream.sse").write_bytes(sse(MESSAGE)[:-1] + b"X")
    report = drift(
        load_corpus(base, label="BASELINE", expected=True),
        load_corpus(cand, label="CANDIDATE", expected=False),
    )
    assert report.findings == ()
    assert report.verdict is None
    reasons = {u.case: u.reason for u in report.could_not_check}
    assert reasons["anthropic/messages/missing"] == "missing in the candidate"
    assert reasons["anthropic/messages/extra"] == "not in the baseline: nothing to compare it with"
    assert reasons["anthropic/messages/damaged"].startswith(
        "candidate: anthropic/messages/damaged/stream.sse: the sha256"
    )
    assert report.apis[ANTHROPIC] == ApiSummary(cases=1, findings=0, could_not_check=3)


def test_a_missing_case_no_live_recording_can_have_is_only_counted(tmp_path: Path) -> None:
    write_case(tmp_path / "base", "anthropic/messages/one", sse(MESSAGE), expected=EXPECTED)
    stored = write_case(tmp_path / "base", "anthropic/messages/stored", sse(MESSAGE), expected=EXPECTED)
    write_case(tmp_path / "base", "anthropic/messages/sendable", sse(MESSAGE), expected=EXPECTED)
    manifest = json.loads((stored / "case.json").read_text("utf-8"))
    manifest["request"] = {"method": "POST", "recordable": False}
    (stored / "case.json").write_text(json.dumps(manifest), encoding="utf-8")
    write_case(tmp_path / "cand", "anthropic/messages/one", sse(MESSAGE))
    report = drift(
        load_corpus(tmp_path / "base", label="BASELINE", expected=True),
        load_corpus(tmp_path / "cand", label="CANDIDATE", expected=False),
    )
    assert [(u.case, u.reason) for u in report.could_not_check] == [
        ("anthropic/messages/sendable", "missing in the candidate")
    ]
    assert report.apis[ANTHROPIC] == ApiSummary(cases=1, findings=0, could_not_check=1, not_recordable=1)
    assert "1 baseline case without a recordable request" in render_markdown(report)


def test_fields_are_compared_only_over_the_cases_the_candidate_has(tmp_path: Path) -> None:
    base, cand = tmp_path / "base", tmp_path / "cand"
    other = message()
    other[6]["usage"]["cache_read_input_tokens"] = 0  # a path only this baseline case has
    write_case(base, "anthropic/messages/a", sse(MESSAGE), expected=EXPECTED)
    write_case(base, "anthropic/messages/b", sse(other))
    write_case(cand, "anthropic/messages/a", sse(MESSAGE))
    report = drift(
        load_corpus(base, label="BASELINE", expected=True),
        load_corpus(cand, label="CANDIDATE", expected=False),
    )
    assert report.findings == ()
    assert [(u.case, u.reason) for u in report.could_not_check] == [
        ("anthropic/messages/b", "missing in the candidate")
    ]


# -- the loader ------------------------------------------------------------------------------


def test_loader_refuses_a_missing_directory_and_a_wrong_root(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"BASELINE .*nope: no such directory"):
        load_corpus(tmp_path / "nope", label="BASELINE", expected=True)
    write_case(tmp_path, "anthropic/messages/one", sse(MESSAGE))
    with pytest.raises(UsageError, match="holds case 'anthropic/messages/one'; give the corpus root"):
        load_corpus(tmp_path / "anthropic", label="CANDIDATE", expected=False)


def test_loader_skips_hidden_folders_and_filters_by_api(tmp_path: Path) -> None:
    write_case(tmp_path, "anthropic/messages/one", sse(MESSAGE))
    write_case(tmp_path / ".partial", "anthropic/messages/two", sse(MESSAGE))
    corpus = load_corpus(tmp_path, label="CANDIDATE", expected=False)
    assert list(corpus.cases) == ["anthropic/messages/one"]
    assert corpus.cases["anthropic/messages/one"].body == sse(MESSAGE)
    assert load_corpus(tmp_path, label="CANDIDATE", expected=False, api=CHAT).cases == {}


def test_loader_reports_an_unreadable_manifest_as_a_problem(tmp_path: Path) -> None:
    folder = tmp_path / "anthropic/messages/bad"
    folder.mkdir(parents=True)
    (folder / "case.json").write_text("{not json", encoding="utf-8")
    case = load_corpus(tmp_path, label="CANDIDATE", expected=False).cases["anthropic/messages/bad"]
    assert case.api == ANTHROPIC  # from the folder path
    assert case.problem is not None
    assert case.problem.startswith("anthropic/messages/bad/case.json: cannot read it")


# -- payloads --------------------------------------------------------------------------------


def test_payloads_have_event_types_and_skip_keep_alives() -> None:
    body = b": keep-alive\n\n" + sse(MESSAGE[:3]) + b"data:\n\n"
    got = extract(ANTHROPIC, "sse", body)
    assert got.problem is None
    assert [p.event_type for p in got.payloads] == ["message_start", "content_block_start", "ping"]


def test_untyped_payloads_get_shape_names_landmarks_and_the_done_sentinel() -> None:
    body = (
        b'data: {"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}\n\n'
        b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":1}}\n\n'
        b'event: error\ndata: {"message":"boom"}\n\n'
        b"data: not json\n\n"
        b"data: [DONE]\n\n"
    )
    got = extract(CHAT, "sse", body).payloads
    assert [(p.event_type, p.marks) for p in got] == [
        ("chunk", ()),
        ("chunk", ("(finish)", "(usage)")),
        ("error", ()),
        (NOT_JSON, ()),
        (DONE, ()),
    ]
    assert got[3].text == "not json"


def test_bedrock_frames_are_typed_by_header_and_validated_wrapped() -> None:
    body = encode_event("messageStart", b'{"role":"assistant","p":"ab"}') + encode_exception(
        "throttlingException", b'{"message":"slow down"}'
    )
    got = extract("bedrock/converse-stream", "eventstream", body).payloads
    assert [p.event_type for p in got] == ["messageStart", "throttlingException"]
    assert got[0].document == {"messageStart": {"role": "assistant", "p": "ab"}}


def test_a_framing_error_keeps_the_payloads_before_it() -> None:
    body = encode_event("messageStart", b'{"role":"assistant"}')
    got = extract("bedrock/converse-stream", "eventstream", body + body[:20])
    assert [p.event_type for p in got.payloads] == ["messageStart"]
    assert got.problem is not None
    assert got.problem.startswith("TruncatedStream")


def test_gemini_bare_error_lines_are_one_payload() -> None:
    body = (
        b'data: {"candidates":[{"content":{"parts":[{"text":"a"}]}}]}\r\n\r\n{\n  "error": {"code": 503}\n}\n'
    )
    got = extract("gemini/generate-content", "sse", body).payloads
    assert [(p.event_type, p.value) for p in got][1] == ("error", {"error": {"code": 503}})
    assert got[0].event_type == "chunk"


# -- field paths -----------------------------------------------------------------------------


def test_field_paths_mark_arrays_and_stop_at_opaque_values() -> None:
    value: JSONValue = {"a": [{"b": 1.5}, {"b": None}], "fc": {"functionCall": {"args": {"city": "Paris"}}}}
    got = sorted(field_paths("chunk", value, frozenset({("functionCall", "args")})))
    assert got == [
        ("chunk.a", "array"),
        ("chunk.a[]", "object"),
        ("chunk.a[]", "object"),
        ("chunk.a[].b", "null"),
        ("chunk.a[].b", "number"),
        ("chunk.fc", "object"),
        ("chunk.fc.functionCall", "object"),
        ("chunk.fc.functionCall.args", "object"),
    ]
    samples: list[JSONValue] = [True, 1, 1.0, "s", [], {}, None]
    assert [json_type(v) for v in samples] == [
        "boolean",
        "integer",
        "number",
        "string",
        "array",
        "object",
        "null",
    ]


def _shape(api: str, case: str, *values: dict[str, Any]) -> Shape:
    shape = Shape(api)
    shape.add(case, [VendorPayload(event_type="chunk", value=v) for v in values])
    return shape


def test_an_integer_where_numbers_were_seen_is_not_a_type_change() -> None:
    base = _shape(CHAT, "x", {"n": 1.5})
    assert shape_findings(base, _shape(CHAT, "x", {"n": 2})) == []
    changed = shape_findings(_shape(CHAT, "x", {"n": 2}), _shape(CHAT, "x", {"n": 1.5}))
    assert [(f.kind, f.path) for f in changed] == [(Kind.FIELD_TYPE_CHANGED, "chunk.n")]


def test_a_type_seen_less_often_is_not_a_change() -> None:
    base = _shape(CHAT, "x", {"n": None}, {"n": 1})
    assert shape_findings(base, _shape(CHAT, "x", {"n": 1})) == []


# -- ordering --------------------------------------------------------------------------------


def test_relations() -> None:
    assert relation([0, 1], [2]) == "before"
    assert relation([3], [0, 2]) == "after"
    assert relation([1, 2], [1, 2]) == "together"
    assert relation([0, 2], [1]) == "interleaved"


def test_more_deltas_do_not_change_the_order() -> None:
    def payloads(*types: str) -> list[VendorPayload]:
        return [VendorPayload(event_type=t, value=None) for t in types]

    assert ordering_changes(payloads("s", "d", "e"), payloads("s", "d", "d", "d", "e")) == []
    assert ordering_changes(payloads("s", "d", "e"), payloads("s", "e", "d")) == [
        ("d", "e", "before", "after")
    ]
    assert ordering_changes(payloads("s", "d"), payloads("s", "x", "d")) == []  # x is an event type change


def test_ordering_findings_group_cases_with_the_same_change() -> None:
    change = ("d", "e", "before", "after")
    found = ordering_findings(ANTHROPIC, {"c1": [change], "c2": [change], "c3": []})
    assert len(found) == 1
    assert found[0].case is None
    assert "(2 cases: c1, c2)" in found[0].message


# -- schema ----------------------------------------------------------------------------------


def test_schema_violations_name_the_branch_meant() -> None:
    def check(value: dict[str, Any]) -> list[tuple[str, str]]:
        return [
            (v.path, v.keyword)
            for v in violations(
                ANTHROPIC, VendorPayload(event_type=value["type"], value=value, document=value)
            )
        ]

    assert check({"type": "message_delta", "usage": {"output_tokens": 5}}) == [("message_delta", "required")]
    assert check({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta"}}) == [
        ("content_block_delta.delta", "required")
    ]
    assert check(MESSAGE[0]) == []


def test_a_payload_that_is_not_json_is_one_violation() -> None:
    payload = VendorPayload(event_type=NOT_JSON, value=None, text="{cut")
    assert [(v.path, v.keyword) for v in violations(CHAT, payload)] == [(NOT_JSON, "json")]


# -- canonical -------------------------------------------------------------------------------


def test_canonical_equal_resplit_and_changed() -> None:
    assert canonical_finding(ANTHROPIC, "c", EXPECTED, EXPECTED) is None
    resplit = [*EXPECTED[:3], BlockDelta(block=0, text="Hello"), *EXPECTED[5:]]
    found = canonical_finding(ANTHROPIC, "c", EXPECTED, resplit)
    assert found is not None
    assert (found.kind, found.baseline, found.candidate) == (Kind.DELTAS_RESPLIT, 8, 7)
    other = [*EXPECTED[:7], Finish(reason=FinishReason.LENGTH, raw_reason="max_tokens")]
    found = canonical_finding(ANTHROPIC, "c", EXPECTED, other)
    assert found is not None
    assert found.kind is Kind.CANONICAL_CHANGED
    assert found.message.endswith("at folded event 5: finish differs in raw_reason, reason")


def live(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a live re-recording of MESSAGE looks like: another id, other words and counts."""
    payloads[0]["message"]["id"] = "msg_2"
    payloads[0]["message"]["usage"] = {"input_tokens": 11, "output_tokens": 1}
    payloads[3]["delta"]["text"], payloads[4]["delta"]["text"] = "Hi", " there"
    payloads[6]["usage"] = {"output_tokens": 7}
    return payloads


def test_shape_mode_accepts_a_live_recording_that_exact_mode_calls_changed(tmp_path: Path) -> None:
    assert kinds(run(tmp_path / "exact", live(message()))) == [
        ("canonical-changed", "critical", "response.start")
    ]
    assert run(tmp_path / "shape", live(message()), canonical="shape").findings == ()


def test_shape_mode_is_critical_when_the_decoder_cannot_read_the_candidate(tmp_path: Path) -> None:
    payloads = [p for p in live(message()) if p["type"] != "message_stop"]
    report = run(tmp_path, payloads, canonical="shape")
    changed = next(f for f in report.findings if f.kind is Kind.CANONICAL_CHANGED)
    assert changed.severity is Severity.CRITICAL
    assert changed.message == (
        "the reference decoder cannot read the candidate: "
        "error (protocol: the stream ended without message_stop)"
    )


def test_shape_mode_warns_when_the_skeleton_changes(tmp_path: Path) -> None:
    payloads = live(message())
    payloads[6]["delta"]["stop_reason"] = "max_tokens"  # the model was cut off this time
    report = run(tmp_path, payloads, canonical="shape")
    assert kinds(report) == [("canonical-shape-changed", "warning", "finish")]
    assert report.findings[0].message == (
        "the canonical decoding has another shape from folded event 5: baseline finish stop, "
        "candidate finish length"
    )


def test_skeletons_keep_kinds_usage_fields_and_reasons_but_not_words() -> None:
    assert skeleton(EXPECTED) == [
        "response.start",
        "block.start text",
        "block.delta",
        "block.end",
        "usage input_tokens,output_tokens",
        "finish stop",
    ]


def test_an_unknown_canonical_mode_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="expected one of exact, shape"):
        run(tmp_path, message(), canonical="fuzzy")


# -- renderers -------------------------------------------------------------------------------


def _report() -> DriftReport:
    findings = (
        Finding(
            kind=Kind.FIELD_REMOVED,
            api=ANTHROPIC,
            case=None,
            path="a.b",
            message="gone",
            baseline=["integer"],
        ),
        *(
            Finding(
                kind=Kind.CANONICAL_CHANGED,
                api=ANTHROPIC,
                case=f"anthropic/messages/c{i}",
                path="usage",
                message="m",
            )
            for i in range(7)
        ),
        Finding(kind=Kind.FIELD_ADDED, api=ANTHROPIC, case=None, path="a.c", message="new <x>"),
    )
    unchecked = tuple(
        Unchecked(api=CHAT, case=f"openai/chat-completions/c{i}", reason="missing in the candidate")
        for i in range(4)
    )
    apis = {
        ANTHROPIC: ApiSummary(cases=7, findings=9, could_not_check=0),
        CHAT: ApiSummary(cases=0, findings=0, could_not_check=4),
    }
    return DriftReport(baseline="b", candidate="c", findings=findings, could_not_check=unchecked, apis=apis)


def test_json_rendering_follows_the_contract() -> None:
    data = json.loads(render_json(_report()))
    assert data == report_json(_report())
    assert list(data) == [
        "version",
        "baseline",
        "candidate",
        "verdict",
        "findings",
        "could_not_check",
        "apis",
    ]
    assert (data["version"], data["verdict"]) == (1, "critical")
    assert data["findings"][0] == {
        "severity": "critical",
        "kind": "field-removed",
        "api": ANTHROPIC,
        "case": None,
        "path": "a.b",
        "message": "gone",
        "baseline": ["integer"],
        "candidate": None,
    }
    assert data["could_not_check"][0] == {
        "api": CHAT,
        "case": "openai/chat-completions/c0",
        "reason": "missing in the candidate",
    }
    assert data["apis"][CHAT] == {"cases": 0, "findings": 0, "could_not_check": 4, "not_recordable": 0}


def test_markdown_has_the_table_then_severities_then_could_not_check() -> None:
    text = render_markdown(_report())
    assert text.startswith("## Vendor stream drift: critical\n")
    table = text.index(
        "| API | cases compared | critical | warning | info | could not check | not recordable |"
    )
    critical, info, unchecked = (
        text.index(h) for h in ("### Critical (8)", "### Info (1)", "### Could not check (4)")
    )
    assert table < critical < info < unchecked
    assert "| `anthropic/messages` | 7 | 8 | 0 | 1 | 0 |" in text
    assert "<details><summary>2 more canonical-changed in anthropic/messages</summary>" in text
    assert "new &lt;x&gt;" in text  # no raw HTML from messages
    assert "- `openai/chat-completions`: missing in the candidate (4 cases)" in text


def test_markdown_says_when_nothing_drifted() -> None:
    report = DriftReport(
        baseline="b",
        candidate="c",
        findings=(),
        could_not_check=(),
        apis={ANTHROPIC: ApiSummary(cases=3, findings=0, could_not_check=0)},
    )
    text = render_markdown(report)
    assert "## Vendor stream drift: none" in text
    assert "No drift found in the 3 compared cases." in text
    assert "Could not check" not in text
