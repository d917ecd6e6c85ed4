"""The encoder's writer: grouped canonical blocks rendered as Responses output items.  No I/O.

:class:`Stream` writes one output item per block, the way the API streams it
(``output_item.added``, part or summary added, the deltas as split in the sequence, the
``.done`` events, ``output_item.done`` with the final item), then the terminal
response object; :class:`Writer` numbers the events, names them and adds the seeded
padding and ids.  :mod:`.encoder` groups the sequence and drives this module.
"""

from __future__ import annotations

import json
import random
import string
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from conformance.errors import UsageError
from conformance.events import (
    Abort,
    BlockEnd,
    BlockStart,
    Error,
    Finish,
    FinishReason,
    JSONObject,
    JSONValue,
    ResponseStart,
    Usage,
)
from conformance.framing.messages import SSEComment, SSEEvent
from conformance.vendors._builder import default_retryable
from conformance.vendors.openai_responses._tables import (
    INCOMPLETE_REASONS,
    SERVER_TOOL_BY_NAME,
    ServerTool,
    category_for_code,
)

if TYPE_CHECKING:
    from conformance.events import Event
    from conformance.vendors.openai_responses.encoder import Knobs

__all__ = ["Block", "Stream", "plain_end", "usage_json"]

_CREATED_AT = 1_760_000_000
_ALPHABET = string.ascii_letters + string.digits
_BASE36 = string.ascii_lowercase + string.digits

_ID_PREFIX = {"message": "msg", "reasoning": "rs", "function_call": "fc"}


@dataclass(slots=True)
class Block:
    start: BlockStart
    pieces: list[str] = field(default_factory=list)
    end: BlockEnd | None = None

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def complete(self) -> bool:
        return self.end is not None and not self.end.incomplete


def dumps(value: JSONValue) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def plain_end(block: Block, what: str, *, signature: bool = False) -> None:
    end = block.end
    if end is None:
        return
    if end.redacted is not None or end.data is not None or (end.signature is not None and not signature):
        raise UsageError(f"{what} cannot carry redacted data, end data or (here) a signature")


class Writer:
    """Collects the wire events: numbering, names, padding and generated ids."""

    def __init__(self, knobs: Knobs) -> None:
        self.knobs = knobs
        self.items: list[SSEEvent | SSEComment] = [
            SSEComment(text=" OPENROUTER PROCESSING") for _ in range(knobs.keepalive_comments)
        ]
        self.number = knobs.first_sequence_number
        self.rng = random.Random(knobs.seed)

    def emit(self, type_: str, fields: JSONObject, *, pad: str | None = None) -> None:
        payload: JSONObject = {"type": type_}
        if self.knobs.sequence_numbers:
            payload["sequence_number"] = self.number
            self.number += 1
        payload.update(fields)
        if pad is not None and self.knobs.obfuscation:
            payload["obfuscation"] = "".join(self.rng.choices(_ALPHABET, k=max(2, 16 - len(pad))))
        self.items.append(SSEEvent(event=type_ if self.knobs.event_lines else None, data=dumps(payload)))

    def item_id(self, item_type: str) -> str:
        prefix = _ID_PREFIX[item_type]
        if self.knobs.item_ids == "uuid":
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        if self.knobs.item_ids == "openrouter":
            return f"{prefix}_tmp_" + "".join(self.rng.choices(_BASE36, k=11))
        return f"{prefix}_{self.rng.getrandbits(200):050x}"

    def interim_encrypted(self) -> str:
        return "gAAAAAB" + "".join(self.rng.choices(_ALPHABET + "-_", k=40))


