"""children.py: what every child of a run gets (parent-death signal, CPUs, user, a
process group of its own) and that the run note follows it; runfile.py and `xdpperf
cleanup` killing exactly the recorded children of a dead run. No namespace is made
(a private prefix and run dir): no lock needed."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from pytest_xdpperf import children, cleanup, naming, runfile

PDEATHSIG = ("import ctypes, json, os; s = ctypes.c_int(); "
             "ctypes.CDLL(None).prctl(2, ctypes.byref(s)); "  # PR_GET_PDEATHSIG
             "print(json.dumps([s.value, os.getuid(), sorted(os.sched_getaffinity(0)), "
             "os.getpgid(0) == os.getpid(), os.environ.get('XDPPERF_RUNS')]))")


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDPPERF_RUN_DIR", str(tmp_path))
    monkeypatch.setattr(naming, "PREFIX", "xdpc" + secrets.token_hex(2))
    return tmp_path


def execed(pid: int, argv: list[str], timeout: float = 5) -> bool:
    """Whether `pid` got through the wrappers' execs to `argv` within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if psutil.Process(pid).cmdline() == argv:
            return True
        time.sleep(0.01)
    return False


def report(**kw: object) -> list[object]:
    argv = children.contained([sys.executable, "-c", PDEATHSIG], **kw)  # type: ignore[arg-type]
    result = children.run(argv, "probe", timeout=30)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def test_a_child_has_the_signal_its_cpus_and_its_own_group(run_dir: Path) -> None:
    cpu = max(os.sched_getaffinity(0))
    # (the mark: the run ids of this process's live testbeds, none unless a session
    # testbed of an integration test lives)
    marks = ",".join(runfile.live_run_ids())
    assert report(cpus=[cpu]) == [signal.SIGKILL, os.getuid(), [cpu], True, marks]
    assert report(death_signal="TERM")[0] == signal.SIGTERM


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to change user")
def test_a_child_run_as_another_user_keeps_the_signal(run_dir: Path) -> None:
    # the change of user clears the parent-death signal: contained() sets it again
    nobody = __import__("pwd").getpwnam("nobody").pw_uid
    assert report(user="nobody")[:2] == [signal.SIGKILL, nobody]


def test_a_child_dies_with_the_thread_that_started_it(run_dir: Path) -> None:
    """The real thing: a parent (python) starts a contained sleep, is SIGKILLed."""
    code = ("import subprocess, sys; from pytest_xdpperf import children; "
            "p = children.start(children.contained(['sleep', '60']), 'sleep'); "
            "print(p.pid, flush=True); sys.stdin.read()")
    parent = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    try:
        assert execed(pid, ["sleep", "60"])
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 2
        while psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" \
                and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
    finally:
        if psutil.pid_exists(pid):
            os.kill(pid, signal.SIGKILL)


def test_children_start_from_the_main_thread_only(run_dir: Path) -> None:
    caught: list[BaseException] = []

    def other() -> None:
        try:
            children.start(children.contained(["true"]), "true")
        except RuntimeError as exc:
            caught.append(exc)
    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert caught and "main thread" in str(caught[0])


def note_of(run_dir: Path, run_id: str) -> dict[str, object]:
    return dict(json.loads((run_dir / f"{run_id}.json").read_text()))


def test_the_note_has_a_child_while_it_runs(run_dir: Path) -> None:
    run_id = secrets.token_hex(3)
    note = runfile.RunNote.create(run_id, [naming.netns_name(run_id, "dut")], [])
    try:
        proc = children.start(children.contained(["sleep", "30"]), "sleep")
        (entry,) = note_of(run_dir, run_id)["children"]  # type: ignore[misc]
        assert entry["pid"] == proc.pid and entry["name"] == "sleep"
        assert runfile.same_process(proc.pid, entry["create_time"])
        assert execed(proc.pid, ["sleep", "30"])
        assert run_id in psutil.Process(proc.pid).environ()[children.RUN_MARK].split(",")
        children.kill(proc)
        proc.wait()
        children.reaped(proc)
        assert note_of(run_dir, run_id)["children"] == []
        assert not list(run_dir.glob("*.tmp"))  # written whole, by rename
    finally:
        note.remove()
    assert not (run_dir / f"{run_id}.json").exists()


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_cleanup_kills_a_dead_runs_children_and_spares_a_reused_pid(run_dir: Path) -> None:
    run_id = secrets.token_hex(3)
    ours = subprocess.Popen(["sleep", "60"])
    foreign = subprocess.Popen(["sleep", "60"])
    try:
        started = runfile.create_time(foreign.pid)
        assert started is not None
        note = {"pid": dead_pid(), "netns": [naming.netns_name(run_id, "dut")], "ifnames": [],
                "children": [
                    {"pid": ours.pid, "create_time": runfile.create_time(ours.pid),
                     "name": "sleep"},
                    # the same pid as a process recorded earlier: another create_time
                    {"pid": foreign.pid, "create_time": started - 1.0, "name": "perf"}]}
        (run_dir / f"{run_id}.json").write_text(json.dumps(note))
        assert f"process {ours.pid} sleep (recorded by a dead run)" in cleanup.leftovers()
        removed = cleanup.cleanup()
        assert removed.processes == [f"{ours.pid} sleep"]
        assert ours.wait(timeout=10) == -signal.SIGKILL
        assert foreign.poll() is None
        assert removed.notes == [f"{run_id}.json"]
    finally:
        for proc in (ours, foreign):
            proc.kill()
            proc.wait()


def test_cleanup_spares_a_live_runs_children(run_dir: Path) -> None:
    run_id = secrets.token_hex(3)
    child = subprocess.Popen(["sleep", "60"])
    try:
        me = os.getpid()
        note = {"pid": me, "create_time": runfile.create_time(me),
                "netns": [naming.netns_name(run_id, "dut")], "ifnames": [],
                "children": [{"pid": child.pid, "create_time": runfile.create_time(child.pid),
                              "name": "sleep"}]}
        (run_dir / f"{run_id}.json").write_text(json.dumps(note))
        assert cleanup.cleanup().processes == []
        assert child.poll() is None
        # an owner whose pid was reused (other create_time) is a dead run
        note["create_time"] = float(note["create_time"]) - 1.0  # type: ignore[arg-type]
        (run_dir / f"{run_id}.json").write_text(json.dumps(note))
        assert cleanup.cleanup().processes == [f"{child.pid} sleep"]
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        child.kill()
        child.wait()
