"""Per-testbed thresholds: the limits a measurement is judged against, from a TOML file.

A thresholds file belongs to one testbed (the bundled ones are in
testsuites/thresholds/<testbed key>.toml, e.g. veth-2cpu.toml) and holds one entry per
measurement, keyed by what identifies it - the kind of result, the NF and its
parameters, the traffic class, the mode and the frame size:

    [testbed]
    key = "veth-2cpu"

    [[throughput]]
    nf = "macswap"
    params = { action = "drop" }
    traffic_class = "drop"
    mode = "xdp"
    frame_size = 64
    figure = "max_forwarding_rate"     # the judged figure: or "pdr", "ndr"
    min_mpps = 5.1                     # lower limit [Mpps]

    [[latency]]
    nf = "macswap"
    params = { action = "tx" }
    traffic_class = "passthrough"
    mode = "xdp"
    frame_size = 64
    point = "rate=10000"               # a fixed-rate point [packets/s]
    max_us = { p50 = 40.0, p99 = 150.0 }   # upper limits [us]

    [[transactions]]
    nf = "firewall"
    params = { action = "pass", rules = 0 }
    traffic_class = "local"
    mode = "xdp"
    app = "memcached"
    min_tps = 20000.0                  # lower limit [transactions/s]

`xdpperf thresholds RUNS... -o FILE` writes such a file from stored runs (derive()).
The key is read from a record's extra_info, so a live measurement and a stored record
find the same entry.
"""

from __future__ import annotations

import math
import statistics
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import XdpperfError
from .latency import supported
from .methods import DEFAULT_METHOD, method_of
from .schema import LATENCY, THROUGHPUT, TRANSACTIONS, UNFINISHED, kind_of

KINDS = ("throughput", "latency", "transactions")
# A user-space NF whose flat-out MFR is below this share of what it forwarded at a
# paced load (its PDR or NDR) collapsed under overload: livelock (the driver, on its
# core, starves it). A healthy NF forwards at least its PDR when overloaded; the 10%
# are this testbed's run-to-run noise.
LIVELOCK_SHARE = 0.9
# The latency limits `derive` writes: not p99.9, which on a shared host is decided by
# its scheduling stalls (one 5 ms stall delays 50 frames of 10,000 at 10 kpps).
DERIVED_PERCENTILES = ("p50", "p90", "p99")
# mfr_vs_noop: the MFR over the no-op NF's flat-out forwarding rate measured in the
# same session's calibration - the host's speed divided out, so a slower host is not
# a regression and a slower NF is (limit `min_ratio`, not `min_mpps`).
NORMALISED = "mfr_vs_noop"
FIGURES = ("max_forwarding_rate", "pdr", "ndr", NORMALISED)
# `xdpperf thresholds --figure auto`: the steadier of these per measurement
AUTO = "auto"
AUTO_FIGURES = ("max_forwarding_rate", NORMALISED)
# ... and with method mlrsearch, whose PDR is made to be steady on a lossy testbed
AUTO_FIGURES_MLRSEARCH = ("pdr", *AUTO_FIGURES)
# On a testbed whose own sporadic loss decides the PDR (the veth path here), the
# maximum forwarding rate is the figure that measures the NF and stays put run to run.
DEFAULT_FIGURE = "max_forwarding_rate"
KEY_FIELDS = ("nf", "params", "traffic_class", "mode", "frame_size")
LIMIT_FIELDS = {"throughput": ("figure", "min_mpps", "min_ratio"), "latency": ("point", "max_us"),
                "transactions": ("app", "min_tps")}
