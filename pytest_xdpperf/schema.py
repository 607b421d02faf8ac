"""What kind of record an extra_info is, its schema version, and the identity block
every kind shares.

Every xdpperf record (a pytest-benchmark entry's extra_info) starts with
`head(kind)`: XDPPERF_KIND (one of KINDS) and XDPPERF_SCHEMA (that kind's version,
VERSIONS), then `identity(...)`: which NF with which parameters, in which mode, on
which traffic class and frames. The JSON Schema of each kind's current version is
pytest_xdpperf/schemas/<kind>.json (`schema_file`); the entry under
xdpperf_unmeasured is unmeasured_entry.json and a journal line journal_line.json.

Readers call `kind_of`, which also knows the records written before kinds existed
(`xdpperf_record` / `xdpperf_latency_record`, no kind). Those legacy markers are
still written beside the kind for one release (LEGACY), so an older xdpperf can
read a history a newer one wrote (e.g. ci/regress on a bisected commit); drop them
after 0.2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .modes import Mode
    from .nf import NfSpec
    from .trafficgen.base import TrafficProfile

KIND_KEY = "xdpperf_kind"
SCHEMA_KEY = "xdpperf_schema"

THROUGHPUT = "throughput"      # results.Measurement: NDR, PDR, MFR over repetitions
LATENCY = "latency"            # latency_run.LatencyMeasurement: percentiles per load
TRANSACTIONS = "transactions"  # local.AppMeasurement: an application's transactions/s
UNFINISHED = "unfinished"      # journal.to_records: a measurement a crash ended, its trials
KINDS = (THROUGHPUT, LATENCY, TRANSACTIONS, UNFINISHED)

# Each kind's schema version. The numbers go on from the old shared marker's
# (`xdpperf_record` 2 for throughput and transactions, `xdpperf_latency_record` 1):
# throughput 3, transactions 3, latency 2 are those records with the kind and the
# one identity block (transactions gain `traffic`: None, memaslap's load is no
# generator traffic). Bump a kind's version when a key changes meaning or goes away,
# and say so beside the writer (results.RECORD_VERSION, ...) and in its schema file.
VERSIONS = {THROUGHPUT: 3, LATENCY: 2, TRANSACTIONS: 3, UNFINISHED: 1}

# the markers of the records before kinds; written for one more release (see above)
RECORD_KEY = "xdpperf_record"
LATENCY_KEY = "xdpperf_latency_record"
LEGACY: dict[str, dict[str, Any]] = {
    THROUGHPUT: {RECORD_KEY: 2},
    LATENCY: {LATENCY_KEY: 1},
    TRANSACTIONS: {RECORD_KEY: 2, "kind": TRANSACTIONS},
    UNFINISHED: {RECORD_KEY: 2},
}
TPS = "transactions_per_second"  # a transactions record's metric, also in legacy ones

SCHEMAS = Path(__file__).resolve().parent / "schemas"
ENTRY_SCHEMA = "unmeasured_entry"  # an entry under xdpperf_unmeasured (no stats)
JOURNAL_SCHEMA = "journal_line"


def head(kind: str) -> dict[str, Any]:
    """The first keys of a `kind` record: its kind, its schema version, the legacy marker."""
    if kind not in VERSIONS:
        raise ValueError(f"unknown record kind {kind!r}")
    return {KIND_KEY: kind, SCHEMA_KEY: VERSIONS[kind], **LEGACY[kind]}


def identity(kind: str, nf: NfSpec, mode: Mode, traffic_class: str,
             profile: TrafficProfile | None) -> dict[str, Any]:
    """head(kind) and what identifies the measurement, the same for every kind:
    the NF (name, parameters, attach and bind modes, need_wakeup where the mode has
    sockets), the DUT mode and where it processes, the traffic class and the
    generator's traffic (frame size in bytes with FCS, ...; None where the load is
    not the generator's, as for transactions). The testbed is the whole record's,
    in machine_info (xdpperf_testbed)."""
    return {
        **head(kind),
        "nf": nf.name,
        "nf_params": dict(nf.params),
        "attach": nf.attach,
        "bind": nf.bind,
        "need_wakeup": nf.need_wakeup if mode.sockets else None,
        "mode": mode.name,
        "processing": mode.processing,
        "traffic_class": traffic_class,
        "traffic": profile.describe() if profile is not None else None,
    }


def kind_of(info: Any) -> str | None:
    """The kind of a record's extra_info, of any version; None if it is not xdpperf's."""
    if not isinstance(info, dict):
        return None
    kind = info.get(KIND_KEY)
    if kind is not None:
        return str(kind)
    if LATENCY_KEY in info:
        return LATENCY
    if RECORD_KEY not in info:
        return None
    if info.get("unfinished"):
        return UNFINISHED
    if info.get("kind") == TRANSACTIONS or info.get("metric") == TPS:
        return TRANSACTIONS
    return THROUGHPUT


def schema_version(info: dict[str, Any]) -> int | None:
    """The record's schema version for its kind (legacy records: their old marker)."""
    if SCHEMA_KEY in info:
        return int(info[SCHEMA_KEY])
    old = info.get(LATENCY_KEY, info.get(RECORD_KEY))
    return int(old) if old is not None else None


def schema_file(name: str) -> Path:
    """pytest_xdpperf/schemas/<name>.json: a kind, ENTRY_SCHEMA or JOURNAL_SCHEMA."""
    return SCHEMAS / f"{name}.json"


def load_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_file(name).read_text())
    return schema
