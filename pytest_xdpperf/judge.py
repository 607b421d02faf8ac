"""The session's judge: finds each measurement's threshold, writes the verdict into
its record, fails the test where the verdict says so, and keeps every verdict for
the end-of-run summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from . import thresholds as th
from .errors import XdpperfError
from .verdict import (
    FAIL,
    INCONCLUSIVE,
    Verdict,
    judge_latency,
    judge_throughput,
    judge_transactions,
)

INCONCLUSIVE_POLICIES = ("report", "fail")
THRESHOLDS_DIR = Path("testsuites", "thresholds")


def pick(option: str | None, rootpath: Path, testbed_key: str) -> th.Thresholds:
    """--xdpperf-thresholds: a file, 'none', or (not given) the testbed's own file,
    <rootdir>/testsuites/thresholds/<key>.toml, then the same beside the package."""
    if option == "none":
        return th.absent("no thresholds (--xdpperf-thresholds none)")
    if option:
        return th.load(Path(option))
    candidates = [rootpath / THRESHOLDS_DIR / f"{testbed_key}.toml",
                  Path(__file__).resolve().parent.parent / THRESHOLDS_DIR
                  / f"{testbed_key}.toml"]
    for path in candidates:
        if path.is_file():
            return th.load(path)
    return th.absent(f"no thresholds file for testbed {testbed_key} "
                     f"({THRESHOLDS_DIR / (testbed_key + '.toml')})")


def check_policy(text: str) -> str:
    if text not in INCONCLUSIVE_POLICIES:
        raise XdpperfError(f"--xdpperf-inconclusive {text!r} is unknown",
                           "use report (shown, the test passes) or fail")
    return text


@dataclass
class Judged:
    """One verdict of the session, for the summary."""

    test: str
    kind: str       # throughput, latency, transactions
    verdict: Verdict
    flags: list[str]


@dataclass
class Judge:
    """`inconclusive`: "report" (the default: shown in the summary, the test passes,
    since a bound figure says nothing of the DUT) or "fail" (the run fails too)."""

    thresholds: th.Thresholds
    inconclusive: str = "report"
    judged: list[Judged] = field(default_factory=list)

    def __call__(self, test: str, kind: str, measurement: Any, benchmark: Any,
                 flags: list[str]) -> Verdict:
        """Judge a measurement that has just been recorded in `benchmark`; the record
        gets the verdict, a failing one fails the test (after the record is kept)."""
        info = measurement.extra_info()
        if kind == "throughput":
            verdict = judge_throughput(info, self.thresholds, measurement.forwarded_anything)
        elif kind == "latency":
            verdict = judge_latency(info, self.thresholds)
        else:
            verdict = judge_transactions(info, self.thresholds)
        benchmark.extra_info["verdict"] = verdict.as_dict()
        self.judged.append(Judged(test, kind, verdict, flags))
        if verdict.status == FAIL or (verdict.status == INCONCLUSIVE
                                      and self.inconclusive == "fail"):
            pytest.fail(verdict.message(test, flags), pytrace=False)
        return verdict
