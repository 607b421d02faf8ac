"""The object a test gets as the `xdpperf` fixture: one NF, one mode, one traffic class."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, closing, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from . import local
from .build import Builder
from .calibration import Calibration
from .errors import XdpperfError
from .journal import Journal
from .measure import TrialMeasurer
from .methods import DEFAULT_METHOD, default_figure, method
from .metrics import DutSamplers
from .modes import Mode, applied
from .nf import (
    NfSpec,
    RunningNf,
    busy_poll_note,
    has_param,
    syscall_share,
    unsupported_reason,
)
from .progress import ProgressLine
from .results import Measurement, Repetition, record, trial_dict
from .rfc2544 import (
    SearchSpec,
    Trial,
    TrialResult,
    confirm,
    find_throughput,
    max_forwarding_rate,
)
from .testbed.base import Testbed
from .traffic import TrafficClass
from .trafficgen.base import Generator, TrafficProfile
from .trafficgen.factory import GeneratorFactory, builtin

if TYPE_CHECKING:
    from .latency_run import LatencyMeasurement



@dataclass(frozen=True)
class RunOptions:
    loss_threshold: float = 0.001
    trial_duration: float = 1.0
    min_load: float = 10_000.0
    relative_width: float = 0.005
    mfr_repetitions: int = 1
    search_duration_max: float = 900.0
    repetitions: int = 1  # whole searches (with confirmation and MFR) per measurement
    confirm_trials: int = 1  # final trials at the NDR and at the PDR; 0: none
    confirm_duration: float | None = None  # s of each; None: trial_duration
    tester_retries: int = 1  # runs of a trial the tester spoiled before its load is a ceiling
    method: str = DEFAULT_METHOD  # the search preset (methods.METHODS)

    def __post_init__(self) -> None:
        method(self.method)  # an unknown one is a usage error here, before anything runs
        if self.repetitions < 1:
            raise XdpperfError(f"--repetitions {self.repetitions} is below 1",
                               "give the number of whole searches, e.g. 10")
        if self.confirm_trials < 0:
            raise XdpperfError(f"--confirm-trials {self.confirm_trials} is negative",
                               "give 0 (no confirmation) or more")
        if self.tester_retries < 0:
            raise XdpperfError(f"--tester-retries {self.tester_retries} is negative",
                               "give 0 (no retry) or more")
        if self.confirm_duration is not None and not self.confirm_duration > 0:
            raise XdpperfError(f"--confirm-duration {self.confirm_duration} is not positive",
                               "give seconds, e.g. 10, or leave it to --trial-duration")
        if self.mfr_repetitions < 1:
            raise XdpperfError(f"--mfr-repetitions {self.mfr_repetitions} is below 1",
                               "give the number of flat-out trials, e.g. 3")
        if not 0 < self.relative_width < 1:
            raise XdpperfError(f"--relative-width {self.relative_width} is not between 0 and 1",
                               "give the search's final precision, e.g. 0.005")
        if not 0 < self.min_load < math.inf:
            raise XdpperfError(f"--min-load {self.min_load} is not positive",
                               "give the lowest rate to search in packets/s, e.g. 10000")
        if not 0 < self.trial_duration < math.inf:
            raise XdpperfError(f"--trial-duration {self.trial_duration} is not positive",
                               "give seconds, e.g. 1")

    def check_min_load(self, max_load: float) -> None:
        """The calibrated ceiling leaves room to search: a usage error naming both
        rates otherwise (checked right after calibration, before any test runs)."""
        if not self.min_load < max_load:
            raise XdpperfError(
                f"--min-load {self.min_load:.0f} pps is not below the {max_load:.0f} pps the "
                "tester was calibrated to offer", "give a lower --min-load")

    @property
    def effective_confirm_duration(self) -> float:
        return self.trial_duration if self.confirm_duration is None else self.confirm_duration

    @property
    def method_record(self) -> dict[str, Any]:
        """The record's `method` section: the preset and its goal settings."""
        return method(self.method).as_dict(self.trial_duration)

    def search_spec(self, max_load: float) -> SearchSpec:
        preset = method(self.method)
        return SearchSpec(
            exceed_ratio=preset.exceed_ratio,
            duration_sum=preset.duration_sum_trials * self.trial_duration,
            max_load=max_load,
            min_load=self.min_load,
            loss_threshold=self.loss_threshold,
            relative_width=self.relative_width,
            trial_duration=self.trial_duration,
            search_duration_max=self.search_duration_max,
            tester_retries=self.tester_retries,
        )


