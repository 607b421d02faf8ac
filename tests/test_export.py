"""`xdpperf export`: records and histories as one long table, CSV or NDJSON. No root."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from records import bench, latency_bench, transactions, write

from pytest_xdpperf.cli import main
from pytest_xdpperf.export import COLUMNS

T = "testsuites/test_macswap.py::test_macswap_drop[xdp]"
M = "testsuites/test_local.py::test_memcached[xdp]"
L = "testsuites/test_latency.py::test_latency[xdp]"
OLD = Path(__file__).resolve().parent / "data" / "record_before_kinds.json"


def verdict(figure: str, value: float | None, status: str = "pass") -> dict[str, Any]:
    return {"status": status, "figure": figure, "value": value, "limit": 1.0,
            "unit": "Mpps", "reason": "-", "source": "t.toml"}


def history(tmp: Path) -> Path:
    """Two records of a throughput test (two repetitions, judged by its MFR), a
    transactions test and a latency test."""
    for n, (kernel, scale) in enumerate((("6.1.0", 1.0), ("6.18.0", 0.9))):
        tp = bench(T, [1.0e6 * scale, 1.1e6 * scale], params={"action": "drop", "rounds": 3},
                   verdict=verdict("max_forwarding_rate", 1.6 * scale))
        write(tmp / "h" / f"{n}.json", [
            tp, transactions(M, 20_000.0 * scale),
            latency_bench(L, "xdp", {(100.0, None): [20_000 + i for i in range(20)]})],
            kernel=kernel, when=f"2026-11-0{n + 1}T00:00:00+00:00")
    return tmp / "h"


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        return list(reader)


def test_csv_is_one_row_per_test_figure_and_repetition(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.csv"
    assert main(["export", str(history(tmp_path)), "--csv", str(out)]) == 0
    rows = csv_rows(out)
    assert f"{out}: {len(rows)} rows (csv) from 2 records" in capsys.readouterr().out
    pdr = [r for r in rows if r["test"] == T and r["figure"] == "pdr"]
    # in the history's order, each repetition's PDR [packets/s]
    assert [(r["kernel"], r["repetition"], float(r["value"])) for r in pdr] == [
        ("6.1.0", "0", 1.0e6), ("6.1.0", "1", 1.1e6), ("6.18.0", "0", 0.9e6),
        ("6.18.0", "1", pytest.approx(0.99e6))]
    first = pdr[0]
    assert {k: first[k] for k in ("kind", "schema", "nf", "params", "mode", "traffic_class",
                                  "frame_size", "unit", "judged", "verdict", "commit")} == {
        "kind": "throughput", "schema": "3", "nf": "macswap", "params": "action=drop,rounds=3",
        "mode": "xdp", "traffic_class": "drop", "frame_size": "64", "unit": "pps",
        "judged": "false", "verdict": "pass", "commit": "a" * 12}
    assert first["record"] == "6.1.0 " + "a" * 12 and first["record_time"].startswith("2026-11-01")
    # the judged figure's rows say so, and only they
    judged = {(r["test"], r["figure"]) for r in rows if r["judged"] == "true"}
    assert judged == {(T, "max_forwarding_rate")}
    assert sum(r["judged"] == "true" for r in rows) == 4  # its samples, not a row of its own
    assert sum(r["test"] == T and r["figure"] == "ndr" for r in rows) == 4
    (tps, _) = [r for r in rows if r["test"] == M]
    assert (tps["figure"], float(tps["value"]), tps["unit"], tps["kind"]) == (
        "transactions_per_second", 20_000.0, "tps", "transactions")
    assert tps["frame_size"] == "" and tps["traffic_class"] == "local"  # no generator traffic
    p50 = [r for r in rows if r["test"] == L and r["figure"] == "p50 at rate=100"]
    assert len(p50) == 2 and p50[0]["unit"] == "us" and 20.0 <= float(p50[0]["value"]) <= 20.1


def test_ndjson_holds_the_same_rows_typed(tmp_path: Path) -> None:
    d = history(tmp_path)
    assert main(["export", str(d), "--csv", str(tmp_path / "x.csv")]) == 0
    assert main(["export", str(d), "--ndjson", str(tmp_path / "x.ndjson")]) == 0
    lines = [json.loads(line) for line in (tmp_path / "x.ndjson").read_text().splitlines()]
    assert all(tuple(line) == COLUMNS for line in lines)
    as_csv = csv_rows(tmp_path / "x.csv")
    assert [(r["test"], r["figure"], float(r["value"])) for r in as_csv] == \
        [(r["test"], r["figure"], r["value"]) for r in lines]
    tp = next(r for r in lines if r["test"] == T)
    assert tp["judged"] is False and tp["frame_size"] == 64 and tp["schema"] == 3
    assert next(r for r in lines if r["test"] == M)["frame_size"] is None


def test_a_judged_figure_without_samples_gets_its_own_row(tmp_path: Path) -> None:
    """mfr_vs_noop is no sample of the record; a throughput that found nothing has none:
    their verdicts are still exported, on a row of their own."""
    path = write(tmp_path / "r.json", [
        bench(T, [1e6], verdict=verdict("mfr_vs_noop", 0.8) | {"unit": "x no-op"}),
        bench(T + "dead", [1e6], pdr=[None], metric="max_forwarding_rate",
              max_forwarding_rate=None, verdict=verdict("pdr", None, "fail"),
              repetitions={"count": 1, "pdr_pps": [None], "ndr_pps": [None],
                           "mfr_pps": [None]})])
    assert main(["export", str(path), "--ndjson", str(tmp_path / "x.ndjson")]) == 0
    judged = [json.loads(line) for line in (tmp_path / "x.ndjson").read_text().splitlines()
              if json.loads(line)["judged"]]
    assert [(r["test"], r["figure"], r["value"], r["unit"], r["verdict"]) for r in judged] == [
        (T, "mfr_vs_noop", 0.8, "x no-op", "pass"), (T + "dead", "pdr", None, "Mpps", "fail")]


def test_records_from_before_kinds_export_with_their_kinds(capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    assert main(["export", str(OLD), "--ndjson", "-"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {(r["kind"], r["schema"]) for r in lines} == {("throughput", 2), ("latency", 1),
                                                          ("transactions", 2)}
    assert not any("test_pass" in r["test"] for r in lines)  # unfinished: no figures


@pytest.mark.parametrize(("args", "problem"), [
    (["nowhere.json", "--csv", "{tmp}/x.csv"], "nowhere.json: cannot read it"),
    (["{tmp}/bad.json", "--csv", "{tmp}/x.csv"], "bad.json: not valid JSON"),
    (["{tmp}/empty", "--ndjson", "{tmp}/x"], "no JSON records in this history directory"),
    (["{tmp}/r.json", "--csv", "{tmp}/no/such/dir/x.csv"], "x.csv: cannot write it"),
])
def test_bad_input_is_one_line_naming_the_problem_and_the_fix(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
        problem: str) -> None:
    (tmp_path / "bad.json").write_text('{"benchmarks": [')
    (tmp_path / "empty").mkdir()
    write(tmp_path / "r.json", [bench(T, [1e6])])
    assert main(["export", *(a.format(tmp=tmp_path) for a in args)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and problem in err and "(" in err and "Traceback" not in err
    assert not (tmp_path / "x.csv").exists()


def test_one_output_format_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    for extra in ([], ["--csv", "a", "--ndjson", "b"]):
        with pytest.raises(SystemExit) as exited:
            main(["export", str(OLD), *extra])
        assert exited.value.code == 2
    assert "--csv" in capsys.readouterr().err
