"""A real, short run of the bundled suite: complete records that pytest-benchmark reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODES = ("xdp", "af_xdp", "af_xdp-sysc")

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("records") / "run.json"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "testsuites" / "test_macswap.py"),
         "-m", "drop or passthrough",
         "-p", "no:cacheprovider", "--xdp-mode", ",".join(MODES), "--trial-duration", "0.2",
         "--relative-width", "0.02", f"--benchmark-json={out}", "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "xdpperf results" in run.stdout
    return {"path": out, "json": json.loads(out.read_text()), "stdout": run.stdout}


def test_one_complete_record_per_test_and_mode(records: dict) -> None:
    benchmarks = records["json"]["benchmarks"]
    seen = {(b["extra_info"]["traffic_class"], b["extra_info"]["mode"]) for b in benchmarks}
    assert seen == {(c, m) for c in ("drop", "passthrough") for m in MODES}
    for bench in benchmarks:
        info = bench["extra_info"]
        assert info["nf"] == "macswap"
        assert info["metric_pps"] and info["metric_pps"] > 0
        # the stored stat is seconds per packet of the headline rate
        assert bench["stats"]["mean"] == pytest.approx(1 / info["metric_pps"])
        for key in ("ndr", "pdr", "max_forwarding_rate", "loss_floor", "calibration",
                    "tester_bound", "testbed_bound", "trials", "traffic", "loss_threshold"):
            assert key in info, key
        assert info["pdr"]["status"] in ("found", "below_min_load", "at_max_load")
        assert info["max_forwarding_rate"]["mean_pps"] > 0


def test_reported_rates_met_the_goal(records: dict) -> None:
    """No reported NDR/PDR is a rate at which a measured trial lost more than its goal."""
    for bench in records["json"]["benchmarks"]:
        info = bench["extra_info"]
        for goal in ("ndr", "pdr"):
            rate = info[goal]["rate_pps"]
            if rate is None:
                continue
            at_rate = [t for t in info["trials"] if t["intended_pps"] == rate]
            assert at_rate, (goal, rate)
            assert all(t["loss_ratio"] <= info[goal]["loss_ratio_goal"] for t in at_rate)


def test_kernel_counters_account_for_every_frame(records: dict) -> None:
    for bench in records["json"]["benchmarks"]:
        assert all(t["counters_agree"] for t in bench["extra_info"]["trials"])


def test_machine_info_names_kernel(records: dict) -> None:
    assert records["json"]["machine_info"]["kernel_release"]


def test_pytest_benchmark_compare_reads_records(records: dict) -> None:
    run = subprocess.run(
        [str(Path(sys.executable).parent / "pytest-benchmark"), "compare", str(records["path"]),
         "--columns=mean,ops"],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "test_macswap_drop[xdp]" in run.stdout
