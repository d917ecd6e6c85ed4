"""The plugin against deliberately broken adapters: each breaks one rule of the design
(DESIGN §4) and must fail exactly the right tests, with the right explanation; hostile
adapters (hanging, crashing, garbage, endless) fail boundedly and the session goes on.

Most broken adapters are the reference decoders with one sabotage applied to their
output (:func:`_sabotaged`), so each states its bug in a few lines.  They run in a
foreign temporary project (pytester, in-process); the adapters are handed over as a
plugin object implementing ``pytest_conformance_adapters``.  Two sessions serve every
test here (one for the rule breakers, one for the hostile adapters); each test then
asserts which of its adapter's test ids fail, which pass, and a phrase of the failure
that shows the right reason was found.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest

from conformance.events import (
    Abort,
    AbortReason,
    BlockDelta,
    BlockEnd,
    BlockStart,
    Error,
    ErrorCategory,
    Event,
    Finish,
    FinishReason,
    Usage,
)
from conformance.harness.contract import ALL, Adapter, ByteChunks, Capability, StreamRequest
from conformance.reference import reference_adapter
from conformance.registry import api_ids, get_codec
from tests.helpers import PYTESTER_BASE as BASE

pytest_plugins = ("pytester",)

OPENAI = "openai/chat-completions"
ANTHROPIC = "anthropic/messages"
CANCEL_VARIANTS = ("cancel-close", "cancel-task", "cancel-timeout", "cancel-signal")

# -- building broken adapters ------------------------------------------------------------------

#: Per stream: the reference decoder's events in, what the broken adapter emits out.
Filter = Callable[[Event], Iterable[Event]]


def _untouched() -> Filter:
    return lambda event: [event]


def _sabotaged(
    name: str,
    sabotage: Callable[[], Filter] = _untouched,
    *,
    per_chunk: Callable[[bytes], bytes] | None = None,
    close_source: bool = True,
    drain_after_cancel: bool = False,
) -> Adapter:
    """The reference decoders behind a filter (and optional byte and cancel bugs)."""

    async def stream(request: StreamRequest, chunks: ByteChunks) -> AsyncIterator[Event]:
        decoder = get_codec(request.api).new_decoder(request.flavour, framing=request.framing)
        keep = sabotage()
        try:
            async for chunk in chunks:
                for event in decoder.feed(per_chunk(chunk) if per_chunk else chunk):
                    for out in keep(event):
                        if request.cancel.is_set():
                            break
                        yield out
                if request.cancel.is_set():
                    yield Abort(reason=AbortReason.CONSUMER_CANCEL)
                    return
            for event in decoder.close():
                for out in keep(event):
                    yield out
        finally:
            if drain_after_cancel:  # "be nice to the connection": read the rest first
                async for _ in chunks:
                    pass
            if close_source:
                await chunks.aclose()

    return Adapter(
        name=name,
        stream=stream,
        apis=dict.fromkeys(api_ids(), (ALL,)),
        capabilities=frozenset(Capability),
    )


def _drop_one_argument_fragment() -> Filter:
    """Loses the second argument fragment of the first tool call."""
    tools: set[int] = set()
    fragments = 0

    def keep(event: Event) -> list[Event]:
        nonlocal fragments
        if isinstance(event, BlockStart) and event.kind == "tool_call":
            tools.add(event.block)
        if isinstance(event, BlockDelta) and event.block == min(tools, default=-1):
            fragments += 1
            if fragments == 2:
                return []
        return [event]

    return keep


def _merge_parallel_calls() -> Filter:
    """Binds every argument fragment to the first call (ignores the vendor's index)."""
    first: int | None = None
    merged = False
    parts: list[str] = []

    def keep(event: Event) -> list[Event]:
        nonlocal first, merged
        if isinstance(event, BlockStart) and event.kind == "tool_call":
            if first is not None:
                merged = True
                return []
            first = event.block
        if isinstance(event, BlockDelta) and first is not None and event.block >= first:
            parts.append(event.text)
            return [dataclasses.replace(event, block=first)]
        if isinstance(event, BlockEnd) and merged and first is not None and event.block >= first:
            if event.block != first:
                return []
            raw = "".join(parts)
            return [
                dataclasses.replace(event, arguments_raw=raw, arguments=None, arguments_error="invalid JSON")
            ]
        return [event]

    return keep


def _sum_usage() -> Filter:
    """Adds usage snapshots up, as if each reported only what was new."""
    total: dict[str, int] = {}

    def keep(event: Event) -> list[Event]:
        if not isinstance(event, Usage):
            return [event]
        for name, value in dataclasses.asdict(event).items():
            if value is not None:
                total[name] = total.get(name, 0) + value
        return [Usage(**total)]

    return keep


def _hide_truncation() -> Filter:
    """Reports a stream that broke off as a normal finish."""

    def keep(event: Event) -> list[Event]:
        if isinstance(event, Error) and event.category is ErrorCategory.PROTOCOL:
            return [Finish(reason=FinishReason.STOP, raw_reason="stop")]
        return [event]

    return keep


def _swallow_errors() -> Filter:
    """Ignores the vendor's error frames."""
    return lambda event: [] if isinstance(event, Error) else [event]


def _finalise_cut_off_calls() -> Filter:
    """Repairs a cut-off call's partial JSON (closing its string and object) and, since
    that parses, hands the arguments out as if the call were complete."""

    def keep(event: Event) -> list[Event]:
        if isinstance(event, BlockEnd) and event.incomplete and event.arguments_raw:
            repaired = event.arguments_raw + ('"' if event.arguments_raw.count('"') % 2 else "") + "}"
            return [dataclasses.replace(event, arguments=json.loads(repaired))]
        return [event]

    return keep


def _empty_arguments_as_error() -> Filter:
    """Treats a call without argument text as invalid JSON instead of ``{}``."""
    fragments: dict[int, int] = {}

    def keep(event: Event) -> list[Event]:
        if isinstance(event, BlockDelta):
            fragments[event.block] = fragments.get(event.block, 0) + 1
        if isinstance(event, BlockEnd) and event.arguments_raw == "{}" and not fragments.get(event.block):
            return [
                dataclasses.replace(event, arguments_raw="", arguments=None, arguments_error="invalid JSON")
            ]
        return [event]

    return keep


def _lose_raw_reason() -> Filter:
    """Keeps only the unified finish reason."""
    return lambda event: [dataclasses.replace(event, raw_reason=None) if isinstance(event, Finish) else event]


def _move_signature() -> Filter:
    """Puts a reasoning block's signature on the block after it."""
    held: list[str] = []

    def keep(event: Event) -> list[Event]:
        if isinstance(event, BlockEnd) and event.signature is not None:
            held.append(event.signature)
            return [dataclasses.replace(event, signature=None)]
        if isinstance(event, BlockEnd) and held:
            return [dataclasses.replace(event, signature=held.pop())]
        return [event]

    return keep


def _decode_each_read(chunk: bytes) -> bytes:
    """Decodes every read on its own: a character split across reads turns into U+FFFD."""
    return chunk.decode("utf-8", errors="replace").encode("utf-8")


# -- hostile adapters ---------------------------------------------------------------------------


async def hang_stream(request: StreamRequest, chunks: ByteChunks) -> AsyncIterator[Event]:
    """Reads one chunk, then waits for something that never happens."""
    del request
    try:
        async for _ in chunks:
            await asyncio.Event().wait()
        yield Finish(reason=FinishReason.STOP)
    finally:
        await chunks.aclose()


async def raise_stream(request: StreamRequest, chunks: ByteChunks) -> AsyncIterator[Event]:
    """Decodes normally, then raises a bug of its own after the second delta."""
    decoder = get_codec(request.api).new_decoder(request.flavour, framing=request.framing)
    deltas = 0
    try:
        async for chunk in chunks:
            for event in decoder.feed(chunk):
                yield event
                deltas += isinstance(event, BlockDelta)
                if deltas == 2:
                    raise RuntimeError("adapter bug: the delta buffer overflowed")
    finally:
        await chunks.aclose()


def _garbage(event: Event) -> Any:
    """Maps deltas to something the canonical schema refuses."""
    if isinstance(event, BlockDelta):
        return {"type": "block.delta", "block": event.block, "text": 42}
    return event


async def endless_stream(request: StreamRequest, chunks: ByteChunks) -> AsyncIterator[Event]:
    """Never stops producing text."""
    del request
    try:
        yield BlockStart(block=0, kind="text")
        while True:
            yield BlockDelta(block=0, text="again ")
    finally:
        await chunks.aclose()


def _hostile(name: str, stream: Any, **kwargs: Any) -> Adapter:
    return Adapter(name=name, stream=stream, apis={OPENAI: (ALL,)}, **kwargs)


# -- running a session --------------------------------------------------------------------------


@dataclass
class Run:
    """Outcomes of one in-process session, per conformance test id."""

    ret: int
    outcomes: dict[str, str] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)

    def of(self, adapter: str) -> dict[str, str]:
        """The outcomes of one adapter's tests."""
        return {t: o for t, o in self.outcomes.items() if f"[{adapter}-" in t}


