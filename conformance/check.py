"""Police the corpus: every problem of every case folder, as values; and list the corpus.

I/O: reads the corpus folder (through :mod:`conformance.cassettes`, which owns the
case format; this module adds the rules that span files, cases and the reference
decoder).  :func:`check_path` never raises for a bad cassette: every problem is a
:class:`Problem` (file, line or None, message), and checking goes on.

What is checked, per case folder (``<vendor>/<api>/<case-name>/``):

* the folder holds exactly case.json, cassette.yaml, its stream file and
  expected.jsonl (a missing file and an orphan are problems);
* the manifest loads: schema, id = folder path, known quirk ids, flavour and framing
  of the API's codec, recorded sha256, canonical version (the loader's rules); a
  duplicate id is named as such; the description is declarative ("test that" too);
* the stream file and the vcrpy-loaded cassette body match the manifest's size and
  sha256 (so they equal each other); expected.jsonl parses, line by line, and has
  the manifest's event count;
* the expected sequence breaks no MUST rule of :mod:`conformance.grammar`;
* when ``reviewed``, the reference decoder makes exactly the expected sequence of
  the stream (a divergence is summarised by :mod:`conformance.compare`); an
  unreviewed draft (``conformance import-vcr`` writes them) is not a problem, but the
  summary counts it;
* nothing looks like a secret (:mod:`conformance.secrets`) in case.json,
  cassette.yaml, the stream file or the manifest's request query.

Outside case folders only ``README.md`` (at the root) may exist.  Order: stray
entries, then each case folder in path order, its problems sorted by file and line.
A bug in a checker is reported as a problem of the case it hit, never raised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import grammar
from conformance.cassettes import (
    CASSETTES_ROOT,
    STREAM_FILES,
    Case,
    case_body,
    cassette_body,
    expected_events,
    load_case,
)
from conformance.compare import Verdict, compare
from conformance.errors import CaseError, UsageError
from conformance.events import Event, dumps, to_json
from conformance.quirks import quirks
from conformance.registry import api_ids, get_codec
from conformance.secrets import scan

__all__ = [
    "CASSETTES_ROOT",
    "Problem",
    "Report",
    "check_corpus",
    "check_path",
    "corpus_listing",
    "quirk_coverage",
    "render_listing",
]

MANIFEST, CASSETTE, EXPECTED, README = "case.json", "cassette.yaml", "expected.jsonl", "README.md"
_FIXED_FILES = (MANIFEST, CASSETTE, EXPECTED)
_STREAMS = frozenset(STREAM_FILES.values())
_CASE_DEPTH = 3  # <vendor>/<api>/<case-name>
_TEST_THAT = re.compile(r"\btests? that\b", re.IGNORECASE)
_LONG_ENUM = re.compile(r"(\$[^ :]*): ('[^']*') is not one of \[('[^\]]{200,})\]")
_SHOW = 90  # characters of an event shown in a one-line divergence summary


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem: the ``file`` it is in, the 1-based ``line`` when known, what is wrong."""

    file: str
    line: int | None
    message: str

    def render(self) -> str:
        """``file:line: message`` (``file: message`` when the line is unknown)."""
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Report:
    """The result of a check: how many case folders were looked at, and every problem."""

    cases: int
    problems: tuple[Problem, ...] = field(default=())
    drafts: int = 0  # cases whose expected sequence is not reviewed yet (not a problem)

    def summary(self) -> str:
        """``N cases, M problems``, and the unreviewed drafts when there are any."""
        text = f"{_plural(self.cases, 'case')}, {_plural(len(self.problems), 'problem')}"
        if self.drafts:
            text += f" ({_plural(self.drafts, 'unreviewed draft')}: decoder agreement not checked)"
        return text


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def check_corpus(root: Path | str = CASSETTES_ROOT) -> list[Problem]:
    """Every problem of the corpus (or the one case folder) at ``root``, in order."""
    return list(check_path(root).problems)


