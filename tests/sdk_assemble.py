"""What a vendor's own SDK assembles from a corpus stream, and the same view of the fold.

I/O: the ``sdk_*`` functions make one streaming call with the vendor's SDK (openai,
anthropic, google-genai) against a base URL (the loopback server in the tests) and read
what the SDK's own accumulator built; :func:`plan_for_sdk` reads the case's stream file.
Everything else is pure.

Both sides are reduced to one :class:`Assembly`, the things every SDK assembles: the
response id and model, the answer text, the reasoning text, the tool calls (client and
server) with their arguments, the continuation signatures, the vendor's finish reason,
the final usage mapped onto the canonical counts (docs/SPEC.md §5), and the error the
stream ended with.  :func:`expected_assembly` builds it from the fold of our expected
canonical sequence (``conformance.fold.fold_parts``); the ``sdk_*`` functions build it from
the SDK's own objects, never from our decoders:

* ``openai/chat-completions``: ``client.chat.completions.stream(...)``, then
  ``get_final_completion()`` (choice 0); the accumulated snapshot when that raises;
* ``openai/responses``: ``client.responses.stream(...)``, then ``get_final_response()``;
* ``anthropic/messages``: ``client.messages.stream(...)``, then ``get_final_message()``;
* ``gemini/generate-content``: ``client.models.generate_content_stream(...)``; the chunks
  are joined as the SDK documents (``chunk.text`` per chunk, parts of candidate 0, the
  last ``usage_metadata`` and ``finish_reason``).  Gemini and Vertex flavours use the
  matching client.

Text and reasoning are compared joined (the Chat and Gemini SDKs keep no block
boundaries).  Tool arguments are compared as text only where the SDK keeps the text
(:data:`SDKS` ``raw_argument_kinds``) and as the parsed object everywhere.  An SDK that
raises yields ``error``: ``{"message", "code"}`` for the SDK's API error class (what the
vendor said), ``{"exception": <class name>}`` for anything else.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from conformance.cassettes import Case, case_body, expected_events
from conformance.events import (
    BlockEnd,
    BlockStart,
    Error,
    ErrorCategory,
    Event,
    Finish,
    JSONValue,
    Usage,
)
from conformance.fold import fold_parts
from conformance.framing.jsonarray import JSONArrayDecoder
from conformance.reframe import reframe
from conformance.server import Plan, plan_for_bytes, plan_for_case
from conformance.vendors.openai_responses._tables import SERVER_TOOLS

__all__ = [
    "FIELDS",
    "SDKS",
    "Assembly",
    "SdkSpec",
    "Tool",
    "expected_assembly",
    "plan_for_sdk",
    "sse_from_json_array",
]

#: Dummy credentials and a bound on every call: the server is on the loopback interface.
API_KEY = "conformance-not-a-key"
TIMEOUT_S = 10.0
PROMPT = "conformance cross-check"
#: How the server cuts the body: one socket write per vendor frame.
CHUNKING = "frames"

#: The block kinds that are tools, in the order they appear in :attr:`Assembly.tools`.
_TOOL_KINDS = frozenset({"tool_call", "server_tool_call", "server_tool_result"})
#: Error categories whose ``message`` is the producer's own words (SPEC §7): not compared.
_OWN_MESSAGES = frozenset({ErrorCategory.PROTOCOL, ErrorCategory.DECODE})
_USAGE_KEYS = ("input_tokens", "output_tokens", "cache_read", "cache_write", "reasoning_tokens")


@dataclass(frozen=True, slots=True, kw_only=True)
class Tool:
    """One tool block: a client call, a server-executed call, or a server tool's result."""

    kind: str
    id: str | None
    name: str | None
    arguments_raw: str | None = None  # only where the SDK keeps the argument text
    arguments: JSONValue = None  # the parsed object (None: absent, unparsable, or a result)

    def as_json(self) -> dict[str, JSONValue]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, kw_only=True)
