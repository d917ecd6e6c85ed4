"""Hypothesis property examples per API: generated sequence -> encoder with random quirk
knobs -> random chunking -> adapter -> folded comparison.  No I/O.

:func:`property_strategy` draws a :class:`PropertyCase` for one API from the codec's own
strategies (``conformance.vendors.<codec>.strategies``: ``sequences()`` for what the API
can express and ``knobs()`` for its quirks), renders the body with the encoder, and
draws the cut points.  The expected sequence is the generated one; the adapter passes
when :func:`judge_property` finds its output equal to it after folding
(:func:`conformance.harness.verdict.judge_case`: PASS or PASS_NONSTRICT).

:func:`find_failure` runs the property for one API with a seed and a profile
(:data:`PROFILES`: ``ci`` bounded, ``nightly`` heavy) and returns the shrunk failing
example, or ``None``.  A seed replays the same examples (Hypothesis's example database
is off, so nothing is read or written).  :func:`as_case_files` renders a failing example
as a ready-to-save case folder (``case.json``, ``cassette.yaml``, the stream, and
``expected.jsonl``), as bytes; the caller writes them.  The case is ``synthetic``, its
``expected.reviewed`` false (a person reviews it before it joins the corpus), and its
``chunks`` are the failing example's cut points, so the ``recorded`` chunking replays it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from conformance.cassettes import (
    CASSETTES_ROOT,
    STREAM_FILES,
    Case,
    CaseExpected,
    CaseRequest,
    CaseSource,
    CaseStream,
    cassette_yaml,
)
from conformance.chunking import cut
from conformance.errors import UsageError
from conformance.events import CANONICAL_VERSION, BlockStart, Event, JSONValue, dumps
from conformance.harness.contract import ALL, Adapter, Capability, needed_capabilities
from conformance.harness.run import Outcome
from conformance.harness.verdict import Judgement, judge_case
from conformance.registry import get_codec
from conformance.vendors.cohere_chat_v1 import strategies as cohere_v1_strategies
from conformance.vendors.ollama_chat import strategies as ollama_strategies
from conformance.vendors.openai_chat import FLAVOURS as CHAT_FLAVOURS
from conformance.vendors.openai_chat import strategies as chat_strategies
from conformance.vendors.openai_chat.encoder import flavour_knobs

__all__ = [
    "PROFILES",
    "PropertyCase",
    "PropertyFailure",
    "PropertyProfile",
    "as_case_files",
    "find_failure",
    "judge_property",
    "property_apis",
    "property_strategy",
    "unsupported_reason",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class PropertyCase:
    """One generated example: the sequence, how it was rendered, and how it is cut."""

    api: str
    flavour: str
    framing: str
    events: tuple[Event, ...]
    knobs: Any
    body: bytes
    cuts: tuple[int, ...]
    """Where the body is cut into chunks: strictly increasing, inside ``1..len(body)-1``."""

    @property
    def chunks(self) -> list[bytes]:
        """The body cut at :attr:`cuts`."""
        return cut(self.body, self.cuts)


@dataclass(frozen=True, slots=True)
class PropertyProfile:
    """How hard :func:`find_failure` tries."""

    max_examples: int
    max_cuts: int


#: ``ci``: bounded, the default; ``nightly``: heavy.
PROFILES: dict[str, PropertyProfile] = {
    "ci": PropertyProfile(max_examples=30, max_cuts=8),
    "nightly": PropertyProfile(max_examples=1000, max_cuts=40),
}

_OPTIONAL = frozenset({"reasoning", "citation", "server_tool_call", "server_tool_result"})


# -- per-API sources ---------------------------------------------------------------------------


def _plain(module: str) -> st.SearchStrategy[tuple[list[Event], Any]]:
    strategies = importlib.import_module(module)
    return st.tuples(strategies.sequences(), strategies.knobs())


def _openai_chat(flavours: tuple[str, ...] | None = None) -> st.SearchStrategy[tuple[list[Event], Any]]:
    """Any flavour with any quirk knobs; limited to ``flavours``, each server's own dialect
    (an adapter that declares only OpenAI's flavour is not asked to read Mistral's)."""

    @st.composite
    def draw_one(draw: st.DrawFn) -> tuple[list[Event], Any]:
        if flavours is None:
            knobs = draw(chat_strategies.knobs(draw(st.sampled_from(CHAT_FLAVOURS))))
        else:
            knobs = flavour_knobs(draw(st.sampled_from(flavours)))
        return draw(chat_strategies.sequences()), knobs

    return draw_one()


@st.composite
def _ollama(draw: st.DrawFn) -> tuple[list[Event], Any]:
    flavour = draw(st.sampled_from(["chat", "generate"]))
    return draw(ollama_strategies.sequences(flavour)), draw(ollama_strategies.knobs(flavour))  # type: ignore[arg-type]


@st.composite
def _cohere_v1(draw: st.DrawFn) -> tuple[list[Event], Any]:
    streamed = draw(st.booleans())
    return draw(cohere_v1_strategies.sequences(streamed)), draw(cohere_v1_strategies.knobs(streamed))


_SOURCES: dict[str, Callable[[], st.SearchStrategy[tuple[list[Event], Any]]]] = {
    "openai/chat-completions": _openai_chat,
    "openai/responses": lambda: _plain("conformance.vendors.openai_responses.strategies"),
    "anthropic/messages": lambda: _plain("conformance.vendors.anthropic_messages.strategies"),
    "gemini/generate-content": lambda: _plain("conformance.vendors.gemini.strategies"),
    "bedrock/converse-stream": lambda: _plain("conformance.vendors.bedrock_converse.strategies"),
    "cohere/chat": lambda: _plain("conformance.vendors.cohere_chat.strategies"),
    "cohere/chat-v1": _cohere_v1,
    "ollama/chat": _ollama,
}


def property_apis() -> list[str]:
    """The APIs with property strategies."""
    return list(_SOURCES)


def _target(api: str, knobs: Any) -> tuple[str, str]:
    """(flavour, framing) of the body the knobs render: the knobs' own where they name
    one the codec has, else the codec's default."""
    codec = get_codec(api)
    flavour = getattr(knobs, "flavour", None)
    framing = getattr(knobs, "framing", None)
    return (
        flavour if flavour in codec.flavours else codec.flavours[0],
        framing if framing in codec.framings else codec.framings[0],
    )


