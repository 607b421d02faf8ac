"""--xdpperf-generator MODULE:FACTORY (or builtin, trafgen): which traffic generator a session uses.

A factory is called as factory(testbed, builder, profile) and returns a
Generator (trafficgen/base.py); the runner and the calibration call it each
time they need traffic and close() what it returned. The default is the
built-in BPF generator.
"""

from __future__ import annotations

import importlib
from typing import Protocol

from ..build import Builder
from ..errors import XdpperfError
from ..testbed.base import Testbed
from .base import Generator, TrafficProfile
from .bpfgen import BpfGenerator

DEFAULT_SPEC = "pytest_xdpperf.trafficgen.factory:builtin"
# the generators that come with xdpperf, by their short names
NAMED = {"builtin": DEFAULT_SPEC, "trafgen": "pytest_xdpperf.trafficgen.trafgen:factory"}
FORMAT_FIX = ("give --xdpperf-generator MODULE:FACTORY, e.g. mytester.adapter:make_generator, or "
              "one of: builtin, trafgen")
GENERATOR_FIX = ("the factory must return an object with a `profile`, offer(rate, duration) "
                 "-> Offered and close(); see pytest_xdpperf/trafficgen/base.py")


class GeneratorFactory(Protocol):
    def __call__(self, testbed: Testbed, builder: Builder,
                 profile: TrafficProfile) -> Generator: ...


def builtin(testbed: Testbed, builder: Builder, profile: TrafficProfile) -> BpfGenerator:
    """The built-in generator (nfs/trafficgen) on the testbed's tester."""
    return BpfGenerator(builder.program("trafficgen"), testbed.tester, testbed.dut, profile,
                        counters=testbed.path_counters)


def resolve(spec: str) -> GeneratorFactory:
    """The factory `spec` names, checked as far as it can be before it is called;
    what it returns is checked on every call. A short name (NAMED) stands for its spec."""
    spec = NAMED.get(spec, spec)
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr or ":" in attr:
        raise XdpperfError(f"--xdpperf-generator '{spec}' is not MODULE:FACTORY", FORMAT_FIX)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # only the module asked for (or a parent package) missing is a bad spec;
        # anything the module itself fails to import is its own error
        if exc.name is None or not (module_name == exc.name
                                     or module_name.startswith(exc.name + ".")):
            raise
        raise XdpperfError(f"--xdpperf-generator '{spec}': module '{module_name}' not found",
                           "install it or put its directory on PYTHONPATH") from None
    factory = module
    for part in attr.split("."):
        if not hasattr(factory, part):
            raise XdpperfError(f"--xdpperf-generator '{spec}': module '{module_name}' has no "
                               f"attribute '{attr}'", "name a factory defined in that module")
        factory = getattr(factory, part)
    if not callable(factory):
        raise XdpperfError(f"--xdpperf-generator '{spec}': '{attr}' is a "
                           f"{type(factory).__name__}, not a callable factory",
                           "name a function or class called as factory(testbed, builder, "
                           "profile)")
    if isinstance(factory, type):
        missing = [m for m in ("offer", "close") if not callable(getattr(factory, m, None))]
        if missing:
            raise XdpperfError(f"--xdpperf-generator '{spec}': class '{attr}' is not a Generator "
                               f"(no {' or '.join(missing)}())", GENERATOR_FIX)
    return _checked(spec, factory)


def _checked(spec: str, factory: GeneratorFactory) -> GeneratorFactory:
    def make(testbed: Testbed, builder: Builder, profile: TrafficProfile) -> Generator:
        generator = factory(testbed, builder, profile)
        if not isinstance(generator, Generator):
            close = getattr(generator, "close", None)
            if callable(close):  # whatever it started, stop it
                close()
            raise XdpperfError(f"--xdpperf-generator '{spec}' returned a "
                               f"{type(generator).__name__}, not a Generator", GENERATOR_FIX)
        return generator

    make.__name__ = getattr(factory, "__name__", spec)
    return make
