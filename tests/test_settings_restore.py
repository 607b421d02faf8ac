"""Exact cleanup of interface settings: a run notes each setting it changes with the
value it had, before it writes it, until it is put back; `xdpperf cleanup` puts back
what a dead run left changed (on a testbed whose interfaces outlive the run - on
veth the namespace goes with them, but the mechanism is the same)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from pytest_xdpperf import cleanup, runfile, sysfs
from pytest_xdpperf.modes import MODES, SYSC_SYSFS, applied
from pytest_xdpperf.testbed.veth import VethTestbed

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, sysfs)"),
]
ATTR = "napi_defer_hard_irqs"


def note_of(bed: VethTestbed) -> dict:
    return json.loads(Path(runfile.path_of(bed.run_id)).read_text())


def test_a_changed_setting_is_in_the_run_note_until_it_is_back() -> None:
    bed = VethTestbed.create()
    try:
        before = sysfs.read(bed.dut, list(SYSC_SYSFS))
        with applied(MODES["af_xdp-sysc"], bed.dut):
            noted = {e["attr"]: e for e in note_of(bed)["settings"]}
            assert set(noted) == set(SYSC_SYSFS)
            assert {a: e["old"] for a, e in noted.items()} == before
            assert all(e["netns"] == bed.dut.netns and e["ifname"] == bed.dut.ifname
                       for e in noted.values())
        assert note_of(bed)["settings"] == []
    finally:
        bed.destroy()


def test_cleanup_puts_back_what_a_dead_run_left_changed(tmp_path: Path) -> None:
    bed = VethTestbed.create()
    dead = Path(runfile.path_of("0dead0"))
    try:
        old = sysfs.read(bed.dut, [ATTR])[ATTR]
        sysfs.apply(bed.dut, {ATTR: "7"})  # what a killed run did
        gone = subprocess.Popen(["true"])
        gone.wait()  # a pid that ran and is no more: the dead run's owner
        runfile._write(str(dead), {
            "pid": gone.pid, "create_time": 1.0, "netns": [bed.dut.netns], "ifnames": [],
            "children": [], "settings": [{"netns": bed.dut.netns, "ifname": bed.dut.ifname,
                                          "attr": ATTR, "old": old}]})
        assert f"setting {ATTR} changed on {bed.dut.ifname} in {bed.dut.netns} (was {old})" \
            in cleanup.leftovers()
        done = cleanup._restore_settings(False, {bed.dut.netns})
        assert done == [f"{ATTR}={old} on {bed.dut.ifname} in {bed.dut.netns}"]
        assert sysfs.read(bed.dut, [ATTR])[ATTR] == old
        # the live run's own note is not a dead run's: nothing of it is put back
        assert cleanup._restore_settings(False, {bed.dut.netns}) == done  # only the dead
    finally:
        dead.unlink(missing_ok=True)
        bed.destroy()
