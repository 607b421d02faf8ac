"""The `xdpperf` command: compare, store, plot and export records, find where a
history changed; clean up after killed runs."""

from __future__ import annotations

import argparse
import sys

from .errors import XdpperfError


def _cleanup(args: argparse.Namespace) -> int:
    from . import preflight
    from .cleanup import cleanup, leftovers

    preflight.check_root()
    if args.dry_run:
        found = leftovers()
        print("\n".join(found) if found else "nothing of xdpperf's is left on this machine")
        return 0
    removed = cleanup(include_live=args.all)
    for item in removed.settings:
        print(f"put back setting: {item}")
    for kind in ("processes", "namespaces", "interfaces", "notes"):
        for item in getattr(removed, kind):
            print(f"removed {kind[:-1] if kind != 'processes' else 'process'}: {item}")
    if not removed:
        print("nothing of xdpperf's was left on this machine")
    return 0


def _compare(args: argparse.Namespace) -> int:
    import json

    from .compare import as_json, compare, parse_capacity_tolerance, parse_fail_on, table
    from .history import load_all, load_record

    min_drop = parse_fail_on(args.fail_on)
    tolerance = parse_capacity_tolerance(args.capacity_tolerance)
    records = load_all(args.records)
    baseline = 0
    if args.baseline:
        base = load_record(args.baseline)
        records = [base] + [r for r in records if r.path.resolve() != base.path.resolve()]
    comparisons = compare(records, baseline, tolerance)
    print(table(comparisons))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(as_json(comparisons), f, indent=2)
    failed = [c for c in comparisons if c.fails(min_drop)]
    if failed:
        print(f"\n{len(failed)} regression(s) beyond --fail-on {args.fail_on}: "
              + ", ".join(c.name for c in failed), file=sys.stderr)
        return 1
    return 0


def _changes(args: argparse.Namespace) -> int:
    from .changes import changes, regressed, text

    found = changes(args.history, args.figure, args.test)
    print(text(found))
    failed = regressed(found)
    if failed:
        print(f"\n{len(failed)} test(s) whose last change is a regression: "
              + ", ".join(f"{s.test} (record {s.changes[-1].at.index})" for s in failed),
              file=sys.stderr)
        return 1
    return 0


def _store(args: argparse.Namespace) -> int:
    from .history import store

    print(store(args.record, args.history, args.commit))
    return 0


