"""Whatever way a run ends, it leaves nothing behind; `xdpperf cleanup` mops up a kill -9.

Each test runs pytest in a subprocess on the tiny suite tests/suites/teardown
(fixed calibration figures, so a run costs seconds). Other xdpperf runs may be
live on this machine at the same time, so "nothing left" is checked for the
objects of the run under test (found by its run id), never machine-wide, and
no test here runs a real `xdpperf cleanup --all` under the real prefix.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from leftovers import left_of, processes_of

from pytest_xdpperf import cleanup, naming, runfile

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, BPF)"),
]

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "suites" / "teardown"
XDPPERF = str(Path(sys.executable).parent / "xdpperf")
CHEAP = ["--xdpperf-trial-duration", "0.1", "--xdpperf-min-load", "100000",
         "--xdpperf-relative-width", "0.05"]


def suite_argv(test: str, modes: str) -> list[str]:
    return [sys.executable, "-m", "pytest", str(SUITE), "-k", test, "-p", "no:randomly",
            "-p", "no:cacheprovider", "-q", "--xdp-mode", modes, *CHEAP]


def suite_env(info: Path, prefix: str | None = None) -> dict[str, str]:
    env = {**os.environ, "XDPP_INFO": str(info)}
    env.pop("XDPPERF_RUN_DIR", None)  # the real run dir: cleanup must see live runs' notes
    if prefix:
        env["XDPP_PREFIX"] = prefix
    return env


def run_suite(tmp_path: Path, test: str, modes: str = "af_xdp-sysc",
              ) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    argv = [*suite_argv(test, modes), "--xdpperf-journal", str(tmp_path / "journal.jsonl")]
    result = subprocess.run(argv, cwd=ROOT, env=suite_env(tmp_path),
                            capture_output=True, text=True, timeout=120)
    return result, info(tmp_path, test)


def journal(directory: Path) -> list[dict[str, Any]]:
    path = directory / "journal.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def info(directory: Path, test: str) -> dict[str, Any]:
    path = directory / f"{test}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def wait_for(directory: Path, test: str, key: str, proc: subprocess.Popen[str],
             timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        facts = info(directory, test)
        if key in facts:
            return facts
        if proc.poll() is not None:
            raise AssertionError(f"suite ended before '{key}':\n{proc.communicate()[0]}")
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"suite never reported '{key}'")


def assert_clean(facts: dict[str, Any]) -> None:
    run_id = facts["run_id"]
    assert left_of(run_id) == []
    # nothing of the run's left in the root namespace either (veths are moved out of it)
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    assert run_id not in links
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert run_id not in netns


def assert_no_traceback(output: str) -> None:
    assert "Traceback" not in output


def test_normal_run_leaves_nothing(tmp_path: Path) -> None:
    result, facts = run_suite(tmp_path, "test_normal")
    assert result.returncode == 0, result.stdout + result.stderr
    assert facts["mode"] == "af_xdp-sysc"
    # the mode's sysfs settings were applied for the search and are back as they were
    assert facts["sysfs_after"] == facts["sysfs_before"]
    assert facts["xdp_after"] is False        # nothing attached to either veth after the NF
    assert facts["nf_children_after"] == 0    # NF and generator stopped before teardown
    assert_clean(facts)
    entries = journal(tmp_path)
    kinds = [e["kind"] for e in entries]
    # each trial on disk as it ended, then the measurement
    assert kinds[-1] == "measurement" and set(kinds[:-1]) == {"trial"}
    phases = [e["phase"] for e in entries[:-1]]
    assert phases.count("search") == len(entries[-1]["trials"]) and "mfr" in phases
    assert entries[-1]["mode"] == "af_xdp-sysc" and entries[-1]["trials"]


def test_failing_test_leaves_nothing(tmp_path: Path) -> None:
    result, facts = run_suite(tmp_path, "test_raises")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "boom in the middle of a measurement" in result.stdout
    assert facts["running"] and facts["xdp_during"] is True  # it did fail mid-measurement
    assert facts["sysfs_after"] == facts["sysfs_before"]
    assert facts["xdp_after"] is False
    assert facts["nf_children_after"] == 0
    assert_clean(facts)
    # the trials measured before the failure are kept, each as it ended
    entries = journal(tmp_path)
    (entry,) = [e for e in entries if e["kind"] == "unfinished"]
    assert "boom" in entry["error"]
    assert len(entry["trials"]) >= 1 and all(t["offered"] > 0 for t in entry["trials"])
    assert len([e for e in entries if e["kind"] == "trial"]) == len(entry["trials"])
    # and read back as an unfinished record
    out = tmp_path / "imported.json"
    imported = subprocess.run([XDPPERF, "import", str(tmp_path / "journal.jsonl"), "-o",
                               str(out)], capture_output=True, text=True)
    assert imported.returncode == 0, imported.stderr
    (record,) = json.loads(out.read_text())["xdpperf_unmeasured"]
    assert record["extra_info"]["unfinished"] and "boom" in record["extra_info"]["error"]
    assert len(record["extra_info"]["trials"]) == len(entry["trials"])


def test_ctrl_c_leaves_nothing(tmp_path: Path) -> None:
    proc = subprocess.Popen(suite_argv("test_wait", "xdp"), cwd=ROOT, env=suite_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        facts = wait_for(tmp_path, "test_wait", "ready", proc)
        assert psutil.pid_exists(facts["nf_pid"])
        assert any(facts["run_id"] in item for item in cleanup.leftovers())
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, output  # pytest's "interrupted"
    assert "KeyboardInterrupt" in output
    assert not psutil.pid_exists(facts["nf_pid"])
    assert_clean(facts)


def test_kill_9_then_xdpperf_cleanup(tmp_path: Path) -> None:
    proc = subprocess.Popen(suite_argv("test_wait", "af_xdp"), cwd=ROOT,
                            env=suite_env(tmp_path), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        facts = wait_for(tmp_path, "test_wait", "ready", proc)
    finally:
        proc.kill()
        proc.wait()
    run_id = facts["run_id"]
    # the C programs see EOF on stdin and exit by themselves (they detach their XDP
    # programs), but the namespaces and the run's note stay
    deadline = time.monotonic() + 15
    while processes_of(run_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_of(run_id) == []
    left = left_of(run_id)
    assert sorted(left) == sorted([f"netns {ns}" for ns in facts["netns"]]
                                  + [f"note {naming.run_dir()}/{run_id}.json"])

    dry = subprocess.run([XDPPERF, "cleanup", "--dry-run"], capture_output=True, text=True)
    assert dry.returncode == 0
    assert all(ns in dry.stdout for ns in facts["netns"])
    assert left_of(run_id) == left  # --dry-run removed nothing

    first = subprocess.run([XDPPERF, "cleanup"], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    for ns in facts["netns"]:
        assert f"removed namespace: {ns}" in first.stdout
    assert f"removed note: {run_id}.json" in first.stdout
    assert_clean(facts)

    second = subprocess.run([XDPPERF, "cleanup"], capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert run_id not in second.stdout
    if "removed" not in second.stdout:  # (another run may have been killed meanwhile)
        assert second.stdout.strip() == "nothing of xdpperf's was left on this machine"


def test_kill_9_takes_every_child_with_it(tmp_path: Path) -> None:
    """SIGKILL pytest while its NF, generator, perf stat and a sadc run: their
    parent-death signal takes them all within a couple of seconds, with nothing
    else (cleanup) involved; the note had recorded each of them."""
    proc = subprocess.Popen(suite_argv("test_wait_children", "xdp"), cwd=ROOT,
                            env=suite_env(tmp_path), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, text=True)
    recorded: list[dict[str, Any]] = []
    try:
        facts = wait_for(tmp_path, "test_wait_children", "ready", proc)
        note = Path(naming.run_dir()) / f"{facts['run_id']}.json"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the sadc was started and recorded
            recorded = json.loads(note.read_text())["children"]
            if any(c["name"] == "sadc" for c in recorded):
                break
            time.sleep(0.05)
        names = sorted(c["name"] for c in recorded)
        assert names == ["macswap", "perf", "sadc", "trafficgen"], recorded
        assert {c["pid"] for c in recorded if c["name"] == "macswap"} == {facts["nf_pid"]}
        alive = [c for c in recorded if runfile.same_process(c["pid"], c["create_time"])]
        assert alive == recorded
        assert len(processes_of(facts["run_id"])) == 4, processes_of(facts["run_id"])
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 2
    while processes_of(facts["run_id"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_of(facts["run_id"]) == []
    assert not [c for c in recorded if runfile.same_process(c["pid"], c["create_time"])]
    result = subprocess.run([XDPPERF, "cleanup"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert_clean(facts)


def test_crashed_nf_fails_plainly_and_leaves_nothing(tmp_path: Path) -> None:
    result, facts = run_suite(tmp_path, "test_nf_crash", modes="af_xdp")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "killed" in facts
    assert "xdpperf: macswap exited" in output
    assert "SIGKILL" in output
    assert_no_traceback(output)
    assert facts["nf_children_after"] == 0
    assert_clean(facts)
    (entry,) = [e for e in journal(tmp_path) if e["kind"] == "unfinished"]
    assert entry["trials"]


@pytest.fixture
def foreign_netns() -> Any:
    """Namespaces cleanup must not take: one unrelated, one that only looks like ours."""
    names = [f"keepme-{secrets.token_hex(3)}", f"{naming.PREFIX}keep{secrets.token_hex(2)}"]
    for name in names:
        subprocess.run(["ip", "netns", "add", name], check=True)
    yield names
    for name in names:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def netns_list() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def test_cleanup_spares_foreign_and_live(tmp_path: Path, foreign_netns: list[str]) -> None:
    proc = subprocess.Popen(suite_argv("test_wait", "xdp"), cwd=ROOT, env=suite_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        facts = wait_for(tmp_path, "test_wait", "ready", proc)
        result = subprocess.run([XDPPERF, "cleanup"], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert facts["run_id"] not in result.stdout
        assert set(foreign_netns) <= netns_list()
        assert set(facts["netns"]) <= netns_list()   # a live run is left alone
        assert psutil.pid_exists(facts["nf_pid"])
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert set(foreign_netns) <= netns_list()
    assert_clean(facts)


CLEANUP_WITH_PREFIX = (
    "import sys; from pytest_xdpperf import naming; naming.PREFIX = sys.argv[1]; "
    "from pytest_xdpperf.cli import main; sys.exit(main(sys.argv[2:]))"
)


def test_cleanup_all_takes_live_runs(tmp_path: Path, foreign_netns: list[str]) -> None:
    """--all, under a prefix of this test's own so nobody else's live run is reached."""
    prefix = "xdpt" + secrets.token_hex(2)
    proc = subprocess.Popen(suite_argv("test_wait", "xdp"), cwd=ROOT,
                            env=suite_env(tmp_path, prefix), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        facts = wait_for(tmp_path, "test_wait", "ready", proc)
        assert all(ns.startswith(prefix + "-") for ns in facts["netns"])
        cmd = [sys.executable, "-c", CLEANUP_WITH_PREFIX, prefix, "cleanup"]
        spared = subprocess.run(cmd, capture_output=True, text=True)
        assert "nothing of xdpperf's was left" in spared.stdout
        assert set(facts["netns"]) <= netns_list()
        taken = subprocess.run([*cmd, "--all"], capture_output=True, text=True)
        assert taken.returncode == 0, taken.stderr
        assert f"removed process: {facts['nf_pid']}" in taken.stdout
        for ns in facts["netns"]:
            assert f"removed namespace: {ns}" in taken.stdout
        assert not set(facts["netns"]) & netns_list()
        assert set(foreign_netns) <= netns_list()
        output, _ = proc.communicate(timeout=60)  # its NF is gone: the test fails
        assert proc.returncode == 1, output
    finally:
        if proc.poll() is None:
            proc.kill()
    assert processes_of(facts["run_id"]) == []
    assert not (Path(naming.run_dir()) / f"{facts['run_id']}.json").exists()


def test_cleanup_keeps_what_live_runs_and_other_prefixes_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A live run's root-namespace interfaces are spared (its pair is built there
    before the move); --all forgets only its own prefix's run notes; a note
    still being written is never read as a dead run's."""
    prefix = "xdpq" + secrets.token_hex(2)
    monkeypatch.setattr(naming, "PREFIX", prefix)
    monkeypatch.setenv("XDPPERF_RUN_DIR", str(tmp_path))
    live, dead = secrets.token_hex(3), secrets.token_hex(3)
    live_if, live_peer = naming.ifname(live, "t"), naming.ifname(live, "d")
    dead_if, dead_peer = naming.ifname(dead, "t"), naming.ifname(dead, "d")
    for name, peer in ((live_if, live_peer), (dead_if, dead_peer)):
        subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", peer],
                       check=True)
    try:
        (tmp_path / "live.json").write_text(json.dumps(
            {"pid": os.getpid(), "netns": [naming.netns_name(live, "dut")],
             "ifnames": [live_if, live_peer]}))
        (tmp_path / "other.json").write_text(json.dumps(
            {"pid": os.getpid(), "netns": ["xdpp-other-dut"]}))
        (tmp_path / "half.json.tmp").write_text("{\"pid\": ")
        removed = cleanup.cleanup()
        assert len(removed.interfaces) == 1  # one end: the peer goes with it
        assert removed.interfaces[0] in (dead_if, dead_peer)
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            "half.json.tmp", "live.json", "other.json"]
        removed = cleanup.cleanup(include_live=True)
        assert len(removed.interfaces) == 1 and removed.interfaces[0] in (live_if, live_peer)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["half.json.tmp", "other.json"]
    finally:
        for name in (live_if, dead_if):
            subprocess.run(["ip", "link", "del", name], capture_output=True)


