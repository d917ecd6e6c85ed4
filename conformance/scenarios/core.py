"""The core scenarios: what every adapter meets, rendered for every API that can say it.  No I/O.

Text (plain, every Unicode plane, very long), reasoning, tool calls (argument deltas
split mid-escape, mid-``\\uXXXX``, mid-surrogate pair, mid-number, mid-key; no
arguments; 2 and 8 parallel calls, one after another and interleaved), refusal,
content filter, ``max_tokens`` mid-text and mid-call, errors before output, after
text and inside a call, truncation (inside a message and at a message boundary),
keep-alives, and usage variants (none, zero, cached, reasoning tokens).

Fragments are written out literally so that each split is visible in review; the
split scenarios refuse targets that send calls whole (the split cannot happen there).
"""

from __future__ import annotations

from dataclasses import replace

from conformance.errors import UsageError
from conformance.events import Usage
from conformance.scenarios.facts import (
    ANTHROPIC,
    BEDROCK,
    CHAT,
    COHERE,
    GEMINI,
    OLLAMA,
    RESPONSES,
    Facts,
    default_facts,
)
from conformance.scenarios.scenario import Scenario
from conformance.scenarios.script import Block, Script, Terminal

__all__ = ["CORE", "call_id", "tool_block"]

_ID_PREFIX = {
    CHAT: "call_",
    RESPONSES: "call_",
    ANTHROPIC: "toolu_01",
    BEDROCK: "tooluse_",
    COHERE: "call_",
    OLLAMA: "call_",
}

USAGE = Usage(input_tokens=12, output_tokens=9)
TEXT = ("Hello", "! How can I", " help you today?")


def call_id(facts: Facts, n: int) -> str | None:
    """The vendor-style id of the ``n``-th call (None where calls carry no id)."""
    if not facts.call_ids:
        return None
    return f"{_ID_PREFIX.get(facts.api, 'call_')}Synth{n:02d}Xq7LmR2v"


def tool_block(facts: Facts, n: int, name: str, fragments: tuple[str, ...], *, cut: bool = False) -> Block:
    return Block("tool_call", fragments, name=name, id=call_id(facts, n), cut=cut)


def _fragments_only(facts: Facts) -> None:
    if facts.calls != "fragments":
        raise UsageError(f"{facts.api} sends each call whole: argument fragments cannot be split")


def _text(facts: Facts) -> Script:
    return Script(blocks=(Block("text", TEXT),), usage=USAGE)


UNICODE = (
    "Latin é ß, Greek Ω, Cyrillic Ж; ",
    "CJK 漢字かなカナ 한국어; ",
    "astral 😀🎉 𝄞 \U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522; plane 2 𠜎𠜱𡃁; ",
    "tags 🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f; private \U000f0001\U0010fffd; ",
    "combining e\u0301 a\u0308 n\u0303 Z\u0336\u0335; ",
    "RTL שלום עולם · مرحبا بالعالم; ",
    "ZWJ 👩\u200d👩\u200d👧\u200d👦 🧑🏽\u200d💻 🏳\ufe0f\u200d🌈; ",
    "split grapheme: e",
    "\u0301 and ",
    "👍",
    "🏿 end.",
)


def _unicode(facts: Facts) -> Script:
    return Script(blocks=(Block("text", UNICODE),), usage=Usage(input_tokens=15, output_tokens=96))


_WORDS = (
    "stream",
    "adapter",
    "canonical",
    "event",
    "block",
    "delta",
    "usage",
    "finish",
    "error",
    "frame",
    "chunk",
    "parser",
    "buffer",
    "token",
    "vendor",
    "cursor",
    "fragment",
    "boundary",
    "sequence",
    "response",
    "model",
    "signature",
)


def long_text() -> tuple[str, ...]:
    """128 deltas of 128 characters each (16 KiB of text), deterministic."""
    out = []
    for n in range(128):
        words = [_WORDS[(n * 7 + k * 3) % len(_WORDS)] for k in range(40)]
        piece = f"[{n:03d}] " + " ".join(words)
        out.append((piece + " " * 128)[:127] + "\n")
    return tuple(out)


