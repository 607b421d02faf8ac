"""The built-in generator: nfs/trafficgen run on the tester host (see its header)."""

from __future__ import annotations

from pathlib import Path

from ..process import Program
from ..testbed.base import Host
from .base import Offered, TrafficProfile


class BpfGenerator:
    """BPF_PROG_RUN live frames paced in-kernel, and an XDP receiver on the same port."""

    def __init__(self, binary: Path, tester: Host, dut: Host, profile: TrafficProfile):
        self.profile = profile
        self.program = Program("trafficgen", [
            str(binary), "--netns", tester.netns, "--ifname", tester.ifname,
            "--cpu", str(tester.cpu), "--stamp-offset", str(profile.stamp_offset),
        ])
        frame = profile.frame(tester.mac, dut.mac, tester.ip, dut.ip)
        self.program.command(f"packet {frame.hex()}")

    def offer(self, rate: float, duration: float) -> Offered:
        answer = self.program.command(f"trial {rate:.3f} {duration:.6f}",
                                      timeout=duration * 3 + 30)
        return Offered(
            intended_rate=rate,
            intended_duration=duration,
            intended_count=answer["target"],
            sent=answer["sent"],
            offered_duration=answer["offered_duration"],
            offered_rate=answer["offered_rate"],
            received=answer["rx_stamped"],
            late=answer["late"],
            raw=answer,
        )

    def received(self) -> dict[str, int]:
        return self.program.command("stats")

    def close(self) -> None:
        self.program.stop()

    def __enter__(self) -> BpfGenerator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