@dataclass(frozen=True)
class Key:
    """What identifies a measurement for its threshold. Parameter values are compared
    as text (a TOML 0 and an NF's "0" are the same parameter)."""

    kind: str
    nf: str
    params: tuple[tuple[str, str], ...]
    traffic_class: str
    mode: str
    frame_size: int | None

    @classmethod
    def of_record(cls, info: dict[str, Any]) -> Key:
        """The key of a record's extra_info (or a live measurement's)."""
        kind = kind_of(info) or THROUGHPUT
        if kind == UNFINISHED:  # judged as the throughput it did not finish
            kind = THROUGHPUT
        frame = (info.get("traffic") or {}).get("frame_size")
        return cls(kind, str(info.get("nf")), _params(info.get("nf_params") or {}),
                   str(info.get("traffic_class")), str(info.get("mode")),
                   int(frame) if frame is not None else None)

    def describe(self) -> str:
        params = ",".join(f"{k}={v}" for k, v in self.params)
        frame = f" {self.frame_size} B" if self.frame_size is not None else ""
        return (f"{self.kind} {self.nf}[{params}] {self.traffic_class} "
                f"{self.mode}{frame}")


def _params(params: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in params.items()))


@dataclass
class Thresholds:
    """The entries of one thresholds file; `source` None: no file (every result then
    reads "no threshold", `missing` says why)."""

    source: Path | None
    entries: dict[Key, list[dict[str, Any]]] = field(default_factory=dict)
    testbed: dict[str, Any] = field(default_factory=dict)
    missing: str = ""

    def find(self, key: Key) -> list[dict[str, Any]]:
        """Every entry for `key` (latency: one per point; others: at most one)."""
        return self.entries.get(key, [])

    def mismatch(self, info: dict[str, Any]) -> str | None:
        """Why this file's limits do not apply to a record measured on other settings
        (the file's [testbed] trial_duration and loss_threshold, when it states them:
        `xdpperf thresholds` writes those of its runs); None where they apply."""
        duration = self.testbed.get("trial_duration")
        measured = (info.get("calibration") or {}).get("trial_duration")
        if duration is not None and measured is not None and \
                not math.isclose(float(duration), float(measured)):
            return (f"the thresholds are for {duration:g} s trials, this run used "
                    f"{measured:g} s (--xdpperf-trial-duration)")
        method = self.testbed.get("method")
        if method is not None and kind_of(info) not in (LATENCY, TRANSACTIONS) \
                and method != method_of(info):
            return (f"the thresholds are for method {method}, this run used "
                    f"{method_of(info)} (--xdpperf-method)")
        goal = self.testbed.get("loss_threshold")
        if goal is not None and info.get("loss_threshold") is not None and \
                not math.isclose(float(goal), float(info["loss_threshold"])):
            return (f"the thresholds are for a loss goal of {goal:g}, this run used "
                    f"{info['loss_threshold']:g} (--xdpperf-loss-threshold)")
        return None

    @property
    def where(self) -> str:
        return str(self.source) if self.source else self.missing


def absent(why: str) -> Thresholds:
    return Thresholds(None, missing=why)


def load(path: Path) -> Thresholds:
    """Read and check a thresholds file; XdpperfError naming the file and the entry."""
    fix = "see pytest_xdpperf/thresholds.py for the format, or make one: xdpperf thresholds"
    try:
        doc = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise XdpperfError(f"thresholds file {path} does not exist",
                           "give an existing file, or 'none' for no thresholds") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise XdpperfError(f"thresholds file {path} cannot be read: {exc}", fix) from None
    unknown = sorted(set(doc) - {"testbed", *KINDS})
    if unknown:
        raise XdpperfError(f"thresholds file {path}: unknown table {unknown[0]!r}",
                           f"use [testbed] and [[{']], [['.join(KINDS)}]]")
    out = Thresholds(path, testbed=dict(doc.get("testbed") or {}))
    for kind in KINDS:
        for i, entry in enumerate(doc.get(kind) or []):
            where = f"thresholds file {path}: [[{kind}]] entry {i + 1}"
            _check_entry(kind, entry, where, fix)
            key = Key(kind, str(entry["nf"]), _params(entry.get("params") or {}),
                      str(entry["traffic_class"]), str(entry["mode"]),
                      int(entry["frame_size"]) if "frame_size" in entry else None)
            if kind != "latency" and key in out.entries:
                raise XdpperfError(f"{where} repeats {key.describe()}",
                                   "keep one entry per measurement")
            out.entries.setdefault(key, []).append(dict(entry))
    return out


