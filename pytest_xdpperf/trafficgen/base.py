"""What a traffic generator offers the search: traffic at a rate, and counts."""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..errors import XdpperfError
from ..latency import LatencyHistogram
from ..testbed.base import SEND_PATHS

ETH_FCS = 4
MIN_FRAME, MAX_FRAME = 64, 1518
MAX_FLOWS = 1 << 20  # GEN_MAX_FLOWS in nfs/trafficgen/trafficgen.h
PROTOCOLS = ("udp", "tcp")
ORDERS = ("sequential", "random")
# How flows vary beyond one block of source ports (see flow_tuple):
# "dst_port" is the firewall's rule set, "src_ip" the load balancer's sessions.
LAYOUTS = ("dst_port", "src_ip")
LB_CLIENT_NET = "198.19.0.0"  # LB_CLIENT_NET in nfs/loadbalancer/loadbalancer.h
ETH_LEN, IP_LEN, UDP_LEN, TCP_LEN = 14, 20, 8, 20


@dataclass(frozen=True)
class TrafficProfile:
    """The frames offered.

    `frame_size` is as on the wire (with FCS). Flow i (0 <= i < flows), with
    P = 65536 - src_port source ports per block and block = i // P, is

        src_ip:src_port + i % P -> dst_ip:dst_port + block     (layout "dst_port")
        client(block):src_port + i % P -> dst_ip:dst_port      (layout "src_ip")

    where client(0) = src_ip and client(b) = client_net + b: exactly the
    firewall's rules (nfs/firewall/firewall.h) and the load balancer's
    sessions (nfs/loadbalancer/loadbalancer.h) for the same base port, see
    `firewall()` and `loadbalancer()`. Frames take the flows in order, or a
    uniformly random flow each ("random"). Addresses left None are the
    testbed's (tester -> DUT).
    """

    frame_size: int = 64
    src_port: int = 1024
    dst_port: int = 9  # discard
    protocol: str = "udp"
    flows: int = 1
    order: str = "sequential"
    layout: str = "dst_port"
    src_ip: str | None = None
    dst_ip: str | None = None
    client_net: str = LB_CLIENT_NET

    def __post_init__(self) -> None:
        if not MIN_FRAME <= self.frame_size <= MAX_FRAME:
            raise XdpperfError(f"frame size {self.frame_size} is out of range",
                               f"use {MIN_FRAME} to {MAX_FRAME} bytes")
        if self.protocol not in PROTOCOLS:
            raise XdpperfError(f"protocol '{self.protocol}' is not supported",
                               f"use one of {', '.join(PROTOCOLS)}")
        if self.order not in ORDERS:
            raise XdpperfError(f"flow order '{self.order}' is unknown",
                               f"use one of {', '.join(ORDERS)}")
        if self.layout not in LAYOUTS:
            raise XdpperfError(f"flow layout '{self.layout}' is unknown",
                               f"use one of {', '.join(LAYOUTS)}")
        if not 1 <= self.flows <= MAX_FLOWS:
            raise XdpperfError(f"{self.flows} flows are out of range",
                               f"use 1 to {MAX_FLOWS} flows")
        for name, port in (("src_port", self.src_port), ("dst_port", self.dst_port)):
            if not 1 <= port <= 65535:
                raise XdpperfError(f"{name} {port} is out of range", "use 1 to 65535")
        blocks = (self.flows - 1) // self.per_block
        if self.layout == "dst_port" and self.dst_port + blocks > 65535:
            raise XdpperfError(
                f"{self.flows} flows from source port {self.src_port} need destination ports "
                f"up to {self.dst_port + blocks}", "use fewer flows or a lower src_port")
        if self.layout == "src_ip" and blocks > 0xffff:
            raise XdpperfError(f"{self.flows} flows need more than a /16 of clients",
                               "use fewer flows or a lower src_port")

    @classmethod
    def firewall(cls, rules: int, base_sport: int = 1024, **kw: Any) -> TrafficProfile:
        """One flow per rule of the firewall NF with these parameters (all match)."""
        return cls(flows=rules, src_port=base_sport, dst_port=9, layout="dst_port", **kw)

    @classmethod
    def loadbalancer(cls, sessions: int, base_sport: int = 1024, **kw: Any) -> TrafficProfile:
        """One flow per session of the load balancer NF with these parameters."""
        return cls(flows=sessions, src_port=base_sport, dst_port=80, layout="src_ip", **kw)

    @property
    def per_block(self) -> int:
        return 65536 - self.src_port

    def flow_tuple(self, i: int, src_ip: str, dst_ip: str) -> tuple[str, str, int, int]:
        """(src_ip, dst_ip, src_port, dst_port) of flow i."""
        block, offset = divmod(i, self.per_block)
        sport = self.src_port + offset
        if self.layout == "dst_port":
            return src_ip, dst_ip, sport, self.dst_port + block
        client = src_ip if block == 0 else str(ipaddress.IPv4Address(self.client_net) + block)
        return client, dst_ip, sport, self.dst_port

    def flow_table(self, src_ip: str, dst_ip: str) -> bytes:
        """All flows as the generator reads them: saddr, daddr, sport, dport, network order."""
        src, dst = self.src_ip or src_ip, self.dst_ip or dst_ip
        out = bytearray(12 * self.flows)
        pack = struct.Struct("!4s4sHH").pack_into
        addrs: dict[str, bytes] = {}
        for i in range(self.flows):
            s, d, sport, dport = self.flow_tuple(i, src, dst)
            sa = addrs.get(s) or addrs.setdefault(s, ipaddress.IPv4Address(s).packed)
            da = addrs.get(d) or addrs.setdefault(d, ipaddress.IPv4Address(d).packed)
            pack(out, 12 * i, sa, da, sport, dport)
        return bytes(out)

    def frame(self, src_mac: str, dst_mac: str, src_ip: str, dst_ip: str) -> bytes:
        """Flow 0's frame without FCS (the kernel neither adds nor counts it).

        The generator rewrites flow, stamp and checksums of every frame it sends."""
        from scapy.layers.inet import IP, TCP, UDP
        from scapy.layers.l2 import Ether
        from scapy.packet import Raw

        s, d, sport, dport = self.flow_tuple(0, self.src_ip or src_ip, self.dst_ip or dst_ip)
        l4 = (UDP(sport=sport, dport=dport) if self.protocol == "udp"
              else TCP(sport=sport, dport=dport, flags="PA", window=65535))
        headers = Ether(src=src_mac, dst=dst_mac) / IP(src=s, dst=d, ttl=64) / l4
        pad = self.frame_size - ETH_FCS - len(headers)
        return bytes(headers / Raw(b"\0" * pad))

    @property
    def stamp_layout(self) -> tuple[int, int, int]:
        """Byte offsets of the stamp's timestamp, sequence number and magic.

        UDP: all three in the payload. TCP: a 64-byte frame has 6 payload bytes,
        so the timestamp goes in the TCP sequence and acknowledgement numbers."""
        l4 = ETH_LEN + IP_LEN
        if self.protocol == "udp":
            payload = l4 + UDP_LEN
            return payload, payload + 8, payload + 12
        payload = l4 + TCP_LEN
        return l4 + 4, payload, payload + 4

    def stamp_args(self) -> list[str]:
        """The trafficgen arguments that tell sender and receiver where the stamp is."""
        return ["--stamp", ",".join(str(o) for o in self.stamp_layout)]

    @property
    def stamp_offset(self) -> int:
        """Start of a UDP profile's stamp (trafficgen --stamp-offset); use stamp_args()."""
        if self.protocol != "udp":
            raise XdpperfError("a TCP stamp is not in one piece", "use stamp_args()")
        return self.stamp_layout[0]

    def describe(self) -> dict[str, Any]:
        return {"frame_size": self.frame_size, "protocol": self.protocol,
                "flows": self.flows, "order": self.order, "layout": self.layout,
                "src_port": self.src_port, "dst_port": self.dst_port}


