"""The results table printed at the end of a run."""

from __future__ import annotations

from .calibration import Calibration, LossPoint
from .results import Measurement
from .rfc2544 import Throughput

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
    if m.mode.processing == "user":
        out.append("mfr:livelock-prone")
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


def table(rows: list[tuple[str, Measurement]]) -> str:
    header = ("test", "mode", "NF", "NDR Mpps", "PDR Mpps", "MFR Mpps", "no-op PDR", "flags")
    lines = [header]
    for nodeid, m in rows:
        mfr = f"{m.max_forwarding.mean_pps / 1e6:.3f}" if m.max_forwarding else "-"
        lines.append((nodeid.split("::")[-1], m.mode.name, m.nf.label(),
                      _spread(m, "ndr", _rate(m.ndr)), _spread(m, "pdr", _rate(m.pdr)),
                      _spread(m, "mfr", mfr), _mpps(m.calibration.noop_pdr_pps),
                      " ".join(flags(m))))
    widths = [max(len(str(row[i])) for row in lines) for i in range(len(header))]
    out = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    notes = sorted({n for _, m in rows for n in m.notes})
    reps = {len(m.repetitions) for _, m in rows}
    legend = []
    if reps != {1}:
        legend.append("figures over repetitions: mean ± standard deviation "
                      "(95% confidence intervals in the records)")
    summary = testbed_summary(rows[0][1].calibration)
    return "\n".join([summary, ""] + out + legend + [""] + [f"note: {n}" for n in notes])
