"""A measurement, and how it becomes one pytest-benchmark record.

The stats pytest-benchmark compares are seconds per packet at the headline
rate, one round per repetition (so `ops` reads as packets per second and
--benchmark-compare-fail works unchanged); everything else goes into extra_info.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from .benchrecord import store
from .calibration import Calibration
from .latency import LatencyHistogram
from .modes import Mode
from .nf import NfSpec
from .rfc2544 import (
    Confirmation,
    ForwardingRate,
    SearchResult,
    Throughput,
    trial_dict,
)
from .schema import THROUGHPUT, VERSIONS, identity
from .stats import summary
from .thresholds import LIVELOCK_SHARE
from .trafficgen.base import TrafficProfile

# Within this share of the tester's capacity a figure measures the tester too.
TESTER_BOUND_MARGIN = 0.10
# 1: first records.  2: `repetitions` and `metric_samples_pps`; ndr/pdr carry `verified`
# and `confirmation`; status may be "tester_bound"; trials carry `valid`/`tester_fault`;
# metric_pps is the mean over repetitions; ndr/pdr/max_forwarding_rate/trials/search are
# those of the representative repetition (`representative_repetition`, the median one).
# Since then, compatibly: ndr/pdr carry `latency` (passthrough: of their confirmation);
# max_forwarding_rate carries `trials` (every attempt, `valid` as the MFR judges it),
# `saturated`, `tester_bound` and `spoiled_trials`; repetitions carry `mfr_tester_bound`.
# Since then, compatibly: `method` (the search preset) and `judged_figure`.
# 3: xdpperf_kind "throughput" and xdpperf_schema (schema.py), the shared identity block;
# the schema is pytest_xdpperf/schemas/throughput.json.
RECORD_VERSION = VERSIONS[THROUGHPUT]
# The headline a judged figure puts in pytest-benchmark's stats: mfr_vs_noop is the MFR
# over the session's no-op rate, so the stats hold the MFR [packets/s] it is made from.
HEADLINE_OF = {"mfr_vs_noop": "max_forwarding_rate"}


@dataclass
class Repetition:
    """One full search of the DUT: NDR/PDR, their confirmation, the max forwarding rate."""

    search: SearchResult
    max_forwarding: ForwardingRate | None
    ndr_confirmation: Confirmation | None = None
    pdr_confirmation: Confirmation | None = None
    # "cpu" and "llc" sections from metrics.DutSamplers around this repetition's final
    # trials (its confirmation; the MFR trials when nothing was confirmed)
    metrics: dict[str, Any] = field(default_factory=dict)
    metrics_sampled: str | None = None  # "confirmation" or "max_forwarding_rate"

    @property
    def ndr(self) -> Throughput:
        return self.search.ndr

    @property
    def pdr(self) -> Throughput:
        return self.search.pdr

    @property
    def mfr_pps(self) -> float | None:
        return self.max_forwarding.mean_pps if self.max_forwarding else None

    def confirmations(self) -> list[Confirmation]:
        return [c for c in (self.ndr_confirmation, self.pdr_confirmation) if c is not None]


@dataclass
class Measurement:
    nf: NfSpec
    mode: Mode
    traffic_class: str
    profile: TrafficProfile
    loss_threshold: float
    repetitions: list[Repetition]
    calibration: Calibration
    notes: list[str] = field(default_factory=list)
    # share of XDP runs done in the NF's own task (busy poll from its syscalls)
    driver_by_syscall_share: float | None = None
    # the NF's own counters over the whole measurement (warm-up excluded): verdicts
    # "rx", "drop", "tx", "pass", "redirect", "aborted", summed over XDP and user space
    nf_counters: dict[str, int] | None = None
    # the search preset's record section (methods.Method.as_dict); None: not stated
    method: dict[str, Any] | None = None
    # (figure, why): the figure this measurement is judged by, chosen per test
    # (verdict.judged_figure); the headline follows it. None: PDR, else MFR.
    judged: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        if not self.repetitions:
            raise ValueError("a measurement needs at least one repetition")

    # --- the headline figure, over repetitions -------------------------------------------

    @property
    def metric_samples(self) -> tuple[str, list[float]]:
        """The figure records compare (the headline), once per repetition [packets/s]:
        the judged figure where it is set and every repetition measured it (for
        mfr_vs_noop, the MFR it is made from); else the PDR when every repetition found
        one, else the max forwarding rate when every repetition has one."""
        if self.judged is not None:
            figure = HEADLINE_OF.get(self.judged[0], self.judged[0])
            got = [self._rate(r, figure) for r in self.repetitions]
            if all(g is not None and g > 0 for g in got):
                return figure, [g for g in got if g]
        pdrs = [r.pdr.rate_pps for r in self.repetitions]
        if all(pdrs):
            return "pdr", [p for p in pdrs if p]
        mfrs = [r.mfr_pps for r in self.repetitions]
        if all(m is not None and m > 0 for m in mfrs):
            return "max_forwarding_rate", [m for m in mfrs if m]
        return "none", []

    @staticmethod
    def _rate(rep: Repetition, figure: str) -> float | None:
        if figure == "max_forwarding_rate":
            return rep.mfr_pps
        return rep.pdr.rate_pps if figure == "pdr" else rep.ndr.rate_pps

    @property
    def headline(self) -> tuple[str, float | None]:
        """The compared figure: its mean over repetitions."""
        metric, samples = self.metric_samples
        return metric, statistics.fmean(samples) if samples else None

    @property
    def representative_index(self) -> int:
        """The repetition whose headline sample is the (lower) median; 0 without one."""
        _, samples = self.metric_samples
        if len(samples) != len(self.repetitions):
            return 0
        order = sorted(range(len(samples)), key=lambda i: samples[i])
        return order[(len(order) - 1) // 2]

    @property
    def forwarded_anything(self) -> bool:
        """Some repetition found a rate the DUT handled, or forwarded under overload:
        what a suite asserts before looking at the figures (a dead NF fails it)."""
        return any(r.pdr.rate_pps or r.ndr.rate_pps or (r.mfr_pps or 0) > 0
                   for r in self.repetitions)

    @property
    def representative(self) -> Repetition:
        return self.repetitions[self.representative_index]

    @property
    def search(self) -> SearchResult:
        return self.representative.search

    @property
    def max_forwarding(self) -> ForwardingRate | None:
        return self.representative.max_forwarding

    @property
    def ndr(self) -> Throughput:
        return self.search.ndr

    @property
    def pdr(self) -> Throughput:
        return self.search.pdr

    @property
    def metrics(self) -> dict[str, Any]:
        """CPU and LLC sections of the representative repetition's final trials."""
        return self.representative.metrics

    # --- flags ---------------------------------------------------------------------------

    @property
    def tester_bound(self) -> bool:
        """Some figure measured the tester: within 10% of its capacity, never a loss up to
        the highest load, capped by the tester giving out, or an MFR whose every trial
        the tester spoiled (in any repetition)."""
        limit = self.calibration.tester_capacity_pps * (1 - TESTER_BOUND_MARGIN)
        for rep in self.repetitions:
            figures = [rep.pdr.rate_pps, rep.ndr.rate_pps, rep.mfr_pps]
            # (a tester-limited trial never establishes a rate: it is invalid, run again)
            if (rep.pdr.status in ("at_max_load", "tester_bound")
                    or rep.ndr.status == "tester_bound"
                    or (rep.max_forwarding is not None and rep.max_forwarding.tester_bound)
                    or any(f is not None and f >= limit for f in figures)):
                return True
        return False

    @property
    def testbed_bound(self) -> bool:
        """The PDR is as high as the bare testbed's own: the path, not the NF, limits it.

        drop and local: against the no-op sink's PDR. passthrough: against the round
        trip through the reflector - within 10% of the lowest share of the tester's
        capacity at which the bare round trip already lost more than the loss goal
        (points the tester spoiled say nothing and are skipped; with none left, the
        one-way sink's PDR stands in: a round trip loses at least as much)."""
        pdr = self.pdr.rate_pps
        if not pdr:
            return False
        judged = [p for p in self.calibration.reflector_loss_table if p.tester_fault is None]
        if self.traffic_class == "passthrough" and judged:
            losing = [p.intended_pps for p in judged if p.loss_ratio > self.loss_threshold]
            return bool(losing) and pdr >= min(losing) * (1 - TESTER_BOUND_MARGIN)
        noop = self.calibration.noop_pdr_pps
        return bool(noop and pdr >= noop * (1 - TESTER_BOUND_MARGIN))

    @property
    def livelock(self) -> str | None:
        """A note where a user-space NF collapsed under overload in some repetition:
        its MFR below LIVELOCK_SHARE of its PDR (or NDR) - flat out it forwarded less than
        it kept up with at a paced load; None where it did not."""
        if self.mode.processing != "user":
            return None
        for rep in self.repetitions:
            if rep.max_forwarding is not None and rep.max_forwarding.tester_bound:
                continue  # the DUT was not overloaded there: the tester's figure, no collapse
            paced = max((r for r in (rep.pdr.rate_pps, rep.ndr.rate_pps) if r), default=None)
            if rep.mfr_pps is not None and paced and rep.mfr_pps < LIVELOCK_SHARE * paced:
                return (f"livelock: flat out, the user-space NF forwarded {rep.mfr_pps / 1e6:.3f}"
                        f" Mpps, less than {LIVELOCK_SHARE:.0%} of the {paced / 1e6:.3f} Mpps it "
                        "kept up with at a paced load: the driver on its core starves it, so "
                        "this MFR is not its capacity")
        return None

    def unverified(self) -> list[str]:
        """Figures ("NDR", "PDR") whose confirmation failed in some repetition."""
        return sorted({c.goal for r in self.repetitions for c in r.confirmations()
                       if not c.verified})

    def confirmation_notes(self) -> list[str]:
        """One note per failed confirmation: which figure, which repetition, why."""
        many = len(self.repetitions) > 1
        return [f"{c.goal} {c.rate_pps / 1e6:.3f} Mpps not verified"
                + (f" (repetition {i + 1})" if many else "") + f": {c.reason}"
                for i, r in enumerate(self.repetitions) for c in r.confirmations()
                if not c.verified]

    # --- the record ----------------------------------------------------------------------

    def extra_info(self) -> dict[str, Any]:
        bits = (self.profile.frame_size + 20) * 8  # with preamble and inter-frame gap
        metric, value = self.headline
        rep = self.representative

        def throughput(t: Throughput, confirmation: Confirmation | None) -> dict[str, Any]:
            d = asdict(t)
            d["mpps"] = t.rate_pps / 1e6 if t.rate_pps else None
            d["gbps"] = t.rate_pps * bits / 1e9 if t.rate_pps else None
            d["verified"] = confirmation.verified if confirmation else None
            d["confirmation"] = confirmation_dict(confirmation) if confirmation else None
            d["latency"] = confirmation_latency(confirmation) if confirmation else None
            return d

        mfr = None
        if rep.max_forwarding:
            mfr = {
                "offered_pps": rep.max_forwarding.offered_load,
                "mean_pps": rep.max_forwarding.mean_pps,
                "stdev_pps": rep.max_forwarding.stdev_pps,
                "rates_pps": list(rep.max_forwarding.rates_pps),
                "mpps": rep.max_forwarding.mean_pps / 1e6,
                "gbps": rep.max_forwarding.mean_pps * bits / 1e9,
                # the two sides' saturation, apart: what the tester really offered (a
                # flat-out trial's rate is the tester's) and the share of it the DUT's
                # receive ring refused (the DUT was saturated: it could take no more)
                # (of the trials the rates come from, one per entry of rates_pps)
                "tester_offered_pps": [t.offered_rate for t in rep.max_forwarding.counted],
                "dut_ring_refused_share": [
                    (t.extra.get("ring_overflow") or 0) / t.offered if t.offered else None
                    for t in rep.max_forwarding.counted],
                "saturated": rep.max_forwarding.saturated,
                "path_loss": rep.max_forwarding.path_loss,
                # every MFR trial the tester spoiled (none counted): the figure is its own
                "tester_bound": rep.max_forwarding.tester_bound,
                "spoiled_trials": rep.max_forwarding.spoiled,
                "trials": mfr_trial_dicts(rep.max_forwarding),
            }
        return {
            **identity(THROUGHPUT, self.nf, self.mode, self.traffic_class, self.profile),
            "loss_threshold": self.loss_threshold,
            "method": self.method,
            "metric": metric,
            "metric_pps": value,
            # the figure judged, and why it is the one for this test on this testbed
            "judged_figure": ({"figure": self.judged[0], "why": self.judged[1],
                               "headline": metric} if self.judged else None),
            "metric_samples_pps": self.metric_samples[1],
            "repetitions": self.repetitions_dict(),
            "representative_repetition": self.representative_index,
            "ndr": throughput(rep.ndr, rep.ndr_confirmation),
            "pdr": throughput(rep.pdr, rep.pdr_confirmation),
            "max_forwarding_rate": mfr,
            # the bare testbed's loss on this class's path (passthrough: there and back)
            "loss_floor": self.calibration.loss_floor_for(self.traffic_class),
            "calibration": self.calibration.as_dict(),
            "tester_bound": self.tester_bound,
            "testbed_bound": self.testbed_bound,
            "livelock": self.livelock,
            "unverified": self.unverified(),
            "driver_by_syscall_share": self.driver_by_syscall_share,
            "nf_counters": self.nf_counters,
            "search": {
                "trials": len(rep.search.trials),
                "trial_seconds": rep.search.trial_seconds,
                "search_seconds": rep.search.search_seconds,
                "invalid_trials": sum(not t.valid for t in rep.search.trials),
            },
            "trials": [trial_dict(t) for t in rep.search.trials],
            "notes": self.notes,
            "cpu": rep.metrics.get("cpu"),
            "llc": rep.metrics.get("llc"),
            "metrics_sampled": rep.metrics_sampled,
        }

    def repetitions_dict(self) -> dict[str, Any]:
        ndr = [r.ndr.rate_pps for r in self.repetitions]
        pdr = [r.pdr.rate_pps for r in self.repetitions]
        mfr = [r.mfr_pps for r in self.repetitions]
        return {
            "count": len(self.repetitions),
            "ndr_pps": ndr,
            "pdr_pps": pdr,
            "mfr_pps": mfr,
            "ndr": summary(ndr),
            "pdr": summary(pdr),
            "mfr": summary(mfr),
            "mfr_tester_bound": [r.max_forwarding.tester_bound if r.max_forwarding else None
                                 for r in self.repetitions],
            "ndr_status": [r.ndr.status for r in self.repetitions],
            "pdr_status": [r.pdr.status for r in self.repetitions],
            "ndr_verified": [c.verified if (c := r.ndr_confirmation) else None
                             for r in self.repetitions],
            "pdr_verified": [c.verified if (c := r.pdr_confirmation) else None
                             for r in self.repetitions],
            "trial_seconds": [r.search.trial_seconds for r in self.repetitions],
        }


