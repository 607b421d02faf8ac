"""The latency test (RFC 2544 section 26.2, extended): frames through a
passthrough NF and back, their one-way-and-back time from the stamp the
generator wrote to the tester's receiver, at given fractions of the measured
throughput and at fixed low rates down to one packet per second.

`XdpPerf.latency()` checks its arguments (`check_latency`) and calls
`measure_latency` with an NfSession; the arithmetic (percentiles) is in
latency.py and the per-trial loss accounting in measure.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .benchrecord import store
from .calibration import Calibration
from .errors import XdpperfError
from .latency import LatencyHistogram
from .measure import TrialMeasurer, fitted
from .modes import Mode
from .nf import NfSpec
from .results import TESTER_BOUND_MARGIN
from .rfc2544 import find_throughput
from .schema import LATENCY, VERSIONS, identity
from .session import Context, NfSession
from .testbed.base import Sampler
from .trafficgen.base import TrafficProfile

DEFAULT_RATES = (1.0, 100.0, 10_000.0)
DEFAULT_FRACTIONS = (0.1, 0.5, 0.9)
MIN_SAMPLES = 10  # a low-rate point lasts long enough for this many frames
MAX_POINT_SECONDS = 60.0
# 1: first records; since then, compatibly: points carry cpu, llc, tester_bound and
# stamp_lag_max_us, the record tester_bound, loss_floor and calibration.
# 2: xdpperf_kind "latency" and xdpperf_schema (schema.py), the shared identity block;
# the schema is pytest_xdpperf/schemas/latency.json.
RECORD_VERSION = VERSIONS[LATENCY]


@dataclass(frozen=True)
class LatencyPoint:
    """Latency at one load: what was offered, what came back, and the histogram."""

    rate_pps: float
    fraction: float | None   # of the throughput, or None for a fixed rate
    duration: float
    sent: int
    received: int
    duplicates: int
    reordered: int
    tester_overflow: int
    offered_rate: float
    late: int
    histogram: LatencyHistogram
    # the DUT cores' CPU split (and LLC counters) around this point's trial
    metrics: dict[str, Any] = field(default_factory=dict)
    tester_bound: bool = False  # offered within 10% of the tester's capacity
    # the longest a frame of this trial left after the time it carries [ns]: 0 where
    # the generator kept its schedule (a clock reading per frame), see trafficgen.h;
    # None for a generator that does not say
    stamp_lag_max_ns: int | None = None

    @property
    def lost(self) -> int:
        return max(0, self.sent - self.tester_overflow - (self.received - self.duplicates))

    def as_dict(self) -> dict[str, Any]:
        return {
            "rate_pps": self.rate_pps, "fraction": self.fraction, "duration": self.duration,
            "sent": self.sent, "received": self.received, "lost": self.lost,
            "duplicates": self.duplicates, "reordered": self.reordered,
            "tester_overflow": self.tester_overflow, "offered_pps": self.offered_rate,
            "late": self.late, "tester_bound": self.tester_bound,
            "stamp_lag_max_us": (None if self.stamp_lag_max_ns is None
                                 else self.stamp_lag_max_ns / 1e3),
            # only the percentiles this point's count supports (p99.9 of 10 frames is
            # their maximum, not a p99.9)
            **self.histogram.summary(supported_only=True),
            "histogram": self.histogram.as_dict(),
            "cpu": self.metrics.get("cpu"), "llc": self.metrics.get("llc"),
        }


@dataclass
class LatencyMeasurement:
    nf: NfSpec
    mode: Mode
    profile: TrafficProfile
    throughput_pps: float | None     # what the fractions are of
    throughput_source: str           # "given", "ndr", or "none"
    points: list[LatencyPoint]
    notes: list[str] = field(default_factory=list)
    calibration: dict[str, Any] | None = None  # the session's (tester capacity, loss floor)

    def point(self, *, rate: float | None = None, fraction: float | None = None
              ) -> LatencyPoint:
        for p in self.points:
            if (fraction is not None and p.fraction == fraction) or \
                    (rate is not None and p.fraction is None and p.rate_pps == rate):
                return p
        raise KeyError(f"no latency point at rate={rate} fraction={fraction}")

    def extra_info(self) -> dict[str, Any]:
        return {
            **identity(LATENCY, self.nf, self.mode, "passthrough", self.profile),
            "throughput_pps": self.throughput_pps, "throughput_source": self.throughput_source,
            "latency": [p.as_dict() for p in self.points],
            "tester_bound": any(p.tester_bound for p in self.points),
            "loss_floor": (self.calibration or {}).get("loss_floor"),
            "calibration": self.calibration,
            "notes": self.notes,
        }


def record_latency(benchmark: Any, measurement: LatencyMeasurement) -> None:
    """Store a latency measurement in the pytest-benchmark fixture as one record.

    extra_info holds every point with its percentiles and histogram; the stats
    pytest-benchmark compares are the points' median latencies in seconds (the
    one adapter, benchrecord.store, as results.record)."""
    medians = [p.histogram.percentile(50) for p in measurement.points]
    store(benchmark, measurement.extra_info(), (m / 1e9 for m in medians if m is not None))


def point_duration(rate: float, duration: float, min_samples: int = MIN_SAMPLES) -> float:
    """Long enough for `min_samples` frames at low rates, at most MAX_POINT_SECONDS."""
    return min(MAX_POINT_SECONDS, max(duration, math.ceil(min_samples) / rate))


def measure_points(measurer: TrialMeasurer, loads: Sequence[tuple[float, float | None]],
                   duration: float, tester_capacity_pps: float | None = None,
                   samplers: Callable[[], Sampler] | None = None) -> list[LatencyPoint]:
    """One trial per (rate, fraction) load; each trial's latency histogram, and the DUT's
    CPU split around it when `samplers` is given."""
    points = []
    for rate, fraction in loads:
        seconds = point_duration(rate, duration)
        metrics: dict[str, Any] = {}
        if samplers is None:
            trial = measurer(rate, seconds)
        else:
            with samplers() as sampled:
                trial = measurer(rate, seconds)
            metrics = sampled.result(trial.forwarded, basis="received")
        offered = measurer.last
        assert offered is not None
        points.append(LatencyPoint(
            rate_pps=rate, fraction=fraction, duration=seconds, sent=offered.sent,
            received=offered.received, duplicates=offered.duplicates,
            reordered=offered.reordered, tester_overflow=trial.tester_overflow,
            offered_rate=offered.offered_rate, late=offered.late,
            histogram=offered.latency or LatencyHistogram(), metrics=metrics,
            stamp_lag_max_ns=offered.raw.get("stamp_lag_max_ns"),
            tester_bound=tester_capacity_pps is not None
            and rate >= (1 - TESTER_BOUND_MARGIN) * tester_capacity_pps))
    return points


def check_latency(calibration: Calibration, rates: Sequence[float],
                  fractions: Sequence[float], throughput_pps: float | None) -> None:
    """The latency call's own arguments, refused in one line before anything starts."""
    for r in rates:
        if not 0 < r <= calibration.max_load_pps:
            raise XdpperfError(f"latency rate {r:g} pps is out of range",
                               f"use 1 to {calibration.max_load_pps:.0f} pps")
    for f in fractions:
        if not 0 < f <= 1:
            raise XdpperfError(f"throughput fraction {f:g} is out of range", "use (0, 1]")
    if throughput_pps is not None and throughput_pps <= 0:
        raise XdpperfError(f"throughput {throughput_pps:g} pps is not positive",
                           "give the NF's throughput in packets/s, or None to measure it")


