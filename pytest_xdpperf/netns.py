"""Working inside the framework's network namespaces from Python.

Sockets belong to the namespace they were created in, so entering a
namespace briefly (this thread only) is enough for netlink and ethtool ioctls.
sysfs is different: /sys/class/net shows the devices of the namespace that
mounted it, so sysfs access happens in a forked child that enters the
namespace and mounts its own sysfs, as `ip netns exec` does.
"""

from __future__ import annotations

import ctypes
import os
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from .errors import XdpperfError

NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
CLONE_NEWNS = 0x00020000
MS_REC = 0x4000
MS_SLAVE = 1 << 19

_libc = ctypes.CDLL(None, use_errno=True)
T = TypeVar("T")


def netns_path(name: str) -> str:
    return name if name.startswith("/") else os.path.join(NETNS_DIR, name)


def _setns(fd: int, nstype: int) -> None:
    if _libc.setns(fd, nstype) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextmanager
def entered(name: str) -> Iterator[None]:
    """Run the body with this thread in namespace `name` (for sockets)."""
    try:
        target = os.open(netns_path(name), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise XdpperfError(
            f"network namespace {name} not found", "create the testbed first"
        ) from None
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(target, CLONE_NEWNET)
        try:
            yield
        finally:
            _setns(home, CLONE_NEWNET)
    finally:
        os.close(target)
        os.close(home)


def iproute(name: str) -> Any:
    """A pyroute2 IPRoute whose netlink socket lives in namespace `name`.

    (pyroute2's own IPRoute(netns=...) proved unreliable here: lookups right
    after creation sometimes came back empty.)"""
    from pyroute2 import IPRoute

    with entered(name):
        return IPRoute()


def run_with_sysfs(name: str, fn: Callable[[], T]) -> T:
    """Call fn in a child that sees namespace `name` and a sysfs of its own."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        status = 0
        try:
            os.close(read_end)
            fd = os.open(netns_path(name), os.O_RDONLY)
            _setns(fd, CLONE_NEWNET)
            if _libc.unshare(CLONE_NEWNS) != 0:
                raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
            _libc.mount(None, b"/", None, MS_REC | MS_SLAVE, None)
            if _libc.mount(b"sysfs", b"/sys", b"sysfs", 0, None) != 0:
                raise OSError(ctypes.get_errno(), "mount sysfs")
            outcome: tuple[bool, Any] = (True, fn())
        except BaseException as exc:  # noqa: BLE001 - sent to the parent
            outcome = (False, exc)
            status = 1
        with os.fdopen(write_end, "wb") as out:
            out.write(pickle.dumps(outcome))
        os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as inp:
        data = inp.read()
    os.waitpid(pid, 0)
    ok, value = pickle.loads(data)
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def read_value(path: str) -> str:
    """A sysfs/procfs value, stripped (in this namespace: see run_with_sysfs)."""
    with open(path) as f:
        return f.read().strip()


def write_value(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def read_sysfs(netns: str, path: str) -> str:
    return run_with_sysfs(netns, lambda: read_value(path))


def write_sysfs(netns: str, path: str, value: str) -> None:
    run_with_sysfs(netns, lambda: write_value(path, value))
