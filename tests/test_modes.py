"""The six DUT modes: what each NF can run in (and skips), where each mode's driver
work really runs, the settings in force while an NF runs, and bad parameters.

The integration tests (pytest -m integration, root) run over --xdp-mode, which by
default is all six modes. Like tests/test_testbed.py they drive RunningNf and
BpfGenerator directly, so they need no calibration.

Where the work runs is measured, not assumed: every NF's XDP program counts, per
CPU, whether it ran inside the NF process's own task (bpf_get_current_pid_tgid()
against the NF's tgid, set as rodata at load) or elsewhere (the NAPI kthread). In a
*-sysc mode that is the proof the NF's own syscalls ran the driver (busy poll).
On veth they do not (see test_where_the_driver_runs); the framework detects and
reports it (nf.busy_poll_note), and that detection is what is asserted there.
"""

from __future__ import annotations

import ast
import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from simdut import Deterministic
from test_testbed import N_FRAMES, bounce, crafted, swapped

from pytest_xdpperf import modes, sysfs
from pytest_xdpperf.calibration import Calibration
from pytest_xdpperf.cpuacct import task_times
from pytest_xdpperf.errors import ProgramFailed, XdpperfError
from pytest_xdpperf.ifstats import ethtool_stats
from pytest_xdpperf.modes import (
    MODES,
    SYSC_SYSFS,
    Mode,
    applied,
    busy_poll_defaults,
    busy_poll_range,
    mode_order,
    parse_modes,
)
from pytest_xdpperf.nf import (
    MIN_SYSCALL_SHARE,
    NfSpec,
    RunningNf,
    busy_poll_note,
    describe,
    syscall_share,
    unsupported_reason,
)
from pytest_xdpperf.results import Measurement, Repetition
from pytest_xdpperf.rfc2544 import SearchSpec, find_throughput, max_forwarding_rate
from pytest_xdpperf.runner import RunOptions, XdpPerf
from pytest_xdpperf.testbed.netns import iproute
from pytest_xdpperf.testbed.veth import XMIT, napi_threads
from pytest_xdpperf.trafficgen.base import TrafficProfile
from pytest_xdpperf.trafficgen.bpfgen import BpfGenerator

integration = pytest.mark.integration

RATE = 300_000.0   # pps offered in the where-does-it-run trial
DURATION = 1.0     # s
MIN_NAPI_S = 0.02  # s of DUT NAPI kthread run time when it did the driver work (seen 0.12-0.3)
SETTLE = 3.0       # s to wait for the NF's counters to catch up with what was sent
XDP_ATTACHED = {"native": "xdp", "generic": "xdpgeneric", "offload": "hw"}  # IFLA_XDP_ATTACHED


# --- helpers -----------------------------------------------------------------------------

def fake_nf(tmp_path: Path, modes: list[str], note: str | None = None,
            name: str = "fakenf") -> Path:
    """A stand-in NF binary: a shell script that answers --describe and nothing else."""
    note_json = "null" if note is None else f'"{note}"'
    listed = ",".join(f'"{m}"' for m in modes)
    script = tmp_path / name
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--describe" ]; then\n'
        f"  echo '{{\"nf\":\"{name}\",\"params\":[],\"modes\":[{listed}],"
        f"\"modes_note\":{note_json}}}'\n"
        "  exit 0\nfi\n"
        'echo "fakenf: only --describe" >&2\nexit 2\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


class FakeBuilder:
    def __init__(self, binary: Path):
        self.binary = binary

    def program(self, name: str) -> Path:
        return self.binary


def perf_for(mode: Mode, binary: Path) -> XdpPerf:
    """An XdpPerf over nothing real: enough to reach the mode check."""
    return XdpPerf(testbed=None, builder=FakeBuilder(binary), calibration=None,  # type: ignore[arg-type]
                   mode=mode, traffic_class="drop", options=RunOptions(), benchmark=None,
                   profile=TrafficProfile())


def xdp_attrs(host: Any) -> dict[str, Any]:
    """IFLA_XDP of the host's interface, read by netlink inside its namespace."""
    with iproute(host.netns) as ipr:
        link = ipr.get_links(ipr.link_lookup(ifname=host.ifname)[0])[0]
    return dict(link.get_attr("IFLA_XDP")["attrs"])


def xdp_sockets(pid: int) -> int:
    """AF_XDP sockets in use in the namespace of process `pid` (/proc/<pid>/net/protocols)."""
    with open(f"/proc/{pid}/net/protocols") as f:
        for line in f:
            fields = line.split()
            if fields and fields[0] == "XDP":
                return int(fields[2])
    raise AssertionError("no XDP line in /proc/net/protocols (CONFIG_XDP_SOCKETS?)")


