"""``conformance import-vcr``: turn one interaction of a user's vcrpy cassette into a corpus case.

I/O: :func:`draft_case` is pure (cassette text in, a :class:`Draft` out); the driver
:func:`import_cassette` reads the cassette file, writes the case folder
(:func:`conformance.cassettes.write_case`) and checks it (:func:`conformance.check.check_path`);
:func:`add_subcommand` registers the command line, whose handler prints to stdout/stderr.

What an import does, in order:

1. Load the cassette the way vcrpy does: its own YAML (or, for ``.json``, JSON) serializer,
   ``Request._from_dict`` and ``convert_to_bytes``, so a body stored as text or as
   ``!!binary`` gives the bytes vcrpy replays.  vcrpy's legacy httpx layout
   (``status_code``/``content``) is read as vcrpy reads it.
2. Choose the interaction: ``--interaction N`` (0-based, as in ``interactions[N]``), else
   the only one whose response is a stream (``text/event-stream``, ``application/x-ndjson``,
   ``application/stream+json``, ``application/vnd.amazon.eventstream``, or
   ``application/json`` from a ``:streamGenerateContent`` path: Gemini's JSON array).
   Several streams: a usage error that lists them.  Its status must be 200.
3. Decompress with vcrpy's ``decode_response`` (gzip, deflate; ``br`` only when the
   ``brotli`` or ``brotlicffi`` package is installed, else a usage error saying so).
   Like vcrpy, a body that does not decompress is taken as already decoded.
4. Scrub: request headers are cut down to ``content-type`` and ``accept``; credential query
   parameters (``key``, ``api-key``, ``api_key``, ``access_token``, ``x-goog-api-key``...,
   and any the secret scanner flags) and user info leave the uri; the request body is
   kept only when it is a JSON object in which :mod:`conformance.secrets` finds nothing.
   A secret in the response body is never edited away: the import is refused, naming the
   byte offset.  Every scrub is reported (:attr:`Draft.scrubbed`).
5. Draft the expected sequence with the API's reference decoder, marked
   ``"reviewed": false``.  A stream the decoder finds truncated or malformed is imported
   all the same (a cut stream is a valid case) with a warning; a stream in which the
   decoder recognises nothing at all is refused (the ``--api`` is most likely wrong).

Framing comes from ``--framing`` or the content type; flavour from ``--flavour`` or the
host (``api.deepseek.com`` is ``deepseek``...), else the codec's default.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import yaml
from vcr.filters import decode_response
from vcr.request import Request as VcrRequest
from vcr.serializers import jsonserializer, yamlserializer
from vcr.serializers.compat import convert_to_bytes

from conformance.cassettes import CASSETTES_ROOT, STREAM_FILES, write_case
from conformance.check import Report, check_path
from conformance.errors import CaseError, UsageError
from conformance.events import Error, ErrorCategory, Event, Unknown
from conformance.registry import api_ids, get_codec
from conformance.secrets import Finding, scan

__all__ = ["STREAM_CONTENT_TYPES", "Draft", "Imported", "add_subcommand", "draft_case", "import_cassette"]

#: Response media types that mean a stream, and the framing each implies.
#: ``application/json`` is Gemini's streamed JSON array; it counts as a stream only from a
#: ``:streamGenerateContent`` path.
STREAM_CONTENT_TYPES = {
    "text/event-stream": "sse",
    "application/x-ndjson": "ndjson",
    "application/stream+json": "ndjson",
    "application/vnd.amazon.eventstream": "eventstream",
    "application/json": "json-array",
}
_GEMINI_STREAM = ":streamGenerateContent"
#: The content type written when the interaction recorded none (``--framing`` given).
_DEFAULT_CONTENT_TYPES = {
    "sse": "text/event-stream",
    "ndjson": "application/x-ndjson",
    "json-array": "application/json",
    "eventstream": "application/vnd.amazon.eventstream",
}
#: Query parameters that carry credentials (lowercase); removed from the uri.
_SECRET_QUERY = frozenset(
    {"key", "api-key", "api_key", "apikey", "access_token", "auth_token", "token", "x-goog-api-key"}
)
_KEPT_HEADERS = ("content-type", "accept")
#: Host (or host suffix, with a leading dot) -> flavour, for APIs several servers speak.
_FLAVOUR_HOSTS = {
    "api.deepseek.com": "deepseek",
    "api.groq.com": "groq",
    "openrouter.ai": "openrouter",
    ".openai.azure.com": "azure",
    "api.mistral.ai": "mistral",
    "api.x.ai": "xai",
    "aiplatform.googleapis.com": "vertex",
    "-aiplatform.googleapis.com": "vertex",
}
_OLLAMA_PATHS = {"/api/generate": "generate", "/api/chat": "chat"}
_CASE_NAME = re.compile(r"^[a-z0-9]+(?:[-.][a-z0-9]+)*$")
_NOT_NEUTRAL = re.compile(r"\bshould\b|\btests? that\b", re.IGNORECASE)
_DESCRIPTION_MAX = 70


@dataclass(frozen=True, slots=True)
class Draft:
    """A case ready to be written: the manifest (without what ``write_case`` derives), the
    body, the drafted sequence, the cassette's ``base_url``, and what to tell the user."""

    name: str
    manifest: dict[str, Any]
    body: bytes
    events: list[Event]
    base_url: str
    scrubbed: list[str] = field(default_factory=list)  # what was removed, never the values
    warnings: list[str] = field(default_factory=list)  # a malformed stream, a guessed setting
    notes: list[str] = field(default_factory=list)  # what was inferred (flavour, framing)


