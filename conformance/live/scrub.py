"""Scrub a live capture before anything of it is written.  No I/O.

Deny by default: what is not on an allow-list goes, whatever it is called.

* request headers: only :data:`REQUEST_HEADERS` (``content-type``, ``accept``) stay -- the
  same two a case's ``request.headers`` may hold; ``authorization``, ``x-api-key``,
  ``x-goog-api-key``, ``api-key``, the SigV4 headers, ``cookie``, ``openai-organization``,
  ``openai-project``, ``x-conformance-case`` and every other one go;
* response headers: only :data:`RESPONSE_HEADERS` stay (the content type and encoding,
  the date, timing, and request ids, which identify an exchange to the vendor's support
  but grant nothing); ``set-cookie``, ``openai-organization``, ``openai-project``,
  ``anthropic-organization-id``, rate-limit headers and every other one go;
* query keys: only :data:`QUERY_KEYS` (``alt``, ``api-version``) stay; the URL loses any
  user info;
* the request body (JSON): a string value under a credential-like key (``api_key``,
  ``apiKey``, ``client_secret``, ``password``, ``access_token``...) or in which
  :func:`conformance.secrets.scan` finds a key is replaced by ``[REDACTED]``; a body that
  is not JSON is dropped.

A name in :data:`DENIED` is removed even if someone adds it to an allow-list.  The
response body is never edited: it is the case.  A secret in it makes the recording
unkeepable (the writer scans every file), never silently patched.

:func:`scrub_capture` returns the scrubbed capture and what was removed, as names only
(``request header authorization``), never values, so the list is safe to print.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from conformance.capture import Capture
from conformance.secrets import scan

__all__ = [
    "DENIED",
    "QUERY_KEYS",
    "REDACTED",
    "REQUEST_HEADERS",
    "RESPONSE_HEADERS",
    "Scrubbed",
    "keep_header",
    "scrub_capture",
    "scrub_json",
    "scrub_query",
    "scrub_url",
    "safe_text",
]

#: Request headers kept (a case's ``request.headers`` may hold these two only).
REQUEST_HEADERS: Final = frozenset({"content-type", "accept"})

#: Response headers kept: what the body is, when, and the vendor's request ids.
RESPONSE_HEADERS: Final = frozenset(
    {
        "content-type",
        "content-encoding",
        "content-length",
        "transfer-encoding",
        "date",
        "request-id",
        "x-request-id",
        "anthropic-request-id",
        "x-amzn-requestid",
        "x-amzn-request-id",
        "x-amz-request-id",
        "openai-processing-ms",
        "openai-version",
        "x-envoy-upstream-service-time",
    }
)

#: Query keys kept (Gemini's ``alt=sse``, Azure's ``api-version``).
QUERY_KEYS: Final = frozenset({"alt", "api-version"})

#: Header names removed whatever the allow-lists say.
DENIED: Final = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "x-amz-security-token",
        "x-amz-date",
        "x-amz-content-sha256",
        "cookie",
        "set-cookie",
        "openai-organization",
        "openai-project",
        "anthropic-organization-id",
        "x-conformance-case",
    }
)

#: What a redacted body value becomes.
REDACTED: Final = "[REDACTED]"

# Key names (lowercase, without - and _) whose string values are credentials.
_CREDENTIAL_KEY = re.compile(
    r"(?:apikey|secret|secretkey|clientsecret|accesstoken|authtoken|refreshtoken|idtoken"
    r"|sessiontoken|bearertoken|password|passwd|authorization|cookie|credentials?|privatekey)$"
)


@dataclass(frozen=True, slots=True)
class Scrubbed:
    """A scrubbed capture, and what was removed (names only, safe to print)."""

    capture: Capture
    removed: tuple[str, ...]

    @property
    def body_redacted(self) -> bool:
        """Whether a request body value was redacted (the stored request is then not the
        one that was sent, so it is not marked recordable)."""
        return any(item.startswith("request body ") for item in self.removed)


def keep_header(name: str, allowed: Iterable[str]) -> bool:
    """Whether a header called ``name`` survives (allow-listed and not denied)."""
    low = name.lower()
    return low in allowed and low not in DENIED


def _headers(
    pairs: Iterable[tuple[str, str]], allowed: frozenset[str], where: str, removed: list[str]
) -> tuple[tuple[str, str], ...]:
    kept = []
    for name, value in pairs:
        if keep_header(name, allowed):
            kept.append((name.lower(), value))
        else:
            removed.append(f"{where} header {name.lower()}")
    return tuple(kept)


def scrub_query(query: Iterable[tuple[str, str]], removed: list[str] | None = None) -> dict[str, str]:
    """The query parameters whose keys are in :data:`QUERY_KEYS`."""
    kept = {}
    for key, value in query:
        if key in QUERY_KEYS:
            kept[key] = value
        elif removed is not None:
            removed.append(f"query key {key}")
    return kept


def scrub_url(url: str, removed: list[str] | None = None) -> str:
    """``url`` without user info and without query keys outside :data:`QUERY_KEYS`."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = netloc.rpartition("@")[2]
        if removed is not None:
            removed.append("URL user info")
    query = scrub_query(parse_qsl(parts.query, keep_blank_values=True), removed)
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), ""))


def _credential_key(key: str) -> bool:
    return _CREDENTIAL_KEY.search(re.sub(r"[-_\s]", "", key.lower())) is not None


def scrub_json(value: Any, removed: list[str] | None = None, path: str = "") -> Any:
    """``value`` with every credential-like string replaced by :data:`REDACTED`: the
    string values of credential-like keys, and any string the secret scanner flags."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(item, str) and _credential_key(str(key)) and item != REDACTED:
                out[key] = REDACTED
                if removed is not None:
                    removed.append(f"request body {where}")
            else:
                out[key] = scrub_json(item, removed, where)
        return out
    if isinstance(value, list):
        return [scrub_json(item, removed, f"{path}[]") for item in value]
    if isinstance(value, str) and scan(value):
        if removed is not None:
            removed.append(f"request body {path or '(value)'}")
        return REDACTED
    return value


def _body(body: bytes, removed: list[str]) -> bytes:
    if not body:
        return body
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        removed.append("request body (not JSON)")
        return b""
    clean = scrub_json(value, removed)
    if clean == value:
        return body
    return json.dumps(clean, ensure_ascii=False).encode("utf-8")


def scrub_capture(capture: Capture) -> Scrubbed:
    """The capture as it may be kept: headers, query and request body scrubbed (module
    docstring); the response body is left exactly as received."""
    removed: list[str] = []
    scrubbed = dataclasses.replace(
        capture,
        url=scrub_url(capture.url, removed),
        request_headers=_headers(capture.request_headers, REQUEST_HEADERS, "request", removed),
        request_body=_body(capture.request_body, removed),
        response_headers=_headers(capture.response_headers, RESPONSE_HEADERS, "response", removed),
    )
    return Scrubbed(scrubbed, tuple(dict.fromkeys(removed)))


def safe_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` fit to print: each known secret value replaced by :data:`REDACTED`, and
    the whole text withheld if the scanner still finds something key-like in it (a
    vendor error message that echoes a key, a URL with ``?key=``)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    if scan(text):
        return "<withheld: it looks like it holds a secret>"
    return text
