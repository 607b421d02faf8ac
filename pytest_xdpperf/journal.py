"""Every trial, repetition and measurement, appended to a JSON-lines file the moment
it exists and fsynced, so a crash, Ctrl-C, kill -9, the OOM killer or a power loss
loses nothing already measured (pytest-benchmark writes its JSON only at the end).

Hand-written rather than a library: one JSON object per line, appended with
O_APPEND and fsynced, is the whole format; a reader must survive a line torn by a
crash mid-write, which a line-per-record format makes trivial (the torn line is the
last one, and it is skipped).

Lines: {"time": s since the epoch, "kind": ..., "test": node id, "session": id of
the pytest session, ...}. Kinds: "trial" (one per trial: the NF, mode, phase and
rfc2544.trial_dict), "calibration" (one per calibration trial, test "(calibration)"),
"repetition", "unfinished" (a measurement a failure or Ctrl-C
ended, with its trials), "measurement" / "latency" (the record's extra_info).
`to_records` turns a journal back into pytest-benchmark records (`xdpperf import`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .schema import UNFINISHED, head

DONE_KINDS = ("measurement", "latency")


class JournalWarning(UserWarning):
    """The journal could not be written: the run goes on, no longer crash-safe."""


class Journal:
    """The session's journal. A line that cannot be written (a full disk, a removed
    folder) is taken back whole, the run goes on (its records are still made at the
    end) and one JournalWarning names the file and the cause; `lost` counts those
    lines. Invariant: the file holds whole lines only, but for a crash mid-write."""

    def __init__(self, path: Path | None, session: str | None = None):
        self.path = path
        self.session = session or secrets.token_hex(4)
        self.lost = 0

    def write(self, kind: str, test: str, payload: dict[str, Any]) -> None:
        """Append one line and fsync it (and, when this made the file, its folder)."""
        if self.path is None:
            return
        line = json.dumps({"time": time.time(), "kind": kind, "test": test,
                           "session": self.session, **payload}, default=str)
        try:
            self._append(line)
        except OSError as exc:
            self.lost += 1
            if self.lost == 1:
                warnings.warn(JournalWarning(
                    f"xdpperf: cannot write the journal {self.path}: "
                    f"{exc.strerror or exc} (this run is no longer crash-safe; free space "
                    "there or give --xdpperf-journal another file, '' for none)"),
                    stacklevel=2)

    def _append(self, line: str) -> None:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        data = (line + "\n").encode()
        # a raw descriptor: nothing buffered that a close could write after a failure
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            size = os.fstat(fd).st_size
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            except OSError:
                # a part of the line may be on disk: take it back, or the next line
                # would be glued to it and lost with it
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
                raise
        finally:
            os.close(fd)
        if created:  # the new file's name is on disk only once its folder is synced
            fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


@dataclass
class Read:
    """A journal's lines; `torn`: lines that were not whole JSON (a crash mid-write)."""

    lines: list[dict[str, Any]] = field(default_factory=list)
    torn: int = 0


def read(path: Path) -> Read:
    """Every whole line of a journal; a torn one is counted and skipped."""
    out = Read()
    with open(path, "rb") as f:
        for raw in f:
            try:
                line = json.loads(raw)
            except ValueError:
                out.torn += 1
                continue
            if isinstance(line, dict):
                out.lines.append(line)
            else:
                out.torn += 1
    return out


def sessions(lines: list[dict[str, Any]]) -> list[str]:
    """The sessions of a journal in the order they first wrote (older lines: "")."""
    seen: list[str] = []
    for line in lines:
        if (s := str(line.get("session") or "")) not in seen:
            seen.append(s)
    return seen


def to_records(lines: list[dict[str, Any]], session: str) -> tuple[list[dict[str, Any]],
                                                                  list[dict[str, Any]]]:
    """(finished, unfinished) of one session, as pytest-benchmark entries' fields
    (fullname, name, extra_info). A test's last finished measurement is its record;
    a test with trials but no finished measurement is unfinished: its extra_info
    holds the trials and says `unfinished` (never a baseline: xdpperf compare does
    not judge against it)."""
    finished: dict[str, dict[str, Any]] = {}
    trials: dict[str, list[dict[str, Any]]] = {}  # since the test's last finished one
    ended: dict[str, dict[str, Any]] = {}  # its "unfinished" line, if a failure wrote one
    for line in lines:
        if str(line.get("session") or "") != session:
            continue
        test, kind = str(line.get("test") or ""), line.get("kind")
        body = {k: v for k, v in line.items() if k not in ("time", "kind", "test", "session")}
        if kind in DONE_KINDS:
            finished[test] = body
            trials.pop(test, None)
            ended.pop(test, None)
        elif kind == "trial":
            trials.setdefault(test, []).append(body)
        elif kind == "unfinished":
            ended[test] = body
            trials.setdefault(test, [])
    done = [_entry(test, info) for test, info in finished.items()]
    open_ = []
    for test in trials:
        got, end = trials[test], ended.get(test, {})
        first = got[0] if got else end
        open_.append(_entry(test, {
            **head(UNFINISHED), "unfinished": True, "metric": "none",
            "metric_samples_pps": [], "nf": first.get("nf"), "mode": first.get("mode"),
            "error": end.get("error") or "the run ended without finishing (killed?)",
            # each trial as it was journaled; a journal of before per-trial lines has
            # them only in the unfinished line
            "trials": got or list(end.get("trials") or [])}))
    return done, open_


def _entry(test: str, info: dict[str, Any]) -> dict[str, Any]:
    return {"fullname": test, "name": test.split("::")[-1], "group": None,
            "extra_info": info}
