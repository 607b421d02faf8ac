"""RFC 2544 throughput search: NDR and PDR as pure functions of a trial callback.

The caller supplies ``trial(rate_pps, duration_s) -> TrialResult``; everything here is
arithmetic over what that callback reports (no netlink, no pytest, no I/O).

Semantics are RFC 2544's conservative ones: a load counts as passing only if *every* trial
measured at it met the loss goal, and the reported rate is such a tested load.  The search
itself is FD.io's MLRsearch (``find_throughput``); ``binary_search`` is the plain RFC 2544
algorithm, kept for comparing trial-seconds.

A trial in which the tester itself failed (its own queue overflowed, it could not hold the
rate, it sent fewer packets than asked: ``TrialResult.tester_fault``) is invalid: it says
nothing about the DUT.  It is run again (``SearchSpec.tester_retries`` times); a load the
tester still cannot offer becomes a ceiling the search stays below, and a figure whose only
upper bound is such a ceiling has status ``tester_bound``, never ``found``.

``confirm`` runs the final trials at the reported rates and says whether they held.

``max_forwarding_rate`` (RFC 2285's MFR, at a load beyond the DUT) judges its trials by
``mfr_fault`` instead: there the DUT is meant to lose, so a trial is spoiled only where the
tester fell short of the load *and* the DUT lost no more than the bare testbed does.
"""

from __future__ import annotations

import logging
import math
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from MLRsearch import (
    AbstractMeasurer,
    Config,
    MeasurementResult,
    MultipleLossRatioSearch,
    SearchGoal,
)

__all__ = [
    "Clock",
    "Confirmation",
    "ForwardingRate",
    "Progress",
    "SearchResult",
    "SearchSpec",
    "SearchTimeout",
    "Status",
    "Throughput",
    "Trial",
    "TrialResult",
    "binary_search",
    "confirm",
    "find_throughput",
    "max_forwarding_rate",
    "mfr_fault",
]

_log = logging.getLogger(__name__)

# found: the goal's rate lies in [rate, upper bound]; below_min_load: even min_load failed;
# at_max_load: max_load passed (the rate is a lower bound); tester_bound: the tester could
# not offer the load above the rate (the rate is a lower bound, the tester's ceiling).
Status = Literal["found", "below_min_load", "at_max_load", "tester_bound"]


@dataclass(frozen=True)
class TrialResult:
    """One trial as measured: what the tester offered and what counted as forwarded."""

    intended_load: float  # packets/s asked for
    intended_duration: float  # s asked for
    offered: int  # packets the tester actually sent into the DUT
    # packets the DUT handled as the traffic class requires (processed for drop,
    # returned for passthrough)
    forwarded: int
    offered_duration: float  # s the tester actually spent sending
    # packets the tester could not deliver (its own queue overflowed): not the DUT's fault.
    # They are part of `offered`.
    tester_overflow: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)  # counters for the record
    # Packets the tester meant to send (its frame target). None: round(load * duration).
    # A tester that sends to an exact frame count should report it, so that its own
    # rounding of rate * duration is never mistaken for unsent packets.
    intended_count: int | None = None

    def __post_init__(self) -> None:
        if self.offered < 0 or self.forwarded < 0:
            raise ValueError(
                f"packet counts must be >= 0, got offered={self.offered} forwarded={self.forwarded}"
            )
        if not 0 <= self.tester_overflow <= self.offered:
            raise ValueError(
                f"tester overflow must be in [0, offered={self.offered}],"
                f" got {self.tester_overflow}"
            )
        if self.intended_count is not None and self.intended_count < 0:
            raise ValueError(f"intended count must be >= 0, got {self.intended_count}")

    @property
    def delivered(self) -> int:
        """Packets that reached the DUT: offered minus the tester's own overflow."""
        return self.offered - self.tester_overflow

    @property
    def loss(self) -> int:
        """Packets the DUT lost.  Clamped at 0: stray packets in the counters are not a gain."""
        return max(0, self.delivered - self.forwarded)

    @property
    def loss_ratio(self) -> float:
        """DUT loss over packets delivered to the DUT (0.0 when nothing was delivered)."""
        return self.loss / self.delivered if self.delivered else 0.0

    @property
    def unsent(self) -> int:
        """Packets the tester was meant to send but did not (never negative)."""
        intended = self.intended_count
        if intended is None:
            intended = round(self.intended_load * self.intended_duration)
        return max(0, intended - self.offered)

    @property
    def search_loss_ratio(self) -> float:
        """The ratio the searches judge a trial by: MLRsearch's ``loss_ratio`` of the
        measurement fed to it, i.e. (DUT loss + unsent) / (delivered + unsent).

        Never below ``loss_ratio``: a load the tester could not fully offer is not passed.
        """
        return float(_measurement(self).loss_ratio)

    @property
    def tester_fault(self) -> str | None:
        """Why this trial measured the tester rather than the DUT; None when it did not.

        Such a trial is invalid: its losses are not the DUT's, and the load it was asked for
        was not (fully) offered."""
        if self.tester_overflow:
            return f"the tester's own queue overflowed ({self.tester_overflow} packets)"
        if self.unsent:
            return f"the tester sent {self.offered} of {self.offered + self.unsent} packets"
        if self.extra.get("tester_limited"):
            return (f"the tester offered {self.offered_rate:.0f} pps of the"
                    f" {self.intended_load:.0f} asked for")
        return None

    @property
    def valid(self) -> bool:
        """Whether the tester did its part (see ``tester_fault``)."""
        return self.tester_fault is None

    @property
    def offered_rate(self) -> float:
        """Packets/s the tester actually sent."""
        return self.offered / self.offered_duration if self.offered_duration > 0 else 0.0

    @property
    def forwarding_rate(self) -> float:
        """Packets/s the DUT forwarded over the time the tester was sending."""
        return self.forwarded / self.offered_duration if self.offered_duration > 0 else 0.0


