"""Reading pytest-benchmark JSON records written by xdpperf, alone or as a history.

A history is a directory of records, one per kernel or commit (the file name
says both: <kernel release>__<commit>__<time>.json, see `store`); records are
ordered by the time pytest-benchmark wrote in them, then by commit time.
Nothing here needs the code that wrote a record: only its JSON.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import XdpperfError
from .schema import LATENCY, TPS, TRANSACTIONS, UNFINISHED, kind_of

RECORD_HELP = "give JSON files written by pytest --benchmark-json / --benchmark-autosave"
# The JSON key beside pytest-benchmark's "benchmarks" holding xdpperf records of
# measurements that produced no rate (benchrecord.unmeasured_entry: no stats to write).
UNMEASURED_KEY = "xdpperf_unmeasured"


@dataclass(frozen=True)
class TestRecord:
    """One test's measurement in one record."""

    name: str  # the test's full name (node id), the key records are matched by
    metric: str  # "pdr", "max_forwarding_rate", ..., "latency"
    # the headline metric once per repetition (none: latency); transactions/s for a
    # transactions record, packets/s otherwise
    samples_pps: tuple[float, ...]
    extra_info: dict[str, Any]
    kind: str = "throughput"  # schema.KINDS, as schema.kind_of reads it (any version)

    @property
    def is_latency(self) -> bool:
        """A latency record (latency_run): points with percentiles, no throughput."""
        return self.kind == LATENCY

    @property
    def unfinished(self) -> bool:
        """A measurement a crash or failure ended (`xdpperf import` of a journal):
        its trials only, never a baseline."""
        return self.kind == UNFINISHED

    @property
    def is_transactions(self) -> bool:
        """A transactions record (local class, an application behind the NF)."""
        return self.kind == TRANSACTIONS

    @property
    def mean_pps(self) -> float | None:
        return sum(self.samples_pps) / len(self.samples_pps) if self.samples_pps else None

    def samples_for(self, figure: str) -> tuple[float, ...]:
        """`figure` ("pdr", "ndr", "max_forwarding_rate") once per repetition; empty
        unless every repetition found one (as for the headline)."""
        if figure == self.metric:
            return self.samples_pps
        return figure_samples(self.extra_info, figure)

    def figure_pps(self, name: str) -> float | None:
        """NDR / PDR / MFR rate of this record, packets/s."""
        info = self.extra_info
        if name == "max_forwarding_rate":
            mfr = info.get("max_forwarding_rate") or {}
            return mfr.get("mean_pps")
        return (info.get(name) or {}).get("rate_pps")


@dataclass
class Record:
    path: Path
    datetime: str
    commit: dict[str, Any]
    machine: dict[str, Any]
    tests: dict[str, TestRecord] = field(default_factory=dict)

    @property
    def kernel(self) -> str:
        return str(self.machine.get("kernel_release") or self.machine.get("release") or "?")

    @property
    def commit_id(self) -> str:
        cid = self.commit.get("id") or "nocommit"
        return str(cid)[:12] + ("+dirty" if self.commit.get("dirty") else "")

    @property
    def label(self) -> str:
        return f"{self.kernel} {self.commit_id}"

    def sort_key(self) -> tuple[str, str]:
        return (self.datetime, str(self.commit.get("time") or ""))


def samples_of(info: dict[str, Any]) -> tuple[str, tuple[float, ...]]:
    """The headline metric and its samples, one per repetition.

    Newest schema first: metric_samples_pps; then repetitions[<metric>_pps];
    then the max forwarding rate's own repetitions; then the single metric_pps."""
    metric = str(info.get("metric") or "none")
    if metric == TPS:  # a transactions record (local class): one figure, higher is better
        return metric, (float(info["tps"]),) if info.get("tps") else ()
    if info.get("metric_samples_pps"):
        return metric, tuple(float(v) for v in info["metric_samples_pps"] if v is not None)
    reps = info.get("repetitions") or {}
    key = REPETITION_KEYS.get(metric)
    if key and reps.get(key):
        return metric, tuple(float(v) for v in reps[key] if v is not None)
    mfr = info.get("max_forwarding_rate") or {}
    if metric == "max_forwarding_rate" and mfr.get("rates_pps"):
        return metric, tuple(float(v) for v in mfr["rates_pps"])
    if info.get("metric_pps"):
        return metric, (float(info["metric_pps"]),)
    return metric, ()


REPETITION_KEYS = {"pdr": "pdr_pps", "ndr": "ndr_pps", "max_forwarding_rate": "mfr_pps"}


def figure_samples(info: dict[str, Any], figure: str) -> tuple[float, ...]:
    """One figure's rate per repetition, whether or not it is the headline: from
    repetitions[<figure>_pps] (all of them, or none when a repetition lacks it),
    else the record's single figure (the MFR's own trials for the MFR)."""
    reps = (info.get("repetitions") or {}).get(REPETITION_KEYS[figure])
    if reps:
        return tuple(float(v) for v in reps) if all(reps) else ()
    if figure == "max_forwarding_rate":
        mfr = info.get("max_forwarding_rate") or {}
        if mfr.get("rates_pps"):
            return tuple(float(v) for v in mfr["rates_pps"])
        return (float(mfr["mean_pps"]),) if mfr.get("mean_pps") else ()
    rate = (info.get(figure) or {}).get("rate_pps")
    return (float(rate),) if rate else ()


