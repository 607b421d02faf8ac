"""Copied by tests/test_options.py into a folder with its own ini file and run there
in a subprocess: writes every xdpperf option's value as the plugin resolved it
(config.getoption after its pytest_configure) and the session's RunOptions as JSON
to $XDPP_VALUES. It asks for no testbed fixture, so nothing is made and no preflight
check runs: the run needs no root and no lock."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from pytest_xdpperf.settings import SETTINGS


def test_values(pytestconfig: pytest.Config) -> None:
    values = {s.flag: pytestconfig.getoption(s.flag) for s in SETTINGS}
    run_options = dataclasses.asdict(pytestconfig._xdpperf_options)  # type: ignore[attr-defined]
    Path(os.environ["XDPP_VALUES"]).write_text(json.dumps({"options": values,
                                                           "run_options": run_options}))