def _check_entry(kind: str, entry: Any, where: str, fix: str) -> None:
    if not isinstance(entry, dict):
        raise XdpperfError(f"{where} is not a table", fix)
    allowed = {*KEY_FIELDS, *LIMIT_FIELDS[kind], "note"}
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise XdpperfError(f"{where} has an unknown field {unknown[0]!r}",
                           f"fields are {', '.join(sorted(allowed))}")
    for name in ("nf", "traffic_class", "mode"):
        if name not in entry:
            raise XdpperfError(f"{where} has no {name!r}", fix)
    if not isinstance(entry.get("params", {}), dict):
        raise XdpperfError(f"{where}: 'params' is not a table", "write params = { k = v }")
    if kind == "throughput":
        if entry.get("figure", DEFAULT_FIGURE) not in FIGURES:
            raise XdpperfError(f"{where}: figure {entry['figure']!r} is unknown",
                               f"use one of {', '.join(FIGURES)}")
        _number(entry, limit_field(str(entry.get("figure", DEFAULT_FIGURE))), where)
    elif kind == "transactions":
        _number(entry, "min_tps", where)
    else:
        point = entry.get("point")
        if not isinstance(point, str) or parse_point(point) is None:
            raise XdpperfError(f"{where}: point {point!r} is not rate=N or fraction=F",
                               "e.g. point = \"rate=10000\"")
        limits = entry.get("max_us")
        if not isinstance(limits, dict) or not limits:
            raise XdpperfError(f"{where} has no max_us table", "e.g. max_us = { p99 = 150.0 }")
        for name in limits:
            _number(limits, name, where)
            if percentile_of(name) is None:
                raise XdpperfError(f"{where}: {name!r} is not a percentile",
                                   "use p50, p90, p99, p99.9 (or min, max)")


def _number(table: dict[str, Any], name: str, where: str) -> None:
    value = table.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            not math.isfinite(value) or value < 0:
        raise XdpperfError(f"{where}: {name} = {value!r} is not a number >= 0",
                           f"e.g. {name} = 1.5")


def limit_field(figure: str) -> str:
    """The entry field of a throughput figure's lower limit: min_ratio or min_mpps."""
    return "min_ratio" if figure == NORMALISED else "min_mpps"


def unit_of(figure: str) -> tuple[str, float]:
    """How a throughput figure is shown and limited: (unit, figure_value() per unit)."""
    return ("x no-op", 1.0) if figure == NORMALISED else ("Mpps", 1e6)


def parse_point(text: str) -> tuple[str, float] | None:
    """"rate=10000" -> ("rate", 10000.0); "fraction=0.5" -> ("fraction", 0.5)."""
    name, _, value = text.partition("=")
    if name not in ("rate", "fraction"):
        return None
    try:
        return name, float(value)
    except ValueError:
        return None


def percentile_of(name: str) -> float | None:
    """"p99" -> 99.0, "p99.9" -> 99.9, "min" -> 0, "max" -> 100; None otherwise."""
    if name in ("min", "max"):
        return 0.0 if name == "min" else 100.0
    if not name.startswith("p"):
        return None
    try:
        value = float(name[1:])
    except ValueError:
        return None
    return value if 0 < value < 100 else None


