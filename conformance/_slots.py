"""Building frozen slotted dataclasses fast, for the decoders' hottest objects.  No I/O.

A frozen dataclass's ``__init__`` takes keyword arguments and calls ``object.__setattr__``
once per field; for the objects a decoder makes per frame or per delta that costs more
than the rest of their handling.  Setting the slots through their descriptors on an
object made by ``object.__new__`` gives the same object about 2.5 times faster.  That is
only safe while the class is exactly a plain slotted dataclass with those fields and no
``__post_init__``: :func:`slot_setters` checks that and hands out the setters, or
``None``, and then callers use the ordinary constructor.  Each test of a fast path
checks its objects equal ordinarily built ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from conformance.events import BlockDelta

__all__ = ["NEW", "new_delta", "slot_setters"]

#: ``object.__new__``, bound once.
NEW = object.__new__


def slot_setters(cls: type, names: tuple[str, ...]) -> tuple[Callable[[Any, Any], None], ...] | None:
    """The slot setters of ``cls`` for ``names``, in order, when ``cls`` is a plain slotted
    dataclass whose fields are exactly ``names``; otherwise ``None``."""
    if (
        not dataclasses.is_dataclass(cls)
        or tuple(f.name for f in dataclasses.fields(cls)) != names
        or getattr(cls, "__slots__", None) != names
        or hasattr(cls, "__post_init__")
    ):
        return None
    return tuple(vars(cls)[name].__set__ for name in names)


# Deltas are most of the events, made by every decoder (conformance.vendors._builder) and
# by the harness from an adapter's JSON objects (conformance.harness.contract).
_DELTA_SETTERS = slot_setters(BlockDelta, ("block", "text"))
if _DELTA_SETTERS is not None:
    _set_block, _set_text = _DELTA_SETTERS

    def new_delta(block: int, text: str) -> BlockDelta:
        """``BlockDelta(block=block, text=text)``, built fast."""
        event: BlockDelta = NEW(BlockDelta)
        _set_block(event, block)
        _set_text(event, text)
        return event

else:  # pragma: no cover - only if events.BlockDelta changes shape

    def new_delta(block: int, text: str) -> BlockDelta:
        """``BlockDelta(block=block, text=text)``."""
        return BlockDelta(block=block, text=text)
