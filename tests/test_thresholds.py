"""Thresholds files, verdicts and the summary: judged on crafted records (no testbed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from records import bench, latency_bench, transactions, write

from pytest_xdpperf import thresholds as th
from pytest_xdpperf.cli import main
from pytest_xdpperf.errors import XdpperfError
from pytest_xdpperf.judge import Judge, pick
from pytest_xdpperf.latency import supported
from pytest_xdpperf.report import grouped_notes, verdicts
from pytest_xdpperf.verdict import (
    FAIL,
    INCONCLUSIVE,
    NO_THRESHOLD,
    PASS,
    judge_latency,
    judge_throughput,
    judge_transactions,
    judged_figure,
)

T = "testsuites/test_macswap.py::test_macswap_drop[af_xdp]"
L = "testsuites/test_latency.py::test_macswap_latency[xdp]"
M = "testsuites/test_local.py::test_memcached[xdp]"


def mfr_info(mfr_pps: float, capacity: float = 10e6, offered: float | None = None,
             mode: str = "af_xdp") -> dict[str, Any]:
    """A throughput record's extra_info with this MFR, measured by a tester of
    `capacity` that offered `offered` (default: all of it)."""
    info = bench(T, [mfr_pps], mode=mode, metric="max_forwarding_rate")["extra_info"]
    info["max_forwarding_rate"]["tester_offered_pps"] = [offered or capacity]
    info["calibration"] = {"tester_capacity_pps": capacity}
    info["traffic"] = {"frame_size": 64}
    return info


def thresholds_for(tmp_path: Path, *infos: dict[str, Any], **rule: float) -> th.Thresholds:
    doc = th.derive([list(infos)], th.Rule(**rule), "veth-2cpu", ["run.json"])
    th.write(doc, tmp_path / "t.toml")
    return th.load(tmp_path / "t.toml")


def test_derived_limits_are_below_the_worst_run_by_the_wider_of_margin_and_spread(
        tmp_path: Path) -> None:
    runs = [[mfr_info(v)] for v in (2.0e6, 2.2e6, 2.1e6)]
    doc = th.derive(runs, th.Rule(margin=0.10, spread=2.0), "veth-2cpu", ["a", "b", "c"])
    (entry,) = doc["throughput"]
    # stdev 0.1 Mpps: 2 stdev (0.2) is wider than 10% of the worst (0.2 too; equal)
    assert entry["min_mpps"] == pytest.approx(1.8, abs=1e-3)
    assert entry["figure"] == "max_forwarding_rate" and entry["mode"] == "af_xdp"
    assert entry["params"] == {"action": "drop"} and entry["frame_size"] == 64
    wide = th.derive([[mfr_info(v)] for v in (1.0e6, 2.0e6)], th.Rule(0.10, 2.0), "x", [])
    # stdev 0.707: 2 stdev is wider than 10% of 1.0: a limit of 0 could never fail, so
    # there is no entry (the test reads "no threshold")
    assert "throughput" not in wide
    one = th.derive([[mfr_info(2.0e6)]], th.Rule(0.25, 2.0), "x", [])
    assert one["throughput"][0]["min_mpps"] == pytest.approx(1.5)  # one run: the margin


def test_a_file_round_trips_and_finds_a_measurement_by_its_key(tmp_path: Path) -> None:
    t = thresholds_for(tmp_path, mfr_info(2.0e6))
    key = th.Key.of_record(mfr_info(1.0))
    (entry,) = t.find(key)
    assert entry["min_mpps"] == pytest.approx(1.8)
    # another mode, frame size or parameter is another measurement
    assert t.find(th.Key.of_record(mfr_info(1.0, mode="xdp"))) == []
    other = mfr_info(1.0)
    other["traffic"] = {"frame_size": 1518}
    assert t.find(th.Key.of_record(other)) == []
    other = mfr_info(1.0)
    other["nf_params"] = {"action": "drop", "extra": 1}
    assert t.find(th.Key.of_record(other)) == []


def test_throughput_verdicts(tmp_path: Path) -> None:
    t = thresholds_for(tmp_path, mfr_info(2.0e6))  # limit 1.8 Mpps
    ok = judge_throughput(mfr_info(1.9e6), t)
    assert ok.status == PASS and ok.value == pytest.approx(1.9) and ok.limit == 1.8
    slow = judge_throughput(mfr_info(0.5e6), t)
    assert slow.status == FAIL and "0.500 Mpps is below the limit 1.800 Mpps" in slow.reason
    message = slow.message(T, ["pdr:unverified"])
    assert T in message and "max_forwarding_rate" in message and str(t.source) in message
    assert "pdr:unverified" in message
    # below the limit, but the tester could offer no more than the DUT took: no verdict
    bound = judge_throughput(mfr_info(1.0e6, capacity=1.05e6), t)
    assert bound.status == INCONCLUSIVE and "tester's capacity decides" in bound.reason
    # a bound figure that meets its limit still passes: the DUT did at least that
    assert judge_throughput(mfr_info(1.9e6, capacity=2.0e6), t).status == PASS
    # the tester offered less than it could (a short trial): bound by what it offered
    assert judge_throughput(mfr_info(1.0e6, offered=1.02e6), t).status == INCONCLUSIVE
    # a user-space NF that livelocked flat out: its MFR is no verdict on its capacity
    livelocked = mfr_info(0.5e6)
    livelocked["livelock"] = "livelock: flat out, the user-space NF forwarded 0.500 Mpps"
    assert judge_throughput(livelocked, t).status == INCONCLUSIVE
    # a PDR judged where the testbed's own loss decides it
    pdr_t = th.load(_pdr_file(tmp_path))
    info = mfr_info(1.0e6)
    info["repetitions"]["pdr_pps"] = [0.5e6]
    info["testbed_bound"] = True
    judged = judge_throughput(info, pdr_t)
    assert judged.status == INCONCLUSIVE and "testbed's own loss" in judged.reason
    info["testbed_bound"] = False
    assert judge_throughput(info, pdr_t).status == FAIL


def _pdr_file(tmp_path: Path) -> Path:
    path = tmp_path / "pdr.toml"
    path.write_text('[[throughput]]\nnf = "macswap"\nparams = { action = "drop" }\n'
                    'traffic_class = "drop"\nmode = "af_xdp"\nframe_size = 64\n'
                    'figure = "pdr"\nmin_mpps = 1.0\n')
    return path


def test_no_entry_is_no_threshold_and_a_dead_nf_fails_without_one(tmp_path: Path) -> None:
    absent = th.absent("no thresholds file for testbed veth-2cpu")
    v = judge_throughput(mfr_info(1.0e6), absent)
    assert v.status == NO_THRESHOLD and "no threshold" in v.reason and v.value == 1.0
    assert v.source == "no thresholds file for testbed veth-2cpu"
    dead = judge_throughput(mfr_info(1.0e6), absent, forwarded_anything=False)
    assert dead.status == FAIL and "forwarded nothing" in dead.reason


def test_latency_verdicts(tmp_path: Path) -> None:
    fast = {(10_000.0, None): list(range(10_000, 30_000, 10)), (1.0, None): [10_000] * 10}
    info = latency_bench(L, "xdp", fast)["extra_info"]
    doc = th.derive([[info]], th.Rule(0.10, 2.0), "x", [])
    (entry,) = doc["latency"]
    # only the fixed-rate point with samples enough: 2,000 support p50..p99, not p99.9;
    # the 10-frame point supports none
    assert entry["point"] == "rate=10000" and set(entry["max_us"]) == {"p50", "p90", "p99"}
    th.write(doc, tmp_path / "l.toml")
    t = th.load(tmp_path / "l.toml")
    assert judge_latency(info, t).status == PASS
    slower = latency_bench(L, "xdp", {(10_000.0, None): list(range(40_000, 60_000, 10))})
    v = judge_latency(slower["extra_info"], t)
    assert v.status == FAIL and "above the limit" in v.reason and v.figure.endswith("rate=10000")
    # p50, p90 within their limits, but 200 samples do not support a p99
    few = latency_bench(L, "xdp", {(10_000.0, None): [10_000] * 200})
    v = judge_latency(few["extra_info"], t)
    assert v.status == INCONCLUSIVE and "200 samples do not support a p99" in v.reason
    missing = latency_bench(L, "xdp", {(100.0, None): [1_000] * 100})
    assert judge_latency(missing["extra_info"], t).status == FAIL
    assert judge_latency(info, th.absent("none")).status == NO_THRESHOLD


def test_percentiles_need_ten_samples_beyond_them() -> None:
    assert supported(99, 1000) and not supported(99, 999)
    assert supported(50, 20) and not supported(50, 19) and not supported(99.9, 9999)


def test_transactions_verdicts(tmp_path: Path) -> None:
    info = transactions(M, 20_000.0)["extra_info"]
    t = thresholds_for(tmp_path, info)
    assert judge_transactions(info, t).status == PASS
    assert judge_transactions(transactions(M, 5_000.0)["extra_info"], t).status == FAIL
    broken = dict(info, errors=3)
    v = judge_transactions(broken, t)
    assert v.status == FAIL and "3 errors" in v.reason
    named = dict(info, errors=3, problem="3 SERVER_ERROR replies")
    v = judge_transactions(named, t)
    assert v.status == FAIL and v.reason.endswith("3 errors: 3 SERVER_ERROR replies"), v


@pytest.mark.parametrize("text, problem", [
    ("[[throughput]]\nnf = 'm'\ntraffic_class = 'drop'\nmode = 'xdp'\nmin_mpps = 'fast'\n",
     "min_mpps = 'fast' is not a number"),
    ("[[throughput]]\nnf = 'm'\ntraffic_class = 'drop'\nmode = 'xdp'\nmin_mpps = 1\n"
     "figure = 'best'\n", "figure 'best' is unknown"),
    ("[[throughput]]\nnf = 'm'\ntraffic_class = 'drop'\nmode = 'xdp'\nmin_mps = 1\n",
     "unknown field 'min_mps'"),
    ("[[latency]]\nnf = 'm'\ntraffic_class = 'p'\nmode = 'xdp'\npoint = 'rate=1'\n"
     "max_us = { q99 = 1 }\n", "'q99' is not a percentile"),
    ("[[latency]]\nnf = 'm'\ntraffic_class = 'p'\nmode = 'xdp'\npoint = 'load=1'\n"
     "max_us = { p99 = 1 }\n", "is not rate=N or fraction=F"),
    ("[[throughputs]]\n", "unknown table 'throughputs'"),
    ("[[throughput]\n", "cannot be read"),
])
def test_a_bad_file_is_one_line_naming_the_problem(tmp_path: Path, text: str,
                                                   problem: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(XdpperfError, match=problem) as exc:
        th.load(path)
    assert "\n" not in str(exc.value) and str(path) in str(exc.value)


def test_the_testbeds_own_file_is_picked_by_default(tmp_path: Path) -> None:
    assert pick(None, tmp_path, "veth-7cpu").source is None
    assert "no thresholds file for testbed veth-7cpu" in pick(None, tmp_path, "veth-7cpu").where
    own = tmp_path / "testsuites" / "thresholds" / "veth-7cpu.toml"
    own.parent.mkdir(parents=True)
    own.write_text('[testbed]\nkey = "veth-7cpu"\n')
    assert pick(None, tmp_path, "veth-7cpu").source == own
    assert pick("none", tmp_path, "veth-7cpu").source is None
    with pytest.raises(XdpperfError, match="does not exist"):
        pick(str(tmp_path / "nope.toml"), tmp_path, "veth-7cpu")


class Bench:
    def __init__(self) -> None:
        self.extra_info: dict[str, Any] = {}


class Result:
    """What the fixture hands the judge: a measurement with its extra_info."""

    def __init__(self, info: dict[str, Any], forwarded: bool = True) -> None:
        self.info, self.forwarded_anything = info, forwarded

    def extra_info(self) -> dict[str, Any]:
        return self.info


def test_the_judge_records_every_verdict_and_fails_only_what_it_should(tmp_path: Path) -> None:
    t = thresholds_for(tmp_path, mfr_info(2.0e6))
    judge = Judge(t)
    b = Bench()
    judge("a", "throughput", Result(mfr_info(1.9e6)), b, [])
    assert b.extra_info["verdict"]["status"] == PASS
    with pytest.raises(pytest.fail.Exception, match="below the limit"):
        judge("b", "throughput", Result(mfr_info(0.5e6)), Bench(), [])
    judge("c", "throughput", Result(mfr_info(1.0e6, capacity=1.05e6)), Bench(), [])  # report
    with pytest.raises(pytest.fail.Exception, match="inconclusive"):
        Judge(t, "fail")("c", "throughput", Result(mfr_info(1.0e6, capacity=1.05e6)),
                         Bench(), ["tester_bound"])
    assert [j.verdict.status for j in judge.judged] == [PASS, FAIL, INCONCLUSIVE]
    text = verdicts(judge)
    assert "PASS" in text and "FAIL" in text and "INCONCLUSIVE" in text
    assert "verdicts: 1 pass, 1 inconclusive, 1 fail" in text
    assert str(t.source) in text


def test_notes_alike_but_for_numbers_are_one_line() -> None:
    lines = grouped_notes([
        ("x::test_a[xdp]", ["3 search trials were spoiled by the tester", "only here"]),
        ("x::test_b[xdp]", ["12 search trials were spoiled by the tester"]),
    ])
    assert lines == [
        "note (2 tests): N search trials were spoiled by the tester [test_a[xdp], test_b[xdp]]",
        "note (1 test): only here [test_a[xdp]]",
    ]


def test_xdpperf_thresholds_writes_a_file_from_runs(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    runs = [write(tmp_path / f"run{i}.json", [{"fullname": T, "name": "t",
                                                 "extra_info": mfr_info(v)}])
            for i, v in enumerate((2.0e6, 2.1e6, 2.2e6))]
    out = tmp_path / "veth.toml"
    assert main(["thresholds", *map(str, runs), "-o", str(out)]) == 0
    assert "1 throughput" in capsys.readouterr().out
    t = th.load(out)
    assert t.testbed["runs"] == 3 and t.testbed["made_from"] == [r.name for r in runs]
    (entries,) = t.entries.values()
    assert entries[0]["min_mpps"] <= 2.0
    assert main(["thresholds", str(runs[0]), "-o", str(out), "--margin", "2"]) == 2
    assert "--margin" in capsys.readouterr().err
    json.loads(runs[0].read_text())  # the runs themselves are untouched


def test_the_suites_checks_fail_on_their_bad_cases_in_the_data() -> None:
    from types import SimpleNamespace

    from pytest_xdpperf.latency import LatencyHistogram
    from pytest_xdpperf.latency_run import LatencyPoint
    from pytest_xdpperf.suites import assert_all_dropped, assert_latency_points

    def point(sent: int, back: int) -> LatencyPoint:
        return LatencyPoint(1e4, None, 1.0, sent, back, 0, 0, 0, 1e4, 0,
                            LatencyHistogram.from_samples([10_000] * back))

    assert_latency_points(SimpleNamespace(points=[point(1000, 990), point(10, 9)]))
    with pytest.raises(AssertionError, match="nothing came back"):
        assert_latency_points(SimpleNamespace(points=[point(1000, 990), point(10, 0)]))
    with pytest.raises(AssertionError, match="30 of 1000 frames lost"):
        assert_latency_points(SimpleNamespace(points=[point(1000, 970)]))
    counters = {"rx": 100, "drop": 100, "tx": 0, "pass": 0, "redirect": 0, "aborted": 0}
    assert_all_dropped(SimpleNamespace(nf_counters=counters))
    with pytest.raises(AssertionError, match="did not drop every frame"):
        assert_all_dropped(SimpleNamespace(nf_counters=counters | {"drop": 40, "tx": 60}))
    with pytest.raises(AssertionError, match="received nothing"):
        assert_all_dropped(SimpleNamespace(nf_counters=counters | {"rx": 0, "drop": 0}))


def test_a_run_where_the_nf_livelocked_gives_no_mfr_limit() -> None:
    ll = mfr_info(0.1e6)
    ll["livelock"] = "livelock: flat out, the user-space NF forwarded 0.100 Mpps"
    older = mfr_info(0.1e6)  # a record from before the note: judged from its figures
    older["processing"] = "user"
    older["repetitions"]["pdr_pps"] = [1.0e6]
    held = mfr_info(0.9e6)
    held["processing"] = "user"
    held["repetitions"]["pdr_pps"] = [1.0e6]
    for collapsed in (ll, older):
        doc = th.derive([[mfr_info(2.0e6)], [collapsed]], th.Rule(0.10, 0.0), "x", [])
        assert doc["throughput"][0]["min_mpps"] == pytest.approx(1.8)
    doc = th.derive([[mfr_info(2.0e6)], [held]], th.Rule(0.10, 0.0), "x", [])
    assert doc["throughput"][0]["min_mpps"] == pytest.approx(0.81)


def test_the_mfr_over_the_noop_nf_divides_the_hosts_speed_out(tmp_path: Path) -> None:
    def run(mfr: float, noop: float) -> dict[str, Any]:
        info = mfr_info(mfr, capacity=10 * noop)  # far below the tester: never bound
        info["calibration"]["noop_forwarding_pps"] = noop
        return info

    doc = th.derive([[run(2.0e6, 5.0e6)]], th.Rule(0.10, 2.0), "x", [], th.NORMALISED)
    (entry,) = doc["throughput"]
    assert entry["figure"] == "mfr_vs_noop" and entry["min_ratio"] == pytest.approx(0.36)
    assert "min_mpps" not in entry
    th.write(doc, tmp_path / "n.toml")
    t = th.load(tmp_path / "n.toml")
    # the whole host at half speed: the tester's no-op and the NF alike - no regression
    slow_host = judge_throughput(run(1.0e6, 2.5e6), t)
    assert slow_host.status == PASS and slow_host.value == pytest.approx(0.4)
    # the NF at half speed on the same host: fails, in its unit
    slow_nf = judge_throughput(run(1.0e6, 5.0e6), t)
    assert slow_nf.status == FAIL and "0.200 x no-op is below the limit 0.360 x no-op" \
        in slow_nf.reason
    # while the absolute MFR limit fails the slower host too
    absolute = thresholds_for(tmp_path, run(2.0e6, 5.0e6))
    assert judge_throughput(run(1.0e6, 2.5e6), absolute).status == FAIL


def test_auto_picks_per_test_the_figure_that_varied_less() -> None:
    def run(mfr: float, noop: float, mode: str) -> dict[str, Any]:
        info = mfr_info(mfr, capacity=10 * noop, mode=mode)
        info["calibration"]["noop_forwarding_pps"] = noop
        return info

    # xdp: the host moved (MFR and no-op together) - the ratio is steady
    # af_xdp: the no-op moved, the NF did not - the MFR is steady
    runs = [[run(2.0e6, 5.0e6, "xdp"), run(0.4e6, 5.0e6, "af_xdp")],
            [run(1.0e6, 2.5e6, "xdp"), run(0.4e6, 2.5e6, "af_xdp")]]
    doc = th.derive(runs, th.Rule(0.10, 2.0), "x", [], th.AUTO)
    chosen = {e["mode"]: e["figure"] for e in doc["throughput"]}
    assert chosen == {"xdp": "mfr_vs_noop", "af_xdp": "max_forwarding_rate"}


def test_limits_apply_only_to_runs_on_the_files_settings(tmp_path: Path) -> None:
    def run(mfr: float, duration: float, goal: float = 0.001) -> dict[str, Any]:
        info = mfr_info(mfr)
        info["calibration"]["trial_duration"] = duration
        info["loss_threshold"] = goal
        return info

    t = thresholds_for(tmp_path, run(2.0e6, 1.0))
    assert (t.testbed["trial_duration"], t.testbed["loss_threshold"]) == (1.0, 0.001)
    assert judge_throughput(run(0.5e6, 1.0), t).status == FAIL
    short = judge_throughput(run(0.5e6, 0.2), t)
    assert short.status == NO_THRESHOLD and "for 1 s trials, this run used 0.2 s" in short.reason
    other_goal = judge_throughput(run(0.5e6, 1.0, goal=0.005), t)
    assert other_goal.status == NO_THRESHOLD and "loss goal of 0.001" in other_goal.reason
    with pytest.raises(XdpperfError, match="the runs differ in trial_duration"):
        th.derive([[run(2.0e6, 1.0)], [run(2.0e6, 0.2)]], th.Rule(), "x", [])


def test_a_figure_too_few_runs_measured_or_too_unsteady_gets_no_limit() -> None:
    rule = th.Rule(0.10, 2.0, min_runs=2, max_cv=0.3)
    steady = [[mfr_info(v)] for v in (2.0e6, 2.1e6)]
    assert th.derive(steady, rule, "x", [])["throughput"]
    once = [[mfr_info(2.0e6)], []]
    assert "throughput" not in th.derive(once, rule, "x", [])
    unsteady = [[mfr_info(v)] for v in (1.0e6, 3.0e6)]  # CV 71%
    assert "throughput" not in th.derive(unsteady, rule, "x", [])
    assert "at least 2 runs" in rule.describe() and "at most 30%" in rule.describe()


ML = {"name": "mlrsearch", "goal_exceed_ratio": 0.5, "goal_duration_sum": 5.0}


def test_limits_apply_only_to_runs_of_the_files_method(tmp_path: Path) -> None:
    strict = mfr_info(2.0e6)
    t = thresholds_for(tmp_path, strict)
    assert t.testbed["method"] == "rfc2544"  # records without one are rfc2544's
    assert judge_throughput(mfr_info(0.5e6), t).status == FAIL
    other = mfr_info(0.5e6) | {"method": ML}
    verdict = judge_throughput(other, t)
    assert verdict.status == NO_THRESHOLD
    assert "for method rfc2544, this run used mlrsearch" in verdict.reason
    with pytest.raises(XdpperfError, match="the runs differ in method"):
        th.derive([[strict], [mfr_info(2.0e6) | {"method": ML}]], th.Rule(), "x", [])


def test_auto_weighs_the_pdr_too_for_mlrsearch_runs() -> None:
    def run(mfr: float, pdr: float, method: dict[str, Any] | None) -> dict[str, Any]:
        info = mfr_info(mfr)
        info["calibration"]["noop_forwarding_pps"] = 5e6
        info["repetitions"]["pdr_pps"] = [pdr]
        info["pdr"] = {"rate_pps": pdr, "status": "found"}
        return info | ({"method": method} if method else {})

    # the MFR moves run to run, the PDR does not
    for method, figure in ((ML, "pdr"), (None, "max_forwarding_rate")):
        runs = [[run(1.8e6, 0.8e6, method)], [run(2.0e6, 0.81e6, method)]]
        doc = th.derive(runs, th.Rule(0.10, 2.0), "x", [], th.AUTO)
        assert [e["figure"] for e in doc["throughput"]] == [figure]


def test_the_judged_figure_is_the_entrys_else_the_records_else_the_methods(
        tmp_path: Path) -> None:
    info = mfr_info(2.0e6) | {"loss_floor": 0.0, "loss_threshold": 0.001}
    info["repetitions"]["pdr_pps"] = [1.0e6]
    assert judged_figure(info, th.absent("none"))[0] == "pdr"  # a clean testbed
    stated = info | {"judged_figure": {"figure": "ndr", "why": "said so"}}
    assert judged_figure(stated, th.absent("none")) == ("ndr", "said so")
    t = thresholds_for(tmp_path, mfr_info(2.0e6))  # an MFR entry for this test
    figure, why = judged_figure(stated, t)
    assert figure == "max_forwarding_rate" and str(tmp_path / "t.toml") in why
    assert judge_throughput(stated, t).figure == "max_forwarding_rate"
    assert judge_throughput(stated, th.absent("none")).figure == "ndr"


def test_an_update_replaces_the_entries_of_the_measurements_its_runs_limit(
        tmp_path: Path) -> None:
    goal = {"loss_threshold": 0.001}
    other = mfr_info(1.0e6, mode="xdp") | goal
    write(tmp_path / "old.json", [{"fullname": T, "extra_info": mfr_info(2.0e6) | goal},
                                  {"fullname": T + "x", "extra_info": other}])
    assert main(["thresholds", str(tmp_path / "old.json"), "-o", str(tmp_path / "t.toml"),
                 "--margin", "0.5"]) == 0
    write(tmp_path / "new.json", [{"fullname": T, "extra_info": mfr_info(3.0e6) | goal}])
    assert main(["thresholds", str(tmp_path / "new.json"), "-o", str(tmp_path / "t.toml"),
                 "--margin", "0.1", "--update", str(tmp_path / "t.toml")]) == 0
    t = th.load(tmp_path / "t.toml")
    limits = {k.mode: e[0]["min_mpps"] for k, e in t.entries.items()}
    assert limits == {"af_xdp": 2.7, "xdp": 0.5}  # replaced; kept
    (done,) = t.testbed["updates"]
    assert done["made_from"] == ["new.json"] and done["replaced"] == 1
    # the runs must be on the file's settings
    odd = mfr_info(3.0e6) | {"loss_threshold": 0.005}
    write(tmp_path / "odd.json", [{"fullname": T, "extra_info": odd}])
    assert main(["thresholds", str(tmp_path / "odd.json"), "-o", str(tmp_path / "u.toml"),
                 "--update", str(tmp_path / "t.toml")]) == 2
    assert not (tmp_path / "u.toml").exists()


def test_an_mfr_the_tester_spoiled_is_inconclusive_below_its_limit(tmp_path: Path) -> None:
    t = thresholds_for(tmp_path, mfr_info(2.0e6))  # limit 1.8 Mpps
    spoiled = mfr_info(1.0e6)
    spoiled["repetitions"]["mfr_tester_bound"] = [True]
    v = judge_throughput(spoiled, t)
    assert v.status == INCONCLUSIVE and "the tester spoiled every MFR trial" in v.reason
    assert "repetition" not in v.reason  # one repetition: none named
    spoiled["repetitions"]["mfr_tester_bound"] = [False]
    assert judge_throughput(spoiled, t).status == FAIL  # the DUT's figure: below, fails
    # a record without the per-repetition list: its one MFR's flag
    del spoiled["repetitions"]["mfr_tester_bound"]
    spoiled["max_forwarding_rate"]["tester_bound"] = True
    assert judge_throughput(spoiled, t).status == INCONCLUSIVE
    # a lower bound that meets its limit still passes: the DUT did at least that
    above = mfr_info(1.9e6)
    above["repetitions"]["mfr_tester_bound"] = [True]
    assert judge_throughput(above, t).status == PASS