def unsupported_reason(adapter: Adapter, case: PropertyCase) -> str | None:
    """Why ``adapter`` disclaims this example (API, flavour, framing, a capability), or None."""
    if not adapter.supports(case.api, case.flavour, case.framing):
        return f"{adapter.name} does not declare {case.api} ({case.flavour}, {case.framing})"
    missing = needed_capabilities(case.events) - adapter.capabilities
    if missing:
        return f"{adapter.name} does not declare {', '.join(sorted(c.value for c in missing))}"
    return None


def property_strategy(
    api: str, *, adapter: Adapter | None = None, max_cuts: int = PROFILES["ci"].max_cuts
) -> st.SearchStrategy[PropertyCase]:
    """Examples for ``api``; with ``adapter``, only those it does not disclaim."""
    source = _SOURCES.get(api)
    if source is None:
        raise UsageError(f"no property strategies for {api!r} (valid: {', '.join(_SOURCES)})")
    codec = get_codec(api)
    declared = None if adapter is None else adapter.apis.get(api)
    if api == "openai/chat-completions" and declared is not None and ALL not in declared:
        limited = tuple(f for f in CHAT_FLAVOURS if f in declared)
        drawn = _openai_chat(limited or None)
    else:
        drawn = source()

    @st.composite
    def examples(draw: st.DrawFn) -> PropertyCase:
        events, knobs = draw(drawn)
        body = codec.encode(events, knobs)
        points = draw(st.lists(st.integers(1, max(1, len(body) - 1)), max_size=max_cuts, unique=True))
        flavour, framing = _target(api, knobs)
        return PropertyCase(
            api=api,
            flavour=flavour,
            framing=framing,
            events=tuple(events),
            knobs=knobs,
            body=body,
            cuts=tuple(sorted(p for p in points if 0 < p < len(body))),
        )

    strategy = examples()
    if adapter is not None:
        strategy = strategy.filter(lambda case: unsupported_reason(adapter, case) is None)
    return strategy


def judge_property(case: PropertyCase, outcome: Outcome, capabilities: frozenset[Capability]) -> Judgement:
    """The verdict of one run over ``case.chunks``: the folded comparison with the
    generated sequence (PASS, PASS_NONSTRICT or FAIL), as for a corpus case."""
    return judge_case(case.events, outcome, capabilities)


# -- running the property ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PropertyFailure:
    """The shrunk failing example and its verdict."""

    case: PropertyCase
    judgement: Judgement


class _PropertyFailedError(Exception):
    pass


def find_failure(
    api: str,
    run: Callable[[PropertyCase], Outcome],
    adapter: Adapter,
    *,
    seed: int,
    profile: str = "ci",
) -> PropertyFailure | None:
    """Run the property for ``api`` with ``seed``: ``run`` feeds an example's chunks to
    ``adapter`` (the driver layer does that); the shrunk failing example, or None."""
    try:
        chosen = PROFILES[profile]
    except KeyError:
        raise UsageError(f"unknown property profile {profile!r} (valid: {', '.join(PROFILES)})") from None
    if not any(
        adapter.supports(api, flavour, framing)
        for flavour in get_codec(api).flavours
        for framing in get_codec(api).framings
    ):
        return None
    failures: list[PropertyFailure] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=chosen.max_examples,
        database=None,
        deadline=None,
        derandomize=False,
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )
    @given(property_strategy(api, adapter=adapter, max_cuts=chosen.max_cuts))
    def prop(case: PropertyCase) -> None:
        judgement = judge_property(case, run(case), adapter.capabilities)
        if judgement.verdict.failed:
            failures[:] = [PropertyFailure(case, judgement)]
            raise _PropertyFailedError(judgement.reason)

    try:
        prop()
    except _PropertyFailedError:
        return failures[-1]
    return None