def _plot(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .history import load_all
    from .plot import plot_all

    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    bad = [f for f in formats if f not in ("png", "svg", "pdf")]
    if bad or not formats:
        raise XdpperfError(f"bad --format '{args.format}'", "give png, svg or png,svg")
    for path in plot_all(load_all(args.records), Path(args.output), formats):
        print(path)
    return 0


def _export(args: argparse.Namespace) -> int:
    from .export import export
    from .history import load_all

    fmt, target = ("csv", args.csv) if args.csv is not None else ("ndjson", args.ndjson)
    records = load_all(args.records)
    n = export(records, fmt, target)
    if target != "-":
        print(f"{target}: {n} rows ({fmt}) from {len(records)} records")
    return 0


def _thresholds(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from .history import load_all
    from .thresholds import AUTO, FIGURES, Rule, derive, write

    if args.figure not in (*FIGURES, AUTO):
        raise XdpperfError(f"--figure {args.figure!r} is unknown",
                           f"use one of {', '.join((*FIGURES, AUTO))}")
    if not 0 <= args.margin < 1 or args.spread < 0:
        raise XdpperfError("--margin must be 0 to below 1 and --spread at least 0",
                           "e.g. --margin 0.1 --spread 2")
    records = load_all(args.runs)
    if not records:
        raise XdpperfError("no records found in " + " ".join(args.runs),
                           "give pytest-benchmark JSON files of whole runs")
    testbed = args.testbed or f"veth-{os.cpu_count()}cpu"
    if args.min_runs < 1 or (args.max_cv is not None and args.max_cv <= 0):
        raise XdpperfError("--min-runs must be at least 1 and --max-cv above 0",
                           "e.g. --min-runs 2 --max-cv 0.3")
    doc = derive([[t.extra_info for t in r.tests.values()] for r in records],
                 Rule(args.margin, args.spread, args.min_runs, args.max_cv), testbed,
                 [r.path.name for r in records], args.figure)
    if args.update:
        import tomllib

        from .thresholds import load, update

        load(Path(args.update))  # a bad file is named before anything is written
        doc = update(tomllib.loads(Path(args.update).read_text()), doc)
    write(doc, Path(args.output))
    counts = {k: len(doc.get(k, [])) for k in ("throughput", "latency", "transactions")}
    print(f"{args.output}: " + ", ".join(f"{n} {k}" for k, n in counts.items())
          + f" entries from {len(records)} runs")
    return 0


def _import(args: argparse.Namespace) -> int:
    import datetime
    import json
    from pathlib import Path

    from pytest_benchmark.stats import Stats

    from .history import UNMEASURED_KEY
    from .journal import read, sessions, to_records

    try:
        journal = read(Path(args.journal))
    except OSError as exc:
        raise XdpperfError(f"{args.journal}: cannot read it ({exc.strerror or exc})",
                           "give the run's journal, e.g. .xdpperf/journal.jsonl") from None
    found = sessions(journal.lines)
    if not found:
        raise XdpperfError(f"{args.journal}: no journal lines in it",
                           "give the journal a run wrote (--xdpperf-journal)")
    session = args.session or found[-1]
    if session not in found:
        raise XdpperfError(f"{args.journal}: no session {session!r}",
                           f"its sessions, oldest first: {', '.join(s or '-' for s in found)}")
    done, unfinished = to_records(journal.lines, session)
    benchmarks, unmeasured = [], list(unfinished)
    for entry in done:
        samples = entry["extra_info"].get("metric_samples_pps") or []
        if not samples:
            unmeasured.append(entry)
            continue
        stats = Stats()
        for rate in samples:  # as results.record: seconds per packet, a round each
            stats.update(1.0 / rate)
        benchmarks.append({**entry, "params": None, "param": None, "options": {},
                           "stats": stats.as_dict()})
    when = max((float(line.get("time") or 0) for line in journal.lines
                if str(line.get("session") or "") == session), default=0.0)
    doc = {"machine_info": {"imported_from": str(args.journal)}, "commit_info": {},
           "benchmarks": benchmarks, UNMEASURED_KEY: [{**e, "stats": None} for e in unmeasured],
           "datetime": datetime.datetime.fromtimestamp(when, datetime.UTC).isoformat(),
           "version": "xdpperf-import"}
    Path(args.output).write_text(json.dumps(doc, indent=2))
    print(f"{args.output}: {len(done)} finished and {len(unfinished)} unfinished measurements "
          f"of session {session or '-'}"
          + (f"; {journal.torn} torn line(s) skipped" if journal.torn else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xdpperf", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("cleanup", help="remove namespaces, interfaces and processes a killed "
                                       "run left behind (only those xdpperf created)")
    p.add_argument("--dry-run", action="store_true", help="list them, remove nothing")
    p.add_argument("--all", action="store_true",
                   help="also remove those of runs that are still alive")
    p.set_defaults(func=_cleanup)

    p = sub.add_parser("compare", help="compare records across kernels or commits; exit 1 on "
                                       "a regression (jumpavg on the repetitions)")
    p.add_argument("records", nargs="+",
                   help="pytest-benchmark JSON records and/or history directories, oldest first "
                        "(a directory's records are ordered by their time)")
    p.add_argument("--baseline", help="the record to compare against (default: the first)")
    p.add_argument("--fail-on", default="any",
                   help="smallest relative drop that fails, e.g. 5%% or 0.05; default 'any': "
                        "every regression jumpavg finds")
    p.add_argument("--capacity-tolerance", default="50%",
                   help="largest difference in the tester's calibrated capacity still taken "
                        "for the same testbed, e.g. 50%% (default) or 0.5; beyond it a test "
                        "is flagged and not judged; 'any' compares regardless")
    p.add_argument("--json", help="also write the comparison as JSON to this file")
    p.set_defaults(func=_compare)

    p = sub.add_parser("changes", help="at which record of a history each test's figure "
                                       "changed (jumpavg classify); exit 1 if a test's last "
                                       "change is a regression")
    p.add_argument("history", help="a history directory (xdpperf store), read in time order")
    p.add_argument("--figure", default="auto",
                   help="the throughput figure followed: auto (default: the one the newest "
                        "record judged, else its headline), pdr, ndr, max_forwarding_rate, "
                        "mfr_vs_noop; transactions tests follow transactions/s, latency "
                        "tests their p99 per load")
    p.add_argument("--test", help="only tests whose full name contains this or matches "
                                  "this glob")
    p.set_defaults(func=_changes)

    p = sub.add_parser("store", help="copy a record into a history directory, named by "
                                     "kernel release and commit")
    p.add_argument("record")
    p.add_argument("history")
    p.add_argument("--commit", help="the commit to file it under (and write in the copy) "
                                    "instead of the record's own commit_info id")
    p.set_defaults(func=_store)

    p = sub.add_parser("plot", help="PNG/SVG figures from records or a history")
    p.add_argument("records", nargs="+", help="JSON records and/or history directories")
    p.add_argument("-o", "--output", default="xdpperf-plots", help="directory (default "
                                                                   "xdpperf-plots)")
    p.add_argument("--format", default="png,svg", help="comma-separated: png, svg, pdf")
    p.set_defaults(func=_plot)

    p = sub.add_parser("export", help="records as one long table (a row per test, figure "
                                      "and repetition) for spreadsheets and dashboards")
    p.add_argument("records", nargs="+", help="JSON records and/or history directories")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--csv", metavar="FILE", help="write CSV with a header ('-': stdout)")
    out.add_argument("--ndjson", metavar="FILE",
                     help="write one JSON object a line ('-': stdout)")
    p.set_defaults(func=_export)
    p = sub.add_parser("thresholds", help="a thresholds file from stored runs: limits from "
                                          "the figures' spread, never above the worst run")
    p.add_argument("runs", nargs="+", help="pytest-benchmark JSON records, one per run, "
                                           "and/or directories of them")
    p.add_argument("-o", "--output", required=True, help="the TOML file to write")
    p.add_argument("--margin", type=float, default=0.10,
                   help="the least room below the worst run, as a share of it (default 0.1)")
    p.add_argument("--spread", type=float, default=2.0,
                   help="or this many standard deviations over the runs, if wider "
                        "(default 2)")
    p.add_argument("--min-runs", type=int, default=1,
                   help="a figure gets a limit only if at least this many runs measured it "
                        "(default 1)")
    p.add_argument("--max-cv", type=float, default=None,
                   help="and only if it varied by at most this coefficient of variation "
                        "over them, e.g. 0.3 (default: no bound)")
    p.add_argument("--figure", default="max_forwarding_rate",
                   help="the throughput figure judged: max_forwarding_rate (default), pdr, "
                        "ndr, mfr_vs_noop (the MFR over the session's no-op NF), or auto: "
                        "per test the steadier over the runs of the MFR and mfr_vs_noop")
    p.add_argument("--testbed", help="the testbed's key written in the file (default "
                                     "veth-<CPUs of this machine>cpu)")
    p.add_argument("--update", metavar="FILE",
                   help="start from this thresholds file: the runs' entries replace its "
                        "entries of the same measurements, the others stay (the runs must "
                        "have the file's settings); -o may be the same file")
    p.set_defaults(func=_thresholds)

    p = sub.add_parser("import", help="pytest-benchmark records from a run's journal: its "
                                      "finished measurements, and unfinished ones marked so "
                                      "(after a crash or kill -9)")
    p.add_argument("journal", help="the journal (--xdpperf-journal, default "
                                   ".xdpperf/journal.jsonl)")
    p.add_argument("-o", "--output", required=True, help="the JSON record to write")
    p.add_argument("--session", help="which session of the journal (default: the last)")
    p.set_defaults(func=_import)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except XdpperfError as exc:
        print(f"xdpperf: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
