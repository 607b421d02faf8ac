"""Throughput searches against simulated DUTs (tests/simdut.py): no root, no real time."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from simdut import (
    BlackHole,
    ColdStart,
    Degrading,
    Deterministic,
    FakeClock,
    LaggingTester,
    LossFloor,
    LossSpikes,
    OverflowingTester,
    ShortSending,
    SimDut,
    SlowTester,
    SpoiledTrials,
    Sporadic,
    Wobbly,
)

from pytest_xdpperf.rfc2544 import (
    SearchResult,
    SearchSpec,
    SearchTimeout,
    Throughput,
    TrialResult,
    binary_search,
    confirm,
    find_throughput,
    max_forwarding_rate,
    mfr_fault,
)

C = 1e6  # capacity of the simulated DUTs, pps
SPEC = SearchSpec(max_load=1e7, min_load=1e4, search_duration_max=1e6)
LOOSE = replace(SPEC, loss_threshold=0.01)  # NDR and PDR clearly apart
SEARCHES = {"mlrsearch": find_throughput, "binary": binary_search}
Search = Callable[..., SearchResult]


def run(search: Search, dut: SimDut, spec: SearchSpec = SPEC) -> SearchResult:
    result = search(dut, spec, clock=dut.clock)
    check_invariants(result, spec, dut)
    return result


def tolerance(spec: SearchSpec) -> float:
    """One packet in the shortest trial, in pps: the simulators' quantisation."""
    return 1 / spec.effective_initial_trial_duration


def check_invariants(result: SearchResult, spec: SearchSpec, dut: SimDut) -> None:
    """What must hold for every search result, whatever the DUT."""
    if result.warmup is None:
        assert list(result.trials) == dut.seen
    else:
        assert [result.warmup, *result.trials] == dut.seen
    assert result.trial_seconds == pytest.approx(sum(t.intended_duration for t in dut.seen))
    assert result.search_seconds == pytest.approx(result.trial_seconds)  # fake clock
    for tp, goal in ((result.ndr, 0.0), (result.pdr, spec.loss_threshold)):
        assert tp.loss_ratio_goal == goal
        # Attempts the tester spoiled say nothing about the DUT, and are run again.
        at_rate = [t for t in result.trials if t.intended_load == tp.rate_pps and t.valid]
        at_upper = [t for t in result.trials if t.intended_load == tp.upper_bound_pps]
        if tp.rate_pps is None:
            assert tp.status in ("below_min_load", "tester_bound")
            assert tp.upper_bound_pps == spec.min_load
            assert tp.worst_loss_ratio_at_rate is None
            assert tp.conditional_throughput_pps is None
        else:
            # The point of the module: never a rate at which a trial exceeded the goal.
            assert at_rate
            assert all(t.loss_ratio <= goal for t in at_rate)
            assert all(t.search_loss_ratio <= goal for t in at_rate)
            assert tp.worst_loss_ratio_at_rate == max(t.search_loss_ratio for t in at_rate)
            # ... and established by trials of the full duration, duration_sum of them.
            full = [
                t.intended_duration for t in at_rate if t.intended_duration >= spec.trial_duration
            ]
            assert sum(full) >= spec.effective_duration_sum - 1e-9
            assert spec.min_load <= tp.rate_pps <= spec.max_load
            assert tp.conditional_throughput_pps is not None
            assert tp.conditional_throughput_pps <= tp.rate_pps
        if tp.upper_bound_pps is None:
            assert tp.status == "at_max_load"
            assert tp.rate_pps == spec.max_load
        else:
            assert any(not t.valid or t.search_loss_ratio > goal for t in at_upper)
            dut_failed = any(t.valid and t.search_loss_ratio > goal for t in at_upper)
            # tester_bound exactly when the upper bound is the tester's, not the DUT's
            assert (tp.status == "tester_bound") == (not dut_failed)
            # ... and that is after the retries: the last attempt there was spoiled too
            if not dut_failed:
                assert not [t for t in result.trials if t.intended_load == tp.upper_bound_pps][
                    -1
                ].valid
        if tp.status == "found":
            assert tp.rate_pps is not None and tp.upper_bound_pps is not None
            assert tp.rate_pps < tp.upper_bound_pps
            assert (tp.upper_bound_pps - tp.rate_pps) / tp.upper_bound_pps <= spec.relative_width


def check_mlrsearch_bounds(result: SearchResult, spec: SearchSpec) -> None:
    """MLRsearch shares trials between goals: its upper bound is the lowest failing load."""
    for tp, goal in ((result.ndr, 0.0), (result.pdr, spec.loss_threshold)):
        if tp.upper_bound_pps is not None:
            failed = [
                t.intended_load for t in result.trials if not t.valid or t.search_loss_ratio > goal
            ]
            assert min(failed) == tp.upper_bound_pps


def assert_brackets(tp: Throughput, true_rate: float, spec: SearchSpec) -> None:
    """Status found, the true rate is in [rate, upper], within the asked width."""
    assert tp.status == "found", tp
    assert tp.rate_pps is not None and tp.upper_bound_pps is not None
    tol = tolerance(spec)
    assert tp.rate_pps <= true_rate + tol
    assert tp.upper_bound_pps >= true_rate - tol
    assert tp.rate_pps >= true_rate * (1 - spec.relative_width) - tol


