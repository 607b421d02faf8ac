"""At which record of a history each test's figure changed: FD.io CSIT's jumpavg
`classify` over the records in time order.

Each record gives a test one value: the mean over its repetitions of the figure
followed. Not the repetitions themselves: on a shared host the runs move more
than the repetitions within one run do (repetitions that agree to 0.3% in runs
3% apart), and jumpavg fed each record's samples as one group then takes every
record for a change of its own. One value per build is also what CSIT's own
trending feeds classify. classify groups the values by minimum description
length, so a new group starts only where two averages describe the history in
fewer bits than one; each group after the first starts at the record where the
change happened.

The figure followed per test is, with `--figure auto`, the one the newest
record judged (extra_info["verdict"]["figure"]), else the newest record's
headline; one figure for the whole history, since an MFR is not a better PDR
(compare's rule). Transactions tests follow their transactions/s, latency tests
their p99 at each load point (higher is worse there).
"""

from __future__ import annotations

import fnmatch
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from jumpavg import classify

from .compare import SHORT, SIGNIFICANT_BITS, different_settings
from .errors import XdpperfError
from .history import TPS, Record, TestRecord, latency_points, load_all, load_title
from .thresholds import AUTO, FIGURES, NORMALISED
from .verdict import fmt_value, throughput_bound

REGRESSION, PROGRESSION = "regression", "progression"
LATENCY_FIGURE = "p99_us"


@dataclass(frozen=True)
class Point:
    """One record's value of the figure followed."""

    index: int  # the record's position in the history, 1 = oldest
    record: Record
    value: float  # packets/s, transactions/s, a ratio (mfr_vs_noop) or µs (latency)
    repetitions: int  # how many the mean is over

    @property
    def where(self) -> str:
        """The record as people find it: number, kernel and commit, date, file."""
        return (f"record {self.index} {self.record.label} {self.record.datetime[:19]} "
                f"({self.record.path.name})")


@dataclass(frozen=True)
class Change:
    """A group of records that starts at `at`: its mean against the previous group's."""

    at: Point
    before: float  # mean of the previous group (the figure's unit, as Point.value)
    after: float  # mean of this group
    kind: str  # REGRESSION or PROGRESSION (lower throughput / higher latency is worse)
    caveat: str | None  # why this regression may not be the DUT's (settings, the tester)

    @property
    def relative(self) -> float | None:
        """(after - before) / before, None for a zero `before`."""
        return (self.after - self.before) / self.before if self.before else None

    @property
    def counts(self) -> bool:
        """A regression the DUT is to blame for: what fails the exit status."""
        return self.kind == REGRESSION and self.caveat is None


@dataclass
class Series:
    """One test's figure across a history and the groups jumpavg found in it."""

    test: str
    figure: str  # "pdr", "ndr", "max_forwarding_rate", NORMALISED, TPS, or a latency load
    higher_is_better: bool
    total: int  # records in the history
    points: list[Point] = field(default_factory=list)
    skipped: list[tuple[int, Record, str]] = field(default_factory=list)  # (index, record, why)
    absent: list[int] = field(default_factory=list)  # indices of records without the test
    groups: list[list[Point]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)

    @property
    def last(self) -> Change | None:
        return self.changes[-1] if self.changes else None


def pick_figure(tests: list[TestRecord], figure: str) -> str:
    """The figure a throughput test is followed by: `figure`, or for AUTO the newest
    record's judged figure where it names a throughput figure, else its headline."""
    if figure != AUTO:
        return figure
    newest = tests[-1]
    judged = (newest.extra_info.get("verdict") or {}).get("figure")
    return str(judged) if judged in FIGURES else newest.metric


