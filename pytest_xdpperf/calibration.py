"""What the testbed itself can do, measured once per session before any search:
the tester's capacity, and NDR/PDR with a no-op NF on the DUT (the loss floor).

On the veth testbed the path itself loses a little at most rates (kthread
wake-up stalls in a VM), so an NF's PDR can never exceed the no-op's: a figure
close to it measures the testbed, and the record says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .measure import TrialMeasurer
from .process import Program
from .rfc2544 import SearchSpec, find_throughput
from .testbed.base import Testbed
from .trafficgen.base import TrafficProfile
from .trafficgen.bpfgen import BpfGenerator

# Below this share of its flat-out rate the tester holds a paced rate within 1%.
PACED_HEADROOM = 0.9


@dataclass(frozen=True)
class Calibration:
    tester_capacity_pps: float      # flat out, into a no-op NF
    noop_forwarding_pps: float      # what the no-op NF took of that
    max_load_pps: float             # the highest rate a search may ask for
    noop_ndr_pps: float | None      # RFC 2544 figures of the bare testbed
    noop_pdr_pps: float | None
    noop_loss_at_max_load: float    # loss ratio of the no-op NF at max_load
    trial_duration: float

    @property
    def loss_floor(self) -> float:
        """Loss of the bare testbed near its top rate: no NF can do better there."""
        return self.noop_loss_at_max_load

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "loss_floor": self.loss_floor}


def calibrate(testbed: Testbed, trafficgen: Path, profile: TrafficProfile,
              spec: SearchSpec) -> Calibration:
    """Trials from the tester into a counting XDP sink (the no-op NF) on the DUT.

    `spec` is the search the tests will run; its max_load is replaced by what
    the tester is measured to sustain."""
    sink = Program("no-op sink", [
        str(trafficgen), "--netns", testbed.dut.netns, "--ifname", testbed.dut.ifname,
        "--cpu", str(testbed.dut.cpu), "--stamp-offset", str(profile.stamp_offset),
    ])
    try:
        with BpfGenerator(trafficgen, testbed.tester, testbed.dut, profile) as generator:
            testbed.prepare_dut_napi()

            def sink_count() -> dict[str, Any]:
                return {"rx": sink.command("stats")["rx_stamped"]}

            trial = TrialMeasurer(generator, testbed.tester, testbed.dut, "drop", sink_count)
            duration = spec.trial_duration
            trial(100_000.0, min(duration, 0.2))  # warm caches and page pools
            flat = trial(0.0, duration)
            capacity = flat.offered_rate
            max_load = capacity * PACED_HEADROOM
            at_max = trial(max_load, duration)
            if at_max.extra["tester_limited"]:
                max_load = at_max.offered_rate * 0.98
                at_max = trial(max_load, duration)
            noop = find_throughput(trial, _with_max_load(spec, max_load))
            return Calibration(
                tester_capacity_pps=capacity,
                noop_forwarding_pps=flat.forwarding_rate,
                max_load_pps=max_load,
                noop_ndr_pps=noop.ndr.rate_pps,
                noop_pdr_pps=noop.pdr.rate_pps,
                noop_loss_at_max_load=at_max.loss_ratio,
                trial_duration=duration,
            )
    finally:
        sink.stop()


def _with_max_load(spec: SearchSpec, max_load: float) -> SearchSpec:
    from dataclasses import replace

    return replace(spec, max_load=max_load, min_load=min(spec.min_load, max_load / 10))
