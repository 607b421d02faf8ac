"""Load balancer: a session table pre-populated with N sessions, lookups only
(reference study, section 1, pass-through). Each frame to the service address
is rewritten to its session's backend and sent back out of the receiving
interface; the generator spreads its frames at random over every session."""

import pytest

from pytest_xdpperf.trafficgen.base import TrafficProfile

HEADLINE_SESSIONS = [1_000]
SWEEP_SESSIONS = [1, 10_000, 100_000]


def sessions_params():
    return ([pytest.param(n, id=f"sessions{n}") for n in HEADLINE_SESSIONS]
            + [pytest.param(n, id=f"sessions{n}", marks=pytest.mark.sweep)
               for n in SWEEP_SESSIONS])


@pytest.mark.passthrough
@pytest.mark.parametrize("sessions", sessions_params())
def test_loadbalancer_passthrough(xdpperf, sessions):
    xdpperf.profile = TrafficProfile.loadbalancer(
        sessions, frame_size=xdpperf.profile.frame_size, order="random")
    result = xdpperf.throughput("loadbalancer", sessions=sessions)
    assert result.forwarded_anything, result.notes
