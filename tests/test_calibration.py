"""The session calibration on the real testbed, for any profile a session may set.

(The calibration's arithmetic is tested against simulated trials in test_results.py.)
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_xdpperf.calibration import LOSS_TABLE_SHARES, calibrate
from pytest_xdpperf.rfc2544 import SearchSpec
from pytest_xdpperf.trafficgen.base import TrafficProfile

pytestmark = pytest.mark.integration

CHEAP = SearchSpec(max_load=1e9, min_load=100_000.0, relative_width=0.1, trial_duration=0.1,
                   search_duration_max=60.0)


@pytest.mark.parametrize("protocol", ["udp", "tcp"])
def test_calibration_counts_the_frames_of_the_session_profile(
        xdpperf_testbed: Any, xdpperf_builder: Any, protocol: str) -> None:
    """A TCP profile's stamp is split over the header and the payload: the no-op sink
    must find it there, or it counts nothing and every trial reads as 100% loss."""
    profile = TrafficProfile(protocol=protocol, flows=16)
    cal = calibrate(xdpperf_testbed, xdpperf_builder, profile, CHEAP)
    assert cal.tester_capacity_pps > 0
    # per tester core, and in total: one generator thread per tester CPU
    assert cal.tester_cores == xdpperf_testbed.tester.cpus
    assert len(cal.tester_capacity_per_core_pps) == len(cal.tester_cores)
    assert sum(cal.tester_capacity_per_core_pps) == pytest.approx(cal.tester_capacity_pps,
                                                                  rel=0.02)
    assert [p.share for p in cal.loss_table] == list(LOSS_TABLE_SHARES)
    # the bare testbed loses a little here and there, never (nearly) everything
    assert all(p.loss_ratio < 0.5 for p in cal.loss_table), cal.loss_table
    assert cal.noop_pdr_pps is not None and cal.noop_pdr_pps > 0
    # and the round trip through a reflector, at the same shares: frames came back
    # (a reflector that returned nothing would read as 100% loss here)
    assert [p.share for p in cal.reflector_loss_table] == list(LOSS_TABLE_SHARES)
    # (a point the tester itself spoiled - its own queue overflowed taking the frames
    # back while sending - says nothing of the path, as in the search; a host stall can
    # spoil any share, even all of them, so the check is that frames came back at some
    # share and at every judged one: a silent reflector loses everything everywhere)
    judged = [p for p in cal.reflector_loss_table if p.tester_fault is None]
    assert any(p.loss_ratio < 0.5 for p in cal.reflector_loss_table), cal.reflector_loss_table
    assert all(p.loss_ratio < 0.5 for p in judged), cal.reflector_loss_table
    assert cal.reflector_loss_floor == cal.reflector_loss_table[-1].loss_ratio
    assert cal.loss_floor_for("passthrough") == cal.reflector_loss_floor
    assert cal.loss_floor_for("drop") == cal.loss_floor
