"""What a run left behind: its processes, namespaces, interfaces, run note and XDP
programs. Shared by test_teardown.py (a whole run in a subprocess, checked after it
ended) and the in-process failure-path tests (checked against the live testbed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psutil

from pytest_xdpperf import children, cleanup, naming, runfile
from pytest_xdpperf.testbed.netns import iproute


def processes_of(run_id: str) -> list[str]:
    """Processes of this run: our C programs working in its namespaces (by command
    line), any child it started (perf, sadc, ...: marked with the run id in their
    environment, children.RUN_MARK), and the children its note (if still there)
    recorded that still run as the very processes recorded."""
    found = {}
    for proc in psutil.process_iter(["pid", "cmdline"]):
        argv = proc.info["cmdline"] or []
        try:
            marks = proc.environ().get(children.RUN_MARK, "").split(",")
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            marks = []
        if any(f"-{run_id}-" in arg for arg in argv) or run_id in marks:
            found[proc.pid] = f"process {proc.pid} {' '.join(argv)}"
    note = Path(runfile.path_of(run_id))
    if note.exists():
        for child in runfile.children_alive(json.loads(note.read_text())):
            found.setdefault(int(child["pid"]), f"process {child['pid']} {child['name']}")
    return sorted(found.values())


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
