"""Where CPU time went during a trial: per CPU (/proc/stat) and per task.

The full CPU split for records comes from sar (metrics); this small procfs
sampler is what tests use to prove the DUT's work ran on the DUT's CPUs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# /proc/stat cpuN columns, in the kernel's order
FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
TICK = os.sysconf("SC_CLK_TCK")


def _read_proc_stat() -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    with open("/proc/stat") as f:
        for line in f:
            name, *values = line.split()
            if name.startswith("cpu") and name != "cpu":
                out[int(name[3:])] = dict(zip(FIELDS, map(int, values)))
    return out


@dataclass(frozen=True)
class CpuUsage:
    """Seconds spent per CPU and per state over a sampled interval."""

    per_cpu: dict[int, dict[str, float]]

    def busy(self, cpu: int) -> float:
        """Seconds not idle on `cpu`."""
        states = self.per_cpu[cpu]
        return sum(v for k, v in states.items() if k not in ("idle", "iowait"))


class CpuSampler:
    """Context manager: per-CPU seconds by state between enter and exit."""

    def __enter__(self) -> CpuSampler:
        self._before = _read_proc_stat()
        return self

    def __exit__(self, *exc: object) -> None:
        after = _read_proc_stat()
        self.usage = CpuUsage({
            cpu: {k: (after[cpu][k] - self._before[cpu].get(k, 0)) / TICK for k in after[cpu]}
            for cpu in after
        })


@dataclass(frozen=True)
class TaskTime:
    pid: int
    seconds: float       # user + system
    last_cpu: int        # CPU it last ran on
    allowed: frozenset[int]


def task_times(pid: int) -> list[TaskTime]:
    """CPU time of every thread of a process (or of one kthread)."""
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                # comm may contain spaces: fields start after the last ')'
                fields = f.read().rsplit(")", 1)[1].split()
            allowed = frozenset(os.sched_getaffinity(int(tid)))
        except (FileNotFoundError, ProcessLookupError):
            continue
        utime, stime, processor = int(fields[11]), int(fields[12]), int(fields[36])
        out.append(TaskTime(int(tid), (utime + stime) / TICK, processor, allowed))
    return out
