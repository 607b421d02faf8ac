"""Records, repetitions, confirmation, calibration and the results table, from simulated
searches (tests/simdut.py): no root, no real time."""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pytest_benchmark.stats import Stats
from scipy.stats import t as student_t
from simdut import (
    Degrading,
    Deterministic,
    Livelocking,
    LossFloor,
    ShortSending,
    SimDut,
    SimTestbed,
    SlowTester,
    Wobbly,
)

from pytest_xdpperf.calibration import LOSS_TABLE_SHARES, Calibration, measure_testbed
from pytest_xdpperf.errors import XdpperfError
from pytest_xdpperf.methods import default_figure
from pytest_xdpperf.modes import MODES
from pytest_xdpperf.nf import NfSpec
from pytest_xdpperf.options import RunOptions
from pytest_xdpperf.report import flags, table
from pytest_xdpperf.results import RECORD_VERSION, Measurement, Repetition, record
from pytest_xdpperf.rfc2544 import SearchSpec, confirm, find_throughput, max_forwarding_rate
from pytest_xdpperf.stats import summary
from pytest_xdpperf.thresholds import Rule, derive, load, write
from pytest_xdpperf.throughput import notes_on_the_tester
from pytest_xdpperf.trafficgen.base import TrafficProfile
from pytest_xdpperf.verdict import FAIL, INCONCLUSIVE, PASS, judge_throughput

C = 1e6
SPEC = SearchSpec(max_load=4e6, min_load=1e4, search_duration_max=1e6)
CAL = Calibration(tester_capacity_pps=5e6, noop_forwarding_pps=5e6, max_load_pps=4.5e6,
                  noop_ndr_pps=3e6, noop_pdr_pps=3e6, noop_loss_at_max_load=0.0,
                  trial_duration=1.0)


def repetition(dut: SimDut, spec: SearchSpec = SPEC, confirm_after: bool = True) -> Repetition:
    search = find_throughput(dut, spec, clock=dut.clock)
    ndr, pdr = confirm(dut, search) if confirm_after else (None, None)
    return Repetition(search, max_forwarding_rate(dut, spec.max_load, 1.0), ndr, pdr)


def measurement(reps: list[Repetition], cal: Calibration = CAL) -> Measurement:
    return Measurement(NfSpec("macswap", {"action": "drop"}), MODES["xdp"], "drop",
                       TrafficProfile(), 0.001, reps, cal)


class FakeBenchmark:
    """What record() uses of pytest-benchmark's fixture, with its real Stats."""

    def __init__(self) -> None:
        self.extra_info: dict[str, Any] = {}
        self.stats = Stats()

    def _make_stats(self, iterations: int) -> Stats:
        assert iterations == 1
        return self.stats


# --- repetitions --------------------------------------------------------------------------


def test_summary_is_mean_stdev_and_student_t_interval() -> None:
    values = [1.0e6, 1.1e6, 0.9e6, 1.05e6]
    s = summary(values)
    half = student_t.ppf(0.975, 3) * statistics.stdev(values) / 2
    assert s["n"] == 4
    assert s["mean"] == pytest.approx(statistics.fmean(values))
    assert s["stdev"] == pytest.approx(statistics.stdev(values))
    assert s["ci95"] == pytest.approx([s["mean"] - half, s["mean"] + half])
    assert student_t.ppf(0.975, 3) == pytest.approx(3.182, abs=1e-3)  # the textbook value
    assert summary([2.0, None]) == {"n": 1, "mean": 2.0, "stdev": None, "ci95": None}
    assert summary([None]) == {"n": 0, "mean": None, "stdev": None, "ci95": None}


