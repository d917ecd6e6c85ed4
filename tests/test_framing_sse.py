"""Tests for the SSE framing: the WHATWG decoder, its EOF policies, and the encoder.

Every decoder input goes through ``decode_every_way`` (whole, bytewise, every split
point) and, since message equality ignores ``offset``, the offsets are compared across
the same feedings too.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.errors import TruncatedStream, UsageError
from conformance.framing.messages import SSEComment, SSEEvent, SSEStrayLine
from conformance.framing.sse import SSEDecoder, encode, encode_comment, encode_event
from tests.helpers import REFERENCE_STREAMS, decode_every_way, feed_all, feedings, reference_stream, split_at

STREAMS = REFERENCE_STREAMS
BOM = b"\xef\xbb\xbf"


def _with_offsets(messages: list[Any]) -> list[tuple[Any, int]]:
    return [(m, m.offset) for m in messages]


def decode(data: bytes, **options: Any) -> list[Any]:
    """Decode under every standard feeding; check messages and offsets agree."""
    result = decode_every_way(lambda: SSEDecoder(**options), data)
    for name, chunks in feedings(data):
        got = feed_all(SSEDecoder(**options), chunks)
        assert _with_offsets(got) == _with_offsets(result), f"feeding {name}: offsets differ"
    return result


def ev(data: str, event: str | None = None, id: str | None = None, retry: int | None = None) -> SSEEvent:
    return SSEEvent(data=data, event=event, id=id, retry=retry)


# -- line ends ---------------------------------------------------------------------------


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_each_line_end_separates_lines_and_events(eol: bytes) -> None:
    body = eol.join([b"data: a", b"data: b", b"", b"event: e", b"data: c", b"", b""])
    assert decode(body) == [ev("a\nb"), ev("c", "e")]


def test_mixed_line_ends_in_one_stream() -> None:
    body = b"data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r"
    assert decode(body) == [ev("a\nb\nc"), ev("d")]


def test_cr_then_lf_in_the_next_feed_is_one_line_break() -> None:
    # Two breaks would make a blank line and dispatch "a" alone.
    chunks = [b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]
    got = feed_all(SSEDecoder(), chunks)
    assert got == [ev("a\nb")]
    assert got[0].offset == 0
    assert decode(b"".join(chunks)) == got


def test_lone_cr_at_the_end_of_a_feed_ends_the_line_at_once() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r\r") == [ev("a")]  # no need to wait for the next byte
    assert decoder.feed(b"\ndata: b\n\n") == [ev("b")]  # that LF completes the CRLF


# -- byte order mark ---------------------------------------------------------------------


def test_bom_at_stream_start_is_stripped_and_first_event_kept() -> None:
    got = decode(BOM + b"data: x\n\ndata: y\n\n")
    assert got == [ev("x"), ev("y")]
    assert [m.offset for m in got] == [3, 12]


@pytest.mark.parametrize("cut", [1, 2, 3])
def test_bom_split_across_feeds_is_stripped(cut: int) -> None:
    body = BOM + b"data: x\n\n"
    assert feed_all(SSEDecoder(), [body[:cut], body[cut:]]) == [ev("x")]
    assert feed_all(SSEDecoder(), [b"\xef", b"\xbb", b"\xbfdata: x\n\n"]) == [ev("x")]


def test_second_bom_is_not_stripped() -> None:
    body = BOM + BOM + b"data: x\n\ndata: y\n\n"
    assert decode(body) == [ev("y")]  # the first line's field name is "\ufeffdata"
    assert decode(body, keep_stray_lines=True) == [SSEStrayLine(text="\ufeffdata: x"), ev("y")]


def test_bom_later_in_the_stream_is_content() -> None:
    assert decode(b"data: \xef\xbb\xbfx\n\n") == [ev("\ufeffx")]


def test_bom_prefix_that_is_not_a_bom_is_kept() -> None:
    assert decode(b"\xef\xbbdata: x\n\ndata: y\n\n", keep_stray_lines=True) == [
        SSEStrayLine(text="\ufffddata: x"),
        ev("y"),
    ]


# -- comments and fields -----------------------------------------------------------------


def test_comments_are_ignored_by_default() -> None:
    assert decode(b": keep-alive\n\n:x\ndata: a\n: mid-event\ndata: b\n\n") == [ev("a\nb")]


def test_comments_are_kept_with_their_exact_text() -> None:
    body = b": keep-alive\n:no-space\n:  two spaces\n:\ndata: a\n\n"
    assert decode(body, keep_comments=True) == [
        SSEComment(text=" keep-alive"),
        SSEComment(text="no-space"),
        SSEComment(text="  two spaces"),
        SSEComment(text=""),
        ev("a"),
    ]


def test_multiline_data_is_joined_with_lf() -> None:
    assert decode(b'data: {\ndata:   "a": 1\ndata: }\n\n') == [ev('{\n  "a": 1\n}')]


def test_event_id_and_retry_fields() -> None:
    body = b"event: delta\nid: 42\nretry: 1500\ndata: x\n\n"
    assert decode(body) == [ev("x", "delta", "42", 1500)]


def test_id_persists_and_retry_and_event_do_not() -> None:
    body = b"id: 1\nevent: a\nretry: 9\ndata: x\n\ndata: y\n\nid:\ndata: z\n\n"
    assert decode(body) == [ev("x", "a", "1", 9), ev("y", id="1"), ev("z", id="")]


def test_id_containing_nul_is_ignored() -> None:
    assert decode(b"id: 7\ndata: a\n\nid: 8\x009\ndata: b\n\n") == [ev("a", id="7"), ev("b", id="7")]


@pytest.mark.parametrize("value", [b"1a", b"-1", b"", b"  5", b"1.5", "١٢".encode(), b"5 "])
def test_retry_that_is_not_ascii_digits_is_ignored(value: bytes) -> None:
    assert decode(b"retry: 3\nretry:" + value + b"\ndata: x\n\n") == [ev("x", retry=3)]


def test_retry_with_leading_zeros() -> None:
    assert decode(b"retry: 007\ndata: x\n\n") == [ev("x", retry=7)]


def test_no_space_after_colon() -> None:
    assert decode(b"event:e\nid:1\nretry:2\ndata:x\n\n") == [ev("x", "e", "1", 2)]


def test_only_one_space_after_colon_is_stripped() -> None:
    assert decode(b"event:  e\ndata:  x\ndata:\t y\n\n") == [ev(" x\n\t y", " e")]


def test_value_keeps_further_colons() -> None:
    assert decode(b"data: a: b:c\n\n") == [ev("a: b:c")]


def test_field_without_colon_has_an_empty_value() -> None:
    assert decode(b"data\ndata\n\nevent\ndata: x\n\n") == [ev("\n"), ev("x")]


def test_empty_event_name_means_no_name() -> None:
    assert decode(b"event: \ndata: x\n\nevent:\r\ndata: y\r\n\r\n") == [ev("x"), ev("y")]


def test_event_without_data_is_not_dispatched_and_resets_buffers() -> None:
    body = b"event: ping\nretry: 5\n\ndata: x\n\n"
    assert decode(body) == [ev("x")]  # neither "ping" nor retry 5 leaks into it


def test_empty_data_line_dispatches_an_empty_event() -> None:
    assert decode(b"data:\n\ndata: \n\n") == [ev(""), ev("")]


def test_unknown_fields_are_ignored_or_reported_as_stray_lines() -> None:
    # Gemini appends a bare pretty-printed JSON error without ``data:``.
    body = b'data: {"a":1}\r\n\r\n{\n  "error": {\n    "code": 503\n  }\n}\n'
    assert decode(body) == [ev('{"a":1}')]
    stray = decode(body, keep_stray_lines=True)
    assert stray[1:] == [
        SSEStrayLine(text="{"),
        SSEStrayLine(text='  "error": {'),
        SSEStrayLine(text='    "code": 503'),
        SSEStrayLine(text="  }"),
        SSEStrayLine(text="}"),
    ]
    assert [m.offset for m in stray] == [0, 17, 19, 32, 48, 52]
    error = json.loads("\n".join(m.text for m in stray[1:]))
    assert error == {"error": {"code": 503}}


def test_stray_line_inside_an_event_does_not_move_its_offset() -> None:
    got = decode(b"foo: 1\ndata: x\n\n", keep_stray_lines=True)
    assert _with_offsets(got) == [(SSEStrayLine(text="foo: 1"), 0), (ev("x"), 7)]


# -- bytes and text ----------------------------------------------------------------------


def test_invalid_utf8_is_replaced_never_raised() -> None:
    body = b"data: a\xffb\xc3\n\xe2\x82: c\n\n"
    assert decode(body, keep_comments=True, keep_stray_lines=True) == [
        SSEStrayLine(text="\ufffd: c"),
        ev("a\ufffdb\ufffd"),
    ]
    assert decode(b"\xe2\x82\n\n", keep_stray_lines=True) == [SSEStrayLine(text="\ufffd")]


def test_multibyte_character_split_across_feeds() -> None:
    body = "data: °F — 🙂\n\n".encode()
    for cut in range(len(body)):
        assert feed_all(SSEDecoder(), [body[:cut], body[cut:]]) == [ev("°F — 🙂")]
    assert decode(body) == [ev("°F — 🙂")]


def test_nul_and_other_controls_are_data() -> None:
    assert decode(b"data: a\x00b\x0bc\x0cd\x85\n\n") == [ev("a\x00b\x0bc\x0cd\ufffd")]


# -- offsets -----------------------------------------------------------------------------


def test_offsets_point_at_the_first_line_of_each_message() -> None:
    body = BOM + b": hi\r\n\r\nid: 1\r\ndata: a\r\n\r\n\n\nevent: e\rdata: b\r\rdata: c\n\n"
    got = decode(body, keep_comments=True)
    assert got == [SSEComment(text=" hi"), ev("a", id="1"), ev("b", "e", "1"), ev("c", id="1")]
    offsets = [m.offset for m in got]
    assert offsets == [3, 11, 31, 49]
    assert [body[o : o + 2] for o in offsets] == [b": ", b"id", b"ev", b"da"]


def test_big_chunks_are_decoded_like_small_ones() -> None:
    rng = random.Random(5)
    parts = []
    for i in range(10_000):  # first a run of one-line events (bulk path), then a mix
        kind = rng.randrange(6) if i >= 4000 else 3
        if kind == 0:
            parts.append(f"event: e{i}\ndata: {i}\n\n".encode())
        elif kind == 1:
            parts.append(f": ping {i}\r\n\r\n".encode())
        elif kind == 2:
            parts.append(f"data: {i}\ndata: é\n\n\n".encode())
        else:
            parts.append(f'data: {{"n": {i}, "t": "日本"}}\n\n'.encode())
    body = b"".join(parts)
    assert len(body) > 3 * 65536
    whole = feed_all(SSEDecoder(keep_comments=True), [body])
    assert len(whole) == 10_000
    for size in (1, 7, 4096, 65536, 100_000):
        chunks = [body[i : i + size] for i in range(0, len(body), size)]
        got = feed_all(SSEDecoder(keep_comments=True), chunks)
        assert _with_offsets(got) == _with_offsets(whole), size


# -- end of input ------------------------------------------------------------------------

PENDING_LINE = b"data: a\n\nid: 4\ndata: b\ndata: c"
PENDING_EVENT = b"data: a\n\nid: 4\ndata: b\ndata: c\n"


@pytest.mark.parametrize("body", [PENDING_LINE, PENDING_EVENT], ids=["partial-line", "no-blank-line"])
def test_eof_discard_drops_the_pending_event(body: bytes) -> None:
    assert decode(body) == [ev("a")]
    assert decode(body, eof="discard") == [ev("a")]


@pytest.mark.parametrize("body", [PENDING_LINE, PENDING_EVENT], ids=["partial-line", "no-blank-line"])
def test_eof_dispatch_flushes_the_pending_event(body: bytes) -> None:
    got = decode(body, eof="dispatch")
    assert got == [ev("a"), ev("b\nc", id="4")]
    assert got[1].offset == 9


@pytest.mark.parametrize("body", [PENDING_LINE, PENDING_EVENT], ids=["partial-line", "no-blank-line"])
def test_eof_raise_reports_where_the_pending_event_starts(body: bytes) -> None:
    for _name, chunks in feedings(body):
        decoder = SSEDecoder(eof="raise")
        got = [m for chunk in chunks for m in decoder.feed(chunk)]
        assert got == [ev("a")]
        with pytest.raises(TruncatedStream) as info:
            decoder.close()
        assert info.value.offset == 9


def test_eof_raise_on_a_partial_line_alone_gives_its_offset() -> None:
    decoder = SSEDecoder(eof="raise")
    assert decoder.feed(b"data: a\n\n: keep-al") == [ev("a")]
    with pytest.raises(TruncatedStream) as info:
        decoder.close()
    assert info.value.offset == 9


@pytest.mark.parametrize("eof", ["discard", "dispatch", "raise"])
def test_eof_without_pending_data_is_quiet_under_every_policy(eof: Any) -> None:
    # A pending event type or id without data would not be dispatched anyway.
    assert decode(b"data: a\n\nevent: x\nid: 2\n", eof=eof) == [ev("a")]
    assert decode(b"", eof=eof) == []


def test_eof_dispatch_treats_the_partial_line_as_a_line() -> None:
    assert decode(b": c", eof="dispatch", keep_comments=True) == [SSEComment(text=" c")]
    assert decode(b"data: a\n\nevent: x\ndata", eof="dispatch") == [ev("a"), ev("", "x")]
    assert decode(b"data: a\r", eof="dispatch") == [ev("a")]


def test_eof_dispatch_of_a_lone_partial_bom() -> None:
    assert decode(b"\xef\xbb", eof="dispatch", keep_stray_lines=True) == [SSEStrayLine(text="\ufffd")]
    with pytest.raises(TruncatedStream):
        feed_all(SSEDecoder(eof="raise"), [b"\xef"])


# -- misuse ------------------------------------------------------------------------------


def test_feed_after_close_raises_usage_error() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"") == []
    assert decoder.feed(memoryview(b"data: a\n\n")) == [ev("a")]
    decoder.close()
    with pytest.raises(UsageError):
        decoder.feed(b"data: b\n\n")
    with pytest.raises(UsageError):
        decoder.close()


def test_bad_options_and_inputs_raise_usage_error() -> None:
    with pytest.raises(UsageError):
        SSEDecoder(eof="flush")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        SSEDecoder().feed("data: x\n\n")  # type: ignore[arg-type]
    assert SSEDecoder().feed(bytearray(b"data: x\n\n")) == [ev("x")]


def test_fast_built_events_are_ordinary_frozen_events() -> None:
    got = feed_all(SSEDecoder(), [b"id: 3\ndata: a\n\ndata: b\n\n"])
    for built, plain in zip(got, [ev("a", id="3"), ev("b", id="3")], strict=True):
        assert type(built) is SSEEvent
        assert built == plain
        assert repr(built) == repr(SSEEvent(data=plain.data, id=plain.id, offset=built.offset))
        with pytest.raises(AttributeError):
            built.data = "changed"  # type: ignore[misc]


# -- encoder -----------------------------------------------------------------------------


def test_encode_default_layout() -> None:
    items: list[SSEEvent | SSEComment] = [SSEComment(text=" hi"), ev("a\nb", "e", "1", 10), ev("c", id="1")]
    assert encode(items) == b": hi\nevent: e\nid: 1\nretry: 10\ndata: a\ndata: b\n\ndata: c\n\n"


def test_encode_knobs() -> None:
    items: list[SSEEvent | SSEComment] = [ev("a"), SSEComment(text="k"), ev("b")]
    assert encode(items, eol="\r\n") == b"data: a\r\n\r\n:k\r\ndata: b\r\n\r\n"
    assert encode(items, eol="\r", space_after_colon=False) == b"data:a\r\r:k\rdata:b\r\r"
    assert encode(items, bom=True).startswith(BOM + b"data: a\n")
    assert encode(items, blank_lines=3) == b"data: a\n\n\n\n:k\ndata: b\n\n\n\n"
    assert encode(items, comment_blank_lines=1) == b"data: a\n\n:k\n\ndata: b\n\n"
    assert encode(items, final_blank_line=False) == b"data: a\n\n:k\ndata: b\n"
    assert encode(items, final_blank_line=False, final_eol=False) == b"data: a\n\n:k\ndata: b"
    assert encode([]) == b""


def test_encode_keeps_a_leading_space_without_space_after_colon() -> None:
    body = encode([ev(" x\ny", " e")], space_after_colon=False)
    assert body == b"event:  e\ndata:  x\ndata:y\n\n"
    assert decode(body) == [ev(" x\ny", " e")]


def test_encode_sends_id_only_when_it_changes() -> None:
    body = encode([ev("a", id="1"), ev("b", id="1"), ev("c", id="2"), ev("d", id="")])
    assert body == b"id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\nid: \ndata: d\n\n"


def test_encode_cannot_unset_an_id() -> None:
    with pytest.raises(UsageError, match="cannot unset the id"):
        encode([ev("a", id="1"), ev("b")])


@pytest.mark.parametrize(
    "item",
    [
        ev("a", event="x\ny"),
        ev("a", event="x\r"),
        ev("a", event=""),
        ev("a", id="1\n"),
        ev("a", id="1\x002"),
        ev("a\rb"),
        ev("a", retry=-1),
        ev("\ud800"),
        SSEComment(text="a\nb"),
        SSEComment(text="a\r"),
        SSEStrayLine(text="data: x"),
        SSEStrayLine(text=":comment"),
        SSEStrayLine(text=""),
        SSEStrayLine(text="a\nb"),
        SSEStrayLine(text="\ufeffx"),
    ],
)
def test_encode_rejects_what_cannot_be_represented(item: Any) -> None:
    with pytest.raises(UsageError):
        encode([item])


def test_encode_rejects_bad_knobs() -> None:
    bad: list[dict[str, Any]] = [
        {"eol": "\n\r"},
        {"blank_lines": 0},
        {"comment_blank_lines": -1},
        {"final_eol": False},
    ]
    for kwargs in bad:
        with pytest.raises(UsageError):
            encode([ev("a")], **kwargs)


def test_encode_event_and_comment() -> None:
    assert encode_event(ev("a", "e", "1")) == b"event: e\nid: 1\ndata: a\n\n"
    assert encode_event(ev("a", id="1"), previous_id="1", eol="\r\n") == b"data: a\r\n\r\n"
    assert encode_comment(" keep-alive") == b": keep-alive\n"
    with pytest.raises(UsageError):
        encode_comment("a\nb")
    with pytest.raises(UsageError):
        encode_event(ev("a"), previous_id="1")


def test_encode_stray_lines_for_gemini_style_errors() -> None:
    body = encode([ev("{}"), SSEStrayLine(text="{"), SSEStrayLine(text="}")], eol="\r\n")
    assert body == b"data: {}\r\n\r\n{\r\n}\r\n"
    assert decode(body, keep_stray_lines=True) == [ev("{}"), SSEStrayLine(text="{"), SSEStrayLine(text="}")]


# -- properties --------------------------------------------------------------------------

_TEXT = st.characters(codec="utf-8")  # every plane, no surrogates
_LINE_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)
_IDS = st.one_of(st.none(), st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=6))
_EVENTS = st.builds(
    SSEEvent,
    data=st.text(st.characters(codec="utf-8", exclude_characters="\r"), max_size=20),
    event=st.one_of(st.none(), _LINE_TEXT.filter(bool)),
    id=_IDS,
    retry=st.one_of(st.none(), st.integers(0, 10**12)),
)
_STRAY = _LINE_TEXT.filter(
    lambda t: (
        bool(t) and t[0] not in ":\ufeff" and t.partition(":")[0] not in {"data", "event", "id", "retry"}
    )
)
_ITEMS = st.lists(
    st.one_of(_EVENTS, st.builds(SSEComment, text=_LINE_TEXT), st.builds(SSEStrayLine, text=_STRAY)),
    max_size=8,
)


def _persisting_ids(items: list[Any]) -> list[Any]:
    """Make ids follow the decoder's rule: once set, an id never goes back to None."""
    out, last = [], None
    for item in items:
        fixed = item
        if isinstance(item, SSEEvent):
            if item.id is None and last is not None:
                fixed = SSEEvent(data=item.data, event=item.event, id=last, retry=item.retry)
            last = fixed.id
        out.append(fixed)
    return out


