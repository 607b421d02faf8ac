"""Latency histograms as the tester's receiver keeps them, and their percentiles.

Pure arithmetic over bucket counts (no I/O). The buckets are HDR-style
log-linear over nanoseconds, as in nfs/trafficgen/trafficgen.h: values below
2 * 2**sub_bits ns have 1 ns buckets; above, each power of two is split into
2**sub_bits buckets, so a bucket is at most 1/2**sub_bits of its value wide
(1.6% with the receiver's 6 bits).

A percentile is the upper edge of the bucket holding that rank (HDR's
"highest equivalent value": at least p% of the samples are at or below it),
clamped to the exact minimum and maximum the receiver also keeps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SUB_BITS = 6     # HIST_SUB_BITS
MAX_EXP = 35     # HIST_MAX_EXP
PERCENTILES = (50.0, 90.0, 99.0, 99.9)
# A percentile is reported (and judged) only where at least this many samples lie
# beyond it: p50 needs 20 samples, p99 1,000, p99.9 10,000.
MIN_TAIL_SAMPLES = 10


def supported(percentile: float, count: int) -> bool:
    """Does a sample of `count` support the `percentile` (0-100)? At least
    MIN_TAIL_SAMPLES samples must lie above it."""
    return count * (1 - percentile / 100) >= MIN_TAIL_SAMPLES


def n_buckets(sub_bits: int = SUB_BITS, max_exp: int = MAX_EXP) -> int:
    return (max_exp + 2) << sub_bits


def bucket_of(ns: int, sub_bits: int = SUB_BITS, max_exp: int = MAX_EXP) -> int:
    """The bucket a latency of `ns` nanoseconds falls in."""
    sub = 1 << sub_bits
    if ns < 0:
        raise ValueError(f"latency must be >= 0, got {ns}")
    if ns < 2 * sub:
        return ns
    e = ns.bit_length() - 1 - sub_bits
    if e > max_exp:
        return n_buckets(sub_bits, max_exp) - 1
    return (e + 1) * sub + ((ns >> e) & (sub - 1))


def bucket_bounds(bucket: int, sub_bits: int = SUB_BITS) -> tuple[int, int]:
    """[low, high) in nanoseconds of a bucket."""
    sub = 1 << sub_bits
    if bucket < 0:
        raise ValueError(f"bucket must be >= 0, got {bucket}")
    if bucket < 2 * sub:
        return bucket, bucket + 1
    e = bucket // sub - 1
    low = (sub + bucket % sub) << e
    return low, low + (1 << e)


@dataclass(frozen=True)
class LatencyHistogram:
    """Bucket counts plus the exact extremes and sum, all in nanoseconds."""

    counts: Mapping[int, int] = field(default_factory=dict)
    min_ns: int = 0
    max_ns: int = 0
    sum_ns: int = 0
    sub_bits: int = SUB_BITS

    def __post_init__(self) -> None:
        if any(c < 0 for c in self.counts.values()):
            raise ValueError("bucket counts must be >= 0")

    @classmethod
    def from_samples(cls, samples_ns: Iterable[int], sub_bits: int = SUB_BITS
                     ) -> LatencyHistogram:
        """What the receiver would have recorded for these latencies."""
        counts: dict[int, int] = {}
        values = list(samples_ns)
        for v in values:
            b = bucket_of(v, sub_bits)
            counts[b] = counts.get(b, 0) + 1
        if not values:
            return cls({}, sub_bits=sub_bits)
        return cls(counts, min(values), max(values), sum(values), sub_bits)

    @classmethod
    def from_trial(cls, answer: Mapping[str, Any]) -> LatencyHistogram:
        """From a trafficgen trial answer: hist [[bucket, count], ...] and lat_*_ns."""
        return cls({int(b): int(c) for b, c in answer.get("hist", [])},
                   int(answer.get("lat_min_ns", 0)), int(answer.get("lat_max_ns", 0)),
                   int(answer.get("lat_sum_ns", 0)),
                   int(answer.get("hist_sub_bits", SUB_BITS)))

    @classmethod
    def from_point(cls, point: Mapping[str, Any]) -> LatencyHistogram:
        """Back from a record's latency point (latency_run.LatencyPoint.as_dict): its
        `histogram` {sub_bits, buckets [[low_ns, high_ns, count], ...]} and the exact
        min, max and mean the summary beside it keeps (in microseconds)."""
        hist = point.get("histogram") or {}
        sub_bits = int(hist.get("sub_bits", SUB_BITS))
        counts: dict[int, int] = {}
        for low, _high, c in hist.get("buckets") or []:
            b = bucket_of(int(low), sub_bits)
            counts[b] = counts.get(b, 0) + int(c)

        def ns(key: str, times: int = 1) -> int:
            us = point.get(key)
            return round(float(us) * 1e3 * times) if us is not None else 0

        return cls(counts, ns("min_us"), ns("max_us"), ns("mean_us", sum(counts.values())),
                   sub_bits)

    def cdf(self) -> list[tuple[int, float]]:
        """(latency ns, share of samples at or below it) at each non-empty bucket, its
        value taken as percentile() does (the bucket's highest value, within min/max)."""
        total = self.count
        out: list[tuple[int, float]] = []
        seen = 0
        for bucket in sorted(b for b, c in self.counts.items() if c):
            seen += self.counts[bucket]
            out.append((self._value(bucket), seen / total))
        return out

    def _value(self, bucket: int) -> int:
        """What a bucket reports: its highest value, within the exact min and max."""
        high = bucket_bounds(bucket, self.sub_bits)[1] - 1
        return min(max(high, self.min_ns), self.max_ns)

    @property
    def count(self) -> int:
        return sum(self.counts.values())

    @property
    def mean_ns(self) -> float | None:
        return self.sum_ns / self.count if self.count else None

    def percentile(self, p: float) -> int | None:
        """The latency (ns) at or below which at least p% of the samples lie."""
        if not 0 <= p <= 100:
            raise ValueError(f"percentile must be in [0, 100], got {p}")
        total = self.count
        if not total:
            return None
        if p == 0:
            return self.min_ns
        rank = max(1, math.ceil(p / 100 * total))
        seen = 0
        for bucket in sorted(self.counts):
            seen += self.counts[bucket]
            if seen >= rank:
                return self._value(bucket)
        return self.max_ns

    def merged(self, other: LatencyHistogram) -> LatencyHistogram:
        if other.sub_bits != self.sub_bits:
            raise ValueError("cannot merge histograms of different resolution")
        if not other.count:
            return self
        if not self.count:
            return other
        counts = dict(self.counts)
        for b, c in other.counts.items():
            counts[b] = counts.get(b, 0) + c
        return LatencyHistogram(counts, min(self.min_ns, other.min_ns),
                                max(self.max_ns, other.max_ns), self.sum_ns + other.sum_ns,
                                self.sub_bits)

    def summary(self, supported_only: bool = False) -> dict[str, Any]:
        """min, p50, p90, p99, p99.9, max and mean in microseconds, and the count;
        `supported_only`: None for a percentile the count does not support (supported())."""
        out: dict[str, Any] = {"count": self.count}
        if not self.count:
            return {**out, "min_us": None, "p50_us": None, "p90_us": None, "p99_us": None,
                    "p99.9_us": None, "max_us": None, "mean_us": None}
        out["min_us"] = self.min_ns / 1e3
        for p in PERCENTILES:
            value = self.percentile(p)
            if supported_only and not supported(p, self.count):
                value = None
            out[f"p{p:g}_us"] = value / 1e3 if value is not None else None
        out["max_us"] = self.max_ns / 1e3
        mean = self.mean_ns
        out["mean_us"] = mean / 1e3 if mean is not None else None
        return out

    def as_dict(self) -> dict[str, Any]:
        """For a record: the non-empty buckets as [low_ns, high_ns, count]."""
        return {
            "sub_bits": self.sub_bits,
            "buckets": [[*bucket_bounds(b, self.sub_bits), c]
                        for b, c in sorted(self.counts.items()) if c],
        }
