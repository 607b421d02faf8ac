"""The NFs come from $XDPP_NFS (built into $XDPP_BUILD) when set: tests/test_verdicts.py
runs this suite once with the bundled macswap and once with a copy made slower in
its C code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_xdpperf.build import Builder


@pytest.fixture(scope="session")
def xdpperf_builder() -> Builder:
    sources = os.environ.get("XDPP_NFS")
    if not sources:
        return Builder()
    return Builder(Path(sources), Path(os.environ["XDPP_BUILD"]))