def samples(test: TestRecord, figure: str) -> tuple[float, ...]:
    """`figure` of a throughput or transactions test once per repetition [packets/s,
    transactions/s; NORMALISED: the MFR over the session's no-op NF, a ratio]; empty
    unless every repetition has it."""
    if figure == NORMALISED:
        noop = (test.extra_info.get("calibration") or {}).get("noop_forwarding_pps")
        mfr = test.samples_for("max_forwarding_rate")
        return tuple(m / float(noop) for m in mfr) if noop else ()
    return test.samples_for(figure)


def missing(test: TestRecord, figure: str) -> str:
    """Why a test's record gave no value of `figure`."""
    if figure == NORMALISED and test.samples_for("max_forwarding_rate"):
        return "no no-op forwarding rate in its calibration"
    name = "MFR" if figure == NORMALISED else SHORT.get(figure, figure)
    return f"not every repetition has a{'n' if name[0] in 'MN' else ''} {name}"


def _unit(figure: str) -> str:
    if figure == NORMALISED:
        return "x no-op"
    return "tps" if figure == TPS else "us" if figure.startswith("p99") else "Mpps"


def show(value: float, figure: str) -> str:
    """A value of `figure` with its unit (Mpps for packets/s)."""
    unit = _unit(figure)
    return fmt_value(value / 1e6 if unit == "Mpps" else value, unit)


def _throughput_series(name: str, records: list[Record], figure: str) -> Series:
    tests = [r.tests[name] for r in records if name in r.tests]
    followed = TPS if tests[-1].is_transactions else pick_figure(tests, figure)
    series = Series(name, followed, True, len(records))
    for i, record in enumerate(records, 1):
        test = record.tests.get(name)
        if test is None:
            series.absent.append(i)
            continue
        values = samples(test, followed)
        if values:
            series.points.append(Point(i, record, statistics.fmean(values), len(values)))
        else:
            series.skipped.append((i, record, missing(test, followed)))
    return series


def _latency_series(name: str, records: list[Record]) -> list[Series]:
    """One series per load point any record measured, its p99 [µs]."""
    loads: list[tuple[str, float]] = []
    for r in records:
        loads.extend(k for k in latency_points(r.tests.get(name)) if k not in loads)
    out = []
    for load in loads:
        series = Series(name, f"p99 at {load_title(load)}", False, len(records))
        for i, record in enumerate(records, 1):
            test = record.tests.get(name)
            if test is None:
                series.absent.append(i)
                continue
            p99 = (latency_points(test).get(load) or {}).get(LATENCY_FIGURE)
            if p99 is None:
                series.skipped.append((i, record, f"no p99 at {load_title(load)}"))
            else:
                series.points.append(Point(i, record, float(p99), 1))
        out.append(series)
    return out


def _caveat(series: Series, before: Point, after: Point) -> str | None:
    """Why a regression between these two records is no verdict on the DUT: other
    settings, or a figure the tester or the testbed decided (as compare says)."""
    test, base = after.record.tests[series.test], before.record.tests[series.test]
    differs = different_settings(base.extra_info, test.extra_info)
    if differs:
        return differs
    if series.figure in FIGURES:
        figure = "max_forwarding_rate" if series.figure == NORMALISED else series.figure
        return (throughput_bound(test.extra_info, figure, by_status=False)
                or throughput_bound(base.extra_info, figure, by_status=False))
    return None


def classify_series(series: Series) -> Series:
    """Group the series' points with jumpavg; a Change at the first point of every
    group after the first, a regression or progression as jumpavg's comment says
    (lower is its regression), turned round where higher is worse (latency)."""
    if len(series.points) < 2:
        return series
    glist = classify([p.value for p in series.points], sbps=SIGNIFICANT_BITS)
    rest = list(series.points)
    before = 0.0
    for group in glist:
        members, rest = rest[:len(group.run_list)], rest[len(group.run_list):]
        if series.groups and group.comment in (REGRESSION, PROGRESSION):
            kind = group.comment if series.higher_is_better else (
                PROGRESSION if group.comment == REGRESSION else REGRESSION)
            caveat = (_caveat(series, series.groups[-1][-1], members[0])
                      if kind == REGRESSION else None)
            series.changes.append(Change(members[0], before, group.stats.avg, kind, caveat))
        series.groups.append(members)
        before = group.stats.avg
    return series


