"""Compare xdpperf records across kernels or commits and decide per test whether
it regressed, improved or did not change.

The decision is FD.io CSIT's jumpavg (minimum description length): the
baseline's and the candidate's samples (one per repetition) are encoded once
as one group and once as two groups; only if two groups take fewer bits is
there a change.  So a 3% move among samples that scatter by 5% is no change,
and a 3% move among samples that agree to 0.1% is one.  `--fail-on` adds a
minimum relative drop on top, for gates that tolerate small regressions.

Only like is compared with like: a record's headline is its PDR, or its MFR
when some repetition found no PDR, and an MFR is not a better PDR.  When the
headlines differ the figure both records have is compared, and a run that lost
the baseline's PDR is a regression of its own.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from typing import Any

from jumpavg import BitCountingGroupList

from .errors import XdpperfError
from .history import TPS, Record, TestRecord, latency_points, load_title
from .verdict import throughput_bound

# jumpavg's default resolution: the largest sample is 12 significant bits
SIGNIFICANT_BITS = 12

# how a figure is named in tables
SHORT = {"pdr": "PDR", "ndr": "NDR", "max_forwarding_rate": "MFR", TPS: "TPS"}
# Latency is shown per load point but never judged: a record holds one histogram per
# point and no repetitions, so there is no spread to tell a change from noise by.
LATENCY_NOT_JUDGED = "shown, not judged"


@dataclass(frozen=True)
class Verdict:
    # "regression", "improvement", "no change" (with " on MFR" when the records' headlines
    # differ and another figure was compared), "regression (no PDR now)",
    # "only in <label>", "no samples", "not comparable (...)", LATENCY_NOT_JUDGED
    kind: str
    relative: float | None  # (candidate - baseline) / baseline of the means
    bits_saved: float | None  # separated minus combined description length (negative: change)
    metric: str | None = None  # the figure compared: "pdr", "max_forwarding_rate", ...

    @property
    def regression(self) -> bool:
        return self.kind.startswith("regression")


def jumpavg_verdict(baseline: tuple[float, ...] | list[float],
                    candidate: tuple[float, ...] | list[float]) -> Verdict:
    """Regression / improvement / no change of `candidate` against `baseline` samples."""
    if not baseline or not candidate:
        return Verdict("no samples", None, None)
    base_mean = statistics.fmean(baseline)
    relative = (statistics.fmean(candidate) - base_mean) / base_mean if base_mean else None
    max_value = max(max(baseline), max(candidate))
    if max_value <= 0:
        return Verdict("no change", relative, 0.0)
    unit = max_value / (2.0 ** (SIGNIFICANT_BITS + 1) - 1)
    first = BitCountingGroupList(max_value=max_value, unit=unit)
    first.append_group_of_runs(list(baseline))
    combined = first.copy().extend_runs_to_last_group(list(candidate))
    separated = first.copy().append_group_of_runs(list(candidate))
    saved = separated.bits - combined.bits
    if saved >= 0:
        return Verdict("no change", relative, saved)
    later, earlier = separated[1].stats.avg, separated[0].stats.avg
    return Verdict("regression" if later < earlier else "improvement", relative, saved)


def lost_pdr(test: TestRecord) -> Verdict:
    """The baseline had a PDR and this run has none (in some repetition): a regression
    whatever its MFR, which the gate fails without a relative drop to measure."""
    reps = (test.extra_info.get("repetitions") or {}).get("pdr_pps") or []
    found = sum(1 for v in reps if v)
    kind = (f"regression (PDR in {found} of {len(reps)} repetitions now)" if found
            else "regression (no PDR now)")
    return Verdict(kind, None, None, "pdr")


# What must match for two records' figures to be compared: a change here changes the
# figure, so a comparison across it is no verdict on the code (path in extra_info).
SETTINGS = (("frame size", ("traffic", "frame_size")), ("traffic profile", ("traffic",)),
            ("loss goal", ("loss_threshold",)), ("method", ("method", "name")),
            ("trial duration", ("calibration", "trial_duration")))
# The testbed itself: beyond this relative difference in the tester's calibrated
# capacity, the two runs did not measure on the same testbed (this VM's host moves
# it by 2x within an hour). Closer, a figure near the tester is caught as bound.
TESTER_CAPACITY_TOLERANCE = 0.5


def _setting(info: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = info
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def different_settings(base: dict[str, Any], test: dict[str, Any],
                       capacity_tolerance: float | None = TESTER_CAPACITY_TOLERANCE) -> str | None:
    """Why two records' figures cannot be compared, or None. A setting only one
    record states (older records) is not held against it. `capacity_tolerance`: the
    largest relative difference in the tester's calibrated capacity still taken for
    the same testbed (None: any)."""
    for name, path in SETTINGS:
        before, now = _setting(base, path), _setting(test, path)
        if before is not None and now is not None and before != now:
            return f"{name} differs: {_short(before)} vs {_short(now)}"
    before = (base.get("calibration") or {}).get("tester_capacity_pps")
    now = (test.get("calibration") or {}).get("tester_capacity_pps")
    if capacity_tolerance is not None and before and now \
            and abs(now / before - 1) > capacity_tolerance:
        return (f"tester capacity differs: {before / 1e6:.2f} vs {now / 1e6:.2f} Mpps "
                f"(beyond {capacity_tolerance:.0%})")
    return None


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def verdict_of(base: TestRecord, test: TestRecord,
               capacity_tolerance: float | None = TESTER_CAPACITY_TOLERANCE) -> Verdict:
    """`test` against `base`, like with like (see judged_verdict_of), flagged and not
    judged where the settings differ (see different_settings) or a regression's figure
    was bound by the tester or the testbed in either record."""
    if base.unfinished:
        return Verdict("not judged (the baseline is unfinished: a crash or failure ended "
                       "its measurement)", None, None)
    differs = different_settings(base.extra_info, test.extra_info, capacity_tolerance)
    if differs and not (base.is_latency and test.is_latency):
        return Verdict(f"not judged ({differs})", None, None)
    verdict = judged_verdict_of(base, test)
    if verdict.kind == "regression" or verdict.kind.startswith("regression on"):
        figure = verdict.metric or base.metric
        why = throughput_bound(test.extra_info, figure, by_status=False) or \
            throughput_bound(base.extra_info, figure, by_status=False)
        if why:
            return replace(verdict, kind=f"not judged (lower, but {why})")
    return verdict


def judged_verdict_of(base: TestRecord, test: TestRecord) -> Verdict:
    """`test` against `base`, like with like: the headline when both have the same one,
    else the figure both have (PDR first, then MFR)."""
    if base.is_latency or test.is_latency:
        if base.is_latency and test.is_latency:
            return Verdict(LATENCY_NOT_JUDGED, None, None, "latency")
        return Verdict(f"not comparable ({base.metric} vs {test.metric})", None, None)
    if base.samples_pps and not test.samples_pps and not test.is_transactions:
        return Verdict(f"regression (no {SHORT.get(base.metric, base.metric)} now: the "
                       "measurement produced no rate)", None, None, base.metric)
    if base.metric == test.metric:
        return replace(jumpavg_verdict(base.samples_pps, test.samples_pps), metric=base.metric)
    if base.samples_for("pdr") and not test.samples_for("pdr"):
        return lost_pdr(test)
    for figure in ("pdr", "max_forwarding_rate"):
        before, now = base.samples_for(figure), test.samples_for(figure)
        if before and now:  # named, as neither headline or only one of them is this figure
            verdict = jumpavg_verdict(before, now)
            return replace(verdict, kind=f"{verdict.kind} on {SHORT[figure]}", metric=figure)
    return Verdict(f"not comparable ({base.metric} vs {test.metric})", None, None)


def parse_capacity_tolerance(text: str) -> float | None:
    """'50%' or '0.5' -> 0.5; 'any' -> None (the tester's capacity is not compared)."""
    if text == "any":
        return None
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise XdpperfError(f"bad --capacity-tolerance '{text}'",
                           "give a relative difference like 50% or 0.5, or 'any'") from None
    if not value > 0:
        raise XdpperfError(f"--capacity-tolerance {text} is out of range",
                           "use a value above 0, or 'any'")
    return value


def parse_fail_on(text: str) -> float:
    """'5%' or '0.05' -> 0.05: the smallest relative drop that fails; 'any' -> 0."""
    if text in ("any", ""):
        return 0.0
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise XdpperfError(f"bad --fail-on '{text}'",
                           "give a relative drop like 5% or 0.05, or 'any'") from None
    if not 0 <= value < 1:
        raise XdpperfError(f"--fail-on {text} is out of range", "use 0 to below 100%")
    return value


@dataclass
class TestComparison:
    name: str
    rows: list[tuple[Record, TestRecord | None, Verdict | None]]  # first row: the baseline

    @property
    def verdict(self) -> Verdict:
        """The newest record's verdict against the baseline. A test the baseline has
        and the newest record lacks is a regression: a test that vanished (it failed
        before it measured, or the suite lost it) must not pass the gate."""
        base, last = self.rows[0], self.rows[-1]
        if base[1] is not None and last[1] is None:
            return Verdict(f"regression (missing in {last[0].label})", None, None)
        if base[1] is None or last[1] is None:
            present = [r.label for r, t, _ in self.rows if t is not None]
            return Verdict("only in " + ", ".join(present), None, None)
        return last[2] or Verdict("no change", 0.0, 0.0)

    def fails(self, min_drop: float) -> bool:
        v = self.verdict
        return v.regression and (v.relative is None or -v.relative >= min_drop)


def compare(records: list[Record], baseline: int = 0,
            capacity_tolerance: float | None = TESTER_CAPACITY_TOLERANCE) -> list[TestComparison]:
    """Every test of every record, each record against the baseline record (see
    different_settings for `capacity_tolerance`)."""
    if len(records) < 2:
        raise XdpperfError("compare needs at least two records",
                           "give two or more JSON files or a history directory")
    order = [records[baseline]] + [r for i, r in enumerate(records) if i != baseline]
    names: list[str] = []
    for r in order:
        names.extend(n for n in r.tests if n not in names)
    out = []
    for name in names:
        base = order[0].tests.get(name)
        rows: list[tuple[Record, TestRecord | None, Verdict | None]] = [(order[0], base, None)]
        for r in order[1:]:
            test = r.tests.get(name)
            verdict = (verdict_of(base, test, capacity_tolerance)
                       if base is not None and test is not None else None)
            rows.append((r, test, verdict))
        out.append(TestComparison(name, rows))
    return out


def _mpps(pps: float | None) -> str:
    return f"{pps / 1e6:.3f}" if pps else "-"


def _headline(test: TestRecord) -> str:
    """The headline's mean with its unit: Mpps, or transactions/s for a transactions record."""
    if test.metric == TPS:
        return f"{test.mean_pps:.0f} tps" if test.mean_pps else "-"
    return f"{_mpps(test.mean_pps)} Mpps" if test.mean_pps else "-"


def _spread(test: TestRecord) -> str:
    s = test.samples_pps
    if len(s) < 2:
        return f"n={len(s)}"
    scale = 1.0 if test.metric == TPS else 1e6
    return f"±{statistics.stdev(s) / scale:.3f} n={len(s)}"


def _cpu(test: TestRecord) -> str:
    cpu = test.extra_info.get("cpu") or {}
    busy = cpu.get("busy_ns_per_packet")
    return f"{busy:.0f}" if busy else "-"


def table(comparisons: list[TestComparison]) -> str:
    """A table per test: one row per record (per latency point), figures side by side,
    delta and verdict."""
    blocks = []
    for comp in comparisons:
        headline = next((t.metric for _, t, _ in comp.rows if t is not None), "?")
        lines = (_latency_lines(comp) if headline == "latency" else _throughput_lines(comp))
        widths = [max(len(row[c]) for row in lines) for c in range(len(lines[0]))]
        text = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in lines]
        text.insert(1, "  ".join("-" * w for w in widths))
        blocks.append(f"{comp.name} ({headline}): {comp.verdict.kind}\n" + "\n".join(text))
    return "\n\n".join(blocks)


