"""One trial, as the search sees it: traffic offered, what the DUT did with it,
and the kernel's own counters that must agree with both.

Loss accounting per traffic class (`account`):

- drop: forwarded = frames the NF processed (its rx counter) against those offered;
- passthrough: forwarded = our frames that came back to the tester (duplicates not
  counted twice);
- local: the NF's rx for now (application transactions come with the local class).

Frames lost before the NF because the DUT's receive ring was full (the testbed's
`refused`, on veth the tester's `tx_queue_0_xdp_xmit_errors` for XDP-redirected
frames; on a NIC its missed counter) are DUT loss as RFC 2544 counts it, shown apart
as `ring_overflow`; a send path that retries a refused frame (AF_PACKET's TX ring)
loses none of them. Frames the tester itself failed to deliver - sent by the
generator but never reaching the wire, or sent back by the DUT but refused by the
tester's own full receive ring (the testbed's `returned_refused`) - are
`tester_overflow`: not the DUT's loss, and a trial with any is flagged
`tester_overflowed` so the search can treat it as invalid.

The counters come from the testbed (Testbed.path_counters: the driver's names are
its own) for the generator's send path (Generator.send_path), so an external
generator is cross-checked like the built-in one: `counters_agree` says whether the
testbed saw every frame the generator says it sent reach or be refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import XdpperfError
from .rfc2544 import SearchSpec, TrialResult
from .testbed.base import PathCounters, Testbed
from .traffic import TrafficClass
from .trafficgen.base import Generator, Offered, min_trial_duration, receives, send_path

# A trial whose offered rate missed the intended one by more than this, short or
# over, measured the tester, not the DUT (the generator's target is within 1%).
RATE_TOLERANCE = 0.01
# After the offer, the DUT may still hold frames it was handed (veth ring, an AF_XDP
# socket's rx ring: up to ~2,300): a drop-class trial waits until the NF's rx counter
# reaches what was delivered or stops moving (two polls DRAIN_POLL apart alike), at
# most DRAIN_TIMEOUT, so those frames count in the trial they belong to.
DRAIN_POLL = 0.003   # s
DRAIN_TIMEOUT = 0.5  # s


def fitted(spec: SearchSpec, generator: object) -> SearchSpec:
    """`spec` with its initial trials no shorter than the generator paces honestly
    (trafficgen.base.min_trial_duration), at most the final trial duration."""
    shortest = min(min_trial_duration(generator), spec.trial_duration)
    if spec.effective_initial_trial_duration >= shortest:
        return spec
    return replace(spec, initial_trial_duration=shortest)


@dataclass(frozen=True)
class Accounting:
    forwarded: int
    tester_overflow: int
    extra: dict[str, Any]


def ring_overflow(offered: Offered, path: PathCounters) -> int:
    """Frames the generator sent that the DUT's full ring refused and that never reached
    it (a refused frame a send path retried reached it later, and is not lost)."""
    return max(0, min(path.refused, offered.sent - path.reached))


def account(traffic_class: str, rate: float, offered: Offered, path: PathCounters,
            nf: Mapping[str, Any]) -> Accounting:
    """Pure: what one trial's counter deltas (the testbed's `path`, the NF's `nf`) say
    the DUT forwarded and lost."""
    if TrafficClass.parse(traffic_class) is TrafficClass.PASSTHROUGH:
        forwarded = offered.unique_received
        # sent back by the DUT, refused by the tester's full receive ring
        return_overflow = path.returned_refused
    else:
        forwarded = int(nf.get("rx", 0))
        return_overflow = 0
    overflow = ring_overflow(offered, path)
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
        "ring_overflow": overflow,
        # refused by the DUT's ring and sent again by the send path (not lost)
        "refused_retried": max(0, path.refused - overflow),
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
        # what the testbed saw reach the DUT's receive side
        "tester_reached": path.reached,
        "dut_rx_packets": path.dut_rx,
        "dut_rx_dropped": path.dut_rx_dropped,
        "nf": dict(nf),
        # the testbed's counters must account for every frame the generator sent
        "counters_agree": path.reached + overflow == offered.sent,
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
    testbed: Testbed
    traffic_class: str
    handled: Callable[[], dict[str, Any]] | None = None
    history: list[TrialResult] = field(default_factory=list)
    last: Offered | None = None

    def __post_init__(self) -> None:
        if TrafficClass.parse(self.traffic_class) is not TrafficClass.PASSTHROUGH \
                and self.handled is None:
            raise ValueError(f"a {self.traffic_class} trial needs the NF's counters (handled)")
        if self.traffic_class == "passthrough" and not receives(self.generator):
            raise XdpperfError(
                f"generator {type(self.generator).__name__} does not receive what comes back",
                "passthrough and latency tests need one that does, e.g. the built-in "
                "generator; run drop-class tests with this one (-m drop)")
        self._path = send_path(self.generator)

    def __call__(self, rate: float, duration: float) -> TrialResult:
        path0 = self.testbed.path_counters(self._path)
        nf0 = self.handled() if self.handled else None
        offered = self.generator.offer(rate, duration)
        nf1, drain = None, None
        if self.handled is not None and nf0 is not None:
            reached = self.testbed.path_counters(self._path) - path0
            nf1, drain = self._drained(nf0, offered.sent - ring_overflow(offered, reached))
        path = self.testbed.path_counters(self._path) - path0
        nf_d = _counter_delta(nf1, nf0) if nf0 is not None and nf1 is not None else {}
        acc = account(self.traffic_class, rate, offered, path, nf_d)
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
