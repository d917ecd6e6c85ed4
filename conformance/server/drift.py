"""A drifting vendor: named mutations of a stream's vendor payloads.  No I/O.

Vendors change their streams without notice.  To test the record -> drift loop end to end
(docs/nightly.md), the loopback server can behave like a vendor that changed: it takes a
case's body, applies mutations to the vendor payloads and re-encodes them in the same
framing (SSE, NDJSON, JSON array, AWS eventstream).  Each mutation is a name:

======================  =====================================================================
``rename-field``        a payload field gets another name (e.g. Anthropic's
                        ``message_delta.usage.output_tokens`` -> ``output_token_count``)
``add-event-type``      a vendor event type nobody has seen is sent before the terminator
``reorder-events``      one event moves before another (e.g. Anthropic's ``message_delta``
                        before the last ``content_block_stop``; OpenAI Chat's usage chunk
                        before the finish chunk; Bedrock's ``metadata`` before ``messageStop``)
``resplit-tool-args``   each run of tool-argument fragments is cut at other points
``move-usage``          the usage object leaves the event it rode on for another one
``drop-terminator``     the vendor's end-of-stream event(s) are not sent
======================  =====================================================================

What each mutation does per API is data (:data:`_PROFILES`).  A mutation that has nothing
to act on -- tool arguments in a text-only case, an event type in an API whose payloads
have none -- leaves the body unchanged and is reported as not applied
(:attr:`Drifted.skipped`), never as an error.  Payloads a mutation does not touch keep
their exact bytes wherever the framing allows (SSE, NDJSON and eventstream are cut into
per-message byte segments; a JSON array is re-joined in Gemini's layout); a payload that
is changed is written as compact JSON.  With no mutation applied the body is returned
unchanged, byte for byte.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from conformance.errors import StreamError, UsageError
from conformance.framing import new_decoder
from conformance.framing.eventstream import encode_message
from conformance.framing.jsonarray import encode as encode_json_array
from conformance.framing.messages import (
    EventStreamHeader,
    EventStreamMessage,
    HeaderType,
    JSONArrayElement,
    Message,
    NDJSONLine,
    SSEEvent,
)
from conformance.framing.sse import encode_event

__all__ = ["DONE", "MUTATIONS", "Drifted", "apply_drift", "parse_mutations"]

#: Every mutation, in the order they are applied when several are asked for.
MUTATIONS: Final = (
    "rename-field",
    "add-event-type",
    "reorder-events",
    "resplit-tool-args",
    "move-usage",
    "drop-terminator",
)

#: The data of the ``[DONE]`` sentinel event (OpenAI Chat, Cohere v2).
DONE: Final = "[DONE]"

Payload = dict[str, Any]
Path = tuple[str | int, ...]
Selector = Callable[[str, Payload | None], bool]


def parse_mutations(spec: str | Iterable[str]) -> tuple[str, ...]:
    """The mutation names of ``spec`` (``"rename-field,move-usage"`` or a list of names),
    without duplicates, in :data:`MUTATIONS` order; ``""`` and ``"none"`` are none.
    :class:`UsageError` names an unknown one and lists the valid ones."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    names = {item.strip().lower() for item in items} - {"", "none"}
    unknown = sorted(names - set(MUTATIONS))
    if unknown:
        raise UsageError(f"unknown drift mutation {', '.join(unknown)} (valid: {', '.join(MUTATIONS)})")
    return tuple(name for name in MUTATIONS if name in names)


@dataclass(frozen=True, slots=True)
class Drifted:
    """A mutated body, the mutations that changed it and those that had nothing to act on."""

    body: bytes
    applied: tuple[str, ...]
    skipped: tuple[str, ...]


# -- units: one framed message, its payload and its original bytes ------------------------


@dataclass(frozen=True, slots=True)
class _Unit:
    """One framed message: ``type`` is its vendor event type (the SSE ``event:`` name,
    the eventstream ``:event-type``, the payload's ``type`` or ``event_type``, ``[DONE]``,
    else ``chunk``); ``payload`` its JSON object (None when it is none); ``raw`` its
    original bytes, or None once changed (it is then encoded again)."""

    message: Message
    type: str
    payload: Payload | None
    raw: bytes | None


