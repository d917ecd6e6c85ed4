"""Render a canonical sequence as a Gemini / Vertex ``streamGenerateContent`` body.  No I/O.

The sequence is checked first (:func:`plan`): Gemini sends *parts*, so blocks must
follow one another (no interleaving), and anything the reference decoder would read
back differently is refused with :class:`UsageError` naming what and why.  The parts
are then packed into chunks (``GenerateContentResponse`` objects), each chunk is
rendered the way Gemini lays it out (its field order; ``","`` and ``": "`` separators
in SSE payloads, two-space indented JSON-array elements), and the chunks are framed
with the framing encoders.  A vendor error is appended as the bare
pretty-printed JSON object Gemini writes without ``data:`` (quirk 24), or as an array
element; a ``protocol`` error with the decoder's truncation message is rendered as a
stream that just stops before any ``finishReason`` (quirk 25).  Output is
deterministic for given (events, knobs).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from conformance.errors import UsageError
from conformance.events import Error, Event, JSONObject, JSONValue, Usage
from conformance.framing.jsonarray import encode as encode_json_array
from conformance.framing.messages import SSEEvent, SSEStrayLine
from conformance.framing.sse import encode as encode_sse
from conformance.vendors.gemini.partial_args import format_path, leaves
from conformance.vendors.gemini.plan import Block, Plan, plan

__all__ = ["Knobs", "encode"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Knobs:
    """How to render; the defaults are what Gemini's ``alt=sse`` endpoint sends.

    * ``framing``: ``"sse"`` (``alt=sse``, CRLF lines, quirk 1) or ``"json-array"``
      (no ``alt=sse``: a pretty-printed array, quirk 13).  Decode with the same framing.
    * ``flavour``: ``"vertex"`` adds ``createTime`` (``create_time``), a
      ``usageMetadata.trafficType`` (``traffic_type``) on every chunk, and puts
      ``role`` before ``parts`` as Vertex does.
    * ``parts_per_chunk``: how many consecutive parts share one chunk (Gemini: 1).
    * ``usage_every_chunk``: every chunk after the first ``usage`` event repeats the
      latest snapshot (Gemini); ``False``: only the last chunk carries usage.
    * ``candidates_count_only_last``: ``candidatesTokenCount`` only on the last chunk
      (Gemini 2.x, S:gemini__text-crlf.txt); earlier chunks leave it out.
    * ``prompt_count_drift``: added to ``promptTokenCount`` on every chunk but the
      last (quirk 76: 15 early, 13 at the end).
    * ``finish_on_last_part``: ``finishReason`` rides on the chunk with the last part;
      ``False``: on a trailing chunk whose only part is ``{"text": ""}`` (quirk 73).
    * ``signature_placement``: a block's ``thoughtSignature`` goes on its ``"first"``
      part, its ``"last"`` part, or (text and reasoning only) on a ``"trailing_empty"``
      ``{"text": ""}`` part after it (quirks 73, 74).  Tool and code parts always carry
      their own.
    * ``partial_args``: Vertex streamed function-call arguments (quirk 50): ``"off"``
      (whole ``functionCall`` parts), ``"terminated"`` (name frame, one ``partialArgs``
      frame per value, then the empty ``{"functionCall": {}}``), ``"unterminated"``
      (the last frame omits ``willContinue`` and no empty call follows, quirk 51).
      Arguments holding an empty object or array cannot be sent as leaves and go whole.
    * ``string_pieces``: a streamed string value is split into up to this many pieces.
    * ``block_prompt``: a ``content_filter`` finish with no content whose raw reason is
      also a ``promptFeedback.blockReason`` is sent as a blocked prompt (no
      candidates).  Raw reasons that only a blocked prompt has (``MODEL_ARMOR``,
      ``JAILBREAK``, a filtering ``OTHER``...) always are.
    * ``candidate_index``: write ``"index": 0`` on the candidate (Gemini 3 does).

    The function call ``id`` is not a knob: it is sent exactly when the canonical
    ``tool_call`` has one (Gemini 2.x sends none, Gemini 3 does; quirk 49).
    """

    framing: Literal["sse", "json-array"] = "sse"
    flavour: Literal["gemini", "vertex"] = "gemini"
    parts_per_chunk: int = 1
    usage_every_chunk: bool = True
    candidates_count_only_last: bool = True
    prompt_count_drift: int = 0
    finish_on_last_part: bool = True
    signature_placement: Literal["first", "last", "trailing_empty"] = "first"
    partial_args: Literal["off", "terminated", "unterminated"] = "off"
    string_pieces: int = 1
    block_prompt: bool = False
    candidate_index: bool = False
    create_time: str = "2026-01-01T00:00:00.000000Z"
    traffic_type: str = "ON_DEMAND"


@dataclass(slots=True)
class _Chunk:
    parts: list[JSONObject] = field(default_factory=list)
    citations: list[JSONValue] | None = None
    grounding: JSONValue = None
    sealed: bool = False  # metadata rides after the parts: no more parts in this chunk
    usage: Usage | None = None
    finish: str | None = None
    blocked: str | None = None


def encode(events: Sequence[Event], knobs: Knobs) -> bytes:
    """The wire bytes Gemini would send for ``events`` (UsageError if it could not)."""
    _check_knobs(knobs)
    p = plan(events, block_prompt=knobs.block_prompt)
    chunks = _pack(p, knobs)
    texts = [_render(chunk, p, knobs, last=i == len(chunks) - 1) for i, chunk in enumerate(chunks)]
    if knobs.framing == "json-array":
        elements = [json.dumps(t, ensure_ascii=False, indent=2) for t in texts]
        if p.error is not None:
            elements.append(json.dumps(_error_object(p.error), ensure_ascii=False, indent=2))
        return encode_json_array(elements, style="gemini")
    items: list[SSEEvent | SSEStrayLine] = [
        SSEEvent(data=json.dumps(t, ensure_ascii=False, separators=(",", ": "))) for t in texts
    ]
    if p.error is not None:
        raw = json.dumps(_error_object(p.error), ensure_ascii=False, indent=2)
        items.extend(SSEStrayLine(text=line) for line in raw.split("\n"))
    return encode_sse(items, eol="\r\n")


def _check_knobs(knobs: Knobs) -> None:
    if knobs.framing not in ("sse", "json-array") or knobs.flavour not in ("gemini", "vertex"):
        raise UsageError(f"unknown framing {knobs.framing!r} or flavour {knobs.flavour!r}")
    if knobs.parts_per_chunk < 1 or knobs.string_pieces < 1 or knobs.prompt_count_drift < 0:
        raise UsageError("parts_per_chunk and string_pieces must be >= 1, prompt_count_drift >= 0")


# -- packing parts into chunks --------------------------------------------------------------


def _pack(p: Plan, knobs: Knobs) -> list[_Chunk]:
    chunks: list[_Chunk] = []
    usage: Usage | None = None
    for item in p.items:
        if isinstance(item, Usage):
            usage = item
            continue
        if item.kind == "citation":
            _attach_citation(chunks, item.data, usage)
            continue
        for part in _parts(item, knobs):
            last = chunks[-1] if chunks else None
            if last is None or last.sealed or len(last.parts) >= knobs.parts_per_chunk:
                chunks.append(_Chunk(usage=usage))
            chunks[-1].parts.append(part)
    if p.finish is not None:
        raw, blocked = p.finish
        if blocked:
            chunks.append(_Chunk(blocked=raw))
        elif knobs.finish_on_last_part and chunks:
            chunks[-1].finish = raw
        else:
            chunks.append(_Chunk(parts=[{"text": ""}], finish=raw))
    elif not chunks and (p.start is not None or p.final_usage is not None):
        chunks.append(_Chunk())  # a chunk to carry the response's id and usage before the end
    for chunk in chunks:
        chunk.usage = chunk.usage if knobs.usage_every_chunk else None
    if chunks:
        chunks[-1].usage = p.final_usage
    return chunks


def _attach_citation(chunks: list[_Chunk], data: JSONValue, usage: Usage | None) -> None:
    """Citation metadata rides on the chunk of the part before it (read after its parts),
    ``citationMetadata`` before ``groundingMetadata``, as the decoder reads them."""
    grounding = Plan.is_grounding(data)
    last = chunks[-1] if chunks else None
    if last is None or last.grounding is not None:
        last = _Chunk(usage=usage)
        chunks.append(last)
    last.sealed = True
    if grounding:
        last.grounding = data
    else:
        last.citations = [*(last.citations or []), data]


def _parts(block: Block, knobs: Knobs) -> list[JSONObject]:
    kind = block.kind
    sig = block.signature
    if kind in ("text", "reasoning"):
        extra: JSONObject = {"thought": True} if kind == "reasoning" else {}
        parts: list[JSONObject] = [{"text": piece, **extra} for piece in block.deltas]
        if sig is not None:
            if not parts or knobs.signature_placement == "trailing_empty":
                parts.append({"text": "", **extra, "thoughtSignature": sig})
            else:
                parts[0 if knobs.signature_placement == "first" else -1]["thoughtSignature"] = sig
        return parts
    if kind == "tool_call":
        if knobs.partial_args != "off":
            streamed = _streamed_call(block, knobs)
            if streamed is not None:
                return streamed
        call: JSONObject = {"name": block.name, "args": block.args}
        if block.id is not None:
            call["id"] = block.id
        return [_signed({"functionCall": call}, sig)]
    if kind == "server_tool_call":
        code: JSONObject = dict(block.args or {})
        if block.id is not None:
            code["id"] = block.id
        return [_signed({"executableCode": code}, sig)]
    result: JSONObject = dict(block.data) if isinstance(block.data, dict) else {}
    if block.id is not None:
        result["id"] = block.id
    return [_signed({"codeExecutionResult": result}, sig)]


def _signed(part: JSONObject, signature: str | None) -> JSONObject:
    if signature is not None:
        part["thoughtSignature"] = signature
    return part


def _streamed_call(block: Block, knobs: Knobs) -> list[JSONObject] | None:
    """The frames of a Vertex streamed call, or None if its arguments cannot be leaves."""
    values = leaves(block.args or {})
    if values is None:
        return None
    head: JSONObject = {"name": block.name}
    if block.id is not None:
        head["id"] = block.id
    head["willContinue"] = True
    frames: list[JSONObject] = [_signed({"functionCall": head}, block.signature)]
    for keys, value in values:
        path = format_path(keys)
        entries: list[JSONObject]
        if isinstance(value, str):
            entries = [
                {"jsonPath": path, "stringValue": piece, "willContinue": True}
                for piece in _pieces(value, knobs.string_pieces)
            ]
            entries.append({"jsonPath": path, "stringValue": ""})
        elif isinstance(value, bool):
            entries = [{"jsonPath": path, "boolValue": value}]
        elif value is None:
            entries = [{"jsonPath": path, "nullValue": "NULL_VALUE"}]
        else:
            entries = [{"jsonPath": path, "numberValue": value}]
        frames.extend({"functionCall": {"partialArgs": [entry], "willContinue": True}} for entry in entries)
    if knobs.partial_args == "terminated":
        frames.append({"functionCall": {}})
    else:
        last = frames[-1]["functionCall"]
        if isinstance(last, dict):
            del last["willContinue"]
    return frames


def _pieces(text: str, count: int) -> list[str]:
    if len(text) <= 1 or count == 1:
        return [text]
    size = -(-len(text) // count)
    return [text[i : i + size] for i in range(0, len(text), size)]


# -- rendering chunks -----------------------------------------------------------------------


def _render(chunk: _Chunk, p: Plan, knobs: Knobs, *, last: bool) -> JSONObject:
    vertex = knobs.flavour == "vertex"
    out: JSONObject = {}
    if chunk.parts or chunk.citations or chunk.grounding is not None or chunk.finish is not None:
        candidate: JSONObject = {}
        if chunk.parts:
            role: JSONObject = {"role": "model"}
            parts: JSONObject = {"parts": list(chunk.parts)}
            candidate["content"] = {**role, **parts} if vertex else {**parts, **role}
        if chunk.citations:
            candidate["citationMetadata"] = {"citations": chunk.citations}
        if chunk.grounding is not None:
            candidate["groundingMetadata"] = chunk.grounding
        if chunk.finish is not None:
            candidate["finishReason"] = chunk.finish
        if knobs.candidate_index:
            candidate["index"] = 0
        out["candidates"] = [candidate]
    if chunk.blocked is not None:
        out["promptFeedback"] = {"blockReason": chunk.blocked}
    usage = _usage_metadata(chunk.usage, knobs, last=last)
    if usage is not None:
        out["usageMetadata"] = usage
    if p.start is not None and p.start.model is not None:
        out["modelVersion"] = p.start.model
    if vertex:
        out["createTime"] = knobs.create_time
    if p.start is not None and p.start.response_id is not None:
        out["responseId"] = p.start.response_id
    return out


def _usage_metadata(usage: Usage | None, knobs: Knobs, *, last: bool) -> JSONObject | None:
    out: JSONObject = {}
    if usage is not None:
        if usage.input_tokens is not None:
            out["promptTokenCount"] = usage.input_tokens + (0 if last else knobs.prompt_count_drift)
        if usage.output_tokens is not None and (last or not knobs.candidates_count_only_last):
            out["candidatesTokenCount"] = usage.output_tokens - (usage.reasoning_tokens or 0)
        total = [n for n in (usage.input_tokens, usage.output_tokens) if n is not None]
        if total:
            out["totalTokenCount"] = sum(total)
    if knobs.flavour == "vertex":
        out["trafficType"] = knobs.traffic_type
    if usage is not None:
        if usage.cache_read is not None:
            out["cachedContentTokenCount"] = usage.cache_read
        if usage.reasoning_tokens is not None:
            out["thoughtsTokenCount"] = usage.reasoning_tokens
    return out or None


def _error_object(error: Error) -> JSONObject:
    body: JSONObject = {}
    if error.status is not None:
        body["code"] = error.status
    body["message"] = error.message
    if error.code is not None:
        body["status"] = error.code
    return {"error": body}
