"""local.parse_memaslap on memaslap's real output (tests/data/memaslap/: its stdout,
captured on the veth testbed with local.memaslap's arguments for a 2 s run with 4
connections, against memcached, memcached -M -m 2 (oom) and each mode of
tests/brokenmc.py; its stderr was empty in every one, the two outputs with ~50k
SERVER_ERROR lines are gzipped), and the suite's check and verdict on what it finds.
Not integration: no namespace, no process."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from pytest_xdpperf import local
from pytest_xdpperf.errors import XdpperfError
from pytest_xdpperf.modes import MODES
from pytest_xdpperf.nf import NfSpec
from pytest_xdpperf.suites import assert_no_app_errors
from pytest_xdpperf.thresholds import absent
from pytest_xdpperf.verdict import FAIL, judge_transactions

DATA = Path(__file__).parent / "data" / "memaslap"
RUN_SECONDS = 2  # the captures' -t


def captured(name: str) -> str:
    plain = DATA / f"{name}.out"
    if plain.exists():
        return plain.read_text()
    return gzip.decompress((DATA / f"{name}.out.gz").read_bytes()).decode()


def parsed(name: str, run_seconds: int | None = RUN_SECONDS) -> local.Transactions:
    return local.parse_memaslap(captured(name), "", run_seconds)


def measurement(result: local.Transactions) -> local.AppMeasurement:
    return local.AppMeasurement(NfSpec("firewall", {}), MODES["xdp"], "memcached", {},
                                result, {})


def test_a_healthy_run_reads_its_figures_and_no_error() -> None:
    t = parsed("healthy")
    fields = t.raw["fields"]
    assert t.operations == fields["cmd_get"] + fields["cmd_set"] > 0
    assert t.seconds > 0 and t.tps > 0
    assert fields["cmd_get"] > 0 and fields["verify_misses"] == fields["verify_failed"] == 0
    assert t.raw["answered"]["total"] > 0
    assert (t.errors, t.problems, t.problem) == (0, {}, "")
    assert "\x1b" not in t.raw["tail"]  # the periodic table's terminal escapes are gone
    assert_no_app_errors(measurement(t))


def test_without_the_periodic_table_a_run_reads_as_connections_lost() -> None:
    """The healthy run without its -S tables (memaslap prints them only while every
    connection is open): one failure, named."""
    out = captured("healthy")
    cut = out[out.rindex("Global"):]
    cut = cut[cut.index("\n"):]  # drop every table, keep the final report
    t = local.parse_memaslap(cut[cut.index("cmd_get"):], "", RUN_SECONDS)
    assert t.problems == {"connections_lost": 1}, t.problems
    # an older output read without run_seconds is not judged on it
    assert local.parse_memaslap(cut[cut.index("cmd_get"):]).problems == {}


@pytest.mark.parametrize("name,kind", [
    ("oom", "SERVER_ERROR"),            # memcached -M -m 2: full, refuses stores
    ("server-error", "SERVER_ERROR"),
    ("garbage", "sets_not_stored"),
    ("close", "connections_lost"),
    ("wrong-data", "verify_failed"),
    ("forget", "get_misses"),
])
def test_each_failure_is_counted_and_fails_the_check_in_one_line(name: str,
                                                                kind: str) -> None:
    t = parsed(name)
    assert t.problems.get(kind, 0) > 0, t.problems
    assert t.errors == sum(t.problems.values()) >= t.problems[kind]
    assert local.PROBLEMS[kind] in t.problem
    with pytest.raises(AssertionError) as caught:
        assert_no_app_errors(measurement(t))
    message = str(caught.value).strip()
    assert "\n" not in message and local.PROBLEMS[kind] in message, message
    info = measurement(t).extra_info()  # visible in the record
    assert info["errors"] == t.errors and info["problems"] == t.problems
    verdict = judge_transactions(info, absent("no thresholds file"))
    assert verdict.status == FAIL and local.PROBLEMS[kind] in verdict.reason, verdict


def test_each_error_reply_counts_once() -> None:
    t = parsed("server-error")
    replies = captured("server-error").count(" SERVER_ERROR ")
    assert t.problems["SERVER_ERROR"] == replies > 0
    assert "sets_not_stored" not in t.problems  # explained by the replies themselves


def test_no_final_report_is_an_error_with_its_output() -> None:
    """Nothing listening: memaslap printed its settings and exited (status 1)."""
    with pytest.raises(XdpperfError, match="no final report.*get proportion"):
        local.parse_memaslap(captured("refused"))


def test_its_network_messages_are_failures() -> None:
    """Not seen on the testbed: the line as ms_conn.c prints it when a write fails."""
    t = local.parse_memaslap(captured("healthy"), "Failed to write, and not due to "
                             "blocking.\n", RUN_SECONDS)
    assert t.problems == {"network": 1}, t.problems
    assert "Failed to write" in t.problem


def test_the_config_file_states_memaslaps_workload() -> None:
    text = local.memaslap_config()
    assert f"{local.MEMASLAP_KEY_BYTES} {local.MEMASLAP_KEY_BYTES} 1" in text
    assert f"0 {local.MEMASLAP_SET_SHARE}\n1 {local.MEMASLAP_GET_SHARE}" in text
