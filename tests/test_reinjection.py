"""Pass-to-stack: what an NF passes reaches the DUT's stack in every mode.

XDP modes have XDP_PASS; the AF_XDP modes copy the frame into a veth pair inside
the DUT's namespace (VethTestbed.reinjection, nf_lib's --pass-ifname), the
reference study's re-injection. Proved at a UDP socket in the DUT's namespace,
and for the pure I/O variant (MAC swap: a foreign destination MAC) at the stack
end's "dropped: other host" counter. Integration tests (root, the veth testbed).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from test_testbed import dut_running, raw_socket_on_tester, settled_stats

from pytest_xdpperf import local
from pytest_xdpperf.modes import Mode
from pytest_xdpperf.nf import NfSpec, RunningNf
from pytest_xdpperf.testbed.netns import entered, iproute

pytestmark = pytest.mark.integration

PORT = 5555
N_FRAMES = 16
WAIT = 3.0


def frames(bed: Any, count: int, dport: int = PORT) -> list[bytes]:
    t, d = bed.tester, bed.dut
    return [bytes(Ether(src=t.mac, dst=d.mac) / IP(src=t.ip, dst=d.ip)
                  / UDP(sport=41000 + i, dport=dport) / Raw(f"passed {i:03d}".encode()))
            for i in range(count)]


@contextmanager
def udp_socket_on_dut(bed: Any, port: int = PORT) -> Iterator[socket.socket]:
    with entered(bed.dut.netns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((bed.dut.ip, port))
        yield sock
    finally:
        sock.close()


def datagrams(sock: socket.socket, want: int, timeout: float) -> list[tuple[bytes, int]]:
    got: list[tuple[bytes, int]] = []
    deadline = time.monotonic() + timeout
    while len(got) < want and (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data, addr = sock.recvfrom(2048)
        except TimeoutError:
            break
        got.append((data, addr[1]))
    return got


@contextmanager
def passing_nf(bed: Any, builder: Any, mode: Mode, nf: str, **params: Any
               ) -> Iterator[RunningNf]:
    """The NF in `mode` with the re-injection path the local class gives it."""
    with ExitStack() as stack:
        if mode.in_kernel:
            yield stack.enter_context(dut_running(bed, builder, mode, nf, **params))
            return
        ifname = stack.enter_context(bed.reinjection())
        binary = builder.program(nf)
        running = stack.enter_context(RunningNf(binary, NfSpec(nf, params), mode, bed.dut,
                                                pass_ifname=ifname))
        bed.prepare_dut_napi()
        yield running


def links(bed: Any) -> set[str]:
    with iproute(bed.dut.netns) as ipr:
        return {link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}


def test_passed_frames_reach_a_socket_on_the_dut(xdpperf_testbed: Any, xdpperf_builder: Any,
                                                 xdp_mode: Mode) -> None:
    bed = xdpperf_testbed
    sent = frames(bed, N_FRAMES)
    with passing_nf(bed, xdpperf_builder, xdp_mode, "firewall", rules=0, action="pass") as nf, \
            udp_socket_on_dut(bed) as sock, raw_socket_on_tester(bed) as raw:
        assert nf.ready["pass_to"] == ("stack" if xdp_mode.in_kernel
                                       else bed.reinjection_ifnames[0])
        before = nf.stats()
        for f in sent:
            raw.send(f)
        got = datagrams(sock, N_FRAMES, WAIT)
        stats = settled_stats(nf, before["rx"] + N_FRAMES)

    assert sorted(got) == [(f"passed {i:03d}".encode(), 41000 + i) for i in range(N_FRAMES)]
    assert stats["pass"] - before["pass"] == N_FRAMES
    assert stats["drop"] - before["drop"] == 0
    if not xdp_mode.in_kernel:  # the user-space loop passed them, through the veth
        assert stats["user"]["pass"] - before["user"]["pass"] == N_FRAMES
        assert stats["reinjected"] - before["reinjected"] == N_FRAMES
        assert stats["reinject_failed"] == 0
    # the re-injection veth pair is gone with the NF's test
    assert not {n for n in links(bed) if n in bed.reinjection_ifnames}


def test_macswap_pass_reaches_the_stack_which_drops_it(xdpperf_testbed: Any,
                                                       xdpperf_builder: Any,
                                                       xdp_mode: Mode) -> None:
    """The pure I/O local variant: swapped MACs make the destination foreign, so the
    stack drops every frame at its door ("other host"), and the socket gets none."""
    bed = xdpperf_testbed
    sent = frames(bed, N_FRAMES)
    with passing_nf(bed, xdpperf_builder, xdp_mode, "macswap", action="pass") as nf, \
            udp_socket_on_dut(bed) as sock, raw_socket_on_tester(bed) as raw:
        counters = local.StackCounters(bed, xdp_mode)
        before_stack, before = counters.read(), nf.stats()
        for f in sent:
            raw.send(f)
        stats = settled_stats(nf, before["rx"] + N_FRAMES)
        got = datagrams(sock, 1, 0.3)
        seen = local.settled(counters, before_stack, N_FRAMES, WAIT)

    assert got == []
    assert stats["pass"] - before["pass"] == N_FRAMES
    assert seen.otherhost == N_FRAMES and seen.ip_in == 0