Trial = Callable[[float, float], TrialResult]  # (rate_pps, duration_s) -> TrialResult
Progress = Callable[[TrialResult], None]
Clock = Callable[[], float]


def _fails(result: TrialResult, goal: float) -> bool:
    """Whether a trial makes its load an upper bound for ``goal`` (invalid trials do)."""
    return not result.valid or result.search_loss_ratio > goal


def _invalid_measurement(result: TrialResult, worst_goal: float) -> Any:
    """An invalid trial for MLRsearch: bad for every goal, so that its load is an upper
    bound, with the rate the tester and the DUT did manage as the forwarding-rate hint
    MLRsearch takes its next load from."""
    count = max(result.offered + result.unsent, 1)
    managed = min(result.offered_rate, result.forwarding_rate) * result.intended_duration
    bad = max(count - round(managed), math.floor(worst_goal * count) + 1)
    return MeasurementResult(
        intended_duration=result.intended_duration,
        intended_load=result.intended_load,
        offered_count=count,
        loss_count=min(bad, count),
        offered_duration=result.offered_duration,
        duration_with_overheads=result.intended_duration,
        intended_count=count,
    )


def _measurement(result: TrialResult) -> Any:
    """Translate a (valid) trial into MLRsearch's MeasurementResult.

    MLRsearch judges loss_ratio = (|loss| + |intended - offered|) / max(offered, intended):

    * tester overflow is taken out of the sample altogether (out of offered *and* intended),
      so it is neither DUT loss nor unsent;
    * unsent packets stay in, as bad: a load the tester did not really offer is not passed;
    * a tester that sent *more* than intended is not penalised (MLRsearch would count the
      surplus as bad, but it put more load on the DUT, not less);
    * duration_with_overheads is the intended duration, so ``duration_sum`` counts trials
      as asked for, not the tester's slightly shorter or longer sending time.
    """
    return MeasurementResult(
        intended_duration=result.intended_duration,
        intended_load=result.intended_load,
        offered_count=result.delivered,
        loss_count=result.loss,
        offered_duration=result.offered_duration,
        duration_with_overheads=result.intended_duration,
        intended_count=result.delivered + result.unsent,
    )