def _payload_text(message: Message) -> str | None:
    if isinstance(message, SSEEvent):
        return message.data
    if isinstance(message, NDJSONLine | JSONArrayElement):
        return message.text
    if isinstance(message, EventStreamMessage):
        try:
            return message.payload.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None  # comments and stray lines


def _parse(text: str | None) -> Payload | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _type_of(message: Message, payload: Payload | None) -> str:
    if isinstance(message, EventStreamMessage):
        value = message.header(":event-type") or message.header(":exception-type")
        return str(value) if value is not None else "chunk"
    if isinstance(message, SSEEvent):
        if message.event:
            return message.event
        if message.data == DONE:
            return DONE
    if payload is not None:
        for key in ("type", "event_type"):
            if isinstance(payload.get(key), str):
                return str(payload[key])
    return "chunk"


def _units(framing: str, body: bytes) -> tuple[bytes, list[_Unit]] | None:
    """The body's prefix (a BOM) and units, or None when it cannot be cut into them."""
    options: dict[str, Any] = {}
    if framing == "sse":
        options = {"eof": "dispatch", "keep_comments": True, "keep_stray_lines": True}
    decoder = new_decoder(framing, **options)
    try:
        messages = [*decoder.feed(body), *decoder.close()]
    except StreamError:
        return None
    if not messages:
        return None
    starts = [m.offset for m in messages]
    if any(b <= a for a, b in itertools.pairwise(starts)) or starts[0] < 0:
        return None
    ends = [*starts[1:], len(body)]
    units = []
    for message, start, end in zip(messages, starts, ends, strict=True):
        payload = _parse(_payload_text(message))
        units.append(_Unit(message, _type_of(message, payload), payload, body[start:end]))
    return body[: starts[0]], units


def _eol(body: bytes) -> str:
    if b"\r\n" in body:
        return "\r\n"
    return "\r" if b"\r" in body else "\n"


def _compact(payload: Payload) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _with_payload(unit: _Unit, payload: Payload) -> _Unit:
    """``unit`` carrying ``payload`` instead (to be encoded again)."""
    text = _compact(payload)
    message = unit.message
    if isinstance(message, SSEEvent):
        message = dataclasses.replace(message, data=text)
    elif isinstance(message, NDJSONLine | JSONArrayElement):
        message = dataclasses.replace(message, text=text)
    elif isinstance(message, EventStreamMessage):
        message = dataclasses.replace(message, payload=text.encode("utf-8"))
    return _Unit(message, unit.type, payload, None)


def _encode(framing: str, prefix: bytes, units: Sequence[_Unit], eol: str) -> bytes:
    if framing == "json-array":
        texts = [_payload_text(u.message) or "" for u in units]
        return encode_json_array(texts, style="gemini")
    out = [prefix]
    for i, unit in enumerate(units):
        last = i == len(units) - 1
        data = unit.raw if unit.raw is not None else _encode_unit(unit, eol)
        if not last:
            data = _closed(unit.message, data, eol)
        out.append(data)
    return b"".join(out)


def _encode_unit(unit: _Unit, eol: str) -> bytes:
    message = unit.message
    if isinstance(message, SSEEvent):
        event = dataclasses.replace(message, id=None, retry=None)
        return encode_event(event, eol=eol)  # type: ignore[arg-type]
    if isinstance(message, NDJSONLine):
        return (message.text + eol).encode("utf-8")
    if isinstance(message, EventStreamMessage):
        return encode_message(message.headers, message.payload)
    raise UsageError(f"cannot encode {type(message).__name__} again")  # pragma: no cover


def _closed(message: Message, data: bytes, eol: str) -> bytes:
    """``data`` ended so that what follows it starts a new message (a last SSE event may
    lack its blank line, a last NDJSON line its line end)."""
    end = eol.encode("ascii")
    if isinstance(message, SSEEvent) and not data.endswith(end + end):
        return data + (end if data.endswith(end) else end + end)
    if isinstance(message, NDJSONLine) and not data.endswith((b"\n", b"\r")):
        return data + end
    return data


