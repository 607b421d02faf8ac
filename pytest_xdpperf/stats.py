"""Summary statistics over repetitions of a measurement: mean, sample standard
deviation and a Student t confidence interval for the mean."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

CONFIDENCE = 0.95


def summary(values: Sequence[float | None]) -> dict[str, Any]:
    """{"n", "mean", "stdev", "ci95": [lo, hi]} of the values that exist (None skipped).

    mean is None without values; stdev and ci95 are None with fewer than two (one
    repetition says nothing about spread)."""
    xs = [float(v) for v in values if v is not None]
    n = len(xs)
    mean = statistics.fmean(xs) if xs else None
    stdev = statistics.stdev(xs) if n >= 2 else None
    ci95 = None
    if mean is not None and stdev is not None:
        from scipy.stats import t  # imported late: scipy is slow to import

        half = float(t.ppf((1 + CONFIDENCE) / 2, n - 1)) * stdev / math.sqrt(n)
        ci95 = [mean - half, mean + half]
    return {"n": n, "mean": mean, "stdev": stdev, "ci95": ci95}