# -- a failing example as a case folder --------------------------------------------------------

#: Scheme and host, path and query of each API's streaming request (for the cassette).
_ENDPOINTS: dict[str, tuple[str, str, dict[str, str]]] = {
    "openai/chat-completions": ("https://api.openai.com", "/v1/chat/completions", {}),
    "openai/responses": ("https://api.openai.com", "/v1/responses", {}),
    "anthropic/messages": ("https://api.anthropic.com", "/v1/messages", {}),
    "gemini/generate-content": (
        "https://generativelanguage.googleapis.com",
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        {},
    ),
    "bedrock/converse-stream": (
        "https://bedrock-runtime.us-east-1.amazonaws.com",
        "/model/us.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse-stream",
        {},
    ),
    "cohere/chat": ("https://api.cohere.com", "/v2/chat", {}),
    "cohere/chat-v1": ("https://api.cohere.com", "/v1/chat", {}),
    "ollama/chat": ("http://localhost:11434", "/api/chat", {}),
}
_CONTENT_TYPES = {
    "sse": "text/event-stream",
    "ndjson": "application/x-ndjson",
    "json-array": "application/json",
    "eventstream": "application/vnd.amazon.eventstream",
}


def _json_ready(value: Any) -> JSONValue:
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_ready(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _knob_diff(api: str, knobs: Any) -> dict[str, JSONValue]:
    default = get_codec(api).knobs
    if not dataclasses.is_dataclass(knobs) or isinstance(knobs, type):
        return {}
    base = {f.name: getattr(default, f.name, None) for f in dataclasses.fields(knobs)}
    return {
        f.name: _json_ready(getattr(knobs, f.name))
        for f in dataclasses.fields(knobs)
        if getattr(knobs, f.name) != base[f.name]
    }


def as_case_files(example: PropertyCase, *, name: str | None = None) -> dict[str, bytes]:
    """The case folder of ``example`` as ``{file name: bytes}`` (the folder is
    ``<api>/<name>``; ``name`` defaults to ``property-<digest of the body>``)."""
    digest = hashlib.sha256(example.body).hexdigest()
    name = name or f"property-{digest[:12]}"
    case_id = f"{example.api}/{name}"
    base_url, path, query = _ENDPOINTS.get(example.api, ("https://api.invalid", "/", {}))
    if example.api == "gemini/generate-content" and example.framing == "sse":
        query = {"alt": "sse"}
    kinds = {e.kind for e in example.events if isinstance(e, BlockStart)}
    pieces = len(example.chunks)
    manifest: dict[str, Any] = {
        "id": case_id,
        "api": example.api,
        "flavour": example.flavour,
        "framing": example.framing,
        "description": f"a generated sequence of {len(example.events)} events in {pieces} chunk(s)",
        "quirks": [],
        "tier": "optional" if kinds & _OPTIONAL else "required",
        "source": {
            "kind": "synthetic",
            "scenario": "property",
            "knobs": _knob_diff(example.api, example.knobs),
        },
        "stream": {
            "file": STREAM_FILES[example.framing],
            "sha256": digest,
            "bytes": len(example.body),
            "content_type": _CONTENT_TYPES[example.framing],
        },
        "chunks": [*example.cuts, len(example.body)] if example.body else None,
        "request": {
            "method": "POST",
            "path": path,
            "query": query,
            "headers": {"content-type": "application/json"},
            "body": None,
            "recordable": False,
        },
        "expected": {
            "file": "expected.jsonl",
            "canonical_version": CANONICAL_VERSION,
            "reviewed": False,
            "events": len(example.events),
        },
    }
    case = Case(
        folder=CASSETTES_ROOT.joinpath(*case_id.split("/")),
        id=case_id,
        api=example.api,
        flavour=example.flavour,
        framing=example.framing,
        description=manifest["description"],
        quirks=(),
        tier=manifest["tier"],
        source=CaseSource(**manifest["source"]),
        stream=CaseStream(**manifest["stream"]),
        chunks=None,
        request=CaseRequest(**manifest["request"]),
        expected=CaseExpected(**manifest["expected"]),
    )
    return {
        "case.json": (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
        "cassette.yaml": cassette_yaml(case, example.body, base_url=base_url).encode("utf-8"),
        case.stream.file: example.body,
        "expected.jsonl": "".join(dumps(e) + "\n" for e in example.events).encode("utf-8"),
    }
