"""Tester capacity: frames per second one tester core puts on the wire at 64 bytes,
the built-in generator (BPF_PROG_RUN live frames) against netsniff-ng's trafgen
(AF_PACKET, TX_RING), side by side in one run, into the same no-op sink.

    sudo .venv/bin/python bench/tester_capacity.py [--seconds 3] [--rounds 3]

Both generators run on the tester's CPU (CPU 0), flat out, into nfs/trafficgen's
receiver on the DUT side dropping everything (the no-op sink). The rate is measured
on the tester's interface, not taken from the generator: frames the interface
handed on over a window in the middle of the run (so start-up does not count):
for ours tx_queue_0_xdp_xmit + tx_queue_0_xdp_xmit_errors (XDP frames, refused
ones included: the tester did send them), for trafgen tx_packets + tx_dropped
(skbs). The sink's own count shows how much of it the DUT side took. Rounds
alternate between the generators; the median round is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_xdpperf.build import Builder  # noqa: E402
from pytest_xdpperf.ifstats import ethtool_stats, link_stats  # noqa: E402
from pytest_xdpperf.testbed.veth import VethTestbed  # noqa: E402
from pytest_xdpperf.trafficgen.base import TrafficProfile  # noqa: E402
from pytest_xdpperf.trafficgen.bpfgen import BpfGenerator, Sink  # noqa: E402

FRAME_SIZE = 64
# trafgen's default TX_RING (PACKET_MMAP) path stops at once on this veth testbed with
# "Flushing TX_RING failed: Resource temporarily unavailable" (veth pushes back with
# NETDEV_TX_BUSY when its peer's ring is full, with or without a qdisc); a gap of 0
# makes it send with sendto(), one frame per call, which runs. probe_tx_ring() checks
# this again on every run and says which mode was measured.
TRAFGEN_MODE = ["--gap", "0"]


def window_rate(count: Any, seconds: float) -> float:
    """Sample `count()` over the middle of a run of `seconds`: frames per second."""
    time.sleep(seconds * 0.25)
    c0, t0 = count(), time.monotonic()
    time.sleep(seconds * 0.5)
    c1, t1 = count(), time.monotonic()
    return (c1 - c0) / (t1 - t0)


def ours(bed: Any, tg: Path, sink: Sink, profile: TrafficProfile, seconds: float
         ) -> dict[str, float]:
    with BpfGenerator(tg, bed.tester, bed.dut, profile) as gen:
        bed.prepare_dut_napi()
        gen.offer(100_000, 0.05)  # warm-up

        def sent() -> int:
            s = ethtool_stats(bed.tester)
            return s["tx_queue_0_xdp_xmit"] + s["tx_queue_0_xdp_xmit_errors"]

        sink0 = sink.stats()["rx_packets"]
        result: dict[str, Any] = {}
        runner = threading.Thread(target=lambda: result.update(o=gen.offer(0, seconds)))
        runner.start()
        rate = window_rate(sent, seconds)
        runner.join()
        got = sink.stats()["rx_packets"] - sink0
    offered = result["o"]
    return {"wire_pps": rate, "generator_pps": offered.offered_rate,
            "sink_share": got / offered.sent if offered.sent else 0.0}


def trafgen(bed: Any, sink: Sink, profile: TrafficProfile, seconds: float,
            binary: str) -> dict[str, float]:
    frame = profile.frame(bed.tester.mac, bed.dut.mac, bed.tester.ip, bed.dut.ip)
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as f:
        f.write("{ " + ", ".join(f"0x{b:02x}" for b in frame) + " }\n")
        conf = f.name

    def sent() -> int:
        s = link_stats(bed.tester)
        return s["tx_packets"] + s["tx_dropped"]

    sink0, sent0 = sink.stats()["rx_packets"], sent()
    argv = ["ip", "netns", "exec", bed.tester.netns, "taskset", "-c", str(bed.tester.cpu),
            binary, "--dev", bed.tester.ifname, "--conf", conf, "--cpus", "1", "--no-cpu-stats",
            *TRAFGEN_MODE]
    # its own session: trafgen forks a worker, and SIGINT must reach the whole group
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        rate = window_rate(sent, seconds)
    finally:
        time.sleep(seconds * 0.25)
        os.killpg(proc.pid, signal.SIGINT)  # trafgen's orderly stop
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _, err = proc.communicate()
        Path(conf).unlink()
    if rate == 0:
        raise SystemExit(f"trafgen sent nothing: {err.decode().strip()}")
    time.sleep(0.2)
    total = sent() - sent0
    got = sink.stats()["rx_packets"] - sink0
    return {"wire_pps": rate, "generator_pps": rate, "sink_share": got / total if total else 0}


def probe_tx_ring(bed: Any, profile: TrafficProfile, binary: str) -> str:
    """Does trafgen's default TX_RING mode run here? Its error if not."""
    frame = profile.frame(bed.tester.mac, bed.dut.mac, bed.tester.ip, bed.dut.ip)
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as f:
        f.write("{ " + ", ".join(f"0x{b:02x}" for b in frame) + " }\n")
        conf = f.name
    try:
        r = subprocess.run(["ip", "netns", "exec", bed.tester.netns, binary, "--dev",
                            bed.tester.ifname, "--conf", conf, "--cpus", "1", "--num",
                            "1000000", "--no-cpu-stats"], capture_output=True, text=True,
                           timeout=60)
    finally:
        Path(conf).unlink()
    return "" if r.returncode == 0 else (r.stderr.strip().splitlines() or ["failed"])[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the rounds as JSON too")
    args = parser.parse_args()
    binary = shutil.which("trafgen")
    if not binary:
        raise SystemExit("trafgen not found: run ci/setup (it installs netsniff-ng)")
    builder = Builder()
    tg = builder.program("trafficgen")
    profile = TrafficProfile(frame_size=FRAME_SIZE)
    rounds: dict[str, list[dict[str, float]]] = {"xdpperf (BPF_PROG_RUN)": [],
                                                 "trafgen (AF_PACKET)": []}
    bed = VethTestbed.create()
    try:
        with Sink(tg, bed.dut, profile) as sink:
            tx_ring = probe_tx_ring(bed, profile, binary)
            for _ in range(args.rounds):
                rounds["xdpperf (BPF_PROG_RUN)"].append(ours(bed, tg, sink, profile,
                                                             args.seconds))
                rounds["trafgen (AF_PACKET)"].append(trafgen(bed, sink, profile,
                                                             args.seconds, binary))
    finally:
        bed.destroy()
    print(f"Tester capacity, {FRAME_SIZE}-byte frames, one core (CPU {bed.tester.cpu}), "
          f"{args.rounds} rounds of {args.seconds:g} s, median round:\n")
    print("| generator | Mpps per core on the wire | rounds (Mpps) | share the sink took |")
    print("|---|---|---|---|")
    for name, rs in rounds.items():
        rates = [r["wire_pps"] / 1e6 for r in rs]
        share = statistics.median(r["sink_share"] for r in rs)
        print(f"| {name} | {statistics.median(rates):.2f} | "
              f"{', '.join(f'{x:.2f}' for x in rates)} | {share:.0%} |")
    print(f"\ntrafgen measured with {' '.join(TRAFGEN_MODE)} (sendto); its TX_RING mode: "
          f"{tx_ring or 'runs'}")
    if args.json:
        print(json.dumps(rounds, indent=1))


if __name__ == "__main__":
    main()