class _Adapters:
    """The plugin object handing the adapters to the inner session."""

    def __init__(self, adapters: dict[str, Adapter]) -> None:
        self.adapters = adapters

    def pytest_conformance_adapters(self, config: pytest.Config) -> dict[str, Adapter]:
        del config
        return self.adapters


def _run(pytester: pytest.Pytester, adapters: dict[str, Adapter], *args: str) -> Run:
    reprec = pytester.inline_run(*BASE, *args, plugins=[_Adapters(adapters)])
    run = Run(ret=int(reprec.ret or 0))
    for report in reprec.getreports("pytest_runtest_logreport"):
        if report.when != "call" and report.passed:
            continue
        test_id = report.nodeid.removeprefix("conformance::")
        longrepr = report.longrepr
        run.outcomes[test_id] = report.outcome
        run.texts[test_id] = str(longrepr[2] if isinstance(longrepr, tuple) else longrepr or "")
    return run


@dataclass(frozen=True)
class Breaker:
    """A broken adapter, the cases it must fail and pass, and what its failure must say."""

    adapter: Adapter
    fails: tuple[str, ...]
    passes: tuple[str, ...]
    phrases: tuple[str, ...]
    chunkings: tuple[str, ...] = ("whole", "bytewise", "utf8-boundary")
    failing_chunkings: tuple[str, ...] = ("whole", "bytewise", "utf8-boundary")
    failing_cancels: bool = False

    @property
    def name(self) -> str:
        return self.adapter.name