# --- deterministic DUTs -------------------------------------------------------------------


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
@pytest.mark.parametrize("capacity", [2e4, 3.3e5, 1e6, 7.77e6])
@pytest.mark.parametrize("relative_width", [0.005, 0.02])
def test_deterministic_capacity(search: Search, capacity: float, relative_width: float) -> None:
    spec = replace(SPEC, relative_width=relative_width)
    result = run(search, Deterministic(capacity=capacity), spec)
    assert_brackets(result.ndr, capacity, spec)
    assert result.ndr.rate_pps is not None
    assert result.ndr.rate_pps <= capacity + tolerance(spec)
    # Above C the loss is 1 - C/L, so the PDR is C / (1 - threshold).
    assert_brackets(result.pdr, capacity / (1 - spec.loss_threshold), spec)


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
def test_duration_sum_needs_several_full_trials(search: Search) -> None:
    spec = replace(SPEC, duration_sum=3.0)
    result = run(search, Deterministic(capacity=C), spec)  # invariants check the sum
    assert_brackets(result.ndr, C, spec)


@pytest.mark.parametrize("sending_time", [0.99, 1.01])
def test_duration_sum_counts_intended_seconds(sending_time: float) -> None:
    # A tester sending a little short must not cost an extra trial per load.
    spec = replace(SPEC, duration_sum=3.0)
    result = run(find_throughput, Deterministic(capacity=C, sending_time=sending_time), spec)
    at_rate = [t for t in result.trials if t.intended_load == result.ndr.rate_pps]
    assert [t.intended_duration for t in at_rate if t.intended_duration == 1.0] == [1.0] * 3


def test_mlrsearch_uses_shorter_preceding_trials() -> None:
    dut = Deterministic(capacity=C)
    result = run(find_throughput, dut)
    check_mlrsearch_bounds(result, SPEC)
    durations = {t.intended_duration for t in result.trials}
    assert min(durations) == pytest.approx(SPEC.effective_initial_trial_duration)
    assert max(durations) == SPEC.trial_duration


def test_zero_loss_threshold_makes_pdr_the_ndr() -> None:
    spec = replace(SPEC, loss_threshold=0.0)
    result = run(find_throughput, Deterministic(capacity=C), spec)
    assert result.pdr == replace(result.ndr, goal="PDR")


def test_mlrsearch_cheaper_than_binary_search() -> None:
    # Not a benchmark, a sanity check that the preceding targets pay off on an easy DUT.
    mlr = run(find_throughput, Deterministic(capacity=C))
    plain = run(binary_search, Deterministic(capacity=C))
    assert mlr.trial_seconds < plain.trial_seconds


# --- noisy DUTs ---------------------------------------------------------------------------


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
@pytest.mark.parametrize("seed", range(15))
def test_loss_spikes(search: Search, seed: int) -> None:
    dut = LossSpikes(capacity=C, seed=seed)
    result = run(search, dut)
    if search is find_throughput:
        check_mlrsearch_bounds(result, SPEC)
    for tp, true_rate in ((result.ndr, C), (result.pdr, C / (1 - SPEC.loss_threshold))):
        assert tp.status in ("found", "below_min_load")
        if tp.rate_pps is not None:  # spikes only ever push it down
            assert tp.rate_pps <= true_rate + tolerance(SPEC)


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
def test_loss_spikes_do_bite(search: Search) -> None:
    # Else the test above would pass for want of noise.
    rates = [run(search, LossSpikes(capacity=C, seed=seed)).ndr.rate_pps for seed in range(15)]
    assert sum(r is None or r < C * (1 - 2 * SPEC.relative_width) for r in rates) >= 3


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
@pytest.mark.parametrize("seed", range(15))
@pytest.mark.parametrize("wobble", [0.01, 0.05])
def test_wobbly_capacity(search: Search, seed: int, wobble: float) -> None:
    result = run(search, Wobbly(capacity=C, wobble=wobble, seed=seed))
    if search is find_throughput:
        check_mlrsearch_bounds(result, SPEC)
    tp = result.ndr
    assert tp.status == "found" and tp.rate_pps is not None
    # Below C(1 - x) every trial passes, above C(1 + x) every trial fails.
    low, high = C * (1 - wobble), C * (1 + wobble)
    assert low * (1 - SPEC.relative_width) - tolerance(SPEC) <= tp.rate_pps <= high
    assert tp.upper_bound_pps is not None and tp.upper_bound_pps >= low - tolerance(SPEC)


# --- labelled statuses --------------------------------------------------------------------


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
def test_loss_floor_is_below_min_load_for_ndr_and_tight_pdr(search: Search) -> None:
    result = run(search, LossFloor(capacity=C, floor=0.005))
    for tp in (result.ndr, result.pdr):
        assert tp.status == "below_min_load"
        assert tp.rate_pps is None
        assert tp.upper_bound_pps == SPEC.min_load


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
def test_loss_floor_under_a_loose_pdr_is_found(search: Search) -> None:
    spec = replace(SPEC, loss_threshold=0.01)
    dut = LossFloor(capacity=C, floor=0.005)
    result = run(search, dut, spec)
    assert result.ndr.status == "below_min_load"
    assert_brackets(result.pdr, dut.pdr(0.01), spec)


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
def test_never_loses_is_at_max_load(search: Search) -> None:
    result = run(search, SimDut())
    for tp in (result.ndr, result.pdr):
        assert tp.status == "at_max_load"
        assert tp.rate_pps == SPEC.max_load
        assert tp.upper_bound_pps is None
        assert tp.worst_loss_ratio_at_rate == 0.0


