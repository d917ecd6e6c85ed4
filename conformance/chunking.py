"""Chunking strategies: re-cut a stream's bytes into the chunks an adapter receives.  No I/O.

A network delivers a stream in reads whose boundaries carry no meaning, so a decoder
or adapter must give the same result however the bytes are cut.  Each strategy names
one adversarial way of cutting; the names are what the command line and test ids use:

==================  ============================================================
``whole``           one chunk holding the entire stream
``recorded``        the read boundaries recorded with the stream (``whole`` when
                    none are known)
``bytewise``        one byte per chunk
``every-split``     every two-way split ``[data[:i], data[i:]]``: ``len - 1``
                    chunkings, so O(n) decodes and O(n^2) bytes copied; callers
                    keep it to small inputs (a few KiB)
``utf8-boundary``   every offset from one byte before to one byte after each
                    multi-byte UTF-8 character
``cr-lf``           between every CR and the LF that follows it
``prelude``         inside and right after every AWS eventstream frame prelude
``random:SEED``     pseudo-random cuts from ``random.Random``, reproducible from
                    SEED and the stream's length
==================  ============================================================

Conventions, the same for every strategy:

* every yielded chunking concatenates to the input and holds no empty chunk; an empty
  stream is therefore cut into *zero* chunks (``[]``);
* every strategy yields at least one chunking; one whose pattern is absent from the
  data (``cr-lf`` on a body without CRLF, ``prelude`` on text) yields ``[data]``, the
  same as ``whole``, and ``every-split`` on fewer than two bytes yields that too;
* nothing here raises on arbitrary bytes: the pattern scanners (UTF-8, CRLF, frame
  walk) cut around whatever they find.  Only misuse raises :class:`UsageError`: a
  bad strategy name, or recorded boundaries that are out of range or not increasing.

Strategy (``random:SEED``): a private ``random.Random`` is seeded with the string
``"random:SEED:len=N"``.  String seeds are hashed with SHA-512 by ``random`` itself,
never with the salted builtin ``hash()``, so the cuts are the same in every process
and every Python run, yet differ between seeds and between stream lengths.  Chunk
sizes are drawn from a mixture: half tiny (1-3 bytes, to split tokens, escapes and
characters), the rest medium (4-32) or large (33-400), so that both "many small
reads" and "a few big reads" happen within one stream.  No global random state is
touched.
"""

from __future__ import annotations

import itertools
import random
import re
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from conformance.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

__all__ = [
    "DEFAULT_CHUNKINGS",
    "SEED_LIMIT",
    "STRATEGY_NAMES",
    "Chunking",
    "cut",
    "parse_chunking",
]

#: Every strategy name, as help texts and error messages list them.
STRATEGY_NAMES: tuple[str, ...] = (
    "whole",
    "recorded",
    "bytewise",
    "every-split",
    "utf8-boundary",
    "cr-lf",
    "prelude",
    "random:SEED",
)

#: The default matrix.  Each member targets a distinct decoder hazard: ``whole`` is the
#: baseline, ``recorded`` replays what the network really did, ``bytewise`` splits
#: everything, ``utf8-boundary``/``cr-lf``/``prelude`` split exactly where text,
#: line and frame decoders tend to break, and one seeded ``random`` mixes read sizes.
#: ``every-split`` is left out because its cost grows with the square of the stream
#: length; request it explicitly for small inputs.
DEFAULT_CHUNKINGS: tuple[str, ...] = (
    "whole",
    "recorded",
    "bytewise",
    "utf8-boundary",
    "cr-lf",
    "prelude",
    "random:0",
)

#: Seeds are non-negative integers below this bound (it also keeps the digits short).
SEED_LIMIT = 2**64

_RANDOM_RE = re.compile(r"random:([0-9]+)", re.ASCII)

# AWS eventstream: a 12-byte prelude (total_length, headers_length, prelude CRC, each a
# big-endian u32), then headers, payload and a 4-byte message CRC: 16 bytes at least.
_PRELUDE_LEN = 12
_MIN_FRAME_LEN = 16
# Cut after these many bytes of each prelude: inside each u32 and on the field seams.
_PRELUDE_CUTS = (1, 3, 4, 6, 8, 11, 12)

