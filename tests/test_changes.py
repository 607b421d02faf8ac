"""`xdpperf changes` on crafted histories: jumpavg's classify says at which record
a test's figure changed, and only there."""

from __future__ import annotations

import re
import statistics
from pathlib import Path
from typing import Any

import pytest
from records import bench, latency_bench, transactions, write

from pytest_xdpperf.changes import changes
from pytest_xdpperf.cli import main
from pytest_xdpperf.history import store

T = "testsuites/test_macswap.py::test_macswap_drop[xdp]"
U = "testsuites/test_macswap.py::test_macswap_drop[af_xdp]"
BASE = [1.000e6, 1.004e6, 0.996e6, 1.002e6, 0.998e6]          # spread 0.3%
NOISY = [1.00e6, 1.08e6, 0.93e6, 1.05e6, 0.95e6]              # spread ~6%
# run-to-run wobble of a steady history: every record's mean differs a little
JITTER = [1.000, 1.001, 0.999, 1.0005, 0.9995, 1.0015, 0.9985, 1.000]


def scaled(samples: list[float], factor: float) -> list[float]:
    return [s * factor for s in samples]


def commit(k: int) -> str:
    """Record k's commit: descending as k rises, so the stored file names sort
    against time and only the records' own time can order the history."""
    return format(16 - k, "x") * 40


def history(tmp: Path, runs: list[dict[str, Any]]) -> Path:
    """A history of these runs, oldest first, stored as `xdpperf store` files them;
    a run maps test names to benchmark entries (or to samples: a PDR entry)."""
    d = tmp / "history"
    for k, tests in enumerate(runs, 1):
        entries = [e if isinstance(e, dict) else bench(n, e) for n, e in tests.items()]
        run = write(tmp / "runs" / f"{k}.json", entries, commit=commit(k),
                    when=f"2026-11-{k:02d}T00:00:00+00:00")
        store(run, d)
    return d


def steady(n: int, factor: float = 1.0, samples: list[float] = BASE) -> list[list[float]]:
    return [scaled(samples, factor * JITTER[i % len(JITTER)]) for i in range(n)]


def step(n: int, at: int, factor: float) -> list[list[float]]:
    """n records of BASE (with JITTER), the figure times `factor` from record `at` on."""
    return [scaled(s, factor if k >= at else 1.0) for k, s in enumerate(steady(n), 1)]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["changes", *args])
    out, err = capsys.readouterr()
    return code, out, err


def relative(line: str) -> float:
    """The change in percent a line reports: '... -> 0.900 Mpps (-9.97%)' -> -9.97."""
    found = re.search(r" -> [0-9.]+ \S+ \(([-+][0-9.]+)%\)", line)
    assert found, line
    return float(found.group(1))


def stored_name(d: Path, k: int) -> str:
    (path,) = [p for p in d.glob("*.json") if f"__{commit(k)[:12]}__" in p.name]
    return path.name


def test_steady_history_is_no_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = history(tmp_path, [{T: s} for s in steady(8)])
    code, out, _ = run([str(d)], capsys)
    assert code == 0
    assert f"{T} (PDR, 8 of 8 records): no change" in out
    assert "records 1-8: 1.000 Mpps" in out and f"from record 1 6.18.0 {commit(1)[:12]}" in out


@pytest.mark.parametrize("at", [2, 4, 6])
def test_step_down_is_a_regression_at_exactly_its_record(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], at: int) -> None:
    d = history(tmp_path, [{T: s} for s in step(6, at, 0.90)])
    code, out, err = run([str(d)], capsys)
    assert code == 1, out
    assert f"{T} (PDR, 6 of 6 records): regression at record {at} (6.18.0 {commit(at)[:12]})" \
        in out
    before = "record 1" if at == 2 else f"records 1-{at - 1}"
    after = "record 6" if at == 6 else f"records {at}-6"
    line = next(x for x in out.splitlines() if x.startswith(f"  {after}:"))
    assert f"regression at record {at} " in line and stored_name(d, at) in line
    assert "1.000 Mpps -> 0.90" in line and -10.3 < relative(line) < -9.7
    assert f"  {before}: 1.000 Mpps, from record 1" in out
    assert f"{T} (record {at})" in err


