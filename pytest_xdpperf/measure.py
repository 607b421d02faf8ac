"""One trial, as the search sees it: traffic offered, what the DUT did with it,
and the kernel's own counters that must agree with both."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .ifstats import delta, ethtool_stats, link_stats
from .rfc2544 import TrialResult
from .testbed.base import Host
from .trafficgen.base import Generator

TRAFFIC_CLASSES = ("drop", "passthrough", "local")
# A trial whose offered rate fell short of the intended one by more than this
# measured the tester, not the DUT.
RATE_TOLERANCE = 0.01
XMIT = "tx_queue_0_xdp_xmit"
XMIT_ERRORS = "tx_queue_0_xdp_xmit_errors"


@dataclass
class TrialMeasurer:
    """Callable (rate, duration) -> TrialResult for the search.

    `handled` returns the DUT's cumulative count of frames it took care of
    (the NF's rx for drop tests); passthrough counts what came back instead.
    """

    generator: Generator
    tester: Host
    dut: Host
    traffic_class: str
    handled: Callable[[], dict[str, Any]] | None = None
    history: list[TrialResult] = field(default_factory=list)

    def __call__(self, rate: float, duration: float) -> TrialResult:
        tester0, dut0 = ethtool_stats(self.tester), link_stats(self.dut)
        nf0 = self.handled() if self.handled else None
        offered = self.generator.offer(rate, duration)
        nf1 = self.handled() if self.handled else None
        tester1, dut1 = ethtool_stats(self.tester), link_stats(self.dut)
        tester_d, dut_d = delta(tester1, tester0), delta(dut1, dut0)
        nf_d = _counter_delta(nf1, nf0) if nf0 is not None and nf1 is not None else {}
        if self.traffic_class == "passthrough":
            forwarded = offered.received
        else:
            forwarded = nf_d.get("rx", 0)
        ring_overflow = tester_d.get(XMIT_ERRORS, 0)
        extra: dict[str, Any] = {
            "sent": offered.sent,
            "received_back": offered.received,
            "offered_rate": offered.offered_rate,
            "late": offered.late,
            "tester_limited": rate > 0 and offered.offered_rate < rate * (1 - RATE_TOLERANCE),
            # lost before the NF: the DUT's receive ring was full (RFC 2544 loss, shown apart)
            "ring_overflow": ring_overflow,
            "tester_xdp_xmit": tester_d.get(XMIT, 0),
            "dut_rx_packets": dut_d.get("rx_packets", 0),
            "dut_rx_dropped": dut_d.get("rx_dropped", 0),
            "nf": nf_d,
            # the kernel's counters must account for every frame the tester sent
            "counters_agree": tester_d.get(XMIT, 0) + ring_overflow == offered.sent,
        }
        result = TrialResult(
            intended_load=rate,
            intended_duration=duration,
            offered=offered.sent,
            forwarded=min(forwarded, offered.sent),
            offered_duration=offered.offered_duration,
            tester_overflow=offered.tester_overflow,
            intended_count=offered.intended_count,
            extra=extra,
        )
        self.history.append(result)
        return result


def _counter_delta(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in after.items():
        if isinstance(value, dict):
            out[key] = _counter_delta(value, before.get(key) or {})
        elif isinstance(value, int) and isinstance(before.get(key), int):
            out[key] = value - before[key]
    return out