def latency_points(test: TestRecord | None) -> dict[tuple[str, float], dict[str, Any]]:
    """A latency record's points by load: ("fraction", f) of the throughput, or ("rate", pps)."""
    points = test.extra_info.get("latency") if test is not None else None
    out = {}
    for p in points if isinstance(points, list) else []:
        if isinstance(p, dict) and p.get("fraction") is not None:
            out[("fraction", float(p["fraction"]))] = p
        elif isinstance(p, dict) and p.get("rate_pps") is not None:
            out[("rate", float(p["rate_pps"]))] = p
    return out


def load_order(key: tuple[str, float]) -> tuple[bool, float]:
    """Sort key of latency_points' keys: fractions of the throughput first, then rates."""
    return key[0] != "fraction", key[1]


def load_title(key: tuple[str, float]) -> str:
    """A latency load point as people say it: '50% of throughput' or '100 pps'."""
    return f"{key[1]:.0%} of throughput" if key[0] == "fraction" else f"{key[1]:g} pps"


def load_record(path: str | Path) -> Record:
    """One pytest-benchmark JSON file; XdpperfError naming the file if it is not one."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise XdpperfError(f"{path}: cannot read it ({exc.strerror or exc})", RECORD_HELP) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise XdpperfError(f"{path}: not valid JSON, the file is corrupt or truncated ({exc})",
                           "write it again, or remove it from the history") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list) \
            or "machine_info" not in doc:
        raise XdpperfError(f"{path}: not a pytest-benchmark record "
                           "(no 'benchmarks' list and 'machine_info')", RECORD_HELP)
    record = Record(path, str(doc.get("datetime") or ""), doc.get("commit_info") or {},
                    doc.get("machine_info") or {})
    unmeasured = doc.get(UNMEASURED_KEY)  # records with no rate (benchrecord.unmeasured_entry)
    for bench in doc["benchmarks"] + (unmeasured if isinstance(unmeasured, list) else []):
        info = bench.get("extra_info") if isinstance(bench, dict) else None
        kind = kind_of(info)  # records of every schema version, with a kind or before kinds
        if kind is None or not isinstance(info, dict):
            continue
        name = str(bench.get("fullname") or bench.get("name"))
        metric, samples = ("latency", ()) if kind == LATENCY else samples_of(info)
        record.tests[name] = TestRecord(name, metric, samples, info, kind)
    if not record.tests:
        raise XdpperfError(f"{path}: a pytest-benchmark record without any xdpperf measurement",
                           "compare records of xdpperf test suites only")
    return record


# a history's pinned baseline (ci/regress): a copy of one of its records, not another point
BASELINE = "baseline.json"


def load_all(paths: list[str | Path]) -> list[Record]:
    """Records from files and history directories, each directory in its own order
    (without its baseline.json, a copy of one of them)."""
    records: list[Record] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.rglob("*.json") if f != p / BASELINE)
            if not found:
                raise XdpperfError(f"{p}: no JSON records in this history directory",
                                   "store records there first (xdpperf store)")
            records.extend(sorted((load_record(f) for f in found), key=Record.sort_key))
        else:
            records.append(load_record(p))
    return records


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", text).strip("_") or "unknown"


def store(record_path: str | Path, history: str | Path, commit: str | None = None) -> Path:
    """Copy a record into a history, named by kernel release, commit and time.

    `commit` replaces the record's commit id in the name and in the copy; the
    record's own is kept as recorded_id. A record already filed under it (pytest
    --xdpperf-commit, as ci/regress runs it) is copied unchanged. (For records made
    elsewhere: pytest-benchmark's own lookup says 'unknown' when git refuses a sudo'd
    run's checkout; the plugin now asks again itself, benchrecord.complete_commit.)"""
    record = load_record(record_path)
    doc = None
    if commit and record.commit.get("id") != commit:
        from .benchrecord import refile_commit

        doc = json.loads(Path(record_path).read_text())
        info = refile_commit(dict(doc.get("commit_info") or {}), commit)
        doc["commit_info"] = record.commit = info
    stamp = _safe(record.datetime.replace(":", "").split(".")[0]) or "undated"
    stem = f"{_safe(record.kernel)}__{_safe(record.commit_id)}__{stamp}"
    target = Path(history) / f"{stem}.json"
    n = 1
    while target.exists():  # two runs in one second: keep both, never overwrite one
        n += 1
        target = Path(history) / f"{stem}_{n}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    if doc is None:
        shutil.copyfile(record_path, target)
    else:
        target.write_text(json.dumps(doc, indent=4))
    return target
