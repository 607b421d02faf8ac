"""Options that fit pytest's conventions (issue 12): every option but --xdp-mode is
--xdpperf-<name> with an ini key xdpperf_<name>; the command line wins over the ini
file, which wins over the built-in default; the old unprefixed names still work for
one release, each use giving one XdpperfDeprecationWarning naming the new name.

The runs are pytest in a subprocess on tests/suites/options/test_values.py, copied
into a folder of its own with the ini file of the case: it asks for no testbed, so
nothing is made and no lock is needed (a second each, run a few at a time)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_xdpperf.plugin import pytest_addoption
from pytest_xdpperf.settings import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "suites" / "options" / "test_values.py"
USAGE_ERROR = 4
WARNING = "XdpperfDeprecationWarning: {old} is deprecated"

# each old name: a value other than the default, and what the plugin makes of it
OLD_NAMES: dict[str, tuple[str, Any]] = {
    "--loss-threshold": ("0.5%", "0.5%"),
    "--trial-duration": ("0.25", 0.25),
    "--min-load": ("20000", 20000.0),
    "--relative-width": ("0.01", 0.01),
    "--mfr-repetitions": ("2", 2),
    "--repetitions": ("3", 3),
    "--confirm-trials": ("0", 0),
    "--confirm-duration": ("0.5", 0.5),
    "--tester-retries": ("2", 2),
    "--frame-size": ("128", 128),
    "--tester-cpus": ("0", "0"),
    "--dut-cpus": ("1", "1"),
    "--generator": ("trafgen", "trafgen"),
}
NEW_NAME = {s.alias: s.flag for s in SETTINGS if s.alias}


def given(names: Callable[[str], str]) -> list[str]:
    return [a for old, (text, _) in OLD_NAMES.items() for a in (names(old), text)]


@dataclass(frozen=True)
class Run:
    """pytest on the suite, in `cwd` (below the folder) with these files beside it."""

    args: tuple[str, ...] = ()
    files: dict[str, str] = field(default_factory=lambda: {"pytest.ini": "[pytest]\n"})
    cwd: str = "."


@dataclass(frozen=True)
class Outcome:
    returncode: int
    output: str
    stderr: str
    folder: Path
    values: dict[str, Any]


RUNS = {
    "old names": Run(tuple(given(lambda old: old))),
    "new names": Run(tuple(given(lambda old: NEW_NAME[old]))),
    # the command line over the ini file over the default; relative paths in the
    # file are the file's folder's, not the folder pytest runs in
    "ini": Run(("--xdpperf-repetitions", "5", "--trial-duration", "0.7"),
               {"pytest.ini": "[pytest]\nxdpperf_repetitions = 4\nxdpperf_trial_duration = 0.3\n"
                              "xdpperf_confirm_trials = 2\nxdpperf_xdp_mode = xdp,af_xdp\n"
                              "xdpperf_build = out\nxdpperf_journal =\n"},
               cwd="sub"),
    "pyproject": Run(files={"pyproject.toml": "[tool.pytest.ini_options]\n"
                                              "xdpperf_repetitions = 3\n"
                                              "xdpperf_relative_width = 0.02\n"
                                              "xdpperf_generator = 'trafgen'\n"}),
    "ini bad value": Run(files={"pytest.ini": "[pytest]\nxdpperf_repetitions = many\n"}),
    "old name as an error": Run(("-W", "error::pytest_xdpperf.settings.XdpperfDeprecationWarning",
                                 "--repetitions", "2")),
}


def run(run: Run, folder: Path) -> Outcome:
    (folder / run.cwd).mkdir(parents=True, exist_ok=True)
    for name, text in run.files.items():
        (folder / name).write_text(text)
    shutil.copy(SUITE, folder)
    values = folder / "values.json"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(folder / SUITE.name), "-p", "no:cacheprovider",
         "-p", "no:randomly", "-q", *run.args],
        cwd=folder / run.cwd, capture_output=True, text=True, timeout=120,
        env={**os.environ, "XDPP_VALUES": str(values)})
    found = json.loads(values.read_text()) if values.exists() else {}
    return Outcome(result.returncode, result.stdout + result.stderr, result.stderr, folder,
                   found)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    base = tmp_path_factory.mktemp("options")
    with ThreadPoolExecutor(max_workers=3) as pool:
        done = pool.map(lambda item: run(item[1], base / f"run{item[0]}"), enumerate(RUNS.values()))
        return dict(zip(RUNS, done))


def option(outcome: Outcome, flag: str) -> Any:
    assert outcome.returncode == 0, outcome.output
    return outcome.values["options"][flag]


class Registered:
    """Stands in for pytest's parser and option group: what plugin.py registers."""

    def __init__(self) -> None:
        self.options: list[tuple[str, ...]] = []
        self.ini: list[str] = []

    def getgroup(self, *args: Any) -> Registered:
        return self

    def addoption(self, *names: str, **kwargs: Any) -> None:
        self.options.append(names)

    def addini(self, name: str, help: str, **kwargs: Any) -> None:
        self.ini.append(name)


