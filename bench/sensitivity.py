"""Sensitivity: the smallest slowdown of macswap's per-packet work that the bundled
suite fails on against the testbed's shipped thresholds, with no false failure.

    sudo .venv/bin/python bench/sensitivity.py [--unchanged 5] [--swaps 4,8,16,32]
                                               [--mode xdp] [--thresholds FILE]

Runs testsuites/test_macswap.py::test_macswap_drop[MODE] in separate pytest sessions
(each calibrates the testbed, as the main job does), judged against the thresholds the
suite picks by default (testsuites/thresholds/<testbed>.toml) or --thresholds:

1. `--unchanged` times with the bundled macswap: every one must pass (a failure there
   is a false failure, and the thresholds are too tight for this testbed);
2. once per `--swaps` level with macswap made slower in its C code
   (tests/slowdown.py: that many extra MAC swaps per frame behind a compiler barrier).

A level's slowdown is measured, not assumed: 1 - its judged figure / the unchanged
runs' mean of it (over those that passed: an inconclusive one measured the tester;
the verdict's figure: on this testbed mfr_vs_noop, the MFR over
the session's no-op, since the host's speed moves the MFR itself by tens of
percent between sessions; the raw MFR is shown beside it). The answer is the
smallest measured slowdown from which on every slower level failed. Target (issue
11): a 20% slowdown is caught and the unchanged runs never fail.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from slowdown import slower_nfs  # noqa: E402

from pytest_xdpperf.history import load_record  # noqa: E402

TEST = "testsuites/test_macswap.py::test_macswap_drop"


@dataclass
class Run:
    label: str
    swaps: int
    returncode: int
    mfr_pps: float | None
    verdict: dict[str, Any]


def one(label: str, swaps: int, mode: str, out: Path, extra: list[str]) -> Run:
    """One pytest session of the macswap drop test in `mode`; its MFR and verdict."""
    path = out / f"{label}.json"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", f"{TEST}[{mode}]", "-q", "-p", "no:cacheprovider",
         "--xdp-mode", mode, f"--benchmark-json={path}", "--xdpperf-journal", "", *extra],
        cwd=ROOT, capture_output=True, text=True, check=False)
    if not path.exists():
        sys.exit(f"{label}: the session wrote no record (exit {proc.returncode}):\n"
                 f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    (test,) = load_record(path).tests.values()
    mfr = (test.extra_info.get("max_forwarding_rate") or {}).get("mean_pps")
    return Run(label, swaps, proc.returncode, mfr, dict(test.extra_info.get("verdict") or {}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--unchanged", type=int, default=5, help="runs of the bundled NF")
    ap.add_argument("--swaps", default="4,8,16,32",
                    help="extra MAC swaps per frame, one slowed run each (even numbers)")
    ap.add_argument("--mode", default="xdp")
    ap.add_argument("--thresholds", help="thresholds file (default: the testbed's own)")
    args = ap.parse_args()
    levels = [int(s) for s in args.swaps.split(",") if s]
    extra = ["--xdpperf-thresholds", args.thresholds] if args.thresholds else []
    with tempfile.TemporaryDirectory(prefix="xdpperf-sensitivity-") as tmp:
        out = Path(tmp)
        runs = [one(f"unchanged{i + 1}", 0, args.mode, out, extra)
                for i in range(args.unchanged)]
        for swaps in levels:
            runs.append(one(f"swaps{swaps}", swaps, args.mode, out,
                            extra + slower_nfs(out / f"nfs{swaps}", swaps)))
    # the unchanged sessions the DUT decided (an inconclusive one measured the tester)
    base = [v for r in runs if r.swaps == 0 and r.verdict.get("status") == "pass"
            and (v := r.verdict.get("value"))]
    mean = statistics.fmean(base) if base else None
    print(f"{TEST}[{args.mode}] against {'the testbed' if not extra else args.thresholds}"
          "'s thresholds")
    print(f"{'run':12} {'swaps':>5} {'MFR Mpps':>9} {'slowdown':>9} {'verdict':14} "
          "figure value / limit")
    for r in runs:
        value = r.verdict.get("value")
        slow = (1 - value / mean) if (mean and value) else None
        v = r.verdict
        print(f"{r.label:12} {r.swaps:5d} "
              f"{(r.mfr_pps or 0) / 1e6:9.3f} "
              f"{'-' if slow is None else f'{slow:+.1%}':>9} {v.get('status', '?'):14} "
              f"{v.get('figure')} {v.get('value')} / {v.get('limit')}")
    false = [r.label for r in runs if r.swaps == 0 and r.verdict.get("status") == "fail"]
    slowed = sorted((r for r in runs if r.swaps), key=lambda r: r.swaps)
    caught = None
    for i, r in enumerate(slowed):
        if all(s.verdict.get("status") == "fail" for s in slowed[i:]):
            caught = r
            break
    print(f"false failures of the unchanged NF: {len(false)} of {args.unchanged}"
          + (f" ({', '.join(false)})" if false else ""))
    if caught and mean and caught.verdict.get("value"):
        print(f"smallest slowdown caught: {1 - caught.verdict['value'] / mean:.1%} "
              f"({caught.swaps} extra swaps per frame; every slower level failed too)")
    else:
        print("no slowed level failed with every slower one failing too")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
