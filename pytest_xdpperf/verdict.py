"""The verdict on one measurement: its judged figure against the testbed's threshold.

pass          the figure meets its limit (a bound figure too: the DUT did at least that)
fail          the figure misses its limit, and nothing but the DUT decided it; or the
              NF forwarded nothing at all (with or without a threshold)
inconclusive  the figure misses its limit, but the tester or the testbed decided it
              (tester-bound, testbed-bound, too few samples): no verdict on the DUT
no threshold  the thresholds file has no entry for this measurement: figures are
              recorded and shown, nothing is judged
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .latency import supported as percentile_supported
from .methods import default_figure
from .thresholds import (
    DEFAULT_FIGURE,
    NORMALISED,
    Key,
    Thresholds,
    figure_value,
    limit_field,
    livelocked,
    mfr_spoiled_repetitions,
    parse_point,
    percentile_of,
    unit_of,
)

PASS, FAIL, INCONCLUSIVE, NO_THRESHOLD = "pass", "fail", "inconclusive", "no threshold"
# Within this share of what the tester offered (or could offer), a throughput figure
# measures the tester as much as the DUT (as results.TESTER_BOUND_MARGIN).
BOUND_MARGIN = 0.10
SEVERITY = {PASS: 0, NO_THRESHOLD: 1, INCONCLUSIVE: 2, FAIL: 3}


@dataclass(frozen=True)
class Verdict:
    """status, and the judged figure with its value and limit in `unit`."""

    status: str
    figure: str | None
    value: float | None
    limit: float | None
    unit: str
    reason: str
    source: str  # the thresholds file (or why there is none)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def message(self, test: str, flags: list[str]) -> str:
        """One line for a failing test: the test, the figure, value, limit and flags."""
        return (f"xdpperf: {test}: {self.status}: {self.reason}"
                + (f" [flags: {' '.join(flags)}]" if flags else "")
                + f" (thresholds: {self.source})")


def fmt_value(value: float | None, unit: str, none: str = "none") -> str:
    """A figure with its unit, as verdicts and the summary show it."""
    if value is None:
        return none
    return f"{value:.3f} {unit}" if unit in ("Mpps", "x no-op") else f"{value:.1f} {unit}"


def throughput_bound(info: dict[str, Any], figure: str, by_status: bool = True) -> str | None:
    """Why the tester or the testbed, not the DUT, decided `figure` of a throughput
    record's extra_info; None where the DUT did. `by_status` False: not a search
    status of tester_bound alone (the tester gave out at that load in this run), which
    says nothing of a drop against a run where the same tester offered more."""
    if figure == "max_forwarding_rate":
        mfr = info.get("max_forwarding_rate") or {}
        if spoiled := mfr_tester_bound(info):
            return spoiled
        rate, offered = mfr.get("mean_pps"), mfr.get("tester_offered_pps") or []
        capacity = (info.get("calibration") or {}).get("tester_capacity_pps")
        ceilings = [c for c in (capacity, *([sum(offered) / len(offered)] if offered else []))
                    if c]
        if livelocked(info):
            return ("the user-space NF collapsed under overload (livelock), so its MFR is "
                    "not its capacity")
        if rate and ceilings and rate >= min(ceilings) * (1 - BOUND_MARGIN):
            return (f"the tester's capacity decides this figure: the DUT took "
                    f"{rate / 1e6:.3f} of the {min(ceilings) / 1e6:.3f} Mpps the tester could "
                    "offer")
        return None
    t = info.get(figure) or {}
    if by_status and t.get("status") in ("at_max_load", "tester_bound"):
        return "the tester's capacity decides this figure (no loss up to what it sends)"
    if figure == "pdr" and info.get("testbed_bound"):
        return "the testbed's own loss decides this figure (the bare path loses as much)"
    return None


def judged_figure(info: dict[str, Any], thresholds: Thresholds) -> tuple[str, str]:
    """(figure, why) a throughput measurement is judged by, and its record headlined
    with: the testbed's entry's figure where it has an entry that applies (chosen from
    real runs as the steadier one), else the one the record states it was judged by,
    else the method's figure for this testbed (methods.default_figure)."""
    entries = [] if thresholds.mismatch(info) else thresholds.find(Key.of_record(info))
    if entries:
        figure = str(entries[0].get("figure", DEFAULT_FIGURE))
        return figure, (f"the testbed's thresholds entry judges {figure} ({thresholds.where};"
                        " `xdpperf thresholds --figure auto` keeps the steadier figure of "
                        "real runs)")
    stated = info.get("judged_figure") or {}
    if stated.get("figure"):
        return str(stated["figure"]), str(stated.get("why") or "")
    return default_figure(info)


def mfr_tester_bound(info: dict[str, Any]) -> str | None:
    """Why a throughput record's MFR is the tester's: it spoiled every MFR trial of some
    repetition (thresholds.mfr_spoiled_repetitions); None where it did not."""
    hit = mfr_spoiled_repetitions(info)
    if not hit:
        return None
    many = len((info.get("repetitions") or {}).get("mfr_tester_bound") or []) > 1
    which = f" of repetition {', '.join(map(str, hit))}" if many else ""
    return ("the tester spoiled every MFR trial" + which + " (it fell short of the load "
            "while the DUT lost no more than the bare testbed): the figure is what the "
            "tester managed, not the DUT's")


