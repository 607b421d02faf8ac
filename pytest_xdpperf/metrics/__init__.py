"""Metrics sampled on the DUT's cores around exactly the trials they describe.

    with DutSamplers(cpus=[1]) as samplers:
        ...trials...
    extra_info.update(samplers.result(packets))   # {"cpu": {...}, "llc": {...}}
"""

from __future__ import annotations

from typing import Any

from .perf import LlcSampler, LlcUnavailableWarning, parse_perf_csv
from .sar import CpuSampler, CpuSplit, helper_cpus, parse_sadf_json, parse_sadf_raw

__all__ = ["CpuSampler", "CpuSplit", "DutSamplers", "LlcSampler", "LlcUnavailableWarning",
           "helper_cpus", "parse_perf_csv", "parse_sadf_json", "parse_sadf_raw"]


class DutSamplers:
    """CPU split (sar, procfs fallback) and LLC counters (perf stat) of the DUT cores.

    Each window as close to the trials as it can be: perf is started first with its
    counters off (its start-up in no window) and enabled; then the first CPU sample,
    the last thing before the trials; after them the second CPU sample, then perf
    disabled; perf's shut-down and sadf's arithmetic come after both windows.  The
    helpers (sadc, sadf, perf) run off the DUT CPUs when this process may use another
    one (the tester's), so their own work is not counted as the DUT's."""

    def __init__(self, cpus: list[int] | tuple[int, ...], cpu: bool = True,
                 llc: bool = True) -> None:
        self.cpus = sorted(cpus)
        helpers = helper_cpus(self.cpus)
        self.cpu = CpuSampler(self.cpus, helper_cpus=helpers) if cpu else None
        self.llc = LlcSampler(self.cpus, helper_cpus=helpers) if llc else None

    def __enter__(self) -> DutSamplers:
        try:
            if self.llc:
                self.llc.start()
                self.llc.enable()
            if self.cpu:
                self.cpu.begin()
        except BaseException:
            self._finish()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.cpu:
                self.cpu.end()
            if self.llc:
                self.llc.disable()
        finally:
            self._finish()

    def _finish(self) -> None:
        try:
            if self.llc:
                self.llc.finish()
        finally:
            if self.cpu:
                self.cpu.finish()

    def result(self, packets: int | None, basis: str = "forwarded") -> dict[str, Any]:
        """extra_info sections; `packets` is what the DUT handled in the sampled trials."""
        out: dict[str, Any] = {}
        if self.cpu and self.cpu.split:
            out["cpu"] = self.cpu.split.as_dict(packets) | {"packets_basis": basis}
        if self.llc:
            out["llc"] = self.llc.result(packets) | {"packets_basis": basis}
        return out
