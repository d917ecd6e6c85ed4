"""The pytest plugin (``pytest11`` entry point ``conformance``): thin glue over the harness.

Driver layer: reads the corpus, writes the reports.  What it adds to a pytest run:

* options (each with an ini twin): ``--conformance-adapter`` (repeatable:
  ``pkg.mod:factory``, ``reference``, or a bare name whose adapter the
  ``conformance_adapter`` fixture provides), ``--conformance-chunkings``,
  ``--conformance-cases``, ``--conformance-timeout``, ``--conformance-max-events``,
  ``--conformance-report``, ``--conformance-seed``, ``--conformance-profile``, and
  ``--conformance`` / ``--conformance-only`` to choose what is collected;
* the hook ``pytest_conformance_adapters`` (:mod:`conformance.hookspecs`);
* the fixture ``conformance_adapter`` (override it in the root ``conftest.py`` to build
  adapters with other fixtures);
* one test per adapter x case x chunking, per cancellation mode, per byte-level fault,
  and one Hypothesis property test per adapter x API (:mod:`conformance.harness.matrix`),
  collected under a ``conformance`` node; the property tests' seed is printed in the
  header (by default the UTC date, ``YYYYMMDD``: the same for every xdist worker, new
  every day) and ``--conformance-seed`` replays it;
* verdicts as pytest outcomes (PASS/PASS_NONSTRICT pass, UNSUPPORTED skips, XFAIL
  xfails, FAIL fails with a diff and the command that reproduces it), a result record
  per test in its ``user_properties`` (so JUnit XML and pytest-xdist carry it), the
  verdict matrix in the terminal summary and, with ``--conformance-report DIR``,
  ``report.json`` and ``report.md``.

The suite is collected when adapters are named and the run was not narrowed to
explicit paths (``pytest tests/test_x.py`` runs only that file), or always with
``--conformance``; ``--conformance-only`` collects nothing else.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance import __version__, hookspecs
from conformance.cassettes import CASSETTES_ROOT, Case, case_body, expected_events, load_case
from conformance.chunking import DEFAULT_CHUNKINGS, STRATEGY_NAMES, parse_chunking
from conformance.errors import CaseError, ConformanceError, UsageError
from conformance.events import CANONICAL_VERSION, Event
from conformance.harness.contract import Adapter
from conformance.harness.execute import Limits, execute, execute_property, failure_text, record
from conformance.harness.execute_http import execute_http, socket_json
from conformance.harness.faults import faults_for
from conformance.harness.loading import load_factory, make_adapter
from conformance.harness.matrix import Spec, build_http_matrix, build_matrix
from conformance.harness.properties import PROFILES, property_apis
from conformance.harness.verdict import Verdict
from conformance.report import build_report, render_markdown, render_terminal
from conformance.server.errors import ERROR_STATUSES

__all__ = ["ConformanceItem", "conformance_adapter"]

_STATE = pytest.StashKey["_State"]()
_PROPERTY = "conformance"


@dataclass
class _State:
    """Everything the plugin knows for one session."""

    specs: list[str]
    chunkings: list[str]
    cases_root: Path
    timeout: float
    max_events: int
    report_dir: Path | None
    seed: int
    profile: str
    force: bool
    only: bool
    adapters: dict[str, Any] = field(default_factory=dict)
    """name -> factory (or ``None``: the ``conformance_adapter`` fixture provides it)."""
    made: dict[str, Adapter] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)
    broken: dict[str, CaseError] = field(default_factory=dict)
    expected: dict[str, list[Event]] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    started: float = 0.0
    gathered: bool = False
    named: dict[str, str] = field(default_factory=dict)
    """adapter name -> the ``--conformance-adapter`` spec that loaded it."""


# -- options ------------------------------------------------------------------------------------


def _add(parser: pytest.Parser, group: Any, flag: str, help_: str, **kwargs: Any) -> None:
    name = flag.lstrip("-").replace("-", "_")
    ini_type = kwargs.pop("ini_type", "string")
    group.addoption(flag, dest=name, help=f"{help_} (ini: {name})", **kwargs)
    parser.addini(name, help_, type=ini_type, default=None)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """Register ``pytest_conformance_adapters``."""
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    """The suite's options, each with an ini twin."""
    group = parser.getgroup("conformance", "LLM stream adapter conformance suite")
    _add(
        parser,
        group,
        "--conformance-adapter",
        "adapter under test: pkg.mod:factory, 'reference', or NAME provided by the conformance_adapter "
        "fixture; repeatable",
        action="append",
        default=None,
        ini_type="linelist",
    )
    _add(
        parser,
        group,
        "--conformance-chunkings",
        f"comma-separated chunking strategies (default: {','.join(DEFAULT_CHUNKINGS)})",
    )
    _add(parser, group, "--conformance-cases", "the corpus folder (default: the bundled cassettes)")
    _add(parser, group, "--conformance-timeout", "seconds one stream may take before it counts as hung (30)")
    _add(
        parser, group, "--conformance-max-events", "events one stream may produce before it counts as endless"
    )
    _add(parser, group, "--conformance-report", "write report.json and report.md into this folder")
    _add(
        parser,
        group,
        "--conformance-seed",
        "seed of the property tests (default: today's UTC date, YYYYMMDD)",
    )
    _add(
        parser,
        group,
        "--conformance-profile",
        f"how hard the property tests try: {' or '.join(PROFILES)} (default: ci)",
    )
    group.addoption("--conformance", action="store_true", help="collect the suite even when paths are given")
    group.addoption("--conformance-only", action="store_true", help="collect the conformance suite only")


