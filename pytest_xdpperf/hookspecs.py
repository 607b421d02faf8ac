"""The hooks xdpperf adds to pytest (registered by plugin.pytest_addhooks), declared
the way pytest-benchmark declares its own: a conftest.py or a plugin implements them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .testbed.base import Testbed


@pytest.hookspec(firstresult=True)
def pytest_xdpperf_testbed(config: pytest.Config) -> Testbed | None:
    """Make the session's testbed (testbed.base.Testbed): a lab's two hosts, a real NIC,
    a host reached over SSH. The first implementation that returns one wins; return
    None to leave it to the next. The plugin destroys it when the session ends. With
    none, the built-in veth testbed is made, after its preflight (root, BPF, AF_XDP,
    BTF, clang), which a testbed from this hook checks for itself."""
