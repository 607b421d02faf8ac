"""The built-in generator: nfs/trafficgen run on the tester host (see its header)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import XdpperfError
from ..latency import LatencyHistogram
from ..process import Program
from ..testbed.base import Host, PathCounters
from ..testbed.veth import XDP_PACKETS, veth_path_counters
from .base import Offered, TrafficProfile

SENDERS = ("batch", "exact", "reference")


class BpfGenerator:
    """BPF_PROG_RUN live frames paced in-kernel, and an XDP receiver on the same port.

    One generator thread (stream) per CPU in `cpus` (default: the tester's CPUs),
    each offering an equal share of the rate."""

    send_path = "xdp"  # frames redirected from XDP (testbed.base.SEND_PATHS)
    stamps = True

    def __init__(self, binary: Path, tester: Host, dut: Host, profile: TrafficProfile,
                 cpus: Sequence[int] | None = None, rx_delay_ns: int = 0,
                 counters: Callable[[str], PathCounters] | None = None):
        """rx_delay_ns > 0 makes the receiver spend that long per returning frame: a
        tester that cannot keep up, for tests of the tester-overflow path. `counters`:
        the testbed's path counters (Testbed.path_counters; default the veth pair's)."""
        self.profile = profile
        self.tester = tester
        self._counters = counters or (lambda path: veth_path_counters(tester, dut, path))
        self.cpus = tuple(cpus) if cpus else tester.cpus
        if len(set(self.cpus)) != len(self.cpus):
            raise XdpperfError(f"generator CPUs {list(self.cpus)} repeat a CPU",
                               "give each generator thread its own CPU")
        argv = [str(binary), *tester.program_args(), "--ifname", tester.ifname,
                "--cpus", ",".join(str(c) for c in self.cpus), *profile.stamp_args(),
                "--order", "random" if profile.order == "random" else "seq"]
        if rx_delay_ns:
            argv += ["--delay-ns", str(rx_delay_ns)]
        flows_file = None
        if profile.flows > 1 or profile.src_ip or profile.dst_ip:
            with tempfile.NamedTemporaryFile(prefix="xdpperf-flows-", delete=False) as f:
                f.write(profile.flow_table(tester.ip, dut.ip))
                flows_file = f.name
            argv += ["--flows", flows_file]
        try:
            # reads the flows before "ready"
            self.program = Program("trafficgen", argv, host=tester)
        finally:
            if flows_file:
                os.unlink(flows_file)
        try:
            frame = profile.frame(tester.mac, dut.mac, tester.ip, dut.ip)
            self.program.command(f"packet {frame.hex()}")
        except BaseException:
            self.program.stop()
            raise

    def offer(self, rate: float, duration: float, sender: str = "batch") -> Offered:
        """`sender` (see nfs/trafficgen/trafficgen.h): "batch" reads the clock only
        where a frame needs it, so a stamp lags its frame's departure by at most the
        trial's `stamp_lag_max_ns`; "exact" reads it for every frame; "reference"
        (flat out only) redirects a fixed frame and does nothing else - no flows,
        stamps or pacing: bench/'s yardstick of what the tester core can send."""
        if sender not in SENDERS:
            raise XdpperfError(f"generator sender '{sender}' is unknown",
                               f"use one of {', '.join(SENDERS)}")
        before = self._counters(self.send_path)
        answer = self.program.command(f"trial {rate:.3f} {duration:.6f} 100 {sender}",
                                      timeout=duration * 3 + 30)
        path = self._counters(self.send_path) - before
        # frames xdp_gen redirected that the interface neither passed on nor refused
        # (refused, its peer's ring full, is the DUT's loss: see measure.py)
        lost_inside = answer["sent"] - path.reached - path.refused
        return Offered(
            intended_rate=rate,
            intended_duration=duration,
            intended_count=answer["target"],
            sent=answer["sent"],
            offered_duration=answer["offered_duration"],
            offered_rate=answer["offered_rate"],
            received=answer["rx_stamped"],
            late=answer["late"],
            tester_overflow=min(max(0, lost_inside), answer["sent"]),
            reordered=answer["rx_reordered"],
            duplicates=answer["rx_duplicates"],
            latency=LatencyHistogram.from_trial(answer),
            raw={k: v for k, v in answer.items() if k != "hist"},
        )

    def received(self) -> dict[str, int]:
        return self.program.command("stats")

    def close(self) -> None:
        self.program.stop()

    def __enter__(self) -> BpfGenerator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Sink:
    """nfs/trafficgen's receiver alone on a host (the DUT): a no-op NF that counts our
    frames (their order and latency too) and drops them or, with `reflect`, sends
    them back with the MACs swapped, after busy-waiting `delay_ns` per frame."""

    def __init__(self, binary: Path, host: Host, profile: TrafficProfile,
                 reflect: bool = False, delay_ns: int = 0, reference: bool = False,
                 count_only: bool = False, stamped: bool = True):
        """`reference` drops every frame and does nothing else (xdp_drop_ref, bench/'s
        yardstick of what the DUT core can take): it counts nothing itself, so
        `handled()` reads the DUT interface's XDP counter instead. `count_only` counts
        our frames and tracks nothing else (no clock reading, order, duplicates or
        latency: stats() then has only the counts), the calibration's no-op NF.
        `stamped`: handled() counts only frames with the xdpperf stamp; else every
        frame (a generator whose frames carry no stamp)."""
        argv = [str(binary), *host.program_args(), "--ifname", host.ifname,
                "--cpus", str(host.cpu), *profile.stamp_args()]
        self.host, self.reference, self.stamped = host, reference, stamped
        if reflect:
            argv.append("--reflect")
        if reference:
            argv.append("--reference")
        if count_only:
            argv.append("--count-only")
        if delay_ns:
            argv += ["--delay-ns", str(delay_ns)]
        self.program = Program("reflector" if reflect else "sink", argv, host=host)

    def stats(self) -> dict[str, int]:
        """Cumulative counts (rx_stamped, ...), order and latency since clear()."""
        return self.program.command("stats")

    def handled(self) -> dict[str, int]:
        """For TrialMeasurer: the frames this sink took care of, as an NF's rx."""
        if self.reference:
            return {"rx": self.host.ethtool_stats().get(XDP_PACKETS, 0)}
        return {"rx": self.stats()["rx_stamped" if self.stamped else "rx_packets"]}

    def clear(self) -> None:
        self.program.command("clear")

    def close(self) -> None:
        self.program.stop()

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
