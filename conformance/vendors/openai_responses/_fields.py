"""Typed reads of Responses payload fields for the decoder; a wrong shape is a PayloadError.  No I/O.

Besides the generic ``need``/``may`` of :mod:`conformance.vendors._payload`: strict
text and index reads for the hot delta path, token counts (never negative), the usage
object of a response, and error objects in both shapes the API uses (nested under
``error`` on the wire, flat in the SDK's ``ResponseErrorEvent``).
"""

from __future__ import annotations

from typing import TypeAlias

from conformance.errors import PayloadError
from conformance.events import ErrorCategory, JSONObject
from conformance.vendors._payload import may
from conformance.vendors.openai_responses._tables import category_for_code

__all__ = ["ErrorFields", "count", "error_fields", "need_index", "need_text", "usage_counts"]

#: category, message, HTTP status, vendor code.
ErrorFields: TypeAlias = tuple[ErrorCategory, str, int | None, str | None]


def need_text(obj: JSONObject, key: str, offset: int) -> str:
    value = obj.get(key)
    if type(value) is not str:
        raise PayloadError(f"field {key!r} should be a string, got {type(value).__name__}", offset=offset)
    return value


def need_index(obj: JSONObject, key: str, offset: int) -> int:
    value = obj.get(key)
    if type(value) is not int or value < 0:
        raise PayloadError(f"field {key!r} should be an integer >= 0, got {value!r}", offset=offset)
    return value


def count(obj: JSONObject, key: str, offset: int) -> int | None:
    value = may(obj, key, int, offset)
    if value is not None and value < 0:
        raise PayloadError(f"field {key!r} is a negative token count: {value}", offset=offset)
    return value


def error_fields(obj: JSONObject, offset: int, *, typed: bool) -> ErrorFields:
    """Category, message, status, code of an error object (nested or the SDK's flat form)."""
    type_ = may(obj, "type", str, offset) if typed else None
    raw_code = obj.get("code")
    status = None
    if isinstance(raw_code, int) and not isinstance(raw_code, bool):  # proxies put the HTTP status here
        status, code = raw_code, type_
    elif raw_code is None or isinstance(raw_code, str):
        code = raw_code or type_
    else:
        raise PayloadError(f"field 'code' should be a string, got {type(raw_code).__name__}", offset=offset)
    for name in ("status", "status_code"):
        value = obj.get(name)
        if status is None and isinstance(value, int) and not isinstance(value, bool):
            status = value
    message = may(obj, "message", str, offset) or f"the response failed ({code or 'no error code'})"
    return category_for_code(code, type_, status), message, status, code


def usage_counts(response: JSONObject, offset: int) -> dict[str, int | None] | None:
    """The canonical usage fields of a response object's ``usage`` (None when it has none)."""
    usage = may(response, "usage", dict, offset)
    if usage is None:
        return None
    inputs = may(usage, "input_tokens_details", dict, offset, {})
    outputs = may(usage, "output_tokens_details", dict, offset, {})
    return {
        "input_tokens": count(usage, "input_tokens", offset),
        "output_tokens": count(usage, "output_tokens", offset),
        "cache_read": count(inputs, "cached_tokens", offset),
        "cache_write": count(inputs, "cache_write_tokens", offset),
        "reasoning_tokens": count(outputs, "reasoning_tokens", offset),
    }
