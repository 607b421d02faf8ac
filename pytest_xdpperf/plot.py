"""Figures from xdpperf records (matplotlib, Agg backend: no display needed).

Every function returns a matplotlib Figure (tests inspect its series); `plot_all`
saves them as PNG and SVG.  Figures:
- throughput per mode: NDR, PDR and MFR bars per mode with error bars (stdev of
  the repetitions when the record has them);
- throughput against a parameter (memory size, checksum rounds, ACL rules,
  sessions): the headline rate, a line per mode;
- CPU split: stacked bars of CPU-ns per packet (percent if no packet count) per state;
- latency distribution: per load point of latency records, a CDF per mode;
- one test across records (kernels or commits): its samples and mean per record
  (throughput tests; latency records hold one histogram per point, no samples).
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import LogFormatter  # noqa: E402

from .history import (  # noqa: E402
    TPS,
    Record,
    TestRecord,
    latency_points,
    load_order,
    load_title,
)
from .latency import LatencyHistogram  # noqa: E402
from .modes import mode_order  # noqa: E402

FIGURES = ("png", "svg")
CPU_STATES = ("user", "nice", "system", "irq", "softirq", "steal", "guest", "iowait", "idle")
SUFFIX = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def _mode_key(mode: str) -> tuple[int, str]:
    """Modes in the NF runtime's order (modes.mode_order), unknown ones after them."""
    order = mode_order()
    return (order.index(mode) if mode in order else len(order), mode)


def param_value(value: Any) -> float | None:
    """'64K' -> 65536, '1000' -> 1000.0; None if not a number."""
    if isinstance(value, int | float):
        return float(value)
    m = re.fullmatch(r"\s*([0-9.]+)\s*([KMG]?)B?\s*", str(value), re.IGNORECASE)
    if not m:
        return None
    return float(m.group(1)) * SUFFIX.get(m.group(2).upper(), 1)


def _group(test: TestRecord, sweep: str | None = None) -> str:
    """NF, its parameters (without the swept one and the class's action), traffic class."""
    info = test.extra_info
    params = {k: v for k, v in (info.get("nf_params") or {}).items()
              if k != "action" and k != sweep}
    label = info.get("nf", "?")
    if params:
        label += "(" + ",".join(f"{k}={v}" for k, v in sorted(params.items())) + ")"
    return f"{label} {info.get('traffic_class', '')}".strip()


def _stdev(test: TestRecord, figure: str) -> float:
    info = test.extra_info
    reps = info.get("repetitions") or {}
    key = {"ndr": "ndr_pps", "pdr": "pdr_pps", "max_forwarding_rate": "mfr_pps"}[figure]
    samples = [v for v in reps.get(key) or [] if v is not None]
    if len(samples) > 1:
        return statistics.stdev(samples)
    if figure == "max_forwarding_rate":
        return float((info.get("max_forwarding_rate") or {}).get("stdev_pps") or 0.0)
    return 0.0


def _per_mode(tests: list[TestRecord], width_per_mode: float
              ) -> tuple[list[TestRecord], list[str], Figure, Axes]:
    """Tests in mode order, their modes, and a figure wide enough for them."""
    tests = sorted(tests, key=lambda t: _mode_key(t.extra_info.get("mode", "")))
    modes = [t.extra_info.get("mode", "?") for t in tests]
    fig = Figure(figsize=(max(6.0, width_per_mode * len(modes) + 2), 4.5))
    return tests, modes, fig, fig.subplots()


def _finish_per_mode(fig: Figure, ax: Axes, modes: list[str], ylabel: str, title: str,
                     legend: str) -> Figure:
    ax.set_xticks(range(len(modes)), modes)
    ax.set_xlabel("mode")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(title=legend)
    fig.tight_layout()
    return fig


