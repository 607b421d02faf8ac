"""Bring your own NF: an NF in a folder outside the repository (--xdpperf-nf-dir),
written against the bundled common library, builds, runs in two modes and is
recorded; a name the bundled NFs already use is refused in one line. An NF already
built elsewhere (--xdpperf-nf-program NAME=PATH) runs as it is, without a build."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_xdpperf.build import Builder
from pytest_xdpperf.errors import XdpperfError
from pytest_xdpperf.plugin import prebuilt_programs

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


def run_suite(tmp_path: Path, nf: str, *options: str) -> list[dict[str, Any]]:
    """tests/suites/ownnf with `nf` in modes xdp and af_xdp: the records' extra_info."""
    record = tmp_path / "record.json"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(SUITE), "-p", "no:cacheprovider", "-q",
         "-p", "no:randomly", "--xdp-mode", "xdp,af_xdp", "--xdpperf-trial-duration", "0.1",
         "--xdpperf-min-load", "100000", "--xdpperf-relative-width", "0.05", *options,
         "--xdpperf-build", str(tmp_path / "build"), "--xdpperf-journal",
         str(tmp_path / "journal.jsonl"), f"--benchmark-json={record}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "XDPP_OWN_NF": nf})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    benches = json.loads(record.read_text())["benchmarks"]
    # Measured, not only started: the NF took frames at the highest load offered.
    # (Not the PDR: a 0.1 s trial at the 100 kpps floor loses a veth ring's worth
    # to one scheduling stall now and then, which leaves a PDR of zero.)
    assert all(b["extra_info"]["max_forwarding_rate"]["mean_pps"] > 0 for b in benches)
    return [b["extra_info"] for b in benches]


@pytest.mark.integration
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, BPF)")
def test_an_own_nf_runs_in_two_modes_and_is_recorded(tmp_path: Path) -> None:
    infos = run_suite(tmp_path, "mydrop", "--xdpperf-nf-dir", str(own_nf(tmp_path / "mine")))
    assert sorted((i["nf"], i["mode"]) for i in infos) == [("mydrop", "af_xdp"),
                                                           ("mydrop", "xdp")]


def prebuilt_nf(folder: Path) -> Path:
    """An NF built elsewhere, as a user installs one: macswap's program and object
    copied into a folder of their own, the program under another name."""
    built = Builder(build_dir=folder.parent / "elsewhere-build").program("macswap")
    folder.mkdir(parents=True)
    shutil.copy2(built.with_name("macswap_kern.o"), folder / "macswap_kern.o")
    program = folder / "myswap"
    shutil.copy2(built, program)
    return program


@pytest.mark.integration
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, BPF)")
def test_a_prebuilt_nf_runs_as_it_is_in_two_modes(tmp_path: Path) -> None:
    program = prebuilt_nf(tmp_path / "opt")
    infos = run_suite(tmp_path, "myswap", "--xdpperf-nf-program", f"myswap={program}")
    assert sorted((i["nf"], i["mode"]) for i in infos) == [("myswap", "af_xdp"),
                                                           ("myswap", "xdp")]
    # nothing of it was built: the session's build folder has no myswap
    assert not (tmp_path / "build" / "myswap").exists()


def test_a_prebuilt_nf_is_run_not_built(tmp_path: Path) -> None:
    program = tmp_path / "bin" / "mynf"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    builder = Builder(build_dir=tmp_path / "build", prebuilt=(("mynf", program),))
    assert "mynf" in builder.programs()
    assert builder.program("mynf") == program and not (tmp_path / "build").exists()
    program.chmod(0o644)
    with pytest.raises(XdpperfError, match="is not an executable file"):
        builder.program("mynf")
    with pytest.raises(XdpperfError, match="the NF name 'macswap' is taken"):
        Builder(prebuilt=(("macswap", program),))
    with pytest.raises(XdpperfError, match="is not NAME=PATH"):
        prebuilt_programs(["mynf"])
    assert prebuilt_programs([f"mynf={program}"]) == (("mynf", program),)


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
