"""The canonical event model, version 1: frozen dataclasses and their JSON form.  No I/O.

Every adapter's output is mapped onto these events; the corpus stores expected
sequences of them as JSON lines; ``schemas/canonical-event.schema.json`` is the same
model as a JSON Schema, and ``docs/SPEC.md`` is the prose authority for both.

Events are frozen, slotted, keyword-only dataclasses with value equality.  Do not
subclass them.  Their JSON form is an object with ``type`` first and the fields in
declaration order; fields equal to their default (``None``, ``False``) are left out.

Blocks are the unit of content.  ``block`` is an integer key chosen by the producer,
unique within one response; the reference decoders number blocks 0, 1, 2... in the
order they start, and comparison matches blocks by order of first appearance, so any
consistent numbering is equivalent.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, fields
from enum import StrEnum
from typing import Any, ClassVar, NoReturn, TypeAlias

from conformance.errors import EventError

__all__ = [
    "CANONICAL_VERSION",
    "CATEGORY_BY_STATUS",
    "EVENT_TYPES",
    "KNOWN_BLOCK_KINDS",
    "TERMINAL_TYPES",
    "Abort",
    "AbortReason",
    "BlockDelta",
    "BlockEnd",
    "BlockStart",
    "Error",
    "ErrorCategory",
    "ErrorPhase",
    "Event",
    "Finish",
    "FinishReason",
    "JSONObject",
    "JSONValue",
    "RETRYABLE_BY_CATEGORY",
    "ResponseStart",
    "Unknown",
    "Usage",
    "UsageCounts",
    "category_for_status",
    "dumps",
    "from_json",
    "json_equal",
    "loads",
    "parse_arguments",
    "to_json",
]

#: Version of the canonical model; cases record the version their expected sequence uses.
CANONICAL_VERSION = 1

JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None
JSONObject: TypeAlias = dict[str, JSONValue]

#: Block kinds of model v1.  A producer may also use ``x-<vendor>-<name>`` kinds.
KNOWN_BLOCK_KINDS = frozenset(
    {
        "text",
        "reasoning",
        "tool_call",
        "server_tool_call",
        "server_tool_result",
        "refusal",
        "citation",
    }
)


class FinishReason(StrEnum):
    """Unified finish reason; the vendor's own value is kept in ``Finish.raw_reason``."""

    STOP = "stop"
    LENGTH = "length"
    TOOL_CALLS = "tool_calls"
    CONTENT_FILTER = "content_filter"
    REFUSAL = "refusal"
    PAUSE = "pause"
    ERROR = "error"
    OTHER = "other"


class ErrorCategory(StrEnum):
    """What kind of failure an ``error`` event reports."""

    RATE_LIMIT = "rate_limit"
    OVERLOADED = "overloaded"
    SERVER = "server"
    INVALID_REQUEST = "invalid_request"
    AUTH = "auth"
    PERMISSION = "permission"
    NOT_FOUND = "not_found"
    CONTEXT_LENGTH = "context_length"
    CONTENT_FILTER = "content_filter"
    TIMEOUT = "timeout"
    PROTOCOL = "protocol"
    DECODE = "decode"
    UNKNOWN = "unknown"


class ErrorPhase(StrEnum):
    """Whether any content block had been delivered when the error happened."""

    BEFORE_OUTPUT = "before_output"
    MID_STREAM = "mid_stream"


