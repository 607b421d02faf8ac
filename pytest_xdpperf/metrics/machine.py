"""What a record must say about the machine: kernel, NIC driver and firmware,
CPU model, frequency governor, testbed.  Read while the testbed exists (its
interfaces live in namespaces that are gone when pytest-benchmark saves)."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import platform
import socket
import struct
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

SIOCETHTOOL = 0x8946
ETHTOOL_GDRVINFO = 0x00000003
# struct ethtool_drvinfo (linux/ethtool.h): cmd, driver[32], version[32],
# fw_version[32], bus_info[32], erom_version[32], reserved2[12], 5 x u32
DRVINFO = struct.Struct("=I32s32s32s32s32s12s5I")
UNAVAILABLE = "unavailable"


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode(errors="replace")


def driver_info(ifname: str, network: AbstractContextManager[None] | None = None
                ) -> dict[str, str]:
    """`ethtool -i` of an interface, by the same ETHTOOL_GDRVINFO ioctl, with the socket
    opened inside `network` (a host's Host.sockets(); default this process's own)."""
    buf = bytearray(DRVINFO.pack(ETHTOOL_GDRVINFO, *(b"",) * 6, *(0,) * 5))
    try:
        with network or contextlib.nullcontext(), \
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            address = ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))
            ifreq = struct.pack("16sP", ifname.encode()[:15], address)
            fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifreq)
    except OSError as exc:
        return {"driver": UNAVAILABLE, "error": f"{ifname}: {exc.strerror or exc}"}
    fields = DRVINFO.unpack(bytes(buf))
    return {"driver": _text(fields[1]), "version": _text(fields[2]),
            "firmware_version": _text(fields[3]) or "n/a", "bus_info": _text(fields[4]) or "n/a"}


def cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Processor", "cpu model", "uarch"):
                return value.strip()
    return platform.processor() or UNAVAILABLE


def governors(cpus: list[int] | tuple[int, ...]) -> dict[str, str]:
    """scaling_governor per CPU; "unavailable" where cpufreq is absent (VMs)."""
    out = {}
    for cpu in cpus:
        path = f"/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor"
        try:
            with open(path) as f:
                out[str(cpu)] = f.read().strip()
        except OSError:
            out[str(cpu)] = UNAVAILABLE
    return out


def machine_facts(testbed: dict[str, Any] | None, dut_ifname: str | None = None,
                  dut_cpus: list[int] | tuple[int, ...] = (),
                  nic: dict[str, str] | None = None) -> dict[str, Any]:
    """The keys xdpperf adds to pytest-benchmark's machine_info. `nic`: the DUT NIC's
    driver facts as the testbed gives them (Testbed.nic_info), else read here."""
    if nic is None:
        nic = driver_info(dut_ifname) if dut_ifname else {"driver": UNAVAILABLE}
    govs = governors(dut_cpus) if dut_cpus else {}
    distinct = sorted(set(govs.values()))
    return {
        "kernel_release": platform.release(),
        "kernel_version": platform.version(),
        "cpu_model": cpu_model(),
        "governor": distinct[0] if len(distinct) == 1 else (govs or UNAVAILABLE),
        "dut_nic": nic,
        "xdpperf_testbed": _stable(testbed) if testbed else UNAVAILABLE,
    }


def _stable(description: Any) -> Any:
    """The testbed without its per-run names (namespaces, interfaces): pytest-benchmark
    warns when the machine_info of compared records differs."""
    if isinstance(description, dict):
        return {k: _stable(v) for k, v in description.items() if k not in ("netns", "ifname")}
    return description


class MachineCache:
    """The last session's facts, for when they are asked before the testbed exists."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, facts: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(facts, sort_keys=True))
            os.replace(tmp, self.path)

    def read(self) -> dict[str, Any]:
        """Cached facts if they are of this kernel; else what can be known without a testbed."""
        current = machine_facts(None)
        try:
            cached = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return current
        if not isinstance(cached, dict) or cached.get("kernel_release") != current[
                "kernel_release"]:
            return current
        return cached
