"""The built-in testbed: two namespaces joined by a veth pair on one machine.

Tester work runs on one CPU and all DUT work on another, so one machine
behaves like two boxes cabled back to back:
- each veth end gets a threaded NAPI instance (a kthread we can pin); a veth
  has NAPI only while GRO is on or an XDP program is attached, so GRO is on;
- the DUT's NAPI kthread runs at SCHED_FIFO on the DUT CPU so it preempts a
  busy-polling user-space NF, as softirq does on a real NIC (at normal
  priority a busy AF_XDP loop starves it: 20-30% loss at any rate);
- the tester's NAPI kthread does the same on the tester CPU, so counting
  returning frames never lands on the DUT's CPU.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import psutil
from pyroute2 import IPRoute
from pyroute2 import netns as pyroute2_netns
from pyroute2.ethtool import Ethtool

from .. import naming, runfile
from ..errors import XdpperfError
from ..metrics import DutSamplers
from ..modes import Mode, applied
from ..nf import NfSpec, RunningNf
from .base import SEND_PATHS, Capabilities, Host, NfProcess, PathCounters
from .netns import iproute
from .netns_host import NetnsHost

# 198.18.0.0/15 is reserved by RFC 2544 for benchmarks: the only addresses we use.
TESTER_IP = "198.18.0.1"
DUT_IP = "198.18.0.2"
PREFIXLEN = 30
TESTER_MAC = "02:58:50:00:00:01"
DUT_MAC = "02:58:50:00:00:02"
NAPI_RT_PRIORITY = 50
NUD_PERMANENT = 0x80
# veth's own counters (ethtool -S) of frames redirected into it by XDP: those the
# peer's ring took and those it refused, full (the DUT's loss before its NF)
XMIT = "tx_queue_0_xdp_xmit"
XMIT_ERRORS = "tx_queue_0_xdp_xmit_errors"
# the interface's XDP receive counter (frames its XDP program saw)
XDP_PACKETS = "rx_queue_0_xdp_packets"


def veth_path_counters(tester: Host, dut: Host, send_path: str) -> PathCounters:
    """The veth pair's counters of the path. xdp: the tester's XDP xmit counters;
    stack: its link counters, where tx_packets counts what the peer took and
    tx_dropped what it refused. The DUT's tx_dropped counts its XDP_TX (and skbs)
    the tester's ring refused."""
    if send_path not in SEND_PATHS:
        raise ValueError(f"unknown send path {send_path!r}")
    if send_path == "xdp":
        eth = tester.ethtool_stats()
        reached, refused = eth.get(XMIT, 0), eth.get(XMIT_ERRORS, 0)
    else:
        link = tester.link_stats()
        reached, refused = link.get("tx_packets", 0), link.get("tx_dropped", 0)
    back = dut.link_stats()
    return PathCounters(reached=reached, refused=refused, dut_rx=back.get("rx_packets", 0),
                        dut_rx_dropped=back.get("rx_dropped", 0),
                        returned_refused=back.get("tx_dropped", 0))


def napi_threads(ifname: str) -> list[int]:
    """Pids of the NAPI kthreads of an interface (named napi/<ifname>-<id>)."""
    prefix = f"napi/{ifname}-"
    pids = []
    for proc in psutil.process_iter(["name"]):
        if (proc.info["name"] or "").startswith(prefix):
            pids.append(proc.pid)
    return pids


def pin_realtime(pid: int, cpu: int, priority: int = NAPI_RT_PRIORITY) -> None:
    os.sched_setaffinity(pid, {cpu})
    os.sched_setscheduler(pid, os.SCHED_FIFO, os.sched_param(priority))


