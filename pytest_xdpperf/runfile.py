"""The run note: what `xdpperf cleanup` needs to know of a run that was killed.

One file per testbed, naming.run_dir()/<run_id>.json:

    {"pid": <owner>, "create_time": <owner's>, "netns": [...], "ifnames": [...],
     "children": [{"pid": .., "create_time": .., "name": ..}, ...],
     "settings": [{"netns": .., "ifname": .., "attr": .., "old": ..}, ...]}

This module is the only writer and reader of these files. Invariants:

- a note is written whole or not at all (a temporary file, then os.replace): a
  reader never sees half a note, and names ending in ".tmp" are never notes;
- every child the owner starts (children.start) is in each of the owner's live
  notes from right after its fork until right after it was reaped: recorded with
  its create_time while it cannot have been reaped yet, so the pid in the note is
  that very process, and a later process that reuses the pid has another
  create_time and is never taken for it (see same_process);
- every interface setting the owner changes (modes.applied) is in its notes with
  the value it had, from before it is written until after it was put back, so
  `xdpperf cleanup` can put back what a killed run left changed (on a testbed whose
  interfaces outlive the run: on veth the namespace goes with them anyway);
- only the owning process changes its notes (under one lock), so updates never
  race one another.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psutil

from . import naming

# psutil's create_time counts clock ticks (10 ms) since boot: the same process reads
# the same value, another process started later reads at least a tick more
SAME_PROCESS_S = 0.005

_lock = threading.Lock()
_live: dict[str, RunNote] = {}  # run_id -> this process's notes


def create_time(pid: int) -> float | None:
    """When process `pid` started (psutil's clock), None if there is no such process."""
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def same_process(pid: int, recorded: float | None) -> bool:
    """Whether `pid` is still the process that was recorded with `recorded` start time
    (a reused pid has another one)."""
    now = create_time(pid)
    return now is not None and recorded is not None and abs(now - recorded) < SAME_PROCESS_S


def path_of(run_id: str) -> str:
    return os.path.join(naming.run_dir(), f"{run_id}.json")


def _write(path: str, note: dict[str, Any]) -> None:
    """Whole or not at all: a half-written note would read as a dead run's."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(note, f)
    os.replace(tmp, path)


@dataclass
class RunNote:
    """This process's note of one testbed; `remove()` when the testbed is gone."""

    run_id: str
    netns: list[str]
    ifnames: list[str]
    children: dict[int, dict[str, Any]] = field(default_factory=dict)
    settings: dict[str, dict[str, str]] = field(default_factory=dict)  # "ns/if/attr" -> entry
    path: str = ""  # fixed at creation (naming.run_dir() then)

    @classmethod
    def create(cls, run_id: str, netns: list[str], ifnames: list[str]) -> RunNote:
        os.makedirs(naming.run_dir(), exist_ok=True)
        note = cls(run_id, list(netns), list(ifnames), path=path_of(run_id))
        with _lock:
            # children already running (started before this testbed) are this run's too
            for other in _live.values():
                note.children.update(other.children)
            note._save()
            _live[run_id] = note
        return note

    def _save(self) -> None:
        me = os.getpid()
        _write(self.path, {"pid": me, "create_time": create_time(me), "netns": self.netns,
                           "ifnames": self.ifnames, "children": list(self.children.values()),
                           "settings": list(self.settings.values())})

    def remove(self) -> None:
        with _lock:
            _live.pop(self.run_id, None)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)


def _setting_key(netns: str, ifname: str, attr: str) -> str:
    return f"{netns}/{ifname}/{attr}"


def record_settings(netns: str, ifname: str, old: dict[str, str]) -> None:
    """Settings about to be changed, with the values they have now, into the notes of
    the runs that own `netns` (written before the change is)."""
    with _lock:
        for note in _live.values():
            if netns in note.netns:
                for attr, value in old.items():
                    note.settings[_setting_key(netns, ifname, attr)] = {
                        "netns": netns, "ifname": ifname, "attr": attr, "old": value}
                note._save()


def forget_settings(netns: str, ifname: str, attrs: list[str]) -> None:
    """Settings that were put back: out of the notes."""
    with _lock:
        for note in _live.values():
            popped = [note.settings.pop(_setting_key(netns, ifname, a), None) for a in attrs]
            if any(p is not None for p in popped):
                note._save()


def record_child(pid: int, name: str) -> None:
    """Put a child that was just started (and not yet reaped) into every live note."""
    entry = {"pid": pid, "create_time": create_time(pid), "name": name}
    with _lock:
        for note in _live.values():
            note.children[pid] = entry
            note._save()


def forget_child(pid: int) -> None:
    """Take a child that has been reaped out of every live note."""
    with _lock:
        for note in _live.values():
            if note.children.pop(pid, None) is not None:
                note._save()


def live_run_ids() -> list[str]:
    """The run ids of this process's notes (children are marked with them)."""
    with _lock:
        return list(_live)


# --- reading (cleanup, tests) -----------------------------------------------------------

def notes() -> Iterator[tuple[str, dict[str, Any] | None]]:
    """(file name, note) of every note in the run dir; note None if it cannot be read."""
    directory = naming.run_dir()
    if not os.path.isdir(directory):
        return
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue  # a note being written (".tmp"), or the logs folder
        try:
            with open(os.path.join(directory, name)) as f:
                note = json.load(f)
        except (OSError, ValueError):
            note = None
        yield name, note if isinstance(note, dict) else None


def owner_alive(note: dict[str, Any]) -> bool:
    """Whether the process that wrote the note still runs (a note without the owner's
    create_time, from an older version, trusts the pid alone)."""
    pid = int(note.get("pid", 0))
    if pid <= 0 or not psutil.pid_exists(pid):
        return False
    recorded = note.get("create_time")
    return recorded is None or same_process(pid, float(recorded))


def children_alive(note: dict[str, Any]) -> list[dict[str, Any]]:
    """The note's recorded children that still run as the very process recorded."""
    alive = []
    for child in note.get("children", []):
        try:
            pid, started = int(child["pid"]), child.get("create_time")
        except (KeyError, TypeError, ValueError):
            continue
        if same_process(pid, None if started is None else float(started)):
            alive.append(child)
    return alive