BREAKERS = [
    Breaker(
        _sabotaged("dropfragment", _drop_one_argument_fragment),
        fails=(f"{OPENAI}/parallel-tool-calls",),
        passes=(f"{OPENAI}/synthetic-text",),
        phrases=("tool.arguments-conserved at event", "the events differ from the expected sequence"),
    ),
    Breaker(
        _sabotaged("mergecalls", _merge_parallel_calls),
        fails=(f"{OPENAI}/parallel-tool-calls",),
        passes=(f"{OPENAI}/strict-tool-call",),
        phrases=('"arguments_error":"invalid JSON"', '-{"type":"block.start","block":1,"kind":"tool_call"'),
    ),
    Breaker(
        _sabotaged("sumusage", _sum_usage),
        fails=(f"{ANTHROPIC}/synthetic-text",),
        passes=(f"{OPENAI}/synthetic-text",),
        phrases=(
            '-{"type":"usage","input_tokens":12,"output_tokens":9}',
            '+{"type":"usage","input_tokens":24,"output_tokens":10}',
        ),
    ),
    Breaker(
        _sabotaged("hidetruncation", _hide_truncation),
        fails=(f"{OPENAI}/synthetic-truncated-at-boundary", f"{OPENAI}/synthetic-truncated-mid-message"),
        passes=(f"{OPENAI}/synthetic-text",),
        phrases=(
            'expected: {"type":"error","category":"protocol"',
            'actual:   {"type":"finish","reason":"stop"',
        ),
    ),
    Breaker(
        _sabotaged("swallowerror", _swallow_errors),
        fails=(f"{OPENAI}/synthetic-error-after-text",),
        passes=(f"{OPENAI}/synthetic-text",),
        phrases=("termination: no-terminal", "sequence.terminal at event"),
    ),
    Breaker(
        _sabotaged("utf8perread", per_chunk=_decode_each_read),
        fails=(f"{OPENAI}/synthetic-unicode-planes",),
        passes=(f"{OPENAI}/synthetic-text",),
        phrases=("\ufffd",),
        failing_chunkings=("bytewise", "utf8-boundary"),
    ),
    Breaker(
        _sabotaged("noclose", close_source=False),
        fails=(f"{OPENAI}/synthetic-text",),
        passes=(),
        phrases=("leaked: the adapter was cancelled and never closed its byte source",),
        failing_chunkings=(),
        failing_cancels=True,
    ),
    Breaker(
        _sabotaged("pullaftercancel", drain_after_cancel=True),
        fails=(f"{OPENAI}/synthetic-text",),
        passes=(),
        phrases=("more chunk(s) after the cancel",),
        failing_chunkings=(),
        failing_cancels=True,
    ),
    Breaker(
        _sabotaged("finalisepartial", _finalise_cut_off_calls),
        fails=(f"{OPENAI}/synthetic-max-tokens-mid-tool-call",),
        passes=(f"{OPENAI}/strict-tool-call",),
        phrases=("tool.incomplete-unparsed at event",),
    ),
    Breaker(
        _sabotaged("emptyargs", _empty_arguments_as_error),
        fails=(f"{OPENAI}/synthetic-tool-call-no-arguments",),
        passes=(f"{OPENAI}/strict-tool-call",),
        phrases=('-{"type":"block.end","block":0,"arguments_raw":"{}","arguments":{}}',),
    ),
    Breaker(
        _sabotaged("rawreason", _lose_raw_reason),
        fails=(f"{OPENAI}/synthetic-text",),
        passes=(f"{OPENAI}/synthetic-error-after-text",),
        phrases=(
            '-{"type":"finish","reason":"stop","raw_reason":"stop"}',
            '+{"type":"finish","reason":"stop"}',
        ),
    ),
    Breaker(
        _sabotaged("movesignature", _move_signature),
        fails=(f"{ANTHROPIC}/synthetic-reasoning-then-text",),
        passes=(f"{OPENAI}/synthetic-text",),
        phrases=('+{"type":"block.end","block":1,"signature":"EqQBCkYIBxgCKkBsynthetic',),
    ),
]


