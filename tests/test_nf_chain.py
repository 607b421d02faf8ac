"""The chain NF (nfs/chain/chain.h): a firewall in front of the load balancer, and
an XDP dispatcher in front of both, in every mode.

scapy frames from the tester, what comes back checked field by field, and the
NF's counters split by world ("xdp": the XDP program's verdicts, "user": the
AF_XDP loop's) so each test shows which world did what: the firewall's drops
happen in XDP in the hybrid placement, in user space with placement=user.
Integration tests (root, the built-in veth testbed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from test_nf_firewall_lb import BACKEND_PORT, CLIENT, VIP, VIP_PORT, backend, checksums_valid, frame
from test_reinjection import datagrams, udp_socket_on_dut
from test_testbed import (
    ANSWER_WAIT,
    dut_running,
    raw_socket_on_tester,
    receive,
    settled_stats,
    xdp_pass_on_tester,
)

from pytest_xdpperf.errors import ProgramFailed, XdpperfError
from pytest_xdpperf.modes import Mode

pytestmark = pytest.mark.integration

BASE_SPORT = 1024
SESSIONS, RULES, BACKENDS = 8, 3, 3
EXTRA_WAIT = 0.3
LOCAL_PORT = 11311
COUNTS = ("rx", "drop", "tx", "pass", "redirect", "aborted")


def deltas(after: dict[str, Any], before: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {world: {k: after[world][k] - before[world][k] for k in COUNTS}
            for world in ("xdp", "user")}


@contextmanager
def chain(bed: Any, builder: Any, mode: Mode, tmp_path: Path, **params: Any) -> Iterator[Any]:
    """The chain running in `mode`, and a function that sends frames and returns
    (IPv4 frames that came back, counter deltas per world, total deltas)."""
    with ExitStack() as stack:
        running = stack.enter_context(dut_running(bed, builder, mode, "chain", **params))
        if mode.in_kernel:  # XDP_TX in the DUT: frames come back as xdp_frames
            stack.enter_context(xdp_pass_on_tester(bed, tmp_path))
        sock = stack.enter_context(raw_socket_on_tester(bed))

        def exchange(frames: list[bytes], want_back: int) -> tuple[list[bytes], Any, Any]:
            before = running.stats()
            for f in frames:
                sock.send(f)
            back = receive(sock, want_back, ANSWER_WAIT)
            back += receive(sock, 1, EXTRA_WAIT)
            after = settled_stats(running, before["rx"] + len(frames))
            back = [b for b in back if b[12:14] == b"\x08\x00"]
            total = {k: after[k] - before[k] for k in COUNTS}
            return back, deltas(after, before), total

        yield exchange


def flows(bed: Any, proto: str) -> dict[int, bytes]:
    """Flow i = session i of the load balancer; the first RULES are the ACL's."""
    return {i: frame(bed, BASE_SPORT + i, VIP_PORT, proto, tag=f"flow{i}")
            for i in range(SESSIONS)}


def check_balanced(bed: Any, back: list[bytes], sent: dict[int, bytes], proto: str) -> None:
    """Every frame came back rewritten to its session's backend, checksums valid."""
    l4 = UDP if proto == "udp" else TCP
    seen = set()
    for raw in back:
        pkt = Ether(raw)
        assert checksums_valid(pkt), pkt.show(dump=True)
        i = pkt[l4].sport - BASE_SPORT
        ip, mac = backend(i % BACKENDS)
        assert (pkt.src, pkt.dst) == (bed.dut.mac, mac)
        assert (pkt[IP].src, pkt[IP].dst, pkt[l4].dport) == (bed.tester.ip, ip, BACKEND_PORT)
        assert bytes(pkt[l4].payload) == bytes(Ether(sent[i])[l4].payload)
        seen.add(i)
    assert seen == set(sent)


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_hybrid_drops_the_acl_in_xdp_and_balances_the_rest(
        xdpperf_testbed: Any, xdpperf_builder: Any, xdp_mode: Mode, tmp_path: Path,
        proto: str) -> None:
    bed = xdpperf_testbed
    sent = flows(bed, proto)
    survivors = {i: f for i, f in sent.items() if i >= RULES}
    reply = frame(bed, BACKEND_PORT, BASE_SPORT + RULES, proto, src=backend(0)[0], dst=CLIENT,
                  tag="reply")
    other = frame(bed, BASE_SPORT + SESSIONS, VIP_PORT, proto)  # no session: LB miss
    with chain(bed, xdpperf_builder, xdp_mode, tmp_path, sessions=SESSIONS, rules=RULES,
               backends=BACKENDS, proto=proto) as ex:
        back, world, total = ex([*sent.values(), reply, other], len(survivors) + 1)

    inbound = [b for b in back if Ether(b)[IP].src == bed.tester.ip]
    outbound = [b for b in back if Ether(b)[IP].src != bed.tester.ip]
    check_balanced(bed, inbound, survivors, proto)
    assert len(outbound) == 1  # the backend's reply, source restored to the VIP
    out = Ether(outbound[0])
    l4 = UDP if proto == "udp" else TCP
    assert (out[IP].src, out[l4].sport, out[IP].dst) == (VIP, VIP_PORT, CLIENT)
    assert checksums_valid(out)

    balanced = len(survivors) + 1
    # xdp-sk modes: the first frame primed the socket and was handed back to XDP
    primed = 1 if xdp_mode.first_to_socket else 0
    assert total == {"rx": SESSIONS + 2, "drop": RULES + 1, "tx": balanced, "pass": 0,
                     "redirect": primed if xdp_mode.in_kernel else balanced + 1, "aborted": 0}
    # the firewall's drops are the XDP program's, whatever the mode
    if xdp_mode.in_kernel:
        assert world["xdp"]["drop"] == RULES + 1 and world["user"]["rx"] == 0
    else:
        assert world["xdp"] == {"rx": RULES, "drop": RULES, "tx": 0, "pass": 0,
                                "redirect": balanced + 1, "aborted": 0}
        assert world["user"] == {"rx": balanced + 1, "drop": 1, "tx": balanced, "pass": 0,
                                 "redirect": 0, "aborted": 0}