def test_below_min_load_is_a_result_not_an_exception() -> None:
    # MLRsearch raises RuntimeError here with fail_fast=True; we must not.
    result = find_throughput(LossFloor(capacity=C, floor=0.5), SPEC)
    assert (result.ndr.status, result.pdr.status) == ("below_min_load", "below_min_load")


# --- the tester's share of the packets ----------------------------------------------------


def attempts_at(result: SearchResult, load: float | None) -> list[TrialResult]:
    return [t for t in result.trials if t.intended_load == load]


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
def test_tester_overflow_is_not_dut_loss(search: Search) -> None:
    # The tester's queue overflows in every other trial: each such trial is run again,
    # and the search ends where a clean tester's would.
    dut = OverflowingTester(capacity=C, overflow=0.003)  # 3x the PDR threshold
    result = run(search, dut)
    clean = run(search, Deterministic(capacity=C))
    assert (result.ndr, result.pdr) == (clean.ndr, clean.pdr)
    spoiled = [i for i, t in enumerate(result.trials) if not t.valid]
    assert spoiled and len(result.trials) == len(clean.trials) + len(spoiled)
    for i in spoiled:  # each followed by its valid retry at the same load and duration
        retry = result.trials[i + 1]
        assert retry.valid
        assert (retry.intended_load, retry.intended_duration) == (
            result.trials[i].intended_load,
            result.trials[i].intended_duration,
        )
    assert "queue overflowed" in (result.trials[spoiled[0]].tester_fault or "")


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
def test_a_tester_that_sends_short_is_tester_bound(search: Search) -> None:
    # A perfect DUT behind a tester that cannot send more than 5e5 pps: the figure is a
    # lower bound set by the tester, and no load was held against the DUT.
    dut = SlowTester(limit=5e5)
    result = run(search, dut)
    assert all(t.loss == 0 for t in dut.seen)
    for tp in (result.ndr, result.pdr):
        assert tp.status == "tester_bound", tp
        assert tp.rate_pps is not None and tp.upper_bound_pps is not None
        assert 5e5 * (1 - SPEC.relative_width) - tolerance(SPEC) <= tp.rate_pps <= 5e5
        assert tp.upper_bound_pps > 5e5
        # the ceiling was tried 1 + tester_retries times
        ceiling = attempts_at(result, tp.upper_bound_pps)
        assert not any(t.valid for t in ceiling)
        assert "sent" in (ceiling[0].tester_fault or "")
    failing = {t.intended_load for t in result.trials if not t.valid}
    for load in failing:  # every spoiled load was retried, per run of it
        assert len(attempts_at(result, load)) % 2 == 0


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
def test_a_tester_that_lags_is_tester_bound(search: Search) -> None:
    # Sends every packet, but slower than asked (tester_limited): not DUT loss either.
    result = run(search, LaggingTester(capacity=C, limit=5e5))
    for tp in (result.ndr, result.pdr):
        assert tp.status == "tester_bound", tp
        assert tp.rate_pps is not None
        assert 5e5 * (1 - SPEC.relative_width) - tolerance(SPEC) <= tp.rate_pps <= 5e5 * 1.01
    assert any("offered" in (t.tester_fault or "") for t in result.trials)


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
def test_a_tester_ceiling_above_the_dut_does_not_matter(search: Search) -> None:
    # The DUT fails at 3e5 long before the tester gives out at 5e5: found, as usual.
    result = run(search, LaggingTester(capacity=3e5, limit=5e5))
    assert_brackets(result.ndr, 3e5, SPEC)
    assert_brackets(result.pdr, 3e5 / (1 - SPEC.loss_threshold), SPEC)


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
def test_a_tester_below_min_load_is_not_a_dut_failure(search: Search) -> None:
    result = run(search, SlowTester(limit=SPEC.min_load / 2))
    for tp in (result.ndr, result.pdr):
        assert (tp.status, tp.rate_pps, tp.upper_bound_pps) == (
            "tester_bound",
            None,
            SPEC.min_load,
        )


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
@pytest.mark.parametrize("retries", [0, 1, 3])
def test_tester_retries(search: Search, retries: int) -> None:
    spec = replace(SPEC, tester_retries=retries)
    # The very first trial (at max_load) and the next `retries` attempts are spoiled.
    spoiled = SpoiledTrials(capacity=C, spoil=frozenset(range(retries + 1)))
    result = run(search, spoiled, spec)
    first = attempts_at(result, spec.max_load)
    assert [t.valid for t in first[: retries + 1]] == [False] * (retries + 1)
    # retries exhausted: max_load is the tester's ceiling, but the DUT fails below it
    assert result.ndr.status == "found"
    assert_brackets(result.ndr, C, spec)
    # one spoiled attempt fewer: the retry saves the load, as if nothing had happened
    if retries:
        spoiled_once = SpoiledTrials(capacity=C, spoil=frozenset(range(retries)))
        again = run(search, spoiled_once, spec)
        clean = run(search, Deterministic(capacity=C), spec)
        assert (again.ndr, again.pdr) == (clean.ndr, clean.pdr)
        assert len(again.trials) == len(clean.trials) + retries


def test_invalid_trial_hints_mlrsearch_at_what_the_tester_managed() -> None:
    # MLRsearch takes its next load from the forwarding rate of the last trial: after the
    # tester lagged at max_load it should look near the tester's 5e5, not at 0.
    result = run(find_throughput, SlowTester(limit=5e5))
    first_valid = next(t for t in result.trials if t.valid)
    assert 2.5e5 <= first_valid.intended_load <= 5e5 * 1.01