class Assembly:
    """What was assembled from one stream, field by field (see the module docstring)."""

    response_id: str | None = None
    model: str | None = None
    text: str = ""
    reasoning: str = ""
    tools: tuple[Tool, ...] = ()
    signatures: tuple[str, ...] = ()
    finish: str | None = None
    usage: Mapping[str, int | None] | None = None
    error: Mapping[str, JSONValue] | None = None

    def as_json(self) -> dict[str, JSONValue]:
        """Each field as a JSON value (the form the divergence table records)."""
        return {
            "response_id": self.response_id,
            "model": self.model,
            "text": self.text,
            "reasoning": self.reasoning,
            "tools": [tool.as_json() for tool in self.tools],
            "signatures": list(self.signatures),
            "finish": self.finish,
            "usage": None if self.usage is None else dict(self.usage),
            "error": None if self.error is None else dict(self.error),
        }


#: The compared fields, in report order.
FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Assembly))


# -- the expected side ------------------------------------------------------------------------


def expected_assembly(events: Sequence[Event], *, raw_argument_kinds: frozenset[str]) -> Assembly:
    """The :class:`Assembly` of the fold of ``events``; tool argument text is kept only for
    the kinds in ``raw_argument_kinds`` (those whose text the SDK keeps)."""
    folded = fold_parts(events)
    head = folded.heads[0] if folded.heads else None
    texts: dict[str, list[str]] = {"text": [], "reasoning": []}
    tools: list[Tool] = []
    signatures: list[str] = []
    for block in folded.blocks:
        start, end = block.start, block.end
        kind = start.kind if start is not None else None
        if kind in texts and block.delta is not None:
            texts[kind].append(block.delta.text)
        if start is not None and kind in _TOOL_KINDS:
            tools.append(_expected_tool(start, end, raw=kind in raw_argument_kinds))
        if end is not None and end.signature is not None:
            signatures.append(end.signature)
    terminal = folded.terminal
    return Assembly(
        response_id=None if head is None else head.response_id,
        model=None if head is None else head.model,
        text="".join(texts["text"]),
        reasoning="".join(texts["reasoning"]),
        tools=tuple(tools),
        signatures=tuple(signatures),
        finish=terminal.raw_reason if isinstance(terminal, Finish) else None,
        usage=None if folded.usage is None else _usage_of(folded.usage),
        error=_expected_error(terminal) if isinstance(terminal, Error) else None,
    )


def _expected_tool(start: BlockStart, end: BlockEnd | None, *, raw: bool) -> Tool:
    if start.kind == "server_tool_result":
        return Tool(kind=start.kind, id=start.id, name=start.name)
    return Tool(
        kind=start.kind,
        id=start.id,
        name=start.name,
        arguments_raw=end.arguments_raw if raw and end is not None else None,
        arguments=None if end is None or end.arguments is None else dict(end.arguments),
    )


def _usage_of(usage: Usage) -> dict[str, int | None]:
    return {key: getattr(usage, key) for key in _USAGE_KEYS}


def _expected_error(error: Error) -> dict[str, JSONValue]:
    message = None if error.category in _OWN_MESSAGES else error.message
    return {"message": message, "code": error.code}


# -- serving a case to an SDK -----------------------------------------------------------------


def sse_from_json_array(body: bytes) -> bytes:
    """A Gemini JSON-array body as the ``alt=sse`` body carrying the same elements.

    The Gemini SDK always asks for ``alt=sse``, and Gemini answers that request with SSE;
    the JSON-array framing answers a request the SDK never makes.  Each element, compacted
    onto one line, becomes one ``data:`` event with CRLF line ends (``conformance.reframe``).
    """
    decoder = JSONArrayDecoder()
    elements = [*decoder.feed(body), *decoder.close()]
    lines = [json.dumps(json.loads(e.text), ensure_ascii=False, separators=(",", ":")) for e in elements]
    return reframe("\n".join(lines).encode("utf-8"), api="gemini/generate-content")


