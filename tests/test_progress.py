"""The live progress line: one self-overwriting line on a terminal, nothing otherwise."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pytest_xdpperf.progress import CLEAR_LINE, UP, ProgressLine
from pytest_xdpperf.rfc2544 import TrialResult

TRIAL = TrialResult(1.5e6, 0.5, offered=750_000, forwarded=749_250, offered_duration=0.5)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_quiet_when_not_a_terminal() -> None:
    line = ProgressLine(None)
    assert not line.enabled
    with line.running("xdp macswap"):
        line.trial("search", TRIAL)
        line.show("anything")
    assert line.trials == 1  # still counted, just not shown


def test_one_self_overwriting_line() -> None:
    out, clock, suspended = io.StringIO(), Clock(), []

    @contextmanager
    def suspend() -> Iterator[None]:
        suspended.append(True)
        yield

    line = ProgressLine(out, width=200, column=lambda: 7, suspend=suspend, clock=clock)
    line.start("xdp macswap(action=drop)")
    clock.now += 12.4
    line.trial("search", TRIAL)
    line.trial("confirm", TrialResult(1e6, 1.0, 900, 900, 1.0))  # unsent: tester-limited
    text = out.getvalue()
    first, second = text.split(CLEAR_LINE)
    assert first == ("\nxdp macswap(action=drop) search trial 1: 1.500 Mpps x 0.5 s, "
                     "loss 0.1000%  [12 s]")
    assert second.startswith("xdp macswap(action=drop) confirm trial 2: 1.000 Mpps x 1 s")
    assert "tester-limited" in second and "\n" not in second
    line.finish()
    # erased, and the cursor back at column 7 of the line above, where it was
    assert out.getvalue() == text + CLEAR_LINE + UP + "\033[7C"
    assert len(suspended) == 3  # pytest's capture lifted around every write
    line.finish()  # twice is harmless
    assert out.getvalue() == text + CLEAR_LINE + UP + "\033[7C"


def test_line_is_cut_to_the_terminal_and_restarts() -> None:
    out = io.StringIO()
    line = ProgressLine(out, width=30)
    line.show("x" * 100)
    assert out.getvalue() == "\n" + "x" * 29
    line.finish()
    assert out.getvalue().endswith(CLEAR_LINE + UP)  # column 0: no move right
    with pytest.raises(RuntimeError), line.running("again"):
        line.show("y")
        raise RuntimeError
    assert out.getvalue().endswith("\ny" + CLEAR_LINE + UP)  # finished on the way out


SUITE = textwrap.dedent('''
    def test_progress(xdpperf_progress):
        with xdpperf_progress.running("xdp macswap"):
            xdpperf_progress.show("first step")
            xdpperf_progress.show("second step")
        print("captured as usual")
''')


def run_suite(tmp_path: Path, tty: bool) -> str:
    (tmp_path / "test_suite.py").write_text(SUITE)
    cmd = [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "--color=no",
           str(tmp_path / "test_suite.py")]
    if not tty:
        run = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        return run.stdout + run.stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=slave, env={**os.environ, "COLUMNS": "120"})
    os.close(slave)
    chunks = []
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        assert proc.wait(timeout=120) == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


def test_pytest_on_a_terminal_shows_the_line(tmp_path: Path) -> None:
    out = run_suite(tmp_path, tty=True)
    assert "\nfirst step" in out
    assert CLEAR_LINE + "second step" in out
    # erased, cursor back up on the test's line, where pytest then writes PASSED
    after = out.split("second step", 1)[1]
    assert after.startswith(CLEAR_LINE + UP + "\033[")
    assert "PASSED" in after
    assert "captured as usual" not in out  # capture still worked for the test itself


def test_pytest_without_a_terminal_is_quiet(tmp_path: Path) -> None:
    out = run_suite(tmp_path, tty=False)
    assert "PASSED" in out
    assert "step" not in out and "\033[" not in out


def test_a_callback_gets_every_line() -> None:
    seen: list[str] = []
    line = ProgressLine(None, callback=seen.append)
    assert line.enabled
    with line.running("xdp macswap"):
        line.trial("search", TRIAL)
        line.trial("mfr", TRIAL)
    assert [s.split(":")[0] for s in seen] == [
        "xdp macswap search trial 1", "xdp macswap mfr trial 2"]
