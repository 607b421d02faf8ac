"""Crafted xdpperf records (pytest-benchmark JSON) for compare and plot tests."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from pytest_xdpperf.latency import LatencyHistogram
from pytest_xdpperf.latency_run import LatencyMeasurement, LatencyPoint, record_latency
from pytest_xdpperf.local import AppMeasurement, Transactions
from pytest_xdpperf.modes import MODES
from pytest_xdpperf.nf import NfSpec
from pytest_xdpperf.schema import THROUGHPUT, identity
from pytest_xdpperf.trafficgen.base import TrafficProfile


def bench(name: str, samples: list[float], mode: str = "xdp", nf: str = "macswap",
          params: dict[str, Any] | None = None, traffic_class: str = "drop",
          schema: str = "samples", metric: str = "pdr", mfr: list[float] | None = None,
          pdr: list[float | None] | None = None, **extra: Any) -> dict[str, Any]:
    """One benchmark entry; `samples` are the headline `metric` per repetition.

    `schema` picks the record's layout: samples, the current one (xdpperf_kind
    throughput, schema.identity, metric_samples_pps: valid against
    schemas/throughput.json); the older layouts before kinds, repetitions
    (`xdpperf_record` 2, repetitions.pdr_pps) and single (`xdpperf_record` 1,
    metric_pps only).  metric="max_forwarding_rate"
    is a run where some repetition found no PDR (`pdr`: each repetition's, default none);
    `mfr` gives each repetition's MFR of a PDR run (then written under repetitions)."""
    mean = statistics.fmean(samples)
    if metric == "pdr":
        pdr_reps: list[float | None] = list(samples)
        mfr_reps = mfr or [s * 1.5 for s in samples]
    else:
        pdr_reps = pdr or [None] * len(samples)
        mfr_reps = samples
    pdr_rate = mean if metric == "pdr" else None
    mfr_mean = statistics.fmean(mfr_reps)
    params = params or {"action": "drop"}
    if schema == "samples":
        head = identity(THROUGHPUT, NfSpec(nf, params), MODES[mode], traffic_class,
                        TrafficProfile())
        # the loss goal under this VM's bare veth path's own loss (loss_floor), so the
        # MFR is the judged figure by default (methods.default_figure), as before kinds
        head |= {"loss_threshold": 0.001, "calibration": None, "testbed_bound": False,
                 "trials": [], "notes": []}
    else:
        head = {"xdpperf_record": 2 if schema == "repetitions" else 1, "nf": nf,
                "nf_params": params, "mode": mode, "traffic_class": traffic_class}
    info: dict[str, Any] = {
        **head, "metric": metric, "metric_pps": mean,
        "ndr": {"rate_pps": pdr_rate * 0.98 if pdr_rate else None, "status": "found"},
        "pdr": {"rate_pps": pdr_rate, "status": "found" if pdr_rate else "below_min_load"},
        "max_forwarding_rate": {"mean_pps": mfr_mean, "stdev_pps": mfr_mean * 0.01,
                                "rates_pps": [mfr_mean]},
        "loss_floor": 0.0 if schema != "samples" else 0.002, "tester_bound": False,
    }
    if schema == "samples":
        info["metric_samples_pps"] = samples
        if metric != "pdr" or mfr:
            info["repetitions"] = {"count": len(samples), "pdr_pps": pdr_reps,
                                   "ndr_pps": [None] * len(samples), "mfr_pps": mfr_reps}
        else:  # each repetition's figures, as the record's single ones are made of
            info["repetitions"] = {"count": len(samples), "pdr_pps": pdr_reps,
                                   "ndr_pps": [s * 0.98 for s in samples],
                                   "mfr_pps": mfr_reps}
    elif schema == "repetitions":
        info["repetitions"] = {"count": len(samples), "pdr_pps": samples,
                               "ndr_pps": [s * 0.98 for s in samples],
                               "mfr_pps": [s * 1.5 for s in samples]}
    info.update(extra)
    return entry(name, info, 1 / mean)


def entry(name: str, info: dict[str, Any], seconds: float) -> dict[str, Any]:
    """A pytest-benchmark entry: `info` as extra_info, one round of `seconds`."""
    return {"group": None, "name": name.split("::")[-1], "fullname": name,
            "params": None, "param": None, "extra_info": info,
            "options": {}, "stats": {"min": seconds, "max": seconds, "mean": seconds,
                                     "stddev": 0, "rounds": 1, "median": seconds, "iqr": 0,
                                     "q1": seconds, "q3": seconds, "iqr_outliers": 0,
                                     "stddev_outliers": 0, "outliers": "0;0",
                                     "ld15iqr": seconds, "hd15iqr": seconds, "ops": 1 / seconds,
                                     "total": seconds, "iterations": 1}}


class FakeStats:
    def __init__(self) -> None:
        self.values: list[float] = []

    def update(self, value: float) -> None:
        self.values.append(value)


class FakeBenchmark:
    """What latency_run.record_latency writes into: the fixture's extra_info and stats."""

    def __init__(self) -> None:
        self.extra_info: dict[str, Any] = {}
        self.stats = FakeStats()

    def _make_stats(self, _: int) -> FakeStats:
        return self.stats


def latency_bench(name: str, mode: str, samples_ns: dict[tuple[float, float | None], list[int]],
                  throughput_pps: float = 100_000.0) -> dict[str, Any]:
    """A latency entry exactly as the framework writes it: real LatencyHistograms of these
    latencies (ns) per (rate, fraction) point, recorded by latency_run.record_latency."""
    points = [LatencyPoint(rate_pps=rate, fraction=fraction, duration=1.0, sent=len(values),
                           received=len(values), duplicates=0, reordered=0, tester_overflow=0,
                           offered_rate=rate, late=0,
                           histogram=LatencyHistogram.from_samples(values))
              for (rate, fraction), values in samples_ns.items()]
    measurement = LatencyMeasurement(NfSpec("macswap", {"action": "tx"}), MODES[mode],
                                     TrafficProfile(), throughput_pps, "given", points)
    fake = FakeBenchmark()
    record_latency(fake, measurement)
    return entry(name, fake.extra_info, statistics.fmean(fake.stats.values))


def transactions(name: str, tps: float, mode: str = "xdp") -> dict[str, Any]:
    """A transactions record entry written by local.AppMeasurement itself (memcached
    behind an NF, `tps` transactions/s over 5 s)."""
    result = Transactions(5.0, round(tps * 5), tps, 0, 0, {}, {})
    measurement = AppMeasurement(NfSpec("macswap", {"action": "pass"}), MODES[mode],
                                 "memcached", {"tool": "memaslap", "threads": 1,
                                               "concurrency": 16, "duration": 5.0},
                                 result, {"rx": round(tps * 10)})
    return {"name": name.split("::")[-1], "fullname": name,
            "extra_info": measurement.extra_info(), "stats": {"mean": 1 / tps}}


def write(path: Path, benches: list[dict[str, Any]], kernel: str = "6.18.0",
          commit: str = "a" * 40, when: str = "2026-11-01T00:00:00+00:00") -> Path:
    doc = {"machine_info": {"node": "vm", "kernel_release": kernel, "release": kernel},
           "commit_info": {"id": commit, "time": when, "dirty": False},
           "benchmarks": benches, "datetime": when, "version": "5.1.0"}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path