def _value(config: pytest.Config, name: str) -> Any:
    value = config.getoption(name)
    return config.getini(name) if value is None else value


def _number(config: pytest.Config, name: str, kind: type[float] | type[int], default: float) -> Any:
    raw = _value(config, name)
    if raw is None or raw == "":
        return kind(default)
    try:
        value = kind(raw)
    except ValueError:
        value = -1
    if value <= 0 and not (kind is int and name == "conformance_seed" and value == 0):
        flag = "--" + name.replace("_", "-")
        raise pytest.UsageError(f"{flag}={raw!r}: expected a positive {kind.__name__}")
    return value


def _chunkings(config: pytest.Config) -> list[str]:
    raw = _value(config, "conformance_chunkings")
    if not raw:
        return list(DEFAULT_CHUNKINGS)
    names: list[str] = []
    for part in str(raw).split(","):
        if not part.strip():
            continue
        try:
            names.append(parse_chunking(part).name)
        except UsageError:
            valid = ", ".join([*STRATEGY_NAMES[:-1], "random:SEED"])
            raise pytest.UsageError(
                f"--conformance-chunkings: unknown chunking {part.strip()!r} (valid: {valid})"
            ) from None
    if not names:
        raise pytest.UsageError("--conformance-chunkings: no chunking named")
    return list(dict.fromkeys(names))


def _profile(config: pytest.Config) -> str:
    raw = _value(config, "conformance_profile") or "ci"
    if raw not in PROFILES:
        raise pytest.UsageError(
            f"--conformance-profile={raw!r}: unknown profile (valid: {', '.join(PROFILES)})"
        )
    return str(raw)


def pytest_configure(config: pytest.Config) -> None:
    """Validate the options (bad values are a ``pytest.UsageError`` listing valid ones)."""
    config.addinivalue_line("markers", "conformance: a test of the LLM stream conformance suite")
    specs = [s for s in (_value(config, "conformance_adapter") or []) if s.strip()]
    report = _value(config, "conformance_report")
    root = _value(config, "conformance_cases")
    state = _State(
        specs=specs,
        chunkings=_chunkings(config),
        cases_root=Path(root) if root else CASSETTES_ROOT,
        timeout=_number(config, "conformance_timeout", float, 30.0),
        max_events=_number(config, "conformance_max_events", int, 100_000),
        report_dir=Path(report) if report else None,
        seed=_number(config, "conformance_seed", int, int(time.strftime("%Y%m%d", time.gmtime()))),
        profile=_profile(config),
        force=bool(config.getoption("conformance")),
        only=bool(config.getoption("conformance_only")),
    )
    if not state.cases_root.is_dir():
        raise pytest.UsageError(f"--conformance-cases: {state.cases_root} is not a folder")
    for spec in specs:
        if ":" in spec or spec.strip() == "reference":
            try:
                factory = load_factory(spec)
                adapter = make_adapter(factory, what=f"--conformance-adapter={spec}")
            except UsageError as exc:
                raise pytest.UsageError(str(exc)) from None
            state.adapters[adapter.name] = factory
            state.made[adapter.name] = adapter
            state.named[adapter.name] = spec.strip()
        else:
            state.adapters[spec.strip()] = None
    config.stash[_STATE] = state
    config.pluginmanager.register(_Recorder(config), f"conformance-recorder-{id(config)}")


