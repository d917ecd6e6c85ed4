"""Quirk variants: scenarios whose point is one vendor quirk (a flavour, a knob, a post-process).  No I/O.

Each variant reuses a core script and changes *how* it is sent: an SSE framing
variant written by :mod:`.posts` (BOM, no space after the colon, multi-line data,
``id``/``retry`` fields, data-only keep-alives), an OpenAI-compatible flavour (Groq,
xAI, OpenRouter, vLLM continuation fragments), or an encoder knob (Ollama's replaced
calls, Cohere without the space).  A target's own quirk ids sit in its ``Facts.quirks``.
"""

from __future__ import annotations

from dataclasses import replace

from conformance.events import ErrorCategory, Unknown, Usage
from conformance.scenarios.core import MARKED, MID_KEY, TEXT, USAGE, tool_block
from conformance.scenarios.facts import (
    ANTHROPIC,
    CHAT,
    COHERE,
    GEMINI,
    OLLAMA,
    RESPONSES,
    Facts,
    VendorError,
    default_facts,
)
from conformance.scenarios.posts import UNKNOWN_ANTHROPIC_EVENT
from conformance.scenarios.scenario import Scenario
from conformance.scenarios.script import Block, Script, Terminal

__all__ = ["VARIANTS"]

_SSE_APIS = (CHAT, RESPONSES, ANTHROPIC, GEMINI, COHERE)


def _text(facts: Facts) -> Script:
    return Script(blocks=(Block("text", TEXT),), usage=USAGE)


def _sse_targets(post: str, quirk: str, **cohere_knobs: bool) -> tuple[Facts, ...]:
    out = []
    for api in _SSE_APIS:
        facts = default_facts(api)
        if api == COHERE and cohere_knobs:
            out.append(replace(facts, knobs=cohere_knobs, quirks=(*facts.quirks, quirk)))
        else:
            out.append(replace(facts, post=post, quirks=(*facts.quirks, quirk)))
    return tuple(out)


# -- OpenAI-compatible flavours ----------------------------------------------------

_CHAT = default_facts(CHAT)
_GROQ = replace(
    _CHAT,
    flavour="groq",
    variant="groq",
    response_id="chatcmpl-5ynthet1c-c0nf-0rma-nce0-000000000001",
    model="openai/gpt-oss-120b",
    request_model="openai/gpt-oss-120b",
    usage_fields=frozenset({"input_tokens", "output_tokens"}),
    errors={
        "late": VendorError(
            ErrorCategory.INVALID_REQUEST,
            "Failed to call a function. Please adjust your prompt. See 'failed_generation' for more details.",
            status=400,
            code="tool_use_failed",
        )
    },
    quirks=("vendor_extension_fields",),
    base_url="https://api.groq.com",
    path="/openai/v1/chat/completions",
)
_XAI = replace(
    _CHAT,
    flavour="xai",
    variant="xai",
    response_id="5ynthet1-c0nf-0rma-nce0-000000000001",
    model="grok-3-mini",
    request_model="grok-3-mini",
    quirks=(),
    base_url="https://api.x.ai",
    path="/v1/chat/completions",
)
_OPENROUTER = replace(
    _CHAT,
    flavour="openrouter",
    variant="openrouter",
    response_id="gen-1700000000-SyntheticConformance01",
    model="openai/gpt-4o-mini",
    request_model="openai/gpt-4o-mini",
    errors={"late": VendorError(ErrorCategory.INVALID_REQUEST, "Token limit reached", status=400)},
    quirks=("sse.comment_keepalive", "vendor_extension_fields"),
    base_url="https://openrouter.ai",
    path="/api/v1/chat/completions",
)
_VLLM = replace(
    _CHAT,
    flavour="vllm",
    response_id="chatcmpl-5ynthet1cc0nf0rmance0000000001",
    model="meta-llama/Llama-3.3-70B-Instruct",
    request_model="meta-llama/Llama-3.3-70B-Instruct",
    quirks=("vendor_extension_fields",),
    base_url="http://localhost:8000",
    path="/v1/chat/completions",
)


