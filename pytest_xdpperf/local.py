"""The `local` traffic class: packets go on to the DUT's own stack.

Two kinds of measurement, as in the reference study:

- packet NFs with action=pass (`xdpperf.throughput`): a frame counts as
  forwarded when the DUT's stack got it, read from the stack's own counters
  (IPv4 InReceives, plus frames it dropped at once for a foreign destination
  MAC, the pure I/O variant "MAC swap, so the stack drops it early"); the NF's
  pass counter is recorded beside it and must agree;
- an application (`xdpperf.transactions`): memcached on the DUT, loaded from
  the tester by memaslap, with the NF in front; the result is transactions/s.

In XDP modes a passed frame is XDP_PASS; in the AF_XDP modes the NF copies it
into a veth pair inside the DUT's namespace (VethTestbed.reinjection), whose
other end has the DUT's MAC: that is how it reaches the stack.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import children
from .benchrecord import store
from .errors import XdpperfError
from .modes import Mode
from .nf import NfSpec, RunningNf
from .rfc2544 import TrialResult
from .schema import TRANSACTIONS, VERSIONS, identity
from .testbed.base import Host, NfProcess
from .trafficgen.base import Generator

SETTLE_TIMEOUT = 1.0    # s: the stack's counters stop moving after a trial within this
SETTLE_QUIET = 0.05     # s without change that means settled
MEMCACHED_PORT = 11211
APP_START_TIMEOUT = 10.0


# --- the stack's own counters ------------------------------------------------------------

@dataclass(frozen=True)
class StackSeen:
    """Frames the DUT's stack got: IPv4 datagrams it received, and frames it
    dropped at once because their destination MAC was not the interface's."""

    ip_in: int = 0
    otherhost: int = 0

    @property
    def total(self) -> int:
        return self.ip_in + self.otherhost

    def __sub__(self, other: StackSeen) -> StackSeen:
        return StackSeen(self.ip_in - other.ip_in, self.otherhost - other.otherhost)


def snmp_ip_in_receives(host: Host) -> int:
    """Ip: InReceives of the host's stack, by name (not by column)."""
    lines = [line.split() for line in host.read_proc("/proc/net/snmp").splitlines()
             if line.startswith("Ip:")]
    header, values = lines[0], lines[1]
    return int(values[header.index("InReceives")])


@dataclass
class StackCounters:
    """Reads what the DUT's stack got, on the interfaces it receives on."""

    testbed: Any
    mode: Mode

    def interfaces(self) -> list[str]:
        names = [self.testbed.dut.ifname]
        if not self.mode.in_kernel and hasattr(self.testbed, "reinjection_ifnames"):
            names.append(self.testbed.reinjection_ifnames[1])
        return names

    def read(self) -> StackSeen:
        dut = self.testbed.dut
        otherhost = sum(dut.link_stats(name)["rx_otherhost_dropped"]
                        for name in self.interfaces())
        return StackSeen(snmp_ip_in_receives(dut), otherhost)


def settled(counters: StackCounters, before: StackSeen, want: int,
            timeout: float = SETTLE_TIMEOUT) -> StackSeen:
    """What the stack got since `before`, once `want` arrived or the count stopped moving."""
    deadline = time.monotonic() + timeout
    seen = counters.read() - before
    while seen.total < want and time.monotonic() < deadline:
        time.sleep(SETTLE_QUIET)
        now = counters.read() - before
        if now == seen and now.total and time.monotonic() > deadline - timeout / 2:
            break
        seen = now
    return seen


# --- the NF with its way into the stack ---------------------------------------------------

@contextmanager
def passing_nf(testbed: Any, binary: Path, spec: NfSpec, mode: Mode) -> Iterator[RunningNf]:
    """The NF started so that what it passes reaches the DUT's stack in any mode."""
    with contextlib.ExitStack() as stack:
        pass_ifname = None
        if not mode.in_kernel:
            if not hasattr(testbed, "reinjection"):
                raise XdpperfError(
                    f"the testbed cannot re-inject frames into the DUT's stack in mode "
                    f"{mode.name}", "use the built-in veth testbed, or an XDP mode")
            pass_ifname = stack.enter_context(testbed.reinjection())
        yield stack.enter_context(testbed.start_nf(binary, spec, mode, pass_ifname))


