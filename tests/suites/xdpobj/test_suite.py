"""Run by tests/test_xdp_object.py: an XDP object that knows nothing of xdpperf
(its path in XDPP_OBJECT), measured through the bundled NF xdpobj."""

from __future__ import annotations

import os

import pytest


@pytest.mark.drop
def test_xdp_object(xdpperf):
    result = xdpperf.throughput("xdpobj", obj=os.environ["XDPP_OBJECT"])
    assert result.forwarded_anything
