"""Checks before anything is created, each naming the problem and the fix."""

from __future__ import annotations

import os
import shutil

from .errors import XdpperfError

REQUIRED_TOOLS = ("clang", "make", "gcc", "pkg-config")


def check_root() -> None:
    if os.geteuid() != 0:
        raise XdpperfError("xdpperf must run as root",
                           "it creates namespaces and loads BPF programs: run it with sudo")


def check_kernel() -> None:
    if not (os.path.exists("/sys/fs/bpf") or os.path.exists("/proc/sys/net/core/bpf_jit_enable")):
        raise XdpperfError("this kernel has no BPF support",
                           "use a kernel built with CONFIG_BPF_SYSCALL")
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        raise XdpperfError("the kernel exposes no BTF (/sys/kernel/btf/vmlinux)",
                           "use a kernel built with CONFIG_DEBUG_INFO_BTF")
    if not _has_af_xdp():
        raise XdpperfError("the kernel has no AF_XDP sockets",
                           "use a kernel built with CONFIG_XDP_SOCKETS")


def _has_af_xdp() -> bool:
    import socket

    af_xdp = getattr(socket, "AF_XDP", 44)
    try:
        socket.socket(af_xdp, socket.SOCK_RAW, 0).close()
    except OSError as exc:
        return exc.errno not in (97, 93)  # EAFNOSUPPORT, EPROTONOSUPPORT
    return True


def check_toolchain() -> None:
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        raise XdpperfError(f"toolchain missing: {', '.join(missing)}",
                           "run ci/setup (installs clang, libbpf-dev, libxdp-dev, ...)")


def check_cpus(needed: int) -> None:
    online = len(os.sched_getaffinity(0))
    if online < needed:
        raise XdpperfError(f"{needed} CPUs asked for, {online} available",
                           "give fewer --xdpperf-tester-cpus/--xdpperf-dut-cpus")


def run_all() -> None:
    check_root()
    check_kernel()
    check_toolchain()