# --- throughput: the search's trial -----------------------------------------------------

@dataclass
class LocalMeasurer:
    """Callable (rate, duration) -> TrialResult: offered frames vs frames the stack got."""

    generator: Generator
    counters: StackCounters
    nf_stats: Callable[[], dict[str, Any]]
    history: list[TrialResult] = field(default_factory=list)

    def __call__(self, rate: float, duration: float) -> TrialResult:
        stack0, nf0 = self.counters.read(), self.nf_stats()
        offered = self.generator.offer(rate, duration)
        seen = settled(self.counters, stack0, offered.sent)
        nf1 = self.nf_stats()
        passed = nf1["pass"] - nf0["pass"]
        extra: dict[str, Any] = {
            "sent": offered.sent,
            "offered_rate": offered.offered_rate,
            "late": offered.late,
            "stack_ip_in": seen.ip_in,
            "stack_otherhost_dropped": seen.otherhost,
            "nf_pass": passed,
            "nf_reinjected": nf1.get("reinjected", 0) - nf0.get("reinjected", 0),
            "nf_reinject_failed": nf1.get("reinject_failed", 0) - nf0.get("reinject_failed", 0),
            # every frame the NF passed reached the stack, and nothing else did
            "counters_agree": passed == seen.total,
        }
        result = TrialResult(
            intended_load=rate,
            intended_duration=duration,
            offered=offered.sent,
            forwarded=min(seen.total, offered.sent),
            offered_duration=offered.offered_duration,
            tester_overflow=offered.tester_overflow,
            intended_count=offered.intended_count,
            extra=extra,
        )
        self.history.append(result)
        return result


# --- an application on the DUT -----------------------------------------------------------

def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if not path:
        raise XdpperfError(f"{name} is not installed", f"run ci/setup (Debian package {package})")
    return path


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            children.kill(proc)
            proc.wait()
    children.reaped(proc)


