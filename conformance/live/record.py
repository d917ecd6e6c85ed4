"""The ``record --live`` driver: select cases, send each request, scrub, write, report.

I/O: reads the baseline corpus (case folders and their cassettes' request uri), the
network (``conformance.live.send``) and the output folder (``conformance.live.store``).

Per recordable case (``conformance.live.request.is_recordable``), in case-id order:

1. the vendor and its credentials (``conformance.live.vendors``); none -> *skipped*, with
   the variable to set;
2. the request (``conformance.live.request``), sent to the vendor or ``--base-url``;
3. the capture scrubbed at once (``conformance.live.scrub``); a status other than 200, a
   transport error, an unfinished or compressed body -> *failed*;
4. the case folder drafted (``conformance.live.draft``) and written
   (``conformance.live.store``); a secret in anything to be written -> *failed*, nothing
   written.

Each :class:`Outcome` is handed to ``report`` as soon as it is known (progress for long
runs).  No outcome text ever holds a credential: error texts pass through
:func:`conformance.live.scrub.safe_text`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from conformance.capture import Capture
from conformance.cassettes import MANIFEST, Case, load_case
from conformance.errors import CaseError, ConformanceError
from conformance.live.draft import draft_recording
from conformance.live.request import build_request, is_recordable
from conformance.live.scrub import safe_text, scrub_capture
from conformance.live.send import send, sigv4_available
from conformance.live.store import write_recording
from conformance.live.vendors import Credentials, Missing, credentials, vendor_for

__all__ = ["Outcome", "Selection", "record_case", "record_live", "recorded_base", "select_cases", "summary"]

#: How much of a vendor's error body an outcome quotes.
_ERROR_SHOWN = 200


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one case: ``recorded``, ``skipped`` or ``failed``, and why."""

    case_id: str
    status: str
    detail: str
    folder: Path | None = None


@dataclass(frozen=True, slots=True)
class Selection:
    """The selected cases that can be recorded, how many selected ones cannot, and the
    case folders that do not load (each a failed outcome)."""

    cases: tuple[Case, ...]
    not_recordable: int
    broken: tuple[Outcome, ...]


def select_cases(root: Path, *, api: str | None, matches: Callable[[str], bool]) -> Selection:
    """The recordable cases under ``root`` of ``api`` whose id ``matches``."""
    cases, broken, not_recordable = [], [], 0
    for manifest in sorted(root.rglob(MANIFEST), key=lambda p: p.relative_to(root).parts):
        case_id = "/".join(manifest.parent.relative_to(root).parts)
        if (api is not None and not case_id.startswith(api + "/")) or not matches(case_id):
            continue
        try:
            case = load_case(manifest.parent)
        except ConformanceError as exc:
            broken.append(Outcome(case_id, "failed", f"the case does not load: {exc.describe()}"))
            continue
        if is_recordable(case):
            cases.append(case)
        else:
            not_recordable += 1
    return Selection(tuple(cases), not_recordable, tuple(broken))


def recorded_base(case: Case) -> str:
    """The scheme and host of the request uri the case's cassette recorded."""
    try:
        data = yaml.safe_load(case.cassette_path.read_text(encoding="utf-8"))
        uri = str(data["interactions"][0]["request"]["uri"])
    except (OSError, ValueError, yaml.YAMLError, KeyError, IndexError, TypeError) as exc:
        raise CaseError(
            f"cannot read the cassette's request uri ({exc})", path=str(case.cassette_path)
        ) from None
    scheme, _, rest = uri.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].split('?', 1)[0]}"


def _failure(capture: Capture | None, error: str | None, secrets: Sequence[str]) -> str | None:
    """Why the exchange cannot be kept, or None when it can."""
    if capture is None or capture.status is None:
        return safe_text(error or (capture.error if capture else None) or "no response", secrets)
    if capture.status != 200:
        shown = " ".join(capture.body.decode("utf-8", "replace").split())[:_ERROR_SHOWN]
        return f"HTTP {capture.status}: {safe_text(shown, secrets) or '(empty body)'}"
    if error is not None or capture.error is not None or not capture.read_to_end:
        what = error or capture.error or "the body was not read to the end"
        return f"the stream broke off after {len(capture.body)} bytes: {safe_text(what, secrets)}"
    encoding = next((v for k, v in capture.response_headers if k.lower() == "content-encoding"), "identity")
    if encoding.strip().lower() not in ("", "identity"):
        return f"the body came compressed (content-encoding {encoding}) although identity was asked for"
    if not capture.body:
        return "the response body is empty"
    return None


