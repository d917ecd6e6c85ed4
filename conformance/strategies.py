"""Hypothesis strategies for canonical events.  No I/O.

``events()`` draws any single valid event of model v1 (every type, every optional
field present or absent, unicode of every plane, nested JSON payloads).  Sequence
strategies that follow the rules are built on top of these by the codec property
tests.
"""

from __future__ import annotations

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

__all__ = ["events", "json_objects", "json_values", "texts", "usage_counts"]

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
