"""What the testbed itself can do, measured once per session before any search:
the tester's capacity, the loss of a no-op NF on the DUT at fixed shares of that
capacity (the loss floor, as a table), and the no-op's NDR/PDR; then the same
shares through a trivial reflector (XDP_TX straight back), the floor of the
round trip that passthrough tests measure.

On the veth testbed the path itself loses a little at most rates (kthread
wake-up stalls in a VM), so an NF's PDR can never exceed the no-op's: a figure
close to it measures the testbed, and the record says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, replace
from typing import Any

from .build import Builder
from .journal import Journal
from .measure import TrialMeasurer, fitted
from .rfc2544 import SearchSpec, Trial, TrialResult, find_throughput, trial_dict
from .testbed.base import Testbed
from .trafficgen.base import TrafficProfile, receives, stamps
from .trafficgen.bpfgen import Sink
from .trafficgen.factory import GeneratorFactory, builtin

# Below this share of its flat-out rate the tester holds a paced rate within 1%.
PACED_HEADROOM = 0.9
# Shares of the tester's capacity at which the bare testbed's loss is tabled.
LOSS_TABLE_SHARES = (0.1, 0.25, 0.5, 0.75, PACED_HEADROOM)
# The journal's test name for the session's calibration trials (kind "calibration").
JOURNAL_TEST = "(calibration)"


@dataclass(frozen=True)
class LossPoint:
    """One trial of the bare testbed (no-op NF) at a share of the tester's capacity."""

    share: float            # of tester_capacity_pps
    intended_pps: float
    offered_pps: float      # what the tester really sent
    loss_ratio: float       # the testbed's own loss there
    ring_overflow: int      # of which lost in the DUT's receive ring
    tester_fault: str | None  # the tester did not hold the rate: the loss says little

    @classmethod
    def of(cls, share: float, trial: TrialResult) -> LossPoint:
        return cls(share=share, intended_pps=trial.intended_load,
                   offered_pps=trial.offered_rate, loss_ratio=trial.loss_ratio,
                   ring_overflow=int(trial.extra.get("ring_overflow") or 0),
                   tester_fault=trial.tester_fault)


@dataclass(frozen=True)
class Calibration:
    tester_capacity_pps: float      # flat out, into a no-op NF
    noop_forwarding_pps: float      # what the no-op NF took of that
    max_load_pps: float             # the highest rate a search may ask for
    noop_ndr_pps: float | None      # RFC 2544 figures of the bare testbed
    noop_pdr_pps: float | None
    noop_loss_at_max_load: float    # loss ratio of the no-op NF at max_load
    trial_duration: float
    # the no-op's loss at LOSS_TABLE_SHARES of the tester's capacity, lowest first
    loss_table: tuple[LossPoint, ...] = ()
    # the same shares through a reflector on the DUT: frames there and back
    reflector_loss_table: tuple[LossPoint, ...] = ()
    # flat out, per generator thread: its CPU and rate [pps] (sum: tester_capacity_pps);
    # empty for a generator that does not say
    tester_cores: tuple[int, ...] = ()
    tester_capacity_per_core_pps: tuple[float, ...] = ()

    @property
    def loss_floor(self) -> float:
        """Loss of the bare testbed near its top rate: no NF can do better there."""
        return self.noop_loss_at_max_load

    @property
    def reflector_loss_floor(self) -> float | None:
        """The round trip's loss at the top share (None: not measured)."""
        top = [p for p in self.reflector_loss_table if p.share == PACED_HEADROOM]
        return top[0].loss_ratio if top else None

    def loss_floor_for(self, traffic_class: str) -> float:
        """The floor of the path a traffic class uses: there and back for passthrough."""
        if traffic_class == "passthrough" and self.reflector_loss_floor is not None:
            return self.reflector_loss_floor
        return self.loss_floor

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "loss_floor": self.loss_floor,
                "reflector_loss_floor": self.reflector_loss_floor}


def journaled(trial: Trial, journal: Journal | None, path: str) -> Trial:
    """`trial`, each of its results written to the journal as it ends (kind
    "calibration", `path` drop or passthrough), so a crash mid-calibration keeps them."""
    if journal is None:
        return trial

    def run(rate: float, duration: float) -> TrialResult:
        result = trial(rate, duration)
        journal.write("calibration", JOURNAL_TEST, {"phase": "calibration", "path": path,
                                                    **trial_dict(result)})
        return result
    return run


