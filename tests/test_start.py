"""xdpperf.start(): an NF run by a test that drives it itself gets the same mode
settings as throughput() gives it, and loses them when the block ends."""

from __future__ import annotations

import os
from contextlib import closing
from typing import Any

import pytest

from pytest_xdpperf.calibration import Calibration
from pytest_xdpperf.journal import Journal
from pytest_xdpperf.modes import MODES, SYSC_SYSFS, read_settings
from pytest_xdpperf.runner import RunOptions, XdpPerf
from pytest_xdpperf.trafficgen.base import TrafficProfile

pytestmark = pytest.mark.integration


def perf(bed: Any, builder: Any, mode: str) -> XdpPerf:
    calibration = Calibration(tester_capacity_pps=2e6, noop_forwarding_pps=2e6,
                              max_load_pps=1.5e6, noop_ndr_pps=None, noop_pdr_pps=None,
                              noop_loss_at_max_load=0.0, trial_duration=0.2)
    return XdpPerf(bed, builder, calibration, MODES[mode], "drop", RunOptions(), None,
                   TrafficProfile(), journal=Journal(None), test_id="t")


@pytest.mark.parametrize("mode", ["af_xdp-sysc", "af_xdp"])
def test_start_runs_the_nf_with_its_mode_settings_and_restores_them(
        xdpperf_testbed: Any, xdpperf_builder: Any, mode: str) -> None:
    dut = xdpperf_testbed.dut
    before = read_settings(MODES[mode], dut)
    assert before != dict(SYSC_SYSFS), "the interface already has the sysc values"
    p = perf(xdpperf_testbed, xdpperf_builder, mode)
    with p.start("macswap", action="drop") as running, closing(p.generator()) as gen:
        during = read_settings(MODES[mode], dut)
        sent = gen.offer(20_000, 0.2).sent
        stats = running.stats()
        pid = running.pid
        assert running.ready["mode"] == mode
    assert during == (dict(SYSC_SYSFS) if MODES[mode].sysfs else before)
    assert stats["rx"] + stats.get("ring_overflow", 0) <= sent and stats["rx"] > 0
    assert read_settings(MODES[mode], dut) == before
    assert not os.path.exists(f"/proc/{pid}")