def plan_for_sdk(case: Case) -> Plan:
    """The loopback plan serving ``case`` to its SDK, one write per vendor frame (a Gemini
    JSON-array case re-framed as the SSE the SDK asks for, :func:`sse_from_json_array`)."""
    if case.api == "gemini/generate-content" and case.framing == "json-array":
        body = sse_from_json_array(case_body(case))
        return plan_for_bytes(case.api, "sse", body, chunking=CHUNKING, case_id=case.id)
    return plan_for_case(case, chunking=CHUNKING)


# -- helpers shared by the SDK readers --------------------------------------------------------


def _parsed_object(text: str | None) -> JSONValue:
    """``json.loads(text)`` when that is a JSON object, else None (SPEC §4.3)."""
    if text is None:
        return None
    try:
        value = json.loads(text if text else "{}")
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _plain(value: Any) -> JSONValue:
    """An SDK model or mapping as plain JSON (models through their own ``to_dict`` /
    ``model_dump``); enums by value."""
    for method in ("to_dict", "model_dump"):
        dump = getattr(value, method, None)
        if callable(dump):
            value = dump()
            break
    loaded: JSONValue = json.loads(json.dumps(value, default=_enum_value))
    return loaded


def _enum_value(value: Any) -> Any:
    if hasattr(value, "value"):
        return value.value
    raise TypeError(f"not JSON: {value!r}")


def _exception(exc: BaseException) -> dict[str, JSONValue]:
    return {"exception": type(exc).__name__}


def _snapshot(read: Callable[[], Any]) -> Any:
    """An SDK's accumulated snapshot after it raised; None if it had none yet (the SDKs
    assert that one exists)."""
    try:
        return read()
    except AssertionError:
        return None


def _usage(**counts: int | None) -> dict[str, int | None]:
    return {key: counts.get(key) for key in _USAGE_KEYS}


def _total(*counts: int | None) -> int | None:
    """The sum of the reported counts; None when none was reported."""
    known = [n for n in counts if n is not None]
    return sum(known) if known else None


# -- openai: Chat Completions -----------------------------------------------------------------

#: Reasoning text arrives in extension fields of the message, which the SDK accumulates
#: like any other string field (DeepSeek, Z.ai: ``reasoning_content``; Groq, OpenRouter:
#: ``reasoning``).
_CHAT_REASONING_FIELDS = ("reasoning_content", "reasoning")


def sdk_openai_chat(base_url: str, case: Case) -> Assembly:
    """``chat.completions.stream(...)`` and the completion the SDK assembled."""
    import openai

    client = openai.OpenAI(api_key=API_KEY, base_url=f"{base_url}/v1", max_retries=0, timeout=TIMEOUT_S)
    error: dict[str, JSONValue] | None = None
    completion: Any = None
    with client.chat.completions.stream(
        model="conformance", messages=[{"role": "user", "content": PROMPT}]
    ) as stream:
        try:
            completion = stream.get_final_completion()
        except (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError) as exc:
            error, completion = _exception(exc), exc.completion
        except openai.APIError as exc:
            error = {"message": exc.message, "code": _plain(exc.code)}
        except Exception as exc:  # the SDK's accumulator itself failed: record which way
            error = _exception(exc)
        if completion is None:
            completion = _snapshot(lambda: stream.current_completion_snapshot)
    return _chat_assembly(completion, error)


def _chat_assembly(completion: Any, error: dict[str, JSONValue] | None) -> Assembly:
    if completion is None:
        return Assembly(error=error)
    choice = next((c for c in completion.choices if c.index == 0), None)
    message = None if choice is None else choice.message
    extra = {} if message is None else (message.model_extra or {})
    reasoning = next((extra[k] for k in _CHAT_REASONING_FIELDS if isinstance(extra.get(k), str)), "")
    tools = tuple(
        Tool(
            kind="tool_call",
            id=call.id,
            name=call.function.name,
            arguments_raw=call.function.arguments,
            arguments=_parsed_object(call.function.arguments),
        )
        for call in (message.tool_calls or [] if message is not None else [])
    )
    content = None if message is None else message.content
    return Assembly(
        response_id=completion.id,
        model=completion.model,
        text=content if isinstance(content, str) else "",
        reasoning=reasoning,
        tools=tools,
        finish=None if choice is None else choice.finish_reason,
        usage=_chat_usage(completion.usage),
        error=error,
    )


