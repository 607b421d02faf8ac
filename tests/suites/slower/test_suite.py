"""One checksum test whose cost comes from $XDPP_ROUNDS: the same test id made
slower on purpose, for tests/test_gating.py (run in a subprocess)."""

from __future__ import annotations

import os

import pytest


@pytest.mark.drop
def test_checksum(xdpperf):
    xdpperf.throughput("checksum", rounds=int(os.environ.get("XDPP_ROUNDS", "0")))
