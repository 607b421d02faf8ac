"""pytest hooks and fixtures of xdpperf: options, markers, --xdp-mode, the testbed."""

from __future__ import annotations

import signal
import warnings
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from . import preflight, settings
from .benchrecord import (
    add_unmeasured,
    complete_commit,
    has_stats,
    save_alone,
    unmeasured_entry,
)
from .build import Builder, entry_point_dirs
from .calibration import Calibration, calibrate
from .errors import XdpperfError
from .journal import Journal
from .judge import Judge, check_policy, pick
from .metrics.machine import MachineCache, machine_facts
from .modes import Mode, parse_modes, use_builder
from .progress import ProgressLine, for_pytest
from .report import flags as report_flags
from .results import Measurement
from .runner import RunOptions, XdpPerf
from .testbed.base import Testbed
from .testbed.veth import VethTestbed, choose_cpus
from .traffic import TrafficClass
from .trafficgen.base import MAX_FRAME, MIN_FRAME, TrafficProfile
from .trafficgen.factory import GeneratorFactory, resolve
from .verdict import judged_figure

MEASUREMENTS = pytest.StashKey[list[tuple[str, Measurement]]]()
MACHINE_FACTS = pytest.StashKey[dict[str, Any]]()
JUDGE = pytest.StashKey[Judge]()
UNMEASURED = pytest.StashKey[list[dict[str, Any]]]()
# latency and transactions results, for their tables at the end (node id, measurement)
OTHER_RESULTS = pytest.StashKey[dict[str, list[tuple[str, Any]]]]()
JOURNAL = pytest.StashKey[Journal]()


# The numeric options, read as text (command line or ini file) and converted in
# pytest_configure, so that a value that is no number is one line naming the option
# and the fix (argparse's own `type=` would print its usage text): option -> (type, an
# example for the fix). Messages name the option's new name however it was given.
NUMBERS: dict[str, tuple[type[int] | type[float], str]] = {
    "--xdpperf-trial-duration": (float, "1"),
    "--xdpperf-min-load": (float, "10000"),
    "--xdpperf-relative-width": (float, "0.005"),
    "--xdpperf-mfr-repetitions": (int, "3"),
    "--xdpperf-repetitions": (int, "10"),
    "--xdpperf-confirm-trials": (int, "1"),
    "--xdpperf-confirm-duration": (float, "10"),
    "--xdpperf-tester-retries": (int, "1"),
    "--xdpperf-frame-size": (int, "64"),
}
# A session stopped as a usage error once the testbed exists (see stop_session).
STOPPED = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """The options and their ini keys: settings.SETTINGS."""
    settings.register(parser)


def pytest_configure(config: pytest.Config) -> None:
    for traffic in TrafficClass:
        config.addinivalue_line("markers", f"{traffic}: xdpperf traffic class '{traffic}' "
                                           f"(NFs get action={traffic.action})")
    config.stash[MEASUREMENTS] = []
    try:
        settings.resolve(config)  # command line > ini file > built-in default
        _parse_numbers(config)
        # the modes come from the runtime under test (--xdpperf-nfs), so its builder first
        use_builder(session_builder(config))
        given_modes = config.getoption("--xdp-mode")
        # a bad --xdp-mode is a usage error now; the default is read when a test needs it
        # (so unit tests run without building the runtime's helper)
        config._xdpperf_modes = None if given_modes is None else parse_modes(given_modes)  # type: ignore[attr-defined]
        config._xdpperf_options = _run_options(config)  # type: ignore[attr-defined]
        # once per session: a bad spec is one usage error, not one per test
        config._xdpperf_generator = resolve(config.getoption("--xdpperf-generator"))  # type: ignore[attr-defined]
        check_policy(config.getoption("--xdpperf-inconclusive"))
        given = config.getoption("--xdpperf-thresholds")
        if given and given != "none":  # a bad file is a usage error before anything runs
            pick(given, config.rootpath, "")
    except XdpperfError as exc:
        raise pytest.UsageError(str(exc)) from None
    # SIGTERM should tear the testbed down like Ctrl-C does.
    if hasattr(signal, "SIGTERM") and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_interrupt)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _parse_numbers(config: pytest.Config) -> None:
    """Each numeric option given as text, converted in place (config.getoption then
    returns the number); one that is no number is a usage error naming it."""
    for name, (kind, example) in NUMBERS.items():
        dest = name.lstrip("-").replace("-", "_")
        text = getattr(config.option, dest)
        if isinstance(text, str):
            setattr(config.option, dest, parse_number(name, text, kind, example))


