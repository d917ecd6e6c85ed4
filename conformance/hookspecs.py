"""The plugin's own pytest hook: how a ``conftest.py`` names the adapters under test.  No I/O."""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["pytest_conformance_adapters"]


@pytest.hookspec
def pytest_conformance_adapters(config: pytest.Config) -> dict[str, Any]:  # type: ignore[empty-body]
    """Return ``{name: factory}``: the adapters the conformance suite tests.

    A factory is a no-argument callable returning a
    :class:`conformance.harness.contract.Adapter` (or an ``Adapter`` itself).  Every
    implementation is called and the results are merged; the tests are parametrised
    per adapter name.  Example, in ``conftest.py``::

        def pytest_conformance_adapters(config):
            return {"mine": my_package.conformance_adapter}
    """