def test_every_option_is_prefixed_with_an_ini_key() -> None:
    """--xdpperf-<name> and ini key xdpperf_<name> (--xdp-mode keeps its name, its
    key is xdpperf_xdp_mode); the old names are aliases, exactly the ones tried here."""
    registered = Registered()
    pytest_addoption(registered)  # type: ignore[arg-type]
    first = [names[0] for names in registered.options]
    assert [f for f in first if not f.startswith("--xdpperf-")] == ["--xdp-mode"]
    assert registered.ini == ["xdpperf_" + f.removeprefix("--xdpperf-").removeprefix("--")
                              .replace("-", "_") for f in first]
    aliases = [n for names in registered.options for n in names[1:]]
    assert sorted(aliases) == sorted(OLD_NAMES)
    assert all(NEW_NAME[old] == "--xdpperf-" + old[2:] for old in OLD_NAMES)


@pytest.mark.parametrize("old", OLD_NAMES)
def test_old_name_still_works_and_is_deprecated_once(old: str,
                                                     outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["old names"]
    assert option(outcome, NEW_NAME[old]) == OLD_NAMES[old][1], outcome.output
    lines = [line for line in outcome.output.splitlines() if WARNING.format(old=old) in line]
    assert len(lines) == 1, outcome.output
    assert lines[0].endswith(f"use {NEW_NAME[old]} (ini key xdpperf_{old[2:].replace('-', '_')})")


def test_new_names_give_the_same_values_and_no_deprecation(outcomes: dict[str, Outcome]) -> None:
    old, new = outcomes["old names"], outcomes["new names"]
    assert option(new, "--xdpperf-repetitions") == 3
    assert new.values == old.values
    assert "XdpperfDeprecationWarning" not in new.output, new.output
    assert " is deprecated" not in new.output, new.output


def test_command_line_over_ini_over_default(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["ini"]
    assert option(outcome, "--xdpperf-repetitions") == 5  # command line over ini
    assert option(outcome, "--xdpperf-trial-duration") == 0.7  # (an old name too)
    assert option(outcome, "--xdpperf-confirm-trials") == 2  # ini over the default 1
    assert option(outcome, "--xdp-mode") == "xdp,af_xdp"
    assert option(outcome, "--xdpperf-min-load") == 10_000.0  # neither: the default
    assert option(outcome, "--xdpperf-build") == str(outcome.folder / "out")  # not sub/out
    assert option(outcome, "--xdpperf-journal") == ""  # given empty: off, not the default
    run_options = outcome.values["run_options"]
    assert (run_options["repetitions"], run_options["confirm_trials"]) == (5, 2)
    assert outcomes["new names"].values["run_options"]["confirm_trials"] == 0


def test_pyproject_ini_options(outcomes: dict[str, Outcome]) -> None:
    """[tool.pytest.ini_options] takes TOML numbers for the numeric keys."""
    outcome = outcomes["pyproject"]
    assert option(outcome, "--xdpperf-repetitions") == 3
    assert option(outcome, "--xdpperf-relative-width") == 0.02
    assert option(outcome, "--xdpperf-generator") == "trafgen"


def test_bad_ini_value_is_one_line_naming_the_option(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["ini bad value"]
    assert outcome.returncode == USAGE_ERROR, outcome.output
    assert outcome.stderr.strip().splitlines() == [
        "ERROR: --xdpperf-repetitions 'many' is not a whole number (give a whole number, "
        "e.g. --xdpperf-repetitions 10)"], outcome.output


def test_deprecation_made_an_error_is_a_usage_error(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["old name as an error"]
    assert outcome.returncode == USAGE_ERROR, outcome.output
    assert outcome.stderr.strip().splitlines() == [
        "ERROR: --repetitions is deprecated (use --xdpperf-repetitions, or ini key "
        "xdpperf_repetitions)"], outcome.output
