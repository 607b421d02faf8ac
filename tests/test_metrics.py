"""DUT metrics: perf stat's CSV, sadf's JSON, and the samplers on this machine."""

from __future__ import annotations

import os
import shutil
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_xdpperf.metrics import DutSamplers
from pytest_xdpperf.metrics import perf as perfmod
from pytest_xdpperf.metrics import sar as sarmod
from pytest_xdpperf.metrics.machine import driver_info, machine_facts
from pytest_xdpperf.metrics.perf import LlcSampler, llc_section, parse_perf_csv
from pytest_xdpperf.metrics.sar import (
    TICK_S,
    CpuSampler,
    CpuSplit,
    helper_cpus,
    parse_sadf_json,
    parse_sadf_raw,
    procfs_split,
)

DATA = Path(__file__).parent / "data"
CPU = max(os.sched_getaffinity(0))


def busy(cpu: int, seconds: float) -> None:
    """Spin in a child pinned to `cpu` (so the parent's own work is not counted there)."""
    pid = os.fork()
    if pid == 0:
        os.sched_setaffinity(0, {cpu})
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pass
        os._exit(0)
    os.waitpid(pid, 0)


# perf stat -x, --------------------------------------------------------------

def test_perf_parser_supported_counters() -> None:
    counters = parse_perf_csv((DATA / "perf_stat_supported.csv").read_text())
    assert {e: c.value for e, c in counters.items()} == {
        "LLC-loads": 1843261, "LLC-stores": 512374, "LLC-load-misses": 36865,
        "LLC-store-misses": 10247}
    assert counters["LLC-store-misses"].running_pct == 50.0
    section = llc_section(counters, packets=1_000_000)
    assert section["per_packet"] == pytest.approx({
        "loads": 1.843261, "stores": 0.512374, "load_misses": 0.036865,
        "store_misses": 0.010247})
    assert section["reason"] is None
    assert section["multiplexed"] == ["LLC-store-misses"]


def test_perf_parser_unsupported_counters_captured_here() -> None:
    """The real output of this VM, whose hypervisor exposes no cache counters."""
    counters = parse_perf_csv((DATA / "perf_stat_unsupported.csv").read_text())
    assert set(counters) == {"LLC-loads", "LLC-stores", "LLC-load-misses", "LLC-store-misses"}
    assert all(c.value is None and c.status == "<not supported>" for c in counters.values())
    section = llc_section(counters, packets=1000)
    assert section["per_packet"] is None
    assert "not supported" in section["reason"]
    assert section["totals"] == dict.fromkeys(
        ("loads", "stores", "load_misses", "store_misses"), None)


def test_perf_parser_per_cpu_lines_sum_or_stay_unknown() -> None:
    counters = parse_perf_csv((DATA / "perf_stat_per_cpu.csv").read_text())
    assert counters["LLC-loads"].value == 1843261
    assert counters["LLC-stores"].value is None  # not counted on one CPU: no sum
    assert parse_perf_csv("12,,cpu_core/LLC-loads/,100,100.00,,")["LLC-loads"].value == 12


def test_llc_warning_once_per_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(perfmod, "_warned", set())
    sampler = LlcSampler([CPU], perf="/nonexistent/perf")
    with sampler:
        pass
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = sampler.result(100)
        second = sampler.result(100)
    assert first["per_packet"] is None and second["reason"] == first["reason"]
    assert "cannot run perf" in first["reason"]
    assert len([w for w in caught if issubclass(w.category, perfmod.LlcUnavailableWarning)]) == 1


def test_perf_stat_on_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real perf stat around real work: numbers, or null with perf's own reason."""
    monkeypatch.setattr(perfmod, "_warned", set())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with LlcSampler([CPU]) as sampler:
            busy(CPU, 0.2)
        section = sampler.result(packets=1000)
    assert sampler._proc is None  # perf stopped, nothing left running
    if section["per_packet"] is None:
        assert section["reason"]
        assert any(issubclass(w.category, perfmod.LlcUnavailableWarning) for w in caught)
    else:
        assert section["totals"]["loads"] > 0


# sadf -j / procfs ------------------------------------------------------------

