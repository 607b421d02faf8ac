"""The results table printed at the end of a run."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .calibration import Calibration, LossPoint
from .results import Measurement
from .rfc2544 import Throughput
from .verdict import SEVERITY, fmt_value

if TYPE_CHECKING:
    from .judge import Judge

SHORT_STATUS = {"below_min_load": "<min", "at_max_load": "max", "tester_bound": "tester"}


def _rate(t: Throughput) -> str:
    if t.rate_pps:
        return f"{t.rate_pps / 1e6:.3f}" + ("+" if t.status in ("at_max_load", "tester_bound")
                                            else "")
    return SHORT_STATUS.get(t.status, "-")


def _mpps(rate: float | None) -> str:
    return f"{rate / 1e6:.3f}" if rate else "-"


def _spread(m: Measurement, figure: str, single: str) -> str:
    """One repetition: its figure; several: mean ± standard deviation over them."""
    if len(m.repetitions) == 1:
        return single
    stats = m.repetitions_dict()[figure]
    if stats["mean"] is None:
        return single
    spread = f"±{stats['stdev'] / 1e6:.3f}" if stats["stdev"] is not None else ""
    missing = "" if stats["n"] == len(m.repetitions) else f" ({stats['n']}/{len(m.repetitions)})"
    return f"{stats['mean'] / 1e6:.3f}{spread}{missing}"


def flags(m: Measurement) -> list[str]:
    out = []
    if m.tester_bound:
        out.append("tester_bound")
    if m.testbed_bound:
        out.append("testbed_bound")
    out.extend(f"{goal.lower()}:unverified" for goal in m.unverified())
    if m.livelock:
        out.append("mfr:livelock")
    return out


def _loss_points(table: tuple[LossPoint, ...]) -> str:
    return ", ".join(f"{p.loss_ratio:.3%} at {p.share:.0%}"
                     + ("(tester short)" if p.tester_fault else "") for p in table)


def testbed_summary(cal: Calibration) -> str:
    cores = ""
    if cal.tester_cores:
        cores = " (" + ", ".join(f"CPU {c}: {r / 1e6:.3f}" for c, r in
                                 zip(cal.tester_cores, cal.tester_capacity_per_core_pps)) + ")"
    line = (f"testbed: tester capacity {cal.tester_capacity_pps / 1e6:.3f} Mpps{cores}, "
            f"searches up to "
            f"{cal.max_load_pps / 1e6:.3f} Mpps; no-op NF NDR {_mpps(cal.noop_ndr_pps)} / PDR "
            f"{_mpps(cal.noop_pdr_pps)} Mpps, loss {cal.loss_floor:.3%} at the top rate")
    if cal.loss_table:
        line += ("\ntestbed loss floor (no-op NF, share of tester capacity): "
                 + _loss_points(cal.loss_table))
    if cal.reflector_loss_table:
        line += ("\nround-trip loss floor (reflector, share of tester capacity): "
                 + _loss_points(cal.reflector_loss_table))
    return line


def _columns(lines: list[tuple[str, ...]]) -> list[str]:
    """Rows as left-aligned columns, a rule under the first (the header)."""
    widths = [max(len(str(row[i])) for row in lines) for i in range(len(lines[0]))]
    out = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return out


def table(rows: list[tuple[str, Measurement]],
          verdict_of: dict[str, str] | None = None) -> str:
    """The throughput results; `verdict_of`: a test's (worst) verdict, by node id."""
    header = ("test", "mode", "NF", "NDR Mpps", "PDR Mpps", "MFR Mpps", "no-op PDR",
              "verdict", "flags")
    lines: list[tuple[str, ...]] = [header]
    for nodeid, m in rows:
        mfr = f"{m.max_forwarding.mean_pps / 1e6:.3f}" if m.max_forwarding else "-"
        lines.append((nodeid.split("::")[-1], m.mode.name, m.nf.label(),
                      _spread(m, "ndr", _rate(m.ndr)), _spread(m, "pdr", _rate(m.pdr)),
                      _spread(m, "mfr", mfr), _mpps(m.calibration.noop_pdr_pps),
                      (verdict_of or {}).get(nodeid, "-"), " ".join(flags(m))))
    out = _columns(lines)
    reps = {len(m.repetitions) for _, m in rows}
    legend = []
    if reps != {1}:
        legend.append("figures over repetitions: mean ± standard deviation "
                      "(95% confidence intervals in the records)")
    summary = testbed_summary(rows[0][1].calibration)
    return "\n".join([summary, ""] + out + legend + [""]
                     + grouped_notes((nodeid, m.notes) for nodeid, m in rows))


