"""A real, short run of the bundled suite: complete records that pytest-benchmark reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from schemas import assert_record_file_valid

ROOT = Path(__file__).resolve().parent.parent
MODES = ("xdp", "af_xdp", "af_xdp-sysc")

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("records") / "run.json"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "testsuites" / "test_macswap.py"),
         "-m", "drop or passthrough",
         "-p", "no:cacheprovider", "--xdp-mode", ",".join(MODES), "--xdpperf-trial-duration", "0.2",
         "--xdpperf-relative-width", "0.02", f"--benchmark-json={out}", "-q"],
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
        assert info["pdr"]["status"] in ("found", "below_min_load", "at_max_load",
                                         "tester_bound")
        assert info["max_forwarding_rate"]["mean_pps"] > 0
        assert info["repetitions"]["count"] == 1
        assert info["metric_samples_pps"] == [info["metric_pps"]]
        assert [p["share"] for p in info["calibration"]["loss_table"]] == [
            0.1, 0.25, 0.5, 0.75, 0.9]


def test_a_real_runs_records_are_valid_against_their_schema(records: dict) -> None:
    """Every entry of a real run, judged (its verdict in it), by schemas/throughput.json."""
    assert assert_record_file_valid(records["path"]) == 2 * len(MODES)
    for bench in records["json"]["benchmarks"]:
        info = bench["extra_info"]
        assert info["xdpperf_kind"] == "throughput" and "verdict" in info


def test_reported_rates_were_confirmed(records: dict) -> None:
    """One final trial at each reported rate, and a verified flag that says how it went."""
    for bench in records["json"]["benchmarks"]:
        info = bench["extra_info"]
        for goal in ("ndr", "pdr"):
            figure = info[goal]
            if figure["rate_pps"] is None:
                assert figure["verified"] is None and figure["confirmation"] is None
                continue
            conf = figure["confirmation"]
            valid = [t for t in conf["trials"] if t["valid"]]
            assert conf["count"] == len(valid) == 1 or not conf["verified"]
            assert all(t["intended_pps"] == figure["rate_pps"] for t in conf["trials"])
            assert all(t["duration"] == 0.2 for t in conf["trials"])
            held = all(t["loss_ratio"] <= figure["loss_ratio_goal"] for t in valid)
            assert figure["verified"] is (held and bool(valid)
                                          and conf["trials"][-1]["valid"])
            if not figure["verified"]:  # reported, with the reason, not hidden
                assert goal.upper() in info["unverified"]
                assert any("not verified" in n for n in info["notes"])


def test_latency_and_units_at_the_reported_rates(records: dict) -> None:
    """Passthrough records carry the round-trip latency of the confirmation trials at
    NDR and PDR (the frames came back stamped); drop records have none. Rates are
    given in Mpps and Gbps (64-byte frames: 84 bytes on the wire with preamble and gap)."""
    for bench in records["json"]["benchmarks"]:
        info = bench["extra_info"]
        for goal in ("ndr", "pdr"):
            figure = info[goal]
            if figure["rate_pps"] is not None:
                assert figure["mpps"] == pytest.approx(figure["rate_pps"] / 1e6)
                assert figure["gbps"] == pytest.approx(figure["rate_pps"] * 84 * 8 / 1e9)
            latency = figure["latency"]
            if info["traffic_class"] == "drop" or figure["confirmation"] is None \
                    or not any(t["valid"] for t in figure["confirmation"]["trials"]):
                assert latency is None
                continue
            assert latency["rate_pps"] == figure["rate_pps"]
            assert latency["count"] > 0
            values = [latency[k] for k in ("min_us", "p50_us", "p90_us", "p99_us",
                                           "p99.9_us", "max_us")]
            assert values == sorted(values) and values[0] > 0
            buckets = latency["histogram"]["buckets"]
            assert sum(count for _, _, count in buckets) == latency["count"]


def test_reported_rates_met_the_goal(records: dict) -> None:
    """No reported NDR/PDR is a rate at which a measured trial lost more than its goal."""
    for bench in records["json"]["benchmarks"]:
        info = bench["extra_info"]
        for goal in ("ndr", "pdr"):
            rate = info[goal]["rate_pps"]
            if rate is None:
                continue
            # attempts the tester spoiled (then run again) say nothing about the DUT
            at_rate = [t for t in info["trials"] if t["intended_pps"] == rate and t["valid"]]
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


@pytest.fixture(scope="module")
def repeated(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("repeated") / "run.json"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", f"{ROOT}/testsuites/test_macswap.py::test_macswap_drop",
         "-p", "no:cacheprovider", "--xdp-mode", "xdp", "--xdpperf-trial-duration", "0.2",
         "--xdpperf-relative-width", "0.02", "--xdpperf-repetitions", "3",
         "--xdpperf-confirm-duration", "0.3",
         f"--benchmark-json={out}", "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return {"json": json.loads(out.read_text()), "stdout": run.stdout}


def test_repetitions_give_mean_stdev_and_interval(repeated: dict) -> None:
    (bench,) = repeated["json"]["benchmarks"]
    info = bench["extra_info"]
    reps = info["repetitions"]
    assert reps["count"] == 3
    for key in ("ndr", "pdr", "mfr"):
        assert len(reps[f"{key}_pps"]) == 3
        values = [v for v in reps[f"{key}_pps"] if v is not None]
        assert reps[key]["n"] == len(values)
        if len(values) >= 2:
            lo, hi = reps[key]["ci95"]
            assert lo <= reps[key]["mean"] <= hi and reps[key]["stdev"] >= 0
    samples = info["metric_samples_pps"]
    assert len(samples) == 3 and all(s > 0 for s in samples)
    # pytest-benchmark's own statistics are over the repetitions: one round each
    assert bench["stats"]["rounds"] == 3
    assert bench["stats"]["min"] == pytest.approx(1 / max(samples))
    assert bench["stats"]["max"] == pytest.approx(1 / min(samples))
    # each repetition confirmed its figures with trials of --xdpperf-confirm-duration
    assert len(reps["pdr_verified"]) == 3
    conf = info["pdr"]["confirmation"]
    if conf is not None:
        assert all(t["duration"] == 0.3 for t in conf["trials"])
    assert "mean ± standard deviation" in repeated["stdout"]
