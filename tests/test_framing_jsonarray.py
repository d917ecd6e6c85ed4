"""Tests for the streamed JSON array framing (``conformance.framing.jsonarray``)."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.errors import ConformanceError, FramingError, TruncatedStream, UsageError
from conformance.framing.jsonarray import JSONArrayDecoder, encode
from conformance.framing.messages import JSONArrayElement
from tests.helpers import REFERENCE_STREAMS, decode_every_way, feed_all, feedings, reference_stream, split_at

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


def fails(data: bytes, error: type[ConformanceError]) -> ConformanceError:
    """``data`` raises exactly ``error`` under every standard feeding, always at the same offset."""
    seen = []
    for name, chunks in feedings(data):
        with pytest.raises(error) as info:
            feed_all(JSONArrayDecoder(), chunks)
        assert type(info.value) is error, name
        seen.append((info.value.offset, info.value.message))
    assert len(set(seen)) == 1, f"different errors under different feedings: {set(seen)}"
    return info.value


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


def _outcome(chunks: list[bytes]) -> object:
    """The decoded elements with offsets, or the error's type and offset."""
    try:
        return [(e.text, e.offset) for e in feed_all(JSONArrayDecoder(), chunks)]
    except ConformanceError as exc:
        return (type(exc), exc.offset)


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


@given(
    raw=st.binary(max_size=200)
    | st.lists(st.sampled_from(_PIECES), max_size=60).map(lambda pieces: b"[" + b"".join(pieces)),
    data=st.data(),
)
def test_fuzz_only_conformance_errors_and_chunking_never_matters(raw: bytes, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=12))
    whole = _outcome([raw])
    assert _outcome(split_at(raw, cuts)) == whole
    if isinstance(whole, list):
        for text, offset in whole:
            assert raw[offset:].startswith(text.encode())
