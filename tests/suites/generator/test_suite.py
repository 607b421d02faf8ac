"""A one-test suite run in a subprocess by tests/test_generator_option.py with
--xdpperf-generator set: a real (short) calibration and measurement."""

from __future__ import annotations

from contextlib import closing

import pytest


@pytest.mark.drop
def test_macswap(xdpperf):
    result = xdpperf.throughput("macswap")
    assert result.forwarded_anything, result.notes
    # tests that drive traffic themselves get the session's generator too
    with closing(xdpperf.generator()) as generator:
        assert type(generator).__name__ == "CountingGenerator"