class XdpPerf:
    def __init__(self, testbed: Testbed, builder: Builder, calibration: Calibration,
                 mode: Mode, traffic_class: str | None, options: RunOptions,
                 benchmark: Any, profile: TrafficProfile,
                 progress: ProgressLine | Callable[[str], None] | None = None,
                 journal: Journal | None = None, test_id: str = "",
                 generator_factory: GeneratorFactory = builtin,
                 judged_figure: Callable[[dict[str, Any]], tuple[str, str]] = default_figure):
        self.testbed = testbed
        self.builder = builder
        self.calibration = calibration
        self.mode = mode
        self.traffic_class = traffic_class
        self.options = options
        self.benchmark = benchmark
        self.profile = profile
        # the live progress line; a plain callable gets each line's text instead
        self.progress = progress
        self.journal = journal or Journal(None)
        self.test_id = test_id
        # the session's --generator; called for each measurement's traffic
        self.generator_factory = generator_factory
        # (figure, why) a throughput record is judged and headlined by, from its
        # extra_info (the plugin's: the testbed's thresholds entry, else the method's)
        self.judged_figure = judged_figure

    def _class(self) -> str:
        if self.traffic_class is None:
            raise XdpperfError("this test has no traffic class marker",
                               "mark it @pytest.mark.drop, passthrough or local")
        return self.traffic_class

    def start(self, nf: str, attach: str = "native", bind: str = "copy",
              need_wakeup: bool = True, **params: Any) -> AbstractContextManager[RunningNf]:
        """Build an NF and give a context in which it runs in this test's mode, with the
        mode's interface settings in force, as throughput() runs it (for tests that drive
        it themselves):  ``with xdpperf.start("macswap") as running: ...``.
        An NF without this mode skips the test here, before anything starts."""
        spec = NfSpec(nf, params, attach=attach, bind=bind, need_wakeup=need_wakeup)
        binary = self.builder.program(nf)
        self.skip_unsupported(nf, binary)
        return self._running(binary, spec)

    @contextmanager
    def _running(self, binary: Any, spec: NfSpec) -> Iterator[RunningNf]:
        with applied(self.mode, self.testbed.dut), \
                RunningNf(binary, spec, self.mode, self.testbed.dut) as running:
            self.testbed.prepare_dut_napi()
            yield running

    def skip_unsupported(self, nf: str, binary: Any) -> None:
        """Skip the test (never silently pass it) if the NF lacks this test's mode."""
        reason = unsupported_reason(binary, self.mode)
        if reason is not None:
            pytest.skip(f"{nf} cannot run in mode {self.mode.name}: {reason}")

    def generator(self, profile: TrafficProfile | None = None) -> Generator:
        """The session's generator (--generator) for `profile` (default this test's);
        close() it when done, e.g. `with contextlib.closing(xdpperf.generator()) as g`."""
        return self.generator_factory(self.testbed, self.builder, profile or self.profile)

    def throughput(self, nf: str, attach: str = "native", bind: str = "copy",
                   need_wakeup: bool = True, **params: Any) -> Measurement:
        """RFC 2544 NDR/PDR and the maximum forwarding rate of `nf`, recorded."""
        traffic_class = self._class()
        binary = self.builder.program(nf)
        if has_param(binary, "action"):  # NFs without one (e.g. chain) decide alone
            params.setdefault("action", TrafficClass.parse(traffic_class).action)
        spec = NfSpec(nf, params, attach=attach, bind=bind, need_wakeup=need_wakeup)
        self.skip_unsupported(nf, binary)
        opts = self.options
        notes: list[str] = []
        local_class = traffic_class == TrafficClass.LOCAL
        with applied(self.mode, self.testbed.dut), \
                (local.passing_nf(self.testbed, binary, spec, self.mode) if local_class else
                 RunningNf(binary, spec, self.mode, self.testbed.dut)) as running, \
                closing(self.generator()) as generator:
            self.testbed.prepare_dut_napi()
            measurer: TrialMeasurer | local.LocalMeasurer = (
                local.LocalMeasurer(generator, local.StackCounters(self.testbed, self.mode),
                                    running.stats) if local_class else
                TrialMeasurer(generator, self.testbed.tester, self.testbed.dut, traffic_class,
                              running.stats))
            try:
                measurer(opts.min_load * 10, min(0.2, opts.trial_duration))  # warm-up
                measurer.history.clear()
                stats_before = running.stats()  # the NF's counters from here on
                repetitions = []
                for index in range(opts.repetitions):
                    repetitions.append(rep := self._repetition(measurer, spec, index))
                    if opts.repetitions > 1:  # each one kept as soon as it is done
                        self.journal.write("repetition", self.test_id, {
                            "nf": spec.label(), "mode": self.mode.name,
                            "repetition": index, "ndr_pps": rep.ndr.rate_pps,
                            "pdr_pps": rep.pdr.rate_pps, "mfr_pps": rep.mfr_pps})
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
        if busy_poll:
            notes.append(busy_poll)
        floor = self.calibration.loss_floor_for(traffic_class)
        if floor > opts.loss_threshold:
            path = ("(reflector) loses" if traffic_class == TrafficClass.PASSTHROUGH
                    else "(no-op NF) loses")
            notes.append(f"the bare testbed {path} {floor:.3%} at "
                         f"{self.calibration.max_load_pps / 1e6:.2f} Mpps, more than the "
                         f"{opts.loss_threshold:.3%} threshold: PDRs near the no-op's "
                         "measure the testbed, see testbed_bound")
        trials = [t for r in repetitions for t in r.search.trials]
        if not all(t.extra.get("counters_agree", True) for t in trials):
            notes.append("kernel counters did not account for every frame sent in some trials")
        notes.extend(notes_on_the_tester(repetitions))
        measurement = Measurement(spec, self.mode, traffic_class, self.profile,
                                  opts.loss_threshold, repetitions, self.calibration, notes,
                                  driver_by_syscall_share=by_syscall,
                                  nf_counters=counter_deltas(stats_before, stats_after),
                                  method=opts.method_record)
        measurement.judged = self.judged_figure(measurement.extra_info())
        notes.extend(measurement.confirmation_notes())
        if measurement.livelock:  # detected in the data, not assumed for user space
            notes.append(measurement.livelock)
        record(self.benchmark, measurement)
        self.journal.write("measurement", self.test_id, measurement.extra_info())
        return measurement

    def _repetition(self, measurer: Trial, spec: NfSpec, index: int) -> Repetition:
        """One whole search: NDR/PDR, the final trials confirming them (with the DUT's CPU
        and LLC sampled around them), then the MFR."""
        opts = self.options
        label = f"{self.mode.name} {spec.label()}"
        if opts.repetitions > 1:
            label += f" rep {index + 1}/{opts.repetitions}"
        max_load = self.calibration.max_load_pps
        # the bare path's own loss at max_load: an MFR trial losing no more is unsaturated
        path_loss = self.calibration.loss_floor_for(self._class())
        line = self._progress_line()

        def kept(phase: str, t: TrialResult) -> None:  # each trial on disk as it ends
            self.journal.write("trial", self.test_id, {
                "nf": spec.label(), "mode": self.mode.name, "repetition": index,
                "phase": phase, **trial_dict(t)})

        with line.running(label):
            search = find_throughput(_shown(measurer, line, "search", kept),
                                     opts.search_spec(max_load))
            ndr_confirmation = pdr_confirmation = None
            confirming = opts.confirm_trials > 0 and (
                search.ndr.rate_pps is not None or search.pdr.rate_pps is not None)
            if confirming:
                with self._final_trials() as samplers:
                    ndr_confirmation, pdr_confirmation = confirm(
                        _shown(measurer, line, "confirm", kept), search, opts.confirm_trials,
                        opts.effective_confirm_duration, tester_retries=opts.tester_retries)
                final = {id(t): t for c in (ndr_confirmation, pdr_confirmation) if c
                         for t in c.trials}  # NDR and PDR at one rate share their trials
                metrics = samplers.result(sum(t.forwarded for t in final.values()))
                mfr = max_forwarding_rate(_shown(measurer, line, "mfr", kept), max_load,
                                          opts.trial_duration, opts.mfr_repetitions,
                                          tester_retries=opts.tester_retries,
                                          path_loss=path_loss)
            else:  # nothing to confirm: sample the MFR trials, the only final ones
                with self._final_trials() as samplers:
                    mfr = max_forwarding_rate(_shown(measurer, line, "mfr", kept), max_load,
                                              opts.trial_duration, opts.mfr_repetitions,
                                              tester_retries=opts.tester_retries,
                                              path_loss=path_loss)
                metrics = samplers.result(sum(t.forwarded for t in mfr.trials))
        return Repetition(search, mfr, ndr_confirmation, pdr_confirmation, metrics,
                          "confirmation" if confirming else "max_forwarding_rate")

    def _progress_line(self) -> ProgressLine:
        if isinstance(self.progress, ProgressLine):
            return self.progress
        return ProgressLine(None, callback=self.progress)

    def _final_trials(self) -> DutSamplers:
        """The context the final trials of a search (its confirmation at the NDR and the
        PDR) run in, once per repetition: the DUT's CPU split and LLC counters."""
        return DutSamplers(self.testbed.dut.cpus)

    def transactions(self, nf: str, app: str = "memcached", duration: float = 5.0,
                     threads: int = 1, concurrency: int = 16, attach: str = "native",
                     bind: str = "copy", need_wakeup: bool = True,
                     **params: Any) -> local.AppMeasurement:
        """Transactions/s of `app` on the DUT with `nf` in front of it (local class), recorded."""
        if self._class() != TrafficClass.LOCAL:
            raise XdpperfError("transactions() measures an application on the DUT",
                               "mark the test @pytest.mark.local")
        local.check_app(app)
        binary = self.builder.program(nf)
        if has_param(binary, "action"):
            params.setdefault("action", TrafficClass.LOCAL.action)
        spec = NfSpec(nf, params, attach=attach, bind=bind, need_wakeup=need_wakeup)
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
                bind: str = "copy", need_wakeup: bool = True,
                **params: Any) -> LatencyMeasurement:
        """Latency through `nf` (passthrough) at `fractions` of its throughput (its NDR,
        measured unless `throughput_pps` is given) and at fixed `rates`, recorded."""
        from .latency_run import run_latency

        return run_latency(self, nf, rates, fractions, duration, throughput_pps, attach, bind,
                           need_wakeup, **params)


