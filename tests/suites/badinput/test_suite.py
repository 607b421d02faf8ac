"""The one test: a measurement call read from $XDPP_CALL (JSON: the fixture's method,
the NF, keyword arguments), run by tests/test_bad_input.py in a subprocess."""

from __future__ import annotations

import json
import os

import pytest


@pytest.mark.drop
def test_call(xdpperf) -> None:
    call = json.loads(os.environ.get("XDPP_CALL", '{"method": "none"}'))
    if call["method"] == "none":
        return  # a bad option or machine stops the run before this
    getattr(xdpperf, call["method"])(call["nf"], **call.get("kwargs", {}))
    raise AssertionError("the bad input was not refused")