def _vllm(variant: str, quirk: str, *, post: str | None = None, **knobs: str) -> Facts:
    return replace(_VLLM, variant=variant, knobs=knobs, post=post, quirks=(*_VLLM.quirks, quirk))


def _split_call(facts: Facts) -> Script:
    return Script(
        blocks=(tool_block(facts, 1, "get_weather", MID_KEY),),
        usage=Usage(input_tokens=61, output_tokens=24),
        terminal=Terminal("finish", "tool_calls"),
    )


def _call_without_id(facts: Facts) -> Script:
    return Script(
        blocks=(Block("tool_call", MID_KEY, name="get_weather"),),
        usage=Usage(input_tokens=61, output_tokens=24),
        terminal=Terminal("finish", "tool_calls"),
    )


def _whole_call(facts: Facts) -> Script:
    return Script(
        blocks=(tool_block(facts, 1, "get_weather", ('{"city":"Paris","unit":"celsius"}',)),),
        usage=Usage(input_tokens=140, output_tokens=18),
        terminal=Terminal("finish", "tool_calls"),
    )


def _error_after_text_with_usage(facts: Facts) -> Script:
    return Script(
        blocks=(Block("text", ("The answer", " is")),),
        usage=Usage(input_tokens=30, output_tokens=2),
        terminal=Terminal("error", "late"),
    )


def _error_after_text(facts: Facts) -> Script:
    return Script(
        blocks=(Block("text", ("The answer", " is"), cut=True),), terminal=Terminal("error", "late")
    )


def _reasoning_usage(facts: Facts) -> Script:
    return Script(
        blocks=(Block("text", TEXT),), usage=Usage(input_tokens=291, output_tokens=26, reasoning_tokens=196)
    )


# -- other vendors ------------------------------------------------------------------


def _keepalive_first(facts: Facts) -> Script:
    unknowns = (Unknown(vendor_type="keep-alive", raw=""), Unknown(vendor_type="keep-alive", raw="ping"))
    return Script(blocks=(Block("text", TEXT),), usage=USAGE, unknown_first=unknowns)


def _marked_decode(facts: Facts) -> Script:
    return Script(
        blocks=(Block("text", MARKED[:2], cut=True),),
        usage=USAGE,
        final_usage=False,
        terminal=Terminal("decode"),
    )


def _marked_full(facts: Facts) -> Script:
    return Script(blocks=(Block("text", MARKED),), usage=USAGE)


def _error_first_event(facts: Facts) -> Script:
    return Script(start=False, terminal=Terminal("error", "early"))


def _redacted_thinking(facts: Facts) -> Script:
    redacted = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPsynthetic+redacted+data=="
    return Script(
        blocks=(Block("reasoning", redacted=redacted), Block("text", ("Here is", " the answer."))),
        usage=Usage(input_tokens=92, output_tokens=40),
    )


def _unknown_first(facts: Facts) -> Script:
    unknown = Unknown(vendor_type="session.status", raw=dict(UNKNOWN_ANTHROPIC_EVENT))
    return Script(blocks=(Block("text", TEXT),), usage=USAGE, unknown_first=(unknown,))


def _two_calls(facts: Facts) -> Script:
    blocks = (
        tool_block(facts, 1, "get_weather", ('{"city":"Paris"}',)),
        tool_block(facts, 2, "get_weather", ('{"city":"Rome"}',)),
    )
    return Script(
        blocks=blocks,
        usage=Usage(input_tokens=70, output_tokens=40),
        terminal=Terminal("finish", "tool_calls"),
    )


def _done_reason_absent(facts: Facts) -> Script:
    return Script(
        blocks=(Block("text", TEXT),), usage=USAGE, terminal=Terminal("finish", "stop", raw_absent=True)
    )


