"""Which plan answers a request to the loopback server.

I/O: reads case folders (``conformance.server.cases``).

1. A target under ``/_t/<token>/`` gets the token's plan (``LoopbackServer.expect``; with
   several plans registered together, the next one, the last repeating); a route that is
   not the plan's API gets a 404 in that vendor's shape, an unknown token a 404.
2. Otherwise (a person with curl) a corpus case, chosen by the ``x-conformance-case``
   header or the ``conformance-case`` query parameter, else by the model name when it
   names a case (a whole case id, or a case name of the route's API), else the server's
   ``default_plan`` when it is for the route's API, else its default case when that is
   one of the route's API and framing, else that API's default case for the framing
   (``conformance.server.cases.default_case_id``).  The knobs of :data:`KNOB_HEADERS`
   (or their query parameters) override chunking, delays, reset, stall, the drift
   mutations (``conformance.server.drift``; the header replaces the server's list, ``none``
   turns it off), or ask for the vendor's HTTP error instead.
3. An unknown route, an unknown case, a knob with a bad value or a request body that is
   not JSON is a :class:`RequestError`: the server answers it with a 404 or 400 in the
   vendor's own error shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.errors import ConformanceError, UsageError
from conformance.server.cases import default_case_id, find_case, plan_for_case
from conformance.server.drift import parse_mutations
from conformance.server.plan import Plan, error_plan
from conformance.server.routes import (
    Route,
    case_id_for_model,
    guess_api,
    match_route,
    model_from_body,
    parse_target,
)

__all__ = ["KNOB_HEADERS", "CurlDefaults", "RequestError", "choose_plan", "json_body"]

#: Request header -> query parameter, for the per-request knobs of curl mode.
KNOB_HEADERS: dict[str, str] = {
    "x-conformance-case": "conformance-case",
    "x-conformance-chunking": "conformance-chunking",
    "x-conformance-delay-ms": "conformance-delay-ms",
    "x-conformance-first-delay-ms": "conformance-first-delay-ms",
    "x-conformance-reset-after": "conformance-reset-after",
    "x-conformance-stall-after": "conformance-stall-after",
    "x-conformance-error": "conformance-error",
    "x-conformance-drift": "conformance-drift",
}


class RequestError(UsageError):
    """A request the server answers with a vendor error: the API whose shape, the status,
    and the message."""

    def __init__(self, api: str, status: int, message: str) -> None:
        super().__init__(message)
        self.api = api
        self.status = status


@dataclass(frozen=True, slots=True, kw_only=True)
class CurlDefaults:
    """What curl mode uses when a request does not say."""

    cases_root: Path
    chunking: str
    delay_ms: float = 0.0
    first_delay_ms: float = 0.0
    default_case: str | None = None
    default_plan: Plan | None = None
    drift: tuple[str, ...] = ()


def choose_plan(
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes,
    *,
    peek: Callable[[str], Plan | None],
    consume: Callable[[str, Plan], None],
    defaults: CurlDefaults,
) -> Plan:
    """The plan that answers a request (the module docstring says how it is chosen);
    :class:`RequestError` when the answer is a vendor error.  ``peek(token)`` is the
    token's next plan, ``consume(token, plan)`` moves the token on to its following one."""
    route = match_route(method, target)
    parsed = parse_target(target)
    if parsed.token is not None:
        plan = peek(parsed.token)
        if plan is None:
            api = route.api if route is not None else guess_api(parsed.path)
            raise RequestError(
                api, 404, f"unknown conformance token {parsed.token!r} (expired or never issued)"
            )
        if route is None or (plan.api is not None and route.api != plan.api):
            api = plan.api or guess_api(parsed.path)
            raise RequestError(api, 404, f"Invalid URL ({method} {parsed.path})")
        json_body(route.api, body)
        consume(parsed.token, plan)
        return plan
    if route is None:
        raise RequestError(guess_api(parsed.path), 404, f"Invalid URL ({method} {parsed.path})")
    request = json_body(route.api, body)
    return _curl_plan(route, headers, request, defaults)


