"""Tests for the NDJSON framing (``conformance.framing.ndjson``): decoder, encoder, real streams."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import TypeAlias

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.errors import ConformanceError, FramingError, UsageError
from conformance.framing.messages import NDJSONLine
from conformance.framing.ndjson import NDJSONDecoder, encode
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
REAL_FILES = ["ollama__docs-generate-ndjson.txt", "ollama__docs-midstream-error-ndjson.txt"]
REAL_FILES += ["cohere-v1__ndjson-stream-json.txt"]


def decode(data: bytes) -> list[NDJSONLine]:
    """Decode under every standard feeding; also check the offsets agree (equality ignores them)."""
    result = decode_every_way(NDJSONDecoder, data)
    offsets = [line.offset for line in result]
    for name, chunks in feedings(data):
        got = [line.offset for line in feed_all(NDJSONDecoder(), chunks)]
        assert got == offsets, f"feeding {name} gave offsets {got}, not {offsets}"
    return result


def texts(data: bytes) -> list[str]:
    return [line.text for line in decode(data)]


#: What an outcome shows of an error: its type, offset and message.
ErrorSeen: TypeAlias = tuple[type[ConformanceError], int | None, str] | None


def outcome(chunks: Sequence[bytes]) -> tuple[list[tuple[str, int]], ErrorSeen]:
    """The lines (text, offset) delivered before the first error, and that error's type, offset, message."""
    lines, error = decode_until_error(NDJSONDecoder, chunks)
    shown = None if error is None else (type(error), error.offset, error.message)
    return [(line.text, line.offset) for line in lines], shown


def fails(data: bytes, error: type[ConformanceError], lines: int = -1) -> ConformanceError:
    """``data`` raises exactly ``error`` under every standard feeding, always at the same offset,
    after the same lines (``lines`` of them, when given)."""
    expected = outcome([data])
    caught = decode_until_error(NDJSONDecoder, [data])[1]
    assert type(caught) is error, caught
    if lines >= 0:
        assert len(expected[0]) == lines, expected
    for name, chunks in feedings(data):
        assert outcome(chunks) == expected, f"feeding {name}"
    return caught


# -- line ends ------------------------------------------------------------------------


def test_lf_ends_lines_and_offsets_are_byte_offsets_of_line_starts() -> None:
    lines = decode(b'{"a":1}\n{"b":2}\n[]\n')
    assert [line.text for line in lines] == ['{"a":1}', '{"b":2}', "[]"]
    assert [line.offset for line in lines] == [0, 8, 16]


def test_crlf_line_end_is_stripped() -> None:
    lines = decode(b'{"a":1}\r\n{"b":2}\r\n')
    assert [line.text for line in lines] == ['{"a":1}', '{"b":2}']
    assert [line.offset for line in lines] == [0, 9]


def test_cr_and_lf_in_different_feeds_are_one_line_end() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a":1}\r') == []
    assert decoder.feed(b'\n{"b":2}\r') == [NDJSONLine(text='{"a":1}')]
    assert decoder.feed(b"\n") == [NDJSONLine(text='{"b":2}')]
    assert decoder.close() == []


def test_only_the_cr_right_before_lf_is_stripped() -> None:
    assert texts(b"{}\r\r\n") == ["{}\r"]


def test_bare_cr_does_not_end_a_line() -> None:
    assert texts(b'{"a":1}\r{"b":2}\n') == ['{"a":1}\r{"b":2}']


def test_line_is_reported_when_its_lf_arrives() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a":') == []
    assert decoder.feed(b"1}") == []
    assert decoder.feed(b"\n{") == [NDJSONLine(text='{"a":1}')]


# -- blank lines and whitespace -------------------------------------------------------


def test_blank_lines_are_skipped() -> None:
    lines = decode(b"\n\n{}\n\r\n\n[]\n\n")
    assert [line.text for line in lines] == ["{}", "[]"]
    assert [line.offset for line in lines] == [2, 8]


def test_whitespace_only_lines_are_skipped() -> None:
    lines = decode(b" \t \n\t\r\n \r \n{}\n\t\n")
    assert [(line.text, line.offset) for line in lines] == [("{}", 11)]


