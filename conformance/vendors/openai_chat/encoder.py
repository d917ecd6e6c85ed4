"""Render a canonical sequence as an OpenAI Chat Completions SSE stream (any flavour).  No I/O.

:func:`encode` writes what an OpenAI-compatible server sends for a response: a role
chunk, one chunk per canonical delta (tool calls as ``index``-keyed fragments, or
whole), the ``finish_reason`` chunk, the usage (its own ``choices: []`` chunk, on the
finish chunk, or in ``x_groq``), then ``data: [DONE]`` -- or the flavour's error shape.
:class:`Knobs` selects the vendor quirks; :func:`flavour_knobs` gives each flavour's
usual ones.  Output is deterministic: obfuscation padding comes from ``Knobs.seed``.

Strategy: the wire has no block boundaries, so the encoder follows the decoder's block
model (``decoder`` module docstring) and raises :class:`UsageError` for what that model
cannot carry: two text-like blocks of one kind in a row (they would merge), a fragment
for a text-like block after another block started (it would open a new block), an empty
text or refusal block, a block end whose ``incomplete`` differs from what the wire
implies (open blocks end with the terminal: incomplete under ``length``/``error``),
signatures on anything but reasoning, kinds the API lacks, ``abort``.  Finish reasons
and errors are checked with the decoder's own mapping (``mapping`` module).
"""