# -- paths in payloads -----------------------------------------------------------------


def _get(obj: Any, path: Path) -> Any:
    for step in path:
        if isinstance(step, int):
            if not isinstance(obj, list) or not -len(obj) <= step < len(obj):
                return None
            obj = obj[step]
        else:
            if not isinstance(obj, dict) or step not in obj:
                return None
            obj = obj[step]
    return obj


def _has(obj: Any, path: Path) -> bool:
    parent = _get(obj, path[:-1])
    return isinstance(parent, dict) and path[-1] in parent


def _set(obj: Any, path: Path, value: Any) -> None:
    parent = _get(obj, path[:-1])
    key = path[-1]
    if isinstance(parent, dict):
        parent[key] = value
        return
    if isinstance(parent, list) and isinstance(key, int):
        parent[key] = value


def _pop(obj: Any, path: Path) -> Any:
    parent = _get(obj, path[:-1])
    return parent.pop(path[-1]) if isinstance(parent, dict) else None


def _rename_key(obj: Payload, path: Path, new: str) -> None:
    """Rename the last key of ``path`` to ``new``, keeping its place among its siblings."""
    parent = _get(obj, path[:-1])
    if isinstance(parent, dict):
        items = [(new if k == path[-1] else k, v) for k, v in parent.items()]
        parent.clear()
        parent.update(items)


# -- selectors ---------------------------------------------------------------------------


def _of(*types: str) -> Selector:
    return lambda kind, payload: kind in types


def _with(kind_: str | None, path: Path, test: Callable[[Any], bool] = lambda v: v is not None) -> Selector:
    def select(kind: str, payload: Payload | None) -> bool:
        return (kind_ is None or kind == kind_) and payload is not None and test(_get(payload, path))

    return select


def _chat_usage_chunk(kind: str, payload: Payload | None) -> bool:
    return payload is not None and payload.get("choices") == [] and isinstance(payload.get("usage"), dict)


def _chat_finish_chunk(kind: str, payload: Payload | None) -> bool:
    choices = payload.get("choices") if payload is not None else None
    return isinstance(choices, list) and any(
        isinstance(c, dict) and c.get("finish_reason") is not None for c in choices
    )


def _chat_args_fragment(kind: str, payload: Payload | None) -> bool:
    """A continuation chunk: one choice, one tool call, arguments only (no id, no name)."""
    choices = payload.get("choices") if payload is not None else None
    if not (isinstance(choices, list) and len(choices) == 1 and isinstance(choices[0], dict)):
        return False
    calls = _get(choices[0], ("delta", "tool_calls"))
    if not (isinstance(calls, list) and len(calls) == 1 and isinstance(calls[0], dict)):
        return False
    call = calls[0]
    function = call.get("function")
    return (
        not call.get("id")
        and isinstance(function, dict)
        and not function.get("name")
        and isinstance(function.get("arguments"), str)
    )


def _gemini_finish(kind: str, payload: Payload | None) -> bool:
    candidates = payload.get("candidates") if payload is not None else None
    return isinstance(candidates, list) and any(
        isinstance(c, dict) and c.get("finishReason") is not None for c in candidates
    )


# -- the per-API profiles --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rename:
    event_type: str | None  # None: every unit holding the path
    path: tuple[str, ...]
    new_name: str


@dataclass(frozen=True, slots=True)
class _Reorder:
    """Move the first unit ``what`` selects before the last one ``anchor`` selects
    among the units before it."""

    what: Selector
    anchor: Selector


@dataclass(frozen=True, slots=True)
class _Resplit:
    """Tool-argument fragments: which units, where the fragment is, what keys a call."""

    select: Selector
    path: Path
    key: Path


@dataclass(frozen=True, slots=True)
class _MoveUsage:
    """Take ``source_path`` out of the last unit ``source`` selects and put it at
    ``target_path`` of the first unit ``target`` selects (``drop_source``: the source
    unit goes too, once it carried nothing else)."""

    source: Selector
    source_path: tuple[str, ...]
    target: Selector
    target_path: tuple[str, ...]
    drop_source: bool = False


