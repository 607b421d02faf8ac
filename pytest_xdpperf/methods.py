"""Search method presets (--xdpperf-method) and the figure each measurement is judged by.

rfc2544    strict RFC 2544: a load passes only if every trial at it met the loss goal
           (MLRsearch with goal exceed ratio 0, one trial's duration per load).
mlrsearch  the conditional throughput of the IETF MLRsearch draft as FD.io CSIT runs
           it: goal exceed ratio 0.5 over a goal duration sum of DURATION_SUM_TRIALS
           trials, so loss in a minority of a load's trial time (this VM's scheduling
           stalls overflowing the veth ring now and then) does not decide the figure.

The judged figure (also the record's headline, the number pytest-benchmark's stats
hold) is chosen per measurement by `judged_figure`: the thresholds entry's figure
where the testbed has one (`xdpperf thresholds --figure auto` chose it as the
steadier over real runs), else the method's figure for this testbed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import XdpperfError


@dataclass(frozen=True)
class Method:
    """A search preset. `duration_sum_trials`: seconds per decided load, in trial
    durations (MLRsearch's goal_duration_sum / final trial duration), >= 1."""

    name: str
    exceed_ratio: float
    duration_sum_trials: float

    def as_dict(self, trial_duration: float) -> dict[str, Any]:
        """The record's `method` section (durations in s)."""
        return {"name": self.name, "goal_exceed_ratio": self.exceed_ratio,
                "goal_duration_sum": self.duration_sum_trials * trial_duration}


# CSIT's PDR search uses exceed ratio 0.5; 5 trials' time per load keeps a search to a
# few times RFC 2544's, and lets two bad trials of five pass (three decide).
DURATION_SUM_TRIALS = 5.0
METHODS = {
    "rfc2544": Method("rfc2544", 0.0, 1.0),
    "mlrsearch": Method("mlrsearch", 0.5, DURATION_SUM_TRIALS),
}
DEFAULT_METHOD = "rfc2544"


def method(name: str) -> Method:
    """The preset called `name`; a usage error naming the choices otherwise."""
    try:
        return METHODS[name]
    except KeyError:
        raise XdpperfError(f"--xdpperf-method {name!r} is unknown",
                           f"use one of {', '.join(METHODS)}") from None


def method_of(info: dict[str, Any]) -> str:
    """The method a throughput record was measured with (older records: rfc2544)."""
    return str((info.get("method") or {}).get("name") or DEFAULT_METHOD)


def default_figure(info: dict[str, Any]) -> tuple[str, str]:
    """(figure, why) a throughput record is judged by when its testbed has no entry.

    mlrsearch: the PDR, the figure the method is for. rfc2544: the PDR where the bare
    testbed keeps within the loss goal at the tester's full rate; where it does not
    (this VM's veth path), its own sporadic loss decides every strict PDR, so the
    maximum forwarding rate, which measures the NF at overload and stays put run to
    run, is judged."""
    if method_of(info) == "mlrsearch":
        m = info.get("method") or {}
        return "pdr", (f"method mlrsearch: the PDR with goal exceed ratio "
                       f"{m.get('goal_exceed_ratio', 0.5):g} over "
                       f"{m.get('goal_duration_sum', 0):g} s per load (MLRsearch's "
                       "conditional throughput), which loss in a minority of the trials "
                       "does not move")
    floor = info.get("loss_floor")
    goal = info.get("loss_threshold")
    if floor is not None and goal is not None and float(floor) <= float(goal):
        return "pdr", ("method rfc2544 on a testbed whose bare path keeps within the loss "
                       "goal at the tester's rate: its PDR is the NF's")
    lost = (f"loses {float(floor):.3%} at the tester's rate, more than the "
            f"{float(goal):.3%} goal" if floor is not None and goal is not None
            else "states no loss floor (an older record)")
    return "max_forwarding_rate", (
        f"method rfc2544 on a testbed whose bare path {lost}: that loss decides a strict "
        "PDR, so the MFR (the NF at overload, steady run to run) is judged")
