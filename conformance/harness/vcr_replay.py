"""Replay a corpus case's cassette through vcrpy, for HTTP-level adapters.  Driver layer:
I/O (reads the cassette, patches the HTTP libraries and the ``socket`` module while
replaying).

:func:`replay_cassette` is a context manager.  While it is open, vcrpy (its own ``VCR``,
``record_mode="none"``) answers the one request of the case's ``cassette.yaml`` for every
HTTP library vcrpy patches: httpx and httpx2 (sync and async, so the openai and
anthropic SDKs too), requests/urllib3, aiohttp, ...  The handle it yields says where the
adapter must send its request (:attr:`ReplayHandle.base_url`, the scheme, host and port
the cassette recorded, e.g. ``https://api.openai.com``) and how many responses were
played (:attr:`ReplayHandle.play_count`).

Matching is on vcrpy's default fields: method, scheme, host, port, path and query, with one
change: paths are compared after percent-decoding (``/model/x%3A0/...`` matches
``/model/x:0/...``), because clients disagree on it (aiohttp's yarl decodes ``%3A``,
httpx and requests keep it, botocore writes it) and both forms name one resource.  Not the body:
each cassette holds one interaction, so the body could only turn a right request into a
false mismatch (adapters serialise the request JSON their own way, and most recorded
cases store no request body at all).  Not the headers either, for the same reason.
``decode_compressed_response=True`` is set as the project's cassettes are written with
it in mind; it acts only when vcrpy records, and the corpus stores identity bodies with
no ``content-encoding`` header, so every client gets the exact bytes of the case's
stream file.

The canary.  A replay in which vcrpy played nothing means the adapter's HTTP library is
not one vcrpy patches, or the adapter went around it: the test would otherwise judge
whatever the adapter made of a connection error.  On a clean exit the context manager
raises :class:`~conformance.errors.UsageError` saying so when ``play_count == 0``, and
also when a request was refused (vcrpy could not match it, or a connection was blocked,
see below) even if the adapter caught the exception.  Pass ``check=False`` to judge
``play_count`` and :attr:`ReplayHandle.refused` yourself.  When the ``with`` body raises,
its exception propagates with the refusals attached as notes (``add_note``).

The network is blocked meanwhile: ``socket.socket.connect``/``connect_ex`` and
``socket.create_connection`` refuse any address that is not a loopback one (and the
cassette's own address, when it is a loopback one such as a local Ollama, since vcrpy must
answer that), and ``socket.getaddrinfo`` refuses to look up any name but ``localhost``,
fast (``ConnectionRefusedError`` / ``socket.gaierror``) and with a message naming the
address; loopback connections (the fake-vendor server) still work.  Not covered: a client
that resolves names or opens sockets outside the ``socket`` module (a C extension such as
pycurl); the canary still catches it, as nothing is played.  The patches are installed
when the first replay opens and removed when the last one closes (a lock and a count:
concurrent replays in threads share them).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from vcr import VCR
from vcr.errors import CannotOverwriteExistingCassetteException

from conformance.cassettes import Case
from conformance.errors import UsageError

__all__ = ["MATCH_ON", "ReplayHandle", "replay_cassette"]

#: vcrpy matchers used for replay (vcrpy's default: no body, no headers).
MATCH_ON = ("method", "scheme", "host", "port", "path", "query")


@dataclass(slots=True)
class ReplayHandle:
    """One open replay: where to send the request, and what happened so far."""

    case: Case
    base_url: str
    """``scheme://host[:port]`` of the cassette's recorded request."""
    cassette: Any
    """The vcrpy ``Cassette`` being played."""
    refused: list[str] = field(default_factory=list)
    """Why each refused request or connection was refused, in order."""
    _own_loopback_port: int | None = field(default=None, repr=False)

    @property
    def play_count(self) -> int:
        """How many recorded responses vcrpy has played."""
        return int(self.cassette.play_count)

    def problems(self) -> list[str]:
        """What makes this replay not a clean one (empty when it is)."""
        found = []
        if self.play_count == 0:
            found.append(
                f"the cassette of {self.case.id} was not played (play_count 0): the adapter's HTTP "
                "library is not one vcrpy patches (httpx, httpx2, requests/urllib3, aiohttp, ...), "
                f"or the adapter bypassed it; it must call {self.base_url}"
            )
        found.extend(self.refused)
        return found


# -- blocking the network ------------------------------------------------------------------

_lock = threading.Lock()
_active: list[ReplayHandle] = []
_saved: list[tuple[Any, str, object, bool]] = []  # (owner, name, original, owner defined it)


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    name = host.strip("[]").split("%", 1)[0].rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _is_ip_literal(host: str) -> bool:
    """An address needs no lookup: let the connect itself be refused, naming it."""
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def _replaying() -> bool:
    with _lock:
        return bool(_active)