def measure_latency(session: NfSession, ctx: Context, rates: Sequence[float],
                    fractions: Sequence[float], duration: float,
                    throughput_pps: float | None) -> LatencyMeasurement:
    """Latency through the (entered, passthrough) session's NF at `fractions` of its
    throughput (its NDR, searched unless `throughput_pps` is given) and at fixed
    `rates`, `duration` s a point, recorded and journaled."""
    if session.running is None or session.generator is None:
        raise RuntimeError("measure_latency() needs the session entered with a generator")
    calibration, opts, spec, mode = ctx.calibration, ctx.options, session.spec, session.mode
    notes: list[str] = []
    source = "given" if throughput_pps is not None else "none"
    measurer = session.measurer()
    assert isinstance(measurer, TrialMeasurer)  # a passthrough session's
    try:
        measurer(min(opts.min_load * 10, calibration.max_load_pps), 0.2)
        if fractions and throughput_pps is None:
            search = find_throughput(measurer, fitted(opts.search_spec(
                calibration.max_load_pps), session.generator))
            throughput_pps = search.ndr.rate_pps
            source = "ndr" if throughput_pps else "none"
            if not throughput_pps:
                notes.append("no NDR found (the NF loses frames even at the minimum "
                             "load): no points at fractions of the throughput")
        loads: list[tuple[float, float | None]] = []
        if throughput_pps:
            loads += [(f * throughput_pps, f) for f in fractions]
        loads += [(r, None) for r in rates]
        measurer.history.clear()
        points = measure_points(measurer, loads, duration, calibration.tester_capacity_pps,
                                session.final_trials)
    except BaseException as exc:
        ctx.journal.write("unfinished", ctx.test_id, {
            "nf": spec.label(), "mode": mode.name, "latency": True, "error": repr(exc)})
        raise
    for p in points:
        if p.tester_overflow:
            notes.append(f"at {p.rate_pps:.0f} pps the tester itself overflowed "
                         f"({p.tester_overflow} frames): that point measures the tester")
        if p.tester_bound:
            notes.append(f"{p.rate_pps:.0f} pps is within {TESTER_BOUND_MARGIN:.0%} of the "
                         "tester's capacity: that point may measure the tester")
    measurement = LatencyMeasurement(spec, mode, session.setup.profile, throughput_pps, source,
                                     points, notes, calibration.as_dict())
    record_latency(ctx.benchmark, measurement)
    ctx.journal.write("latency", ctx.test_id, measurement.extra_info())
    return measurement
