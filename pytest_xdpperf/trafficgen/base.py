"""What a traffic generator offers the search: traffic at a rate, and counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import XdpperfError

ETH_FCS = 4
MIN_FRAME, MAX_FRAME = 64, 1518


@dataclass(frozen=True)
class TrafficProfile:
    """The frames offered: size as on the wire (with FCS), one UDP flow for now."""

    frame_size: int = 64
    src_port: int = 1024
    dst_port: int = 9  # discard

    def __post_init__(self) -> None:
        if not MIN_FRAME <= self.frame_size <= MAX_FRAME:
            raise XdpperfError(f"frame size {self.frame_size} is out of range",
                               f"use {MIN_FRAME} to {MAX_FRAME} bytes")

    def frame(self, src_mac: str, dst_mac: str, src_ip: str, dst_ip: str) -> bytes:
        """The frame without FCS (the kernel neither adds nor counts it)."""
        from scapy.layers.inet import IP, UDP
        from scapy.layers.l2 import Ether
        from scapy.packet import Raw

        headers = (Ether(src=src_mac, dst=dst_mac) / IP(src=src_ip, dst=dst_ip, ttl=64)
                   / UDP(sport=self.src_port, dport=self.dst_port, chksum=0))
        pad = self.frame_size - ETH_FCS - len(headers)
        return bytes(headers / Raw(b"\0" * pad))

    @property
    def stamp_offset(self) -> int:
        """Where the generator writes its sequence number and timestamp (UDP payload)."""
        return 14 + 20 + 8

    def describe(self) -> dict[str, Any]:
        return {"frame_size": self.frame_size, "protocol": "udp", "flows": 1,
                "src_port": self.src_port, "dst_port": self.dst_port}


@dataclass(frozen=True)
class Offered:
    """One trial as the tester saw it."""

    intended_rate: float
    intended_duration: float
    intended_count: int
    sent: int                 # frames handed to the tester's interface
    offered_duration: float   # first to last frame, plus one interval
    offered_rate: float
    received: int             # our frames that came back to the tester
    late: int = 0             # pacing resyncs: the tester fell behind its schedule
    tester_overflow: int = 0  # frames the tester itself could not deliver
    raw: dict[str, Any] = field(default_factory=dict)


class Generator(Protocol):
    """Offers traffic of one profile; built-in or an adapter for an external tool."""

    profile: TrafficProfile

    def offer(self, rate: float, duration: float) -> Offered:
        """Offer `rate` frames/s for `duration` s (rate 0 = as fast as possible)."""
        ...

    def close(self) -> None: ...
