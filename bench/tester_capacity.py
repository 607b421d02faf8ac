"""Tester capacity: frames per second one tester core puts on the wire at 64 bytes.

    sudo .venv/bin/python bench/tester_capacity.py [--seconds 1] [--rounds 10]

Side by side in one run, on the tester's CPU, flat out into the same no-op sink on
the DUT side (nfs/trafficgen's receiver, dropping):

- reference: a live-frames program that only redirects a fixed frame (xdp_gen_ref:
  no clock, no frame writes, batch 64) - the limit of the core on this path;
- xdpperf: the built-in generator as a throughput trial runs it (flow, sequence
  number, stamp and checksums written per frame, the clock read at batch edges),
  with one flow and with 1024 flows in random order;
- xdpperf, exact clock: the same with a clock reading per frame (what latency
  trials may ask for; it was the only path before the fast one);
- trafgen (netsniff-ng, AF_PACKET);
- pktgen, where the kernel has it (CONFIG_NET_PKTGEN); said so and skipped if not.

The rate is read from the tester's interface, not taken from the generator: frames it
handed on over the middle half of each run (start-up excluded), for the XDP senders
tx_queue_0_xdp_xmit + tx_queue_0_xdp_xmit_errors (refused frames were still sent),
for trafgen tx_packets + tx_dropped. Rounds interleave the senders, so drift of the
host hits each alike; each round's ratio to the reference is taken in that round, and
the median of those ratios is the figure (the target is >= 0.9).
"""

from __future__ import annotations

import argparse
import gzip
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
from collections.abc import Callable
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
FLOWS = 1024
REFERENCE = "reference (redirect only)"
# trafgen's default TX_RING (PACKET_MMAP) path stops at once on this veth testbed with
# "Flushing TX_RING failed: Resource temporarily unavailable" (veth pushes back with
# NETDEV_TX_BUSY when its peer's ring is full, with or without a qdisc); a gap of 0
# makes it send with sendto(), one frame per call, which runs. probe_tx_ring() checks
# this again on every run and says which mode was measured.
TRAFGEN_MODE = ["--gap", "0"]


def window_rate(count: Callable[[], int], seconds: float) -> float:
    """Sample `count()` over the middle half of a run of `seconds`: frames per second."""
    time.sleep(seconds * 0.25)
    c0, t0 = count(), time.monotonic()
    time.sleep(seconds * 0.5)
    c1, t1 = count(), time.monotonic()
    return (c1 - c0) / (t1 - t0)


def xdp_sent(bed: Any) -> int:
    s = ethtool_stats(bed.tester)
    return s["tx_queue_0_xdp_xmit"] + s["tx_queue_0_xdp_xmit_errors"]


def flat_out(bed: Any, gen: BpfGenerator, sink: Sink, seconds: float, sender: str
             ) -> dict[str, float]:
    sink0 = sink.stats()["rx_packets"]
    result: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: result.update(o=gen.offer(0, seconds, sender)))
    runner.start()
    rate = window_rate(lambda: xdp_sent(bed), seconds)
    runner.join()
    offered = result["o"]
    got = sink.stats()["rx_packets"] - sink0
    return {"wire_pps": rate, "generator_pps": offered.offered_rate,
            "sink_share": got / offered.sent if offered.sent else 0.0,
            "clock_reads_per_frame": offered.raw["clock_reads"] / max(1, offered.sent)}


def xdp_round(bed: Any, tg: Path, sink: Sink, seconds: float) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    one = TrafficProfile(frame_size=FRAME_SIZE)
    with BpfGenerator(tg, bed.tester, bed.dut, one) as gen:
        bed.prepare_dut_napi()
        gen.offer(100_000, 0.05)  # warm-up
        gen.offer(0, 0.1)  # learn the flat-out rate (no probe call in the runs below)
        gen.offer(0, 0.1, "reference")
        out[REFERENCE] = flat_out(bed, gen, sink, seconds, "reference")
        out["xdpperf, 1 flow"] = flat_out(bed, gen, sink, seconds, "batch")
        out["xdpperf, 1 flow, exact clock"] = flat_out(bed, gen, sink, seconds, "exact")
    many = TrafficProfile(frame_size=FRAME_SIZE, flows=FLOWS, order="random")
    with BpfGenerator(tg, bed.tester, bed.dut, many) as gen:
        bed.prepare_dut_napi()
        gen.offer(100_000, 0.05)
        gen.offer(0, 0.1)
        out[f"xdpperf, {FLOWS} flows random"] = flat_out(bed, gen, sink, seconds, "batch")
    return out


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


