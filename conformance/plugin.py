"""The pytest plugin entry point (``pytest11``).  No logic of its own yet.

The plugin proper (adapter contract, test matrix, verdicts, reports) is built on top
of the pure modules; until then this module only has to import cleanly, so that
installing the package never disturbs a user's pytest run.
"""

from __future__ import annotations