def pytest_report_header(config: pytest.Config) -> list[str]:
    """The adapters, and the seed that replays the property tests."""
    state = config.stash[_STATE]
    _gather(config, state)
    if not _enabled(config, state):
        return []
    return [
        f"conformance: adapters {', '.join(sorted(state.adapters))}; "
        f"property seed {state.seed} (replay: --conformance-seed={state.seed}), profile {state.profile}"
    ]


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With ``--conformance-only``, nothing but the suite is collected."""
    del collection_path
    return True if config.getoption("conformance_only") else None


# -- collection ---------------------------------------------------------------------------------


class _Suite(pytest.Collector):
    """The ``conformance`` node: every test of the suite."""

    specs: list[Spec]

    def collect(self) -> list[pytest.Item]:
        state = self.config.stash[_STATE]
        items: list[pytest.Item] = []
        for case_id, error in sorted(state.broken.items()):
            items.append(ConformanceItem.from_parent(self, name=f"{case_id}[corpus]", callobj=_broken_case))
            items[-1].stash[_SPEC] = Spec("-", case_id, "whole")
            items[-1].stash[_BROKEN] = error
        for spec in self.specs:
            item = ConformanceItem.from_parent(self, name=spec.test_id, callobj=_conformance_test)
            item.stash[_SPEC] = spec
            item.add_marker("conformance")
            items.append(item)
        return items


_SPEC = pytest.StashKey[Spec]()
_BROKEN = pytest.StashKey[CaseError]()


def _load_cases(state: _State) -> None:
    for manifest in sorted(state.cases_root.rglob("case.json")):
        folder = manifest.parent
        try:
            case = load_case(folder)
            state.expected[case.id] = expected_events(case)
        except CaseError as exc:
            state.broken[folder.relative_to(state.cases_root).as_posix()] = exc
            continue
        state.cases[case.id] = case


def _faults(state: _State) -> dict[str, list[str]]:
    """The fault names of every case (a case whose faults cannot be derived gets none)."""
    names: dict[str, list[str]] = {}
    for case_id, case in state.cases.items():
        try:
            body = case_body(case)
            found = faults_for(case.api, case.framing, body, state.expected[case_id], flavour=case.flavour)
        except ConformanceError:
            continue  # `conformance check` reports a case whose body does not decode
        names[case_id] = [fault.name for fault in found]
    return names


def _gather(config: pytest.Config, state: _State) -> None:
    """Add the adapters the ``pytest_conformance_adapters`` hook returns (once)."""
    if state.gathered:
        return
    state.gathered = True
    for found in config.hook.pytest_conformance_adapters(config=config):
        for name, factory in (found or {}).items():
            state.adapters.setdefault(name, factory)


def _first_cut(names: list[str]) -> int:
    """The byte offset of a case's first truncation fault (0: none)."""
    cut = next((n for n in names if n.startswith("truncate:")), None)
    return int(cut.split(":", 1)[1]) if cut else 0


def _has(state: _State, name: str, level: str) -> bool:
    """Whether adapter ``name`` works at ``level`` (``stream`` or ``http``); an adapter the
    fixture provides is not known before it runs: both levels are collected for it."""
    adapter = state.made.get(name)
    factory = state.adapters.get(name)
    if adapter is None and factory is not None:
        try:
            adapter = state.made[name] = make_adapter(factory, what=f"adapter {name!r}")
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None
    return adapter is None or getattr(adapter, level) is not None


