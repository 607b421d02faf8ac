"""What every testbed offers the rest of the framework: the extension point a lab
with two hosts, a real NIC or a host reached over SSH implements (Testbed).

A testbed owns everything that depends on where the tester and the DUT are and on
the DUT's driver: how an NF is started on the DUT (`start_nf`), the mode's interface
settings there (`mode_settings`), its driver's counter names (`path_counters`), its
NAPI placement, the DUT-side samplers, the application a transactions test loads,
and what the driver can do at all (`capabilities`, as data, so a test that asks for
more is refused before anything starts). The built-in one is testbed.veth
(namespaces appear only there); the plugin asks the `pytest_xdpperf_testbed` hook
for another (hookspecs.py).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import XdpperfError

if TYPE_CHECKING:
    from ..modes import Mode
    from ..nf import NfSpec

# How a generator puts frames on the tester's interface: "xdp" redirects them from an
# XDP program (ndo_xdp_xmit), "stack" hands skbs to the device (AF_PACKET, sockets).
# A testbed counts each path with its driver's own counters.
SEND_PATHS = ("xdp", "stack")


class HostUnsupported(XdpperfError):
    """A testbed's host lacks a way of working there that the framework needs."""


@dataclass(frozen=True)
class Host:
    """One side of the testbed: its interface, addresses and CPUs, and how the
    framework works there - runs a program, reads the interface's link and driver
    counters, reads and writes its sysfs settings and the host's procfs.

    Where the host is belongs to the subclass a testbed uses: testbed.veth.NetnsHost
    is a network namespace on this machine; a lab's host reached over SSH implements
    the same methods with its connection. This base describes a side only: each
    method refuses (HostUnsupported, naming itself), so a testbed that needs none of
    them (the unit tests' fake testbed) describes its hosts with it.
    """

    role: str  # "tester" or "dut"
    ifname: str
    mac: str
    ip: str
    cpus: tuple[int, ...]

    @property
    def cpu(self) -> int:
        """The CPU this side's single-core work is pinned to."""
        return self.cpus[0]

    @property
    def where(self) -> str:
        """Where the host is, for messages ("namespace xdpp-...-dut", "host lab-dut")."""
        return f"the {self.role} host"

    def __str__(self) -> str:
        return self.where

    def _unsupported(self, what: str) -> HostUnsupported:
        return HostUnsupported(f"the {self.role} host of this testbed cannot {what}",
                               f"implement {type(self).__name__}.{what.split()[0]} "
                               "in the testbed's Host")

    def command(self, argv: Sequence[str], *, cpus: Collection[int] | None = None,
                user: str | None = None, death_signal: str = "KILL") -> list[str]:
        """The argument list (never a shell string) that runs `argv` on this host, on
        `cpus`, as `user`, sent `death_signal` when this process dies; for
        children.start() and children.run() on this machine."""
        raise self._unsupported("command programs")

    def program_args(self) -> list[str]:
        """The arguments that tell one of the framework's C programs (an NF, the
        built-in generator) which network its --ifname is in: they take `--netns NAME`
        ('' for the one they run in, as on a host of its own)."""
        return ["--netns", ""]

    def sockets(self) -> AbstractContextManager[None]:
        """The body's new sockets (netlink, ethtool ioctls, TCP) are in this host's
        network."""
        raise self._unsupported("sockets opened here")

    def link_stats(self, ifname: str | None = None) -> dict[str, int]:
        """rtnl_link_stats64 of the interface, or of the host's interface `ifname`
        (rx_packets, tx_dropped, ..., rx_otherhost_dropped)."""
        raise self._unsupported("link_stats read")

    def ethtool_stats(self) -> dict[str, int]:
        """The driver's own counters of the interface (`ethtool -S`), by name."""
        raise self._unsupported("ethtool_stats read")

    def driver_info(self) -> dict[str, str]:
        """The interface's driver, version, firmware and bus (`ethtool -i`)."""
        raise self._unsupported("driver_info read")

    def read_settings(self, attrs: Sequence[str]) -> dict[str, str]:
        """The interface's sysfs attributes `attrs` (/sys/class/net/<if>/<attr>)."""
        raise self._unsupported("read_settings of sysfs")

    def apply_settings(self, values: Mapping[str, str]) -> dict[str, str]:
        """Write the interface's sysfs attributes, all or nothing; returns their old
        values for restore_settings. Until they are restored, a run killed in between
        leaves a note that `xdpperf cleanup` puts them back from."""
        raise self._unsupported("apply_settings of sysfs")

    def restore_settings(self, previous: Mapping[str, str]) -> None:
        """Put back what apply_settings changed, trying every one."""
        raise self._unsupported("restore_settings of sysfs")

    def read_proc(self, path: str) -> str:
        """A procfs file as this host sees it (/proc/net/snmp, /proc/sys/...)."""
        raise self._unsupported("read_proc files")

    def write_proc(self, path: str, value: str) -> None:
        """Write a procfs file of this host (/proc/sys/net/...)."""
        raise self._unsupported("write_proc files")


