"""Building the C programs (NFs and the generator) with nfs/Makefile.

The bundled programs are in nfs/ (or a copy of it: --xdpperf-nfs). A user's own NFs
live in folders of their own laid out like nfs/ (<dir>/<nf>/<nf>_kern.c, <nf>_user.c,
<nf>.h), built against the bundled common library into the same build directory:
`--xdpperf-nf-dir DIR` (repeatable) or a package's entry point in the group
`xdpperf.nfs` (ENTRY_POINTS: an object that is, or is called to give, the folder).
An NF that is already built - a program in any language that speaks the NF protocol
(README, "The NF protocol") - is run as it is: `--xdpperf-nf-program NAME=PATH`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import NfBuildError, XdpperfError

ENTRY_POINTS = "xdpperf.nfs"  # packages that bring NFs: each names a folder of them

# The C sources: pytest_xdpperf/nfs, in a checkout a symlink to the repository's nfs/,
# in an installed wheel a copy of it. Built into build/ beside nfs/ in a checkout, else
# into the user's cache (an installed package's folder is no place for builds).
_PACKAGE = Path(__file__).resolve().parent
DEFAULT_SOURCES = (_PACKAGE / "nfs").resolve()
_CHECKOUT = (_PACKAGE / "nfs").is_symlink()
DEFAULT_BUILD = (_PACKAGE.parent / "build" if _CHECKOUT else
                 Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                 / "xdpperf" / "build")
MODES_TARGET = "modes"  # nfs/Makefile's target for build/common/nf-modes
TOOLS = {"clang": "clang", "make": "make", "cc": "gcc", "pkg-config": "pkg-config"}
MODES_TOOLS = (TOOLS["make"], TOOLS["cc"], TOOLS["pkg-config"])


def _programs(folder: Path) -> dict[str, Path]:
    """The programs of a folder laid out like nfs/: name -> its source folder."""
    if not folder.is_dir():
        return {}
    return {p.name: p for p in sorted(folder.iterdir()) if (p / f"{p.name}_kern.c").exists()}


@contextlib.contextmanager
def _build_lock(build_dir: Path) -> Iterator[None]:
    """An exclusive lock on the build directory (a build dir that is not ours to write,
    e.g. a user's run in a root's checkout, is locked read-only: make then only checks
    that everything is up to date, or fails on its own)."""
    path = build_dir / ".xdpperf-build.lock"
    try:
        build_dir.mkdir(parents=True, exist_ok=True)
        lock = open(path, "a")  # noqa: SIM115 (held for the block)
    except OSError:
        try:
            lock = open(path)  # noqa: SIM115
        except OSError:
            yield  # no lock to be had: nobody can write there to race us either
            return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@dataclass(frozen=True)
class Builder:
    sources: Path = DEFAULT_SOURCES
    build_dir: Path = DEFAULT_BUILD
    nf_dirs: tuple[Path, ...] = ()  # a user's own NF folders (nfs/Makefile's NF_DIRS)
    # NFs already built, run as they are: (name, the program's path)
    prebuilt: tuple[tuple[str, Path], ...] = ()

    def __post_init__(self) -> None:
        seen = {name: self.sources for name in _programs(self.sources)}
        for name, path in self.prebuilt:
            if name in seen or not name or "/" in name:
                raise XdpperfError(f"--xdpperf-nf-program {name}={path}: the NF name "
                                   f"'{name}' is taken or not a name", "give it another name")
            seen[name] = path.parent
        for folder in self.nf_dirs:
            if not folder.is_dir():
                raise XdpperfError(f"NF folder {folder} does not exist",
                                   "give a folder that holds <nf>/<nf>_kern.c")
            for name in _programs(folder):
                if name in seen:
                    raise XdpperfError(f"{folder / name}: the NF name '{name}' is taken by "
                                       f"{seen[name] / name}", "rename your NF")
                seen[name] = folder

    def programs(self) -> list[str]:
        """Every program this builder knows, the bundled ones first."""
        names = list(_programs(self.sources))
        for folder in self.nf_dirs:
            names += list(_programs(folder))
        return names + [name for name, _ in self.prebuilt]

    def program(self, name: str) -> Path:
        """Build one program (make skips it when nothing changed) and return its binary;
        a prebuilt one is only checked to be there and executable."""
        if name not in self.programs():
            raise XdpperfError(f"unknown network function '{name}'",
                               f"known ones: {', '.join(sorted(self.programs()))}")
        for known, path in self.prebuilt:
            if known == name:
                if not (path.is_file() and os.access(path, os.X_OK)):
                    raise XdpperfError(f"NF program {path} ({name}) is not an executable "
                                       "file", "build it, or fix --xdpperf-nf-program")
                return path
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
        # one make at a time per build directory: two sessions (or test runs in
        # parallel) building into it at once would run a binary the other rewrites
        # (ETXTBSY, EACCES) or link half-written objects
        with _build_lock(self.build_dir):
            result = subprocess.run(
                ["make", "--no-print-directory", "-C", str(self.sources),
                 f"BUILD={self.build_dir}", "NF_DIRS=" + " ".join(map(str, self.nf_dirs)),
                 target],
                capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"},
            )
        if result.returncode != 0:
            raise NfBuildError(target, result.stderr or result.stdout)

    def binary(self, name: str) -> Path:
        return self.build_dir / name / name


def entry_point_dirs() -> tuple[Path, ...]:
    """The NF folders installed packages declare (entry point group ENTRY_POINTS)."""
    from importlib.metadata import entry_points

    found = []
    for point in entry_points(group=ENTRY_POINTS):
        try:
            target = point.load()
            folder = target() if callable(target) else target
        except Exception as exc:  # noqa: BLE001 - a broken plugin is named, not a traceback
            raise XdpperfError(f"entry point {point.name} ({point.value}) of {ENTRY_POINTS} "
                               f"failed: {exc}", "fix or uninstall the package that declares "
                               "it") from None
        found.append(Path(str(folder)).resolve())
    return tuple(found)
