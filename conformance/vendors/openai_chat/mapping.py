"""OpenAI Chat Completions vocabulary: finish reasons, error categories, usage fields.  No I/O.

The decoder maps wire values through these functions; the encoder renders with their
inverses (:func:`error_object`, :func:`usage_object`) and checks with the same
functions that what it renders decodes back to what it was given, so the two can never
disagree about a mapping.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, TypeAlias

from conformance.errors import PayloadError, UsageError
from conformance.events import ErrorCategory, FinishReason
from conformance.vendors._builder import category_for_status
from conformance.vendors._payload import may

if TYPE_CHECKING:
    from conformance.events import Error, JSONObject, JSONValue, Usage

__all__ = [
    "CATEGORY_TYPES",
    "CUT_OFF",
    "DONE_WITHOUT_FINISH",
    "ENDED_WITHOUT_DONE",
    "ErrorFields",
    "TERMINATOR",
    "UsageFields",
    "error_fields",
    "error_object",
    "finish_reason_for",
    "usage_fields",
    "usage_object",
]

#: The vendor's end-of-stream sentinel (the SSE ``data`` of the last event).
TERMINATOR = "data: [DONE]"
#: The base class's message for a stream that ends without the terminator.
ENDED_WITHOUT_DONE = f"the stream ended without {TERMINATOR}"
#: Our message for ``[DONE]`` arriving before any ``finish_reason`` of choice 0.
DONE_WITHOUT_FINISH = "data: [DONE] arrived before any finish_reason: the response did not complete"

_F = FinishReason
#: ``finish_reason`` values -> unified reason.  OpenAI's documented values first
#: (oai-py ``Choice.finish_reason``), then Mistral's ``error`` (mistral-sdk) and
#: values OpenAI-compatible servers pass through from other APIs.  Anything else is
#: ``other`` with the raw value kept.
_FINISH: dict[str, FinishReason] = {
    "stop": _F.STOP,
    "length": _F.LENGTH,
    "tool_calls": _F.TOOL_CALLS,
    "function_call": _F.TOOL_CALLS,  # deprecated ``functions`` API
    "content_filter": _F.CONTENT_FILTER,
    "error": _F.ERROR,  # Mistral
    "end_turn": _F.STOP,
    "stop_sequence": _F.STOP,
    "eos": _F.STOP,
    "max_tokens": _F.LENGTH,
    "model_length": _F.LENGTH,  # Mistral: the model's context length was reached
    "tool_use": _F.TOOL_CALLS,
}


#: Finish reasons under which the blocks still open were cut off (end ``incomplete``):
#: the output limit, and Mistral's ``error`` (the generation failed).
CUT_OFF = frozenset({_F.LENGTH, _F.ERROR})


def finish_reason_for(raw: str, *, has_complete_call: bool) -> FinishReason:
    """The unified reason for a ``finish_reason``.

    A tool-calls reason without any complete tool call (a server bug, or a call
    whose fragments never named a function) becomes ``other``: ``tool_calls``
    promises the consumer a call to run (rule ``finish.tool-calls``).
    """
    reason = _FINISH.get(raw, _F.OTHER)
    if reason is _F.TOOL_CALLS and not has_complete_call:
        return _F.OTHER
    return reason


_C = ErrorCategory
#: Error ``code`` or ``type`` values -> category; the ``code`` is looked up first
#: (it is the more specific), then the ``type``, then the HTTP status.  Kept in line
#: with the OpenAI Responses codec (``insufficient_quota`` is a billing state: a retry
#: cannot succeed, so it is ``permission``, not a retryable rate limit).
_CATEGORIES: dict[str, ErrorCategory] = {
    "server_error": _C.SERVER,
    "api_error": _C.SERVER,
    "internal_error": _C.SERVER,
    "internal_server_error": _C.SERVER,
    "rate_limit_exceeded": _C.RATE_LIMIT,
    "rate_limit_error": _C.RATE_LIMIT,
    "tokens": _C.RATE_LIMIT,
    "requests": _C.RATE_LIMIT,
    "insufficient_quota": _C.PERMISSION,
    "permission_error": _C.PERMISSION,
    "permission_denied": _C.PERMISSION,
    "authentication_error": _C.AUTH,
    "invalid_api_key": _C.AUTH,
    "not_found_error": _C.NOT_FOUND,
    "model_not_found": _C.NOT_FOUND,
    "context_length_exceeded": _C.CONTEXT_LENGTH,
    "content_filter": _C.CONTENT_FILTER,
    "content_policy_violation": _C.CONTENT_FILTER,
    "overloaded_error": _C.OVERLOADED,
    "service_unavailable": _C.OVERLOADED,
    "engine_overloaded": _C.OVERLOADED,
    "timeout": _C.TIMEOUT,
    "invalid_request_error": _C.INVALID_REQUEST,
    "tool_use_failed": _C.INVALID_REQUEST,  # Groq
    "bad_request": _C.INVALID_REQUEST,
}

#: A ``type`` string per category, for the encoder to render beside a ``code``.
CATEGORY_TYPES: dict[ErrorCategory, str] = {
    _C.SERVER: "server_error",
    _C.RATE_LIMIT: "rate_limit_error",
    _C.PERMISSION: "permission_error",
    _C.AUTH: "authentication_error",
    _C.NOT_FOUND: "not_found_error",
    _C.CONTEXT_LENGTH: "context_length_exceeded",
    _C.CONTENT_FILTER: "content_filter",
    _C.OVERLOADED: "overloaded_error",
    _C.TIMEOUT: "timeout",
    _C.INVALID_REQUEST: "invalid_request_error",
}


ErrorFields: TypeAlias = tuple[ErrorCategory, str, int | None, str | None]
"""``(category, message, status, code)`` of a vendor error object."""


def error_fields(error: JSONValue, offset: int) -> ErrorFields:
    """Read a vendor error (the value of a payload's ``error``, or a whole ``event:
    error`` payload without one).

    ``message``: the vendor's, else the error as compact JSON.  ``status``: Groq's
    ``status_code``, else OpenRouter's numeric ``code``.  ``code``: the string
    ``code``, else the ``type`` (OpenAI sends ``type:"server_error", code:null``).
    """
    if isinstance(error, str):
        return _C.UNKNOWN, error, None, None
    if not isinstance(error, dict):
        raise PayloadError(f"field 'error' should be an object, got {type(error).__name__}", offset=offset)
    message = may(error, "message", str, offset)
    if message is None:
        message = json.dumps(error, ensure_ascii=False, separators=(",", ":"))
    raw_code = error.get("code")
    type_ = may(error, "type", str, offset)
    status = may(error, "status_code", int, offset)
    if status is None and isinstance(raw_code, int) and not isinstance(raw_code, bool):
        status = raw_code
    code = raw_code if isinstance(raw_code, str) else type_
    for key in (raw_code if isinstance(raw_code, str) else None, type_):
        if key is not None and key in _CATEGORIES:
            return _CATEGORIES[key], message, status, code
    return category_for_status(status), message, status, code


UsageFields: TypeAlias = tuple[int | None, int | None, int | None, int | None, int | None]
"""``(input_tokens, output_tokens, cache_read, cache_write, reasoning_tokens)``."""


def _count(obj: JSONObject, key: str, offset: int) -> int | None:
    value = may(obj, key, int, offset)
    if value is not None and value < 0:
        raise PayloadError(f"token count {key!r} is negative: {value}", offset=offset)
    return value


def usage_fields(usage: JSONObject, offset: int) -> UsageFields:
    """The canonical counts of a usage object (OpenAI's, or a compatible server's).

    ``prompt_tokens`` already includes cached tokens (so it is ``input_tokens`` as
    is); ``cache_read`` is DeepSeek's ``prompt_cache_hit_tokens`` when present, else
    ``prompt_tokens_details.cached_tokens``; ``cache_write`` is OpenRouter's
    ``prompt_tokens_details.cache_write_tokens``; ``reasoning_tokens`` is
    ``completion_tokens_details.reasoning_tokens`` (already in ``completion_tokens``).
    """
    prompt = may(usage, "prompt_tokens_details", dict, offset) or {}
    completion = may(usage, "completion_tokens_details", dict, offset) or {}
    hit = _count(usage, "prompt_cache_hit_tokens", offset)
    return (
        _count(usage, "prompt_tokens", offset),
        _count(usage, "completion_tokens", offset),
        hit if hit is not None else _count(prompt, "cached_tokens", offset),
        _count(prompt, "cache_write_tokens", offset),
        _count(completion, "reasoning_tokens", offset),
    )


def usage_object(usage: Usage, flavour: str) -> JSONObject:
    """The usage object that decodes to ``usage`` (``total_tokens`` = input + output when both
    are known; DeepSeek also gets its cache hit/miss split)."""
    out: JSONObject = {}
    if usage.input_tokens is not None:
        out["prompt_tokens"] = usage.input_tokens
    if usage.output_tokens is not None:
        out["completion_tokens"] = usage.output_tokens
    if usage.input_tokens is not None and usage.output_tokens is not None:
        out["total_tokens"] = usage.input_tokens + usage.output_tokens
    prompt: JSONObject = {}
    if usage.cache_read is not None:
        prompt["cached_tokens"] = usage.cache_read
    if usage.cache_write is not None:
        prompt["cache_write_tokens"] = usage.cache_write
    if prompt:
        out["prompt_tokens_details"] = prompt
    if usage.reasoning_tokens is not None:
        out["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    if flavour == "deepseek" and usage.cache_read is not None:
        out["prompt_cache_hit_tokens"] = usage.cache_read
        if usage.input_tokens is not None and usage.input_tokens >= usage.cache_read:
            out["prompt_cache_miss_tokens"] = usage.input_tokens - usage.cache_read
    if not out:
        raise UsageError("a usage snapshot with no count cannot be sent")
    return out


def error_object(error: Error, style: str) -> JSONObject:
    """The vendor error object that decodes to ``error`` (checked with the decoder's mapping)."""
    out: JSONObject = {"message": error.message}
    if error.code is not None:
        type_ = CATEGORY_TYPES.get(error.category)
        if type_ is not None:
            out["type"] = type_
        out |= {"param": None, "code": error.code}
        if error.status is not None:
            out["status_code"] = error.status
    elif error.status is not None:
        out["code" if style == "chunk" else "status_code"] = error.status
    got = error_fields(out, 0)
    if got != (error.category, error.message, error.status, error.code):
        raise UsageError(
            f"error category {error.category.value!r} with code {error.code!r} and status "
            f"{error.status!r} cannot be sent: the wire form decodes as {got[0].value!r}"
        )
    return out
