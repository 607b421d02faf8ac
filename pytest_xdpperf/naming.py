"""Names of everything the framework creates, so cleanup can find exactly those.

A run has a 6-hex-digit id; its namespaces are ``xdpp-<id>-tester`` and
``xdpp-<id>-dut`` and its interfaces ``xdpp<id>t``, ``xdpp<id>d`` (the veth pair,
in the root namespace only while it is built) and ``xdpp<id>ri``, ``xdpp<id>rs``
(the re-injection pair, inside the DUT's namespace). Cleanup matches these exact
patterns, never a prefix: a user's ``xdpprod0`` or ``xdpp-lab`` is not ours.
"""

from __future__ import annotations

import os
import re
import secrets

PREFIX = "xdpp"
ROLES = ("tester", "dut")
INTERFACE_ROLES = ("t", "d", "ri", "rs")
_ID = r"[0-9a-f]{6}"


def new_run_id() -> str:
    """Short unique id of one testbed (interface names are at most 15 bytes)."""
    return secrets.token_hex(3)


def netns_name(run_id: str, role: str) -> str:
    assert role in ROLES and re.fullmatch(_ID, run_id)
    return f"{PREFIX}-{run_id}-{role}"


def ifname(run_id: str, role: str) -> str:
    assert role in INTERFACE_ROLES and re.fullmatch(_ID, run_id)
    return f"{PREFIX}{run_id}{role}"


# (PREFIX is read at each call: tests give their runs a prefix of their own)
def is_our_netns(name: str) -> bool:
    """Whether `name` is a namespace the framework made (exactly its pattern)."""
    pattern = rf"{re.escape(PREFIX)}-{_ID}-(?:{'|'.join(ROLES)})"
    return re.fullmatch(pattern, name) is not None


def is_ours(name: str) -> bool:
    """Whether `name` is an interface the framework made (exactly its pattern)."""
    pattern = rf"{re.escape(PREFIX)}{_ID}(?:{'|'.join(INTERFACE_ROLES)})"
    return re.fullmatch(pattern, name) is not None


def run_dir() -> str:
    """Where live runs record their pids, for `xdpperf cleanup` after a kill -9."""
    return os.environ.get("XDPPERF_RUN_DIR", "/run/xdpperf")
