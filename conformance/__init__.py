"""llm-stream-conformance: the conformance suite for LLM streaming adapters.

The public surface is what ``__all__`` lists, plus the ``conformance.framing``
package.  Everything else is private.  No I/O happens at import.
"""

from __future__ import annotations

from conformance.chunking import Chunking, parse_chunking
from conformance.compare import Comparison, Divergence, Verdict, compare
from conformance.errors import (
    CaseError,
    ChecksumError,
    ConformanceError,
    EventError,
    FramingError,
    PayloadError,
    StreamError,
    TruncatedStream,
    UsageError,
)
from conformance.events import (
    CANONICAL_VERSION,
    Abort,
    AbortReason,
    BlockDelta,
    BlockEnd,
    BlockStart,
    Error,
    ErrorCategory,
    ErrorPhase,
    Event,
    Finish,
    FinishReason,
    ResponseStart,
    Unknown,
    Usage,
    UsageCounts,
)
from conformance.fold import fold
from conformance.grammar import RULES, Level, Rule, Violation, check

__version__ = "0.1.0"

__all__ = [
    "CANONICAL_VERSION",
    "RULES",
    "Abort",
    "AbortReason",
    "BlockDelta",
    "BlockEnd",
    "BlockStart",
    "CaseError",
    "ChecksumError",
    "ConformanceError",
    "Error",
    "ErrorCategory",
    "ErrorPhase",
    "Event",
    "EventError",
    "Finish",
    "FinishReason",
    "FramingError",
    "PayloadError",
    "ResponseStart",
    "StreamError",
    "TruncatedStream",
    "Unknown",
    "Usage",
    "UsageCounts",
    "UsageError",
    "Chunking",
    "Comparison",
    "Divergence",
    "Level",
    "Rule",
    "Verdict",
    "Violation",
    "check",
    "compare",
    "fold",
    "parse_chunking",
    "__version__",
]