def xdp_sockets_in(host: Any) -> int:
    """AF_XDP sockets in use in the host's namespace."""
    out = subprocess.run(["ip", "netns", "exec", host.netns, "cat", "/proc/net/protocols"],
                         capture_output=True, text=True, check=True).stdout
    return next(int(line.split()[2]) for line in out.splitlines() if line.startswith("XDP "))


def link_kind(host: Any) -> str:
    """The kind of the host's interface ("veth"), or "" for a physical NIC."""
    with iproute(host.netns) as ipr:
        link = ipr.get_links(ipr.link_lookup(ifname=host.ifname)[0])[0]
    info = link.get_attr("IFLA_LINKINFO")
    return str(info.get_attr("IFLA_INFO_KIND")) if info else ""


def sysc_settings(host: Any) -> dict[str, str]:
    return sysfs.read(host, list(SYSC_SYSFS))


def settled(nf: RunningNf, runs: int) -> dict[str, Any]:
    """NF stats once its XDP program has run `runs` times (or SETTLE passed)."""
    deadline = time.monotonic() + SETTLE
    stats = nf.stats()
    while stats["xdp_in_nf_task"] + stats["xdp_elsewhere"] < runs and time.monotonic() < deadline:
        time.sleep(0.05)
        stats = nf.stats()
    return stats


# --- 1. capabilities and skips (no root) ----------------------------------------------------

def test_default_modes_are_all_six() -> None:
    assert parse_modes(None) == list(MODES.values())
    assert len(MODES) == 6


def test_macswap_describes_itself(xdpperf_builder: Any) -> None:
    info = describe(xdpperf_builder.program("macswap"))
    assert info == {"nf": "macswap",
                    "params": [{"name": "action", "type": "choice",
                                "choices": ["drop", "tx", "pass", "aborted"],
                                "default": "drop", "help": "what to do after swapping"}],
                    "modes": ["xdp", "xdp-sk", "xdp-sk-sysc", "af_xdp", "af_xdp-sysc",
                              "af_xdp-poll"],
                    "modes_note": None}
    assert all(unsupported_reason(xdpperf_builder.program("macswap"), m) is None
               for m in MODES.values())


def _describe_modes(program: Path) -> dict[str, Any]:
    result = subprocess.run([str(program), "--describe-modes"], capture_output=True,
                            text=True, check=True)
    return dict(json.loads(result.stdout))


def test_modes_come_from_the_c_table(xdpperf_builder: Any) -> None:
    """MODES is the runtime's --describe-modes, entry by entry and in its order, and
    every NF prints the same table as the helper."""
    c_table = _describe_modes(xdpperf_builder.modes_helper())["modes"]
    assert list(MODES) == [m["name"] for m in c_table]
    for entry in c_table:
        assert MODES[entry["name"]] == Mode.from_c(entry)
        mode = MODES[entry["name"]]
        assert mode.in_kernel == (entry["logic"] == "xdp")
        assert (mode.sockets, mode.loop, mode.first_to_socket) == (
            entry["sockets"], entry["loop"], entry["first_to_socket"])
        assert dict(mode.busy_poll) == entry["busy_poll"]
        assert dict(mode.attach) == entry["attach"]
        # the facts Python adds follow from "loop" by one rule each
        assert (mode.driver == "syscall") == (mode.loop == "syscall") == bool(mode.sysfs)
        assert (mode.loop == "none") == (not mode.sockets) == (mode.notification == "none")
    assert _describe_modes(xdpperf_builder.program("macswap"))["modes"] == c_table
    # XDP_FLAGS_DRV_MODE/SKB_MODE/HW_MODE, XDP_COPY/ZEROCOPY/USE_NEED_WAKEUP (if_link.h, if_xdp.h)
    assert MODES["xdp"].attach == {"native": 4, "generic": 2, "offload": 8}
    assert MODES["af_xdp"].bind == {"copy": 2, "zerocopy": 4, "need_wakeup": 8}
    assert "offload" not in MODES["af_xdp"].attach and MODES["xdp"].bind is None


def test_plot_orders_modes_as_the_c_table(xdpperf_builder: Any) -> None:
    from pytest_xdpperf import plot

    names = [m["name"] for m in _describe_modes(xdpperf_builder.modes_helper())["modes"]]
    assert mode_order() == tuple(names)
    assert sorted(reversed(names), key=plot._mode_key) == names
    assert sorted(["zz-unknown", *names], key=plot._mode_key)[-1] == "zz-unknown"


