"""One trial, as the search sees it: traffic offered, what the DUT did with it,
and the kernel's own counters that must agree with both.

Loss accounting per traffic class (`account`):

- drop: forwarded = frames the NF processed (its rx counter) against those offered;
- passthrough: forwarded = our frames that came back to the tester (duplicates not
  counted twice);
- local: the NF's rx for now (application transactions come with the local class).

Frames lost before the NF because the DUT's receive ring was full (on veth: the
tester's `tx_queue_0_xdp_xmit_errors`; on a NIC its missed counter) are DUT loss
as RFC 2544 counts it, shown apart as `ring_overflow`. Frames the tester itself
failed to deliver - sent by the generator but never reaching the wire, or sent
back by the DUT but refused by the tester's own full receive ring (on veth: the
DUT's `tx_dropped`, which counts its refused XDP_TX too) - are `tester_overflow`: not
the DUT's loss, and a trial with any is flagged `tester_overflowed` so the search
can treat it as invalid.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .ifstats import delta, ethtool_stats, link_stats
from .rfc2544 import TrialResult
from .testbed.base import Host
from .traffic import TrafficClass
from .trafficgen.base import Generator, Offered

# A trial whose offered rate missed the intended one by more than this, short or
# over, measured the tester, not the DUT (the generator's target is within 1%).
RATE_TOLERANCE = 0.01
XMIT = "tx_queue_0_xdp_xmit"
XMIT_ERRORS = "tx_queue_0_xdp_xmit_errors"
# After the offer, the DUT may still hold frames it was handed (veth ring, an AF_XDP
# socket's rx ring: up to ~2,300): a drop-class trial waits until the NF's rx counter
# reaches what was delivered or stops moving (two polls DRAIN_POLL apart alike), at
# most DRAIN_TIMEOUT, so those frames count in the trial they belong to.
DRAIN_POLL = 0.003   # s
DRAIN_TIMEOUT = 0.5  # s


@dataclass(frozen=True)
class Accounting:
    forwarded: int
    tester_overflow: int
    extra: dict[str, Any]


def account(traffic_class: str, rate: float, offered: Offered, tester_eth: Mapping[str, int],
            dut_link: Mapping[str, int], nf: Mapping[str, Any]) -> Accounting:
    """Pure: what one trial's counter deltas say the DUT forwarded and lost."""
    if TrafficClass.parse(traffic_class) is TrafficClass.PASSTHROUGH:
        forwarded = offered.unique_received
        # sent back by the DUT, refused by the tester's full receive ring: veth counts
        # XDP_TX errors (rx_queue_0_xdp_tx_errors) and skb drops in the DUT's tx_dropped
        return_overflow = dut_link.get("tx_dropped", 0)
    else:
        forwarded = int(nf.get("rx", 0))
        return_overflow = 0
    ring_overflow = tester_eth.get(XMIT_ERRORS, 0)
    tester_overflow = min(offered.sent, offered.tester_overflow + return_overflow)
    latency = offered.latency.summary() if offered.latency is not None else None
    extra: dict[str, Any] = {
        "sent": offered.sent,
        "received_back": offered.received,
        "offered_rate": offered.offered_rate,
        "late": offered.late,
        "max_lag_ns": offered.raw.get("max_lag_ns"),
        "tester_limited": rate > 0 and abs(offered.offered_rate - rate) > rate * RATE_TOLERANCE,
        # lost before the NF: the DUT's receive ring was full (RFC 2544 loss, shown apart)
        "ring_overflow": ring_overflow,
        # the tester's own failures, not the DUT's loss; such a trial is not valid
        "tester_overflow": tester_overflow,
        "send_overflow": offered.tester_overflow,
        "return_overflow": return_overflow,
        "tester_overflowed": tester_overflow > 0,
        "reordered": offered.reordered,
        "duplicates": offered.duplicates,
        "latency": latency,
        # the histogram itself, for merging a confirmation's trials (not written as is)
        "latency_histogram": offered.latency,
        # per generator thread (tester core): its cpu, sent and offered_rate
        "streams": offered.raw.get("streams"),
        "tester_xdp_xmit": tester_eth.get(XMIT, 0),
        "dut_rx_packets": dut_link.get("rx_packets", 0),
        "dut_rx_dropped": dut_link.get("rx_dropped", 0),
        "nf": dict(nf),
        # the kernel's counters must account for every frame the tester sent
        "counters_agree": tester_eth.get(XMIT, 0) + ring_overflow == offered.sent,
    }
    return Accounting(min(forwarded, offered.sent), tester_overflow, extra)