@given(items=_ITEMS, knobs=st.data())
def test_encode_decode_round_trip(items: list[Any], knobs: st.DataObject) -> None:
    items = _persisting_ids(items)
    final_blank_line = knobs.draw(st.booleans(), "final_blank_line")
    body = encode(
        items,
        eol=knobs.draw(st.sampled_from(["\n", "\r\n", "\r"]), "eol"),
        space_after_colon=knobs.draw(st.booleans(), "space_after_colon"),
        bom=knobs.draw(st.booleans(), "bom"),
        blank_lines=knobs.draw(st.integers(1, 3), "blank_lines"),
        comment_blank_lines=knobs.draw(st.integers(0, 2), "comment_blank_lines"),
        final_blank_line=final_blank_line,
        final_eol=final_blank_line or knobs.draw(st.booleans(), "final_eol"),
    )
    cuts = knobs.draw(st.lists(st.integers(0, len(body)), max_size=6), "cuts")
    options: dict[str, Any] = {"eof": "dispatch", "keep_comments": True, "keep_stray_lines": True}
    whole = feed_all(SSEDecoder(**options), [body])
    got = feed_all(SSEDecoder(**options), split_at(body, cuts))
    assert got == items
    assert _with_offsets(got) == _with_offsets(whole)
    for m in got:  # each offset is where the message's first line starts
        head = body[m.offset :]
        if isinstance(m, SSEEvent):
            assert head.startswith((b"event:", b"id:", b"retry:", b"data:"))
        elif isinstance(m, SSEComment):
            assert head.startswith(b":" + m.text.encode())
        else:
            assert head.startswith(m.text.encode())
    if final_blank_line:
        events = [m for m in items if isinstance(m, SSEEvent)]
        assert feed_all(SSEDecoder(eof="raise"), split_at(body, cuts)) == events


