"""The canary of benchrecord.py, the one module that uses pytest-benchmark's
internals: it fails when a pytest-benchmark release changes what we rely on (then
adapt benchrecord.py and the version pin in pyproject.toml together)."""

from __future__ import annotations

import inspect

import pytest_benchmark
from pytest_benchmark.fixture import BenchmarkFixture
from pytest_benchmark.session import BenchmarkSession
from pytest_benchmark.stats import Metadata

from pytest_xdpperf import benchrecord


def test_the_internals_benchrecord_uses_are_there() -> None:
    assert pytest_benchmark.__version__.split(".")[0] == "5"  # pyproject pins <6
    assert list(inspect.signature(BenchmarkFixture._make_stats).parameters) == \
        ["self", "iterations"]
    source = inspect.getsource(BenchmarkFixture.__init__)
    for attribute in ("self._mode", "self.stats", "self.extra_info", "self.fullname",
                      "self.params", "self.param", "self.group", "self.name"):
        assert attribute in source, attribute
    assert hasattr(Metadata, "update") and hasattr(Metadata, "as_dict")
    for name in ("save_json", "get_machine_info", "handle_saving"):
        assert callable(getattr(BenchmarkSession, name)), name
    init = inspect.getsource(BenchmarkSession.__init__)
    for attribute in ("self.benchmarks", "self.json", "self.save", "self.autosave",
                      "self.disabled", "self.storage"):
        assert attribute in init, attribute
    # handle_saving still saves nothing without benchmarks (why save_alone exists)
    assert "if not self.benchmarks" in inspect.getsource(BenchmarkSession.handle_saving)


class Fixture:
    """Just what store() and unmeasured_entry() read of a BenchmarkFixture."""

    def __init__(self) -> None:
        self.extra_info: dict = {}
        self.stats = None
        self._mode = None
        self.name, self.fullname, self.group = "t[x]", "f.py::t[x]", None
        self.param, self.params = "x", {"xdp_mode": "x"}
        self.rounds: list[float] = []

    def _make_stats(self, iterations: int) -> Fixture:
        self.stats = self  # type: ignore[assignment]
        return self

    def update(self, value: float) -> None:
        self.rounds.append(value)


def test_store_makes_stats_only_with_values() -> None:
    f = Fixture()
    assert benchrecord.store(f, {"a": 1}, [0.5, 0.25]) and f.rounds == [0.5, 0.25]
    assert f._mode == "xdpperf" and benchrecord.has_stats(f)
    g = Fixture()
    assert not benchrecord.store(g, {"a": 1}, []) and not benchrecord.has_stats(g)
    entry = benchrecord.unmeasured_entry(g)
    assert entry["extra_info"] is g.extra_info and entry["stats"] is None
    assert entry["params"] == {"xdp_mode": "x"}
