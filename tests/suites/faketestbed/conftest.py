"""Run by tests/test_fake_testbed.py: the session's testbed is tests/faketestbed.py's
(through the pytest_xdpperf_testbed hook), calibrated by the real calibration
arithmetic (calibration.measure_testbed) through the fake; what the framework asked
of the testbed goes to $XDPP_INFO as JSON at the end."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from faketestbed import FakeGenerator, FakeTestbed

from pytest_xdpperf.calibration import Calibration, measure_testbed
from pytest_xdpperf.measure import TrialMeasurer
from pytest_xdpperf.trafficgen.base import TrafficProfile

BED: list[FakeTestbed] = []


def pytest_xdpperf_testbed(config: pytest.Config) -> FakeTestbed:
    BED.append(FakeTestbed(float(os.environ.get("XDPP_FAKE_CAPACITY", "1e6"))))
    return BED[-1]


@pytest.fixture(scope="session")
def xdpperf_calibration(pytestconfig: pytest.Config, xdpperf_testbed: FakeTestbed,
                        xdpperf_profile: TrafficProfile) -> Iterator[Calibration]:
    options = pytestconfig._xdpperf_options  # type: ignore[attr-defined]
    generator = FakeGenerator(xdpperf_testbed, xdpperf_profile)
    with xdpperf_testbed.noop() as noop:
        trial = TrialMeasurer(generator, xdpperf_testbed, "drop", noop.stats)
        calibration = measure_testbed(trial, options.search_spec(max_load=1e12))
    yield calibration
    with open(os.environ["XDPP_INFO"], "w") as f:
        json.dump({"calls": xdpperf_testbed.calls}, f)
