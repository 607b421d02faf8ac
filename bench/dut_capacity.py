"""DUT capacity: what one DUT core takes in XDP, the framework's NFs against a minimal
XDP drop program, fed by the same generator in one run.

    sudo .venv/bin/python bench/dut_capacity.py [--seconds 1] [--rounds 6]

The tester (the built-in generator, flat out, on the tester's CPU) offers 64-byte
frames; on the DUT's CPU, in turn:

- reference: xdp_drop_ref, `return XDP_DROP` and nothing else (nfs/trafficgen
  --reference) - the most the DUT core takes on this path;
- no-op NF: the calibration's sink (nfs/trafficgen's receiver with --count-only: it
  checks each frame's magic and counts it, then drops);
- macswap: the macswap NF in mode xdp as every test runs it (nf_kern.h's per-CPU
  counters and per-task accounting included), action drop.

Each figure is a maximum forwarding rate as the framework measures one (a TrialMeasurer
trial, drop class), offered flat out so that the DUT, not a paced load, is the limit:
frames the DUT handled per second of the trial - the NF's rx counter, for the
reference the DUT port's rx_queue_0_xdp_packets. Rounds
interleave the three, each round's ratio to the reference is taken in that round, and
the median of those is the figure (target >= 0.9). `refused` is the share of offered
frames the DUT's ring refused: above zero, the DUT (not the tester) was the limit.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_xdpperf.build import Builder  # noqa: E402
from pytest_xdpperf.measure import TrialMeasurer  # noqa: E402
from pytest_xdpperf.modes import MODES  # noqa: E402
from pytest_xdpperf.nf import NfSpec, RunningNf  # noqa: E402
from pytest_xdpperf.testbed.veth import VethTestbed  # noqa: E402
from pytest_xdpperf.trafficgen.base import TrafficProfile  # noqa: E402
from pytest_xdpperf.trafficgen.bpfgen import BpfGenerator, Sink  # noqa: E402

REFERENCE = "reference: XDP_DROP only"
NOOP = "no-op NF (the calibration's sink)"


@contextmanager
def dut_side(name: str, bed: Any, builder: Builder, profile: TrafficProfile
             ) -> Iterator[Callable[[], dict[str, Any]]]:
    """The DUT program `name`, attached; yields its handled() counter."""
    tg = builder.program("trafficgen")
    if name == REFERENCE:
        with Sink(tg, bed.dut, profile, reference=True) as sink:
            yield sink.handled
    elif name == NOOP:
        with Sink(tg, bed.dut, profile, count_only=True) as sink:
            yield sink.handled
    else:
        with RunningNf(builder.program("macswap"), NfSpec("macswap", {"action": "drop"}),
                       MODES["xdp"], bed.dut) as nf:
            yield nf.stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    builder = Builder()
    profile = TrafficProfile(frame_size=64)
    names = [REFERENCE, NOOP, "macswap NF, mode xdp"]
    rows: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    bed = VethTestbed.create()
    try:
        with BpfGenerator(builder.program("trafficgen"), bed.tester, bed.dut, profile) as gen:
            for _ in range(args.rounds):
                for name in names:
                    with dut_side(name, bed, builder, profile) as handled:
                        bed.prepare_dut_napi()
                        measurer = TrialMeasurer(gen, bed, "drop", handled)
                        measurer(100_000, 0.05)  # warm-up
                        t = measurer(0.0, args.seconds)  # flat out: all the tester has
                        rows[name].append({
                            "mfr_pps": t.forwarding_rate, "offered_pps": t.offered_rate,
                            "refused": (t.extra.get("ring_overflow") or 0) / t.offered})
    finally:
        bed.destroy()
    print(f"DUT capacity, XDP drop on one core (CPU {bed.dut.cpu}), 64-byte frames, fed "
          f"flat out by the built-in generator (CPU {bed.tester.cpu}), {args.rounds} "
          f"interleaved rounds of {args.seconds:g} s, {time.strftime('%F')}, "
          f"{os.uname().release}:\n")
    print("| DUT program | MFR Mpps, median | vs reference, median of rounds (min-max) "
          "| offered Mpps | refused by the DUT's ring | rounds (Mpps) |")
    print("|---|---|---|---|---|---|")
    for name in names:
        rates = [r["mfr_pps"] / 1e6 for r in rows[name]]
        ratios = [a["mfr_pps"] / b["mfr_pps"] for a, b in zip(rows[name], rows[REFERENCE])]
        offered = statistics.median(r["offered_pps"] for r in rows[name]) / 1e6
        refused = statistics.median(r["refused"] for r in rows[name])
        print(f"| {name} | {statistics.median(rates):.2f} | {statistics.median(ratios):.2f} "
              f"({min(ratios):.2f}-{max(ratios):.2f}) | {offered:.2f} | {refused:.0%} | "
              f"{', '.join(f'{x:.2f}' for x in rates)} |")


if __name__ == "__main__":
    main()
