"""The firewall and load balancer NFs do what nfs/firewall/firewall.h and
nfs/loadbalancer/loadbalancer.h say, in every mode: scapy frames from the tester,
the ones that come back checked field by field, the NF's counters checked exactly.

Integration tests (root, the built-in veth testbed), with test_testbed's helpers;
the check of uhash.h's jhash and table needs only gcc.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw
from test_testbed import (
    ANSWER_WAIT,
    dut_running,
    raw_socket_on_tester,
    receive,
    settled_stats,
    xdp_pass_on_tester,
)

from pytest_xdpperf.errors import ProgramFailed
from pytest_xdpperf.modes import MODES, Mode
from pytest_xdpperf.params import BadParameter

integration = pytest.mark.integration

EXTRA_WAIT = 0.3    # s of silence after the expected frames: nothing more comes back
BASE_SPORT = 1024   # rule 0 / session 0 (the NFs' default base_sport)
RULE_DPORT = 9      # firewall.h: dport of the first block of rules
PER_BLOCK = 65536 - BASE_SPORT
VIP, VIP_PORT = "198.18.0.2", 80                  # loadbalancer.h
BACKEND_PORT = 8080
CLIENT = "198.19.0.1"  # a client of the RFC 2544 range that is not the tester
COUNTERS = ("rx", "tx", "drop", "pass", "aborted")


def backend(b: int) -> tuple[str, str]:
    """IPv4 address and MAC of backend b (loadbalancer.h)."""
    return f"198.18.1.{b + 1}", f"02:58:50:01:00:{b + 1:02x}"


# --- helpers -----------------------------------------------------------------------------

def frame(bed: Any, sport: int, dport: int, proto: str = "udp", src: str | None = None,
          dst: str | None = None, tag: str = "") -> bytes:
    """Tester -> DUT frame with a payload that names it."""
    l4 = UDP(sport=sport, dport=dport) if proto == "udp" else TCP(sport=sport, dport=dport,
                                                                   flags="S", seq=1000 + sport)
    payload = Raw(f"xdpperf {tag or proto} {sport}->{dport} ".encode() * 2)
    return bytes(Ether(src=bed.tester.mac, dst=bed.dut.mac)
                 / IP(src=src or bed.tester.ip, dst=dst or bed.dut.ip, ttl=64) / l4 / payload)


def swapped(raw: bytes) -> bytes:
    return raw[6:12] + raw[0:6] + raw[12:]


@contextmanager
def exchanging(bed: Any, builder: Any, mode: Mode, tmp_path: Path, nf: str,
               **params: Any) -> Iterator[Any]:
    """The NF running in `mode`, and a function that sends frames and returns
    (frames that came back, NF counter deltas)."""
    with ExitStack() as stack:
        running = stack.enter_context(dut_running(bed, builder, mode, nf, **params))
        if mode.in_kernel:  # XDP_TX in the DUT: frames come back as xdp_frames
            stack.enter_context(xdp_pass_on_tester(bed, tmp_path))
        sock = stack.enter_context(raw_socket_on_tester(bed))

        def exchange(frames: list[bytes], want_back: int) -> tuple[list[bytes], dict[str, int]]:
            before = running.stats()
            for f in frames:
                sock.send(f)
            back = receive(sock, want_back, ANSWER_WAIT)
            back += receive(sock, 1, EXTRA_WAIT)  # anything beyond what we expect
            stats = settled_stats(running, before["rx"] + len(frames))
            back = [b for b in back if b[12:14] == b"\x08\x00"]  # IPv4 only: no stray ND etc.
            return back, {k: stats[k] - before[k] for k in COUNTERS}

        yield exchange


def checksums_valid(pkt: Packet) -> bool:
    """IPv4 and UDP/TCP checksums are what scapy computes afresh."""
    fresh = pkt.copy()
    del fresh[IP].chksum
    l4 = UDP if UDP in fresh else TCP
    del fresh[l4].chksum
    fresh = Ether(bytes(fresh))
    return bool(fresh[IP].chksum == pkt[IP].chksum and fresh[l4].chksum == pkt[l4].chksum)


# --- firewall ------------------------------------------------------------------------------

@integration
@pytest.mark.parametrize("rules", [16, 0])
def test_firewall_drops_exactly_the_rules(xdpperf_testbed: Any, xdpperf_builder: Any,
                                          xdp_mode: Mode, tmp_path: Path, rules: int) -> None:
    bed = xdpperf_testbed
    frames = {sport: frame(bed, sport, RULE_DPORT) for sport in range(BASE_SPORT, BASE_SPORT + 32)}
    survivors = {s: f for s, f in frames.items() if s >= BASE_SPORT + rules}
    with exchanging(bed, xdpperf_builder, xdp_mode, tmp_path, "firewall", rules=rules) as ex:
        back, delta = ex(list(frames.values()), len(survivors))

    assert sorted(back) == sorted(swapped(f) for f in survivors.values())
    assert delta == {"rx": 32, "tx": len(survivors), "drop": 32 - len(survivors), "pass": 0,
                     "aborted": 0}


@integration
def test_firewall_100000_rules(xdpperf_testbed: Any, xdpperf_builder: Any, xdp_mode: Mode,
                               tmp_path: Path) -> None:
    """Rules past the first block of ports move on to dport 10 (firewall.h)."""
    bed = xdpperf_testbed
    rules = 100_000
    last = rules - 1 - PER_BLOCK  # index in the second block of the last rule
    matching = [
        frame(bed, BASE_SPORT, RULE_DPORT),                  # rule 0
        frame(bed, 65535, RULE_DPORT),                       # rule 64511, last of block 0
        frame(bed, BASE_SPORT, RULE_DPORT + 1),              # rule 64512
        frame(bed, BASE_SPORT + last, RULE_DPORT + 1),       # rule 99999
    ]
    other = [
        frame(bed, BASE_SPORT - 1, RULE_DPORT),              # below base_sport
        frame(bed, BASE_SPORT + last + 1, RULE_DPORT + 1),   # would be rule 100000
        frame(bed, BASE_SPORT, RULE_DPORT + 2),              # third block: none
        frame(bed, BASE_SPORT, RULE_DPORT, proto="tcp"),     # rule 0's ports, but TCP
        frame(bed, BASE_SPORT, RULE_DPORT, src="198.18.0.3"),  # another source
    ]
    with exchanging(bed, xdpperf_builder, xdp_mode, tmp_path, "firewall", rules=rules) as ex:
        back, delta = ex(matching + other, len(other))

    assert sorted(back) == sorted(swapped(f) for f in other)
    assert delta == {"rx": 9, "tx": 5, "drop": 4, "pass": 0, "aborted": 0}


# --- load balancer -------------------------------------------------------------------------

SESSIONS, BACKENDS = 8, 3


@integration
@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_loadbalancer_rewrites_both_ways(xdpperf_testbed: Any, xdpperf_builder: Any,
                                         xdp_mode: Mode, tmp_path: Path, proto: str) -> None:
    bed = xdpperf_testbed
    l4 = UDP if proto == "udp" else TCP
    inbound = {BASE_SPORT + i: frame(bed, BASE_SPORT + i, VIP_PORT, proto, tag="in")
               for i in range(SESSIONS)}
    # replies of backend b to a client, sent through the DUT by MAC; the client is not
    # the tester's own address, or the tester's stack would answer the restored replies
    outbound = {b: frame(bed, BACKEND_PORT, BASE_SPORT + b, proto, src=backend(b)[0],
                         dst=CLIENT, tag="out")
                for b in range(BACKENDS)}
    unknown = [
        frame(bed, BASE_SPORT + SESSIONS, VIP_PORT, proto),       # no such session
        frame(bed, BASE_SPORT, VIP_PORT + 1, proto),              # not the service port
        frame(bed, BASE_SPORT, VIP_PORT, "tcp" if proto == "udp" else "udp"),  # other proto
        frame(bed, BACKEND_PORT, 2000, proto, src=backend(BACKENDS)[0],
              dst=CLIENT),                                         # not a backend
        frame(bed, BACKEND_PORT + 1, 2000, proto, src=backend(0)[0],
              dst=CLIENT),                                         # not the backend port
    ]
    frames = list(inbound.values()) + list(outbound.values()) + unknown
    with exchanging(bed, xdpperf_builder, xdp_mode, tmp_path, "loadbalancer",
                    sessions=SESSIONS, backends=BACKENDS, proto=proto) as ex:
        back, delta = ex(frames, len(inbound) + len(outbound))

    assert len(back) == len(inbound) + len(outbound), [Ether(b).summary() for b in back]
    seen_in, seen_out = set(), set()
    for raw in back:
        pkt = Ether(raw)
        assert checksums_valid(pkt), pkt.show(dump=True)
        if pkt[IP].src == bed.tester.ip:  # inbound, rewritten to its session's backend
            sport = pkt[l4].sport
            ip, mac = backend((sport - BASE_SPORT) % BACKENDS)
            assert (pkt.src, pkt.dst) == (bed.dut.mac, mac)
            assert (pkt[IP].dst, pkt[l4].dport) == (ip, BACKEND_PORT)
            sent = Ether(inbound[sport])
            assert bytes(pkt[l4].payload) == bytes(sent[l4].payload)
            seen_in.add(sport)
        else:  # outbound, source restored to the VIP
            b = pkt[l4].dport - BASE_SPORT
            assert (pkt.src, pkt.dst) == (bed.dut.mac, bed.tester.mac)
            assert (pkt[IP].src, pkt[l4].sport, pkt[IP].dst) == (VIP, VIP_PORT, CLIENT)
            sent = Ether(outbound[b])
            assert bytes(pkt[l4].payload) == bytes(sent[l4].payload)
            seen_out.add(b)
    assert seen_in == set(inbound) and seen_out == set(outbound)
    assert delta == {"rx": len(frames), "tx": len(inbound) + len(outbound),
                     "drop": len(unknown), "pass": 0, "aborted": 0}


@integration
def test_loadbalancer_udp_without_checksum_keeps_none(xdpperf_testbed: Any, xdpperf_builder: Any,
                                                      tmp_path: Path) -> None:
    """A UDP checksum of 0 means none: it stays 0 while the IPv4 one is updated."""
    bed = xdpperf_testbed
    raw = bytes(Ether(src=bed.tester.mac, dst=bed.dut.mac) / IP(src=bed.tester.ip, dst=VIP)
                / UDP(sport=BASE_SPORT, dport=VIP_PORT, chksum=0) / Raw(b"x" * 32))
    with exchanging(bed, xdpperf_builder, MODES["xdp"], tmp_path, "loadbalancer") as ex:
        back, delta = ex([raw], 1)
    assert len(back) == 1
    pkt = Ether(back[0])
    assert (pkt[IP].dst, pkt[UDP].dport, pkt[UDP].chksum) == (backend(0)[0], BACKEND_PORT, 0)
    fresh = pkt.copy()
    del fresh[IP].chksum
    assert Ether(bytes(fresh))[IP].chksum == pkt[IP].chksum
    assert delta["tx"] == 1


# --- bad parameters ------------------------------------------------------------------------

# (nf, params, what the NF says, what the framework's check says before starting it;
# None: only the NF can tell, from several parameters together)
BAD_PARAMS: list[tuple[str, dict[str, Any], list[str], str | None]] = [
    ("firewall", {"rules": -1}, ["rules", "-1", "0 to 16777216"],
     "rules=-1 is out of range (rules takes 0 to 16777216)"),
    ("firewall", {"rules": 999999999}, ["rules", "999999999", "0 to 16777216"],
     "rules=999999999 is out of range"),
    ("firewall", {"action": "reject"}, ["action", "reject", "drop, tx, pass"],
     "action=reject is not one of its values (action takes drop|tx|pass|aborted)"),
    ("firewall", {"rules": 16777216, "base_sport": 65500}, ["base_sport at most 65279"], None),
    ("firewall", {"colour": "red"}, ["unknown parameter 'colour'", "rules=", "base_sport="],
     "unknown parameter 'colour' (firewall takes: rules=0..16777216, "),
    ("loadbalancer", {"sessions": 0}, ["sessions", "'0'", "1 to 16777216"],
     "sessions=0 is out of range"),
    ("loadbalancer", {"backends": 255}, ["backends", "255", "1 to 254"],
     "backends=255 is out of range (backends takes 1 to 254)"),
    ("loadbalancer", {"proto": "sctp"}, ["proto", "sctp", "udp or tcp"],
     "proto=sctp is not one of its values (proto takes udp|tcp)"),
    ("loadbalancer", {"rules": 16}, ["unknown parameter 'rules'", "sessions="],
     "unknown parameter 'rules'"),
]


@integration
@pytest.mark.parametrize(("nf", "params", "words", "checked"), BAD_PARAMS,
                         ids=[f"{nf}-" + ",".join(f"{k}={v}" for k, v in params.items())
                              for nf, params, _, _ in BAD_PARAMS])
def test_bad_params_exit_2_with_the_fix(xdpperf_testbed: Any, xdpperf_builder: Any, nf: str,
                                        params: dict[str, Any], words: list[str],
                                        checked: str | None) -> None:
    binary = xdpperf_builder.program(nf)
    argv = [str(binary), "--netns", xdpperf_testbed.dut.netns, "--ifname",
            xdpperf_testbed.dut.ifname, "--mode", "xdp"]
    for k, v in params.items():
        argv += ["--param", f"{k}={v}"]
    result = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                            timeout=30)
    assert result.returncode == 2, result
    assert result.stderr.startswith(f"{nf}: "), result.stderr
    assert "(" in result.stderr and ")" in result.stderr  # "<problem> (<fix>)"
    for w in words:
        assert w in result.stderr, result.stderr

    # and through RunningNf, as a suite would meet it: the framework's own check from
    # the NF's table, or the NF's
    expected = (BadParameter, f"^{nf}: " + re.escape(checked)) if checked else \
        (ProgramFailed, words[0])
    with pytest.raises(expected[0], match=expected[1]), \
            dut_running(xdpperf_testbed, xdpperf_builder, MODES["xdp"], nf, **params):
        pass


# --- uhash.h: jhash is lookup3 -------------------------------------------------------------

UHASH_CHECK_C = r"""
#include <stdio.h>
#include <string.h>
#include "uhash.h"

