"""A macswap drop test judged against a thresholds file, and the bad cases of the
suites' own checks, for tests/test_verdicts.py (run in a subprocess)."""

from __future__ import annotations

import os

import pytest

from pytest_xdpperf.suites import assert_all_dropped
from pytest_xdpperf.trafficgen.base import TrafficProfile


@pytest.mark.drop
def test_macswap_drop(xdpperf):
    xdpperf.throughput("macswap")


@pytest.mark.drop
@pytest.mark.skipif(not os.environ.get("XDPP_BAD_CASES"), reason="bad cases not asked for")
def test_a_firewall_that_drops_nothing_fails_the_all_dropped_check(xdpperf):
    xdpperf.profile = TrafficProfile.loadbalancer(100, order="random")
    result = xdpperf.throughput("chain", sessions=100, rules=0)
    with pytest.raises(AssertionError, match="did not drop every frame"):
        assert_all_dropped(result)


@pytest.mark.passthrough
@pytest.mark.skipif(not os.environ.get("XDPP_BAD_CASES"), reason="bad cases not asked for")
def test_an_nf_that_returns_nothing_fails_its_latency_test(xdpperf):
    with pytest.raises(pytest.fail.Exception, match="no frame came back at any point"):
        xdpperf.latency("macswap", rates=(1000,), fractions=(), action="drop")


@pytest.mark.passthrough
@pytest.mark.skipif(not os.environ.get("XDPP_BAD_CASES"), reason="bad cases not asked for")
def test_an_nf_that_returns_nothing_fails_and_its_record_is_kept(xdpperf):
    # no rate at any load: pytest-benchmark writes no stats, the record is still kept
    with pytest.raises(pytest.fail.Exception, match="the NF forwarded nothing at any load"):
        xdpperf.throughput("macswap", action="drop")
