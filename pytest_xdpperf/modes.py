"""The DUT modes of the reference study, as data, and how each is applied and undone.

| mode        | NF logic runs in | user-space notification | driver runs by | sockets | loop    |
|-------------|------------------|-------------------------|----------------|---------|---------|
| xdp         | kernel           | -                       | interrupt      | no      | none    |
| xdp-sk      | kernel           | poll()                  | interrupt      | yes     | poll    |
| xdp-sk-sysc | kernel           | busy loop               | syscall        | yes     | syscall |
| af_xdp      | user             | busy loop               | interrupt      | yes     | busy    |
| af_xdp-sysc | user             | busy loop               | syscall        | yes     | syscall |
| af_xdp-poll | user             | poll()                  | interrupt      | yes     | poll    |

"loop" is how the NF's socket loop waits (nfs/common/xsk.h enum xsk_wait): spin on
the RX ring, block in poll(), or busy-poll through recvfrom() with the sockets'
BUSY_POLL options set (busy_poll below). The C side has the same table (nf_modes
in nfs/common/nf_lib.c) and prints it with `<nf> --describe-modes`;
tests/test_modes.py checks the two agree field by field.

"Interrupt" on the veth testbed means the DUT's NAPI kthread; "syscall" means
the NF's own recvfrom()/sendto() run the driver (SO_PREFER_BUSY_POLL), and
the interface gets napi_defer_hard_irqs=2 and gro_flush_timeout=200000 as
in the study.

Whether "syscall" really happens is measured, not assumed: every NF's XDP
program counts whether it ran in the NF's own task (stats xdp_in_nf_task /
xdp_elsewhere, driver_by_syscall_share, napi_id). On the veth testbed (Linux
6.18) it does not: veth does not link its RX queue to its NAPI
(netif_queue_set_napi), so an AF_XDP socket gets no NAPI id at bind (since
6.13 that is the only place it gets one) and recvfrom() never busy-polls; the
NAPI kthread keeps doing the driver work. The runner adds a note to such
measurements (nf.busy_poll_note); tests/test_modes.py checks the detection.

In the xdp-sk modes the sockets are bound but XDP finishes the frames. Busy
polling only engages for a socket that has received traffic, so XDP hands the
first frame of each queue with a socket to that socket (first_to_socket) and
finishes every later one itself; the NF runs the same XDP program again on that
one frame (BPF_PROG_RUN, live frames), so it is finished and counted like the
rest (one "redirect", "handed_back": 1). Measured on veth, Linux 6.18: the
socket's napi_id (SO_INCOMING_NAPI_ID) is 0 at bind and still 0 after the first
frame and after traffic, so on veth this does not make busy polling engage
either (test_xdp_sk_hands_exactly_one_frame_per_queue_to_its_socket records it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from . import sysfs
from .errors import XdpperfError
from .testbed.base import Host

SYSC_SYSFS: Mapping[str, str] = MappingProxyType(
    {"napi_defer_hard_irqs": "2", "gro_flush_timeout": "200000"}
)
# SO_PREFER_BUSY_POLL, SO_BUSY_POLL (us), SO_BUSY_POLL_BUDGET of the *-sysc sockets
SYSC_BUSY_POLL: Mapping[str, int] = MappingProxyType({"prefer": 1, "usecs": 20, "budget": 64})


@dataclass(frozen=True)
class Mode:
    name: str
    processing: Literal["kernel", "user"]  # which program decides: XDP or user space
    notification: Literal["none", "busy", "poll"]
    driver: Literal["interrupt", "syscall"]
    sockets: bool
    loop: Literal["none", "busy", "poll", "syscall"]
    sysfs: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # the sockets' busy-poll options (empty: left as the kernel makes them)
    busy_poll: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    # xdp-sk modes: XDP hands each queue's first frame to its socket, then finishes
    # every frame itself; the socket hands that one back (nfs/common/nf_shared.h)
    first_to_socket: bool = False

    @property
    def in_kernel(self) -> bool:
        return self.processing == "kernel"


MODES: Mapping[str, Mode] = MappingProxyType(
    {
        m.name: m
        for m in (
            Mode("xdp", "kernel", "none", "interrupt", sockets=False, loop="none"),
            Mode("xdp-sk", "kernel", "poll", "interrupt", sockets=True, loop="poll",
                 first_to_socket=True),
            Mode("xdp-sk-sysc", "kernel", "busy", "syscall", sockets=True, loop="syscall",
                 sysfs=SYSC_SYSFS, busy_poll=SYSC_BUSY_POLL, first_to_socket=True),
            Mode("af_xdp", "user", "busy", "interrupt", sockets=True, loop="busy"),
            Mode("af_xdp-sysc", "user", "busy", "syscall", sockets=True, loop="syscall",
                 sysfs=SYSC_SYSFS, busy_poll=SYSC_BUSY_POLL),
            Mode("af_xdp-poll", "user", "poll", "interrupt", sockets=True, loop="poll"),
        )
    }
)


def parse_modes(text: str) -> list[Mode]:
    """'xdp,af_xdp-sysc' -> [Mode, Mode]; unknown names are an error naming the valid ones."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise XdpperfError("--xdp-mode is empty", f"give one or more of: {', '.join(MODES)}")
    unknown = [n for n in names if n not in MODES]
    if unknown:
        raise XdpperfError(
            f"unknown mode '{unknown[0]}'", f"--xdp-mode takes a comma-separated list of: "
            f"{', '.join(MODES)}"
        )
    return [MODES[n] for n in dict.fromkeys(names)]


def apply_values(ifname: str, values: Mapping[str, str], read: Callable[[str], str],
                 write: Callable[[str, str], None]) -> dict[str, str]:
    """Write `values` (attribute -> value) with write(attr, value), all or nothing: if
    one fails (OSError), those already written are put back (restore_values) before the
    error is raised. Returns the values they replaced, as read(attr) gave them.

    Pure (the reads and writes are given): the sysfs helper runs it with real ones
    inside the interface's namespace, tests with fakes."""
    previous: dict[str, str] = {}
    for attr, value in values.items():
        try:
            old = read(attr)
            write(attr, value)
        except OSError as exc:
            restore_values(ifname, previous, write)
            raise XdpperfError(f"cannot set {attr}={value} on {ifname}: {exc}",
                               "run as root; nothing was left changed") from exc
        previous[attr] = old
    return previous


def restore_values(ifname: str, previous: Mapping[str, str],
                   write: Callable[[str, str], None]) -> None:
    """Put every value back, in reverse order, trying all of them even if one fails."""
    failed = []
    for attr, value in reversed(list(previous.items())):
        try:
            write(attr, value)
        except OSError as exc:
            failed.append(f"{attr}={value} ({exc})")
    if failed:
        raise XdpperfError(f"cannot restore {', '.join(failed)} on {ifname}",
                           f"set them back by hand under {sysfs.SYSFS_NET}/{ifname}/")


@contextmanager
def applied(mode: Mode, host: Host) -> Iterator[dict[str, str]]:
    """The mode's interface settings, in force for the body and restored after it."""
    if not mode.sysfs:
        yield {}
        return
    previous = sysfs.apply(host.netns, host.ifname, mode.sysfs)
    try:
        yield dict(mode.sysfs)
    finally:
        sysfs.restore(host.netns, host.ifname, previous)


def read_settings(mode: Mode, host: Host) -> dict[str, str]:
    """The current values of the settings the sysc modes touch (for tests and records)."""
    return sysfs.read(host.netns, host.ifname, list(SYSC_SYSFS))
