"""measure.account: what one trial's counters say, without a testbed."""

from __future__ import annotations

import pytest

from pytest_xdpperf.measure import account
from pytest_xdpperf.testbed.base import PathCounters
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
    acc = account("drop", RATE, offered_at(RATE, RATE * ratio), PathCounters(), {"rx": 100_000})
    assert acc.extra["tester_limited"] is limited


def test_flat_out_is_never_tester_limited() -> None:
    acc = account("drop", 0.0, offered_at(0.0, 5e6), PathCounters(), {"rx": 100_000})
    assert acc.extra["tester_limited"] is False


# --- the testbed's counters cross-check what the generator says it sent ----------------

def test_refused_frames_that_never_reached_are_ring_overflow_and_agree() -> None:
    """xdp path: 100,000 sent, the DUT's ring refused 300 and took the rest."""
    acc = account("drop", RATE, offered_at(RATE, RATE), PathCounters(reached=99_700,
                  refused=300), {"rx": 99_700})
    assert acc.extra["ring_overflow"] == 300 and acc.extra["refused_retried"] == 0
    assert acc.extra["counters_agree"] is True
    assert acc.forwarded == 99_700


def test_refused_frames_a_send_path_retried_are_not_lost() -> None:
    """stack path (AF_PACKET's TX ring): 597 refusals, each sent again, all 100,000 reach."""
    acc = account("drop", RATE, offered_at(RATE, RATE), PathCounters(reached=100_000,
                  refused=597), {"rx": 100_000})
    assert acc.extra["ring_overflow"] == 0 and acc.extra["refused_retried"] == 597
    assert acc.extra["counters_agree"] is True


@pytest.mark.parametrize("reached, refused", [(90_000, 0), (100_500, 0), (99_000, 500)])
def test_a_generator_whose_count_the_testbed_does_not_see_disagrees(
        reached: int, refused: int) -> None:
    """A generator that says it sent 100,000 while the testbed saw fewer (or more)
    frames reach or be refused: flagged, whatever the generator is."""
    acc = account("drop", RATE, offered_at(RATE, RATE), PathCounters(reached=reached,
                  refused=refused), {"rx": reached})
    assert acc.extra["counters_agree"] is False


def test_returned_frames_the_tester_refused_are_the_testers_overflow() -> None:
    offered = offered_at(RATE, RATE)
    acc = account("passthrough", RATE, offered, PathCounters(reached=100_000,
                  returned_refused=40), {})
    assert acc.tester_overflow == 40 and acc.extra["tester_overflowed"] is True


def test_the_search_is_fitted_to_the_shortest_trial_a_generator_paces() -> None:
    from pytest_xdpperf.measure import fitted
    from pytest_xdpperf.rfc2544 import SearchSpec

    class OneSecond:
        min_trial_duration = 1.0

    spec = SearchSpec(max_load=1e6, min_load=1e4, trial_duration=2.0)
    assert spec.effective_initial_trial_duration == 0.2
    assert fitted(spec, OneSecond()).effective_initial_trial_duration == 1.0
    assert fitted(spec, object()) is spec  # a generator that says nothing: as asked
    short = SearchSpec(max_load=1e6, min_load=1e4, trial_duration=0.5)
    assert fitted(short, OneSecond()).effective_initial_trial_duration == 0.5  # capped
