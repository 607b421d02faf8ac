"""Network functions: a compiled NF started on the DUT in one mode, with its counters."""

from __future__ import annotations

import functools
import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import params as nf_params
from .errors import ProgramFailed, XdpperfError
from .modes import MODES, Mode, attach_modes, bind_modes, busy_poll_defaults, busy_poll_range
from .process import Program
from .testbed.base import Host

# xdp-tools' names (xdp-loader --mode skb|native|hw) for the runtime's attach modes
ATTACH_ALIASES = {"skb": "generic", "hw": "offload"}
DESCRIBE_TIMEOUT = 10.0
# A *-sysc mode whose NF ran the driver for less than this share of the packets
# did not really busy-poll (see busy_poll_note).
MIN_SYSCALL_SHARE = 0.5


def attach_mode(name: str) -> str:
    """The attach mode `name` stands for: one of the runtime's (modes.attach_modes), or
    xdp-tools' name for one (skb: generic, hw: offload; native is the same in both); the
    one place a name is normalized, so records and messages carry the runtime's names."""
    mode = ATTACH_ALIASES.get(name, name)
    if mode not in attach_modes():
        aliases = ", ".join(f"{alias} for {mode}" for alias, mode in ATTACH_ALIASES.items())
        raise XdpperfError(f"unknown attach mode '{name}'",
                           f"use one of {', '.join(attach_modes())} (or xdp-tools' {aliases})")
    return mode


def describe(binary: Path | str) -> dict[str, Any]:
    """What `<nf> --describe` says (cached): {"nf", "params", "modes", "modes_note"},
    "params" the NF's parameter table (pytest_xdpperf/params.py reads it).

    Needs no root and loads nothing. Cached per binary path and modification time,
    so a rebuilt NF is asked again."""
    path = os.path.abspath(binary)
    try:
        mtime = os.stat(path).st_mtime_ns
    except FileNotFoundError:
        raise XdpperfError(f"NF program {path} not found", "build it: make -C nfs") from None
    return dict(_describe(path, mtime))


