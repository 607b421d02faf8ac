"""A throughput record without traffic, for tests/test_regress.py (run in a
subprocess): one PDR per --xdpperf-repetitions, $XDPP_FAKE_PPS spread by 0.2%, so
ci/regress can be driven through pinned, regressed and accepted runs in seconds."""

from __future__ import annotations

import os
import statistics


def test_record(benchmark, request):
    repetitions = request.config.getoption("--xdpperf-repetitions")
    rate = float(os.environ["XDPP_FAKE_PPS"])
    samples = [rate * (1 + 0.002 * (i % 3 - 1)) for i in range(repetitions)]
    benchmark.extra_info.update({
        "xdpperf_record": 2, "nf": "macswap", "nf_params": {"action": "drop"}, "mode": "xdp",
        "traffic_class": "drop", "metric": "pdr", "metric_pps": statistics.fmean(samples),
        "metric_samples_pps": samples,
        "repetitions": {"count": repetitions, "pdr_pps": samples},
        "pdr": {"rate_pps": statistics.fmean(samples), "status": "found"}})
    benchmark.pedantic(lambda: None, rounds=1)
    if os.environ.get("XDPP_FAKE_FAIL"):  # e.g. a threshold verdict, after its record
        raise AssertionError("failed on purpose")
