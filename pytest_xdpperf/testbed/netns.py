"""Working inside the framework's network namespaces from Python.

Sockets belong to the namespace they were created in, so entering a
namespace briefly (this thread only) is enough for netlink and ethtool ioctls.
sysfs is different: /sys/class/net shows the devices of the namespace that
mounted it, so sysfs access happens in a helper process (pytest_xdpperf.sysfs,
through `ip netns exec`), never in a child forked from this threaded process.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import XdpperfError

NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)


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
