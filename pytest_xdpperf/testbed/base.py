"""What every testbed offers the rest of the framework."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Protocol

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


class Testbed(Protocol):
    tester: Host
    dut: Host

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
