"""What the testbed itself can do, measured once per session before any search:
the tester's capacity and the loss floor with a no-op NF on the DUT."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .measure import TrialMeasurer
from .process import Program
from .testbed.base import Testbed
from .trafficgen.base import TrafficProfile
from .trafficgen.bpfgen import BpfGenerator

# Paced rates at which the loss floor is measured, as fractions of the tester's capacity.
FLOOR_FRACTIONS = (0.02, 0.1, 0.3)
# Below this share of its flat-out rate the tester holds a paced rate within 1%.
PACED_HEADROOM = 0.9


@dataclass(frozen=True)
class Calibration:
    tester_capacity_pps: float      # flat out, into a no-op NF
    noop_forwarding_pps: float      # what the no-op NF took of it
    max_load_pps: float             # the highest rate the search may ask for
    floor_rates_pps: tuple[float, ...]
    floor_loss_ratios: tuple[float, ...]
    trial_duration: float

    @property
    def loss_floor(self) -> float:
        """The least loss the testbed showed at any paced rate: no DUT can do better here."""
        return min(self.floor_loss_ratios)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "loss_floor": self.loss_floor}


def calibrate(testbed: Testbed, trafficgen: Path, profile: TrafficProfile,
              duration: float) -> Calibration:
    """Flat-out and paced trials from the tester into a counting XDP sink on the DUT."""
    sink = Program("no-op sink", [
        str(trafficgen), "--netns", testbed.dut.netns, "--ifname", testbed.dut.ifname,
        "--cpu", str(testbed.dut.cpu), "--stamp-offset", str(profile.stamp_offset),
    ])
    try:
        generator = BpfGenerator(trafficgen, testbed.tester, testbed.dut, profile)
        try:
            testbed.prepare_dut_napi()

            def sink_count() -> dict[str, Any]:
                stats = sink.command("stats")
                return {"rx": stats["rx_stamped"]}

            trial = TrialMeasurer(generator, testbed.tester, testbed.dut, "drop", sink_count)
            trial(100_000.0, min(duration, 0.2))  # warm caches and page pools
            flat = trial(0.0, duration)
            capacity = flat.offered_rate
            max_load = capacity * PACED_HEADROOM
            check = trial(max_load, duration)
            if check.extra["tester_limited"]:
                max_load = check.offered_rate * 0.98
            rates = tuple(round(capacity * f, -3) for f in FLOOR_FRACTIONS)
            losses = tuple(trial(rate, duration).loss_ratio for rate in rates)
            return Calibration(
                tester_capacity_pps=capacity,
                noop_forwarding_pps=flat.forwarding_rate,
                max_load_pps=max_load,
                floor_rates_pps=rates,
                floor_loss_ratios=losses,
                trial_duration=duration,
            )
        finally:
            generator.close()
    finally:
        sink.stop()