class Stream:
    """Renders the grouped blocks as items."""

    def __init__(self, knobs: Knobs, head: ResponseStart, terminal: Event | None) -> None:
        self.knobs = knobs
        self.w = Writer(knobs)
        self.head = head
        self.output: list[JSONValue] = []
        # Whether the terminal closes items left open as cut off (error / response.incomplete).
        self.closes_cut = isinstance(terminal, Error) or (
            isinstance(terminal, Finish)
            and terminal.reason not in (FinishReason.STOP, FinishReason.TOOL_CALLS)
        )

    def response(self, status: str, **extra: JSONValue) -> JSONObject:
        return {
            "id": self.head.response_id,
            "object": "response",
            "created_at": _CREATED_AT,
            "status": status,
            "error": extra.pop("error", None),
            "incomplete_details": extra.pop("incomplete_details", None),
            "model": self.head.model,
            "output": extra.pop("output", []),
            "usage": extra.pop("usage", None),
        }

    def left_open(self, block: Block) -> bool:
        end = block.end
        if end is None:
            return True  # no terminal at all: a truncated stream
        return (
            self.knobs.cut_items_left_open
            and self.closes_cut
            and end.incomplete
            and bool(block.pieces)
            and end.signature is None
        )

    def item_done(self, block: Block, final: JSONObject) -> None:
        self.output.append(final)
        if not self.left_open(block):
            self.w.emit("response.output_item.done", {"output_index": len(self.output) - 1, "item": final})

    def deltas(self, block: Block, type_: str, where: JSONObject, *, wanted: bool) -> None:
        if wanted or not block.complete:
            for piece in block.pieces:
                self.w.emit(type_, {**where, "delta": piece}, pad=piece)

    # -- items ---------------------------------------------------------------------

    def message(self, block: Block, citations: list[Block]) -> None:
        kind = block.start.kind
        plain_end(block, f"a {kind} block")
        oi, item_id, text = len(self.output), self.w.item_id("message"), block.text
        self.w.emit(
            "response.output_item.added",
            {
                "output_index": oi,
                "item": {
                    "id": item_id,
                    "type": "message",
                    "status": "in_progress",
                    "content": [],
                    "role": "assistant",
                },
            },
        )
        where: JSONObject = {"item_id": item_id, "output_index": oi, "content_index": 0}
        if kind == "text":
            empty: JSONObject = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
            annotations: list[JSONValue] = [c.start.data for c in citations]
            final_part: JSONObject = {
                "type": "output_text",
                "annotations": annotations,
                "logprobs": [],
                "text": text,
            }
        else:
            empty, final_part = {"type": "refusal", "refusal": ""}, {"type": "refusal", "refusal": text}
        self.w.emit("response.content_part.added", {**where, "part": empty})
        if kind == "text":
            for piece in block.pieces if self.knobs.text_deltas or not block.complete else ():
                self.w.emit(
                    "response.output_text.delta", {**where, "delta": piece, "logprobs": []}, pad=piece
                )
            for number, citation in enumerate(citations):
                self.w.emit(
                    "response.output_text.annotation.added",
                    {**where, "annotation_index": number, "annotation": citation.start.data},
                )
        else:
            self.deltas(block, "response.refusal.delta", where, wanted=self.knobs.text_deltas)
        if block.complete and self.knobs.part_done_events:
            if kind == "text":
                self.w.emit("response.output_text.done", {**where, "text": text, "logprobs": []})
            else:
                self.w.emit("response.refusal.done", {**where, "refusal": text})
            self.w.emit("response.content_part.done", {**where, "part": final_part})
        status = "completed" if block.complete else "incomplete"
        final: JSONObject = {
            "id": item_id,
            "type": "message",
            "status": status,
            "content": [final_part],
            "role": "assistant",
        }
        self.item_done(block, final)

    def reasoning(self, block: Block) -> None:
        plain_end(block, "a reasoning block", signature=True)
        signature = block.end.signature if block.end else None
        oi, item_id, text = len(self.output), self.w.item_id("reasoning"), block.text
        added: JSONObject = {"id": item_id, "type": "reasoning", "summary": []}
        if signature is not None and self.knobs.encrypted_on_added:
            added["encrypted_content"] = self.w.interim_encrypted()
        self.w.emit("response.output_item.added", {"output_index": oi, "item": added})
        final: JSONObject = {"id": item_id, "type": "reasoning", "summary": []}
        done = block.complete and self.knobs.part_done_events
        if block.pieces and self.knobs.reasoning == "summary":
            where: JSONObject = {"item_id": item_id, "output_index": oi, "summary_index": 0}
            self.w.emit(
                "response.reasoning_summary_part.added",
                {**where, "part": {"type": "summary_text", "text": ""}},
            )
            self.deltas(block, "response.reasoning_summary_text.delta", where, wanted=self.knobs.text_deltas)
            if done:
                self.w.emit("response.reasoning_summary_text.done", {**where, "text": text})
                self.w.emit(
                    "response.reasoning_summary_part.done",
                    {**where, "part": {"type": "summary_text", "text": text}},
                )
            final["summary"] = [{"type": "summary_text", "text": text}]
        elif block.pieces:
            where = {"item_id": item_id, "output_index": oi, "content_index": 0}
            self.w.emit(
                "response.content_part.added", {**where, "part": {"type": "reasoning_text", "text": ""}}
            )
            self.deltas(block, "response.reasoning_text.delta", where, wanted=self.knobs.text_deltas)
            if done:
                self.w.emit("response.reasoning_text.done", {**where, "text": text})
                self.w.emit(
                    "response.content_part.done", {**where, "part": {"type": "reasoning_text", "text": text}}
                )
            final["content"] = [{"type": "reasoning_text", "text": text}]
        if signature is not None:
            final["encrypted_content"] = signature
        if not block.complete:
            final["status"] = "incomplete"
        self.item_done(block, final)

    def function_call(self, block: Block) -> None:
        plain_end(block, "a tool_call block")
        call_id, name = block.start.id, block.start.name
        if call_id is None or not name:
            raise UsageError("a Responses function_call always has a call_id and a name")
        oi, item_id, arguments = len(self.output), self.w.item_id("function_call"), block.text
        item: JSONObject = {"id": item_id, "type": "function_call", "status": "in_progress", "arguments": ""}
        item.update({"call_id": call_id, "name": name})
        self.w.emit("response.output_item.added", {"output_index": oi, "item": item})
        where: JSONObject = {"item_id": item_id, "output_index": oi}
        self.deltas(block, "response.function_call_arguments.delta", where, wanted=self.knobs.argument_deltas)
        if block.complete and self.knobs.part_done_events:
            self.w.emit("response.function_call_arguments.done", {**where, "arguments": arguments})
        status = "completed" if block.complete else "incomplete"
        self.item_done(block, {**item, "status": status, "arguments": arguments})

    def server_call(self, block: Block, result: Block | None) -> None:
        plain_end(block, "a server_tool_call block")
        tool = SERVER_TOOL_BY_NAME.get(block.start.name or "")
        if tool is None or block.start.id is None:
            raise UsageError(
                f"server tool {block.start.name!r} has no Responses item type (or the call no id)"
            )
        final: JSONObject = {"id": block.start.id, "type": tool.item_type}
        final["status"] = "completed" if block.complete else "incomplete"
        final.update(_server_fields(block, tool))
        if result is not None:
            final.update(_result_fields(result, tool))
        oi = len(self.output)
        self.w.emit(
            "response.output_item.added",
            {
                "output_index": oi,
                "item": {"id": block.start.id, "type": tool.item_type, "status": "in_progress"},
            },
        )
        steps = tool.progress if block.complete else tool.progress[:-1]
        for step in steps:
            self.w.emit(f"response.{tool.item_type}.{step}", {"output_index": oi, "item_id": block.start.id})
        self.item_done(block, final)

    # -- terminal ------------------------------------------------------------------

    def terminal(self, terminal: Event | None, usage: JSONObject | None, calls_done: bool) -> None:
        if terminal is None:
            return
        if isinstance(terminal, Abort):
            raise UsageError("abort is the consumer's doing; no vendor stream carries it")
        common: JSONObject = {"output": self.output, "usage": usage}
        if isinstance(terminal, Error):
            self.error(terminal, common)
        elif isinstance(terminal, Finish):
            self.finish(terminal, common, calls_done)
        if self.knobs.done_sentinel:
            self.w.items.append(SSEEvent(data="[DONE]"))

    def finish(self, finish: Finish, common: JSONObject, calls_done: bool) -> None:
        reason, raw = finish.reason, finish.raw_reason
        if reason in (FinishReason.STOP, FinishReason.TOOL_CALLS):
            if raw != "completed":
                raise UsageError(f"response.completed has status 'completed', not {raw!r}")
            if (reason == FinishReason.TOOL_CALLS) != calls_done:
                raise UsageError("Responses implies tool_calls exactly when a function call completed")
            self.w.emit("response.completed", {"response": self.response("completed", **common)})
            return
        if raw is None or (INCOMPLETE_REASONS.get(raw, FinishReason.OTHER) != reason):
            raise UsageError(f"finish {reason} with raw reason {raw!r} is not an incomplete_details.reason")
        if reason not in (FinishReason.LENGTH, FinishReason.CONTENT_FILTER, FinishReason.OTHER):
            raise UsageError(f"Responses has no finish reason {reason}")
        details: JSONValue = None if raw == "incomplete" else {"reason": raw}
        response = self.response("incomplete", incomplete_details=details, **common)
        self.w.emit("response.incomplete", {"response": response})

    def error(self, error: Error, common: JSONObject) -> None:
        code = error.code
        if error.status is not None or not error.message:
            raise UsageError("a Responses error carries no HTTP status, and always a message")
        if error.category != category_for_code(code, code):
            raise UsageError(
                f"error code {code!r} means {category_for_code(code, code)}, not {error.category}"
            )
        if error.retryable != default_retryable(error.category):
            raise UsageError(f"retryable={error.retryable} is not the default for {error.category}")
        if self.knobs.error_event:
            body: JSONObject = {"type": code, "code": code, "message": error.message, "param": None}
            self.w.emit(
                "error", {"error": body} if self.knobs.error_shape == "nested" else body | {"type": "error"}
            )
        failure: JSONObject = {"code": code, "message": error.message}
        self.w.emit("response.failed", {"response": self.response("failed", error=failure, **common)})


