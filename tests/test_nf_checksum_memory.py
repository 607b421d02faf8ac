"""The checksum and memory NFs do their work in every mode, and refuse bad parameters.

checksum: frames bounced with action=tx come back with their MACs swapped and a valid
UDP/TCP checksum although they were sent with a wrong one; frames it cannot checksum
(here ICMP) come back unchanged but for the MACs. memory: every frame is counted and
dropped or bounced, and in XDP the array map has the asked size and holds one increment
per frame. Bad parameters end the NF with status 2 and a message naming the fix.

These need root and the built-in testbed (pytest -m integration); the frame helpers
are the ones of test_testbed.py.
"""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Padding, Raw
from test_testbed import (
    COUNTS,
    QUIET_WAIT,
    bounce,
    dut_running,
    raw_socket_on_tester,
    receive,
    settled_stats,
    swapped,
)

from pytest_xdpperf.modes import MODES, Mode
from pytest_xdpperf.nf import NfSpec, RunningNf
from pytest_xdpperf.params import BadParameter

pytestmark = pytest.mark.integration

WRONG_CSUM = 0x1234  # what every frame is sent with: the NF must really recompute it


# --- frames -----------------------------------------------------------------------------

def checksum_frames(bed: Any) -> list[bytes]:
    """UDP and TCP frames with a wrong L4 checksum (odd and even lengths, one with
    Ethernet padding the checksum must not cover), and one ICMP frame."""
    t, d = bed.tester, bed.dut
    l2 = Ether(src=t.mac, dst=d.mac)
    ip = IP(src=t.ip, dst=d.ip, ttl=64)
    frames = [l2 / ip / UDP(sport=40000 + i, dport=9, chksum=WRONG_CSUM)
              / Raw(b"checksum %04d " % i + b"x" * (7 * i)) for i in range(8)]
    frames.append(l2 / ip / UDP(sport=41000, dport=9, chksum=WRONG_CSUM) / Raw(b"z")
                  / Padding(b"\xee" * 17))
    frames += [l2 / ip / TCP(sport=42000 + i, dport=80, flags="S", seq=i,
                             chksum=WRONG_CSUM) / Raw(b"tcp %d " % i + b"y" * (5 * i))
               for i in range(4)]
    frames.append(l2 / ip / ICMP(id=7, seq=1) / Raw(b"not checksummed by the NF"))
    return [bytes(f) for f in frames]


def l4_csum_valid(frame: bytes) -> bool:
    """The UDP/TCP checksum of frame is the one scapy computes for it."""
    pkt = Ether(frame)
    l4 = pkt[UDP] if UDP in pkt else pkt[TCP]
    got = l4.chksum
    del l4.chksum
    want = Ether(bytes(pkt))[type(l4)].chksum
    return bool(got == want)


def csum_zeroed(frame: bytes) -> bytes:
    """frame with its UDP/TCP checksum field zeroed, to compare the rest byte for byte."""
    pkt = Ether(frame)
    if UDP not in pkt and TCP not in pkt:
        return frame
    off = 14 + pkt[IP].ihl * 4 + (6 if UDP in pkt else 16)
    return frame[:off] + b"\0\0" + frame[off + 2:]


def bpf_map(prog_id: int, name: str) -> dict[str, Any]:
    """bpftool's description of the program's map called name."""
    prog = json.loads(subprocess.run(["bpftool", "-j", "prog", "show", "id", str(prog_id)],
                                     check=True, capture_output=True, text=True).stdout)
    for map_id in prog.get("map_ids", []):
        info = json.loads(subprocess.run(["bpftool", "-j", "map", "show", "id", str(map_id)],
                                         check=True, capture_output=True, text=True).stdout)
        if info.get("name") == name:
            return dict(info)
    raise AssertionError(f"program {prog_id} has no map {name}")


def bpf_array_sum(map_id: int) -> int:
    dump = json.loads(subprocess.run(["bpftool", "-j", "map", "dump", "id", str(map_id)],
                                     check=True, capture_output=True, text=True).stdout)
    # with BTF each entry has "formatted"; without, "value" is a list of hex bytes
    return sum(int(e["formatted"]["value"]) if "formatted" in e
               else int.from_bytes(bytes(int(b, 16) for b in e["value"]), "little")
               for e in dump)


# --- checksum -------------------------------------------------------------------------------

@pytest.mark.parametrize("rounds", [1, 1000])
def test_checksum_tx_returns_valid_checksums(xdpperf_testbed: Any, xdpperf_builder: Any,
                                             xdp_mode: Mode, tmp_path: Path,
                                             rounds: int) -> None:
    bed = xdpperf_testbed
    frames = checksum_frames(bed)
    with dut_running(bed, xdpperf_builder, xdp_mode, nf="checksum", action="tx",
                     rounds=rounds) as nf:
        back, delta = bounce(bed, nf, frames, xdp_mode.in_kernel, tmp_path)

    n = len(frames)
    assert delta == {"rx": n, "tx": n, "drop": 0, "pass": 0, "aborted": 0}
    assert len(back) == n
    # byte for byte the sent frames with the MACs swapped, but for the L4 checksum
    assert sorted(csum_zeroed(f) for f in back) == sorted(csum_zeroed(swapped(f))
                                                          for f in frames)
    for raw in back:
        pkt = Ether(raw)
        assert (pkt.src, pkt.dst) == (bed.dut.mac, bed.tester.mac)
        if ICMP in pkt:  # not checksummable: only the MACs changed
            assert swapped(raw) in frames
        else:
            l4 = pkt[UDP] if UDP in pkt else pkt[TCP]
            assert l4.chksum != WRONG_CSUM, pkt.summary()
            assert l4_csum_valid(raw), pkt.summary()