@dataclass(frozen=True, slots=True)
class Imported:
    """The outcome of :func:`import_cassette`: the draft, its folder, and the check of it."""

    draft: Draft
    folder: Path
    written: list[Path]
    report: Report


@dataclass(frozen=True, slots=True)
class _Interaction:
    index: int
    request: VcrRequest
    response: dict[str, Any]

    @property
    def status(self) -> object:
        status = self.response.get("status")
        return status.get("code") if isinstance(status, dict) else None

    @property
    def content_type(self) -> str | None:
        return _header(self.response, "content-type")

    @property
    def path(self) -> str:
        return urlsplit(str(self.request.uri)).path

    def is_stream(self) -> bool:
        media = _media_type(self.content_type)
        if media == "application/json":
            return _GEMINI_STREAM in self.path
        return media in STREAM_CONTENT_TYPES

    def describe(self) -> str:
        shown = self.content_type or "no content-type"
        return f"#{self.index} {self.request.method} {self.path} -> {self.status} {shown}"


# -- the pure part ------------------------------------------------------------------------


def draft_case(
    text: str,
    *,
    source: str,
    api: str,
    flavour: str | None = None,
    framing: str | None = None,
    name: str | None = None,
    interaction: int | None = None,
) -> Draft:
    """The case drafted from the cassette ``text`` read from the file ``source`` (its name
    goes into the manifest; it names the file in errors).  UsageError for bad options or
    an ambiguous choice, CaseError for a cassette that cannot give a case."""
    codec = get_codec(api)  # UsageError naming the valid ids
    file_name = Path(source).name
    name = _case_name(file_name, name)
    chosen = _choose(_interactions(text, source), interaction, source)
    where = f"interaction {chosen.index}"
    if chosen.status != 200:
        msg = (
            f"{where}: the response status is {chosen.status!r}, not 200 (a case is a streamed 200 response)"
        )
        raise CaseError(msg, path=source)
    scrubbed: list[str] = []
    warnings: list[str] = []
    notes: list[str] = []
    original, body, encoding = _body(chosen, source, notes)
    framing = _framing(chosen, framing, source, notes)
    flavour = _flavour(codec.flavours, chosen, flavour, notes)
    decoder = codec.new_decoder(flavour, framing=framing)  # UsageError: a framing the API lacks
    _refuse_secrets_in_stream(body, source, where)
    base_url, method, path, query = _request_line(chosen, source, scrubbed)
    headers = _request_headers(chosen.request, scrubbed)
    request_body = _request_body(chosen.request, scrubbed)
    events = [*decoder.feed(body), *decoder.close()]
    _judge(events, f"{source}: {where}: the {api} reference decoder ({flavour}, {framing})", warnings)
    content_type = chosen.content_type or _DEFAULT_CONTENT_TYPES[framing]
    if chosen.content_type is None:
        notes.append(f"the response has no content-type: {content_type} written for the {framing} framing")
    source_entry: dict[str, Any] = {
        "kind": "imported",
        "file": file_name,
        "interaction": chosen.index,
        "sha256": hashlib.sha256(original).hexdigest(),
    }
    if encoding is not None:
        source_entry["content_encoding"] = encoding
    manifest: dict[str, Any] = {
        "id": f"{api}/{name}",
        "api": api,
        "flavour": flavour,
        "framing": framing,
        "description": _description(file_name, chosen.index),
        "quirks": [],
        "tier": "required",
        "source": source_entry,
        "stream": {"content_type": content_type},
        "chunks": None,
        "request": {
            "method": method,
            "path": path,
            "query": query,
            "headers": headers,
            "body": request_body,
            "recordable": False,
        },
        "expected": {"reviewed": False},
    }
    _refuse_secrets_in_manifest(manifest, source, where)
    return Draft(name, manifest, body, events, base_url, scrubbed, warnings, notes)


