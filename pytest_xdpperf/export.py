"""`xdpperf export`: records as one long table for spreadsheets and dashboards.

One row per test x figure x repetition sample, each with the record's and the
test's identity (COLUMNS). Figures: throughput records' ndr, pdr and
max_forwarding_rate once per repetition [packets/s]; latency records' percentiles
per load point ("p99 at fraction=0.5", "p99 at rate=100") [us]; transactions
records' transactions_per_second [tps]. `judged` marks the row of the figure the
test's verdict is about (a row of its own where that figure is no sample, e.g.
mfr_vs_noop or a throughput that found nothing); `verdict` is the test's verdict
status on each of its rows. Unfinished records have no figures and no rows.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import XdpperfError
from .history import Record, TestRecord
from .schema import LATENCY, THROUGHPUT, TRANSACTIONS, schema_version

COLUMNS = ("record", "record_path", "record_time", "kernel", "commit", "testbed", "test",
           "kind", "schema", "nf", "params", "mode", "traffic_class", "frame_size",
           "figure", "repetition", "value", "unit", "judged", "verdict")
THROUGHPUT_FIGURES = ("ndr", "pdr", "max_forwarding_rate")
LATENCY_FIGURES = ("min", "p50", "p90", "p99", "p99.9", "max", "mean")
FORMATS = ("csv", "ndjson")


def testbed_of(record: Record) -> str:
    """The record's testbed in one word and its CPUs: "veth(tester=0,dut=1)"."""
    bed = record.machine.get("xdpperf_testbed")
    if not isinstance(bed, dict):
        return str(bed or "")
    cpus = ",".join(f"{side}={'+'.join(map(str, (bed.get(side) or {}).get('cpus') or []))}"
                    for side in ("tester", "dut") if isinstance(bed.get(side), dict))
    return f"{bed.get('kind', '?')}({cpus})" if cpus else str(bed.get("kind", "?"))


def _figures(test: TestRecord) -> Iterator[tuple[str, int | None, float | None, str]]:
    """(figure, repetition or None, value, unit) of one test's record."""
    info = test.extra_info
    if test.kind == THROUGHPUT:
        count = int((info.get("repetitions") or {}).get("count") or 1)
        for figure in THROUGHPUT_FIGURES:
            samples = test.samples_for(figure)
            for i, value in enumerate(samples):  # a single figure of many repetitions: no index
                yield figure, i if len(samples) == count else None, value, "pps"
    elif test.kind == LATENCY:
        for point in info.get("latency") or []:
            if not isinstance(point, dict):
                continue
            at = (f"fraction={point['fraction']:g}" if point.get("fraction") is not None
                  else f"rate={float(point.get('rate_pps') or 0):g}")
            for pct in LATENCY_FIGURES:
                us = point.get(f"{pct}_us")
                if us is not None:
                    yield f"{pct} at {at}", 0, float(us), "us"  # one run a point
    elif test.kind == TRANSACTIONS and info.get("tps") is not None:
        yield "transactions_per_second", 0, float(info["tps"]), "tps"


def rows(records: list[Record]) -> Iterator[dict[str, Any]]:
    """Every row of `records`, in their order then their tests' order (COLUMNS' keys)."""
    for record in records:
        base = {"record": record.label, "record_path": str(record.path),
                "record_time": record.datetime, "kernel": record.kernel,
                "commit": record.commit_id, "testbed": testbed_of(record)}
        for name, test in record.tests.items():
            info = test.extra_info
            given = info.get("verdict")
            verdict: dict[str, Any] = given if isinstance(given, dict) else {}
            judged = verdict.get("figure")
            params = info.get("nf_params") or {}
            ident = {**base, "test": name, "kind": test.kind,
                     "schema": schema_version(info), "nf": info.get("nf"),
                     "params": ",".join(f"{k}={params[k]}" for k in sorted(params)),
                     "mode": info.get("mode"), "traffic_class": info.get("traffic_class"),
                     "frame_size": (info.get("traffic") or {}).get("frame_size"),
                     "verdict": verdict.get("status")}
            seen = False
            for figure, repetition, value, unit in _figures(test):
                seen |= figure == judged
                yield {**ident, "figure": figure, "repetition": repetition, "value": value,
                       "unit": unit, "judged": figure == judged}
            if judged and not seen:  # the verdict's figure is no sample: its own row
                yield {**ident, "figure": judged, "repetition": None,
                       "value": verdict.get("value"), "unit": verdict.get("unit"),
                       "judged": True}


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def write_rows(out: IO[str], fmt: str, records: list[Record]) -> int:
    """`records` as CSV (a header, then rows; empty cells for none) or NDJSON (one
    JSON object a line, null for none); the number of rows."""
    n = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows(records):
            writer.writerow({k: _csv_cell(row[k]) for k in COLUMNS})
            n += 1
    else:
        for row in rows(records):
            out.write(json.dumps({k: row[k] for k in COLUMNS}) + "\n")
            n += 1
    return n


def export(records: list[Record], fmt: str, target: str) -> int:
    """Write `records` in `fmt` to the file `target` ("-": standard output)."""
    if fmt not in FORMATS:
        raise XdpperfError(f"unknown export format {fmt!r}", "use --csv FILE or --ndjson FILE")
    if target == "-":
        return write_rows(sys.stdout, fmt, records)
    path = Path(target)
    try:
        with open(path, "w", newline="") as out:
            return write_rows(out, fmt, records)
    except OSError as exc:
        raise XdpperfError(f"{target}: cannot write it ({exc.strerror or exc})",
                           "give a file in a directory that exists and you can write, "
                           "or - for standard output") from None
