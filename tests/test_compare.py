"""`xdpperf compare` on crafted histories: verdicts by jumpavg, gating, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from records import bench, latency_bench, transactions, write

from pytest_xdpperf.cli import main
from pytest_xdpperf.compare import compare, jumpavg_verdict, parse_fail_on
from pytest_xdpperf.errors import XdpperfError
from pytest_xdpperf.history import load_all, load_record, store

T = "testsuites/test_macswap.py::test_macswap_drop[xdp]"
U = "testsuites/test_macswap.py::test_macswap_drop[af_xdp]"
BASE = [1.000e6, 1.004e6, 0.996e6, 1.002e6, 0.998e6]          # spread 0.3%
NOISY = [1.00e6, 1.08e6, 0.93e6, 1.05e6, 0.95e6]              # spread ~6%


def scaled(samples: list[float], factor: float) -> list[float]:
    return [s * factor for s in samples]


def history(tmp: Path, later: dict[str, list[float]], base: dict[str, list[float]] | None = None,
            schema: str = "samples") -> Path:
    """Two records in a history directory, written newest first to prove the ordering."""
    base = base if base is not None else {T: BASE}
    return pair(tmp, [bench(n, s, schema=schema) for n, s in base.items()],
                [bench(n, s, schema=schema) for n, s in later.items()])


def pair(tmp: Path, old: list[dict], new: list[dict]) -> Path:
    """A history of two records of these benchmark entries: old (6.18) and new (6.19)."""
    d = tmp / "history"
    write(d / "a-new.json", new, kernel="6.19.0", commit="b" * 40,
          when="2026-11-02T00:00:00+00:00")
    write(d / "z-old.json", old, kernel="6.18.0", commit="a" * 40,
          when="2026-11-01T00:00:00+00:00")
    return d


def test_clear_regression_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = history(tmp_path, {T: scaled(BASE, 0.90)})
    assert main(["compare", str(d)]) == 1
    out, err = capsys.readouterr()
    assert f"{T} (pdr): regression" in out
    assert "-10.00%" in out and "6.18.0 aaaaaaaaaaaa" in out and "6.19.0 bbbbbbbbbbbb" in out
    assert "1 regression(s)" in err
    # ordered by time, not by file name: the 6.18 record is the baseline
    assert out.index("6.18.0") < out.index("6.19.0")


def test_change_inside_the_noise_is_no_change(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    d = history(tmp_path, {T: scaled(NOISY, 0.98)}, base={T: NOISY})
    assert main(["compare", str(d)]) == 0
    assert f"{T} (pdr): no change" in capsys.readouterr().out


def test_same_drop_with_tight_samples_is_a_regression() -> None:
    """Not a bare percentage: 2% is noise among NOISY samples, a change among BASE ones."""
    assert jumpavg_verdict(NOISY, scaled(NOISY, 0.98)).kind == "no change"
    assert jumpavg_verdict(BASE, scaled(BASE, 0.98)).kind == "regression"


def test_improvement_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = history(tmp_path, {T: scaled(BASE, 1.15)})
    assert main(["compare", str(d)]) == 0
    out = capsys.readouterr().out
    assert f"{T} (pdr): improvement" in out and "+15.00%" in out


def test_test_in_one_history_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = history(tmp_path, {T: BASE, U: BASE}, base={T: BASE})
    assert main(["compare", str(d)]) == 0
    out = capsys.readouterr().out
    assert f"{U} (pdr): only in 6.19.0 bbbbbbbbbbbb" in out
    block = out[out.index(U):]
    assert "absent" in block.splitlines()[3]  # the baseline's row
    comps = {c.name: c for c in compare(load_all([d]))}
    assert comps[U].verdict.kind.startswith("only in") and not comps[U].fails(0.0)


def test_fail_on_tolerates_a_smaller_drop(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    d = history(tmp_path, {T: scaled(BASE, 0.90)})
    assert main(["compare", str(d), "--fail-on", "15%"]) == 0
    assert "regression" in capsys.readouterr().out  # still shown, just not fatal
    assert main(["compare", str(d), "--fail-on", "0.05"]) == 1
    assert parse_fail_on("any") == 0.0 and parse_fail_on("5%") == pytest.approx(0.05)
    with pytest.raises(XdpperfError, match="--fail-on"):
        parse_fail_on("lots")


def test_older_schemas_give_samples(tmp_path: Path) -> None:
    """repetitions.pdr_pps, or the single metric_pps of a record without repetitions."""
    d = history(tmp_path, {T: scaled(BASE, 0.9)}, schema="repetitions")
    comp = compare(load_all([d]))[0]
    assert comp.rows[0][1] is not None and len(comp.rows[0][1].samples_pps) == 5
    assert comp.verdict.kind == "regression"
    single = write(tmp_path / "single.json", [bench(T, [1e6], schema="single")])
    assert load_record(single).tests[T].samples_pps == (1e6,)


def test_two_files_and_explicit_baseline(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    old = write(tmp_path / "old.json", [bench(T, BASE)])
    new = write(tmp_path / "new.json", [bench(T, scaled(BASE, 0.8))], commit="c" * 40)
    assert main(["compare", str(old), str(new)]) == 1
    capsys.readouterr()
    # the new record as the baseline: the old one is an improvement on it
    assert main(["compare", "--baseline", str(new), str(old), str(new)]) == 0
    assert "improvement" in capsys.readouterr().out


@pytest.mark.parametrize("content, problem", [
    ('{"benchmarks": [', "not valid JSON"),
    ('{"hello": "world"}', "not a pytest-benchmark record"),
    ('[1, 2, 3]', "not a pytest-benchmark record"),
    ('{"machine_info": {}, "benchmarks": [{"name": "t", "extra_info": {}}]}',
     "without any xdpperf measurement"),
], ids=["corrupt", "foreign", "list", "not-xdpperf"])
def test_bad_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                           content: str, problem: str) -> None:
    d = history(tmp_path, {T: BASE})
    bad = d / "m-bad.json"
    bad.write_text(content)
    assert main(["compare", str(d)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and problem in err
    assert "Traceback" not in err


def test_one_record_is_not_a_comparison(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    one = write(tmp_path / "one.json", [bench(T, BASE)])
    assert main(["compare", str(one)]) == 2
    assert "at least two records" in capsys.readouterr().err


def test_store_names_by_kernel_and_commit(tmp_path: Path) -> None:
    rec = write(tmp_path / "run.json", [bench(T, BASE)], kernel="6.18.44-fc", commit="d" * 40)
    path = store(rec, tmp_path / "hist")
    assert path.name.startswith("6.18.44-fc__dddddddddddd__2026-11-01T000000")
    assert load_record(path).tests[T].samples_pps == tuple(BASE)


# like with like: a record's headline is its PDR, or its MFR when a repetition found no PDR

MFR_BASE = scaled(BASE, 3.0)  # 3 Mpps, spread 0.3%


def test_lost_pdr_is_a_regression_whatever_the_mfr(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """PDR 1 Mpps before, no PDR now but an MFR of 3 Mpps: not an improvement of +200%."""
    d = pair(tmp_path, [bench(T, BASE)], [bench(T, MFR_BASE, metric="max_forwarding_rate")])
    assert main(["compare", str(d), "--fail-on", "50%"]) == 1
    out, err = capsys.readouterr()
    assert f"{T} (pdr): regression (no PDR now)" in out
    assert "improvement" not in out and "+200" not in out
    assert "1 regression(s)" in err
    verdict = compare(load_all([d]))[0].verdict
    assert verdict.regression and verdict.metric == "pdr" and verdict.relative is None


def test_pdr_lost_in_some_repetitions_says_how_many(tmp_path: Path) -> None:
    d = pair(tmp_path, [bench(T, BASE)], [bench(T, MFR_BASE, metric="max_forwarding_rate",
                                                pdr=[1e6, None, 1e6, 1e6, 1e6])])
    comp = compare(load_all([d]))[0]
    assert comp.verdict.kind == "regression (PDR in 4 of 5 repetitions now)"
    assert comp.fails(0.5)


@pytest.mark.parametrize("mfr_factor, kind, code", [
    (1.0, "no change on MFR", 0), (0.9, "regression on MFR", 1), (1.1, "improvement on MFR", 0)])
def test_different_headlines_compare_the_mfr_both_have(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        mfr_factor: float, kind: str, code: int) -> None:
    """MFR 3 Mpps headline before (no PDR), PDR 1 Mpps now: the MFRs are compared,
    never the old MFR with the new PDR (which would read -67%)."""
    d = pair(tmp_path, [bench(T, MFR_BASE, metric="max_forwarding_rate")],
             [bench(T, BASE, mfr=scaled(MFR_BASE, mfr_factor))])
    assert main(["compare", str(d)]) == code
    out = capsys.readouterr().out
    assert f"{T} (max_forwarding_rate): {kind}" in out
    assert "-66" not in out and "-67" not in out
    verdict = compare(load_all([d]))[0].verdict
    assert verdict.metric == "max_forwarding_rate"
    assert verdict.relative == pytest.approx(mfr_factor - 1)


# latency records: shown per load point, not judged

L = "testsuites/test_latency.py::test_macswap_latency[xdp]"


def test_latency_records_load_and_show_percentiles(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A latency-only record is a record: compare lists its points' percentiles and the
    p99 change at each load, and gives no verdict (one histogram, no spread to judge)."""
    loads = ((50_000.0, 0.5), (1.0, None))
    d = pair(tmp_path,
             [latency_bench(L, "xdp", {load: list(range(10_000, 30_000, 10)) for load in loads})],
             [latency_bench(L, "xdp", {load: list(range(20_000, 60_000, 20)) for load in loads})])
    old = load_record(d / "z-old.json").tests[L]
    assert old.is_latency and old.metric == "latency" and old.samples_pps == ()
    out_json = tmp_path / "cmp.json"
    assert main(["compare", str(d), "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert f"{L} (latency): shown, not judged" in out
    rows = [line for line in out.splitlines() if line.startswith("6.1")]
    assert len(rows) == 4  # two records, two points each
    p99 = old.extra_info["latency"][0]["p99_us"]
    assert f"{p99:.1f}" in rows[0] and "50% of throughput (50000 pps)" in rows[0]
    assert "1 pps" in rows[1]
    assert "+100" in rows[2] or "+99" in rows[2]  # p99 doubled at the same load
    doc = json.loads(out_json.read_text())
    assert doc[0]["verdict"] == "shown, not judged"
    assert [p["p99_us"] for p in doc[0]["records"][0]["latency"]] == [p99, p99]


def test_store_under_a_given_commit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """pytest-benchmark writes id 'unknown' when git refuses a sudo'd checkout: the commit
    ci/regress asked git for names the stored copy instead, inside and out."""
    rec = write(tmp_path / "run.json", [bench(T, BASE)], commit="unknown")
    assert main(["store", "--commit", "1a2b3c4", str(rec), str(tmp_path / "hist")]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.name.startswith("6.18.0__1a2b3c4__")
    stored = load_record(path)
    assert stored.commit_id == "1a2b3c4" and stored.commit["recorded_id"] == "unknown"
    assert stored.tests[T].samples_pps == tuple(BASE)


def test_transactions_records_are_compared_on_transactions_per_second(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = "testsuites/test_local.py::test_memcached[xdp]"
    d = pair(tmp_path, [transactions(name, 50_000.0)], [transactions(name, 30_000.0)])
    assert main(["compare", str(d)]) == 1
    out = capsys.readouterr().out
    assert f"{name} (transactions_per_second): regression" in out
    assert "50000 tps" in out and "30000 tps" in out and "-40.00%" in out
    (comp,) = compare(load_all([d]))
    assert comp.verdict.metric == "transactions_per_second"
    d2 = pair(tmp_path / "same", [transactions(name, 50_000.0)], [transactions(name, 50_010.0)])
    assert main(["compare", str(d2)]) == 0


# --- a gate that neither flaps nor lets a regression through ------------------------------

def test_a_test_that_vanished_fails_the_gate(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    d = history(tmp_path, {T: BASE}, base={T: BASE, U: BASE})
    assert main(["compare", str(d)]) == 1
    out = capsys.readouterr().out
    assert f"{U} (pdr): regression (missing in 6.19.0 bbbbbbbbbbbb)" in out
    comps = {c.name: c for c in compare(load_all([d]))}
    assert comps[U].fails(0.0) and not comps[T].fails(0.0)


@pytest.mark.parametrize("change, why", [
    ({"traffic": {"frame_size": 1518}}, "frame size differs: 64 vs 1518"),
    ({"loss_threshold": 0.005}, "loss goal differs: 0.001 vs 0.005"),
    ({"calibration": {"tester_capacity_pps": 2e6, "trial_duration": 1.0}},
     "tester capacity differs: 5.00 vs 2.00 Mpps"),
    ({"calibration": {"tester_capacity_pps": 5e6, "trial_duration": 0.2}},
     "trial duration differs: 1.0 vs 0.2"),
    ({"method": {"name": "mlrsearch"}}, "method differs: rfc2544 vs mlrsearch"),
])
def test_a_run_with_other_settings_is_flagged_not_judged(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict, why: str) -> None:
    same = {"traffic": {"frame_size": 64}, "loss_threshold": 0.001,
            "method": {"name": "rfc2544"},
            "calibration": {"tester_capacity_pps": 5e6, "trial_duration": 1.0}}
    d = pair(tmp_path, [bench(T, BASE, **same)],
             [bench(T, scaled(BASE, 0.5), **(same | change))])
    assert main(["compare", str(d)]) == 0  # halved, but on other settings: no verdict
    assert f"not judged ({why}" in capsys.readouterr().out
    # the same halving on the same settings is a regression
    d = pair(tmp_path / "same", [bench(T, BASE, **same)], [bench(T, scaled(BASE, 0.5), **same)])
    assert main(["compare", str(d)]) == 1


def test_the_capacity_tolerance_is_the_users(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A lab whose host drifts widens the tolerance; the halving is then judged."""
    cal = {"calibration": {"tester_capacity_pps": 5e6, "trial_duration": 1.0}}
    drifted = {"calibration": {"tester_capacity_pps": 2e6, "trial_duration": 1.0}}
    d = pair(tmp_path, [bench(T, BASE, **cal)], [bench(T, scaled(BASE, 0.5), **drifted)])
    assert main(["compare", str(d)]) == 0
    assert main(["compare", "--capacity-tolerance", "70%", str(d)]) == 1
    assert main(["compare", "--capacity-tolerance", "any", str(d)]) == 1
    assert main(["compare", "--capacity-tolerance", "0.5", str(d)]) == 0
    capsys.readouterr()


@pytest.mark.parametrize("text", ["0", "-5%", "wide"])
def test_a_bad_capacity_tolerance_is_one_line(tmp_path: Path, text: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    d = pair(tmp_path, [bench(T, BASE)], [bench(T, BASE)])
    assert main(["compare", f"--capacity-tolerance={text}", str(d)]) == 2
    err = capsys.readouterr().err.strip()
    assert "capacity-tolerance" in err and "\n" not in err and "Traceback" not in err


def test_a_lower_figure_the_testbed_decided_is_not_judged(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = pair(tmp_path, [bench(T, BASE)], [bench(T, scaled(BASE, 0.8), testbed_bound=True)])
    assert main(["compare", str(d)]) == 0
    assert "not judged (lower, but the testbed's own loss decides" in capsys.readouterr().out
    d = pair(tmp_path / "b", [bench(T, BASE)], [bench(T, scaled(BASE, 0.8))])
    assert main(["compare", str(d)]) == 1
    # a search that ended because the tester gave out at a load far below what the same
    # tester offered the baseline explains no drop (CI: a 92% slower NF got through)
    gave_out = bench(T, scaled(BASE, 0.1))
    gave_out["extra_info"]["pdr"]["status"] = "tester_bound"
    d = pair(tmp_path / "c", [bench(T, BASE)], [gave_out])
    assert main(["compare", str(d)]) == 1


def test_two_runs_stored_in_the_same_second_are_both_kept(tmp_path: Path) -> None:
    rec = write(tmp_path / "r.json", [bench(T, BASE)])
    first, second = store(rec, tmp_path / "h"), store(rec, tmp_path / "h")
    assert first != second and first.exists() and second.exists()
    assert len(load_all([tmp_path / "h"])) == 2


def test_a_measurement_without_a_rate_is_in_the_record_and_fails_the_gate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # pytest-benchmark writes no entry without stats: the plugin keeps such a record
    # under xdpperf_unmeasured (benchrecord.unmeasured_entry), and it is a test, not a gap
    dead = bench(T, BASE)
    dead["extra_info"].update(metric="none", metric_pps=None, metric_samples_pps=[],
                              repetitions={"count": 1, "pdr_pps": [None]},
                              pdr={"rate_pps": None, "status": "below_min_load"})
    del dead["stats"]
    d = tmp_path / "history"
    write(d / "z-old.json", [bench(T, BASE)], when="2026-11-01T00:00:00+00:00")
    path = write(d / "a-new.json", [], kernel="6.19.0", commit="b" * 40,
                 when="2026-11-02T00:00:00+00:00")
    doc = json.loads(path.read_text())
    doc["xdpperf_unmeasured"] = [dead | {"stats": None}]
    path.write_text(json.dumps(doc))
    assert load_record(path).tests[T].samples_pps == ()
    assert main(["compare", str(d)]) == 1
    assert "regression (no PDR now: the measurement produced no rate)" in \
        capsys.readouterr().out
