"""Send one live request through the recording transport and return its capture.

I/O: the network (httpx, through :class:`conformance.capture.CaptureRecorder`, which keeps
every chunk as the transport delivered it, with its arrival time).

httpx is not a core dependency: it comes with the ``live`` extra
(``pip install 'llm-stream-conformance[live]'``) and is imported only here, when a request
is about to be sent.  Credentials are added to the headers here, at the last moment, and
exist nowhere else but in memory: the capture this returns still holds them and must go
through :func:`conformance.live.scrub.scrub_capture` before anything is written.  Bedrock
requests are signed with SigV4 by botocore (:func:`sigv4_available` says whether it is
installed).  Redirects are not followed (a key must not travel to another host), and the
body is read raw (``accept-encoding: identity`` was asked for).
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any

from conformance.capture import Capture, CaptureRecorder
from conformance.errors import UsageError
from conformance.live.request import LiveRequest
from conformance.live.vendors import AwsKeys, Credentials

__all__ = ["Sent", "require_httpx", "send", "sigv4_available"]

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Sent:
    """The capture of the exchange (None if the request never reached the transport)
    and the client-side error, if any (``ReadTimeout: ...``)."""

    capture: Capture | None
    error: str | None


def require_httpx() -> Any:
    """The httpx module; :class:`UsageError` naming the extra when it is not installed."""
    try:
        return importlib.import_module("httpx")
    except ImportError:
        raise UsageError(
            "conformance record --live sends requests with httpx, which is not installed: "
            "pip install 'llm-stream-conformance[live]'"
        ) from None


def sigv4_available() -> bool:
    """Whether botocore (SigV4 signing for Bedrock) is installed."""
    return importlib.util.find_spec("botocore") is not None


def _signed(request: LiveRequest, headers: Headers, aws: AwsKeys) -> Headers:
    """``headers`` plus the SigV4 ones (``authorization``, ``x-amz-date``, and
    ``x-amz-security-token`` for session credentials) for ``bedrock`` in ``aws.region``."""
    from botocore.auth import SigV4Auth  # noqa: PLC0415  (optional: only Bedrock needs it)
    from botocore.awsrequest import AWSRequest  # noqa: PLC0415
    from botocore.credentials import Credentials as BotoCredentials  # noqa: PLC0415

    aws_request = AWSRequest(method=request.method, url=request.url, data=request.body, headers=dict(headers))
    SigV4Auth(BotoCredentials(aws.access_key, aws.secret_key, aws.token), "bedrock", aws.region).add_auth(
        aws_request
    )
    return tuple((str(k).lower(), str(v)) for k, v in aws_request.headers.items())


def send(request: LiveRequest, credentials: Credentials, *, timeout: float) -> Sent:
    """Send ``request`` with ``credentials`` and read the whole response body."""
    httpx = require_httpx()
    headers: Headers = (*request.headers, *credentials.headers)
    if credentials.aws is not None:
        headers = _signed(request, headers, credentials.aws)
    recorder = CaptureRecorder()
    transport = recorder.wrap(httpx.HTTPTransport())
    error = None
    try:
        with (
            httpx.Client(
                transport=transport, timeout=httpx.Timeout(timeout), follow_redirects=False
            ) as client,
            client.stream(
                request.method, request.url, headers=list(headers), content=request.body
            ) as response,
        ):
            for _ in response.iter_raw():
                pass
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    captures = recorder.captures
    return Sent(captures[-1] if captures else None, error)
