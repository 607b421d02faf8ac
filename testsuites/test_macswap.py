"""MAC swap: pure I/O, the cheapest NF there is (reference study, section 1)."""

import pytest


@pytest.mark.drop
def test_macswap_drop(xdpperf):
    result = xdpperf.throughput("macswap")
    assert result.forwarded_anything, result.notes


@pytest.mark.passthrough
def test_macswap_passthrough(xdpperf):
    result = xdpperf.throughput("macswap")
    assert result.forwarded_anything, result.notes
