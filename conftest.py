"""Root conftest: Hypothesis profiles for the project's own test suite.

``ci`` (the default, and what the ``CI`` environment selects) is bounded and
derandomised so the default run stays fast and repeatable; ``dev`` is quick for
local edits; ``nightly`` is the heavy opt-in run:
``pytest --hypothesis-profile=nightly``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

from conformance.reference import reference_adapter

settings.register_profile(
    "ci",
    max_examples=200,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "nightly",
    max_examples=20_000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_conformance_adapters(config: object) -> dict[str, object]:
    """The project's own run tests the bundled reference adapter with the whole suite."""
    return {"reference": reference_adapter}
