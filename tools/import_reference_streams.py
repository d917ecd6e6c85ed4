"""Build the recorded corpus cases from the reference streams (a maintainer script).

I/O: reads ``shared/reference/streams`` (the recordings and ``PROVENANCE.json``) and the
reviewed expected sequences, writes ``cassettes/<api>/<case-name>/``.  Not part of the
package.  Run from the checkout::

    python tools/import_reference_streams.py [--streams DIR] [--expected DIR] [--root DIR]

Every recording becomes one case (``LEFT_OUT`` names any that should not, and why).  The
script is idempotent: a file whose content is already right is not touched, and it prints
each file it wrote.

Where the expected sequence comes from: ``--expected DIR/<recording stem>.jsonl`` when
that file exists (the reviewed files that used to live in ``tests/vendors/expected``),
else the case's own ``expected.jsonl``.  Either way the reference decoder must decode the
stream to exactly that sequence, or the case is not written.  A recording with neither
has no reviewed sequence: draft one (``tests/vendors/helpers.write_expected``), review
it, and pass its folder with ``--expected``.

The per-recording facts below are written by hand: each description, the quirk ids
(candidates were derived by inverting QUIRKS.md's ``S:`` references, then reviewed: only
quirks the bytes really show are kept), the tier and, for optional cases, why.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.cassettes import CASSETTES_ROOT, iter_cases, write_case
from conformance.events import Event, loads
from conformance.reframe import reframe
from conformance.registry import get_codec

REPO = Path(__file__).resolve().parents[1]
REFERENCE_STREAMS = Path(
    os.environ.get("CONFORMANCE_REFERENCE_STREAMS", REPO.parent / "shared" / "reference" / "streams")
)
LEGACY_EXPECTED = REPO / "tests" / "vendors" / "expected"
#: Recordings that become no case -> why (none at present).
LEFT_OUT: dict[str, str] = {}
#: Recordings of a GET: the background response resumed with ``starting_after`` (every
#: other recording is the body of a POST that created the response).
GETS = frozenset({"openai-responses__background-resume-starting-after.txt"})

CHAT, RESPONSES = "openai/chat-completions", "openai/responses"
ANTHROPIC, GEMINI = "anthropic/messages", "gemini/generate-content"
BEDROCK, COHERE, OLLAMA = "bedrock/converse-stream", "cohere/chat", "ollama/chat"
COHERE_V1 = "cohere/chat-v1"

#: File prefix -> (API, flavour, case-name prefix).  A prefix is given when the vendor is
#: a flavour of another vendor's API.  Z.ai gets ``deepseek``: its stream has DeepSeek's
#: shape (``reasoning_content``, usage on the finish chunk); the HF router's is OpenAI's.
VENDORS: dict[str, tuple[str, str, str | None]] = {
    "openai-chat": (CHAT, "openai", None),
    "openai-responses": (RESPONSES, "openai", None),
    "anthropic": (ANTHROPIC, "anthropic", None),
    "gemini": (GEMINI, "gemini", None),
    "vertex": (GEMINI, "vertex", "vertex"),
    "bedrock": (BEDROCK, "bedrock", None),
    "cohere": (COHERE, "cohere", None),
    "cohere-v1": (COHERE_V1, "cohere", None),
    "ollama": (OLLAMA, "generate", None),
    "mistral": (CHAT, "mistral", "mistral"),
    "deepseek": (CHAT, "deepseek", "deepseek"),
    "groq": (CHAT, "groq", "groq"),
    "openrouter": (CHAT, "openrouter", "openrouter"),
    "openrouter-responses": (RESPONSES, "openrouter", "openrouter"),
    "vllm": (CHAT, "vllm", "vllm"),
    "hf-router": (CHAT, "openai", "hf-router"),
    "zai": (CHAT, "deepseek", "zai"),
}

#: Where a recording without a recorded request uri was sent (scheme and host, path).
DEFAULT_URLS = {
    CHAT: ("https://api.openai.com", "/v1/chat/completions"),
    RESPONSES: ("https://api.openai.com", "/v1/responses"),
    ANTHROPIC: ("https://api.anthropic.com", "/v1/messages"),
    COHERE: ("https://api.cohere.com", "/v2/chat"),
    COHERE_V1: ("https://api.cohere.com", "/v1/chat"),
    OLLAMA: ("http://localhost:11434", "/api/generate"),
}
FLAVOUR_URLS = {
    ("mistral", CHAT): ("https://api.mistral.ai", "/v1/chat/completions"),
    # Azure: a placeholder resource name; the v1 API paths.
    ("azure", CHAT): ("https://example-resource.openai.azure.com", "/openai/v1/chat/completions"),
    ("azure", RESPONSES): ("https://example-resource.openai.azure.com", "/openai/v1/responses"),
}
VERTEX_PATH = "/v1beta1/projects/example-project/locations/global/publishers/google/models/{model}"

#: Content types for recordings whose headers were not recorded.
CONTENT_TYPES = {
    "sse": "text/event-stream",
    "ndjson": "application/x-ndjson",
    "json-array": "application/json; charset=UTF-8",
    "eventstream": "application/vnd.amazon.eventstream",
}

REASONING = "reasoning blocks: an adapter may leave reasoning out"
SERVER_TOOLS = "server tool blocks: an adapter may leave them out"
TOOL_PLAN = "Cohere's tool plan is a reasoning block: an adapter may leave it out"


@dataclass(frozen=True)
class Entry:
    description: str
    quirks: tuple[str, ...]
    optional: str | None = None  # why the case is optional; None: required


def _e(description: str, *quirks: str, optional: str | None = None) -> Entry:
    return Entry(description, quirks, optional)


CASES: dict[str, Entry] = {
    # -- OpenAI Chat Completions and compatible servers
    "openai-chat__parallel-tool-calls.txt": _e(
        "two parallel tool calls stream their arguments one after the other",
        "openai.chat.tool_call_id_only_in_first_fragment",
        "openai.chat.parallel_tool_calls_sequential_indices",
        "openai.chat.role_chunk_content_null",
        "tool_args.split_mid_token",
        "openai.chat.usage_only_final_chunk",
        "usage.location_varies",
    ),
    "openai-chat__finish-length-max-tokens.txt": _e(
        "max_tokens=1 cuts the text after one delta: finish reason length",
        "max_tokens.truncation_mid_tool_call",
        "openai.chat.usage_only_final_chunk",
    ),
    "openai-chat__n3-multiple-choices.txt": _e(
        "n=3 interleaves three choices; choice 0 is the response",
        "openai.chat.n_choices_interleaved",
        "openai.chat.usage_only_final_chunk",
        optional="n>1: an adapter may support one choice only",
    ),
    "openai-chat__strict-tool-call.txt": _e(
        "one strict tool call opens on the role chunk with content null",
        "openai.chat.role_chunk_content_null",
        "openai.chat.tool_call_id_only_in_first_fragment",
        "tool_args.split_mid_token",
        "openai.chat.usage_only_final_chunk",
    ),
    "openai-chat__logprobs.txt": _e(
        "every text chunk carries logprobs token entries beside its delta",
        "openai.chat.role_chunk_content_null",
        "openai.chat.usage_only_final_chunk",
    ),
    "openai-chat__moderation-trailing-empty-choices.txt": _e(
        "a usage chunk and a moderation chunk follow the finish reason",
        "openai.chat.usage_only_final_chunk",
        "openai.chat.moderation_chunk_after_usage",
        "padding_fields",
    ),
    "mistral__magistral-thinking-content-array.txt": _e(
        "Magistral content flips between a string and thinking chunk arrays",
        "mistral.content_string_or_array",
        "reasoning.field_names_vary",
        "usage.location_varies",
        optional=REASONING,
    ),
    "mistral__tool-call-whole-no-index-payloads.txt": _e(
        "a whole tool call without index comes with the finish and usage",
        "mistral.tool_call_whole_without_index",
        "usage.location_varies",
    ),
    "deepseek__reasoning-content.txt": _e(
        "reasoning_content deltas, then content; usage only on the finish",
        "reasoning.field_names_vary",
        "deepseek.reasoning_content_null_vs_empty",
        "usage.location_varies",
        optional=REASONING,
    ),
    "groq__midstream-error-tool-use-failed.txt": _e(
        "an error event ends gpt-oss reasoning mid-stream; no [DONE] follows",
        "groq.error_event_no_done",
        "sse.mixed_named_and_unnamed_events",
        "reasoning.field_names_vary",
        "vendor_extension_fields",
        optional=REASONING,
    ),
    "openrouter__comments-then-error-chunk.txt": _e(
        "keep-alive comments, reasoning, then an error chunk with usage",
        "sse.comment_keepalive",
        "openrouter.error_chunk_with_usage",
        "finish_reason.repeated_or_late",
        "reasoning.field_names_vary",
        "vendor_extension_fields",
        optional=REASONING,
    ),
    "openrouter__url-citation-annotations.txt": _e(
        "url_citation annotations stream beside the text of a web answer",
        "citations.shapes",
        "sse.comment_keepalive",
        "vendor_extension_fields",
        optional="citation blocks: an adapter may leave citations out",
    ),
    "vllm__crusoe-llama-text.txt": _e(
        "vLLM text with prompt_token_ids and token_ids extension fields",
        "vendor_extension_fields",
    ),
    "hf-router__sla-metrics-usage-chunk.txt": _e(
        "a role-only first delta, sla_metrics on every chunk, a usage chunk",
        "hf.role_only_first_delta",
        "vendor_extension_fields",
        "openai.chat.usage_only_final_chunk",
    ),
    "zai__reasoning-content.txt": _e(
        "GLM reasoning_content, then content; role repeated on every chunk",
        "zai.role_repeated_every_chunk",
        "reasoning.field_names_vary",
        "usage.location_varies",
        optional=REASONING,
    ),
    "azure-openai__prompt-filter-first-payloads.txt": _e(
        "a prompt-filter chunk with empty id and model comes before the text",
        "azure.prompt_filter_first_chunk",
        "padding_fields",
    ),
    # -- OpenAI Responses
    "openai-responses__function-call-usage-sequence-numbers.txt": _e(
        "numbered events: a reasoning item, then a function call at output 1",
        "responses.output_index_not_tool_index",
        "responses.item_id_vs_call_id",
        "openai.responses.no_done_sentinel",
        "padding_fields",
        optional=REASONING,
    ),
    "openai-responses__web-search-call.txt": _e(
        "a server-side web search runs between reasoning items and the text",
        "server_tool.result_blocks",
        "transport.utf8_split_across_reads",
        "openai.responses.no_done_sentinel",
        "padding_fields",
        optional=SERVER_TOOLS,
    ),
    "openai-responses__background-resume-starting-after.txt": _e(
        "a background stream resumed after event 0 starts at number 1",
        "openai.responses.sequence_number_optional",
        "openai.responses.no_done_sentinel",
    ),
    "openai-responses__moderation-reasoning-encrypted.txt": _e(
        "an encrypted reasoning item without summary, then the answer text",
        "openai.responses.no_done_sentinel",
        "padding_fields",
        optional=REASONING,
    ),
    "openai-responses__error-insufficient-quota-payloads.txt": _e(
        "an error event, then response.failed, report one quota failure",
        "openai.responses.error_event_then_failed",
    ),
    "openai-responses__reasoning-multi-step-payloads.txt": _e(
        "four responses back to back; the first reasons, then calls a tool",
        "responses.item_id_vs_call_id",
        "padding_fields",
        optional=REASONING,
    ),
    "openrouter-responses__data-only-with-done.txt": _e(
        "Responses events without event lines, ending in data: [DONE]",
        "sse.mixed_named_and_unnamed_events",
        "openrouter.responses.done_sentinel",
        "sse.comment_keepalive",
        optional=REASONING,
    ),
    "azure-openai__responses-tool-call-payloads.txt": _e(
        "one function call whose argument deltas carry obfuscation padding",
        "responses.item_id_vs_call_id",
        "padding_fields",
        "openai.responses.no_done_sentinel",
    ),
    # -- Anthropic Messages
    "anthropic__text-then-tool-use.txt": _e(
        "text, then a tool call whose first argument fragment is empty",
        "anthropic.input_json_delta.empty_first",
        "tool_args.split_mid_token",
        "sse.eof_without_final_blank_line",
    ),
    "anthropic__parallel-tool-use-no-args.txt": _e(
        "two parallel no-argument tool calls; each argument stream is empty",
        "anthropic.tool_use.no_args_empty_string",
        "sse.trailing_whitespace_in_data",
    ),
    "anthropic__thinking-signature-delta.txt": _e(
        "a thinking block ends with one signature_delta, then text follows",
        "anthropic.signature_delta",
        optional=REASONING,
    ),
    "anthropic__code-execution-server-tool.txt": _e(
        "a server-side code execution call and its result between texts",
        "server_tool.result_blocks",
        "anthropic.signature_delta",
        optional=SERVER_TOOLS,
    ),
    "anthropic__minimal-text-padded-payloads.txt": _e(
        "a minimal text reply whose data payloads end in runs of spaces",
        "sse.trailing_whitespace_in_data",
        "usage.location_varies",
    ),
    "anthropic__pause-turn-web-search.txt": _e(
        "many server-side web searches; the turn ends with pause_turn",
        "anthropic.pause_turn",
        "server_tool.result_blocks",
        "anthropic.signature_delta",
        optional=SERVER_TOOLS,
    ),
    "anthropic__refusal-stop-details-synthetic.txt": _e(
        "an empty text block, then stop_reason refusal with stop_details",
        "anthropic.message_delta_usage_overrides",
    ),
    "anthropic__spliced-message-start-synthetic-payloads.txt": _e(
        "a second message_start splices in mid tool call: a protocol error",
        "anthropic.duplicate_or_spliced_message_start",
        optional=REASONING,
    ),
    "anthropic__duplicate-message-start-synthetic-payloads.txt": _e(
        "an identical message_start arrives twice and counts once",
        "anthropic.duplicate_or_spliced_message_start",
    ),
    "anthropic__partial-json-split-mid-escape-payloads.txt": _e(
        "server tool arguments split between a backslash and its escape",
        "anthropic.input_json_delta.split_mid_escape",
        "server_tool.result_blocks",
        optional=SERVER_TOOLS,
    ),
    "anthropic__programmatic-tool-calling-emoji-args-payloads.txt": _e(
        "programmatic tool calling with raw emoji in argument fragments",
        "tool_args.raw_non_ascii",
        "transport.utf8_split_across_reads",
        "server_tool.result_blocks",
        optional=SERVER_TOOLS,
    ),
    "anthropic__refusal-no-content-blocks.txt": _e(
        "a real refusal: message_start, then stop_reason refusal, no blocks",
        "anthropic.refusal_no_content_blocks",
        "sse.trailing_whitespace_in_data",
    ),
    # -- Gemini and Vertex
    "gemini__text-crlf.txt": _e(
        "CRLF-framed text without a terminator; the prompt count changes",
        "sse.crlf_line_endings",
        "sse.cr_lf_split_across_reads",
        "gemini.no_terminator",
        "gemini.usage_prompt_count_changes",
        "finish_reason.repeated_or_late",
        "usage.location_varies",
    ),
    "gemini__function-call-whole.txt": _e(
        "one chunk holds a whole function call without id and finish STOP",
        "gemini.function_call_whole_with_finish",
        "gemini.function_call_id_optional",
        "sse.crlf_line_endings",
        "gemini.no_terminator",
    ),
    "gemini__thought-parts.txt": _e(
        "thought parts stream reasoning summaries before the answer text",
        "reasoning.field_names_vary",
        "gemini.thought_signature_on_any_part",
        "sse.crlf_line_endings",
        optional=REASONING,
    ),
    "gemini__code-execution.txt": _e(
        "executableCode and codeExecutionResult parts between text parts",
        "server_tool.result_blocks",
        "gemini.thought_signature_on_any_part",
        "sse.crlf_line_endings",
        optional=SERVER_TOOLS,
    ),
    "vertex__flex-tier-text.txt": _e(
        "a Vertex text part with a thoughtSignature and createTime fields",
        "gemini.thought_signature_on_any_part",
        "vendor_extension_fields",
        "sse.crlf_line_endings",
    ),
    "gemini__json-array-stream-thought-then-call.txt": _e(
        "a JSON-array stream: a thought, then a signed function call",
        "gemini.json_array_stream_without_alt_sse",
        "gemini.function_call_whole_with_finish",
        "gemini.thought_signature_on_any_part",
        optional=REASONING,
    ),
    "gemini__json-array-stream-function-call-id.txt": _e(
        "a JSON-array stream: a function call with an id, then empty text",
        "gemini.json_array_stream_without_alt_sse",
        "gemini.function_call_id_optional",
        "gemini.empty_text_part_final_chunk",
        "gemini.thought_signature_on_any_part",
    ),
    "vertex__streamed-function-call-args-payloads.txt": _e(
        "two function calls whose arguments stream as partialArgs by path",
        "vertex.partial_args_streaming",
        "gemini.thought_signature_on_any_part",
    ),
    "vertex__streamed-array-args-missing-terminal-payloads.txt": _e(
        "streamed array arguments end without willContinue or terminator",
        "vertex.partial_args_missing_terminal",
        "vertex.partial_args_streaming",
        "gemini.thought_signature_on_any_part",
    ),
    # -- Bedrock ConverseStream
    "bedrock__text-then-tool-use.bin": _e(
        "text without contentBlockStart, inline thinking tags, a tool call",
        "bedrock.text_block_without_start",
        "inline_think_tags",
        "bedrock.tool_input_string_deltas",
        "bedrock.frame_split_across_reads",
        "padding_fields",
        "usage.location_varies",
    ),
    "bedrock__redacted-reasoning.bin": _e(
        "two redacted reasoning blocks without start events, then text",
        "bedrock.reasoning_signature_and_redacted",
        "bedrock.text_block_without_start",
        "bedrock.frame_split_across_reads",
        "padding_fields",
        optional=REASONING,
    ),
    "bedrock__gpt-oss-empty-text-delta.bin": _e(
        "an empty text delta opens block 0; reasoning is block 1, text 2",
        "bedrock.empty_text_delta_and_index_order",
        "bedrock.frame_split_across_reads",
        "padding_fields",
        "usage.location_varies",
        optional=REASONING,
    ),
    "bedrock__text-only.bin": _e(
        "padded text deltas; the usage metadata comes after messageStop",
        "bedrock.text_block_without_start",
        "usage.location_varies",
        "bedrock.frame_split_across_reads",
        "padding_fields",
    ),
    # -- Cohere v2
    "cohere__tool-plan-then-tool-call.txt": _e(
        "tool-plan deltas, then one tool call whose arguments stream",
        "tool_args.split_mid_token",
        "cohere.done_after_message_end",
        "sse.mixed_named_and_unnamed_events",
        "usage.location_varies",
        optional=TOOL_PLAN,
    ),
    "cohere__text.txt": _e(
        "named text events, then message-end and a bare data: [DONE]",
        "sse.mixed_named_and_unnamed_events",
        "cohere.done_after_message_end",
        "usage.location_varies",
    ),
    "cohere__in-stream-error-invalid-tool-generation.txt": _e(
        "a 200 stream fails in-band: message-end with finish_reason ERROR",
        "cohere.error_via_finish_reason",
        "cohere.done_after_message_end",
        optional=TOOL_PLAN,
    ),
    "cohere__thinking-payloads.txt": _e(
        "a thinking content block, then a text block at index 1",
        "reasoning.field_names_vary",
        optional=REASONING,
    ),
    # -- Cohere v1 (legacy)
    "cohere-v1__ndjson-stream-json.txt": _e(
        "legacy v1 NDJSON: text-generation lines, then stream-end with usage",
        "ndjson.partial_line_across_reads",
        "usage.location_varies",
    ),
    # -- Ollama
    "ollama__docs-generate-ndjson.txt": _e(
        "/api/generate text objects ending in a done object with done_reason",
        "ndjson.partial_line_across_reads",
    ),
    "ollama__docs-midstream-error-ndjson.txt": _e(
        "a bare error line follows the text objects; the status stays 200",
        "ollama.error_line_mid_stream",
        "ndjson.partial_line_across_reads",
    ),
}


def _framing(entry: dict[str, Any]) -> str:
    fmt = entry["format"]
    if "eventstream" in fmt:
        return "eventstream"
    if "WITHOUT alt=sse" in fmt:
        return "json-array"
    if "ndjson" in fmt or "newline-delimited JSON" in fmt:
        return "ndjson"
    return "sse"


def _where(entry: dict[str, Any], api: str, flavour: str, raw: bytes) -> tuple[str, str, dict[str, str]]:
    """(scheme://host, path, query) of the request: the recorded uri where there is one."""
    uri = entry.get("request_uri")
    if uri:
        scheme_host, _, rest = uri.partition("://")
        host, _, path_query = rest.partition("/")
        path, _, query = ("/" + path_query).partition("?")
        path = path.partition("#")[0]  # a recorder's marker, not part of the request
        pairs = dict(p.split("=", 1) for p in query.split("&") if p)
        return f"{scheme_host}://{host}", path, pairs
    if flavour == "vertex":
        model = json.loads(raw.splitlines()[0])["modelVersion"]
        return (
            "https://aiplatform.googleapis.com",
            VERTEX_PATH.format(model=model) + ":streamGenerateContent",
            {"alt": "sse"},
        )
    base, path = FLAVOUR_URLS.get((flavour, api)) or DEFAULT_URLS[api]
    return base, path, {}


def _name(file: str) -> tuple[str, str, str]:
    """(api, flavour, case name) of a recording, from its file name; the reference
    folder's ``-payloads`` mark is dropped (a case's stream is always framed)."""
    vendor, _, rest = file.rpartition(".")[0].partition("__")
    rest = rest.removesuffix("-payloads") if file.endswith("-payloads.txt") else rest
    if vendor == "azure-openai":
        api = RESPONSES if rest.startswith("responses") else CHAT
        return api, "azure", f"azure-{rest}"
    api, flavour, prefix = VENDORS[vendor]
    return api, flavour, f"{prefix}-{rest}" if prefix else rest


def _note(entry: dict[str, Any]) -> str:
    return "; ".join(part for part in (entry.get("note"), entry.get("extraction")) if part)


def _expected(stem: str, folder: Path, legacy: Path) -> list[Event] | None:
    for path in (legacy / f"{stem}.jsonl", folder / "expected.jsonl"):
        if path.is_file():
            lines = path.read_text(encoding="utf-8").splitlines()
            return [loads(line, path=f"{path}:{i}") for i, line in enumerate(lines, 1) if line.strip()]
    return None


def build(entry: dict[str, Any], streams: Path, root: Path, legacy: Path) -> list[Path]:
    """Write the case of one recording; returns the files that changed."""
    file = entry["file"]
    api, flavour, name = _name(file)
    framing = _framing(entry)
    payload_lines = entry["format"].startswith("payload lines")
    raw = (streams / file).read_bytes()
    body = reframe(raw, api=api) if payload_lines else raw
    folder = root / api / name
    events = _expected(file.rpartition(".")[0], folder, legacy)
    if events is None:
        raise SystemExit(f"{file}: no reviewed expected sequence (neither in {legacy} nor in {folder})")
    decoder = get_codec(api).new_decoder(flavour, framing=framing)
    if decoder.feed(body) + decoder.close() != events:
        raise SystemExit(f"{file}: the reference decoder does not give the reviewed sequence")
    base, path, query = _where(entry, api, flavour, raw)
    method = "GET" if file in GETS else "POST"
    case = CASES[file]
    manifest = {
        "id": f"{api}/{name}",
        "api": api,
        "flavour": flavour,
        "framing": framing,
        "description": case.description,
        "quirks": list(case.quirks),
        "tier": "optional" if case.optional else "required",
        "source": {
            "kind": "reframed" if payload_lines else "recorded",
            "repo": entry["repo"],
            "path": entry["path"],
            "commit": entry["snapshot_commit"],
            "license": entry["license"],
            "sha256": entry["sha256"],
            "note": _note(entry),
            "reference_file": file,
        },
        "stream": {"content_type": entry.get("content_type") or CONTENT_TYPES[framing]},
        "chunks": None,
        "request": {
            "method": method,
            "path": path,
            "query": query,
            "headers": {"accept": "text/event-stream"}
            if method == "GET"
            else {"content-type": "application/json"},
            "body": None,
            "recordable": False,
        },
        "expected": {"reviewed": True},
    }
    return write_case(folder, manifest, body, events, base_url=base)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--streams", type=Path, default=REFERENCE_STREAMS, help="the reference streams folder"
    )
    parser.add_argument("--expected", type=Path, default=LEGACY_EXPECTED, help="reviewed <stem>.jsonl files")
    parser.add_argument("--root", type=Path, default=CASSETTES_ROOT, help="the corpus folder to write")
    args = parser.parse_args(argv)
    index = json.loads((args.streams / "PROVENANCE.json").read_text(encoding="utf-8"))
    entries = [e for e in index if e["file"] not in LEFT_OUT]
    missing = {e["file"] for e in entries} ^ set(CASES)
    if missing:
        raise SystemExit(f"recordings and the case table differ: {sorted(missing)}")
    written = 0
    for entry in entries:
        for path in build(entry, args.streams, args.root, args.expected):
            print(f"wrote {path.relative_to(args.root.parent)}")
            written += 1
    cases = list(iter_cases(args.root))
    print(f"{written} files written; {len(cases)} cases under {args.root}")
    for file, why in LEFT_OUT.items():
        print(f"left out {file}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