def test_no_second_mode_table_in_python() -> None:
    """Apart from docstrings, no module of the package spells a mode's name: every
    list of modes is the runtime's (a copy would drift from it)."""
    names = {"xdp-sk", "xdp-sk-sysc", "af_xdp", "af_xdp-sysc", "af_xdp-poll"}
    package = Path(modes.__file__).parent
    found = []
    for source in sorted(package.rglob("*.py")):
        tree = ast.parse(source.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                                    | ast.AsyncFunctionDef)
                      and node.body and isinstance(node.body[0], ast.Expr)}
        found += [f"{source.name}:{node.lineno} {node.value!r}" for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str)
                  and id(node) not in docstrings
                  and any(n in node.value.replace(",", " ").split() for n in names)]
    assert found == []


def test_busy_poll_defaults_are_the_runtimes(xdpperf_builder: Any) -> None:
    table = _describe_modes(xdpperf_builder.modes_helper())
    sysc = [m["busy_poll"] for m in table["modes"] if m["loop"] == "syscall"]
    assert sysc and all(b == sysc[0] for b in sysc)
    assert dict(busy_poll_defaults()) == sysc[0] == {"prefer": 1, "usecs": 20, "budget": 64}
    assert busy_poll_range("budget") == (1, 65535)
    with pytest.raises(XdpperfError, match="give 1 to 65535, or None for the default 64"):
        NfSpec("macswap", busy_poll_budget=65536)


def test_describe_is_cached_per_build(tmp_path: Path) -> None:
    binary = fake_nf(tmp_path, ["xdp"])
    assert describe(binary)["modes"] == ["xdp"]
    binary.unlink()
    time.sleep(0.01)
    fake_nf(tmp_path, ["xdp", "xdp-sk"])  # "rebuilt": new mtime, asked again
    os.utime(binary, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    assert describe(binary)["modes"] == ["xdp", "xdp-sk"]


def test_describe_of_a_program_without_it_is_a_clear_error(tmp_path: Path) -> None:
    old = tmp_path / "oldnf"
    old.write_text("#!/bin/sh\necho 'oldnf: unknown option --describe' >&2\nexit 2\n")
    old.chmod(0o755)
    with pytest.raises(ProgramFailed, match="gave no description.*unknown option"):
        describe(old)


@pytest.mark.parametrize("mode", [m for m in MODES if m != "xdp"])
def test_unsupported_mode_skips_with_the_reason(tmp_path: Path, mode: str) -> None:
    binary = fake_nf(tmp_path, ["xdp"], note="no user-space logic yet")
    perf = perf_for(MODES[mode], binary)
    with pytest.raises(pytest.skip.Exception) as skipped:
        perf.throughput("fakenf")
    assert str(skipped.value) == (f"fakenf cannot run in mode {mode}: no user-space logic yet "
                                  "(supports: xdp)")
    with pytest.raises(pytest.skip.Exception, match=f"fakenf cannot run in mode {mode}: "):
        perf.start("fakenf")


def test_unsupported_reason_without_a_note(tmp_path: Path) -> None:
    binary = fake_nf(tmp_path, ["xdp", "xdp-sk"])
    assert unsupported_reason(binary, MODES["xdp-sk"]) is None
    assert unsupported_reason(binary, MODES["af_xdp"]) == "it supports only xdp, xdp-sk"


def test_skip_is_reported_by_pytest(tmp_path: Path) -> None:
    """End to end through pytest: an unsupported mode shows up as SKIPPED with the reason."""
    binary = fake_nf(tmp_path, ["xdp"], note="kernel only")
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_fake.py").write_text(textwrap.dedent(f"""
        from pathlib import Path

        import pytest

        from pytest_xdpperf.modes import MODES
        from pytest_xdpperf.runner import RunOptions, XdpPerf
        from pytest_xdpperf.trafficgen.base import TrafficProfile

        class Builder:
            def program(self, name):
                return Path({str(binary)!r})

        @pytest.mark.parametrize("mode", ["xdp", "af_xdp-sysc"])
        def test_it(mode):
            perf = XdpPerf(None, Builder(), None, MODES[mode], "drop", RunOptions(), None,
                           TrafficProfile())
            perf.skip_unsupported("fakenf", Builder().program("fakenf"))
    """))
    result = subprocess.run([sys.executable, "-m", "pytest", "-rs", "-p", "no:cacheprovider",
                             "-q", str(suite)], cwd=suite, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 1 skipped" in result.stdout, result.stdout
    skipped = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 1 and skipped[0].endswith(
        ": fakenf cannot run in mode af_xdp-sysc: kernel only (supports: xdp)"), result.stdout


def test_busy_poll_note_flags_a_sysc_mode_that_did_not_busy_poll() -> None:
    before = {"xdp_in_nf_task": 0, "xdp_elsewhere": 0}
    not_polled = {"xdp_in_nf_task": 0, "xdp_elsewhere": 1000, "napi_id": 0}
    polled = {"xdp_in_nf_task": 900, "xdp_elsewhere": 100, "napi_id": 8195}
    note = busy_poll_note(MODES["af_xdp-sysc"], before, not_polled)
    assert note and "only 0.0%" in note and "no NAPI id" in note
    assert busy_poll_note(MODES["af_xdp-sysc"], before, polled) is None
    assert busy_poll_note(MODES["af_xdp"], before, not_polled) is None  # not a sysc mode
    assert syscall_share(before, polled) == 0.9
    assert syscall_share(before, before) is None


@pytest.mark.parametrize(("given", "kept"), [("native", "native"), ("generic", "generic"),
                                             ("offload", "offload"), ("skb", "generic"),
                                             ("hw", "offload")])
def test_xdp_tools_attach_names_are_aliases(given: str, kept: str) -> None:
    """xdp-loader's skb/native/hw name the same modes; the spec (and so the NF's
    --attach, the record and every message) carries the framework's own name."""
    assert NfSpec("macswap", attach=given).attach == kept