def _throughput_lines(comp: TestComparison) -> list[tuple[str, ...]]:
    header = ("record", "metric", "rate", "spread", "NDR", "PDR", "MFR", "CPU ns/pkt", "delta",
              "verdict")
    lines: list[tuple[str, ...]] = [header]
    for i, (record, test, verdict) in enumerate(comp.rows):
        if test is None:
            lines.append((record.label, "absent") + ("",) * (len(header) - 2))
            continue
        delta = (f"{verdict.relative:+.2%}" if verdict and verdict.relative is not None
                 else "")
        lines.append((record.label, SHORT.get(test.metric, test.metric),
                      _headline(test), _spread(test),
                      _mpps(test.figure_pps("ndr")), _mpps(test.figure_pps("pdr")),
                      _mpps(test.figure_pps("max_forwarding_rate")), _cpu(test), delta,
                      "baseline" if i == 0 else (verdict.kind if verdict else "")))
    return lines


def point_label(key: tuple[str, float], point: dict[str, Any]) -> str:
    if key[0] == "fraction":  # and the rate that fraction was
        return f"{load_title(key)} ({float(point.get('rate_pps') or 0):.0f} pps)"
    return load_title(key)


def _us(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, int | float) else "-"


def _latency_lines(comp: TestComparison) -> list[tuple[str, ...]]:
    """One row per record and load point: its percentiles (µs) and p99 against the
    baseline's at the same load."""
    header = ("record", "load", "count", "lost", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs",
              "max µs", "p99 delta")
    lines: list[tuple[str, ...]] = [header]
    base = latency_points(comp.rows[0][1])
    for i, (record, test, _) in enumerate(comp.rows):
        points = latency_points(test)
        if not points:
            lines.append((record.label, "absent" if test is None else "no points")
                         + ("",) * (len(header) - 2))
        for key, p in points.items():
            before = (base.get(key) or {}).get("p99_us")
            delta = (f"{p['p99_us'] / before - 1:+.2%}"
                     if i and before and p.get("p99_us") is not None else "")
            lines.append((record.label, point_label(key, p), str(p.get("count", "-")),
                          str(p.get("lost", "-")), _us(p.get("p50_us")), _us(p.get("p90_us")),
                          _us(p.get("p99_us")), _us(p.get("p99.9_us")), _us(p.get("max_us")),
                          delta))
    return lines


LATENCY_JSON = ("rate_pps", "fraction", "count", "lost", "min_us", "p50_us", "p90_us",
                "p99_us", "p99.9_us", "max_us", "mean_us")


def as_json(comparisons: list[TestComparison]) -> list[dict[str, Any]]:
    return [{
        "test": c.name,
        "verdict": c.verdict.kind,
        "relative": c.verdict.relative,
        "metric": c.verdict.metric,
        "records": [{"path": str(r.path), "label": r.label,
                     "samples_pps": list(t.samples_pps) if t else None,
                     "metric": t.metric if t else None,
                     "latency": ([{k: p.get(k) for k in LATENCY_JSON}
                                  for p in latency_points(t).values()]
                                 if t is not None and t.is_latency else None),
                     "verdict": v.kind if v else None,
                     "relative": v.relative if v else None} for r, t, v in c.rows],
    } for c in comparisons]