def test_step_up_is_a_progression_and_passes(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    d = history(tmp_path, [{T: s} for s in step(6, 4, 1.10)])
    code, out, err = run([str(d)], capsys)
    assert code == 0 and not err
    assert f"{T} (PDR, 6 of 6 records): progression at record 4" in out
    (line,) = [x for x in out.splitlines() if x.startswith("  records 4-6:")]
    assert "1.000 Mpps -> 1.10" in line and 9.7 < relative(line) < 10.3


def test_noise_without_a_step_is_no_change(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Means 3% apart among repetitions that scatter by 6%: any-difference would cry wolf."""
    factors = [1.00, 0.97, 1.03, 0.98, 1.02, 0.96, 1.01, 0.99]
    runs = [scaled(NOISY, f) for f in factors]
    means = [statistics.fmean(r) for r in runs]
    assert max(means) / min(means) > 1.05  # a detector of any difference reports changes
    d = history(tmp_path, [{T: r} for r in runs])
    code, out, _ = run([str(d)], capsys)
    assert code == 0
    assert f"{T} (PDR, 8 of 8 records): no change" in out


def test_runs_that_wobble_more_than_their_repetitions_are_no_change(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Repetitions that agree to 0.3% in runs 3% apart (this VM's host): one value per
    record for jumpavg: fed each record's repetitions as one group, it takes each of
    these six records for a change of its own."""
    factors = [1.00, 0.97, 1.03, 0.98, 1.02, 0.96]
    d = history(tmp_path, [{T: scaled(BASE, f)} for f in factors])
    code, out, _ = run([str(d)], capsys)
    assert code == 0
    assert f"{T} (PDR, 6 of 6 records): no change" in out


def test_only_the_last_change_decides_the_exit_status(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recovered = steady(3) + steady(3, 0.8) + steady(3)
    d = history(tmp_path, [{T: s} for s in recovered])
    code, out, _ = run([str(d)], capsys)
    assert code == 0
    assert "2 changes, the last a progression at record 7" in out
    assert "regression at record 4" in out
    d2 = history(tmp_path / "2", [{T: s} for s in steady(3) + steady(3, 1.2) + steady(3, 0.9)])
    code, out, _ = run([str(d2)], capsys)
    assert code == 1
    assert "2 changes, the last a regression at record 7" in out


def test_record_without_the_figure_is_skipped_and_said(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Record 3 found no PDR in some repetition (its headline is the MFR): the PDR
    history goes on without it, and the step is still at record 5."""
    runs: list[dict[str, Any]] = [{T: s} for s in step(7, 5, 0.9)]
    runs[2] = {T: bench(T, scaled(BASE, 1.5), metric="max_forwarding_rate",
                        pdr=[1e6, None, 1e6, 1e6, 1e6])}
    d = history(tmp_path, runs)
    code, out, _ = run([str(d), "--figure", "pdr"], capsys)
    assert code == 1
    assert f"{T} (PDR, 6 of 7 records): regression at record 5" in out
    assert f"  skipped record 3 6.18.0 {commit(3)[:12]} ({stored_name(d, 3)}): " \
           "not every repetition has a PDR" in out
    assert "records 1-4: 1.000 Mpps" in out  # record 3 is in no group, but inside the span


def test_auto_follows_the_figure_the_newest_record_judged(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The PDR holds, the MFR drops at record 4, and the records were judged on the
    MFR: auto follows the MFR; --figure pdr the steady PDR."""
    judged = {"verdict": {"status": "pass", "figure": "max_forwarding_rate"}}
    runs = [{T: bench(T, pdr, mfr=scaled(pdr, 1.5 * (0.8 if k >= 4 else 1.0)), **judged)}
            for k, pdr in enumerate(steady(6), 1)]
    d = history(tmp_path, runs)
    code, out, _ = run([str(d)], capsys)
    assert code == 1
    assert f"{T} (MFR, 6 of 6 records): regression at record 4" in out
    (line,) = [x for x in out.splitlines() if x.startswith("  records 4-6:")]
    assert "1.500 Mpps -> 1.20" in line and -20.3 < relative(line) < -19.7
    code, out, _ = run([str(d), "--figure", "pdr"], capsys)
    assert code == 0 and f"{T} (PDR, 6 of 6 records): no change" in out


def test_mfr_vs_noop_divides_out_a_slower_host(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """From record 4 the host is 20% slower: the MFR drops, its share of the no-op's
    does not."""
    runs = []
    for k, pdr in enumerate(steady(6), 1):
        host = 0.8 if k >= 4 else 1.0
        runs.append({T: bench(T, scaled(pdr, host), mfr=scaled(pdr, 1.5 * host),
                              calibration={"noop_forwarding_pps": 3e6 * host})})
    d = history(tmp_path, runs)
    code, out, _ = run([str(d), "--figure", "max_forwarding_rate"], capsys)
    assert code == 1 and "regression at record 4" in out
    code, out, _ = run([str(d), "--figure", "mfr_vs_noop"], capsys)
    assert code == 0, out
    assert f"{T} (mfr_vs_noop, 6 of 6 records): no change" in out and "0.500 x no-op" in out


def test_tests_in_some_records_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """U joins at record 3 and drops at 6; V is in the newest record only."""
    v = "testsuites/test_macswap.py::test_macswap_tx[xdp]"
    runs: list[dict[str, Any]] = [{T: s} for s in steady(8)]
    for k, s in enumerate(step(6, 4, 0.9)):
        runs[k + 2][U] = s
    runs[7][v] = BASE
    d = history(tmp_path, runs)
    code, out, err = run([str(d)], capsys)
    assert code == 1
    assert f"{T} (PDR, 8 of 8 records): no change" in out
    assert f"{U} (PDR, 6 of 8 records): regression at record 6" in out
    assert "absent from 2 record(s): 1, 2" in out
    assert f"{v} (PDR, 1 of 8 records): 1 record with this figure, nothing to classify" in out
    assert U in err and T not in err


def test_test_option_picks_tests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = [{T: s, U: s} for s in step(6, 4, 0.9)]
    d = history(tmp_path, runs)
    code, out, _ = run([str(d), "--test", "*[[]af_xdp]"], capsys)
    assert code == 1 and U in out and T not in out
    code, out, _ = run([str(d), "--test", "drop[xdp]"], capsys)
    assert code == 1 and T in out and U not in out


def test_transactions_and_latency(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Transactions/s: lower is worse. Latency: the p99 per load point, higher is worse."""
    app = "testsuites/test_local.py::test_memcached[xdp]"
    lat = "testsuites/test_latency.py::test_latency[xdp]"
    runs = []
    for k in range(1, 7):
        wobble = JITTER[k % len(JITTER)]
        p99 = (80_000 if k >= 4 else 50_000) * wobble
        runs.append({app: transactions(app, 20_000 * wobble * (0.8 if k >= 5 else 1.0)),
                     lat: latency_bench(lat, "xdp", {(1000.0, None): [20_000] * 980
                                                     + [int(p99)] * 20,
                                                     (2000.0, None): [20_000] * 1000})})
    d = history(tmp_path, runs)
    code, out, _ = run([str(d)], capsys)
    assert code == 1
    assert f"{app} (TPS, 6 of 6 records): regression at record 5" in out
    assert f"{lat} (p99 at 1000 pps, 6 of 6 records): regression at record 4" in out
    assert f"{lat} (p99 at 2000 pps, 6 of 6 records): no change" in out
    code, out, _ = run([str(d), "--test", "test_latency"], capsys)
    assert code == 1 and app not in out


def test_a_regression_across_other_settings_is_not_judged(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = [{T: bench(T, s, traffic={"frame_size": 64 if k < 4 else 1518})}
            for k, s in enumerate(step(6, 4, 0.5), 1)]
    d = history(tmp_path, runs)
    code, out, err = run([str(d)], capsys)
    assert code == 0 and not err
    assert "regression (not judged: frame size differs: 64 vs 1518) at record 4" in out


def one_line_error(code: int, err: str) -> str:
    assert code == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_unusable_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    single = history(tmp_path / "single", [{T: BASE}])
    code, _, err = run([str(single)], capsys)
    assert "holds only 1 record, changes need at least two" in one_line_error(code, err)
    assert "xdpperf store" in err

    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run([str(empty)], capsys)
    assert "no JSON records in this history directory" in one_line_error(code, err)

    code, _, err = run([str(tmp_path / "nowhere")], capsys)
    assert "not a history directory" in one_line_error(code, err)

    good = history(tmp_path / "good", [{T: s} for s in steady(3)])
    code, _, err = run([str(good), "--figure", "mbps"], capsys)
    assert "--figure 'mbps' is unknown" in one_line_error(code, err)
    code, _, err = run([str(good), "--test", "nosuchtest"], capsys)
    assert "no test in" in one_line_error(code, err) and "'nosuchtest'" in err

    (good / "broken.json").write_text('{"benchmarks": [')
    code, _, err = run([str(good)], capsys)
    assert "broken.json: not valid JSON" in one_line_error(code, err)


def test_baseline_copy_is_not_another_record(tmp_path: Path) -> None:
    """ci/regress's pinned baseline.json is a copy of a record, not a point in time."""
    d = history(tmp_path, [{T: s} for s in step(4, 3, 0.9)])
    (d / "baseline.json").write_bytes(next(d.glob(f"*{commit(4)[:12]}*")).read_bytes())
    (series,) = changes(d)
    assert series.total == 4 and [c.at.index for c in series.changes] == [3]
