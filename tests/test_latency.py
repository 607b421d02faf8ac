"""Latency: the histogram arithmetic (pure), the receiver's histogram on the testbed,
and XdpPerf.latency() end to end."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import pytest
from records import FakeBenchmark
from schemas import assert_valid

from pytest_xdpperf.calibration import Calibration
from pytest_xdpperf.journal import Journal
from pytest_xdpperf.latency import (
    SUB_BITS,
    LatencyHistogram,
    bucket_bounds,
    bucket_of,
    n_buckets,
)
from pytest_xdpperf.latency_run import LatencyMeasurement, point_duration, record_latency
from pytest_xdpperf.modes import MODES
from pytest_xdpperf.runner import RunOptions, XdpPerf
from pytest_xdpperf.trafficgen.base import TrafficProfile
from pytest_xdpperf.trafficgen.bpfgen import BpfGenerator, Sink

# --- the histogram (pure) ---------------------------------------------------------------------


def test_buckets_are_exact_below_128_ns_and_within_1_6_percent_above() -> None:
    for v in range(128):
        assert bucket_of(v) == v and bucket_bounds(v) == (v, v + 1)
    previous_high = 128
    for b in range(128, n_buckets()):
        low, high = bucket_bounds(b)
        assert low == previous_high  # contiguous, no gaps or overlaps
        assert (high - low) / low <= 1 / (1 << SUB_BITS)
        assert bucket_of(low) == b and bucket_of(high - 1) == b
        previous_high = high
    assert bucket_of(10**15) == n_buckets() - 1  # beyond the range: the last bucket


def test_percentiles_of_a_known_distribution() -> None:
    rng = random.Random(4)
    samples = [rng.randint(1_000, 1_000_000) for _ in range(100_000)]
    hist = LatencyHistogram.from_samples(samples)
    exact = sorted(samples)
    for p in (50, 90, 99, 99.9):
        true = exact[max(0, int(p / 100 * len(exact)) - 1)]
        got = hist.percentile(p)
        assert got is not None
        assert true <= got <= true * (1 + 1 / 64) + 1, (p, true, got)
    assert hist.percentile(0) == min(samples) and hist.percentile(100) == max(samples)
    s = hist.summary()
    assert s["count"] == 100_000
    order = [s[k] for k in ("min_us", "p50_us", "p90_us", "p99_us", "p99.9_us", "max_us")]
    assert order == sorted(order) and order[0] > 0


def test_percentiles_small_and_degenerate() -> None:
    one = LatencyHistogram.from_samples([5_000])
    assert all(one.percentile(p) == 5_000 for p in (0, 50, 99.9, 100))
    two = LatencyHistogram.from_samples([100, 10_000])
    assert two.percentile(50) == 100 and two.percentile(51) == 10_000
    empty = LatencyHistogram()
    assert empty.percentile(50) is None and empty.summary()["p99_us"] is None
    with pytest.raises(ValueError):
        one.percentile(101)
    with pytest.raises(ValueError):
        LatencyHistogram({3: -1})


def test_merge_and_trial_answer_and_record_dict() -> None:
    a = LatencyHistogram.from_samples([1_000, 2_000])
    b = LatencyHistogram.from_samples([3_000])
    m = a.merged(b)
    assert m.count == 3 and (m.min_ns, m.max_ns, m.sum_ns) == (1_000, 3_000, 6_000)
    answer = {"hist": [[bucket_of(1_000), 2], [bucket_of(3_000), 1]], "lat_min_ns": 1_000,
              "lat_max_ns": 3_000, "lat_sum_ns": 5_000, "hist_sub_bits": SUB_BITS}
    t = LatencyHistogram.from_trial(answer)
    assert t.count == 3 and t.percentile(100) == 3_000
    buckets = t.as_dict()["buckets"]
    assert [c for _, _, c in buckets] == [2, 1]
    assert all(low <= 1_000 < high for low, high, _ in buckets[:1])


def test_a_recorded_point_decodes_to_the_same_histogram() -> None:
    """What history/plot read back from a record is what the receiver measured."""
    from pytest_xdpperf.latency_run import LatencyPoint

    rng = random.Random(7)
    hist = LatencyHistogram.from_samples(rng.randint(2_000, 500_000) for _ in range(5_000))
    point = LatencyPoint(1e4, None, 1.0, 5_000, 5_000, 0, 0, 0, 1e4, 0, hist).as_dict()
    back = LatencyHistogram.from_point(point)
    assert back == hist and back.summary() == hist.summary()
    cdf = back.cdf()
    assert [v for v, _ in cdf] == sorted(v for v, _ in cdf) and cdf[-1] == (hist.max_ns, 1.0)
    assert next(v for v, share in cdf if share >= 0.99) == hist.percentile(99)


def test_low_rate_points_last_for_ten_frames() -> None:
    assert point_duration(1.0, 1.0) == 10.0
    assert point_duration(1e6, 1.0) == 1.0
    assert point_duration(0.01, 1.0) == 60.0  # capped


# --- the receiver on the testbed -----------------------------------------------------------------

def run_through_reflector(bed: Any, builder: Any, delay_ns: int, rate: float,
                          seconds: float) -> Any:
    tg = builder.program("trafficgen")
    profile = TrafficProfile()
    with Sink(tg, bed.dut, profile, reflect=True, delay_ns=delay_ns), \
            BpfGenerator(tg, bed.tester, bed.dut, profile) as g:
        bed.prepare_dut_napi()
        return g.offer(rate, seconds)


@pytest.mark.integration
def test_receiver_latency_is_ordered_positive_and_counts_every_frame(
        xdpperf_testbed: Any, xdpperf_builder: Any) -> None:
    offered = run_through_reflector(xdpperf_testbed, xdpperf_builder, 0, 10_000, 0.5)
    hist = offered.latency
    assert offered.sent == offered.received == 5_000
    assert hist is not None and hist.count == 5_000
    assert offered.raw["lat_future"] == 0  # no stamp from the future (same clock)
    # paced with slack, every frame reads the clock: its stamp is its own time (the
    # bound the README states; a stale stamp would show as a lag)
    assert offered.raw["clock_reads"] >= offered.sent
    assert offered.raw["stamp_lag_max_ns"] == 0
    s = hist.summary()
    order = [s[k] for k in ("min_us", "p50_us", "p90_us", "p99_us", "p99.9_us", "max_us")]
    assert order == sorted(order) and order[0] > 0
    assert hist.min_ns <= hist.mean_ns <= hist.max_ns  # type: ignore[operator]


@pytest.mark.integration
def test_a_delayed_reflector_shows_up_as_higher_latency(xdpperf_testbed: Any,
                                                        xdpperf_builder: Any) -> None:
    """The reflector busy-waits 200 us per frame: every latency grows by at least that."""
    delay_ns = 200_000
    fast = run_through_reflector(xdpperf_testbed, xdpperf_builder, 0, 1_000, 0.5).latency
    slow = run_through_reflector(xdpperf_testbed, xdpperf_builder, delay_ns, 1_000,
                                 0.5).latency
    assert fast.count == slow.count == 500
    assert slow.min_ns >= delay_ns
    assert slow.percentile(50) >= fast.percentile(50) + 0.9 * delay_ns
    assert fast.percentile(50) < delay_ns / 2  # the fast path really is fast


# --- XdpPerf.latency() ---------------------------------------------------------------------------

def perf(bed: Any, builder: Any, benchmark: Any, traffic_class: str | None = "passthrough"
         ) -> XdpPerf:
    calibration = Calibration(tester_capacity_pps=2e6, noop_forwarding_pps=2e6,
                              max_load_pps=1.5e6, noop_ndr_pps=None, noop_pdr_pps=None,
                              noop_loss_at_max_load=0.0, trial_duration=0.2)
    return XdpPerf(bed, builder, calibration, MODES["xdp"], traffic_class,
                   RunOptions(trial_duration=0.2, min_load=10_000, relative_width=0.05),
                   benchmark, TrafficProfile(), journal=Journal(None), test_id="t")


@pytest.mark.integration
def test_xdpperf_latency_records_fractions_and_low_rates(xdpperf_testbed: Any,
                                                         xdpperf_builder: Any) -> None:
    bench = FakeBenchmark()
    m = perf(xdpperf_testbed, xdpperf_builder, bench).latency(
        "macswap", rates=(1.0, 1_000.0), fractions=(0.5,), duration=0.3,
        throughput_pps=100_000.0)
    assert isinstance(m, LatencyMeasurement)
    assert [(p.rate_pps, p.fraction) for p in m.points] == [
        (50_000.0, 0.5), (1.0, None), (1_000.0, None)]
    one_pps = m.point(rate=1.0)
    assert one_pps.sent == 10 and one_pps.duration == 10.0  # down to one packet per second
    for p in m.points:
        s = p.histogram.summary()
        # the histogram holds every frame that came back; at low rates that is all of them
        # (at 50 kpps a stall of this shared VM may overflow a ring: loss, not latency)
        assert s["count"] == p.received > 0
        if p.fraction is None:
            assert p.received == p.sent
        order = [s[k] for k in ("min_us", "p50_us", "p90_us", "p99_us", "p99.9_us", "max_us")]
        assert order == sorted(order) and order[0] > 0
    info = bench.extra_info
    assert info["xdpperf_kind"] == "latency" and info["xdpperf_schema"] == 2
    assert_valid("latency", info)  # a real latency record, by schemas/latency.json
    assert info["throughput_source"] == "given"
    assert info["loss_floor"] == 0.0 and info["calibration"]["max_load_pps"] == 1.5e6
    assert info["tester_bound"] is False
    for pt in info["latency"]:  # each point's DUT CPU split, around its own trial
        assert pt["tester_bound"] is False
        cpu = pt["cpu"]
        assert cpu is not None and cpu["packets_basis"] == "received"
        assert cpu["cpus"] == sorted(xdpperf_testbed.dut.cpus)
        assert cpu["packets"] == pt["received"] - pt["duplicates"]
    assert [pt["rate_pps"] for pt in info["latency"]] == [50_000.0, 1.0, 1_000.0]
    assert info["latency"][0]["histogram"]["buckets"]
    assert len(bench.stats.values) == 3 and all(v > 0 for v in bench.stats.values)


@pytest.mark.integration
def test_xdpperf_latency_at_fractions_of_the_measured_ndr(xdpperf_testbed: Any,
                                                          xdpperf_builder: Any) -> None:
    """Without a given throughput the NF's NDR is searched first; the fractions are of it,
    or, where the path loses frames even at the minimum load, no such point and a note."""
    bench = FakeBenchmark()
    m = perf(xdpperf_testbed, xdpperf_builder, bench).latency(
        "macswap", rates=(), fractions=(0.5,), duration=0.2)
    assert m.throughput_source in ("ndr", "none")
    if m.throughput_source == "ndr":
        assert m.throughput_pps and m.throughput_pps >= 10_000  # at least the min load
        assert [(p.rate_pps, p.fraction) for p in m.points] == [(0.5 * m.throughput_pps, 0.5)]
        assert m.points[0].histogram.count == m.points[0].received > 0
    else:
        assert m.throughput_pps is None and m.points == []
        assert any("no NDR found" in n for n in m.notes)
    assert bench.extra_info["throughput_source"] == m.throughput_source


class FakeMeasurer:
    """Answers every trial with all frames back at 5 us."""

    def __init__(self) -> None:
        self.last: Any = None

    def __call__(self, rate: float, duration: float) -> Any:
        from pytest_xdpperf.rfc2544 import TrialResult
        from pytest_xdpperf.trafficgen.base import Offered

        n = max(1, round(rate * duration))
        self.last = Offered(rate, duration, n, n, duration, rate, n,
                            latency=LatencyHistogram.from_samples([5_000] * n))
        return TrialResult(rate, duration, n, n, duration)


def test_points_near_the_tester_capacity_are_flagged_tester_bound() -> None:
    from pytest_xdpperf.latency_run import measure_points

    points = measure_points(FakeMeasurer(), [(1_000.0, None), (950.0, 0.95), (899.0, 0.9)],  # type: ignore[arg-type]
                            0.1, tester_capacity_pps=1_000.0)
    assert [p.tester_bound for p in points] == [True, True, False]
    assert all(p.metrics == {} for p in points)  # no samplers asked for
    assert [p.histogram.count for p in points] == [100, 95, 90]


@pytest.mark.integration
def test_xdpperf_latency_rejects_drop_class_and_bad_input(xdpperf_testbed: Any,
                                                         xdpperf_builder: Any) -> None:
    from pytest_xdpperf.errors import XdpperfError

    with pytest.raises(XdpperfError, match="passthrough"):
        perf(xdpperf_testbed, xdpperf_builder, FakeBenchmark(), "drop").latency("macswap")
    p = perf(xdpperf_testbed, xdpperf_builder, FakeBenchmark())
    with pytest.raises(XdpperfError, match="fraction"):
        p.latency("macswap", fractions=(1.5,), throughput_pps=1e5)
    with pytest.raises(XdpperfError, match="rate"):
        p.latency("macswap", rates=(0.0,), fractions=())


def test_record_latency_without_points_records_no_stats() -> None:
    bench = FakeBenchmark()
    m = LatencyMeasurement(SimpleNamespace(name="x", params={}, attach="native",  # type: ignore[arg-type]
                                           bind="copy"), MODES["xdp"], TrafficProfile(),
                           None, "none", [], ["no NDR"])
    record_latency(bench, m)
    assert bench.extra_info["latency"] == [] and bench.stats.values == []