def throughput_per_mode(tests: list[TestRecord], title: str) -> Figure:
    """Grouped bars: NDR, PDR, MFR (Mpps) per mode, error bars = stdev of repetitions."""
    tests, modes, fig, ax = _per_mode(tests, 1.3)
    width = 0.27
    for i, (figure, name) in enumerate((("ndr", "NDR"), ("pdr", "PDR"),
                                        ("max_forwarding_rate", "MFR"))):
        values = [(t.figure_pps(figure) or 0.0) / 1e6 for t in tests]
        errors = [_stdev(t, figure) / 1e6 for t in tests]
        xs = [j + (i - 1) * width for j in range(len(tests))]
        ax.bar(xs, values, width, yerr=errors, capsize=3, label=name)
    return _finish_per_mode(fig, ax, modes, "throughput (Mpps)", title, "figure")


def transactions_per_mode(tests: list[TestRecord], title: str) -> Figure:
    """Bars: an application's transactions/s behind the NF, per mode."""
    tests, modes, fig, ax = _per_mode(tests, 1.0)
    app = tests[0].extra_info.get("app", "application") if tests else "application"
    ax.bar(range(len(tests)), [t.mean_pps or 0.0 for t in tests], 0.6, label=app)
    return _finish_per_mode(fig, ax, modes, "transactions/s", title, "application")


def swept(tests: list[TestRecord]) -> dict[str, list[str]]:
    """NF -> the parameters its records sweep: those (but the class's action) that take
    more than one numeric value across them. Found in the records, so a user's NF or a
    new sweep in a suite is plotted with nothing to declare."""
    values: dict[str, dict[str, set[float]]] = defaultdict(lambda: defaultdict(set))
    for t in tests:
        nf = str(t.extra_info.get("nf", ""))
        for key, value in (t.extra_info.get("nf_params") or {}).items():
            x = param_value(value)
            if key != "action" and x is not None:
                values[nf][key].add(x)
    return {nf: sorted(k for k, xs in keys.items() if len(xs) > 1)
            for nf, keys in values.items() if any(len(xs) > 1 for xs in keys.values())}


def throughput_vs_param(tests: list[TestRecord], nf: str, key: str,
                        title: str) -> Figure | None:
    """Headline rate against the NF's swept parameter `key`, one line per mode."""
    lines: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for t in tests:
        x = param_value((t.extra_info.get("nf_params") or {}).get(key))
        if x is None or not t.mean_pps:
            continue
        lines[t.extra_info.get("mode", "?")].append((x, t.mean_pps / 1e6))
    if not any(len({x for x, _ in pts}) > 1 for pts in lines.values()):
        return None  # nothing swept
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    xs_all = [x for pts in lines.values() for x, _ in pts]
    for mode in sorted(lines, key=_mode_key):
        pts = sorted(lines[mode])
        ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=mode)
    if min(xs_all) > 0 and max(xs_all) / min(xs_all) >= 100:
        powers_of_two = all(x == 2 ** round(math.log2(x)) for x in xs_all)
        ax.set_xscale("log", base=2 if powers_of_two else 10)
    ax.set_xlabel(f"{nf} {key}")
    ax.set_ylabel("throughput (Mpps)")
    ax.set_title(title)
    ax.legend(title="mode")
    fig.tight_layout()
    return fig


def cpu_split(tests: list[TestRecord], title: str) -> Figure | None:
    """Stacked bars per test of the DUT CPU time per packet (or percent) by state."""
    with_cpu = [t for t in tests if t.extra_info.get("cpu")]
    if not with_cpu:
        return None
    with_cpu.sort(key=lambda t: (_group(t), _mode_key(t.extra_info.get("mode", ""))))
    per_packet = all((t.extra_info["cpu"].get("ns_per_packet")) for t in with_cpu)
    fig = Figure(figsize=(max(6.0, 0.9 * len(with_cpu) + 3), 4.5))
    ax = fig.subplots()
    labels = [f"{t.extra_info.get('mode', '?')}\n{_group(t)}" for t in with_cpu]
    bottoms = [0.0] * len(with_cpu)
    for state in CPU_STATES:
        section = "ns_per_packet" if per_packet else "percent"
        values = [float((t.extra_info["cpu"].get(section) or {}).get(state) or 0.0)
                  for t in with_cpu]
        if not any(values):
            continue
        ax.bar(range(len(with_cpu)), values, 0.6, bottom=bottoms, label=state)
        bottoms = [b + v for b, v in zip(bottoms, values)]
    ax.set_xticks(range(len(with_cpu)), labels, fontsize=7)
    ax.set_ylabel("DUT CPU time per packet (ns)" if per_packet else "DUT CPU time (%)")
    sources = sorted({t.extra_info["cpu"].get("source", "?") for t in with_cpu})
    ax.set_title(f"{title} (source: {', '.join(sources)})")
    ax.legend(title="CPU state", fontsize=8)
    fig.tight_layout()
    return fig