def _chat_usage(usage: Any) -> dict[str, int | None] | None:
    if usage is None:
        return None
    prompt = usage.prompt_tokens_details
    completion = usage.completion_tokens_details
    return _usage(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        cache_read=None if prompt is None else prompt.cached_tokens,
        cache_write=None if prompt is None else prompt.cache_write_tokens,
        reasoning_tokens=None if completion is None else completion.reasoning_tokens,
    )


# -- openai: Responses ------------------------------------------------------------------------


def sdk_openai_responses(base_url: str, case: Case) -> Assembly:
    """``responses.stream(...)`` and ``get_final_response()``."""
    import openai

    client = openai.OpenAI(api_key=API_KEY, base_url=f"{base_url}/v1", max_retries=0, timeout=TIMEOUT_S)
    try:
        with client.responses.stream(model="conformance", input=PROMPT) as stream:
            response = stream.get_final_response()
    except openai.APIError as exc:
        return Assembly(error={"message": exc.message, "code": _plain(exc.code)})
    except Exception as exc:  # the helper refused the stream: record which way
        return Assembly(error=_exception(exc))
    return _responses_assembly(response)


def _responses_assembly(response: Any) -> Assembly:
    text: list[str] = []
    reasoning: list[str] = []
    tools: list[Tool] = []
    signatures: list[str] = []
    for item in response.output:
        if item.type == "message":
            text.extend(part.text for part in item.content if part.type == "output_text")
        elif item.type == "reasoning":
            reasoning.extend(part.text for part in [*item.summary, *(item.content or [])])
            if item.encrypted_content is not None:
                signatures.append(item.encrypted_content)
        elif item.type == "function_call":
            tools.append(_client_call(item.call_id, item.name, item.arguments))
        elif item.type == "custom_tool_call":
            tools.append(_client_call(item.call_id, item.name, item.input))
        elif item.type in SERVER_TOOLS:
            tools.extend(_responses_server_tool(item))
    incomplete = response.incomplete_details
    finish = response.status
    if response.status == "incomplete" and incomplete is not None and incomplete.reason is not None:
        finish = incomplete.reason
    usage = response.usage
    return Assembly(
        response_id=response.id,
        model=response.model,
        text="".join(text),
        reasoning="".join(reasoning),
        tools=tuple(tools),
        signatures=tuple(signatures),
        finish=finish,
        usage=None if usage is None else _responses_usage(usage),
    )


def _client_call(call_id: str, name: str, arguments: str) -> Tool:
    return Tool(
        kind="tool_call", id=call_id, name=name, arguments_raw=arguments, arguments=_parsed_object(arguments)
    )


def _responses_server_tool(item: Any) -> list[Tool]:
    """A provider-executed item: its input fields are the call's arguments, its output
    fields (if any) a result (the table the reference codec shares with its encoder)."""
    tool = SERVER_TOOLS[item.type]
    dumped = _plain(item)
    assert isinstance(dumped, dict)
    args: dict[str, JSONValue] = {k: v for k, v in dumped.items() if k in tool.inputs and v is not None}
    out = [Tool(kind="server_tool_call", id=item.id, name=tool.name, arguments=args)]
    if any(dumped.get(k) is not None for k in tool.results):
        out.append(Tool(kind="server_tool_result", id=item.id, name=None))
    return out


def _responses_usage(usage: Any) -> dict[str, int | None]:
    inputs, outputs = usage.input_tokens_details, usage.output_tokens_details
    return _usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read=None if inputs is None else inputs.cached_tokens,
        cache_write=None if inputs is None else inputs.cache_write_tokens,
        reasoning_tokens=None if outputs is None else outputs.reasoning_tokens,
    )


