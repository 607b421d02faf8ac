"""Helpers for writing suites: a parameter's headline points and its sweep."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest


def points(name: str, headline: Iterable[Any], sweep: Iterable[Any] = ()) -> list[Any]:
    """pytest.param values with ids `<name><value>`; the sweep's are marked `sweep`,
    so the main job (`-m "not sweep"`) runs the headline ones and `-m sweep` the curve."""
    return ([pytest.param(v, id=f"{name}{v}") for v in headline]
            + [pytest.param(v, id=f"{name}{v}", marks=pytest.mark.sweep) for v in sweep])


def assert_all_dropped(result: Any) -> None:
    """Every frame the NF took, it dropped: none sent on, passed or redirected (its
    own counters over the measurement, XDP and user space). A firewall that lets a
    flow through fails this; the drop class's figures alone would not show it (there
    "forwarded" is what the NF received)."""
    counters = result.nf_counters
    assert counters and counters["rx"] > 0, f"the NF received nothing: {counters}"
    assert counters["drop"] == counters["rx"], f"the NF did not drop every frame: {counters}"


def assert_no_app_errors(result: Any) -> None:
    """The application answered every request as asked: its load generator saw no
    failed, wrong or lost reply and no closed connection (local.parse_memaslap says
    what memaslap shows of each). `result` is what xdpperf.transactions returns."""
    assert result.tps > 0, "no transactions completed"
    assert result.errors == 0, f"the application reported {result.errors} errors: " \
                               f"{result.problem}"


# A host stall of a few ms can overflow a 256-frame veth ring at the highest points.
LATENCY_LOSS_SHARE = 0.02


def assert_latency_points(result: Any) -> None:
    """Frames came back at every latency point, all but LATENCY_LOSS_SHARE of them
    (at least one may be lost at the lowest rates)."""
    for point in result.points:
        assert point.histogram.count > 0, f"nothing came back at {point.rate_pps:g} pps"
        assert point.lost <= max(1.0, LATENCY_LOSS_SHARE * point.sent), \
            f"{point.lost} of {point.sent} frames lost at {point.rate_pps:g} pps"
