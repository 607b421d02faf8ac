"""What every testbed offers the rest of the framework."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


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


class Testbed(Protocol):
    tester: Host
    dut: Host

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