def check_path(path: Path | str = CASSETTES_ROOT) -> Report:
    """Check a corpus root or one case folder; UsageError only if ``path`` is no folder."""
    path = Path(path)
    if not path.is_dir():
        raise UsageError(f"{path} is not a folder (give a corpus root or one case folder)")
    problems: list[Problem] = []
    if _looks_like_case(path):
        folders = [path]
    else:
        folders, problems = _layout(path)
    manifests = {folder: _manifest(folder) for folder in folders}
    declared = {folder: _declared_id(manifest) for folder, manifest in manifests.items()}
    drafts = sum(1 for manifest in manifests.values() if _is_draft(manifest))
    owners: dict[str, list[Path]] = {}
    for folder, case_id in declared.items():
        if case_id is not None:
            owners.setdefault(case_id, []).append(folder)
    for folder in folders:
        others = [f for f in owners.get(declared[folder] or "", []) if f != folder]
        problems.extend(_check_folder(folder, others))
    return Report(len(folders), tuple(problems), drafts)


# -- the layout of the corpus -----------------------------------------------------------


def _looks_like_case(folder: Path) -> bool:
    return any((folder / name).is_file() for name in (*_FIXED_FILES, *_STREAMS))


def _layout(root: Path) -> tuple[list[Path], list[Problem]]:
    """The case folders under ``root`` (sorted) and the stray entries around them."""
    folders: list[Path] = []
    problems: list[Problem] = []

    def walk(folder: Path, depth: int) -> None:
        for entry in sorted(folder.iterdir()):
            if entry.is_dir() and depth < _CASE_DEPTH - 1:
                walk(entry, depth + 1)
            elif entry.is_dir():
                folders.append(entry)
            elif not (depth == 0 and entry.name == README):
                where = "the corpus root" if depth == 0 else "a vendor or API folder"
                problems.append(
                    Problem(str(entry), None, f"stray file in {where} (only case folders belong here)")
                )

    walk(root, 0)
    return folders, problems