# --- memory ---------------------------------------------------------------------------------

@pytest.mark.parametrize("size,slots", [("4K", 512), ("64M", 8 << 20)])
@pytest.mark.parametrize("action", ["drop", "tx"])
def test_memory_counts_every_frame(xdpperf_testbed: Any, xdpperf_builder: Any, xdp_mode: Mode,
                                   tmp_path: Path, size: str, slots: int, action: str) -> None:
    bed = xdpperf_testbed
    frames = checksum_frames(bed)
    n = len(frames)
    with dut_running(bed, xdpperf_builder, xdp_mode, nf="memory", action=action,
                     size=size) as nf:
        array = bpf_map(nf.ready["prog_id"], "memory_array")
        if action == "tx":
            back, delta = bounce(bed, nf, frames, xdp_mode.in_kernel, tmp_path)
        else:
            with raw_socket_on_tester(bed) as sock:
                before = nf.stats()
                for frame in frames:
                    sock.send(frame)
                stats = settled_stats(nf, before["rx"] + n)
                back = receive(sock, 1, QUIET_WAIT)
            delta = {k: stats[k] - before[k] for k in COUNTS}
        info = nf.ready["nf_info"]
        if slots > 4096:
            touched = None
        elif xdp_mode.in_kernel:
            touched = bpf_array_sum(array["id"])
        else:  # the user-space array, read from the NF's own memory
            touched = user_array_sum(nf.pid, info["addr"], info["bytes"])

    # the array is where the logic runs, at the asked size
    assert array["max_entries"] == (slots if xdp_mode.in_kernel else 1)
    assert info["array"] == ("kernel" if xdp_mode.in_kernel else "user")
    assert (info["bytes"], info["slots"]) == (slots * 8, slots)
    if touched is not None:  # one increment per frame, in whichever world ran the logic
        assert touched == n
    if action == "drop":
        assert back == []
        assert delta == {"rx": n, "tx": 0, "drop": n, "pass": 0, "aborted": 0}
    else:
        assert sorted(back) == sorted(swapped(f) for f in frames)
        assert delta == {"rx": n, "tx": n, "drop": 0, "pass": 0, "aborted": 0}


def user_array_sum(pid: int, addr: int, size: int) -> int:
    """The sum of the u64 slots of an array in process `pid`'s memory."""
    with open(f"/proc/{pid}/mem", "rb") as mem:
        mem.seek(addr)
        data = mem.read(size)
    return sum(struct.unpack(f"<{size // 8}Q", data))


# --- bad parameters ---------------------------------------------------------------------------

# (nf, params, what the NF says, what the framework's check says before starting it)
BAD_PARAMS = [
    ("checksum", {"rounds": "-1"}, ["rounds '-1'", "from 0 to 1000000"],
     ["rounds=-1 is out of range", "rounds takes 0 to 1000000"]),
    ("checksum", {"rounds": "1000001"}, ["rounds '1000001'", "from 0 to 1000000"],
     ["rounds=1000001 is out of range"]),
    ("checksum", {"colour": "red"}, ["unknown parameter 'colour'", "rounds="],
     ["unknown parameter 'colour'", "checksum takes: action=", "rounds=0..1000000"]),
    ("memory", {"size": "0"}, ["size '0'", "use at least size=64"],
     ["size=0 is out of range", "size takes 64 to 4G bytes"]),
    ("memory", {"size": "-8"}, ["size '-8'", "e.g. size=64M"],
     ["size=-8 is not a byte count", "e.g. size=64M"]),
    ("memory", {"size": "1T"}, ["size '1T'", "over the limit of 4G", "use at most size=4G"],
     ["size=1T is out of range", "size takes 64 to 4G bytes"]),
    ("memory", {"size": "100"}, ["size '100'", "multiple of 8", "size=96 or size=104"],
     ["size=100 is not a multiple of 8", "use size=96 or size=104"]),
    ("memory", {"size": "4Q"}, ["size '4Q'", "unknown unit"], ["size=4Q is not a byte count"]),
    ("memory", {"colour": "red"}, ["unknown parameter 'colour'", "size="],
     ["unknown parameter 'colour'", "size=64..4G"]),
]


@pytest.mark.parametrize("nf,params,words,checked", BAD_PARAMS,
                         ids=[f"{nf}-{next(iter(p))}={next(iter(p.values()))}"
                              for nf, p, _, _ in BAD_PARAMS])
def test_bad_params_exit_2_with_the_fix(xdpperf_testbed: Any, xdpperf_builder: Any, nf: str,
                                        params: dict[str, str], words: list[str],
                                        checked: list[str]) -> None:
    binary = xdpperf_builder.program(nf)
    # the framework refuses them from the NF's own table, before starting it
    with pytest.raises(BadParameter) as failed:
        RunningNf(binary, NfSpec(nf, params), MODES["xdp"], xdpperf_testbed.dut).stop()
    message = str(failed.value)
    assert message.startswith(f"{nf}: ") and message.endswith(")"), message
    for word in checked:
        assert word in message, message

    # the same from the command line: status 2, before any namespace or BPF is touched
    args = [a for k, v in params.items() for a in ("--param", f"{k}={v}")]
    result = subprocess.run([str(binary), "--netns", "", "--ifname", "lo", "--mode", "xdp",
                             *args], capture_output=True, text=True)
    assert result.returncode == 2, result
    assert result.stderr.startswith(f"{nf}: "), result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