# -- anthropic: Messages ----------------------------------------------------------------------

_ANTHROPIC_CALLS = {
    "tool_use": "tool_call",
    "server_tool_use": "server_tool_call",
    "mcp_tool_use": "server_tool_call",
}


def sdk_anthropic(base_url: str, case: Case) -> Assembly:
    """``messages.stream(...)`` and ``get_final_message()``."""
    import anthropic

    client = anthropic.Anthropic(api_key=API_KEY, base_url=base_url, max_retries=0, timeout=TIMEOUT_S)
    error: dict[str, JSONValue] | None = None
    message: Any = None
    with client.messages.stream(
        model="conformance", max_tokens=1024, messages=[{"role": "user", "content": PROMPT}]
    ) as stream:
        try:
            message = stream.get_final_message()
        except anthropic.APIStatusError as exc:
            error = _anthropic_error(exc.body)
        except Exception as exc:  # the SDK's accumulator itself failed: record which way
            error = _exception(exc)
        if message is None:
            message = _snapshot(lambda: stream.current_message_snapshot)
    if message is None:
        return Assembly(error=error)
    return _anthropic_assembly(message, error)


def _anthropic_error(body: object) -> dict[str, JSONValue]:
    """The vendor's error payload (``{"type": "error", "error": {"type", "message"}}``)."""
    detail = body.get("error") if isinstance(body, dict) else None
    if not isinstance(detail, dict):
        return {"message": None, "code": None}
    return {"message": detail.get("message"), "code": detail.get("type")}


def _anthropic_assembly(message: Any, error: dict[str, JSONValue] | None) -> Assembly:
    text: list[str] = []
    reasoning: list[str] = []
    tools: list[Tool] = []
    signatures: list[str] = []
    for block in message.content:
        if block.type == "text":
            text.append(block.text)
        elif block.type == "thinking":
            reasoning.append(block.thinking)
            if block.signature:
                signatures.append(block.signature)
        elif block.type in _ANTHROPIC_CALLS:
            args = _plain(block.input)
            kind = _ANTHROPIC_CALLS[block.type]
            tools.append(Tool(kind=kind, id=block.id, name=block.name, arguments=args))
        elif block.type.endswith("_tool_result"):
            tools.append(Tool(kind="server_tool_result", id=block.tool_use_id, name=block.type))
    usage = message.usage
    details = usage.output_tokens_details
    return Assembly(
        response_id=message.id,
        model=message.model,
        text="".join(text),
        reasoning="".join(reasoning),
        tools=tuple(tools),
        signatures=tuple(signatures),
        finish=message.stop_reason,
        usage=_usage(
            # the total input is the uncached count plus cache writes and reads (the SDK's Usage)
            input_tokens=None
            if usage.input_tokens is None
            else _total(usage.input_tokens, usage.cache_creation_input_tokens, usage.cache_read_input_tokens),
            output_tokens=usage.output_tokens,
            cache_read=usage.cache_read_input_tokens,
            cache_write=usage.cache_creation_input_tokens,
            reasoning_tokens=None if details is None else details.thinking_tokens,
        ),
        error=error,
    )


# -- google-genai: generateContent ------------------------------------------------------------


def sdk_gemini(base_url: str, case: Case) -> Assembly:
    """``models.generate_content_stream(...)``, the chunks joined as the SDK documents."""
    from google import genai
    from google.genai import errors, types

    options = types.HttpOptions(
        base_url=base_url,
        timeout=int(TIMEOUT_S * 1000),  # milliseconds
        retry_options=types.HttpRetryOptions(attempts=1),
    )
    if case.flavour == "vertex":
        from google.oauth2 import credentials

        static_token: Any = credentials.Credentials  # a fixed bearer token; google-auth is untyped
        client = genai.Client(
            vertexai=True,
            project="conformance",
            location="global",
            credentials=static_token(token=API_KEY),
            http_options=options,
        )
    else:
        client = genai.Client(api_key=API_KEY, http_options=options)
    chunks: list[Any] = []
    error: dict[str, JSONValue] | None = None
    try:
        chunks.extend(client.models.generate_content_stream(model="conformance", contents=PROMPT))
    except errors.APIError as exc:
        error = {"message": exc.message, "code": exc.status}
    except Exception as exc:  # the SDK could not read the stream: record which way
        error = _exception(exc)
    return _gemini_assembly(chunks, error)


