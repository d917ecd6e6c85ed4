"""Vertex streamed function-call arguments (``partialArgs``): rebuild and decompose.  No I/O.

With ``streamFunctionCallArguments`` Vertex sends a call's arguments as a series of
``{"jsonPath": "$.a.b[0]", "stringValue"|"numberValue"|"boolValue"|"nullValue": ...,
"willContinue": ...}`` entries (QUIRKS 50, genai-py ``PartialArg``).  A string value may
arrive in pieces: an entry with ``willContinue: true`` is continued by the next string
entry for the same path (the recordings end each string with an empty ``stringValue``
that has no ``willContinue``).  Numbers, booleans and nulls arrive whole.

Paths: ``$`` then ``.name``, ``[index]`` or ``['name']``/``["name"]`` (backslash escapes
``\\\\``, ``\\'``, ``\\"``) segments.  The recordings only show ``.name`` and ``[n]``; the
quoted form is what :func:`format_path` writes for keys that are not identifiers, and
the parser accepts it.  Array indices must grow one at a time (an index may repeat an
existing element or append the next one, never skip).

:class:`ArgsAssembler` rebuilds the arguments object; :func:`leaves` is its inverse for
the encoder: the (path, value) pairs of an object, or ``None`` when the object holds an
empty container (which no leaf assignment can create).
"""

from __future__ import annotations

import itertools
import re
from typing import TypeAlias

from conformance.errors import PayloadError
from conformance.events import JSONObject, JSONValue
from conformance.vendors._payload import need

__all__ = ["ArgsAssembler", "Key", "format_path", "leaves", "parse_path"]

Key: TypeAlias = str | int

_NAME = re.compile(r"[^.\[]+")
_INDEX = re.compile(r"\[(\d+)\]")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: Deeper arguments than this are not decomposed (the encoder sends them whole).
MAX_DEPTH = 200


def parse_path(path: str, offset: int) -> list[Key]:
    """The keys of a ``jsonPath`` (at least one; the first is an object key)."""
    if not path.startswith("$"):
        raise PayloadError(f"jsonPath {path!r} does not start with '$'", offset=offset)
    keys: list[Key] = []
    pos = 1
    while pos < len(path):
        char = path[pos]
        if char == ".":
            match = _NAME.match(path, pos + 1)
            if match is None:
                raise PayloadError(f"jsonPath {path!r}: empty name at {pos}", offset=offset)
            keys.append(match.group())
            pos = match.end()
        elif (match := _INDEX.match(path, pos)) is not None:
            keys.append(int(match.group(1)))
            pos = match.end()
        elif path.startswith(("['", '["'), pos):
            name, pos = _quoted(path, pos + 1, offset)
            keys.append(name)
        else:
            raise PayloadError(f"jsonPath {path!r}: unexpected {char!r} at {pos}", offset=offset)
    if not keys or not isinstance(keys[0], str):
        raise PayloadError(f"jsonPath {path!r} does not name a member of the arguments object", offset=offset)
    return keys


def _quoted(path: str, pos: int, offset: int) -> tuple[str, int]:
    """The name of a quoted segment whose quote is at ``pos``; the index after its ``]``."""
    quote = path[pos]
    out: list[str] = []
    pos += 1
    while pos < len(path):
        char = path[pos]
        if char == "\\" and pos + 1 < len(path):
            out.append(path[pos + 1])
            pos += 2
        elif char == quote:
            if path[pos + 1 : pos + 2] != "]":
                break
            return "".join(out), pos + 2
        else:
            out.append(char)
            pos += 1
    raise PayloadError(f"jsonPath {path!r}: unterminated quoted name", offset=offset)


def format_path(keys: tuple[Key, ...] | list[Key]) -> str:
    """The ``jsonPath`` of ``keys``: ``.name`` for identifiers, ``['...']`` otherwise."""
    out = ["$"]
    for key in keys:
        if isinstance(key, int):
            out.append(f"[{key}]")
        elif _IDENTIFIER.match(key):
            out.append(f".{key}")
        else:
            escaped = key.replace("\\", "\\\\").replace("'", "\\'")
            out.append(f"['{escaped}']")
    return "".join(out)


