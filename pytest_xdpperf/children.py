"""Starting child processes that cannot outlive this one, without preexec_fn.

pytest is multi-threaded (the reader threads of process.Program), and code run
between fork and exec in a threaded process (preexec_fn) can deadlock on a lock
another thread held at the fork. So everything a child needs is done by small
programs it execs through, given as an argument list (never a shell string):

    setpriv --pdeathsig KILL -- taskset -c CPUS [ENTER...] prog ARGS...

- setpriv sets the parent-death signal first, so every later stage has it; it
  survives each execve (none of these programs is set-user-ID or has file
  capabilities) and setns/unshare/mount, but not a change of user: a program that
  is to run as another user (memcached) gets it again after the change (`user=`);
- taskset keeps the child on the CPUs it measures on or stays off (`cpus=`);
- ENTER is how the host's Host.command reaches where the child works, a program
  that execs the rest (the veth testbed's `ip netns exec NS`, which enters the
  namespace and mounts a sysfs of its own there, and checks that it could).
None of them forks, so the pid Popen returns is the final program's.

The parent-death signal is sent when the *thread* that forked the child exits, so
children are started from the main thread only (start() refuses any other): it
lives as long as pytest. Each child gets its own process group (Ctrl-C at the
terminal goes to pytest, which stops its children in order) and is recorded in the
run note (runfile) from right after its fork until it was reaped, so `xdpperf
cleanup` can kill exactly it if pytest was killed in between.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import threading
from collections.abc import Collection, Sequence
from typing import Any

from . import runfile
from .errors import XdpperfError

RUN_MARK = "XDPPERF_RUNS"  # in every child's environment: the run ids it belongs to


def tool(name: str) -> str:
    """The path of a program the framework runs (iproute2's ip, util-linux's setpriv
    and taskset), or one line naming the package to install."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/bin/{name}", f"/usr/sbin/{name}", f"/bin/{name}", f"/sbin/{name}")
         if os.access(p, os.X_OK)), None)
    if not path:
        package = "iproute2" if name == "ip" else "util-linux"
        raise XdpperfError(f"{name} is not installed", f"install {package}")
    return path


def contained(argv: Sequence[str], *, cpus: Collection[int] | None = None,
              enter: Sequence[str] = (), user: str | None = None,
              death_signal: str = "KILL") -> list[str]:
    """`argv` run with a parent-death signal, on `cpus`, through `enter`, as `user`
    (each optional but the first); see the module docstring for the order."""
    out = [tool("setpriv"), "--pdeathsig", death_signal, "--"]
    if cpus:
        out += [tool("taskset"), "-c", ",".join(str(c) for c in sorted(cpus))]
    out += list(enter)
    if user:
        entry = pwd.getpwnam(user)
        # the change of user clears the parent-death signal: set it again after it
        out += [tool("setpriv"), f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}",
                "--clear-groups", "--pdeathsig", death_signal, "--"]
    return out + list(argv)


def _check_thread() -> None:
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError(
            "xdpperf starts its children from the main thread only: their parent-death "
            "signal fires when the thread that started them exits")


def start(argv: Sequence[str], name: str, **popen: Any) -> subprocess.Popen[Any]:
    """Popen(argv) in a process group of its own (unless start_new_session is asked
    for), recorded in the run note; pass the result to reaped() once it was waited for.
    `argv` should come from contained()."""
    _check_thread()
    env = dict(popen.pop("env", None) or os.environ)
    env[RUN_MARK] = ",".join(runfile.live_run_ids())
    if not popen.get("start_new_session"):
        popen.setdefault("process_group", 0)
    proc = subprocess.Popen(list(argv), env=env, **popen)
    runfile.record_child(proc.pid, name)
    return proc


def reaped(proc: subprocess.Popen[Any]) -> None:
    """The child has been waited for: out of the run note."""
    if proc.returncode is not None:
        runfile.forget_child(proc.pid)


def run(argv: Sequence[str], name: str, timeout: float,
        **popen: Any) -> subprocess.CompletedProcess[str]:
    """subprocess.run(argv, capture_output=True, text=True, timeout=timeout) through
    start(): killed (its group) on timeout, as subprocess.run kills the child."""
    proc = start(argv, name, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE, text=True, **popen)
    try:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill(proc)
            proc.communicate()
            raise
        except BaseException:
            kill(proc)
            proc.wait()
            raise
    finally:
        reaped(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def kill(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL the child's process group (it leads one), or the child if it does not."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, 9)
    except OSError:
        proc.kill()
