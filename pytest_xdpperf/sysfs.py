"""An interface's sysfs settings on a host, through a helper process run there.

/sys/class/net shows the devices of the namespace that mounted that sysfs, so the
reads and writes run in a child the host starts (Host.command); on the veth
testbed's namespaces:

    setpriv --pdeathsig KILL -- ip netns exec NS python -m pytest_xdpperf.sysfs \\
        read|apply|restore IFNAME ATTR[=VALUE]...

`ip netns exec` enters the namespace, makes the mount tree a slave of the host's
and mounts a sysfs of the namespace on /sys, checking each step (it fails rather
than run the command with the host's /sys); nothing is forked from pytest itself.
The helper prints one JSON object on stdout: {"values": {attr: value}} or
{"problem": ..., "fix": ...} (an XdpperfError, raised again in the caller). A helper
that dies or prints anything else is a one-line XdpperfError naming its status and
its last line of stderr.

The all-or-nothing logic (modes.apply_values) runs inside the helper, with the
helper's real reads and writes, so one apply is one process.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from . import children
from .errors import XdpperfError

if TYPE_CHECKING:
    from .testbed.base import Host

SYSFS_NET = "/sys/class/net"
HELPER_TIMEOUT_S = 30.0
# the helper's own command line (tests replace it with one that dies)
HELPER: list[str] = [sys.executable, "-m", "pytest_xdpperf.sysfs"]


def read_value(path: str) -> str:
    """A sysfs/procfs value, stripped."""
    with open(path) as f:
        return f.read().strip()


def write_value(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


# --- the caller's side ------------------------------------------------------------------

def _status(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


def answer(where: str, returncode: int, stdout: str, stderr: str,
           fix: str = "nothing was changed") -> dict[str, str]:
    """The helper's values from what it printed, or an XdpperfError (one line); `fix`
    says what a helper that died may have left."""
    try:
        doc = json.loads(stdout)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and "problem" in doc:
        raise XdpperfError(str(doc["problem"]), str(doc.get("fix", "")))
    if returncode == 0 and isinstance(doc, dict) and isinstance(doc.get("values"), dict):
        return {str(k): str(v) for k, v in doc["values"].items()}
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    said = f": {lines[-1][:200]}" if lines else ""
    raise XdpperfError(f"the sysfs helper in {where} failed ({_status(returncode)})"
                       f"{said}", f"run as root with iproute2 installed; {fix}")


def call(host: Host, op: str, items: Sequence[str]) -> dict[str, str]:
    """Run the helper on `host` for its interface: op is read (items: attributes),
    apply or restore (items: attr=value)."""
    argv = host.command([*HELPER, op, host.ifname, *items])
    try:
        run = children.run(argv, "sysfs-helper", timeout=HELPER_TIMEOUT_S)
    except OSError as exc:
        raise XdpperfError(f"cannot start the sysfs helper: {exc}",
                           "install iproute2 and util-linux") from None
    fix = ("nothing was changed" if op == "read" else
           f"check {SYSFS_NET}/{host.ifname}/ in {host} by hand")
    return answer(str(host), run.returncode, run.stdout, run.stderr, fix)


def read(host: Host, attrs: Sequence[str]) -> dict[str, str]:
    """The current values of `attrs` of the host's interface."""
    return call(host, "read", list(attrs))


def apply(host: Host, values: Mapping[str, str]) -> dict[str, str]:
    """Write `values`, all or nothing (modes.apply_values); the values they replaced."""
    return call(host, "apply", [f"{k}={v}" for k, v in values.items()])


def restore(host: Host, values: Mapping[str, str]) -> None:
    """Write `values`, trying each even if one fails (modes.restore_values)."""
    call(host, "restore", [f"{k}={v}" for k, v in values.items()])


# --- the helper's side ------------------------------------------------------------------

def _serve(argv: Sequence[str]) -> dict[str, str]:
    from .modes import apply_values, restore_values  # modes imports this module

    if len(argv) < 2 or argv[0] not in ("read", "apply", "restore"):
        raise XdpperfError("usage: python -m pytest_xdpperf.sysfs read|apply|restore "
                           "IFNAME ATTR[=VALUE]...", "called by pytest_xdpperf.sysfs.call")
    op, ifname, items = argv[0], argv[1], list(argv[2:])
    if "/" in ifname or ifname in (".", "..") or any("/" in i for i in items):
        raise XdpperfError(f"bad interface or attribute name in {argv[1:]}",
                           "names of an interface and its attributes only")
    base = os.path.join(SYSFS_NET, ifname)
    if op == "read":
        return {attr: read_value(os.path.join(base, attr)) for attr in items}
    values = dict(item.split("=", 1) for item in items)
    if op == "apply":
        return apply_values(ifname, values, lambda a: read_value(os.path.join(base, a)),
                            lambda a, v: write_value(os.path.join(base, a), v))
    restore_values(ifname, values, lambda a, v: write_value(os.path.join(base, a), v))
    return {}


def main(argv: Sequence[str]) -> int:
    try:
        values = _serve(argv)
    except XdpperfError as exc:
        print(json.dumps({"problem": exc.problem, "fix": exc.fix}))
        return 1
    except OSError as exc:
        print(json.dumps({"problem": f"cannot read {exc.filename}: {exc.strerror}",
                          "fix": "is the interface in this namespace?"}))
        return 1
    print(json.dumps({"values": values}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
