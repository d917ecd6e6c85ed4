"""A fast "certainly valid" check of canonical event JSON, compiled from the event schema.  No I/O.

Validating each JSON event with jsonschema costs tens of microseconds; this answers in about
one.  The event definitions use a few keywords only, so each is compiled once into plain
type checks that answer "certainly valid" (every keyword certainly holds: exact Python
types, no bool for an integer, no float at all) or "not sure".  Callers send "not sure" to
jsonschema, so what is accepted and every error message stay exactly as jsonschema has
them.  A definition using any other keyword is not compiled: its events always go to
jsonschema.  (tests/test_bench_harness.py checks, by property, that it never says "valid"
where jsonschema says otherwise.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from conformance.events import EVENT_TYPES
from conformance.schemas import canonical_event_schema

__all__ = ["certainly_valid"]

# -- a fast "certainly valid" check, compiled from the event schema --------------------
#
# Validating each JSON event with jsonschema costs tens of microseconds.  The event
# definitions use a few keywords only, so each is compiled once into plain type checks
# that answer "certainly valid" (every keyword certainly holds: exact Python types, no
# bool for an integer, no float at all) or "not sure".  "Not sure" falls back to
# jsonschema, so what is accepted and every error message stay exactly as before.  A
# definition using any other keyword is not compiled: its events always go to jsonschema.

_Check = Callable[[Any], bool]
_IGNORED_KEYWORDS = frozenset({"description", "title", "$comment"})
_EXACT_JSON_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "boolean": bool,
    "object": dict,
    "array": list,
    "null": type(None),
}
_NOT_NUMBER = frozenset({str, bool, dict, list, type(None)})  # keywords for numbers ignore these
_NOT_STRING = frozenset({int, bool, dict, list, type(None)})
_NOT_OBJECT = frozenset({str, int, bool, list, type(None)})


def _anything(value: Any) -> bool:
    return True


def _compile(schema: Mapping[str, Any], defs: Mapping[str, Any], depth: int = 0) -> _Check | None:
    """A check accepting only values ``schema`` certainly accepts, or None (not compiled)."""
    if depth > 8:
        return None
    checks = []
    for keyword, arg in schema.items():
        if keyword not in _IGNORED_KEYWORDS:
            check = _keyword(keyword, arg, schema, defs, depth)
            if check is None:
                return None
            checks.append(check)
    if not checks:
        return _anything
    if len(checks) == 1:
        return checks[0]

    def every(value: Any) -> bool:
        return all(check(value) for check in checks)

    return _object(schema, defs, depth) or _typed_minimum(schema) or every


def _object(schema: Mapping[str, Any], defs: Mapping[str, Any], depth: int) -> _Check | None:
    """One loop for the usual closed object (the same answers as its keywords' checks)."""
    keys = set(schema) - _IGNORED_KEYWORDS
    if keys != {"type", "properties", "required", "additionalProperties"} or schema["type"] != "object":
        return None
    if schema["additionalProperties"] is not False or not isinstance(schema["properties"], dict):
        return None
    compiled = {name: _compile(sub, defs, depth + 1) for name, sub in schema["properties"].items()}
    props: dict[str, _Check] = {k: c for k, c in compiled.items() if c is not None}
    required = tuple(schema["required"])
    if len(props) != len(compiled) or not all(type(k) is str for k in required):
        return None

    def check(value: Any) -> bool:
        if type(value) is not dict:
            return False
        for key in required:
            if key not in value:
                return False
        for key, item in value.items():
            prop = props.get(key) if type(key) is str else None
            if prop is None or not prop(item):
                return False
        return True

    return check


def _typed_minimum(schema: Mapping[str, Any]) -> _Check | None:
    """``{"type": ..., "minimum": n}`` as one check."""
    if set(schema) - _IGNORED_KEYWORDS != {"type", "minimum"} or type(schema["minimum"]) is not int:
        return None
    names = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
    if not isinstance(names, list) or any(n not in _EXACT_JSON_TYPES for n in names):
        return None
    types = frozenset(_EXACT_JSON_TYPES[n] for n in names)
    low: int = schema["minimum"]

    def check(value: Any) -> bool:
        kind = type(value)
        return kind in types and (kind is not int or value >= low)

    return check


def _keyword(
    keyword: str, arg: Any, schema: Mapping[str, Any], defs: Mapping[str, Any], depth: int
) -> _Check | None:
    if keyword == "$ref" and isinstance(arg, str) and arg.removeprefix("#/$defs/") in defs:
        return _compile(defs[arg.removeprefix("#/$defs/")], defs, depth + 1)
    if keyword == "const" and type(arg) is str:
        return lambda value: type(value) is str and value == arg
    if keyword == "enum" and isinstance(arg, list) and all(type(v) is str for v in arg):
        members = frozenset(arg)
        return lambda value: type(value) is str and value in members
    if keyword == "type":
        names = [arg] if isinstance(arg, str) else arg
        if not isinstance(names, list) or any(n not in _EXACT_JSON_TYPES for n in names):
            return None
        types = frozenset(_EXACT_JSON_TYPES[n] for n in names)
        return lambda value: type(value) in types
    if keyword == "minimum" and type(arg) is int:
        return lambda value: type(value) in _NOT_NUMBER or (type(value) is int and value >= arg)
    if keyword == "pattern" and isinstance(arg, str):
        regex = re.compile(arg)  # jsonschema matches with re.search, so does this
        return lambda value: type(value) in _NOT_STRING or (type(value) is str and bool(regex.search(value)))
    if keyword == "anyOf" and isinstance(arg, list):
        subs = [c for c in (_compile(sub, defs, depth + 1) for sub in arg) if c is not None]
        return (lambda value: any(sub(value) for sub in subs)) if subs else None
    if keyword == "properties" and isinstance(arg, dict):
        compiled = {name: _compile(sub, defs, depth + 1) for name, sub in arg.items()}
        if any(c is None for c in compiled.values()):
            return None
        props: dict[str, _Check] = {k: c for k, c in compiled.items() if c is not None}
        return lambda value: (
            type(value) in _NOT_OBJECT
            or (type(value) is dict and all(check(value[k]) for k, check in props.items() if k in value))
        )
    if keyword == "required" and isinstance(arg, list):
        return lambda value: (
            type(value) in _NOT_OBJECT or (type(value) is dict and all(k in value for k in arg))
        )
    if keyword == "additionalProperties" and arg is False and "patternProperties" not in schema:
        allowed = frozenset(schema.get("properties", ()))
        return lambda value: (
            type(value) in _NOT_OBJECT
            or (type(value) is dict and all(type(k) is str and k in allowed for k in value))
        )
    return None


@cache
def _fast_checks() -> dict[str, _Check]:
    """The compiled check of each event type whose definition compiles."""
    defs = canonical_event_schema()["$defs"]
    compiled = {name: _compile(defs[name], defs) for name in EVENT_TYPES if name in defs}
    return {name: check for name, check in compiled.items() if check is not None}


def certainly_valid(obj: dict[str, Any]) -> bool:
    """True only when the event JSON ``obj`` certainly satisfies its schema definition."""
    kind = obj.get("type")
    check = _fast_checks().get(kind) if type(kind) is str else None
    return check is not None and check(obj)