@dataclass(frozen=True)
class PathCounters:
    """A testbed's counters of the tester -> DUT -> tester path, cumulative frames, in
    the framework's words (the driver's own counter names belong to the testbed).

    `reached`: handed by the tester's interface to the DUT's receive side by the
    generator's send path; `refused`: handed but refused there, its ring full (a frame
    a send path retries is refused and then reaches); `dut_rx`, `dut_rx_dropped`: the
    DUT interface's own receive counts; `returned_refused`: sent back by the DUT and
    refused by the tester's receive side (the tester's loss, not the DUT's)."""

    reached: int = 0
    refused: int = 0
    dut_rx: int = 0
    dut_rx_dropped: int = 0
    returned_refused: int = 0

    def __sub__(self, other: PathCounters) -> PathCounters:
        return PathCounters(**{f.name: getattr(self, f.name) - getattr(other, f.name)
                               for f in fields(self)})


@dataclass(frozen=True)
class Capabilities:
    """What a testbed's DUT driver and machine can do. `attach_modes`/`bind_modes`: the
    XDP attach modes and AF_XDP bind modes it runs (modes.attach_modes, bind_modes);
    `busy_poll`: a socket's NAPI id links to a queue, so SO_BUSY_POLL engages;
    `multi_queue`: more than one RX queue; `hw_counters`: hardware cache counters for
    perf (None: not known until perf is asked, as metrics/perf.py does)."""

    attach_modes: tuple[str, ...] = ("native", "generic", "offload")
    bind_modes: tuple[str, ...] = ("copy", "zerocopy")
    busy_poll: bool = True
    multi_queue: bool = True
    hw_counters: bool | None = None

    @property
    def zero_copy(self) -> bool:
        return "zerocopy" in self.bind_modes

    @property
    def offload(self) -> bool:
        return "offload" in self.attach_modes

    def as_dict(self) -> dict[str, Any]:
        return {"attach_modes": list(self.attach_modes), "bind_modes": list(self.bind_modes),
                "zero_copy": self.zero_copy, "offload": self.offload,
                "busy_poll": self.busy_poll, "multi_queue": self.multi_queue,
                "hw_counters": self.hw_counters}


class NfProcess(Protocol):
    """An NF running on the DUT, as the procedures use it."""

    @property
    def pid(self) -> int: ...

    def stats(self) -> dict[str, Any]:
        """The NF's cumulative counters (rx, drop, tx, pass, redirect, aborted, ...)."""
        ...


class Sampler(Protocol):
    """The DUT-side samplers around the final trials (metrics.DutSamplers)."""

    def __enter__(self) -> Sampler: ...

    def __exit__(self, *exc: object) -> None: ...

    def result(self, packets: int | None, basis: str = "forwarded") -> dict[str, Any]:
        """The window's figures per packet of `packets` (`basis` names what they are)."""
        ...


class Testbed(Protocol):
    @property
    def tester(self) -> Host:
        """The tester's side: the generator's host."""
        ...

    @property
    def dut(self) -> Host:
        """The DUT's side: where the NF runs."""
        ...

    @property
    def kind(self) -> str:
        """"veth", ...: in records and messages."""
        ...

    @property
    def capabilities(self) -> Capabilities: ...

    def start_nf(self, binary: Path, spec: NfSpec, mode: Mode,
                 pass_ifname: str | None = None) -> AbstractContextManager[NfProcess]:
        """The NF running on the DUT in `mode` (ready when entered, stopped on exit);
        `pass_ifname`: where a user-space NF re-injects what it passes (local class)."""
        ...

    def mode_settings(self, mode: Mode) -> AbstractContextManager[dict[str, str]]:
        """The mode's interface settings on the DUT, in force for the body, restored
        after it; yields what was set."""
        ...

    def samplers(self) -> Sampler:
        """The DUT's CPU split and LLC counters around the final trials."""
        ...

    def nic_info(self) -> dict[str, str]:
        """The DUT NIC's driver, version, firmware and bus (ethtool -i), for records."""
        ...

    def load_app(self, app: str, running: NfProcess, mode: Mode, duration: float,
                 threads: int, concurrency: int) -> tuple[Any, dict[str, int]]:
        """`app` (memcached) served on the DUT behind `running`, loaded from the tester
        for `duration` s: its transactions (local.Transactions) and the NF's counter
        deltas over the run."""
        ...

    def path_counters(self, send_path: str) -> PathCounters:
        """The path's counters now, for a generator sending by `send_path` (SEND_PATHS)."""
        ...

    def prepare_dut_napi(self) -> list[int]:
        """Make sure the DUT's driver work runs where the DUT is measured; return its pids."""
        ...

    def describe(self) -> dict[str, Any]:
        """What a record needs to know about where it was measured."""
        ...

    @property
    def thresholds_key(self) -> str:
        """The stem of this testbed's thresholds file (testsuites/thresholds/<key>.toml)."""
        ...

    def destroy(self) -> None: ...