def latency_table(rows: list[tuple[str, Any]],
                  verdict_of: dict[str, str] | None = None) -> str:
    """Latency results (latency_run.LatencyMeasurement), one line per point [us]."""
    header = ("test", "mode", "NF", "point", "frames", "p50 us", "p99 us", "max us",
              "verdict")
    lines: list[tuple[str, ...]] = [header]
    for nodeid, m in rows:
        for point in m.points:
            where = (f"{point.fraction:g} x {m.throughput_pps / 1e6:.3f} Mpps"
                     if point.fraction is not None and m.throughput_pps
                     else f"{point.rate_pps:g} pps")
            summary = point.histogram.summary(supported_only=True)
            lines.append((nodeid.split("::")[-1], m.mode.name, m.nf.label(), where,
                          str(point.received), _us(summary.get("p50_us")),
                          _us(summary.get("p99_us")), _us(summary.get("max_us")),
                          (verdict_of or {}).get(nodeid, "-")))
    return "\n".join(_columns(lines))


def transactions_table(rows: list[tuple[str, Any]],
                       verdict_of: dict[str, str] | None = None) -> str:
    """Transactions results (local.AppMeasurement): the application's rate and errors."""
    header = ("test", "mode", "NF", "app", "transactions/s", "errors", "verdict")
    lines: list[tuple[str, ...]] = [header]
    for nodeid, m in rows:
        lines.append((nodeid.split("::")[-1], m.mode.name, m.nf.label(), m.app,
                      f"{m.tps:.0f}", str(m.errors), (verdict_of or {}).get(nodeid, "-")))
    return "\n".join(_columns(lines))


def _us(value: Any) -> str:
    return "-" if value is None else f"{float(value):.1f}"


def grouped_notes(rows: Iterable[tuple[str, list[str]]]) -> list[str]:
    """One line per kind of note - notes alike but for their numbers are one kind -
    with how many tests it concerns and which."""
    kinds: dict[str, tuple[str, list[str]]] = {}
    for nodeid, notes in rows:
        for note in notes:
            kind = re.sub(r"\d+(\.\d+)?", "N", note)
            first, tests = kinds.setdefault(kind, (note, []))
            name = nodeid.split("::")[-1]
            if name not in tests:
                tests.append(name)
    out = []
    for kind, (first, tests) in sorted(kinds.items()):
        text = first if len(tests) == 1 else kind
        shown = ", ".join(tests[:4]) + (f" and {len(tests) - 4} more" if len(tests) > 4 else "")
        out.append(f"note ({len(tests)} test{'s' if len(tests) > 1 else ''}): {text} "
                   f"[{shown}]")
    return out


def worst_verdicts(judge: Judge) -> dict[str, str]:
    """Each test's worst verdict (a test may measure more than once)."""
    out: dict[str, str] = {}
    for j in judge.judged:
        if j.test not in out or SEVERITY[j.verdict.status] > SEVERITY[out[j.test]]:
            out[j.test] = j.verdict.status
    return out


def verdicts(judge: Judge) -> str:
    """Per test: the verdict beside the judged figure and its limit, then the counts."""
    lines: list[tuple[str, ...]] = [("test", "kind", "verdict", "figure", "value", "limit",
                                     "why")]
    for j in judge.judged:
        v = j.verdict
        why = v.reason if v.status in ("fail", "inconclusive") else ""
        lines.append((j.test.split("::")[-1], j.kind, v.status.upper(), v.figure or "-",
                      fmt_value(v.value, v.unit, "-"), fmt_value(v.limit, v.unit, "-"), why))
    counts: dict[str, int] = {}
    for j in judge.judged:
        counts[j.verdict.status] = counts.get(j.verdict.status, 0) + 1
    total = ", ".join(f"{n} {status}" for status, n in
                      sorted(counts.items(), key=lambda kv: SEVERITY[kv[0]]))
    return "\n".join([f"thresholds: {judge.thresholds.where}; inconclusive "
                      f"{'fails' if judge.inconclusive == 'fail' else 'does not fail'} "
                      "the run (--xdpperf-inconclusive)", ""] + _columns(lines)
                     + ["", f"verdicts: {total}"])
