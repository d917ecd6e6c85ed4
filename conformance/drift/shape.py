"""Field paths, JSON types and event types of an API's payloads, and how two differ.  No I/O.

A field path is keyed by the vendor event type first, ``.`` between object keys and
``[]`` for array elements: ``message_delta.usage.output_tokens``,
``chunk.choices[].delta.tool_calls[].function.arguments``.  Each path has the set of
JSON types seen there (``object``, ``array``, ``string``, ``integer``, ``number``,
``boolean``, ``null``; an integer is also a number).

Some subtrees hold the model's or the caller's data, not the vendor's format: tool-call
arguments sent as objects, the JSON Schemas of the request's tools echoed back.  Their
keys change with every response, so :data:`OPAQUE` lists them per API: the path of such
a value is recorded with its type, nothing below it.

:class:`Shape` accumulates one side of an API (every compared case); :func:`shape_findings`
compares two: event types added or removed, and, for event types both sides have, field
paths added, removed or retyped.  The paths of an event type that is gone or new are not
listed one by one (the event type finding says it).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from conformance.drift.model import Finding, Kind, name_cases
from conformance.drift.payloads import VendorPayload
from conformance.events import JSONValue

__all__ = ["OPAQUE", "Shape", "field_paths", "json_type", "shape_findings"]

#: API id -> key sequences (array steps ignored) whose values are data, not format.
OPAQUE: Mapping[str, frozenset[tuple[str, ...]]] = MappingProxyType(
    {
        "anthropic/messages": frozenset({("input",)}),
        "bedrock/converse-stream": frozenset({("toolUse", "input")}),
        "gemini/generate-content": frozenset({("functionCall", "args"), ("functionResponse", "response")}),
        "ollama/chat": frozenset({("function", "arguments")}),
        "cohere/chat-v1": frozenset({("tool_calls", "parameters")}),
        "openai/responses": frozenset({("tools", "parameters"), ("metadata",), ("format", "schema")}),
    }
)


def json_type(value: object) -> str:
    """The JSON type name of a parsed JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _new_types(base: frozenset[str], cand: frozenset[str]) -> set[str]:
    """Types the candidate has that the baseline never allowed (an integer is a number)."""
    return {t for t in cand - base if not (t == "integer" and "number" in base)}


@dataclass(slots=True)
class Shape:
    """One side of one API: event types (payload counts) and field paths (types, cases)."""

    api: str
    event_types: Counter[str] = field(default_factory=Counter)
    type_cases: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    paths: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # path -> JSON type -> cases
    path_event: dict[str, str] = field(default_factory=dict)

    def types(self, path: str) -> frozenset[str]:
        """The JSON types seen at ``path``."""
        return frozenset(self.paths[path])

    def cases(self, path: str, types: Iterable[str] | None = None) -> set[str]:
        """The cases where ``path`` was seen (with one of ``types``, if given)."""
        by_type = self.paths[path]
        return set().union(*(by_type[t] for t in (by_type if types is None else types) if t in by_type))

    def add(self, case: str, payloads: Iterable[VendorPayload]) -> None:
        """Record every payload of one case."""
        opaque = OPAQUE.get(self.api, frozenset())
        seen: set[tuple[str, str, str]] = set()
        for payload in payloads:
            self.event_types[payload.event_type] += 1
            self.type_cases[payload.event_type].add(case)
            if isinstance(payload.value, dict):
                for path, type_ in field_paths(payload.event_type, payload.value, opaque):
                    seen.add((payload.event_type, path, type_))
        for event, path, type_ in seen:
            self.paths.setdefault(path, {}).setdefault(type_, set()).add(case)
            self.path_event[path] = event


def field_paths(
    prefix: str, value: JSONValue, opaque: frozenset[tuple[str, ...]] = frozenset()
) -> Iterator[tuple[str, str]]:
    """Every (path, JSON type) below ``value``, paths starting with ``prefix``; the
    values at key sequences in ``opaque`` are yielded but not entered."""
    stack: list[tuple[str, tuple[str, ...], JSONValue]] = [(prefix, (), value)]
    while stack:
        path, keys, node = stack.pop()
        if isinstance(node, dict):
            children = [(f"{path}.{key}", (*keys, key), item) for key, item in node.items()]
        elif isinstance(node, list):
            children = [(f"{path}[]", keys, item) for item in node]
        else:
            continue
        for inner, inner_keys, item in children:
            yield inner, json_type(item)
            if isinstance(item, dict | list) and not any(inner_keys[-len(o) :] == o for o in opaque):
                stack.append((inner, inner_keys, item))


def _types(types: Iterable[str]) -> list[JSONValue]:
    out: list[JSONValue] = []
    out.extend(sorted(types))
    return out


def _names(types: Iterable[str]) -> str:
    return " or ".join(sorted(types))


def _parent(path: str) -> str:
    return path.rsplit(".", 1)[0] if "." in path else ""


def shape_findings(base: Shape, cand: Shape) -> list[Finding]:
    """What changed from ``base`` to ``cand`` (the same API)."""
    api = base.api
    out: list[Finding] = []
    gone = set(base.event_types) - set(cand.event_types)
    new = set(cand.event_types) - set(base.event_types)
    for etype in sorted(gone):
        seen = name_cases(base.type_cases[etype])
        message = f"event type {etype!r} is in the baseline ({seen}) but not in the candidate"
        out.append(
            Finding(
                kind=Kind.EVENT_TYPE_REMOVED,
                api=api,
                case=None,
                path=etype,
                message=message,
                baseline=base.event_types[etype],
            )
        )
    for etype in sorted(new):
        message = f"new event type {etype!r} in the candidate ({name_cases(cand.type_cases[etype])})"
        out.append(
            Finding(
                kind=Kind.EVENT_TYPE_ADDED,
                api=api,
                case=None,
                path=etype,
                message=message,
                candidate=cand.event_types[etype],
            )
        )
    removed = sorted(p for p in base.paths if p not in cand.paths and base.path_event[p] not in gone)
    added = sorted(p for p in cand.paths if p not in base.paths and cand.path_event[p] not in new)
    for path in removed:
        hints = [a for a in added if _parent(a) == _parent(path) and cand.types(a) == base.types(path)]
        hint = f"; renamed to {hints[0]!r}?" if len(hints) == 1 else ""
        message = (
            f"field {path!r} ({_names(base.types(path))}) is in the baseline "
            f"({name_cases(base.cases(path))}) but in no candidate payload{hint}"
        )
        out.append(
            Finding(
                kind=Kind.FIELD_REMOVED,
                api=api,
                case=None,
                path=path,
                message=message,
                baseline=_types(base.types(path)),
            )
        )
    for path in added:
        seen = name_cases(cand.cases(path))
        message = f"new field {path!r} ({_names(cand.types(path))}) in the candidate ({seen})"
        out.append(
            Finding(
                kind=Kind.FIELD_ADDED,
                api=api,
                case=None,
                path=path,
                message=message,
                candidate=_types(cand.types(path)),
            )
        )
    for path in sorted(base.paths.keys() & cand.paths.keys()):
        was, now = base.types(path), cand.types(path)
        extra = _new_types(was, now)
        if extra:
            message = (
                f"field {path!r} was {_names(was)} in the baseline; the candidate has it as "
                f"{_names(extra)} ({name_cases(cand.cases(path, extra))})"
            )
            out.append(
                Finding(
                    kind=Kind.FIELD_TYPE_CHANGED,
                    api=api,
                    case=None,
                    path=path,
                    message=message,
                    baseline=_types(was),
                    candidate=_types(now),
                )
            )
    return out