def test_other_whitespace_inside_a_line_is_kept() -> None:
    assert texts(b' {"a": 1}\t\n') == [' {"a": 1}\t']


def test_form_feed_is_not_blank() -> None:
    assert texts(b"\x0c\n{}\n") == ["\x0c", "{}"]


def test_utf8_bom_stays_in_the_first_line() -> None:
    assert texts(b"\xef\xbb\xbf{}\n{}\n") == ["\ufeff{}", "{}"]


def test_empty_stream_has_no_lines() -> None:
    assert decode(b"") == []


def test_blank_only_stream_has_no_lines() -> None:
    assert decode(b"\n \r\n\t") == []


# -- the end of the stream ------------------------------------------------------------


def test_final_line_without_newline_is_reported_at_close() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{}\n{"done":true}') == [NDJSONLine(text="{}")]
    last = decoder.close()
    assert last == [NDJSONLine(text='{"done":true}')]
    assert last[0].offset == 3
    assert texts(b'{}\n{"done":true}') == ["{}", '{"done":true}']


def test_final_cr_without_lf_is_dropped_at_close() -> None:
    assert texts(b"{}\r\n[]\r") == ["{}", "[]"]


def test_blank_tail_without_newline_is_skipped_at_close() -> None:
    assert texts(b"{}\n \t") == ["{}"]


def test_cut_line_is_reported_as_is() -> None:
    """NDJSON cannot see truncation: a cut JSON text is a line like any other."""
    assert texts(b'{"a":1}\n{"b":') == ['{"a":1}', '{"b":']


# -- UTF-8 ----------------------------------------------------------------------------


def test_multibyte_characters_split_across_feeds() -> None:
    data = '{"t":"é€😀"}\n'.encode()
    assert texts(data) == ['{"t":"é€😀"}']
    decoder = NDJSONDecoder()
    emoji = data.index("😀".encode())
    assert decoder.feed(data[: emoji + 1]) == []
    assert decoder.feed(data[emoji + 1 :]) == [NDJSONLine(text='{"t":"é€😀"}')]


def test_offsets_count_bytes_not_characters() -> None:
    lines = decode('"é"\n"€"\n{}\n'.encode())
    assert [line.offset for line in lines] == [0, 5, 11]


def test_invalid_utf8_raises_framing_error_at_the_bad_byte() -> None:
    error = fails(b'{}\n{"a":"\xff"}\n', FramingError)
    assert error.offset == 9
    assert "invalid UTF-8" in error.message


def test_invalid_utf8_in_the_unterminated_last_line_is_found_at_close() -> None:
    error = fails(b'{}\n{"a":"\xc3(', FramingError)
    assert error.offset == 9


def test_truncated_multibyte_character_at_end_of_stream_is_invalid() -> None:
    error = fails('{}\n"€'.encode()[:-1], FramingError)
    assert error.offset == 4


def test_first_bad_line_wins() -> None:
    assert fails(b'{}\n"\x80"\n"\xff"\n', FramingError).offset == 4


# -- lines before a malformed spot ----------------------------------------------------


@pytest.mark.parametrize(
    ("data", "good", "offset"),
    [
        (b'{"a":1}\n{"b":2}\n"\xff"\n{}\n', ['{"a":1}', '{"b":2}'], 17),
        (b'{"a":1}\r\n\r\n \n[]\r\n"\xc3("\r\n[]\r\n', ['{"a":1}', "[]"], 18),
        (b"{}\n[]\n1\n\xed\xa0\x80\n", ["{}", "[]", "1"], 8),  # a UTF-8-encoded surrogate
        (b'{}\n[]\n"\xc3(', ["{}", "[]"], 7),  # the bad line is the last, unterminated one
        (b'"\xff"\n{}\n', [], 1),
    ],
)
def test_lines_before_a_malformed_spot_are_delivered_under_every_feeding(
    data: bytes, good: list[str], offset: int
) -> None:
    """N good lines then a bad byte: exactly those N lines, then the error, whatever the chunking."""
    error = fails(data, FramingError, lines=len(good))
    assert error.offset == offset
    lines, _ = decode_until_error(NDJSONDecoder, [data])
    assert [line.text for line in lines] == good


