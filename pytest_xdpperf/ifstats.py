"""Interface counters as the kernel keeps them (netlink and ethtool), per namespace."""

from __future__ import annotations

from pyroute2.ethtool.ioctl import IoctlEthtool

from .errors import XdpperfError
from .netns import entered, iproute
from .testbed.base import Host


def ethtool_stats(host: Host) -> dict[str, int]:
    """`ethtool -S` of the host's interface, by name (never by column)."""
    with entered(host.netns):
        eth = IoctlEthtool(host.ifname)  # the socket stays in the host's namespace
    try:
        return {name: int(value) for name, value in eth.get_statistics()}
    finally:
        eth.close()


def link_stats(host: Host) -> dict[str, int]:
    """rtnl_link_stats64 of the host's interface (rx_packets, rx_dropped, ...)."""
    with iproute(host.netns) as ipr:
        indexes = ipr.link_lookup(ifname=host.ifname)
        if not indexes:
            raise XdpperfError(f"interface {host.ifname} not found in {host.netns}",
                               "was the testbed removed while running?")
        link = ipr.link("get", index=indexes[0])[0]
    stats = link.get_attr("IFLA_STATS64")
    return {key: int(value) for key, value in stats.items()} if stats else {}


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {key: after[key] - before.get(key, 0) for key in after}
