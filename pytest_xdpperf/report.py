"""The results table printed at the end of a run."""

from __future__ import annotations

from .results import Measurement
from .rfc2544 import Throughput


def _rate(t: Throughput) -> str:
    if t.rate_pps:
        return f"{t.rate_pps / 1e6:.3f}" + ("+" if t.status == "at_max_load" else "")
    return {"below_min_load": "<min", "at_max_load": "max"}.get(t.status, "-")


def table(rows: list[tuple[str, Measurement]]) -> str:
    header = ("test", "mode", "NF", "NDR Mpps", "PDR Mpps", "MFR Mpps", "floor", "flags")
    lines = [header]
    for nodeid, m in rows:
        mfr = f"{m.max_forwarding.mean_pps / 1e6:.3f}" if m.max_forwarding else "-"
        flags = []
        if m.tester_bound:
            flags.append("tester_bound")
        if m.mode.processing == "user":
            flags.append("mfr:livelock-prone")
        lines.append((nodeid.split("::")[-1], m.mode.name, m.nf.label(), _rate(m.ndr),
                      _rate(m.pdr), mfr, f"{m.calibration.loss_floor:.3%}", " ".join(flags)))
    widths = [max(len(str(row[i])) for row in lines) for i in range(len(header))]
    out = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    notes = sorted({n for _, m in rows for n in m.notes})
    return "\n".join(out + [""] + [f"note: {n}" for n in notes])
