"""A C program of ours run as a child: one JSON line per answer on stdout.

Both the NFs and the built-in generator speak this protocol (see
nfs/common/xdpperf.h). Closing stdin tells the child to detach and exit. If this
Python process dies the child follows it: it sees EOF on stdin, and it has SIGTERM
as its parent-death signal (children.contained), which makes it detach and exit
the same orderly way; `xdpperf cleanup` kills it by its pid in the run note if
even that failed.

The child's stderr is drained as it is written, by a thread of its own, into a log
file (naming.run_dir()/logs/<name>-<pid>.log) and a tail kept in memory: a chatty
child (libbpf warnings, an NF's own messages) can never fill the pipe and block
mid-trial. A child that fails has its log kept and named in the error; one that
stops cleanly has it removed.
"""

from __future__ import annotations

import collections
import json
import os
import queue
import signal
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from . import children, naming
from .errors import ProgramFailed

if TYPE_CHECKING:
    from .testbed.base import Host

READY_TIMEOUT = 20.0
ANSWER_TIMEOUT = 120.0
STDERR_TAIL_LINES = 50  # of a failed child's stderr shown in its error (all is in the log)


class Program:
    """A running C program; use as a context manager or call stop()."""

    def __init__(self, name: str, argv: Sequence[str], ready_timeout: float | None = None,
                 host: Host | None = None):
        """Start the child (on `host`, Host.command; default here) and wait for its
        ready line: at most `ready_timeout` s (default READY_TIMEOUT, read at the
        call), else it is stopped and this fails."""
        self.name = name
        self.argv = list(argv)
        self._lock = threading.Lock()
        # TERM, not KILL: our programs detach their XDP programs on SIGTERM
        self.proc = children.start(
            host.command(self.argv, death_signal="TERM") if host is not None
            else children.contained(self.argv, death_signal="TERM"),
            name,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            start_new_session=True,  # Ctrl-C goes to pytest, which stops us in order
        )
        # A reader thread, so a wait never misses a line already buffered.
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read_lines, name=f"{name}-stdout", daemon=True).start()
        self._tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self.log_path = Path(naming.run_dir(), "logs", f"{name}-{self.proc.pid}.log")
        self._log: IO[str] | None = None
        try:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "w")  # noqa: SIM115 (open as long as the child)
        except OSError:
            pass  # no log file: the tail in memory still says what it wrote
        self._stderr_done = threading.Event()
        threading.Thread(target=self._drain_stderr, name=f"{name}-stderr", daemon=True).start()
        try:
            self.ready: dict[str, Any] = self._read_answer(
                READY_TIMEOUT if ready_timeout is None else ready_timeout, "start")
        except BaseException:
            self.stop()
            raise
        if self.ready.get("event") != "ready":
            self.stop()
            raise ProgramFailed(f"{self.name} did not start: {self.ready}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        try:
            for line in self.proc.stderr:
                self._tail.append(line)
                if self._log is not None:
                    self._log.write(line)
                    self._log.flush()
        except (OSError, ValueError):  # closed by stop()
            pass
        finally:
            self._stderr_done.set()

    def _stderr(self) -> str:
        """The tail of what the (exited) child wrote to stderr, and where all of it is."""
        if self.alive():
            return ""
        self._stderr_done.wait(timeout=5)
        text = "".join(self._tail).strip()
        if text and self._log is not None:
            text += f" (its whole stderr: {self.log_path})"
        return text

    def _exit_status(self) -> str:
        code = self.proc.returncode
        if code is not None and code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit status {code}"

    def _read_lines(self) -> None:
        assert self.proc.stdout is not None
        try:
            for line in self.proc.stdout:
                self._lines.put(line)
        except (OSError, ValueError):  # closed by stop()
            pass
        self._lines.put("")  # EOF

    def _read_answer(self, timeout: float, what: str) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            raise ProgramFailed(
                f"{self.name} gave no answer to '{what}' in {timeout:.0f} s"
            ) from None
        if not line:
            self.proc.wait(timeout=5)
            message = self._stderr() or self._exit_status()
            raise ProgramFailed(f"{self.name} exited: {message}")
        try:
            answer: dict[str, Any] = json.loads(line)
        except json.JSONDecodeError:
            raise ProgramFailed(f"{self.name} answered '{what}' with non-JSON: {line!r}") from None
        return answer

    def command(self, line: str, timeout: float = ANSWER_TIMEOUT) -> dict[str, Any]:
        """Send one command and return its answer; an {"error": ...} answer raises."""
        with self._lock:
            if not self.alive():
                raise ProgramFailed(
                    f"{self.name} exited: {self._stderr() or self._exit_status()}"
                )
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write(line + "\n")
                self.proc.stdin.flush()
            except BrokenPipeError:
                self.proc.wait(timeout=5)
                raise ProgramFailed(
                    f"{self.name} exited: {self._stderr() or self._exit_status()}"
                ) from None
            answer = self._read_answer(timeout, line.split()[0])
        if "error" in answer:
            raise ProgramFailed(f"{self.name}: {answer['error']}")
        return answer

    def stop(self, timeout: float = 10.0) -> int:
        """Ask the program to detach and exit; kill it if it does not."""
        if self.alive():
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()  # EOF: the program's own orderly exit
            except OSError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        children.reaped(self.proc)
        self._stderr_done.wait(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
        if self._log is not None:
            self._log.close()
            if self.proc.returncode == 0:  # a clean stop: nothing to keep
                self.log_path.unlink(missing_ok=True)
        return self.proc.returncode

    def __enter__(self) -> Program:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
