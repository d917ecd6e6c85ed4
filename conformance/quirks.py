"""The catalogue of known vendor quirks: the ids cases may cite in their ``quirks``.

I/O: reads the package data file ``conformance/data/quirks.json`` (once, then
cached).  That file is generated from the project's ``QUIRKS.md`` (one object per
id: its entry number and section there, its evidence kind and a short title); an
entry naming two ids (``a / b``) gives two objects sharing the entry number.  A quirk
that no corpus case can show as bytes (an HTTP-level or consumer behaviour) carries
``not_expressible``: why, and which level of the suite covers it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from conformance.errors import UsageError

__all__ = ["Quirk", "quirk_ids", "quirks"]

_DATA = ("data", "quirks.json")


@dataclass(frozen=True, slots=True, kw_only=True)
class Quirk:
    """One quirk id of the catalogue.

    ``kind`` is the evidence: ``R`` recorded, ``D`` documented, ``I`` a public
    issue, ``X`` no recording (to be synthesised), combined as ``R/D``...
    ``not_expressible``: why no corpus case can show it (``None``: a case can).
    """

    id: str
    entry: int
    section: str
    kind: str
    title: str
    not_expressible: str | None = None


@cache
def quirks() -> tuple[Quirk, ...]:
    """Every known quirk, in catalogue order."""
    resource = files("conformance").joinpath(*_DATA)
    try:
        data = json.loads(resource.read_text(encoding="utf-8"))
        found = tuple(
            Quirk(
                id=str(q["id"]),
                entry=int(q["entry"]),
                section=str(q["section"]),
                kind=str(q["kind"]),
                title=str(q["title"]),
                not_expressible=None if q.get("not_expressible") is None else str(q["not_expressible"]),
            )
            for q in data["quirks"]
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"the quirk catalogue conformance/{'/'.join(_DATA)} is unreadable: {exc}") from None
    return found


@cache
def quirk_ids() -> frozenset[str]:
    """The set of every known quirk id."""
    return frozenset(q.id for q in quirks())