def test_sadf_json_parser() -> None:
    split = parse_sadf_json((DATA / "sadf_cpu.json").read_text(), [0, 1])
    assert split[1]["user"] == 84.31 and split[1]["system"] == 15.69
    assert split[1]["idle"] == 0.0 and split[0]["idle"] == 36.73
    assert sum(split[0].values()) == pytest.approx(100, abs=0.1)
    with pytest.raises(ValueError, match="no CPU"):
        parse_sadf_json((DATA / "sadf_cpu.json").read_text(), [5])
    with pytest.raises(ValueError, match="unexpected sadf"):
        parse_sadf_json("{}", [0])


def test_sadf_raw_gives_the_ticks_sars_percentages_are_of() -> None:
    """One sadc file captured here, read by sadf -r and -j: each CPU's ticks times its
    percentages are whole ticks per state, so percent x ticks is its CPU time."""
    ticks = parse_sadf_raw((DATA / "sadf_cpu_raw.txt").read_text(), [0, 1])
    assert ticks == {0: 32, 1: 31}
    percent = parse_sadf_json((DATA / "sadf_cpu_raw.json").read_text(), [0, 1])
    for cpu in (0, 1):
        for state, pct in percent[cpu].items():
            assert pct / 100 * ticks[cpu] == pytest.approx(round(pct / 100 * ticks[cpu]),
                                                           abs=0.01), (cpu, state)
    with pytest.raises(ValueError, match="no CPU"):
        parse_sadf_raw((DATA / "sadf_cpu_raw.txt").read_text(), [5])


def test_ns_per_packet_uses_each_cpus_own_span() -> None:
    split = CpuSplit("sar", {0: 32 * TICK_S, 1: 31 * TICK_S},
                     {0: {"user": 50.0, "idle": 50.0}, 1: {"user": 100.0, "idle": 0.0}})
    section = split.as_dict(packets=1000)
    user = 0.5 * 32 * TICK_S * 1e9 / 1000 + 1.0 * 31 * TICK_S * 1e9 / 1000
    assert section["ns_per_packet"]["user"] == pytest.approx(user)
    assert section["busy_ns_per_packet"] == pytest.approx(user)
    assert section["per_cpu"]["1"]["ns_per_packet"]["user"] == pytest.approx(31 * TICK_S * 1e6)
    assert section["span_s"] == pytest.approx(31.5 * TICK_S)


def test_procfs_split_moves_guest_out_of_user() -> None:
    zero = dict.fromkeys(("user", "nice", "system", "idle", "iowait", "irq", "softirq",
                          "steal", "guest", "guest_nice"), 0)
    after = zero | {"user": 60, "guest": 10, "softirq": 20, "idle": 20}
    split = procfs_split({1: zero}, {1: after}, [1])[1]
    assert split["user"] == pytest.approx(50.0) and split["guest"] == pytest.approx(10.0)
    assert split["softirq"] == pytest.approx(20.0) and split["idle"] == pytest.approx(20.0)


@pytest.mark.parametrize("use_sar", [True, False], ids=["sar", "procfs"])
def test_cpu_sampler_sees_a_busy_core(use_sar: bool) -> None:
    with CpuSampler([CPU], use_sar=use_sar) as sampler:
        busy(CPU, 0.5)
    split = sampler.split
    assert split is not None
    assert split.source == ("sar" if use_sar else "procfs")
    pct = split.percent[CPU]
    # the spinning child owned the core (others' work may share it: not a tight bound)
    assert pct["user"] + pct["system"] > 50
    assert sum(pct.values()) == pytest.approx(100, abs=1)
    section = split.as_dict(packets=1_000_000)
    assert section["span_s"] == pytest.approx(0.5, abs=0.2)
    # the span the percentages are of: the CPU's own ticks, never a clock read beside them
    ticks = section["span_s"] / TICK_S
    assert ticks == pytest.approx(round(ticks)) and section["wall_s"] > 0
    ns = section["ns_per_packet"]["user"]
    assert ns == pytest.approx(pct["user"] / 100 * section["span_s"] * 1e9 / 1e6)
    assert section["resolution_pct"] == pytest.approx(100 / ticks)


