"""What each vendor API says where the scenarios need a vendor's own words.  No I/O.

Scenarios are vendor-neutral; the few facts that differ per API live here, in one
table, written from the project's format reference (``FORMATS.md``, sections 1-10),
not from decoder output:

* the raw finish reason a vendor sends for each unified reason (``end_turn``,
  ``STOP``, ``COMPLETE``...; Gemini and Ollama have no tool-call reason, FORMATS §4, §8);
* how a refusal and a content filter look (a refusal block, a ``refusal`` stop reason,
  none at all);
* the in-stream errors a vendor sends (FORMATS §10): category, message, status and
  code as the vendor words them;
* where a vendor puts what the canonical model asks for: whether a response id and a
  model name are on the wire, whether blocks end explicitly on the wire (Anthropic's
  ``content_block_stop``) or only implicitly (OpenAI Chat has no block ends), whether
  tool calls stream argument fragments or arrive whole, whether usage is reported
  early (Anthropic's ``message_start``);
* the request: endpoint, host, content type, and a plausible body.

A :class:`Facts` value is one *target*: an API with a flavour, a framing and the
encoder knobs the case is rendered with.  :func:`default_facts` gives each API's
usual target; scenarios derive variants with :func:`dataclasses.replace`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from conformance.events import ErrorCategory, JSONObject, JSONValue

__all__ = [
    "APIS",
    "ANTHROPIC",
    "BEDROCK",
    "CHAT",
    "COHERE",
    "Facts",
    "GEMINI",
    "OLLAMA",
    "RESPONSES",
    "VendorError",
    "default_facts",
    "request_for",
]

CHAT, RESPONSES = "openai/chat-completions", "openai/responses"
ANTHROPIC, GEMINI = "anthropic/messages", "gemini/generate-content"
BEDROCK, COHERE, OLLAMA = "bedrock/converse-stream", "cohere/chat", "ollama/chat"
#: Every API the synthetic corpus renders for, in the registry's order.
APIS = (CHAT, RESPONSES, ANTHROPIC, GEMINI, BEDROCK, COHERE, OLLAMA)

_C = ErrorCategory


@dataclass(frozen=True, slots=True)
class VendorError:
    """An in-stream error as the vendor words it (its canonical fields)."""

    category: ErrorCategory
    message: str
    status: int | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    """One rendering target (API, flavour, framing, knobs) and what its vendor says.

    ``knobs`` are the encoder knob overrides (JSON-ready; they go into the case's
    ``source.knobs``).  ``variant`` is appended to the case name (``-<variant>``).
    """

    api: str
    flavour: str
    framing: str
    knobs: Mapping[str, JSONValue] = field(default_factory=dict)
    variant: str | None = None
    #: The post-process applied to the rendered bytes (``conformance.scenarios.posts``).
    post: str | None = None
    #: The response id and model the wire carries (None: the vendor sends none).
    response_id: str | None = None
    model: str | None = None
    #: The model named in the request (Gemini, Bedrock: in the path).
    request_model: str = ""
    #: ``explicit``: every block ends on the wire; ``implicit``: a text-like block ends
    #: when the next block starts, tool calls and the last block end with the terminal.
    ends: Literal["explicit", "implicit"] = "explicit"
    #: ``fragments``: argument deltas as sent; ``whole``: one delta per call, ended at
    #: once (Gemini); ``deferred``: whole calls delivered with the final object (Ollama).
    calls: Literal["fragments", "whole", "deferred"] = "fragments"
    #: Tool calls carry the vendor's id.
    call_ids: bool = True
    #: Blocks of different keys may interleave on the wire.
    interleave: bool = True
    #: Usage is first reported before any content (Anthropic ``message_start``: the
    #: input count and ``output_tokens: 1``).
    early_usage: bool = False
    #: Blocks cut off by the terminal end before the final usage (Responses: the
    #: terminal response object closes them, then carries the usage).
    cut_ends_first: bool = False
    #: ``response.start`` comes with the first content (Ollama takes the model from the
    #: first object; an error line before any carries none).
    start_on_output: bool = False
    #: Usage fields the vendor reports.
    usage_fields: frozenset[str] = frozenset({"input_tokens", "output_tokens"})
    #: Unified finish reason -> the vendor's raw value.
    finish: Mapping[str, str] = field(default_factory=dict)
    #: ``block``: refusal text in its own block (then finish ``stop``); ``finish``: a
    #: ``refusal`` stop reason; None: the vendor has no refusal.
    refusal: Literal["block", "finish"] | None = None
    #: ``early`` (before output) and ``late`` (mid-stream) in-stream errors.
    errors: Mapping[str, VendorError] = field(default_factory=dict)
    #: The vendor streams reasoning; the signature its reasoning blocks end with.
    reasoning: bool = True
    reasoning_signature: str | None = None
    #: Quirk ids every stream of this target shows.
    quirks: tuple[str, ...] = ()
    #: Request: scheme and host, path, query, response content type.
    base_url: str = ""
    path: str = ""
    query: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "text/event-stream"

    @property
    def name_suffix(self) -> str:
        return f"-{self.variant}" if self.variant else ""


_OPENAI_SERVER = VendorError(
    _C.SERVER,
    "The server experienced an error while processing your request. We apologize for the inconvenience!",
    code="server_error",
)
_OPENAI_RATE = VendorError(
    _C.RATE_LIMIT,
    "Rate limit reached for gpt-4o-mini on tokens per min (TPM): Limit 200000, Used 199500, Requested 900.",
    code="rate_limit_exceeded",
)
_ANTHROPIC_OVERLOADED = VendorError(_C.OVERLOADED, "Overloaded", code="overloaded_error")
_ANTHROPIC_API = VendorError(_C.SERVER, "Internal server error", code="api_error")
_GEMINI_UNAVAILABLE = VendorError(
    _C.OVERLOADED, "The model is overloaded. Please try again later.", status=503, code="UNAVAILABLE"
)
_GEMINI_INTERNAL = VendorError(
    _C.SERVER, "An internal error has occurred. Please retry or report it.", status=500, code="INTERNAL"
)
_BEDROCK_THROTTLING = VendorError(
    _C.RATE_LIMIT, "Too many requests, please wait before trying again.", code="throttlingException"
)
_BEDROCK_INTERNAL = VendorError(
    _C.SERVER,
    "The system encountered an unexpected error during processing. Try your request again.",
    code="internalServerException",
)
_COHERE_TOOL = VendorError(
    _C.INVALID_REQUEST,
    "your request resulted in an invalid tool generation. Try updating the messages or tool definitions.",
    code="INVALID_TOOL_GENERATION",
)
_OLLAMA_ERROR = VendorError(_C.UNKNOWN, "an error was encountered while running the model")
_RESPONSES_QUOTA = VendorError(
    _C.PERMISSION,
    "You exceeded your current quota, please check your plan and billing details.",
    code="insufficient_quota",
)
_RESPONSES_SERVER = VendorError(
    _C.SERVER,
    "An error occurred while processing your request. Please include the request ID in your message.",
    code="server_error",
)

_CHAT_USAGE = frozenset({"input_tokens", "output_tokens", "cache_read", "reasoning_tokens"})

_DEFAULTS: dict[str, Facts] = {
    CHAT: Facts(
        api=CHAT,
        flavour="openai",
        framing="sse",
        response_id="chatcmpl-SyntheticConformance0001",
        model="gpt-4o-mini-2024-07-18",
        request_model="gpt-4o-mini",
        ends="implicit",
        usage_fields=_CHAT_USAGE,
        finish={
            "stop": "stop",
            "length": "length",
            "tool_calls": "tool_calls",
            "content_filter": "content_filter",
        },
        refusal="block",
        errors={"early": _OPENAI_RATE, "late": _OPENAI_SERVER},
        reasoning=False,
        quirks=("padding_fields",),
        base_url="https://api.openai.com",
        path="/v1/chat/completions",
    ),
    RESPONSES: Facts(
        api=RESPONSES,
        flavour="openai",
        framing="sse",
        response_id="resp_0b5ynthet1c0c0nf0rmance00000000000000000000000001",
        model="gpt-4.1-mini-2025-04-14",
        request_model="gpt-4.1-mini",
        usage_fields=_CHAT_USAGE,
        finish={
            "stop": "completed",
            "tool_calls": "completed",
            "length": "max_output_tokens",
            "content_filter": "content_filter",
        },
        refusal="block",
        cut_ends_first=True,
        errors={"early": _RESPONSES_QUOTA, "late": _RESPONSES_SERVER},
        quirks=("openai.responses.no_done_sentinel", "padding_fields"),
        base_url="https://api.openai.com",
        path="/v1/responses",
    ),
    ANTHROPIC: Facts(
        api=ANTHROPIC,
        flavour="anthropic",
        framing="sse",
        response_id="msg_01SyntheticConformance0001",
        model="claude-sonnet-4-5-20250929",
        request_model="claude-sonnet-4-5",
        early_usage=True,
        usage_fields=frozenset({"input_tokens", "output_tokens", "cache_read", "cache_write"}),
        finish={"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "refusal": "refusal"},
        refusal="finish",
        errors={"early": _ANTHROPIC_OVERLOADED, "late": _ANTHROPIC_API},
        reasoning_signature="EqQBCkYIBxgCKkBsynthetic+signature+of+the+conformance+suite==",
        quirks=("sse.trailing_whitespace_in_data",),
        base_url="https://api.anthropic.com",
        path="/v1/messages",
    ),
    GEMINI: Facts(
        api=GEMINI,
        flavour="gemini",
        framing="sse",
        knobs={"usage_every_chunk": False},
        response_id="SyntheticConformanceResponse01",
        model="gemini-2.5-flash",
        request_model="gemini-2.5-flash",
        ends="implicit",
        calls="whole",
        call_ids=False,
        interleave=False,
        usage_fields=frozenset({"input_tokens", "output_tokens", "cache_read", "reasoning_tokens"}),
        finish={"stop": "STOP", "tool_calls": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY"},
        errors={"early": _GEMINI_UNAVAILABLE, "late": _GEMINI_INTERNAL},
        quirks=("sse.crlf_line_endings", "gemini.no_terminator"),
        base_url="https://generativelanguage.googleapis.com",
        path="/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        query={"alt": "sse"},
    ),
    BEDROCK: Facts(
        api=BEDROCK,
        flavour="bedrock",
        framing="eventstream",
        request_model="us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        usage_fields=frozenset({"input_tokens", "output_tokens", "cache_read", "cache_write"}),
        finish={
            "stop": "end_turn",
            "length": "max_tokens",
            "tool_calls": "tool_use",
            "content_filter": "content_filtered",
        },
        errors={"early": _BEDROCK_THROTTLING, "late": _BEDROCK_INTERNAL},
        reasoning_signature="ErcBCkgIBRABGAIiQLsyntheticBedrockReasoningSignature==",
        quirks=("padding_fields",),
        base_url="https://bedrock-runtime.us-east-1.amazonaws.com",
        path="/model/us.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse-stream",
        content_type="application/vnd.amazon.eventstream",
    ),
    COHERE: Facts(
        api=COHERE,
        flavour="cohere",
        framing="sse",
        response_id="5ynthet1-c0c0-4f0r-8a4c-e0000000c0de",
        request_model="command-a-03-2025",
        finish={"stop": "COMPLETE", "length": "MAX_TOKENS", "tool_calls": "TOOL_CALL"},
        errors={"early": _COHERE_TOOL, "late": _COHERE_TOOL},
        quirks=("cohere.done_after_message_end", "sse.mixed_named_and_unnamed_events"),
        base_url="https://api.cohere.com",
        path="/v2/chat",
    ),
    OLLAMA: Facts(
        api=OLLAMA,
        flavour="chat",
        framing="ndjson",
        model="llama3.2",
        request_model="llama3.2",
        ends="implicit",
        calls="deferred",
        interleave=False,
        start_on_output=True,
        finish={"stop": "stop", "tool_calls": "stop", "length": "length"},
        errors={"early": _OLLAMA_ERROR, "late": _OLLAMA_ERROR},
        base_url="http://localhost:11434",
        path="/api/chat",
        content_type="application/x-ndjson",
    ),
}


def default_facts(api: str) -> Facts:
    """The usual target of ``api``: its default flavour, framing and knobs."""
    return _DEFAULTS[api]


def _declaration(name: str) -> JSONObject:
    schema: JSONObject = {"type": "object", "properties": {}, "additionalProperties": True}
    return {"name": name, "description": f"the {name.replace('_', ' ')} tool", "parameters": schema}


def _tools(names: tuple[str, ...], style: str) -> list[JSONValue]:
    """Tool declarations in the API's request shape."""
    out: list[JSONValue] = []
    for name in names:
        declaration = _declaration(name)
        if style == "responses":
            out.append({"type": "function", **declaration})
        elif style == "anthropic":
            out.append(
                {
                    "name": name,
                    "description": declaration["description"],
                    "input_schema": declaration["parameters"],
                }
            )
        elif style == "bedrock":
            spec: JSONObject = {"name": name, "description": declaration["description"]}
            spec["inputSchema"] = {"json": declaration["parameters"]}
            out.append({"toolSpec": spec})
        elif style == "gemini":
            out.append(declaration)
        else:  # OpenAI Chat, Cohere and Ollama use the chat shape
            out.append({"type": "function", "function": declaration})
    return out


