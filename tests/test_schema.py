"""The record kinds and their JSON Schemas (pytest_xdpperf/schemas/): the records the
framework writes are valid, bad ones are not, and records from before kinds still
load and compare. No root: the records come from simulated searches and the fakes."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from records import bench, latency_bench, transactions, write
from schemas import assert_record_file_valid, assert_valid, errors
from simdut import Deterministic, Wobbly

from pytest_xdpperf import benchrecord
from pytest_xdpperf.calibration import Calibration
from pytest_xdpperf.compare import compare
from pytest_xdpperf.history import load_all, load_record
from pytest_xdpperf.journal import Journal, read, to_records
from pytest_xdpperf.modes import MODES
from pytest_xdpperf.nf import NfSpec
from pytest_xdpperf.results import Measurement, Repetition
from pytest_xdpperf.rfc2544 import (
    SearchSpec,
    confirm,
    find_throughput,
    max_forwarding_rate,
    trial_dict,
)
from pytest_xdpperf.schema import (
    ENTRY_SCHEMA,
    JOURNAL_SCHEMA,
    KINDS,
    LEGACY,
    SCHEMAS,
    VERSIONS,
    kind_of,
    load_schema,
    schema_version,
)
from pytest_xdpperf.thresholds import absent
from pytest_xdpperf.trafficgen.base import TrafficProfile
from pytest_xdpperf.verdict import judge_throughput

ROOT = Path(__file__).resolve().parent.parent
OLD = ROOT / "tests" / "data" / "record_before_kinds.json"  # written by xdpperf 902fccb
SPEC = SearchSpec(max_load=4e6, min_load=1e4, search_duration_max=1e6)
CAL = Calibration(tester_capacity_pps=5e6, noop_forwarding_pps=5e6, max_load_pps=4.5e6,
                  noop_ndr_pps=3e6, noop_pdr_pps=3e6, noop_loss_at_max_load=0.0,
                  trial_duration=1.0)
T = "testsuites/test_macswap.py::test_drop[xdp]"


def throughput_info(seeds: int = 2) -> dict[str, Any]:
    """A throughput record's extra_info as results.Measurement writes it, of simulated
    searches, confirmations and MFRs, judged (its verdict in it, as the Judge does)."""
    reps = []
    for seed in range(seeds):
        dut = Wobbly(capacity=1e6, wobble=0.05, seed=seed)
        search = find_throughput(dut, SPEC, clock=dut.clock)
        ndr, pdr = confirm(dut, search)
        reps.append(Repetition(search, max_forwarding_rate(dut, SPEC.max_load, 1.0), ndr, pdr))
    m = Measurement(NfSpec("macswap", {"action": "drop"}), MODES["af_xdp"], "drop",
                    TrafficProfile(), 0.001, reps, CAL,
                    method={"name": "rfc2544", "goal_exceed_ratio": 0.0,
                            "goal_duration_sum": 1.0},
                    nf_counters={"rx": 1, "drop": 1, "tx": 0, "pass": 0, "redirect": 0,
                                 "aborted": 0})
    m.judged = ("max_forwarding_rate", "the testbed's entry")
    info = m.extra_info()
    info["verdict"] = judge_throughput(info, absent("no thresholds file")).as_dict()
    return info


def described(kind: str) -> set[str]:
    """The keys a kind's schema describes: its own and the shared ones (common.json)."""
    return set(load_schema(kind)["properties"]) | set(load_schema("common")["properties"])


def not_written(kind: str) -> set[str]:
    """Described keys a `kind` record never has: the other kinds' legacy markers."""
    return {k for other in KINDS for k in LEGACY[other]} - set(LEGACY[kind])


# --- the schema files ------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_has_a_schema_of_its_current_version(kind: str) -> None:
    schema = load_schema(kind)
    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["xdpperf_kind"] == {"const": kind}
    assert schema["properties"]["xdpperf_schema"] == {"const": VERSIONS[kind]}
    assert f"schema {VERSIONS[kind]}" in schema["title"]


