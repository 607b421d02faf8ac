"""What a run left behind: its processes, namespaces, interfaces, run note and XDP
programs. Shared by test_teardown.py (a whole run in a subprocess, checked after it
ended) and the in-process failure-path tests (checked against the live testbed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psutil

from pytest_xdpperf import cleanup, naming
from pytest_xdpperf.netns import iproute


def processes_of(run_id: str) -> list[str]:
    """Our C programs working in this run's namespaces."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        argv = proc.info["cmdline"] or []
        if any(f"-{run_id}-" in arg for arg in argv):
            found.append(f"process {proc.pid} {' '.join(argv)}")
    return found


def left_of(run_id: str) -> list[str]:
    """What cleanup.leftovers() reports of this run, its processes and its note."""
    left = [item for item in cleanup.leftovers() if run_id in item]
    left += processes_of(run_id)
    note = Path(naming.run_dir()) / f"{run_id}.json"
    if note.exists():
        left.append(f"note {note}")
    return left


def xdp_attached(host: Any) -> bool:
    """Whether an XDP program is attached to the host's interface."""
    with iproute(host.netns) as ipr:
        link = ipr.link("get", index=ipr.link_lookup(ifname=host.ifname)[0])[0]
    xdp = link.get_attr("IFLA_XDP")
    return bool(xdp and xdp.get_attr("IFLA_XDP_ATTACHED"))


def beyond_testbed(bed: Any) -> list[str]:
    """What of a live testbed's run exists beyond the testbed itself (its two namespaces,
    their veth ends and its note): processes, other namespaces or interfaces (in the
    root namespace or inside the testbed's), XDP programs left attached."""
    hosts = (bed.tester, bed.dut)
    own = {f"netns {h.netns}" for h in hosts} | {
        f"note {Path(naming.run_dir()) / f'{bed.run_id}.json'}"}
    left = [item for item in left_of(bed.run_id) if item not in own]
    for host in hosts:
        with iproute(host.netns) as ipr:
            names = [link.get_attr("IFLA_IFNAME") for link in ipr.get_links()]
        left += [f"interface {n} in {host.netns}" for n in names if n not in ("lo", host.ifname)]
        if xdp_attached(host):
            left.append(f"XDP program on {host.ifname}")
    return left
