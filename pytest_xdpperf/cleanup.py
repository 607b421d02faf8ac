"""Remove what a killed run left behind, recognising only what xdpperf made:
namespaces and interfaces named by naming's exact patterns, and processes whose
command line names such a namespace (our C programs take --netns NAME)."""

from __future__ import annotations

import errno
import json
import os
import signal
from dataclasses import dataclass, field

import psutil
from pyroute2 import IPRoute, NetlinkError
from pyroute2 import netns as pyroute2_netns

from . import naming


@dataclass
class Removed:
    processes: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    interfaces: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.processes or self.namespaces or self.interfaces or self.notes)


def _live_runs() -> set[str]:
    """Namespaces and interfaces of runs whose pytest process is still alive:
    never touch those."""
    live: set[str] = set()
    directory = naming.run_dir()
    if not os.path.isdir(directory):
        return live
    for name in os.listdir(directory):
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(directory, name)) as f:
                note = json.load(f)
        except (OSError, ValueError):
            continue
        if psutil.pid_exists(int(note.get("pid", 0))):
            live.update(note.get("netns", []))
            live.update(note.get("ifnames", []))
    return live


def _ours(netns: str) -> bool:
    return naming.is_our_netns(netns)


def cleanup(include_live: bool = False) -> Removed:
    removed = Removed()
    keep = set() if include_live else _live_runs()
    # our programs name their namespace on the command line (--netns xdpp-...)
    for proc in psutil.process_iter(["pid", "cmdline"]):
        argv = proc.info["cmdline"] or []
        for flag, value in zip(argv, argv[1:]):
            if flag == "--netns" and _ours(value) and value not in keep:
                try:
                    os.kill(proc.pid, signal.SIGKILL)
                    removed.processes.append(f"{proc.pid} {' '.join(argv[:1])}")
                except ProcessLookupError:
                    pass
                break
    for name in pyroute2_netns.listnetns():
        if _ours(name) and name not in keep:
            pyroute2_netns.remove(name)
            removed.namespaces.append(name)
    with IPRoute() as ipr:
        for link in ipr.get_links():
            ifname = link.get_attr("IFLA_IFNAME")
            if ifname and naming.is_ours(ifname) and ifname not in keep:
                try:
                    ipr.link("del", index=link["index"])
                except NetlinkError as exc:
                    if exc.code != errno.ENODEV:
                        raise
                    continue  # the peer of a veth deleted a moment ago
                removed.interfaces.append(ifname)
    directory = naming.run_dir()
    if os.path.isdir(directory):
        for name in os.listdir(directory):
            path = os.path.join(directory, name)
            if not name.endswith(".json"):
                continue  # a note being written (see VethTestbed._register)
            try:
                with open(path) as f:
                    note = json.load(f)
                if not all(_ours(ns) for ns in note.get("netns", [])):
                    continue  # a run under another prefix: not ours to forget
                if include_live or not psutil.pid_exists(int(note.get("pid", 0))):
                    os.unlink(path)
                    removed.notes.append(name)
            except (OSError, ValueError):
                os.unlink(path)
                removed.notes.append(name)
    return removed


def leftovers() -> list[str]:
    """What of ours exists now (for tests and `xdpperf cleanup --dry-run`)."""
    found = [f"netns {n}" for n in pyroute2_netns.listnetns() if _ours(n)]
    with IPRoute() as ipr:
        found += [f"interface {link.get_attr('IFLA_IFNAME')}" for link in ipr.get_links()
                  if naming.is_ours(link.get_attr("IFLA_IFNAME") or "")]
    for proc in psutil.process_iter(["pid", "cmdline"]):
        argv = proc.info["cmdline"] or []
        if any(f == "--netns" and _ours(v) for f, v in zip(argv, argv[1:])):
            found.append(f"process {proc.pid} {argv[0]}")
    return found