def test_unknown_attach_and_bind_are_rejected() -> None:
    with pytest.raises(XdpperfError) as exc:
        NfSpec("macswap", attach="xdpdrv")
    assert str(exc.value) == ("unknown attach mode 'xdpdrv' (use one of native, generic, "
                              "offload (or xdp-tools' skb for generic, hw for offload))")
    with pytest.raises(XdpperfError, match="unknown bind mode 'zc'.*copy, zerocopy"):
        NfSpec("macswap", bind="zc")
    with pytest.raises(XdpperfError, match="unknown mode 'af_xdp-busy'"):
        parse_modes("xdp,af_xdp-busy")


@pytest.mark.parametrize("mode", [m for m in MODES.values() if m.sockets],
                         ids=lambda m: m.name)
def test_offload_of_a_socket_mode_is_refused(xdpperf_builder: Any, mode: Mode) -> None:
    """XSKMAP redirect exists only in the host kernel: refused before anything starts, by
    the framework and by the NF itself (which needs no root or namespace to say so)."""
    spec = NfSpec("macswap", {}, attach="offload")
    with pytest.raises(XdpperfError, match=f"mode {mode.name} hands frames to an AF_XDP socket"
                       r".*cannot run in hardware \(offload\).*'native' or 'generic'"):
        RunningNf(xdpperf_builder.program("macswap"), spec, mode, None)  # type: ignore[arg-type]
    result = subprocess.run([str(xdpperf_builder.program("macswap")), "--netns", "",
                             "--ifname", "lo", "--mode", mode.name, "--attach", "offload"],
                            capture_output=True, text=True)
    assert result.returncode == 2, result
    assert "XSKMAP redirect cannot run in hardware (offload)" in result.stderr, result.stderr
    assert "use --attach native or generic" in result.stderr, result.stderr


class FakeSysfs:
    """An interface's attributes in a dict, all at "0", where writing (attribute, value)
    in `fail` raises as a refused sysfs write does."""

    def __init__(self, fail: set[tuple[str, str]]) -> None:
        self.values = dict.fromkeys(SYSC_SYSFS, "0")
        self.fail = fail

    def read(self, attr: str) -> str:
        return self.values[attr]

    def write(self, attr: str, value: str) -> None:
        if (attr, value) in self.fail:
            raise PermissionError(13, "Permission denied", attr)
        self.values[attr] = value


def test_a_partial_apply_is_undone() -> None:
    first, second = list(SYSC_SYSFS)  # napi_defer_hard_irqs is written first
    dev = FakeSysfs({(second, SYSC_SYSFS[second])})
    with pytest.raises(XdpperfError, match=f"cannot set {second}=200000 on eth9: .*Permission "
                       "denied.*nothing was left changed"):
        modes.apply_values("eth9", SYSC_SYSFS, dev.read, dev.write)
    assert dev.values == {first: "0", second: "0"}  # the first one was put back


def test_a_full_apply_returns_what_it_replaced() -> None:
    dev = FakeSysfs(set())
    dev.values = {"napi_defer_hard_irqs": "1", "gro_flush_timeout": "7"}
    assert modes.apply_values("eth9", SYSC_SYSFS, dev.read, dev.write) == {
        "napi_defer_hard_irqs": "1", "gro_flush_timeout": "7"}
    assert dev.values == dict(SYSC_SYSFS)


