"""A testbed of no namespaces, no programs and no traffic: a simulated DUT that
forwards up to `capacity_pps` and loses the rest, behind the Testbed interface
(pytest_xdpperf/testbed/base.py), and a generator that offers into it. Through the
pytest_xdpperf_testbed hook (tests/suites/faketestbed/conftest.py) it runs the
fixture's throughput, latency and transactions procedures end to end as any user,
so the interface is proved complete by a second implementation, not only by veth.

Deterministic: a trial at `rate` for `duration` s offers round(rate * duration)
frames, of which the DUT takes at most capacity_pps * duration; flat out the tester
offers `tester_pps`. Latency is 10 us per frame plus 1 ns per frame queued ahead of it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from pytest_xdpperf.latency import LatencyHistogram
from pytest_xdpperf.local import Transactions
from pytest_xdpperf.testbed.base import Capabilities, Host, PathCounters
from pytest_xdpperf.trafficgen.base import Offered, TrafficProfile

COUNTERS = ("rx", "drop", "tx", "pass", "redirect", "aborted", "reinjected", "reinject_failed")
TPS_PER_PPS = 0.01  # the simulated memcached: transactions/s per pps the NF can take


class FakeNf:
    """The running NF: its counters are the simulated DUT's."""

    def __init__(self, bed: FakeTestbed, action: str):
        self.bed, self.action = bed, action
        self.pid = os.getpid()

    def stats(self) -> dict[str, Any]:
        return dict(self.bed.nf)


class FakeSamplers:
    """No CPU or LLC counters on a simulated DUT: the record says none (as on a VM)."""

    def __enter__(self) -> FakeSamplers:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def result(self, packets: int | None, basis: str = "forwarded") -> dict[str, Any]:
        return {}


class FakeTestbed:
    kind = "fake"
    capabilities = Capabilities()
    thresholds_key = "fake"

    def __init__(self, capacity_pps: float, tester_pps: float | None = None):
        self.capacity_pps = capacity_pps
        self.tester_pps = tester_pps or 2 * capacity_pps
        self.tester = Host("tester", "faket", "02:00:00:00:00:01",
                           "198.18.0.1", (0,))
        self.dut = Host("dut", "faked", "02:00:00:00:00:02", "198.18.0.2",
                        (0,))
        self.sent = 0
        self.nf: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.running: FakeNf | None = None
        self.calls: list[str] = []  # what the framework asked of the testbed, in order
        self.destroyed = False

    def path_counters(self, send_path: str) -> PathCounters:
        return PathCounters(reached=self.sent, dut_rx=self.sent)

    @contextmanager
    def start_nf(self, binary: Any, spec: Any, mode: Any,
                 pass_ifname: str | None = None) -> Iterator[FakeNf]:
        self.calls.append(f"start_nf {spec.name} {mode.name}")
        self.running = FakeNf(self, str(spec.params.get("action", "drop")))
        try:
            yield self.running
        finally:
            self.running = None
            self.calls.append(f"stop_nf {spec.name}")

    @contextmanager
    def noop(self) -> Iterator[FakeNf]:
        """The calibration's no-op NF: drops what the DUT takes."""
        self.running = FakeNf(self, "drop")
        try:
            yield self.running
        finally:
            self.running = None

    def mode_settings(self, mode: Any) -> Any:
        self.calls.append(f"mode_settings {mode.name}")
        return nullcontext(dict(mode.sysfs))

    def samplers(self) -> FakeSamplers:
        return FakeSamplers()

    def prepare_dut_napi(self) -> list[int]:
        return []

    def describe(self) -> dict[str, Any]:
        return {"kind": "fake", "driver": "fake", "capacity_pps": self.capacity_pps}

    def nic_info(self) -> dict[str, str]:
        return {"driver": "fake"}

    def load_app(self, app: str, running: Any, mode: Any, duration: float, threads: int,
                 concurrency: int) -> tuple[Transactions, dict[str, int]]:
        self.calls.append(f"load_app {app}")
        tps = self.capacity_pps * TPS_PER_PPS
        frames = round(tps * duration * 2)  # a request in, a reply out
        self.nf["rx"] += frames
        self.nf["pass"] += frames
        counts = dict.fromkeys(COUNTERS, 0) | {"rx": frames, "pass": frames}
        ops = round(tps * duration)
        return Transactions(seconds=duration, operations=ops, tps=tps, get_misses=0,
                            errors=0, raw={"fake": True}), counts

    def destroy(self) -> None:
        self.destroyed = True

    def offer(self, rate: float, duration: float) -> tuple[int, int, float]:
        """One trial into the simulated DUT: (sent, taken, offered rate)."""
        offered_rate = rate if rate > 0 else self.tester_pps
        sent = max(1, round(offered_rate * duration))
        taken = min(sent, int(self.capacity_pps * duration))
        self.sent += sent
        if self.running is not None:
            self.nf["rx"] += taken
            key = {"tx": "tx", "pass": "pass"}.get(self.running.action, "drop")
            self.nf[key] += taken
        return sent, taken, offered_rate


class FakeGenerator:
    """Offers into the fake testbed's DUT; what comes back is what the NF sent back."""

    def __init__(self, testbed: FakeTestbed, profile: TrafficProfile):
        self.testbed, self.profile = testbed, profile

    def offer(self, rate: float, duration: float) -> Offered:
        sent, taken, offered_rate = self.testbed.offer(rate, duration)
        nf = self.testbed.running
        back = taken if nf is not None and nf.action == "tx" else 0
        latency = LatencyHistogram.from_samples(10_000 + i % 1000 for i in range(back)) \
            if back else None
        return Offered(intended_rate=rate, intended_duration=duration,
                       intended_count=sent, sent=sent, offered_duration=sent / offered_rate,
                       offered_rate=offered_rate, received=back, latency=latency)

    def close(self) -> None:
        pass


def fake_generator(testbed: FakeTestbed, builder: Any, profile: TrafficProfile) -> FakeGenerator:
    """--generator faketestbed:fake_generator"""
    return FakeGenerator(testbed, profile)
