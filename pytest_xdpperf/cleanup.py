"""Remove what a killed run left behind, recognising only what xdpperf made:
namespaces and interfaces named by naming's exact patterns, the child processes a
dead run recorded in its note (runfile: pid and create_time, so a process that
reuses such a pid is never killed), and processes whose command line names such a
namespace (our C programs take --netns NAME)."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
from dataclasses import dataclass, field
from typing import Any

import psutil
from pyroute2 import IPRoute, NetlinkError
from pyroute2 import netns as pyroute2_netns

from . import naming, runfile, sysfs
from .errors import XdpperfError
from .testbed.netns_host import NetnsHost


@dataclass
class Removed:
    processes: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    interfaces: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    settings: list[str] = field(default_factory=list)  # put back: "attr=old on if in ns"

    def __bool__(self) -> bool:
        return bool(self.processes or self.namespaces or self.interfaces or self.notes
                    or self.settings)


def _live_runs() -> set[str]:
    """Namespaces and interfaces of runs whose pytest process is still alive:
    never touch those."""
    live: set[str] = set()
    for _, note in runfile.notes():
        if note is not None and runfile.owner_alive(note):
            live.update(note.get("netns", []))
            live.update(note.get("ifnames", []))
    return live


def _recorded(include_live: bool) -> list[dict[str, Any]]:
    """The recorded children of dead runs (of every run of ours with include_live)
    that are still the very processes recorded."""
    found = []
    for _, note in runfile.notes():
        if note is None or not all(_ours(ns) for ns in note.get("netns", [])):
            continue  # unreadable, or a run under another prefix: not ours
        if runfile.owner_alive(note) and not include_live:
            continue
        found += runfile.children_alive(note)
    return found


def _kill_recorded(include_live: bool) -> list[str]:
    """SIGKILL _recorded(include_live), with their process groups (each leads one)."""
    killed = []
    for child in _recorded(include_live):
        pid = int(child["pid"])
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        killed.append(f"{pid} {child.get('name', '?')}")
    return killed


def _restore_settings(include_live: bool, present: set[str]) -> list[str]:
    """Put back the interface settings dead runs recorded as changed, where their
    namespace still exists; one that cannot be put back is said, not raised."""
    done = []
    for _, note in runfile.notes():
        if note is None or not all(_ours(ns) for ns in note.get("netns", [])):
            continue
        if runfile.owner_alive(note) and not include_live:
            continue
        for entry in note.get("settings", []):
            try:
                netns, ifname = str(entry["netns"]), str(entry["ifname"])
                attr, old = str(entry["attr"]), str(entry["old"])
            except (KeyError, TypeError):
                continue
            if netns not in present:
                continue  # gone, and the interface with it
            try:
                # a host with only what the helper needs: where it is, its interface
                sysfs.restore(NetnsHost("dut", ifname, "", "", (), netns=netns), {attr: old})
                done.append(f"{attr}={old} on {ifname} in {netns}")
            except XdpperfError as exc:
                done.append(f"{attr}={old} on {ifname} in {netns} NOT put back: {exc}")
    return done


def _ours(netns: str) -> bool:
    return naming.is_our_netns(netns)


def cleanup(include_live: bool = False) -> Removed:
    removed = Removed()
    keep = set() if include_live else _live_runs()
    removed.processes += _kill_recorded(include_live)
    killed = {int(p.split()[0]) for p in removed.processes}
    # our programs name their namespace on the command line (--netns xdpp-...)
    for proc in psutil.process_iter(["pid", "cmdline"]):
        argv = proc.info["cmdline"] or []
        if proc.pid in killed:
            continue
        for flag, value in zip(argv, argv[1:]):
            if flag == "--netns" and _ours(value) and value not in keep:
                try:
                    os.kill(proc.pid, signal.SIGKILL)
                    removed.processes.append(f"{proc.pid} {' '.join(argv[:1])}")
                except ProcessLookupError:
                    pass
                break
    removed.settings += _restore_settings(include_live, set(pyroute2_netns.listnetns()))
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
    for name, note in runfile.notes():
        path = os.path.join(naming.run_dir(), name)
        if note is not None:
            if not all(_ours(ns) for ns in note.get("netns", [])):
                continue  # a run under another prefix: not ours to forget
            if not include_live and runfile.owner_alive(note):
                continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
            removed.notes.append(name)
    return removed


def leftovers() -> list[str]:
    """What of ours exists now (for tests and `xdpperf cleanup --dry-run`)."""
    found = [f"netns {n}" for n in pyroute2_netns.listnetns() if _ours(n)]
    recorded = _recorded(include_live=False)
    found += [f"process {c['pid']} {c.get('name', '?')} (recorded by a dead run)"
              for c in recorded]
    seen = {int(c["pid"]) for c in recorded}
    present = set(pyroute2_netns.listnetns())
    for _, note in runfile.notes():
        if note is not None and all(_ours(ns) for ns in note.get("netns", [])) \
                and not runfile.owner_alive(note):
            found += [f"setting {e.get('attr')} changed on {e.get('ifname')} in {e.get('netns')}"
                      f" (was {e.get('old')})" for e in note.get("settings", [])
                      if e.get("netns") in present]
    with IPRoute() as ipr:
        found += [f"interface {link.get_attr('IFLA_IFNAME')}" for link in ipr.get_links()
                  if naming.is_ours(link.get_attr("IFLA_IFNAME") or "")]
    for proc in psutil.process_iter(["pid", "cmdline"]):
        argv = proc.info["cmdline"] or []
        if proc.pid not in seen and any(f == "--netns" and _ours(v)
                                        for f, v in zip(argv, argv[1:])):
            found.append(f"process {proc.pid} {argv[0]}")
    return found
