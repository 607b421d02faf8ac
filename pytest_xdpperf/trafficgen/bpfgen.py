"""The built-in generator: nfs/trafficgen run on the tester host (see its header)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..errors import XdpperfError
from ..ifstats import delta, ethtool_stats
from ..latency import LatencyHistogram
from ..process import Program
from ..testbed.base import Host
from .base import Offered, TrafficProfile

XMIT = "tx_queue_0_xdp_xmit"
XMIT_ERRORS = "tx_queue_0_xdp_xmit_errors"


class BpfGenerator:
    """BPF_PROG_RUN live frames paced in-kernel, and an XDP receiver on the same port.

    One generator thread (stream) per CPU in `cpus` (default: the tester's CPUs),
    each offering an equal share of the rate."""

    def __init__(self, binary: Path, tester: Host, dut: Host, profile: TrafficProfile,
                 cpus: Sequence[int] | None = None):
        self.profile = profile
        self.tester = tester
        self.cpus = tuple(cpus) if cpus else tester.cpus
        if len(set(self.cpus)) != len(self.cpus):
            raise XdpperfError(f"generator CPUs {list(self.cpus)} repeat a CPU",
                               "give each generator thread its own CPU")
        argv = [str(binary), "--netns", tester.netns, "--ifname", tester.ifname,
                "--cpus", ",".join(str(c) for c in self.cpus), *profile.stamp_args(),
                "--order", "random" if profile.order == "random" else "seq"]
        flows_file = None
        if profile.flows > 1 or profile.src_ip or profile.dst_ip:
            with tempfile.NamedTemporaryFile(prefix="xdpperf-flows-", delete=False) as f:
                f.write(profile.flow_table(tester.ip, dut.ip))
                flows_file = f.name
            argv += ["--flows", flows_file]
        try:
            self.program = Program("trafficgen", argv)  # reads the flows before "ready"
        finally:
            if flows_file:
                os.unlink(flows_file)
        try:
            frame = profile.frame(tester.mac, dut.mac, tester.ip, dut.ip)
            self.program.command(f"packet {frame.hex()}")
        except BaseException:
            self.program.stop()
            raise

    def offer(self, rate: float, duration: float) -> Offered:
        before = ethtool_stats(self.tester)
        answer = self.program.command(f"trial {rate:.3f} {duration:.6f}",
                                      timeout=duration * 3 + 30)
        tester = delta(ethtool_stats(self.tester), before)
        # frames xdp_gen redirected that the interface neither sent nor refused
        # (its peer's ring full: that is the DUT's loss, see measure.py)
        lost_inside = answer["sent"] - tester.get(XMIT, 0) - tester.get(XMIT_ERRORS, 0)
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
