"""CPU split of the DUT cores (user, system, softirq, idle, ...) around some trials.

The source is sysstat: `sadc 1 1 FILE` appends one sample of every CPU's
counters to FILE when the sampler starts and another when it stops, and
`sadf -j FILE -- -P <cpus> -u ALL` (sar's own arithmetic, JSON out) turns the
pair into one interval that spans exactly the trials, however short they are.
sar's percentages are shares of each CPU's ticks between the two samples, so
the seconds they are of come from the same file (`sadf -r`, the raw tick
counts), never from a clock read beside them: CPU time = percent x that span.
sar's usual `sar -P 1 1` would cut the span into whole seconds and drop the
tail of a sub-second trial; two one-shot samples do not.

Without sysstat the same split comes from two reads of /proc/stat, the file
sadc itself reads; the record says which source was used.  Either way the
kernel counts CPU time in clock ticks (USER_HZ, 10 ms), so a 1 s span has a
resolution of 1%: the record carries that resolution too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from .. import children

# The states we report, in percent of each CPU's time (sar's definitions:
# user and nice exclude guest time, which is reported apart).
STATES = ("user", "nice", "system", "irq", "softirq", "iowait", "steal", "guest", "idle")
# sadf -j "cpu-load" keys -> our names
SAR_KEYS = {"usr": "user", "nice": "nice", "sys": "system", "irq": "irq", "soft": "softirq",
            "iowait": "iowait", "steal": "steal", "guest": "guest", "gnice": "guest",
            "idle": "idle"}
# /proc/stat cpuN columns in the kernel's order
PROC_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
               "guest", "guest_nice")
SADC_PATHS = ("/usr/lib/sysstat/sadc", "/usr/lib64/sa/sadc", "/usr/lib/sa/sadc",
              "/usr/libexec/sa/sadc")
TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")
TOOL_TIMEOUT_S = 10.0


def find_sadc() -> str | None:
    """sadc is not on PATH on most distributions; sar knows it by a fixed path."""
    for path in SADC_PATHS:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("sadc")


@dataclass(frozen=True)
class CpuSplit:
    """Percent of each CPU's time per state, and the span each CPU's percentages are of.

    The span is the CPU's own tick count between the two samples (what sar and
    /proc/stat divide by), so percent * span is exactly the CPU time counted in
    that state, and ns per packet uses the interval the percentages describe."""

    source: str  # "sar" or "procfs"
    spans_s: dict[int, float]
    percent: dict[int, dict[str, float]]
    note: str | None = None
    wall_s: float | None = None  # monotonic time between the samples, for reference

    @property
    def span_s(self) -> float:
        return sum(self.spans_s.values()) / len(self.spans_s) if self.spans_s else 0.0

    @property
    def resolution_pct(self) -> float:
        return 100.0 * TICK_S / self.span_s if self.span_s > 0 else 100.0

    def as_dict(self, packets: int | None) -> dict[str, Any]:
        """The record's `cpu` section; CPU-nanoseconds per packet when packets > 0."""
        cpus = sorted(self.percent)

        def per_packet(cpu: int) -> dict[str, float] | None:
            if not packets:
                return None
            ns_per_pct = self.spans_s[cpu] * 1e9 / 100.0 / packets
            return {k: v * ns_per_pct for k, v in self.percent[cpu].items()}

        per_cpu = {c: per_packet(c) for c in cpus}
        # over all DUT CPUs: mean percent, ns per packet summed
        mean = {s: sum(self.percent[c].get(s, 0.0) for c in cpus) / len(cpus) for s in STATES}
        summed = ({s: sum((per_cpu[c] or {}).get(s, 0.0) for c in cpus) for s in STATES}
                  if packets else None)
        busy = (sum(v for s, v in summed.items() if s not in ("idle", "iowait"))
                if summed else None)
        return {
            "source": self.source,
            "cpus": cpus,
            "span_s": self.span_s,
            "wall_s": self.wall_s,
            "resolution_pct": self.resolution_pct,
            "packets": packets,
            "per_cpu": {str(c): {"percent": self.percent[c], "span_s": self.spans_s[c],
                                 "ns_per_packet": per_cpu[c]} for c in cpus},
            "percent": mean,
            "ns_per_packet": summed,
            "busy_ns_per_packet": busy,
            "note": self.note,
        }


