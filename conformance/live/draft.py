"""A live recording as a case folder's content: manifest, body, draft sequence.  No I/O.

From the baseline case and its *scrubbed* capture (``conformance.live.scrub``):

* the manifest keeps the baseline's id, API, flavour, framing and tier; the description
  says it is a live recording; the quirk list is empty (nobody has reviewed the new
  bytes); ``chunks`` are the capture's read boundaries; ``stream.content_type`` is the
  response's; the request is the scrubbed one (method, path, allow-listed query, the
  ``content-type``/``accept`` headers, the body), ``recordable`` unless a body value had
  to be redacted;
* ``source`` is of kind ``imported`` -- the only kind whose fields a live recording can
  fill truthfully today (``recorded`` requires an upstream GitHub repository, commit and
  license): ``file`` is the case's own ``cassette.yaml``, interaction 0, the body's sha256,
  and a ``note`` saying ``live recording`` with the request line, the vendor host, where it
  was sent and when (docs/decisions.md has the reasoning);
* ``expected.jsonl`` is the reference decoder's decoding of the body, marked
  ``reviewed: false``: a draft, as ``conformance import-vcr`` writes.  ``conformance
  drift`` compares it with the baseline's reviewed sequence; ``conformance check``
  accepts the folder and counts the draft.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Final

from conformance.capture import Capture
from conformance.cassettes import Case
from conformance.errors import ConformanceError
from conformance.events import Error, ErrorCategory, Event
from conformance.live.scrub import scrub_query
from conformance.registry import get_codec

__all__ = ["DESCRIPTION_MAX", "Draft", "decode_body", "draft_recording"]

#: A case description's maximum length (case.schema.json).
DESCRIPTION_MAX: Final = 70


@dataclass(frozen=True, slots=True)
class Draft:
    """What ``write_case`` needs, plus the decoder's complaint (None when it had none)."""

    manifest: dict[str, Any]
    body: bytes
    events: list[Event]
    base_url: str
    decoder_problem: str | None


def decode_body(case: Case, body: bytes) -> tuple[list[Event], str | None]:
    """The reference decoding of ``body`` and the decoder's decode/protocol complaint."""
    try:
        decoder = get_codec(case.api).new_decoder(case.flavour, framing=case.framing)
        events = [*decoder.feed(body), *decoder.close()]
    except ConformanceError as exc:
        return [], f"the reference decoder fails: {exc.describe()}"
    last = events[-1] if events else None
    if isinstance(last, Error) and last.category in (ErrorCategory.DECODE, ErrorCategory.PROTOCOL):
        return events, f"the reference decoder reports a {last.category} error: {last.message}"
    return events, None


def _description(case: Case) -> str:
    text = f"live recording of {case.folder.name}"
    return text if len(text) <= DESCRIPTION_MAX else text[: DESCRIPTION_MAX - 3] + "..."


def draft_recording(
    case: Case,
    capture: Capture,
    *,
    vendor_base: str,
    sent_to: str,
    recorded_at: str,
    recordable: bool,
) -> Draft:
    """The case folder content of a scrubbed, complete, status-200 ``capture`` of
    ``case``'s request.  ``vendor_base`` is the vendor's scheme and host (the new
    cassette's uri starts with it), ``sent_to`` where the request really went (differs
    with ``--base-url``), ``recorded_at`` an ISO 8601 UTC time."""
    body = capture.body
    path = case.request.path  # not the URL's: a --base-url may add a prefix (/_t/<token>)
    query = scrub_query(case.request.query.items())
    stored = case.request.headers  # the baseline's own: httpx's default accept is not kept
    headers = {name: value for name, value in capture.request_headers if name in stored}
    content_type = next((v for k, v in capture.response_headers if k == "content-type"), None)
    digest = hashlib.sha256(body).hexdigest()
    where = f"sent to {sent_to} (--base-url)" if sent_to.rstrip("/") != vendor_base.rstrip("/") else ""
    note = "; ".join(
        part
        for part in (
            f"conformance record --live: {capture.method} {path}",
            where,
            f"{len(capture.boundaries)} reads",
        )
        if part
    )
    events, problem = decode_body(case, body)
    stored_body = _json_body(capture.request_body)
    manifest: dict[str, Any] = {
        "id": case.id,
        "api": case.api,
        "flavour": case.flavour,
        "framing": case.framing,
        "description": _description(case),
        "quirks": [],
        "tier": case.tier,
        "source": {
            "kind": "live",
            "url": vendor_base.rstrip("/") + path,
            "recorded_at": recorded_at,
            "sha256": digest,
            "note": note,
        },
        "stream": {"content_type": content_type or case.stream.content_type},
        "chunks": list(capture.boundaries) or None,
        "request": {
            "method": capture.method,
            "path": path,
            "query": query,
            "headers": headers,
            "body": stored_body,
            "recordable": recordable and stored_body is not None,
        },
        "expected": {"reviewed": False},
    }
    return Draft(manifest, body, events, vendor_base.rstrip("/"), problem)


def _json_body(body: bytes) -> Any:
    try:
        value = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None
