"""L4 firewall: a 5-tuple hash ACL, drop on match (reference study, section 1).

The generator spreads its frames at random over every rule, so each packet is
one hash lookup somewhere in the whole table; the table grows from one rule
(fits in L1) to a million (far past the LLC). The kernel's BPF hash map and the
user-space table (nfs/common/uhash.h) are built alike, so XDP and AF_XDP pay for
the same data structure."""

import pytest

from pytest_xdpperf.suites import points
from pytest_xdpperf.trafficgen.base import TrafficProfile

HEADLINE_RULES = [1]
SWEEP_RULES = [1_000, 100_000, 1_000_000]


@pytest.mark.drop
@pytest.mark.parametrize("rules", points("rules", HEADLINE_RULES, SWEEP_RULES))
def test_firewall_drop(xdpperf, rules):
    xdpperf.profile = TrafficProfile.firewall(rules, frame_size=xdpperf.profile.frame_size,
                                              order="random")
    xdpperf.throughput("firewall", rules=rules)