@dataclass(frozen=True)
class Offered:
    """One trial as the tester saw it."""

    intended_rate: float
    intended_duration: float
    intended_count: int
    sent: int                 # frames handed to the tester's interface
    offered_duration: float   # first to last frame, plus one mean interval
    offered_rate: float
    received: int             # our frames that came back to the tester (duplicates included)
    late: int = 0             # frames sent in a catch-up after the tester fell behind
    tester_overflow: int = 0  # frames the tester itself could not deliver
    reordered: int = 0        # came back after a frame sent later (same tester core)
    duplicates: int = 0       # came back more than once
    latency: LatencyHistogram | None = None  # of the frames that came back
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def unique_received(self) -> int:
        return self.received - self.duplicates


@runtime_checkable
class Generator(Protocol):
    """Offers traffic of one profile; built-in or an adapter for an external tool.

    offer() returns what was sent, what came back (with order, duplicates and a
    latency histogram if the tool measures them; else leave them 0 / None) and
    the frames the tester itself failed to put on the wire (tester_overflow).

    Optional attributes tell the framework how to check it (see send_path, stamps
    and receives below): `send_path`, how its frames reach the tester's interface
    (testbed.base.SEND_PATHS: "xdp", the default, or "stack"), so the testbed's
    counters cross-check its `sent`; `stamps`, whether its frames carry the xdpperf
    stamp (default True), else the calibration's no-op sink counts every frame;
    `receives`, whether it counts what comes back (default True), else passthrough
    and latency measurements refuse it and the calibration skips the round trip;
    `min_trial_duration`, the shortest trial [s] it paces honestly (default 0), which
    the searches' shorter initial trials then last at least."""

    profile: TrafficProfile

    def offer(self, rate: float, duration: float) -> Offered:
        """Offer `rate` frames/s for `duration` s (rate 0 = as fast as possible)."""
        ...

    def close(self) -> None: ...


def send_path(generator: object) -> str:
    """The generator's send path (testbed.base.SEND_PATHS), "xdp" if it says none."""
    path = getattr(generator, "send_path", "xdp")
    if path not in SEND_PATHS:
        raise XdpperfError(f"generator {type(generator).__name__} says send_path {path!r}",
                           f"use one of {', '.join(SEND_PATHS)}")
    return str(path)


def stamps(generator: object) -> bool:
    """Whether the generator's frames carry the xdpperf stamp (default True)."""
    return bool(getattr(generator, "stamps", True))


def receives(generator: object) -> bool:
    """Whether the generator counts the frames that come back (default True)."""
    return bool(getattr(generator, "receives", True))


def min_trial_duration(generator: object) -> float:
    """The shortest trial [s] the generator paces honestly (default 0: any)."""
    return float(getattr(generator, "min_trial_duration", 0.0))
