"""--xdpperf-generator MODULE:FACTORY: an external generator is used for calibration and
measurements alike, and a bad spec is one clear usage error.

CountingGenerator below is such an external generator: the built-in one
wrapped, logging every call to $XDPP_GEN_LOG. The end-to-end test runs the
one-test suite tests/suites/generator in a subprocess with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pytest_xdpperf.errors import XdpperfError
from pytest_xdpperf.trafficgen.base import Offered, TrafficProfile
from pytest_xdpperf.trafficgen.factory import DEFAULT_SPEC, builtin, resolve

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "suites" / "generator"
CHEAP = ["--xdpperf-trial-duration", "0.1", "--xdpperf-min-load", "100000",
         "--xdpperf-relative-width", "0.05"]


class CountingGenerator:
    """The built-in generator, with each call logged (one JSON line) to $XDPP_GEN_LOG."""

    instances = 0

    def __init__(self, testbed: Any, builder: Any, profile: TrafficProfile) -> None:
        CountingGenerator.instances += 1
        self.instance = CountingGenerator.instances
        self.inner = builtin(testbed, builder, profile)
        self.profile = profile
        self._log("open")

    def offer(self, rate: float, duration: float) -> Offered:
        offered = self.inner.offer(rate, duration)
        self._log("offer", rate=rate, sent=offered.sent,
                  offered_pps=(offered.sent / offered.offered_duration
                               if offered.offered_duration > 0 else 0.0))
        return offered

    def close(self) -> None:
        self.inner.close()
        self._log("close")

    def _log(self, event: str, **facts: Any) -> None:
        with open(os.environ["XDPP_GEN_LOG"], "a") as f:
            f.write(json.dumps({"instance": self.instance, "event": event, **facts}) + "\n")


# --- bad specs -------------------------------------------------------------------------------

NOT_CALLABLE = 42


class NoOffer:
    def close(self) -> None: ...


class Closable:
    closed = 0

    def close(self) -> None:
        Closable.closed += 1


def returns_no_generator(testbed: Any, builder: Any, profile: TrafficProfile) -> Closable:
    return Closable()


@pytest.mark.parametrize("spec,words", [
    ("no_colon", ["is not MODULE:FACTORY", "e.g. mytester.adapter:make_generator"]),
    (":factory", ["is not MODULE:FACTORY"]),
    ("test_generator_option:", ["is not MODULE:FACTORY"]),
    ("xdpperf_no_such_module:make", ["module 'xdpperf_no_such_module' not found",
                                     "PYTHONPATH"]),
    ("pytest_xdpperf.no_such:make", ["module 'pytest_xdpperf.no_such' not found"]),
    ("test_generator_option:missing", ["has no attribute 'missing'",
                                       "name a factory defined in that module"]),
    ("test_generator_option:NOT_CALLABLE", ["'NOT_CALLABLE' is a int, not a callable",
                                            "factory(testbed, builder, profile)"]),
    ("test_generator_option:NoOffer", ["class 'NoOffer' is not a Generator (no offer())",
                                       "offer(rate, duration)"]),
])
def test_bad_spec_is_a_clear_error(spec: str, words: list[str]) -> None:
    with pytest.raises(XdpperfError) as failed:
        resolve(spec)
    for word in words:
        assert word in str(failed.value), str(failed.value)


def test_a_factory_that_returns_no_generator_is_caught_and_its_result_closed() -> None:
    make = resolve("test_generator_option:returns_no_generator")
    before = Closable.closed
    with pytest.raises(XdpperfError, match="returned a Closable, not a Generator"):
        make(None, None, TrafficProfile())  # type: ignore[arg-type]
    assert Closable.closed == before + 1


def test_a_module_that_fails_its_own_import_is_not_called_missing(tmp_path: Path,
                                                                 monkeypatch: Any) -> None:
    """Only the named module being absent is 'not found'; its own broken import is its
    error, shown as such."""
    (tmp_path / "xdpperf_broken_gen.py").write_text("import xdpperf_absent_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="xdpperf_absent_dependency"):
        resolve("xdpperf_broken_gen:make")


def test_default_is_the_builtin_generator() -> None:
    assert getattr(resolve(DEFAULT_SPEC), "__name__", None) == builtin.__name__


def test_bad_spec_on_the_command_line_is_one_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(SUITE), "-p", "no:cacheprovider", "-q",
         "--xdpperf-generator", "xdpperf_no_such_module:make"],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 4, result  # pytest's usage error, before any testbed
    assert "module 'xdpperf_no_such_module' not found" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


# --- end to end ------------------------------------------------------------------------------

@pytest.mark.integration
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, BPF)")
def test_external_generator_runs_calibration_and_measurement(tmp_path: Path) -> None:
    log, journal = tmp_path / "generator.jsonl", tmp_path / "journal.jsonl"
    env = {**os.environ, "XDPP_GEN_LOG": str(log),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "tests"),
                                                       os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(SUITE), "-p", "no:cacheprovider", "-q",
         "-p", "no:randomly", "--xdp-mode", "xdp", *CHEAP, "--xdpperf-journal", str(journal),
         "--xdpperf-generator", "test_generator_option:CountingGenerator"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    events = Counter((c["instance"], c["event"]) for c in calls if c["event"] != "offer")
    # calibration (into the sink, then through the reflector), the measurement, and the
    # test's own generator(): each opened and closed
    assert events == {(i, e): 1 for i in (1, 2, 3, 4) for e in ("open", "close")}
    offers = {i: [c for c in calls if c["event"] == "offer" and c["instance"] == i]
              for i in (1, 2, 3, 4)}
    (measurement,) = [m for line in journal.read_text().splitlines()
                      if (m := json.loads(line))["kind"] == "measurement"]
    # the session's tester capacity is what our generator offered flat out
    flat = [c["offered_pps"] for c in offers[1] if c["rate"] == 0.0]
    assert flat == [measurement["calibration"]["tester_capacity_pps"]]
    # the reflector's loss table: one trial per share, after a warm-up
    table = measurement["calibration"]["reflector_loss_table"]
    assert [c["rate"] for c in offers[2][1:]] == [p["intended_pps"] for p in table]
    # every search trial of the measurement was offered by our generator
    trials = Counter((t["intended_pps"], t["offered"]) for t in measurement["trials"])
    offered = Counter((c["rate"], c["sent"]) for c in offers[3])
    assert trials and not trials - offered, (trials, offered)
    assert offers[4] == []