_OLLAMA = default_facts(OLLAMA)
_ANTHROPIC = default_facts(ANTHROPIC)
_GEMINI = default_facts(GEMINI)
_GEMINI_ARRAY = replace(
    _GEMINI,
    framing="json-array",
    knobs={"usage_every_chunk": False, "framing": "json-array"},
    variant="json-array",
    quirks=("gemini.json_array_stream_without_alt_sse",),
    query={},
    content_type="application/json; charset=UTF-8",
)
_VERTEX = replace(
    _GEMINI,
    flavour="vertex",
    knobs={"usage_every_chunk": False, "flavour": "vertex"},
    variant="vertex",
    quirks=("sse.crlf_line_endings", "gemini.no_terminator", "vendor_extension_fields"),
    base_url="https://aiplatform.googleapis.com",
    path="/v1beta1/projects/example-project/locations/global/publishers/google/models/gemini-2.5-flash:streamGenerateContent",
)
_RESPONSES = default_facts(RESPONSES)

VARIANTS: tuple[Scenario, ...] = (
    Scenario(
        name="sse-bom",
        intent="a UTF-8 byte order mark precedes the first SSE field",
        script=_text,
        targets=_sse_targets("bom", "sse.bom_prefix"),
    ),
    Scenario(
        name="sse-no-space-after-colon",
        intent="SSE fields written without a space after the colon",
        script=_text,
        targets=_sse_targets("no-space", "sse.no_space_after_colon", space_after_colon=False),
    ),
    Scenario(
        name="sse-multiline-data",
        intent="each JSON payload spread over several data: lines",
        script=_text,
        targets=_sse_targets("multiline", "sse.multiline_data"),
    ),
    Scenario(
        name="sse-id-retry-fields",
        intent="every SSE event has an id: field and the first a retry: field",
        script=_text,
        targets=_sse_targets("id-retry", "sse.id_retry_fields"),
    ),
    Scenario(
        name="sse-data-only-keepalive",
        intent="an empty data: line and data: ping come before the first chunk",
        script=_keepalive_first,
        targets=(replace(_CHAT, post="data-keepalive", quirks=(*_CHAT.quirks, "sse.data_only_keepalive")),),
    ),
    Scenario(
        name="json-split-across-events",
        intent="a data: payload holds half a JSON object after two text chunks",
        script=_marked_decode,
        wire=_marked_full,
        inject=("marmot", '{"rate_limit_usage": {'),
        targets=(replace(_CHAT, quirks=(*_CHAT.quirks, "openai.chat.json_split_across_events")),),
    ),
    Scenario(
        name="error-as-first-event",
        intent="an overloaded_error event is the first event of the stream",
        script=_error_first_event,
        targets=(replace(_ANTHROPIC, quirks=("anthropic.error_event_as_first_event",)),),
    ),
    Scenario(
        name="error-event-no-done",
        intent="an event: error with a status_code ends the text; no [DONE]",
        script=_error_after_text,
        targets=(
            replace(
                _GROQ,
                quirks=(*_GROQ.quirks, "groq.error_event_no_done", "sse.mixed_named_and_unnamed_events"),
            ),
        ),
    ),
    Scenario(
        name="error-chunk-with-usage",
        intent="an error chunk carries a choice and the usage after the text",
        script=_error_after_text_with_usage,
        targets=(replace(_OPENROUTER, quirks=(*_OPENROUTER.quirks, "openrouter.error_chunk_with_usage")),),
    ),
    Scenario(
        name="tool-call-whole-single-delta",
        intent="one delta holds the whole tool call: id, name and arguments",
        script=_whole_call,
        tools=("get_weather",),
        targets=tuple(
            replace(f, quirks=(*f.quirks, "groq.tool_call_whole_single_delta")) for f in (_GROQ, _XAI)
        ),
    ),
    Scenario(
        name="tool-call-continuation-fields",
        intent="argument continuation fragments repeat or change id, type, name",
        script=_split_call,
        tools=("get_weather",),
        targets=(
            _vllm("new-ids", "vllm.tool_call_id_unstable", continuation_ids="new"),
            _vllm("empty-ids", "vllm.tool_call_id_unstable", continuation_ids="empty"),
            _vllm("repeated-ids", "vllm.tool_call_id_unstable", continuation_ids="repeat"),
            _vllm("empty-name", "tool_call.empty_name_on_continuation", continuation_name="empty"),
            _vllm(
                "last-fragment-on-finish", "vllm.finish_chunk_drops_fields", post="last-fragment-on-finish"
            ),
        ),
    ),
    Scenario(
        name="tool-call-without-id",
        intent="a streamed tool call whose fragments never carry an id",
        script=_call_without_id,
        tools=("get_weather",),
        targets=(_vllm("vllm", "vllm.tool_call_id_missing"),),
    ),
    Scenario(
        name="usage-total-not-sum",
        intent="total_tokens is not input plus output: reasoning counted again",
        script=_reasoning_usage,
        targets=(replace(_XAI, post="total-not-sum", quirks=("usage.total_not_sum",)),),
    ),
    Scenario(
        name="redacted-thinking",
        intent="a redacted_thinking block arrives whole in its start, then text",
        script=_redacted_thinking,
        reasoning=True,
        targets=(replace(_ANTHROPIC, quirks=(*_ANTHROPIC.quirks, "anthropic.redacted_thinking_whole")),),
    ),
    Scenario(
        name="unknown-event-type",
        intent="an event type the decoder does not know comes first",
        script=_unknown_first,
        targets=(
            replace(
                _ANTHROPIC,
                post="unknown-event-first",
                quirks=(*_ANTHROPIC.quirks, "anthropic.unknown_event_types"),
            ),
        ),
    ),
    Scenario(
        name="tool-calls-replaced",
        intent="two calls are sent with empty arguments, then again complete",
        script=_two_calls,
        tools=("get_weather",),
        targets=(replace(_OLLAMA, knobs={"replaced_tool_calls": True}),),
    ),
    Scenario(
        name="tool-calls-each-own-line",
        intent="two tool calls, each in its own NDJSON object",
        script=_two_calls,
        tools=("get_weather",),
        targets=(replace(_OLLAMA, knobs={"tool_call_frames": "each"}),),
    ),
    Scenario(
        name="tool-calls-in-done",
        intent="two tool calls ride on the done object",
        script=_two_calls,
        tools=("get_weather",),
        targets=(replace(_OLLAMA, knobs={"tool_call_frames": "done"}),),
    ),
    Scenario(
        name="done-reason-absent",
        intent="the done object has no done_reason",
        script=_done_reason_absent,
        targets=(replace(_OLLAMA, quirks=("ollama.done_reason_absent",)),),
    ),
    Scenario(
        name="generate-text",
        intent="/api/generate text objects ending in a done object",
        script=_text,
        recordable=True,
        targets=(replace(_OLLAMA, flavour="generate", path="/api/generate"),),
    ),
    Scenario(
        name="json-array-text",
        intent="text streamed as a JSON array without alt=sse",
        script=_text,
        recordable=True,
        targets=(_GEMINI_ARRAY,),
    ),
    Scenario(
        name="json-array-tool-call",
        intent="a whole function call streamed as a JSON array element",
        script=_whole_call,
        tools=("get_weather",),
        targets=(_GEMINI_ARRAY,),
    ),
    Scenario(
        name="json-array-error",
        intent="a JSON array whose last element is an error object",
        script=_error_after_text,
        targets=(_GEMINI_ARRAY,),
    ),
    Scenario(
        name="vertex-text",
        intent="Vertex text chunks with createTime and trafficType fields",
        script=_text,
        targets=(_VERTEX,),
    ),
    Scenario(
        name="no-sequence-numbers",
        intent="Responses events without sequence_number fields",
        script=_text,
        targets=(
            replace(
                _RESPONSES,
                knobs={"sequence_numbers": False},
                quirks=(*_RESPONSES.quirks, "openai.responses.sequence_number_optional"),
            ),
        ),
    ),
)