def _timing(capture: Capture) -> str:
    first = capture.chunks[0][0] if capture.chunks else None
    parts = [f"{len(capture.body)} B in {len(capture.boundaries)} reads"]
    if first is not None:
        parts.append(f"first byte {first:.3f} s")
    if capture.ended_at is not None:
        parts.append(f"done {capture.ended_at:.3f} s")
    return ", ".join(parts)


def _request_id(capture: Capture) -> str | None:
    for name, value in capture.response_headers:
        if name.endswith(("request-id", "requestid")):
            return value
    return None


def record_case(
    case: Case,
    out: Path,
    *,
    environ: Mapping[str, str],
    base_url: str | None,
    timeout: float,
) -> Outcome:
    """Record ``case`` into ``out`` (the module docstring says how)."""
    try:
        vendor_base = recorded_base(case)
    except ConformanceError as exc:
        return Outcome(case.id, "failed", exc.describe())
    host = vendor_base.partition("://")[2].split(":", 1)[0]
    vendor = vendor_for(case.api, case.flavour, host)
    if vendor is None:
        return Outcome(
            case.id, "skipped", f"no credentials are known for {host} (conformance/live/vendors.py)"
        )
    if vendor.auth == "sigv4" and not sigv4_available():
        return Outcome(
            case.id, "skipped", "botocore is not installed: Bedrock needs it for SigV4 (pip install botocore)"
        )
    creds = credentials(vendor, vendor_base, environ, base_url=base_url)
    if isinstance(creds, Missing):
        return Outcome(case.id, "skipped", creds.reason)
    return _record(case, out, creds, vendor_base=vendor_base, tagged=base_url is not None, timeout=timeout)


def _record(
    case: Case, out: Path, creds: Credentials, *, vendor_base: str, tagged: bool, timeout: float
) -> Outcome:
    request = build_request(case, creds.base_url, tag_case=tagged)
    recorded_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sent = send(request, creds, timeout=timeout)
    scrubbed = scrub_capture(sent.capture) if sent.capture is not None else None
    capture = scrubbed.capture if scrubbed is not None else None
    problem = _failure(capture, sent.error, creds.secrets)
    if problem is not None or capture is None or scrubbed is None:
        return Outcome(case.id, "failed", problem or "no response")
    draft = draft_recording(
        case,
        capture,
        vendor_base=vendor_base,
        sent_to=creds.base_url,
        recorded_at=recorded_at,
        recordable=not scrubbed.body_redacted,
    )
    try:
        folder = write_recording(out, draft, creds.secrets)
    except ConformanceError as exc:
        return Outcome(case.id, "failed", safe_text(exc.message, creds.secrets))
    except OSError as exc:
        return Outcome(case.id, "failed", f"cannot write the case: {exc.strerror or exc}")
    notes = [_timing(capture)]
    request_id = _request_id(capture)
    if request_id:
        notes.append(f"request id {safe_text(request_id, creds.secrets)}")
    if scrubbed.body_redacted:
        notes.append("request body values redacted, so the stored request is not recordable")
    if draft.decoder_problem:
        notes.append(f"warning: {safe_text(draft.decoder_problem, creds.secrets)}")
    return Outcome(case.id, "recorded", "; ".join(notes), folder)


def record_live(
    selection: Selection,
    out: Path,
    *,
    environ: Mapping[str, str],
    base_url: str | None = None,
    timeout: float = 120.0,
    report: Callable[[int, int, Outcome], None] = lambda index, total, outcome: None,
) -> list[Outcome]:
    """Record every selected case into ``out``; ``report(index, total, outcome)`` is
    called as each outcome is known."""
    outcomes: list[Outcome] = []
    total = len(selection.cases) + len(selection.broken)
    for index, outcome in enumerate(_outcomes(selection, out, environ, base_url, timeout), start=1):
        outcomes.append(outcome)
        report(index, total, outcome)
    return outcomes


def _outcomes(
    selection: Selection, out: Path, environ: Mapping[str, str], base_url: str | None, timeout: float
) -> Iterator[Outcome]:
    yield from selection.broken
    for case in selection.cases:
        yield record_case(case, out, environ=environ, base_url=base_url, timeout=timeout)


def summary(outcomes: Sequence[Outcome]) -> dict[str, int]:
    """How many outcomes of each status."""
    counts = {"recorded": 0, "skipped": 0, "failed": 0}
    for outcome in outcomes:
        counts[outcome.status] += 1
    return counts
