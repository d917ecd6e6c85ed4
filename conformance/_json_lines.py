"""Line numbers for JSON paths: where a value of a JSON document starts.  No I/O.

Schema validators name a problem by its JSON path (``$.source.sha256``, ``$.quirks[3]``);
people fix files by line.  :func:`line_of` turns the one into the other.

Strategy: one pass over the document records where each value starts, keyed by its path
(object keys and array indices), reusing :class:`json.JSONDecoder` for keys and scalars.
A path that does not exist (a property that is missing) is answered with the line of its
deepest existing ancestor.
"""

from __future__ import annotations

import json
import re

__all__ = ["line_of"]

_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")
_WS = re.compile(r"[ \t\n\r]*")


def line_of(text: str, json_path: str) -> int | None:
    """The 1-based line where the deepest existing value on ``json_path`` starts.

    ``json_path`` is a path after ``$``: ``.a.b[2]`` (``""`` is the document itself).
    ``None`` when ``text`` is not a JSON document.
    """
    steps: list[str | int] = [name if name else int(index) for name, index in _STEP.findall(json_path)]
    try:
        positions = _value_positions(text)
    except (ValueError, IndexError):
        return None
    while tuple(steps) not in positions:
        steps.pop()
    return text.count("\n", 0, positions[tuple(steps)]) + 1


def _value_positions(text: str) -> dict[tuple[str | int, ...], int]:
    """Where each value of a JSON document starts, by its path."""
    out: dict[tuple[str | int, ...], int] = {}
    decoder = json.JSONDecoder()

    def skip(i: int) -> int:
        match = _WS.match(text, i)
        return match.end() if match else i

    def value(i: int, path: tuple[str | int, ...]) -> int:
        i = skip(i)
        out[path] = i
        opener = text[i]
        if opener not in "{[":
            return int(decoder.raw_decode(text, i)[1])
        closer = "}" if opener == "{" else "]"
        i = skip(i + 1)
        index = 0
        while text[i] != closer:
            if opener == "{":
                key, i = decoder.raw_decode(text, i)
                i = value(skip(i) + 1, (*path, str(key)))
            else:
                i = value(i, (*path, index))
                index += 1
            i = skip(i)
            if text[i] == ",":
                i = skip(i + 1)
        return i + 1

    value(0, ())
    return out
