"""The one exception hierarchy of the project.  No I/O.

Every exception the library raises on purpose derives from :class:`ConformanceError`.
Wrong events from an adapter are *not* exceptions: they are outcome values (see
``conformance.grammar`` and ``conformance.compare``).  Exceptions are kept for bad
input bytes, misuse, and malformed canonical data::

    ConformanceError                      abstract; never raised directly
    ├── StreamError                       bad vendor bytes (the peer's fault)
    │   ├── FramingError                  the framing itself is malformed
    │   │   └── ChecksumError             an AWS eventstream CRC32 does not match
    │   ├── TruncatedStream               ``close()`` with a half-finished message
    │   └── PayloadError                  a vendor payload breaks its API's shape
    ├── UsageError (also ValueError)      the caller misused the API or the CLI
    ├── EventError (also ValueError)      canonical event JSON that breaks the model
    └── CaseError (also ValueError)       a corpus case folder that breaks the case format

Errors carry structured context (``offset``, ``source``, ``case_id``, ``chunking``)
so that every message can name the file, case, chunking and byte offset.  Context is
added where it is known: the framing layer knows the offset, the driver knows the
file and the chunking (:meth:`ConformanceError.add_context`).
"""

from __future__ import annotations

__all__ = [
    "CaseError",
    "ChecksumError",
    "ConformanceError",
    "EventError",
    "FramingError",
    "PayloadError",
    "StreamError",
    "TruncatedStream",
    "UsageError",
]


class ConformanceError(Exception):
    """Base of every error this package raises on purpose.

    Attributes (each ``None`` when unknown):

    * ``offset``   byte offset in the stream where the problem was seen;
    * ``source``   the file (or other origin) of the bytes;
    * ``case_id``  the corpus case being replayed;
    * ``chunking`` the chunking strategy in force (e.g. ``random:7``).
    """

    def __new__(cls, *args: object, **kwargs: object) -> ConformanceError:
        if cls is ConformanceError or cls is StreamError:
            msg = f"{cls.__name__} is abstract: raise one of its subclasses"
            raise TypeError(msg)
        return super().__new__(cls, *args)

    def __init__(
        self,
        message: str,
        *,
        offset: int | None = None,
        source: str | None = None,
        case_id: str | None = None,
        chunking: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.source = source
        self.case_id = case_id
        self.chunking = chunking

    def add_context(
        self,
        *,
        source: str | None = None,
        case_id: str | None = None,
        chunking: str | None = None,
    ) -> ConformanceError:
        """Fill in context the raiser could not know; returns ``self`` for re-raising."""
        if source is not None and self.source is None:
            self.source = source
        if case_id is not None and self.case_id is None:
            self.case_id = case_id
        if chunking is not None and self.chunking is None:
            self.chunking = chunking
        return self

    def describe(self) -> str:
        """One line: ``source: byte N: message (case X, chunking Y)``."""
        head = []
        if self.source is not None:
            head.append(self.source)
        if self.offset is not None:
            head.append(f"byte {self.offset}")
        text = ": ".join([*head, self.message])
        extra = []
        if self.case_id is not None:
            extra.append(f"case {self.case_id}")
        if self.chunking is not None:
            extra.append(f"chunking {self.chunking}")
        if extra:
            text += f" ({', '.join(extra)})"
        return text

    def __str__(self) -> str:
        return self.describe()


class StreamError(ConformanceError):
    """Abstract: the vendor bytes are not a valid stream of their framing."""


class FramingError(StreamError):
    """The bytes break the framing's syntax (bad JSON-array structure, bad frame...)."""


class ChecksumError(FramingError):
    """An AWS eventstream prelude or message CRC32 does not match its bytes."""


class TruncatedStream(StreamError):
    """The stream ended (``close()``) in the middle of a message."""


class PayloadError(StreamError):
    """A framed message is not a payload its vendor API can send (wrong JSON type,
    a required field missing).  Reference decoders turn it into a canonical
    ``decode`` error event; it never escapes them."""


class UsageError(ConformanceError, ValueError):
    """The caller misused the library or the command line (bad option value...)."""


class EventError(ConformanceError, ValueError):
    """A canonical event (as JSON) does not fit the model.

    ``path`` is the JSON path of the offending value, e.g. ``$[3].usage.input_tokens``.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str = "$",
        offset: int | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__(f"{path}: {message}", offset=offset, source=source)
        self.path = path


class CaseError(ConformanceError, ValueError):
    """A corpus case folder breaks the case format (``cassettes/README.md``).

    ``path`` is the offending file (``case.json``, ``cassette.yaml``, the stream file or
    ``expected.jsonl``); ``line`` its 1-based line when one can be named.
    """

    def __init__(self, message: str, *, path: str, line: int | None = None) -> None:
        super().__init__(message, source=path)
        self.path = path
        self.line = line

    def describe(self) -> str:
        """``file:line: message`` (the line left out when unknown)."""
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"
