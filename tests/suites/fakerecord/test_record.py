"""A throughput record without traffic, for tests/test_regress.py (run in a
subprocess): one PDR per --xdpperf-repetitions, $XDPP_FAKE_PPS spread by 0.2%, so
ci/regress can be driven through pinned, regressed and accepted runs in seconds.
The record is a valid current one (schemas/throughput.json): its identity from
schema.identity, as the framework's own."""

from __future__ import annotations

import os
import statistics

from pytest_xdpperf.modes import MODES
from pytest_xdpperf.nf import NfSpec
from pytest_xdpperf.schema import THROUGHPUT, identity
from pytest_xdpperf.trafficgen.base import TrafficProfile


def test_record(benchmark, request):
    repetitions = request.config.getoption("--xdpperf-repetitions")
    rate = float(os.environ["XDPP_FAKE_PPS"])
    samples = [rate * (1 + 0.002 * (i % 3 - 1)) for i in range(repetitions)]
    mean = statistics.fmean(samples)
    benchmark.extra_info.update({
        **identity(THROUGHPUT, NfSpec("macswap", {"action": "drop"}), MODES["xdp"], "drop",
                   TrafficProfile()),
        "loss_threshold": 0.001, "metric": "pdr", "metric_pps": mean,
        "metric_samples_pps": samples,
        "repetitions": {"count": repetitions, "pdr_pps": samples,
                        "ndr_pps": [None] * repetitions, "mfr_pps": [None] * repetitions},
        "ndr": {"rate_pps": None, "status": "below_min_load"},
        "pdr": {"rate_pps": mean, "status": "found"}, "max_forwarding_rate": None,
        "loss_floor": 0.0, "calibration": None, "tester_bound": False,
        "testbed_bound": False, "trials": [], "notes": []})
    benchmark.pedantic(lambda: None, rounds=1)
    if os.environ.get("XDPP_FAKE_FAIL"):  # e.g. a threshold verdict, after its record
        raise AssertionError("failed on purpose")