def parse_sadf_json(text: str, cpus: list[int]) -> dict[int, dict[str, float]]:
    """Percent per state of each CPU in the last interval of `sadf -j ... -u ALL` output."""
    try:
        doc = json.loads(text)
        stats = doc["sysstat"]["hosts"][0]["statistics"]
        loads = stats[-1]["cpu-load"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"unexpected sadf -j output ({exc!r}): {text[:200]!r}") from None
    out: dict[int, dict[str, float]] = {}
    for entry in loads:
        if entry.get("cpu") in (None, "all", "-1"):
            continue
        cpu = int(entry["cpu"])
        pct = dict.fromkeys(STATES, 0.0)
        for key, name in SAR_KEYS.items():
            pct[name] += float(entry.get(key, 0.0))
        out[cpu] = pct
    missing = [c for c in cpus if c not in out]
    if missing:
        raise ValueError(f"sadf -j output has no CPU {missing}: {text[:200]!r}")
    return {c: out[c] for c in cpus}


# sadf -r's fields that add up to a CPU's time (guest is inside usr, gnice inside nice),
# as sar's own per-CPU interval
RAW_TIME_FIELDS = ("%usr", "%nice", "%sys", "%iowait", "%steal", "%irq", "%soft", "%idle")


def parse_sadf_raw(text: str, cpus: list[int]) -> dict[int, int]:
    """Each CPU's ticks between the two samples, from `sadf -r ... -u ALL`: lines of
    `time; CPU; <n>; %usr; <before>; <after>; %nice; ...`.  sar's percentages are
    shares of exactly these ticks."""
    out: dict[int, int] = {}
    for line in text.splitlines():
        cols = [c.strip() for c in line.split(";")]
        if len(cols) < 4 or cols[1] != "CPU" or not cols[2].lstrip("-").isdigit():
            continue
        fields = {cols[i]: (cols[i + 1], cols[i + 2]) for i in range(3, len(cols) - 2, 3)}
        try:
            out[int(cols[2])] = sum(int(fields[f][1]) - int(fields[f][0])
                                    for f in RAW_TIME_FIELDS)
        except (KeyError, ValueError):
            raise ValueError(f"unexpected sadf -r line: {line[:200]!r}") from None
    missing = [c for c in cpus if c not in out]
    if missing:
        raise ValueError(f"sadf -r output has no CPU {missing}: {text[:200]!r}")
    return {c: out[c] for c in cpus}


def read_proc_stat() -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    with open("/proc/stat") as f:
        for line in f:
            name, *values = line.split()
            if name.startswith("cpu") and name != "cpu":
                out[int(name[3:])] = dict(zip(PROC_FIELDS, map(int, values)))
    return out