@dataclass(frozen=True, slots=True)
class _Probe:
    """A new event type: its name and how it is framed."""

    name: str
    payload: Payload


@dataclass(frozen=True, slots=True)
class _Profile:
    rename: _Rename | None = None
    probe: _Probe | None = None
    reorder: _Reorder | None = None
    resplit: _Resplit | None = None
    move_usage: _MoveUsage | None = None
    terminator: Selector | None = None
    terminator_last_only: bool = False  # drop only the last unit the selector picks


_PROFILES: Final[dict[str, _Profile]] = {
    "anthropic/messages": _Profile(
        rename=_Rename("message_delta", ("usage", "output_tokens"), "output_token_count"),
        probe=_Probe("drift_probe", {"type": "drift_probe"}),
        reorder=_Reorder(_of("message_delta"), _of("content_block_stop")),
        resplit=_Resplit(
            _with("content_block_delta", ("delta", "type"), lambda v: v == "input_json_delta"),
            ("delta", "partial_json"),
            ("index",),
        ),
        move_usage=_MoveUsage(_of("message_delta"), ("usage",), _of("message_stop"), ("usage",)),
        terminator=_of("message_stop"),
    ),
    "openai/chat-completions": _Profile(
        rename=_Rename(None, ("usage", "completion_tokens"), "output_tokens"),
        reorder=_Reorder(_chat_usage_chunk, _chat_finish_chunk),
        resplit=_Resplit(
            _chat_args_fragment,
            ("choices", 0, "delta", "tool_calls", 0, "function", "arguments"),
            ("choices", 0, "delta", "tool_calls", 0, "index"),
        ),
        move_usage=_MoveUsage(
            _chat_usage_chunk, ("usage",), _chat_finish_chunk, ("usage",), drop_source=True
        ),
        terminator=_of(DONE),
    ),
    "openai/responses": _Profile(
        rename=_Rename("response.completed", ("response", "usage", "output_tokens"), "generated_tokens"),
        probe=_Probe("response.drift_probe", {"type": "response.drift_probe"}),
        reorder=_Reorder(_of("response.content_part.done"), _of("response.output_text.done")),
        resplit=_Resplit(_of("response.function_call_arguments.delta"), ("delta",), ("item_id",)),
        move_usage=_MoveUsage(
            _of("response.completed"), ("response", "usage"), _of("response.output_item.done"), ("usage",)
        ),
        terminator=_of("response.completed", "response.incomplete", "response.failed", DONE),
    ),
    "gemini/generate-content": _Profile(
        rename=_Rename(None, ("usageMetadata", "candidatesTokenCount"), "outputTokenCount"),
        terminator=_gemini_finish,
        terminator_last_only=True,
    ),
    "bedrock/converse-stream": _Profile(
        rename=_Rename("metadata", ("usage", "outputTokens"), "generatedTokens"),
        probe=_Probe("driftProbe", {}),
        reorder=_Reorder(_of("metadata"), _of("messageStop")),
        resplit=_Resplit(
            _with("contentBlockDelta", ("delta", "toolUse", "input"), lambda v: isinstance(v, str)),
            ("delta", "toolUse", "input"),
            ("contentBlockIndex",),
        ),
        move_usage=_MoveUsage(_of("metadata"), ("usage",), _of("messageStop"), ("usage",)),
        terminator=_of("messageStop", "metadata"),
    ),
    "cohere/chat": _Profile(
        rename=_Rename("message-end", ("delta", "usage", "tokens", "output_tokens"), "generated_tokens"),
        probe=_Probe("drift-probe", {"type": "drift-probe"}),
        reorder=_Reorder(_of("message-end"), _of("content-end", "tool-call-end")),
        resplit=_Resplit(
            _with("tool-call-delta", ("delta", "message", "tool_calls", "function", "arguments")),
            ("delta", "message", "tool_calls", "function", "arguments"),
            ("index",),
        ),
        move_usage=_MoveUsage(_of("message-end"), ("delta", "usage"), _of("message-end"), ("usage",)),
        terminator=_of("message-end", DONE),
    ),
    "cohere/chat-v1": _Profile(
        rename=_Rename("stream-end", ("response", "meta", "tokens", "output_tokens"), "generated_tokens"),
        probe=_Probe("drift-probe", {"is_finished": False, "event_type": "drift-probe"}),
        resplit=_Resplit(
            _with(
                "tool-calls-chunk",
                ("tool_call_delta",),
                lambda v: isinstance(v, dict) and isinstance(v.get("parameters"), str) and not v.get("name"),
            ),
            ("tool_call_delta", "parameters"),
            ("tool_call_delta", "index"),
        ),
        terminator=_of("stream-end"),
    ),
    "ollama/chat": _Profile(
        rename=_Rename(None, ("eval_count",), "output_count"),
        terminator=_with(None, ("done",), lambda v: v is True),
    ),
}


