"""Helpers for writing suites: a parameter's headline points and its sweep."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest


def points(name: str, headline: Iterable[Any], sweep: Iterable[Any] = ()) -> list[Any]:
    """pytest.param values with ids `<name><value>`; the sweep's are marked `sweep`,
    so the main job (`-m "not sweep"`) runs the headline ones and `-m sweep` the curve."""
    return ([pytest.param(v, id=f"{name}{v}") for v in headline]
            + [pytest.param(v, id=f"{name}{v}", marks=pytest.mark.sweep) for v in sweep])