@dataclass
class TrialMeasurer:
    """Callable (rate, duration) -> TrialResult for the search.

    `handled` returns the DUT's cumulative count of frames it took care of
    (the NF's rx, for drop tests); passthrough counts what came back instead.
    The last trial's Offered (with its latency histogram) is kept in `last`.
    """

    generator: Generator
    tester: Host
    dut: Host
    traffic_class: str
    handled: Callable[[], dict[str, Any]] | None = None
    history: list[TrialResult] = field(default_factory=list)
    last: Offered | None = None

    def __post_init__(self) -> None:
        if TrafficClass.parse(self.traffic_class) is not TrafficClass.PASSTHROUGH \
                and self.handled is None:
            raise ValueError(f"a {self.traffic_class} trial needs the NF's counters (handled)")

    def __call__(self, rate: float, duration: float) -> TrialResult:
        tester0, dut0 = ethtool_stats(self.tester), link_stats(self.dut)
        nf0 = self.handled() if self.handled else None
        offered = self.generator.offer(rate, duration)
        tester1 = ethtool_stats(self.tester)
        tester_d = delta(tester1, tester0)
        nf1, drain = None, None
        if self.handled is not None and nf0 is not None:
            delivered = offered.sent - tester_d.get(XMIT_ERRORS, 0)
            nf1, drain = self._drained(nf0, delivered)
        dut1 = link_stats(self.dut)
        nf_d = _counter_delta(nf1, nf0) if nf0 is not None and nf1 is not None else {}
        acc = account(self.traffic_class, rate, offered, tester_d, delta(dut1, dut0), nf_d)
        if drain is not None:
            acc.extra.update(drain)
        result = TrialResult(
            intended_load=rate,
            intended_duration=duration,
            offered=offered.sent,
            forwarded=acc.forwarded,
            offered_duration=offered.offered_duration,
            tester_overflow=acc.tester_overflow,
            intended_count=offered.intended_count,
            extra=acc.extra,
        )
        self.last = offered
        self.history.append(result)
        return result


    def _drained(self, nf0: dict[str, Any], delivered: int
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The NF's counters once it has taken what it was delivered, or stopped taking
        (see DRAIN_POLL); with how long that took and any frames beyond the delivered
        ones (from an earlier trial: flagged, never silently counted as this one's)."""
        assert self.handled is not None
        start = time.monotonic()
        now = self.handled()
        still = 0
        while int(now.get("rx", 0)) - int(nf0.get("rx", 0)) < delivered and still < 2 \
                and time.monotonic() - start < DRAIN_TIMEOUT:
            time.sleep(DRAIN_POLL)
            before, now = now, self.handled()
            still = still + 1 if now.get("rx") == before.get("rx") else 0
        taken = int(now.get("rx", 0)) - int(nf0.get("rx", 0))
        return now, {"drain_seconds": round(time.monotonic() - start, 6),
                     "rx_beyond_delivered": max(0, taken - delivered)}


def _counter_delta(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in after.items():
        if isinstance(value, dict):
            out[key] = _counter_delta(value, before.get(key) or {})
        elif isinstance(value, int) and isinstance(before.get(key), int):
            out[key] = value - before[key]
    return out
