"""The fault matrix, run for real on the built-in testbed: each fault at the session's
calibration, mid-search and in the final trials (confirmation, MFR) before the record.

Each case runs the tiny suite tests/suites/teardown in a subprocess (the real
calibration where the fault is aimed at it), waits in the run's journal for the phase,
strikes during the trial that follows, and then checks:
- nothing of the run is left (namespaces, links, processes, XDP programs, its note) -
  after `xdpperf cleanup` where pytest itself was SIGKILLed, by itself otherwise;
- every line the journal held when the fault struck is still there, whole (a SIGKILL
  may tear the last one); a measurement that ended unfinished lists every trial the
  journal has of it;
- the outcome is the one a user should see (pytest's interrupted status, a plain
  failure naming the program and how it ended, a warning for a full journal);
- the next run on the machine works.
The README's "What a fault leaves" table is this matrix.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from faultnfs import forwards_nothing, never_ready
from leftovers import left_of, processes_of

from pytest_xdpperf import naming
from pytest_xdpperf.journal import read

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, BPF, tmpfs)"),
]

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "suites" / "teardown"
XDPPERF = str(Path(sys.executable).parent / "xdpperf")
CHEAP = ["--xdpperf-trial-duration", "0.1", "--xdpperf-min-load", "100000",
         "--xdpperf-relative-width", "0.05",
         "--xdpperf-mfr-repetitions", "3"]
PHASES = ("calibration", "search", "final")
# how long after the phase's first journal line the fault strikes: inside the next trial
STRIKE_DELAY = 0.05


def in_phase(line: dict[str, Any], phase: str) -> bool:
    """Whether a journal line is a trial of the phase."""
    if phase == "calibration":
        return line.get("kind") == "calibration"
    if line.get("kind") != "trial":
        return False
    return line.get("phase") == "search" if phase == "search" else \
        line.get("phase") in ("confirm", "mfr")


class Run:
    """One run of the teardown suite in a subprocess, watched through its journal."""

    def __init__(self, tmp: Path, test: str, phase: str, *extra: str,
                 journal: Path | None = None, env: dict[str, str] | None = None):
        self.tmp, self.test = tmp, test
        self.journal = journal or tmp / "journal.jsonl"
        argv = [sys.executable, "-m", "pytest", str(SUITE), "-k", test, "-p", "no:randomly",
                "-p", "no:cacheprovider", "-q", "--xdp-mode", "xdp", *CHEAP,
                "--xdpperf-journal", str(self.journal),
                f"--benchmark-json={tmp / 'record.json'}", *extra]
        run_env = {**os.environ, "XDPP_INFO": str(tmp), **(env or {})}
        run_env.pop("XDPPERF_RUN_DIR", None)  # the real run dir: cleanup must see the note
        if phase == "calibration":
            run_env["XDPP_CALIBRATE"] = "1"
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=run_env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.output = ""
        self.run_id: str | None = None

    def lines(self) -> list[dict[str, Any]]:
        return read(self.journal).lines if self.journal.exists() else []

    def wait_for(self, phase: str, timeout: float = 90) -> list[dict[str, Any]]:
        """Block until the journal holds a trial of `phase`; the lines it holds then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._find_run_id()
            lines = self.lines()
            if any(in_phase(line, phase) for line in lines):
                self._find_run_id()
                return lines
            if self.proc.poll() is not None:
                raise AssertionError(f"the run ended before its {phase}:\n{self.finish()}")
            time.sleep(0.02)
        self.proc.kill()
        raise AssertionError(f"the run never reached its {phase}:\n{self.finish()}")

    def _find_run_id(self) -> None:
        """The run's id, from the note its testbed left in the run directory."""
        if self.run_id is not None:
            return
        directory = Path(naming.run_dir())
        for note in directory.glob("*.json") if directory.is_dir() else ():
            try:
                if json.loads(note.read_text()).get("pid") == self.proc.pid:
                    self.run_id = note.stem
            except (OSError, ValueError):
                continue

    def child(self, role: str) -> psutil.Process:
        """Our C program working in the run's `role` namespace (dut: the NF, or the
        no-op sink at calibration; tester: the generator)."""
        assert self.run_id
        netns = naming.netns_name(self.run_id, role)
        for proc in psutil.Process(self.proc.pid).children(recursive=True):
            try:
                argv = proc.cmdline()
            except psutil.Error:
                continue
            if any(f == "--netns" and v == netns for f, v in zip(argv, argv[1:])):
                return proc
        raise AssertionError(f"no program of the run in {netns}")

    def finish(self, timeout: float = 90) -> str:
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        self.output += out or ""
        return self.output


