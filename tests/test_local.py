"""The local traffic class's accounting (pytest_xdpperf/local.py), in every mode.

A trial counts as forwarded only what the DUT's stack got, so a passing NF loses
(almost) nothing and a dropping one loses everything; the foreign-MAC variant
(macswap action=pass) is seen by the stack too, which drops it at once; and
memcached on the DUT answers through every mode, in the AF_XDP modes by way of
re-injection. Integration tests (root, the built-in veth testbed).
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_xdpperf import local
from pytest_xdpperf.modes import Mode, applied
from pytest_xdpperf.nf import NfSpec
from pytest_xdpperf.trafficgen.base import TrafficProfile
from pytest_xdpperf.trafficgen.bpfgen import BpfGenerator

pytestmark = pytest.mark.integration

RATE, DURATION = 50_000.0, 0.2   # well below any mode's capacity here
# the veth path drops frames now and then, more while other runs load the machine
# (2-4% seen); a drop NF loses all, so "almost none" vs "all" stays unambiguous
MAX_LOSS = 0.10


def trial(bed: Any, builder: Any, mode: Mode, nf: str, **params: Any) -> Any:
    binary = builder.program(nf)
    with applied(mode, bed.dut), \
            local.passing_nf(bed, binary, NfSpec(nf, params), mode) as running, \
            BpfGenerator(builder.program("trafficgen"), bed.tester, bed.dut,
                         TrafficProfile()) as gen:
        bed.prepare_dut_napi()
        measurer = local.LocalMeasurer(gen, local.StackCounters(bed, mode), running.stats)
        return measurer(RATE, DURATION)


def test_pass_nf_delivers_to_the_stack(xdpperf_testbed: Any, xdpperf_builder: Any,
                                       xdp_mode: Mode) -> None:
    # rules=0: the generator's flow is no rule, every frame is passed unchanged
    result = trial(xdpperf_testbed, xdpperf_builder, xdp_mode, "firewall", rules=0,
                   action="pass")
    extra = result.extra
    assert result.offered >= 0.9 * RATE * DURATION, extra
    assert result.loss_ratio <= MAX_LOSS, extra
    assert extra["stack_ip_in"] == result.forwarded and extra["stack_otherhost_dropped"] == 0
    assert extra["counters_agree"], extra  # the NF's pass counter = what the stack got
    if not xdp_mode.in_kernel:
        assert extra["nf_reinjected"] == extra["nf_pass"] and extra["nf_reinject_failed"] == 0


def test_drop_nf_delivers_nothing(xdpperf_testbed: Any, xdpperf_builder: Any,
                                  xdp_mode: Mode) -> None:
    result = trial(xdpperf_testbed, xdpperf_builder, xdp_mode, "macswap", action="drop")
    assert result.offered >= 0.9 * RATE * DURATION, result.extra
    assert result.forwarded == 0 and result.loss_ratio == 1.0, result.extra


def test_foreign_mac_pass_is_seen_and_dropped_by_the_stack(xdpperf_testbed: Any,
                                                          xdpperf_builder: Any,
                                                          xdp_mode: Mode) -> None:
    """The pure I/O variant: swapped MACs, so the stack drops each frame at its door."""
    result = trial(xdpperf_testbed, xdpperf_builder, xdp_mode, "macswap", action="pass")
    extra = result.extra
    assert result.loss_ratio <= MAX_LOSS, extra
    assert extra["counters_agree"], extra
    # every frame is dropped at the stack's door, none taken in as the host's own
    # (the generator rewrites its headers per frame: XDP edits pages in place)
    assert extra["stack_otherhost_dropped"] == result.forwarded, extra
    assert extra["stack_ip_in"] == 0, extra


@pytest.mark.parametrize("nf,params", [
    ("firewall", {"rules": 0, "action": "pass"}),
    ("chain", {"dispatch": "local", "local_port": local.MEMCACHED_PORT}),
], ids=["firewall-pass", "chain-dispatch"])
def test_memcached_answers_through_every_mode(xdpperf_testbed: Any, xdpperf_builder: Any,
                                              xdp_mode: Mode, nf: str,
                                              params: dict[str, Any]) -> None:
    bed = xdpperf_testbed
    binary = xdpperf_builder.program(nf)
    with applied(xdp_mode, bed.dut), \
            local.passing_nf(bed, binary, NfSpec(nf, params), xdp_mode) as running:
        bed.prepare_dut_napi()
        result, counts = local.measure_memcached(bed, running, xdp_mode, duration=1.0,
                                                 threads=1, concurrency=4)
    assert result.operations > 0 and result.tps > 0, result.raw
    assert result.errors == 0, result.raw
    # every request segment went through the NF and on to the stack
    assert counts["pass"] > 0 and counts["drop"] == 0, counts
    if nf == "firewall" and not xdp_mode.in_kernel:  # user space passed: re-injected
        assert counts["reinjected"] == counts["pass"] and counts["reinject_failed"] == 0
    if nf == "chain":  # the dispatcher passed them in XDP, before any socket
        assert counts["redirect"] == 0, counts


def test_memaslap_report_is_read_by_its_labels() -> None:
    out = ("servers: 198.18.0.2:11211\nthreads count: 1\ncmd_get: 55781\ncmd_set: 6207\n"
           "get_misses: 3\n\nRun time: 2.0s Ops: 61988 TPS: 30956 Net_rate: 34.6M/s\n")
    t = local.parse_memaslap(out)
    assert (t.seconds, t.operations, t.tps, t.get_misses, t.errors) == (2.0, 61988, 30956.0, 3, 0)
    with pytest.raises(local.XdpperfError, match="no final report"):
        local.parse_memaslap("connection refused\n")