def parse_number(name: str, text: str, kind: type[int] | type[float],
                 example: str) -> int | float:
    """`text` as an int or a float, or an XdpperfError naming option `name`."""
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise XdpperfError(f"{name} '{text}' is not {what}",
                           f"give {what}, e.g. {name} {example}") from None


def parse_ratio(text: str) -> float:
    """--xdpperf-loss-threshold: a ratio (0.001) or a percent (0.1%), 0 to below 1."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise XdpperfError(f"--xdpperf-loss-threshold '{text}' is not a ratio or a percent",
                           "give a ratio like 0.001 or 0.1%") from None
    if not 0 <= value < 1:
        raise XdpperfError(f"--xdpperf-loss-threshold {text} is out of range",
                           "use 0 to below 100%")
    return value


def _cpus(text: str | None, option: str = "--xdpperf-tester-cpus") -> tuple[int, ...] | None:
    """A CPU list option ('0' or '0,2'); None (the default) when not given."""
    if not text:
        return None
    try:
        cpus = tuple(int(c) for c in text.split(","))
    except ValueError:
        raise XdpperfError(f"{option} '{text}' is not a CPU list",
                           "give numbers like 1 or 0,2") from None
    twice = sorted({c for c in cpus if cpus.count(c) > 1})
    if twice:
        raise XdpperfError(f"{option} '{text}' names CPU {twice[0]} twice",
                           "give each CPU once")
    return cpus


def _cpu_options(config: pytest.Config) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
    """(--xdpperf-tester-cpus, --xdpperf-dut-cpus) as CPU tuples (None: not given)."""
    return (_cpus(config.getoption("--xdpperf-tester-cpus"), "--xdpperf-tester-cpus"),
            _cpus(config.getoption("--xdpperf-dut-cpus"), "--xdpperf-dut-cpus"))


def _run_options(config: pytest.Config) -> RunOptions:
    _cpu_options(config)
    frame_size = config.getoption("--xdpperf-frame-size")
    if not MIN_FRAME <= frame_size <= MAX_FRAME:
        raise XdpperfError(f"--xdpperf-frame-size {frame_size} is out of range",
                           f"give {MIN_FRAME} to {MAX_FRAME} bytes, FCS included")
    return RunOptions(
        loss_threshold=parse_ratio(config.getoption("--xdpperf-loss-threshold")),
        trial_duration=config.getoption("--xdpperf-trial-duration"),
        min_load=config.getoption("--xdpperf-min-load"),
        relative_width=config.getoption("--xdpperf-relative-width"),
        mfr_repetitions=config.getoption("--xdpperf-mfr-repetitions"),
        repetitions=config.getoption("--xdpperf-repetitions"),
        confirm_trials=config.getoption("--xdpperf-confirm-trials"),
        confirm_duration=config.getoption("--xdpperf-confirm-duration"),
        tester_retries=config.getoption("--xdpperf-tester-retries"),
        method=config.getoption("--xdpperf-method"),
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "xdp_mode" in metafunc.fixturenames:
        modes: list[Mode] | None = metafunc.config._xdpperf_modes  # type: ignore[attr-defined]
        if modes is None:
            try:
                modes = metafunc.config._xdpperf_modes = parse_modes(None)  # type: ignore[attr-defined]
            except XdpperfError as exc:
                raise pytest.UsageError(str(exc)) from None
        metafunc.parametrize("xdp_mode", modes, ids=[m.name for m in modes], scope="function")


@pytest.hookimpl(trylast=True)  # after -m / -k deselected what will not run
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    """Fail early and plainly (not root, no BPF, no compiler) if any test that will run
    needs the testbed; a selection without one (the unit tests) runs as any user."""
    if any("xdpperf_testbed" in getattr(item, "fixturenames", ()) for item in items) \
            and not _other_testbed(config):
        try:
            preflight.run_all()
            # bad --xdpperf-tester-cpus/-dut-cpus: one usage error, not one per test
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the one-CPU warning comes at setup
                choose_cpus(*_cpu_options(config))
        except XdpperfError as exc:
            raise pytest.UsageError(str(exc)) from None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """Our own errors already say what is wrong and how to fix it: no traceback."""
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is not None and isinstance(call.excinfo.value, XdpperfError):
        report.longrepr = f"xdpperf: {call.excinfo.value}"


@pytest.fixture(scope="session")
def xdpperf_builder(pytestconfig: pytest.Config) -> Builder:
    """--xdpperf-nfs (default the bundled nfs/), built into --xdpperf-build (default
    build/ in the checkout; with --xdpperf-nfs DIR, build/ beside DIR)."""
    return session_builder(pytestconfig)


def session_builder(config: pytest.Config) -> Builder:
    return builder_for(config.getoption("--xdpperf-nfs"), config.getoption("--xdpperf-build"),
                       config.getoption("--xdpperf-nf-dir"),
                       config.getoption("--xdpperf-nf-program"))


def prebuilt_programs(given: list[str] | tuple[str, ...] | None
                      ) -> tuple[tuple[str, Path], ...]:
    """--xdpperf-nf-program NAME=PATH, each: (name, absolute path)."""
    out = []
    for item in given or ():
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise XdpperfError(f"--xdpperf-nf-program {item!r} is not NAME=PATH",
                               "e.g. --xdpperf-nf-program mynf=/opt/mynf/bin/mynf")
        out.append((name, Path(path).resolve()))
    return tuple(out)


def builder_for(nfs: str | None, build: str | None,
                nf_dirs: list[str] | None = None,
                nf_programs: list[str] | None = None) -> Builder:
    """The session's builder: the bundled NFs (or --xdpperf-nfs), a user's own NF
    folders (--xdpperf-nf-dir, then the xdpperf.nfs entry points) and NFs already
    built (--xdpperf-nf-program)."""
    extra = tuple(Path(d).resolve() for d in nf_dirs or ()) + entry_point_dirs()
    prebuilt = prebuilt_programs(nf_programs)
    if nfs is None:
        return Builder(build_dir=Path(build).resolve(), nf_dirs=extra, prebuilt=prebuilt) \
            if build else Builder(nf_dirs=extra, prebuilt=prebuilt)
    sources = Path(nfs).resolve()
    if not (sources / "Makefile").is_file():
        raise XdpperfError(f"--xdpperf-nfs {nfs} holds no Makefile",
                           "give a folder laid out like the bundled nfs/ (e.g. a copy of it)")
    return Builder(sources, Path(build).resolve() if build else sources.parent / "build",
                   nf_dirs=extra, prebuilt=prebuilt)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def _other_testbed(config: pytest.Config) -> bool:
    """Whether a conftest or plugin implements pytest_xdpperf_testbed (then the veth
    testbed's preflight is not ours to run)."""
    return bool(config.pluginmanager.hook.pytest_xdpperf_testbed.get_hookimpls())


@pytest.fixture(scope="session")
def xdpperf_testbed(pytestconfig: pytest.Config) -> Iterator[Testbed]:
    """The session's testbed: the pytest_xdpperf_testbed hook's, else the veth pair."""
    bed: Testbed = (pytestconfig.hook.pytest_xdpperf_testbed(config=pytestconfig)
                    or VethTestbed.create(*_cpu_options(pytestconfig)))
    try:
        # the DUT's interface lives in a namespace gone by the time records are saved
        facts = machine_facts(bed.describe(), dut_cpus=bed.dut.cpus, nic=bed.nic_info())
        pytestconfig.stash[MACHINE_FACTS] = facts
        _machine_cache(pytestconfig).write(facts)
        yield bed
    finally:
        bed.destroy()


@pytest.fixture(scope="session")
def xdpperf_profile(pytestconfig: pytest.Config) -> TrafficProfile:
    return TrafficProfile(frame_size=pytestconfig.getoption("--xdpperf-frame-size"))


@pytest.fixture(scope="session")
def xdpperf_generator(pytestconfig: pytest.Config) -> GeneratorFactory:
    """The session's generator factory (--xdpperf-generator), resolved at configure time."""
    factory: GeneratorFactory = pytestconfig._xdpperf_generator  # type: ignore[attr-defined]
    return factory


@pytest.fixture(scope="session")
def xdpperf_calibration(pytestconfig: pytest.Config, xdpperf_testbed: Testbed,
                        xdpperf_builder: Builder, xdpperf_profile: TrafficProfile,
                        xdpperf_generator: GeneratorFactory) -> Calibration:
    options: RunOptions = pytestconfig._xdpperf_options  # type: ignore[attr-defined]
    calibration = calibrate(xdpperf_testbed, xdpperf_builder, xdpperf_profile,
                            options.search_spec(max_load=1e9), xdpperf_generator,
                            _journal(pytestconfig))
    try:
        options.check_min_load(calibration.max_load_pps)
    except XdpperfError as exc:  # stop the session: every test would fail the same way
        stop_session(pytestconfig, exc)
    return calibration


def stop_session(config: pytest.Config, exc: XdpperfError) -> NoReturn:
    """End the session as a usage error (exit status 4, the one line pytest prints for
    one) from inside a fixture: for bad input that can only be judged once the testbed
    exists, such as a --xdpperf-min-load above the calibrated maximum. Only Exit gets out
    of a fixture; pytest_runtestloop below turns it into the UsageError."""
    config.stash[STOPPED] = str(exc)
    pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, object, object]:
    """A session stop_session ended: the plain usage error, not pytest's Exit banner."""
    try:
        return (yield)
    except pytest.exit.Exception:
        if STOPPED in session.config.stash:
            raise pytest.UsageError(session.config.stash[STOPPED]) from None
        raise


