"""A measurement, and how it becomes one pytest-benchmark record.

The stats pytest-benchmark compares are seconds per packet at the headline
rate (so `ops` reads as packets per second and --benchmark-compare-fail
works unchanged); everything else goes into extra_info.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .calibration import Calibration
from .modes import Mode
from .nf import NfSpec
from .rfc2544 import ForwardingRate, SearchResult, Throughput, TrialResult
from .trafficgen.base import TrafficProfile

# Within this share of the tester's capacity a figure measures the tester too.
TESTER_BOUND_MARGIN = 0.10
RECORD_VERSION = 1


@dataclass
class Measurement:
    nf: NfSpec
    mode: Mode
    traffic_class: str
    profile: TrafficProfile
    loss_threshold: float
    search: SearchResult
    max_forwarding: ForwardingRate | None
    calibration: Calibration
    notes: list[str] = field(default_factory=list)
    # share of XDP runs done in the NF's own task (busy poll from its syscalls)
    driver_by_syscall_share: float | None = None
    # "cpu" and "llc" sections from metrics.DutSamplers around the final trials
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def ndr(self) -> Throughput:
        return self.search.ndr

    @property
    def pdr(self) -> Throughput:
        return self.search.pdr

    @property
    def headline(self) -> tuple[str, float | None]:
        """The figure a record compares: PDR when found, else the max forwarding rate."""
        if self.pdr.rate_pps:
            return "pdr", self.pdr.rate_pps
        if self.max_forwarding and self.max_forwarding.mean_pps > 0:
            return "max_forwarding_rate", self.max_forwarding.mean_pps
        return "none", None

    @property
    def tester_bound(self) -> bool:
        limit = self.calibration.tester_capacity_pps * (1 - TESTER_BOUND_MARGIN)
        figures = [self.pdr.rate_pps, self.ndr.rate_pps]
        if self.max_forwarding:
            figures.append(self.max_forwarding.mean_pps)
        return (self.pdr.status == "at_max_load"
                or any(f is not None and f >= limit for f in figures)
                or any(t.extra.get("tester_limited") for t in self._trials_at(self.pdr.rate_pps)))

    @property
    def testbed_bound(self) -> bool:
        """The PDR is as high as the bare testbed's own: the path, not the NF, limits it."""
        noop = self.calibration.noop_pdr_pps
        pdr = self.pdr.rate_pps
        return bool(noop and pdr and pdr >= noop * (1 - TESTER_BOUND_MARGIN))

    def _trials_at(self, rate: float | None) -> list[TrialResult]:
        return [t for t in self.search.trials if rate is not None and t.intended_load == rate]

    def extra_info(self) -> dict[str, Any]:
        bits = (self.profile.frame_size + 20) * 8  # with preamble and inter-frame gap
        metric, value = self.headline

        def throughput(t: Throughput) -> dict[str, Any]:
            d = asdict(t)
            d["mpps"] = t.rate_pps / 1e6 if t.rate_pps else None
            d["gbps"] = t.rate_pps * bits / 1e9 if t.rate_pps else None
            return d

        mfr = None
        if self.max_forwarding:
            mfr = {
                "offered_pps": self.max_forwarding.offered_load,
                "mean_pps": self.max_forwarding.mean_pps,
                "stdev_pps": self.max_forwarding.stdev_pps,
                "rates_pps": list(self.max_forwarding.rates_pps),
                "mpps": self.max_forwarding.mean_pps / 1e6,
                "gbps": self.max_forwarding.mean_pps * bits / 1e9,
            }
        return {
            "xdpperf_record": RECORD_VERSION,
            "nf": self.nf.name,
            "nf_params": dict(self.nf.params),
            "attach": self.nf.attach,
            "bind": self.nf.bind,
            "mode": self.mode.name,
            "processing": self.mode.processing,
            "traffic_class": self.traffic_class,
            "traffic": self.profile.describe(),
            "loss_threshold": self.loss_threshold,
            "metric": metric,
            "metric_pps": value,
            "ndr": throughput(self.ndr),
            "pdr": throughput(self.pdr),
            "max_forwarding_rate": mfr,
            "loss_floor": self.calibration.loss_floor,
            "calibration": self.calibration.as_dict(),
            "tester_bound": self.tester_bound,
            "testbed_bound": self.testbed_bound,
            "driver_by_syscall_share": self.driver_by_syscall_share,
            "search": {
                "trials": len(self.search.trials),
                "trial_seconds": self.search.trial_seconds,
                "search_seconds": self.search.search_seconds,
            },
            "trials": [trial_dict(t) for t in self.search.trials],
            "notes": self.notes,
            "cpu": self.metrics.get("cpu"),
            "llc": self.metrics.get("llc"),
        }


def trial_dict(t: TrialResult) -> dict[str, Any]:
    return {
        "intended_pps": t.intended_load,
        "duration": t.intended_duration,
        "offered": t.offered,
        "forwarded": t.forwarded,
        "loss_ratio": t.loss_ratio,
        "offered_pps": t.offered_rate,
        "ring_overflow": t.extra.get("ring_overflow"),
        "tester_limited": t.extra.get("tester_limited"),
        "counters_agree": t.extra.get("counters_agree"),
    }


def record(benchmark: Any, measurement: Measurement) -> None:
    """Store a measurement in the pytest-benchmark fixture as one record.

    pytest-benchmark has no public call for externally measured values, so this
    uses its own stats object (BenchmarkFixture._make_stats), as a timing run would."""
    benchmark.extra_info.update(measurement.extra_info())
    metric, value = measurement.headline
    if value is None:
        return  # no rate at all: extra_info says why; nothing to compare
    benchmark._mode = "xdpperf"  # the fixture is used once, like benchmark(...) would
    stats = benchmark._make_stats(1)
    stats.update(1.0 / value)
