"""Find vendor codecs by API id: the built-ins, plus third-party ones.

I/O: reads installed package metadata (once) for the ``conformance.vendors`` entry
point group, whose entries name a :class:`~conformance.vendors._base.Codec` object.
A built-in is imported only when first asked for.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from conformance.errors import UsageError
from conformance.vendors import BUILTIN_CODECS
from conformance.vendors._base import Codec

__all__ = ["ENTRY_POINT_GROUP", "api_ids", "get_codec"]

ENTRY_POINT_GROUP = "conformance.vendors"


@cache
def _third_party() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def api_ids() -> list[str]:
    """Every API id a codec is registered for, built-ins first."""
    return [*BUILTIN_CODECS, *sorted(set(_third_party()) - set(BUILTIN_CODECS))]


@cache
def get_codec(api: str) -> Codec[Any]:
    """The codec for ``api``; UsageError naming the valid ids if there is none."""
    target = BUILTIN_CODECS.get(api) or _third_party().get(api)
    if target is None:
        raise UsageError(f"no codec for API {api!r} (valid: {', '.join(api_ids())})")
    module_name, _, attribute = target.partition(":")
    codec = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(codec, Codec) or codec.api != api:
        raise UsageError(f"{target} is not a Codec for {api!r}")
    return codec
