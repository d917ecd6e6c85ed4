"""Gemini's vocabularies mapped onto the canonical model, in tables both directions use.  No I/O.

Finish reasons (genai-py ``FinishReason``), prompt block reasons (``BlockedReason``),
error statuses (google.rpc ``Code`` names as Gemini puts them in ``error.status``) and
``usageMetadata`` arithmetic.  The decoder reads these tables; the encoder inverts
them, so an encoded stream always decodes to the reason it was given.
"""

from __future__ import annotations

from conformance.events import ErrorCategory, FinishReason
from conformance.vendors._builder import category_for_status

__all__ = [
    "BLOCK_REASONS",
    "CANDIDATE_CONTENT_FILTER",
    "ERROR_STATUS_CATEGORIES",
    "error_category",
    "finish_reason",
]

_F = FinishReason

#: ``finishReason`` values that mean the output was filtered (quirk 68).
CANDIDATE_CONTENT_FILTER = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
    }
)

#: ``promptFeedback.blockReason`` values (genai-py ``BlockedReason``); every one of them
#: ends the response as ``content_filter`` -- the prompt itself was blocked.
BLOCK_REASONS = frozenset(
    {
        "BLOCKED_REASON_UNSPECIFIED",
        "SAFETY",
        "OTHER",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "IMAGE_SAFETY",
        "MODEL_ARMOR",
        "JAILBREAK",
    }
)


def finish_reason(raw: str, *, has_tool_calls: bool) -> FinishReason:
    """The unified reason for a candidate's ``finishReason``.

    ``STOP`` is ``tool_calls`` when the response holds a complete client tool call
    (Gemini has no tool-specific reason, quirk 48).  ``MAX_TOKENS`` is ``length``; the
    filtering reasons are ``content_filter``; everything else (``OTHER``,
    ``LANGUAGE``, ``MALFORMED_FUNCTION_CALL``, ``UNEXPECTED_TOOL_CALL``,
    ``TOO_MANY_TOOL_CALLS``, ``NO_IMAGE``, ``IMAGE_OTHER``,
    ``FINISH_REASON_UNSPECIFIED``, values added later) is ``other``, with the raw value
    kept.  ``IMAGE_OTHER`` is the image twin of ``OTHER``, not a filter.
    """
    if raw == "STOP":
        return _F.TOOL_CALLS if has_tool_calls else _F.STOP
    if raw == "MAX_TOKENS":
        return _F.LENGTH
    if raw in CANDIDATE_CONTENT_FILTER:
        return _F.CONTENT_FILTER
    return _F.OTHER


_C = ErrorCategory

#: ``error.status`` (a google.rpc code name) -> category.
ERROR_STATUS_CATEGORIES: dict[str, ErrorCategory] = {
    "UNAVAILABLE": _C.OVERLOADED,
    "RESOURCE_EXHAUSTED": _C.RATE_LIMIT,
    "INTERNAL": _C.SERVER,
    "UNKNOWN": _C.SERVER,
    "DATA_LOSS": _C.SERVER,
    "INVALID_ARGUMENT": _C.INVALID_REQUEST,
    "FAILED_PRECONDITION": _C.INVALID_REQUEST,
    "OUT_OF_RANGE": _C.INVALID_REQUEST,
    "UNIMPLEMENTED": _C.INVALID_REQUEST,
    "ALREADY_EXISTS": _C.INVALID_REQUEST,
    "PERMISSION_DENIED": _C.PERMISSION,
    "UNAUTHENTICATED": _C.AUTH,
    "NOT_FOUND": _C.NOT_FOUND,
    "DEADLINE_EXCEEDED": _C.TIMEOUT,
}


def error_category(status: str | None, code: int | None) -> ErrorCategory:
    """The category of ``{"error": {"code": code, "status": status}}``: the status name
    decides when known, else the HTTP code (``category_for_status``)."""
    if status is not None and status in ERROR_STATUS_CATEGORIES:
        return ERROR_STATUS_CATEGORIES[status]
    return category_for_status(code)
