"""Read a corpus for drift comparison.  I/O: reads case folders below a corpus root.

A corpus root holds ``<vendor>/<api-name>/<case>/`` folders like ``cassettes/``.  A case
is identified by its folder path relative to the root (``anthropic/messages/x``), which
must equal the manifest's ``id`` when it has one: a mismatch means the wrong folder was
given as the root, a :class:`~conformance.errors.UsageError`.

The reading is lenient on purpose, because a candidate is often a fresh live recording:
only ``case.json`` (``api``, ``flavour``, ``framing``, ``stream.file``) and the stream
file are needed; the stream is checked against the manifest's ``bytes`` and ``sha256``
when it gives them; ``expected.jsonl`` is read only for a baseline, and its absence is
not an error.  A case that cannot be used keeps its ``problem`` (naming the file) and is
reported as "could not check", never dropped.  Folders whose path has a component
starting with ``.`` (a recorder's temporary folders) are skipped.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from conformance.cassettes import STREAM_FILES
from conformance.drift.model import Corpus, CorpusCase
from conformance.errors import EventError, UsageError
from conformance.events import Event, loads

__all__ = ["load_corpus"]

MANIFEST = "case.json"
EXPECTED = "expected.jsonl"


def _text(manifest: dict[str, object], key: str) -> str | None:
    value = manifest.get(key)
    return value if isinstance(value, str) and value else None


def _read_expected(folder: Path, shown: str) -> tuple[tuple[Event, ...] | None, str | None]:
    path = folder / EXPECTED
    if not path.is_file():
        return None, f"{shown}/{EXPECTED}: the baseline case has no expected sequence"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"{shown}/{EXPECTED}: cannot read it ({exc})"
    events = []
    for number, line in enumerate(lines, 1):
        try:
            events.append(loads(line))
        except EventError as exc:
            return None, f"{shown}/{EXPECTED}:{number}: {exc.message}"
    return tuple(events), None


def _read_body(
    folder: Path, shown: str, manifest: dict[str, object], framing: str
) -> tuple[bytes | None, str | None]:
    stream = manifest.get("stream")
    stream = stream if isinstance(stream, dict) else {}
    name = stream.get("file") if isinstance(stream.get("file"), str) else STREAM_FILES.get(framing)
    if not name:
        return None, f"{shown}/{MANIFEST}: no stream file named and no known framing {framing!r}"
    try:
        body = (folder / name).read_bytes()
    except OSError as exc:
        return None, f"{shown}/{name}: cannot read the stream ({exc.strerror or exc})"
    size, digest = stream.get("bytes"), stream.get("sha256")
    if isinstance(size, int) and size != len(body):
        return None, f"{shown}/{name}: {len(body)} bytes, but the manifest says {size}"
    if isinstance(digest, str) and hashlib.sha256(body).hexdigest() != digest:
        return None, f"{shown}/{name}: the sha256 is not the manifest's (a damaged or partial recording?)"
    return body, None


def _read_case(root: Path, folder: Path, *, expected: bool) -> CorpusCase:
    case_id = folder.relative_to(root).as_posix()
    guess = "/".join(case_id.split("/")[:2])
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return CorpusCase(id=case_id, api=guess, problem=f"{case_id}/{MANIFEST}: cannot read it ({exc})")
    if not isinstance(manifest, dict):
        return CorpusCase(id=case_id, api=guess, problem=f"{case_id}/{MANIFEST}: not a JSON object")
    declared = manifest.get("id")
    if isinstance(declared, str) and declared != case_id:
        msg = (
            f"{root}: the case folder {case_id!r} holds case {declared!r}; give the corpus root "
            "(the folder that holds <vendor>/<api-name>/<case>/)"
        )
        raise UsageError(msg)
    api, flavour, framing = (_text(manifest, k) for k in ("api", "flavour", "framing"))
    if api is None or flavour is None or framing is None:
        problem = f"{case_id}/{MANIFEST}: api, flavour and framing must be non-empty strings"
        return CorpusCase(id=case_id, api=api or guess, problem=problem)
    body, trouble = _read_body(folder, case_id, manifest, framing)
    events, expected_problem = _read_expected(folder, case_id) if expected else (None, None)
    return CorpusCase(
        id=case_id,
        api=api,
        flavour=flavour,
        framing=framing,
        body=body,
        problem=trouble,
        expected=events,
        expected_problem=expected_problem,
        recordable=_recordable(manifest),
    )


def _recordable(manifest: dict[str, object]) -> bool:
    """Whether the manifest says its request can be re-recorded (absent: assume it can)."""
    request = manifest.get("request")
    return not isinstance(request, dict) or request.get("recordable") is not False


def load_corpus(root: Path | str, *, label: str, expected: bool, api: str | None = None) -> Corpus:
    """Every case under ``root`` (of ``api`` only, if given); ``label`` names the corpus
    in errors (``BASELINE``); ``expected`` reads the expected sequences too."""
    path = Path(root)
    if not path.is_dir():
        raise UsageError(f"{label} {root}: no such directory")
    manifests = sorted(path.rglob(MANIFEST), key=lambda p: p.relative_to(path).parts)
    cases: dict[str, CorpusCase] = {}
    for manifest in manifests:
        folder = manifest.parent
        if any(part.startswith(".") for part in folder.relative_to(path).parts):
            continue
        case = _read_case(path, folder, expected=expected)
        if api is None or case.api == api:
            cases[case.id] = case
    return Corpus(root=str(root), cases=cases)