_SSE_TOKENS = st.sampled_from(
    [
        *(b"data:", b"data: ", b"event:", b"id:", b"retry:", b"7", b"x"),
        *(b" ", b"\r", b"\n", b"\r\n", b":", BOM, b"\x00", b"\xff", b"\xc3", "é".encode(), "🙂".encode()),
    ]
)
_FUZZ = st.one_of(st.binary(max_size=200), st.lists(_SSE_TOKENS, max_size=60).map(b"".join))


@given(
    body=_FUZZ,
    cuts=st.lists(st.integers(0, 200), max_size=8),
    eof=st.sampled_from(["discard", "dispatch", "raise"]),
)
def test_fuzz_any_bytes_any_chunking(body: bytes, cuts: list[int], eof: Any) -> None:
    def run(chunks: list[bytes]) -> tuple[str, Any]:
        decoder = SSEDecoder(eof=eof, keep_comments=True, keep_stray_lines=True)
        try:
            return "ok", _with_offsets(feed_all(decoder, chunks))
        except TruncatedStream as exc:  # the only error, and only under eof="raise"
            if eof != "raise":
                raise
            return "truncated", exc.offset

    expected = run([body])
    assert run(split_at(body, cuts)) == expected
    assert run([body[i : i + 1] for i in range(len(body))]) == expected