def request_for(facts: Facts, prompt: str, tools: tuple[str, ...], *, reasoning: bool) -> JSONObject:
    """A plausible JSON request body for the target (model, the prompt, the stream flag,
    tool declarations when the scenario has calls)."""
    api = facts.api
    user: JSONObject = {"role": "user", "content": prompt}
    body: JSONObject
    if api == CHAT:
        body = {"model": facts.request_model, "messages": [user], "stream": True}
        body["stream_options"] = {"include_usage": True}
        if tools:
            body["tools"] = _tools(tools, "chat")
    elif api == RESPONSES:
        body = {"model": facts.request_model, "input": prompt, "stream": True}
        if tools:
            body["tools"] = _tools(tools, "responses")
        if reasoning:
            body["reasoning"] = {"effort": "low", "summary": "auto"}
    elif api == ANTHROPIC:
        body = {"model": facts.request_model, "max_tokens": 1024, "messages": [user], "stream": True}
        if tools:
            body["tools"] = _tools(tools, "anthropic")
        if reasoning:
            body["thinking"] = {"type": "enabled", "budget_tokens": 512}
    elif api == GEMINI:
        part: JSONObject = {"text": prompt}
        body = {"contents": [{"role": "user", "parts": [part]}]}
        if tools:
            body["tools"] = [{"functionDeclarations": _tools(tools, "gemini")}]
        if reasoning:
            body["generationConfig"] = {"thinkingConfig": {"includeThoughts": True}}
    elif api == BEDROCK:
        text: JSONObject = {"text": prompt}
        body = {"messages": [{"role": "user", "content": [text]}]}
        if tools:
            body["toolConfig"] = {"tools": _tools(tools, "bedrock")}
    elif api == COHERE:
        body = {"model": facts.request_model, "messages": [user], "stream": True}
        if tools:
            body["tools"] = _tools(tools, "cohere")
    else:  # Ollama
        if facts.flavour == "generate":
            body = {"model": facts.request_model, "prompt": prompt}
        else:
            body = {"model": facts.request_model, "messages": [user]}
            if tools:
                body["tools"] = _tools(tools, "ollama")
        if reasoning:
            body["think"] = True
    return body