def _curl_plan(route: Route, headers: dict[str, str], request: Any, defaults: CurlDefaults) -> Plan:
    def knob(header: str) -> str | None:
        value = headers.get(header)
        return value if value is not None else route.query.get(KNOB_HEADERS[header])

    error = knob("x-conformance-error")
    if error is not None:
        status = _int_knob(route.api, "x-conformance-error", error)
        try:
            return error_plan(route.api, status)
        except UsageError as exc:
            raise RequestError(route.api, 400, exc.message) from None
    case_id = knob("x-conformance-case")
    if case_id is None:
        case_id = _case_from_model(route, request, defaults.cases_root)
    plan = defaults.default_plan
    if case_id is None and plan is not None and plan.api in (None, route.api):
        return plan
    if case_id is None:
        default = defaults.default_case
        if default is not None and default.startswith(route.api + "/"):
            case_id = default
        if case_id is None or find_case(case_id, defaults.cases_root).framing != route.framing:
            case_id = default_case_id(route.api, defaults.cases_root, route.framing)
    if case_id is None:
        raise RequestError(route.api, 404, f"no case for {route.api} under {defaults.cases_root}")
    try:
        case = find_case(case_id, defaults.cases_root)
    except UsageError as exc:
        raise RequestError(route.api, 404, exc.message) from None
    if case.api != route.api:
        raise RequestError(route.api, 404, f"case {case.id} is a {case.api} stream, not one of {route.path}")
    if case.framing != route.framing:
        hint = "with ?alt=sse" if case.framing == "sse" else "without alt=sse"
        raise RequestError(route.api, 404, f"case {case.id} is framed {case.framing}: request it {hint}")
    chunking = knob("x-conformance-chunking") or defaults.chunking
    delay_ms = _float_knob(
        route.api, "x-conformance-delay-ms", knob("x-conformance-delay-ms"), defaults.delay_ms
    )
    first_ms = knob("x-conformance-first-delay-ms")
    first_delay_ms = _float_knob(route.api, "x-conformance-first-delay-ms", first_ms, defaults.first_delay_ms)
    reset_after = _opt_int(route.api, "x-conformance-reset-after", knob("x-conformance-reset-after"))
    stall_after = _opt_int(route.api, "x-conformance-stall-after", knob("x-conformance-stall-after"))
    drift = knob("x-conformance-drift")
    try:
        return plan_for_case(
            case,
            chunking=chunking,
            delay_ms=delay_ms,
            first_delay_ms=first_delay_ms,
            reset_after=reset_after,
            stall_after=stall_after,
            drift=defaults.drift if drift is None else parse_mutations(drift),
        )
    except UsageError as exc:
        raise RequestError(route.api, 400, exc.message) from None


def _case_from_model(route: Route, request: Any, root: Path) -> str | None:
    candidate = case_id_for_model(route.api, route.model or model_from_body(request))
    if candidate is None:
        return None
    try:
        find_case(candidate, root)
    except (UsageError, ConformanceError):
        return None
    return candidate


def json_body(api: str, body: bytes) -> Any:
    """The request body as JSON, or the vendor's 400."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        shown = body[:40].decode("utf-8", "replace")
        raise RequestError(api, 400, f"the request body is not JSON: {shown!r}") from None


def _int_knob(api: str, name: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise RequestError(api, 400, f"{name} must be an integer, not {text!r}") from None


def _opt_int(api: str, name: str, text: str | None) -> int | None:
    return None if text is None else _int_knob(api, name, text)


def _float_knob(api: str, name: str, text: str | None, default: float) -> float:
    if text is None:
        return default
    try:
        return float(text.strip())
    except ValueError:
        raise RequestError(api, 400, f"{name} must be a number of milliseconds, not {text!r}") from None
