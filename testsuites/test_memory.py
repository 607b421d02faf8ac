"""Random access in N bytes: memory demand per packet (reference study, section 1).

One read-modify-write at a random offset of an N-byte array per packet; the
sizes step from inside L1 past L2 and the LLC into DRAM. The headline point
fits in L2; the rest are marked `sweep`."""

import pytest

from pytest_xdpperf.suites import points

HEADLINE_SIZES = ["256K"]
SWEEP_SIZES = ["4K", "8M", "256M", "1G"]


@pytest.mark.drop
@pytest.mark.parametrize("size", points("size", HEADLINE_SIZES, SWEEP_SIZES))
def test_memory_drop(xdpperf, size):
    xdpperf.throughput("memory", size=size)


@pytest.mark.passthrough
@pytest.mark.parametrize("size", points("size", HEADLINE_SIZES, SWEEP_SIZES))
def test_memory_passthrough(xdpperf, size):
    xdpperf.throughput("memory", size=size)
