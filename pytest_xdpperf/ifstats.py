"""Interface counters as the kernel keeps them (netlink and ethtool), read with
sockets opened in the host's network (Host.sockets): how a host on this machine
(testbed.veth.NetnsHost) implements Host.link_stats and Host.ethtool_stats."""

from __future__ import annotations

import struct
from typing import Any

from pyroute2 import IPRoute
from pyroute2.ethtool.ioctl import IoctlEthtool

from .errors import XdpperfError
from .testbed.base import Host

RTNL_STATS64_OTHERHOST = 24  # index of rx_otherhost_dropped in struct rtnl_link_stats64


def ethtool_stats(host: Host) -> dict[str, int]:
    """`ethtool -S` of the host's interface, by name (never by column)."""
    with host.sockets():
        eth = IoctlEthtool(host.ifname)  # the socket stays in the host's network
    try:
        return {name: int(value) for name, value in eth.get_statistics()}
    finally:
        eth.close()


def link_stats(host: Host, ifname: str | None = None) -> dict[str, int]:
    """rtnl_link_stats64 of the host's interface, or of its interface `ifname`
    (rx_packets, rx_dropped, ..., and rx_otherhost_dropped, 0 before Linux 5.19)."""
    name = ifname or host.ifname
    with host.sockets():
        ipr = IPRoute()
    with ipr:
        indexes = ipr.link_lookup(ifname=name)
        if not indexes:
            raise XdpperfError(f"interface {name} not found in {host}",
                               "was the testbed removed while running?")
        link = ipr.link("get", index=indexes[0])[0]
    stats = link.get_attr("IFLA_STATS64")
    out = {key: int(value) for key, value in stats.items()} if stats else {}
    out["rx_otherhost_dropped"] = otherhost_dropped(link)
    return out


def otherhost_dropped(link: Any) -> int:
    """rx_otherhost_dropped of a link (Linux >= 5.19), 0 if the kernel lacks it.

    pyroute2 decodes only the older fields of IFLA_STATS64, so this reads the
    attribute's raw words."""
    for slot in link["attrs"]:
        if slot.name == "IFLA_STATS64":
            value = slot.get_value()
            raw = bytes(value.data[value.offset + 4:value.offset + value.length])
            words = struct.unpack(f"{len(raw) // 8}Q", raw[:len(raw) // 8 * 8])
            return words[RTNL_STATS64_OTHERHOST] if len(words) > RTNL_STATS64_OTHERHOST else 0
    return 0


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {key: after[key] - before.get(key, 0) for key in after}
