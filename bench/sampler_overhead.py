"""What the DUT samplers (sadc/sadf CPU split + perf stat LLC) cost the measured throughput.

Same DUT (an XDP checksum NF, drop, on the built-in veth testbed; enough
rounds per packet that the DUT core, not the tester, bounds the rate: that is
where a sampler's cost would show), the same overload trial (the tester's
flat-out rate, i.e. a maximum forwarding rate trial), alternating without
and with `DutSamplers` around it, several pairs.
Alternating keeps the VM's drift out of the difference; the figure is the mean
of the per-pair ratios with its 95% confidence half-width.

    sudo .venv/bin/python bench/sampler_overhead.py [--pairs 20] [--duration 1.0] [--rounds 300]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import warnings

from pytest_xdpperf.build import Builder
from pytest_xdpperf.measure import TrialMeasurer
from pytest_xdpperf.metrics import DutSamplers
from pytest_xdpperf.modes import MODES, applied
from pytest_xdpperf.nf import NfSpec, RunningNf
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
            bed.prepare_dut_napi()
            trial = TrialMeasurer(gen, bed.tester, bed.dut, "drop", nf.stats)
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
    finally:
        bed.destroy()
    mean = statistics.fmean(ratios)
    half = 1.96 * statistics.stdev(ratios) / len(ratios) ** 0.5 if len(ratios) > 1 else 0.0
    print(f"\nwithout samplers: {statistics.fmean(plain) / 1e6:.3f} Mpps "
          f"(stdev {statistics.stdev(plain) / 1e6:.3f})")
    print(f"with samplers:    {statistics.fmean(sampled) / 1e6:.3f} Mpps "
          f"(stdev {statistics.stdev(sampled) / 1e6:.3f})")
    print(f"cost: {(1 - mean):+.2%} of throughput (95% CI ±{half:.2%}, {len(ratios)} pairs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
