"""Real short runs of one checksum test, once as is and once made slower on purpose
under the same test id: pytest-benchmark's own gate and `xdpperf compare` catch it,
and records carry the machine, CPU and LLC facts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_xdpperf.history import load_record
from pytest_xdpperf.plot import figures

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "suites" / "slower"
BASE_ROUNDS = 200      # NF-bound already (PDR well below the bare testbed's)
SLOW_ROUNDS = 4000     # ~20x the per-packet work: far beyond this VM's noise
# "unchanged" may move by a few times on a shared 2-core VM; 20x slower may not pass
FAIL_IF = "mean:300%"
# The host moved the tester's calibrated capacity 3x (7.92 vs 2.56 Mpps) between two of
# these runs in CI, beyond compare's default 50%, and the gate rightly refused to judge.
# A 20x slowdown is far beyond such drift, so these gates are told to judge across it;
# the refusal itself is unit-tested (test_compare.py).
DRIFT = ("--capacity-tolerance", "400%")

pytestmark = pytest.mark.integration


def run(tmp: Path, rounds: int, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(SUITE), "-p", "no:cacheprovider",
         "--xdp-mode", "xdp", "--xdpperf-trial-duration", "0.2", "--xdpperf-relative-width", "0.02",
         "--xdpperf-min-load", "1000", "--xdpperf-mfr-repetitions", "2",
         f"--benchmark-storage=file://{tmp / 'storage'}", "-q", *extra],
        # cwd: pytest-benchmark wants its storage below it
        cwd=tmp, capture_output=True, text=True, timeout=600,
        env=os.environ | {"XDPP_ROUNDS": str(rounds)},
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("gating")
    out: dict = {"tmp": tmp}
    base = run(tmp, BASE_ROUNDS, "--benchmark-autosave", f"--benchmark-json={tmp / 'base.json'}")
    assert base.returncode == 0, base.stdout[-3000:] + base.stderr[-3000:]
    gate = ("--benchmark-compare=0001", f"--benchmark-compare-fail={FAIL_IF}")
    out["same"] = run(tmp, BASE_ROUNDS, *gate, f"--benchmark-json={tmp / 'same.json'}")
    out["slow"] = run(tmp, SLOW_ROUNDS, *gate, f"--benchmark-json={tmp / 'slow.json'}")
    return out


def test_compare_fail_passes_an_unchanged_run(runs: dict) -> None:
    same = runs["same"]
    assert same.returncode == 0, same.stdout[-3000:] + same.stderr[-3000:]
    assert "test_checksum[xdp]" in same.stdout


def test_compare_fail_fails_a_slower_run(runs: dict) -> None:
    slow = runs["slow"]
    assert slow.returncode != 0, slow.stdout[-3000:]
    assert "Performance has regressed" in slow.stdout + slow.stderr
    assert f"rounds={SLOW_ROUNDS}" in slow.stdout


def test_records_load_in_pytest_benchmark_compare(runs: dict) -> None:
    tmp = runs["tmp"]
    run = subprocess.run(
        [str(Path(sys.executable).parent / "pytest-benchmark"), "compare",
         str(tmp / "base.json"), str(tmp / "slow.json"), "--columns=mean,ops"],
        capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("test_checksum[xdp]") == 2


def test_records_are_complete(runs: dict) -> None:
    doc = json.loads((runs["tmp"] / "slow.json").read_text())
    machine = doc["machine_info"]
    assert machine["kernel_release"] == os.uname().release
    assert machine["dut_nic"]["driver"] == "veth"
    assert machine["cpu_model"] and machine["governor"]
    assert machine["xdpperf_testbed"]["kind"] == "veth"
    info = doc["benchmarks"][0]["extra_info"]
    for key in ("mode", "nf", "nf_params", "traffic", "ndr", "pdr", "max_forwarding_rate",
                "loss_floor", "tester_bound", "cpu", "llc"):
        assert key in info, key
    assert info["nf_params"]["rounds"] == SLOW_ROUNDS
    cpu = info["cpu"]
    assert cpu["source"] in ("sar", "procfs") and cpu["cpus"]
    assert cpu["packets"] > 0
    # the DUT core was busy with 4000 checksum rounds per packet
    assert cpu["busy_ns_per_packet"] > 1000
    llc = info["llc"]
    assert (llc["per_packet"] is None) == bool(llc["reason"])


def test_xdpperf_compare_and_plot_on_real_records(runs: dict, tmp_path: Path) -> None:
    tmp = runs["tmp"]
    cmp = subprocess.run([str(Path(sys.executable).parent / "xdpperf"), "compare", *DRIFT,
                          str(tmp / "base.json"), str(tmp / "slow.json")],
                         capture_output=True, text=True, timeout=120)
    assert cmp.returncode == 1, cmp.stdout + cmp.stderr
    assert "regression" in cmp.stdout
    figs = figures([load_record(tmp / "base.json"), load_record(tmp / "slow.json")])
    assert "cpu-split" in figs and any(k.startswith("throughput-") for k in figs)
    assert any(k.startswith("across-") for k in figs)


def test_ci_regress_stores_compares_and_fails_on_regression(tmp_path: Path) -> None:
    """ci/regress: the first run starts the history and is pinned as its baseline, a
    slower one fails the gate and is kept, filed under the checkout's commit."""
    history = tmp_path / "history"
    commit = subprocess.run(["git", "-c", f"safe.directory={ROOT}", "-C", str(ROOT), "rev-parse",
                             "--short", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()

    def regress(rounds: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(ROOT / "ci" / "regress"), "--history", str(history), "--repo",
             str(ROOT), *DRIFT, "--", str(SUITE), "-p", "no:cacheprovider", "--xdp-mode", "xdp",
             "--xdpperf-trial-duration", "0.2", "--xdpperf-relative-width", "0.02",
             "--xdpperf-min-load", "1000", "-q"],
            cwd=tmp_path, capture_output=True, text=True, timeout=900,
            env=os.environ | {"XDPP_ROUNDS": str(rounds),
                              "XDPPERF_BIN": str(Path(sys.executable).parent)})

    def stored() -> list[Path]:
        return [p for p in history.glob("*.json") if p.name != "baseline.json"]

    first = regress(BASE_ROUNDS)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "starts the history" in first.stdout
    assert len(stored()) == 1
    assert stored()[0].name.startswith(f"{os.uname().release}__{commit}__")
    kept_first = stored()[0].name
    baseline = load_record(history / "baseline.json")
    (test,) = baseline.tests.values()
    assert len(test.samples_pps) == 3  # ci/regress's default --xdpperf-repetitions
    second = regress(SLOW_ROUNDS)
    assert second.returncode == 1, second.stdout[-3000:] + second.stderr[-3000:]
    # (the headline is the judged figure: the MFR on this testbed)
    assert re.search(r"test_checksum\[xdp\] \(\w+\): regression", second.stdout)
    assert len(stored()) == 2 and kept_first in {p.name for p in stored()}
    assert load_record(history / "baseline.json").tests[test.name].samples_pps == \
        test.samples_pps  # still the first run
