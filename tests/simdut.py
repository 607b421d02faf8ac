"""Simulated tester + DUT pairs for the throughput searches: no packets, no time.

Each simulator is a ``Trial`` callback.  A trial takes no real time; it advances a
``FakeClock`` by its intended duration, so ``search_duration_max`` can be exercised.
The simulated tester aims at round(rate * duration) packets (the TrialResult default),
and the DUTs count capacity in the same rounding, so every load <= capacity passes.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from pytest_xdpperf.rfc2544 import TrialResult


@dataclass
class FakeClock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class SimDut:
    """Perfect tester, DUT that forwards everything.  Subclasses override ``forward``."""

    clock: FakeClock = field(default_factory=FakeClock)
    seen: list[TrialResult] = field(default_factory=list)
    sending_time: float = 1.0  # offered_duration / intended_duration

    def __call__(self, rate: float, duration: float) -> TrialResult:
        self.clock.now += duration
        target = round(rate * duration)
        offered, overflow = self.send(rate, duration, target)
        result = TrialResult(
            intended_load=rate,
            intended_duration=duration,
            offered=offered,
            # the DUT sees the packets over the time the tester really took
            forwarded=self.forward(offered - overflow, duration * self.stretch(rate)),
            offered_duration=duration * self.sending_time * self.stretch(rate),
            tester_overflow=overflow,
            extra={"tester_limited": self.stretch(rate) > 1.01},
        )
        self.seen.append(result)
        return result

    def send(self, rate: float, duration: float, target: int) -> tuple[int, int]:
        """(packets offered, of which lost in the tester's own queue)."""
        return target, 0

    def forward(self, delivered: int, duration: float) -> int:
        return delivered

    def stretch(self, rate: float) -> float:
        """How much longer than asked the tester took to send its packets."""
        return 1.0


@dataclass
class Deterministic(SimDut):
    """Forwards min(offered, C * d)."""

    capacity: float = 1e6

    def forward(self, delivered: int, duration: float) -> int:
        return min(delivered, round(self.capacity * duration))


@dataclass
class Livelocking(Deterministic):
    """Deterministic up to its capacity; offered more, it collapses to ``collapse`` * C
    (a user-space NF starved by the driver on its core)."""

    collapse: float = 0.1

    def forward(self, delivered: int, duration: float) -> int:
        if delivered > self.capacity * duration * 1.05:
            return round(self.capacity * duration * self.collapse)
        return super().forward(delivered, duration)


@dataclass
class LossSpikes(Deterministic):
    """Deterministic, but a trial loses ``spike`` of its packets with probability ``p``."""

    p: float = 0.2
    spike: float = 0.002
    seed: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def forward(self, delivered: int, duration: float) -> int:
        forwarded = super().forward(delivered, duration)
        if self.rng.random() < self.p:
            forwarded -= math.ceil(self.spike * delivered)
        return max(0, forwarded)


@dataclass
class Wobbly(SimDut):
    """Capacity drawn per trial uniformly from C * (1 +- wobble)."""

    capacity: float = 1e6
    wobble: float = 0.02
    seed: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def forward(self, delivered: int, duration: float) -> int:
        capacity = self.capacity * (1 + self.rng.uniform(-self.wobble, self.wobble))
        return min(delivered, round(capacity * duration))


@dataclass
class LossFloor(Deterministic):
    """Loses ``floor`` of what it forwards at every rate, on top of capacity C."""

    floor: float = 0.005

    def forward(self, delivered: int, duration: float) -> int:
        return math.floor(super().forward(delivered, duration) * (1 - self.floor))

    def pdr(self, loss_threshold: float) -> float:
        """Highest load with loss ratio <= threshold: (1 - floor) * C / L = 1 - threshold."""
        return (1 - self.floor) * self.capacity / (1 - loss_threshold)


@dataclass
class ColdStart(SimDut):
    """Forwards everything, except that its very first trial loses 10 %."""

    def forward(self, delivered: int, duration: float) -> int:
        return delivered * 9 // 10 if len(self.seen) == 0 else delivered


@dataclass
class OverflowingTester(Deterministic):
    """Every other trial the tester's own queue drops ``overflow`` of what it sent."""

    overflow: float = 0.003

    def send(self, rate: float, duration: float, target: int) -> tuple[int, int]:
        lost = math.ceil(target * self.overflow) if len(self.seen) % 2 else 0
        return target, lost


@dataclass
class SlowTester(SimDut):
    """A tester that cannot send faster than ``limit`` pps, in front of a perfect DUT."""

    limit: float = 5e5

    def send(self, rate: float, duration: float, target: int) -> tuple[int, int]:
        return min(target, round(self.limit * duration)), 0


@dataclass
class LaggingTester(Deterministic):
    """A tester that sends every packet but no faster than ``limit`` pps (taking longer,
    as the built-in generator does when it falls behind), flagging it tester_limited."""

    limit: float = 5e5

    def stretch(self, rate: float) -> float:
        return max(1.0, rate / self.limit)


@dataclass
class SpoiledTrials(Deterministic):
    """Deterministic DUT; the tester's queue overflows in the trials numbered in ``spoil``
    (0 = the first trial this simulator runs)."""

    spoil: frozenset[int] = frozenset()

    def send(self, rate: float, duration: float, target: int) -> tuple[int, int]:
        return target, (max(1, target // 100) if len(self.seen) in self.spoil else 0)


@dataclass
class Degrading(Deterministic):
    """Deterministic, but its capacity drops to ``factor`` * C from trial ``after`` on
    (a DUT that got slower between the search and the confirmation)."""

    after: int = 1000
    factor: float = 0.9

    def forward(self, delivered: int, duration: float) -> int:
        capacity = self.capacity * (self.factor if len(self.seen) >= self.after else 1.0)
        return min(delivered, round(capacity * duration))


@dataclass
class SimTestbed(LossFloor):
    """The calibration's view: a tester that sends ``tester`` pps flat out (rate 0) and
    no more than ``paced_limit`` pps paced (None: as fast as asked), into a no-op NF that
    loses ``floor`` of what it takes and takes at most C."""

    tester: float = 2e6
    paced_limit: float | None = None
    floor: float = 0.0

    def __call__(self, rate: float, duration: float) -> TrialResult:
        if rate > 0:
            return super().__call__(rate, duration)
        self.clock.now += duration
        sent = round(self.tester * duration)
        result = TrialResult(
            intended_load=0.0,
            intended_duration=duration,
            offered=sent,
            forwarded=self.forward(sent, duration),
            offered_duration=duration,
            intended_count=sent,
        )
        self.seen.append(result)
        return result

    def stretch(self, rate: float) -> float:
        return 1.0 if self.paced_limit is None else max(1.0, rate / self.paced_limit)


@dataclass
class BlackHole(SimDut):
    """A DUT that forwards nothing at all."""

    def forward(self, delivered: int, duration: float) -> int:
        return 0


@dataclass
class Sporadic(Deterministic):
    """Capacity C, plus loss events arriving at random in time (a Poisson process), more
    often the closer the load is to C: ``events`` per second at C, falling with the
    ``steepness``-th power of load / C.  Each event loses ``burst`` packets.  Longer
    trials see more events, as the veth testbed's kthread stalls do."""

    events: float = 5.0
    steepness: float = 4.0
    burst: int = 64
    seed: int = 0
    _rate: float = field(default=0.0, init=False, repr=False)  # of the trial under way

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def __call__(self, rate: float, duration: float) -> TrialResult:
        self._rate = rate
        return super().__call__(rate, duration)

    def forward(self, delivered: int, duration: float) -> int:
        forwarded = super().forward(delivered, duration)
        mean = self.events * min(1.0, self._rate / self.capacity) ** self.steepness * duration
        # Poisson draw by counting exponential gaps
        count, t = 0, self.rng.expovariate(1.0)
        while t < mean:
            count += 1
            t += self.rng.expovariate(1.0)
        return max(0, forwarded - count * self.burst)


class ShortSending(Deterministic):
    """A DUT of capacity ``capacity`` behind a tester that sends, in its n-th trial,
    ``shares[n]`` of the packets asked for (the last share from then on): short when
    below 1 (with a DUT that keeps up, an MFR trial the tester spoiled)."""

    def __init__(self, *shares: float, capacity: float = 1e6) -> None:
        super().__init__(capacity=capacity)
        self.shares = shares

    def send(self, rate: float, duration: float, target: int) -> tuple[int, int]:
        share = self.shares[min(len(self.seen), len(self.shares) - 1)]
        return round(target * share), 0