from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from conformance.errors import UsageError
from conformance.events import (
    Abort,
    BlockDelta,
    BlockEnd,
    BlockStart,
    Error,
    ErrorCategory,
    ErrorPhase,
    Event,
    Finish,
    ResponseStart,
    Unknown,
    Usage,
)
from conformance.framing.messages import SSEComment, SSEEvent
from conformance.framing.sse import encode as sse_encode
from conformance.vendors._builder import default_retryable
from conformance.vendors.openai_chat.mapping import (
    CUT_OFF,
    DONE_WITHOUT_FINISH,
    ENDED_WITHOUT_DONE,
    error_object,
    finish_reason_for,
    usage_object,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from conformance.events import JSONObject, JSONValue

__all__ = ["FLAVOURS", "Knobs", "encode", "flavour_knobs"]

#: The OpenAI-compatible flavours, OpenAI first (the default).
FLAVOURS = ("openai", "vllm", "deepseek", "groq", "openrouter", "azure", "mistral", "xai")
_TEXT_KINDS = frozenset({"text", "reasoning", "refusal"})
_CREATED = 1_700_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Knobs:
    """How to render a sequence; the defaults are api.openai.com's behaviour.

    * ``flavour``: the server's field set: id and extension fields (``x_groq``,
      ``provider``/``native_finish_reason``, ``prompt_token_ids``/``token_ids``,
      ``content_filter_results``, DeepSeek's explicit nulls, Mistral's ``p`` padding).
    * ``usage``: ``chunk`` (a ``choices: []`` chunk before ``[DONE]``, OpenAI's
      ``include_usage``), ``finish`` (on the finish chunk: DeepSeek, Mistral, Z.ai) or
      ``x_groq`` (``x_groq.usage`` on the finish chunk).
    * ``role_content``: the role chunk's ``content``: ``""``, ``null`` or absent (HF router).
    * ``role_every_chunk``: repeat ``role`` on every delta (Z.ai).
    * ``empty_first_arguments``: a call's first fragment has ``arguments: ""``.
    * ``max_fragment``: cut argument deltas into pieces of at most this many
      characters (0: one fragment per canonical delta).
    * ``continuation_ids``: on continuation fragments, no ``id``, the same one, ``""``,
      or a ``new`` one each time (vLLM).
    * ``continuation_name``: continuation fragments without a name, or with
      ``type: function`` and ``name: ""``.
    * ``tool_calls``: ``fragments``; ``whole`` (id, name and all arguments in one
      delta: Groq, xAI); ``whole_no_index`` (Mistral: no ``index``; the finish reason
      and usage ride on the last call's chunk).
    * ``reasoning_field``: ``reasoning_content``, ``reasoning``, ``openrouter``
      (``reasoning`` plus the same text in ``reasoning_details``) or ``mistral``
      (``content: [{"type": "thinking", ...}]``).  Signatures and encrypted reasoning
      always go in ``reasoning_details`` (OpenRouter's field).
    * ``text_parts``: text as Mistral ``[{"type": "text", "text": ...}]`` arrays.
    * ``error_style``: ``data`` (``data: {"error": ...}`` then ``[DONE]``), ``event``
      (Groq: ``event: error``, no ``[DONE]``) or ``chunk`` (OpenRouter: a chunk with a
      top-level ``error``, a choice and the usage, then ``[DONE]``).
    * ``repeat_finish``: send the finish chunk twice, then one with ``finish_reason: null``.
    * ``obfuscation``: a random-length padding field on every chunk, from ``seed``.
    * ``keep_alives``: SSE comments before the first chunk; ``keep_alive_every``: one
      after every N chunks (0: none).
    * ``moderation``: a ``choices: []`` moderation chunk after the usage (gpt-5).
    * ``prompt_filter``: Azure's first chunk (``id: ""``, ``prompt_filter_results``).
    * ``eol``: the SSE line end.
    """

    flavour: str = "openai"
    usage: Literal["chunk", "finish", "x_groq"] = "chunk"
    role_content: Literal["empty", "null", "absent"] = "empty"
    role_every_chunk: bool = False
    empty_first_arguments: bool = True
    max_fragment: int = 0
    continuation_ids: Literal["absent", "repeat", "empty", "new"] = "absent"
    continuation_name: Literal["absent", "empty"] = "absent"
    tool_calls: Literal["fragments", "whole", "whole_no_index"] = "fragments"
    reasoning_field: Literal["reasoning_content", "reasoning", "openrouter", "mistral"] = "reasoning_content"
    text_parts: bool = False
    error_style: Literal["data", "event", "chunk"] = "data"
    repeat_finish: bool = False
    obfuscation: bool = True
    seed: int = 0
    keep_alives: int = 0
    keep_alive_every: int = 0
    moderation: bool = False
    prompt_filter: bool = False
    eol: Literal["\n", "\r\n"] = "\n"


_USUAL: dict[str, dict[str, object]] = {
    "openai": {},
    "vllm": {"obfuscation": False, "reasoning_field": "reasoning"},
    "deepseek": {"obfuscation": False, "usage": "finish", "role_content": "null"},
    "groq": {
        "obfuscation": False,
        "usage": "x_groq",
        "tool_calls": "whole",
        "reasoning_field": "reasoning",
        "error_style": "event",
    },
    "openrouter": {
        "obfuscation": False,
        "usage": "finish",
        "reasoning_field": "openrouter",
        "error_style": "chunk",
        "keep_alives": 2,
    },
    "azure": {"prompt_filter": True},
    "mistral": {
        "obfuscation": False,
        "usage": "finish",
        "tool_calls": "whole_no_index",
        "reasoning_field": "mistral",
    },
    "xai": {"obfuscation": False, "tool_calls": "whole"},
}


def flavour_knobs(flavour: str) -> Knobs:
    """The knobs for a flavour's usual behaviour."""
    if flavour not in _USUAL:
        raise UsageError(f"unknown flavour {flavour!r} (valid: {', '.join(FLAVOURS)})")
    return replace(Knobs(flavour=flavour), **_USUAL[flavour])  # type: ignore[arg-type]


def _dumps(value: JSONValue) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(slots=True)
class _Block:
    kind: str
    start: BlockStart
    deltas: list[str]
    end: BlockEnd | None = None
    wire_index: int = 0


def _collect(events: Sequence[Event]) -> tuple[dict[int, _Block], Finish | Error, int, Usage | None]:
    """Blocks by key, the terminal, its position and the last usage before it."""
    blocks: dict[int, _Block] = {}
    usage: Usage | None = None
    for i, event in enumerate(events):
        if isinstance(event, BlockStart):
            if event.block in blocks:
                raise UsageError(f"block {event.block} starts twice")
            blocks[event.block] = _Block(event.kind, event, [])
        elif isinstance(event, BlockDelta | BlockEnd):
            block = blocks.get(event.block)
            if block is None or block.end is not None:
                raise UsageError(f"event {i} is for block {event.block}, which is not open")
            if isinstance(event, BlockDelta):
                if event.text:
                    block.deltas.append(event.text)
            else:
                block.end = event
        elif isinstance(event, Usage):
            usage = event
        elif isinstance(event, Abort):
            raise UsageError("an OpenAI-compatible stream cannot say that the consumer aborted it")
        elif isinstance(event, Finish | Error):
            rest = [e for e in events[i + 1 :] if not isinstance(e, Unknown)]
            if rest:
                raise UsageError(f"events after the terminal cannot be sent: {rest[0]!r}")
            return blocks, event, i, usage
    raise UsageError("the sequence has no terminal (finish or error)")


class _Writer:
    """Builds the chunk payloads and SSE items of one stream."""

    def __init__(self, knobs: Knobs, start: ResponseStart | None) -> None:
        self.k = knobs
        self.flavour = knobs.flavour
        self.response_id = (start.response_id or "") if start else ""
        self.model = (start.model or "") if start else ""
        self.items: list[SSEEvent | SSEComment] = []
        self.chunks = 0
        self.last_is_whole_call = False  # the last chunk holds a Mistral whole call
        self._rng = random.Random(knobs.seed)
        self._comment = " OPENROUTER PROCESSING" if self.flavour == "openrouter" else " keep-alive"
        self.items.extend(SSEComment(text=self._comment) for _ in range(knobs.keep_alives))

    def envelope(self, choices: list[JSONValue], **extra: JSONValue) -> JSONObject:
        out: JSONObject = {"id": self.response_id}
        if self.flavour == "openrouter":
            out["provider"] = "OpenAI"
        out |= {"object": "chat.completion.chunk", "created": _CREATED, "model": self.model}
        if self.flavour in ("openai", "deepseek", "groq", "xai"):
            out["system_fingerprint"] = "fp_conformance"
        out["choices"] = choices
        if self.flavour in ("deepseek", "azure") and "usage" not in extra:
            out["usage"] = None
        out |= extra
        return out

    def choice(self, delta: JSONObject, finish: str | None = None) -> JSONObject:
        if self.k.role_every_chunk:
            delta = {"role": "assistant", **delta}
        out: JSONObject = {"index": 0, "delta": delta}
        if self.flavour != "mistral":
            out["logprobs"] = None
        out["finish_reason"] = finish
        if self.flavour == "openrouter":
            out["native_finish_reason"] = finish
        elif self.flavour == "azure":
            out["content_filter_results"] = {}
        elif self.flavour == "vllm":
            out["token_ids"] = None
        return out

    def send(self, payload: JSONObject, *, event: str | None = None) -> None:
        self.last_is_whole_call = False
        if self.k.obfuscation:
            size = self._rng.randint(1, 16)
            pad = "".join(self._rng.choices(string.ascii_letters + string.digits, k=size))
            payload["p" if self.flavour == "mistral" else "obfuscation"] = pad
        self.items.append(SSEEvent(data=_dumps(payload), event=event))
        self.chunks += 1
        if self.k.keep_alive_every and self.chunks % self.k.keep_alive_every == 0:
            self.items.append(SSEComment(text=self._comment))

    def delta(self, delta: JSONObject) -> None:
        self.send(self.envelope([self.choice(delta)]))

    def done(self) -> None:
        self.items.append(SSEEvent(data="[DONE]"))

    def body(self) -> bytes:
        return sse_encode(self.items, eol=self.k.eol, comment_blank_lines=1)


def _reasoning_delta(text: str, knobs: Knobs) -> JSONObject:
    field = knobs.reasoning_field
    if field == "mistral":
        return {"content": [{"type": "thinking", "thinking": [{"type": "text", "text": text}]}]}
    if field == "openrouter":
        detail: JSONObject = {"type": "reasoning.text", "text": text, "format": None, "index": 0}
        return {"content": "", "reasoning": text, "reasoning_details": [detail]}
    out: JSONObject = {field: text}
    if field == "reasoning" and knobs.flavour == "groq":
        out["channel"] = "analysis"
    elif knobs.flavour == "deepseek":
        out = {"content": None, **out}
    return out


def _seal_delta(end: BlockEnd) -> JSONObject:
    if end.signature is not None:
        detail: JSONObject = {"type": "reasoning.text", "text": "", "signature": end.signature}
    else:
        detail = {"type": "reasoning.encrypted", "data": end.redacted}
    return {"reasoning_details": [{**detail, "format": "anthropic-claude-v1", "index": 0}]}


def _text_delta(kind: str, text: str, knobs: Knobs) -> JSONObject:
    if kind == "reasoning":
        return _reasoning_delta(text, knobs)
    if kind == "refusal":
        return {"refusal": text}
    if knobs.text_parts:
        return {"content": [{"type": "text", "text": text}]}
    if knobs.flavour == "deepseek":
        return {"content": text, "reasoning_content": None}
    return {"content": text}


def _pieces(text: str, size: int) -> list[str]:
    if size <= 0:
        return [text]
    return [text[i : i + size] for i in range(0, len(text), size)]


def _check_start(block: _Block) -> None:
    start, kind = block.start, block.kind
    if kind not in _TEXT_KINDS | {"tool_call", "citation"}:
        raise UsageError(f"Chat Completions has no {kind!r} blocks")
    end = block.end
    if end is None:
        raise UsageError(f"block {start.block} never ends: the wire ends every block at the terminal")
    if end.data is not None:
        raise UsageError(f"block {start.block}: Chat Completions sends no data on a block end")
    if (end.signature is not None or end.redacted is not None) and kind != "reasoning":
        raise UsageError(f"block {start.block}: only reasoning carries a signature or redacted data")
    if end.signature == "" or end.redacted == "":
        raise UsageError(f"block {start.block}: an empty signature or redacted value reads as none")
    if end.signature is not None and end.redacted is not None:
        raise UsageError(f"block {start.block}: one reasoning block cannot carry both signature and redacted")
    if kind == "tool_call":
        if not start.name:
            raise UsageError(f"tool call block {start.block} has no name")
        if start.id == "":
            raise UsageError(f"tool call block {start.block}: an empty id reads as no id")
    elif start.id is not None or start.name is not None:
        raise UsageError(f"block {start.block}: only tool calls have an id and a name")
    if kind == "citation":
        if not isinstance(start.data, dict) or block.deltas:
            raise UsageError(f"citation block {start.block} must be an annotation object without text")
    elif start.data is not None:
        raise UsageError(f"block {start.block}: only citations have data")
    elif kind in ("text", "refusal") and not block.deltas:
        raise UsageError(f"{kind} block {start.block} is empty: nothing on the wire would show it")
    elif kind == "reasoning" and not block.deltas and end.signature is None and end.redacted is None:
        raise UsageError(f"reasoning block {start.block} is empty: nothing on the wire would show it")


def encode(events: Sequence[Event], knobs: Knobs) -> bytes:
    """The Chat Completions SSE body for ``events`` (see the module docstring)."""
    if knobs.flavour not in FLAVOURS:
        raise UsageError(f"unknown flavour {knobs.flavour!r} (valid: {', '.join(FLAVOURS)})")
    blocks, terminal, cut, usage = _collect(events)
    start = next((e for e in events if isinstance(e, ResponseStart)), None)
    if start is not None and not start.response_id and not start.model:
        raise UsageError("a response.start needs a non-empty response_id or model to be sent")
    out = _Writer(knobs, start)
    if knobs.prompt_filter:
        out.send(
            {"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": []}
        )
    role: JSONObject = {"role": "assistant"}
    if knobs.role_content != "absent":
        role["content"] = "" if knobs.role_content == "empty" else None
    first = out.envelope([out.choice(role)])
    if knobs.flavour == "groq":
        first["x_groq"] = {"id": "req_conformance"}
    elif knobs.flavour == "vllm":
        first["prompt_token_ids"] = None
    out.send(first)

    current: int | None = None  # the text-like block the decoder would append to
    sealed = False
    last_current: dict[int, bool] = {}  # text-like block -> still current at the terminal
    consumed: set[int] = set()
    calls = 0
    output = False
    ids = {b.start.id for b in blocks.values() if b.start.id}
    for event in events[:cut]:
        if isinstance(event, BlockStart):
            output = True
            block = blocks[event.block]
            _check_start(block)
            assert block.end is not None  # checked above
            kind = block.kind
            if kind in _TEXT_KINDS:
                if current is not None and blocks[current].kind == kind and not sealed:
                    raise UsageError(f"{kind} block {event.block} would merge into block {current}")
                if current is not None:
                    last_current[current] = False
                current, sealed = event.block, False
                last_current[current] = True
                if kind == "reasoning" and not block.deltas:
                    out.delta(_seal_delta(block.end))
                    sealed = True
            elif kind == "tool_call":
                if current is not None:
                    last_current[current] = False
                current = None
                block.wire_index = calls
                calls += 1
                if knobs.tool_calls == "fragments" and not knobs.empty_first_arguments and block.deltas:
                    consumed.add(event.block)  # the first fragment carries the first delta
                out.delta({"tool_calls": [_call_start(block, knobs)]})
                out.last_is_whole_call = knobs.tool_calls == "whole_no_index"
            else:
                out.delta({"content": "", "annotations": [event.data]})
        elif isinstance(event, BlockDelta) and event.text:
            block = blocks[event.block]
            if block.kind in _TEXT_KINDS:
                if event.block != current:
                    raise UsageError(f"a fragment of block {event.block} after another block started")
                out.delta(_text_delta(block.kind, event.text, knobs))
            elif knobs.tool_calls == "fragments":
                if event.block in consumed:
                    consumed.discard(event.block)
                    continue
                for piece in _pieces(event.text, knobs.max_fragment):
                    out.delta({"tool_calls": [_continuation(block, piece, knobs, ids)]})
        elif isinstance(event, BlockEnd):
            block = blocks[event.block]
            if block.kind == "reasoning" and block.deltas and (event.signature or event.redacted):
                if event.block != current:
                    raise UsageError(f"the signature of block {event.block} after another block started")
                out.delta(_seal_delta(event))
                sealed = True

    cut_off = isinstance(terminal, Error) or terminal.reason in CUT_OFF
    for number, block in blocks.items():
        assert block.end is not None
        if block.kind in _TEXT_KINDS:
            want = cut_off and last_current.get(number, False)
        else:
            want = cut_off and block.kind == "tool_call"
        if block.end.incomplete != want:
            state = "incomplete" if want else "complete"
            raise UsageError(f"block {number} must end {state}: the wire ends it with the terminal")
    if isinstance(terminal, Finish):
        _finish(out, terminal, usage, knobs, has_calls=calls > 0)
    else:
        _error(out, terminal, usage, knobs, output=output)
    return out.body()


def _call_start(block: _Block, knobs: Knobs) -> JSONObject:
    """A call's first fragment (``arguments: ""`` or its first delta), or the whole call."""
    start = block.start
    arguments = ""
    if knobs.tool_calls != "fragments":
        arguments = "".join(block.deltas)
    elif not knobs.empty_first_arguments and block.deltas:
        arguments = block.deltas[0]
    function: JSONObject = {"name": start.name, "arguments": arguments}
    identity: JSONObject = {} if start.id is None else {"id": start.id}
    if knobs.tool_calls == "whole_no_index":  # Mistral
        return {**identity, "function": function}
    if knobs.tool_calls == "whole":  # Groq: index last
        return {**identity, "type": "function", "function": function, "index": block.wire_index}
    return {"index": block.wire_index, **identity, "type": "function", "function": function}


def _continuation(block: _Block, piece: str, knobs: Knobs, ids: set[str]) -> JSONObject:
    fragment: JSONObject = {"index": block.wire_index}
    if knobs.continuation_ids == "repeat" and block.start.id is not None:
        fragment["id"] = block.start.id
    elif knobs.continuation_ids == "empty":
        fragment["id"] = ""
    elif knobs.continuation_ids == "new":
        fresh = f"{block.start.id or 'call'}~{len(ids)}"
        if fresh in ids:
            raise UsageError(f"a fresh continuation id {fresh!r} collides with a call id")
        ids.add(fresh)
        fragment["id"] = fresh
    function: JSONObject = {"arguments": piece}
    if knobs.continuation_name == "empty":
        fragment["type"] = "function"
        function = {"name": "", **function}
    fragment["function"] = function
    return fragment


def _finish(out: _Writer, finish: Finish, usage: Usage | None, knobs: Knobs, *, has_calls: bool) -> None:
    raw = finish.raw_reason
    if not raw:
        raise UsageError("the wire always carries a non-empty finish_reason: raw_reason is required")
    if finish_reason_for(raw, has_complete_call=has_calls) != finish.reason:
        raise UsageError(f"finish_reason {raw!r} does not decode as {finish.reason.value!r}")
    extra: JSONObject = {}
    if usage is not None and knobs.usage == "finish":
        extra["usage"] = usage_object(usage, knobs.flavour)
    elif usage is not None and knobs.usage == "x_groq":
        extra["x_groq"] = {"id": "req_conformance", "usage": usage_object(usage, knobs.flavour)}
    last = out.items[-1]
    if out.last_is_whole_call and isinstance(last, SSEEvent):  # Mistral: finish, usage on the call's chunk
        payload = json.loads(last.data)
        payload["choices"][0]["finish_reason"] = raw
        payload |= extra
        out.items[-1] = SSEEvent(data=_dumps(payload))
    else:
        delta: JSONObject = {"content": ""} if knobs.flavour in ("deepseek", "mistral") else {}
        payload = out.envelope([out.choice(delta, raw)], **extra)
        out.send(payload)
        if knobs.repeat_finish:
            out.send(out.envelope([out.choice({}, raw)]))
            out.send(out.envelope([out.choice({"content": ""})]))
    if usage is not None and knobs.usage == "chunk":
        out.send(out.envelope([], usage=usage_object(usage, knobs.flavour)))
    if knobs.moderation:
        out.send(out.envelope([], moderation={"input": {"type": "moderation_results", "results": []}}))
    out.done()


def _error(out: _Writer, error: Error, usage: Usage | None, knobs: Knobs, *, output: bool) -> None:
    phase = ErrorPhase.MID_STREAM if output else ErrorPhase.BEFORE_OUTPUT
    retryable = default_retryable(error.category)
    if error.phase != phase or error.retryable != retryable:
        raise UsageError(f"the error must have phase {phase.value!r} and retryable {retryable}")
    if error.category in (ErrorCategory.PROTOCOL, ErrorCategory.DECODE):
        if error.category is ErrorCategory.DECODE or error.message not in (
            ENDED_WITHOUT_DONE,
            DONE_WITHOUT_FINISH,
        ):
            raise UsageError("only the decoder's own truncation messages can be sent as protocol errors")
        if error.status is not None or error.code is not None:
            raise UsageError("a truncated stream has no error status or code")
    elif knobs.error_style == "chunk":  # OpenRouter: the error, a choice and the usage in one chunk
        extra: JSONObject = {"error": error_object(error, "chunk")}
        if usage is not None:
            extra["usage"] = usage_object(usage, knobs.flavour)
        out.send(out.envelope([out.choice({"content": ""})], **extra))
        out.done()
        return
    if usage is not None:
        out.send(out.envelope([], usage=usage_object(usage, knobs.flavour)))
    if error.category is ErrorCategory.PROTOCOL:
        if error.message == DONE_WITHOUT_FINISH:
            out.done()
        return
    payload: JSONObject = {"error": error_object(error, knobs.error_style)}
    if knobs.error_style == "event":
        out.send(payload, event="error")  # Groq: no [DONE] follows
    else:
        out.send(payload)
        out.done()
