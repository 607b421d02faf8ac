"""The local traffic class's accounting (pytest_xdpperf/local.py), in every mode.

A trial counts as forwarded only what the DUT's stack got, so a passing NF loses
(almost) nothing and a dropping one loses everything; the foreign-MAC variant
(macswap action=pass) is seen by the stack too, which drops it at once; and
memcached on the DUT answers through every mode, in the AF_XDP modes by way of
re-injection. Integration tests (root, the built-in veth testbed).
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pytest_xdpperf import children, local
from pytest_xdpperf.modes import MODES, Mode, applied
from pytest_xdpperf.nf import NfSpec
from pytest_xdpperf.suites import assert_no_app_errors
from pytest_xdpperf.testbed.base import Host
from pytest_xdpperf.testbed.netns import entered
from pytest_xdpperf.thresholds import absent
from pytest_xdpperf.trafficgen.base import TrafficProfile
from pytest_xdpperf.trafficgen.bpfgen import BpfGenerator
from pytest_xdpperf.verdict import judge_transactions

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
    assert result.errors == 0, result.problem
    # the checks that could fail did run: gets were sent and some verified, the
    # periodic report ran to the end, and answers came back for what was sent
    fields = result.raw["fields"]
    assert fields["cmd_get"] > 0 and "verify_failed" in fields, fields
    assert result.raw["answered"]["total"] > 0, result.raw
    # every request segment went through the NF and on to the stack
    assert counts["pass"] > 0 and counts["drop"] == 0, counts
    if nf == "firewall" and not xdp_mode.in_kernel:  # user space passed: re-injected
        assert counts["reinjected"] == counts["pass"] and counts["reinject_failed"] == 0
    if nf == "chain":  # the dispatcher passed them in XDP, before any socket
        assert counts["redirect"] == 0, counts


BROKEN = Path(__file__).with_name("brokenmc.py")
PORT = local.MEMCACHED_PORT


@contextmanager
def broken_server(dut: Host, mode: str) -> Iterator[None]:
    """tests/brokenmc.py in the DUT's namespace, on memcached's address and port."""
    argv = [sys.executable, str(BROKEN), dut.ip, str(PORT), mode]
    proc = children.start(dut.command(argv, cpus=dut.cpus),
                          "brokenmc", stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    try:
        local._wait_listening(dut, PORT, proc)
        yield
    finally:
        local._stop(proc)


def failing_check(result: Any) -> str:
    """The suite's check on `result`: its one-line message (it must fail)."""
    with pytest.raises(AssertionError) as caught:
        assert_no_app_errors(result)
    message = str(caught.value)
    assert "\n" not in message.strip(), message
    return message


@pytest.mark.parametrize("mode,kind", [
    ("server-error", "SERVER_ERROR"),
    ("garbage", "sets_not_stored"),
    ("close", "connections_lost"),
    ("wrong-data", "verify_failed"),
    ("forget", "get_misses"),
])
def test_a_broken_server_fails_the_suites_check(xdpperf_testbed: Any, mode: str,
                                               kind: str) -> None:
    """Each way a server can fail shows in memaslap's real output as `kind`."""
    bed = xdpperf_testbed
    with broken_server(bed.dut, mode):
        result = local.memaslap(bed.tester, bed.dut.ip, PORT, duration=1.0, concurrency=4)
    assert result.problems.get(kind, 0) > 0, (result.problems, result.raw["tail"])
    assert result.errors >= result.problems[kind]
    assert local.PROBLEMS[kind] in failing_check(result)


FULL_MB = 2  # memcached's -m [MiB]: the least its default 1 MiB item size limit allows


def fill(dut: Host) -> bytes:
    """Store memaslap-sized values into memcached on the DUT (from inside its namespace,
    not through an NF) until it refuses one, or twice FULL_MB of them; the last reply."""
    with entered(dut.netns):
        sock = socket.create_connection((dut.ip, PORT), timeout=5)
    value = b"v" * local.MEMASLAP_VALUE_BYTES
    reply = b""
    with sock, sock.makefile("rb") as replies:
        for i in range(2 * FULL_MB * 2**20 // len(value)):
            sock.sendall(b"set fill%d 0 0 %d\r\n%s\r\n" % (i, len(value), value))
            reply = replies.readline().strip()
            if reply != b"STORED":
                break
    return reply


def test_a_memcached_out_of_memory_fails_the_check_and_the_verdict(
        xdpperf_testbed: Any) -> None:
    """A real memcached that refuses stores once full (-M), filled: SERVER_ERROR
    replies, counted, recorded, and failing both the check and the verdict."""
    bed = xdpperf_testbed
    with local.memcached(bed.dut, memory_mb=FULL_MB, evict=False):
        filled = fill(bed.dut)
        result = local.memaslap(bed.tester, bed.dut.ip, PORT, duration=1.0, concurrency=4)
    assert filled.startswith(b"SERVER_ERROR"), filled
    assert result.problems.get("SERVER_ERROR", 0) > 0, (result.problems, result.raw["tail"])
    assert "out of memory" in result.problem
    measurement = local.AppMeasurement(NfSpec("firewall", {}), MODES["xdp"],
                                       "memcached", {}, result, {})
    info = measurement.extra_info()
    assert info["errors"] == result.errors > 0 and info["problems"] == result.problems
    assert "SERVER_ERROR" in failing_check(measurement)
    verdict = judge_transactions(info, absent("no thresholds file"))
    assert verdict.status == "fail" and "SERVER_ERROR replies" in verdict.reason, verdict


def test_memaslap_without_a_server_is_one_line_naming_it(xdpperf_testbed: Any) -> None:
    """Nothing listening: memaslap exits 1 after its settings, silent; the error says so."""
    bed = xdpperf_testbed
    with pytest.raises(local.XdpperfError,
                       match=rf"exited with status 1 .*listening on {bed.dut.ip}:{PORT}"):
        local.memaslap(bed.tester, bed.dut.ip, PORT, duration=1.0, concurrency=4)