def test_repetitions_record() -> None:
    reps = [repetition(Wobbly(capacity=C, wobble=0.05, seed=seed)) for seed in range(5)]
    m = measurement(reps)
    bench = FakeBenchmark()
    record(bench, m)
    info = bench.extra_info
    assert info["xdpperf_kind"] == "throughput" and info["xdpperf_schema"] == RECORD_VERSION == 3
    assert info["xdpperf_record"] == 2  # the legacy marker, for older readers (schema.LEGACY)
    r = info["repetitions"]
    assert r["count"] == 5
    assert r["ndr_pps"] == [x.ndr.rate_pps for x in reps]
    assert r["pdr_pps"] == [x.pdr.rate_pps for x in reps]
    assert r["mfr_pps"] == [x.max_forwarding.mean_pps for x in reps if x.max_forwarding]
    for key in ("ndr", "pdr", "mfr"):
        assert r[key] == summary(r[f"{key}_pps"])
        assert set(r[key]) >= {"mean", "stdev", "ci95"}
        lo, hi = r[key]["ci95"]
        assert lo < r[key]["mean"] < hi
    assert len(set(r["pdr_pps"])) > 1, "the wobble should make repetitions differ"
    # the headline: PDR once per repetition, its mean, and one stats round each
    assert info["metric"] == "pdr"
    assert info["metric_samples_pps"] == r["pdr_pps"]
    assert info["metric_pps"] == pytest.approx(statistics.fmean(r["pdr_pps"]))
    assert bench.stats.rounds == 5
    assert bench.stats.min == pytest.approx(1 / max(r["pdr_pps"]))
    assert bench.stats.max == pytest.approx(1 / min(r["pdr_pps"]))
    assert bench.stats.mean == pytest.approx(statistics.fmean(1 / p for p in r["pdr_pps"]))
    # ndr/pdr/trials are the median repetition's, consistently
    i = info["representative_repetition"]
    assert sorted(r["pdr_pps"])[2] == r["pdr_pps"][i] == info["pdr"]["rate_pps"]
    assert info["ndr"]["rate_pps"] == r["ndr_pps"][i]
    assert info["search"]["trials"] == len(reps[i].search.trials) == len(info["trials"])


def test_one_repetition_record() -> None:
    m = measurement([repetition(Deterministic(capacity=C))])
    bench = FakeBenchmark()
    record(bench, m)
    info = bench.extra_info
    assert info["repetitions"]["count"] == 1
    assert info["repetitions"]["pdr"]["stdev"] is None
    assert info["metric_samples_pps"] == [info["pdr"]["rate_pps"]] == [info["metric_pps"]]
    assert bench.stats.rounds == 1 and bench.stats.mean == pytest.approx(1 / info["metric_pps"])


def test_headline_falls_back_to_mfr_only_when_every_repetition_lacks_a_pdr() -> None:
    floor = LossFloor(capacity=C, floor=0.5)  # no PDR at all
    reps = [repetition(floor), repetition(Deterministic(capacity=C))]
    metric, samples = measurement(reps).metric_samples
    assert metric == "max_forwarding_rate"
    assert samples == [r.max_forwarding.mean_pps for r in reps if r.max_forwarding]
    bench = FakeBenchmark()
    record(bench, measurement(reps))
    assert bench.extra_info["repetitions"]["pdr_pps"][0] is None
    assert bench.extra_info["repetitions"]["pdr"]["n"] == 1
    assert bench.stats.rounds == 2


def test_no_figure_no_stats() -> None:
    rep = repetition(LossFloor(capacity=C, floor=0.5))
    m = measurement([replace(rep, max_forwarding=None)])
    bench = FakeBenchmark()
    record(bench, m)
    assert bench.extra_info["metric"] == "none" and bench.extra_info["metric_samples_pps"] == []
    assert bench.stats.rounds == 0


def test_a_measurement_needs_a_repetition() -> None:
    with pytest.raises(ValueError, match="at least one repetition"):
        measurement([])


# --- confirmation in the record -----------------------------------------------------------