def _enabled(config: pytest.Config, state: _State) -> bool:
    if not state.adapters:
        return False
    explicit = config.args_source is pytest.Config.ArgsSource.ARGS
    return state.force or state.only or not explicit


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Add the suite's tests (before ``-k`` and ``-m`` select among them)."""
    state = config.stash[_STATE]
    _gather(config, state)
    if not _enabled(config, state):
        return
    _load_cases(state)
    suite = _Suite.from_parent(session, name="conformance", path=config.rootpath, nodeid="conformance")
    counts = {case_id: sum(e.TYPE != "unknown" for e in events) for case_id, events in state.expected.items()}
    faults = _faults(state)
    byte_level = [n for n in sorted(state.adapters) if _has(state, n, "stream")]
    http_level = [n for n in sorted(state.adapters) if _has(state, n, "http")]
    suite.specs = build_matrix(
        byte_level,
        list(state.cases.values()),
        state.chunkings,
        expected_counts=counts,
        faults=faults,
        property_apis=property_apis(),
    )
    if http_level:
        resets = {case_id: _first_cut(names) for case_id, names in faults.items() if _first_cut(names)}
        stalls: dict[str, str] = {}  # per API, its first case with a cut: one stall test each (they wait)
        for case_id in sorted(resets):
            stalls.setdefault(case_id.rsplit("/", 1)[0], case_id)
        suite.specs += build_http_matrix(
            http_level,
            list(state.cases.values()),
            expected_counts=counts,
            apis=sorted({case.api for case in state.cases.values()}),
            statuses=ERROR_STATUSES,
            reset_points=resets,
            stall_cases={case_id: resets[case_id] for case_id in stalls.values()},
        )
    report = suite.ihook.pytest_make_collect_report(collector=suite)
    suite.ihook.pytest_collectreport(report=report)
    items.extend(x for x in report.result if isinstance(x, pytest.Item))


# -- the fixture and the test -------------------------------------------------------------------


@pytest.fixture
def conformance_adapter(request: pytest.FixtureRequest) -> Adapter:
    """The adapter of the current conformance test.

    Override it in the root ``conftest.py`` to build adapters with other fixtures;
    ``request.node.stash`` is not needed: ``conformance_adapter_name(request)`` tells
    which adapter the test is for.
    """
    state = request.config.stash[_STATE]
    name = conformance_adapter_name(request)
    if name not in state.made:
        factory = state.adapters.get(name)
        if factory is None:
            pytest.exit(
                f"--conformance-adapter={name}: no factory for adapter {name!r}: name pkg.mod:factory, "
                "register it with the pytest_conformance_adapters hook, or override the conformance_adapter "
                "fixture to provide it",
                returncode=pytest.ExitCode.USAGE_ERROR,
            )
        state.made[name] = make_adapter(factory, what=f"adapter {name!r}")
    return state.made[name]


def conformance_adapter_name(request: pytest.FixtureRequest) -> str:
    """The name of the adapter the current conformance test is for."""
    spec: Spec = request.node.stash[_SPEC]
    return spec.adapter


def _broken_case(request: pytest.FixtureRequest) -> None:
    error = request.node.stash[_BROKEN]
    pytest.fail(f"corpus case cannot be loaded: {error.describe()}", pytrace=False)


def _conformance_test(request: pytest.FixtureRequest, conformance_adapter: Adapter) -> None:
    item = request.node
    state = request.config.stash[_STATE]
    spec = item.stash[_SPEC]
    limits = Limits(timeout=state.timeout, max_events=state.max_events)
    case = state.cases.get(spec.case_id)
    socket = None
    if spec.transport is not None:
        expected = state.expected.get(spec.case_id, [])
        result, measured = execute_http(spec, conformance_adapter, case, expected, limits)
        socket = socket_json(measured)
    elif case is None:
        result = execute_property(spec, conformance_adapter, limits, seed=state.seed, profile=state.profile)
    else:
        result = execute(spec, conformance_adapter, case, state.expected[spec.case_id], limits)
    replay = _replay_command(spec, state)
    entry = record(result, case, replay, state.seed, socket)
    item.user_properties.append((_PROPERTY, json.dumps(entry)))
    verdict = result.judgement.verdict
    if verdict is Verdict.UNSUPPORTED:
        pytest.skip(f"UNSUPPORTED: {result.judgement.reason}")
    if verdict is Verdict.XFAIL:
        pytest.xfail(result.judgement.reason)
    if verdict is Verdict.FAIL:
        raise ConformanceFailedError(failure_text(result, replay))