class AbortReason(StrEnum):
    """Why the consumer stopped the stream."""

    CONSUMER_CANCEL = "consumer_cancel"
    TASK_CANCEL = "task_cancel"
    TIMEOUT = "timeout"


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageCounts:
    """Token counts; ``None`` means *not reported* (never the same as 0).

    ``input_tokens`` counts every prompt token, including those read from or written
    to a cache (``cache_read``/``cache_write`` give that split); ``output_tokens``
    counts every generated token, including reasoning (``reasoning_tokens``).
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read: int | None = None
    cache_write: int | None = None
    reasoning_tokens: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseStart:
    """The response began; at most one, before every other event."""

    TYPE: ClassVar[str] = "response.start"
    response_id: str | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockStart:
    """A content block opens.

    ``id``/``name``: the vendor's tool-call id and tool name (tool and server-tool
    kinds; ``id`` is ``None`` when the vendor sent none).  ``data``: a header the kind
    carries (a citation's source, a server tool result delivered whole...).
    """

    TYPE: ClassVar[str] = "block.start"
    block: int
    kind: str
    id: str | None = None
    name: str | None = None
    data: JSONValue = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockDelta:
    """A fragment of a block: text, reasoning text, or raw JSON of tool arguments."""

    TYPE: ClassVar[str] = "block.delta"
    block: int
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockEnd:
    """A block closes, with what only the end can say.

    Tool kinds: ``arguments_raw`` is the exact concatenation of the deltas, except
    that an empty concatenation becomes ``"{}"``; ``arguments`` is its parse (a JSON
    object) or else ``arguments_error`` says why it does not parse.  ``incomplete``:
    the block was cut off (``max_tokens``, an error); an incomplete tool call never
    carries ``arguments``.  ``signature``/``redacted``: opaque continuation data the
    vendor attached to this block (thinking signatures, Gemini thought signatures,
    encrypted or redacted reasoning); ``data``: a final payload (server tool result).
    """

    TYPE: ClassVar[str] = "block.end"
    block: int
    incomplete: bool = False
    arguments_raw: str | None = None
    arguments: JSONObject | None = None
    arguments_error: str | None = None
    signature: str | None = None
    redacted: str | None = None
    data: JSONValue = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    """A cumulative usage snapshot: it replaces every earlier one, never adds to it."""

    TYPE: ClassVar[str] = "usage"
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read: int | None = None
    cache_write: int | None = None
    reasoning_tokens: int | None = None

    def counts(self) -> UsageCounts:
        """The same numbers as the :class:`UsageCounts` an ``abort`` carries."""
        return UsageCounts(
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cache_read=self.cache_read,
            cache_write=self.cache_write,
            reasoning_tokens=self.reasoning_tokens,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Finish:
    """Terminal: the response completed; ``raw_reason`` is the vendor's own value."""

    TYPE: ClassVar[str] = "finish"
    reason: FinishReason
    raw_reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Error:
    """Terminal: the stream failed.

    ``code`` keeps the vendor's own error type or code verbatim; ``status`` the HTTP
    status the vendor gave (in the header or inside the error payload).
    """

    TYPE: ClassVar[str] = "error"
    category: ErrorCategory
    message: str
    retryable: bool
    phase: ErrorPhase
    status: int | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Abort:
    """Terminal: the consumer stopped the stream; ``usage`` is what was known by then."""

    TYPE: ClassVar[str] = "abort"
    reason: AbortReason
    usage: UsageCounts | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Unknown:
    """A vendor event the producer did not recognise; informational, skipped by compare."""

    TYPE: ClassVar[str] = "unknown"
    vendor_type: str
    raw: JSONValue = None


Event: TypeAlias = (
    ResponseStart | BlockStart | BlockDelta | BlockEnd | Usage | Finish | Error | Abort | Unknown
)

#: ``type`` string -> event class.
EVENT_TYPES: dict[str, type[Event]] = {
    cls.TYPE: cls
    for cls in (ResponseStart, BlockStart, BlockDelta, BlockEnd, Usage, Finish, Error, Abort, Unknown)
}

#: The event types that end a sequence.
TERMINAL_TYPES = frozenset({Finish.TYPE, Error.TYPE, Abort.TYPE})

_C = ErrorCategory
#: Whether a retry makes sense, per error category; ``protocol``, ``decode`` and
#: ``unknown`` are absent because either answer can be right for them.
RETRYABLE_BY_CATEGORY: dict[ErrorCategory, bool] = {
    **dict.fromkeys((_C.RATE_LIMIT, _C.OVERLOADED, _C.SERVER, _C.TIMEOUT), True),
    **dict.fromkeys((_C.INVALID_REQUEST, _C.AUTH, _C.PERMISSION, _C.NOT_FOUND), False),
    **dict.fromkeys((_C.CONTEXT_LENGTH, _C.CONTENT_FILTER), False),
}

#: What an HTTP error status says about the failure (SPEC §7); other 5xx are ``server``,
#: other 4xx ``invalid_request`` (:func:`category_for_status`).
CATEGORY_BY_STATUS: dict[int, ErrorCategory] = {
    400: _C.INVALID_REQUEST,
    401: _C.AUTH,
    403: _C.PERMISSION,
    404: _C.NOT_FOUND,
    408: _C.TIMEOUT,
    413: _C.INVALID_REQUEST,
    422: _C.INVALID_REQUEST,
    429: _C.RATE_LIMIT,
    500: _C.SERVER,
    502: _C.SERVER,
    503: _C.OVERLOADED,
    504: _C.TIMEOUT,
    529: _C.OVERLOADED,
}


def category_for_status(status: int | None) -> ErrorCategory:
    """The error category an HTTP status implies (``unknown`` when it implies none)."""
    if status is None:
        return _C.UNKNOWN
    if status in CATEGORY_BY_STATUS:
        return CATEGORY_BY_STATUS[status]
    if 500 <= status < 600:
        return _C.SERVER
    if 400 <= status < 500:
        return _C.INVALID_REQUEST
    return _C.UNKNOWN


#: What :func:`parse_arguments` says of JSON nested deeper than Python can parse.
TOO_DEEP = "nested too deeply to parse"

_JSON_TYPE_NAMES: dict[type, str] = {
    list: "array",
    str: "string",
    bool: "boolean",
    int: "number",
    float: "number",
    type(None): "null",
}


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def parse_arguments(raw: str) -> JSONObject | str:
    """Parse tool-call arguments as strict JSON (RFC 8259: no NaN or Infinity).

    Returns the JSON object, or a string saying why ``raw`` is not one (invalid JSON,
    another JSON type, or :data:`TOO_DEEP`).
    """
    try:
        value = json.loads(raw, parse_constant=_no_constants)
    except RecursionError:
        return TOO_DEEP
    except ValueError as exc:
        return f"invalid JSON: {exc}"
    if not isinstance(value, dict):
        return f"a JSON {_JSON_TYPE_NAMES.get(type(value), 'value')}, not an object"
    return value


def _scalar_equal(x: object, y: object) -> bool:
    if isinstance(x, bool) or isinstance(y, bool):
        return isinstance(x, bool) and isinstance(y, bool) and x == y
    if isinstance(x, int | float) and isinstance(y, int | float):
        return x == y
    if isinstance(x, str) and isinstance(y, str):
        return x == y
    return x is None and y is None


def json_equal(a: object, b: object) -> bool:
    """Equality of parsed JSON values: numbers by value (1 == 1.0), booleans apart from
    numbers, objects regardless of key order.  Iterative, so any depth is fine."""
    pending = [(a, b)]
    while pending:
        x, y = pending.pop()
        if isinstance(x, list) and isinstance(y, list):
            if len(x) != len(y):
                return False
            pending.extend(zip(x, y, strict=True))
        elif isinstance(x, dict) and isinstance(y, dict):
            if x.keys() != y.keys():
                return False
            pending.extend((x[k], y[k]) for k in x)
        elif not _scalar_equal(x, y):
            return False
    return True


_COUNT_FIELDS = ("input_tokens", "output_tokens", "cache_read", "cache_write", "reasoning_tokens")


def to_json(event: Event) -> JSONObject:
    """The JSON object of an event: ``type`` first; ``None`` fields (and a false
    ``incomplete``) left out."""
    out: JSONObject = {"type": event.TYPE}
    for f in fields(event):
        value = getattr(event, f.name)
        if value is None or (value is False and f.name == "incomplete"):
            continue
        if isinstance(value, UsageCounts):
            out[f.name] = {k: v for k in _COUNT_FIELDS if (v := getattr(value, k)) is not None}
        elif isinstance(value, StrEnum):
            out[f.name] = value.value
        else:
            out[f.name] = value
    return out


def dumps(event: Event) -> str:
    """One canonical JSON line (no newline): compact, UTF-8 characters kept as is."""
    return json.dumps(to_json(event), ensure_ascii=False, separators=(",", ":"))


def loads(line: str, *, path: str = "$") -> Event:
    """Parse one canonical JSON line; :class:`EventError` if it is not a valid event."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EventError(f"not JSON: {exc.msg} at column {exc.colno}", path=path) from None
    return from_json(obj, path=path)


# -- from_json: one checker per field, keyed by (event type, field name) ---------------

_Checker = Any  # a callable (value, path) -> converted value; kept loose for the table


def _want(kind: type | tuple[type, ...], label: str) -> _Checker:
    def check(value: object, path: str) -> object:
        # bool is an int subclass: never accept True where an integer is meant.
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise EventError(f"expected {label}, got a boolean", path=path)
        if not isinstance(value, kind):
            raise EventError(f"expected {label}, got {type(value).__name__}", path=path)
        return value

    return check


def _count(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventError(f"expected a token count (integer), got {value!r}", path=path)
    if value < 0:
        raise EventError(f"token count must be >= 0, got {value}", path=path)
    return value


def _enum(enum: type[StrEnum]) -> _Checker:
    def check(value: object, path: str) -> StrEnum:
        try:
            return enum(value)  # type: ignore[arg-type]  # a non-string fails as ValueError
        except ValueError:
            valid = ", ".join(m.value for m in enum)
            raise EventError(f"{value!r} is not one of: {valid}", path=path) from None

    return check


def _kind(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise EventError(f"expected a block kind (string), got {type(value).__name__}", path=path)
    if value not in KNOWN_BLOCK_KINDS and not value.startswith("x-"):
        valid = ", ".join(sorted(KNOWN_BLOCK_KINDS))
        raise EventError(f"{value!r} is not a block kind ({valid}, or x-...)", path=path)
    return value


def _block_key(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise EventError(f"expected a block key (integer >= 0), got {value!r}", path=path)
    return value


def _json_value(value: object, path: str) -> object:
    return value  # anything json.loads produced is a JSON value


def _usage_counts(value: object, path: str) -> UsageCounts:
    if not isinstance(value, dict):
        raise EventError(f"expected an object of token counts, got {type(value).__name__}", path=path)
    extra = sorted(set(value) - set(_COUNT_FIELDS))
    if extra:
        raise EventError(f"unknown usage field {extra[0]!r}", path=path)
    return UsageCounts(**{k: _count(v, f"{path}.{k}") for k, v in value.items()})


_STR = _want(str, "a string")
_BOOL = _want(bool, "a boolean")
_OBJECT = _want(dict, "a JSON object")

_FIELD_CHECKS: dict[str, dict[str, _Checker]] = {
    ResponseStart.TYPE: {"response_id": _STR, "model": _STR},
    BlockStart.TYPE: {"block": _block_key, "kind": _kind, "id": _STR, "name": _STR, "data": _json_value},
    BlockDelta.TYPE: {"block": _block_key, "text": _STR},
    BlockEnd.TYPE: {
        "block": _block_key,
        "incomplete": _BOOL,
        "arguments_raw": _STR,
        "arguments": _OBJECT,
        "arguments_error": _STR,
        "signature": _STR,
        "redacted": _STR,
        "data": _json_value,
    },
    Usage.TYPE: dict.fromkeys(_COUNT_FIELDS, _count),
    Finish.TYPE: {"reason": _enum(FinishReason), "raw_reason": _STR},
    Error.TYPE: {
        "category": _enum(ErrorCategory),
        "message": _STR,
        "retryable": _BOOL,
        "phase": _enum(ErrorPhase),
        "status": _want(int, "an HTTP status (integer)"),
        "code": _STR,
    },
    Abort.TYPE: {"reason": _enum(AbortReason), "usage": _usage_counts},
    Unknown.TYPE: {"vendor_type": _STR, "raw": _json_value},
}

_REQUIRED: dict[str, frozenset[str]] = {
    name: frozenset(f.name for f in fields(cls) if f.default is MISSING) for name, cls in EVENT_TYPES.items()
}


def from_json(obj: object, *, path: str = "$") -> Event:
    """Build an event from its JSON object, checking every field.

    Raises :class:`EventError` naming the JSON path of the first problem.  Unknown
    fields are errors: the model is closed (vendor data belongs in ``data``/``raw``).
    """
    if not isinstance(obj, dict):
        raise EventError(f"expected an event object, got {type(obj).__name__}", path=path)
    type_ = obj.get("type")
    if type_ not in EVENT_TYPES:
        valid = ", ".join(EVENT_TYPES)
        raise EventError(f"unknown event type {type_!r} (valid: {valid})", path=f"{path}.type")
    checks = _FIELD_CHECKS[type_]
    kwargs: dict[str, Any] = {}
    for key, value in obj.items():
        if key == "type":
            continue
        check = checks.get(key)
        if check is None:
            raise EventError(f"{type_} has no field {key!r}", path=f"{path}.{key}")
        kwargs[key] = value if value is None else check(value, f"{path}.{key}")
    missing = sorted(_REQUIRED[type_] - {k for k, v in kwargs.items() if v is not None})
    if missing:
        raise EventError(f"{type_} requires {missing[0]!r}", path=f"{path}.{missing[0]}")
    return EVENT_TYPES[type_](**kwargs)
