"""The object a test gets as the `xdpperf` fixture: one NF, one mode, one traffic class."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from . import local
from .build import Builder
from .calibration import Calibration
from .errors import XdpperfError
from .journal import Journal
from .measure import TrialMeasurer
from .metrics import DutSamplers
from .modes import Mode, applied
from .nf import (
    NfSpec,
    RunningNf,
    busy_poll_note,
    describe,
    syscall_share,
    unsupported_reason,
)
from .results import Measurement, record, trial_dict
from .rfc2544 import SearchSpec, TrialResult, find_throughput, max_forwarding_rate
from .testbed.base import Testbed
from .trafficgen.base import TrafficProfile
from .trafficgen.bpfgen import BpfGenerator

if TYPE_CHECKING:
    from .latency_run import LatencyMeasurement

# What each traffic class asks of an NF's `action` parameter.
CLASS_ACTION = {"drop": "drop", "passthrough": "tx", "local": "pass"}
LIVELOCK_NOTE = (
    "user-space NF sharing its core with the driver: offered more than it can take, "
    "the driver starves it (livelock), so the maximum forwarding rate is not its capacity"
)


@dataclass(frozen=True)
class RunOptions:
    loss_threshold: float = 0.001
    trial_duration: float = 1.0
    min_load: float = 10_000.0
    relative_width: float = 0.005
    mfr_repetitions: int = 1
    search_duration_max: float = 900.0

    def search_spec(self, max_load: float) -> SearchSpec:
        return SearchSpec(
            max_load=max_load,
            min_load=self.min_load,
            loss_threshold=self.loss_threshold,
            relative_width=self.relative_width,
            trial_duration=self.trial_duration,
            search_duration_max=self.search_duration_max,
        )


class XdpPerf:
    def __init__(self, testbed: Testbed, builder: Builder, calibration: Calibration,
                 mode: Mode, traffic_class: str | None, options: RunOptions,
                 benchmark: Any, profile: TrafficProfile,
                 progress: Callable[[str], None] | None = None,
                 journal: Journal | None = None, test_id: str = ""):
        self.testbed = testbed
        self.builder = builder
        self.calibration = calibration
        self.mode = mode
        self.traffic_class = traffic_class
        self.options = options
        self.benchmark = benchmark
        self.profile = profile
        self.progress = progress
        self.journal = journal or Journal(None)
        self.test_id = test_id

    def _class(self) -> str:
        if self.traffic_class is None:
            raise XdpperfError("this test has no traffic class marker",
                               "mark it @pytest.mark.drop, passthrough or local")
        return self.traffic_class

    def start(self, nf: str, **params: Any) -> RunningNf:
        """Build and start an NF in this test's mode (for tests that drive it themselves)."""
        spec = NfSpec(nf, params)
        binary = self.builder.program(nf)
        self.skip_unsupported(nf, binary)
        return RunningNf(binary, spec, self.mode, self.testbed.dut)

    def skip_unsupported(self, nf: str, binary: Any) -> None:
        """Skip the test (never silently pass it) if the NF lacks this test's mode."""
        reason = unsupported_reason(binary, self.mode)
        if reason is not None:
            pytest.skip(f"{nf} cannot run in mode {self.mode.name}: {reason}")

    def generator(self, profile: TrafficProfile | None = None) -> BpfGenerator:
        return BpfGenerator(self.builder.program("trafficgen"), self.testbed.tester,
                            self.testbed.dut, profile or self.profile)

    def throughput(self, nf: str, attach: str = "native", bind: str = "copy",
                   **params: Any) -> Measurement:
        """RFC 2544 NDR/PDR and the maximum forwarding rate of `nf`, recorded."""
        traffic_class = self._class()
        binary = self.builder.program(nf)
        if "action=" in describe(binary)["params"]:  # NFs without one (e.g. chain) decide alone
            params.setdefault("action", CLASS_ACTION[traffic_class])
        spec = NfSpec(nf, params, attach=attach, bind=bind)
        self.skip_unsupported(nf, binary)
        opts = self.options
        notes: list[str] = []
        local_class = traffic_class == "local"
        with applied(self.mode, self.testbed.dut), \
                (local.passing_nf(self.testbed, binary, spec, self.mode) if local_class else
                 RunningNf(binary, spec, self.mode, self.testbed.dut)) as running, \
                self.generator() as generator:
            self.testbed.prepare_dut_napi()
            measurer: TrialMeasurer | local.LocalMeasurer = (
                local.LocalMeasurer(generator, local.StackCounters(self.testbed, self.mode),
                                    running.stats) if local_class else
                TrialMeasurer(generator, self.testbed.tester, self.testbed.dut, traffic_class,
                              running.stats))
            stats_before = running.stats()
            try:
                measurer(opts.min_load * 10, min(0.2, opts.trial_duration))  # warm-up
                measurer.history.clear()
                search_spec = opts.search_spec(self.calibration.max_load_pps)
                search = find_throughput(measurer, search_spec, progress=self._progress)
                # metrics: interim wiring (metrics helper) around the MFR trials;
                # to move around the final confirmation trials of the search
                with DutSamplers(self.testbed.dut.cpus) as samplers:
                    mfr = max_forwarding_rate(measurer, self.calibration.max_load_pps,
                                              opts.trial_duration, opts.mfr_repetitions)
                dut_metrics = samplers.result(sum(t.forwarded for t in mfr.trials))
                # did the NF's syscalls really run the driver (busy poll) in *-sysc?
                stats_after = running.stats()
                busy_poll = busy_poll_note(self.mode, stats_before, stats_after)
                by_syscall = syscall_share(stats_before, stats_after)
            except BaseException as exc:
                # keep what was measured before the failure (or Ctrl-C)
                self.journal.write("unfinished", self.test_id, {
                    "nf": spec.label(), "mode": self.mode.name, "error": repr(exc),
                    "trials": [trial_dict(t) for t in measurer.history]})
                raise
        if self.mode.processing == "user":
            notes.append(LIVELOCK_NOTE)
        if busy_poll:
            notes.append(busy_poll)
        floor = self.calibration.loss_floor
        if floor > opts.loss_threshold:
            notes.append(f"the bare testbed (no-op NF) loses {floor:.3%} at "
                         f"{self.calibration.max_load_pps / 1e6:.2f} Mpps, more than the "
                         f"{opts.loss_threshold:.3%} threshold: PDRs near the no-op's "
                         "measure the testbed, see testbed_bound")
        if not all(t.extra.get("counters_agree", True) for t in search.trials):
            notes.append("kernel counters did not account for every frame sent in some trials")
        measurement = Measurement(spec, self.mode, traffic_class, self.profile,
                                  opts.loss_threshold, search, mfr, self.calibration, notes,
                                  driver_by_syscall_share=by_syscall, metrics=dut_metrics)
        record(self.benchmark, measurement)
        self.journal.write("measurement", self.test_id, measurement.extra_info())
        return measurement

    def transactions(self, nf: str, app: str = "memcached", duration: float = 5.0,
                     threads: int = 1, concurrency: int = 16, attach: str = "native",
                     bind: str = "copy", **params: Any) -> local.AppMeasurement:
        """Transactions/s of `app` on the DUT with `nf` in front of it (local class), recorded."""
        if self._class() != "local":
            raise XdpperfError("transactions() measures an application on the DUT",
                               "mark the test @pytest.mark.local")
        local.check_app(app)
        binary = self.builder.program(nf)
        if "action=" in describe(binary)["params"]:
            params.setdefault("action", "pass")
        spec = NfSpec(nf, params, attach=attach, bind=bind)
        self.skip_unsupported(nf, binary)
        with applied(self.mode, self.testbed.dut), \
                local.passing_nf(self.testbed, binary, spec, self.mode) as running:
            self.testbed.prepare_dut_napi()
            result, counts = local.measure_memcached(self.testbed, running, self.mode, duration,
                                                     threads, concurrency)
        load = {"tool": "memaslap", "threads": threads, "concurrency": concurrency,
                "duration": duration}
        measurement = local.AppMeasurement(spec, self.mode, app, load, result, counts)
        local.record_transactions(self.benchmark, measurement)
        self.journal.write("measurement", self.test_id, measurement.extra_info())
        return measurement

    def latency(self, nf: str, rates: Sequence[float] | None = None,
                fractions: Sequence[float] | None = None, duration: float | None = None,
                throughput_pps: float | None = None, attach: str = "native",
                bind: str = "copy", **params: Any) -> LatencyMeasurement:
        """Latency through `nf` (passthrough) at `fractions` of its throughput (its NDR,
        measured unless `throughput_pps` is given) and at fixed `rates`, recorded."""
        from .latency_run import run_latency

        return run_latency(self, nf, rates, fractions, duration, throughput_pps, attach, bind,
                           **params)

    def _progress(self, trial: TrialResult) -> None:
        if self.progress:
            self.progress(f"{self.mode.name}: {trial.intended_load / 1e6:8.3f} Mpps "
                          f"{trial.intended_duration:5.2f} s loss {trial.loss_ratio:8.4%}")


def terminal_progress(line: str) -> None:
    """One self-overwriting line on a terminal; nothing when output is not one."""
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + line)
        sys.stderr.flush()