def test_restore_tries_every_setting() -> None:
    first, second = list(SYSC_SYSFS)
    dev = FakeSysfs({(first, "0")})
    previous = modes.apply_values("eth9", SYSC_SYSFS, dev.read, dev.write)
    assert previous == {first: "0", second: "0"}
    with pytest.raises(XdpperfError, match=f"cannot restore {first}=0 .*set them back by hand"):
        modes.restore_values("eth9", previous, dev.write)
    assert dev.values[second] == "0"  # restored despite the first failing


# --- 2. where each mode's driver work runs ------------------------------------------------

@integration
def test_where_the_driver_runs(xdpperf_testbed: Any, xdpperf_builder: Any, xdp_mode: Mode,
                               record_property: Any) -> None:
    """~1 s at 300 kpps into macswap drop: in which task and on which CPU XDP ran."""
    bed = xdpperf_testbed
    binary = xdpperf_builder.program("macswap")
    with applied(xdp_mode, bed.dut), \
            RunningNf(binary, NfSpec("macswap", {"action": "drop"}), xdp_mode, bed.dut) as nf, \
            BpfGenerator(xdpperf_builder.program("trafficgen"), bed.tester, bed.dut,
                         TrafficProfile()) as gen:
        bed.prepare_dut_napi()
        gen.offer(RATE, 0.1)  # warm-up: sockets have seen traffic before we measure
        kthreads = napi_threads(bed.dut.ifname)
        napi_before = sum(t.seconds for p in kthreads for t in task_times(p))
        before = nf.stats()
        offered = gen.offer(RATE, DURATION)
        runs_before = before["xdp_in_nf_task"] + before["xdp_elsewhere"]
        after = settled(nf, runs_before + offered.sent)
        napi_s = sum(t.seconds for p in kthreads for t in task_times(p)) - napi_before
    in_task = after["xdp_in_nf_task"] - before["xdp_in_nf_task"]
    elsewhere = after["xdp_elsewhere"] - before["xdp_elsewhere"]
    by_cpu = [a - b for a, b in zip(after["xdp_by_cpu"], before["xdp_by_cpu"])]
    share = syscall_share(before, after)
    note = busy_poll_note(xdp_mode, before, after)
    facts = {"mode": xdp_mode.name, "sent": offered.sent, "xdp_in_nf_task": in_task,
             "xdp_elsewhere": elsewhere, "xdp_by_cpu": by_cpu, "share": share,
             "napi_kthread_s": round(napi_s, 3), "socket_napi_id": after["napi_id"],
             "note": note}
    record_property("where", facts)
    print(facts)

    assert offered.sent >= 0.9 * RATE * DURATION, facts
    # the XDP program ran for (nearly) every frame, only ever on the DUT's CPU
    assert in_task + elsewhere >= 0.95 * offered.sent, facts
    assert by_cpu[bed.tester.cpu] == 0, facts
    assert by_cpu[bed.dut.cpu] == in_task + elsewhere, facts

    if xdp_mode.driver == "interrupt":
        # the DUT's NAPI kthread (pinned to the DUT CPU) ran every XDP program run
        assert in_task == 0 and share == 0.0, facts
        assert napi_s >= MIN_NAPI_S, facts
        assert note is None
        return

    # *-sysc: did the NF's own syscalls run the driver for a substantial share?
    assert after["napi_id"] >= 0, facts  # the NF reports its socket's NAPI id
    if after["napi_id"] == 0:
        # veth (Linux 6.18): the RX queue is not linked to its NAPI, so the AF_XDP
        # socket gets no NAPI id at bind and recvfrom() never busy-polls. The
        # framework must see that and say so, not report a busy-poll figure.
        assert share is not None and share < MIN_SYSCALL_SHARE, facts
        assert note is not None and "not a busy-poll measurement" in note, facts
        assert "no NAPI id" in note, facts
        assert napi_s >= MIN_NAPI_S, facts  # the kthread did it instead
    else:
        assert share is not None and share >= MIN_SYSCALL_SHARE, facts
        assert note is None, facts


