"""macswap made slower in its C code by a known amount of extra work per frame: a copy
of nfs/ whose macswap swaps the MACs `swaps` more times (an even count, so the frame
is unchanged) behind a compiler barrier, so the work is really done. Used by
tests/test_verdicts.py and bench/sensitivity.py, which run a suite with it through
--xdpperf-nfs (built beside it)."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SWAP = "\tpkt_swap_macs(eth);"


def slower_nfs(dest: Path, swaps: int) -> list[str]:
    """Write the slowed copy under `dest`; the pytest options that make a run use it."""
    if swaps < 2 or swaps % 2:
        raise ValueError(f"swaps must be even and >= 2 (the frame stays unchanged), got {swaps}")
    nfs = dest / "nfs"
    shutil.copytree(ROOT / "nfs", nfs)
    header = nfs / "macswap" / "macswap.h"
    text = header.read_text()
    assert SWAP in text, "macswap.h no longer swaps with pkt_swap_macs(eth)"
    slow = (f"\tfor (int i = 0; i < {swaps}; i++) {{\n\t\tpkt_swap_macs(eth);\n"
            f"\t\tasm volatile(\"\" ::: \"memory\");\n\t}}\n{SWAP}")
    header.write_text(text.replace(SWAP, slow, 1))
    return ["--xdpperf-nfs", str(nfs)]