def judge_throughput(info: dict[str, Any], thresholds: Thresholds,
                     forwarded_anything: bool = True) -> Verdict:
    """The verdict on a throughput record's extra_info."""
    mismatch = thresholds.mismatch(info)
    entries = [] if mismatch else thresholds.find(Key.of_record(info))
    figure = judged_figure(info, thresholds)[0]
    unit, per = unit_of(figure)
    rate = figure_value(info, figure)
    value = rate / per if rate else None
    limit = float(entries[0][limit_field(figure)]) if entries else None
    bound = throughput_bound(info, "max_forwarding_rate" if figure == NORMALISED else figure)
    verdict = _lower(figure, value, limit, unit, bound, thresholds.where, mismatch)
    if not forwarded_anything:
        return Verdict(FAIL, figure, value, limit, unit,
                       "the NF forwarded nothing at any load", thresholds.where)
    return verdict


def judge_transactions(info: dict[str, Any], thresholds: Thresholds) -> Verdict:
    entries = thresholds.find(Key.of_record(info))
    limit = float(entries[0]["min_tps"]) if entries else None
    tps = info.get("tps") or None
    if info.get("errors"):
        why = f": {info['problem']}" if info.get("problem") else ""
        return Verdict(FAIL, "transactions_per_second", tps, limit, "tps",
                       f"the application reported {info['errors']} errors{why}",
                       thresholds.where)
    if not tps:
        return Verdict(FAIL, "transactions_per_second", None, limit, "tps",
                       "no transactions completed", thresholds.where)
    return _lower("transactions_per_second", tps, limit, "tps", None, thresholds.where)


def _lower(figure: str, value: float | None, limit: float | None, unit: str,
           bound: str | None, source: str, mismatch: str | None = None) -> Verdict:
    if limit is None:
        return Verdict(NO_THRESHOLD, figure, value, None, unit,
                       f"{figure} {fmt_value(value, unit)}, no threshold for this measurement"
                       + (f" ({mismatch})" if mismatch else ""), source)
    if value is not None and value >= limit:
        return Verdict(PASS, figure, value, limit, unit,
                       f"{figure} {fmt_value(value, unit)} >= limit {fmt_value(limit, unit)}",
                       source)
    missed = (f"{figure} {fmt_value(value, unit)} is below the limit "
              f"{fmt_value(limit, unit)}" if value is not None
              else f"no {figure} measured (limit {fmt_value(limit, unit)})")
    if bound:
        return Verdict(INCONCLUSIVE, figure, value, limit, unit, f"{missed}; {bound}", source)
    return Verdict(FAIL, figure, value, limit, unit, missed, source)


def judge_latency(info: dict[str, Any], thresholds: Thresholds) -> Verdict:
    """Every latency limit of the record's entries; the worst verdict of them, with the
    figure it concerns. Without an entry: "no threshold" unless nothing came back."""
    points = info.get("latency") or []
    if points and not any(p.get("count") for p in points):
        return Verdict(FAIL, "latency", None, None, "us", "no frame came back at any point",
                       thresholds.where)
    mismatch = thresholds.mismatch(info)
    verdicts = [] if mismatch else [v for entry in thresholds.find(Key.of_record(info))
                                    for v in _latency_entry(entry, points, thresholds.where)]
    if not verdicts:
        return Verdict(NO_THRESHOLD, "latency", None, None, "us",
                       "latency recorded, no threshold for this measurement"
                       + (f" ({mismatch})" if mismatch else ""), thresholds.where)
    worst = max(verdicts, key=lambda v: SEVERITY[v.status])
    if worst.status == PASS:
        return Verdict(PASS, "latency", None, None, "us",
                       "; ".join(v.reason for v in verdicts), thresholds.where)
    return worst


def _latency_entry(entry: dict[str, Any], points: list[dict[str, Any]],
                   source: str) -> list[Verdict]:
    want = parse_point(str(entry["point"]))
    assert want is not None  # thresholds.load checked it
    name, at = want
    point = next((p for p in points if (
        (name == "rate" and p.get("fraction") is None and p.get("rate_pps") == at)
        or (name == "fraction" and p.get("fraction") == at))), None)
    out = []
    for pct, limit in entry["max_us"].items():
        figure = f"{pct} at {entry['point']}"
        if point is None:
            out.append(Verdict(FAIL, figure, None, float(limit), "us",
                               f"no latency point {entry['point']} was measured", source))
            continue
        value = point.get(f"{pct}_us")
        q = percentile_of(pct)
        count = int(point.get("count") or 0)
        if q is not None and 0 < q < 100 and not percentile_supported(q, count):
            out.append(Verdict(INCONCLUSIVE, figure, None, float(limit), "us",
                               f"{figure}: {count} samples do not support a {pct}", source))
        elif value is None:
            out.append(Verdict(FAIL, figure, None, float(limit), "us",
                               f"{figure}: nothing came back", source))
        elif value <= limit:
            out.append(Verdict(PASS, figure, value, float(limit), "us",
                               f"{figure} {value:.1f} us <= limit {limit:.1f} us", source))
        elif point.get("tester_bound"):
            out.append(Verdict(INCONCLUSIVE, figure, value, float(limit), "us",
                               f"{figure} {value:.1f} us is above the limit {limit:.1f} us; "
                               "the tester's capacity decides this point", source))
        else:
            out.append(Verdict(FAIL, figure, value, float(limit), "us",
                               f"{figure} {value:.1f} us is above the limit {limit:.1f} us",
                               source))
    return out