def choose_cpus(
    tester_cpus: tuple[int, ...] | None, dut_cpus: tuple[int, ...] | None
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Defaults: the DUT on the last CPU, the tester on every other one (a generator
    thread each: on a 2-CPU machine CPU 0 alone); check what was asked."""
    online = sorted(os.sched_getaffinity(0))
    dut = dut_cpus or (online[-1],)
    tester = tester_cpus or (tuple(c for c in online if c not in dut) or (online[0],))
    for what, cpus in (("--xdpperf-tester-cpus", tester), ("--xdpperf-dut-cpus", dut)):
        missing = [c for c in cpus if c not in online]
        if missing:
            raise XdpperfError(
                f"{what} asks for CPU {missing[0]}, but this machine has CPUs {online}",
                f"pick CPUs from {online}",
            )
    if set(tester) & set(dut):
        if len(online) > 1:
            raise XdpperfError(
                f"tester CPUs {list(tester)} and DUT CPUs {list(dut)} overlap",
                "give the tester and the DUT different CPUs",
            )
        warnings.warn(
            "only one CPU: tester and DUT share it, so figures measure both together "
            "and are not comparable with a two-box testbed",
            stacklevel=2,
        )
    return tuple(tester), tuple(dut)


@dataclass
class VethTestbed:
    tester: NetnsHost
    dut: NetnsHost
    run_id: str
    _alive: bool = field(default=True, repr=False)
    _note: runfile.RunNote | None = field(default=None, repr=False)
    # what the veth driver can run (see README, "Known limits on a veth testbed"):
    # AF_XDP sockets in copy mode only, no BPF offload, one queue whose NAPI no
    # socket links to (napi_id 0: busy polling never engages)
    kind: ClassVar[str] = "veth"
    capabilities: ClassVar[Capabilities] = Capabilities(
        attach_modes=("native", "generic"), bind_modes=("copy",), busy_poll=False,
        multi_queue=False)

    @classmethod
    def create(
        cls,
        tester_cpus: tuple[int, ...] | None = None,
        dut_cpus: tuple[int, ...] | None = None,
    ) -> VethTestbed:
        tester_cpus, dut_cpus = choose_cpus(tester_cpus, dut_cpus)
        run_id = naming.new_run_id()
        tester = NetnsHost("tester", naming.ifname(run_id, "t"), TESTER_MAC, TESTER_IP,
                           tester_cpus, netns=naming.netns_name(run_id, "tester"))
        dut = NetnsHost("dut", naming.ifname(run_id, "d"), DUT_MAC, DUT_IP, dut_cpus,
                        netns=naming.netns_name(run_id, "dut"))
        bed = cls(tester, dut, run_id)
        bed._register()
        try:
            bed._build()
        except BaseException:
            bed.destroy()
            raise
        return bed

    def _register(self) -> None:
        """Leave a note for `xdpperf cleanup` in case this process is killed (runfile):
        the namespaces, the interfaces (root-namespace names exist briefly while the
        pair is built) and, from now on, every child process started."""
        self._note = runfile.RunNote.create(
            self.run_id, [self.tester.netns, self.dut.netns],
            [self.tester.ifname, self.dut.ifname])

    def _build(self) -> None:
        for host in (self.tester, self.dut):
            pyroute2_netns.create(host.netns)
        with IPRoute() as ipr:
            ipr.link("add", ifname=self.tester.ifname, kind="veth", peer=self.dut.ifname)
            ethtool = Ethtool()
            try:
                for host in (self.tester, self.dut):
                    index = ipr.link_lookup(ifname=host.ifname)[0]
                    ipr.link("set", index=index, address=host.mac, state="up")
                    features = ethtool.get_features(host.ifname)
                    features.features["rx-gro"].enable = True
                    # complete checksums in every frame, as on a wire: with the
                    # offload a veth carries TCP/UDP frames with only the pseudo-
                    # header summed, and a frame an AF_XDP NF copies out and
                    # re-injects into the stack would then fail its checksum
                    features.features["tx-checksum-ip-generic"].enable = False
                    ethtool.set_features(host.ifname, features)
                    # threaded NAPI survives the move into the namespace, and here
                    # (before the move) the root namespace's sysfs can reach it
                    with open(f"/sys/class/net/{host.ifname}/threaded", "w") as f:
                        f.write("1")
                    ipr.link("set", index=index, net_ns_fd=host.netns)
            finally:
                ethtool.close()
        for host in (self.tester, self.dut):
            # no IPv6 autoconfiguration: stray ND/MLD frames would spoil exact counts
            host.write_proc(f"/proc/sys/net/ipv6/conf/{host.ifname}/disable_ipv6", "1")
            with iproute(host.netns) as ipr:
                ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
                index = ipr.link_lookup(ifname=host.ifname)[0]
                ipr.addr("add", index=index, address=host.ip, prefixlen=PREFIXLEN)
                ipr.link("set", index=index, state="up")
        # Static neighbours: ARP frames would reach the NF under test, and an NF
        # that drops, swaps or re-injects them would break the stack's own traffic
        # (the local class) and spoil exact counts.
        for host, peer in ((self.tester, self.dut), (self.dut, self.tester)):
            with iproute(host.netns) as ipr:
                index = ipr.link_lookup(ifname=host.ifname)[0]
                ipr.neigh("replace", dst=peer.ip, lladdr=peer.mac, ifindex=index,
                          state=NUD_PERMANENT)
        self.pin_napi(self.tester)
        self.pin_napi(self.dut)

    @property
    def reinjection_ifnames(self) -> tuple[str, str]:
        """(NF end, stack end) of the DUT's re-injection veth pair (see reinjection)."""
        return naming.ifname(self.run_id, "ri"), naming.ifname(self.run_id, "rs")

    @contextlib.contextmanager
    def reinjection(self) -> Iterator[str]:
        """A veth pair inside the DUT's namespace through which a user-space NF hands
        frames to the DUT's stack (the reference study's AF_XDP "pass"); yields the
        end the NF writes to. The stack end has the DUT's MAC, so a frame addressed
        to the DUT is the stack's, and one with a foreign MAC is dropped as early as
        on the DUT's own interface. Removed after the body."""
        nf_end, stack_end = self.reinjection_ifnames
        dut = self.dut
        with iproute(dut.netns) as ipr:
            ipr.link("add", ifname=nf_end, kind="veth", peer=stack_end)
        try:
            for name in (nf_end, stack_end):
                dut.write_proc(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6", "1")
            # frames from 198.18.0.1 arrive here though the route back is via the
            # DUT's own interface: no reverse-path filter on this end
            for name in ("all", stack_end):
                dut.write_proc(f"/proc/sys/net/ipv4/conf/{name}/rp_filter", "0")
            with iproute(dut.netns) as ipr:
                stack_index = ipr.link_lookup(ifname=stack_end)[0]
                ipr.link("set", index=stack_index, address=dut.mac, state="up")
                ipr.link("set", index=ipr.link_lookup(ifname=nf_end)[0], state="up")
            yield nf_end
        finally:
            with iproute(dut.netns) as ipr:
                for index in ipr.link_lookup(ifname=nf_end):
                    ipr.link("del", index=index)

    def pin_napi(self, host: Host) -> list[int]:
        """Pin the host's NAPI kthreads to its CPU at real-time priority.

        The kthread is re-created whenever the device's NAPI is (e.g. on link
        down/up), so callers do this again right before measuring."""
        pids = napi_threads(host.ifname)
        if not pids:
            raise XdpperfError(
                f"no NAPI kthread for {host.ifname}",
                "the kernel needs threaded NAPI (Linux >= 5.12) and GRO on the veth",
            )
        for pid in pids:
            pin_realtime(pid, host.cpu)
        return pids

    def path_counters(self, send_path: str) -> PathCounters:
        return veth_path_counters(self.tester, self.dut, send_path)

    def start_nf(self, binary: Path, spec: NfSpec, mode: Mode,
                 pass_ifname: str | None = None) -> RunningNf:
        return RunningNf(binary, spec, mode, self.dut, pass_ifname=pass_ifname)

    def mode_settings(self, mode: Mode) -> AbstractContextManager[dict[str, str]]:
        return applied(mode, self.dut)

    def samplers(self) -> DutSamplers:
        return DutSamplers(self.dut.cpus)

    def nic_info(self) -> dict[str, str]:
        return self.dut.driver_info()

    def load_app(self, app: str, running: NfProcess, mode: Mode, duration: float,
                 threads: int, concurrency: int) -> tuple[Any, dict[str, int]]:
        from ..local import measure_memcached  # local builds on the testbed's hosts

        return measure_memcached(self, running, mode, duration, threads, concurrency)

    def prepare_dut_napi(self) -> list[int]:
        self.pin_napi(self.tester)
        return self.pin_napi(self.dut)

    @property
    def thresholds_key(self) -> str:
        """The name of this testbed's thresholds file: the veth pair on a machine with
        this many CPUs (testsuites/thresholds/veth-2cpu.toml on a 2-core machine)."""
        return f"veth-{os.cpu_count()}cpu"

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "veth",
            "tester": {"netns": self.tester.netns, "ifname": self.tester.ifname,
                       "cpus": list(self.tester.cpus)},
            "dut": {"netns": self.dut.netns, "ifname": self.dut.ifname,
                    "cpus": list(self.dut.cpus)},
            "driver": "veth",
            "napi": "threaded, SCHED_FIFO",
            "capabilities": self.capabilities.as_dict(),
        }

    def destroy(self) -> None:
        """Remove the namespaces (which takes the veth pair and its XDP programs)."""
        if not self._alive:
            return
        self._alive = False
        errors = []
        for host in (self.tester, self.dut):
            try:
                if host.netns in pyroute2_netns.listnetns():
                    pyroute2_netns.remove(host.netns)
            except OSError as exc:
                errors.append(f"{host.netns}: {exc}")
        # if the move into a namespace never happened, the veth is still here
        with IPRoute() as ipr:
            for host in (self.tester, self.dut):
                for index in ipr.link_lookup(ifname=host.ifname):
                    ipr.link("del", index=index)
        if self._note is not None:
            self._note.remove()
        if errors:
            raise XdpperfError("testbed teardown failed: " + "; ".join(errors),
                               "run `xdpperf cleanup`")
