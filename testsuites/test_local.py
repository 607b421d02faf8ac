"""Local traffic: packets go on to the DUT's own stack (reference study, section 1).

XDP passes with XDP_PASS; AF_XDP re-injects through a veth pair into the stack.
"""

import pytest

from pytest_xdpperf.suites import assert_no_app_errors


@pytest.mark.local
def test_macswap_local(xdpperf):
    """Pure I/O: MAC swap with a foreign destination MAC, so the stack drops it early."""
    xdpperf.throughput("macswap")  # action=pass from the marker


@pytest.mark.local
def test_firewall_local(xdpperf):
    """Every frame passed unchanged to the stack (no rule matches)."""
    xdpperf.throughput("firewall", rules=0)


@pytest.mark.local
def test_memcached_behind_a_pass_nf(xdpperf):
    """memcached on the DUT, memaslap load from the tester, the NF in front."""
    result = xdpperf.transactions("firewall", rules=0, duration=5)
    assert_no_app_errors(result)