def _split_ticks(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """One CPU's ticks per state between two /proc/stat reads, guest out of user and nice
    (sar's arithmetic)."""
    d = {k: after.get(k, 0) - before.get(k, 0) for k in PROC_FIELDS}
    ticks = {
        "user": d["user"] - d["guest"], "nice": d["nice"] - d["guest_nice"],
        "system": d["system"], "irq": d["irq"], "softirq": d["softirq"],
        "iowait": d["iowait"], "steal": d["steal"], "guest": d["guest"] + d["guest_nice"],
        "idle": d["idle"],
    }
    return {k: max(0, v) for k, v in ticks.items()}


def procfs_split(before: dict[int, dict[str, int]], after: dict[int, dict[str, int]],
                 cpus: list[int]) -> dict[int, dict[str, float]]:
    """sar's arithmetic on two /proc/stat reads: guest time out of user and nice."""
    out = {}
    for cpu in cpus:
        ticks = _split_ticks(before[cpu], after[cpu])
        total = sum(ticks.values())
        out[cpu] = {k: 100.0 * v / total if total else 0.0 for k, v in ticks.items()}
    return out


def procfs_ticks(before: dict[int, dict[str, int]], after: dict[int, dict[str, int]],
                 cpus: list[int]) -> dict[int, int]:
    """Each CPU's ticks between two /proc/stat reads: what procfs_split's shares are of."""
    return {c: sum(_split_ticks(before[c], after[c]).values()) for c in cpus}


def helper_cpus(dut_cpus: list[int] | tuple[int, ...]) -> set[int] | None:
    """The CPUs this process may use besides the DUT's (the tester's); None if none."""
    return (set(os.sched_getaffinity(0)) - set(dut_cpus)) or None


class CpuSampler:
    """The CPU split of `cpus` between two samples: `begin()` right before the trials,
    `end()` right after, `finish()` (sadf, outside the window) for the split; or used
    as a context manager around the trials."""

    def __init__(self, cpus: list[int], sadc: str | None = None, sadf: str | None = None,
                 use_sar: bool = True, helper_cpus: set[int] | None = None) -> None:
        self.cpus = sorted(cpus)
        self.sadc = (sadc or find_sadc()) if use_sar else None
        self.sadf = (sadf or shutil.which("sadf")) if use_sar else None
        self.split: CpuSplit | None = None
        # sadc and sadf run on these (never the DUT's), so their work is not the DUT's
        self._helper_cpus = helper_cpus
        self._note: str | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._file = ""
        self._proc_before: dict[int, dict[str, int]] = {}
        self._proc_after: dict[int, dict[str, int]] = {}
        self._t0 = self._t1 = 0.0

    @property
    def source(self) -> str:
        return "sar" if self.sadc and self.sadf else "procfs"

    def _run(self, cmd: list[str], what: str) -> str:
        run = children.run(children.contained(cmd, cpus=self._helper_cpus),
                           os.path.basename(cmd[0]), timeout=TOOL_TIMEOUT_S)
        if run.returncode != 0:
            raise RuntimeError(f"{what} failed ({run.returncode}): {run.stderr.strip()}")
        return run.stdout

    def _sadc_sample(self) -> None:
        assert self.sadc
        self._run([self.sadc, "1", "1", self._file], "sadc")

    def begin(self) -> None:
        """The first sample (the last thing before the trials)."""
        if self.source == "sar":
            self._dir = tempfile.TemporaryDirectory(prefix="xdpperf-sa-")
            self._file = os.path.join(self._dir.name, "sa")
        else:
            self._note = "sysstat (sadc/sadf) not installed; used /proc/stat"
        self._proc_before = read_proc_stat()  # always: the fallback if sar fails
        if self.source == "sar":
            try:
                self._sadc_sample()
            except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
                self._fallback(f"sar unusable ({exc}); used /proc/stat")
        self._t0 = time.monotonic()

    def end(self) -> None:
        """The second sample (the first thing after the trials)."""
        self._t1 = time.monotonic()
        if self.source == "sar":
            try:
                self._sadc_sample()
            except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
                self._fallback(f"sar unusable ({exc}); used /proc/stat")
        self._proc_after = read_proc_stat()

    def finish(self) -> None:
        """The split of the interval between the samples (none if `end` never ran)."""
        try:
            if not self._proc_after:
                return
            wall = self._t1 - self._t0
            if self.source == "sar":
                assert self.sadf
                cpus = ["--", "-P", ",".join(map(str, self.cpus)), "-u", "ALL"]
                try:
                    percent = parse_sadf_json(
                        self._run([self.sadf, "-j", self._file, *cpus], "sadf"), self.cpus)
                    ticks = parse_sadf_raw(
                        self._run([self.sadf, "-r", self._file, *cpus], "sadf"), self.cpus)
                    self.split = CpuSplit("sar", _spans(ticks, wall), percent, wall_s=wall)
                    return
                except (OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as err:
                    self._note = f"sar unusable ({err}); used /proc/stat"
            before, after = self._proc_before, self._proc_after
            self.split = CpuSplit(
                "procfs", _spans(procfs_ticks(before, after, self.cpus), wall),
                procfs_split(before, after, self.cpus), note=self._note, wall_s=wall)
        finally:
            self._cleanup()

    def __enter__(self) -> CpuSampler:
        self.begin()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.end()
        finally:
            self.finish()

    def _fallback(self, note: str) -> None:
        self._note = note
        self.sadc = self.sadf = None
        self._cleanup()

    def _cleanup(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


def _spans(ticks: dict[int, int], wall: float) -> dict[int, float]:
    """Seconds per CPU from its ticks; the wall span for a CPU that counted none."""
    return {c: t * TICK_S if t > 0 else wall for c, t in ticks.items()}