def _refusal(address: object) -> str | None:
    """Why a connection to ``address`` is refused now, or None when it is allowed."""
    if not (isinstance(address, tuple) and len(address) >= 2):
        return None  # AF_UNIX paths and the like: not the network
    host, port = address[0], address[1]
    with _lock:
        active = list(_active)
    if not active:
        return None
    if not _is_loopback(host):
        return (
            f"network access blocked during cassette replay: connect to {host}:{port} refused "
            "(only loopback addresses may be reached; the cassette must answer vendor requests)"
        )
    for handle in active:
        if handle._own_loopback_port == port:
            return (
                f"connect to {host}:{port} refused during cassette replay: that is the cassette's own "
                "address, which vcrpy must answer (the adapter bypassed vcrpy)"
            )
    return None


def _note(message: str) -> None:
    with _lock:
        for handle in _active:
            handle.refused.append(message)


def _install() -> None:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_create_connection = socket.create_connection
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        message = _refusal(address)
        if message is not None:
            _note(message)
            raise ConnectionRefusedError(errno.ECONNREFUSED, message)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        message = _refusal(address)
        if message is not None:
            _note(message)
            return errno.ECONNREFUSED
        return real_connect_ex(self, address)

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        message = _refusal(address)
        if message is not None:
            _note(message)
            raise ConnectionRefusedError(errno.ECONNREFUSED, message)
        return real_create_connection(address, *args, **kwargs)

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, bytes):
            host = host.decode("idna", "replace")
        if host is not None and _replaying() and not _is_loopback(host) and not _is_ip_literal(host):
            message = f"network access blocked during cassette replay: DNS lookup of {host} refused"
            _note(message)
            raise socket.gaierror(socket.EAI_NONAME, message)
        return real_getaddrinfo(host, port, *args, **kwargs)

    patches: list[tuple[Any, str, Callable[..., Any]]] = [
        (socket.socket, "connect", connect),
        (socket.socket, "connect_ex", connect_ex),
        (socket, "create_connection", create_connection),
        (socket, "getaddrinfo", getaddrinfo),
    ]
    for owner, name, replacement in patches:
        _saved.append((owner, name, getattr(owner, name), name in vars(owner)))
        setattr(owner, name, replacement)


def _uninstall() -> None:
    while _saved:
        owner, name, original, own = _saved.pop()
        if own:
            setattr(owner, name, original)
        else:
            delattr(owner, name)  # it was inherited (socket.socket.connect is _socket's)


def _activate(handle: ReplayHandle) -> None:
    with _lock:
        _active.append(handle)
        first = len(_active) == 1
        if first:
            _install()


def _deactivate(handle: ReplayHandle) -> None:
    with _lock:
        _active.remove(handle)
        if not _active:
            _uninstall()


# -- the replay ----------------------------------------------------------------------------


def _path_matcher(r1: Any, r2: Any) -> None:
    """vcrpy's path matcher, modulo percent-encoding (an empty path is ``/``)."""
    if unquote(r1.path or "/") != unquote(r2.path or "/"):
        raise AssertionError(f"{r1.path} != {r2.path}")


_path_matcher.__name__ = "path"  # vcrpy names matchers by __name__ in its messages


def _watch_unmatched(handle: ReplayHandle) -> None:
    """Record vcrpy's own message for every request it cannot play, even when the
    adapter swallows the exception vcrpy raises for it."""
    cassette = handle.cassette
    can_play = cassette.can_play_response_for

    def watched(request: Any) -> bool:
        playable = bool(can_play(request))
        if not playable:
            exc = CannotOverwriteExistingCassetteException(cassette=cassette, failed_request=request)
            handle.refused.append(f"vcrpy refused a request: {exc}")
        return playable

    cassette.can_play_response_for = watched


def _base_url(case: Case, cassette: Any) -> str:
    requests = list(cassette.requests)
    if len(requests) != 1:
        raise UsageError(f"the cassette of {case.id} holds {len(requests)} interactions, not 1")
    parts = urlsplit(str(requests[0].uri))
    return f"{parts.scheme}://{parts.netloc}"


@contextmanager
def replay_cassette(case: Case, *, check: bool = True) -> Iterator[ReplayHandle]:
    """Replay ``case``'s cassette (replay only) with the network blocked; yields the handle.

    On a clean exit with ``check`` (the default), raises UsageError when the cassette
    was not played or a request or connection was refused (:meth:`ReplayHandle.problems`).
    """
    if not case.cassette_path.is_file():
        raise UsageError(f"{case.id} has no cassette at {case.cassette_path}")
    recorder = VCR(record_mode="none", match_on=MATCH_ON, decode_compressed_response=True)
    recorder.register_matcher("path", _path_matcher)
    with recorder.use_cassette(str(case.cassette_path)) as cassette:
        handle = ReplayHandle(case=case, base_url=_base_url(case, cassette), cassette=cassette)
        parts = urlsplit(handle.base_url)
        if _is_loopback(parts.hostname):
            handle._own_loopback_port = parts.port or (443 if parts.scheme == "https" else 80)
        _watch_unmatched(handle)
        _activate(handle)
        try:
            yield handle
        except BaseException as exc:
            for problem in handle.problems():
                exc.add_note(f"during the replay of {case.id}: {problem}")
            raise
        finally:
            _deactivate(handle)
    if check and handle.problems():
        raise UsageError("; ".join(handle.problems()), case_id=case.id)
