"""Building the C programs (NFs and the generator) with nfs/Makefile."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import NfBuildError, XdpperfError

# The C sources ship beside the package in a checkout; XDPPERF_NFS points elsewhere.
DEFAULT_SOURCES = Path(__file__).resolve().parent.parent / "nfs"
DEFAULT_BUILD = Path(__file__).resolve().parent.parent / "build"
MODES_TARGET = "modes"  # nfs/Makefile's target for build/common/nf-modes
TOOLS = {"clang": "clang", "make": "make", "cc": "gcc", "pkg-config": "pkg-config"}
MODES_TOOLS = (TOOLS["make"], TOOLS["cc"], TOOLS["pkg-config"])


@dataclass(frozen=True)
class Builder:
    sources: Path = DEFAULT_SOURCES
    build_dir: Path = DEFAULT_BUILD

    def program(self, name: str) -> Path:
        """Build one program (make skips it when nothing changed) and return its binary."""
        if not (self.sources / name / f"{name}_kern.c").exists():
            known = sorted(p.name for p in self.sources.iterdir()
                           if (p / f"{p.name}_kern.c").exists())
            raise XdpperfError(f"unknown network function '{name}'",
                               f"known ones: {', '.join(known)}")
        self._make(name, tuple(TOOLS.values()))
        return self.binary(name)

    def modes_helper(self) -> Path:
        """Build nf-modes, which prints the NF runtime's table of modes, and return it."""
        self._make(MODES_TARGET, MODES_TOOLS)  # user space only: no clang
        return self.build_dir / "common" / "nf-modes"

    def _make(self, target: str, tools: tuple[str, ...]) -> None:
        missing = [tool for tool in tools if shutil.which(tool) is None]
        if missing:
            raise XdpperfError(f"build tools missing: {', '.join(missing)}", "run ci/setup")
        result = subprocess.run(
            ["make", "--no-print-directory", "-C", str(self.sources),
             f"BUILD={self.build_dir}", target],
            capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"},
        )
        if result.returncode != 0:
            raise NfBuildError(target, result.stderr or result.stdout)

    def binary(self, name: str) -> Path:
        return self.build_dir / name / name
