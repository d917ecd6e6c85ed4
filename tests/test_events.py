"""The canonical event model: JSON round trips, schema agreement, clear errors."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given

from conformance import events as ev
from conformance.errors import EventError
from conformance.schemas import canonical_event_schema, validate_event_json
from conformance.strategies import events


@given(events())
def test_every_event_round_trips_through_json_and_validates(event: ev.Event) -> None:
    obj = ev.to_json(event)
    assert validate_event_json(obj) == []
    assert ev.from_json(obj) == event
    line = ev.dumps(event)
    assert "\n" not in line
    assert ev.loads(line) == event
    # The JSON text survives a trip through a generic JSON parser unchanged.
    assert ev.from_json(json.loads(json.dumps(obj))) == event


def test_json_form_puts_type_first_and_omits_defaults() -> None:
    end = ev.BlockEnd(block=3, arguments_raw="{}", arguments={})
    assert list(ev.to_json(end)) == ["type", "block", "arguments_raw", "arguments"]
    assert ev.dumps(ev.BlockDelta(block=0, text="é😀")) == '{"type":"block.delta","block":0,"text":"é😀"}'
    # False is kept where it is information (retryable), dropped where it is the default (incomplete).
    err = ev.Error(
        category=ev.ErrorCategory.AUTH, message="no", retryable=False, phase=ev.ErrorPhase.BEFORE_OUTPUT
    )
    assert ev.to_json(err)["retryable"] is False


def test_events_are_frozen_slotted_keyword_only() -> None:
    for cls in ev.EVENT_TYPES.values():
        params = cls.__dataclass_params__  # type: ignore[union-attr]
        assert params.frozen, cls
        assert "__slots__" in cls.__dict__, cls
        assert all(f.kw_only for f in dataclasses.fields(cls)), cls
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.BlockDelta(block=0, text="a").text = "b"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ev.BlockDelta(0, "a")  # type: ignore[call-arg]


def test_schema_mirrors_the_dataclasses() -> None:
    defs = canonical_event_schema()["$defs"]
    for name, cls in ev.EVENT_TYPES.items():
        sub = defs[name]
        assert sub["properties"]["type"] == {"const": name}
        fields = {f.name for f in dataclasses.fields(cls)}
        assert set(sub["properties"]) - {"type"} == fields, name
        required = {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING}
        assert set(sub["required"]) - {"type"} == required, name
        assert sub["additionalProperties"] is False
    assert set(defs["usageCounts"]["properties"]) == {f.name for f in dataclasses.fields(ev.UsageCounts)}


def test_schema_id_carries_the_model_version() -> None:
    schema = canonical_event_schema()
    assert schema["$id"].endswith(f"/v{ev.CANONICAL_VERSION}.json")
    assert schema["x-canonical-version"] == ev.CANONICAL_VERSION
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


BAD_EVENTS = [
    ({"type": "block.delta", "block": 0}, "$.text", "requires 'text'"),
    ({"type": "block.delta", "block": -1, "text": "x"}, "$.block", "block key"),
    ({"type": "block.delta", "block": True, "text": "x"}, "$.block", "block key"),
    ({"type": "block.start", "block": 0, "kind": "image"}, "$.kind", "not a block kind"),
    ({"type": "usage", "input_tokens": -3}, "$.input_tokens", ">= 0"),
    ({"type": "usage", "input_tokens": 1.5}, "$.input_tokens", "token count"),
    ({"type": "finish", "reason": "done"}, "$.reason", "not one of"),
    ({"type": "finish", "reason": "stop", "usage": {}}, "$.usage", "no field 'usage'"),
    (
        {"type": "error", "category": "server", "message": "m", "phase": "mid_stream"},
        "$.retryable",
        "requires",
    ),
    ({"type": "abort", "reason": "timeout", "usage": {"tokens": 3}}, "$.usage", "unknown usage field"),
    ({"type": "block.end", "block": 0, "arguments": [1]}, "$.arguments", "JSON object"),
    ({"type": "nope"}, "$.type", "unknown event type"),
    ([], "$", "event object"),
]


@pytest.mark.parametrize(("obj", "path", "words"), BAD_EVENTS)
def test_bad_event_json_names_the_path_and_the_schema_agrees(obj: object, path: str, words: str) -> None:
    with pytest.raises(EventError) as info:
        ev.from_json(obj)
    assert info.value.path == path
    assert words in str(info.value)
    assert validate_event_json(obj), "the schema accepted what the model rejects"


def test_loads_reports_broken_json_with_its_path() -> None:
    with pytest.raises(EventError) as info:
        ev.loads('{"type": "usage"', path="$[7]")
    assert info.value.path == "$[7]"
    assert "not JSON" in str(info.value)


def test_usage_snapshot_converts_to_abort_counts() -> None:
    usage = ev.Usage(input_tokens=10, output_tokens=3, cache_read=2)
    abort = ev.Abort(reason=ev.AbortReason.CONSUMER_CANCEL, usage=usage.counts())
    assert ev.to_json(abort) == {
        "type": "abort",
        "reason": "consumer_cancel",
        "usage": {"input_tokens": 10, "output_tokens": 3, "cache_read": 2},
    }