def test_error_after_lines_in_one_feed_is_raised_by_the_next_call() -> None:
    data = b'{}\n[]\n"\xff"\n{}\n'
    decoder = NDJSONDecoder()
    assert decoder.feed(data) == [NDJSONLine(text="{}"), NDJSONLine(text="[]")]
    with pytest.raises(FramingError) as info:
        decoder.feed(b"{}\n")  # not decoded: the held error comes first
    assert info.value.offset == 7
    assert "invalid UTF-8" in info.value.message
    with pytest.raises(UsageError, match="already failed"):
        decoder.close()


def test_close_raises_the_held_error() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{}\n"\xff"\n') == [NDJSONLine(text="{}")]
    with pytest.raises(FramingError) as info:
        decoder.close()
    assert info.value.offset == 4
    with pytest.raises(UsageError, match="already failed"):
        decoder.feed(b"")


def test_a_feed_that_completes_no_line_raises_at_once() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b"{}\n") == [NDJSONLine(text="{}")]
    with pytest.raises(FramingError) as info:
        decoder.feed(b'"\xff"\n[]\n')  # the later good line is never reported
    assert info.value.offset == 4


# -- misuse -----------------------------------------------------------------------------


def test_feed_after_close_raises_usage_error() -> None:
    decoder = NDJSONDecoder()
    decoder.feed(b"{}\n")
    decoder.close()
    with pytest.raises(UsageError):
        decoder.feed(b"{}\n")
    with pytest.raises(UsageError):
        decoder.close()


def test_decoder_that_failed_refuses_more_input() -> None:
    decoder = NDJSONDecoder()
    with pytest.raises(FramingError):
        decoder.feed(b"\xff\n")
    with pytest.raises(UsageError, match="already failed"):
        decoder.feed(b"{}\n")


def test_feed_rejects_text() -> None:
    with pytest.raises(UsageError):
        NDJSONDecoder().feed("{}\n")  # type: ignore[arg-type]


def test_feed_accepts_bytearray_and_memoryview() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(bytearray(b"{}\n")) == [NDJSONLine(text="{}")]
    assert decoder.feed(memoryview(b"[]\n")) == [NDJSONLine(text="[]")]


def test_huge_line_in_tiny_feeds() -> None:
    line = b'{"a":"' + b"x" * 100_000 + b'"}'
    chunks = [line[i : i + 7] for i in range(0, len(line), 7)] + [b"\n{}\n"]
    assert feed_all(NDJSONDecoder(), chunks) == [NDJSONLine(text=line.decode()), NDJSONLine(text="{}")]


# -- encoder --------------------------------------------------------------------------


def test_encode_defaults() -> None:
    assert encode(['{"a":1}', "[]"]) == b'{"a":1}\n[]\n'


def test_encode_options() -> None:
    assert encode(["{}", "[]"], eol="\r\n") == b"{}\r\n[]\r\n"
    assert encode(["{}", "[]"], blank_lines=2) == b"{}\n\n\n[]\n"
    assert encode(["{}", "[]"], final_newline=False) == b"{}\n[]"
    assert encode(["é"]) == "é\n".encode()
    assert encode([]) == b""


@pytest.mark.parametrize("line", ["{}\n", "a\rb", "\r\n", "", " ", "\t "])
def test_encode_rejects_lines_a_decoder_cannot_give_back(line: str) -> None:
    with pytest.raises(UsageError):
        encode(["{}", line])


def test_encode_rejects_bad_options_and_unencodable_text() -> None:
    with pytest.raises(UsageError):
        encode(["{}"], eol="\r")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        encode(["{}"], blank_lines=-1)
    with pytest.raises(UsageError):
        encode(['"\ud800"'])


# -- real recorded streams ------------------------------------------------------------


@pytest.fixture(params=REAL_FILES)
def real(request: pytest.FixtureRequest) -> tuple[str, bytes]:
    name: str = request.param
    return name, reference_stream(name)


