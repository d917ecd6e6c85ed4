"""Property examples per API: generated, rendered, cut, run through an adapter, judged; a
failing example found, shrunk and written out as a case folder that loads."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from conformance.cassettes import case_body, cassette_body, expected_events, load_case
from conformance.errors import UsageError
from conformance.events import BlockDelta, Event
from conformance.harness.contract import Adapter, Capability, StreamRequest
from conformance.harness.properties import (
    PROFILES,
    PropertyCase,
    as_case_files,
    find_failure,
    judge_property,
    property_apis,
    property_strategy,
    unsupported_reason,
)
from conformance.harness.run import Outcome, run_stream_sync
from conformance.harness.verdict import Verdict
from conformance.reference import reference_adapter
from conformance.registry import api_ids

REFERENCE = reference_adapter()


def _run(adapter: Adapter, case: PropertyCase) -> Outcome:
    request = StreamRequest(api=case.api, flavour=case.flavour, framing=case.framing)
    return run_stream_sync(adapter, request, case.chunks, time_limit=20.0)


def test_every_registered_api_has_property_strategies() -> None:
    assert set(property_apis()) == set(api_ids())
    with pytest.raises(UsageError, match="no property strategies"):
        property_strategy("acme/chat")


@pytest.mark.parametrize("api", property_apis())
def test_examples_round_trip_through_the_reference_adapter(api: str) -> None:
    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(property_strategy(api))
    def round_trip(case: PropertyCase) -> None:
        assert case.api == api
        assert b"".join(case.chunks) == case.body
        assert list(case.cuts) == sorted(set(case.cuts))
        assert all(0 < c < len(case.body) for c in case.cuts)
        judgement = judge_property(case, _run(REFERENCE, case), REFERENCE.capabilities)
        assert judgement.verdict in (Verdict.PASS, Verdict.PASS_NONSTRICT), judgement.reason

    round_trip()


def _loses_text() -> Adapter:
    """Drops every text fragment longer than one character: text lost, a classic bug."""

    def drop(event: Event) -> Event | None:
        return None if isinstance(event, BlockDelta) and len(event.text) > 1 else event

    return dataclasses.replace(REFERENCE, name="loses_text", to_canonical=drop)


def test_find_failure_passes_the_reference_adapter() -> None:
    assert find_failure("anthropic/messages", lambda c: _run(REFERENCE, c), REFERENCE, seed=1) is None


def test_find_failure_shrinks_a_real_bug_and_the_case_files_load(tmp_path: Path) -> None:
    broken = _loses_text()
    failure = find_failure("openai/chat-completions", lambda c: _run(broken, c), broken, seed=7)
    assert failure is not None
    assert failure.judgement.verdict is Verdict.FAIL
    shrunk = failure.case
    assert sum(isinstance(e, BlockDelta) for e in shrunk.events) >= 1
    assert len(shrunk.events) <= 6, "Hypothesis shrinks the example"
    again = find_failure("openai/chat-completions", lambda c: _run(broken, c), broken, seed=7)
    assert again is not None
    assert again.case == shrunk, "a seed replays the same failure"

    files = as_case_files(shrunk, name="loses-text")
    folder = tmp_path / shrunk.api / "loses-text"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    case = load_case(folder)
    assert case.id == f"{shrunk.api}/loses-text"
    assert case.source.kind == "synthetic"
    assert case_body(case) == shrunk.body == cassette_body(case)
    assert expected_events(case) == list(shrunk.events)
    assert case.expected.reviewed is False
    assert case.chunks is not None
    assert list(case.chunks[:-1]) == list(shrunk.cuts)


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=property_strategy("gemini/generate-content"))
def test_case_files_of_any_example_load(tmp_path_factory: pytest.TempPathFactory, case: PropertyCase) -> None:
    folder = tmp_path_factory.mktemp("case") / case.api
    files = as_case_files(case)
    target = folder / f"property-{hashlib.sha256(case.body).hexdigest()[:12]}"
    target.mkdir(parents=True)
    for file, data in files.items():
        (target / file).write_bytes(data)
    loaded = load_case(target)
    assert loaded.framing == case.framing
    assert loaded.flavour == case.flavour
    assert expected_events(loaded) == list(case.events)


def test_an_adapter_without_a_capability_gets_no_examples_needing_it() -> None:
    plain = dataclasses.replace(REFERENCE, name="plain", capabilities=frozenset({Capability.USAGE}))

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(property_strategy("anthropic/messages", adapter=plain))
    def only_supported(case: PropertyCase) -> None:
        assert unsupported_reason(plain, case) is None
        assert not any(getattr(e, "kind", None) == "reasoning" for e in case.events)

    only_supported()
    elsewhere = dataclasses.replace(REFERENCE, name="elsewhere", apis={"ollama/chat": ("*",)})
    assert find_failure("anthropic/messages", lambda c: _run(elsewhere, c), elsewhere, seed=0) is None


def test_profiles_are_bounded_and_named() -> None:
    assert PROFILES["ci"].max_examples < PROFILES["nightly"].max_examples
    with pytest.raises(UsageError, match="unknown property profile"):
        find_failure("anthropic/messages", lambda c: _run(REFERENCE, c), REFERENCE, seed=0, profile="weekly")
