"""Synthetic corpus scenarios: vendor-neutral definitions rendered through the encoders.  No I/O.

A :class:`~conformance.scenarios.scenario.Scenario` names its intent, its quirk ids
and how to build its canonical sequence for a target (an API with a flavour, a framing
and encoder knobs: :class:`~conformance.scenarios.facts.Facts`).  :data:`SCENARIOS`
lists them all: the core scenarios (:mod:`.core`) and the quirk variants
(:mod:`.variants`).  :mod:`.render` turns them into corpus cases in memory;
``tools/render_synthetic.py`` writes them to ``cassettes/``.
"""

from __future__ import annotations

from conformance.scenarios.core import CORE
from conformance.scenarios.facts import APIS, Facts, default_facts
from conformance.scenarios.scenario import Scenario
from conformance.scenarios.variants import VARIANTS

__all__ = ["APIS", "SCENARIOS", "Facts", "Scenario", "default_facts"]

#: Every scenario, core first; names are unique.
SCENARIOS: tuple[Scenario, ...] = (*CORE, *VARIANTS)