def test_real_stream_decodes_the_same_under_every_feeding(real: tuple[str, bytes]) -> None:
    _, data = real
    lines = decode(data)
    assert len(lines) == data.count(b"\n")
    rng = random.Random(data)
    for _ in range(20):
        cuts = rng.sample(range(1, len(data)), rng.randint(1, 40))
        assert feed_all(NDJSONDecoder(), split_at(data, cuts)) == lines
    for line in lines:
        json.loads(line.text)
    assert encode(line.text for line in lines) == data


def test_ollama_generate_stream_ends_with_done_true() -> None:
    lines = decode(reference_stream("ollama__docs-generate-ndjson.txt"))
    objects = [json.loads(line.text) for line in lines]
    assert objects[-1]["done"] is True
    assert all(obj["done"] is False for obj in objects[:-1])


def test_ollama_error_stream_ends_with_a_bare_error_object() -> None:
    lines = decode(reference_stream("ollama__docs-midstream-error-ndjson.txt"))
    last = json.loads(lines[-1].text)
    assert list(last) == ["error"]
    assert isinstance(last["error"], str)
    assert all("error" not in json.loads(line.text) for line in lines[:-1])


def test_cohere_v1_stream_runs_from_stream_start_to_stream_end() -> None:
    lines = decode(reference_stream("cohere-v1__ndjson-stream-json.txt"))
    objects = [json.loads(line.text) for line in lines]
    assert objects[0]["event_type"] == "stream-start"
    assert objects[-1]["event_type"] == "stream-end"
    assert objects[-1]["is_finished"] is True


# -- properties -----------------------------------------------------------------------


def _containers(children: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    _containers,
    max_leaves=10,
)


@given(values=st.lists(json_values, max_size=6), data=st.data())
def test_round_trip(values: list[object], data: st.DataObject) -> None:
    """JSON texts -> encode (random options) -> random chunks -> decode gives the texts back."""
    separators = data.draw(st.sampled_from([(",", ":"), (", ", ": ")]))
    lines = [json.dumps(v, ensure_ascii=data.draw(st.booleans()), separators=separators) for v in values]
    raw = encode(
        lines,
        eol=data.draw(st.sampled_from(["\n", "\r\n"])),
        blank_lines=data.draw(st.integers(0, 2)),
        final_newline=data.draw(st.booleans()),
    )
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=12))
    decoded = feed_all(NDJSONDecoder(), split_at(raw, cuts))
    assert [line.text for line in decoded] == lines
    assert [json.loads(line.text) for line in decoded] == [json.loads(line) for line in lines]


_PIECES = [b"\n", b"\r", b" ", b"\t", b"{}", b"\xff", b"\xc3", b"\xa9", b"a"]
#: Lines that are good (or blank) on their own, so that good lines come before bad ones.
_GOOD_LINES = [b"{}", b'{"a":1}', b"[]", "\u00e9\u20ac".encode(), b"", b" \t", b"\r", b"x\ry"]
#: Streams made of lines, each good or arbitrary: N good lines, then maybe a bad one.
_LINED = st.lists(
    st.sampled_from(_GOOD_LINES) | st.lists(st.sampled_from(_PIECES[1:]), max_size=6).map(b"".join),
    max_size=8,
).map(b"\n".join)


@given(
    raw=st.binary(max_size=200) | st.lists(st.sampled_from(_PIECES)).map(b"".join) | _LINED,
    data=st.data(),
)
def test_fuzz_only_conformance_errors_and_chunking_never_matters(raw: bytes, data: st.DataObject) -> None:
    """(lines delivered, error type, offset, message) is the same whole and in random chunks."""
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=12))
    whole = outcome([raw])
    assert outcome(split_at(raw, cuts)) == whole
    assert outcome([raw[i : i + 1] for i in range(len(raw))]) == whole
    lines, error = whole
    for text, offset in lines:
        assert "\n" not in text
        assert text.strip(" \t\r")
        assert raw[offset:].startswith(text.encode())
    if error is not None:
        assert error[0] is FramingError