def matches(name: str, pattern: str | None) -> bool:
    """--test: a glob on the test's full name (node id), or a part of it."""
    return pattern is None or pattern in name or fnmatch.fnmatchcase(name, pattern)


def changes(history: str | Path, figure: str = AUTO, pattern: str | None = None) -> list[Series]:
    """Every test of the history (that `pattern` matches) with its groups and changes."""
    if figure not in (*FIGURES, AUTO):
        raise XdpperfError(f"--figure {figure!r} is unknown",
                           f"use one of {', '.join((AUTO, *FIGURES))}")
    path = Path(history)
    if not path.is_dir():
        raise XdpperfError(f"{path}: not a history directory",
                           "give the directory `xdpperf store` writes records into")
    records = load_all([path])
    if len(records) < 2:
        raise XdpperfError(f"{path}: holds only {len(records)} record, changes need at "
                           "least two", "store more runs there with xdpperf store")
    names: list[str] = []
    for r in records:
        names.extend(n for n in r.tests if n not in names and matches(n, pattern))
    if not names:
        raise XdpperfError(f"no test in {path} matches --test {pattern!r}",
                           "give a part of a test's name or a glob, e.g. '*macswap*'")
    out: list[Series] = []
    for name in names:
        newest = [r.tests[name] for r in records if name in r.tests][-1]
        found = (_latency_series(name, records) if newest.is_latency
                 else [_throughput_series(name, records, figure)])
        out.extend(classify_series(s) for s in found)
    return out


def _span(points: list[Point]) -> str:
    first, last = points[0].index, points[-1].index
    return f"record {first}" if first == last else f"records {first}-{last}"


def summary(series: Series) -> str:
    """The series in a few words: no change, or its last change and where."""
    if len(series.points) < 2:
        n = len(series.points)
        return f"{n} record{'' if n == 1 else 's'} with this figure, nothing to classify"
    last = series.last
    if last is None:
        return "no change"
    kind = last.kind + (f" (not judged: {last.caveat})" if last.caveat else "")
    count = f"{len(series.changes)} changes, the last a " if len(series.changes) > 1 else ""
    return f"{count}{kind} at record {last.at.index} ({last.at.record.label})"


def text(all_series: list[Series]) -> str:
    """A block per test and figure: each group with its mean, where it began, and for
    every group after the first the change before -> after."""
    blocks = []
    for s in all_series:
        name = SHORT.get(s.figure, s.figure)
        lines = [f"{s.test} ({name}, {len(s.points)} of {s.total} records): {summary(s)}"]
        at = {c.at.index: c for c in s.changes}
        for group in s.groups:
            line = f"  {_span(group)}: {show(statistics.fmean(p.value for p in group), s.figure)}"
            c = at.get(group[0].index)
            if c is None:
                lines.append(f"{line}, from {group[0].where}")
                continue
            rel = f" ({c.relative:+.2%})" if c.relative is not None else ""
            lines.append(f"{line}, {c.kind} at {c.at.where}: {show(c.before, s.figure)} -> "
                         f"{show(c.after, s.figure)}{rel}"
                         + (f", not judged: {c.caveat}" if c.caveat else ""))
        lines.extend(f"  skipped record {i} {r.label} ({r.path.name}): {why}"
                     for i, r, why in s.skipped)
        if s.absent:
            lines.append(f"  absent from {len(s.absent)} record(s): "
                         + ", ".join(map(str, s.absent)))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def regressed(all_series: list[Series]) -> list[Series]:
    """The series whose last change is a regression the DUT is to blame for."""
    return [s for s in all_series if s.last is not None and s.last.counts]