def _selection(breaker: Breaker) -> str:
    """The breaker's chunking and cancellation tests (its fault and property tests are
    tests/test_plugin_faults.py's)."""
    variants = (*breaker.chunkings, *CANCEL_VARIANTS)
    cases = (*breaker.fails, *breaker.passes)
    return "(" + " or ".join(f"{case}[{breaker.name}-{v}]" for case in cases for v in variants) + ")"


def _expected_ids(breaker: Breaker) -> tuple[set[str], set[str]]:
    """(failing, passing) test ids of a breaker."""
    failing: set[str] = set()
    passing: set[str] = set()
    for case in breaker.fails:
        for chunking in breaker.chunkings:
            (failing if chunking in breaker.failing_chunkings else passing).add(
                f"{case}[{breaker.name}-{chunking}]"
            )
        for variant in CANCEL_VARIANTS:
            (failing if breaker.failing_cancels else passing).add(f"{case}[{breaker.name}-{variant}]")
    for case in breaker.passes:
        passing |= {f"{case}[{breaker.name}-{v}]" for v in (*breaker.chunkings, *CANCEL_VARIANTS)}
    return failing, passing


_SESSIONS: dict[str, Run] = {}


def _breakers_session(pytester: pytest.Pytester) -> Run:
    """One session for every rule breaker (run by the first test that needs it)."""
    if "breakers" not in _SESSIONS:
        selection = " or ".join(_selection(b) for b in BREAKERS)
        adapters = {b.name: b.adapter for b in BREAKERS}
        chunkings = "--conformance-chunkings=whole,bytewise,utf8-boundary"
        run = _run(pytester, adapters, chunkings, "-k", selection)
        _SESSIONS["breakers"] = run
    return _SESSIONS["breakers"]


