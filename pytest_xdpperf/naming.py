"""Names of everything the framework creates, so cleanup can find exactly those."""

from __future__ import annotations

import os
import secrets

# Every namespace and interface name starts with this; nothing else does.
PREFIX = "xdpp"


def new_run_id() -> str:
    """Short unique id of one testbed (interface names are at most 15 bytes)."""
    return secrets.token_hex(3)


def is_ours(name: str) -> bool:
    return name.startswith(PREFIX)


def run_dir() -> str:
    """Where live runs record their pids, for `xdpperf cleanup` after a kill -9."""
    return os.environ.get("XDPPERF_RUN_DIR", "/run/xdpperf")