# --- thresholds from stored runs -------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """How a limit follows from a figure's values over runs: `margin` of the worst
    run or `spread` standard deviations over the runs, whichever is wider, beyond the
    worst run (so a limit is never above the worst run's figure, or below it for an
    upper limit)."""

    margin: float = 0.10
    spread: float = 2.0
    # a figure gets a limit only where at least this many runs measured it, and (with
    # max_cv) where it varied less than that coefficient of variation over them: a
    # figure that moves more than that on the testbed supports no verdict there
    min_runs: int = 1
    max_cv: float | None = None

    def judgeable(self, values: list[float]) -> bool:
        if len(values) < self.min_runs:
            return False
        if self.max_cv is not None and len(values) > 1:
            return statistics.stdev(values) / statistics.fmean(values) <= self.max_cv
        return True

    def lower(self, values: list[float]) -> float:
        worst = min(values)
        return max(0.0, worst - self._room(values, worst))

    def upper(self, values: list[float]) -> float:
        worst = max(values)
        return worst + self._room(values, worst)

    def _room(self, values: list[float], worst: float) -> float:
        stdev = statistics.stdev(values) if len(values) > 1 else 0.0
        return max(self.margin * worst, self.spread * stdev)

    def describe(self) -> str:
        text = (f"beyond the worst run by {self.margin:.0%} of it or {self.spread:g} "
                "standard deviations over the runs, whichever is wider")
        if self.min_runs > 1:
            text += f"; only figures measured in at least {self.min_runs} runs"
        if self.max_cv is not None:
            text += f" that varied by a CV of at most {self.max_cv:.0%}"
        return text


def derive(runs: list[list[dict[str, Any]]], rule: Rule, testbed: str,
           made_from: list[str], figure: str = DEFAULT_FIGURE) -> dict[str, Any]:
    """A thresholds document from `runs`: each a list of records' extra_info (one run
    of a suite). A measurement gets an entry where every run that holds it measured
    the figure; one present in only some runs gets its entry from those.

    figure AUTO: per throughput measurement, whichever of the MFR and mfr_vs_noop
    varied less over the runs (coefficient of variation; the MFR with one run) - the
    figure that is both the NF's and stable on this testbed."""
    values: dict[tuple[Key, str], list[float]] = {}
    order: list[tuple[Key, str]] = []
    params: dict[Key, dict[str, Any]] = {}  # as the NF was given them (TOML keeps types)
    methods = {method_of(info) for run in runs for info in run
               if Key.of_record(info).kind == "throughput"}
    if len(methods) > 1:
        raise XdpperfError(f"the runs differ in method: {sorted(methods)}",
                           "make a thresholds file from runs of one --xdpperf-method")
    method = methods.pop() if methods else DEFAULT_METHOD
    auto = AUTO_FIGURES_MLRSEARCH if method == "mlrsearch" else AUTO_FIGURES
    candidates = auto if figure == AUTO else (figure,)
    for run in runs:
        for info in run:
            key = Key.of_record(info)
            params.setdefault(key, dict(info.get("nf_params") or {}))
            for slot, value in (pair for f in candidates for pair in _figures(key, info, f)):
                if (key, slot) not in values:
                    values[(key, slot)] = []
                    order.append((key, slot))
                values[(key, slot)].append(value)
    if figure == AUTO:
        order = [(k, slot) for k, slot in order
                 if k.kind != "throughput" or slot == _steadiest(k, values, auto)]
    doc: dict[str, Any] = {"testbed": {"key": testbed, "made_from": made_from,
                                       "runs": len(runs), "rule": rule.describe(),
                                       "method": method}}
    for name, found in (("trial_duration", _settings(runs, "trial_duration")),
                        ("loss_threshold", _settings(runs, "loss_threshold"))):
        if len(found) > 1:
            raise XdpperfError(f"the runs differ in {name}: {sorted(found)}",
                               "make a thresholds file from runs on the same settings")
        if found:
            doc["testbed"][name] = found.pop()
    latency: dict[tuple[Key, str], dict[str, float]] = {}
    for key, slot in order:
        got = values[(key, slot)]
        base: dict[str, Any] = {"nf": key.nf, "params": params[key],
                                "traffic_class": key.traffic_class, "mode": key.mode}
        if key.frame_size is not None:
            base["frame_size"] = key.frame_size
        if not rule.judgeable(got):
            continue  # too few runs, or too unsteady here to judge by
        if key.kind in ("throughput", "transactions") and rule.lower(got) <= 0:
            continue  # spread wider than the figure: a limit of 0 could never fail
        if key.kind == "throughput":
            unit, per = unit_of(slot)
            doc.setdefault("throughput", []).append(
                {**base, "figure": slot, limit_field(slot): round(rule.lower(got) / per, 4),
                 "note": _note(got, per, unit)})
        elif key.kind == "transactions":
            doc.setdefault("transactions", []).append(
                {**base, "app": slot, "min_tps": round(rule.lower(got), 1),
                 "note": _note(got, 1, "tps")})
        else:
            point, _, name = slot.partition(" ")
            if (key, point) not in latency:
                latency[(key, point)] = {}
                doc.setdefault("latency", []).append(
                    {**base, "point": point, "max_us": latency[(key, point)]})
            latency[(key, point)][name] = round(rule.upper(got), 1)
    return doc