@contextmanager
def memcached(dut: Host, port: int = MEMCACHED_PORT, threads: int = 1,
              memory_mb: int = 64, evict: bool = True) -> Iterator[subprocess.Popen[str]]:
    """memcached on the DUT (on its CPUs), bound to the DUT's address, with
    `memory_mb` [MiB] for items; when full it evicts, or (evict=False) refuses stores
    with SERVER_ERROR. Stopped after the body, killed with this process if it dies first."""
    argv = [_tool("memcached", "memcached"), "-l", dut.ip, "-p", str(port), "-U", "0",
            "-t", str(threads), "-m", str(memory_mb), "-c", "4096",
            *([] if evict else ["-M"])]
    # as nobody from the start (not memcached's own -u, whose change of user would
    # clear the parent-death signal)
    proc = children.start(dut.command(argv, cpus=dut.cpus, user="nobody"), "memcached",
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    try:
        _wait_listening(dut, port, proc)
        yield proc
    finally:
        _stop(proc)


def _wait_listening(dut: Host, port: int, proc: subprocess.Popen[str]) -> None:
    """Until memcached accepts a connection from inside the DUT (not through the NF)."""
    deadline = time.monotonic() + APP_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            raise XdpperfError(f"memcached exited at start (status {proc.returncode}): "
                               f"{err.strip()[:300]}", "is the port taken? see the message")
        with dut.sockets():
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(0.5)
            sock.connect((dut.ip, port))
            return
        except OSError:
            time.sleep(0.05)
        finally:
            sock.close()
    _stop(proc)
    raise XdpperfError(f"memcached did not listen on {dut.ip}:{port} within "
                       f"{APP_START_TIMEOUT:.0f} s", "see memcached's own messages")


# memaslap's workload, written to its -F file (its own default, stated here so that
# it does not write ~/.memslap.cnf): key and value sizes [bytes], commands' shares
MEMASLAP_KEY_BYTES = 64
MEMASLAP_VALUE_BYTES = 1024
MEMASLAP_SET_SHARE, MEMASLAP_GET_SHARE = 0.1, 0.9
# the share of gets memaslap compares byte for byte with the value it stored
# (--verify; a memcmp of MEMASLAP_VALUE_BYTES per verified get)
VERIFY_SHARE = 0.01
STAT_PERIOD = 1  # s: memaslap's periodic table (-S), printed only while every connection lives


def memaslap_config() -> str:
    """memaslap's -F file: one key size, one value size, the set and get shares."""
    return (f"key\n{MEMASLAP_KEY_BYTES} {MEMASLAP_KEY_BYTES} 1\n"
            f"value\n{MEMASLAP_VALUE_BYTES} {MEMASLAP_VALUE_BYTES} 1\n"
            f"cmd\n0 {MEMASLAP_SET_SHARE}\n1 {MEMASLAP_GET_SHARE}\n")


@dataclass(frozen=True)
class Transactions:
    """What a memaslap run reported: operations, their rate, and the failures.

    `problems` maps each kind of failure to its count (see parse_memaslap); `errors`
    is their sum."""

    seconds: float
    operations: int
    tps: float
    get_misses: int
    errors: int
    raw: dict[str, Any]
    problems: dict[str, int] = field(default_factory=dict)

    @property
    def problem(self) -> str:
        """The failures in one line ('' if none), with an example of memaslap's own words."""
        examples = self.raw.get("examples", {})
        parts = []
        for kind, count in self.problems.items():
            text = f"{count} {PROBLEMS[kind]}"
            if examples.get(kind):
                text += f" ({'' if count == 1 else 'e.g. '}{examples[kind]!r})"
            parts.append(text)
        return "; ".join(parts)


# What memaslap (libmemcached 1.1.4, contrib/bin/memaslap, ASCII over TCP) shows of a
# failure, and what it means; a kind counts every occurrence.
PROBLEMS = {
    # ms_ascii_process_line prints "<fd REPLY" on stdout for each of these replies
    "SERVER_ERROR": "SERVER_ERROR replies",
    "CLIENT_ERROR": "CLIENT_ERROR replies (the server could not read a request)",
    "ERROR": "ERROR replies (the server did not know a command)",
    "NOT_STORED": "NOT_STORED replies to sets",
    "EXISTS": "EXISTS replies to sets",
    # a line memaslap could not read: silent, but then no set is ever STORED, and
    # memaslap gets only items it stored, so it sends no get at all
    "sets_not_stored": "sets never STORED, so no get was sent (unrecognised replies)",
    # memaslap gets only items the server answered STORED for: a miss lost one
    "get_misses": "gets of items the server had STORED came back empty (evicted or lost)",
    # --verify: a verified get returned other bytes than were stored
    "verify_failed": "verified gets returned wrong data",
    # the periodic table (-S) is printed only while every connection is open; a
    # connection closed by the server is closed silently (no --reconnect)
    "connections_lost": "run with connections closed by the server before the end "
                        "(memaslap's periodic report, printed only while all are open, "
                        "stopped)",
    # its own messages on stderr about the network
    "network": "network failures memaslap printed",
    "warmup_sets_failed": "warm-up sets not STORED",
}
_REPLY = re.compile(r"^<\d+ (SERVER_ERROR|CLIENT_ERROR|ERROR|NOT_STORED|EXISTS)\b.*$",
                    re.MULTILINE)
_WARMUP_FAILED = re.compile(r"^key: [0-9a-f]+ didn't set success$", re.MULTILINE)
# its network messages (ms_conn.c, ms_thread.c): on stderr, one per failure
_NETWORK = re.compile(r"^(Server \S+ disconnect|Server \S+ reconnect after|"
                      r"Failed to write|Invalid magic|Couldn't update event|Catastrophic|"
                      r"socket\(\) error|getaddrinfo\(\)|Initializing connection failed).*$",
                      re.MULTILINE)
# memaslap's final report: "Run time: 5.0s Ops: 123456 TPS: 24691 Net_rate: 2.0M/s"
_FINAL = re.compile(r"Run time:\s*([\d.]+)s\s+Ops:\s*(\d+)\s+TPS:\s*(\d+)")
_FIELD = re.compile(r"^\s*(\w+):\s*(\d+)\s*$", re.MULTILINE)
# its periodic table's cumulative line: "Global   <seconds> <ops> <tps> ..."
_GLOBAL = re.compile(r"^Global\s+(\d+)\s+\d+\s", re.MULTILINE)
_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # the periodic table clears the terminal
# the final per-command summary with -S: "Total Statistics (61988 events)", answers
_EVENTS = re.compile(r"^(Get|Set|Total) Statistics \((\d+) events\)", re.MULTILINE)


def parse_memaslap(out: str, err: str = "", run_seconds: int | None = None) -> Transactions:
    """Read memaslap's report (stdout `out`, stderr `err`) by its labels; an
    XdpperfError if it has none. With `run_seconds`, the -t [s] of a run with
    -S STAT_PERIOD: its periodic table must have been printed to the end."""
    final = list(_FINAL.finditer(out))
    if not final:
        raise XdpperfError("memaslap printed no final report",
                           f"its output ends with: {(out + err).strip()[-300:]!r}")
    seconds, ops, tps = final[-1].groups()
    fields = {k: int(v) for k, v in _FIELD.findall(out)}
    problems: dict[str, int] = {}
    examples: dict[str, str] = {}

    def add(kind: str, count: int, example: str = "") -> None:
        if count > 0:
            problems[kind] = problems.get(kind, 0) + count
            examples.setdefault(kind, example[:120])

    for match in _REPLY.finditer(out):
        add(match.group(1), 1, match.group(0))
    for match in _WARMUP_FAILED.finditer(out):
        add("warmup_sets_failed", 1, match.group(0))
    for match in _NETWORK.finditer(err):
        add("network", 1, match.group(0))
    add("get_misses", fields.get("get_misses", 0))
    add("verify_failed", fields.get("verify_failed", 0))
    events = {name.lower(): int(n) for name, n in _EVENTS.findall(out)}
    cmd_get, cmd_set = fields.get("cmd_get", 0), fields.get("cmd_set", 0)
    if cmd_set and not cmd_get and MEMASLAP_GET_SHARE > 0:
        replied = sum(problems.get(k, 0) for k in ("SERVER_ERROR", "CLIENT_ERROR", "ERROR",
                                                   "NOT_STORED", "EXISTS"))
        # the sets answered (-S; each connection's last one is sent but not yet
        # answered at the end) that no error reply explains; at least one if none did
        unexplained = events.get("set", cmd_set) - replied
        add("sets_not_stored", unexplained if unexplained > 0 else int(not replied))
    last = max((int(s) for s in _GLOBAL.findall(out)), default=0)
    if run_seconds is not None and last < run_seconds:
        add("connections_lost", 1, f"last periodic report at {last} s of {run_seconds} s")
    errors = sum(problems.values())
    return Transactions(float(seconds), int(ops), float(tps), fields.get("get_misses", 0),
                        errors, {"fields": fields, "answered": events, "examples": examples,
                                 "tail": _ESCAPE.sub("", out + err).strip()[-2000:]}, problems)


def memaslap(tester: Host, server: str, port: int, duration: float, threads: int = 1,
             concurrency: int = 16) -> Transactions:
    """memaslap (Debian's memcaslap) on the tester: `concurrency` clients over
    `threads` threads, random keys, for `duration` seconds (whole, at least 1); a
    share of gets verified, the periodic table on to tell closed connections."""
    seconds = max(1, round(duration))
    with tempfile.TemporaryDirectory(prefix="xdpperf-memaslap-") as tmp:
        config = Path(tmp) / "memaslap.cnf"
        config.write_text(memaslap_config())
        argv = [_tool("memcaslap", "libmemcached-tools"), "-s", f"{server}:{port}",
                "-T", str(threads), "-c", str(concurrency), "-t", f"{seconds}s",
                "-F", str(config), f"--verify={VERIFY_SHARE}", "-S", f"{STAT_PERIOD}s"]
        try:
            result = children.run(tester.command(argv, cpus=tester.cpus), "memaslap",
                                  timeout=duration * 3 + 30)
        except subprocess.TimeoutExpired as exc:
            raise XdpperfError(f"memaslap did not finish within {exc.timeout:.0f} s",
                               "is the DUT answering? try a shorter duration") from None
    if result.returncode != 0 and not _FINAL.search(result.stdout):
        # e.g. nothing listening: it exits 1 after its settings, saying nothing more
        raise XdpperfError(f"memaslap exited with status {result.returncode} before its "
                           f"final report", f"is a server listening on {server}:{port}? "
                           f"its output ends with: {result.stdout.strip()[-200:]!r}")
    return parse_memaslap(result.stdout, result.stderr, seconds)


# --- transactions: an application behind the NF -------------------------------------------

APPS = ("memcached",)
# 2: problems, problem; errors from memaslap's real output.  3: xdpperf_kind
# "transactions" and xdpperf_schema (schema.py), the shared identity block (traffic None);
# the schema is pytest_xdpperf/schemas/transactions.json.
APP_RECORD_VERSION = VERSIONS[TRANSACTIONS]


@dataclass
class AppMeasurement:
    """Transactions/s of an application on the DUT with an NF in front of it."""

    nf: NfSpec
    mode: Mode
    app: str
    load: dict[str, Any]
    result: Transactions
    nf_stats: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def tps(self) -> float:
        return self.result.tps

    @property
    def errors(self) -> int:
        return self.result.errors

    @property
    def problem(self) -> str:
        """The application's failures in one line, '' if none."""
        return self.result.problem

    def extra_info(self) -> dict[str, Any]:
        return {
            # no generator traffic: memaslap's load is under "load"
            **identity(TRANSACTIONS, self.nf, self.mode, "local", None),
            "app": self.app,
            "load": self.load,
            "metric": "transactions_per_second",
            "tps": self.result.tps,
            "operations": self.result.operations,
            "seconds": self.result.seconds,
            "errors": self.result.errors,
            "problems": dict(self.result.problems),
            "problem": self.result.problem,
            "get_misses": self.result.get_misses,
            "nf_counters": self.nf_stats,
            "notes": self.notes,
        }


def check_app(app: str) -> None:
    if app not in APPS:
        raise XdpperfError(f"unknown application '{app}'", f"use one of {', '.join(APPS)}")


def measure_memcached(testbed: Any, running: NfProcess, mode: Mode, duration: float,
                      threads: int, concurrency: int) -> tuple[Transactions, dict[str, Any]]:
    """memcached on the DUT behind `running`, memaslap on the tester; the NF's counter
    deltas over the run come back with the result."""
    with memcached(testbed.dut):
        before = running.stats()
        result = memaslap(testbed.tester, testbed.dut.ip, MEMCACHED_PORT, duration,
                          threads=threads, concurrency=concurrency)
        after = running.stats()
    counts = {k: after[k] - before[k] for k in ("rx", "drop", "tx", "pass", "redirect",
                                                 "aborted", "reinjected", "reinject_failed")}
    return result, counts


def record_transactions(benchmark: Any, measurement: AppMeasurement) -> None:
    """One pytest-benchmark record: seconds per transaction (so `ops` reads as
    transactions/s), everything else in extra_info; as results.record does."""
    store(benchmark, measurement.extra_info(),
          [1.0 / measurement.tps] if measurement.tps > 0 else [])