def calibrate(testbed: Testbed, builder: Builder, profile: TrafficProfile,
              spec: SearchSpec, generator: GeneratorFactory = builtin,
              journal: Journal | None = None) -> Calibration:
    """Trials from the session's generator into a counting XDP sink (the no-op NF,
    nfs/trafficgen's receiver) on the DUT, each in `journal` as it ends.

    `spec` is the search the tests will run; its max_load is replaced by what
    the tester is measured to sustain."""
    trafficgen = builder.program("trafficgen")
    # the sink finds the stamp where the profile puts it (UDP or TCP: stamp_args)
    # count_only: the no-op NF does no per-frame work beyond counting (the tester's
    # receiver tracks order and latency; the DUT side need not)
    with closing(generator(testbed, builder, profile)) as offering, \
            Sink(trafficgen, testbed.dut, profile, count_only=True,
                 stamped=stamps(offering)) as sink:
        testbed.prepare_dut_napi()
        trial = journaled(TrialMeasurer(offering, testbed, "drop", sink.handled), journal,
                          "drop")
        calibration = measure_testbed(trial, fitted(spec, offering))
        round_trip = receives(offering)
    if not round_trip:  # the generator counts nothing that comes back: no passthrough
        return calibration
    with Sink(trafficgen, testbed.dut, profile, reflect=True, count_only=True), \
            closing(generator(testbed, builder, profile)) as offering:
        testbed.prepare_dut_napi()
        trial = journaled(TrialMeasurer(offering, testbed, "passthrough"), journal,
                          "passthrough")
        return replace(calibration, reflector_loss_table=loss_table(
            trial, calibration.tester_capacity_pps, spec.trial_duration))


def loss_table(trial: Trial, capacity: float, duration: float,
               shares: Sequence[float] = LOSS_TABLE_SHARES) -> tuple[LossPoint, ...]:
    """One trial at each share of the tester's capacity, after a short warm-up."""
    trial(100_000.0, min(duration, 0.2))
    return tuple(LossPoint.of(share, trial(capacity * share, duration)) for share in shares)


def measure_testbed(trial: Trial, spec: SearchSpec,
                    shares: Sequence[float] = LOSS_TABLE_SHARES) -> Calibration:
    """The calibration trials, given a trial into a no-op NF (pure: tests simulate it).

    Flat out once (capacity), then one trial at each share of it (the loss table), the
    highest of which (PACED_HEADROOM) is where searches stop; then a search of the no-op.
    """
    duration = spec.trial_duration
    trial(100_000.0, min(duration, 0.2))  # warm caches and page pools
    flat = trial(0.0, duration)
    capacity = flat.offered_rate
    if capacity <= 0:
        raise RuntimeError(f"the tester sent nothing flat out: {flat}")
    table = [LossPoint.of(share, trial(capacity * share, duration)) for share in shares]
    max_load = capacity * PACED_HEADROOM
    top = next((p for p in table if p.share == PACED_HEADROOM), None)
    if top is None:
        top = LossPoint.of(PACED_HEADROOM, trial(max_load, duration))
    loss_at_max = top.loss_ratio
    if top.tester_fault is not None:
        # the tester cannot hold 90 % of its flat-out rate: search below what it held
        max_load = top.offered_pps * 0.98
        loss_at_max = trial(max_load, duration).loss_ratio
    noop = find_throughput(trial, _with_max_load(spec, max_load))
    streams = flat.extra.get("streams") or ()
    return Calibration(
        tester_cores=tuple(int(s["cpu"]) for s in streams),
        tester_capacity_per_core_pps=tuple(float(s["offered_rate"]) for s in streams),
        tester_capacity_pps=capacity,
        noop_forwarding_pps=flat.forwarding_rate,
        max_load_pps=max_load,
        noop_ndr_pps=noop.ndr.rate_pps,
        noop_pdr_pps=noop.pdr.rate_pps,
        noop_loss_at_max_load=loss_at_max,
        trial_duration=duration,
        loss_table=tuple(table),
    )


def _with_max_load(spec: SearchSpec, max_load: float) -> SearchSpec:
    return replace(spec, max_load=max_load, min_load=min(spec.min_load, max_load / 10))