int main(void)
{
    const char *s = "Four score and seven years ago";
    __u32 words[4] = { 1, 2, 3, 4 };
    struct uhash t;
    __u32 i, k, v, *p, misses = 0;

    /* lookup3's own test values (hashlittle) */
    printf("%08x %08x %08x %08x\n", uhash_jhash_bytes("", 0, 0),
           uhash_jhash_bytes("", 0, 0xdeadbeef), uhash_jhash_bytes(s, 30, 0),
           uhash_jhash_bytes(s, 30, 1));
    /* the word variant is the byte variant for whole words (little endian) */
    printf("%d\n", uhash_jhash_words(words, 4, 7) == uhash_jhash_bytes(words, 16, 7) &&
               uhash_jhash_words(words, 3, 9) == uhash_jhash_bytes(words, 12, 9));
    /* a full table: every key found, one more refused, buckets a power of two */
    if (uhash_init(&t, sizeof(k), sizeof(v), 1000, 0))
        return 1;
    for (i = 0; i < 1000; i++) {
        k = i * 7919;
        v = i;
        if (uhash_update(&t, &k, &v))
            return 2;
    }
    k = 1;
    for (i = 0; i < 1000; i++) {
        k = i * 7919;
        p = uhash_lookup(&t, &k);
        misses += !p || *p != i;
    }
    k = 123456789;
    printf("%u %u %d %u %d\n", misses, t.n_buckets, uhash_update(&t, &k, &v), t.count,
           uhash_lookup(&t, &k) == NULL);
    uhash_free(&t);
    return 0;
}
"""


def test_uhash_jhash_is_lookup3_and_table_behaves(tmp_path: Path, xdpperf_builder: Any) -> None:
    source, binary = tmp_path / "uhash_check.c", tmp_path / "uhash_check"
    source.write_text(UHASH_CHECK_C)
    subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-I",
                    str(xdpperf_builder.sources / "common"), str(source), "-o", str(binary)],
                   check=True, capture_output=True, text=True)
    out = subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout
    assert out.splitlines() == [
        "deadbeef bd5b7dde 17770551 cd628161",
        "1",
        f"0 1024 {-7} 1000 1",  # -E2BIG when full
    ]
