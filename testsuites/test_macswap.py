"""MAC swap: pure I/O, the cheapest NF there is (reference study, section 1)."""

import pytest


@pytest.mark.drop
def test_macswap_drop(xdpperf):
    xdpperf.throughput("macswap")


@pytest.mark.passthrough
def test_macswap_passthrough(xdpperf):
    xdpperf.throughput("macswap")