_CONTINUATION = range(0x80, 0xC0)
_NON_ASCII_RUN = re.compile(rb"[\x80-\xff]+")
# The strategies without a seed, by canonical name.
_PLAIN_KINDS = frozenset(STRATEGY_NAMES) - {"random:SEED"}


def _valid_names_text() -> str:
    return "valid chunkings: " + ", ".join(STRATEGY_NAMES) + " (SEED an integer from 0 to 2**64-1)"


def cut(data: bytes, offsets: Iterable[int]) -> list[bytes]:
    """``data`` cut at ``offsets``, which may come in any order and repeat.

    Offsets ``0`` and ``len(data)`` cut nothing and are ignored; an offset outside
    ``0..len(data)`` raises :class:`UsageError` with that offset.  The result never
    holds an empty chunk, so ``cut(b"", [])`` is ``[]``.
    """
    size = len(data)
    points: set[int] = set()
    for offset in offsets:
        if not 0 <= offset <= size:
            msg = f"cut offset {offset} is outside the {size}-byte stream"
            raise UsageError(msg, offset=offset)
        points.add(offset)
    bounds = [0, *sorted(points - {0, size}), size]
    return [data[a:b] for a, b in itertools.pairwise(bounds) if a < b]


def _bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def _sequence_length(lead: int) -> int:
    """How many bytes a UTF-8 sequence starting with ``lead`` should have (1 if invalid)."""
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 1


def _utf8_cuts(data: bytes) -> list[int]:
    """Offsets from one before to one after every multi-byte UTF-8 sequence.

    A lead byte 0xC2-0xF4 claims up to as many continuation bytes (0x80-0xBF) as it
    announces; any other byte >= 0x80 (a stray continuation byte, 0xC0, 0xC1,
    0xF5-0xFF) is a sequence of its own, so invalid UTF-8 is cut around just the same.
    Only the runs of non-ASCII bytes are walked byte by byte.
    """
    size = len(data)
    cuts: list[int] = []
    for run in _NON_ASCII_RUN.finditer(data):
        i, run_end = run.span()
        while i < run_end:
            expected = _sequence_length(data[i])
            end = i + 1
            while end < run_end and end - i < expected and data[end] in _CONTINUATION:
                end += 1
            cuts.extend(range(max(i - 1, 0), min(end + 1, size) + 1))
            i = end
    return cuts


def _crlf_cuts(data: bytes) -> list[int]:
    """The offset of every LF that directly follows a CR."""
    cuts: list[int] = []
    at = data.find(b"\r\n")
    while at != -1:
        cuts.append(at + 1)
        at = data.find(b"\r\n", at + 2)
    return cuts


def _prelude_cuts(data: bytes) -> list[int]:
    """Cuts inside and right after each eventstream prelude, walking ``total_length``.

    The walk stops, without raising, at the first place the bytes stop looking like a
    frame sequence: fewer than 12 bytes left, a length below 16, or a frame running
    past the end.  CRCs are not checked: that is the decoder's job, not the cutter's.
    """
    cuts: list[int] = []
    start = 0
    while len(data) - start >= _PRELUDE_LEN:
        (total,) = struct.unpack_from(">I", data, start)
        if total < _MIN_FRAME_LEN or start + total > len(data):
            break
        cuts.extend(start + k for k in _PRELUDE_CUTS)
        start += total
    return cuts