# -- the recorded vendor streams ---------------------------------------------------------


def _sse_stream_files() -> list[str]:
    if not STREAMS.is_dir():
        return []
    names = []
    for path in sorted(STREAMS.glob("*.txt")):
        name = path.name
        if name.endswith("-payloads.txt") or name.startswith(
            ("ollama__", "cohere-v1__", "gemini__json-array-")
        ):
            continue
        names.append(name)
    return names


def _read_stream(name: str) -> bytes:
    if not STREAMS.is_dir():
        pytest.skip(f"{STREAMS} is absent")
    return reference_stream(name)


@pytest.mark.parametrize("name", _sse_stream_files() or ["(no streams)"])
def test_recorded_stream_decodes_the_same_under_every_chunking(name: str) -> None:
    body = _read_stream(name)
    options: dict[str, Any] = {"eof": "dispatch", "keep_comments": True, "keep_stray_lines": True}
    got = decode_every_way(lambda: SSEDecoder(**options), body)
    rng = random.Random(name)
    for _ in range(5):
        chunks = split_at(body, [rng.randrange(len(body)) for _ in range(rng.randint(1, 40))])
        assert _with_offsets(feed_all(SSEDecoder(**options), chunks)) == _with_offsets(got)
    events = [m for m in got if isinstance(m, SSEEvent)]
    assert events, "no events"
    assert not [m for m in got if isinstance(m, SSEStrayLine)]
    offsets = [m.offset for m in got]
    assert offsets == sorted(set(offsets))
    for i, event in enumerate(events):  # JSON everywhere, except a final [DONE]
        if event.data == "[DONE]":
            assert i == len(events) - 1
        else:
            json.loads(event.data)


