"""The one place that writes xdpperf's records into pytest-benchmark.

pytest-benchmark has no public call for externally measured values, so records go
through its fixture's own stats object (BenchmarkFixture._make_stats, with `_mode`
set as a timing run would), and records it cannot hold (no value to put in its
stats) are saved beside its own through its hooks. Those internals are pinned to
the major version in pyproject.toml; tests/test_benchrecord.py is the canary that
fails when they change.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .history import UNMEASURED_KEY


def store(benchmark: Any, extra_info: dict[str, Any], values: Iterable[float]) -> bool:
    """Put a record in the fixture: `extra_info`, and one pytest-benchmark round per
    value (seconds per packet, per transaction, or of latency). False when there is
    no value: pytest-benchmark then writes no entry, and the plugin keeps the record
    under UNMEASURED_KEY instead (unmeasured_entry)."""
    benchmark.extra_info.update(extra_info)
    values = list(values)
    if not values:
        return False
    benchmark._mode = "xdpperf"  # the fixture is used once, like benchmark(...) would
    stats = benchmark._make_stats(1)
    for value in values:
        stats.update(value)
    return True


def has_stats(benchmark: Any) -> bool:
    """Whether the fixture holds stats (pytest-benchmark will write its entry)."""
    return getattr(benchmark, "stats", None) is not None


def unmeasured_entry(benchmark: Any) -> dict[str, Any]:
    """The record of a measurement without a value for the stats (no rate at all):
    pytest-benchmark's identity fields, no stats, and the fixture's own extra_info
    dict (so the verdict written into it later is in the record too). The plugin
    writes these under UNMEASURED_KEY (pytest_benchmark_update_json, or save_alone)."""
    return {
        "group": benchmark.group,
        "name": benchmark.name,
        "fullname": benchmark.fullname,
        "param": benchmark.param,
        "params": {str(k): str(v) for k, v in (benchmark.params or {}).items()},
        "stats": None,
        "extra_info": benchmark.extra_info,
    }


def add_unmeasured(output_json: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    if entries:
        output_json[UNMEASURED_KEY] = entries


def save_alone(config: Any, entries: list[dict[str, Any]]) -> None:
    """Where no test of the session had stats, pytest-benchmark saves nothing ("no
    benchmarks have been run") and `entries` would be lost: save them as it would
    have (its own JSON and storage, through its own hooks). Call after its
    session's finish(), which its pytest_sessionfinish hookwrapper runs first."""
    bs = getattr(config, "_benchmarksession", None)  # pytest-benchmark's session
    if not entries or bs is None or bs.benchmarks or bs.disabled:
        return
    save = bs.save or bs.autosave
    if not (save or bs.json):
        return
    commit_info = config.hook.pytest_benchmark_generate_commit_info(config=config)
    config.hook.pytest_benchmark_update_commit_info(config=config, commit_info=commit_info)
    output = config.hook.pytest_benchmark_generate_json(
        config=config, benchmarks=[], include_data=False,
        machine_info=bs.get_machine_info(), commit_info=commit_info)
    config.hook.pytest_benchmark_update_json(config=config, benchmarks=[], output_json=output)
    if bs.json:
        bs.save_json(output)
    if save:
        bs.storage.save(output, save)


def refile_commit(commit_info: dict[str, Any], commit: str) -> dict[str, Any]:
    """`commit_info` filed under `commit` instead: the id it had is kept as
    recorded_id when it differs (pytest-benchmark's 'unknown' under sudo, say).
    Changes `commit_info` in place and returns it."""
    if commit_info.get("id") not in (None, commit):
        commit_info["recorded_id"] = commit_info["id"]
    commit_info["id"] = commit
    return commit_info


def _git(repo: Path, *args: str) -> str:
    """git in `repo`, trusted whoever owns it (safe.directory: a sudo'd run's checkout
    belongs to the user, and plain git refuses it); raises on failure."""
    return subprocess.run(["git", "-c", f"safe.directory={repo}", "-C", str(repo), *args],
                          capture_output=True, text=True, check=True, timeout=30).stdout.strip()


def complete_commit(commit_info: dict[str, Any], given: str | None, repo: Path) -> None:
    """pytest_benchmark_update_commit_info: `given` (--xdpperf-commit) files the record
    under that commit; else where pytest-benchmark's own git lookup failed (its
    `error`: git refuses a checkout someone else owns, as under sudo) git is asked
    again trusting `repo`, and the answer replaces it (the error kept as
    recorded_error). Where git fails here too, commit_info stays as it was."""
    if given:
        refile_commit(commit_info, given)
        return
    if "error" not in commit_info:
        return
    try:
        top = Path(_git(repo, "rev-parse", "--show-toplevel"))
        found = {
            "id": _git(top, "rev-parse", "HEAD"),
            "time": _git(top, "show", "-s", "--pretty=format:%cI"),
            "author_time": _git(top, "show", "-s", "--pretty=format:%aI"),
            "dirty": bool(_git(top, "status", "--porcelain", "--untracked-files=no")),
            "branch": _git(top, "rev-parse", "--abbrev-ref", "HEAD"),
        }
    except (OSError, subprocess.SubprocessError):
        return
    commit_info["recorded_error"] = commit_info.pop("error")
    commit_info.update(found)