def _server_fields(block: Block, tool: ServerTool) -> JSONObject:
    end = block.end
    if end is None or end.incomplete:
        if block.pieces:
            raise UsageError("a cut-off server tool call cannot carry argument text on this wire")
        return {}
    args = end.arguments
    if args is None or any(k not in tool.inputs or v is None for k, v in args.items()):
        raise UsageError(f"{tool.name} arguments must be an object of {tool.inputs} (non-null)")
    if block.text != (dumps(args) if args else ""):
        raise UsageError("server tool arguments travel as item fields: only their compact JSON round-trips")
    return dict(args)


def _result_fields(result: Block, tool: ServerTool) -> JSONObject:
    data = result.start.data
    plain_end(result, "a server_tool_result block")
    if (
        result.pieces
        or not result.complete
        or not isinstance(data, dict)
        or not data
        or any(k not in tool.results or v is None for k, v in data.items())
    ):
        raise UsageError(f"a {tool.name} result is whole item fields {tool.results} (non-null), in data")
    return dict(data)


def usage_json(usage: Usage | None) -> JSONObject | None:
    if usage is None:
        return None
    out: JSONObject = {}
    if usage.input_tokens is not None:
        out["input_tokens"] = usage.input_tokens
    details: JSONObject = {}
    if usage.cache_read is not None:
        details["cached_tokens"] = usage.cache_read
    if usage.cache_write is not None:
        details["cache_write_tokens"] = usage.cache_write
    if details:
        out["input_tokens_details"] = details
    if usage.output_tokens is not None:
        out["output_tokens"] = usage.output_tokens
    if usage.reasoning_tokens is not None:
        out["output_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    if usage.input_tokens is not None and usage.output_tokens is not None:
        out["total_tokens"] = usage.input_tokens + usage.output_tokens
    return out
