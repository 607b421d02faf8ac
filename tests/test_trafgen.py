"""netsniff-ng's trafgen as the session's generator (--xdpperf-generator trafgen): a second
generator that really sends, calibrated and cross-checked through the testbed's
counters like the built-in one (pytest_xdpperf/trafficgen/trafgen.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from pytest_xdpperf.build import Builder
from pytest_xdpperf.measure import TrialMeasurer
from pytest_xdpperf.testbed.veth import VethTestbed
from pytest_xdpperf.trafficgen.base import Offered, TrafficProfile
from pytest_xdpperf.trafficgen.bpfgen import Sink
from pytest_xdpperf.trafficgen.trafgen import ON_CPU, TrafgenGenerator, parse

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "suites" / "trafgen"
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, BPF)")

STATS = """     1 packets to schedule
    60 bytes in total
Running! Hang up with ^C!

      100000 packets outgoing
     6000000 bytes outgoing
           2 sec, 179 usec on CPU0 (100000 packets)
"""


def test_parse_reads_what_it_sent_and_for_how_long() -> None:
    assert parse(STATS) == (100_000, pytest.approx(2.000179))
    with pytest.raises(ValueError):
        parse("Running! Hang up with ^C!\n")  # killed before its statistics
    assert ON_CPU.search(STATS)


class OverstatingTrafgen(TrafgenGenerator):
    """trafgen whose adapter claims 1,000 frames more than it sent."""

    def offer(self, rate: float, duration: float) -> Offered:
        offered = super().offer(rate, duration)
        return replace(offered, sent=offered.sent + 1000)


@pytest.mark.integration
@as_root
@pytest.mark.parametrize("generator, agree", [(TrafgenGenerator, True),
                                              (OverstatingTrafgen, False)])
def test_the_testbed_cross_checks_what_trafgen_says(generator: type, agree: bool) -> None:
    bed = VethTestbed.create()
    try:
        profile = TrafficProfile()
        gen = generator(bed, profile)
        with Sink(Builder().program("trafficgen"), bed.dut, profile, count_only=True,
                  stamped=False) as sink:
            bed.prepare_dut_napi()
            trial = TrialMeasurer(gen, bed, "drop", sink.handled)(100_000, 1.0)
        gen.close()
    finally:
        bed.destroy()
    assert trial.extra["counters_agree"] is agree
    assert trial.offered >= 100_000 and trial.forwarded >= 99_000
    if agree:  # paced over one whole second: the intended rate, within 1%
        assert trial.extra["tester_limited"] is False
        assert trial.loss_ratio < 0.01


@pytest.mark.integration
@as_root
def test_a_session_with_trafgen_is_calibrated_and_cross_checked(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(SUITE), "-p", "no:cacheprovider", "-q",
         "-p", "no:randomly", "--xdp-mode", "xdp", "--xdpperf-trial-duration", "1",
         "--xdpperf-min-load", "20000", "--xdpperf-relative-width", "0.1",
         "--xdpperf-journal", str(journal),
         "--xdpperf-generator", "trafgen"],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out  # the passthrough test is refused
    assert "test_macswap_drop[xdp] PASSED" in out or "1 passed" in out, out
    assert "generator TrafgenGenerator does not receive what comes back" in out
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    calibration = [line for line in lines if line["kind"] == "calibration"]
    (measurement,) = [line for line in lines if line["kind"] == "measurement"]
    # calibrated with trafgen: its flat-out rate is the tester's capacity, and every
    # calibration trial's frames were seen by the testbed as trafgen said it sent them
    flat = [c for c in calibration if c["intended_pps"] == 0]
    assert [c["offered_pps"] for c in flat] == \
        [measurement["calibration"]["tester_capacity_pps"]]
    assert calibration and all(c["counters_agree"] for c in calibration)
    assert all(c["path"] == "drop" for c in calibration)  # no round trip without a receiver
    assert measurement["calibration"]["reflector_loss_table"] == []
    trials = [t for t in lines if t["kind"] == "trial"
              and t["test"].endswith("test_macswap_drop[xdp]")]
    assert trials and all(t["counters_agree"] for t in trials)
    # trafgen paces in one-second windows: no search trial was shorter
    assert all(t["duration"] >= 1.0 for t in trials if t["phase"] == "search")
    assert measurement["pdr"] is not None