def latency_distribution(tests: list[TestRecord], title: str) -> Figure | None:
    """Per load point of latency records, the latency distribution of each mode: the
    share of packets at or below each latency (a CDF), from the recorded histogram as
    latency.py decodes it."""
    curves: dict[tuple[str, float], list[tuple[str, LatencyHistogram]]] = defaultdict(list)
    for t in tests:
        if not t.is_latency:
            continue
        for key, point in latency_points(t).items():
            hist = LatencyHistogram.from_point(point)
            if hist.count:
                curves[key].append((t.extra_info.get("mode", "?"), hist))
    if not curves:
        return None
    keys = sorted(curves, key=load_order)
    cols = min(3, len(keys))
    rows = -(-len(keys) // cols)
    fig = Figure(figsize=(4.3 * cols, 3.5 * rows + 0.5))
    axes = list(fig.subplots(rows, cols, squeeze=False).flat)
    for ax, key in zip(axes, keys):
        for mode, hist in sorted(curves[key], key=lambda c: _mode_key(c[0])):
            cdf = hist.cdf()
            ax.plot([ns / 1e3 for ns, _ in cdf], [share for _, share in cdf],
                    drawstyle="steps-post", label=mode)
        ax.set_xscale("log")
        # plain microseconds on the log axis, not 3x10^1 labels that run together
        ax.xaxis.set_major_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 1)))
        ax.xaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 1)))
        ax.set_title(load_title(key), fontsize=10)
        ax.set_xlabel("latency (µs)")
        ax.set_ylabel("share of packets at or below")
        ax.set_ylim(0, 1.02)
        ax.legend(title="mode", fontsize=8)
    for ax in axes[len(keys):]:
        ax.set_visible(False)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def across_records(name: str, rows: list[tuple[Record, TestRecord | None]]) -> Figure:
    """One test across records (kernels / commits): samples and mean ± stdev each."""
    fig = Figure(figsize=(max(6.0, 1.2 * len(rows) + 2), 4.5))
    ax = fig.subplots()
    labels = []
    metric = "?"
    for i, (record, test) in enumerate(rows):
        labels.append(record.label.replace(" ", "\n"))
        if test is None or not test.samples_pps:
            continue
        metric = test.metric
        scale = 1.0 if test.is_transactions else 1e6
        samples = [s / scale for s in test.samples_pps]
        mean = statistics.fmean(samples)
        err = statistics.stdev(samples) if len(samples) > 1 else 0.0
        ax.scatter([i] * len(samples), samples, s=12, color="tab:gray", alpha=0.6,
                   label="repetition" if i == 0 else None)
        ax.errorbar([i], [mean], yerr=[err], fmt="o", color="tab:blue", capsize=4,
                    label="mean ± stdev" if i == 0 else None)
    ax.set_xticks(range(len(rows)), labels, fontsize=8)
    ax.set_xlabel("record (kernel release, commit)")
    ax.set_ylabel("transactions/s" if metric == TPS else f"{metric} throughput (Mpps)")
    ax.set_title(name)
    ax.legend()
    fig.tight_layout()
    return fig


LATENCY_ACROSS = (("p50_us", "p50", "o"), ("p99_us", "p99", "s"), ("p99.9_us", "p99.9", "^"))