def test_gemini_crlf_stream() -> None:
    body = _read_stream("gemini__text-crlf.txt")
    events = decode(body)
    assert len(events) == body.count(b"\r\n\r\n") == 3
    assert all(e.event is None for e in events)
    assert all("candidates" in json.loads(e.data) for e in events)


def test_openrouter_comments() -> None:
    body = _read_stream("openrouter__comments-then-error-chunk.txt")
    plain = decode(body)
    assert all(isinstance(m, SSEEvent) for m in plain)
    got = decode(body, keep_comments=True)
    first_event = next(i for i, m in enumerate(got) if isinstance(m, SSEEvent))
    assert first_event == 17
    assert got[:17] == [SSEComment(text=" OPENROUTER PROCESSING")] * 17
    assert [m for m in got if isinstance(m, SSEEvent)] == plain
    assert plain[-1].data == "[DONE]"
    assert json.loads(plain[-2].data)["error"]["message"] == "Token limit reached"


def test_groq_stream_has_exactly_one_error_event() -> None:
    events = decode(_read_stream("groq__midstream-error-tool-use-failed.txt"))
    named = [e for e in events if e.event is not None]
    assert [e.event for e in named] == ["error"]
    assert named[0] is events[-1]
    assert json.loads(named[0].data)["error"]["code"] == "tool_use_failed"


def test_anthropic_stream_without_final_blank_line_under_each_policy() -> None:
    body = _read_stream("anthropic__text-then-tool-use.txt")
    dispatched = decode(body, eof="dispatch")
    assert dispatched[-1].event == "message_stop"
    assert decode(body) == dispatched[:-1]
    with pytest.raises(TruncatedStream) as info:
        feed_all(SSEDecoder(eof="raise"), [body])
    assert info.value.offset == dispatched[-1].offset
    assert body[info.value.offset :].startswith(b"event: message_stop\n")