def _manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest, read leniently (only to spot duplicate ids and count drafts;
    validating the manifest is the loader's job)."""
    try:
        obj = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def _declared_id(manifest: dict[str, Any] | None) -> str | None:
    value = None if manifest is None else manifest.get("id")
    return value if isinstance(value, str) else None


def _is_draft(manifest: dict[str, Any] | None) -> bool:
    expected = None if manifest is None else manifest.get("expected")
    return isinstance(expected, dict) and expected.get("reviewed") is False


# -- one case folder ---------------------------------------------------------------------


def _check_folder(folder: Path, same_id: Sequence[Path]) -> list[Problem]:
    problems: list[Problem] = []
    try:
        problems.extend(_check_case(folder, same_id))
    except Exception as exc:  # a checker bug must not stop the run: report it as a problem
        problems.append(Problem(str(folder), None, f"internal error while checking: {exc!r}"))
    return sorted(problems, key=lambda p: (p.file, p.line or 0))  # stable: check order within a line


def _check_case(folder: Path, same_id: Sequence[Path]) -> Iterator[Problem]:
    entries = sorted(folder.iterdir())
    present = {e.name for e in entries if e.is_file()}
    streams = sorted(present & _STREAMS)
    missing = [name for name in _FIXED_FILES if name not in present]
    if not streams:
        missing.append("stream.<ext>")
    for name in missing:
        yield Problem(
            str(folder / name),
            None,
            "missing: a case folder holds case.json, cassette.yaml, stream.<ext> and expected.jsonl",
        )
    case: Case | None = None
    if not missing:
        try:
            case = load_case(folder)
        except CaseError as exc:
            yield _problem(exc, duplicate_of=same_id)
    if case is not None:
        keep = {*_FIXED_FILES, case.stream.file}
    else:  # without a manifest, a lone stream file is taken as the stream
        keep = {*_FIXED_FILES, *(streams if len(streams) == 1 else ())}
    for entry in entries:
        if entry.name not in keep and (entry.is_dir() or case is not None or entry.name not in _STREAMS):
            kind = "folder" if entry.is_dir() else "file"
            yield Problem(str(entry), None, f"orphan {kind}: a case folder holds only its four files")
    for name in (MANIFEST, CASSETTE, *streams):
        if name in present:
            yield from _secrets(folder / name)
    if case is not None:
        yield from _check_loaded(case)


def _shorten_enum(match: re.Match[str]) -> str:
    count = match.group(3).count("', '") + 1
    hint = " (conformance list --quirks lists them)" if match.group(1).startswith("$.quirks") else ""
    return f"{match.group(1)}: {match.group(2)} is not one of the {count} known values{hint}"


def _problem(exc: CaseError, *, duplicate_of: Sequence[Path] = ()) -> Problem:
    """The loader's error as a problem (long enum listings such as the quirk catalogue
    shortened to a count)."""
    message = _LONG_ENUM.sub(_shorten_enum, exc.message)
    if duplicate_of:
        message = f"duplicate id: {', '.join(str(f) for f in duplicate_of)} has the same id; {message}"
    return Problem(exc.path, exc.line, message)


def _secrets(path: Path) -> Iterator[Problem]:
    text = path.read_bytes().decode("utf-8", "replace")
    for finding in scan(text):
        yield Problem(
            str(path),
            finding.line,
            f"{finding.describe()} at column {finding.column}: secrets must never reach a cassette",
        )


def _check_loaded(case: Case) -> Iterator[Problem]:
    if _TEST_THAT.search(case.description):
        yield Problem(
            str(case.manifest_path),
            _line_of_key(case, "description"),
            "the description states what the stream shows, declaratively (no 'test that')",
        )
    for name, value in case.request.query.items():  # the manifest's form of ?name=value
        for finding in scan(f"?{name}={value}"):
            yield Problem(
                str(case.manifest_path),
                _line_of_key(case, name),
                f"request query: {finding.describe()}: secrets must never reach a cassette",
            )
    body: bytes | None = None
    try:
        body = case_body(case)
    except CaseError as exc:
        yield _problem(exc)
    try:
        cassette_body(case)
    except CaseError as exc:
        yield _problem(exc)
    try:
        events = expected_events(case)
    except CaseError as exc:
        yield _problem(exc)
        return
    expected = str(case.expected_path)
    for violation in grammar.check(events):
        if violation.level is grammar.Level.MUST:
            line = min(violation.index, len(events) - 1) + 1 if events else None
            yield Problem(expected, line, f"breaks MUST rule {violation.rule}: {violation.message}")
    if case.expected.reviewed and body is not None:
        yield from _decoder_agrees(case, body, events)


def _line_of_key(case: Case, key: str) -> int | None:
    text = case.manifest_path.read_text(encoding="utf-8")
    at = text.find(f'"{key}"')
    return None if at < 0 else text.count("\n", 0, at) + 1


# -- the reference decoder against the expected sequence ----------------------------------


def _decoder_agrees(case: Case, body: bytes, expected: Sequence[Event]) -> Iterator[Problem]:
    path = str(case.expected_path)
    try:
        decoder = get_codec(case.api).new_decoder(case.flavour, framing=case.framing)
        actual = [*decoder.feed(body), *decoder.close()]
    except Exception as exc:  # a decoder that raises is a finding about this case, not a crash
        yield Problem(path, None, f"the reference decoder fails on {case.stream.file}: {exc!r}")
        return
    want, got = [dumps(e) for e in expected], [dumps(e) for e in actual]
    if want == got:
        return
    index = next(
        (i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b), min(len(want), len(got))
    )
    line = min(index, len(want) - 1) + 1 if want else None
    yield Problem(
        path, line, f"the reference decoder disagrees (reviewed case): {_summary(expected, actual)}"
    )


def _summary(expected: Sequence[Event], actual: Sequence[Event]) -> str:
    comparison = compare(expected, actual)
    divergence = comparison.divergence
    if comparison.verdict is Verdict.FAIL and divergence is not None:
        return (
            f"FAIL at folded event {divergence.index}: {_difference(divergence.expected, divergence.actual)}"
        )
    if comparison.verdict is Verdict.PASS_NONSTRICT:
        return f"equal only after folding ({'; '.join(comparison.notes)})"
    return (
        f"{len(expected)} expected events, {len(actual)} decoded: they differ in unknown events or block keys"
    )


def _difference(want: Event | None, got: Event | None) -> str:
    """What differs between two events, in one short phrase: the differing fields when
    both have the same type, else both events."""
    a = {} if want is None else to_json(want)
    b = {} if got is None else to_json(got)
    if want is None or got is None or a["type"] != b["type"]:
        return f"expected {_show_event(want)}, decoder {_show_event(got)}"
    keys = sorted(k for k in {*a, *b} if a.get(k, _ABSENT) != b.get(k, _ABSENT))
    return f"{a['type']}: " + "; ".join(
        f"{k} expected {_show(a.get(k, _ABSENT))}, decoder {_show(b.get(k, _ABSENT))}" for k in keys
    )


_ABSENT = object()


def _show_event(event: Event | None) -> str:
    return "nothing (the sequence has ended)" if event is None else _cut(dumps(event))


def _show(value: object) -> str:
    return "(absent)" if value is _ABSENT else _cut(json.dumps(value, ensure_ascii=False))


def _cut(text: str) -> str:
    return text if len(text) <= _SHOW else text[: _SHOW - 1] + "…"


# -- listing ------------------------------------------------------------------------------


def _loadable(root: Path, api: str | None) -> tuple[list[Case], list[str]]:
    """The cases under ``root`` that load, and the folders that do not; UsageError for
    a ``root`` that is no folder or an unknown ``api``."""
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder (give a corpus root or one case folder)")
    if api is not None:
        get_codec(api)  # UsageError naming the valid ids
    folders = [root] if _looks_like_case(root) else _layout(root)[0]
    cases, broken = [], []
    for folder in folders:
        try:
            cases.append(load_case(folder))
        except CaseError:
            broken.append(str(folder))
    return cases, broken


def corpus_listing(root: Path | str = CASSETTES_ROOT, *, api: str | None = None) -> dict[str, Any]:
    """The APIs (with their flavours and framings) and their cases, as JSON-ready data;
    ``broken`` lists the case folders that do not load (``conformance check`` says why)."""
    cases, broken = _loadable(Path(root), api)
    apis = []
    for api_id in [api] if api is not None else api_ids():
        codec = get_codec(api_id)
        apis.append(
            {
                "api": api_id,
                "flavours": list(codec.flavours),
                "framings": list(codec.framings),
                "cases": [
                    {"id": c.id, "tier": c.tier, "description": c.description}
                    for c in cases
                    if c.api == api_id
                ],
            }
        )
    return {"apis": apis, "broken": broken}


def quirk_coverage(root: Path | str = CASSETTES_ROOT, *, api: str | None = None) -> dict[str, Any]:
    """Per quirk id of the catalogue, the ids of the cases that cite it (JSON-ready);
    with ``api``, only that API's cases count."""
    cases, broken = _loadable(Path(root), api)
    cited: dict[str, list[str]] = {}
    for case in cases:
        if api is None or case.api == api:
            for quirk in case.quirks:
                cited.setdefault(quirk, []).append(case.id)
    return {
        "quirks": [
            {
                "id": q.id,
                "kind": q.kind,
                "title": q.title,
                "cases": cited.get(q.id, []),
                "not_expressible": q.not_expressible,
            }
            for q in quirks()
        ],
        "broken": broken,
    }


def _uncovered(reason: str | None) -> str:
    return "none yet" if reason is None else f"not expressible as a case: {reason}"


def render_listing(listing: dict[str, Any]) -> list[str]:
    """The text form of :func:`corpus_listing` or :func:`quirk_coverage` data."""
    lines = []
    if "quirks" in listing:
        width = max((len(q["id"]) for q in listing["quirks"]), default=0)
        for q in listing["quirks"]:
            shown = ", ".join(q["cases"]) or _uncovered(q.get("not_expressible"))
            lines.append(f"{q['id']:<{width}}  {shown}")
    else:
        for entry in listing["apis"]:
            lines.append(
                f"{entry['api']}  flavours: {', '.join(entry['flavours'])}  "
                f"framings: {', '.join(entry['framings'])}  ({_plural(len(entry['cases']), 'case')})"
            )
            lines += [f"  {c['id']}  [{c['tier']}]  {c['description']}" for c in entry["cases"]]
    return lines