def _loadable(spec: Spec, state: _State) -> str | None:
    """How ``conformance replay --adapter`` can load this adapter, if it can: as it was
    named on the command line, or by the module and name of the factory a hook returned."""
    if spec.adapter in state.named:
        return state.named[spec.adapter]
    factory = state.adapters.get(spec.adapter)
    module, qualname = getattr(factory, "__module__", None), getattr(factory, "__qualname__", "")
    if module and qualname and "<" not in qualname and module not in ("__main__", "conftest"):
        try:
            if load_factory(f"{module}:{qualname}") is factory:
                return f"{module}:{qualname}"
        except UsageError:
            pass
    return None


def _replay_command(spec: Spec, state: _State) -> str:
    """The one command that reproduces this test: ``conformance replay`` when the adapter
    can be loaded by name, else pytest selecting the test."""
    loadable = _loadable(spec, state)
    if loadable is None:
        return f"python -m pytest --conformance-only --conformance-seed={state.seed} -k '{spec.test_id}'"
    parts = ["conformance replay", spec.case_id, f"--adapter {loadable}"]
    if spec.transport is not None:
        parts.append(f"--http {spec.transport}")
        if spec.fault is not None:
            parts.append(f"--fault {spec.fault}")
    elif spec.is_property:
        parts += [f"--seed {state.seed}", f"--profile {state.profile}"]
    elif spec.fault is not None:
        parts.append(f"--fault {spec.fault}")
    else:
        parts.append(f"--chunking {spec.chunking}")
    if spec.cancel is not None:
        parts.append(f"--cancel {spec.cancel.mode.value}@{spec.cancel.after}")
    if state.cases_root != CASSETTES_ROOT and not spec.is_property:
        parts.append(f"--cases {state.cases_root}")
    return " ".join(parts)


class ConformanceFailedError(ConformanceError):
    """A FAIL verdict (its message is the rendered failure)."""


class ConformanceItem(pytest.Function):
    """A conformance test; failures render as a verdict report, not a traceback."""

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], *args: Any, **kwargs: Any) -> Any:
        """The rendered verdict for a FAIL; pytest's usual report for anything else."""
        if isinstance(excinfo.value, ConformanceFailedError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, *args, **kwargs)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """Where the test comes from: its case folder."""
        spec = self.stash.get(_SPEC, None)
        return Path(self.path), None, spec.test_id if spec is not None else self.name


# -- results and reports ------------------------------------------------------------------------


class _Recorder:
    """Per-session hooks: collects every result record (from this process or an xdist
    worker), prints the matrix and writes the reports on the controller."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.state = config.stash[_STATE]

    def pytest_sessionstart(self) -> None:
        """Note the start time for the report."""
        self.state.started = time.time()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep the record of each finished test."""
        for name, value in report.user_properties:
            if name == _PROPERTY and isinstance(value, str) and (report.when == "call" or report.skipped):
                self.state.records.append(json.loads(value))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self) -> None:
        """Write report.json and report.md when asked to."""
        state = self.state
        if hasattr(self.config, "workerinput") or state.report_dir is None or not state.records:
            return
        document = build_report(state.records, meta=_meta(self.config, state))
        state.report_dir.mkdir(parents=True, exist_ok=True)
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        (state.report_dir / "report.json").write_text(text, "utf-8")
        (state.report_dir / "report.md").write_text(render_markdown(document), "utf-8")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """The verdict matrix, per adapter and API."""
        state = self.state
        if not state.records or hasattr(self.config, "workerinput"):
            return
        terminalreporter.write_sep("=", "conformance verdicts")
        for line in render_terminal(build_report(state.records, meta=_meta(self.config, state))):
            terminalreporter.write_line(line)
        if state.report_dir is not None:
            where = f"{state.report_dir / 'report.json'}, {state.report_dir / 'report.md'}"
            terminalreporter.write_line(f"reports: {where}")


def _meta(config: pytest.Config, state: _State) -> dict[str, Any]:
    return {
        "tool_version": __version__,
        "canonical_version": CANONICAL_VERSION,
        "python": platform.python_version(),
        "pytest": pytest.__version__,
        "started": _iso(state.started),
        "finished": _iso(time.time()),
        "argv": list(config.invocation_params.args),
        "adapters": sorted(state.adapters),
        "chunkings": state.chunkings,
        "seed": state.seed,
    }


def _iso(stamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
