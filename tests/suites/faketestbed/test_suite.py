"""The three procedures through the fake testbed (tests/test_fake_testbed.py)."""

from __future__ import annotations

import pytest


@pytest.mark.drop
def test_throughput(xdpperf):
    result = xdpperf.throughput("macswap")
    assert result.forwarded_anything


@pytest.mark.passthrough
def test_latency(xdpperf):
    result = xdpperf.latency("macswap", rates=(1000.0,), fractions=(0.5,))
    assert result.points


@pytest.mark.local
def test_transactions(xdpperf):
    result = xdpperf.transactions("macswap", duration=2.0)
    assert result.tps > 0