def _case_name(file_name: str, name: str | None) -> str:
    if name is not None:
        if not _CASE_NAME.fullmatch(name):
            raise UsageError(f"--name {name!r}: a case name is lowercase letters and digits joined by - or .")
        return name
    stem = file_name.rsplit(".", 1)[0].lower()
    slug = re.sub(r"[^a-z0-9.]+", "-", stem)
    slug = re.sub(r"[-.]*([-.])[-.]*", r"\1", slug).strip("-.")
    slug = slug.removeprefix("test-") if slug != "test" else slug  # pytest-recording: test_<name>.yaml
    if not _CASE_NAME.fullmatch(slug):
        raise UsageError(f"cannot make a case name of {file_name!r}: give --name NAME")
    return slug


def _description(file_name: str, index: int) -> str:
    """``imported from FILE interaction N``, the file name shortened to fit 70 characters."""
    tail = f" interaction {index}"
    head = "imported from "
    room = _DESCRIPTION_MAX - len(head) - len(tail)
    shown = file_name if len(file_name) <= room else file_name[: room - 1] + "…"
    text = f"{head}{shown}{tail}"
    return f"imported from a vcrpy cassette,{tail}" if _NOT_NEUTRAL.search(text) else text


def _interactions(text: str, source: str) -> list[_Interaction]:
    """Every interaction, loaded as ``vcr.serialize.deserialize`` loads it."""
    serializer: Any = jsonserializer if source.endswith(".json") else yamlserializer
    try:
        data = serializer.deserialize(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = None if mark is None else mark.line + 1
        raise CaseError(f"unreadable YAML: {exc.problem or exc.context}", path=source, line=line) from None
    except yaml.YAMLError as exc:
        raise CaseError(f"unreadable YAML: {exc}", path=source) from None
    except json.JSONDecodeError as exc:
        raise CaseError(f"unreadable JSON: {exc.msg}", path=source, line=exc.lineno) from None
    if isinstance(data, list) and data and isinstance(data[0], dict) and "request" in data[0]:
        raise CaseError("a cassette of vcrpy before 1.0, which vcrpy no longer loads", path=source)
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        raise CaseError("not a vcrpy cassette: no 'interactions' list at the top level", path=source)
    if not data["interactions"]:
        raise CaseError("the cassette has no interactions", path=source)
    loaded = []
    for index, raw in enumerate(data["interactions"]):
        if not (isinstance(raw, dict) and isinstance(raw.get("request"), dict)):
            raise CaseError(f"interaction {index} has no request mapping", path=source)
        if not isinstance(raw.get("response"), dict):
            raise CaseError(f"interaction {index} has no response mapping", path=source)
        try:
            request = VcrRequest._from_dict(raw["request"])
        except Exception as exc:  # vcrpy raises TypeError/KeyError... for a broken request
            raise CaseError(
                f"interaction {index}: vcrpy cannot load the request ({exc})", path=source
            ) from None
        loaded.append(_Interaction(index, request, _response(raw["response"])))
    return loaded


def _response(raw: dict[str, Any]) -> dict[str, Any]:
    """The response as vcrpy replays it: the legacy httpx layout restructured as vcrpy's
    httpx stub does, the body turned into bytes by ``convert_to_bytes``."""
    response = copy.deepcopy(raw)
    if "status_code" in response:
        response = {
            "status": {"code": response["status_code"]},
            "headers": response.get("headers") or {},
            "body": {"string": response.get("content")},
        }
    headers = response.get("headers")
    if isinstance(headers, dict):  # one value per name, as hand-written cassettes have it
        response["headers"] = {k: v if isinstance(v, list) else [v] for k, v in headers.items()}
    result: dict[str, Any] = convert_to_bytes(response)
    return result


def _header(response: Mapping[str, Any], name: str) -> str | None:
    """The first value of a response header (vcrpy keeps a list per name), any case."""
    headers = response.get("headers")
    if not isinstance(headers, dict):
        return None
    for key, value in headers.items():
        if str(key).lower() == name:
            values = value if isinstance(value, list) else [value]
            return str(values[0]) if values else None
    return None


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _choose(interactions: list[_Interaction], wanted: int | None, source: str) -> _Interaction:
    listing = "; ".join(i.describe() for i in interactions)
    if wanted is not None:
        if not 0 <= wanted < len(interactions):
            msg = f"{source}: --interaction {wanted}: the cassette has {len(interactions)} ({listing})"
            raise UsageError(msg)
        return interactions[wanted]
    streams = [i for i in interactions if i.is_stream()]
    if len(streams) == 1:
        return streams[0]
    if not streams:
        msg = f"no interaction is a stream ({listing}); choose one with --interaction N"
        raise CaseError(msg, path=source)
    shown = "; ".join(i.describe() for i in streams)
    raise UsageError(
        f"{source}: {len(streams)} interactions are streams ({shown}): choose one with --interaction N"
    )


def _body(chosen: _Interaction, source: str, notes: list[str]) -> tuple[bytes, bytes, str | None]:
    """(the body as vcrpy loads it, the body decompressed, the encoding undone or None)."""
    where = f"interaction {chosen.index}"
    body = _raw_body(chosen.response)
    if not isinstance(body, bytes):
        raise CaseError(f"{where}: the response body is not text or bytes", path=source)
    encoding = _header(chosen.response, "content-encoding")
    if encoding is None or encoding.strip().lower() in ("", "identity"):
        return body, body, None
    decoded = decode_response(chosen.response)
    if _header(decoded, "content-encoding") == encoding:  # vcrpy has no decompressor for it
        if encoding.strip().lower() == "br":
            msg = (
                f"{source}: {where}: content-encoding br: vcrpy decompresses brotli only when the brotli "
                "(or brotlicffi) package is installed; pip install brotli, then import again"
            )
            raise UsageError(msg)
        raise CaseError(f"{where}: content-encoding {encoding!r}: vcrpy cannot decompress it", path=source)
    plain = _raw_body(decoded)
    if not isinstance(plain, bytes) or plain == body:
        notes.append(
            f"content-encoding {encoding}, but the body is not compressed: kept as is (as vcrpy does)"
        )
        return body, body, None
    notes.append(f"content-encoding {encoding}: decompressed with vcrpy, {len(body)} -> {len(plain)} bytes")
    return body, plain, encoding


def _raw_body(response: Mapping[str, Any]) -> object:
    body = response.get("body")
    value = body.get("string") if isinstance(body, dict) else body
    return b"" if value is None else value


def _framing(chosen: _Interaction, framing: str | None, source: str, notes: list[str]) -> str:
    if framing is not None:
        return framing
    media = _media_type(chosen.content_type)
    inferred = STREAM_CONTENT_TYPES.get(media)
    if inferred is None:
        msg = f"{source}: interaction {chosen.index}: content type {media or '(none)'} names no framing"
        raise UsageError(msg + f": give --framing ({', '.join(STREAM_FILES)})")
    notes.append(f"framing {inferred} (from the content type {media}; --framing to change)")
    return inferred


def _flavour(flavours: Sequence[str], chosen: _Interaction, flavour: str | None, notes: list[str]) -> str:
    if flavour is not None:
        return flavour  # the codec checks it
    host = (urlsplit(str(chosen.request.uri)).hostname or "").lower()
    for suffix, candidate in _FLAVOUR_HOSTS.items():
        matches = host.endswith(suffix) if suffix.startswith((".", "-")) else host == suffix
        if matches and candidate in flavours:
            notes.append(f"flavour {candidate} (from the host {host}; --flavour to change)")
            return candidate
    candidate = _OLLAMA_PATHS.get(chosen.path.rstrip("/"), "")
    if candidate in flavours:
        notes.append(f"flavour {candidate} (from the path {chosen.path}; --flavour to change)")
        return candidate
    if len(flavours) > 1:
        notes.append(f"flavour {flavours[0]} (the API's default; --flavour to change)")
    return flavours[0]


def _refuse_secrets_in_stream(body: bytes, source: str, where: str) -> None:
    """CaseError at the first secret-like string of the body, by byte offset: the stream's
    bytes are the case, so they are never edited."""
    text = body.decode("utf-8", "surrogateescape")  # one character per undecodable byte
    findings = scan(text)
    if findings:
        offset = _byte_offset(text, findings[0])
        msg = (
            f"{where}: the response body holds a {findings[0].describe()} at byte {offset}: refused, since "
            "a case keeps the bytes unedited (remove it from the recording, or record again)"
        )
        raise CaseError(msg, path=source)


def _byte_offset(text: str, finding: Finding) -> int:
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    index = starts[finding.line - 1] + finding.column - 1
    return len(text[:index].encode("utf-8", "surrogateescape"))


def _request_line(
    chosen: _Interaction, source: str, scrubbed: list[str]
) -> tuple[str, str, str, dict[str, str]]:
    """(scheme://host[:port], method, path, query) with credentials taken out of the uri."""
    request, where = chosen.request, f"interaction {chosen.index}"
    method = str(request.method).upper()
    if method not in ("GET", "POST"):
        raise CaseError(f"{where}: a {method} request: a case is a GET or POST", path=source)
    parts = urlsplit(str(request.uri))
    _, at, hostport = parts.netloc.rpartition("@")
    if at:
        scrubbed.append("the user info before @ in the uri")
    if not parts.scheme or not hostport:
        raise CaseError(
            f"{where}: the request uri {parts.scheme}://{hostport} has no scheme or host", path=source
        )
    if parts.fragment:
        scrubbed.append("the uri's #fragment (never sent to a server)")
    query: dict[str, str] = {}
    for key, value in parse_qsl(parts.query):  # as vcrpy's Request.query reads it
        if key.lower() in _SECRET_QUERY or scan(f"?{urlencode({key: value})}"):
            scrubbed.append(f"query parameter {key}")
            continue
        if key in query:
            raise CaseError(
                f"{where}: the query repeats {key!r}; a case keeps one value per name", path=source
            )
        query[key] = value
    return f"{parts.scheme}://{hostport}", method, parts.path or "/", query


def _request_headers(request: VcrRequest, scrubbed: list[str]) -> dict[str, str]:
    kept: dict[str, str] = {}
    dropped = []
    for key, value in request.headers.items():
        name = str(key).lower()
        if name in _KEPT_HEADERS and not scan(str(value)):
            kept[name] = str(value)
        else:
            dropped.append(name)
    if dropped:
        scrubbed.append(f"request headers {', '.join(sorted(dropped))}")
    return {name: kept[name] for name in _KEPT_HEADERS if name in kept}


def _request_body(request: VcrRequest, scrubbed: list[str]) -> dict[str, Any] | None:
    """The request body as a JSON object, or None (reported) when it is not one or when the
    secret scanner finds anything in it."""
    raw = request.body_bytes  # a file or iterator body joined, as vcrpy sends it
    if raw is None or raw in (b"", ""):
        return None
    try:
        text = raw if isinstance(raw, str) else bytes(raw).decode("utf-8")
        obj = json.loads(text, parse_constant=_no_constant)
    except (TypeError, ValueError):
        scrubbed.append("the request body (not JSON)")
        return None
    if not isinstance(obj, dict):
        scrubbed.append(f"the request body (a JSON {type(obj).__name__}, not an object)")
        return None
    findings = scan(text)
    if findings:
        first = findings[0]
        scrubbed.append(
            f"the request body (it holds a {first.describe()} at line {first.line} column {first.column})"
        )
        return None
    return obj


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _judge(events: Sequence[Event], decoder: str, warnings: list[str]) -> None:
    """Refuse a stream the ``decoder`` (described) recognises nothing in; warn about a
    malformed one."""
    last = events[-1] if events else None
    if not isinstance(last, Error) or last.category not in (ErrorCategory.DECODE, ErrorCategory.PROTOCOL):
        return
    if all(isinstance(e, Unknown | Error) for e in events):
        msg = f"{decoder} recognises nothing in the body ({last.category}: {last.message}); is --api right?"
        raise UsageError(msg)
    warnings.append(
        f"the reference decoder reports a {last.category} error: {last.message}. Imported anyway (a cut "
        "or broken stream is a valid case); review the draft before setting expected.reviewed"
    )


def _refuse_secrets_in_manifest(manifest: Mapping[str, Any], source: str, where: str) -> None:
    findings = scan(json.dumps(manifest, indent=2, ensure_ascii=False))
    if findings:
        raise CaseError(f"{where}: the request still holds a {findings[0].describe()}: refused", path=source)


# -- the driver ---------------------------------------------------------------------------


def import_cassette(
    path: Path | str,
    *,
    api: str,
    flavour: str | None = None,
    framing: str | None = None,
    name: str | None = None,
    interaction: int | None = None,
    root: Path | str = CASSETTES_ROOT,
    force: bool = False,
) -> Imported:
    """Read the cassette at ``path``, write its case under ``root/<api>/<name>/`` and check
    it.  An existing folder is replaced only with ``force`` (UsageError otherwise)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseError(f"cannot read the cassette ({exc})", path=str(path)) from None
    draft = draft_case(
        text, source=str(path), api=api, flavour=flavour, framing=framing, name=name, interaction=interaction
    )
    folder = Path(root) / api / draft.name
    if folder.exists() and not force:
        raise UsageError(f"{folder} exists: choose another --name, or --force to replace it")
    if folder.is_dir():  # --force: a stream file of another framing would be left as an orphan
        keep = STREAM_FILES[draft.manifest["framing"]]
        for stale in set(STREAM_FILES.values()) - {keep}:
            (folder / stale).unlink(missing_ok=True)
    written = write_case(folder, draft.manifest, draft.body, draft.events, base_url=draft.base_url)
    return Imported(draft, folder, written, check_path(folder))


# -- the command line ---------------------------------------------------------------------


def add_subcommand(sub: Any, prog: str = "conformance") -> None:
    """Register ``import-vcr`` on the command line's subparsers (``sub``)."""
    parser = sub.add_parser(
        "import-vcr",
        help="turn one interaction of your own vcrpy / pytest-recording cassette into a corpus case",
        description="Import a streamed response from a vcrpy cassette as a case folder "
        "<root>/<api>/<name>/ with an unreviewed expected sequence drafted by the reference decoder. "
        "Credentials are scrubbed from the request (reported on stderr); a secret in the response body "
        "refuses the import. Exit 1 on a bad cassette, 2 on a usage error.",
    )
    parser.add_argument("file", help="the vcrpy cassette (.yaml, or .json for vcrpy's JSON serializer)")
    ids = api_ids()
    parser.add_argument("--api", required=True, choices=ids, metavar="API", help=f"one of {', '.join(ids)}")
    parser.add_argument(
        "--flavour", help="the server variant (default: from the host, else the API's default)"
    )
    parser.add_argument("--framing", choices=list(STREAM_FILES), help="default: from the content type")
    parser.add_argument("--name", help="the case name (default: the file name, without a test_ prefix)")
    parser.add_argument("--interaction", type=int, metavar="N", help="0-based; default: the only stream")
    parser.add_argument(
        "--root", default=str(CASSETTES_ROOT), help="the corpus folder (default: the bundled one)"
    )
    parser.add_argument("--force", action="store_true", help="replace an existing case folder")
    parser.set_defaults(handler=lambda args: _command(args, prog))


def _command(args: argparse.Namespace, prog: str) -> int:
    here = f"{prog} import-vcr"
    try:
        result = import_cassette(
            args.file,
            api=args.api,
            flavour=args.flavour,
            framing=args.framing,
            name=args.name,
            interaction=args.interaction,
            root=args.root,
            force=args.force,
        )
    except CaseError as exc:
        print(f"{here}: error: {exc.describe()}", file=sys.stderr)
        return 1
    draft = result.draft
    for line in draft.notes:
        print(f"{here}: {line}", file=sys.stderr)
    for line in draft.scrubbed:
        print(f"{here}: scrubbed {line}", file=sys.stderr)
    for line in draft.warnings:
        print(f"{here}: WARNING: {line}", file=sys.stderr)
    manifest = draft.manifest
    print(
        f"{result.folder}: {manifest['id']} ({manifest['flavour']}, {manifest['framing']}), "
        f"{len(draft.body)} bytes, {len(draft.events)} events drafted (expected.reviewed: false)"
    )
    for problem in result.report.problems:
        print(problem.render())
    print(f"check: {result.report.summary()}")
    return 1 if result.report.problems else 0