def latency_across_records(name: str, rows: list[tuple[Record, TestRecord | None]]) -> Figure:
    """One latency test across records: p50, p99 and p99.9 at each load point."""
    keys = sorted({k for _, t in rows for k in latency_points(t)}, key=load_order)
    cols = min(len(keys), 3) or 1
    fig = Figure(figsize=(max(4.3, 0.9 * len(rows) + 2) * cols, 4.0))
    axes = list(fig.subplots(1, cols, squeeze=False).flat)
    labels = [record.label.replace(" ", "\n") for record, _ in rows]
    for ax, key in zip(axes, keys[:cols]):
        for field, label, marker in LATENCY_ACROSS:
            xs, ys = [], []
            for i, (_, test) in enumerate(rows):
                point = latency_points(test).get(key)
                if point is not None and point.get(field) is not None:
                    xs.append(i)
                    ys.append(point[field])
            ax.plot(xs, ys, marker=marker, label=label)
        ax.set_xticks(range(len(rows)), labels, fontsize=8)
        ax.set_xlabel("record (kernel release, commit)")
        ax.set_ylabel("latency (µs)")
        ax.set_title(load_title(key), fontsize=10)
        ax.legend(title="percentile", fontsize=8)
    fig.suptitle(name)
    fig.tight_layout()
    return fig


def figures(records: list[Record]) -> dict[str, Figure]:
    """Every figure the records allow, by file stem."""
    out: dict[str, Figure] = {}
    latest = records[-1]
    tests = [t for t in latest.tests.values() if not t.is_latency and not t.is_transactions]
    by_app: dict[str, list[TestRecord]] = defaultdict(list)
    for t in latest.tests.values():
        if t.is_transactions:
            by_app[_group(t)].append(t)
    for group, members in sorted(by_app.items()):
        out[f"transactions-{_slug(group)}"] = transactions_per_mode(
            members, f"{group}: transactions")
    latency: dict[str, list[TestRecord]] = defaultdict(list)
    for t in latest.tests.values():
        if t.is_latency:
            latency[_group(t)].append(t)
    by_group: dict[str, list[TestRecord]] = defaultdict(list)
    for t in tests:
        by_group[_group(t)].append(t)
    for group, members in sorted(by_group.items()):
        out[f"throughput-{_slug(group)}"] = throughput_per_mode(members, f"{group}: throughput")
    by_sweep: dict[tuple[str, str, str], list[TestRecord]] = defaultdict(list)
    sweeps = swept([t for t in tests if not t.is_latency and not t.is_transactions])
    for t in tests:
        nf = str(t.extra_info.get("nf", ""))
        for key in sweeps.get(nf, ()):
            by_sweep[(nf, key, _group(t, key))].append(t)
    for (nf, key, group), members in sorted(by_sweep.items()):
        fig = throughput_vs_param(members, nf, key, f"{group}: throughput against {key}")
        if fig is not None:
            name = f"sweep-{_slug(group)}"
            out[name if name not in out else f"{name}-{_slug(key)}"] = fig
    cpu = cpu_split(tests, "DUT CPU split")
    if cpu is not None:
        out["cpu-split"] = cpu
    for group, members in sorted(latency.items()):
        lat = latency_distribution(members, f"{group}: latency")
        if lat is not None:
            out[f"latency-{_slug(group)}"] = lat
    if len(records) > 1:
        names: list[str] = []
        latency_names: list[str] = []
        for r in records:
            for n, t in r.tests.items():
                kind = latency_names if t.is_latency else names
                if n not in kind:
                    kind.append(n)
        for name in names:
            out[f"across-{_slug(name.split('::')[-1])}"] = across_records(
                name, [(r, r.tests.get(name)) for r in records])
        for name in latency_names:
            out[f"across-{_slug(name.split('::')[-1])}"] = latency_across_records(
                name, [(r, r.tests.get(name)) for r in records])
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80] or "figure"


def save(fig: Figure, directory: Path, stem: str, formats: tuple[str, ...] = FIGURES) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = directory / f"{stem}.{fmt}"
        fig.savefig(path, format=fmt, dpi=120)
        paths.append(path)

    return paths


def plot_all(records: list[Record], directory: Path,
             formats: tuple[str, ...] = FIGURES) -> list[Path]:
    paths = []
    for stem, fig in figures(records).items():
        paths.extend(save(fig, directory, stem, formats))
    return paths
