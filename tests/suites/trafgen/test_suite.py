"""Run by tests/test_trafgen.py with --xdpperf-generator trafgen: a real calibration and a
drop-class measurement through netsniff-ng's trafgen, and a passthrough test it must
refuse (trafgen does not receive)."""

from __future__ import annotations

from contextlib import closing

import pytest


@pytest.mark.drop
def test_macswap_drop(xdpperf):
    result = xdpperf.throughput("macswap")
    assert result.forwarded_anything, result.notes
    with closing(xdpperf.generator()) as generator:
        assert type(generator).__name__ == "TrafgenGenerator"


@pytest.mark.passthrough
def test_macswap_passthrough(xdpperf):
    xdpperf.throughput("macswap")