def assert_nothing_left(run_id: str | None) -> None:
    assert run_id, "the run left no note: its id is unknown"
    assert left_of(run_id) == []
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    assert run_id not in links
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert run_id not in netns


def assert_journal_kept(run: Run, before: list[dict[str, Any]], torn_ok: bool) -> None:
    """Every line the journal had when the fault struck is still there, whole; an
    unfinished measurement names every trial journaled of its test."""
    after = read(run.journal)
    assert after.torn <= (1 if torn_ok else 0)
    assert after.lines[:len(before)] == before
    for end in (line for line in after.lines if line.get("kind") == "unfinished"):
        journaled = [line for line in after.lines
                     if line.get("kind") == "trial" and line.get("test") == end["test"]]
        assert len(end["trials"]) == len(journaled) >= 1


def assert_next_run_works(tmp: Path) -> None:
    nxt = tmp / "next"
    nxt.mkdir()
    run = Run(nxt, "test_normal", "search")
    out = run.finish()
    assert run.proc.returncode == 0, out
    run._find_run_id()
    facts = json.loads((nxt / "test_normal.json").read_text())
    assert_nothing_left(facts["run_id"])


def strike(run: Run, phase: str, act: Callable[[Run], None]) -> list[dict[str, Any]]:
    before = run.wait_for(phase)
    time.sleep(STRIKE_DELAY)
    act(run)
    return before


# --- signals to pytest ----------------------------------------------------------------