def test_the_schemas_ship_in_the_package() -> None:
    for name in (*KINDS, ENTRY_SCHEMA, JOURNAL_SCHEMA, "common"):
        Draft202012Validator.check_schema(load_schema(name))
    assert {p.stem for p in SCHEMAS.glob("*.json")} == {*KINDS, ENTRY_SCHEMA,
                                                          JOURNAL_SCHEMA, "common"}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "schemas/*.json" in project["tool"]["setuptools"]["package-data"]["pytest_xdpperf"]


# --- what the framework writes is valid, and the schema describes all of it -------------


def test_a_throughput_record_is_valid_and_its_schema_describes_every_key() -> None:
    info = throughput_info()
    assert_valid("throughput", info)
    # a key the writer stopped writing, or one the schema never heard of, fails here
    assert described("throughput") - set(info) == not_written("throughput")


def test_a_latency_record_is_valid_and_its_schema_describes_every_key() -> None:
    info = latency_bench(T, "xdp", {(1.0, None): [20_000, 21_000], (5e4, 0.5): [30_000]}
                         )["extra_info"]
    info["verdict"] = {"status": "no threshold", "figure": None, "value": None,
                       "limit": None, "unit": "us", "reason": "-", "source": "-"}
    assert_valid("latency", info)
    assert described("latency") - set(info) == not_written("latency")


def test_a_transactions_record_is_valid_and_its_schema_describes_every_key() -> None:
    info = transactions("t.py::test_memcached[xdp]", 20_000.0)["extra_info"]
    info["verdict"] = judge_throughput(throughput_info(1), absent("-")).as_dict()
    assert_valid("transactions", info)
    assert described("transactions") - set(info) == not_written("transactions")


def test_the_fakes_write_valid_records(tmp_path: Path) -> None:
    """tests/records.py's current layout is valid (tests/suites/fakerecord's record is
    checked in tests/test_regress.py, which runs it)."""
    path = write(tmp_path / "r.json", [
        bench(T, [1e6, 1.1e6]), bench(T + "x", [2e6], metric="max_forwarding_rate"),
        transactions("t.py::test_memcached[xdp]", 1e4),
        latency_bench("t.py::test_latency[xdp]", "xdp", {(1.0, None): [1000, 2000]})])
    assert assert_record_file_valid(path) == 4
    # the older layouts the fakes also write are legacy records, not valid current ones
    assert errors("throughput", bench(T, [1e6], schema="single")["extra_info"])


def test_unmeasured_and_unfinished_entries_are_valid() -> None:
    class Fixture:  # what benchrecord.unmeasured_entry reads of pytest-benchmark's fixture
        group, name, fullname, param, params = None, "t[x]", T, "x", {"xdp_mode": "x"}
        extra_info: dict[str, Any] = {}

    fixture = Fixture()
    assert not benchrecord.store(fixture, throughput_info(1), [])
    assert_valid(ENTRY_SCHEMA, benchrecord.unmeasured_entry(fixture))
    trial = {"nf": "macswap[action=drop]", "mode": "xdp", "phase": "search",
             **trial_dict(Deterministic(capacity=1e6)(1e5, 1.0))}
    _, (unfinished,) = to_records([{"kind": "trial", "test": T, "session": "s", **trial}], "s")
    assert kind_of(unfinished["extra_info"]) == "unfinished"
    assert_valid("unfinished", unfinished["extra_info"])
    assert_valid(ENTRY_SCHEMA, {**unfinished, "stats": None})
    assert errors(ENTRY_SCHEMA, {**unfinished, "stats": {"mean": 1.0}})  # it has no stats


