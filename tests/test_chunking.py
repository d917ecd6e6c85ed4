"""Tests for conformance.chunking: every strategy's cuts, determinism and parsing.

Reads one recorded Bedrock body from the reference streams folder when it exists
and starts one subprocess (to check ``random:SEED`` across hash seeds); otherwise no I/O.
"""

from __future__ import annotations

import ast
import inspect
import os
import random
import struct
import subprocess
import sys
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance import chunking as chunking_module
from conformance.chunking import (
    DEFAULT_CHUNKINGS,
    SEED_LIMIT,
    STRATEGY_NAMES,
    Chunking,
    cut,
    parse_chunking,
)
from conformance.errors import UsageError
from tests.helpers import REFERENCE_STREAMS

BEDROCK_SAMPLE = REFERENCE_STREAMS / "bedrock__text-only.bin"

FIXED_NAMES = [name for name in STRATEGY_NAMES if name != "random:SEED"]
PRELUDE_OFFSETS = (1, 3, 4, 6, 8, 11, 12)


# ---------------------------------------------------------------- helpers


def offsets(chunks: list[bytes]) -> list[int]:
    """The cut points a chunking made: the running lengths, without 0 and the end."""
    out: list[int] = []
    at = 0
    for chunk in chunks[:-1]:
        at += len(chunk)
        out.append(at)
    return out


def only(chunking: Chunking, data: bytes, recorded: list[int] | None = None) -> list[bytes]:
    """The single chunking a one-way strategy yields."""
    ways = list(chunking.chunkings(data, recorded=recorded))
    assert len(ways) == 1
    return ways[0]


def cuts_of(name: str, data: bytes) -> list[int]:
    return offsets(only(parse_chunking(name), data))


def string_header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return bytes([len(raw_name)]) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value