def pktgen_available() -> str:
    """'' if the kernel's pktgen is there (/proc/net/pktgen, or a module to load), else
    why not. This benchmark has no pktgen driver of its own yet: where pktgen exists it
    says so and skips it too."""
    if os.path.exists("/proc/net/pktgen"):
        return "present, but this benchmark does not drive it yet"
    release = os.uname().release
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            if "# CONFIG_NET_PKTGEN is not set" in f.read():
                return f"this kernel ({release}) is built without CONFIG_NET_PKTGEN"
    except OSError:
        pass  # no config to read: look for the module
    modules = Path("/lib/modules") / release
    modprobe = shutil.which("modprobe")
    if modprobe and subprocess.run([modprobe, "-n", "pktgen"],
                                   capture_output=True).returncode == 0:
        return "a loadable module, but this benchmark does not drive it yet"
    if not modules.exists():
        return (f"not in this kernel ({release}: no /proc/net/pktgen, no modules directory; "
                "built without CONFIG_NET_PKTGEN)")
    return f"not in this kernel ({release}: no /proc/net/pktgen, no pktgen module)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print the rounds as JSON too")
    args = parser.parse_args()
    binary = shutil.which("trafgen")
    if not binary:
        raise SystemExit("trafgen not found: run ci/setup (it installs netsniff-ng)")
    tg = Builder().program("trafficgen")
    profile = TrafficProfile(frame_size=FRAME_SIZE)
    rounds: list[dict[str, dict[str, float]]] = []
    pktgen = pktgen_available()
    bed = VethTestbed.create()
    try:
        with Sink(tg, bed.dut, profile) as sink:
            tx_ring = probe_tx_ring(bed, profile, binary)
            for _ in range(args.rounds):
                r = xdp_round(bed, tg, sink, args.seconds)
                r["trafgen (AF_PACKET sendto)"] = trafgen(bed, sink, profile, args.seconds,
                                                          binary)
                rounds.append(r)
    finally:
        bed.destroy()
    print(f"Tester capacity, {FRAME_SIZE}-byte frames, one core (CPU {bed.tester.cpu}), "
          f"{args.rounds} interleaved rounds of {args.seconds:g} s, {time.strftime('%F')}, "
          f"{os.uname().release}:\n")
    print("| sender | Mpps on the wire, median | vs reference, median of rounds (min-max) "
          "| clock reads per frame | share the sink took | rounds (Mpps) |")
    print("|---|---|---|---|---|---|")
    for name in rounds[0]:
        rates = [r[name]["wire_pps"] / 1e6 for r in rounds]
        ratios = [r[name]["wire_pps"] / r[REFERENCE]["wire_pps"] for r in rounds]
        share = statistics.median(r[name]["sink_share"] for r in rounds)
        reads = [r[name].get("clock_reads_per_frame") for r in rounds]
        clock = f"{statistics.median(reads):.3f}" if reads[0] is not None else "-"
        print(f"| {name} | {statistics.median(rates):.2f} | {statistics.median(ratios):.2f} "
              f"({min(ratios):.2f}-{max(ratios):.2f}) | {clock} | {share:.0%} | "
              f"{', '.join(f'{x:.2f}' for x in rates)} |")
    print(f"\ntrafgen measured with {' '.join(TRAFGEN_MODE)} (sendto); its TX_RING mode: "
          f"{tx_ring or 'runs'}")
    print(f"pktgen: {pktgen}; skipped")
    if args.json:
        print(json.dumps(rounds, indent=1))


if __name__ == "__main__":
    main()
