"""A one-test suite run in a subprocess by tests/test_bad_input.py.

Nothing here makes a namespace or starts a program: the testbed is a stand-in
whose names exist nowhere, and the calibration returns fixed figures. So a run
costs a second, needs no lock, and an input the framework fails to refuse ends
in some other message (the NF cannot enter a namespace that does not exist)
rather than in a measurement.

$XDPP_MACHINE makes the machine look broken to the preflight checks, as the
monkeypatching unit tests of tests/test_preflight.py do: notroot, nobpf, nobtf,
noafxdp, noclang; "ok" makes it pass them whoever runs it (so the CPU
checks behind them are reached as any user). $XDPP_MAX_LOAD is the calibrated
maximum load in packets/s (default 1e6).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_xdpperf import plugin, preflight
from pytest_xdpperf.calibration import Calibration
from pytest_xdpperf.testbed.netns_host import NetnsHost
from pytest_xdpperf.testbed.veth import VethTestbed

NOWHERE = "xdpp-badinput-nowhere"  # no such namespace: an NF started here fails at once
BPF_PATHS = ("/sys/fs/bpf", "/proc/sys/net/core/bpf_jit_enable")  # what check_kernel looks at


def _broken(what: str) -> None:
    """Make the preflight checks see the machine `what` names."""
    real_exists, real_which = os.path.exists, shutil.which
    if what == "ok":
        preflight.run_all = lambda: None
    elif what == "notroot":
        preflight.os.geteuid = lambda: 1000  # type: ignore[attr-defined]
    elif what == "nobpf":
        preflight.os.path.exists = (  # type: ignore[attr-defined]
            lambda p: False if p in BPF_PATHS else real_exists(p))
    elif what == "nobtf":
        preflight.os.path.exists = (  # type: ignore[attr-defined]
            lambda p: False if p == "/sys/kernel/btf/vmlinux" else real_exists(p))
    elif what == "noafxdp":
        preflight._has_af_xdp = lambda: False
    elif what == "noclang":
        preflight.shutil.which = (  # type: ignore[attr-defined]
            lambda t, *a, **k: None if t == "clang" else real_which(t, *a, **k))
    else:
        raise ValueError(f"XDPP_MACHINE={what!r} names no machine this suite knows")
    if what != "notroot":  # the run itself needs no root: nothing real is made
        preflight.check_root = lambda: None


_broken(os.environ.get("XDPP_MACHINE", "ok"))


class StandIn:
    """A testbed of names only: nothing exists, nothing may be prepared."""

    tester = NetnsHost("tester", "xdppnowheret", "02:00:00:00:00:01", "198.18.0.1", (0,),
                       netns=NOWHERE)
    dut = NetnsHost("dut", "xdppnowhered", "02:00:00:00:00:02", "198.18.0.2", (0,),
                    netns=NOWHERE)
    thresholds_key = "badinput-none"
    kind = VethTestbed.kind  # and what its driver can run
    capabilities = VethTestbed.capabilities

    def prepare_dut_napi(self) -> list[int]:
        raise AssertionError("the bad input reached the DUT")

    def mode_settings(self, mode: Any) -> Any:
        raise AssertionError("the bad input reached the DUT's settings")

    def start_nf(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the bad input reached the DUT's NF")

    def describe(self) -> dict[str, Any]:
        return {"kind": "veth", "driver": "veth"}

    def destroy(self) -> None:
        pass


@pytest.fixture(scope="session")
def xdpperf_testbed() -> Iterator[StandIn]:
    yield StandIn()


def _calibrated(*args: Any, **kwargs: Any) -> Calibration:
    fields = dataclasses.fields(Calibration)
    required = [f for f in fields if f.init and f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING]
    max_load = float(os.environ.get("XDPP_MAX_LOAD", "1e6"))
    known = {"tester_capacity_pps": 2 * max_load, "noop_forwarding_pps": 2 * max_load,
             "max_load_pps": max_load, "trial_duration": 0.1}
    return Calibration(**{f.name: known.get(f.name, 0.0) for f in required})


plugin.calibrate = _calibrated  # the plugin's own fixture still checks --xdpperf-min-load
