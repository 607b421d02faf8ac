"""The throughput procedure (RFC 2544 sections 26.1 and 26.4 as MLRsearch runs them):
repetitions of a whole search - NDR and PDR, the final trials confirming them with the
DUT's CPU split and LLC counters sampled around them, then the maximum forwarding
rate - through one NfSession, each trial journaled as it ends, then recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .local import LocalMeasurer
from .measure import TrialMeasurer, fitted
from .nf import busy_poll_note, syscall_share
from .progress import ProgressLine
from .results import Measurement, Repetition, record
from .rfc2544 import (
    Trial,
    TrialResult,
    confirm,
    find_throughput,
    max_forwarding_rate,
    trial_dict,
)
from .session import Context, NfSession


def measure_throughput(session: NfSession, ctx: Context) -> Measurement:
    """NDR/PDR and the MFR of the (entered) session's NF, recorded and journaled; a
    failure or Ctrl-C journals what was measured before it as unfinished."""
    if session.running is None:
        raise RuntimeError("measure_throughput() needs the session entered")
    traffic_class, mode, spec = session.traffic_class, session.mode, session.spec
    running = session.running
    measurer = session.measurer()
    assert traffic_class is not None  # measurer() refuses a session without one
    opts, calibration, journal = ctx.options, ctx.calibration, ctx.journal
    notes: list[str] = []
    try:
        measurer(opts.min_load * 10, min(0.2, opts.trial_duration))  # warm-up
        measurer.history.clear()
        stats_before = running.stats()  # the NF's counters from here on
        repetitions = []
        for index in range(opts.repetitions):
            repetitions.append(rep := _repetition(session, ctx, measurer, index))
            if opts.repetitions > 1:  # each one kept as soon as it is done
                journal.write("repetition", ctx.test_id, {
                    "nf": spec.label(), "mode": mode.name,
                    "repetition": index, "ndr_pps": rep.ndr.rate_pps,
                    "pdr_pps": rep.pdr.rate_pps, "mfr_pps": rep.mfr_pps})
        # did the NF's syscalls really run the driver (busy poll) in *-sysc?
        stats_after = running.stats()
        busy_poll = busy_poll_note(mode, stats_before, stats_after)
        by_syscall = syscall_share(stats_before, stats_after)
    except BaseException as exc:
        # keep what was measured before the failure (or Ctrl-C)
        journal.write("unfinished", ctx.test_id, {
            "nf": spec.label(), "mode": mode.name, "error": repr(exc),
            "trials": [trial_dict(t) for t in measurer.history]})
        raise
    if busy_poll:
        notes.append(busy_poll)
    floor = calibration.loss_floor_for(traffic_class)
    if floor > opts.loss_threshold:
        path = "(reflector) loses" if traffic_class == "passthrough" else "(no-op NF) loses"
        notes.append(f"the bare testbed {path} {floor:.3%} at "
                     f"{calibration.max_load_pps / 1e6:.2f} Mpps, more than the "
                     f"{opts.loss_threshold:.3%} threshold: PDRs near the no-op's "
                     "measure the testbed, see testbed_bound")
    trials = [t for r in repetitions for t in r.search.trials]
    if not all(t.extra.get("counters_agree", True) for t in trials):
        notes.append("kernel counters did not account for every frame sent in some trials")
    notes.extend(notes_on_the_tester(repetitions))
    measurement = Measurement(spec, mode, traffic_class, session.setup.profile,
                              opts.loss_threshold, repetitions, calibration, notes,
                              driver_by_syscall_share=by_syscall,
                              nf_counters=counter_deltas(stats_before, stats_after),
                              method=opts.method_record)
    measurement.judged = ctx.judged_figure(measurement.extra_info())
    notes.extend(measurement.confirmation_notes())
    if measurement.livelock:  # detected in the data, not assumed for user space
        notes.append(measurement.livelock)
    record(ctx.benchmark, measurement)
    journal.write("measurement", ctx.test_id, measurement.extra_info())
    return measurement


def _repetition(session: NfSession, ctx: Context, measurer: TrialMeasurer | LocalMeasurer,
                index: int) -> Repetition:
    """One whole search: NDR/PDR, the final trials confirming them (with the DUT's CPU
    and LLC sampled around them), then the MFR."""
    opts, calibration, spec = ctx.options, ctx.calibration, session.spec
    label = f"{session.mode.name} {spec.label()}"
    if opts.repetitions > 1:
        label += f" rep {index + 1}/{opts.repetitions}"
    max_load = calibration.max_load_pps
    # the bare path's own loss at max_load: an MFR trial losing no more is unsaturated
    path_loss = calibration.loss_floor_for(session.traffic_class or "drop")
    line = ctx.progress_line()

    def kept(phase: str, t: TrialResult) -> None:  # each trial on disk as it ends
        ctx.journal.write("trial", ctx.test_id, {
            "nf": spec.label(), "mode": session.mode.name, "repetition": index,
            "phase": phase, **trial_dict(t)})

    with line.running(label):
        search = find_throughput(_shown(measurer, line, "search", kept),
                                 fitted(opts.search_spec(max_load), measurer.generator))
        ndr_confirmation = pdr_confirmation = None
        confirming = opts.confirm_trials > 0 and (
            search.ndr.rate_pps is not None or search.pdr.rate_pps is not None)
        if confirming:
            with session.final_trials() as samplers:
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
            with session.final_trials() as samplers:
                mfr = max_forwarding_rate(_shown(measurer, line, "mfr", kept), max_load,
                                          opts.trial_duration, opts.mfr_repetitions,
                                          tester_retries=opts.tester_retries,
                                          path_loss=path_loss)
            metrics = samplers.result(sum(t.forwarded for t in mfr.trials))
    return Repetition(search, mfr, ndr_confirmation, pdr_confirmation, metrics,
                      "confirmation" if confirming else "max_forwarding_rate")


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
                     "each was run again while --xdpperf-tester-retries allowed, and their "
                     "rates do not count")
    bound = [i + 1 for i, r in enumerate(repetitions)
             if r.max_forwarding and r.max_forwarding.tester_bound]
    if bound:
        which = "" if len(repetitions) == 1 else \
            f" in repetition{'s' if len(bound) > 1 else ''} {', '.join(map(str, bound))}"
        notes.append(f"MFR: the tester spoiled every trial{which}; the figure is what the "
                     "tester managed (a lower bound), not the DUT's maximum forwarding rate")
    return notes
