"""A tiny suite run in a subprocess by tests/test_teardown.py.

The session calibration is replaced by fixed figures so a run costs seconds (the
real one runs when $XDPP_CALIBRATE is set: tests/test_faults.py faults it);
each test reports what it saw (run id, pids, settings) to $XDPP_INFO/<test>.json.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
from typing import Any

import pytest

from pytest_xdpperf import naming, process
from pytest_xdpperf.calibration import Calibration

# tests/test_teardown.py interrupts this suite with SIGINT on purpose: take it even
# where the run was started in the background of a non-interactive shell (which
# starts it with SIGINT ignored, and Python then keeps it ignored)
signal.signal(signal.SIGINT, signal.default_int_handler)

# tests/test_teardown.py may give this run a prefix of its own, so that a
# `cleanup --all` it runs cannot reach anybody else's live runs
if os.environ.get("XDPP_PREFIX"):
    naming.PREFIX = os.environ["XDPP_PREFIX"]

# tests/test_faults.py: an NF that never becomes ready fails in seconds, not READY_TIMEOUT
if os.environ.get("XDPP_READY_TIMEOUT"):
    process.READY_TIMEOUT = float(os.environ["XDPP_READY_TIMEOUT"])

FAKE = {"tester_capacity_pps": 2e6, "noop_forwarding_pps": 2e6, "max_load_pps": 1e6,
        "noop_ndr_pps": 1e6, "noop_pdr_pps": 1e6, "noop_loss_at_max_load": 0.0,
        "trial_duration": 0.1}


if not os.environ.get("XDPP_CALIBRATE"):  # else the plugin's own, real calibration
    @pytest.fixture(scope="session")
    def xdpperf_calibration() -> Calibration:
        fields = dataclasses.fields(Calibration)
        required = [f for f in fields if f.init and f.default is dataclasses.MISSING
                    and f.default_factory is dataclasses.MISSING]
        return Calibration(**{f.name: FAKE.get(f.name, 0.0) for f in required})


@pytest.fixture
def report(request: pytest.FixtureRequest):
    """report(**facts): merge facts into $XDPP_INFO/<test name>.json at once."""
    name = request.node.originalname
    path = os.path.join(os.environ["XDPP_INFO"], f"{name}.json")
    facts: dict[str, Any] = {}

    def write(**more: Any) -> None:
        facts.update(more)
        with open(path + ".tmp", "w") as f:
            json.dump(facts, f)
        os.replace(path + ".tmp", path)

    return write