def test_trial_result_accounting() -> None:
    base = TrialResult(1000.0, 1.0, offered=1000, forwarded=990, offered_duration=0.5)
    assert (base.loss, base.loss_ratio, base.unsent) == (10, 0.01, 0)
    assert base.search_loss_ratio == 0.01
    assert (base.offered_rate, base.forwarding_rate) == (2000.0, 1980.0)
    overflow = replace(base, tester_overflow=10)
    assert (overflow.loss, overflow.loss_ratio, overflow.search_loss_ratio) == (0, 0.0, 0.0)
    unsent = replace(base, offered=900, forwarded=900)
    assert (unsent.loss_ratio, unsent.unsent, unsent.search_loss_ratio) == (0.0, 100, 0.1)
    both = replace(base, offered=900, forwarded=891)  # 9 lost of 900, 100 unsent
    assert both.search_loss_ratio == pytest.approx(109 / 1000)
    assert replace(base, offered=1005, forwarded=1005).search_loss_ratio == 0.0  # sent extra
    assert replace(base, forwarded=1002).loss == 0  # stray packets are not a gain
    assert replace(base, offered=1000, intended_count=900).unsent == 0
    assert replace(base, offered=900, forwarded=900, intended_count=905).unsent == 5
    assert replace(base, offered=0, forwarded=0, offered_duration=0.0).forwarding_rate == 0.0
    # what makes a trial the tester's fault rather than the DUT's
    assert (base.valid, base.tester_fault) == (True, None)
    assert "queue overflowed (10 packets)" in (overflow.tester_fault or "")
    assert unsent.tester_fault == "the tester sent 900 of 1000 packets"
    lagging = replace(base, offered_duration=2.0, extra={"tester_limited": True})
    assert lagging.tester_fault == "the tester offered 500 pps of the 1000 asked for"
    assert not (overflow.valid or unsent.valid or lagging.valid)
    assert replace(base, extra={"tester_limited": False}).valid


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"offered": -1}, "packet counts must be >= 0"),
        ({"tester_overflow": 1001}, r"tester overflow must be in \[0, offered=1000\]"),
        ({"tester_overflow": -1}, "tester overflow must be in"),
        ({"intended_count": -1}, "intended count must be >= 0"),
    ],
)
def test_trial_result_validation(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrialResult(
            1000.0, 1.0, **{"offered": 1000, "forwarded": 990, "offered_duration": 1.0, **changes}
        )


# --- warmup, progress, timeout, callback contract -----------------------------------------


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
def test_warmup_is_run_and_discarded(search: Search) -> None:
    spec = replace(SPEC, warmup_duration=0.5)
    dut = ColdStart()
    seen: list[TrialResult] = []
    result = search(dut, spec, seen.append, clock=dut.clock)
    check_invariants(result, spec, dut)
    assert result.warmup is dut.seen[0]
    assert (result.warmup.intended_load, result.warmup.intended_duration) == (1e7, 0.5)
    assert result.warmup not in result.trials
    assert seen == dut.seen  # progress sees every trial, warmup first
    assert result.trial_seconds == pytest.approx(
        0.5 + sum(t.intended_duration for t in result.trials)
    )
    # Its 10 % loss did not count: the cold DUT is perfect from then on.
    assert result.ndr.status == "at_max_load"


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
def test_without_warmup_a_cold_first_trial_counts(search: Search) -> None:
    result = run(search, ColdStart())
    assert result.warmup is None
    assert result.ndr.status == "found"  # max_load failed once, so it is an upper bound


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
def test_progress_sees_every_trial_in_order(search: Search) -> None:
    dut = Wobbly(seed=3)
    seen: list[TrialResult] = []
    result = search(dut, SPEC, seen.append, clock=dut.clock)
    assert seen == list(result.trials) == dut.seen


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
@pytest.mark.parametrize("fraction", [0.01, 0.3, 0.6])
def test_timeout_keeps_trials(search: Search, fraction: float) -> None:
    spec = replace(SPEC, warmup_duration=0.25)
    limit = fraction * search(Deterministic(capacity=C), spec, clock=FakeClock()).trial_seconds
    spec = replace(spec, search_duration_max=limit)
    dut = Deterministic(capacity=C)
    with pytest.raises(SearchTimeout, match=f"search_duration_max={limit:g} s") as caught:
        search(dut, spec, clock=dut.clock)
    err = caught.value
    assert err.warmup is dut.seen[0]
    assert list(err.trials) == dut.seen[1:]
    if fraction > 0.01:  # else the deadline passed during the warmup
        assert err.trials, "the trials measured before the deadline are kept"
    assert err.elapsed == dut.clock.now >= limit
    # The deadline is checked before each trial: the last one started in time.
    assert dut.clock.now - dut.seen[-1].intended_duration < limit


def test_timeout_is_not_raised_within_the_limit() -> None:
    dut = Deterministic(capacity=C)
    needed = find_throughput(Deterministic(capacity=C), SPEC, clock=FakeClock()).trial_seconds
    result = find_throughput(dut, replace(SPEC, search_duration_max=needed + 1e-6), clock=dut.clock)
    assert result.search_seconds == pytest.approx(needed)


def test_default_clock_is_real_time() -> None:
    result = find_throughput(Deterministic(capacity=C), SPEC)
    assert 0 < result.search_seconds < 5  # simulated trials took no real time
    assert result.trial_seconds > 1


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
def test_trial_must_echo_what_it_was_asked(search: Search) -> None:
    def lying(rate: float, duration: float) -> TrialResult:
        return TrialResult(rate + 1, duration, round(rate * duration), 0, duration)

    with pytest.raises(ValueError, match="returned intended_load="):
        search(lying, SPEC)

    def untyped(rate: float, duration: float) -> Any:
        return {"offered": 1}

    with pytest.raises(TypeError, match="must return a TrialResult"):
        search(untyped, SPEC)


# --- binary search against MLRsearch ------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: Deterministic(capacity=C),
        lambda: Deterministic(capacity=4.2e4),
        lambda: LossFloor(capacity=C),
        lambda: SlowTester(limit=2e6),
        lambda: OverflowingTester(capacity=C),
        SimDut,
    ],
    ids=["det-1M", "det-42k", "floor", "slow-tester", "overflow", "perfect"],
)
def test_binary_search_agrees_with_mlrsearch(make: Callable[[], SimDut]) -> None:
    mlr, plain = run(find_throughput, make()), run(binary_search, make())
    for a, b in ((mlr.ndr, plain.ndr), (mlr.pdr, plain.pdr)):
        assert a.status == b.status
        if a.rate_pps is not None and b.rate_pps is not None:
            assert b.rate_pps == pytest.approx(a.rate_pps, rel=2 * SPEC.relative_width)