def test_cpu_sampler_falls_back_to_procfs_without_sysstat() -> None:
    with CpuSampler([CPU], sadc="/nonexistent/sadc") as sampler:
        busy(CPU, 0.1)
    assert sampler.split is not None and sampler.split.source == "procfs"
    assert "sar unusable" in (sampler.split.note or "")


def test_dut_samplers_give_both_sections() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with DutSamplers([CPU]) as samplers:
            busy(CPU, 0.2)
        out = samplers.result(packets=5000)
    assert set(out) == {"cpu", "llc"}
    assert out["cpu"]["packets"] == 5000 and out["cpu"]["packets_basis"] == "forwarded"
    assert out["cpu"]["busy_ns_per_packet"] > 0
    assert "per_packet" in out["llc"]


def test_dut_samplers_windows_nest_around_the_trials(monkeypatch: pytest.MonkeyPatch) -> None:
    """perf starts and stops outside both windows; the CPU samples are innermost."""
    calls: list[str] = []

    def traced(cls: type, name: str) -> Callable[[object], None]:
        method = getattr(cls, name)

        def call(self: object) -> None:
            calls.append(f"{cls.__name__}.{name}")
            method(self)
        return call

    for cls, names in ((LlcSampler, ("start", "enable", "disable", "finish")),
                       (CpuSampler, ("begin", "end", "finish"))):
        for name in names:
            monkeypatch.setattr(cls, name, traced(cls, name))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with DutSamplers([CPU]) as samplers:
            calls.append("trials")
            busy(CPU, 0.05)
    assert calls == ["LlcSampler.start", "LlcSampler.enable", "CpuSampler.begin", "trials",
                     "CpuSampler.end", "LlcSampler.disable", "LlcSampler.finish",
                     "CpuSampler.finish"]
    assert samplers.cpu is not None and samplers.cpu.split is not None


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs a CPU besides the DUT's")
def test_helpers_run_off_the_dut_cpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sadc, sadf and perf (each wrapped to log the CPUs it may run on) stay off the DUT's."""
    log = tmp_path / "cpus.log"
    real = {"sadc": sarmod.find_sadc(), "sadf": shutil.which("sadf"),
            "perf": shutil.which("perf")}
    if not all(real.values()):
        pytest.skip("sysstat or perf missing")
    for name, path in real.items():
        wrapper = tmp_path / name
        wrapper.write_text(f"#!/bin/sh\necho {name} $(grep Cpus_allowed_list /proc/self/status"
                           f" | cut -f2) >> {log}\nexec {path} \"$@\"\n")
        wrapper.chmod(0o755)
    which = shutil.which
    monkeypatch.setattr(sarmod, "find_sadc", lambda: str(tmp_path / "sadc"))
    monkeypatch.setattr(shutil, "which", lambda name: (str(tmp_path / name) if name in real
                                                       else which(name)))
    assert helper_cpus([CPU]) == set(os.sched_getaffinity(0)) - {CPU}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with DutSamplers([CPU]) as samplers:
            busy(CPU, 0.05)
    assert samplers.cpu is not None and samplers.cpu.split is not None
    assert samplers.cpu.split.source == "sar"
    lines = [line.split() for line in log.read_text().splitlines()]
    assert sorted(name for name, _ in lines) == ["perf", "sadc", "sadc", "sadf", "sadf"]
    for name, allowed in lines:
        assert CPU not in cpu_list(allowed), (name, allowed)


def cpu_list(text: str) -> set[int]:
    """'0-2,5' -> {0, 1, 2, 5}"""
    out: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        out.update(range(int(low), int(high or low) + 1))
    return out


# machine_info ------------------------------------------------------------------

def test_machine_facts() -> None:
    facts = machine_facts({"kind": "veth"}, "lo", [CPU])
    assert facts["kernel_release"] == os.uname().release
    assert facts["cpu_model"]
    assert facts["governor"]  # a governor name, or "unavailable" without cpufreq
    assert facts["xdpperf_testbed"] == {"kind": "veth"}
    assert driver_info("xdpp-no-such-if")["driver"] == "unavailable"