def _chunk_size(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.5:
        return rng.randint(1, 3)
    if roll < 0.8:
        return rng.randint(4, 32)
    return rng.randint(33, 400)


def _random_cuts(data: bytes, seed: int) -> list[int]:
    rng = random.Random(f"random:{seed}:len={len(data)}")
    cuts: list[int] = []
    at = _chunk_size(rng)
    while at < len(data):
        cuts.append(at)
        at += _chunk_size(rng)
    return cuts


def _check_recorded(data: bytes, recorded: Sequence[int]) -> None:
    """Recorded read ends must be strictly increasing and within ``1..len(data)``."""
    previous = 0
    for offset in recorded:
        if not 0 < offset <= len(data):
            msg = f"recorded boundary {offset} is outside 1..{len(data)} (the stream's length)"
            raise UsageError(msg, offset=offset)
        if offset <= previous:
            msg = f"recorded boundaries must increase: {offset} follows {previous}"
            raise UsageError(msg, offset=offset)
        previous = offset


def _every_split(data: bytes) -> Iterator[list[bytes]]:
    if len(data) < 2:
        yield cut(data, ())
        return
    for i in range(1, len(data)):
        yield [data[:i], data[i:]]


# One cut finder per single-chunking strategy: data -> offsets to cut at.
_CUT_FINDERS: dict[str, Callable[[bytes], list[int]]] = {
    "whole": lambda _data: [],
    "utf8-boundary": _utf8_cuts,
    "cr-lf": _crlf_cuts,
    "prelude": _prelude_cuts,
}


def _canonical(spec: str) -> tuple[str, int | None] | None:
    """``(kind, seed)`` for a spelling of a strategy name, or ``None`` if it is not one."""
    text = spec.strip().lower()
    if text in _PLAIN_KINDS:
        return text, None
    match = _RANDOM_RE.fullmatch(text)
    if match is None:
        return None
    digits = match.group(1).lstrip("0") or "0"
    if len(digits) > 20:  # 2**64 has 20 digits; also keeps int() away from huge strings
        return None
    seed = int(digits)
    if seed >= SEED_LIMIT:
        return None
    return "random", seed


@dataclass(frozen=True, slots=True)
class Chunking:
    """One chunking strategy, by its canonical name (``"bytewise"``, ``"random:7"``...).

    Build one with :func:`parse_chunking`, which accepts looser spellings; the
    constructor takes canonical names only.  ``kind`` is the name without its seed and
    ``seed`` the seed of ``random:SEED`` (``None`` for the other strategies).
    """

    name: str
    kind: str = field(init=False, repr=False, compare=False)
    seed: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parsed = _canonical(self.name)
        canonical = None if parsed is None else _spell(*parsed)
        if parsed is None or canonical != self.name:
            problem = "unknown" if canonical is None else f"not canonical (spell it {canonical!r})"
            msg = f"chunking name {self.name!r} is {problem}; {_valid_names_text()}"
            raise UsageError(msg)
        object.__setattr__(self, "kind", parsed[0])
        object.__setattr__(self, "seed", parsed[1])

    def __str__(self) -> str:
        return self.name

    def chunkings(self, data: bytes, *, recorded: Sequence[int] | None = None) -> Iterator[list[bytes]]:
        """The ways this strategy cuts ``data``: one chunking, or several for ``every-split``.

        ``recorded`` holds the offsets where the original network reads ended; only
        ``recorded`` uses them, and it checks them eagerly (here, not on first
        iteration): out of ``1..len(data)`` or not strictly increasing raises
        :class:`UsageError`.  ``None`` or empty means no boundaries are known, and
        ``recorded`` then behaves like ``whole``.
        """
        if self.kind == "every-split":
            return _every_split(data)
        if self.kind == "bytewise":
            return iter([_bytewise(data)])
        if self.kind == "recorded":
            boundaries = recorded or ()
            _check_recorded(data, boundaries)
            return iter([cut(data, boundaries)])
        if self.kind == "random" and self.seed is not None:
            return iter([cut(data, _random_cuts(data, self.seed))])
        return iter([cut(data, _CUT_FINDERS[self.kind](data))])


def _spell(kind: str, seed: int | None) -> str:
    return kind if seed is None else f"{kind}:{seed}"


def parse_chunking(spec: str) -> Chunking:
    """The strategy a command-line or config spelling names.

    Surrounding whitespace, letter case and leading zeros in a seed are forgiven
    (``" Random:007 "`` is ``random:7``).  Anything else that is not a strategy name
    (``bogus``, ``random``, ``random:x``, ``random:-1``, a seed of 2**64 or more)
    raises :class:`UsageError` whose message lists the valid names.
    """
    parsed = _canonical(spec)
    if parsed is None:
        msg = f"unknown chunking {spec!r}; {_valid_names_text()}"
        raise UsageError(msg)
    return Chunking(_spell(*parsed))