# -- the mutations -----------------------------------------------------------------------

_Units = list[_Unit]


def _rename(units: _Units, spec: _Rename) -> _Units | None:
    out, changed = [], False
    for unit in units:
        wanted = spec.event_type is None or unit.type == spec.event_type
        if wanted and unit.payload is not None and _has(unit.payload, spec.path):
            payload = copy.deepcopy(unit.payload)
            _rename_key(payload, spec.path, spec.new_name)
            out.append(_with_payload(unit, payload))
            changed = True
        else:
            out.append(unit)
    return out if changed else None


def _probe(units: _Units, spec: _Probe, framing: str) -> _Units | None:
    if any(u.type == spec.name for u in units):
        return None
    text = _compact(spec.payload)
    message: Message
    if framing == "sse":
        message = SSEEvent(data=text, event=spec.name)
    elif framing == "ndjson":
        message = NDJSONLine(text=text)
    elif framing == "json-array":
        message = JSONArrayElement(text=text)
    else:
        headers = tuple(
            EventStreamHeader(name=name, type=HeaderType.STRING, value=value)
            for name, value in (
                (":event-type", spec.name),
                (":content-type", "application/json"),
                (":message-type", "event"),
            )
        )
        message = EventStreamMessage(headers=headers, payload=text.encode("utf-8"))
    probe = _Unit(message, spec.name, dict(spec.payload), None)
    at = next((i for i, u in enumerate(units) if _terminal(u)), len(units))
    return [*units[:at], probe, *units[at:]]


def _terminal(unit: _Unit) -> bool:
    """Units a probe goes before: the usual terminators of every API."""
    return unit.type in {
        DONE,
        "message_stop",
        "message-end",
        "stream-end",
        "messageStop",
        "response.completed",
        "response.incomplete",
        "response.failed",
    }


def _reorder(units: _Units, spec: _Reorder) -> _Units | None:
    moving = next((i for i, u in enumerate(units) if spec.what(u.type, u.payload)), None)
    if moving is None:
        return None
    anchors = [i for i in range(moving) if spec.anchor(units[i].type, units[i].payload)]
    if not anchors:
        return None
    anchor = anchors[-1]
    return [*units[:anchor], units[moving], *units[anchor:moving], *units[moving + 1 :]]


def _cuts(pieces: Sequence[str]) -> list[int]:
    total, ends = 0, []
    for piece in pieces:
        total += len(piece)
        ends.append(total)
    return ends


def _resplit_text(text: str, old: Sequence[str]) -> list[str] | None:
    """``text`` in pieces of one fixed size whose cuts differ from those of ``old``."""
    before = [c for c in _cuts(old) if 0 < c < len(text)]
    for size in (3, 4, 5, 2, 7, 1):
        pieces = [text[i : i + size] for i in range(0, len(text), size)]
        if [c for c in _cuts(pieces) if c < len(text)] != before:
            return pieces
    return None