@pytest.mark.parametrize("phase", PHASES)
def test_sigkill_of_pytest(tmp_path: Path, phase: str) -> None:
    run = Run(tmp_path, "test_normal", phase)
    before = strike(run, phase, lambda r: r.proc.send_signal(signal.SIGKILL))
    run.finish()
    assert run.proc.returncode == -signal.SIGKILL
    assert run.run_id
    # our programs see EOF on stdin and go (detaching their XDP programs) by themselves
    deadline = time.monotonic() + 15
    while processes_of(run.run_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_of(run.run_id) == []
    cleaned = subprocess.run([XDPPERF, "cleanup"], capture_output=True, text=True, timeout=60)
    assert cleaned.returncode == 0, cleaned.stderr
    assert f"removed note: {run.run_id}.json" in cleaned.stdout
    assert_nothing_left(run.run_id)
    assert_journal_kept(run, before, torn_ok=True)
    assert_next_run_works(tmp_path)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("phase", PHASES)
def test_interrupt(tmp_path: Path, phase: str, sig: signal.Signals) -> None:
    run = Run(tmp_path, "test_normal", phase)
    before = strike(run, phase, lambda r: r.proc.send_signal(sig))
    out = run.finish()
    assert run.proc.returncode == pytest.ExitCode.INTERRUPTED, out
    assert "KeyboardInterrupt" in out
    assert_nothing_left(run.run_id)  # torn down by itself, no cleanup needed
    assert_journal_kept(run, before, torn_ok=False)
    if phase != "calibration":  # the measurement under way is kept, unfinished
        assert any(line.get("kind") == "unfinished" for line in run.lines())
    assert_next_run_works(tmp_path)


# --- the programs of the run ----------------------------------------------------------

@pytest.mark.parametrize("role", ["dut", "tester"], ids=["nf", "generator"])
@pytest.mark.parametrize("phase", PHASES)
def test_program_killed_mid_trial(tmp_path: Path, phase: str, role: str) -> None:
    run = Run(tmp_path, "test_normal", phase)
    before = strike(run, phase, lambda r: r.child(role).kill())
    out = run.finish()
    assert run.proc.returncode == pytest.ExitCode.TESTS_FAILED, out
    # one plain line names the program and how it ended: on the DUT the NF (at
    # calibration the no-op sink), on the tester the generator
    name = "trafficgen" if role == "tester" else "sink" if phase == "calibration" \
        else "macswap"
    assert f"xdpperf: {name} exited: killed by SIGKILL" in out, out
    assert "Traceback" not in out
    assert_nothing_left(run.run_id)
    assert_journal_kept(run, before, torn_ok=False)
    if phase != "calibration":
        assert any(line.get("kind") == "unfinished" for line in run.lines())
    assert_next_run_works(tmp_path)


# --- the journal's disk ---------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path: Path) -> Any:
    """A 4 KiB tmpfs: room for a few journal lines, not for a measurement's."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "xdpperf-test", str(mount)],
                   check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


@pytest.mark.parametrize("phase", ["calibration", "search"])
def test_full_disk_for_the_journal(tmp_path: Path, small_disk: Path, phase: str) -> None:
    """The journal fills at calibration or mid-search (and its measurement line never
    fits): the run goes on, warns once, keeps whole lines only, and its record is made."""
    run = Run(tmp_path, "test_normal", phase, journal=small_disk / "journal.jsonl")
    out = run.finish(timeout=180)
    assert run.proc.returncode == 0, out
    assert out.count("JournalWarning") == 1, out
    assert f"cannot write the journal {small_disk / 'journal.jsonl'}: No space left" in out
    journal = read(small_disk / "journal.jsonl")
    assert journal.torn == 0 and journal.lines
    assert not any(line["kind"] == "measurement" for line in journal.lines)  # never fitted
    if phase == "calibration":
        assert all(line["kind"] == "calibration" for line in journal.lines)
    # the measurement is not lost: pytest-benchmark's record has it
    (bench,) = json.loads((tmp_path / "record.json").read_text())["benchmarks"]
    assert bench["extra_info"]["pdr"] is not None
    run._find_run_id()
    facts = json.loads((tmp_path / "test_normal.json").read_text())
    assert_nothing_left(facts["run_id"])
    assert_next_run_works(tmp_path)


# --- NFs that misbehave -------------------------------------------------------------

def test_an_nf_that_never_becomes_ready(tmp_path: Path) -> None:
    run = Run(tmp_path, "test_normal", "search", *never_ready(tmp_path),
              env={"XDPP_READY_TIMEOUT": "3"})
    out = run.finish(timeout=180)
    assert run.proc.returncode == pytest.ExitCode.TESTS_FAILED, out
    assert "macswap gave no answer to 'start' in 3 s" in out
    assert "Traceback" not in out
    facts = json.loads((tmp_path / "test_normal.json").read_text())
    assert_nothing_left(facts["run_id"])
    assert_next_run_works(tmp_path)


def test_a_dut_that_forwards_nothing(tmp_path: Path) -> None:
    """Passthrough through an NF that drops every frame: no rate, said plainly, and
    the record is still written (xdpperf_unmeasured), not silently missing."""
    run = Run(tmp_path, "test_passthrough", "search", *forwards_nothing(tmp_path))
    out = run.finish(timeout=180)
    assert run.proc.returncode == pytest.ExitCode.TESTS_FAILED, out
    assert "the NF forwarded nothing at any load" in out
    assert "Traceback" not in out
    doc = json.loads((tmp_path / "record.json").read_text())
    kept = doc.get("benchmarks", []) + doc.get("xdpperf_unmeasured", [])
    assert [b["name"] for b in kept] == ["test_passthrough[xdp]"], doc.keys()
    facts = json.loads((tmp_path / "test_passthrough.json").read_text())
    assert_nothing_left(facts["run_id"])
    assert_next_run_works(tmp_path)
