"""Mixed: a firewall in front of a load balancer (reference study, section 1).

In XDP modes both run in XDP; in AF_XDP modes the firewall runs in XDP and the
load balancer in user space (hybrid), or both in user space (placement=user).
Eleven thousand flows; `rules` of them are dropped by the firewall.
"""

import dataclasses

import pytest

FLOWS = 11_000


@pytest.fixture
def to_the_vip(xdpperf):
    """The generator's flow is flow 0: client port 1024 to the service port 80."""
    xdpperf.profile = dataclasses.replace(xdpperf.profile, src_port=1024, dst_port=80)
    return xdpperf


@pytest.mark.passthrough
def test_chain_hybrid(to_the_vip):
    result = to_the_vip.throughput("chain", sessions=FLOWS, rules=0)
    assert result.pdr.status != "below_min_load" or result.max_forwarding.mean_pps > 0


@pytest.mark.passthrough
def test_chain_pure_af_xdp(to_the_vip):
    if to_the_vip.mode.in_kernel:
        pytest.skip("placement=user is the pure AF_XDP chain; in-kernel modes run both in XDP")
    result = to_the_vip.throughput("chain", sessions=FLOWS, rules=0, placement="user")
    assert result.pdr.status != "below_min_load" or result.max_forwarding.mean_pps > 0


@pytest.mark.drop
def test_chain_all_flows_dropped_by_the_firewall(to_the_vip):
    result = to_the_vip.throughput("chain", sessions=FLOWS, rules=FLOWS)
    assert result.pdr.status != "below_min_load" or result.max_forwarding.mean_pps > 0
