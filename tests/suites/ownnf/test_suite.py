"""Run by tests/test_own_nf.py with --xdpperf-nf-dir or --xdpperf-nf-program: a user's
NF from outside the repository (XDPP_OWN_NF names it), measured like a bundled one."""

from __future__ import annotations

import os

import pytest


@pytest.mark.drop
def test_own_nf(xdpperf):
    result = xdpperf.throughput(os.environ.get("XDPP_OWN_NF", "mydrop"))
    assert result.forwarded_anything
