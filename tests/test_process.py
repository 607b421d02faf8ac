"""The JSON-lines child protocol's Python side (pytest_xdpperf/process.py) against
small Python children: no root, no testbed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pytest_xdpperf import naming
from pytest_xdpperf.errors import ProgramFailed
from pytest_xdpperf.process import Program

# A child that speaks the protocol: "ready", then per command the number of bytes it
# wrote to stderr first (a chatty NF: libbpf warnings, its own messages).
CHATTY = r"""
import json, sys
print(json.dumps({"event": "ready"}), flush=True)
for line in sys.stdin:
    cmd, *args = line.split()
    if cmd == "flood":
        size = int(args[0])
        chunk = "x" * 1023 + "\n"
        for _ in range(size // 1024):
            sys.stderr.write(chunk)
        sys.stderr.flush()
        print(json.dumps({"flooded": size}), flush=True)
    elif cmd == "die":
        sys.stderr.write("fatal: the NF gave up\n")
        sys.exit(3)
"""


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDPPERF_RUN_DIR", str(tmp_path))
    return tmp_path


def chatty() -> Program:
    return Program("chatty", [sys.executable, "-c", CHATTY], ready_timeout=30)


def test_megabytes_on_stderr_mid_trial_do_not_stall_the_child(run_dir: Path) -> None:
    # a pipe holds 64 KiB: without a drain the child blocks in write() and the answer
    # never comes (seen as "no answer in 120 s"); 8 MiB is 128 pipes full
    with chatty() as child:
        assert child.command("flood 8388608", timeout=30) == {"flooded": 8388608}
        assert child.command("flood 1024", timeout=30) == {"flooded": 1024}
        log = child.log_path
        assert log.parent == Path(naming.run_dir(), "logs")
    assert not log.exists()  # a clean stop keeps no log


def test_a_failed_child_names_its_stderr_and_keeps_the_log(run_dir: Path) -> None:
    child = chatty()
    child.command("flood 4096", timeout=30)
    with pytest.raises(ProgramFailed, match="fatal: the NF gave up") as failed:
        child.command("die", timeout=30)
    assert str(child.log_path) in str(failed.value)
    child.stop()
    text = child.log_path.read_text()
    assert text.count("x" * 1023) == 4 and text.endswith("fatal: the NF gave up\n")