def frame(headers: bytes, payload: bytes) -> bytes:
    """An AWS eventstream frame with correct prelude and message CRCs."""
    prelude = struct.pack(">II", 12 + len(headers) + len(payload) + 4, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def bedrock_frame(event_type: str, payload: bytes) -> bytes:
    headers = (
        string_header(":event-type", event_type)
        + string_header(":content-type", "application/json")
        + string_header(":message-type", "event")
    )
    return frame(headers, payload)


def frame_starts(data: bytes) -> list[int]:
    starts, at = [], 0
    while at < len(data):
        starts.append(at)
        (total,) = struct.unpack_from(">I", data, at)
        at += total
    return starts


# ---------------------------------------------------------------- strategies

_frames = st.lists(
    st.tuples(st.binary(max_size=24), st.binary(max_size=48)).map(lambda hp: frame(*hp)),
    max_size=4,
).map(b"".join)
_text = st.text(
    alphabet=st.one_of(st.sampled_from(["a", "\r", "\n", "é", "€", "😀"]), st.characters()),
    max_size=80,
).map(str.encode)
stream_bytes = st.one_of(
    st.binary(max_size=200),
    _text,
    _frames,
    st.tuples(_frames, st.binary(max_size=20)).map(b"".join),
)
chunking_names = st.one_of(
    st.sampled_from(FIXED_NAMES),
    st.integers(0, SEED_LIMIT - 1).map(lambda seed: f"random:{seed}"),
)


@st.composite
def data_and_recorded(draw: st.DrawFn) -> tuple[bytes, list[int] | None]:
    data = draw(stream_bytes)
    if not data or draw(st.booleans()):
        return data, None
    return data, sorted(draw(st.sets(st.integers(1, len(data)), max_size=20)))


# ---------------------------------------------------------------- the invariant


@given(name=chunking_names, sample=data_and_recorded())
def test_every_chunking_concatenates_to_the_input_without_empty_chunks(
    name: str, sample: tuple[bytes, list[int] | None]
) -> None:
    data, recorded = sample
    ways = list(parse_chunking(name).chunkings(data, recorded=recorded))
    assert ways, "a strategy must yield at least one chunking"
    for chunks in ways:
        assert b"".join(chunks) == data
        assert all(chunks), f"empty chunk in {chunks!r}"


# ---------------------------------------------------------------- cut()


def test_cut_sorts_dedupes_and_ignores_the_ends() -> None:
    assert cut(b"abcdef", [4, 0, 2, 4, 6]) == [b"ab", b"cd", b"ef"]


def test_cut_of_empty_data_is_no_chunks() -> None:
    assert cut(b"", []) == []
    assert cut(b"", [0]) == []


@pytest.mark.parametrize("bad", [-1, 7])
def test_cut_rejects_offsets_outside_the_data(bad: int) -> None:
    with pytest.raises(UsageError) as info:
        cut(b"abcdef", [2, bad])
    assert info.value.offset == bad


# ---------------------------------------------------------------- simple strategies


def test_whole_is_one_chunk_and_empty_stream_is_no_chunks() -> None:
    assert list(parse_chunking("whole").chunkings(b"abc")) == [[b"abc"]]
    assert list(parse_chunking("whole").chunkings(b"")) == [[]]


def test_bytewise_is_one_byte_per_chunk() -> None:
    assert only(parse_chunking("bytewise"), b"a\xc3\xa9") == [b"a", b"\xc3", b"\xa9"]


def test_every_split_yields_each_two_way_split_once() -> None:
    ways = list(parse_chunking("every-split").chunkings(b"abcd"))
    assert ways == [[b"a", b"bcd"], [b"ab", b"cd"], [b"abc", b"d"]]


@pytest.mark.parametrize(("data", "expected"), [(b"", [[]]), (b"x", [[b"x"]])])
def test_every_split_of_under_two_bytes_yields_the_whole(data: bytes, expected: list[list[bytes]]) -> None:
    assert list(parse_chunking("every-split").chunkings(data)) == expected


# ---------------------------------------------------------------- recorded


def test_recorded_cuts_at_the_recorded_read_ends() -> None:
    chunks = only(parse_chunking("recorded"), b"abcdefgh", recorded=[3, 4, 8])
    assert chunks == [b"abc", b"d", b"efgh"]


@pytest.mark.parametrize("recorded", [None, []])
def test_recorded_without_boundaries_is_whole(recorded: list[int] | None) -> None:
    assert only(parse_chunking("recorded"), b"abcdefgh", recorded=recorded) == [b"abcdefgh"]


@pytest.mark.parametrize(
    ("recorded", "bad"),
    [([0], 0), ([9], 9), ([-2], -2), ([3, 3], 3), ([5, 2], 2)],
    ids=["zero", "past-end", "negative", "repeated", "decreasing"],
)
def test_recorded_rejects_bad_boundaries_eagerly(recorded: list[int], bad: int) -> None:
    with pytest.raises(UsageError) as info:
        parse_chunking("recorded").chunkings(b"abcdefgh", recorded=recorded)  # no iteration needed
    assert info.value.offset == bad


def test_other_strategies_ignore_recorded_boundaries() -> None:
    assert only(parse_chunking("whole"), b"abcdefgh", recorded=[3]) == [b"abcdefgh"]


# ---------------------------------------------------------------- utf8-boundary


@pytest.mark.parametrize("char", ["é", "€", "😀"], ids=["2-byte", "3-byte", "4-byte"])
def test_utf8_boundary_cuts_around_and_inside_each_character(char: str) -> None:
    width = len(char.encode())
    data = f"abc{char}defg".encode()  # the character occupies bytes 3 .. 3 + width
    assert cuts_of("utf8-boundary", data) == list(range(2, 3 + width + 2))


def test_utf8_boundary_cuts_every_character_of_a_mixed_text() -> None:
    data = "aé-----€-----😀-----".encode()
    expected = {*range(1, 5), *range(7, 13), *range(15, 22)}
    assert set(cuts_of("utf8-boundary", data)) == expected


def test_utf8_boundary_leaves_ascii_whole() -> None:
    assert cuts_of("utf8-boundary", b"plain ascii\r\n") == []


def test_utf8_boundary_cuts_around_invalid_bytes_too() -> None:
    # stray continuation at 2, invalid 0xFF at 5, a truncated 3-byte lead at 8..10,
    # a lone 4-byte lead at the very end (index 12)
    data = b"ab\x80cd\xffef\xe2\x82gh\xf0"
    expected = {*range(1, 4), *range(4, 7), *range(7, 12), 11, 12}
    assert set(cuts_of("utf8-boundary", data)) == expected


@given(text=st.text(max_size=60))
def test_utf8_boundary_property_every_multibyte_character_is_isolated(text: str) -> None:
    data = text.encode()
    cuts = set(cuts_of("utf8-boundary", data))
    at = 0
    wanted: set[int] = set()
    for char in text:
        width = len(char.encode())
        if width > 1:
            wanted.update(p for p in range(at - 1, at + width + 2) if 0 < p < len(data))
        at += width
    assert cuts == wanted


# ---------------------------------------------------------------- cr-lf


def test_cr_lf_cuts_between_each_cr_and_its_lf() -> None:
    assert only(parse_chunking("cr-lf"), b"a\r\nb\r\n") == [b"a\r", b"\nb\r", b"\n"]


@pytest.mark.parametrize("data", [b"a\rb\nc\n\rd", b"no line breaks", b""])
def test_cr_lf_leaves_data_without_crlf_whole(data: bytes) -> None:
    assert cuts_of("cr-lf", data) == []


def test_cr_lf_cuts_only_the_cr_right_before_the_lf() -> None:
    assert cuts_of("cr-lf", b"\r\r\n\n") == [2]


# ---------------------------------------------------------------- prelude


def two_frames() -> bytes:
    return bedrock_frame("messageStart", b'{"role":"assistant"}') + bedrock_frame(
        "contentBlockDelta", b'{"contentBlockIndex":0,"delta":{"text":"Hi"}}'
    )


def test_prelude_cuts_inside_and_after_each_frame_prelude() -> None:
    data = two_frames()
    second = len(bedrock_frame("messageStart", b'{"role":"assistant"}'))
    expected = [start + k for start in (0, second) for k in PRELUDE_OFFSETS]
    assert cuts_of("prelude", data) == expected
    # every cut lands inside a prelude (1..11 bytes in) or right after one (12)
    assert all(any(s < c <= s + 12 for s in (0, second)) for c in expected)


def test_prelude_stops_walking_at_a_truncated_frame() -> None:
    data = two_frames()[:-5]
    assert cuts_of("prelude", data) == list(PRELUDE_OFFSETS)


def test_prelude_ignores_trailing_garbage() -> None:
    one = bedrock_frame("messageStop", b"{}")
    assert cuts_of("prelude", one + b"\x00\x00\x00\x01junkjunkjunk") == list(PRELUDE_OFFSETS)


@pytest.mark.parametrize(
    "data",
    [b"data: {}\n\n", struct.pack(">II", 15, 0) + bytes(20), bytes(11), b""],
    ids=["sse-text", "length-below-16", "shorter-than-a-prelude", "empty"],
)
def test_prelude_on_non_frames_is_whole(data: bytes) -> None:
    assert cuts_of("prelude", data) == []


@given(frames=st.lists(st.binary(max_size=40), min_size=1, max_size=5))
def test_prelude_property_cuts_only_inside_or_after_preludes(frames: list[bytes]) -> None:
    data = b"".join(frame(b"", payload) for payload in frames)
    starts = frame_starts(data)
    assert cuts_of("prelude", data) == [s + k for s in starts for k in PRELUDE_OFFSETS]


@pytest.mark.skipif(not BEDROCK_SAMPLE.exists(), reason="reference stream not present")
def test_prelude_on_a_recorded_bedrock_stream_cuts_every_frame() -> None:
    data = BEDROCK_SAMPLE.read_bytes()
    starts = frame_starts(data)
    assert len(starts) > 1
    assert cuts_of("prelude", data) == [s + k for s in starts for k in PRELUDE_OFFSETS]


# ---------------------------------------------------------------- random:SEED


KILOBYTE = bytes(range(256)) * 4


def test_random_is_deterministic_for_the_same_seed_and_data() -> None:
    assert cuts_of("random:7", KILOBYTE) == cuts_of("random:7", KILOBYTE)
    assert cuts_of("random:7", KILOBYTE) == offsets(only(Chunking("random:7"), KILOBYTE))


def test_random_differs_between_seeds() -> None:
    cut_sets = {tuple(cuts_of(f"random:{seed}", KILOBYTE)) for seed in range(20)}
    assert len(cut_sets) == 20


def test_random_depends_on_the_data_length() -> None:
    assert cuts_of("random:3", KILOBYTE)[:8] != cuts_of("random:3", KILOBYTE + b"x")[:8]


def test_random_cuts_are_pinned() -> None:
    # The cuts are part of the contract: a printed "--chunking random:7" must replay
    # the same reads in any later version.  Changing the algorithm changes these.
    chunks = only(parse_chunking("random:7"), bytes(1000))
    assert [len(c) for c in chunks] == [
        3,
        2,
        1,
        11,
        297,
        22,
        5,
        21,
        2,
        89,
        6,
        2,
        3,
        3,
        360,
        2,
        1,
        107,
        48,
        15,
    ]


def test_random_is_the_same_in_a_process_with_another_hash_seed() -> None:
    code = (
        "from conformance.chunking import parse_chunking\n"
        "data = bytes(range(256)) * 4\n"
        "print([len(c) for c in next(parse_chunking('random:11').chunkings(data))])\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    here = [len(c) for c in only(parse_chunking("random:11"), KILOBYTE)]
    assert out.stdout.strip() == str(here)


def test_random_mixes_tiny_and_large_chunks() -> None:
    sizes = [len(c) for c in only(parse_chunking("random:0"), bytes(20_000))]
    assert any(size <= 3 for size in sizes)
    assert any(size > 100 for size in sizes)
    assert max(sizes) <= 400


def test_random_leaves_the_global_random_state_alone() -> None:
    before = random.getstate()
    cuts_of("random:5", KILOBYTE)
    assert random.getstate() == before


# ---------------------------------------------------------------- naming


@pytest.mark.parametrize("name", [*FIXED_NAMES, "random:0", "random:7", f"random:{SEED_LIMIT - 1}"])
def test_canonical_names_round_trip(name: str) -> None:
    chunking = parse_chunking(name)
    assert chunking.name == name
    assert str(chunking) == name
    assert Chunking(name) == chunking


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [(" whole ", "whole"), ("BYTEWISE", "bytewise"), ("Random:007", "random:7"), ("random:00", "random:0")],
)
def test_loose_spellings_are_canonicalised(spelling: str, canonical: str) -> None:
    assert parse_chunking(spelling).name == canonical


def test_kind_and_seed() -> None:
    assert (parse_chunking("random:42").kind, parse_chunking("random:42").seed) == ("random", 42)
    assert (parse_chunking("cr-lf").kind, parse_chunking("cr-lf").seed) == ("cr-lf", None)


def test_default_chunkings_are_canonical_and_exclude_every_split() -> None:
    assert [parse_chunking(name).name for name in DEFAULT_CHUNKINGS] == list(DEFAULT_CHUNKINGS)
    assert "every-split" not in DEFAULT_CHUNKINGS


@pytest.mark.parametrize(
    "spec",
    [
        "bogus",
        "random",
        "random:",
        "random:x",
        "random:-1",
        "random:+1",
        "random:1.5",
        "random: 7",
        "random:1_000",
        "random:\u0663",  # ARABIC-INDIC DIGIT THREE: int() would accept it
        "random:SEED",
        f"random:{SEED_LIMIT}",
        "random:" + "9" * 5000,  # longer than int()'s default digit limit
        "",
    ],
)
def test_bad_specs_raise_usage_error_listing_the_valid_names(spec: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_chunking(spec)
    for name in STRATEGY_NAMES:
        assert name in str(info.value)


@pytest.mark.parametrize("name", ["random:07", "Whole", "bogus"])
def test_constructor_accepts_canonical_names_only(name: str) -> None:
    with pytest.raises(UsageError, match="valid chunkings"):
        Chunking(name)


# ---------------------------------------------------------------- sans-IO


def test_module_imports_nothing_that_does_io() -> None:
    forbidden = {"socket", "asyncio", "os", "pathlib", "io", "time", "pytest", "httpx", "subprocess"}
    tree = ast.parse(inspect.getsource(chunking_module))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            imported.add(node.module.split(".")[0])
    assert not imported & forbidden
