"""Mixed: a firewall in front of a load balancer (reference study, section 1).

In XDP modes both run in XDP; in AF_XDP modes the firewall runs in XDP and the
load balancer in user space (hybrid), or both in user space (placement=user).
Eleven thousand flows; `rules` of them are dropped by the firewall.
"""

import pytest

from pytest_xdpperf.suites import assert_all_dropped
from pytest_xdpperf.trafficgen.base import TrafficProfile

FLOWS = 11_000


@pytest.fixture
def to_the_vip(xdpperf):
    """Frames spread at random over all the chain's flows (its sessions, the first
    `rules` of which the firewall drops), to the service address."""
    xdpperf.profile = TrafficProfile.loadbalancer(
        FLOWS, frame_size=xdpperf.profile.frame_size, order="random")
    return xdpperf


@pytest.mark.passthrough
def test_chain_hybrid(to_the_vip):
    to_the_vip.throughput("chain", sessions=FLOWS, rules=0)


@pytest.mark.passthrough
def test_chain_pure_af_xdp(to_the_vip):
    if to_the_vip.mode.in_kernel:
        pytest.skip("placement=user is the pure AF_XDP chain; in-kernel modes run both in XDP")
    to_the_vip.throughput("chain", sessions=FLOWS, rules=0, placement="user")


@pytest.mark.drop
def test_chain_all_flows_dropped_by_the_firewall(to_the_vip):
    assert_all_dropped(to_the_vip.throughput("chain", sessions=FLOWS, rules=FLOWS))
