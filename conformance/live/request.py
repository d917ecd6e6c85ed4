"""What ``record --live`` sends for a case: method, URL, headers and body.  No I/O.

A case is recordable when its manifest marks the stored request ``recordable`` and
holds its body (``cassettes/README.md``).  The request is the stored one: method, path,
query and JSON body, sent to the base URL the vendor's credentials chose
(``conformance.live.vendors``) or to ``--base-url``.  The headers built here carry no
credential -- the sender adds those at the last moment -- only ``content-type``, the
stored ``accept``, ``accept-encoding: identity`` (so the captured chunks are the stream's
own bytes, not compressed ones), a ``user-agent`` and, with ``--base-url``,
``x-conformance-case: <case id>``, which makes the loopback server (``conformance serve``)
answer with that case.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlencode

from conformance import __version__
from conformance.cassettes import Case

__all__ = ["USER_AGENT", "LiveRequest", "build_request", "is_recordable"]

#: The user agent of live recordings.
USER_AGENT: Final = f"llm-stream-conformance/{__version__} (conformance record --live)"

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveRequest:
    """One request to send, without credentials."""

    case_id: str
    method: str
    url: str
    headers: Headers
    body: bytes


def is_recordable(case: Case) -> bool:
    """Whether the case stores a complete request (method, path, JSON body)."""
    return case.request.recordable and isinstance(case.request.body, dict)


def build_request(case: Case, base_url: str, *, tag_case: bool = False) -> LiveRequest:
    """The case's stored request, sent to ``base_url`` (scheme, host and any path prefix);
    ``tag_case`` adds ``x-conformance-case`` (for the loopback server)."""
    query = f"?{urlencode(dict(case.request.query))}" if case.request.query else ""
    headers: list[tuple[str, str]] = [("content-type", "application/json")]
    accept = case.request.headers.get("accept")
    if accept:
        headers.append(("accept", accept))
    headers += [("accept-encoding", "identity"), ("user-agent", USER_AGENT)]
    if tag_case:
        headers.append(("x-conformance-case", case.id))
    body = json.dumps(case.request.body, ensure_ascii=False).encode("utf-8")
    return LiveRequest(
        case_id=case.id,
        method=case.request.method,
        url=f"{base_url.rstrip('/')}{case.request.path}{query}",
        headers=tuple(headers),
        body=body,
    )
