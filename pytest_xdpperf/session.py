"""One NF in one mode on the testbed, with the session's generator: the single
start-up path from a test to a running NF and its measurer.

`NfSession` builds the NF and checks what was asked of it before anything starts -
the NF's own parameters (it parses them without starting), what the testbed's
driver can run (attach and bind modes), whether the NF has the mode (else the test
is skipped, never silently passed) - and then, as a context manager, puts the
mode's interface settings in force, starts the NF (in front of the DUT's stack for
the local class), opens the session's generator, pins the DUT's NAPI, and undoes
it all in reverse on the way out, whatever ends it. The fixture's start(),
throughput(), latency() and transactions() all go through it (runner.py), and the
procedures (throughput.py, latency_run.py, transactions.py) take it with a
`Context`: what they need beyond the NF (calibration, options, journal, the
record's pytest-benchmark fixture, the progress line).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack, closing
from dataclasses import dataclass
from typing import Any

import pytest

from . import local
from .build import Builder
from .calibration import Calibration
from .errors import XdpperfError
from .journal import Journal
from .measure import TrialMeasurer
from .methods import default_figure
from .modes import Mode
from .nf import NfSpec, check_params, has_param, unsupported_reason
from .options import RunOptions
from .progress import ProgressLine
from .testbed.base import Capabilities, NfProcess, Sampler, Testbed
from .traffic import TrafficClass
from .trafficgen.base import Generator, TrafficProfile
from .trafficgen.factory import GeneratorFactory, builtin


@dataclass(frozen=True)
class Setup:
    """The session's pieces an NfSession is made of: where it runs and with what."""

    testbed: Testbed
    builder: Builder
    mode: Mode
    profile: TrafficProfile
    generator_factory: GeneratorFactory = builtin

    def generator(self, profile: TrafficProfile | None = None) -> Generator:
        """The session's generator (--xdpperf-generator) for `profile` (default the session's)."""
        return self.generator_factory(self.testbed, self.builder, profile or self.profile)


@dataclass
class Context:
    """What a measurement procedure needs beyond its NfSession."""

    calibration: Calibration
    options: RunOptions
    benchmark: Any  # pytest-benchmark's fixture: the record goes there (benchrecord)
    journal: Journal
    test_id: str = ""
    # the live progress line; a plain callable gets each line's text instead
    progress: ProgressLine | Callable[[str], None] | None = None
    # (figure, why) a throughput record is judged and headlined by, from its extra_info
    judged_figure: Callable[[dict[str, Any]], tuple[str, str]] = default_figure

    def progress_line(self) -> ProgressLine:
        if isinstance(self.progress, ProgressLine):
            return self.progress
        return ProgressLine(None, callback=self.progress)


def skip_unsupported(nf: str, binary: Any, mode: Mode) -> None:
    """Skip the test (never silently pass it) if the NF lacks this mode."""
    reason = unsupported_reason(binary, mode)
    if reason is not None:
        pytest.skip(f"{nf} cannot run in mode {mode.name}: {reason}")


def check_testbed(testbed: Any, spec: NfSpec, mode: Mode) -> None:
    """Refuse what the testbed's driver cannot run (its capabilities' attach and bind
    modes; a testbed that states none may run them all): offload, and zero-copy in a
    mode with sockets, on veth."""
    kind = getattr(testbed, "kind", "this")
    capabilities = getattr(testbed, "capabilities", None) or Capabilities()
    attach_modes = capabilities.attach_modes
    if spec.attach not in attach_modes:
        raise XdpperfError(
            f"attach='{spec.attach}' cannot run on the {kind} testbed: its driver takes "
            f"only {' or '.join(attach_modes)}",
            f"use attach='{attach_modes[0]}', or a testbed whose NIC has BPF offload")
    bind_modes = capabilities.bind_modes
    if mode.sockets and spec.bind not in bind_modes:
        raise XdpperfError(
            f"bind='{spec.bind}' cannot run on the {kind} testbed: its driver binds AF_XDP "
            f"sockets in {' or '.join(bind_modes)} mode only",
            f"use bind='{bind_modes[0]}', or a testbed whose NIC driver has zero-copy")


class NfSession:
    """`nf` with `params` in the setup's mode, checked at construction (nothing runs
    yet), running inside `with`: `running` (the NF), `generator` (None unless asked
    for), `spec` (what runs, with the traffic class's action filled in)."""

    def __init__(self, setup: Setup, nf: str, params: dict[str, Any] | None = None, *,
                 traffic_class: str | None = None, attach: str = "native",
                 bind: str = "copy", need_wakeup: bool = True, generator: bool = True):
        self.setup = setup
        self.traffic_class = traffic_class
        self.binary = setup.builder.program(nf)
        asked = dict(params or {})
        # the class's action for an NF that takes one (an NF without, e.g. chain,
        # decides alone)
        if traffic_class is not None and has_param(self.binary, "action"):
            asked.setdefault("action", TrafficClass.parse(traffic_class).action)
        self.spec = NfSpec(nf, asked, attach=attach, bind=bind, need_wakeup=need_wakeup)
        check_testbed(setup.testbed, self.spec, setup.mode)
        check_params(self.binary, self.spec)
        skip_unsupported(nf, self.binary, setup.mode)
        self._with_generator = generator
        self._stack: ExitStack | None = None
        self.running: NfProcess | None = None
        self.generator: Generator | None = None

    @property
    def mode(self) -> Mode:
        return self.setup.mode

    @property
    def testbed(self) -> Testbed:
        return self.setup.testbed

    def __enter__(self) -> NfSession:
        testbed, mode = self.setup.testbed, self.setup.mode
        stack = ExitStack()
        try:
            stack.enter_context(testbed.mode_settings(mode))
            self.running = stack.enter_context(
                local.passing_nf(testbed, self.binary, self.spec, mode)
                if self.traffic_class == "local"
                else testbed.start_nf(self.binary, self.spec, mode))
            if self._with_generator:
                self.generator = stack.enter_context(closing(self.setup.generator()))
            testbed.prepare_dut_napi()
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        return self

    def __exit__(self, *exc: Any) -> bool | None:
        stack, self._stack = self._stack, None
        self.running = self.generator = None
        return stack.__exit__(*exc) if stack is not None else None

    def measurer(self) -> TrialMeasurer | local.LocalMeasurer:
        """The trial (rate, duration) -> TrialResult for the session's traffic class."""
        if self.running is None or self.generator is None:
            raise RuntimeError("measurer() needs the session entered with a generator")
        if self.traffic_class is None:
            raise XdpperfError("this test has no traffic class marker",
                               "mark it @pytest.mark.drop, passthrough or local")
        if self.traffic_class == "local":
            return local.LocalMeasurer(self.generator,
                                       local.StackCounters(self.testbed, self.mode),
                                       self.running.stats)
        return TrialMeasurer(self.generator, self.testbed, self.traffic_class,
                             self.running.stats)

    def final_trials(self) -> Sampler:
        """The context the final trials of a search run in: the DUT's CPU split and
        LLC counters (the testbed's samplers)."""
        return self.testbed.samplers()