# --- maximum forwarding rate --------------------------------------------------------------


def test_max_forwarding_rate_deterministic() -> None:
    dut = Deterministic(capacity=C)
    mfr = max_forwarding_rate(dut, load=2 * C, duration=1.0, repetitions=3)
    assert mfr.rates_pps == (C, C, C)
    assert (mfr.mean_pps, mfr.stdev_pps) == (C, 0.0)
    assert mfr.offered_load == 2 * C and mfr.duration == 1.0
    assert mfr.trials == tuple(dut.seen)
    assert mfr.saturated


@pytest.mark.parametrize("seed", range(3))
def test_max_forwarding_rate_statistics(seed: int) -> None:
    dut = Wobbly(capacity=C, wobble=0.05, seed=seed)
    mfr = max_forwarding_rate(dut, load=2 * C, duration=0.5, repetitions=6)
    assert mfr.rates_pps == tuple(t.forwarded / t.offered_duration for t in dut.seen)
    assert mfr.mean_pps == pytest.approx(statistics.fmean(mfr.rates_pps))
    assert mfr.stdev_pps == pytest.approx(statistics.stdev(mfr.rates_pps))
    assert 0 < mfr.stdev_pps < 0.05 * C
    assert all(0.95 * C - 2 <= r <= 1.05 * C + 2 for r in mfr.rates_pps)
    assert mfr.saturated