class ArgsAssembler:
    """Rebuilds one call's arguments from its ``partialArgs`` entries."""

    def __init__(self) -> None:
        self.root: JSONObject = {}
        self._open_string: tuple[tuple[Key, ...], str] | None = None  # path, text so far

    def apply(self, entry: JSONObject, offset: int) -> None:
        """Apply one ``partialArgs`` entry (PayloadError if it does not fit)."""
        keys = parse_path(need(entry, "jsonPath", str, offset), offset)
        value: JSONValue
        if "stringValue" in entry:
            piece = need(entry, "stringValue", str, offset)
            here = tuple(keys)
            if self._open_string is not None and self._open_string[0] == here:
                piece = self._open_string[1] + piece
            self._open_string = (here, piece) if entry.get("willContinue") is True else None
            self._set(keys, piece, offset)
            return
        self._open_string = None
        if "numberValue" in entry:
            value = need(entry, "numberValue", float, offset)
        elif "boolValue" in entry:
            value = need(entry, "boolValue", bool, offset)
        elif "nullValue" in entry:
            value = None
        else:
            raise PayloadError("partialArgs entry carries no value", offset=offset)
        self._set(keys, value, offset)

    def _set(self, keys: list[Key], value: JSONValue, offset: int) -> None:
        node: JSONValue = self.root
        for key, following in itertools.pairwise(keys):
            node = _child(node, key, {} if isinstance(following, str) else [], offset)
        _put(node, keys[-1], value, offset)


def _child(node: JSONValue, key: Key, empty: JSONObject | list[JSONValue], offset: int) -> JSONValue:
    """The container under ``key`` in ``node``, created as ``empty`` when absent."""
    if isinstance(node, dict) and isinstance(key, str):
        child = node.setdefault(key, empty)
    elif isinstance(node, list) and isinstance(key, int):
        if key == len(node):
            node.append(empty)
        elif key > len(node):
            raise PayloadError(f"jsonPath index [{key}] skips past the array's end", offset=offset)
        child = node[key]
    else:
        raise PayloadError(f"jsonPath key {key!r} does not fit the value built so far", offset=offset)
    if type(child) is not type(empty):
        raise PayloadError(f"jsonPath key {key!r} holds a {type(child).__name__}", offset=offset)
    return child


def _put(node: JSONValue, key: Key, value: JSONValue, offset: int) -> None:
    if isinstance(node, dict) and isinstance(key, str):
        node[key] = value
    elif isinstance(node, list) and isinstance(key, int) and key <= len(node):
        if key == len(node):
            node.append(value)
        else:
            node[key] = value
    else:
        raise PayloadError(f"jsonPath key {key!r} does not fit the value built so far", offset=offset)


def leaves(args: JSONObject) -> list[tuple[tuple[Key, ...], JSONValue]] | None:
    """Every (path keys, scalar) of ``args`` in document order; ``None`` if ``args``
    holds an empty object or array (inexpressible as leaves) or is nested too deeply."""
    out: list[tuple[tuple[Key, ...], JSONValue]] = []
    # Iterative depth-first walk; each frame is (path, remaining items reversed).
    stack: list[tuple[tuple[Key, ...], list[tuple[Key, JSONValue]]]] = [((), _items(args)[::-1])]
    while stack:
        path, items = stack[-1]
        if not items:
            stack.pop()
            continue
        key, value = items.pop()
        here = (*path, key)
        if isinstance(value, dict | list):
            if not value or len(here) > MAX_DEPTH:
                return None
            stack.append((here, _items(value)[::-1]))
        else:
            out.append((here, value))
    return out


def _items(value: JSONObject | list[JSONValue]) -> list[tuple[Key, JSONValue]]:
    if isinstance(value, dict):
        return list(value.items())
    return list(enumerate(value))