def test_placement_user_runs_both_in_user_space(xdpperf_testbed: Any, xdpperf_builder: Any,
                                                xdp_mode: Mode, tmp_path: Path) -> None:
    bed = xdpperf_testbed
    if xdp_mode.in_kernel:
        with pytest.raises(ProgramFailed, match="placement=user .* needs an AF_XDP mode"), \
                dut_running(bed, xdpperf_builder, xdp_mode, "chain", placement="user"):
            pass
        return
    sent = flows(bed, "udp")
    survivors = {i: f for i, f in sent.items() if i >= RULES}
    with chain(bed, xdpperf_builder, xdp_mode, tmp_path, sessions=SESSIONS, rules=RULES,
               backends=BACKENDS, placement="user") as ex:
        back, world, _ = ex(list(sent.values()), len(survivors))

    check_balanced(bed, back, survivors, "udp")
    assert world["xdp"] == {"rx": 0, "drop": 0, "tx": 0, "pass": 0, "redirect": SESSIONS,
                            "aborted": 0}
    assert world["user"] == {"rx": SESSIONS, "drop": RULES, "tx": len(survivors), "pass": 0,
                             "redirect": 0, "aborted": 0}


def test_dispatcher_sends_local_flows_to_the_stack(xdpperf_testbed: Any, xdpperf_builder: Any,
                                                   xdp_mode: Mode, tmp_path: Path) -> None:
    """dispatch=local: frames to the local ports reach a socket on the DUT (XDP_PASS in
    the dispatcher, in every mode); the rest go on to the firewall and LB (to the
    AF_XDP socket in the AF_XDP modes)."""
    bed = xdpperf_testbed
    sent = flows(bed, "udp")
    survivors = {i: f for i, f in sent.items() if i >= RULES}
    local = [frame(bed, 42000 + i, LOCAL_PORT + i % 2, tag=f"local{i}") for i in range(6)]
    with chain(bed, xdpperf_builder, xdp_mode, tmp_path, sessions=SESSIONS, rules=RULES,
               backends=BACKENDS, dispatch="local", local_port=LOCAL_PORT,
               local_ports=2) as ex, \
            udp_socket_on_dut(bed, LOCAL_PORT) as s0, udp_socket_on_dut(bed, LOCAL_PORT + 1) as s1:
        back, world, total = ex([*local, *sent.values()], len(survivors))
        got = datagrams(s0, 3, ANSWER_WAIT) + datagrams(s1, 3, ANSWER_WAIT)

    assert sorted(port for _, port in got) == [42000 + i for i in range(6)]
    check_balanced(bed, back, survivors, "udp")
    assert world["xdp"]["pass"] == len(local)  # the dispatcher, in XDP
    assert total["drop"] == RULES and total["tx"] == len(survivors)
    if not xdp_mode.in_kernel:
        assert world["xdp"]["redirect"] == len(survivors)
        assert world["user"]["rx"] == len(survivors) and world["user"]["pass"] == 0


# the NF's own checks (several parameters together), and the framework's from its table
BAD = [
    ({"rules": 9, "sessions": 8}, "rules=9 is more than the 8 flows"),
    ({"placement": "kernel"}, "placement=kernel is not one of its values (placement takes "
                              "hybrid|user)"),
    ({"dispatch": "all"}, "dispatch=all is not one of its values (dispatch takes none|local)"),
    ({"local_port": 65535, "local_ports": 2}, "local ports 65535..65536"),
]


@pytest.mark.parametrize(("params", "message"), BAD, ids=[m.split("(")[0] for _, m in BAD])
def test_bad_chain_params(xdpperf_testbed: Any, xdpperf_builder: Any, params: dict[str, Any],
                          message: str) -> None:
    from pytest_xdpperf.modes import MODES

    with pytest.raises(XdpperfError, match=re.escape(message)), \
            dut_running(xdpperf_testbed, xdpperf_builder, MODES["af_xdp"], "chain", **params):
        pass