def test_max_forwarding_rate_single_repetition_and_unsaturated() -> None:
    mfr = max_forwarding_rate(SimDut(), load=1e5, duration=1.0)
    assert (mfr.rates_pps, mfr.stdev_pps) == ((1e5,), 0.0)
    assert not mfr.saturated  # the tester, not the DUT, set the rate


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"repetitions": 0}, "repetitions must be >= 1, got 0"),
        ({"load": 0.0}, "load must be positive"),
        ({"duration": math.nan}, "duration must be positive"),
    ],
)
def test_max_forwarding_rate_validation(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        max_forwarding_rate(SimDut(), **{"load": 1e5, "duration": 1.0, **kwargs})


# --- SearchSpec ---------------------------------------------------------------------------


def test_search_spec_defaults() -> None:
    spec = SearchSpec(max_load=1e6)
    assert (spec.min_load, spec.loss_threshold, spec.relative_width) == (1e4, 0.001, 0.005)
    assert spec.effective_initial_trial_duration == pytest.approx(0.1)
    assert spec.effective_duration_sum == 1.0
    assert spec.warmup_duration is None
    long = SearchSpec(max_load=1e6, trial_duration=60.0)
    assert (long.effective_initial_trial_duration, long.effective_duration_sum) == (6.0, 60.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"loss_threshold": 1.5}, r"loss threshold must be in \[0, 1\), got 1.5"),
        ({"loss_threshold": 1.0}, r"loss threshold must be in \[0, 1\), got 1.0"),
        ({"loss_threshold": -0.1}, r"loss threshold must be in \[0, 1\), got -0.1"),
        ({"loss_threshold": math.nan}, r"loss threshold must be in \[0, 1\), got nan"),
        ({"relative_width": 0.0}, r"relative width must be in \(0, 1\), got 0.0"),
        ({"relative_width": 1.0}, r"relative width must be in \(0, 1\), got 1.0"),
        ({"min_load": 0.0}, "min load must be positive and finite, got 0.0"),
        ({"max_load": math.inf}, "max load must be positive and finite, got inf"),
        ({"max_load": 5e3}, "max load must be greater than min load 10000, got 5000"),
        ({"max_load": 1e4}, "max load must be greater than min load 10000, got 10000"),
        ({"trial_duration": 0.0}, "trial duration must be positive and finite, got 0.0"),
        ({"initial_trial_duration": 2.0}, r"initial trial duration must be in \(0, trial_dur"),
        ({"initial_trial_duration": 0.0}, r"initial trial duration must be in \(0, trial_dur"),
        ({"duration_sum": 0.5}, "duration sum must be at least trial_duration=1, got 0.5"),
        ({"preceding_targets": -1}, "preceding targets must be >= 0, got -1"),
        ({"expansion_coefficient": 1}, "expansion coefficient must be >= 2, got 1"),
        ({"tester_retries": -1}, "tester retries must be >= 0, got -1"),
        ({"preceding_targets": 0}, "preceding targets 0 needs initial trial duration =="),
        ({"search_duration_max": 0.0}, "search duration max must be positive"),
        ({"warmup_duration": 0.0}, "warmup duration must be positive and finite, got 0.0"),
    ],
)
def test_search_spec_validation(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SearchSpec(**{"max_load": 1e6, **kwargs})


def test_search_spec_preceding_targets_zero_with_equal_durations() -> None:
    spec = SearchSpec(max_load=1e7, initial_trial_duration=1.0, preceding_targets=0)
    dut = Deterministic(capacity=C)
    result = find_throughput(dut, spec, clock=dut.clock)
    check_invariants(result, spec, dut)
    assert {t.intended_duration for t in result.trials} == {1.0}
    assert_brackets(result.ndr, C, spec)


# --- confirmation -------------------------------------------------------------------------


def test_confirmation_verifies_a_steady_dut() -> None:
    dut = Deterministic(capacity=C)
    search = run(find_throughput, dut, LOOSE)
    assert search.ndr.rate_pps != search.pdr.rate_pps
    searched = len(dut.seen)
    ndr, pdr = confirm(dut, search, count=2, duration=2.0)
    assert ndr is not None and pdr is not None
    for c, tp in ((ndr, search.ndr), (pdr, search.pdr)):
        assert (c.goal, c.rate_pps, c.loss_ratio_goal) == (tp.goal, tp.rate_pps, tp.loss_ratio_goal)
        assert c.verified and c.reason is None
        asked = [(t.intended_load, t.intended_duration) for t in c.trials]
        assert asked == [(tp.rate_pps, 2.0)] * 2
    assert list(ndr.trials + pdr.trials) == dut.seen[searched:]  # new trials, run in order


def test_confirmation_shares_trials_when_ndr_is_pdr() -> None:
    dut = SimDut()  # never loses: NDR and PDR both at max_load
    search = run(find_throughput, dut)
    searched = len(dut.seen)
    seen: list[TrialResult] = []
    ndr, pdr = confirm(dut, search, progress=seen.append)
    assert ndr is not None and pdr is not None
    assert ndr.trials == pdr.trials == tuple(dut.seen[searched:]) == tuple(seen)
    assert len(ndr.trials) == 1 and ndr.verified and pdr.verified


def test_a_failed_confirmation_is_reported() -> None:
    dut = Degrading(capacity=C, factor=0.9)
    search = run(find_throughput, dut)
    dut.after = len(dut.seen)  # slower from the confirmation on
    ndr, pdr = confirm(dut, search, count=3, duration=1.0)
    assert ndr is not None and pdr is not None
    for c in (ndr, pdr):
        assert not c.verified
        assert len(c.trials) == 3  # all run: how many failed is part of the answer
        assert c.reason is not None and c.reason.startswith("3 of 3 trials at")
        assert "lost more than" in c.reason


def test_confirmation_without_a_rate_is_none() -> None:
    dut = LossFloor(capacity=C, floor=0.005)
    search = run(find_throughput, dut)
    before = len(dut.seen)
    assert confirm(dut, search) == (None, None)
    assert len(dut.seen) == before


@pytest.mark.parametrize("retries", [0, 1])
def test_confirmation_retries_a_spoiled_trial(retries: int) -> None:
    dut = SpoiledTrials(capacity=C)
    search = run(find_throughput, dut, LOOSE)
    assert search.ndr.rate_pps != search.pdr.rate_pps
    dut.spoil = frozenset({len(dut.seen)})  # the first confirmation trial
    ndr, pdr = confirm(dut, search, count=2, tester_retries=retries)
    assert ndr is not None and pdr is not None
    assert not ndr.trials[0].valid
    if retries:
        assert ndr.verified and len(ndr.trials) == 3  # spoiled, retry, second trial
    else:
        assert not ndr.verified and len(ndr.trials) == 1  # no use going on
        assert ndr.reason is not None and ndr.reason.startswith("the tester could not offer")
    assert pdr.verified


def test_confirmation_validation() -> None:
    search = run(find_throughput, Deterministic(capacity=C))
    with pytest.raises(ValueError, match="confirmation count must be >= 1, got 0"):
        confirm(SimDut(), search, count=0)
    with pytest.raises(ValueError, match="confirmation duration must be positive"):
        confirm(SimDut(), search, duration=0.0)


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
def test_a_dut_that_forwards_nothing_is_labelled(search: Search) -> None:
    dut = BlackHole()
    result = run(search, dut)
    for tp in (result.ndr, result.pdr):
        assert (tp.status, tp.rate_pps, tp.upper_bound_pps) == ("below_min_load", None, 1e4)
    assert all(t.valid for t in result.trials)  # the DUT's failure, not the tester's
    assert confirm(dut, result) == (None, None)
    mfr = max_forwarding_rate(dut, 1e6, 1.0)
    assert mfr.mean_pps == 0.0 and mfr.saturated


@pytest.mark.parametrize("coefficient", [2, 4])
def test_expansion_coefficient_reaches_mlrsearch(coefficient: int) -> None:
    spec = replace(SPEC, expansion_coefficient=coefficient)
    result = run(find_throughput, Sporadic(capacity=C, seed=1), spec)
    assert result.ndr.status in ("found", "below_min_load")
    # MLRsearch's external search steps differ: the sequence of loads is not the default's
    default = run(find_throughput, Sporadic(capacity=C, seed=1))
    loads = [t.intended_load for t in result.trials]
    assert (loads == [t.intended_load for t in default.trials]) is (coefficient == 2)


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
@pytest.mark.parametrize("seed", range(10))
def test_sporadic_loss_events(search: Search, seed: int) -> None:
    # loss events in time, more often near capacity: NDR never above C, usually near it
    result = run(search, Sporadic(capacity=C, seed=seed))
    if result.ndr.rate_pps is not None:
        assert result.ndr.rate_pps <= C + tolerance(SPEC)


def test_max_forwarding_rate_counts_what_the_testers_ring_refused_as_forwarded() -> None:
    """Frames the DUT sent back that the tester's own ring refused were forwarded by the
    DUT: a tester that takes half back must not halve the DUT's forwarding rate."""

    def trial(rate: float, duration: float) -> TrialResult:
        sent = round(rate * duration)
        return TrialResult(intended_load=rate, intended_duration=duration, offered=sent,
                           forwarded=sent // 2, offered_duration=duration,
                           tester_overflow=sent // 2, extra={"return_overflow": sent // 2})

    mfr = max_forwarding_rate(trial, load=1e6, duration=1.0)
    assert mfr.rates_pps == (1e6,)
    plain = max_forwarding_rate(Deterministic(capacity=C), load=2 * C, duration=1.0)
    assert plain.rates_pps == (C,)  # no return overflow: what came back


# --- the mlrsearch preset: goal exceed ratio ----------------------------------------------

EXCEEDING = replace(SPEC, exceed_ratio=0.5, duration_sum=5.0)


def _pdr_shares(spec: SearchSpec) -> list[float]:
    true_pdr = C / (1 - SPEC.loss_threshold)
    shares = []
    for seed in range(15):  # a fifth of the trials lose 0.2%, twice the goal
        dut = LossSpikes(capacity=C, seed=seed, p=0.2, spike=0.002)
        result = find_throughput(dut, spec, clock=dut.clock)
        shares.append((result.pdr.rate_pps or 0.0) / true_pdr)
    return shares


def test_an_exceed_ratio_lets_sporadic_loss_in_a_minority_of_trials_pass() -> None:
    # RFC 2544's every-trial rule: one lossy trial near the top pushes the PDR down,
    # so where it lands depends on when the spikes fell; with exceed ratio 0.5 over five
    # trials' time, a minority of lossy trials does not decide the load
    strict, exceeding = _pdr_shares(SPEC), _pdr_shares(EXCEEDING)
    near = [sum(s >= 0.995 for s in shares) for shares in (strict, exceeding)]
    assert near[0] <= 7 and near[1] >= 12, (strict, exceeding)
    assert statistics.pstdev(exceeding) < statistics.pstdev(strict)
    assert max(exceeding) <= 1 + tolerance(SPEC) / C  # never above the true PDR


def test_with_an_exceed_ratio_the_worst_trial_at_the_rate_may_exceed_the_goal() -> None:
    # (with exceed ratio 0 that would be a bug, and _throughput raises on it)
    dut = LossSpikes(capacity=C, seed=3, p=0.4, spike=0.002)
    result = find_throughput(dut, EXCEEDING, clock=dut.clock)
    assert result.pdr.exceed_ratio == 0.5 and result.pdr.rate_pps
    assert SPEC.exceed_ratio == 0.0 and run(find_throughput, LossSpikes(capacity=C)).pdr \
        .exceed_ratio == 0.0


def test_an_exceed_ratio_is_mlrsearchs_and_in_range() -> None:
    with pytest.raises(ValueError, match="exceed ratio 0.5 needs find_throughput"):
        binary_search(Deterministic(capacity=C), EXCEEDING)
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="exceed ratio must be in"):
            replace(SPEC, exceed_ratio=bad)


# --- the MFR and a tester that spoils its trials ---------------------------------------


def test_a_spoiled_mfr_trial_is_run_again_and_its_rate_ignored() -> None:
    # first trial: 0.4 of 2C sent, all forwarded (the DUT lost nothing: the tester's
    # figure, 0.8C); the retry offers it all and the DUT forwards its C
    dut = ShortSending(0.4, 1.0)
    mfr = max_forwarding_rate(dut, load=2 * C, duration=1.0)
    assert mfr.trials == tuple(dut.seen) and len(mfr.trials) == 2  # both kept
    assert mfr.counted == (dut.seen[1],)
    assert mfr.rates_pps == (C,) and mfr.mean_pps == C  # 0.8C not averaged in
    assert (mfr.spoiled, mfr.tester_bound, mfr.saturated) == (1, False, True)
    assert "sent 800000 of 2000000" in (mfr_fault(dut.seen[0]) or "")
    assert mfr_fault(dut.seen[1]) is None


def test_every_mfr_repetition_gets_its_retries() -> None:
    # repetition 1: spoiled, retried, valid; repetition 2: spoiled twice (no retry left)
    # repetition 3: valid at once
    dut = ShortSending(0.4, 1.0, 0.3, 0.3, 1.0)
    mfr = max_forwarding_rate(dut, load=2 * C, duration=1.0, repetitions=3)
    assert len(mfr.trials) == 5 and mfr.spoiled == 3
    assert mfr.counted == (dut.seen[1], dut.seen[4])
    assert mfr.rates_pps == (C, C) and not mfr.tester_bound and mfr.saturated
    # no retries: a spoiled repetition just does not count
    once = max_forwarding_rate(ShortSending(0.4, 1.0), 2 * C, 1.0, 2, tester_retries=0)
    assert len(once.trials) == 2 and once.rates_pps == (C,) and once.spoiled == 1


def test_an_mfr_the_tester_spoiled_throughout_is_tester_bound() -> None:
    slow = SlowTester(limit=5e5)  # never more than 0.5 Mpps into a perfect DUT
    mfr = max_forwarding_rate(slow, load=2 * C, duration=1.0, repetitions=2,
                              tester_retries=2)
    assert len(mfr.trials) == 6 and mfr.spoiled == 6  # each repetition ran 1 + 2 times
    assert mfr.tester_bound and not mfr.saturated
    assert mfr.rates_pps == (5e5, 5e5)  # what the DUT did forward: a lower bound
    # each repetition's best attempt is its figure
    rising = max_forwarding_rate(ShortSending(0.2, 0.3), 2 * C, 1.0, tester_retries=1)
    assert rising.tester_bound and rising.rates_pps == (0.3 * 2 * C,)


def overload(offered: int, forwarded: int, offered_duration: float = 1.0,
             tester_overflow: int = 0, **extra: Any) -> TrialResult:
    """One MFR trial at 2C for 1 s, as measure.TrialMeasurer would report it."""
    return TrialResult(intended_load=2 * C, intended_duration=1.0, offered=offered,
                       forwarded=forwarded, offered_duration=offered_duration,
                       tester_overflow=tester_overflow, extra=extra)


@pytest.mark.parametrize(("trial", "fault"), [
    # short and slow, but the DUT lost some: it was saturated, the trial counts
    (overload(1_500_000, 1_000_000, tester_limited=True, ring_overflow=400_000), None),
    # short, and the DUT kept up with all of it: what it forwarded is the tester's
    (overload(800_000, 800_000), "the tester sent 800000 of 2000000 packets"),
    (overload(2_000_000, 2_000_000, offered_duration=2.5, tester_limited=True),
     "the tester offered 800000 pps of the 2000000"),
    (overload(2_000_000, 1_500_000, tester_overflow=500_000, return_overflow=0),
     "the tester's own queue dropped 500000 packets before the DUT"),
    # the tester's receive ring refused what the DUT sent back: forwarded, not short
    (overload(2_000_000, 1_000_000, tester_overflow=1_000_000, return_overflow=1_000_000),
     None),
    # all offered as asked, nothing lost: the tester's ceiling (saturated says so)
    (overload(2_000_000, 2_000_000), None),
], ids=["saturated-short", "unsent", "slow", "send-overflow", "receive-refused", "ceiling"])
def test_a_short_tester_spoils_an_mfr_trial_only_when_the_dut_was_not_saturated(
        trial: TrialResult, fault: str | None) -> None:
    got = mfr_fault(trial)
    assert (got is None) is (fault is None)
    if fault is not None:
        assert fault in (got or "") and "the DUT lost nothing" in (got or "")
    calls: list[TrialResult] = []

    def again(rate: float, duration: float) -> TrialResult:
        calls.append(trial)
        return trial

    mfr = max_forwarding_rate(again, load=2 * C, duration=1.0)
    assert len(calls) == (1 if fault is None else 2)  # only a spoiled trial is retried
    assert mfr.tester_bound is (fault is not None)
    assert mfr.saturated is (trial.loss > 0)


# the bare veth testbed's own loss at the MFR's load in a real run (no-op NF, 4.77 Mpps)
PATH_LOSS = 0.0365


@pytest.mark.parametrize(("lost", "spoiled"), [
    (0.02, True),    # a burst the bare path loses too: the DUT kept up with the tester
    (0.073, False),  # the least any real MFR trial lost (xdp drop): overloaded
])
def test_a_loss_within_the_bare_testbeds_says_nothing_of_the_dut(
        lost: float, spoiled: bool) -> None:
    sent = 800_000  # 0.4 of 2C
    short = overload(sent, round(sent * (1 - lost)), ring_overflow=round(sent * lost))
    assert mfr_fault(short) is None  # without the floor, any loss is saturation
    fault = mfr_fault(short, PATH_LOSS)
    assert (fault is not None) is spoiled
    if spoiled:
        assert "no more than the bare testbed's 3.65%" in (fault or "")
    mfr = max_forwarding_rate(lambda r, d: short, 2 * C, 1.0, path_loss=PATH_LOSS)
    assert (len(mfr.trials), mfr.tester_bound, mfr.saturated) == (
        (2, True, False) if spoiled else (1, False, True))
    assert mfr.path_loss == PATH_LOSS and mfr.fault(short) == fault
    # all of the load offered, as little lost: counted, but not saturated
    full = overload(2_000_000, 1_960_000, ring_overflow=40_000)
    assert mfr_fault(full, PATH_LOSS) is None
    assert not max_forwarding_rate(lambda r, d: full, 2 * C, 1.0, path_loss=PATH_LOSS).saturated


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"tester_retries": -1}, "tester retries must be >= 0, got -1"),
    ({"path_loss": 1.5}, r"path loss must be in \[0, 1\], got 1.5"),
    ({"path_loss": math.nan}, r"path loss must be in \[0, 1\], got nan"),
])
def test_mfr_retries_and_path_loss_are_validated(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        max_forwarding_rate(SimDut(), 1e5, 1.0, **kwargs)
