"""An NF's parameter table (`<nf> --describe`, struct nf_param in <nf>_user.c) and the
check of a test's parameters against it before the NF starts (pytest_xdpperf/params.py).
No root: the real NFs are only built and asked to --describe themselves."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pytest_xdpperf.modes import MODES
from pytest_xdpperf.nf import NfSpec, RunningNf, describe, has_param, params_of
from pytest_xdpperf.params import BadParameter, Param, c_integer, check, size_text, table
from pytest_xdpperf.testbed.base import Host

ACTIONS = ["drop", "tx", "pass", "aborted"]
MACSWAP = [Param("action", "choice", choices=tuple(ACTIONS), default="drop")]
CHECKSUM = MACSWAP + [Param("rounds", "int", min=0, max=1_000_000, default=1)]
MEMORY = MACSWAP + [Param("size", "size", min=64, max=4 << 30, multiple=8, default=4096)]
NOWHERE = Host("dut", "no-such-if", "02:00:00:00:00:01", "10.0.0.1", (0,))


def message(nf: str, params: list[Param], given: dict[str, Any]) -> str:
    with pytest.raises(BadParameter) as bad:
        check(nf, params, given)
    return str(bad.value)


# --- the check, on tables as --describe gives them ----------------------------------------

def test_unknown_parameter_names_what_the_nf_takes() -> None:
    assert message("macswap", MACSWAP, {"actoin": "drop"}) == (
        "macswap: unknown parameter 'actoin' (macswap takes: action=drop|tx|pass|aborted)")
    assert message("chain0", [], {"action": "tx"}) == (
        "chain0: unknown parameter 'action' (chain0 takes no parameters)")


def test_out_of_range_and_wrong_kinds() -> None:
    assert message("checksum", CHECKSUM, {"rounds": 1_000_001}) == (
        "checksum: rounds=1000001 is out of range (rounds takes 0 to 1000000)")
    assert message("checksum", CHECKSUM, {"rounds": -1}) == (
        "checksum: rounds=-1 is out of range (rounds takes 0 to 1000000)")
    assert message("checksum", CHECKSUM, {"rounds": "ten"}) == (
        "checksum: rounds=ten is not an integer (rounds takes 0 to 1000000)")
    assert message("checksum", CHECKSUM, {"rounds": True}) == (
        "checksum: rounds=True is a boolean (rounds takes 0 to 1000000)")
    assert message("macswap", MACSWAP, {"action": "reject"}) == (
        "macswap: action=reject is not one of its values (action takes drop|tx|pass|aborted)")


def test_sizes_as_the_nf_reads_them() -> None:
    check("memory", MEMORY, {"size": "64M", "action": "tx"})
    check("memory", MEMORY, {"size": 4096})
    check("memory", MEMORY, {"size": "4g"})
    assert message("memory", MEMORY, {"size": "1T"}) == (
        "memory: size=1T is out of range (size takes 64 to 4G bytes)")
    assert message("memory", MEMORY, {"size": 100}) == (
        "memory: size=100 is not a multiple of 8 (use size=96 or size=104)")
    assert "size=4Q is not a byte count" in message("memory", MEMORY, {"size": "4Q"})
    assert "e.g. size=64M" in message("memory", MEMORY, {"size": "-8"})
    assert message("memory", MEMORY, {"size": 0}).startswith("memory: size=0 is out of range")


def test_integers_are_read_like_strtoll_base_0() -> None:
    assert [c_integer(t) for t in ("10", "0x10", "010", "-3", " 7", "0")] == [10, 16, 8, -3, 7, 0]
    assert [c_integer(t) for t in ("08", "1e3", "", "3 ", "0x")] == [None] * 5
    check("checksum", CHECKSUM, {"rounds": "0x10"})


def test_size_text_is_the_nfs() -> None:
    assert [size_text(n) for n in (4 << 30, 4096, 64, 3 << 20, 100)] == [
        "4G", "4K", "64", "3M", "100"]


def test_a_bad_parameter_stops_running_nf_before_anything_starts(tmp_path: Path) -> None:
    """RunningNf checks against the binary's own table: the fake NF answers only
    --describe, so reaching anything else would fail differently."""
    nf = tmp_path / "fakenf"
    answer = {"nf": "fakenf", "modes": ["xdp"], "modes_note": None,
              "params": [{"name": "rounds", "type": "int", "min": 0, "max": 9, "default": 1,
                          "help": "h"}]}
    nf.write_text("#!/bin/sh\n"
                  f"[ \"$1\" = --describe ] && echo '{json.dumps(answer)}' && exit 0\n"
                  "echo started >> \"$0.log\"; exit 2\n")
    nf.chmod(nf.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(BadParameter, match=r"^fakenf: rounds=10 is out of range "
                                           r"\(rounds takes 0 to 9\)$"):
        RunningNf(nf, NfSpec("fakenf", {"rounds": 10}), MODES["xdp"], NOWHERE)
    with pytest.raises(BadParameter, match="unknown parameter 'round'"):
        RunningNf(nf, NfSpec("fakenf", {"round": 1}), MODES["xdp"], NOWHERE)
    assert not Path(f"{nf}.log").exists(), "the NF was started"


# --- the real NFs' tables ---------------------------------------------------------------

def test_macswap_describes_its_table(xdpperf_builder: Any) -> None:
    binary = xdpperf_builder.program("macswap")
    assert describe(binary)["params"] == [
        {"name": "action", "type": "choice", "choices": ACTIONS, "default": "drop",
         "help": "what to do after swapping"}]
    assert params_of(binary) == [Param("action", "choice", "what to do after swapping",
                                       "drop", choices=tuple(ACTIONS))]
    assert has_param(binary, "action") and not has_param(binary, "rounds")


def test_memory_table_and_its_help_come_from_one_place(xdpperf_builder: Any) -> None:
    binary = xdpperf_builder.program("memory")
    size = next(p for p in params_of(binary) if p.name == "size")
    assert (size.type, size.min, size.max, size.multiple, size.default) == (
        "size", 64, 4 << 30, 8, 4096)
    usage = subprocess.run([str(binary), "--help"], capture_output=True, text=True,
                           check=True).stdout
    assert "--param size=64..4G\n" in usage and "(default 4K)" in usage
    assert "--param action=drop|tx|pass|aborted\n" in usage


def test_defaults_are_the_initial_config_not_the_command_line(xdpperf_builder: Any) -> None:
    binary = xdpperf_builder.program("checksum")
    out = subprocess.run([str(binary), "--param", "rounds=7", "--describe"],
                         capture_output=True, text=True, check=True).stdout
    rounds = next(p for p in table(json.loads(out)) if p.name == "rounds")
    assert rounds.default == 1


@pytest.mark.parametrize("nf", ["macswap", "checksum", "memory", "firewall", "loadbalancer",
                                "chain"])
def test_python_and_the_nf_refuse_the_same(xdpperf_builder: Any, nf: str) -> None:
    """Each parameter's bounds, one past them and a non-value: the NF's own parser
    (exit 2, before any namespace) and the Python check agree on every one."""
    binary = xdpperf_builder.program(nf)
    for param in params_of(binary):
        if param.type == "choice":
            values: list[Any] = [*param.choices, "nonsense"]
        else:
            values = [param.min, param.max, param.min - 1, param.max + 1, "x"]
        for value in values:
            result = subprocess.run(
                [str(binary), "--netns", "", "--ifname", "no-such-if0", "--mode", "xdp",
                 "--param", f"{param.name}={value}"], capture_output=True, text=True,
                stdin=subprocess.DEVNULL, timeout=30)
            c_refused = "--param" in result.stderr or f"{param.name} '" in result.stderr
            assert result.returncode == 2, result  # refused, or no such interface
            assert (param.problem(value) is not None) == c_refused, (param, value, result)