@integration
def test_xdp_sk_hands_exactly_one_frame_per_queue_to_its_socket(
        xdpperf_testbed: Any, xdpperf_builder: Any, xdp_mode: Mode, tmp_path: Path,
        record_property: Any) -> None:
    """xdp-sk modes: the socket gets the first frame of its queue (so it has seen
    traffic), XDP finishes every other one, and the one it got is handed back to the
    same XDP program: every frame still comes back exactly once, counted once. Other
    modes hand nothing back."""
    bed = xdpperf_testbed
    frames = crafted(bed, N_FRAMES)
    with applied(xdp_mode, bed.dut), \
            RunningNf(xdpperf_builder.program("macswap"), NfSpec("macswap", {"action": "tx"}),
                      xdp_mode, bed.dut) as nf:
        bed.prepare_dut_napi()
        napi_id_at_start = nf.ready["napi_id"]
        back, delta = bounce(bed, nf, frames, xdp_mode.in_kernel, tmp_path)
        stats = nf.stats()
    facts = {"mode": xdp_mode.name, "napi_id_at_start": napi_id_at_start,
             "napi_id_after_traffic": stats["napi_id"], "xdp": stats["xdp"],
             "user": stats["user"], "handed_back": stats["handed_back"]}
    record_property("first_frame", facts)
    print(facts)

    assert sorted(back) == sorted(swapped(f) for f in frames)
    assert delta == {"rx": N_FRAMES, "tx": N_FRAMES, "drop": 0, "pass": 0, "aborted": 0}
    if xdp_mode.first_to_socket:  # xdp-sk, xdp-sk-sysc: one queue, one socket
        assert stats["xdp"]["redirect"] == 1 and stats["handed_back"] == 1, facts
        assert stats["xdp"]["rx"] == stats["xdp"]["tx"] == N_FRAMES, facts
        assert stats["user"]["rx"] == 0, facts
    else:
        assert stats["handed_back"] == 0, facts
        assert stats["xdp"]["redirect"] == (0 if xdp_mode.in_kernel else N_FRAMES), facts


@integration
def test_every_verdict_counter_per_cpu_lands_on_the_dut_cpu(
        xdpperf_testbed: Any, xdpperf_builder: Any, xdp_mode: Mode) -> None:
    """xdp_per_cpu: each XDP counter (rx, drop, tx, pass, redirect, aborted) per CPU.
    On the testbed all XDP work is the DUT CPU's, and the per-CPU values sum to the
    XDP world's totals."""
    bed = xdpperf_testbed
    with applied(xdp_mode, bed.dut), \
            RunningNf(xdpperf_builder.program("macswap"), NfSpec("macswap", {"action": "drop"}),
                      xdp_mode, bed.dut) as nf, \
            BpfGenerator(xdpperf_builder.program("trafficgen"), bed.tester, bed.dut,
                         TrafficProfile()) as gen:
        bed.prepare_dut_napi()
        before = nf.stats()
        tester_before = ethtool_stats(bed.tester)
        offered = gen.offer(RATE, 0.2)
        # the frames the DUT's veth took (the rest overflowed its ring before any XDP ran)
        reached = ethtool_stats(bed.tester)[XMIT] - tester_before[XMIT]
        after = settled(nf, before["xdp_in_nf_task"] + before["xdp_elsewhere"] + reached)
    names = ("rx", "drop", "tx", "pass", "redirect", "aborted")
    per_cpu = {k: [a - b for a, b in zip(after["xdp_per_cpu"][k], before["xdp_per_cpu"][k])]
               for k in names}
    total = {k: after["xdp"][k] - before["xdp"][k] for k in names}
    facts = {"sent": offered.sent, "reached": reached, "per_cpu": per_cpu, "xdp": total}

    assert offered.sent > 0 and reached > 0, facts
    assert {k: sum(v) for k, v in per_cpu.items()} == total, facts
    assert all(v[c] == 0 for v in per_cpu.values() for c in range(len(v))
               if c != bed.dut.cpu), facts
    # the counter this mode's XDP program moves: drop in XDP, or the hand-off to a socket
    moved = "redirect" if xdp_mode.processing == "user" else "drop"
    assert per_cpu[moved][bed.dut.cpu] == total[moved] > 0, facts
    # every frame that reached the DUT was dropped in XDP or handed to a socket, none lost
    # uncounted (xdp-sk: the socket hands its one frame back to XDP, which drops it)
    handed_back = after["handed_back"] - before["handed_back"]
    assert total["drop"] + total["redirect"] - handed_back == reached, facts


# --- 3. mode settings in force while the NF runs, and restored -------------------------------