def test_verified_figures_in_the_record() -> None:
    bench = FakeBenchmark()
    record(bench, measurement([repetition(Deterministic(capacity=C))]))
    info = bench.extra_info
    for goal in ("ndr", "pdr"):
        assert info[goal]["verified"] is True
        conf = info[goal]["confirmation"]
        assert conf["verified"] is True and conf["reason"] is None and conf["count"] == 1
        assert [t["intended_pps"] for t in conf["trials"]] == [info[goal]["rate_pps"]]
    assert info["unverified"] == []
    assert info["repetitions"]["pdr_verified"] == [True]


def test_a_failed_confirmation_is_flagged_and_noted() -> None:
    dut = Degrading(capacity=C, factor=0.8)
    search = find_throughput(dut, SPEC, clock=dut.clock)
    dut.after = len(dut.seen)
    ndr, pdr = confirm(dut, search)
    m = measurement([Repetition(search, None, ndr, pdr)])
    m.notes.extend(m.confirmation_notes())
    bench = FakeBenchmark()
    record(bench, m)
    info = bench.extra_info
    assert info["pdr"]["verified"] is False and info["unverified"] == ["NDR", "PDR"]
    assert info["pdr"]["rate_pps"] == search.pdr.rate_pps  # reported, not hidden
    assert any(n.startswith("PDR ") and "not verified" in n for n in info["notes"])
    assert "ndr:unverified pdr:unverified" in table([("t::test_x[xdp]", m)])


def test_no_confirmation_is_none_not_true() -> None:
    bench = FakeBenchmark()
    record(bench, measurement([repetition(Deterministic(capacity=C), confirm_after=False)]))
    assert bench.extra_info["pdr"]["verified"] is None
    assert bench.extra_info["pdr"]["confirmation"] is None


# --- tester_bound -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("capacity", "bound"),
    [(3e6, False), (4.4e6, False), (4.6e6, True), (4.8e6, True)],
)
def test_tester_bound_within_10_percent_of_tester_capacity(capacity: float, bound: bool) -> None:
    # tester capacity 5e6: figures from 4.5e6 up measured the tester as much as the DUT
    spec = replace(SPEC, max_load=4.9e6)
    dut = Deterministic(capacity=capacity)
    search = find_throughput(dut, spec, clock=dut.clock)
    m = measurement([Repetition(search, None)])
    assert search.pdr.status == "found"
    assert m.tester_bound is bound


def test_tester_bound_by_the_mfr_or_by_never_losing() -> None:
    det = Deterministic(capacity=1e6)
    search = find_throughput(det, SPEC, clock=det.clock)
    fast_mfr = max_forwarding_rate(SimDut(), 4.8e6, 1.0)
    assert measurement([Repetition(search, fast_mfr)]).tester_bound
    never = SimDut()
    assert measurement([Repetition(find_throughput(never, SPEC, clock=never.clock),
                                   None)]).tester_bound


def test_tester_bound_status_is_flagged_and_noted() -> None:
    slow = SlowTester(limit=5e5)
    rep = Repetition(find_throughput(slow, SPEC, clock=slow.clock), None)
    assert rep.pdr.status == "tester_bound"
    m = measurement([rep])
    assert m.tester_bound
    notes = notes_on_the_tester([rep])
    assert any(n.startswith("PDR: the tester could not offer") for n in notes)
    assert any("spoiled by the tester" in n for n in notes)
    assert "0.498+" in table([("t::test_x[xdp]", m)])  # a lower bound, marked as such


def mfr_repetition(mfr_dut: SimDut, repetitions: int = 1) -> Repetition:
    """A found NDR/PDR at C, and the MFR measured through `mfr_dut`."""
    det = Deterministic(capacity=C)
    return Repetition(find_throughput(det, SPEC, clock=det.clock),
                      max_forwarding_rate(mfr_dut, SPEC.max_load, 1.0, repetitions))


