"""LLC loads, stores and misses on the DUT cores, from `perf stat` in CSV mode.

`perf stat -x, -e LLC-loads,... -C <cpus> -D -1 --control fd:CTL,ACK` is
started before the trials with its counters disabled; "enable" on the control
pipe (acknowledged by perf) opens the window right before the trials and
"disable" closes it right after, so perf's own start-up and shut-down are
never counted.  SIGINT then makes perf write its CSV.  perf itself runs off
the DUT CPUs when it can (helper_cpus), so its own work is not the DUT's.

Where the CPU (or a VM) has no such counters perf prints `<not supported>`:
the record then says null with the reason, and the session warns once.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from typing import Any

from .. import children

EVENTS = ("LLC-loads", "LLC-stores", "LLC-load-misses", "LLC-store-misses")
ACK_TIMEOUT_S = 5.0
EXIT_TIMEOUT_S = 10.0
# perf's placeholders in the value column of its CSV output
NOT_COUNTED = ("<not supported>", "<not counted>")

_warned: set[str] = set()


class LlcUnavailableWarning(UserWarning):
    """Hardware cache counters cannot be read here; LLC figures are null."""


@dataclass(frozen=True)
class Counter:
    event: str
    value: float | None  # None: perf could not count it
    status: str  # "counted", "<not supported>", "<not counted>"
    running_pct: float | None  # share of the window the counter ran (multiplexing)


def _base_event(name: str) -> str:
    """'cpu_core/LLC-loads/' (hybrid CPUs) or 'LLC-loads:u' -> 'LLC-loads'."""
    if "/" in name:
        parts = [p for p in name.split("/") if p]
        name = parts[-1] if len(parts) > 1 else parts[0]
    return name.split(":")[0]


def parse_perf_csv(text: str) -> dict[str, Counter]:
    """Counters from `perf stat -x,` output (one line per event, comments start with #).

    Columns (perf-stat(1), CSV FORMAT): value, unit, event, run time (ns),
    percentage of the window the counter ran, then optional metric value and
    unit.  With -A/--per-* a CPU or aggregation column comes first; it is summed."""
    out: dict[str, Counter] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cols = _value_columns(line.split(","))
        if cols is None:
            continue
        raw, event = cols[0].strip(), _base_event(cols[2].strip())
        running = _float(cols[4]) if len(cols) > 4 else None
        if raw in NOT_COUNTED:
            counter = Counter(event, None, raw, running)
        else:
            value = _float(raw)
            if value is None:
                continue
            counter = Counter(event, value, "counted", running)
        prev = out.get(event)
        if prev is not None:  # one line per CPU (-A): a sum, unknown if any CPU is
            if prev.value is None:
                continue
            if counter.value is not None:
                counter = Counter(event, prev.value + counter.value, "counted",
                                  min(prev.running_pct or 100.0, counter.running_pct or 100.0))
        out[event] = counter
    return out


def _is_value(text: str) -> bool:
    return text in NOT_COUNTED or _float(text) is not None


def _value_columns(cols: list[str]) -> list[str] | None:
    """The columns from the value on: drops a leading CPU/aggregation column if any."""
    for i in range(len(cols) - 2):
        if _is_value(cols[i].strip()) and cols[i + 2].strip() and not _is_value(cols[i + 2]):
            return cols[i:]
    return None


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def llc_section(counters: dict[str, Counter] | None, packets: int | None,
                reason: str | None = None) -> dict[str, Any]:
    """The record's `llc` section: per-packet figures or null with the reason."""
    names = {"LLC-loads": "loads", "LLC-stores": "stores", "LLC-load-misses": "load_misses",
             "LLC-store-misses": "store_misses"}
    section: dict[str, Any] = {"source": "perf stat", "packets": packets}
    if counters is None:
        missing = list(EVENTS)
    else:
        missing = [e for e in EVENTS if e not in counters or counters[e].value is None]
    if reason is None and missing and counters is not None:
        statuses = sorted({counters[e].status if e in counters else "absent" for e in missing})
        reason = f"{', '.join(missing)}: {'/'.join(statuses)} by perf on this machine"
    totals: dict[str, float | None] = {}
    per_packet: dict[str, float | None] = {}
    for event, key in names.items():
        c = counters.get(event) if counters else None
        value = c.value if c else None
        totals[key] = value
        per_packet[key] = value / packets if value is not None and packets else None
    multiplexed = [e for e, c in (counters or {}).items()
                   if c.running_pct is not None and c.value is not None and c.running_pct < 100]
    section.update({
        "per_packet": per_packet if any(v is not None for v in per_packet.values()) else None,
        "totals": totals,
        "reason": reason if missing else None,
        "multiplexed": multiplexed or None,
    })
    return section


def warn_once(reason: str) -> None:
    """One warning per session (process) per reason."""
    if reason in _warned:
        return
    _warned.add(reason)
    warnings.warn(f"LLC counters unavailable, records say null: {reason}",
                  LlcUnavailableWarning, stacklevel=3)


class LlcSampler:
    """perf stat's LLC counters on `cpus`: `start()` runs perf with its counters off,
    `enable()`/`disable()` open and close the window (acknowledged by perf), `finish()`
    stops perf and reads them; or used as a context manager around the trials."""

    def __init__(self, cpus: list[int], perf: str | None = None,
                 helper_cpus: set[int] | None = None) -> None:
        self.cpus = sorted(cpus)
        self.perf = perf or shutil.which("perf")
        self.counters: dict[str, Counter] | None = None
        self.reason: str | None = None
        self._helper_cpus = helper_cpus  # perf runs on these, never the DUT's
        self._proc: subprocess.Popen[str] | None = None
        self._ctl = self._ack = -1
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._out = ""

    def command(self, ctl_fd: int, ack_fd: int, out: str) -> list[str]:
        assert self.perf
        return [self.perf, "stat", "-x", ",", "-e", ",".join(EVENTS),
                "-C", ",".join(map(str, self.cpus)), "-D", "-1",
                f"--control=fd:{ctl_fd},{ack_fd}", "-o", out]

    def _command(self, word: bytes) -> bool:
        """Send enable/disable; True once perf acknowledged it."""
        try:
            os.write(self._ctl, word + b"\n")
        except OSError:
            return False
        got = b""
        while b"ack" not in got:
            ready, _, _ = select.select([self._ack], [], [], ACK_TIMEOUT_S)
            if not ready:
                return False
            chunk = os.read(self._ack, 64)
            if not chunk:
                return False  # perf exited
            got += chunk
        return True

    def start(self) -> None:
        """perf running, counting nothing yet (-D -1): its start-up is in no window."""
        if not self.perf:
            self.reason = "perf (linux-perf) not installed"
            return
        if not os.access(self.perf, os.X_OK):  # (setpriv would exec it, not Popen)
            self.reason = f"cannot run perf: {self.perf} is not an executable file"
            return
        self._dir = tempfile.TemporaryDirectory(prefix="xdpperf-perf-")
        self._out = os.path.join(self._dir.name, "stat.csv")
        ctl_r, self._ctl = os.pipe()
        self._ack, ack_w = os.pipe()
        try:
            self._proc = children.start(
                children.contained(self.command(ctl_r, ack_w, self._out),
                                   cpus=self._helper_cpus),
                "perf", pass_fds=(ctl_r, ack_w), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        except OSError as exc:
            self.reason = f"cannot run perf: {exc}"
        finally:
            os.close(ctl_r)
            os.close(ack_w)

    def enable(self) -> None:
        if self._proc and not self._command(b"enable"):
            self.reason = "perf stat did not start counting: " + self._stop()

    def disable(self) -> None:
        if self._proc:
            self._command(b"disable")

    def finish(self) -> None:
        """Stop perf (it writes its CSV) and read the counters."""
        try:
            if self._proc is None:
                return
            err = self._stop()
            try:
                with open(self._out) as f:
                    text = f.read()
            except OSError:
                text = ""
            counters = parse_perf_csv(text)
            if not counters:
                self.reason = f"perf stat gave no counters: {err or text[:200]!r}"
                return
            self.counters = counters
        finally:
            self._stop()
            if self._dir is not None:
                self._dir.cleanup()
                self._dir = None

    def __enter__(self) -> LlcSampler:
        self.start()
        self.enable()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.disable()
        finally:
            self.finish()

    def _stop(self) -> str:
        """Stop perf (SIGINT makes it print); return its stderr."""
        proc, self._proc = self._proc, None
        for fd in (self._ctl, self._ack):
            if fd >= 0:
                os.close(fd)
        self._ctl = self._ack = -1
        if proc is None:
            return ""
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            try:
                _, err = proc.communicate(timeout=EXIT_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                children.kill(proc)
                _, err = proc.communicate()
        finally:
            children.reaped(proc)
        return (err or "").strip()

    def result(self, packets: int | None) -> dict[str, Any]:
        section = llc_section(self.counters, packets, self.reason)
        if section["reason"]:
            warn_once(section["reason"])
        return section