@pytest.mark.parametrize("breaker", BREAKERS, ids=lambda b: b.name)
def test_a_broken_adapter_fails_exactly_the_right_tests_for_the_right_reason(
    pytester: pytest.Pytester, breaker: Breaker
) -> None:
    run = _breakers_session(pytester)
    failing, passing = _expected_ids(breaker)
    got = run.of(breaker.name)
    # the matrix prunes nothing here: the chunkings used apply to every SSE case
    assert set(got) == failing | passing
    assert {t for t, o in got.items() if o == "failed"} == failing
    assert {t for t, o in got.items() if o == "passed"} == passing
    assert failing, "a breaker that fails nothing proves nothing"
    for test_id in failing:
        text = run.texts[test_id]
        assert text.startswith(f"{test_id.split('[')[0]}: FAIL for adapter {breaker.name}, ")
        for phrase in breaker.phrases:
            assert phrase in text, f"{test_id}: {phrase!r} not in\n{text}"
        assert "reproduce: python -m pytest --conformance-only --conformance-seed=" in text


def test_breaking_the_rules_fails_the_session(pytester: pytest.Pytester) -> None:
    assert _breakers_session(pytester).ret == pytest.ExitCode.TESTS_FAILED


# -- hostile adapters ---------------------------------------------------------------------------

CASE = f"{OPENAI}/synthetic-text"
HOSTILE = {
    "hangs": _hostile("hangs", hang_stream),
    "raises": _hostile("raises", raise_stream),
    "garbage": _hostile("garbage", _sabotaged("g").stream, to_canonical=_garbage),
    "endless": _hostile("endless", endless_stream),
    "reference": reference_adapter(),
}


def _hostile_session(pytester: pytest.Pytester) -> Run:
    if "hostile" not in _SESSIONS:
        _SESSIONS["hostile"] = _run(
            pytester,
            HOSTILE,
            "--conformance-chunkings=whole",
            "--conformance-timeout=0.5",
            "--conformance-max-events=200",
            "-k",
            f"{CASE}[ and (-whole or reference-)",
        )
    return _SESSIONS["hostile"]


def _failure(pytester: pytest.Pytester, adapter: str) -> str:
    run = _hostile_session(pytester)
    test_id = f"{CASE}[{adapter}-whole]"
    assert run.outcomes[test_id] == "failed"
    return run.texts[test_id]


def test_a_hanging_adapter_fails_naming_where_it_waits(pytester: pytest.Pytester) -> None:
    text = _failure(pytester, "hangs")
    assert re.search(
        r"hang: no result within 0\.5 s after \d+ bytes; the adapter was waiting at "
        r"\S+test_plugin_broken\.py:\d+ in hang_stream",
        text,
    ), text
    assert "termination: hang" in text


def test_a_raising_adapter_fails_with_its_traceback_and_byte_offset(pytester: pytest.Pytester) -> None:
    text = _failure(pytester, "raises")
    assert re.search(r"crash: the adapter raised after \d+ bytes:\n\s*Traceback", text), text
    assert "RuntimeError: adapter bug: the delta buffer overflowed" in text
    assert "in raise_stream" in text


def test_garbage_output_fails_naming_the_json_path(pytester: pytest.Pytester) -> None:
    text = _failure(pytester, "garbage")
    assert re.search(
        r"bad-output: adapter event \d+ mapped to a bad canonical event: \$\.output\[\d+\]\.text: ", text
    )
    assert len(re.findall(r"\$\.output\[\d+\]\.text", text.split("bad-output:", 1)[1].splitlines()[0])) == 1


def test_endless_output_is_bounded(pytester: pytest.Pytester) -> None:
    text = _failure(pytester, "endless")
    assert "endless: more than 200 events; the output is bounded at that" in text


def test_the_session_goes_on_after_hostile_adapters(pytester: pytest.Pytester) -> None:
    run = _hostile_session(pytester)
    reference = run.of("reference")
    assert set(reference.values()) == {"passed"}
    assert {f"{CASE}[reference-{v}]" for v in ("whole", *CANCEL_VARIANTS)} <= set(reference)
    assert {t for t, o in run.outcomes.items() if o == "failed"} == {
        f"{CASE}[{name}-whole]" for name in ("hangs", "raises", "garbage", "endless")
    }
    assert run.ret == pytest.ExitCode.TESTS_FAILED
