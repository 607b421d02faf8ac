"""The results table printed at the end of a run."""

from __future__ import annotations

from .results import Measurement
from .rfc2544 import Throughput


def _rate(t: Throughput) -> str:
    if t.rate_pps:
        return f"{t.rate_pps / 1e6:.3f}" + ("+" if t.status == "at_max_load" else "")
    return {"below_min_load": "<min", "at_max_load": "max"}.get(t.status, "-")


def _mpps(rate: float | None) -> str:
    return f"{rate / 1e6:.3f}" if rate else "-"


def table(rows: list[tuple[str, Measurement]]) -> str:
    header = ("test", "mode", "NF", "NDR Mpps", "PDR Mpps", "MFR Mpps", "no-op PDR", "flags")
    lines = [header]
    for nodeid, m in rows:
        mfr = f"{m.max_forwarding.mean_pps / 1e6:.3f}" if m.max_forwarding else "-"
        flags = []
        if m.tester_bound:
            flags.append("tester_bound")
        if m.testbed_bound:
            flags.append("testbed_bound")
        if m.mode.processing == "user":
            flags.append("mfr:livelock-prone")
        lines.append((nodeid.split("::")[-1], m.mode.name, m.nf.label(), _rate(m.ndr),
                      _rate(m.pdr), mfr, _mpps(m.calibration.noop_pdr_pps), " ".join(flags)))
    widths = [max(len(str(row[i])) for row in lines) for i in range(len(header))]
    out = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    notes = sorted({n for _, m in rows for n in m.notes})
    cal = rows[0][1].calibration
    summary = (f"testbed: tester capacity {cal.tester_capacity_pps / 1e6:.3f} Mpps, searches up to "
               f"{cal.max_load_pps / 1e6:.3f} Mpps; no-op NF NDR {_mpps(cal.noop_ndr_pps)} / PDR "
               f"{_mpps(cal.noop_pdr_pps)} Mpps, loss {cal.loss_floor:.3%} at the top rate")
    return "\n".join([summary, ""] + out + [""] + [f"note: {n}" for n in notes])
