"""`xdpperf plot`: valid PNG/SVG files whose figures hold the expected series."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.container import BarContainer, ErrorbarContainer
from records import bench, latency_bench, transactions, write

from pytest_xdpperf.cli import main
from pytest_xdpperf.history import load_all, load_record
from pytest_xdpperf.plot import figures, param_value

MODES = ("xdp", "af_xdp")
ROUNDS = (0, 100, 1000)


def cpu(user: float, system: float) -> dict:
    pct = {"user": user, "system": system, "softirq": 0.0, "idle": 100 - user - system}
    return {"source": "sar", "percent": pct,
            "ns_per_packet": {k: v * 10 for k, v in pct.items()}, "busy_ns_per_packet": 1.0}


# latency (ns) per (rate, fraction) point and mode: af_xdp three times xdp's
LOADS = ((50_000.0, 0.5), (1.0, None))


def latencies(mode: str) -> dict[tuple[float, float | None], list[int]]:
    scale = 3 if mode == "af_xdp" else 1
    return {load: [scale * (10_000 + 37 * i + 5_000 * j) for i in range(200)]
            for j, load in enumerate(LOADS)}


@pytest.fixture
def record(tmp_path: Path) -> Path:
    benches = []
    for i, mode in enumerate(MODES):
        benches.append(bench(f"t.py::test_macswap_drop[{mode}]", [4e6 - i * 1e6, 4.1e6 - i * 1e6],
                             mode=mode, cpu=cpu(10 + i, 40)))
        benches.append(latency_bench(f"t.py::test_macswap_latency[{mode}]", mode,
                                     latencies(mode)))
        for rounds in ROUNDS:
            benches.append(bench(f"t.py::test_checksum[{mode}-{rounds}]",
                                 [1e6 / (1 + rounds / 100) / (i + 1)], mode=mode, nf="checksum",
                                 params={"action": "drop", "rounds": rounds}, schema="single"))
    return write(tmp_path / "run.json", benches)


def test_figures_have_the_expected_series(record: Path) -> None:
    figs = figures([load_record(record)])
    # throughput per mode: NDR, PDR, MFR bars, one per mode, with error bars
    ax = figs["throughput-macswap-drop"].axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [c.get_label() for c in bars] == ["NDR", "PDR", "MFR"]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(MODES)
    pdr = bars[1]
    assert [round(p.get_height(), 3) for p in pdr.patches] == [4.05, 3.05]
    assert pdr.errorbar is not None
    assert "Mpps" in ax.get_ylabel()
    # against checksum rounds: a line per mode, x = rounds
    ax = figs["sweep-checksum-drop"].axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == set(MODES)
    assert np.asarray(lines["xdp"].get_xdata()).tolist() == list(ROUNDS)
    assert np.asarray(lines["af_xdp"].get_ydata()).tolist()[0] == pytest.approx(0.5)
    assert ax.get_xlabel() == "checksum rounds" and ax.get_legend() is not None
    # CPU split: stacked states
    ax = figs["cpu-split"].axes[0]
    assert {c.get_label() for c in ax.containers} == {"user", "system", "idle"}
    user = [c for c in ax.containers if isinstance(c, BarContainer)][0]
    assert [round(p.get_height()) for p in user.patches] == [100, 110]  # user ns
    assert "ns" in ax.get_ylabel()
    # latency records are no throughput: no bars for them
    assert "throughput-macswap-passthrough" not in figs
    # one record: no figure across records
    assert not any(k.startswith("across-") for k in figs)


def test_latency_distribution_from_the_recorded_histograms(record: Path) -> None:
    """One panel per load point, a CDF per mode, decoded from what record_latency wrote:
    it reaches every packet, and crosses one half at the record's own p50."""
    rec = load_record(record)
    figs = figures([rec])
    axes = [ax for ax in figs["latency-macswap-passthrough"].axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["50% of throughput", "1 pps"]
    for ax, (rate, fraction) in zip(axes, LOADS):
        assert "µs" in ax.get_xlabel()
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert list(lines) == list(MODES)
        medians = {}
        for mode, line in lines.items():
            xs = np.asarray(line.get_xdata()).tolist()
            ys = np.asarray(line.get_ydata()).tolist()
            assert ys == sorted(ys) and ys[-1] == pytest.approx(1.0)
            info = rec.tests[f"t.py::test_macswap_latency[{mode}]"].extra_info
            point = next(p for p in info["latency"] if p["rate_pps"] == rate)
            assert point["fraction"] == fraction
            assert point["min_us"] <= xs[0] and xs[-1] == pytest.approx(point["max_us"])
            medians[mode] = next(x for x, y in zip(xs, ys) if y >= 0.5)
            assert medians[mode] == pytest.approx(point["p50_us"])
        assert medians["af_xdp"] > 2.5 * medians["xdp"]


def test_across_records_figure(record: Path, tmp_path: Path) -> None:
    newer = write(tmp_path / "h" / "new.json",
                  [bench("t.py::test_macswap_drop[xdp]", [3.0e6, 3.2e6, 3.1e6])],
                  kernel="6.19.0", when="2026-11-03T00:00:00+00:00")
    figs = figures(load_all([record, newer]))
    ax = figs["across-test_macswap_drop-xdp"].axes[0]
    means = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(means) == 2 and means[0].get_label() == "mean ± stdev"
    assert np.asarray(means[0].lines[0].get_ydata()).tolist()[0] == pytest.approx(4.05)
    assert np.asarray(means[1].lines[0].get_ydata()).tolist()[0] == pytest.approx(3.1)
    # the repetitions themselves: 2 samples in the first record, 3 in the second
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert [len(np.asarray(c.get_offsets())) for c in scatters] == [2, 3]
    assert "6.19.0" in ax.get_xticklabels()[1].get_text()


def test_latency_across_records_figure(record: Path, tmp_path: Path) -> None:
    """A latency test across records: p50/p99/p99.9 per load point, one x per record."""
    slower = {load: [2 * v for v in values] for load, values in latencies("xdp").items()}
    newer = write(tmp_path / "h" / "new.json",
                  [latency_bench("t.py::test_macswap_latency[xdp]", "xdp", slower)],
                  kernel="6.19.0", when="2026-11-03T00:00:00+00:00")
    records = load_all([record, newer])
    fig = figures(records)["across-test_macswap_latency-xdp"]
    assert [ax.get_title() for ax in fig.axes] == ["50% of throughput", "1 pps"]
    for ax, load in zip(fig.axes, LOADS):
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert list(lines) == ["p50", "p99", "p99.9"]
        p50 = np.asarray(lines["p50"].get_ydata()).tolist()
        expected = [next(p["p50_us"] for p in r.tests["t.py::test_macswap_latency[xdp]"]
                         .extra_info["latency"] if p["rate_pps"] == load[0]) for r in records]
        assert p50 == pytest.approx(expected) and p50[1] > 1.9 * p50[0]
        assert ax.get_ylabel() == "latency (µs)"


def test_cli_writes_valid_png_and_svg(record: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plots"
    assert main(["plot", str(record), "-o", str(out)]) == 0
    pngs, svgs = sorted(out.glob("*.png")), sorted(out.glob("*.svg"))
    assert {p.stem for p in pngs} == {p.stem for p in svgs} >= {
        "throughput-macswap-drop", "sweep-checksum-drop", "cpu-split",
        "latency-macswap-passthrough"}
    for png in pngs:
        image = matplotlib.image.imread(png)
        assert image.shape[0] > 100 and image.shape[1] > 100
    for svg in svgs:
        assert ET.parse(svg).getroot().tag.endswith("svg")
    assert main(["plot", str(record), "-o", str(out), "--format", "gif"]) == 2


def test_records_without_cpu_or_latency_still_plot(tmp_path: Path) -> None:
    rec = write(tmp_path / "bare.json", [bench("t.py::test_x[xdp]", [1e6])])
    figs = figures([load_record(rec)])
    assert list(figs) == ["throughput-macswap-drop"]


def test_param_values() -> None:
    assert param_value("64K") == 65536 and param_value("1G") == 1 << 30
    assert param_value(1000) == 1000.0 and param_value("udp") is None


def test_transactions_records_get_their_own_figure(tmp_path: Path) -> None:
    """memcached behind the NF: transactions/s per mode, not drawn as (zero) throughput."""
    path = write(tmp_path / "run.json", [
        bench("t.py::test_macswap_drop[xdp]", [4e6], mode="xdp"),
        *(transactions(f"t.py::test_memcached[{m}]", tps, mode=m)
          for m, tps in (("xdp", 52_000.0), ("af_xdp", 31_000.0)))])
    figs = figures([load_record(path)])
    (name,) = [n for n in figs if n.startswith("transactions-")]
    ax = figs[name].axes[0]
    (bars,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [b.get_height() for b in bars] == [52_000.0, 31_000.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["xdp", "af_xdp"]
    assert ax.get_ylabel() == "transactions/s" and bars.get_label() == "memcached"
    # and the throughput figure holds the throughput test only
    tput = figs["throughput-macswap-drop"].axes[0]
    assert [t.get_text() for t in tput.get_xticklabels()] == ["xdp"]


def test_sweeps_are_found_in_the_records_not_declared(tmp_path: Path) -> None:
    """A user's NF swept over a parameter plot.py has never heard of gets its figure;
    a parameter that takes one value only is no sweep."""
    benches = [bench(f"t.py::test_mine[{mode}-{depth}]", [1e6 / depth] * 2, mode=mode,
                     nf="mynf", params={"action": "drop", "depth": depth, "fixed": 3},
                     schema="single")
               for mode in ("xdp", "af_xdp") for depth in (1, 4, 16)]
    figs = figures([load_record(write(tmp_path / "run.json", benches))])
    (name,) = [k for k in figs if k.startswith("sweep-")]
    ax = figs[name].axes[0]
    assert ax.get_xlabel() == "mynf depth"
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert np.asarray(lines["xdp"].get_xdata()).tolist() == [1, 4, 16]
