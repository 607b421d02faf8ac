"""The sysfs helper (pytest_xdpperf/sysfs.py): its side in-process against a folder
standing in for /sys/class/net, the caller's reading of what it printed, and, as
root, a real helper that fails or dies in a namespace. The all-or-nothing logic
itself is tested as a pure function in tests/test_modes.py."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_xdpperf import sysfs
from pytest_xdpperf.errors import XdpperfError
from pytest_xdpperf.modes import MODES, SYSC_SYSFS, applied
from pytest_xdpperf.testbed.netns_host import NetnsHost

root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (ip netns exec)")
KILL_SELF = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]


@pytest.fixture
def eth9(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dev = tmp_path / "eth9"
    dev.mkdir()
    for attr in SYSC_SYSFS:
        (dev / attr).write_text("0\n")
    monkeypatch.setattr(sysfs, "SYSFS_NET", str(tmp_path))
    return dev


def serve(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    status = sysfs.main(argv)
    return status, json.loads(capsys.readouterr().out)


def test_the_helper_applies_reads_and_restores(eth9: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    items = [f"{k}={v}" for k, v in SYSC_SYSFS.items()]
    assert serve(["apply", "eth9", *items], capsys) == (0, {"values": dict.fromkeys(SYSC_SYSFS,
                                                                                    "0")})
    assert {a: (eth9 / a).read_text().strip() for a in SYSC_SYSFS} == dict(SYSC_SYSFS)
    assert serve(["read", "eth9", *SYSC_SYSFS], capsys) == (0, {"values": dict(SYSC_SYSFS)})
    restore = [f"{a}=0" for a in SYSC_SYSFS]
    assert serve(["restore", "eth9", *restore], capsys) == (0, {"values": {}})
    assert {a: (eth9 / a).read_text().strip() for a in SYSC_SYSFS} == dict.fromkeys(SYSC_SYSFS,
                                                                                     "0")


def test_the_helper_reports_problems_as_json(eth9: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    status, doc = serve(["read", "eth8", "gro_flush_timeout"], capsys)
    assert status == 1 and "cannot read" in doc["problem"] and "eth8" in doc["problem"]
    status, doc = serve(["read", "../eth9", "gro_flush_timeout"], capsys)
    assert status == 1 and "bad interface or attribute name" in doc["problem"]
    status, doc = serve(["write", "eth9"], capsys)
    assert status == 1 and doc["problem"].startswith("usage:")


def test_a_helper_that_died_is_one_line() -> None:
    for status, out, err, said in (
            (-9, "", "", "killed by SIGKILL"),
            (1, "", "Traceback (most recent call last):\n  ...\nImportError: no pytest_xdpperf\n",
             "exit status 1): ImportError: no pytest_xdpperf"),
            (0, "not json\n", "", "exit status 0")):
        with pytest.raises(XdpperfError) as caught:
            sysfs.answer("namespace ns1", status, out, err)
        text = str(caught.value)
        assert said in text and "\n" not in text, text
        assert text.startswith("the sysfs helper in namespace ns1 failed"), text


def test_a_helpers_problem_is_raised_as_it_said() -> None:
    with pytest.raises(XdpperfError) as caught:
        sysfs.answer("namespace ns1", 1,
                     json.dumps({"problem": "cannot set x=1", "fix": "be root"}), "")
    assert (caught.value.problem, caught.value.fix) == ("cannot set x=1", "be root")
    assert sysfs.answer("namespace ns1", 0, json.dumps({"values": {"a": "1"}}), "") == {"a": "1"}


@root
def test_a_missing_namespace_is_one_line() -> None:
    with pytest.raises(XdpperfError) as caught:
        sysfs.read(NetnsHost("dut", "eth0", "", "", (0,), netns="xdpperf-no-such-ns"),
                   ["gro_flush_timeout"])
    text = str(caught.value)
    assert "namespace xdpperf-no-such-ns failed (exit status" in text, text
    assert "xdpperf-no-such-ns" in text.split("): ", 1)[1] and "\n" not in text, text


@pytest.mark.integration
@root
def test_a_helper_killed_in_the_namespace_is_one_line(
        xdpperf_testbed: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    dut = xdpperf_testbed.dut
    before = sysfs.read(dut, list(SYSC_SYSFS))  # the real helper
    assert set(before) == set(SYSC_SYSFS) and all(v.isdigit() for v in before.values())
    # applied() reads the old values first (for the run note): killed there, nothing
    # was written; killed while applying, the values may be half written
    monkeypatch.setattr(sysfs, "HELPER", KILL_SELF)
    with pytest.raises(XdpperfError) as caught, applied(MODES["af_xdp-sysc"], dut):
        pass
    text = str(caught.value)
    assert "killed by SIGKILL" in text and "\n" not in text, text
    assert text.endswith("(run as root with iproute2 installed; nothing was changed)"), text
    real = sysfs.call

    def killed_unless_read(host: Any, op: str, items: Any) -> dict[str, str]:
        if op == "read":
            return real(host, op, items)
        with monkeypatch.context() as patch:
            patch.setattr(sysfs, "HELPER", KILL_SELF)
            return real(host, op, items)

    monkeypatch.undo()
    monkeypatch.setattr(sysfs, "call", killed_unless_read)
    with pytest.raises(XdpperfError) as caught, applied(MODES["af_xdp-sysc"], dut):
        pass
    text = str(caught.value)
    assert "killed by SIGKILL" in text and "\n" not in text, text
    assert f"check /sys/class/net/{dut.ifname}/ in namespace {dut.netns} by hand" in text
    monkeypatch.undo()
    assert sysfs.read(dut, list(SYSC_SYSFS)) == before


@pytest.mark.integration
@root
def test_the_helper_sees_the_namespaces_sysfs_not_the_hosts(xdpperf_testbed: Any) -> None:
    """The DUT's interface exists only in its namespace: the host's /sys lacks it."""
    dut = xdpperf_testbed.dut
    assert not os.path.exists(f"/sys/class/net/{dut.ifname}")
    values = sysfs.read(dut, ["address"])
    assert values == {"address": dut.mac}
    # the helper's own sysfs did not spread over the host's /sys
    assert not os.path.exists(f"/sys/class/net/{dut.ifname}")