def _resplit(units: _Units, spec: _Resplit) -> _Units | None:
    out: _Units = []
    changed = False
    i = 0
    while i < len(units):
        unit = units[i]
        if not (spec.select(unit.type, unit.payload) and isinstance(_get(unit.payload, spec.path), str)):
            out.append(unit)
            i += 1
            continue
        key = _get(unit.payload, spec.key)
        run = [unit]
        while i + len(run) < len(units):
            nxt = units[i + len(run)]
            same = spec.select(nxt.type, nxt.payload) and _get(nxt.payload, spec.key) == key
            if not (same and isinstance(_get(nxt.payload, spec.path), str)):
                break
            run.append(nxt)
        fragments = [str(_get(u.payload, spec.path)) for u in run]
        pieces = _resplit_text("".join(fragments), fragments)
        if pieces is None:
            out.extend(run)
        else:
            for piece in pieces:
                payload = copy.deepcopy(run[0].payload)
                _set(payload, spec.path, piece)
                out.append(_with_payload(run[0], payload or {}))
            changed = True
        i += len(run)
    return out if changed else None


def _move_usage(units: _Units, spec: _MoveUsage) -> _Units | None:
    sources = [
        i
        for i, u in enumerate(units)
        if spec.source(u.type, u.payload) and u.payload is not None and _has(u.payload, spec.source_path)
    ]
    if not sources:
        return None
    source = sources[-1]
    target = next(
        (i for i, u in enumerate(units) if spec.target(u.type, u.payload) and u.payload is not None), None
    )
    if target is None:
        return None
    out = list(units)
    source_payload = copy.deepcopy(units[source].payload or {})
    value = _pop(source_payload, spec.source_path)
    same = source == target  # the usage moves within one event (Cohere v2)
    target_payload = source_payload if same else copy.deepcopy(units[target].payload or {})
    _put(target_payload, spec.target_path, value)
    out[target] = _with_payload(units[target], target_payload)
    if source != target:
        out[source] = _with_payload(units[source], source_payload)
        if spec.drop_source:
            del out[source]
    return out


def _put(payload: Payload, path: tuple[str, ...], value: Any) -> None:
    obj = payload
    for step in path[:-1]:
        nxt = obj.get(step)
        if not isinstance(nxt, dict):
            nxt = obj[step] = {}
        obj = nxt
    obj[path[-1]] = value


def _drop_terminator(units: _Units, profile: _Profile) -> _Units | None:
    select = profile.terminator
    if select is None:
        return None
    dropped = [i for i, u in enumerate(units) if select(u.type, u.payload)]
    if not dropped:
        return None
    if profile.terminator_last_only:
        dropped = dropped[-1:]
    gone = set(dropped)
    return [u for i, u in enumerate(units) if i not in gone]


def _mutate(name: str, units: _Units, profile: _Profile, framing: str) -> _Units | None:
    if name == "rename-field":
        return None if profile.rename is None else _rename(units, profile.rename)
    if name == "add-event-type":
        return None if profile.probe is None else _probe(units, profile.probe, framing)
    if name == "reorder-events":
        return None if profile.reorder is None else _reorder(units, profile.reorder)
    if name == "resplit-tool-args":
        return None if profile.resplit is None else _resplit(units, profile.resplit)
    if name == "move-usage":
        return None if profile.move_usage is None else _move_usage(units, profile.move_usage)
    return _drop_terminator(units, profile)


def apply_drift(api: str, framing: str, body: bytes, mutations: Iterable[str]) -> Drifted:
    """``body`` (an ``api`` stream in ``framing``) with ``mutations`` applied, in
    :data:`MUTATIONS` order.  An API without a profile, or a body that cannot be cut
    into messages, gets no mutation (all reported as skipped)."""
    names = parse_mutations(mutations)
    if not names:
        return Drifted(body, (), ())
    profile = _PROFILES.get(api)
    cut = _units(framing, body) if profile is not None else None
    if profile is None or cut is None:
        return Drifted(body, (), names)
    prefix, units = cut
    applied, skipped = [], []
    for name in names:
        result = _mutate(name, units, profile, framing)
        if result is None:
            skipped.append(name)
        else:
            units = result
            applied.append(name)
    if not applied:
        return Drifted(body, (), tuple(skipped))
    return Drifted(_encode(framing, prefix, units, _eol(body)), tuple(applied), tuple(skipped))
