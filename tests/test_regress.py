"""ci/regress's bookkeeping on records that need no testbed (tests/suites/fakerecord):
a pinned baseline that a regressed run never replaces, --update-baseline, the
repetitions it asks for, and the commit it files runs under."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from schemas import assert_record_file_valid

from pytest_xdpperf.benchrecord import complete_commit
from pytest_xdpperf.history import load_all, load_record, store

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "suites" / "fakerecord"
TEST = "test_record"


def regress(tmp: Path, pps: float, *options: str, pytest_args: tuple[str, ...] = (),
            repo: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "ci" / "regress"), "--history", str(tmp / "history"),
         "--repo", str(repo), *options, "--", str(SUITE), "-p", "no:cacheprovider", "-q",
         *pytest_args],
        cwd=tmp, capture_output=True, text=True, timeout=300,
        env=os.environ | {"XDPP_FAKE_PPS": str(pps),
                          "XDPPERF_BIN": str(Path(sys.executable).parent)})


def samples(path: Path) -> tuple[float, ...]:
    (test,) = load_record(path).tests.values()
    return test.samples_pps


def test_a_regressed_run_never_becomes_the_baseline(tmp_path: Path) -> None:
    pinned = tmp_path / "history" / "baseline.json"
    first = regress(tmp_path, 1e6)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "starts the history" in first.stdout
    assert pinned.is_file() and len(samples(pinned)) == 3  # --repetitions 3 by default
    assert assert_record_file_valid(pinned) == 1  # the fake suite's record is a valid one
    for _ in range(2):  # the second time too: the first regressed run is no baseline
        slow = regress(tmp_path, 0.8e6)
        assert slow.returncode == 1, slow.stdout + slow.stderr
        assert f"{TEST} (pdr): regression" in slow.stdout
        assert min(samples(pinned)) > 0.99e6
    # every run is in the history; the pinned copy is not read as another one
    assert len(load_all([tmp_path / "history"])) == 3
    accepted = regress(tmp_path, 0.8e6, "--update-baseline")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "regression" in accepted.stdout and "--update-baseline" in accepted.stdout
    assert max(samples(pinned)) < 0.81e6
    after = regress(tmp_path, 0.8e6)
    assert after.returncode == 0, after.stdout + after.stderr
    assert f"{TEST} (pdr): no change" in after.stdout
    assert len(load_all([tmp_path / "history"])) == 5


def test_a_failed_run_is_its_own_exit_status_and_its_record_is_kept(tmp_path: Path) -> None:
    """A regression exits 1, a run whose tests failed 3 (its record still stored and
    compared), so a CI job can tell a slower kernel from a broken run."""
    assert regress(tmp_path, 1e6).returncode == 0
    failed = subprocess.run(
        ["bash", str(ROOT / "ci" / "regress"), "--history", str(tmp_path / "history"),
         "--repo", str(ROOT), "--", str(SUITE), "-p", "no:cacheprovider", "-q"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env=os.environ | {"XDPP_FAKE_PPS": "1e6", "XDPP_FAKE_FAIL": "1",
                          "XDPPERF_BIN": str(Path(sys.executable).parent)})
    assert failed.returncode == 3, failed.stdout + failed.stderr
    assert "the run failed (pytest exit 1)" in failed.stderr
    assert len(load_all([tmp_path / "history"])) == 2  # stored anyway
    assert f"{TEST} (pdr): no change" in failed.stdout  # and compared


def test_repetitions_can_be_overridden(tmp_path: Path) -> None:
    assert regress(tmp_path, 1e6, "--repetitions", "5").returncode == 0
    assert len(samples(tmp_path / "history" / "baseline.json")) == 5
    # pytest's last wins
    again = regress(tmp_path, 1e6, pytest_args=("--xdpperf-repetitions", "2"))
    assert again.returncode == 0, again.stdout + again.stderr
    newest = load_all([tmp_path / "history"])[-1]
    assert len(newest.tests[next(iter(newest.tests))].samples_pps) == 2


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to own a checkout as someone else")
def test_commit_comes_from_a_checkout_git_distrusts(tmp_path: Path) -> None:
    """Under sudo the checkout belongs to another user: plain git refuses it (and
    pytest-benchmark records 'unknown'); ci/regress still files the run by its commit."""
    repo = tmp_path / "checkout"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    short = subprocess.run([*git, "rev-parse", "--short", "HEAD"], check=True,
                           capture_output=True, text=True).stdout.strip()
    shutil.chown(repo, 65534, 65534)
    for path in repo.rglob("*"):
        shutil.chown(path, 65534, 65534)
    plain = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                           text=True)
    assert plain.returncode != 0 and "dubious ownership" in plain.stderr
    run = regress(tmp_path, 1e6, "--repetitions", "1", repo=repo)
    assert run.returncode == 0, run.stdout + run.stderr
    (stored,) = [p for p in (tmp_path / "history").glob("*.json") if p.name != "baseline.json"]
    assert f"__{short}__" in stored.name
    record = load_record(stored)
    assert record.commit_id == short and "recorded_id" in record.commit  # pytest-benchmark's


def fake_run(tmp: Path, cwd: Path, *options: str) -> dict:
    """The fake suite run by pytest itself (no ci/regress) from `cwd`: its record."""
    out = tmp / "run.json"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(SUITE), "-p", "no:cacheprovider", "-q",
         f"--benchmark-json={out}", *options], cwd=cwd, capture_output=True, text=True,
        timeout=300, env=os.environ | {"XDPP_FAKE_PPS": "1e6"})
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(out.read_text())["commit_info"]


def test_xdpperf_commit_files_the_record_as_pytest_benchmark_writes_it(tmp_path: Path) -> None:
    """--xdpperf-commit sets commit_info through pytest-benchmark's own hook: the record
    needs no rewriting afterwards, and what pytest-benchmark found is kept."""
    info = fake_run(tmp_path, tmp_path, "--xdpperf-commit", "abc1234")
    assert info["id"] == "abc1234" and info["recorded_id"] == "unversioned"  # no git here
    # xdpperf store --commit of the same commit copies it unchanged
    stored = store_record(tmp_path, "abc1234")
    assert stored.read_bytes() == (tmp_path / "run.json").read_bytes()


def store_record(tmp: Path, commit: str) -> Path:
    return store(tmp / "run.json", tmp / "history", commit)


def test_complete_commit_asks_git_again_only_where_pytest_benchmark_failed(
        tmp_path: Path) -> None:
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    failed = {"id": "unknown", "time": None, "dirty": False, "error": "CalledProcessError"}
    complete_commit(failed, None, ROOT)
    assert failed["id"] == head and failed["recorded_error"] == "CalledProcessError"
    assert "error" not in failed and failed["time"]
    found = {"id": "f" * 40, "dirty": False}
    complete_commit(found, None, ROOT)
    assert found == {"id": "f" * 40, "dirty": False}  # pytest-benchmark's answer stands
    nowhere = {"id": "unknown", "error": "x"}
    complete_commit(nowhere, None, tmp_path)  # no git checkout: left as it was
    assert nowhere == {"id": "unknown", "error": "x"}


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to own a checkout as someone else")
def test_a_run_in_a_checkout_git_distrusts_still_records_its_commit(tmp_path: Path) -> None:
    """pytest-benchmark's own lookup fails there (git's safe.directory check, as under
    sudo); the plugin's commit_info hook asks git again trusting the checkout."""
    repo = tmp_path / "checkout"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()
    for path in [repo, *repo.rglob("*")]:
        shutil.chown(path, 65534, 65534)
    info = fake_run(tmp_path, repo)
    assert info["id"] == head and "recorded_error" in info and "error" not in info