def _long(facts: Facts) -> Script:
    return Script(blocks=(Block("text", long_text()),), usage=Usage(input_tokens=20, output_tokens=3584))


def _reasoning(facts: Facts) -> Script:
    thinking = Block(
        "reasoning",
        ("The user wants a greeting.", " A short, friendly reply", " is enough."),
        signature=facts.reasoning_signature,
    )
    return Script(
        blocks=(thinking, Block("text", ("Hello! ", "Nice to meet you."))),
        usage=Usage(input_tokens=14, output_tokens=58),
    )


def _one_call(fragments: tuple[str, ...], name: str = "get_weather"):  # type: ignore[no-untyped-def]
    def script(facts: Facts) -> Script:
        _fragments_only(facts)
        return Script(
            blocks=(tool_block(facts, 1, name, fragments),),
            usage=Usage(input_tokens=61, output_tokens=24),
            terminal=Terminal("finish", "tool_calls"),
        )

    return script


# {"path":"C:\\Users\\me\\notes.txt","quote":"say \"hi\""}: every fragment but the
# last ends in a lone backslash, the first half of an escape.
MID_ESCAPE = ('{"path":"C:\\', "\\Users\\", "\\me\\", '\\notes.txt","quote":"say \\', '"hi\\', '""}')
# {"city":"K\u00f8benhavn","note":"\u00e6\u00f8\u00e5"}: split inside \uXXXX escapes.
MID_UNICODE_ESCAPE = ('{"city":"K\\u00', 'f8benhavn","note":"\\u', "00e6\\u00f8\\u00e", '5"}')
# {"a":"\ud83d\ude00","b":"\ud83d\ude4f"}: split between the halves of a surrogate
# pair, and inside each half.
MID_SURROGATE = ('{"a":"\\ud83d', '\\ude00","b":"\\ud8', "3d\\ude4", 'f"}')
MID_NUMBER = ('{"lat":48.85', '66,"lon":2.', '3522,"limit":10', "00}")
MID_KEY = ('{"loca', 'tion":"Par', 'is","un', 'it":"celsius"}')
RAW_NON_ASCII = ('{"city":"東', '京","note":"🌸', ' さくら"}')
CITY = ('{"city":', '"Paris"', "}")


def _whole(fragments: tuple[str, ...]) -> tuple[str, ...]:
    return fragments


def _no_args(facts: Facts) -> Script:
    return Script(
        blocks=(tool_block(facts, 1, "get_time", ()),),
        usage=Usage(input_tokens=40, output_tokens=11),
        terminal=Terminal("finish", "tool_calls"),
    )


_CITIES = ("Paris", "Tokyo", "Lima", "Oslo", "Cairo", "Perth", "Quito", "Hanoi")


def _parallel(count: int, *, interleaved: bool):  # type: ignore[no-untyped-def]
    def script(facts: Facts) -> Script:
        blocks = tuple(
            tool_block(facts, n + 1, "get_weather", ('{"city":', f'"{_CITIES[n]}"', "}"))
            for n in range(count)
        )
        order = None
        if interleaved:
            if not facts.interleave:
                raise UsageError(f"{facts.api} cannot interleave calls")
            starts = [(n, -1) for n in range(count)]
            rounds = [(n, j) for j in range(3) for n in range(count)]
            order = tuple(starts + rounds)
        return Script(
            blocks=blocks,
            order=order,
            usage=Usage(input_tokens=80, output_tokens=20 * count),
            terminal=Terminal("finish", "tool_calls"),
        )

    return script


def _text_then_call(facts: Facts) -> Script:
    return Script(
        blocks=(
            Block("text", ("Let me check", " the weather in Paris.")),
            tool_block(facts, 1, "get_weather", CITY),
        ),
        usage=Usage(input_tokens=64, output_tokens=31),
        terminal=Terminal("finish", "tool_calls"),
    )


REFUSAL = ("I'm sorry, but", " I can't help", " with that request.")


