"""Tests for the streamed JSON array framing (``conformance.framing.jsonarray``)."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import TypeAlias

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.errors import ConformanceError, FramingError, TruncatedStream, UsageError
from conformance.framing.jsonarray import JSONArrayDecoder, encode
from conformance.framing.messages import JSONArrayElement
from tests.helpers import (
    REFERENCE_STREAMS,
    decode_every_way,
    decode_until_error,
    feed_all,
    feedings,
    reference_stream,
    split_at,
)

#: The real recorded streams (see PROVENANCE.md there).
STREAMS = REFERENCE_STREAMS
REAL_FILES = [
    "gemini__json-array-stream-function-call-id.txt",
    "gemini__json-array-stream-thought-then-call.txt",
]


def decode(data: bytes) -> list[JSONArrayElement]:
    """Decode under every standard feeding; also check the offsets agree (equality ignores them)."""
    result = decode_every_way(JSONArrayDecoder, data)
    offsets = [element.offset for element in result]
    for name, chunks in feedings(data):
        got = [element.offset for element in feed_all(JSONArrayDecoder(), chunks)]
        assert got == offsets, f"feeding {name} gave offsets {got}, not {offsets}"
    return result


def texts(data: bytes) -> list[str]:
    return [element.text for element in decode(data)]


#: What an outcome shows of an error: its type, offset and message.
ErrorSeen: TypeAlias = tuple[type[ConformanceError], int | None, str] | None


def outcome(chunks: Sequence[bytes]) -> tuple[list[tuple[str, int]], ErrorSeen]:
    """The elements (text, offset) delivered before the first error; its type, offset, message."""
    elements, error = decode_until_error(JSONArrayDecoder, chunks)
    shown = None if error is None else (type(error), error.offset, error.message)
    return [(e.text, e.offset) for e in elements], shown


def fails(data: bytes, error: type[ConformanceError], elements: int = -1) -> ConformanceError:
    """``data`` raises exactly ``error`` under every standard feeding, always at the same offset,
    after the same elements (``elements`` of them, when given)."""
    expected = outcome([data])
    caught = decode_until_error(JSONArrayDecoder, [data])[1]
    assert type(caught) is error, caught
    if elements >= 0:
        assert len(expected[0]) == elements, expected
    for name, chunks in feedings(data):
        assert outcome(chunks) == expected, f"feeding {name}"
    return caught


# -- elements -------------------------------------------------------------------------


def test_objects_and_their_offsets() -> None:
    elements = decode(b'[{"a":1},\n {"b":2}]')
    assert [e.text for e in elements] == ['{"a":1}', '{"b":2}']
    assert [e.offset for e in elements] == [1, 11]


def test_nested_arrays_and_objects() -> None:
    assert texts(b'[{"a":[1,{"b":[]}]},[[]],{},[{"c":{"d":[[{}]]}}]]') == [
        '{"a":[1,{"b":[]}]}',
        "[[]]",
        "{}",
        '[{"c":{"d":[[{}]]}}]',
    ]


def test_strings_holding_brackets_commas_and_quotes() -> None:
    data = rb'[{"a":"]}[{,"}, "]", "[", "{", "}", ",", "\"", "\\", "\\\"]", "a\\", {"k\"]":"\\\\"}]'
    got = texts(data)
    assert got == [
        r'{"a":"]}[{,"}',
        '"]"',
        '"["',
        '"{"',
        '"}"',
        '","',
        r'"\""',
        r'"\\"',
        r'"\\\"]"',
        r'"a\\"',
        r'{"k\"]":"\\\\"}',
    ]
    assert json.loads("[" + ",".join(got) + "]") == json.loads(data)


def test_escape_split_right_after_the_backslash() -> None:
    decoder = JSONArrayDecoder()
    assert decoder.feed(b'["a\\') == []
    assert decoder.feed(b'"') == []  # an escaped quote: the string goes on
    assert decoder.feed(b'", "b\\') == [JSONArrayElement(text=r'"a\""')]
    assert decoder.feed(b"\\") == []  # an escaped backslash
    assert decoder.feed(b'"]') == [JSONArrayElement(text=r'"b\\"')]
    assert decoder.close() == []


def test_unicode_escapes_and_raw_non_ascii() -> None:
    data = '[{"t":"é\\u00e9\\ud83d\\ude00😀"}, "€"]'.encode()
    assert texts(data) == ['{"t":"é\\u00e9\\ud83d\\ude00😀"}', '"€"']


def test_scalars() -> None:
    assert texts(b'[1, -2.5e3 ,true,false,null,"s",0]') == [
        "1",
        "-2.5e3",
        "true",
        "false",
        "null",
        '"s"',
        "0",
    ]


def test_scalar_is_reported_when_the_byte_after_it_arrives() -> None:
    decoder = JSONArrayDecoder()
    assert decoder.feed(b"[12") == []
    assert decoder.feed(b"3") == []
    assert decoder.feed(b"]") == [JSONArrayElement(text="123")]


def test_container_is_reported_as_soon_as_it_closes() -> None:
    decoder = JSONArrayDecoder()
    assert decoder.feed(b'[{"a":') == []
    assert decoder.feed(b"1}") == [JSONArrayElement(text='{"a":1}')]
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"]") == []


def test_inner_grammar_is_left_to_the_json_parser() -> None:
    assert texts(b'[{1 2 : ,}, [,,], tru, "\x01"]') == ["{1 2 : ,}", "[,,]", "tru", '"\x01"']


def test_deep_nesting_does_not_recurse() -> None:
    depth = 100_000
    data = b"[" + b"[" * depth + b"]" * depth + b"]"
    assert feed_all(JSONArrayDecoder(), [data]) == [JSONArrayElement(text="[" * depth + "]" * depth)]


# -- empty arrays and whitespace ------------------------------------------------------


@pytest.mark.parametrize("data", [b"[]", b"[\n]", b" \r\n\t[ \t\r\n] \n\n"])
def test_empty_array(data: bytes) -> None:
    assert decode(data) == []


def test_whitespace_around_everything() -> None:
    assert texts(b' \r\n [ \t1 \r\n, \n{} ,\t"x"\n,\r\n[]\n] \r\n') == ["1", "{}", '"x"', "[]"]


def test_utf8_bom_at_the_start_is_skipped() -> None:
    elements = decode(b"\xef\xbb\xbf[1, 2]")
    assert [(e.text, e.offset) for e in elements] == [("1", 4), ("2", 7)]


def test_bom_after_whitespace_is_an_error() -> None:
    error = fails(b" \xef\xbb\xbf[1]", FramingError)
    assert error.offset == 1
    assert "got byte 0xef" in error.message


def test_incomplete_bom_is_an_error() -> None:
    error = fails(b"\xef\xbb[1]", FramingError)
    assert error.offset == 2
    assert "byte order mark" in error.message


def test_stream_cut_inside_the_bom_is_truncated() -> None:
    error = fails(b"\xef\xbb", TruncatedStream)
    assert error.offset == 2
    assert "byte order mark" in error.message


# -- structural errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "offset", "message"),
    [
        (b"data: {}", 0, "expected '[' at the start of a JSON array stream, got 'd'"),
        (b'  {"a":1}', 2, "expected '[' at the start of a JSON array stream, got '{'"),
        (b"[1 2]", 3, "expected ',' or ']' after an element, got '2'"),
        (b'["a"1]', 4, "expected ',' or ']' after an element, got '1'"),
        (b"[1{}]", 2, "expected ',' or ']' after an element, got '{'"),
        (b"[{]", 2, "mismatched ']': expected '}' to close the '{' at byte 1"),
        (b'[{"a":[1}]', 8, "mismatched '}': expected ']' to close the '[' at byte 6"),
        (b"[1,]", 3, "expected an element after ',', got ']' (a trailing comma)"),
        (b"[,1]", 1, "expected an element or ']' after '[', got ','"),
        (b"[1,,2]", 3, "expected an element after ',', got ','"),
        (b"[}", 1, "unbalanced '}'"),
        (b"[1}", 2, "unbalanced '}'"),
        (b"[:1]", 1, "expected an element or ']' after '[', got ':'"),
        (b"[1]]", 3, "data after the closing ']', got ']' (unbalanced ']')"),
        (b"[1] x", 4, "data after the closing ']', got 'x'"),
        (b"[1]\n[2]", 4, "data after the closing ']', got '['"),
        (b"\x00[]", 0, "got byte 0x00"),
    ],
)
def test_structural_errors(data: bytes, offset: int, message: str) -> None:
    error = fails(data, FramingError)
    assert error.offset == offset
    assert message in error.message


@pytest.mark.parametrize(
    ("data", "offset"),
    [(b"[\xff]", 1), (b'[{"a":"\xc3"}]', 7), ('[1, "€", "x'.encode() + b'\xff"]', 13)],
)
def test_invalid_utf8_in_an_element(data: bytes, offset: int) -> None:
    error = fails(data, FramingError)
    assert error.offset == offset
    assert "invalid UTF-8" in error.message


def test_decoder_that_failed_refuses_more_input() -> None:
    decoder = JSONArrayDecoder()
    with pytest.raises(FramingError):
        decoder.feed(b"{")
    with pytest.raises(UsageError, match="already failed"):
        decoder.feed(b"[]")


# -- elements before a malformed spot -------------------------------------------------


@pytest.mark.parametrize(
    ("data", "good", "error", "offset"),
    [
        (b'[1, {"a":2}, "x" }]', ["1", '{"a":2}', '"x"'], FramingError, 17),
        (b'[1,2,"\xff"]', ["1", "2"], FramingError, 6),  # invalid UTF-8 in the third element
        (b"[{}, [1}, 3]", ["{}"], FramingError, 7),  # mismatched bracket inside the second
        (b"[1,2}", ["1", "2"], FramingError, 4),  # the '}' both ends "2" and is the error
        (b"[1,2] x", ["1", "2"], FramingError, 6),  # data after the closing ']'
        (b'[1,\n2,\n{"a"', ["1", "2"], TruncatedStream, 7),  # the end comes inside an element
        (b"[1, 2", ["1"], TruncatedStream, 4),  # a scalar cut by the end
        (b"[1,}", ["1"], FramingError, 3),
        (b"[}, 1]", [], FramingError, 1),
    ],
)
def test_elements_before_a_malformed_spot_are_delivered_under_every_feeding(
    data: bytes, good: list[str], error: type[ConformanceError], offset: int
) -> None:
    """N good elements then a bad byte: exactly those N elements, then the error, whatever the chunking."""
    caught = fails(data, error, elements=len(good))
    assert caught.offset == offset
    elements, _ = decode_until_error(JSONArrayDecoder, [data])
    assert [e.text for e in elements] == good


def test_error_after_elements_in_one_feed_is_raised_by_the_next_call() -> None:
    decoder = JSONArrayDecoder()
    assert decoder.feed(b"[1, {}, [2}") == [JSONArrayElement(text="1"), JSONArrayElement(text="{}")]
    with pytest.raises(FramingError, match="mismatched") as info:
        decoder.feed(b"]")  # not scanned: the held error comes first
    assert info.value.offset == 10
    with pytest.raises(UsageError, match="already failed"):
        decoder.close()


def test_close_raises_the_held_error() -> None:
    decoder = JSONArrayDecoder()
    assert decoder.feed(b"[1,2}") == [JSONArrayElement(text="1"), JSONArrayElement(text="2")]
    with pytest.raises(FramingError, match="unbalanced") as info:
        decoder.close()  # not TruncatedStream: the held error comes first
    assert info.value.offset == 4
    with pytest.raises(UsageError, match="already failed"):
        decoder.feed(b"]")


def test_a_feed_that_completes_no_element_raises_at_once() -> None:
    decoder = JSONArrayDecoder()
    assert decoder.feed(b"[1,") == [JSONArrayElement(text="1")]
    with pytest.raises(FramingError) as info:
        decoder.feed(b",2]")
    assert info.value.offset == 3


# -- truncation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "offset", "message"),
    [
        (b"", 0, "before the opening '['"),
        (b" \n", 2, "before the opening '['"),
        (b"[", 1, "after '[': expected an element or ']'"),
        (b"[1,", 3, "after ','"),
        (b"[1, ", 4, "after ','"),
        (b"[1", 1, "inside an element (in a scalar)"),
        (b'[{"a": [1', 1, "inside an element (in the '[' opened at byte 7)"),
        (b'[ {"a":1} ', 10, "expected ',' or ']'"),
        (b'["abc\\', 1, "inside an element (in a string)"),
        (b'[{"k":"v', 1, "in a string"),
    ],
)
def test_truncation(data: bytes, offset: int, message: str) -> None:
    error = fails(data, TruncatedStream)
    assert error.offset == offset
    assert message in error.message


def test_feed_after_close_raises_usage_error() -> None:
    decoder = JSONArrayDecoder()
    decoder.feed(b"[]")
    decoder.close()
    with pytest.raises(UsageError):
        decoder.feed(b" ")
    with pytest.raises(UsageError):
        decoder.close()


def test_feed_rejects_text() -> None:
    with pytest.raises(UsageError):
        JSONArrayDecoder().feed("[]")  # type: ignore[arg-type]


# -- encoder --------------------------------------------------------------------------


def test_encode_styles() -> None:
    elements = ['{"a": 1}', "[2]"]
    assert encode(elements) == b'[{"a": 1}\n,\r\n[2]\n]'
    assert encode(elements, style="compact") == b'[{"a": 1},[2]]'
    assert encode(elements, style="pretty") == b'[\n  {"a": 1},\n  [2]\n]\n'
    assert encode(["1"], style="gemini") == b"[1\n]"


def test_encode_empty() -> None:
    assert encode([]) == b"[\n]"
    assert encode([], style="compact") == b"[]"
    assert encode([], style="pretty") == b"[]\n"


@pytest.mark.parametrize("element", ["", " 1", "1\n", "\t{}"])
def test_encode_rejects_elements_a_decoder_cannot_give_back(element: str) -> None:
    with pytest.raises(UsageError):
        encode(["1", element])


def test_encode_rejects_bad_style_and_unencodable_text() -> None:
    with pytest.raises(UsageError):
        encode(["1"], style="sse")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        encode(['"\udc80"'])


# -- real recorded streams ------------------------------------------------------------


@pytest.fixture(params=REAL_FILES)
def real(request: pytest.FixtureRequest) -> bytes:
    name: str = request.param
    return reference_stream(name)


def test_real_stream_decodes_the_same_under_every_feeding(real: bytes) -> None:
    elements = decode(real)
    rng = random.Random(real)
    for _ in range(20):
        cuts = rng.sample(range(1, len(real)), rng.randint(1, 60))
        assert feed_all(JSONArrayDecoder(), split_at(real, cuts)) == elements
    objects = [json.loads(e.text) for e in elements]
    assert objects == json.loads(real)
    for obj in objects:
        assert set(obj) == {"candidates", "usageMetadata", "modelVersion", "responseId"}
        assert obj["candidates"][0]["content"]["role"] == "model"
    assert "finishReason" in objects[-1]["candidates"][0]


def test_real_stream_reencodes_byte_for_byte_in_gemini_style(real: bytes) -> None:
    elements = decode(real)
    assert encode(e.text for e in elements) == real
    assert encode((e.text for e in elements), style="gemini") == real


def test_every_proper_prefix_of_a_real_stream_is_truncated(real: bytes) -> None:
    for end in range(len(real)):
        with pytest.raises(TruncatedStream):
            feed_all(JSONArrayDecoder(), [real[:end]])


# -- properties -----------------------------------------------------------------------


def _containers(children: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=10)
    | st.sampled_from(['"', "\\", '\\"', "]", "[", "{", "}", ",", ":"]),
    _containers,
    max_leaves=10,
)


def _stream(data: st.DataObject) -> tuple[list[str], bytes]:
    values = data.draw(st.lists(json_values, max_size=5))
    indent = data.draw(st.sampled_from([None, 0, 2, "\t"]))
    texts = [json.dumps(v, ensure_ascii=data.draw(st.booleans()), indent=indent) for v in values]
    return texts, encode(texts, style=data.draw(st.sampled_from(["gemini", "compact", "pretty"])))


@given(data=st.data())
def test_round_trip(data: st.DataObject) -> None:
    """JSON texts -> encode (random style) -> random chunks -> decode gives the texts back."""
    elements, raw = _stream(data)
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=12))
    decoded = feed_all(JSONArrayDecoder(), split_at(raw, cuts))
    assert [e.text for e in decoded] == elements
    assert [raw[e.offset :].startswith(e.text.encode()) for e in decoded] == [True] * len(decoded)


@given(data=st.data())
def test_every_prefix_is_truncated_or_complete(data: st.DataObject) -> None:
    elements, raw = _stream(data)
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=6))
    for end in range(len(raw)):
        prefix = raw[:end]
        try:
            decoded = feed_all(JSONArrayDecoder(), split_at(prefix, cuts))
        except TruncatedStream:
            continue
        # Only the layouts with whitespace after the closing ']' have complete prefixes.
        assert prefix.rstrip(b" \t\r\n").endswith(b"]")
        assert [e.text for e in decoded] == elements


_PIECES = [
    b"[",
    b"]",
    b"{",
    b"}",
    b'"',
    b"\\",
    b",",
    b":",
    b" ",
    b"\r\n",
    b"1",
    b"a",
    b"\xc3",
    b"\xa9",
    b"\xff",
    b"\xef\xbb\xbf",
]


#: Elements that are good on their own, so that good elements come before bad bytes.
_GOOD_ELEMENTS = [b"1", b"{}", b'{"a":[1,"]"]}', b'"\\""', '"\u00e9"'.encode(), b"[[]]", b"null"]
#: ``[`` + elements, each good or arbitrary, joined by commas; maybe a ``]`` and a tail.
_ELEMENTS = st.builds(
    lambda elements, close, tail: b"[" + b",\r\n".join(elements) + close + tail,
    st.lists(
        st.sampled_from(_GOOD_ELEMENTS) | st.lists(st.sampled_from(_PIECES), max_size=4).map(b"".join),
        max_size=6,
    ),
    st.sampled_from([b"", b"]", b"\n]"]),
    st.sampled_from([b"", b" ", b",", b"}", b"x", b"\xff"]),
)


@given(
    raw=st.binary(max_size=200)
    | st.lists(st.sampled_from(_PIECES), max_size=60).map(lambda pieces: b"[" + b"".join(pieces))
    | _ELEMENTS,
    data=st.data(),
)
def test_fuzz_only_conformance_errors_and_chunking_never_matters(raw: bytes, data: st.DataObject) -> None:
    """(elements delivered, error type, offset, message) is the same whole and in random chunks."""
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=12))
    whole = outcome([raw])
    assert outcome(split_at(raw, cuts)) == whole
    assert outcome([raw[i : i + 1] for i in range(len(raw))]) == whole
    elements, error = whole
    for text, offset in elements:
        assert raw[offset:].startswith(text.encode())
    if error is not None:
        assert error[0] in (FramingError, TruncatedStream)
