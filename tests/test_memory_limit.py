"""An NF whose table does not fit the memory it may use says so and how to fix it,
also when the bound is its memory cgroup's limit (BPF maps and the NF's own pages
are charged to it), not the machine's free memory.

Each NF is started in a temporary memory cgroup with a small limit (cgroup v1 or
v2, whichever holds the memory controller), created and removed here.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from leftovers import beyond_testbed

from pytest_xdpperf.modes import MODES

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (cgroups, namespaces, BPF)"),
]

LIMIT = 64 << 20


@dataclass(frozen=True)
class MemoryCgroup:
    directory: Path
    name: str  # as /proc/<pid>/cgroup shows it

    def join(self) -> None:
        """Move the calling process into it (run in the child before exec)."""
        (self.directory / "cgroup.procs").write_text(str(os.getpid()))


def memory_hierarchy() -> tuple[Path, bool] | None:
    """(mount point, is v2) of the hierarchy with the memory controller, or None."""
    v2 = None
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields, _, tail = line.partition(" - ")
        fstype, _source, options = tail.split()[:3]
        point = Path(fields.split()[4])
        if fstype == "cgroup" and "memory" in options.split(","):
            return point, False
        if fstype == "cgroup2" and v2 is None and \
                "memory" in (point / "cgroup.controllers").read_text().split():
            v2 = point
    return (v2, True) if v2 else None


@contextmanager
def memory_cgroup(limit: int) -> Iterator[MemoryCgroup]:
    """A new memory cgroup under the hierarchy's root with `limit` bytes; removed after."""
    found = memory_hierarchy()
    if found is None:
        pytest.skip("no cgroup hierarchy with the memory controller on this machine")
    root, v2 = found
    name = f"xdpperf-memtest-{secrets.token_hex(3)}"
    directory = root / name
    directory.mkdir()
    try:
        limit_file = directory / ("memory.max" if v2 else "memory.limit_in_bytes")
        if not limit_file.exists():
            pytest.skip(f"{directory} has no {limit_file.name}")
        limit_file.write_text(str(limit))
        yield MemoryCgroup(directory, f"/{name}")
    finally:
        directory.rmdir()  # fails loudly if a process of ours is still in it


CASES = [
    ("firewall", "xdp", {"rules": 2_000_000},
     ["firewall: rules=2000000 needs", "for the rule table",
      "fix: lower rules, or free memory or raise the memory cgroup's limit"]),
    ("firewall", "af_xdp", {"rules": 2_000_000},
     ["firewall: rules=2000000 needs", "fix: lower rules"]),
    ("loadbalancer", "xdp", {"sessions": 2_000_000},
     ["loadbalancer: sessions=2000000 needs", "for the session table",
      "fix: lower sessions, or free memory or raise the memory cgroup's limit"]),
    ("memory", "xdp", {"size": "256M"},
     ["memory: size '256M' is more than the", "use a smaller size, or free memory"]),
]


@pytest.mark.parametrize("nf,mode,params,words", CASES,
                         ids=[f"{nf}-{mode}" for nf, mode, _, _ in CASES])
def test_table_beyond_the_cgroup_limit_is_a_clear_error(
        xdpperf_testbed: Any, xdpperf_builder: Any, nf: str, mode: str,
        params: dict[str, Any], words: list[str]) -> None:
    bed = xdpperf_testbed
    binary = xdpperf_builder.program(nf)
    argv = [str(binary), "--netns", bed.dut.netns, "--ifname", bed.dut.ifname,
            "--mode", MODES[mode].name, "--cpu", str(bed.dut.cpu)]
    argv += [a for k, v in params.items() for a in ("--param", f"{k}={v}")]
    with memory_cgroup(LIMIT) as cgroup:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                                stdin=subprocess.DEVNULL, preexec_fn=cgroup.join)
    assert result.returncode == 2, result
    message = result.stderr
    for word in words:
        assert word in message, message
    # the bound named is the cgroup's, and it is no more than its limit
    bound = re.search(rf"the (\d+) MiB of memory left under the limit of memory cgroup "
                      rf"{cgroup.name} ", message)
    assert bound is not None, message
    assert int(bound[1]) <= LIMIT >> 20, message
    assert not cgroup.directory.exists()
    assert beyond_testbed(bed) == []
