"""Stability: the coefficient of variation of every figure over separate runs.

    sudo .venv/bin/python bench/stability.py RUN.json RUN.json ...      # stored runs
    sudo .venv/bin/python bench/stability.py --runs 3 [-- PYTEST ARGS]  # run them here

Each run is one pytest-benchmark JSON record of a whole session (the main job, or
PYTEST ARGS: by default the headline macswap, checksum and memory tests in xdp and
af_xdp). Per test it prints NDR, PDR, MFR (Mpps), the MFR over the no-op NF's
(mfr_vs_noop, a ratio) and the judged figure (the verdict's, see README
"Verdicts") with their mean and CV = stdev / mean over the runs that measured
them, and how many did. Targets (issue 11): CV of the judged figure <= 5%
in every headline macswap, checksum and memory test in xdp and af_xdp, <= 10% in the
other modes.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_xdpperf.history import load_record  # noqa: E402
from pytest_xdpperf.thresholds import (  # noqa: E402
    DEFAULT_FIGURE,
    NORMALISED,
    figure_value,
    unit_of,
)

DEFAULT_SELECTION = [str(ROOT / "testsuites" / name) for name in
                     ("test_macswap.py", "test_checksum.py", "test_memory.py")] + \
    ["-m", "not sweep", "--xdp-mode", "xdp,af_xdp"]
FIGURES = ("ndr", "pdr", "max_forwarding_rate", NORMALISED)
TARGET = {"xdp": 0.05, "af_xdp": 0.05}
OTHER_TARGET = 0.10


def run_sessions(n: int, args: list[str], out: Path) -> list[Path]:
    paths = []
    for i in range(n):
        path = out / f"run{i + 1}.json"
        subprocess.run([sys.executable, "-m", "pytest", *args, "-q", "-p", "no:cacheprovider",
                        "--xdpperf-thresholds", "none", f"--benchmark-json={path}"],
                       cwd=ROOT, check=False)
        if path.exists():
            paths.append(path)
    return paths


def judged_figure(info: dict[str, Any], figure: str) -> str:
    """`figure`, or for "judged" the one the record's verdict judged."""
    if figure != "judged":
        return figure
    return str((info.get("verdict") or {}).get("figure") or DEFAULT_FIGURE)


def cv(values: list[float]) -> float | None:
    return statistics.stdev(values) / statistics.fmean(values) if len(values) > 1 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="*", help="stored runs (pytest-benchmark JSON)")
    parser.add_argument("--runs", dest="count", type=int, default=0,
                        help="run the selection this many times here instead")
    parser.add_argument("--keep", metavar="DIR",
                        help="with --runs: keep the runs' JSON records in DIR (e.g. to make "
                             "thresholds from them)")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])  # after "--": pytest's (argparse would take them)
    pytest_args = argv[cut + 1:] or DEFAULT_SELECTION
    if args.count and args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        records = [load_record(p) for p in run_sessions(args.count, pytest_args,
                                                        Path(args.keep))]
    elif args.count:
        with tempfile.TemporaryDirectory() as tmp:
            records = [load_record(p) for p in run_sessions(args.count, pytest_args, Path(tmp))]
    else:
        records = [load_record(p) for p in args.runs]
    if len(records) < 2:
        sys.exit("stability: needs at least two runs")
    names = sorted({n for r in records for n, t in r.tests.items()
                    if not t.is_latency and not t.is_transactions})
    print(f"{len(records)} runs: " + ", ".join(r.path.name for r in records) + "\n")
    print("| test | " + " | ".join(f"{f} mean, CV" for f in (*FIGURES, "judged"))
          + " | judged figure | target | met |")
    print("|---" * (len(FIGURES) + 5) + "|")
    for name in names:
        infos = [r.tests[name].extra_info for r in records if name in r.tests]
        cells = []
        judged_cv = None
        for figure in (*FIGURES, "judged"):
            values = [v / unit_of(f)[1] for i in infos
                      if (v := figure_value(i, f := judged_figure(i, figure)))]
            c = cv(values)
            if figure == "judged":
                judged_cv = c if len(values) == len(infos) else None
            cells.append((f"{statistics.fmean(values):.3f}" if values else "-")
                         + (f", {c:.1%}" if c is not None else "")
                         + (f" ({len(values)}/{len(infos)})" if len(values) < len(infos) else ""))
        mode = str(infos[0].get("mode"))
        target = TARGET.get(mode, OTHER_TARGET)
        figures = sorted({judged_figure(i, "judged") for i in infos})
        met = "-" if judged_cv is None else ("yes" if judged_cv <= target else "no")
        print(f"| {name.split('::')[-1]} | " + " | ".join(cells)
              + f" | {', '.join(figures)} | {target:.0%} | {met} |")


if __name__ == "__main__":
    main()
