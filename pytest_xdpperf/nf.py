"""Network functions: a compiled NF started on the DUT in one mode, with its counters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import XdpperfError
from .modes import Mode
from .process import Program
from .testbed.base import Host

ATTACH_MODES = ("native", "generic")
BIND_MODES = ("copy", "zerocopy")


@dataclass(frozen=True)
class NfSpec:
    """Which NF, with which parameters, attached and bound how."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    attach: str = "native"
    bind: str = "copy"

    def __post_init__(self) -> None:
        if self.attach not in ATTACH_MODES:
            raise XdpperfError(f"unknown attach mode '{self.attach}'",
                               f"use one of {', '.join(ATTACH_MODES)}")
        if self.bind not in BIND_MODES:
            raise XdpperfError(f"unknown bind mode '{self.bind}'",
                               f"use one of {', '.join(BIND_MODES)}")

    def label(self) -> str:
        args = ",".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.name}[{args}]" if args else self.name


class RunningNf:
    """An NF process on the DUT; stop() (or the context manager) detaches it."""

    def __init__(self, binary: Path, spec: NfSpec, mode: Mode, host: Host):
        self.spec = spec
        self.mode = mode
        self.host = host
        argv = [
            str(binary), "--netns", host.netns, "--ifname", host.ifname,
            "--mode", mode.name, "--cpu", str(host.cpu),
            "--attach", spec.attach, "--bind", spec.bind,
        ]
        for key, value in spec.params.items():
            argv += ["--param", f"{key}={value}"]
        self.program = Program(spec.name, argv)

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
