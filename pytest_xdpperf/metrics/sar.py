"""CPU split of the DUT cores (user, system, softirq, idle, ...) around some trials.

The source is sysstat: `sadc 1 1 FILE` appends one sample of every CPU's
counters to FILE when the sampler starts and another when it stops, and
`sadf -j FILE -- -P <cpus> -u ALL` (sar's own arithmetic, JSON out) turns the
pair into one interval that spans exactly the trials, however short they are.
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
from dataclasses import dataclass, field
from typing import Any

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
    """Percent of each CPU's time per state over `span_s` seconds."""

    source: str  # "sar" or "procfs"
    span_s: float
    percent: dict[int, dict[str, float]]
    note: str | None = None
    resolution_pct: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "resolution_pct",
                           100.0 * TICK_S / self.span_s if self.span_s > 0 else 100.0)

    def as_dict(self, packets: int | None) -> dict[str, Any]:
        """The record's `cpu` section; CPU-nanoseconds per packet when packets > 0."""
        cpus = sorted(self.percent)
        ns_per_pct = self.span_s * 1e9 / 100.0 / packets if packets else None

        def per_packet(pct: dict[str, float]) -> dict[str, float] | None:
            return {k: v * ns_per_pct for k, v in pct.items()} if ns_per_pct else None

        # over all DUT CPUs: mean percent, ns per packet summed
        mean = {s: sum(self.percent[c].get(s, 0.0) for c in cpus) / len(cpus) for s in STATES}
        summed = {s: v * len(cpus) for s, v in mean.items()}
        busy = sum(v for s, v in summed.items() if s not in ("idle", "iowait"))
        return {
            "source": self.source,
            "cpus": cpus,
            "span_s": self.span_s,
            "resolution_pct": self.resolution_pct,
            "packets": packets,
            "per_cpu": {str(c): {"percent": self.percent[c],
                                 "ns_per_packet": per_packet(self.percent[c])} for c in cpus},
            "percent": mean,
            "ns_per_packet": per_packet(summed),
            "busy_ns_per_packet": busy * ns_per_pct if ns_per_pct else None,
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


def read_proc_stat() -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    with open("/proc/stat") as f:
        for line in f:
            name, *values = line.split()
            if name.startswith("cpu") and name != "cpu":
                out[int(name[3:])] = dict(zip(PROC_FIELDS, map(int, values)))
    return out


def procfs_split(before: dict[int, dict[str, int]], after: dict[int, dict[str, int]],
                 cpus: list[int]) -> dict[int, dict[str, float]]:
    """sar's arithmetic on two /proc/stat reads: guest time out of user and nice."""
    out = {}
    for cpu in cpus:
        d = {k: after[cpu].get(k, 0) - before[cpu].get(k, 0) for k in PROC_FIELDS}
        ticks = {
            "user": d["user"] - d["guest"], "nice": d["nice"] - d["guest_nice"],
            "system": d["system"], "irq": d["irq"], "softirq": d["softirq"],
            "iowait": d["iowait"], "steal": d["steal"], "guest": d["guest"] + d["guest_nice"],
            "idle": d["idle"],
        }
        total = sum(max(0, v) for v in ticks.values())
        out[cpu] = {k: 100.0 * max(0, v) / total if total else 0.0 for k, v in ticks.items()}
    return out


class CpuSampler:
    """Context manager: the CPU split of `cpus` between enter and exit."""

    def __init__(self, cpus: list[int], sadc: str | None = None, sadf: str | None = None,
                 use_sar: bool = True) -> None:
        self.cpus = sorted(cpus)
        self.sadc = (sadc or find_sadc()) if use_sar else None
        self.sadf = (sadf or shutil.which("sadf")) if use_sar else None
        self.split: CpuSplit | None = None
        self._note: str | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._file = ""
        self._proc_before: dict[int, dict[str, int]] = {}
        self._t0 = 0.0

    @property
    def source(self) -> str:
        return "sar" if self.sadc and self.sadf else "procfs"

    def _sadc_sample(self) -> None:
        assert self.sadc
        run = subprocess.run([self.sadc, "1", "1", self._file], capture_output=True,
                             text=True, timeout=TOOL_TIMEOUT_S)
        if run.returncode != 0:
            raise RuntimeError(f"sadc failed ({run.returncode}): {run.stderr.strip()}")

    def __enter__(self) -> CpuSampler:
        if self.source == "sar":
            self._dir = tempfile.TemporaryDirectory(prefix="xdpperf-sa-")
            self._file = os.path.join(self._dir.name, "sa")
            try:
                self._sadc_sample()
            except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
                self._fallback(f"sar unusable ({exc}); used /proc/stat")
        else:
            self._note = "sysstat (sadc/sadf) not installed; used /proc/stat"
        self._proc_before = read_proc_stat()  # always: the fallback if sar fails at exit
        self._t0 = time.monotonic()
        return self

    def _fallback(self, note: str) -> None:
        self._note = note
        self.sadc = self.sadf = None
        self._cleanup()

    def _cleanup(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __exit__(self, *exc: object) -> None:
        span = time.monotonic() - self._t0
        proc_after = read_proc_stat()
        try:
            if self.source == "sar":
                try:
                    self._sadc_sample()
                    assert self.sadf
                    run = subprocess.run(
                        [self.sadf, "-j", self._file, "--", "-P",
                         ",".join(map(str, self.cpus)), "-u", "ALL"],
                        capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
                    if run.returncode != 0:
                        raise RuntimeError(f"sadf failed ({run.returncode}): "
                                           f"{run.stderr.strip()}")
                    self.split = CpuSplit("sar", span, parse_sadf_json(run.stdout, self.cpus))
                    return
                except (OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as err:
                    self._note = f"sar unusable ({err}); used /proc/stat"
            self.split = CpuSplit("procfs", span,
                                  procfs_split(self._proc_before, proc_after, self.cpus),
                                  note=self._note)
        finally:
            self._cleanup()
