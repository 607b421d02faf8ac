"""Crafted xdpperf records (pytest-benchmark JSON) for compare and plot tests."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any


def bench(name: str, samples: list[float], mode: str = "xdp", nf: str = "macswap",
          params: dict[str, Any] | None = None, traffic_class: str = "drop",
          schema: str = "samples", metric: str = "pdr", mfr: list[float] | None = None,
          pdr: list[float | None] | None = None, **extra: Any) -> dict[str, Any]:
    """One benchmark entry; `samples` are the headline `metric` per repetition.

    `schema` picks how the repetitions are written: samples (metric_samples_pps),
    repetitions (repetitions.pdr_pps), single (metric_pps).  metric="max_forwarding_rate"
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
    info: dict[str, Any] = {
        "xdpperf_record": 1, "nf": nf, "nf_params": params or {"action": "drop"},
        "mode": mode, "traffic_class": traffic_class, "metric": metric, "metric_pps": mean,
        "ndr": {"rate_pps": pdr_rate * 0.98 if pdr_rate else None, "status": "found"},
        "pdr": {"rate_pps": pdr_rate, "status": "found" if pdr_rate else "below_min_load"},
        "max_forwarding_rate": {"mean_pps": mfr_mean, "stdev_pps": mfr_mean * 0.01,
                                "rates_pps": [mfr_mean]},
        "loss_floor": 0.0, "tester_bound": False,
    }
    if schema == "samples":
        info["metric_samples_pps"] = samples
        if metric != "pdr" or mfr:
            info["repetitions"] = {"count": len(samples), "pdr_pps": pdr_reps,
                                   "ndr_pps": [None] * len(samples), "mfr_pps": mfr_reps}
    elif schema == "repetitions":
        info["repetitions"] = {"count": len(samples), "pdr_pps": samples,
                               "ndr_pps": [s * 0.98 for s in samples],
                               "mfr_pps": [s * 1.5 for s in samples]}
    info.update(extra)
    return {"group": None, "name": name.split("::")[-1], "fullname": name,
            "params": None, "param": None, "extra_info": info,
            "options": {}, "stats": {"min": 1 / mean, "max": 1 / mean, "mean": 1 / mean,
                                     "stddev": 0, "rounds": 1, "median": 1 / mean, "iqr": 0,
                                     "q1": 1 / mean, "q3": 1 / mean, "iqr_outliers": 0,
                                     "stddev_outliers": 0, "outliers": "0;0", "ld15iqr": 1 / mean,
                                     "hd15iqr": 1 / mean, "ops": mean, "total": 1 / mean,
                                     "iterations": 1}}


def write(path: Path, benches: list[dict[str, Any]], kernel: str = "6.18.0",
          commit: str = "a" * 40, when: str = "2026-11-01T00:00:00+00:00") -> Path:
    doc = {"machine_info": {"node": "vm", "kernel_release": kernel, "release": kernel},
           "commit_info": {"id": commit, "time": when, "dirty": False},
           "benchmarks": benches, "datetime": when, "version": "5.1.0"}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path
