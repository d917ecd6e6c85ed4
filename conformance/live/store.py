"""Write live recordings into the output corpus: checked for secrets, atomically, and
never into the baseline.

I/O: creates folders and writes files under the output folder (``--out``).

:func:`check_out_dir` refuses an output folder that is the baseline corpus or inside it.
:func:`write_recording` searches everything it is about to write for secrets *before*
writing (:func:`conformance.secrets.scan`, plus every credential value used for the
request, byte for byte -- Cohere and Mistral keys have no recognisable shape), writes the
case folder with :func:`conformance.cassettes.write_case` into a temporary folder inside
the output folder, searches the written files again, and only then moves the folder into
place with ``os.replace`` (an older recording of the case is moved aside first and
deleted after).  A finding refuses the recording (:class:`~conformance.errors.CaseError`)
and leaves nothing behind; so does any failure half-way.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from conformance.cassettes import write_case
from conformance.errors import CaseError, UsageError
from conformance.events import dumps
from conformance.live.draft import Draft
from conformance.secrets import scan

__all__ = ["check_out_dir", "secret_problems", "write_recording"]


def check_out_dir(out: Path | str, baseline: Path | str) -> Path:
    """``out`` resolved; :class:`UsageError` if it is the baseline corpus or inside it,
    or is an existing file."""
    target, base = Path(out).resolve(), Path(baseline).resolve()
    if target == base or base in target.parents:
        raise UsageError(
            f"--out {out} is inside the baseline corpus {baseline}: live recordings go to a folder of "
            "their own (compare them with `conformance drift BASELINE OUT`)"
        )
    if target.exists() and not target.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder")
    return target


def secret_problems(name: str, data: bytes, secrets: Sequence[str]) -> list[str]:
    """What looks like a secret in ``data`` (a file called ``name``), as safe one-liners."""
    text = data.decode("utf-8", "replace")
    problems = [f"{name} line {f.line} column {f.column}: {f.describe()}" for f in scan(text)]
    if any(secret and secret.encode("utf-8") in data for secret in secrets):
        problems.append(f"{name}: holds a credential used for this request")
    return problems


def _in_memory(draft: Draft, secrets: Sequence[str]) -> list[str]:
    pieces = {
        "case.json": json.dumps(draft.manifest, ensure_ascii=False).encode("utf-8"),
        "the stream": draft.body,
        "expected.jsonl": "".join(dumps(e) + "\n" for e in draft.events).encode("utf-8"),
        "the cassette uri": draft.base_url.encode("utf-8"),
    }
    return [problem for name, data in pieces.items() for problem in secret_problems(name, data, secrets)]


def write_recording(out: Path, draft: Draft, secrets: Sequence[str]) -> Path:
    """Write ``draft`` as ``out/<case id>/`` (see the module docstring); the folder."""
    case_id = str(draft.manifest["id"])
    problems = _in_memory(draft, secrets)
    if problems:
        raise CaseError(f"refused, nothing written: {problems[0]}", path=str(out / case_id))
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".record-", dir=out))
    try:
        folder = staging / case_id
        write_case(folder, draft.manifest, draft.body, draft.events, base_url=draft.base_url)
        written = [p for p in sorted(folder.iterdir()) if p.is_file()]
        problems = [q for p in written for q in secret_problems(p.name, p.read_bytes(), secrets)]
        if problems:
            raise CaseError(f"refused, nothing written: {problems[0]}", path=str(out / case_id))
        target = out / case_id
        target.parent.mkdir(parents=True, exist_ok=True)
        aside = staging / "replaced"
        if target.exists():
            os.replace(target, aside)
        try:
            os.replace(folder, target)
        except OSError:
            if aside.exists():  # put the older recording back: a failure leaves things as they were
                os.replace(aside, target)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
