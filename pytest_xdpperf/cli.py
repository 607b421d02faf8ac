"""The `xdpperf` command: maintenance around the pytest plugin."""

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
    for kind in ("processes", "namespaces", "interfaces", "notes"):
        for item in getattr(removed, kind):
            print(f"removed {kind[:-1] if kind != 'processes' else 'process'}: {item}")
    if not removed:
        print("nothing of xdpperf's was left on this machine")
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
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except XdpperfError as exc:
        print(f"xdpperf: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