SETTINGS = ("trial_duration", "loss_threshold", "method")


def update(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`old` (a thresholds document) with the entries `new` (derived from further runs)
    has: each replaces the old entry of its measurement (latency: of its point), the
    old entries of measurements the new runs did not limit stay. The [testbed] keeps
    its key and settings, which must be the new runs' too, and lists the update (its
    runs and rule) under `updates`; each new entry's note says which update made it."""
    for name in SETTINGS:
        before, now = old.get("testbed", {}).get(name), new["testbed"].get(name)
        if before is not None and now is not None and before != now:
            raise XdpperfError(f"the runs' {name} is {now}, the file's {before}",
                               "update a thresholds file from runs on its own settings")
    out: dict[str, Any] = {k: ([dict(e) for e in v] if isinstance(v, list) else dict(v))
                           for k, v in old.items()}
    testbed: dict[str, Any] = out.setdefault("testbed", {})
    updates = testbed.setdefault("updates", [])
    number = len(updates) + 1
    replaced = 0
    for kind in KINDS:
        fresh = new.get(kind) or []
        if not fresh:
            continue

        def ident(e: dict[str, Any], kind: str = kind) -> tuple[Any, ...]:
            key = Key(kind, str(e["nf"]), _params(e.get("params") or {}),
                      str(e["traffic_class"]), str(e["mode"]), e.get("frame_size"))
            return (key, e.get("point")) if kind == "latency" else (key,)

        ids = {ident(e) for e in fresh}
        kept = [e for e in out.get(kind, []) if ident(e) not in ids]
        replaced += len(out.get(kind, [])) - len(kept)
        out[kind] = kept + [{**e, "note": f"{e.get('note', '')} (update {number})".strip()}
                            for e in fresh]
    for name in SETTINGS:
        if name in new["testbed"]:
            testbed.setdefault(name, new["testbed"][name])
    updates.append({"made_from": new["testbed"]["made_from"], "runs": new["testbed"]["runs"],
                    "rule": new["testbed"]["rule"], "replaced": replaced,
                    "entries": sum(len(new.get(k) or []) for k in KINDS)})
    return out


def _settings(runs: list[list[dict[str, Any]]], name: str) -> set[float]:
    """The values of a session setting over the runs' throughput records."""
    out = set()
    for run in runs:
        for info in run:
            value = (info.get("calibration") or {}).get(name) if name == "trial_duration" \
                else info.get(name)
            if value is not None and kind_of(info) != LATENCY:
                out.add(float(value))
    return out


def _steadiest(key: Key, values: dict[tuple[Key, str], list[float]],
               candidates: tuple[str, ...] = AUTO_FIGURES) -> str:
    """Of `candidates`, the one of `key` with the lowest coefficient of variation over
    at least two runs (ties and single runs: the first)."""
    def spread(slot: str) -> float:
        got = values.get((key, slot)) or []
        if len(got) < 2:
            return math.inf if not got else 1e9
        return statistics.stdev(got) / statistics.fmean(got)

    return min(candidates, key=spread)


