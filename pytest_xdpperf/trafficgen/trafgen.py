"""netsniff-ng's trafgen as a second, external generator (`--xdpperf-generator trafgen`).

trafgen sends through an AF_PACKET TX ring (send path "stack"): the testbed counts
what reached the DUT in its link counters, not in the XDP redirect counters the
built-in generator's frames go through, and a frame the DUT's full ring refused is
taken back into the ring and sent again, so none is lost before the NF. Its frames
carry no xdpperf stamp (`stamps` False): the calibration's no-op sink counts every
frame. trafgen does not receive (`receives` False): it measures drop-class NFs;
passthrough and latency measurements refuse it, and the calibration skips the
round trip (its reflector loss table stays empty).

One trafgen run per trial, pinned to the tester's first CPU in its namespace:
paced trials give `--rate <pps> --num <frames>` and wait for it to finish; a
flat-out trial runs it for the trial's duration and stops it with SIGINT, its
orderly stop. Its own statistics give what it sent and for how long (the
`N sec, M usec on CPU0 (K packets)` line); the testbed's counters cross-check it.

trafgen's --rate paces in one-second windows: each second it sends that second's
frames as fast as it can, then waits for the next (measured here: 100,000 frames at
50,000 pps took 2.03 s; 150,000 at 100,000 pps 1.15 s, the last half-window a burst;
its --gap mode costs ~45 us a frame, too slow to pace with). So a paced trial is a
fair average only over whole seconds: `min_trial_duration` 1 s makes the searches'
initial trials last that long, and --xdpperf-trial-duration should be whole seconds with this
generator. A shorter trial's last window is a burst that beats the intended rate by
more than 1%, and the framework's own check flags it tester_limited (not the DUT's
result); within each second the DUT sees bursts at the tester's speed, not a
constant rate as RFC 2544 asks, so a slow NF may lose frames to them that a paced
generator would not show.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from .. import children
from ..build import Builder
from ..errors import XdpperfError
from ..testbed.base import Testbed
from .base import Offered, TrafficProfile

OUTGOING = re.compile(r"(\d+) packets outgoing")
ON_CPU = re.compile(r"(\d+) sec, (\d+) usec on CPU\d+ \((\d+) packets\)")
STOP_TIMEOUT = 10.0  # s for trafgen to print its statistics after SIGINT
START_SLACK = 10.0   # s beyond a paced trial's own duration before it is killed


def trafgen_path() -> str:
    path = shutil.which("trafgen") or next(
        (p for p in ("/usr/sbin/trafgen", "/usr/bin/trafgen") if os.access(p, os.X_OK)), None)
    if not path:
        raise XdpperfError("--xdpperf-generator trafgen: trafgen is not installed",
                           "install netsniff-ng (apt install netsniff-ng)")
    return path


def config(frame: bytes) -> str:
    """trafgen's packet configuration for one fixed frame."""
    return "{ " + ", ".join(f"0x{b:02x}" for b in frame) + " }\n"


def parse(out: str) -> tuple[int, float]:
    """(frames sent, seconds it sent for) from trafgen's statistics on exit."""
    sent, on_cpu = OUTGOING.search(out), ON_CPU.findall(out)
    if sent is None or not on_cpu:
        raise ValueError("no statistics")
    seconds = max(int(s) + int(us) / 1e6 for s, us, _ in on_cpu)
    return int(sent.group(1)), seconds


class TrafgenGenerator:
    """trafgen on the tester host, offering one flow of `profile` per trial."""

    send_path = "stack"
    stamps = False
    receives = False
    min_trial_duration = 1.0  # its --rate paces in one-second windows

    def __init__(self, testbed: Testbed, profile: TrafficProfile):
        if profile.flows != 1 or profile.order != "sequential":
            raise XdpperfError(f"--xdpperf-generator trafgen offers one fixed flow, not "
                               f"{profile.flows} {profile.order} flows",
                               "use the built-in generator for multi-flow profiles")
        self.profile = profile
        self.testbed = testbed
        self.binary = trafgen_path()
        tester, dut = testbed.tester, testbed.dut
        frame = profile.frame(tester.mac, dut.mac, tester.ip, dut.ip)
        with tempfile.NamedTemporaryFile("w", prefix="xdpperf-trafgen-", suffix=".cfg",
                                         delete=False) as f:
            f.write(config(frame))
            self.conf = f.name

    def _argv(self, rate: float, count: int | None) -> list[str]:
        host = self.testbed.tester
        argv = [self.binary, "--dev", host.ifname, "--conf", self.conf, "--cpus", "1",
                # leave the machine's socket memory and IRQ affinities alone
                "--no-sock-mem", "--notouch-irq"]
        if count is not None:
            argv += ["--num", str(count)]
        if rate > 0:
            argv += ["--rate", f"{round(rate)}pps"]
        else:
            argv += ["--gap", "0"]
        return host.command(argv, cpus=(host.cpu,))

    def offer(self, rate: float, duration: float) -> Offered:
        """Offer `rate` frames/s for `duration` s (rate 0: flat out for `duration`)."""
        count = max(1, round(rate * duration)) if rate > 0 else None
        before = self.testbed.path_counters(self.send_path)
        proc = children.start(self._argv(rate, count), "trafgen", stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            if count is None:
                time.sleep(duration)
                os.killpg(proc.pid, signal.SIGINT)  # trafgen and the worker it forks
                out, err = proc.communicate(timeout=STOP_TIMEOUT)
            else:
                out, err = proc.communicate(timeout=duration * 3 + START_SLACK)
        except BaseException:
            children.kill(proc)
            proc.communicate()
            raise
        finally:
            children.reaped(proc)
        path = self.testbed.path_counters(self.send_path) - before
        try:
            sent, seconds = parse(out)
        except ValueError:
            tail = (err or out).strip().splitlines()[-3:]
            raise XdpperfError(f"trafgen printed no statistics (exit {proc.returncode}): "
                               + " | ".join(tail),
                               f"see that trafgen runs on {self.testbed.tester}: trafgen --dev IF "
                               "--conf FILE --num 10") from None
        offered_rate = sent / seconds if seconds > 0 else 0.0
        return Offered(
            intended_rate=rate,
            intended_duration=duration,
            intended_count=count if count is not None else sent,
            sent=sent,
            offered_duration=seconds,
            offered_rate=offered_rate,
            received=0,
            raw={"tool": "trafgen", "seconds": seconds, "reached": path.reached},
        )

    def close(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.conf)


def factory(testbed: Testbed, builder: Builder, profile: TrafficProfile) -> TrafgenGenerator:
    """`--xdpperf-generator trafgen` (pytest_xdpperf.trafficgen.trafgen:factory)."""
    return TrafgenGenerator(testbed, profile)