@integration
@pytest.mark.parametrize("attach", ["native", "generic"])
def test_mode_in_force_while_running_and_undone_after(xdpperf_testbed: Any,
                                                      xdpperf_builder: Any, xdp_mode: Mode,
                                                      attach: str) -> None:
    dut = xdpperf_testbed.dut
    binary = xdpperf_builder.program("macswap")
    original = sysc_settings(dut)
    assert xdp_attrs(dut).get("IFLA_XDP_ATTACHED") is None, "something already attached"

    with applied(xdp_mode, dut), \
            RunningNf(binary, NfSpec("macswap", {}, attach=attach), xdp_mode, dut) as nf:
        ready = nf.ready
        attrs = xdp_attrs(dut)
        sockets = xdp_sockets(nf.pid)
        during = sysc_settings(dut)
        stats = nf.stats()
        pid = nf.pid
    attrs_after = xdp_attrs(dut)
    settings_after = sysc_settings(dut)

    # what the NF says it did ...
    assert ready["mode"] == xdp_mode.name and ready["attach"] == attach
    assert ready["bind"] == ("copy" if xdp_mode.sockets else None)
    # ... is what the kernel shows: our program, attached in the asked mode
    assert attrs["IFLA_XDP_ATTACHED"] == XDP_ATTACHED[attach], attrs
    assert attrs["IFLA_XDP_PROG_ID"] == ready["prog_id"], attrs
    # an AF_XDP socket exists in the DUT namespace exactly when the mode has one
    assert sockets == (1 if xdp_mode.sockets else 0)
    assert (stats["xsk"] is not None) == xdp_mode.sockets
    # the mode's sysfs values are in force (sysc), or nothing was touched
    assert during == (dict(SYSC_SYSFS) if xdp_mode.sysfs else original)

    # and afterwards: detached, no socket, sysfs as it was
    assert attrs_after.get("IFLA_XDP_ATTACHED") is None, attrs_after
    assert "IFLA_XDP_PROG_ID" not in attrs_after
    assert settings_after == original
    assert not os.path.exists(f"/proc/{pid}")


@integration
def test_need_wakeup_off_forwards_every_frame(xdpperf_testbed: Any, xdpperf_builder: Any,
                                             xdp_mode: Mode, tmp_path: Path) -> None:
    """need_wakeup=False reaches the socket's bind flags (the ready line says so) and the
    NF still bounces every frame exactly once; in mode xdp there is no socket to flag."""
    bed = xdpperf_testbed
    frames = crafted(bed, N_FRAMES)
    spec = NfSpec("macswap", {"action": "tx"}, need_wakeup=False)
    with applied(xdp_mode, bed.dut), \
            RunningNf(xdpperf_builder.program("macswap"), spec, xdp_mode, bed.dut) as nf:
        bed.prepare_dut_napi()
        ready = nf.ready
        back, delta = bounce(bed, nf, frames, xdp_mode.in_kernel, tmp_path)

    assert ready["need_wakeup"] is (False if xdp_mode.sockets else None), ready
    assert sorted(back) == sorted(swapped(f) for f in frames)
    assert delta == {"rx": N_FRAMES, "tx": N_FRAMES, "drop": 0, "pass": 0, "aborted": 0}


@pytest.mark.parametrize("mode,need_wakeup,recorded", [
    ("af_xdp", False, False), ("af_xdp-poll", True, True), ("xdp-sk", False, False),
    ("xdp", False, None)])  # no socket in mode xdp: nothing to flag
def test_need_wakeup_is_in_the_record(mode: str, need_wakeup: bool,
                                      recorded: bool | None) -> None:
    dut = Deterministic(capacity=1e6)
    spec = SearchSpec(max_load=4e6, min_load=1e4, search_duration_max=1e6)
    rep = Repetition(find_throughput(dut, spec, clock=dut.clock),
                     max_forwarding_rate(dut, spec.max_load, 1.0))
    cal = Calibration(tester_capacity_pps=5e6, noop_forwarding_pps=5e6, max_load_pps=4.5e6,
                      noop_ndr_pps=3e6, noop_pdr_pps=3e6, noop_loss_at_max_load=0.0,
                      trial_duration=1.0)
    m = Measurement(NfSpec("macswap", {"action": "drop"}, need_wakeup=need_wakeup),
                    MODES[mode], "drop", TrafficProfile(), 0.001, [rep], cal)
    assert m.extra_info()["need_wakeup"] is recorded


def test_need_wakeup_must_be_a_boolean() -> None:
    with pytest.raises(XdpperfError, match="need_wakeup='off' is not a boolean.*True.*False"):
        NfSpec("macswap", need_wakeup="off")  # type: ignore[arg-type]
    assert NfSpec("macswap").need_wakeup is True


@integration
@pytest.mark.parametrize("asked", [{}, {"busy_poll_usecs": 50, "busy_poll_budget": 16}],
                         ids=["defaults", "asked"])