def test_a_spoiled_mfr_trial_is_recorded_and_noted_but_not_counted() -> None:
    # 0.2 of 4 Mpps sent, all forwarded: spoiled; the retry overloads the DUT
    m = measurement([mfr_repetition(ShortSending(0.2, 1.0))])
    mfr = m.extra_info()["max_forwarding_rate"]
    assert mfr["rates_pps"] == [C] and mfr["mean_pps"] == C
    assert [t["valid"] for t in mfr["trials"]] == [False, True]  # every attempt kept
    assert [t["counted"] for t in mfr["trials"]] == [False, True]
    assert "the DUT lost nothing" in mfr["trials"][0]["tester_fault"]
    assert mfr["trials"][1]["tester_fault"] is None
    assert (mfr["spoiled_trials"], mfr["tester_bound"], mfr["saturated"]) == (1, False, True)
    assert mfr["tester_offered_pps"] == [SPEC.max_load]  # of the counted trial only
    assert m.extra_info()["repetitions"]["mfr_tester_bound"] == [False]
    assert not m.tester_bound and "tester_bound" not in flags(m)
    notes = notes_on_the_tester(m.repetitions)
    assert "1 of 2 MFR trials were spoiled by the tester" in " ".join(notes)
    assert not any(n.startswith("MFR:") for n in notes)


def test_an_mfr_the_tester_spoiled_throughout_is_flagged_not_a_dut_figure(
        tmp_path: Path) -> None:
    good = replace(measurement([mfr_repetition(Deterministic(capacity=C))]),
                   mode=MODES["af_xdp"])
    # the spoiled repetition is not the representative one (whose MFR dict the record
    # shows): only the per-repetition flag tells the verdict
    spoiled = [mfr_repetition(Deterministic(capacity=C)), mfr_repetition(SlowTester(limit=5e5))]
    m = replace(measurement(spoiled), mode=MODES["af_xdp"])
    assert spoiled[1].max_forwarding and spoiled[1].max_forwarding.tester_bound
    assert m.tester_bound and "tester_bound" in flags(m)
    # 0.5 Mpps flat out against a 1 Mpps PDR would read as a collapse; the DUT lost nothing
    assert m.livelock is None and "mfr:livelock" not in flags(m)
    info = m.extra_info()
    assert info["repetitions"]["mfr_tester_bound"] == [False, True]
    assert info["representative_repetition"] == 0
    notes = notes_on_the_tester(m.repetitions)
    # repetition 1: one valid trial; repetition 2: a trial and its retry, both spoiled
    assert "2 of 3 MFR trials were spoiled" in " ".join(notes)
    assert any(n.startswith("MFR: the tester spoiled every trial in repetition 2;")
               for n in notes)
    # judged against a limit made from a good run: below it, but the tester's doing
    doc = derive([[good.extra_info()]], Rule(0.10, 0.0), "veth", ["good.json"],
                 figure="max_forwarding_rate")
    write(doc, tmp_path / "t.toml")
    limits = load(tmp_path / "t.toml")
    verdict = judge_throughput(info, limits)
    assert verdict.status == INCONCLUSIVE
    assert "the tester spoiled every MFR trial of repetition 2" in verdict.reason
    # the same figures with the DUT to blame (the old record: no flag) fail
    info["repetitions"]["mfr_tester_bound"] = [False, False]
    assert judge_throughput(info, limits).status == FAIL
    assert judge_throughput(good.extra_info(), limits).status == PASS
    # and a run the tester spoiled gives no MFR limit of its own
    assert derive([[m.extra_info()]], Rule(0.10, 0.0), "veth", ["x"],
                  figure="max_forwarding_rate").get("throughput") in (None, [])


# --- calibration --------------------------------------------------------------------------


