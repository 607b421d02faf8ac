"""measure.account: what one trial's counters say, without a testbed."""

from __future__ import annotations

import pytest

from pytest_xdpperf.measure import account
from pytest_xdpperf.trafficgen.base import Offered

RATE = 1_000_000.0


def offered_at(rate: float, offered_rate: float) -> Offered:
    sent = 100_000
    return Offered(intended_rate=rate, intended_duration=0.1, intended_count=sent, sent=sent,
                   offered_duration=sent / offered_rate, offered_rate=offered_rate,
                   received=0)


@pytest.mark.parametrize("ratio,limited", [
    (0.98, True),     # short by 2%
    (0.9899, True),
    (0.9901, False),
    (1.0, False),
    (1.0099, False),
    (1.0101, True),   # over by just more than 1%
    (1.05, True),     # over by 5%: a burst the DUT was not asked to take
])
def test_tester_limited_outside_one_percent_either_way(ratio: float, limited: bool) -> None:
    acc = account("drop", RATE, offered_at(RATE, RATE * ratio), {}, {}, {"rx": 100_000})
    assert acc.extra["tester_limited"] is limited


def test_flat_out_is_never_tester_limited() -> None:
    acc = account("drop", 0.0, offered_at(0.0, 5e6), {}, {}, {"rx": 100_000})
    assert acc.extra["tester_limited"] is False
