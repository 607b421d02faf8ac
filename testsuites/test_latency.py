"""Latency through MAC swap (passthrough): at fractions of its measured throughput
(its NDR) and at fixed low rates down to one packet per second; min, p50, p90, p99,
p99.9, max and the histogram of each point land in the pytest-benchmark record."""

import pytest

from pytest_xdpperf.suites import assert_latency_points


@pytest.mark.passthrough
def test_macswap_latency(xdpperf):
    assert_latency_points(
        xdpperf.latency("macswap", rates=(1, 100, 10_000), fractions=(0.1, 0.5, 0.9)))
