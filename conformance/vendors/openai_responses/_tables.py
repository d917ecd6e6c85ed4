"""Facts about the OpenAI Responses wire that the decoder and the encoder share.  No I/O.

One table per decision, so that decoding and encoding cannot drift apart:

* :data:`SERVER_TOOLS`: the provider-executed output item types, the tool name a
  ``server_tool_call`` block gets, which item fields are the call's *arguments* and
  which are its *result*, and the progress events each type streams (oai-py
  ``response_stream_event.py`` and the item models under ``types/responses``);
* :data:`CLIENT_CALLS`: the output item types the client executes, with the field that
  carries their argument text;
* :func:`category_for_code`: the canonical error category of a vendor error code or
  type (codes from oai-py ``response_error.py`` plus the HTTP error types);
* :data:`INCOMPLETE_REASONS`: ``incomplete_details.reason`` -> finish reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.events import ErrorCategory, FinishReason
from conformance.vendors._builder import category_for_status

__all__ = [
    "CLIENT_CALLS",
    "INCOMPLETE_REASONS",
    "KNOWN_QUIET_EVENTS",
    "SERVER_TOOLS",
    "SERVER_TOOL_BY_NAME",
    "ServerTool",
    "category_for_code",
]


@dataclass(frozen=True, slots=True)
class ServerTool:
    """One provider-executed item type and how it maps onto canonical blocks."""

    item_type: str  # e.g. "web_search_call"
    name: str  # the server_tool_call block's name, e.g. "web_search"
    inputs: tuple[str, ...]  # item fields that form the call's arguments object
    results: tuple[str, ...]  # item fields that form the server_tool_result data
    progress: tuple[str, ...]  # ``response.<item_type>.<x>`` progress events, in order


SERVER_TOOLS: dict[str, ServerTool] = {
    tool.item_type: tool
    for tool in (
        ServerTool(
            "web_search_call", "web_search", ("action",), (), ("in_progress", "searching", "completed")
        ),
        ServerTool(
            "file_search_call",
            "file_search",
            ("queries",),
            ("results",),
            ("in_progress", "searching", "completed"),
        ),
        ServerTool(
            "code_interpreter_call",
            "code_interpreter",
            ("code", "container_id"),
            ("outputs",),
            ("in_progress", "interpreting", "completed"),
        ),
        ServerTool(
            "image_generation_call",
            "image_generation",
            (),
            ("result",),
            ("in_progress", "generating", "completed"),
        ),
        ServerTool(
            "mcp_call",
            "mcp",
            ("server_label", "name", "arguments"),
            ("output", "error"),
            ("in_progress", "completed"),
        ),
        ServerTool(
            "mcp_list_tools",
            "mcp_list_tools",
            ("server_label",),
            ("tools", "error"),
            ("in_progress", "completed"),
        ),
    )
}

#: server_tool_call block name -> its item type's table row.
SERVER_TOOL_BY_NAME: dict[str, ServerTool] = {tool.name: tool for tool in SERVER_TOOLS.values()}

#: Client-executed call item types -> (the field holding the argument text, its delta/done events' field).
CLIENT_CALLS: dict[str, str] = {"function_call": "arguments", "custom_tool_call": "input"}

#: Known events that carry nothing the canonical model needs (progress notices).
KNOWN_QUIET_EVENTS: frozenset[str] = frozenset(
    {
        *(f"response.{tool.item_type}.{step}" for tool in SERVER_TOOLS.values() for step in tool.progress),
        "response.web_search_call.failed",
        "response.file_search_call.failed",
        "response.code_interpreter_call.failed",
        "response.mcp_call.failed",
        "response.mcp_list_tools.failed",
        "response.code_interpreter_call_code.delta",
        "response.code_interpreter_call_code.done",
        "response.image_generation_call.partial_image",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
    }
)

_C = ErrorCategory
_CODE_CATEGORIES: dict[str, ErrorCategory] = {
    "server_error": _C.SERVER,
    "rate_limit_exceeded": _C.RATE_LIMIT,
    "rate_limit_error": _C.RATE_LIMIT,
    # Quota exhaustion is a billing state: retrying the same request cannot succeed
    # until someone pays, so it is not a (retryable) rate limit.  ``code`` keeps the
    # verbatim value for users who want to tell it apart.
    "insufficient_quota": _C.PERMISSION,
    "permission_error": _C.PERMISSION,
    "authentication_error": _C.AUTH,
    "invalid_api_key": _C.AUTH,
    "not_found_error": _C.NOT_FOUND,
    "model_not_found": _C.NOT_FOUND,
    "context_length_exceeded": _C.CONTEXT_LENGTH,
    "vector_store_timeout": _C.TIMEOUT,
    "bio_policy": _C.CONTENT_FILTER,
    "misalignment_policy_violation": _C.CONTENT_FILTER,
    "image_content_policy_violation": _C.CONTENT_FILTER,
    "content_policy_violation": _C.CONTENT_FILTER,
    "content_filter": _C.CONTENT_FILTER,
    **dict.fromkeys(
        (
            "invalid_prompt",
            "invalid_request_error",
            "data_residency_mismatch",
            "invalid_image",
            "invalid_image_format",
            "invalid_base64_image",
            "invalid_image_url",
            "image_too_large",
            "image_too_small",
            "image_parse_error",
            "invalid_image_mode",
            "image_file_too_large",
            "unsupported_image_media_type",
            "empty_image_file",
            "failed_to_download_image",
            "image_file_not_found",
        ),
        _C.INVALID_REQUEST,
    ),
}


def category_for_code(code: str | None, type_: str | None = None, status: int | None = None) -> ErrorCategory:
    """The category of a vendor error: by its code, else its type, else its HTTP status."""
    for key in (code, type_):
        if key is not None and key in _CODE_CATEGORIES:
            return _CODE_CATEGORIES[key]
    return category_for_status(status)


#: ``incomplete_details.reason`` -> unified finish reason (anything else is ``other``).
INCOMPLETE_REASONS: dict[str, FinishReason] = {
    "max_output_tokens": FinishReason.LENGTH,
    "content_filter": FinishReason.CONTENT_FILTER,
}
