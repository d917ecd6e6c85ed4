"""Vendor stream drift: compare a candidate corpus (a fresh recording) with a baseline.

The pieces, each its own small module (all pure but :mod:`~conformance.drift.loader`,
which reads the corpora): :mod:`~conformance.drift.payloads` (vendor payloads and their
event types), :mod:`~conformance.drift.shape` (field paths, JSON types, event types),
:mod:`~conformance.drift.ordering`, :mod:`~conformance.drift.schema` (payload schemas),
:mod:`~conformance.drift.canonical` (the reference decoding against the expected
sequence), :mod:`~conformance.drift.engine` (the comparison), :mod:`~conformance.drift.model`
(kinds, severities, findings) and the two renderers.  ``docs/drift.md`` is the guide;
``conformance drift`` (:mod:`conformance.cli_drift`) the command.

I/O: importing this package does none; :func:`load_corpus` reads case folders.
"""

from __future__ import annotations

from conformance.drift.engine import drift
from conformance.drift.loader import load_corpus
from conformance.drift.model import (
    SEVERITY_OF,
    ApiSummary,
    Corpus,
    CorpusCase,
    DriftReport,
    Finding,
    Kind,
    Severity,
    Unchecked,
    at_or_above,
)
from conformance.drift.render_json import render_json, report_json
from conformance.drift.render_md import render_markdown

__all__ = [
    "SEVERITY_OF",
    "ApiSummary",
    "Corpus",
    "CorpusCase",
    "DriftReport",
    "Finding",
    "Kind",
    "Severity",
    "Unchecked",
    "at_or_above",
    "drift",
    "load_corpus",
    "render_json",
    "render_markdown",
    "report_json",
]