def _refusal(facts: Facts) -> Script:
    if facts.refusal == "block":
        return Script(blocks=(Block("refusal", REFUSAL),), usage=Usage(input_tokens=18, output_tokens=11))
    if facts.refusal == "finish":
        return Script(usage=Usage(input_tokens=18, output_tokens=1), terminal=Terminal("finish", "refusal"))
    raise UsageError(f"{facts.api} has no refusal")


def _content_filter(facts: Facts) -> Script:
    return Script(
        blocks=(Block("text", ("Here is how", " you")),),
        usage=Usage(input_tokens=22, output_tokens=4),
        terminal=Terminal("finish", "content_filter"),
    )


def _max_tokens_text(facts: Facts) -> Script:
    return Script(
        blocks=(Block("text", ("Once upon a time,", " in a land far", " away, there"), cut=True),),
        usage=Usage(input_tokens=10, output_tokens=16),
        terminal=Terminal("finish", "length"),
    )


def _max_tokens_call(facts: Facts) -> Script:
    _fragments_only(facts)
    return Script(
        blocks=(
            Block("text", ("Checking.",)),
            tool_block(facts, 1, "get_weather", ('{"city":', '"Par'), cut=True),
        ),
        usage=Usage(input_tokens=58, output_tokens=16),
        terminal=Terminal("finish", "length"),
    )


def _error_first(facts: Facts) -> Script:
    return Script(terminal=Terminal("error", "early"))


def _error_after_text(facts: Facts) -> Script:
    return Script(
        blocks=(Block("text", ("The answer", " is"), cut=True),),
        terminal=Terminal("error", "late"),
    )


def _error_in_call(facts: Facts) -> Script:
    _fragments_only(facts)
    return Script(
        blocks=(tool_block(facts, 1, "get_weather", ('{"ci', 'ty":"Os'), cut=True),),
        terminal=Terminal("error", "late"),
    )


MARKED = ("Kestrel ", "lynx ", "marmot ", "narwhal ", "ocelot.")


def _marked_full(facts: Facts) -> Script:
    return Script(blocks=(Block("text", MARKED),), usage=Usage(input_tokens=9, output_tokens=12))


def _marked_cut(facts: Facts) -> Script:
    return Script(
        blocks=(Block("text", MARKED[:2], cut=True),),
        usage=Usage(input_tokens=9, output_tokens=12),
        final_usage=False,
        terminal=Terminal("protocol"),
    )


def _usage(usage: Usage | None):  # type: ignore[no-untyped-def]
    def script(facts: Facts) -> Script:
        return Script(blocks=(Block("text", TEXT),), usage=usage)

    return script


def _usage_cached(facts: Facts) -> Script:
    write = 64 if "cache_write" in facts.usage_fields else None
    return Script(
        blocks=(Block("text", TEXT),),
        usage=Usage(input_tokens=2100, output_tokens=9, cache_read=1920, cache_write=write),
    )


# -- keep-alive targets ------------------------------------------------------------

_KEEPALIVE_TARGETS = (
    replace(default_facts(CHAT), knobs={"keep_alives": 3, "keep_alive_every": 1}),
    replace(default_facts(RESPONSES), knobs={"keepalive_comments": 3}),
    replace(default_facts(ANTHROPIC), knobs={"pings": 2, "ping_every": 1}),
    replace(default_facts(GEMINI), post="comments"),
    replace(default_facts(COHERE), post="comments"),
)

_CHAT_DEEPSEEK = replace(
    default_facts(CHAT),
    flavour="deepseek",
    variant="deepseek",
    reasoning=True,
    response_id="5ynthet1c-0c0n-4f0r-m4nc-e00000000001",
    model="deepseek-reasoner",
    request_model="deepseek-reasoner",
    quirks=("reasoning.field_names_vary",),
    base_url="https://api.deepseek.com",
    path="/chat/completions",
)

_SPLIT_QUIRKS = ("tool_args.split_mid_token",)