@pytest.fixture(scope="session")
def xdpperf_judge(pytestconfig: pytest.Config, xdpperf_testbed: Testbed) -> Judge:
    """The session's thresholds (--xdpperf-thresholds, else the testbed's own file)
    and the verdicts given so far."""
    if JUDGE not in pytestconfig.stash:
        try:
            thresholds = pick(pytestconfig.getoption("--xdpperf-thresholds"),
                              pytestconfig.rootpath, xdpperf_testbed.thresholds_key)
        except XdpperfError as exc:
            raise pytest.UsageError(str(exc)) from None
        pytestconfig.stash[JUDGE] = Judge(thresholds,
                                          pytestconfig.getoption("--xdpperf-inconclusive"))
    return pytestconfig.stash[JUDGE]


@pytest.fixture
def xdpperf_progress(request: pytest.FixtureRequest) -> Iterator[ProgressLine]:
    """The live progress line: on the terminal pytest writes to, quiet if it is none."""
    line = for_pytest(request.config)
    try:
        yield line
    finally:
        line.finish()


@pytest.fixture
def xdpperf(request: pytest.FixtureRequest, xdp_mode: Mode, xdpperf_testbed: Testbed,
            xdpperf_builder: Builder, xdpperf_calibration: Calibration,
            xdpperf_profile: TrafficProfile, xdpperf_progress: ProgressLine,
            xdpperf_generator: GeneratorFactory, xdpperf_judge: Judge,
            benchmark: Any) -> Iterator[XdpPerf]:
    """The fixture: every throughput, latency and transactions result it returns is
    recorded, then judged against the testbed's threshold (a failing verdict fails
    the test with a message naming the figure, its value and its limit)."""
    markers = [c for c in TrafficClass if request.node.get_closest_marker(c.value)]
    perf = XdpPerf(xdpperf_testbed, xdpperf_builder, xdpperf_calibration, xdp_mode,
                   markers[0] if markers else None,
                   request.config._xdpperf_options,  # type: ignore[attr-defined]
                   benchmark, xdpperf_profile, xdpperf_progress,
                   _journal(request.config), request.node.nodeid, xdpperf_generator,
                   lambda info: judged_figure(info, xdpperf_judge.thresholds))
    test = request.node.nodeid
    throughput, latency, transactions = perf.throughput, perf.latency, perf.transactions

    def kept() -> None:
        """A record pytest-benchmark cannot hold (no value for its stats): kept beside."""
        if not has_stats(benchmark):
            request.config.stash.setdefault(UNMEASURED, []).append(unmeasured_entry(benchmark))

    def judged_throughput(*args: Any, **kwargs: Any) -> Measurement:
        measurement = throughput(*args, **kwargs)
        request.config.stash[MEASUREMENTS].append((test, measurement))
        kept()
        xdpperf_judge(test, "throughput", measurement, benchmark, report_flags(measurement))
        return measurement

    def judged_latency(*args: Any, **kwargs: Any) -> Any:
        measurement = latency(*args, **kwargs)
        request.config.stash.setdefault(OTHER_RESULTS, {}).setdefault(
            "latency", []).append((test, measurement))
        kept()
        bound = any(p.tester_bound for p in measurement.points)
        xdpperf_judge(test, "latency", measurement, benchmark,
                      ["tester_bound"] if bound else [])
        return measurement

    def judged_transactions(*args: Any, **kwargs: Any) -> Any:
        measurement = transactions(*args, **kwargs)
        request.config.stash.setdefault(OTHER_RESULTS, {}).setdefault(
            "transactions", []).append((test, measurement))
        kept()
        xdpperf_judge(test, "transactions", measurement, benchmark, [])
        return measurement

    perf.throughput = judged_throughput  # type: ignore[method-assign]
    perf.latency = judged_latency  # type: ignore[method-assign]
    perf.transactions = judged_transactions  # type: ignore[method-assign]
    yield perf


