"""Run by tests/test_own_nf.py with --xdpperf-nf-dir: a user's NF from a folder
outside the repository, measured like a bundled one."""

from __future__ import annotations

import pytest


@pytest.mark.drop
def test_own_nf(xdpperf):
    result = xdpperf.throughput("mydrop")
    assert result.forwarded_anything