CORE: tuple[Scenario, ...] = (
    Scenario(
        name="text",
        intent="plain text in three deltas, usage, a normal stop",
        script=_text,
        recordable=True,
    ),
    Scenario(
        name="unicode-planes",
        intent="text from every Unicode plane, combining marks, RTL and ZWJ emoji",
        script=_unicode,
        prompt="Write one line in many scripts, with emoji.",
        recordable=True,
        quirks=("transport.utf8_split_across_reads",),
    ),
    Scenario(
        name="long-text",
        intent="16 KiB of text in 128 deltas of 128 characters",
        script=_long,
        prompt="Write a long numbered list.",
        recordable=True,
    ),
    Scenario(
        name="reasoning-then-text",
        intent="a reasoning block (signed where the vendor signs), then text",
        script=_reasoning,
        reasoning=True,
        targets=(
            _CHAT_DEEPSEEK,
            *(default_facts(a) for a in (RESPONSES, ANTHROPIC, GEMINI, BEDROCK, COHERE, OLLAMA)),
        ),
        api_quirks={
            ANTHROPIC: ("anthropic.signature_delta",),
            BEDROCK: ("bedrock.reasoning_signature_and_redacted",),
        },
    ),
    Scenario(
        name="tool-args-split-mid-escape",
        intent="argument fragments each end in a lone backslash mid-escape",
        script=_one_call(MID_ESCAPE, "read_file"),
        tools=("read_file",),
        quirks=("anthropic.input_json_delta.split_mid_escape", *_SPLIT_QUIRKS),
    ),
    Scenario(
        name="tool-args-split-mid-unicode-escape",
        intent="argument fragments split inside \\u00XX escapes",
        script=_one_call(MID_UNICODE_ESCAPE),
        tools=("get_weather",),
        quirks=("tool_args.split_mid_unicode_escape", *_SPLIT_QUIRKS),
    ),
    Scenario(
        name="tool-args-split-mid-surrogate",
        intent="argument fragments split between and inside surrogate escapes",
        script=_one_call(MID_SURROGATE, "react"),
        tools=("react",),
        quirks=("tool_args.split_mid_unicode_escape", *_SPLIT_QUIRKS),
    ),
    Scenario(
        name="tool-args-split-mid-number",
        intent="argument fragments split inside numbers",
        script=_one_call(MID_NUMBER, "find_places"),
        tools=("find_places",),
        quirks=_SPLIT_QUIRKS,
    ),
    Scenario(
        name="tool-args-split-mid-key",
        intent="argument fragments split inside keys and string values",
        script=_one_call(MID_KEY),
        tools=("get_weather",),
        quirks=_SPLIT_QUIRKS,
    ),
    Scenario(
        name="tool-args-raw-non-ascii",
        intent="raw CJK and emoji in argument fragments split mid-string",
        script=_one_call(RAW_NON_ASCII),
        tools=("get_weather",),
        quirks=("tool_args.raw_non_ascii", *_SPLIT_QUIRKS),
    ),
    Scenario(
        name="tool-call-no-arguments",
        intent="one tool call without arguments: they assemble to {}",
        script=_no_args,
        tools=("get_time",),
        api_quirks={ANTHROPIC: ("anthropic.tool_use.no_args_empty_string",)},
    ),
    Scenario(
        name="parallel-2-calls",
        intent="two tool calls stream one after the other",
        script=_parallel(2, interleaved=False),
        tools=("get_weather",),
        api_quirks={CHAT: ("openai.chat.parallel_tool_calls_sequential_indices",)},
    ),
    Scenario(
        name="parallel-8-calls",
        intent="eight tool calls stream one after the other",
        script=_parallel(8, interleaved=False),
        tools=("get_weather",),
        api_quirks={CHAT: ("openai.chat.parallel_tool_calls_sequential_indices",)},
    ),
    Scenario(
        name="parallel-2-calls-interleaved",
        intent="the argument fragments of two tool calls interleave",
        script=_parallel(2, interleaved=True),
        tools=("get_weather",),
    ),
    Scenario(
        name="parallel-8-calls-interleaved",
        intent="the argument fragments of eight tool calls interleave",
        script=_parallel(8, interleaved=True),
        tools=("get_weather",),
    ),
    Scenario(
        name="text-then-tool-call",
        intent="a text block, then a tool call",
        script=_text_then_call,
        tools=("get_weather",),
    ),
    Scenario(
        name="refusal",
        intent="the model refuses: refusal text or a refusal stop reason",
        script=_refusal,
        api_quirks={
            CHAT: ("openai.chat.refusal_deltas",),
            ANTHROPIC: ("anthropic.refusal_no_content_blocks",),
        },
    ),
    Scenario(
        name="content-filter",
        intent="text, then the output is stopped by the content filter",
        script=_content_filter,
        quirks=("content_filter.stop",),
    ),
    Scenario(
        name="max-tokens-mid-text",
        intent="the output token limit cuts the text block off",
        script=_max_tokens_text,
    ),
    Scenario(
        name="max-tokens-mid-tool-call",
        intent="the output token limit cuts a tool call's arguments off",
        script=_max_tokens_call,
        tools=("get_weather",),
        quirks=("max_tokens.truncation_mid_tool_call",),
    ),
    Scenario(
        name="error-before-output",
        intent="an in-stream error arrives before any content",
        script=_error_first,
        api_quirks={
            CHAT: ("openai.chat.error_data_event",),
            GEMINI: ("gemini.error_raw_json_in_sse",),
            BEDROCK: ("bedrock.exception_frame",),
            COHERE: ("cohere.error_via_finish_reason",),
            OLLAMA: ("ollama.error_line_mid_stream",),
            RESPONSES: ("openai.responses.error_event_then_failed",),
        },
    ),
    Scenario(
        name="error-after-text",
        intent="an in-stream error cuts a text block off",
        script=_error_after_text,
        api_quirks={
            CHAT: ("openai.chat.error_data_event",),
            ANTHROPIC: ("anthropic.error_event_after_content",),
            GEMINI: ("gemini.error_raw_json_in_sse",),
            BEDROCK: ("bedrock.exception_frame",),
            COHERE: ("cohere.error_via_finish_reason",),
            OLLAMA: ("ollama.error_line_mid_stream",),
            RESPONSES: ("openai.responses.error_event_then_failed",),
        },
    ),
    Scenario(
        name="error-mid-tool-call",
        intent="an in-stream error cuts a tool call's arguments off",
        script=_error_in_call,
        tools=("get_weather",),
        api_quirks={
            CHAT: ("openai.chat.error_data_event",),
            ANTHROPIC: ("anthropic.error_event_after_content",),
            BEDROCK: ("bedrock.exception_frame",),
            COHERE: ("cohere.error_via_finish_reason",),
            RESPONSES: ("openai.responses.error_event_then_failed",),
        },
    ),
    Scenario(
        name="truncated-mid-message",
        intent="the bytes stop inside the third text message: no terminator",
        script=_marked_cut,
        wire=_marked_full,
        cut=("marmot", "inside"),
    ),
    Scenario(
        name="truncated-at-boundary",
        intent="the bytes stop cleanly after two text messages: no terminator",
        script=_marked_cut,
        wire=_marked_full,
        cut=("marmot", "before"),
        api_quirks={GEMINI: ("gemini.no_terminator",)},
    ),
    Scenario(
        name="keep-alives",
        intent="keep-alive comments or pings before and between every event",
        script=_text,
        targets=_KEEPALIVE_TARGETS,
        api_quirks={
            CHAT: ("sse.comment_keepalive",),
            RESPONSES: ("sse.comment_keepalive",),
            GEMINI: ("sse.comment_keepalive",),
            COHERE: ("sse.comment_keepalive",),
        },
    ),
    Scenario(name="usage-none", intent="text without any usage report", script=_usage(None)),
    Scenario(
        name="usage-zero",
        intent="usage reported as zero input and zero output tokens",
        script=_usage(Usage(input_tokens=0, output_tokens=0)),
    ),
    Scenario(
        name="usage-cached",
        intent="usage with cached prompt tokens (read, and written where sent)",
        script=_usage_cached,
    ),
    Scenario(
        name="usage-reasoning-tokens",
        intent="usage counting hidden reasoning tokens inside the output",
        script=_usage(Usage(input_tokens=25, output_tokens=270, reasoning_tokens=256)),
    ),
)
