"""Typed access to vendor payload fields; a wrong shape is a PayloadError.  No I/O.

Decoders read payloads through these two functions so that "a known event type with a
defective payload" always becomes a canonical ``decode`` error naming the field and the
byte offset, instead of a ``KeyError`` or ``TypeError`` escaping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar, overload

from conformance.errors import PayloadError

if TYPE_CHECKING:
    from conformance.events import JSONObject

__all__ = ["may", "need"]

T = TypeVar("T")

_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    dict: "an object",
    list: "an array",
}


def _check(value: object, kind: type[T], key: str, offset: int) -> T:
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        want = _NAMES.get(kind, kind.__name__)
        raise PayloadError(f"field {key!r} should be {want}, got {type(value).__name__}", offset=offset)
    return value  # type: ignore[return-value]


def need(obj: JSONObject, key: str, kind: type[T], offset: int) -> T:
    """``obj[key]``, which must be present, not null, and of ``kind``."""
    value = obj.get(key)
    if type(value) is kind:  # the usual case (json makes exact types; bool is not int)
        return value
    if value is None:
        raise PayloadError(f"required field {key!r} is missing", offset=offset)
    return _check(value, kind, key, offset)


@overload
def may(obj: JSONObject, key: str, kind: type[T], offset: int) -> T | None: ...
@overload
def may(obj: JSONObject, key: str, kind: type[T], offset: int, default: T) -> T: ...
def may(obj: JSONObject, key: str, kind: type[T], offset: int, default: T | None = None) -> T | None:
    """``obj[key]`` if present and not null (then it must be of ``kind``), else ``default``."""
    value = obj.get(key)
    if type(value) is kind:  # the usual case (json makes exact types; bool is not int)
        return value
    if value is None:
        return default
    return _check(value, kind, key, offset)
