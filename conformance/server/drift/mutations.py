"""The six drift mutations on a body's units, and :func:`apply_drift`, which cuts a body
into units, applies the mutations its API's profile has and encodes it again.  No I/O.

A mutation returns the new units, or None when it has nothing to act on (the body is then
unchanged by it and it is reported as skipped).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any

from conformance.framing.messages import (
    EventStreamHeader,
    EventStreamMessage,
    HeaderType,
    JSONArrayElement,
    Message,
    NDJSONLine,
    SSEEvent,
)
from conformance.server.drift.model import DONE, Drifted, Payload, parse_mutations
from conformance.server.drift.profiles import PROFILES, MoveUsage, Probe, Profile, Rename, Reorder, Resplit
from conformance.server.drift.units import (
    Unit,
    Units,
    compact,
    cut_units,
    encode_units,
    eol_of,
    get_at,
    has_at,
    pop_at,
    rename_key,
    set_at,
    with_payload,
)

__all__ = ["apply_drift"]


def _rename(units: Units, spec: Rename) -> Units | None:
    out, changed = [], False
    for unit in units:
        wanted = spec.event_type is None or unit.type == spec.event_type
        if wanted and unit.payload is not None and has_at(unit.payload, spec.path):
            payload = copy.deepcopy(unit.payload)
            rename_key(payload, spec.path, spec.new_name)
            out.append(with_payload(unit, payload))
            changed = True
        else:
            out.append(unit)
    return out if changed else None


def _probe(units: Units, spec: Probe, framing: str) -> Units | None:
    if any(u.type == spec.name for u in units):
        return None
    text = compact(spec.payload)
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
    probe = Unit(message, spec.name, dict(spec.payload), None)
    at = next((i for i, u in enumerate(units) if _terminal(u)), len(units))
    return [*units[:at], probe, *units[at:]]


def _terminal(unit: Unit) -> bool:
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


def _reorder(units: Units, spec: Reorder) -> Units | None:
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


def _resplit(units: Units, spec: Resplit) -> Units | None:
    out: Units = []
    changed = False
    i = 0
    while i < len(units):
        unit = units[i]
        if not (spec.select(unit.type, unit.payload) and isinstance(get_at(unit.payload, spec.path), str)):
            out.append(unit)
            i += 1
            continue
        key = get_at(unit.payload, spec.key)
        run = [unit]
        while i + len(run) < len(units):
            nxt = units[i + len(run)]
            same = spec.select(nxt.type, nxt.payload) and get_at(nxt.payload, spec.key) == key
            if not (same and isinstance(get_at(nxt.payload, spec.path), str)):
                break
            run.append(nxt)
        fragments = [str(get_at(u.payload, spec.path)) for u in run]
        pieces = _resplit_text("".join(fragments), fragments)
        if pieces is None:
            out.extend(run)
        else:
            for piece in pieces:
                payload = copy.deepcopy(run[0].payload)
                set_at(payload, spec.path, piece)
                out.append(with_payload(run[0], payload or {}))
            changed = True
        i += len(run)
    return out if changed else None


def _move_usage(units: Units, spec: MoveUsage) -> Units | None:
    sources = [
        i
        for i, u in enumerate(units)
        if spec.source(u.type, u.payload) and u.payload is not None and has_at(u.payload, spec.source_path)
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
    value = pop_at(source_payload, spec.source_path)
    same = source == target  # the usage moves within one event (Cohere v2)
    target_payload = source_payload if same else copy.deepcopy(units[target].payload or {})
    _put(target_payload, spec.target_path, value)
    out[target] = with_payload(units[target], target_payload)
    if source != target:
        out[source] = with_payload(units[source], source_payload)
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


def _drop_terminator(units: Units, profile: Profile) -> Units | None:
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


def _mutate(name: str, units: Units, profile: Profile, framing: str) -> Units | None:
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
    :data:`~conformance.server.drift.model.MUTATIONS` order.  An API without a profile, or a
    body that cannot be cut into messages, gets no mutation (all reported as skipped)."""
    names = parse_mutations(mutations)
    if not names:
        return Drifted(body, (), ())
    profile = PROFILES.get(api)
    cut = cut_units(framing, body) if profile is not None else None
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
    return Drifted(encode_units(framing, prefix, units, eol_of(body)), tuple(applied), tuple(skipped))
