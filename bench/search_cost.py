#!/usr/bin/env python3
"""What a throughput search costs: MLRsearch against plain RFC 2544 binary search.

Both searches look for NDR and PDR (0.1 % loss) at the same relative width (0.5 %
by default) on the same DUTs, side by side in one run:

* the simulated DUTs of tests/simdut.py (no time passes: many seeds are cheap):
  deterministic, capacity wobbling +-2 % per trial, 0.2 % loss spikes in 20 % of
  trials, loss events arriving in time more often near capacity (longer trials see
  more of them, as on the veth testbed);
* the real built-in testbed: macswap in mode xdp dropping, through the framework's
  own pieces (veth testbed, calibration, TrialMeasurer), the two searches
  alternating so that drift of the machine hits both alike.

The figure of merit is trial-seconds (the sum of the durations the searches asked
for) and the number of trials; wall seconds (with each trial's setup) are shown for
the real testbed too.  Needs root for the real part (--sim-only does without).

    .venv/bin/python bench/search_cost.py [--real-runs 3] [--trial-duration 0.2]
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the simulated DUTs the tests use

from simdut import Deterministic, LossSpikes, SimDut, Sporadic, Wobbly  # noqa: E402

from pytest_xdpperf.rfc2544 import (  # noqa: E402
    SearchResult,
    SearchSpec,
    Trial,
    binary_search,
    find_throughput,
)

SEARCHES: dict[str, Callable[..., SearchResult]] = {
    "MLRsearch": find_throughput, "binary": binary_search}
SIM_CAPACITY = 1e6
SIM_MAX_LOAD = 5e6  # like the real testbed: the tester reaches ~5x the DUT's NDR
SIM_DUTS: dict[str, Callable[[int], SimDut]] = {
    "sim deterministic": lambda seed: Deterministic(capacity=SIM_CAPACITY),
    "sim wobbly +-2%": lambda seed: Wobbly(capacity=SIM_CAPACITY, wobble=0.02, seed=seed),
    "sim loss spikes": lambda seed: LossSpikes(capacity=SIM_CAPACITY, seed=seed),
    "sim sporadic loss": lambda seed: Sporadic(capacity=SIM_CAPACITY, seed=seed),
}


@dataclass
class Cost:
    dut: str
    search: str
    trial_seconds: list[float] = field(default_factory=list)
    trials: list[int] = field(default_factory=list)
    wall_seconds: list[float] = field(default_factory=list)
    ndr_pps: list[float | None] = field(default_factory=list)
    pdr_pps: list[float | None] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    spoiled: list[int] = field(default_factory=list)  # trials the tester spoiled

    def add(self, result: SearchResult, wall: float) -> None:
        self.spoiled.append(sum(not t.valid for t in result.trials))
        self.trial_seconds.append(result.trial_seconds)
        self.trials.append(len(result.trials))
        self.wall_seconds.append(wall)
        self.ndr_pps.append(result.ndr.rate_pps)
        self.pdr_pps.append(result.pdr.rate_pps)
        self.statuses.append(f"{result.ndr.status}/{result.pdr.status}")

    def row(self, baseline: Cost | None, real: bool) -> list[str]:
        def mean(xs: list[Any]) -> float:
            return statistics.fmean(xs)

        def mpps(xs: list[float | None]) -> str:
            found = [x for x in xs if x is not None]
            if not found:
                return "-"
            spread = f"±{statistics.stdev(found) / 1e6:.3f}" if len(found) > 1 else ""
            return f"{mean(found) / 1e6:.3f}{spread}"

        ratio = ("" if baseline is None
                 else f"{mean(self.trial_seconds) / mean(baseline.trial_seconds):.2f}")
        found = sum(s == "found/found" for s in self.statuses)
        return [self.dut, self.search, str(len(self.trials)), f"{found}",
                f"{mean(self.trials):.1f}", f"{mean(self.spoiled):.1f}",
                f"{mean(self.trial_seconds):.2f}", ratio,
                f"{mean(self.wall_seconds):.1f}" if real else "-",
                mpps(self.ndr_pps), mpps(self.pdr_pps)]


def spec_for(max_load: float, args: argparse.Namespace) -> SearchSpec:
    return SearchSpec(max_load=max_load, min_load=args.min_load, loss_threshold=0.001,
                      relative_width=args.relative_width, trial_duration=args.trial_duration,
                      search_duration_max=args.search_duration_max,
                      tester_retries=args.tester_retries)


def simulated(args: argparse.Namespace) -> list[Cost]:
    spec = replace(spec_for(SIM_MAX_LOAD, args), search_duration_max=1e9)
    out = []
    for dut_name, make in SIM_DUTS.items():
        for name, search in SEARCHES.items():
            cost = Cost(dut_name, name)
            for seed in range(args.sim_seeds):
                dut = make(seed)
                cost.add(search(dut, spec, clock=dut.clock), 0.0)
            out.append(cost)
    return out


def real(args: argparse.Namespace) -> list[Cost]:
    from pytest_xdpperf.build import Builder
    from pytest_xdpperf.calibration import calibrate
    from pytest_xdpperf.measure import TrialMeasurer
    from pytest_xdpperf.modes import MODES, applied
    from pytest_xdpperf.nf import NfSpec, RunningNf
    from pytest_xdpperf.testbed.veth import VethTestbed
    from pytest_xdpperf.trafficgen.base import TrafficProfile
    from pytest_xdpperf.trafficgen.bpfgen import BpfGenerator

    builder = Builder()
    trafficgen, nf = builder.program("trafficgen"), builder.program(args.nf)
    mode = MODES[args.mode]
    profile = TrafficProfile()
    dut_name = f"testbed {args.nf} {args.mode} drop"
    costs = {name: Cost(dut_name, name) for name in SEARCHES}
    bed = VethTestbed.create()
    try:
        cal = calibrate(bed, builder, profile, spec_for(1e9, args))
        print(f"calibration: tester {cal.tester_capacity_pps / 1e6:.3f} Mpps flat out, "
              f"searches up to {cal.max_load_pps / 1e6:.3f} Mpps", file=sys.stderr)
        spec = spec_for(cal.max_load_pps, args)
        with applied(mode, bed.dut), \
                RunningNf(nf, NfSpec(args.nf, {"action": "drop"}), mode, bed.dut) as running, \
                BpfGenerator(trafficgen, bed.tester, bed.dut, profile) as generator:
            bed.prepare_dut_napi()
            measurer: Trial = TrialMeasurer(generator, bed, "drop",
                                            running.stats)
            measurer(args.min_load * 10, 0.2)  # warm-up
            for run in range(args.real_runs):
                order = list(SEARCHES.items())
                if run % 2:
                    order.reverse()  # neither search always runs first
                for name, search in order:
                    start = time.monotonic()
                    result = search(measurer, spec)
                    costs[name].add(result, time.monotonic() - start)
                    print(f"run {run + 1} {name}: {len(result.trials)} trials, "
                          f"{result.trial_seconds:.2f} trial-s, NDR {result.ndr.rate_pps} "
                          f"PDR {result.pdr.rate_pps}", file=sys.stderr)
    finally:
        bed.destroy()
    return list(costs.values())


def table(costs: list[Cost]) -> str:
    header = ["DUT", "search", "runs", "found", "trials", "spoiled", "trial-s", "vs binary",
              "wall s",
              "NDR Mpps", "PDR Mpps"]
    rows = [header]
    for cost in costs:
        baseline = next(c for c in costs if c.dut == cost.dut and c.search == "binary")
        real_dut = cost.dut.startswith("testbed")
        rows.append(cost.row(None if cost is baseline else baseline, real_dut))
    lines = ["| " + " | ".join(r) + " |" for r in rows]
    lines.insert(1, "|" + "---|" * len(header))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trial-duration", type=float, default=0.2,
                        help="final trial duration, s (default 0.2; MLRsearch's shortest "
                             "trials are a tenth of it)")
    parser.add_argument("--relative-width", type=float, default=0.005)
    parser.add_argument("--min-load", type=float, default=10_000.0)
    parser.add_argument("--sim-seeds", type=int, default=30)
    parser.add_argument("--real-runs", type=int, default=3,
                        help="searches of each kind on the real testbed (default 3)")
    parser.add_argument("--search-duration-max", type=float, default=600.0)
    parser.add_argument("--tester-retries", type=int, default=1,
                        help="re-runs of a trial the tester spoiled (default 1, as pytest)")
    parser.add_argument("--nf", default="macswap")
    parser.add_argument("--mode", default="xdp")
    parser.add_argument("--sim-only", action="store_true")
    parser.add_argument("--json", type=Path, help="also write every search's figures here")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))

    costs = simulated(args)
    if not args.sim_only:
        costs += real(args)
    print(f"NDR and PDR (0.1 %) at {args.relative_width:.1%} relative width, final trials "
          f"{args.trial_duration:g} s; trials, spoiled (by the tester), trial-s and wall s "
          "are means per search; found: searches where both NDR and PDR were bracketed "
          "(not tester_bound / below_min_load)")
    print(table(costs))
    if args.json:
        args.json.write_text(json.dumps([vars(c) for c in costs], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
