"""HTTP errors before the stream, as each vendor sends them, and what an adapter makes of them.  No I/O.

:func:`vendor_error` gives, for an API id and an HTTP status, the vendor's own error
response (status, headers, body bytes) and the canonical ``error`` an adapter should
produce from it (:meth:`VendorError.expected_event`): ``category`` and ``retryable`` from
the status (SPEC §7; the same table as the reference decoders' ``category_for_status``),
``status``, ``phase: before_output``, the vendor's ``message`` and ``code`` (the vendor's
error type verbatim: OpenAI's ``code``, else its ``type``; Anthropic's ``error.type``;
Gemini's ``status`` name; Bedrock's exception name; ``None`` for Cohere and Ollama, whose
bodies carry no type).

Shapes (FORMATS.md §1-8 and the sources cited beside each table below):

* OpenAI Chat and Responses: ``{"error": {"message", "type", "param", "code"}}``,
  indented by four spaces as api.openai.com prints it;
* Anthropic: ``{"type": "error", "error": {"type", "message"}, "request_id"}`` and a
  ``request-id`` header (docs.claude.com/en/api/errors);
* Gemini / Vertex: ``{"error": {"code", "message", "status"}}`` with google.rpc status
  names, indented by two spaces (ai.google.dev/gemini-api/docs/troubleshooting);
* Bedrock: ``{"message"}`` with the exception name in ``x-amzn-errortype`` as
  ``Name:http://internal.amazon.com/coral/...`` (botocore's rest-json parser keeps the
  part before the colon; docs.aws.amazon.com Bedrock ConverseStream "Errors");
* Cohere v2 and v1: ``{"message"}`` (docs.cohere.com/errors-reference);
* Ollama: ``{"error": "..."}`` (ollama ``docs/api/errors.mdx``).

Every 429 carries ``retry-after: 1`` (:data:`RETRY_AFTER_SECONDS`).  A status a vendor
does not document (OpenAI 408, 529; Gemini 408, 529; Cohere 408, 413, 502, 529...) is
answered in that vendor's shape with an error type whose meaning agrees with the status,
so that an adapter that trusts the type and one that trusts the status agree; those rows
say "no documented body".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from conformance.errors import UsageError
from conformance.events import Error, ErrorCategory, ErrorPhase

__all__ = [
    "ERROR_APIS",
    "ERROR_STATUSES",
    "EXPECTATIONS",
    "RETRY_AFTER_SECONDS",
    "VendorError",
    "vendor_error",
]

#: The statuses every API has an error response for.
ERROR_STATUSES: tuple[int, ...] = (400, 401, 403, 404, 408, 413, 429, 500, 502, 503, 529)

#: The ``retry-after`` every 429 carries, in seconds (small: a client that honours it
#: should not slow a test run down).
RETRY_AFTER_SECONDS = 1

_C = ErrorCategory
#: Status -> (category, retryable): what an adapter should report for an HTTP error
#: before the stream.  Agrees with SPEC §7's retry table and with the reference
#: decoders' ``category_for_status`` (a test checks both).
EXPECTATIONS: dict[int, tuple[ErrorCategory, bool]] = {
    400: (_C.INVALID_REQUEST, False),
    401: (_C.AUTH, False),
    403: (_C.PERMISSION, False),
    404: (_C.NOT_FOUND, False),
    408: (_C.TIMEOUT, True),
    413: (_C.INVALID_REQUEST, False),
    429: (_C.RATE_LIMIT, True),
    500: (_C.SERVER, True),
    502: (_C.SERVER, True),
    503: (_C.OVERLOADED, True),
    529: (_C.OVERLOADED, True),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class VendorError:
    """One vendor error response and the canonical expectation for it."""

    api: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    message: str
    category: ErrorCategory
    retryable: bool
    code: str | None

    def expected_event(self) -> Error:
        """The canonical ``error`` an adapter should produce for this response."""
        return Error(
            category=self.category,
            message=self.message,
            retryable=self.retryable,
            phase=ErrorPhase.BEFORE_OUTPUT,
            status=self.status,
            code=self.code,
        )


# -- per vendor: status -> (error type, message) -----------------------------------------

# OpenAI: (type, code, message).  Bodies: oai-py ``_exceptions.py`` shape; 400/401/404/429/
# 500 messages as api.openai.com sends them (the 400 one is its answer to a body that is not
# JSON); 403 is the country-restriction answer; 502/503 are the Cloudflare front's
# ``cf_bad_gateway`` / ``cf_service_unavailable`` bodies, whose ``code`` is the status.
# 408, 413, 529: no documented body.
_OPENAI: dict[int, tuple[str, str | int | None, str]] = {
    400: (
        "invalid_request_error",
        None,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
        "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not "
        "valid JSON.)",
    ),
    401: (
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided: sk-conf***********ance. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
    ),
    403: (
        "request_forbidden",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported",
    ),
    404: (
        "invalid_request_error",
        "model_not_found",
        "The model `gpt-conformance` does not exist or you do not have access to it.",
    ),
    408: ("timeout", None, "Request timed out."),
    413: ("invalid_request_error", None, "Request body too large."),
    429: (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for gpt-4o-mini in organization org-conformance on requests per min (RPM): "
        "Limit 3, Used 3, Requested 1. Please try again in 1s.",
    ),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    502: ("cf_bad_gateway", 502, "Bad gateway."),
    503: ("cf_service_unavailable", 503, "Service Unavailable."),
    529: ("overloaded_error", None, "The engine is currently overloaded, please try again later"),
}

# Anthropic: (error.type, message) -- type per status from docs.claude.com/en/api/errors
# (400 invalid_request_error, 401 authentication_error, 403 permission_error, 404
# not_found_error, 413 request_too_large, 429 rate_limit_error, 500 api_error, 529
# overloaded_error); 408 uses timeout_error (the type of its 504), 502 api_error, 503
# overloaded_error.  Messages: 401 and 404 as the API words them, 529 "Overloaded".
_ANTHROPIC: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "messages: Field required"),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "model: claude-conformance"),
    408: ("timeout_error", "Request timed out"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: (
        "rate_limit_error",
        "Number of request tokens has exceeded your per-minute rate limit; see the response headers "
        "for current usage. Please reduce the prompt length or the maximum tokens requested, or try "
        "again later.",
    ),
    500: ("api_error", "Internal server error"),
    502: ("api_error", "Bad gateway"),
    503: ("overloaded_error", "Overloaded"),
    529: ("overloaded_error", "Overloaded"),
}

# Gemini / Vertex: (google.rpc status, message) -- status per HTTP code from the Gemini API
# troubleshooting table (400 INVALID_ARGUMENT, 403 PERMISSION_DENIED, 404 NOT_FOUND, 429
# RESOURCE_EXHAUSTED, 500 INTERNAL, 503 UNAVAILABLE, 504 DEADLINE_EXCEEDED); 401
# UNAUTHENTICATED as Google APIs answer a bad OAuth token; 413 is Google's payload-size
# INVALID_ARGUMENT; 408 DEADLINE_EXCEEDED, 502 INTERNAL, 529 UNAVAILABLE: no documented body.
_GEMINI: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Invalid JSON payload received. Unexpected token."),
    401: (
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
        "or other valid authentication credential.",
    ),
    403: (
        "PERMISSION_DENIED",
        "Method doesn't allow unregistered callers (callers without established identity). Please use "
        "API Key or other form of API consumer identity to call this API.",
    ),
    404: (
        "NOT_FOUND",
        "models/gemini-conformance is not found for API version v1beta, or is not supported for "
        "generateContent. Call ListModels to see the list of available models and their supported methods.",
    ),
    408: ("DEADLINE_EXCEEDED", "The request timed out. Please try again."),
    413: ("INVALID_ARGUMENT", "Request payload size exceeds the limit: 20971520 bytes."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    500: (
        "INTERNAL",
        "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    ),
    502: ("INTERNAL", "Bad gateway."),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    529: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
}

# Bedrock: (exception, message) -- ConverseStream's documented errors and statuses
# (ValidationException 400, AccessDeniedException 403, ResourceNotFoundException 404,
# ModelTimeoutException 408, ThrottlingException 429, InternalServerException 500,
# ServiceUnavailableException 503); 401 is the AWS-wide UnrecognizedClientException;
# 413 ValidationException ("Input is too long..."); 502 InternalServerException, 529
# ServiceUnavailableException: no documented body.  The 400 and 429 messages are the ones
# FORMATS.md §5 quotes.
_BEDROCK: dict[int, tuple[str, str]] = {
    400: ("ValidationException", "The provided model identifier is invalid."),
    401: ("UnrecognizedClientException", "The security token included in the request is invalid."),
    403: ("AccessDeniedException", "You don't have access to the model with the specified model ID."),
    404: ("ResourceNotFoundException", "The requested resource could not be found."),
    408: ("ModelTimeoutException", "Model has timed out in processing the request. Try your request again."),
    413: ("ValidationException", "Input is too long for requested model."),
    429: ("ThrottlingException", "Too many requests, please wait before trying again."),
    500: (
        "InternalServerException",
        "The server encountered an internal error while processing the request.",
    ),
    502: ("InternalServerException", "Bad gateway."),
    503: ("ServiceUnavailableException", "Bedrock is unable to process your request."),
    529: ("ServiceUnavailableException", "Bedrock is unable to process your request."),
}
_BEDROCK_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.bedrock/"

# Cohere: message only -- 400, 401, 404, 429, 500 worded as docs.cohere.com/errors-reference
# lists them; the others: no documented body.
_COHERE: dict[int, str] = {
    400: "invalid request: message must be at least 1 token long or tool results must be specified.",
    401: "invalid api token",
    403: "You do not have access to this resource.",
    404: (
        "model 'command-conformance' not found, make sure the correct model ID was used and that you "
        "have access to the model."
    ),
    408: "request timed out",
    413: "request entity too large",
    429: "You are past the per minute request limit, please wait and try again later.",
    500: "internal server error, this has been reported to our developers",
    502: "bad gateway",
    503: "service unavailable",
    529: "service overloaded, please try again later",
}

# Ollama: message only -- 400 is Go's encoding/json complaint about a body that is not
# JSON, 404 the "model not found" answer, 503 the full-queue answer (ollama server);
# the others: no documented body.
_OLLAMA: dict[int, str] = {
    400: "invalid character 'x' looking for beginning of value",
    401: "unauthorized",
    403: "forbidden",
    404: 'model "llama-conformance" not found, try pulling it first',
    408: "request timed out",
    413: "request entity too large",
    429: "too many requests",
    500: "llama runner process has terminated: exit status 2",
    502: "bad gateway",
    503: "server busy, please try again.  maximum pending requests exceeded",
    529: "server overloaded, please try again",
}

_FAMILIES: dict[str, str] = {
    "openai/chat-completions": "openai",
    "openai/responses": "openai",
    "anthropic/messages": "anthropic",
    "gemini/generate-content": "gemini",
    "bedrock/converse-stream": "bedrock",
    "cohere/chat": "cohere",
    "cohere/chat-v1": "cohere",
    "ollama/chat": "ollama",
}

#: The API ids that have vendor error shapes here.
ERROR_APIS: tuple[str, ...] = tuple(_FAMILIES)

_JSON = "application/json"


def _dump(obj: Any, indent: int | None = None) -> bytes:
    if indent is None:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return (json.dumps(obj, ensure_ascii=False, indent=indent) + "\n").encode("utf-8")


def _openai(status: int, message: str | None) -> tuple[bytes, list[tuple[str, str]], str, str | None]:
    type_, code, text = _OPENAI[status]
    if message is not None:  # the server's own complaint: not the specific error the code names
        text, code = message, code if isinstance(code, int) else None
    body = {"error": {"message": text, "type": type_, "param": None, "code": code}}
    headers = [("content-type", _JSON), ("x-request-id", "req_conformance")]
    return _dump(body, indent=4), headers, text, code if isinstance(code, str) else type_


def _anthropic(status: int, message: str | None) -> tuple[bytes, list[tuple[str, str]], str, str | None]:
    type_, text = _ANTHROPIC[status]
    text = message if message is not None else text
    body = {"type": "error", "error": {"type": type_, "message": text}, "request_id": "req_conformance"}
    return _dump(body), [("content-type", _JSON), ("request-id", "req_conformance")], text, type_


def _gemini(status: int, message: str | None) -> tuple[bytes, list[tuple[str, str]], str, str | None]:
    rpc_status, text = _GEMINI[status]
    text = message if message is not None else text
    body = {"error": {"code": status, "message": text, "status": rpc_status}}
    return _dump(body, indent=2), [("content-type", "application/json; charset=UTF-8")], text, rpc_status


def _bedrock(status: int, message: str | None) -> tuple[bytes, list[tuple[str, str]], str, str | None]:
    exception, text = _BEDROCK[status]
    text = message if message is not None else text
    headers = [
        ("content-type", _JSON),
        ("x-amzn-errortype", exception + _BEDROCK_TYPE_SUFFIX),
        ("x-amzn-requestid", "c0f0a1e5-0000-4000-8000-000000000001"),
    ]
    return _dump({"message": text}), headers, text, exception


def _cohere(status: int, message: str | None) -> tuple[bytes, list[tuple[str, str]], str, str | None]:
    text = message if message is not None else _COHERE[status]
    return _dump({"message": text}), [("content-type", _JSON)], text, None


def _ollama(status: int, message: str | None) -> tuple[bytes, list[tuple[str, str]], str, str | None]:
    text = message if message is not None else _OLLAMA[status]
    return _dump({"error": text}), [("content-type", "application/json; charset=utf-8")], text, None


_BUILDERS = {
    "openai": _openai,
    "anthropic": _anthropic,
    "gemini": _gemini,
    "bedrock": _bedrock,
    "cohere": _cohere,
    "ollama": _ollama,
}


def vendor_error(api: str, status: int, *, message: str | None = None) -> VendorError:
    """The error response ``api``'s vendor sends with ``status`` (one of
    :data:`ERROR_STATUSES`), and what an adapter should make of it.

    ``message`` replaces the vendor's default message (the server uses it to say what
    was wrong with a request); the error type stays the status's, and OpenAI's specific
    ``code`` (``model_not_found``...) is dropped, as OpenAI does for generic errors
    (``Invalid URL (POST /v1/x)`` comes with ``"code": null``).
    """
    family = _FAMILIES.get(api)
    if family is None:
        raise UsageError(f"no vendor error shapes for API {api!r} (valid: {', '.join(ERROR_APIS)})")
    if status not in EXPECTATIONS:
        valid = ", ".join(map(str, ERROR_STATUSES))
        raise UsageError(f"no vendor error for HTTP status {status!r} (valid: {valid})")
    body, headers, text, code = _BUILDERS[family](status, message)
    if status == 429:
        headers.append(("retry-after", str(RETRY_AFTER_SECONDS)))
    category, retryable = EXPECTATIONS[status]
    return VendorError(
        api=api,
        status=status,
        headers=tuple(headers),
        body=body,
        message=text,
        category=category,
        retryable=retryable,
        code=code,
    )
