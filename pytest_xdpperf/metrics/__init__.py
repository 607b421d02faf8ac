"""Metrics sampled on the DUT's cores around exactly the trials they describe.

    with DutSamplers(cpus=[1]) as samplers:
        ...trials...
    extra_info.update(samplers.result(packets))   # {"cpu": {...}, "llc": {...}}
"""

from __future__ import annotations

from typing import Any

from .perf import LlcSampler, LlcUnavailableWarning, parse_perf_csv
from .sar import CpuSampler, CpuSplit, parse_sadf_json

__all__ = ["CpuSampler", "CpuSplit", "DutSamplers", "LlcSampler", "LlcUnavailableWarning",
           "parse_perf_csv", "parse_sadf_json"]


class DutSamplers:
    """CPU split (sar, procfs fallback) and LLC counters (perf stat) of the DUT cores.

    The CPU sampler is entered first and left last, so the perf window (opened
    and closed by acknowledged control commands) lies inside the CPU span."""

    def __init__(self, cpus: list[int] | tuple[int, ...], cpu: bool = True,
                 llc: bool = True) -> None:
        self.cpus = sorted(cpus)
        self.cpu = CpuSampler(self.cpus) if cpu else None
        self.llc = LlcSampler(self.cpus) if llc else None

    def __enter__(self) -> DutSamplers:
        if self.cpu:
            self.cpu.__enter__()
        try:
            if self.llc:
                self.llc.__enter__()
        except BaseException:
            if self.cpu:
                self.cpu.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.llc:
                self.llc.__exit__(*exc)
        finally:
            if self.cpu:
                self.cpu.__exit__(*exc)

    def result(self, packets: int | None, basis: str = "forwarded") -> dict[str, Any]:
        """extra_info sections; `packets` is what the DUT handled in the sampled trials."""
        out: dict[str, Any] = {}
        if self.cpu and self.cpu.split:
            out["cpu"] = self.cpu.split.as_dict(packets) | {"packets_basis": basis}
        if self.llc:
            out["llc"] = self.llc.result(packets) | {"packets_basis": basis}
        return out
