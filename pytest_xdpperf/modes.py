"""The DUT modes, as the NF runtime defines them, and how each is applied and undone.

The modes are the C runtime's: one table, `nf_modes` in nfs/common/nf_modes_lib.c,
printed by `build/common/nf-modes --describe-modes` (every NF answers the same
`--describe-modes`). `MODES` is built from that answer once per build of the helper
(it is built on first use, like an NF), so a mode is added or changed in C only:

    {"name": "af_xdp-sysc", "logic": "user", "sockets": true, "loop": "syscall",
     "first_to_socket": false, "attach": {"native": 4, "generic": 2},
     "bind": {"copy": 2, "zerocopy": 4, "need_wakeup": 8},
     "busy_poll": {"prefer": 1, "usecs": 20, "budget": 64}}

What C knows is what the NF process does differently per mode: where the logic runs,
whether it binds sockets, how its loop waits (nfs/common/xsk.h enum xsk_wait: spin on
the RX ring, block in poll(), or busy-poll through recvfrom() with the sockets'
BUSY_POLL options set), the XDP attach flags and AF_XDP bind flags it may use, and the
busy-poll options it sets. What Python adds are facts the NF never acts on:

- `sysfs`: the interface settings of the busy-polling (loop "syscall") modes,
  napi_defer_hard_irqs=2 and gro_flush_timeout=200000 as in the reference study. The
  framework writes them in the DUT's namespace around the NF's life and puts them
  back (`applied`); the NF never reads or writes them, so they are not the runtime's.
- `notification` and `driver`: the reference study's names for what the loop means
  (how user space learns of frames; whether the NF's syscalls or an interrupt run the
  driver), derived from "loop" by one rule each, not a second table.

"Interrupt" on the veth testbed means the DUT's NAPI kthread; "syscall" means the
NF's own recvfrom()/sendto() run the driver (SO_PREFER_BUSY_POLL).

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

import functools
import json
import os
import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, cast

from . import sysfs
from .build import Builder
from .errors import ProgramFailed, XdpperfError
from .testbed.base import Host

# The interface settings of the modes whose loop busy-polls (loop "syscall"); see above.
SYSC_SYSFS: Mapping[str, str] = MappingProxyType(
    {"napi_defer_hard_irqs": "2", "gro_flush_timeout": "200000"}
)
DESCRIBE_TIMEOUT = 10.0
_EMPTY: Mapping[str, Any] = MappingProxyType({})
# how user space learns of frames, per loop (the reference study's "notification")
_NOTIFICATION = {"none": "none", "busy": "busy", "syscall": "busy", "poll": "poll"}


@dataclass(frozen=True)
class Mode:
    name: str
    processing: Literal["kernel", "user"]  # which program decides: XDP or user space
    notification: Literal["none", "busy", "poll"]
    driver: Literal["interrupt", "syscall"]
    sockets: bool
    loop: Literal["none", "busy", "poll", "syscall"]
    sysfs: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    # the sockets' busy-poll options (empty: left as the kernel makes them)
    busy_poll: Mapping[str, int] = field(default_factory=lambda: _EMPTY)
    # xdp-sk modes: XDP hands each queue's first frame to its socket, then finishes
    # every frame itself; the socket hands that one back (nfs/common/nf_shared.h)
    first_to_socket: bool = False
    # the --attach values the mode takes, with their XDP_FLAGS_* (offload: no sockets)
    attach: Mapping[str, int] = field(default_factory=lambda: _EMPTY)
    # the --bind values with their AF_XDP bind flags (and "need_wakeup"); None: no sockets
    bind: Mapping[str, int] | None = None

    @property
    def in_kernel(self) -> bool:
        return self.processing == "kernel"

    @classmethod
    def from_c(cls, entry: Mapping[str, Any]) -> Mode:
        """A mode from one entry of `--describe-modes`."""
        loop = entry["loop"]
        return cls(
            name=entry["name"],
            processing="kernel" if entry["logic"] == "xdp" else "user",
            notification=cast(Any, _NOTIFICATION[loop]),
            driver="syscall" if loop == "syscall" else "interrupt",
            sockets=bool(entry["sockets"]),
            loop=loop,
            sysfs=SYSC_SYSFS if loop == "syscall" else _EMPTY,
            busy_poll=MappingProxyType(dict(entry["busy_poll"])),
            first_to_socket=bool(entry["first_to_socket"]),
            attach=MappingProxyType(dict(entry["attach"])),
            bind=MappingProxyType(dict(entry["bind"])) if entry["bind"] is not None else None,
        )


_builder = Builder()


def use_builder(builder: Builder) -> None:
    """Take the modes from the runtime `builder` builds (the session's --xdpperf-nfs)."""
    global _builder
    _builder = builder


def c_table() -> dict[str, Any]:
    """The runtime's `--describe-modes` answer: {"modes": [...], "busy_poll_range": ...}.

    The helper is built once per process and builder (make skips it when nothing
    changed) and its answer read once per build of it."""
    return _read_table(*_helper())


@functools.lru_cache(maxsize=8)
def _built(builder: Builder) -> str:
    return str(builder.modes_helper())


def _helper() -> tuple[str, int]:
    """The helper of the current builder and its modification time."""
    helper = _built(_builder)
    try:
        return helper, os.stat(helper).st_mtime_ns
    except FileNotFoundError:
        raise XdpperfError(f"{helper} not found", "build it: make -C nfs modes") from None


@functools.lru_cache(maxsize=8)
def _read_table(helper: str, mtime: int) -> dict[str, Any]:
    try:
        result = subprocess.run([helper, "--describe-modes"], capture_output=True, text=True,
                                timeout=DESCRIBE_TIMEOUT)
        answer = json.loads(result.stdout)
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
        raise ProgramFailed(f"{helper} --describe-modes gave no table ({exc})",
                            "rebuild it: make -C nfs modes") from None
    if not isinstance(answer, dict) or not answer.get("modes"):
        raise ProgramFailed(f"{helper} --describe-modes gave no modes: {result.stdout[:200]!r}",
                            "rebuild it: make -C nfs modes")
    return answer


@functools.lru_cache(maxsize=8)
def _modes_of(helper: str, mtime: int) -> Mapping[str, Mode]:
    table = _read_table(helper, mtime)["modes"]
    return MappingProxyType({m.name: m for m in map(Mode.from_c, table)})


class _Modes(Mapping[str, Mode]):
    """name -> Mode, in the C table's order, read from the runtime on first use."""

    def __getitem__(self, name: str) -> Mode:
        return _modes_of(*_helper())[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_modes_of(*_helper()))

    def __len__(self) -> int:
        return len(_modes_of(*_helper()))

    def __repr__(self) -> str:
        return f"MODES({', '.join(self)})"


MODES: Mapping[str, Mode] = _Modes()


def mode_order() -> tuple[str, ...]:
    """The modes' names in the runtime's order (default --xdp-mode, figures)."""
    return tuple(MODES)


def busy_poll_defaults() -> Mapping[str, int]:
    """SO_PREFER_BUSY_POLL, SO_BUSY_POLL (us), SO_BUSY_POLL_BUDGET the NF sets on the
    sockets of the busy-polling modes unless told otherwise."""
    polled = [m.busy_poll for m in MODES.values() if m.busy_poll]
    return polled[0] if polled else _EMPTY


def busy_poll_range(option: Literal["usecs", "budget"]) -> tuple[int, int]:
    """What --busy-poll-usecs / --busy-poll-budget accept: (min, max)."""
    bounds = c_table()["busy_poll_range"][option]
    return int(bounds["min"]), int(bounds["max"])


def attach_modes() -> tuple[str, ...]:
    """Every --attach value, in the runtime's order."""
    return tuple(dict.fromkeys(a for m in MODES.values() for a in m.attach))


def bind_modes() -> tuple[str, ...]:
    """Every --bind value, in the runtime's order."""
    return tuple(dict.fromkeys(b for m in MODES.values() if m.bind for b in m.bind
                               if b != "need_wakeup"))


def parse_modes(text: str | None) -> list[Mode]:
    """'xdp,af_xdp-sysc' -> [Mode, Mode]; None -> every mode, in the runtime's order.
    Unknown names are an error naming the valid ones."""
    if text is None:
        return list(MODES.values())
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
    """The mode's interface settings on `host`, in force for the body and restored
    after it (Host.apply_settings: all or nothing, and put back by `xdpperf cleanup`
    if this process is killed in between)."""
    if not mode.sysfs:
        yield {}
        return
    previous = host.apply_settings(mode.sysfs)
    try:
        yield dict(mode.sysfs)
    finally:
        host.restore_settings(previous)


def read_settings(mode: Mode, host: Host) -> dict[str, str]:
    """The current values of the settings the sysc modes touch (for tests and records)."""
    return host.read_settings(list(SYSC_SYSFS))
