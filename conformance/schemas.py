"""Load the project's JSON Schemas and validate canonical events against them.

I/O: reads the schema files shipped with the package (``conformance/_schemas`` in an
installed wheel, the repository's ``schemas/`` in a checkout), once, then caches.

Validation dispatches on the event's ``type`` to the matching ``$defs`` subschema,
which is both ~10x faster than the top-level ``oneOf`` and gives precise messages
(a ``oneOf`` failure only says "not valid under any of the given schemas").
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from conformance.errors import UsageError

__all__ = ["canonical_event_schema", "load_schema", "schema_dir", "validate_event_json", "validate_json"]

CANONICAL_EVENT_SCHEMA = "canonical-event.schema.json"


def schema_dir() -> Path:
    """The directory holding the schema files (installed package data or checkout)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_schemas", here.parent / "schemas"):
        if (candidate / CANONICAL_EVENT_SCHEMA).is_file():
            return candidate
    msg = f"schema directory not found next to {here} (looked for _schemas/ and ../schemas/)"
    raise UsageError(msg)


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Parse one schema file by name, e.g. ``canonical-event.schema.json``."""
    path = schema_dir() / name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no schema called {name!r} in {path.parent}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a schema must be a JSON object")
    return data


def canonical_event_schema() -> dict[str, Any]:
    """The canonical event schema (model version 1)."""
    return load_schema(CANONICAL_EVENT_SCHEMA)


@cache
def _validators() -> dict[str, Draft202012Validator]:
    schema = canonical_event_schema()
    registry: Registry[Any] = Registry().with_resource(schema["$id"], Resource.from_contents(schema))
    return {
        name: Draft202012Validator({"$ref": f"{schema['$id']}#/$defs/{name}"}, registry=registry)
        for name in schema["$defs"]
        if "." in name or name in {"usage", "finish", "error", "abort", "unknown"}
    }


def validate_event_json(obj: object, *, path: str = "$") -> list[str]:
    """Every schema problem of one event's JSON, as ``path: message`` strings."""
    if not isinstance(obj, dict):
        return [f"{path}: expected an event object, got {type(obj).__name__}"]
    validators = _validators()
    type_ = obj.get("type")
    validator = validators.get(type_) if isinstance(type_, str) else None
    if validator is None:
        return [f"{path}.type: unknown event type {type_!r} (valid: {', '.join(sorted(validators))})"]
    problems = []
    for err in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
        problems.append(f"{path}{where}: {err.message}")
    return problems


@cache
def _validator(name: str) -> Draft202012Validator:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_json(schema_name: str, obj: object, *, path: str = "$") -> list[str]:
    """Every problem of ``obj`` against the schema file ``schema_name`` (e.g.
    ``vendors/openai/chat-completions.schema.json``), as ``path: message`` strings."""
    problems = []
    for err in sorted(_validator(schema_name).iter_errors(obj), key=lambda e: list(e.absolute_path)):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
        problems.append(f"{path}{where}: {err.message}")
    return problems