def test_cleanup_takes_a_dead_runs_objects_and_spares_look_alikes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Exact names, never a prefix: a user's xdpp-prefixed interface, namespace and a
    process naming such a namespace stay; a dead run's namespace, interface and
    process (of the exact patterns) go. Under a prefix of this test's own."""
    prefix = "xdpw" + secrets.token_hex(2)
    monkeypatch.setattr(naming, "PREFIX", prefix)
    monkeypatch.setenv("XDPPERF_RUN_DIR", str(tmp_path))
    run = secrets.token_hex(3)
    ours_ns, ours_if = naming.netns_name(run, "dut"), naming.ifname(run, "t")
    foreign_ns, foreign_if = f"{prefix}-lab", f"{prefix}rod0"
    for ns in (ours_ns, foreign_ns):
        subprocess.run(["ip", "netns", "add", ns], check=True)
    ours_peer, foreign_peer = naming.ifname(run, "d"), f"{prefix}rod1"
    for name, peer in ((ours_if, ours_peer), (foreign_if, foreign_peer)):
        subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", peer],
                       check=True)
    sleeper = [sys.executable, "-c", "import time; time.sleep(120)", "--netns"]
    ours_proc = subprocess.Popen([*sleeper, ours_ns])
    foreign_proc = subprocess.Popen([*sleeper, foreign_ns])
    try:
        assert not naming.is_ours(foreign_if) and not naming.is_our_netns(foreign_ns)
        removed = cleanup.cleanup()
        # one end of our pair (its peer goes with it)
        assert removed.namespaces == [ours_ns]
        assert removed.interfaces in ([ours_if], [ours_peer])
        assert [p.split()[0] for p in removed.processes] == [str(ours_proc.pid)]
        assert ours_proc.wait(timeout=10) == -signal.SIGKILL
        assert foreign_proc.poll() is None
        assert foreign_ns in netns_list() and ours_ns not in netns_list()
        links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        assert f" {foreign_if}@" in links and f" {ours_if}@" not in links
        assert f" {ours_peer}@" not in links
    finally:
        for proc in (ours_proc, foreign_proc):
            proc.kill()
            proc.wait()
        for ns in (ours_ns, foreign_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        for name in (ours_if, foreign_if):
            subprocess.run(["ip", "link", "del", name], capture_output=True)
