"""A second Testbed implementation - tests/faketestbed.py: no namespaces, no programs,
a simulated DUT of known capacity - runs the fixture's throughput, latency and
transactions procedures end to end through the pytest_xdpperf_testbed hook, as any
user (no root: the veth testbed's preflight is not run for a testbed from the hook)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from schemas import assert_record_file_valid

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "suites" / "faketestbed"
CHEAP = ["--xdpperf-trial-duration", "0.1", "--xdpperf-min-load", "1000",
         "--xdpperf-relative-width", "0.01"]


def run(tmp: Path, capacity: float) -> tuple[subprocess.CompletedProcess[str], dict, dict]:
    info, record = tmp / "calls.json", tmp / "record.json"
    env = {**os.environ, "XDPP_INFO": str(info), "XDPP_FAKE_CAPACITY": str(capacity),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "tests"),
                                                       os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(SUITE), "-p", "no:cacheprovider", "-q",
         "-p", "no:randomly", "--xdp-mode", "xdp", *CHEAP,
         "--xdpperf-generator", "faketestbed:fake_generator", "--xdpperf-thresholds", "none",
         "--xdpperf-journal", str(tmp / "journal.jsonl"), f"--benchmark-json={record}"],
        cwd=tmp, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result, json.loads(info.read_text()), json.loads(record.read_text())


@pytest.mark.parametrize("capacity", [1e6, 2.5e5])
def test_the_procedures_run_end_to_end_on_a_fake_testbed(tmp_path: Path,
                                                         capacity: float) -> None:
    _, calls, record = run(tmp_path, capacity)
    assert assert_record_file_valid(tmp_path / "record.json") == 3  # each by its kind
    by_name = {b["name"]: b["extra_info"] for b in record["benchmarks"]}
    assert set(by_name) == {"test_throughput[xdp]", "test_latency[xdp]",
                            "test_transactions[xdp]"}
    thr = by_name["test_throughput[xdp]"]
    assert thr["xdpperf_kind"] == "throughput"
    # the search finds the simulated DUT's capacity: the figures measure the fake
    assert capacity * 0.97 <= thr["pdr"]["rate_pps"] <= capacity
    assert thr["max_forwarding_rate"]["mean_pps"] == pytest.approx(capacity, rel=0.01)
    assert all(t["counters_agree"] for t in thr["trials"])
    lat = by_name["test_latency[xdp]"]
    assert lat["xdpperf_kind"] == "latency" and lat["throughput_source"] == "ndr"
    points = {p["fraction"]: p for p in lat["latency"]}
    # half of the NDR the latency test searched on the fake, and the fixed 1000 pps
    assert points[0.5]["rate_pps"] == pytest.approx(lat["throughput_pps"] / 2)
    assert lat["throughput_pps"] == pytest.approx(thr["ndr"]["rate_pps"], rel=0.01)
    assert points[None]["rate_pps"] == 1000.0 and points[None]["received"] > 0
    assert points[None]["p50_us"] == pytest.approx(10.0, abs=1.0)
    tps = by_name["test_transactions[xdp]"]
    assert tps["xdpperf_kind"] == "transactions"
    assert tps["tps"] == pytest.approx(capacity * 0.01)  # faketestbed.TPS_PER_PPS
    assert record["machine_info"]["xdpperf_testbed"]["kind"] == "fake"
    # every NF started through the testbed, in the mode's settings, and stopped
    started = [c for c in calls["calls"] if c.startswith("start_nf")]
    assert started == ["start_nf macswap xdp"] * 3
    assert calls["calls"].count("mode_settings xdp") == 3
    assert calls["calls"].count("stop_nf macswap") == 3
    assert "load_app memcached" in calls["calls"]