def _journal(config: pytest.Config) -> Journal:
    """The session's journal: one for every test, its lines tagged with one session id."""
    if JOURNAL not in config.stash:
        path = config.getoption("--xdpperf-journal")
        config.stash[JOURNAL] = Journal(Path(config.rootpath, path) if path else None)
    return config.stash[JOURNAL]


def pytest_benchmark_update_machine_info(config: pytest.Config,
                                         machine_info: dict[str, Any]) -> None:
    """Kernel release, DUT NIC driver/firmware, CPU model, governor, testbed.

    pytest-benchmark also asks at start-up (to compare with a saved record), before
    the testbed exists: then the last session's facts stand in for the NIC's."""
    facts = config.stash.get(MACHINE_FACTS, None) or _machine_cache(config).read()
    machine_info.update(facts)


def pytest_benchmark_update_commit_info(config: pytest.Config,
                                        commit_info: dict[str, Any]) -> None:
    """The records' commit, fixed as pytest-benchmark writes it rather than rewritten
    afterwards: --xdpperf-commit, else git trusting the checkout where
    pytest-benchmark's lookup failed (benchrecord.complete_commit)."""
    complete_commit(commit_info, config.getoption("--xdpperf-commit"), Path.cwd())


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: list[Any],
                                 output_json: dict[str, Any]) -> None:
    """Records of measurements that produced no rate, beside pytest-benchmark's own
    (benchrecord.unmeasured_entry)."""
    add_unmeasured(output_json, config.stash.get(UNMEASURED, []))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Records without a rate, where no test of the session had stats for
    pytest-benchmark to save them beside (benchrecord.save_alone)."""
    save_alone(session.config, session.config.stash.get(UNMEASURED, []))


def _machine_cache(config: pytest.Config) -> MachineCache:
    return MachineCache(Path(config.rootpath, ".xdpperf", "machine.json"))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    from .report import latency_table, table, transactions_table, verdicts, worst_verdicts

    measurements = config.stash.get(MEASUREMENTS, [])
    judge = config.stash.get(JUDGE, None)
    worst = worst_verdicts(judge) if judge else None
    if measurements:
        terminalreporter.write_sep("=", "xdpperf results")
        terminalreporter.write_line(table(measurements, worst))
    others = config.stash.get(OTHER_RESULTS, {})
    if others.get("latency"):
        terminalreporter.write_sep("=", "xdpperf latency")
        terminalreporter.write_line(latency_table(others["latency"], worst))
    if others.get("transactions"):
        terminalreporter.write_sep("=", "xdpperf transactions")
        terminalreporter.write_line(transactions_table(others["transactions"], worst))
    if judge is not None and judge.judged:
        terminalreporter.write_sep("=", "xdpperf verdicts")
        terminalreporter.write_line(verdicts(judge))
