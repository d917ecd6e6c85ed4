"""Layering: pure modules do no I/O, every module says what it does, the public surface is pinned."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import conformance

PACKAGE = Path(conformance.__file__).parent

#: Modules below the driver layer: bytes or events in, values out.
PURE = [
    "conformance.errors",
    "conformance.events",
    "conformance.grammar",
    "conformance.fold",
    "conformance.compare",
    "conformance.chunking",
    "conformance.reframe",
    "conformance.strategies",
    "conformance.secrets",
    "conformance.report",
    "conformance.framing",
    "conformance.framing.messages",
    "conformance.framing.sse",
    "conformance.framing.ndjson",
    "conformance.framing.jsonarray",
    "conformance.framing.eventstream",
    "conformance.harness.contract",
    "conformance.harness.fastcheck",
    "conformance.harness.outcome",
    "conformance.harness.verdict",
    "conformance.harness.matrix",
    "conformance.harness.faults",
    "conformance.harness.properties",
    "conformance.server.routes",
    "conformance.server.errors",
    "conformance.server.plan",
    "conformance.server.records",
    "conformance.harness.spend",
    "conformance._slots",
    "conformance.drift.model",
    "conformance.drift.payloads",
    "conformance.drift.shape",
    "conformance.drift.ordering",
    "conformance.drift.schema",
    "conformance.drift.canonical",
    "conformance.drift.engine",
    "conformance.drift.render_md",
    "conformance.drift.render_json",
    "conformance.server.drift",
    "conformance.server.drift.model",
    "conformance.server.drift.units",
    "conformance.server.drift.profiles",
    "conformance.server.drift.mutations",
    "conformance.live.select",
    "conformance.live.vendors",
    "conformance.live.scrub",
    "conformance.live.request",
    "conformance.live.draft",
]

#: Imports that mean I/O, time, or test machinery.
FORBIDDEN = {
    "asyncio",
    "socket",
    "os",
    "io",
    "pathlib",
    "shutil",
    "subprocess",
    "tempfile",
    "time",
    "urllib",
    "http",
    "httpx",
    "requests",
    "aiohttp",
    "pytest",
    "vcr",
}


def _module_path(name: str) -> Path:
    rel = Path(*name.split(".")[1:])
    pkg = PACKAGE / rel / "__init__.py"
    return pkg if pkg.is_file() else (PACKAGE / rel).with_suffix(".py")


#: Submodules of a forbidden package that do no I/O (string parsing only).
PURE_SUBMODULES = {"urllib.parse"}


def _root(module: str) -> str:
    return module if module in PURE_SUBMODULES else module.split(".", maxsplit=1)[0]


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(_root(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(_root(node.module))
    return roots


@pytest.mark.parametrize("name", PURE)
def test_pure_modules_import_nothing_that_does_io(name: str) -> None:
    bad = _imported_roots(_module_path(name)) & FORBIDDEN
    assert not bad, f"{name} imports {sorted(bad)}"
    source = _module_path(name).read_text(encoding="utf-8")
    assert "open(" not in source, f"{name} opens files"


def _all_modules() -> list[str]:
    names = ["conformance"]
    for info in pkgutil.walk_packages(conformance.__path__, "conformance."):
        names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _all_modules())
def test_every_module_has_a_docstring_saying_whether_it_does_io(name: str) -> None:
    module = importlib.import_module(name)
    doc = module.__doc__ or ""
    assert doc.strip(), f"{name} has no docstring"
    if name in PURE:
        assert "No I/O" in doc, f"{name}'s docstring does not say it does no I/O"


def test_public_surface_is_unique_and_importable() -> None:
    names = conformance.__all__
    assert len(set(names)) == len(names)
    for name in names:
        assert hasattr(conformance, name), name


def test_one_exception_hierarchy() -> None:
    from conformance import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.ConformanceError), name
    with pytest.raises(TypeError):
        errors.ConformanceError("abstract")
    with pytest.raises(TypeError):
        errors.StreamError("abstract")
    err = errors.TruncatedStream("got 3 of 12 prelude bytes", offset=40)
    err.add_context(source="a.bin", case_id="bedrock/x", chunking="bytewise")
    assert str(err) == "a.bin: byte 40: got 3 of 12 prelude bytes (case bedrock/x, chunking bytewise)"
    assert isinstance(errors.UsageError("x"), ValueError)