def test_calibration_measures_capacity_and_a_loss_table() -> None:
    bed = SimTestbed(capacity=3e6, tester=2e6, floor=0.0005)
    # min_load such that the shortest trial has packets enough to show a 0.05 % loss
    spec = replace(SPEC, max_load=1e9, min_load=1e5, trial_duration=0.2)
    cal = measure_testbed(bed, spec)
    assert cal.tester_capacity_pps == pytest.approx(2e6)
    assert cal.max_load_pps == pytest.approx(0.9 * 2e6)
    assert [p.share for p in cal.loss_table] == list(LOSS_TABLE_SHARES)
    assert [p.intended_pps for p in cal.loss_table] == pytest.approx(
        [s * 2e6 for s in LOSS_TABLE_SHARES])
    for p in cal.loss_table:
        assert p.loss_ratio == pytest.approx(0.0005, abs=1e-5)  # the floor, at every rate
        assert p.tester_fault is None
    assert cal.loss_floor == cal.loss_table[-1].loss_ratio
    assert cal.noop_ndr_pps is None  # the floor loses at every rate
    assert cal.noop_pdr_pps is not None
    assert cal.as_dict()["loss_table"][0]["share"] == 0.1
    # cheap enough for CI: flat out, five table points, then one search of the no-op
    before_search = 1 + 1 + len(LOSS_TABLE_SHARES)
    assert len(bed.seen) <= before_search + 20
    assert "testbed loss floor" in table([("t::x", measurement(
        [repetition(Deterministic(capacity=C))], cal))])


def test_calibration_below_what_a_lagging_tester_holds() -> None:
    # flat out 2e6, but paced it cannot hold more than 1.5e6: searches stay below that
    bed = SimTestbed(capacity=3e6, tester=2e6, paced_limit=1.5e6)
    cal = measure_testbed(bed, replace(SPEC, max_load=1e9, trial_duration=0.2))
    top = cal.loss_table[-1]
    assert top.tester_fault is not None and "offered" in top.tester_fault
    assert cal.max_load_pps == pytest.approx(top.offered_pps * 0.98)
    assert cal.max_load_pps <= 1.5e6
    assert all(p.tester_fault is None for p in cal.loss_table[:-1])


# --- options ------------------------------------------------------------------------------


def test_confirm_duration_defaults_to_trial_duration() -> None:
    assert RunOptions(trial_duration=0.5).effective_confirm_duration == 0.5
    assert RunOptions(confirm_duration=10.0).effective_confirm_duration == 10.0
    assert RunOptions(tester_retries=3).search_spec(1e6).tester_retries == 3
    assert math.isfinite(RunOptions().search_spec(1e6).search_duration_max)


def test_metrics_of_the_representative_repetition() -> None:
    reps = [replace(repetition(Wobbly(capacity=C, wobble=0.05, seed=seed)),
                    metrics={"cpu": {"seed": seed}}, metrics_sampled="confirmation")
            for seed in range(3)]
    m = measurement(reps)
    info = m.extra_info()
    assert info["cpu"] == {"seed": m.representative_index} == m.metrics["cpu"]
    assert info["llc"] is None and info["metrics_sampled"] == "confirmation"


def test_the_record_loss_floor_is_that_of_the_class_path() -> None:
    """Passthrough goes there and back: its floor is the reflector's; drop's the sink's."""
    from dataclasses import replace

    from pytest_xdpperf.calibration import LossPoint

    top = LossPoint(0.9, 4.5e6, 4.5e6, 0.02, 0, None)
    cal = replace(CAL, noop_loss_at_max_load=0.001,
                  reflector_loss_table=(LossPoint(0.1, 5e5, 5e5, 0.0, 0, None), top))
    assert cal.reflector_loss_floor == 0.02
    assert cal.as_dict()["reflector_loss_floor"] == 0.02
    m = measurement([repetition(SimDut())], cal)
    assert m.extra_info()["loss_floor"] == 0.001
    assert replace(m, traffic_class="passthrough").extra_info()["loss_floor"] == 0.02
    # without a reflector table (an older calibration) both use the sink's
    assert replace(m, traffic_class="passthrough", calibration=CAL).extra_info()[
        "loss_floor"] == CAL.loss_floor