def _gemini_assembly(chunks: Sequence[Any], error: dict[str, JSONValue] | None) -> Assembly:
    reasoning: list[str] = []
    tools: list[Tool] = []
    signatures: list[str] = []
    finish: str | None = None
    for chunk in chunks:
        candidate = chunk.candidates[0] if chunk.candidates else None
        if candidate is None:
            continue
        if candidate.finish_reason is not None:
            finish = str(candidate.finish_reason.value)
        parts = candidate.content.parts if candidate.content is not None else None
        for part in parts or []:
            if part.thought and part.text is not None:
                reasoning.append(part.text)
            tools.extend(_gemini_tools(part))
            if part.thought_signature is not None:
                signatures.append(base64.b64encode(part.thought_signature).decode("ascii"))
    first = next(iter(chunks), None)
    usage = next((c.usage_metadata for c in reversed(chunks) if c.usage_metadata is not None), None)
    return Assembly(
        response_id=None if first is None else first.response_id,
        model=None if first is None else first.model_version,
        text="".join(chunk.text or "" for chunk in chunks),
        reasoning="".join(reasoning),
        tools=tuple(tools),
        signatures=tuple(signatures),
        finish=finish,
        usage=None if usage is None else _gemini_usage(usage),
        error=error,
    )


def _gemini_tools(part: Any) -> list[Tool]:
    out: list[Tool] = []
    if part.function_call is not None:
        call = part.function_call
        out.append(Tool(kind="tool_call", id=call.id, name=call.name, arguments=_plain(call.args or {})))
    if part.executable_code is not None:
        code = part.executable_code
        language = None if code.language is None else code.language.value
        args: dict[str, JSONValue] = {"language": language, "code": code.code}
        out.append(Tool(kind="server_tool_call", id=code.id, name="code_execution", arguments=args))
    if part.code_execution_result is not None:
        out.append(Tool(kind="server_tool_result", id=part.code_execution_result.id, name=None))
    return out


def _gemini_usage(usage: Any) -> dict[str, int | None]:
    return _usage(
        input_tokens=_total(usage.prompt_token_count, usage.tool_use_prompt_token_count),
        output_tokens=_total(usage.candidates_token_count, usage.thoughts_token_count),
        cache_read=usage.cached_content_token_count,
        reasoning_tokens=usage.thoughts_token_count,
    )


# -- the table --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SdkSpec:
    """How one API's cases are cross-checked: the SDK's import name (the test skips when it
    is absent), the reader, and the tool kinds whose argument text the SDK keeps."""

    module: str
    run: Callable[[str, Case], Assembly]
    raw_argument_kinds: frozenset[str] = field(default_factory=frozenset)

    def expected(self, case: Case) -> Assembly:
        """The expected :class:`Assembly` of ``case``."""
        return expected_assembly(expected_events(case), raw_argument_kinds=self.raw_argument_kinds)


#: API id -> how its recorded cases are cross-checked.
SDKS: dict[str, SdkSpec] = {
    "openai/chat-completions": SdkSpec("openai", sdk_openai_chat, frozenset({"tool_call"})),
    "openai/responses": SdkSpec("openai", sdk_openai_responses, frozenset({"tool_call"})),
    "anthropic/messages": SdkSpec("anthropic", sdk_anthropic),
    "gemini/generate-content": SdkSpec("google.genai", sdk_gemini),
}