@functools.lru_cache(maxsize=64)
def _describe(path: str, mtime: int) -> dict[str, Any]:
    try:
        result = subprocess.run([path, "--describe"], capture_output=True, text=True,
                                timeout=DESCRIBE_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProgramFailed(f"{path} --describe failed: {exc}") from None
    line = result.stdout.strip().splitlines()[0] if result.stdout.strip() else ""
    try:
        answer = json.loads(line)
    except json.JSONDecodeError:
        answer = None
    if result.returncode != 0 or not isinstance(answer, dict) or "modes" not in answer \
            or not isinstance(answer.get("params"), list):
        raise ProgramFailed(
            f"{path} --describe gave no description (exit status {result.returncode}: "
            f"{(result.stderr or result.stdout).strip()[:300]!r}); is it built with the "
            "current nfs/common/nf_args_lib.c?")
    unknown = [m for m in answer["modes"] if m not in MODES]
    if unknown:
        raise ProgramFailed(f"{path} --describe lists unknown mode(s) {unknown}")
    return answer


def params_of(binary: Path | str) -> list[nf_params.Param]:
    """The NF's parameter table, as its --describe gives it."""
    return nf_params.table(describe(binary))


def has_param(binary: Path | str, name: str) -> bool:
    return any(p.name == name for p in params_of(binary))


def check_params(binary: Path | str, spec: NfSpec) -> None:
    """BadParameter (problem and fix, one line) unless the NF takes spec's parameters."""
    nf_params.check(spec.name, params_of(binary), spec.params)


def unsupported_reason(binary: Path | str, mode: Mode) -> str | None:
    """None if the NF supports `mode`, else why not (for pytest.skip)."""
    info = describe(binary)
    if mode.name in info["modes"]:
        return None
    note = info.get("modes_note")
    supported = ", ".join(info["modes"]) or "none"
    return f"{note} (supports: {supported})" if note else f"it supports only {supported}"


def busy_poll_note(mode: Mode, before: Mapping[str, Any], after: Mapping[str, Any]
                   ) -> str | None:
    """For a *-sysc mode: a note if the NF's own syscalls did not run the driver.

    `before`/`after` are NF stats; their xdp_in_nf_task / xdp_elsewhere counters say
    in which task the XDP program ran (see nfs/common/nf_shared.h)."""
    if mode.driver != "syscall":
        return None
    share = syscall_share(before, after)
    if share is None or share >= MIN_SYSCALL_SHARE:
        return None
    napi_id = after.get("napi_id")
    why = (" (the AF_XDP socket has no NAPI id: the driver does not link its RX queue "
           "to its NAPI, so busy polling cannot engage)" if napi_id == 0 else "")
    return (f"{mode.name}: the NF's syscalls ran the driver for only {share:.1%} of the "
            f"packets; the rest ran in the NAPI kthread/softirq, so this is not a "
            f"busy-poll measurement{why}")


def syscall_share(before: Mapping[str, Any], after: Mapping[str, Any]) -> float | None:
    """Share of XDP program runs between two NF stats that ran in the NF's own task."""
    if "xdp_in_nf_task" not in after:
        return None
    mine = after["xdp_in_nf_task"] - before.get("xdp_in_nf_task", 0)
    other = after["xdp_elsewhere"] - before.get("xdp_elsewhere", 0)
    return mine / (mine + other) if mine + other else None


@dataclass(frozen=True)
class NfSpec:
    """Which NF, with which parameters, attached and bound how.

    attach: native, generic or offload, or xdp-tools' skb (generic) or hw (offload),
    kept as the former (attach_mode).

    need_wakeup: the AF_XDP sockets' XDP_USE_NEED_WAKEUP bind flag (socket modes
    only): on, the loop makes a syscall only when the kernel asks for one; off, it
    kicks the kernel after every batch it sends.
    busy_poll_usecs / busy_poll_budget: SO_BUSY_POLL / SO_BUSY_POLL_BUDGET of the
    *-sysc modes' sockets; None leaves the NF's defaults (modes.busy_poll_defaults)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    attach: str = "native"
    bind: str = "copy"
    need_wakeup: bool = True
    busy_poll_usecs: int | None = None
    busy_poll_budget: int | None = None

    def __post_init__(self) -> None:
        # frozen: the normalized name is set the way dataclasses set fields
        object.__setattr__(self, "attach", attach_mode(self.attach))
        if self.bind not in bind_modes():
            raise XdpperfError(f"unknown bind mode '{self.bind}'",
                               f"use one of {', '.join(bind_modes())}")
        if not isinstance(self.need_wakeup, bool):
            raise XdpperfError(f"need_wakeup={self.need_wakeup!r} is not a boolean",
                               "use need_wakeup=True (the default) or False")
        usecs, budget = self.busy_poll_usecs, self.busy_poll_budget
        if usecs is not None:
            low, high = busy_poll_range("usecs")
            if not isinstance(usecs, int) or not low <= usecs <= high:
                raise XdpperfError(
                    f"busy_poll_usecs={usecs!r} is not a number of microseconds",
                    f"give an integer of {low} or more, or None for the default "
                    f"{busy_poll_defaults().get('usecs')}")
        if budget is not None:
            low, high = busy_poll_range("budget")
            if not isinstance(budget, int) or not low <= budget <= high:
                raise XdpperfError(f"busy_poll_budget={budget!r} is out of range",
                                   f"give {low} to {high}, or None for the default "
                                   f"{busy_poll_defaults().get('budget')}")

    def label(self) -> str:
        args = ",".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.name}[{args}]" if args else self.name


class RunningNf:
    """An NF process on the DUT; stop() (or the context manager) detaches it."""

    def __init__(self, binary: Path, spec: NfSpec, mode: Mode, host: Host,
                 pass_ifname: str | None = None):
        """pass_ifname: in AF_XDP modes, the interface through which the NF hands
        XDP_PASS frames to the stack (see VethTestbed.reinjection); without it they
        are counted and dropped."""
        if spec.attach not in mode.attach:  # offload: XSKMAP redirect cannot run in hardware
            raise XdpperfError(
                f"mode {mode.name} hands frames to an AF_XDP socket, and XSKMAP redirect "
                f"cannot run in hardware ({spec.attach})",
                f"use attach={' or '.join(repr(a) for a in mode.attach)}, or mode xdp")
        asked = [k for k in ("busy_poll_usecs", "busy_poll_budget")
                 if getattr(spec, k) is not None]
        if asked and mode.driver != "syscall":
            raise XdpperfError(f"mode {mode.name} does not busy-poll, so {asked[0]} has no "
                               "effect there", "give it only with a *-sysc mode")
        check_params(binary, spec)  # before anything starts: one line naming the fix
        self.spec = spec
        self.mode = mode
        self.host = host
        argv = [
            str(binary), *host.program_args(), "--ifname", host.ifname,
            "--mode", mode.name, "--cpu", str(host.cpu),
            "--attach", spec.attach, "--bind", spec.bind,
            "--need-wakeup", "on" if spec.need_wakeup else "off",
        ]
        if spec.busy_poll_usecs is not None:
            argv += ["--busy-poll-usecs", str(spec.busy_poll_usecs)]
        if spec.busy_poll_budget is not None:
            argv += ["--busy-poll-budget", str(spec.busy_poll_budget)]
        if pass_ifname:
            argv += ["--pass-ifname", pass_ifname]
        for key, value in spec.params.items():
            argv += ["--param", f"{key}={value}"]
        self.program = Program(spec.name, argv, host=host)

    @property
    def ready(self) -> dict[str, Any]:
        return self.program.ready

    @property
    def pid(self) -> int:
        return self.program.pid

    def stats(self) -> dict[str, Any]:
        return self.program.command("stats")

    def stop(self) -> int:
        return self.program.stop()

    def __enter__(self) -> RunningNf:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