@pytest.mark.parametrize("dut, mode, livelock", [
    (Livelocking(capacity=C, collapse=0.1), "af_xdp", True),   # collapsed flat out
    (Deterministic(capacity=C), "af_xdp", False),              # holds its rate flat out
    (Livelocking(capacity=C, collapse=0.1), "xdp", False),     # in-kernel: not livelock
])
def test_livelock_is_detected_from_the_data(dut: Any, mode: str, livelock: bool) -> None:
    m = replace(measurement([repetition(dut)]), mode=MODES[mode])
    assert bool(m.livelock) is livelock
    assert ("mfr:livelock" in flags(m)) is livelock
    if livelock:
        assert "0.100 Mpps" in (m.livelock or "")


def test_passthrough_testbed_bound_is_judged_by_the_round_trip() -> None:
    """CAL's one-way sink has PDR 3 Mpps; a passthrough PDR of 1 Mpps is far below it, but
    the bare round trip already lost 2% at 1.05 Mpps: the path decided that PDR."""
    from pytest_xdpperf.calibration import LossPoint

    m = replace(measurement([repetition(Deterministic(capacity=C))]),
                traffic_class="passthrough")  # PDR ~1 Mpps
    assert not m.testbed_bound  # no reflector table: the sink's 3 Mpps stands in
    table = (LossPoint(0.1, 5e5, 5e5, 0.0, 0, None), LossPoint(0.21, 1.05e6, 1.05e6, 0.02, 0,
                                                                None))
    assert replace(m, calibration=replace(CAL, reflector_loss_table=table)).testbed_bound
    # the round trip kept the goal at 1.05 Mpps: the NF decided it
    clean = (table[0], replace(table[1], loss_ratio=0.0))
    assert not replace(m, calibration=replace(CAL, reflector_loss_table=clean)).testbed_bound
    # a point the tester spoiled says nothing of the path
    spoiled = (table[0], replace(table[1], tester_fault="the tester's own queue overflowed"))
    assert not replace(m, calibration=replace(CAL, reflector_loss_table=spoiled)).testbed_bound
    # the drop class is judged by the one-way sink whatever the reflector did
    assert not replace(m, traffic_class="drop",
                       calibration=replace(CAL, reflector_loss_table=table)).testbed_bound


# --- the judged figure is the headline ------------------------------------------------

def test_the_headline_is_the_judged_figure_and_the_record_says_why() -> None:
    reps = [repetition(Deterministic(capacity=C)), repetition(Deterministic(capacity=C))]
    m = measurement(reps)
    assert m.metric_samples[0] == "pdr"  # nothing judged: the PDR, as before
    for judged, headline, samples in (
            ("max_forwarding_rate", "max_forwarding_rate", [r.mfr_pps for r in reps]),
            ("mfr_vs_noop", "max_forwarding_rate", [r.mfr_pps for r in reps]),
            ("ndr", "ndr", [r.ndr.rate_pps for r in reps])):
        m.judged = (judged, "because")
        bench = FakeBenchmark()
        record(bench, m)
        assert m.metric_samples == (headline, samples)
        assert bench.extra_info["metric"] == headline
        assert bench.extra_info["judged_figure"] == {"figure": judged, "why": "because",
                                                     "headline": headline}
        # pytest-benchmark's stats hold the judged figure, as s per packet
        assert bench.stats.rounds == 2 and math.isclose(bench.stats.min, 1 / max(samples))


def test_a_judged_figure_a_repetition_lacks_falls_back_to_the_old_headline() -> None:
    reps = [repetition(LossFloor(capacity=C, floor=0.5)), repetition(Deterministic(capacity=C))]
    m = measurement(reps)
    m.judged = ("pdr", "method mlrsearch")
    assert m.metric_samples[0] == "max_forwarding_rate"  # no PDR in the first


