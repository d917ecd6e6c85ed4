"""Corpus cases: load, validate, read and write case folders (``cassettes/README.md``).

I/O: reads and writes case folders.  A case is a folder ``<api>/<case-name>/`` holding
``case.json`` (the manifest), ``cassette.yaml`` (a vcrpy cassette with one
interaction), ``stream.<ext>`` (the response body, raw) and ``expected.jsonl`` (the
expected canonical sequence).  :func:`load_case` checks the manifest against
``schemas/case.schema.json`` and the rules a schema cannot express; the readers check
what they read (sizes, sha256 digests, event counts).  Every problem raises
:class:`~conformance.errors.CaseError` naming the file and, where it can, the line.

The cassette is read and written with vcrpy's own YAML serializer, so it is exactly a
file vcrpy replays; the body is written as bytes, which YAML stores as ``!!binary``
(base64), so CRLF, a BOM, invalid UTF-8 and binary frames all survive.

A schema problem is reported at the line of the deepest value on its JSON path that
exists in ``case.json`` (:mod:`conformance._json_lines`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from vcr.request import Request as VcrRequest
from vcr.serialize import CASSETTE_FORMAT_VERSION
from vcr.serialize import deserialize as vcr_deserialize
from vcr.serializers import yamlserializer

from conformance._json_lines import line_of
from conformance.errors import CaseError, EventError, UsageError
from conformance.events import CANONICAL_VERSION, Event, JSONValue, dumps, loads
from conformance.registry import get_codec
from conformance.schemas import validate_json

__all__ = [
    "CASE_SCHEMA",
    "CASSETTES_ROOT",
    "STREAM_FILES",
    "Case",
    "CaseExpected",
    "CaseRequest",
    "CaseSource",
    "CaseStream",
    "case_body",
    "cassette_body",
    "cassette_yaml",
    "expected_events",
    "iter_cases",
    "load_case",
    "write_case",
]

CASE_SCHEMA = "case.schema.json"
MANIFEST = "case.json"
CASSETTE = "cassette.yaml"

#: The stream file's name for each framing.
STREAM_FILES = {
    "sse": "stream.sse",
    "ndjson": "stream.ndjson",
    "json-array": "stream.json",
    "eventstream": "stream.bin",
}

_HERE = Path(__file__).resolve().parent
#: The corpus folder: ``conformance/_cassettes`` when an installed wheel ships it, else
#: the checkout's ``cassettes/`` beside the package (as :func:`conformance.schemas.schema_dir`
#: finds the schemas).  Decided once, at import, with one ``is_dir`` check.
CASSETTES_ROOT = _HERE / "_cassettes" if (_HERE / "_cassettes").is_dir() else _HERE.parent / "cassettes"

_PROBLEM = re.compile(r"^\$((?:\.[^.\[\]:]+|\[\d+\])*): (.*)$", re.S)
_NOT_DECLARATIVE = re.compile(r"\bshould\b|^\s*tests?\b", re.I)


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseSource:
    """Where the stream comes from: ``recorded``, ``reframed``, ``synthetic``,
    ``imported`` (a user's vcrpy cassette: ``file``, ``interaction``, ``content_encoding``)
    or ``live`` (``conformance record --live``: ``url``, ``recorded_at``)."""

    kind: str
    repo: str | None = None
    path: str | None = None
    commit: str | None = None
    license: str | None = None
    sha256: str | None = None
    reference_file: str | None = None
    note: str | None = None
    scenario: str | None = None
    knobs: Mapping[str, JSONValue] | None = None
    file: str | None = None
    interaction: int | None = None
    content_encoding: str | None = None
    url: str | None = None
    recorded_at: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseStream:
    """The raw body file and its checksum."""

    file: str
    sha256: str
    bytes: int
    content_type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseRequest:
    """The (scrubbed) request that produced the stream."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: JSONValue
    recordable: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseExpected:
    """The expected canonical sequence's file and facts."""

    file: str
    canonical_version: int
    reviewed: bool
    events: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """One corpus case: the manifest's fields, typed, and the folder they came from."""

    folder: Path
    id: str
    api: str
    flavour: str
    framing: str
    description: str
    quirks: tuple[str, ...]
    tier: str
    source: CaseSource
    stream: CaseStream
    chunks: tuple[int, ...] | None
    request: CaseRequest
    expected: CaseExpected

    @property
    def manifest_path(self) -> Path:
        return self.folder / MANIFEST

    @property
    def cassette_path(self) -> Path:
        return self.folder / CASSETTE

    @property
    def stream_path(self) -> Path:
        return self.folder / self.stream.file

    @property
    def expected_path(self) -> Path:
        return self.folder / self.expected.file


# -- reading -------------------------------------------------------------------------------


def load_case(folder: Path | str) -> Case:
    """The case in ``folder``, its manifest validated (schema and extra rules)."""
    folder = Path(folder)
    path = folder / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseError(f"cannot read the manifest ({exc})", path=str(path)) from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseError(f"not JSON: {exc.msg}", path=str(path), line=exc.lineno) from None
    case = _parse_manifest(obj, folder, str(path), text)
    for file in (CASSETTE, case.stream.file, case.expected.file):
        if not (folder / file).is_file():
            raise CaseError(f"the case has no {file}", path=str(path))
    return case


def iter_cases(root: Path | str = CASSETTES_ROOT) -> Iterator[Case]:
    """Every case under ``root``, in the order of their folder paths."""
    root = Path(root)
    manifests = sorted(root.rglob(MANIFEST), key=lambda p: p.relative_to(root).parts)
    for manifest in manifests:
        yield load_case(manifest.parent)


def case_body(case: Case) -> bytes:
    """The stream file's bytes, checked against the manifest's size and sha256."""
    path = case.stream_path
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CaseError(f"cannot read the stream ({exc})", path=str(path)) from None
    _check_body(data, case, str(path))
    return data


def cassette_body(case: Case) -> bytes:
    """The response body of the cassette's one interaction, read with vcrpy's own YAML
    deserialisation; the interaction is checked against the manifest."""
    path = str(case.cassette_path)
    try:
        loaded = vcr_deserialize(case.cassette_path.read_text(encoding="utf-8"), yamlserializer)
    except Exception as exc:  # vcrpy and PyYAML raise many types for a broken cassette
        raise CaseError(f"vcrpy cannot load the cassette ({exc})", path=path) from None
    requests, responses = loaded[0], loaded[1]
    if len(requests) != 1:
        raise CaseError(f"a cassette holds one interaction, not {len(requests)}", path=path)
    request, response = requests[0], responses[0]
    want = case.request
    where = urlsplit(str(request.uri)).path
    if request.method != want.method or where != want.path or dict(request.query) != dict(want.query):
        got = f"{request.method} {where} {dict(request.query)}"
        raise CaseError(f"the request {got} is not the manifest's {want.method} {want.path}", path=path)
    status = _field(response, "status", "code")
    if status != 200:
        raise CaseError(f"the response status is {status!r}, not 200", path=path)
    headers = _field(response, "headers")
    content_type = [v for k, v in headers.items() if str(k).lower() == "content-type"] if headers else []
    if content_type != [[case.stream.content_type]]:
        raise CaseError(f"the response content-type {content_type} is not the manifest's", path=path)
    body = _field(response, "body", "string")
    if not isinstance(body, bytes):
        raise CaseError("the response body is not stored as bytes (!!binary)", path=path)
    _check_body(body, case, path)
    return body


def _field(obj: object, *keys: str) -> Any:
    """``obj[k1][k2]...``, or None where a level is missing or not a mapping."""
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def expected_events(case: Case) -> list[Event]:
    """The expected canonical sequence, one event per line; the count is checked."""
    path = case.expected_path
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseError(f"cannot read the expected sequence ({exc})", path=str(path)) from None
    if lines and lines[-1] == "":
        lines.pop()
    events = []
    for number, line in enumerate(lines, 1):
        try:
            events.append(loads(line))
        except EventError as exc:
            raise CaseError(exc.message, path=str(path), line=number) from None
    if len(events) != case.expected.events:
        msg = f"{len(events)} events, but the manifest says {case.expected.events}"
        raise CaseError(msg, path=str(path))
    return events


def _check_body(data: bytes, case: Case, path: str) -> None:
    if len(data) != case.stream.bytes:
        raise CaseError(f"{len(data)} bytes, but the manifest says {case.stream.bytes}", path=path)
    digest = hashlib.sha256(data).hexdigest()
    if digest != case.stream.sha256:
        raise CaseError(f"sha256 {digest} is not the manifest's {case.stream.sha256}", path=path)


# -- the manifest --------------------------------------------------------------------------


def _parse_manifest(obj: Any, folder: Path, path: str, text: str | None) -> Case:
    problems = validate_json(CASE_SCHEMA, obj)
    if problems:
        match = _PROBLEM.match(problems[0])
        raise CaseError("; ".join(problems), path=path, line=_line(match.group(1) if match else "", text))
    case = Case(
        folder=folder,
        id=obj["id"],
        api=obj["api"],
        flavour=obj["flavour"],
        framing=obj["framing"],
        description=obj["description"],
        quirks=tuple(obj["quirks"]),
        tier=obj["tier"],
        source=CaseSource(**obj["source"]),
        stream=CaseStream(**obj["stream"]),
        chunks=None if obj.get("chunks") is None else tuple(obj["chunks"]),
        request=CaseRequest(**obj["request"]),
        expected=CaseExpected(**obj["expected"]),
    )
    broken = list(_rule_problems(case))
    if broken:
        message = "; ".join(f"${where}: {problem}" for where, problem in broken)
        raise CaseError(message, path=path, line=_line(broken[0][0], text))
    return case


def _line(json_path: str, text: str | None) -> int | None:
    return None if text is None else line_of(text, json_path)


def _rule_problems(case: Case) -> Iterator[tuple[str, str]]:
    """The manifest's problems a schema cannot express, as (JSON path, message)."""
    parts = case.id.split("/")
    if case.id != f"{case.api}/{case.folder.name}" or list(case.folder.parts[-len(parts) :]) != parts:
        yield ".id", f"the id {case.id!r} is not <api>/<folder name> and the folder path ({case.folder})"
    try:
        codec = get_codec(case.api)
    except UsageError as exc:
        yield ".api", exc.message
    else:
        if case.flavour not in codec.flavours:
            yield ".flavour", f"{case.flavour!r} is not a flavour of {case.api} ({', '.join(codec.flavours)})"
        if case.framing not in codec.framings:
            yield ".framing", f"{case.framing!r} is not a framing of {case.api} ({', '.join(codec.framings)})"
    if _NOT_DECLARATIVE.search(case.description):
        yield ".description", "the description states what the stream shows (no 'should', no 'test')"
    if case.stream.file != STREAM_FILES[case.framing]:
        yield ".stream.file", f"a {case.framing} stream is stored as {STREAM_FILES[case.framing]}"
    if case.source.kind in ("recorded", "live") and case.source.sha256 != case.stream.sha256:
        yield (
            ".source.sha256",
            f"a {case.source.kind} stream is the body as recorded: the two sha256 digests differ",
        )
    source = case.source
    if source.kind == "imported" and not source.content_encoding and source.sha256 != case.stream.sha256:
        yield ".source.sha256", "an imported body that was not decompressed is the stream: the digests differ"
    if case.chunks is not None:
        bounds = [0, *case.chunks]
        if any(b <= a for a, b in itertools.pairwise(bounds)) or bounds[-1] > case.stream.bytes:
            yield ".chunks", f"chunk boundaries increase strictly, from 1 to {case.stream.bytes}"
    if case.request.recordable and case.request.body is None:
        yield ".request.recordable", "a case without a request body cannot be recordable"
    if case.expected.canonical_version != CANONICAL_VERSION:
        version = case.expected.canonical_version
        yield (
            ".expected.canonical_version",
            f"model version {version}; this package reads {CANONICAL_VERSION}",
        )


# -- writing -------------------------------------------------------------------------------


def write_case(
    folder: Path | str,
    manifest: Mapping[str, Any],
    body: bytes,
    events: Sequence[Event],
    *,
    base_url: str,
) -> list[Path]:
    """Write (or update) the case in ``folder``; returns the files that changed.

    ``manifest`` is case.json without what the data decides: ``stream.file``,
    ``stream.sha256``, ``stream.bytes``, ``expected.file``, ``expected.canonical_version``
    and ``expected.events`` are filled in here.  ``base_url`` is the scheme and host the
    cassette's request uri starts with (``https://api.openai.com``).  Everything is
    validated before anything is written; a file whose content is already right is left
    alone, and each changed file is written to a temporary file and renamed into place.
    """
    folder = Path(folder)
    draft = json.loads(json.dumps(manifest))
    derived = {"file": STREAM_FILES.get(draft.get("framing"), ""), "sha256": "", "bytes": len(body)}
    derived["sha256"] = hashlib.sha256(body).hexdigest()
    draft["stream"] = {**derived, **draft.get("stream", {}), **derived}  # derived keys first, and they win
    derived = {"file": "expected.jsonl", "canonical_version": CANONICAL_VERSION}
    draft["expected"] = {**derived, **draft.get("expected", {}), **derived, "events": len(events)}
    ordered = {f.name: draft[f.name] for f in fields(Case) if f.name in draft}  # the manifest's order
    case = _parse_manifest(ordered, folder, str(folder / MANIFEST), None)
    files = {
        MANIFEST: (json.dumps(ordered, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
        CASSETTE: cassette_yaml(case, body, base_url=base_url).encode("utf-8"),
        case.stream.file: body,
        case.expected.file: "".join(dumps(e) + "\n" for e in events).encode("utf-8"),
    }
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in files.items():
        target = folder / name
        if target.is_file() and target.read_bytes() == data:
            continue
        temporary = folder / f".{name}.tmp"
        temporary.write_bytes(data)
        os.replace(temporary, target)
        written.append(target)
    return written


def cassette_yaml(case: Case, body: bytes, *, base_url: str) -> str:
    """The vcrpy cassette (format version 1) of the case's one interaction, as YAML text."""
    query = f"?{urlencode(dict(case.request.query))}" if case.request.query else ""
    uri = f"{base_url.rstrip('/')}{case.request.path}{query}"
    sent = None if case.request.body is None else json.dumps(case.request.body, ensure_ascii=False).encode()
    request = VcrRequest(case.request.method, uri, sent, dict(case.request.headers))
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {"content-type": [case.stream.content_type]},
        "body": {"string": body},
    }
    data = {
        "version": CASSETTE_FORMAT_VERSION,
        "interactions": [{"request": request._to_dict(), "response": response}],
    }
    return str(yamlserializer.serialize(data))