def _shown(trial: Trial, line: ProgressLine, phase: str,
           kept: Callable[[str, TrialResult], None] | None = None) -> Trial:
    """`trial`, with every result shown on the progress line and given to `kept`
    (the journal) as soon as it is measured."""
    def shown(rate: float, duration: float) -> TrialResult:
        result = trial(rate, duration)
        if kept is not None:  # on disk first, whatever the display does
            kept(phase, result)
        line.trial(phase, result)
        return result
    return shown


VERDICT_COUNTERS = ("rx", "drop", "tx", "pass", "redirect", "aborted")


def counter_deltas(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    """The NF's verdict counters between two stats() answers."""
    return {k: int(after.get(k, 0)) - int(before.get(k, 0)) for k in VERDICT_COUNTERS}


def notes_on_the_tester(repetitions: list[Repetition]) -> list[str]:
    """Say so when the tester, not the DUT, capped a figure or spoiled trials."""
    notes = []
    for goal in ("ndr", "pdr"):
        capped = [getattr(r, goal) for r in repetitions
                  if getattr(r, goal).status == "tester_bound"]
        if capped:
            bound = capped[0].upper_bound_pps or 0.0
            notes.append(f"{goal.upper()}: the tester could not offer {bound / 1e6:.3f} Mpps "
                         "(trials retried); the figure is a lower bound set by the tester")
    spoiled = sum(not t.valid for r in repetitions for t in r.search.trials)
    if spoiled:
        notes.append(f"{spoiled} search trials were spoiled by the tester (own overflow, short "
                     "or slow sending) and run again; they do not count as DUT loss")
    notes.extend(mfr_notes(repetitions))
    return notes


def mfr_notes(repetitions: list[Repetition]) -> list[str]:
    """How many MFR trials the tester spoiled (rfc2544.mfr_fault), and the repetitions
    whose MFR is the tester's because it spoiled every one of their trials."""
    mfrs = [r.max_forwarding for r in repetitions if r.max_forwarding]
    spoiled, attempts = sum(m.spoiled for m in mfrs), sum(len(m.trials) for m in mfrs)
    notes = []
    if spoiled:
        notes.append(f"{spoiled} of {attempts} MFR trials were spoiled by the tester (it fell "
                     "short of the load while the DUT lost no more than the bare testbed); "
                     "each was run again while --tester-retries allowed, and their rates do "
                     "not count")
    bound = [i + 1 for i, r in enumerate(repetitions)
             if r.max_forwarding and r.max_forwarding.tester_bound]
    if bound:
        which = "" if len(repetitions) == 1 else \
            f" in repetition{'s' if len(bound) > 1 else ''} {', '.join(map(str, bound))}"
        notes.append(f"MFR: the tester spoiled every trial{which}; the figure is what the "
                     "tester managed (a lower bound), not the DUT's maximum forwarding rate")
    return notes