def _positive(name: str, value: float) -> None:
    if not 0.0 < value < math.inf:  # also rejects NaN
        raise ValueError(f"{name} must be positive and finite, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class SearchSpec:
    """What to search for and how precisely.  Durations in s, loads in packets/s."""

    max_load: float  # the tester's capacity (measured elsewhere)
    min_load: float = 10_000.0
    loss_threshold: float = 0.001  # PDR goal; NDR goal is 0 loss
    relative_width: float = 0.005  # (upper - lower) / upper at the end of the search
    trial_duration: float = 1.0  # final trial duration
    # Shorter trials of MLRsearch's preceding targets.  None: trial_duration / 10.
    initial_trial_duration: float | None = None
    # Seconds of final-duration trials that decide a load (MLRsearch's goal duration
    # sum).  None: one trial_duration, RFC 2544's single trial per load.
    duration_sum: float | None = None
    # MLRsearch's goal exceed ratio: the share of those seconds that may exceed the loss
    # goal with the load still a lower bound. 0: RFC 2544, every trial must meet the
    # goal; 0.5: FD.io CSIT's PDR, a load passes unless most of its time lost too much
    # (sporadic loss of the testbed in a minority of trials does not move the figure).
    exceed_ratio: float = 0.0
    preceding_targets: int = 2  # coarser MLRsearch targets before the final one
    # MLRsearch's external search multiplies its step (in log space) by this each time
    # a load it tried did not bound the interval as hoped.
    expansion_coefficient: int = 2
    search_duration_max: float = 600.0
    warmup_duration: float | None = None  # one discarded trial at max_load first
    # Times a trial the tester spoiled (TrialResult.tester_fault) is run again before its
    # load counts as beyond the tester.
    tester_retries: int = 1

    def __post_init__(self) -> None:
        if not 0.0 <= self.loss_threshold < 1.0:
            raise ValueError(f"loss threshold must be in [0, 1), got {self.loss_threshold!r}")
        if not 0.0 <= self.exceed_ratio < 1.0:
            raise ValueError(f"exceed ratio must be in [0, 1), got {self.exceed_ratio!r}")
        if not 0.0 < self.relative_width < 1.0:
            raise ValueError(f"relative width must be in (0, 1), got {self.relative_width!r}")
        _positive("min load", self.min_load)
        _positive("max load", self.max_load)
        if not self.max_load > self.min_load:
            raise ValueError(
                f"max load must be greater than min load {self.min_load:g}, got {self.max_load:g}"
            )
        _positive("trial duration", self.trial_duration)
        initial = self.effective_initial_trial_duration
        if not 0.0 < initial <= self.trial_duration:
            raise ValueError(
                f"initial trial duration must be in (0, trial_duration={self.trial_duration:g}],"
                f" got {initial!r}"
            )
        dursum = self.effective_duration_sum
        if not self.trial_duration <= dursum < math.inf:
            raise ValueError(
                f"duration sum must be at least trial_duration={self.trial_duration:g},"
                f" got {dursum!r}"
            )
        if self.preceding_targets < 0:
            raise ValueError(f"preceding targets must be >= 0, got {self.preceding_targets}")
        if self.expansion_coefficient < 2:
            raise ValueError(
                f"expansion coefficient must be >= 2, got {self.expansion_coefficient}"
            )
        if self.preceding_targets == 0 and initial < dursum:
            # MLRsearch needs a preceding target to reach a duration sum from shorter trials.
            raise ValueError(
                "preceding targets 0 needs initial trial duration == duration sum,"
                f" got {initial:g} < {dursum:g}"
            )
        _positive("search duration max", self.search_duration_max)
        if self.tester_retries < 0:
            raise ValueError(f"tester retries must be >= 0, got {self.tester_retries}")
        if self.warmup_duration is not None:
            _positive("warmup duration", self.warmup_duration)

    @property
    def effective_initial_trial_duration(self) -> float:
        if self.initial_trial_duration is None:
            return self.trial_duration / 10
        return self.initial_trial_duration

    @property
    def effective_duration_sum(self) -> float:
        return self.trial_duration if self.duration_sum is None else self.duration_sum


@dataclass(frozen=True)
class Throughput:
    """Result of the search for one loss goal."""

    goal: str  # "NDR" or "PDR"
    loss_ratio_goal: float
    # The highest *tested* load whose every trial met the goal (the relevant lower bound);
    # None when even min_load failed.
    rate_pps: float | None
    upper_bound_pps: float | None  # lowest load that failed the goal; None if none failed
    conditional_throughput_pps: float | None  # MLRsearch's figure, for reference
    status: Status
    # Worst search_loss_ratio among the trials at rate_pps: never above loss_ratio_goal
    # with exceed ratio 0; with a positive one, a minority of the time may have lost more.
    worst_loss_ratio_at_rate: float | None
    # The goal's exceed ratio (0: RFC 2544's every-trial rule).
    exceed_ratio: float = 0.0


@dataclass(frozen=True)
class SearchResult:
    ndr: Throughput
    pdr: Throughput
    trials: tuple[TrialResult, ...]  # in order; the warmup trial is not among them
    trial_seconds: float  # sum of intended durations actually run, warmup included
    search_seconds: float  # wall time (on the clock the search was given)
    warmup: TrialResult | None = None


class SearchTimeout(Exception):
    """The search ran past ``SearchSpec.search_duration_max``; what it measured is kept."""

    def __init__(
        self,
        limit: float,
        elapsed: float,
        trials: tuple[TrialResult, ...],
        warmup: TrialResult | None,
    ) -> None:
        super().__init__(
            f"throughput search ran past search_duration_max={limit:g} s"
            f" ({elapsed:.3g} s elapsed, {len(trials)} trials measured)"
        )
        self.limit = limit
        self.elapsed = elapsed
        self.trials = trials
        self.warmup = warmup


class _Run:
    """Runs trials for one search: deadline, contract check, record, progress."""

    def __init__(
        self, trial: Trial, spec: SearchSpec, progress: Progress | None, clock: Clock
    ) -> None:
        self._trial = trial
        self._spec = spec
        self._progress = progress
        self._clock = clock
        self._start = clock()
        self._warmup_pending = spec.warmup_duration is not None
        self.trials: list[TrialResult] = []
        self.warmup: TrialResult | None = None
        self.trial_seconds = 0.0

    @property
    def elapsed(self) -> float:
        return self._clock() - self._start

    def __call__(self, rate: float, duration: float) -> TrialResult:
        """One trial at (rate, duration), run again while the tester spoils it, at most
        ``tester_retries`` times; every attempt is kept, the last one is returned."""
        if self._warmup_pending:
            self._warmup_pending = False
            self.warmup = self._once(rate, duration)
            return self.warmup
        for _ in range(self._spec.tester_retries + 1):
            result = self._once(rate, duration)
            self.trials.append(result)
            if result.valid:
                break
            _log.info("invalid trial at %g pps: %s", rate, result.tester_fault)
        return result

    def _once(self, rate: float, duration: float) -> TrialResult:
        # Checked before each trial (as MLRsearch does), so a trial may end past the limit.
        if (elapsed := self.elapsed) >= self._spec.search_duration_max:
            raise SearchTimeout(
                self._spec.search_duration_max, elapsed, tuple(self.trials), self.warmup
            )
        result = _checked(self._trial(rate, duration), rate, duration)
        self.trial_seconds += duration
        if self._progress is not None:
            self._progress(result)
        return result

    def warmup_trial(self) -> None:
        """For searches that run the warmup themselves (MLRsearch does its own)."""
        if self._spec.warmup_duration is not None:
            self(self._spec.max_load, self._spec.warmup_duration)


def _checked(result: TrialResult, rate: float, duration: float) -> TrialResult:
    # The searches group trials by intended load, so the callback must echo what it was asked.
    if not isinstance(result, TrialResult):
        raise TypeError(f"trial callback must return a TrialResult, got {type(result).__name__}")
    if result.intended_load != rate or result.intended_duration != duration:
        raise ValueError(
            f"trial callback asked for {rate!r} pps for {duration!r} s returned"
            f" intended_load={result.intended_load!r} intended_duration="
            f"{result.intended_duration!r}"
        )
    return result


class _Measurer(AbstractMeasurer):  # type: ignore[misc]
    def __init__(self, run: _Run, worst_goal: float) -> None:
        self._run = run
        self._worst_goal = worst_goal

    def measure(self, intended_duration: float, intended_load: float) -> Any:
        result = self._run(intended_load, intended_duration)
        if not result.valid:
            return _invalid_measurement(result, self._worst_goal)
        return _measurement(result)


def _throughput(
    goal: str,
    loss_ratio_goal: float,
    rate: float | None,
    upper: float | None,
    conditional: float | None,
    trials: tuple[TrialResult, ...],
    exceed_ratio: float = 0.0,
) -> Throughput:
    status: Status
    if upper is not None and not any(
        t.valid and _fails(t, loss_ratio_goal) for t in trials if t.intended_load == upper
    ):
        status = "tester_bound"  # nothing the DUT did failed there: the tester gave out
    elif rate is None:
        status = "below_min_load"
    elif upper is None:
        status = "at_max_load"
    else:
        status = "found"
    # Invalid attempts at the rate (then run again, validly) say nothing about the DUT.
    worst = max((t.search_loss_ratio for t in trials if t.intended_load == rate and t.valid),
                default=None)
    # The guarantee this module exists for; a breach is a bug, never a result.  With an
    # exceed ratio, MLRsearch's own classification is the guarantee (a minority of the
    # time at the rate may have lost more), so only a valid trial there is required.
    if rate is not None and (worst is None or (exceed_ratio == 0.0
                                               and worst > loss_ratio_goal)):
        raise RuntimeError(
            f"{goal}: would report {rate} pps but its worst trial loss ratio is {worst}"
        )
    return Throughput(
        goal=goal,
        loss_ratio_goal=loss_ratio_goal,
        rate_pps=rate,
        upper_bound_pps=upper,
        conditional_throughput_pps=conditional,
        status=status,
        worst_loss_ratio_at_rate=worst,
        exceed_ratio=exceed_ratio,
    )


def _goal(spec: SearchSpec, loss_ratio: float) -> Any:
    return SearchGoal(
        loss_ratio=loss_ratio,
        # 0 (RFC 2544): a load is a lower bound only if every trial at it met the goal
        # (a bad trial of any duration makes it an upper bound); see SearchSpec.
        exceed_ratio=spec.exceed_ratio,
        relative_width=spec.relative_width,
        initial_trial_duration=spec.effective_initial_trial_duration,
        final_trial_duration=spec.trial_duration,
        duration_sum=spec.effective_duration_sum,
        preceding_targets=spec.preceding_targets,
        expansion_coefficient=spec.expansion_coefficient,
        # Failing at min_load is a result ("below_min_load"), not an exception.
        fail_fast=False,
    )


def find_throughput(
    trial: Trial,
    spec: SearchSpec,
    progress: Progress | None = None,
    *,
    clock: Clock = time.monotonic,
) -> SearchResult:
    """NDR and PDR at once with FD.io's MLRsearch.

    ``progress`` is called after every trial (the warmup one too).  ``clock`` measures
    ``search_duration_max`` and ``search_seconds``; tests pass a simulated one.
    Raises ``SearchTimeout`` (with the trials so far) past ``search_duration_max``.

    A trial the tester spoiled is run again (``spec.tester_retries``); if it stays
    spoiled, MLRsearch is told the load failed every goal, with what the tester did
    manage as its hint for the next load, and the figure it bounds is ``tester_bound``.
    """
    run = _Run(trial, spec, progress, clock)
    ndr_goal = _goal(spec, 0.0)
    pdr_goal = _goal(spec, spec.loss_threshold)
    # A zero PDR threshold makes the goals equal, and MLRsearch rejects duplicates.
    goals = [ndr_goal] if pdr_goal == ndr_goal else [ndr_goal, pdr_goal]
    config = Config(
        goals=goals,
        min_load=spec.min_load,
        max_load=spec.max_load,
        # The deadline is enforced in _Run on our clock, so that the timeout keeps the
        # trials and can be simulated; MLRsearch's own would be a bare RuntimeError.
        search_duration_max=math.inf,
        warmup_duration=spec.warmup_duration,
    )
    results = MultipleLossRatioSearch(config=config).search(
        measurer=_Measurer(run, spec.loss_threshold), debug=_log.debug
    )
    trials = tuple(run.trials)

    def throughput(name: str, goal: Any) -> Throughput:
        result = results[goal]
        lower, upper = result.relevant_lower_bound, result.relevant_upper_bound
        conditional = result.conditional_throughput
        return _throughput(
            name,
            goal.loss_ratio,
            None if lower is None else float(lower),
            None if upper is None else float(upper),
            None if conditional is None else float(conditional),
            trials,
            spec.exceed_ratio,
        )

    return SearchResult(
        ndr=throughput("NDR", ndr_goal),
        pdr=throughput("PDR", pdr_goal),
        trials=trials,
        trial_seconds=run.trial_seconds,
        search_seconds=run.elapsed,
        warmup=run.warmup,
    )


def binary_search(
    trial: Trial,
    spec: SearchSpec,
    progress: Progress | None = None,
    *,
    clock: Clock = time.monotonic,
) -> SearchResult:
    """Plain RFC 2544 binary search, NDR then PDR, for comparison with MLRsearch.

    Per goal: try max_load, then min_load, then halve [lower, upper] linearly until
    upper - lower <= relative_width * upper.  A load passes when
    ceil(duration_sum / trial_duration) trials of trial_duration all meet the goal
    (stopping at the first that does not); trials already run at a load are reused.
    Preceding targets and initial_trial_duration do not apply.  A trial the tester spoiled
    is handled as in ``find_throughput``: retried, then the load fails every goal.
    RFC 2544's rule only: an exceed ratio is MLRsearch's (``find_throughput``).
    """
    if spec.exceed_ratio:
        raise ValueError(f"binary search judges every trial; exceed ratio "
                         f"{spec.exceed_ratio:g} needs find_throughput")
    run = _Run(trial, spec, progress, clock)
    run.warmup_trial()
    needed = math.ceil(spec.effective_duration_sum / spec.trial_duration - 1e-9)
    at_load: dict[float, list[TrialResult]] = {}

    def passes(load: float, goal: float) -> bool:
        done = at_load.setdefault(load, [])
        if any(_fails(t, goal) for t in done):
            return False
        while len(done) < needed:
            done.append(result := run(load, spec.trial_duration))
            if _fails(result, goal):
                return False
        return True

    def search(name: str, goal: float) -> tuple[str, float, float | None, float | None]:
        if passes(spec.max_load, goal):
            return name, goal, spec.max_load, None
        if not passes(spec.min_load, goal):
            return name, goal, None, spec.min_load
        lower, upper = spec.min_load, spec.max_load
        while upper - lower > spec.relative_width * upper:
            middle = (lower + upper) / 2
            if passes(middle, goal):
                lower = middle
            else:
                upper = middle
        return name, goal, lower, upper

    found = [search("NDR", 0.0), search("PDR", spec.loss_threshold)]
    trials = tuple(run.trials)
    ndr, pdr = (
        _throughput(name, goal, lower, upper, _conditional(lower, at_load), trials)
        for name, goal, lower, upper in found
    )
    return SearchResult(
        ndr=ndr,
        pdr=pdr,
        trials=trials,
        trial_seconds=run.trial_seconds,
        search_seconds=run.elapsed,
        warmup=run.warmup,
    )


def _conditional(rate: float | None, at_load: dict[float, list[TrialResult]]) -> float | None:
    # MLRsearch's conditional throughput with exceed ratio 0: load * (1 - worst loss ratio).
    if rate is None:
        return None
    return rate * (1.0 - max(t.search_loss_ratio for t in at_load[rate]))


@dataclass(frozen=True)
class Confirmation:
    """Final trials at a reported rate: does the figure hold when measured again?"""

    goal: str  # "NDR" or "PDR"
    loss_ratio_goal: float
    rate_pps: float
    duration: float  # s of each trial
    trials: tuple[TrialResult, ...]  # every attempt, invalid ones included
    verified: bool  # every trial valid and within the goal
    reason: str | None  # why not verified; None when verified


def confirm(
    trial: Trial,
    search: SearchResult,
    count: int = 1,
    duration: float = 1.0,
    *,
    tester_retries: int = 1,
    progress: Progress | None = None,
) -> tuple[Confirmation | None, Confirmation | None]:
    """(NDR, PDR) confirmation: ``count`` trials of ``duration`` s at each reported rate.

    A figure without a rate (below_min_load) has no confirmation (None).  When NDR and PDR
    are the same load its trials are run once and judged against each goal.  A trial the
    tester spoiled is run again up to ``tester_retries`` times; if it stays spoiled the
    figure is not verified, and ``reason`` says it was the tester.
    """
    if count < 1:
        raise ValueError(f"confirmation count must be >= 1, got {count}")
    _positive("confirmation duration", duration)
    measured: dict[float, list[TrialResult]] = {}

    def measure(rate: float) -> list[TrialResult]:
        if rate not in measured:
            attempts = measured[rate] = []
            for _ in range(count):
                for _ in range(tester_retries + 1):
                    attempts.append(result := _checked(trial(rate, duration), rate, duration))
                    if progress is not None:
                        progress(result)
                    if result.valid:
                        break
                if not result.valid:
                    break  # the tester cannot offer this load: no use trying again
        return measured[rate]

    def judge(tp: Throughput) -> Confirmation | None:
        if tp.rate_pps is None:
            return None
        trials = measure(tp.rate_pps)
        reason = None
        if not trials[-1].valid:  # measure() stops at an attempt that stayed invalid
            reason = f"the tester could not offer {tp.rate_pps:.0f} pps: {trials[-1].tester_fault}"
        elif bad := [t for t in trials if t.valid and _fails(t, tp.loss_ratio_goal)]:
            worst = max(t.search_loss_ratio for t in bad)
            reason = (f"{len(bad)} of {count} trials at {tp.rate_pps:.0f} pps lost more than"
                      f" {tp.loss_ratio_goal:.4%} (worst {worst:.4%})")
        return Confirmation(
            goal=tp.goal,
            loss_ratio_goal=tp.loss_ratio_goal,
            rate_pps=tp.rate_pps,
            duration=duration,
            trials=tuple(trials),
            verified=reason is None,
            reason=reason,
        )

    return judge(search.ndr), judge(search.pdr)


@dataclass(frozen=True)
class ForwardingRate:
    """RFC 2285 maximum forwarding rate: offer more than the DUT can take, see what it
    forwards.  Rates in packets/s, duration in s.

    Invariants: ``counted`` is a subsequence of ``trials``, one per entry of
    ``rates_pps``; with ``tester_bound`` False every counted trial is valid for the MFR
    (``fault`` None), with it True none in ``trials`` is.
    """

    offered_load: float
    duration: float
    # one per MFR repetition with a valid trial: what the DUT forwarded / offered_duration
    # in it, the frames it sent back that the tester's own full ring refused included
    # (see dut_forwarded); when no repetition had one (tester_bound), each repetition's
    # best spoiled attempt instead
    rates_pps: tuple[float, ...]
    mean_pps: float
    stdev_pps: float  # sample standard deviation; 0.0 for a single rate
    trials: tuple[TrialResult, ...]  # every attempt in order, spoiled ones included
    counted: tuple[TrialResult, ...]  # the trials rates_pps were taken from, in order
    # The tester spoiled every attempt: rates_pps are what it managed to get through a
    # DUT that lost no more than the bare testbed - a lower bound set by the tester, not
    # the DUT's MFR.
    tester_bound: bool
    # loss ratio of the bare testbed at this load, which says nothing of the DUT
    path_loss: float = 0.0

    def __post_init__(self) -> None:
        if len(self.rates_pps) != len(self.counted) or not self.counted:
            raise ValueError(f"{len(self.rates_pps)} rates for {len(self.counted)} counted"
                             " trials (at least one of each)")
        if not all(any(c is t for t in self.trials) for c in self.counted):
            raise ValueError("counted trials must be among the trials")

    def fault(self, t: TrialResult) -> str | None:
        """``mfr_fault`` of a trial at this figure's path loss."""
        return mfr_fault(t, self.path_loss)

    @property
    def spoiled(self) -> int:
        """Attempts the tester spoiled (``fault``), each run again or left uncounted."""
        return sum(self.fault(t) is not None for t in self.trials)

    @property
    def saturated(self) -> bool:
        """Whether the DUT was overloaded in every trial the rate counts: it lost or
        refused more than the bare testbed does (``path_loss``).  If not, the tester
        rather than the DUT may have limited the forwarding rate: offer more.  Never True
        for a tester-bound figure."""
        return not self.tester_bound and all(
            _dut_saturated(t, self.path_loss) for t in self.counted)


def dut_forwarded(t: TrialResult) -> int:
    """Frames the DUT forwarded in a trial: those that came back, and those it sent
    back that the tester's own full receive ring refused (`return_overflow`: under
    overload on a tester core that also sends, thousands a trial). They are the
    tester's failure, not the DUT's: a forwarding rate without them measured the
    tester's receive path (an xdp passthrough MFR below its NDR)."""
    return t.forwarded + int(t.extra.get("return_overflow") or 0)


def _mfr_rate(t: TrialResult) -> float:
    """Packets/s the DUT forwarded in an MFR trial (see ``dut_forwarded``)."""
    return dut_forwarded(t) / t.offered_duration if t.offered_duration > 0 else 0.0


def _dut_saturated(t: TrialResult, path_loss: float = 0.0) -> bool:
    """The DUT lost, or its receive ring refused (``ring_overflow``, which on veth is
    also in ``loss``), a larger share of what it was given than ``path_loss``, the bare
    testbed's own loss at this load: it took all it could."""
    refused = int(t.extra.get("ring_overflow") or 0)
    return (max(t.loss, refused) / t.delivered if t.delivered else 0.0) > path_loss


def _tester_short(t: TrialResult) -> str | None:
    """How the tester fell short of the load it was asked for; None when it did not.

    Short is: packets it never sent (``unsent``), packets it sent that its own queue
    dropped before the DUT (``tester_overflow`` less the frames the DUT sent back that
    the tester's receive ring refused, ``return_overflow``: those reached the DUT and
    were forwarded), or a rate off the intended one (``extra["tester_limited"]``, set
    beyond measure.RATE_TOLERANCE).  Its receive side refusing frames is not short."""
    if t.unsent:
        return f"the tester sent {t.offered} of {t.offered + t.unsent} packets"
    lost_sending = t.tester_overflow - int(t.extra.get("return_overflow") or 0)
    if lost_sending > 0:
        return f"the tester's own queue dropped {lost_sending} packets before the DUT"
    if t.extra.get("tester_limited"):
        return (f"the tester offered {t.offered_rate:.0f} pps of the"
                f" {t.intended_load:.0f} asked for")
    return None


def mfr_fault(t: TrialResult, path_loss: float = 0.0) -> str | None:
    """Why an MFR trial measured the tester rather than the DUT; None when it counts.

    At overload the search's ``TrialResult.valid`` is the wrong test: the DUT is meant
    to lose frames and its ring to refuse them, and the tester's receive ring refusing
    what the DUT sends back is counted as forwarded (``dut_forwarded``).  On the veth
    testbed the tester falls short of the load in nearly every MFR trial (it offered
    2.1-4.5 of 4.77 Mpps asked, tester_limited) while the DUT loses 7-96 % of it, its
    ring refusing hundreds of thousands of frames: such trials measure the DUT.  An MFR
    trial is spoiled only when both hold:

    * the tester fell short of the load it was asked for (``_tester_short``), and
    * the DUT was not saturated: it lost (or refused) no larger share of what it was
      given than ``path_loss``, the bare testbed's own loss ratio at this load
      (Calibration.loss_floor_for: the no-op's, or the reflector's round trip, at the
      top rate the MFR is offered at).  0 (unknown): it lost nothing at all.  The floor
      is there because the bare path loses bursts (on veth 0.3-3.7 % at loads the
      no-op keeps up with): a loss that small says nothing of the DUT.

    Then the DUT forwarded all it was given, and its rate is what the tester managed,
    not what the DUT can do.  A DUT that lost more was overloaded whatever the tester
    managed, so a short tester does not spoil that trial.  A tester that offered the
    full load to a DUT that lost nothing did not spoil it either: that is the tester's
    ceiling, shown as ``ForwardingRate.saturated`` False and judged by the verdict
    against the tester's offered rate (as is a counted trial whose rate is near what a
    short tester offered).
    """
    if not 0.0 <= path_loss <= 1.0:  # also rejects NaN
        raise ValueError(f"path loss must be in [0, 1], got {path_loss!r}")
    if _dut_saturated(t, path_loss):
        return None
    short = _tester_short(t)
    if short is None:
        return None
    lost = "nothing" if not path_loss else f"no more than the bare testbed's {path_loss:.2%}"
    return f"{short}, and the DUT lost {lost}"


def max_forwarding_rate(
    trial: Trial, load: float, duration: float, repetitions: int = 1, *,
    tester_retries: int = 1, path_loss: float = 0.0,
) -> ForwardingRate:
    """Forwarding rate at ``load`` packets/s (which should exceed the DUT's capacity) for
    ``duration`` s, repeated ``repetitions`` times.

    A trial the tester spoiled (``mfr_fault`` at ``path_loss``, the bare testbed's loss
    ratio at ``load``) is run again up to ``tester_retries`` times; its rate never
    counts.  The figure is over the repetitions that got a valid trial.  When none did,
    it is each repetition's best attempt, with ``tester_bound`` set: the DUT forwarded
    at least that, the tester could not show more.
    """
    _positive("load", load)
    _positive("duration", duration)
    if repetitions < 1:
        raise ValueError(f"repetitions must be >= 1, got {repetitions}")
    if tester_retries < 0:
        raise ValueError(f"tester retries must be >= 0, got {tester_retries}")
    if not 0.0 <= path_loss <= 1.0:  # also rejects NaN
        raise ValueError(f"path loss must be in [0, 1], got {path_loss!r}")
    trials: list[TrialResult] = []
    counted: list[TrialResult] = []
    best_spoiled: list[TrialResult] = []
    for _ in range(repetitions):
        attempts: list[TrialResult] = []
        for _ in range(tester_retries + 1):
            attempts.append(result := _checked(trial(load, duration), load, duration))
            if (fault := mfr_fault(result, path_loss)) is None:
                counted.append(result)
                break
            _log.info("spoiled MFR trial at %g pps: %s", load, fault)
        else:
            best_spoiled.append(max(attempts, key=_mfr_rate))
        trials.extend(attempts)
    used = counted or best_spoiled
    rates = tuple(_mfr_rate(t) for t in used)
    return ForwardingRate(
        offered_load=load,
        duration=duration,
        rates_pps=rates,
        mean_pps=statistics.fmean(rates),
        stdev_pps=statistics.stdev(rates) if len(rates) > 1 else 0.0,
        trials=tuple(trials),
        counted=tuple(used),
        tester_bound=not counted,
        path_loss=path_loss,
    )


def trial_dict(t: TrialResult) -> dict[str, Any]:
    """A trial as the journal and the records hold it (rates in pps, duration in s)."""
    return {
        "intended_pps": t.intended_load,
        "duration": t.intended_duration,
        "offered": t.offered,
        "forwarded": t.forwarded,
        "loss_ratio": t.loss_ratio,
        "offered_pps": t.offered_rate,
        "valid": t.valid,
        "tester_fault": t.tester_fault,
        "ring_overflow": t.extra.get("ring_overflow"),
        "tester_limited": t.extra.get("tester_limited"),
        "counters_agree": t.extra.get("counters_agree"),
    }
