"""The object a test gets as the `xdpperf` fixture: one mode, one traffic class, and
the session's testbed, calibration and generator. A thin layer: each call makes an
NfSession (session.py, the one start-up path) and runs a procedure with it
(throughput.py, latency_run.py, transactions.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from . import local
from .build import Builder
from .calibration import Calibration
from .errors import XdpperfError
from .journal import Journal
from .latency_run import (
    DEFAULT_FRACTIONS,
    DEFAULT_RATES,
    LatencyMeasurement,
    check_latency,
    measure_latency,
)
from .methods import default_figure
from .modes import Mode
from .options import RunOptions
from .progress import ProgressLine
from .results import Measurement
from .session import Context, NfSession, Setup, skip_unsupported
from .testbed.base import NfProcess, Testbed
from .throughput import measure_throughput
from .trafficgen.base import Generator, TrafficProfile
from .trafficgen.factory import GeneratorFactory, builtin
from .transactions import measure_transactions

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["RunOptions", "XdpPerf"]


class XdpPerf:
    def __init__(self, testbed: Testbed, builder: Builder, calibration: Calibration,
                 mode: Mode, traffic_class: str | None, options: RunOptions,
                 benchmark: Any, profile: TrafficProfile,
                 progress: ProgressLine | Callable[[str], None] | None = None,
                 journal: Journal | None = None, test_id: str = "",
                 generator_factory: GeneratorFactory = builtin,
                 judged_figure: Callable[[dict[str, Any]], tuple[str, str]] = default_figure):
        self.testbed = testbed
        self.builder = builder
        self.calibration = calibration
        self.mode = mode
        self.traffic_class = traffic_class
        self.options = options
        self.benchmark = benchmark
        self.profile = profile
        # the live progress line; a plain callable gets each line's text instead
        self.progress = progress
        self.journal = journal or Journal(None)
        self.test_id = test_id
        # the session's --xdpperf-generator; called for each measurement's traffic
        self.generator_factory = generator_factory
        # (figure, why) a throughput record is judged and headlined by, from its
        # extra_info (the plugin's: the testbed's thresholds entry, else the method's)
        self.judged_figure = judged_figure

    @property
    def setup(self) -> Setup:
        return Setup(self.testbed, self.builder, self.mode, self.profile,
                     self.generator_factory)

    @property
    def context(self) -> Context:
        return Context(self.calibration, self.options, self.benchmark, self.journal,
                       self.test_id, self.progress, self.judged_figure)

    def _class(self) -> str:
        if self.traffic_class is None:
            raise XdpperfError("this test has no traffic class marker",
                               "mark it @pytest.mark.drop, passthrough or local")
        return self.traffic_class

    def session(self, nf: str, traffic_class: str | None, attach: str = "native",
                bind: str = "copy", need_wakeup: bool = True, generator: bool = True,
                **params: Any) -> NfSession:
        """The NfSession of `nf` in this test's mode (checked now; run it with `with`)."""
        return NfSession(self.setup, nf, params, traffic_class=traffic_class, attach=attach,
                         bind=bind, need_wakeup=need_wakeup, generator=generator)

    def start(self, nf: str, attach: str = "native", bind: str = "copy",
              need_wakeup: bool = True, **params: Any) -> AbstractContextManager[NfProcess]:
        """Build an NF and give a context in which it runs in this test's mode, with the
        mode's interface settings in force, as throughput() runs it (for tests that drive
        it themselves):  ``with xdpperf.start("macswap") as running: ...``.
        An NF without this mode skips the test here, before anything starts."""
        session = self.session(nf, None, attach, bind, need_wakeup, generator=False,
                               **params)

        @contextmanager
        def running() -> Iterator[NfProcess]:
            with session:
                assert session.running is not None
                yield session.running
        return running()

    def skip_unsupported(self, nf: str, binary: Any) -> None:
        """Skip the test (never silently pass it) if the NF lacks this test's mode."""
        skip_unsupported(nf, binary, self.mode)

    def generator(self, profile: TrafficProfile | None = None) -> Generator:
        """The session's generator (--xdpperf-generator) for `profile` (default this test's);
        close() it when done, e.g. `with contextlib.closing(xdpperf.generator()) as g`."""
        return self.setup.generator(profile)

    def throughput(self, nf: str, attach: str = "native", bind: str = "copy",
                   need_wakeup: bool = True, **params: Any) -> Measurement:
        """RFC 2544 NDR/PDR and the maximum forwarding rate of `nf`, recorded."""
        with self.session(nf, self._class(), attach, bind, need_wakeup, **params) as session:
            return measure_throughput(session, self.context)

    def transactions(self, nf: str, app: str = "memcached", duration: float = 5.0,
                     threads: int = 1, concurrency: int = 16, attach: str = "native",
                     bind: str = "copy", need_wakeup: bool = True,
                     **params: Any) -> local.AppMeasurement:
        """Transactions/s of `app` on the DUT with `nf` in front of it (local class), recorded."""
        if self._class() != "local":
            raise XdpperfError("transactions() measures an application on the DUT",
                               "mark the test @pytest.mark.local")
        local.check_app(app)
        with self.session(nf, "local", attach, bind, need_wakeup, generator=False,
                          **params) as session:
            return measure_transactions(session, self.context, app, duration, threads,
                                        concurrency)

    def latency(self, nf: str, rates: Sequence[float] | None = None,
                fractions: Sequence[float] | None = None, duration: float | None = None,
                throughput_pps: float | None = None, attach: str = "native",
                bind: str = "copy", need_wakeup: bool = True,
                **params: Any) -> LatencyMeasurement:
        """Latency through `nf` (passthrough) at `fractions` of its throughput (its NDR,
        measured unless `throughput_pps` is given) and at fixed `rates`, recorded."""

        traffic_class = self.traffic_class or "passthrough"
        if traffic_class != "passthrough":
            raise XdpperfError(f"latency needs the frames back, not the {traffic_class} class",
                               "mark the test @pytest.mark.passthrough")
        rates = tuple(DEFAULT_RATES if rates is None else rates)
        fractions = tuple(DEFAULT_FRACTIONS if fractions is None else fractions)
        check_latency(self.calibration, rates, fractions, throughput_pps)
        with self.session(nf, "passthrough", attach, bind, need_wakeup, **params) as session:
            return measure_latency(session, self.context, rates, fractions,
                                   duration or self.options.trial_duration, throughput_pps)
