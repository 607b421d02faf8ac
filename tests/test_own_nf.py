"""Bring your own NF: an NF in a folder outside the repository (--xdpperf-nf-dir),
written against the bundled common library, builds, runs in two modes and is
recorded; a name the bundled NFs already use is refused in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_xdpperf.build import Builder
from pytest_xdpperf.errors import XdpperfError

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "suites" / "ownnf"


def own_nf(folder: Path, name: str = "mydrop") -> Path:
    """A user's NF: macswap's three files under another name, in a folder of its own."""
    nf = folder / name
    nf.mkdir(parents=True)
    for suffix in (".h", "_kern.c", "_user.c"):
        text = (ROOT / "nfs" / "macswap" / f"macswap{suffix}").read_text()
        text = text.replace("macswap", name).replace("MACSWAP", name.upper())
        (nf / f"{name}{suffix}").write_text(text)
    return folder


def test_an_own_nf_builds_beside_the_bundled_ones(tmp_path: Path) -> None:
    builder = Builder(build_dir=tmp_path / "build", nf_dirs=(own_nf(tmp_path / "mine"),))
    assert "mydrop" in builder.programs() and "macswap" in builder.programs()
    binary = builder.program("mydrop")
    assert binary == tmp_path / "build" / "mydrop" / "mydrop" and binary.exists()
    assert (tmp_path / "build" / "mydrop" / "mydrop_kern.o").exists()


def test_a_taken_name_or_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(XdpperfError, match="the NF name 'macswap' is taken by"):
        Builder(nf_dirs=(own_nf(tmp_path / "mine", "macswap"),))
    with pytest.raises(XdpperfError, match="does not exist"):
        Builder(nf_dirs=(tmp_path / "nowhere",))


@pytest.mark.integration
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, BPF)")
def test_an_own_nf_runs_in_two_modes_and_is_recorded(tmp_path: Path) -> None:
    mine = own_nf(tmp_path / "mine")
    record = tmp_path / "record.json"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(SUITE), "-p", "no:cacheprovider", "-q",
         "-p", "no:randomly", "--xdp-mode", "xdp,af_xdp", "--xdpperf-trial-duration", "0.1",
         "--xdpperf-min-load", "100000", "--xdpperf-relative-width", "0.05",
         "--xdpperf-nf-dir", str(mine),
         "--xdpperf-build", str(tmp_path / "build"), "--xdpperf-journal",
         str(tmp_path / "journal.jsonl"), f"--benchmark-json={record}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    benches = json.loads(record.read_text())["benchmarks"]
    assert sorted((b["extra_info"]["nf"], b["extra_info"]["mode"]) for b in benches) == \
        [("mydrop", "af_xdp"), ("mydrop", "xdp")]
    assert all(b["extra_info"]["pdr"]["rate_pps"] for b in benches)


def test_one_make_at_a_time_per_build_directory(tmp_path: Path) -> None:
    """Two sessions building into one folder at once raced (a binary run while the
    other make rewrote it: ETXTBSY); a build waits for the folder's lock."""
    import fcntl
    import threading

    builder = Builder(build_dir=tmp_path / "build")
    builder.program("macswap")  # built once: what follows only waits on the lock
    lock = open(tmp_path / "build" / ".xdpperf-build.lock", "a")  # noqa: SIM115
    fcntl.flock(lock, fcntl.LOCK_EX)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (builder.program("macswap"), done.set()))
    worker.start()
    try:
        assert not done.wait(1.0)  # held off while another build holds the folder
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
    worker.join(60)
    assert done.is_set()