def _note(values: list[float], unit: float, name: str) -> str:
    return "runs: " + ", ".join(f"{v / unit:.4g}" for v in values) + f" {name}"


def _figures(key: Key, info: dict[str, Any], figure: str) -> list[tuple[str, float]]:
    """(slot, value) pairs a record gives its thresholds: the judged throughput figure
    [packets/s], the transactions/s, or each fixed-rate latency point's supported
    percentiles [us]."""
    if key.kind == "throughput":
        if figure in ("max_forwarding_rate", NORMALISED) and (
                livelocked(info) or mfr_spoiled_repetitions(info)):
            # a collapse, or the tester's figure: not the NF's capacity (nor the verdict's)
            return []
        value = figure_value(info, figure)
        return [(figure, value)] if value else []
    if key.kind == "transactions":
        tps = info.get("tps")
        return [(str(info.get("app")), float(tps))] if tps and not info.get("errors") else []
    out = []
    for point in info.get("latency") or []:
        if point.get("fraction") is not None or not point.get("count"):
            continue  # fractions are of a throughput that moves with the run
        for name in DERIVED_PERCENTILES:
            value = point.get(f"{name}_us")
            if value is not None and supported(float(name[1:]), int(point["count"])):
                out.append((f"rate={point['rate_pps']:g} {name}", float(value)))
    return out


def livelocked(info: dict[str, Any]) -> bool:
    """Did a user-space NF collapse flat out in a throughput record? Its `livelock`
    note, or (records from before it) an MFR below LIVELOCK_SHARE of its PDR or NDR in
    some repetition, as results.Measurement.livelock decides."""
    if info.get("livelock"):
        return True
    if info.get("processing") != "user" or "livelock" in info:
        return False
    reps = info.get("repetitions") or {}
    for mfr, pdr, ndr in zip(reps.get("mfr_pps") or [], reps.get("pdr_pps") or [],
                             reps.get("ndr_pps") or []):
        paced = max((r for r in (pdr, ndr) if r), default=None)
        if mfr is not None and paced and mfr < LIVELOCK_SHARE * paced:
            return True
    return False


def mfr_spoiled_repetitions(info: dict[str, Any]) -> list[int]:
    """The repetitions (from 1) of a throughput record whose every MFR trial the tester
    spoiled (rfc2544.mfr_fault: short of the load while the DUT lost no more than the
    bare testbed), so that
    their MFR is the tester's figure; empty for records from before the flag."""
    bound = (info.get("repetitions") or {}).get("mfr_tester_bound")
    if bound is None:  # a record without the per-repetition list: its one MFR
        bound = [(info.get("max_forwarding_rate") or {}).get("tester_bound")]
    return [i + 1 for i, b in enumerate(bound) if b]


def figure_value(info: dict[str, Any], figure: str) -> float | None:
    """The throughput figure of a record's extra_info [packets/s; NORMALISED: a ratio],
    the mean over its repetitions; None unless every repetition measured it."""
    if figure == NORMALISED:
        mfr = figure_value(info, "max_forwarding_rate")
        noop = (info.get("calibration") or {}).get("noop_forwarding_pps")
        return mfr / noop if mfr and noop else None
    reps = info.get("repetitions") or {}
    key = {"pdr": "pdr_pps", "ndr": "ndr_pps", "max_forwarding_rate": "mfr_pps"}[figure]
    samples = reps.get(key)
    if samples:
        if any(not s for s in samples):
            return None
        return float(statistics.fmean(samples))
    if figure == "max_forwarding_rate":
        return (info.get("max_forwarding_rate") or {}).get("mean_pps")
    return (info.get(figure) or {}).get("rate_pps")


def write(doc: dict[str, Any], path: Path) -> None:
    """The document as TOML (tomli_w: a writer that round-trips with tomllib)."""
    import tomli_w

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(doc))
