"""Render the synthetic corpus cases from the scenarios (a maintainer script).

I/O: writes ``cassettes/<api>/synthetic-<scenario>[-<variant>]/`` and prints each file
it wrote.  Not part of the package.  Run from the checkout::

    python tools/render_synthetic.py [--root DIR] [--check] [--explain]

Every scenario of ``conformance.scenarios.SCENARIOS`` is rendered for each of its
targets (``conformance.scenarios.render``): the encoder writes the bytes, the
reference decoder must give back exactly the authored sequence, or the target is
skipped.  The script is idempotent: a file whose content is already right is not
touched.  ``--check`` writes nothing and exits 1 when the corpus differs from what it
would write (a missing, changed or orphaned synthetic case); ``--explain`` lists every
skipped target with its reason.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from conformance.cassettes import CASSETTES_ROOT, write_case
from conformance.scenarios import SCENARIOS
from conformance.scenarios.render import Rendered, Skip, render_all

PREFIX = "synthetic-"


def _existing(root: Path) -> set[Path]:
    """The synthetic case folders under ``root``."""
    return {p.parent for p in root.glob(f"*/*/{PREFIX}*/case.json")}


def _write(rendered: Rendered, root: Path) -> list[Path]:
    return write_case(
        root / rendered.case_id,
        rendered.manifest,
        rendered.body,
        rendered.events,
        base_url=rendered.facts.base_url,
    )


def _differences(cases: list[Rendered], root: Path) -> list[str]:
    """What differs between the corpus and the rendered cases (written to a scratch copy)."""
    out = []
    with tempfile.TemporaryDirectory() as scratch:
        for case in cases:
            folder = root / case.case_id
            target = Path(scratch) / case.case_id
            if folder.is_dir():
                shutil.copytree(folder, target)
            for path in _write(case, Path(scratch)):
                out.append(f"{case.case_id}/{path.name} differs")
    wanted = {root / c.case_id for c in cases}
    out += [
        f"{p.relative_to(root)} is not rendered by any scenario" for p in sorted(_existing(root) - wanted)
    ]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, default=CASSETTES_ROOT, help="the corpus folder to write")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the corpus differs")
    parser.add_argument("--explain", action="store_true", help="list the skipped targets and why")
    args = parser.parse_args(argv)
    cases: list[Rendered] = []
    skips: list[Skip] = []
    for result in render_all(SCENARIOS):
        if isinstance(result, Rendered):
            cases.append(result)
        else:
            skips.append(result)
    if args.explain:
        for skip in skips:
            print(f"skipped {skip.scenario} for {skip.target}: {skip.reason}")
    if args.check:
        problems = _differences(cases, args.root)
        for problem in problems:
            print(problem)
        print(f"{len(cases)} synthetic cases; {len(problems)} differences")
        return 1 if problems else 0
    written = 0
    for case in cases:
        for path in _write(case, args.root):
            print(f"wrote {path.relative_to(args.root.parent)}")
            written += 1
    orphans = sorted(_existing(args.root) - {args.root / c.case_id for c in cases})
    for orphan in orphans:
        shutil.rmtree(orphan)
        print(f"removed {orphan.relative_to(args.root.parent)} (no scenario renders it)")
    print(f"{written} files written; {len(cases)} synthetic cases; {len(skips)} targets skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
