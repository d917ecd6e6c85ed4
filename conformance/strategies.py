"""Hypothesis strategies for canonical events.  No I/O.

``events()`` draws any single valid event of model v1 (every type, every optional
field present or absent, unicode of every plane, nested JSON payloads).  Sequence
strategies that follow the rules are built on top of these by the codec property
tests.
"""

from __future__ import annotations

import itertools

from hypothesis import strategies as st

from conformance.events import (
    KNOWN_BLOCK_KINDS,
    Abort,
    AbortReason,
    BlockDelta,
    BlockEnd,
    BlockStart,
    Error,
    ErrorCategory,
    ErrorPhase,
    Event,
    Finish,
    FinishReason,
    JSONValue,
    ResponseStart,
    Unknown,
    Usage,
    UsageCounts,
)

__all__ = [
    "events",
    "fragments",
    "json_objects",
    "json_values",
    "texts",
    "tool_arguments",
    "unicode_texts",
    "usage_counts",
]

#: Text from every Unicode plane, combining marks and RTL included; no lone surrogates
#: (they cannot be encoded as UTF-8, so no vendor can send them).
texts = st.text(st.characters(codec="utf-8"), max_size=40)

_optional_text = st.none() | texts
_counts = st.none() | st.integers(min_value=0, max_value=2**40)

json_values: st.SearchStrategy[JSONValue] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=12,
)
json_objects: st.SearchStrategy[dict[str, JSONValue]] = st.dictionaries(texts, json_values, max_size=4)

_kinds = st.sampled_from(sorted(KNOWN_BLOCK_KINDS)) | st.from_regex(r"\Ax-[a-z0-9]{1,8}\Z")
_blocks = st.integers(min_value=0, max_value=64)

usage_counts = st.builds(
    UsageCounts,
    input_tokens=_counts,
    output_tokens=_counts,
    cache_read=_counts,
    cache_write=_counts,
    reasoning_tokens=_counts,
)


def events() -> st.SearchStrategy[Event]:
    """Any one valid canonical event (not necessarily a valid sequence)."""
    return st.one_of(
        st.builds(ResponseStart, response_id=_optional_text, model=_optional_text),
        st.builds(
            BlockStart,
            block=_blocks,
            kind=_kinds,
            id=_optional_text,
            name=_optional_text,
            data=json_values,
        ),
        st.builds(BlockDelta, block=_blocks, text=texts),
        st.builds(
            BlockEnd,
            block=_blocks,
            incomplete=st.booleans(),
            arguments_raw=_optional_text,
            arguments=st.none() | json_objects,
            arguments_error=_optional_text,
            signature=_optional_text,
            redacted=_optional_text,
            data=json_values,
        ),
        st.builds(
            Usage,
            input_tokens=_counts,
            output_tokens=_counts,
            cache_read=_counts,
            cache_write=_counts,
            reasoning_tokens=_counts,
        ),
        st.builds(Finish, reason=st.sampled_from(FinishReason), raw_reason=_optional_text),
        st.builds(
            Error,
            category=st.sampled_from(ErrorCategory),
            message=texts,
            retryable=st.booleans(),
            phase=st.sampled_from(ErrorPhase),
            status=st.none() | st.integers(min_value=100, max_value=599),
            code=_optional_text,
        ),
        st.builds(Abort, reason=st.sampled_from(AbortReason), usage=st.none() | usage_counts),
        st.builds(Unknown, vendor_type=texts, raw=json_values),
    )


#: Text that stresses decoders: every plane, combining marks, right-to-left scripts,
#: JSON-escape-worthy characters (quotes, backslashes, control characters).
unicode_texts = st.text(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\u0301", "\u05d0", "\u0627", "\U0001f600", "\\", '"', "\n", "\t", "\u2028", "é"]),
    ),
    min_size=1,
    max_size=60,
)


def tool_arguments(*, max_leaves: int = 20) -> st.SearchStrategy[dict[str, JSONValue]]:
    """JSON objects as tool arguments: nested, unicode keys and strings, big numbers."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**63), max_value=2**63)
        | st.floats(allow_nan=False, allow_infinity=False)
        | unicode_texts
    )
    values = st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=5) | st.dictionaries(unicode_texts, children, max_size=5)
        ),
        max_leaves=max_leaves,
    )
    return st.dictionaries(unicode_texts, values, max_size=6)


@st.composite
def fragments(draw: st.DrawFn, text: str, *, max_pieces: int = 12) -> list[str]:
    """``text`` split at random character offsets into non-empty pieces (one piece if short)."""
    if len(text) < 2:
        return [text] if text else []
    cuts = draw(st.lists(st.integers(1, len(text) - 1), max_size=max_pieces - 1, unique=True))
    points = [0, *sorted(cuts), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(points)]
