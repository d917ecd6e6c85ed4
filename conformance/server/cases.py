"""Corpus cases as loopback-server plans.

I/O: reads case folders (``case.json`` and the stream file) under a corpus root.  A case
id is its folder path below the root (``anthropic/messages/minimal-text-padded``), so a
case is found without walking the corpus; ids that are not of that shape are refused
before any file is touched.  Loaded cases and built plans are cached.  A plan may serve
the case as a drifting vendor would send it (``drift``: ``conformance.server.drift``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from conformance.cassettes import CASSETTES_ROOT, Case, case_body, load_case
from conformance.errors import CaseError, ConformanceError, UsageError
from conformance.server.drift import apply_drift, parse_mutations
from conformance.server.plan import Plan, plan_for_bytes
from conformance.server.routes import CASE_ID_PATTERN

__all__ = ["DEFAULT_CASE_NAMES", "default_case_id", "find_case", "plan_for_case"]

#: The case names tried, in order, when a request selects no case: a plain text answer.
DEFAULT_CASE_NAMES: tuple[str, ...] = ("synthetic-text", "minimal-text-padded", "text-only", "text-crlf")


def find_case(case_id: str, root: Path | str = CASSETTES_ROOT) -> Case:
    """The case ``case_id`` under ``root``; :class:`UsageError` if there is none (or the
    id is not a case id), :class:`CaseError` if its folder is broken."""
    if not CASE_ID_PATTERN.fullmatch(case_id):
        raise UsageError(f"{case_id!r} is not a case id (<vendor>/<api>/<name>, see `conformance list`)")
    return _load(str(Path(root)), case_id)


@lru_cache(maxsize=512)
def _load(root: str, case_id: str) -> Case:
    folder = Path(root) / case_id
    if not (folder / "case.json").is_file():
        raise UsageError(f"no case {case_id!r} under {root} (see `conformance list`)")
    return load_case(folder)


def default_case_id(api: str, root: Path | str = CASSETTES_ROOT, framing: str | None = None) -> str | None:
    """The case served for ``api`` (in ``framing``, when given) when a request names none:
    the first of :data:`DEFAULT_CASE_NAMES` that exists, else the first case in name order."""
    folder = Path(root) / api
    if not folder.is_dir():
        return None
    names = sorted(p.parent.name for p in folder.glob("*/case.json"))
    preferred = [n for n in DEFAULT_CASE_NAMES if n in names]
    for name in [*preferred, *names]:
        case_id = f"{api}/{name}"
        if framing is None:
            return case_id
        try:
            if find_case(case_id, root).framing == framing:
                return case_id
        except ConformanceError:
            continue
    return None


def plan_for_case(
    case: Case | str,
    *,
    chunking: str = "whole",
    delay_ms: float = 0.0,
    first_delay_ms: float = 0.0,
    reset_after: int | None = None,
    stall_after: int | None = None,
    root: Path | str = CASSETTES_ROOT,
    drift: Sequence[str] = (),
) -> Plan:
    """A plan streaming a corpus case (a :class:`Case`, or its id under ``root``): its
    body cut by ``chunking`` (``recorded`` uses the case's recorded boundaries), served
    with the content type its cassette recorded.  ``drift`` names mutations
    (``conformance.server.drift``) to apply to the body first; the plan then carries an
    ``x-conformance-drift`` header listing those that changed it (``none`` if none did)."""
    if isinstance(case, str):
        case = find_case(case, root)
    mutations = parse_mutations(drift)
    key = (
        str(case.folder),
        case.stream.sha256,
        chunking,
        delay_ms,
        first_delay_ms,
        reset_after,
        stall_after,
        mutations,
    )
    plan = _PLANS.get(key)
    if plan is None:
        plan = _plan(
            case,
            chunking=chunking,
            delay_ms=delay_ms,
            first_delay_ms=first_delay_ms,
            reset_after=reset_after,
            stall_after=stall_after,
            drift=mutations,
        )
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        _PLANS[key] = plan
    return plan


_MAX_PLANS = 256
_PLANS: dict[tuple[object, ...], Plan] = {}


def _plan(
    case: Case,
    *,
    chunking: str,
    delay_ms: float,
    first_delay_ms: float,
    reset_after: int | None,
    stall_after: int | None,
    drift: tuple[str, ...] = (),
) -> Plan:
    try:
        body = case_body(case)
    except CaseError as exc:
        raise UsageError(f"case {case.id}: {exc.describe()}") from None
    recorded = case.chunks
    headers: tuple[tuple[str, str], ...] = ()
    if drift:
        drifted = apply_drift(case.api, case.framing, body, drift)
        headers = (("x-conformance-drift", ",".join(drifted.applied) or "none"),)
        if drifted.body != body:
            body, recorded = drifted.body, None  # the recorded boundaries cut the old body
            if chunking.strip().lower() == "recorded":
                raise UsageError(f"case {case.id}: a drifted body has no recorded boundaries (use frames)")
    return plan_for_bytes(
        case.api,
        case.framing,
        body,
        chunking=chunking,
        recorded=recorded,
        delay_ms=delay_ms,
        first_delay_ms=first_delay_ms,
        reset_after=reset_after,
        stall_after=stall_after,
        content_type=case.stream.content_type,
        headers=headers,
        case_id=case.id,
    )
