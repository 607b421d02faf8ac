"""A host that is a network namespace on this machine: how the veth testbed's
tester and DUT run programs, read counters and reach sysfs and procfs."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from .. import children, ifstats, runfile, sysfs
from ..metrics.machine import driver_info
from .base import Host
from .netns import entered


@dataclass(frozen=True)
class NetnsHost(Host):
    """`netns`: the namespace's name under /run/netns (or a path)."""

    netns: str = ""

    @property
    def where(self) -> str:
        return f"namespace {self.netns}"

    def command(self, argv: Sequence[str], *, cpus: Collection[int] | None = None,
                user: str | None = None, death_signal: str = "KILL") -> list[str]:
        return children.contained(argv, cpus=cpus, user=user, death_signal=death_signal,
                                  enter=[children.tool("ip"), "netns", "exec", self.netns])

    def program_args(self) -> list[str]:
        # our C programs enter it themselves, and `xdpperf cleanup` finds a stray one
        # by this argument
        return ["--netns", self.netns]

    def sockets(self) -> AbstractContextManager[None]:
        return entered(self.netns)

    def link_stats(self, ifname: str | None = None) -> dict[str, int]:
        return ifstats.link_stats(self, ifname)

    def ethtool_stats(self) -> dict[str, int]:
        return ifstats.ethtool_stats(self)

    def driver_info(self) -> dict[str, str]:
        return driver_info(self.ifname, self.sockets())

    def read_settings(self, attrs: Sequence[str]) -> dict[str, str]:
        return sysfs.read(self, attrs)

    def apply_settings(self, values: Mapping[str, str]) -> dict[str, str]:
        # in the run note with their old values from before they are written until
        # they are back, so `xdpperf cleanup` can put back what a killed run changed
        attrs = list(values)
        runfile.record_settings(self.netns, self.ifname, self.read_settings(attrs))
        try:
            return sysfs.apply(self, values)
        except BaseException:
            runfile.forget_settings(self.netns, self.ifname, attrs)  # all or nothing: none
            raise

    def restore_settings(self, previous: Mapping[str, str]) -> None:
        sysfs.restore(self, previous)
        # only once they are back: a failed restore stays in the note for cleanup
        runfile.forget_settings(self.netns, self.ifname, list(previous))

    def read_proc(self, path: str) -> str:
        with self._proc(path) as name, open(name) as f:
            return f.read()

    def write_proc(self, path: str, value: str) -> None:
        with self._proc(path) as name, open(name, "w") as f:
            f.write(value)

    @contextmanager
    def _proc(self, path: str) -> Iterator[str]:
        """`path` (/proc/...) as this thread sees it inside the namespace: /proc/net is
        the reading thread's network (/proc/thread-self/net), /proc/sys/net the opener's."""
        if path.startswith("/proc/net/"):
            path = "/proc/thread-self/net/" + path[len("/proc/net/"):]
        with entered(self.netns):
            yield path
