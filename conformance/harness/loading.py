"""Find adapters by name: ``pkg.mod:factory`` specs and factories.  Imports user modules
(the only I/O), nothing else.

A factory is a callable with no required arguments that returns an
:class:`~conformance.harness.contract.Adapter`; an ``Adapter`` value itself is accepted
too.  The spec ``reference`` names the bundled reference adapter.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from conformance.errors import UsageError
from conformance.harness.contract import Adapter
from conformance.reference import reference_adapter

__all__ = ["AdapterFactory", "load_factory", "make_adapter"]

AdapterFactory = Callable[[], Adapter]


def load_factory(spec: str) -> Any:
    """The object a ``pkg.mod:attr`` spec names (``reference``: the bundled adapter's factory).

    Raises :class:`UsageError` saying what is wrong with the spec.
    """
    spec = spec.strip()
    if spec == "reference":
        return reference_adapter
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        msg = f"adapter spec {spec!r} is not 'package.module:factory' (or 'reference')"
        raise UsageError(msg)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"adapter spec {spec!r}: cannot import {module_name!r}: {exc}") from None
    target: Any = module
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise UsageError(f"adapter spec {spec!r}: {module_name!r} has no attribute {attr!r}") from None
    return target


def make_adapter(factory: Any, *, what: str) -> Adapter:
    """Call ``factory`` (unless it already is an :class:`Adapter`) and check the result."""
    made = factory
    if not isinstance(made, Adapter):
        if not callable(made):
            raise UsageError(
                f"{what}: expected an Adapter or a factory returning one, got {type(made).__name__}"
            )
        try:
            made = made()
        except Exception as exc:
            raise UsageError(f"{what}: the factory raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(made, Adapter):
        msg = f"{what}: the factory returned {type(made).__name__}, not a conformance Adapter"
        raise UsageError(msg)
    return made