def test_the_method_is_in_the_search_spec_and_the_record() -> None:
    strict = RunOptions().search_spec(1e6)
    assert strict.exceed_ratio == 0.0 and strict.effective_duration_sum == 1.0
    opts = RunOptions(method="mlrsearch", trial_duration=0.5)
    spec = opts.search_spec(1e6)
    assert spec.exceed_ratio == 0.5 and spec.effective_duration_sum == 2.5
    assert opts.method_record == {"name": "mlrsearch", "goal_exceed_ratio": 0.5,
                                  "goal_duration_sum": 2.5}
    m = measurement([repetition(Deterministic(capacity=C))])
    m.method = opts.method_record
    assert m.extra_info()["method"]["name"] == "mlrsearch"
    with pytest.raises(XdpperfError, match="--xdpperf-method 'csit' is unknown"):
        RunOptions(method="csit")


def test_the_default_figure_follows_the_method_and_the_testbeds_loss() -> None:
    lossy = {"loss_floor": 0.05, "loss_threshold": 0.001}
    clean = {"loss_floor": 0.0, "loss_threshold": 0.001}
    assert default_figure(lossy)[0] == "max_forwarding_rate"
    assert "loses 5.000%" in default_figure(lossy)[1]
    assert default_figure(clean)[0] == "pdr"
    assert default_figure({})[0] == "max_forwarding_rate"  # older records: as before
    ml = {"method": {"name": "mlrsearch", "goal_exceed_ratio": 0.5, "goal_duration_sum": 5.0}}
    assert default_figure(lossy | ml) == ("pdr", default_figure(ml)[1])
    assert "exceed ratio 0.5 over 5 s" in default_figure(ml)[1]


def test_a_min_load_above_the_calibrated_ceiling_is_a_usage_error() -> None:
    from pytest_xdpperf.errors import XdpperfError

    RunOptions(min_load=1e5).check_min_load(2e5)
    with pytest.raises(XdpperfError, match="--xdpperf-min-load 300000 pps is not below the 200000"):
        RunOptions(min_load=3e5).check_min_load(2e5)


def test_latency_and_transactions_results_have_their_own_tables() -> None:
    from types import SimpleNamespace

    from pytest_xdpperf.latency import LatencyHistogram
    from pytest_xdpperf.report import latency_table, transactions_table

    nf = NfSpec("macswap", {"action": "tx"})
    few = SimpleNamespace(fraction=None, rate_pps=100.0, received=5,
                          histogram=LatencyHistogram.from_samples([40_000] * 5))
    many = SimpleNamespace(fraction=0.5, rate_pps=1e5, received=2000,
                           histogram=LatencyHistogram.from_samples(
                               [50_000] * 1990 + [900_000] * 10))
    lat = SimpleNamespace(mode=MODES["xdp"], nf=nf, throughput_pps=2e5, points=[few, many])
    text = latency_table([("t.py::test_lat[xdp]", lat)], {"t.py::test_lat[xdp]": "pass"})
    rows = text.splitlines()
    assert rows[0].split()[:4] == ["test", "mode", "NF", "point"]
    assert "100 pps" in rows[2] and "0.5 x 0.200 Mpps" in rows[3] and "pass" in rows[3]
    # 5 frames support no percentile: "-", never a number made up; 2000 support a p99
    cells = [re.split(r"\s{2,}", row) for row in rows[2:]]
    assert cells[0][5:8] == ["-", "-", "40.0"]
    assert [float(c) for c in cells[1][5:7]] == pytest.approx([50.0, 50.0], rel=0.01)
    assert float(cells[1][7]) > 800  # the max: the ten slow frames
    app = SimpleNamespace(mode=MODES["af_xdp"], nf=nf, app="memcached", tps=31234.4,
                          errors=3)
    text = transactions_table([("t.py::test_mc[af_xdp]", app)])
    assert re.split(r"\s{2,}", text.splitlines()[2])[3:6] == ["memcached", "31234", "3"]