def test_journal_lines_are_valid(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    trial = trial_dict(Deterministic(capacity=1e6)(1e5, 1.0))
    journal.write("calibration", "(calibration)", {"phase": "calibration", "path": "drop",
                                                   **trial})
    journal.write("trial", T, {"nf": "macswap[action=drop]", "mode": "af_xdp",
                               "repetition": 0, "phase": "search", **trial})
    journal.write("measurement", T, throughput_info(1))
    journal.write("unfinished", T + "x", {"nf": "macswap", "mode": "xdp", "error": "boom",
                                          "trials": [trial]})
    lines = read(journal.path).lines  # type: ignore[arg-type]
    for line in lines:
        assert_valid(JOURNAL_SCHEMA, line)
    payload = {k: v for k, v in lines[2].items() if k not in ("time", "kind", "test", "session")}
    assert_valid("throughput", payload)  # a measurement line is its record
    assert errors(JOURNAL_SCHEMA, {k: v for k, v in lines[1].items() if k != "phase"})
    assert errors(JOURNAL_SCHEMA, {**lines[2], "xdpperf_kind": "latency"})


# --- bad records fail, each for its reason -----------------------------------------------


@pytest.mark.parametrize(("change", "message"), [
    (lambda i: i.pop("xdpperf_kind"), "'xdpperf_kind' is a required property"),
    (lambda i: i.update(xdpperf_schema=2), "3 was expected"),
    (lambda i: i.update(pdr_ppps=1.0), "'pdr_ppps' was unexpected"),
    (lambda i: i.pop("nf_params"), "'nf_params' is a required property"),
    (lambda i: i.update(traffic_class="bulk"), "'bulk' is not one of"),
    (lambda i: i["traffic"].update(frame_size=9000), "9000 is greater than the maximum"),
    (lambda i: i.update(metric_samples_pps=[0.0]), "0.0 is less than or equal to"),
    (lambda i: i["verdict"].update(status="ok"), "'ok' is not one of"),
    (lambda i: i["trials"][0].pop("valid"), "'valid' is a required property"),
])
def test_a_bad_throughput_record_fails(change: Any, message: str) -> None:
    info = throughput_info(1)
    change(info)
    found = errors("throughput", info)
    assert any(message in e for e in found), found


def test_a_record_of_one_kind_is_not_valid_as_another() -> None:
    info = transactions("t.py::test_memcached[xdp]", 1e4)["extra_info"]
    assert errors("throughput", info) and errors("latency", info)
    assert errors("transactions", info | {"traffic": {"frame_size": 64}})


# --- older records still load and compare -------------------------------------------------


def test_a_record_from_before_kinds_loads_and_compares_with_a_new_one(tmp_path: Path) -> None:
    old = load_record(OLD)
    kinds = {name.split("::")[-1]: t.kind for name, t in old.tests.items()}
    assert kinds == {"test_drop[xdp]": "throughput", "test_latency[xdp]": "latency",
                     "test_memcached[xdp]": "transactions", "test_pass[xdp]": "unfinished"}
    assert [schema_version(t.extra_info) for t in old.tests.values()] == [2, 1, 2, 2]
    drop = old.tests[T]
    assert len(drop.samples_pps) == 2 and drop.samples_pps[0] > 0
    # it is a record of the old schema: not valid as the current one
    doc = json.loads(OLD.read_text())
    assert any("'xdpperf_kind' is a required property" in e
               for e in errors("throughput", doc["benchmarks"][0]["extra_info"]))
    # and a new record of the same test compares with it, figure against figure
    new = write(tmp_path / "h" / "new.json", [bench(T, [s * 0.5 for s in drop.samples_pps])],
                when="2026-12-01T00:00:00+00:00")
    shutil.copy(OLD, tmp_path / "h" / "old.json")
    (drop_cmp,) = [c for c in compare(load_all([tmp_path / "h"])) if c.name == T]
    assert [r.label.split()[0] for r, _, _ in drop_cmp.rows] == ["6.1.0-old", "6.18.0"]
    assert drop_cmp.verdict.regression and drop_cmp.verdict.relative == pytest.approx(-0.5)
    assert new.exists()
