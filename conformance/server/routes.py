"""The loopback server's routes: a request target -> the vendor API it calls.  No I/O.

Each vendor's streaming endpoint, as the vendor spells it (FORMATS.md §1-8), maps to the
API id of its codec, the framing of the body it streams and, where the path names one,
the model:

==========  ==============================================================  ============================
method      path                                                            API id (framing)
==========  ==============================================================  ============================
POST        ``/v1/chat/completions``                                        ``openai/chat-completions``
POST        ``/v1/responses``                                               ``openai/responses``
POST        ``/v1/messages``                                                ``anthropic/messages``
POST        ``/v1beta/models/{model}:streamGenerateContent``                ``gemini/generate-content``
            (also ``/v1/models/...`` and Vertex's ``/v1[beta1]/projects/
            {p}/locations/{l}/publishers/google/models/{model}:...``)       (``alt=sse``: sse, else
                                                                            json-array)
POST        ``/model/{model}/converse-stream``                              ``bedrock/converse-stream``
POST        ``/v2/chat``                                                    ``cohere/chat``
POST        ``/v1/chat``                                                    ``cohere/chat-v1`` (ndjson)
POST        ``/api/chat`` (and ``/api/generate``)                           ``ollama/chat`` (ndjson)
==========  ==============================================================  ============================

Any route may be preceded by a token prefix ``/_t/<token>``: the server then answers with
the plan registered under that token (``LoopbackServer.expect``).  A base URL ending in
``/_t/<token>`` therefore works with every SDK that appends the vendor path to its base
URL.  Query strings are split here (``%XX`` and ``+`` decoded); the model in a path is
percent-decoded (Bedrock model ids carry ``%3A``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CASE_ID_PATTERN",
    "DEFAULT_ERROR_API",
    "ROUTES",
    "TOKEN_PREFIX",
    "Route",
    "RouteSpec",
    "Target",
    "case_id_for_model",
    "guess_api",
    "match_route",
    "model_from_body",
    "parse_target",
    "route_for_api",
]

#: The path segment that introduces a token: ``/_t/<token>/<vendor path>``.
TOKEN_PREFIX = "/_t/"
_TOKEN = re.compile(r"/_t/([A-Za-z0-9_-]{1,64})(/.*)?", re.S)

#: What a corpus case id looks like (``<vendor>/<api>/<case name>``); anything else is
#: never looked up as a folder.
CASE_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9.-]*/[a-z0-9][a-z0-9._-]*")
_CASE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")

_MODEL = r"(?P<model>[^/:]+)"


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """One vendor route: how it is matched, what it serves, and a concrete example path."""

    method: str
    pattern: str  # as documentation shows it
    api: str
    framing: str  # the framing served ("sse or json-array" for Gemini: decided by alt=sse)
    example: str  # a path a person can curl
    regex: re.Pattern[str] = field(repr=False, compare=False)


def _spec(pattern: str, api: str, framing: str, example: str, regex: str) -> RouteSpec:
    return RouteSpec("POST", pattern, api, framing, example, re.compile(regex))


#: Every route, in the order the docs and ``conformance serve`` list them.
ROUTES: tuple[RouteSpec, ...] = (
    _spec(
        "/v1/chat/completions",
        "openai/chat-completions",
        "sse",
        "/v1/chat/completions",
        r"/v1/chat/completions",
    ),
    _spec("/v1/responses", "openai/responses", "sse", "/v1/responses", r"/v1/responses"),
    _spec("/v1/messages", "anthropic/messages", "sse", "/v1/messages", r"/v1/messages"),
    _spec(
        "/v1beta/models/{model}:streamGenerateContent[?alt=sse]",
        "gemini/generate-content",
        "sse (alt=sse) or json-array",
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        rf"/v1(?:beta)?/models/{_MODEL}:streamGenerateContent",
    ),
    _spec(
        "/v1beta1/projects/{p}/locations/{l}/publishers/google/models/{model}:streamGenerateContent",
        "gemini/generate-content",
        "sse (alt=sse) or json-array",
        "/v1beta1/projects/p/locations/global/publishers/google/models/gemini-2.5-flash"
        ":streamGenerateContent?alt=sse",
        rf"/v1(?:beta1)?/projects/[^/]+/locations/[^/]+/publishers/google/models/{_MODEL}"
        r":streamGenerateContent",
    ),
    _spec(
        "/model/{model}/converse-stream",
        "bedrock/converse-stream",
        "eventstream",
        "/model/us.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse-stream",
        r"/model/(?P<model>[^/]+)/converse-stream",
    ),
    _spec("/v2/chat", "cohere/chat", "sse", "/v2/chat", r"/v2/chat"),
    _spec("/v1/chat", "cohere/chat-v1", "ndjson", "/v1/chat", r"/v1/chat"),
    _spec("/api/chat", "ollama/chat", "ndjson", "/api/chat", r"/api/chat"),
    _spec("/api/generate", "ollama/chat", "ndjson", "/api/generate", r"/api/generate"),
)

# A path prefix -> the API whose error shape an unknown path under it gets (longest first).
_PREFIX_APIS: tuple[tuple[str, str], ...] = (
    ("/v1/messages", "anthropic/messages"),
    ("/v1/responses", "openai/responses"),
    ("/v1/chat/completions", "openai/chat-completions"),
    ("/v1beta", "gemini/generate-content"),
    ("/v1/models/", "gemini/generate-content"),
    ("/v1/projects/", "gemini/generate-content"),
    ("/model/", "bedrock/converse-stream"),
    ("/v2/", "cohere/chat"),
    ("/v1/chat", "cohere/chat-v1"),
    ("/api/", "ollama/chat"),
)

#: The API whose error shape a path nothing else claims gets.
DEFAULT_ERROR_API = "openai/chat-completions"


@dataclass(frozen=True, slots=True)
class Target:
    """A request target taken apart: the token (if any), the path after it, the query."""

    token: str | None
    path: str
    query: dict[str, str]


@dataclass(frozen=True, slots=True)
class Route:
    """A matched vendor route."""

    api: str
    framing: str
    model: str | None  # from the path (Gemini, Bedrock); the others name it in the body
    path: str  # the vendor path (token prefix removed, not decoded)
    token: str | None
    query: dict[str, str]


def _unquote(text: str, *, plus: bool = False) -> str:
    """Percent-decode ``text`` as UTF-8 (invalid sequences replaced); ``+`` is a space
    when ``plus`` (query strings)."""
    if plus:
        text = text.replace("+", " ")
    if "%" not in text:
        return text
    out = bytearray()
    i = 0
    raw = text.encode("utf-8")
    while i < len(raw):
        byte = raw[i]
        if byte == 0x25 and _is_hex(raw[i + 1 : i + 3]):
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(byte)
            i += 1
    return out.decode("utf-8", "replace")


def _is_hex(pair: bytes) -> bool:
    return len(pair) == 2 and all(c in b"0123456789abcdefABCDEF" for c in pair)


def parse_target(target: str) -> Target:
    """Split a request target (``/_t/tok/v1/messages?beta=true``) into token, path and
    query.  A repeated query parameter keeps its last value."""
    path, _, raw_query = target.partition("#")[0].partition("?")
    query: dict[str, str] = {}
    for part in raw_query.split("&"):
        if part:
            name, _, value = part.partition("=")
            query[_unquote(name, plus=True)] = _unquote(value, plus=True)
    token = None
    match = _TOKEN.fullmatch(path)
    if match is not None:
        token = match.group(1)
        path = match.group(2) or "/"
    return Target(token, path, query)


def match_route(method: str, target: str) -> Route | None:
    """The route a request calls, or ``None`` when no vendor route matches."""
    parsed = parse_target(target)
    for spec in ROUTES:
        if method.upper() != spec.method:
            continue
        match = spec.regex.fullmatch(parsed.path)
        if match is None:
            continue
        framing = spec.framing
        if spec.api == "gemini/generate-content":
            framing = "sse" if parsed.query.get("alt") == "sse" else "json-array"
        model = match.groupdict().get("model")
        return Route(
            api=spec.api,
            framing=framing,
            model=None if model is None else _unquote(model),
            path=parsed.path,
            token=parsed.token,
            query=parsed.query,
        )
    return None


def route_for_api(api: str, framing: str | None = None) -> RouteSpec | None:
    """The first route serving ``api`` (for examples and the ``conformance serve`` banner);
    for Gemini, the example path is adjusted to ``framing``."""
    for spec in ROUTES:
        if spec.api == api:
            if framing == "json-array" and spec.example.endswith("?alt=sse"):
                return RouteSpec(
                    spec.method,
                    spec.pattern,
                    spec.api,
                    "json-array",
                    spec.example[: -len("?alt=sse")],
                    spec.regex,
                )
            return spec
    return None


def guess_api(path: str) -> str:
    """The API whose error shape a request to an unknown ``path`` gets: the vendor whose
    routes share the longest prefix with it, else OpenAI Chat's (the most imitated)."""
    for prefix, api in _PREFIX_APIS:
        if path.startswith(prefix):
            return api
    return DEFAULT_ERROR_API


def model_from_body(body: Any) -> str | None:
    """The ``model`` a JSON request body names (OpenAI, Anthropic, Cohere, Ollama), if any."""
    if isinstance(body, dict):
        model = body.get("model")
        if isinstance(model, str) and model:
            return model
    return None


def case_id_for_model(api: str, model: str | None) -> str | None:
    """The case id a model name selects, if it names one: a whole case id
    (``anthropic/messages/minimal-text-padded``) or a case name of the route's API
    (``minimal-text-padded`` on ``/v1/messages``).  Whether the case exists is the
    caller's question."""
    if not model:
        return None
    if CASE_ID_PATTERN.fullmatch(model):
        return model
    if _CASE_NAME.fullmatch(model):
        return f"{api}/{model}"
    return None
