"""Load balancer: a session table pre-populated with N sessions, lookups only
(reference study, section 1, pass-through). Each frame to the service address
is rewritten to its session's backend and sent back out of the receiving
interface; the generator spreads its frames at random over every session."""

import pytest

from pytest_xdpperf.suites import points
from pytest_xdpperf.trafficgen.base import TrafficProfile

HEADLINE_SESSIONS = [1_000]
SWEEP_SESSIONS = [1, 10_000, 100_000]


@pytest.mark.passthrough
@pytest.mark.parametrize("sessions", points("sessions", HEADLINE_SESSIONS, SWEEP_SESSIONS))
def test_loadbalancer_passthrough(xdpperf, sessions):
    xdpperf.profile = TrafficProfile.loadbalancer(
        sessions, frame_size=xdpperf.profile.frame_size, order="random")
    xdpperf.throughput("loadbalancer", sessions=sessions)
