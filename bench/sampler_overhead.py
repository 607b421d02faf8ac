"""What the DUT samplers (sadc/sadf CPU split + perf stat LLC) cost the measured throughput.

Same DUT (an XDP checksum NF, drop, on the built-in veth testbed; enough
rounds per packet that the DUT core, not the tester, bounds the rate: that is
where a sampler's cost would show), the same overload trial (the tester's
flat-out rate, i.e. a maximum forwarding rate trial), alternating without
and with `DutSamplers` around it, several pairs.
Alternating keeps the VM's drift out of the difference; the figure is the mean
of the per-pair ratios with its 95% confidence half-width.

Overload trials scatter by several percent on a VM, more than the 1% target,
so a second, finer estimate follows: paced trials at a fixed share of the
overload rate (the DUT keeps up), again alternating without and with the
samplers, and the CPU time the DUT's NAPI kthread (where the XDP NF runs) spent
per packet, read from /proc/<tid>/schedstat in nanoseconds. A sampler that
took the DUT core's time or polluted its caches would raise that cost.

    sudo .venv/bin/python bench/sampler_overhead.py [--pairs 20] [--duration 1.0] [--rounds 300]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import warnings
from collections.abc import Callable

from pytest_xdpperf.build import Builder
from pytest_xdpperf.measure import TrialMeasurer
from pytest_xdpperf.metrics import DutSamplers
from pytest_xdpperf.modes import MODES, applied
from pytest_xdpperf.nf import NfSpec, RunningNf
from pytest_xdpperf.rfc2544 import TrialResult
from pytest_xdpperf.testbed.veth import VethTestbed
from pytest_xdpperf.trafficgen.base import TrafficProfile
from pytest_xdpperf.trafficgen.bpfgen import BpfGenerator

OVERLOAD_PPS = 20e6  # more than this tester can send: every trial is flat out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=300,
                        help="checksum rounds per packet (0: pure I/O, tester-bound here)")
    parser.add_argument("--duration", type=float, default=1.0)
    parser.add_argument("--paced-share", type=float, default=0.6,
                        help="paced trials at this share of the overload forwarding rate")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # the one LLC warning of this VM
    builder = Builder()
    bed = VethTestbed.create()
    mode = MODES["xdp"]
    try:
        with applied(mode, bed.dut), \
                RunningNf(builder.program("checksum"),
                          NfSpec("checksum", {"action": "drop", "rounds": args.rounds}),
                          mode, bed.dut) as nf, \
                BpfGenerator(builder.program("trafficgen"), bed.tester, bed.dut,
                             TrafficProfile()) as gen:
            napi = bed.prepare_dut_napi()
            trial = TrialMeasurer(gen, bed, "drop", nf.stats)
            trial(OVERLOAD_PPS, 0.2)  # warm-up
            ratios, plain, sampled = [], [], []
            for i in range(args.pairs):
                without = trial(OVERLOAD_PPS, args.duration).forwarding_rate
                with DutSamplers(bed.dut.cpus) as samplers:
                    result = trial(OVERLOAD_PPS, args.duration)
                section = samplers.result(result.forwarded)
                plain.append(without)
                sampled.append(result.forwarding_rate)
                ratios.append(result.forwarding_rate / without)
                print(f"pair {i + 1}: without {without / 1e6:.3f} Mpps, with "
                      f"{result.forwarding_rate / 1e6:.3f} Mpps (cpu source "
                      f"{section['cpu']['source']}, llc "
                      f"{'null' if section['llc']['per_packet'] is None else 'counted'})",
                      flush=True)
            rate = args.paced_share * statistics.fmean(plain)
            ns_plain, ns_sampled = [], []
            for i in range(args.pairs):
                ns_plain.append(ns_per_packet(napi, lambda: trial(rate, args.duration)))
                with DutSamplers(bed.dut.cpus):
                    ns_sampled.append(ns_per_packet(napi, lambda: trial(rate, args.duration)))
                print(f"paced pair {i + 1} at {rate / 1e6:.3f} Mpps: NAPI kthread "
                      f"{ns_plain[-1]:.1f} ns/packet without, {ns_sampled[-1]:.1f} with",
                      flush=True)
    finally:
        bed.destroy()
    print(f"\nwithout samplers: {statistics.fmean(plain) / 1e6:.3f} Mpps "
          f"(stdev {statistics.stdev(plain) / 1e6:.3f})")
    print(f"with samplers:    {statistics.fmean(sampled) / 1e6:.3f} Mpps "
          f"(stdev {statistics.stdev(sampled) / 1e6:.3f})")
    mean, half = mean_ci(ratios)
    print(f"cost: {(1 - mean):+.2%} of throughput (95% CI ±{half:.2%}, {len(ratios)} pairs)")
    mean, half = mean_ci([s / p for s, p in zip(ns_sampled, ns_plain)])
    print(f"paced at {rate / 1e6:.3f} Mpps: DUT kthread {statistics.fmean(ns_plain):.1f} ns/packet "
          f"without, {statistics.fmean(ns_sampled):.1f} with; cost {mean - 1:+.2%} of CPU per "
          f"packet (95% CI ±{half:.2%}, {len(ns_plain)} pairs)")
    return 0


def mean_ci(values: list[float]) -> tuple[float, float]:
    """Mean and 95% confidence half-width (normal approximation)."""
    half = 1.96 * statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0
    return statistics.fmean(values), half


def ns_per_packet(tids: list[int], run: Callable[[], TrialResult]) -> float:
    """CPU nanoseconds the DUT's NAPI kthreads spent per packet the NF took in `run`."""
    before = kthread_ns(tids)
    result = run()
    return (kthread_ns(tids) - before) / max(1, result.forwarded)


def kthread_ns(tids: list[int]) -> int:
    total = 0
    for tid in tids:
        with open(f"/proc/{tid}/schedstat") as f:
            total += int(f.read().split()[0])  # time on the CPU, ns
    return total


if __name__ == "__main__":
    sys.exit(main())
