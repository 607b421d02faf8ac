"""Tests that exercise teardown; see tests/test_teardown.py, which runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import psutil
import pytest

from pytest_xdpperf.modes import read_settings


def testbed_facts(xdpperf) -> dict:
    bed = xdpperf.testbed
    return {"run_id": bed.run_id, "netns": [bed.tester.netns, bed.dut.netns],
            "ifnames": [bed.tester.ifname, bed.dut.ifname], "pytest_pid": os.getpid()}


def xdp_attached(netns: str, ifname: str) -> bool:
    out = subprocess.run(["ip", "-n", netns, "-d", "link", "show", "dev", ifname],
                         capture_output=True, text=True, check=True).stdout
    return "prog/xdp" in out


def our_children(name: str) -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True)
            if name in " ".join(p.cmdline()[:1])]


@pytest.mark.drop
def test_normal(xdpperf, report):
    """A full (short) search, with the mode's sysfs settings checked around it."""
    dut = xdpperf.testbed.dut
    report(**testbed_facts(xdpperf), mode=xdpperf.mode.name,
           sysfs_before=read_settings(xdpperf.mode, dut))
    measurement = xdpperf.throughput("macswap")
    assert measurement.search.pdr is not None
    report(sysfs_after=read_settings(xdpperf.mode, dut),
           xdp_after=any(xdp_attached(h.netns, h.ifname)
                         for h in (xdpperf.testbed.tester, dut)),
           nf_children_after=len(our_children("macswap") + our_children("trafficgen")))


@pytest.mark.drop
def test_raises(xdpperf, report, request):
    """An exception in the middle of a search (from the progress callback)."""
    dut = xdpperf.testbed.dut
    report(**testbed_facts(xdpperf), mode=xdpperf.mode.name,
           sysfs_before=read_settings(xdpperf.mode, dut))

    def after() -> None:
        report(sysfs_after=read_settings(xdpperf.mode, dut),
               xdp_after=any(xdp_attached(h.netns, h.ifname)
                             for h in (xdpperf.testbed.tester, dut)),
               nf_children_after=len(our_children("macswap") + our_children("trafficgen")))

    request.addfinalizer(after)
    trials = []

    def boom(line: str) -> None:
        trials.append(line)
        report(running=[p.pid for p in our_children("macswap")],
               xdp_during=xdp_attached(dut.netns, dut.ifname))
        if len(trials) == 2:
            raise RuntimeError("boom in the middle of a measurement")

    xdpperf.progress = boom
    xdpperf.throughput("macswap")


def test_wait(xdpperf, report):
    """Runs an NF and offers traffic until killed from outside."""
    report(**testbed_facts(xdpperf))
    with xdpperf.start("macswap") as running, xdpperf.generator() as gen:
        gen.offer(100_000, 0.2)
        report(nf_pid=running.pid, ready=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            gen.offer(100_000, 0.2)
            time.sleep(0.1)
    pytest.fail("nobody interrupted this test")


@pytest.mark.drop
def test_nf_crash(xdpperf, report, request):
    """The NF is killed with SIGKILL during a search: the test must fail plainly."""
    report(**testbed_facts(xdpperf))

    def after() -> None:
        report(nf_children_after=len(our_children("macswap") + our_children("trafficgen")))

    request.addfinalizer(after)

    def kill_nf(line: str) -> None:
        for proc in our_children("macswap"):
            os.kill(proc.pid, signal.SIGKILL)
            report(killed=proc.pid)

    xdpperf.progress = kill_nf
    xdpperf.throughput("macswap")


@pytest.mark.passthrough
def test_passthrough(xdpperf, report):
    """A passthrough search (tests/test_faults.py runs it with NFs that misbehave)."""
    report(**testbed_facts(xdpperf))
    measurement = xdpperf.throughput("macswap", action="tx")
    report(pdr=measurement.search.pdr.rate_pps if measurement.search.pdr else None)


def test_wait_children(xdpperf, report, tmp_path):
    """NF, generator, perf stat and a long sadc all running until killed from outside
    (the sadc is started like the CPU sampler's, only asked for 60 samples)."""
    from pytest_xdpperf.metrics import CpuSampler, DutSamplers, helper_cpus

    report(**testbed_facts(xdpperf))
    dut = xdpperf.testbed.dut
    with xdpperf.start("macswap") as running, xdpperf.generator() as gen, \
            DutSamplers(dut.cpus, cpu=False):
        gen.offer(100_000, 0.2)
        report(nf_pid=running.pid, ready=True)
        sampler = CpuSampler(list(dut.cpus), helper_cpus=helper_cpus(dut.cpus))
        sampler._run([sampler.sadc, "1", "60", str(tmp_path / "sa")], "sadc")
    pytest.fail("nobody interrupted this test")
