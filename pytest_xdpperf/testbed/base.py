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

from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..modes import Mode
    from ..nf import NfSpec

# How a generator puts frames on the tester's interface: "xdp" redirects them from an
# XDP program (ndo_xdp_xmit), "stack" hands skbs to the device (AF_PACKET, sockets).
# A testbed counts each path with its driver's own counters.
SEND_PATHS = ("xdp", "stack")


@dataclass(frozen=True)
class Host:
    """One side of the testbed: a namespace, its interface and its CPUs."""

    role: str  # "tester" or "dut"
    netns: str
    ifname: str
    mac: str
    ip: str
    cpus: tuple[int, ...]

    @property
    def cpu(self) -> int:
        """The CPU this side's single-core work is pinned to."""
        return self.cpus[0]


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
    tester: Host
    dut: Host

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