def test_busy_poll_options_in_force(xdpperf_testbed: Any, xdpperf_builder: Any,
                                    xdp_mode: Mode, asked: dict[str, Any]) -> None:
    """The NF reads SO_PREFER_BUSY_POLL / SO_BUSY_POLL / SO_BUSY_POLL_BUDGET back from
    its socket: set in the *-sysc modes (defaults 1/20/64 or what was asked), the
    kernel's untouched socket defaults in the other socket modes, no socket in xdp."""
    dut = xdpperf_testbed.dut
    if asked and xdp_mode.driver != "syscall":
        with pytest.raises(XdpperfError, match=f"mode {xdp_mode.name} does not busy-poll"):
            RunningNf(xdpperf_builder.program("macswap"), NfSpec("macswap", **asked),
                      xdp_mode, dut)
        return
    with applied(xdp_mode, dut), RunningNf(xdpperf_builder.program("macswap"),
                                           NfSpec("macswap", **asked), xdp_mode, dut) as nf:
        busy_poll = nf.ready["busy_poll"]
    if not xdp_mode.sockets:
        assert busy_poll is None
        return
    # Linux 6.18 has no getsockopt for SO_BUSY_POLL_BUDGET: then the NF reports the
    # value setsockopt accepted, and says it was not read back
    read_back = busy_poll.pop("budget_read_back")
    if xdp_mode.driver == "syscall":
        assert xdp_mode.busy_poll == {"prefer": 1, "usecs": 20, "budget": 64}
        assert busy_poll == {**xdp_mode.busy_poll, **{k.removeprefix("busy_poll_"): v
                                                      for k, v in asked.items()}}
    else:
        with open("/proc/sys/net/core/busy_read") as f:  # a new socket's SO_BUSY_POLL
            busy_read = int(f.read())
        assert busy_poll == {"prefer": 0, "usecs": busy_read, "budget": 0 if read_back else -1}


def test_busy_poll_values_are_checked() -> None:
    with pytest.raises(XdpperfError, match="busy_poll_budget=0 is out of range.*1 to 65535"):
        NfSpec("macswap", busy_poll_budget=0)
    with pytest.raises(XdpperfError, match="busy_poll_usecs=-1 is not a number"):
        NfSpec("macswap", busy_poll_usecs=-1)


# --- 4. bad parameters -------------------------------------------------------------------------

@integration
def test_zerocopy_on_veth_is_a_clear_error(xdpperf_testbed: Any, xdpperf_builder: Any) -> None:
    dut = xdpperf_testbed.dut
    with pytest.raises(ProgramFailed) as failed:
        RunningNf(xdpperf_builder.program("macswap"), NfSpec("macswap", {}, bind="zerocopy"),
                  MODES["af_xdp"], dut)
    message = str(failed.value)
    assert "zero-copy not supported by driver of" in message, message
    assert "use --bind copy" in message, message
    assert xdp_attrs(dut).get("IFLA_XDP_ATTACHED") is None  # nothing left behind


@integration
def test_offload_on_veth_is_a_clear_error(xdpperf_testbed: Any, xdpperf_builder: Any) -> None:
    """veth has no BPF offload: the NF says so, names the fix, and leaves nothing behind.
    On a testbed whose DUT NIC has BPF offload (nfp) the same spec must load the program
    for the device and attach it with XDP_FLAGS_HW_MODE instead."""
    dut = xdpperf_testbed.dut
    sockets_before = xdp_sockets_in(dut)
    spec = NfSpec("macswap", {"action": "drop"}, attach="offload")
    if link_kind(dut) == "veth":
        with pytest.raises(ProgramFailed) as failed:
            RunningNf(xdpperf_builder.program("macswap"), spec, MODES["xdp"], dut)
        message = str(failed.value)
        assert "veth cannot run XDP in hardware (offload)" in message, message
        assert "use --attach native or generic" in message, message
    else:
        with RunningNf(xdpperf_builder.program("macswap"), spec, MODES["xdp"], dut) as nf:
            assert nf.ready["attach"] == "offload"
            assert xdp_attrs(dut)["IFLA_XDP_ATTACHED"] == XDP_ATTACHED["offload"]
    # nothing left behind: no program, no socket, no NF process for this namespace
    assert xdp_attrs(dut).get("IFLA_XDP_ATTACHED") is None
    assert xdp_sockets_in(dut) == sockets_before
    assert not [p for p in psutil.process_iter(["cmdline"])
                if dut.netns in (p.info["cmdline"] or []) and "offload" in p.info["cmdline"]]


@integration
def test_zerocopy_with_generic_attach_is_a_clear_error(xdpperf_testbed: Any,
                                                       xdpperf_builder: Any) -> None:
    with pytest.raises(ProgramFailed, match="zero-copy needs a driver-mode XDP program"):
        RunningNf(xdpperf_builder.program("macswap"),
                  NfSpec("macswap", {}, attach="generic", bind="zerocopy"),
                  MODES["af_xdp"], xdpperf_testbed.dut)
