"""The bad-input matrix (issue 13): every bad input is caught up front, as one line
naming the problem and the fix (XdpperfError's `problem (fix)`), never a traceback.

A bad option or a machine that cannot run the testbed is a usage error: exit status
4 and the one line pytest prints for one (`ERROR: ...`), before anything is made.
What a test body asks of the fixture (the NF, its parameters, how it is attached
and bound) is refused at the start of that call, before the NF starts: the test
fails with `xdpperf: ...`, exit status 1.

Each case runs pytest in a subprocess on tests/suites/badinput, whose testbed is a
stand-in of names that exist nowhere and whose calibration is fixed figures: the
runs make nothing and need no lock, and an input that slipped through ends in some
other message (or a passing test), which fails the exact assertion. The cases run
concurrently, once per session (`outcomes`).

`xdpperf cleanup` is the one place the framework deletes interfaces and namespaces
by name; no option or fixture argument takes one (the testbed names its own, see
naming.py). So the foreign-name case is cleanup sparing look-alike names
(test_cleanup_spares_foreign_names).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_xdpperf import cleanup, naming
from pytest_xdpperf.errors import XdpperfError
from pytest_xdpperf.plugin import NUMBERS, parse_number, parse_ratio, pytest_addoption
from pytest_xdpperf.runner import RunOptions
from pytest_xdpperf.settings import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "suites" / "badinput"
USAGE_ERROR = 4  # pytest.ExitCode.USAGE_ERROR
TESTS_FAILED = 1
ONLINE = sorted(os.sched_getaffinity(0))
MODES = "xdp, xdp-sk, xdp-sk-sysc, af_xdp, af_xdp-sysc, af_xdp-poll"
THRESHOLDS_FIX = "see pytest_xdpperf/thresholds.py for the format, or make one: xdpperf thresholds"
ENTRY = "[[throughput]]\nnf = 'macswap'\ntraffic_class = 'drop'\nmode = 'xdp'\n"
FIREWALL_PARAMS = "rules=0..16777216, action=drop|tx|pass|aborted, base_sport=1..65535"
KNOWN_NFS = "chain, checksum, firewall, loadbalancer, macswap, memory, trafficgen, xdpobj"
needs_clang = pytest.mark.skipif(shutil.which("clang") is None, reason="builds the NFs")


@dataclass(frozen=True)
class Case:
    """One bad input: pytest arguments (`{dir}`: a folder holding the files below),
    the machine the preflight checks see (tests/suites/badinput/conftest.py), the
    measurement call the test body makes (None: none), and the exact message."""

    id: str
    message: str
    args: tuple[str, ...] = ()
    machine: str = "ok"
    call: dict[str, Any] | None = None
    max_load: float = 1e6
    status: int = USAGE_ERROR
    files: dict[str, str] = field(default_factory=dict)


def option(id: str, message: str, *args: str, **more: Any) -> Case:
    return Case(id, message, args, **more)


def machine(id: str, message: str) -> Case:
    return Case(id, message, machine=id)


def nf_call(id: str, message: str, nf: str, mode: str = "xdp", method: str = "throughput",
            **kwargs: Any) -> Case:
    return Case(id, message, ("--xdp-mode", mode), status=TESTS_FAILED,
                call={"method": method, "nf": nf, "kwargs": kwargs})


def thresholds(id: str, text: str | None, message: str) -> Case:
    files = {} if text is None else {"t.toml": text}
    return Case(id, message, ("--xdpperf-thresholds", "{dir}/t.toml"), files=files)


def toml_error(text: str) -> str:
    """What tomllib says of `text` (its wording is the Python version's)."""
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return str(exc)
    raise AssertionError(f"{text!r} is good TOML")


LAST = ONLINE[-1]
BAD_TOML = "[[throughput]\n"
CASES = [
    # --- modes
    option("unknown mode", f"unknown mode 'bogus' (--xdp-mode takes a comma-separated list "
           f"of: {MODES})", "--xdp-mode", "xdp,bogus"),
    option("empty mode", f"--xdp-mode is empty (give one or more of: {MODES})",
           "--xdp-mode", ","),
    # --- numeric options: out of range, and no number at all
    option("repetitions 0", "--xdpperf-repetitions 0 is below 1 (give the number of whole "
           "searches, e.g. 10)", "--xdpperf-repetitions", "0"),
    # given by its old name, the message names the new one (and the deprecation
    # warning, issued at configure time, never shows: the run ends first)
    option("repetitions 0 by the old name", "--xdpperf-repetitions 0 is below 1 (give the "
           "number of whole searches, e.g. 10)", "--repetitions", "0"),
    option("repetitions 1e3", "--xdpperf-repetitions '1e3' is not a whole number (give a whole "
           "number, e.g. --xdpperf-repetitions 10)", "--xdpperf-repetitions", "1e3"),
    option("confirm-trials -1", "--xdpperf-confirm-trials -1 is negative (give 0 (no confirmation) "
           "or more)", "--xdpperf-confirm-trials", "-1"),
    option("tester-retries -1", "--xdpperf-tester-retries -1 is negative (give 0 (no retry) or "
           "more)", "--xdpperf-tester-retries", "-1"),
    option("tester-retries one", "--xdpperf-tester-retries 'one' is not a whole number (give a "
           "whole number, e.g. --xdpperf-tester-retries 1)", "--xdpperf-tester-retries", "one"),
    option("confirm-duration inf", "--xdpperf-confirm-duration inf is not a positive finite number "
           "(give seconds, e.g. 10, or leave it to --xdpperf-trial-duration)",
           "--xdpperf-confirm-duration", "inf"),
    option("mfr-repetitions 0", "--xdpperf-mfr-repetitions 0 is below 1 (give the number of "
           "flat-out trials, e.g. 3)", "--xdpperf-mfr-repetitions", "0"),
    option("relative-width 1", "--xdpperf-relative-width 1.0 is not between 0 and 1 (give the "
           "search's final precision, e.g. 0.005)", "--xdpperf-relative-width", "1"),
    option("min-load 0", "--xdpperf-min-load 0.0 is not a positive finite number (give the lowest "
           "rate to search in packets/s, e.g. 10000)", "--xdpperf-min-load", "0"),
    option("min-load 10k", "--xdpperf-min-load '10k' is not a number (give a number, e.g. "
           "--xdpperf-min-load 10000)", "--xdpperf-min-load", "10k"),
    option("trial-duration nan", "--xdpperf-trial-duration nan is not a positive finite number "
           "(give seconds, e.g. 1)", "--xdpperf-trial-duration", "nan"),
    option("loss-threshold 150%", "--xdpperf-loss-threshold 150% is out of range (use 0 to below "
           "100%)", "--xdpperf-loss-threshold", "150%"),
    option("loss-threshold abc", "--xdpperf-loss-threshold 'abc' is not a ratio or a percent (give "
           "a ratio like 0.001 or 0.1%)", "--xdpperf-loss-threshold", "abc"),
    option("frame-size 1519", "--xdpperf-frame-size 1519 is out of range (give 64 to 1518 bytes, "
           "FCS included)", "--xdpperf-frame-size", "1519"),
    option("frame-size 64.5", "--xdpperf-frame-size '64.5' is not a whole number (give a whole "
           "number, e.g. --xdpperf-frame-size 64)", "--xdpperf-frame-size", "64.5"),
    # the calibrated maximum is known only once the testbed exists: before any test
    option("min-load above the calibrated maximum", "--xdpperf-min-load 2000000 pps is not below "
           "the 1000000 pps the tester was calibrated to offer (give a lower --xdpperf-min-load)",
           "--xdpperf-min-load", "2e6", max_load=1e6),
    # --- the other options
    option("inconclusive policy", "--xdpperf-inconclusive 'maybe' is unknown (use report "
           "(shown, the test passes) or fail)", "--xdpperf-inconclusive", "maybe"),
    option("method", "--xdpperf-method 'csit' is unknown (use one of rfc2544, mlrsearch)",
           "--xdpperf-method", "csit"),
    option("nf sources", "--xdpperf-nfs /nonexistent holds no Makefile (give a folder laid "
           "out like the bundled nfs/ (e.g. a copy of it))", "--xdpperf-nfs", "/nonexistent"),
    option("generator spec", "--xdpperf-generator 'mytester' is not MODULE:FACTORY (give "
           "--xdpperf-generator MODULE:FACTORY, e.g. mytester.adapter:make_generator, or one "
           "of: builtin, trafgen)",
           "--xdpperf-generator", "mytester"),
    option("generator module", "--xdpperf-generator 'xdpperf_no_such_module:make': module "
           "'xdpperf_no_such_module' not found (install it or put its directory on "
           "PYTHONPATH)", "--xdpperf-generator", "xdpperf_no_such_module:make"),
    option("generator attribute", "--xdpperf-generator "
           "'pytest_xdpperf.trafficgen.factory:nothing': module "
           "'pytest_xdpperf.trafficgen.factory' has no attribute 'nothing' (name a factory "
           "defined in that module)",
           "--xdpperf-generator", "pytest_xdpperf.trafficgen.factory:nothing"),
    # --- thresholds files
    thresholds("thresholds missing", None, "thresholds file {dir}/t.toml does not exist "
               "(give an existing file, or 'none' for no thresholds)"),
    thresholds("thresholds bad TOML", BAD_TOML, "thresholds file {dir}/t.toml cannot be read: "
               f"{toml_error(BAD_TOML)} ({THRESHOLDS_FIX})"),
    thresholds("thresholds unknown table", "[[throughputs]]\n", "thresholds file "
               "{dir}/t.toml: unknown table 'throughputs' (use [testbed] and [[throughput]], "
               "[[latency]], [[transactions]])"),
    thresholds("thresholds unknown key", ENTRY + "min_mps = 1\n", "thresholds file "
               "{dir}/t.toml: [[throughput]] entry 1 has an unknown field 'min_mps' (fields "
               "are figure, frame_size, min_mpps, min_ratio, mode, nf, note, params, "
               "traffic_class)"),
    thresholds("thresholds bad limit", ENTRY + "min_mpps = -1\n", "thresholds file "
               "{dir}/t.toml: [[throughput]] entry 1: min_mpps = -1 is not a number >= 0 "
               "(e.g. min_mpps = 1.5)"),
    # --- CPU lists
    option("cpu list no numbers", "--xdpperf-tester-cpus 'one' is not a CPU list (give "
           "numbers like 1 or 0,2)", "--xdpperf-tester-cpus", "one"),
    option("cpu named twice", "--xdpperf-dut-cpus '0,0' names CPU 0 twice (give each CPU once)",
           "--xdpperf-dut-cpus", "0,0"),
    option("cpu out of range", f"--xdpperf-dut-cpus asks for CPU 99, but this machine has CPUs "
           f"{ONLINE} (pick CPUs from {ONLINE})", "--xdpperf-dut-cpus", "99"),
    option("cpus overlap", f"tester CPUs [{LAST}] and DUT CPUs [{LAST}] overlap (give the "
           "tester and the DUT different CPUs)", "--xdpperf-tester-cpus", str(LAST),
           "--xdpperf-dut-cpus", str(LAST)),
    # --- the machine (the preflight checks, fooled by the suite's conftest)
    machine("notroot", "xdpperf must run as root (it creates namespaces and loads BPF "
            "programs: run it with sudo)"),
    machine("nobpf", "this kernel has no BPF support (use a kernel built with "
            "CONFIG_BPF_SYSCALL)"),
    machine("nobtf", "the kernel exposes no BTF (/sys/kernel/btf/vmlinux) (use a kernel "
            "built with CONFIG_DEBUG_INFO_BTF)"),
    machine("noafxdp", "the kernel has no AF_XDP sockets (use a kernel built with "
            "CONFIG_XDP_SOCKETS)"),
    machine("noclang", "toolchain missing: clang (run ci/setup (installs clang, libbpf-dev, "
            "libxdp-dev, ...))"),
    # --- what a test body asks of the fixture: that test fails, before the NF starts
    nf_call("unknown NF", f"unknown network function 'nosuchnf' (known ones: {KNOWN_NFS})",
            "nosuchnf"),
    nf_call("unknown NF parameter", f"firewall: unknown parameter 'rulez' (firewall takes: "
            f"{FIREWALL_PARAMS})", "firewall", rulez=5),
    nf_call("NF parameter out of range", "firewall: rules=99999999 is out of range (rules "
            "takes 0 to 16777216)", "firewall", rules=99999999),
    nf_call("NF parameter of the wrong type", "firewall: rules=many is not an integer (rules "
            "takes 0 to 16777216)", "firewall", method="start", rules="many"),
    nf_call("NF action unknown", "macswap: action=sideways is not one of its values (action "
            "takes drop|tx|pass|aborted)", "macswap", action="sideways"),
    nf_call("attach mode unknown", "unknown attach mode 'xdpdrv' (use one of native, "
            "generic, offload (or xdp-tools' skb for generic, hw for offload))", "macswap",
            attach="xdpdrv"),
    nf_call("offload on veth", "attach='offload' cannot run on the veth testbed: its driver "
            "takes only native or generic (use attach='native', or a testbed whose NIC has "
            "BPF offload)", "macswap", attach="offload"),
    nf_call("hw on veth", "attach='offload' cannot run on the veth testbed: its driver "
            "takes only native or generic (use attach='native', or a testbed whose NIC has "
            "BPF offload)", "macswap", attach="hw"),
    nf_call("zero-copy on veth", "bind='zerocopy' cannot run on the veth testbed: its driver "
            "binds AF_XDP sockets in copy mode only (use bind='copy', or a testbed whose "
            "NIC driver has zero-copy)", "macswap", mode="af_xdp", bind="zerocopy"),
    nf_call("need_wakeup not a boolean", "need_wakeup='yes' is not a boolean (use "
            "need_wakeup=True (the default) or False)", "macswap", mode="af_xdp",
            need_wakeup="yes"),
]
NEEDS_CLANG = {c.id for c in CASES if c.call and c.call["nf"] != "nosuchnf"}
NEEDS_TWO_CPUS = {"cpus overlap"}  # one CPU: tester and DUT share it, with a warning


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def run(case: Case, folder: Path) -> Outcome:
    """pytest on the stand-in suite with the case's input; nothing real is made."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in case.files.items():
        (folder / name).write_text(text)
    args = [a.replace("{dir}", str(folder)) for a in case.args]
    argv = [sys.executable, "-m", "pytest", str(SUITE), "-p", "no:cacheprovider",
            "-p", "no:randomly", "-q", "--xdp-mode", "xdp", "--xdpperf-journal=",
            "-W", "ignore::pytest_benchmark.logger.PytestBenchmarkWarning", *args]
    env = {**os.environ, "XDPP_MACHINE": case.machine, "XDPP_MAX_LOAD": str(case.max_load),
           "XDPP_CALL": json.dumps(case.call or {"method": "none"}),
           "XDPPERF_RUN_DIR": str(folder / "run")}
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env=env)
    return Outcome(result.returncode, result.stdout, result.stderr)


def runnable(case: Case) -> bool:
    return not ((case.id in NEEDS_CLANG and shutil.which("clang") is None)
                or (case.id in NEEDS_TWO_CPUS and len(ONLINE) < 2))


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Outcome, Path]]:
    """Every selected case run once, a few at a time (each is a second of imports)."""
    # this module's cases only: other modules parametrize a "case" of their own
    selected = {item.callspec.params["case"].id for item in request.session.items
                if isinstance(item, pytest.Function) and item.module is request.module
                and hasattr(item, "callspec") and "case" in item.callspec.params}
    cases = [c for c in CASES if c.id in selected and runnable(c)]
    base = tmp_path_factory.mktemp("badinput")
    folders = {c.id: base / f"case{i}" for i, c in enumerate(cases)}
    with ThreadPoolExecutor(max_workers=len(ONLINE) + 1) as pool:
        done = pool.map(lambda c: run(c, folders[c.id]), cases)
        return {c.id: (o, folders[c.id]) for c, o in zip(cases, done)}


def plain(output: str) -> None:
    assert "Traceback" not in output and 'File "' not in output, output
    assert "_pytest" not in output, output


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line(case: Case, outcomes: dict[str, tuple[Outcome, Path]]) -> None:
    if not runnable(case):
        pytest.skip("needs clang" if case.id in NEEDS_CLANG else "needs two CPUs")
    outcome, folder = outcomes[case.id]
    message = case.message.replace("{dir}", str(folder))
    both = outcome.stdout + outcome.stderr
    plain(both)
    assert outcome.returncode == case.status, both
    if case.status == USAGE_ERROR:
        # the one line, and nothing else on stderr; no test ran
        assert [line for line in outcome.stderr.splitlines() if line.strip()] == [
            f"ERROR: {message}"], both
        assert "passed" not in outcome.stdout and "failed" not in outcome.stdout, both
    else:
        # that test failed with the one line, before anything reached the DUT
        assert f"xdpperf: {message}" in outcome.stdout.splitlines(), both
        assert "1 failed" in outcome.stdout, both
    assert not (folder / "run").exists(), "something was started: " + both


class Registered:
    """Stands in for pytest's parser and option group: keeps what plugin.py registers
    (options by their first name, ini keys by theirs)."""

    def __init__(self) -> None:
        self.options: dict[str, dict[str, Any]] = {}
        self.ini: dict[str, dict[str, Any]] = {}

    def getgroup(self, *args: Any) -> Registered:
        return self

    def addoption(self, *names: str, **kwargs: Any) -> None:
        self.options[names[0]] = {"names": names, **kwargs}

    def addini(self, name: str, help: str, **kwargs: Any) -> None:
        self.ini[name] = kwargs


def test_every_numeric_option_is_in_the_matrix() -> None:
    """Every option plugin.py registers with a number for its built-in default
    (settings.SETTINGS) is converted by the plugin (NUMBERS, never argparse's type=,
    whose error is its usage text) and has a case here, as has
    --xdpperf-loss-threshold: a new one cannot join untried."""
    registered = Registered()
    pytest_addoption(registered)  # type: ignore[arg-type]
    defaults = {s.flag: s.default for s in SETTINGS}
    assert set(registered.options) == set(defaults)  # nothing registered past the table
    numeric = {name for name, default in defaults.items()
               if (isinstance(default, int | float) and not isinstance(default, bool))
               or name == "--xdpperf-confirm-duration"}  # a number, though None by default
    assert numeric == set(NUMBERS)
    assert not [name for name, kw in registered.options.items() if "type" in kw]
    given = {a for c in CASES for a in c.args if a.startswith("--")}
    assert {*NUMBERS, "--xdpperf-loss-threshold"} <= given


# --- the same checks called directly: more values than one subprocess each ---------------

@pytest.mark.parametrize("name", sorted(NUMBERS))
@pytest.mark.parametrize("text", ["x", "", "1,5"])
def test_no_number_names_the_option(name: str, text: str) -> None:
    kind, example = NUMBERS[name]
    what = "a whole number" if kind is int else "a number"
    with pytest.raises(XdpperfError) as exc:
        parse_number(name, text, kind, example)
    assert str(exc.value) == f"{name} '{text}' is not {what} (give {what}, e.g. {name} {example})"


@pytest.mark.parametrize("text", ["1", "-0.001", "nan", "inf", "100%", "0.1%%"])
def test_bad_loss_thresholds(text: str) -> None:
    with pytest.raises(XdpperfError,
                       match=r"^--xdpperf-loss-threshold .*(out of range|not a ratio)"):
        parse_ratio(text)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"repetitions": 0}, "--xdpperf-repetitions 0 is below 1"),
        ({"confirm_trials": -1}, "--xdpperf-confirm-trials -1 is negative"),
        ({"confirm_duration": 0.0}, "--xdpperf-confirm-duration 0.0 is not a positive finite"),
        ({"confirm_duration": float("nan")}, "--xdpperf-confirm-duration nan is not a positive"),
        ({"tester_retries": -1}, "--xdpperf-tester-retries -1 is negative"),
        ({"mfr_repetitions": 0}, "--xdpperf-mfr-repetitions 0 is below 1"),
        ({"relative_width": 0.0}, "--xdpperf-relative-width 0.0 is not between 0 and 1"),
        ({"relative_width": 1.0}, "--xdpperf-relative-width 1.0 is not between 0 and 1"),
        ({"relative_width": float("nan")}, "--xdpperf-relative-width nan is not between 0 and 1"),
        ({"min_load": 0.0}, "--xdpperf-min-load 0.0 is not a positive finite number"),
        ({"min_load": float("inf")}, "--xdpperf-min-load inf is not a positive finite number"),
        ({"trial_duration": -1.0}, "--xdpperf-trial-duration -1.0 is not a positive finite number"),
        ({"trial_duration": float("inf")}, "--xdpperf-trial-duration inf is not a positive finite"),
        ({"method": "csit"}, "--xdpperf-method 'csit' is unknown"),
    ],
)
def test_run_options_validation(kwargs: dict[str, Any], message: str) -> None:
    """RunOptions itself (for code that makes one without the plugin)."""
    with pytest.raises(XdpperfError, match=message):
        RunOptions(**kwargs)


def test_min_load_must_be_below_the_calibrated_maximum() -> None:
    RunOptions(min_load=1e5).check_min_load(1.0001e5)
    with pytest.raises(XdpperfError) as exc:
        RunOptions(min_load=1e5).check_min_load(1e5)
    assert exc.value.problem == ("--xdpperf-min-load 100000 pps is not below the 100000 pps the "
                                 "tester was calibrated to offer")
    assert exc.value.fix == "give a lower --xdpperf-min-load"


# --- foreign names: cleanup deletes only the exact patterns naming.py makes --------------

OURS_NETNS, OURS_IF = "xdpp-0a1b2c-dut", "xdpp0a1b2ct"
FOREIGN = ["xdpprod0", "xdpp-lab", "xdpp-0a1b2c-dut2", "xdpp-0a1b2c-router", "xdpp0a1b2cx",
           "xdpp0a1b2", "xdpp-0A1B2C-dut", "my-xdpp-0a1b2c-dut", "xdpp0a1b2ct0", "eth0",
           "xdpp-0a1b2c-dut\n"]


@pytest.mark.parametrize("name", FOREIGN, ids=repr)
def test_a_look_alike_name_is_not_ours(name: str) -> None:
    assert not naming.is_ours(name) and not naming.is_our_netns(name)


class FakeLink(dict[str, Any]):
    def get_attr(self, name: str) -> str:
        return str(self["ifname"])


class FakeIPRoute:
    """Links named FOREIGN and ours; records what cleanup deletes."""

    deleted: list[str] = []

    def __init__(self) -> None:
        self.links = [FakeLink(index=i, ifname=n) for i, n in enumerate([*FOREIGN, OURS_IF])]

    def __enter__(self) -> FakeIPRoute:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def get_links(self) -> list[FakeLink]:
        return self.links

    def link(self, command: str, index: int) -> None:
        assert command == "del"
        FakeIPRoute.deleted.append(self.links[index]["ifname"])


@pytest.fixture
def fake_host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[str]]:
    """Namespaces, links and processes with foreign names beside ours; yields what
    cleanup removed or killed (nothing real is touched)."""
    removed: list[str] = []
    FakeIPRoute.deleted = removed
    monkeypatch.setenv("XDPPERF_RUN_DIR", str(tmp_path))
    monkeypatch.setattr(cleanup.pyroute2_netns, "listnetns", lambda: [*FOREIGN, OURS_NETNS])
    monkeypatch.setattr(cleanup.pyroute2_netns, "remove", removed.append)
    monkeypatch.setattr(cleanup, "IPRoute", FakeIPRoute)

    class Proc:
        def __init__(self, pid: int, netns: str) -> None:
            self.pid = pid
            self.info = {"pid": pid, "cmdline": ["/x/nf", "--netns", netns]}

    procs = [Proc(100_000 + i, n) for i, n in enumerate([*FOREIGN, OURS_NETNS])]
    monkeypatch.setattr(cleanup.psutil, "process_iter", lambda attrs: iter(procs))
    monkeypatch.setattr(cleanup.os, "kill",
                        lambda pid, sig: removed.append(procs[pid - 100_000].info["cmdline"][2]))
    yield removed


def test_cleanup_spares_foreign_names(fake_host: list[str]) -> None:
    """Given foreign namespaces, interfaces and processes naming them, `xdpperf cleanup`
    removes only ours: the process in our namespace, the namespace, the interface."""
    removed = cleanup.cleanup()
    assert fake_host == [OURS_NETNS, OURS_NETNS, OURS_IF]
    assert removed.namespaces == [OURS_NETNS] and removed.interfaces == [OURS_IF]
    assert len(removed.processes) == 1