def mfr_trial_dicts(mfr: ForwardingRate) -> list[dict[str, Any]]:
    """Every MFR attempt, `valid` and `tester_fault` as the MFR judges them
    (rfc2544.mfr_fault, not the search's), `counted` where its rate is in rates_pps."""
    return [{**trial_dict(t), "valid": mfr.fault(t) is None, "tester_fault": mfr.fault(t),
             "counted": any(t is c for c in mfr.counted),
             "return_overflow": t.extra.get("return_overflow")} for t in mfr.trials]


def confirmation_dict(c: Confirmation) -> dict[str, Any]:
    return {
        "rate_pps": c.rate_pps,
        "duration": c.duration,
        "count": sum(t.valid for t in c.trials),
        "verified": c.verified,
        "reason": c.reason,
        "trials": [trial_dict(t) for t in c.trials],
    }


def confirmation_latency(c: Confirmation) -> dict[str, Any] | None:
    """Round-trip latency of the frames that came back during a confirmation's valid
    trials (passthrough: the generator stamps and reads every frame), merged into one
    histogram: min, p50 ... p99.9, max in microseconds, and the buckets. None where
    nothing came back with a stamp (drop and local classes)."""
    merged: LatencyHistogram | None = None
    for t in c.trials:
        hist = t.extra.get("latency_histogram")
        if t.valid and isinstance(hist, LatencyHistogram) and hist.count:
            merged = hist if merged is None else merged.merged(hist)
    if merged is None:
        return None
    return {"rate_pps": c.rate_pps, **merged.summary(), "histogram": merged.as_dict()}


def record(benchmark: Any, measurement: Measurement) -> None:
    """Store a measurement in the pytest-benchmark fixture as one record
    (benchrecord.store): one round per repetition, of seconds per packet of the
    headline (judged) figure; none without a rate (the plugin keeps that record)."""
    _, samples = measurement.metric_samples
    store(benchmark, measurement.extra_info(), (1.0 / value for value in samples))
