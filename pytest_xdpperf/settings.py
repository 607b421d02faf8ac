"""xdpperf's pytest options: one table, registered as `--xdpperf-<name>` (and
`--xdp-mode`) each with an ini key `xdpperf_<name>`, resolved with the command
line over the ini file over the built-in default.

The unprefixed names of earlier releases (`--trial-duration`, `--repetitions`,
...) are aliases of the same options for one release: using one still works and
issues one XdpperfDeprecationWarning naming the new name (a pytest warning, so it
is in the warnings summary, and `-W error::pytest_xdpperf.settings.
XdpperfDeprecationWarning` turns it into a usage error).

Values stay text here (as argparse and the ini file give them); plugin.py converts
and validates them, and its messages name the new option name however the value
was given (old name, new name or ini key)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .errors import XdpperfError
from .methods import DEFAULT_METHOD, DURATION_SUM_TRIALS, METHODS
from .trafficgen.factory import DEFAULT_SPEC

# config.option attribute: dest -> the option strings that gave it on the command line
GIVEN = "_xdpperf_given"


class XdpperfDeprecationWarning(pytest.PytestDeprecationWarning):
    """An old (unprefixed) option name was used; it goes in the next release."""


@dataclass(frozen=True)
class Setting:
    """One option: `--xdpperf-<name>` (or `option`), ini key `xdpperf_<name>`."""

    name: str
    default: Any
    help: str
    alias: str | None = None  # the old unprefixed name, deprecated
    metavar: str | None = None
    path: bool = False  # a file or folder: an ini value is relative to the ini file
    option: str | None = None  # the command-line name when not --xdpperf-<name>
    multiple: bool = False  # repeatable: a list (the ini value: whitespace-separated)

    @property
    def flag(self) -> str:
        return self.option or f"--xdpperf-{self.name}"

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    @property
    def ini(self) -> str:
        return "xdpperf_" + self.name.replace("-", "_")


SETTINGS: tuple[Setting, ...] = (
    # the modes are the NF runtime's (pytest_xdpperf/modes.py): named only once it is built
    Setting("xdp-mode", None, option="--xdp-mode",
            help="comma-separated DUT modes to run each test in, e.g. xdp (default: every "
                 "mode of the NF runtime, in its order; `build/common/nf-modes "
                 "--describe-modes` lists them)"),
    Setting("loss-threshold", "0.1%", alias="--loss-threshold",
            help="PDR loss threshold, as a ratio (0.001) or percent (0.1%%); default 0.1%%"),
    Setting("trial-duration", 1.0, alias="--trial-duration",
            help="seconds of each final search trial (default 1.0)"),
    Setting("min-load", 10_000.0, alias="--min-load",
            help="lowest rate the search tries, packets/s (default 10000)"),
    Setting("relative-width", 0.005, alias="--relative-width",
            help="search precision: final bound width relative to the rate (default 0.005)"),
    Setting("mfr-repetitions", 1, alias="--mfr-repetitions",
            help="trials of the maximum forwarding rate (default 1)"),
    Setting("repetitions", 1, alias="--repetitions",
            help="whole searches per test (NDR, PDR, MFR each time); the record has their "
                 "mean, standard deviation and 95%% confidence interval (default 1)"),
    Setting("confirm-trials", 1, alias="--confirm-trials",
            help="final trials at the reported NDR and PDR that must hold for the figure "
                 "to be marked verified; 0 for none (default 1)"),
    Setting("confirm-duration", None, alias="--confirm-duration",
            help="seconds of each confirmation trial (default: --xdpperf-trial-duration)"),
    Setting("tester-retries", 1, alias="--tester-retries",
            help="times a trial the tester spoiled (own overflow, slow or short sending) "
                 "is run again before its load counts as beyond the tester (default 1)"),
    Setting("frame-size", 64, alias="--frame-size",
            help="frame size in bytes with FCS, 64 to 1518 (default 64)"),
    Setting("tester-cpus", None, alias="--tester-cpus",
            help="CPUs for the tester's work, one generator thread each, e.g. 0 "
                 "(default: every CPU but the DUT's)"),
    Setting("dut-cpus", None, alias="--dut-cpus",
            help="CPUs for all DUT work, e.g. 1 (default: the last CPU)"),
    Setting("generator", DEFAULT_SPEC, alias="--generator", metavar="MODULE:FACTORY",
            help="traffic generator: FACTORY(testbed, builder, profile) in MODULE returns "
                 "a Generator (pytest_xdpperf/trafficgen/base.py); used for calibration "
                 "and every measurement; or a short name: builtin (the built-in BPF "
                 "generator, default), trafgen (netsniff-ng's)"),
    Setting("journal", ".xdpperf/journal.jsonl", path=True,
            help="append every measurement (and the trials of unfinished ones) here as "
                 "soon as it exists; '' to disable (default .xdpperf/journal.jsonl)"),
    Setting("thresholds", None, metavar="FILE", path=True,
            help="the limits each measurement is judged against (TOML, see "
                 "pytest_xdpperf/thresholds.py; make one with `xdpperf thresholds`); "
                 "'none' to judge nothing (default: the testbed's own, "
                 "testsuites/thresholds/<testbed>.toml, e.g. veth-2cpu.toml)"),
    Setting("inconclusive", "report", metavar="report|fail",
            help="a figure that misses its limit while the tester or the testbed decided "
                 "it: 'report' shows it as inconclusive and passes the test, 'fail' fails "
                 "it (default report)"),
    Setting("method", DEFAULT_METHOD, metavar="|".join(METHODS),
            help="search preset: 'rfc2544' (a load passes only if every trial met the loss "
                 "goal) or 'mlrsearch' (goal exceed ratio 0.5 over "
                 f"{DURATION_SUM_TRIALS:g} trials per load, FD.io CSIT's PDR: sporadic loss "
                 f"in a minority of trials does not decide it) (default {DEFAULT_METHOD})"),
    Setting("nfs", None, metavar="DIR", path=True,
            help="NF sources: a folder laid out like the bundled nfs/ (its Makefile, common "
                 "library, generator and one folder per NF), e.g. a copy with a changed NF "
                 "(default: the bundled nfs/)"),
    Setting("nf-dir", (), metavar="DIR", path=True, multiple=True,
            help="a folder of your own NFs (<nf>/<nf>_kern.c, <nf>_user.c, <nf>.h), built "
                 "against the bundled common library; repeatable (packages add theirs "
                 "through the xdpperf.nfs entry point group)"),
    Setting("nf-program", (), metavar="NAME=PATH", multiple=True,
            help="an NF that is already built, run as NAME without building: a program "
                 "in any language that speaks the NF protocol (its command line, "
                 "--describe, the ready line and the stats command; README, 'The NF "
                 "protocol'); repeatable"),
    Setting("commit", None, metavar="ID",
            help="the commit the records are filed under (commit_info id; the id "
                 "pytest-benchmark found is kept as recorded_id); default: "
                 "pytest-benchmark's git lookup, asked again trusting the checkout where "
                 "git refuses it (as under sudo)"),
    Setting("build", None, path=True,
            help="build directory for the C programs (default: build/ in the checkout)"),
)
BY_FLAG = {s.flag: s for s in SETTINGS}
BY_DEST = {s.dest: s for s in SETTINGS}


class Given(argparse.Action):
    """argparse's `store`, which also notes on the namespace which of the option's
    names gave it (GIVEN): the command line wins over the ini file only for options
    it gave, and an old name is known to have been used."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        if BY_DEST[self.dest].multiple:
            values = [*(getattr(namespace, self.dest, None) or []), values]
        setattr(namespace, self.dest, values)
        given: dict[str, tuple[str, ...]] = dict(getattr(namespace, GIVEN, {}))
        given[self.dest] = (*given.get(self.dest, ()), option_string or self.dest)
        setattr(namespace, GIVEN, given)  # a new dict: a copied namespace keeps its own


def register(parser: pytest.Parser) -> None:
    """Every option in its group, with its ini key; argparse's default is None (the
    built-in default is applied by resolve, after the ini file had its say)."""
    group = parser.getgroup("xdpperf", "XDP / AF_XDP performance tests")
    for setting in SETTINGS:
        names = [setting.flag, *([setting.alias] if setting.alias else [])]
        help = setting.help
        if setting.alias:
            help += f"; {setting.alias} is its deprecated old name"
        extra = {"metavar": setting.metavar} if setting.metavar else {}
        group.addoption(*names, dest=setting.dest, action=Given, default=None, help=help,
                        **extra)
        parser.addini(setting.ini, f"default of {setting.flag} (the command line wins)",
                      default=None)


def resolve(config: pytest.Config) -> None:
    """Each option's value in config.option (so config.getoption reads it): the
    command line's, else the ini file's, else the built-in default; then one
    deprecation warning for each old name the command line used."""
    given: dict[str, tuple[str, ...]] = getattr(config.option, GIVEN, {})
    for setting in SETTINGS:
        if setting.dest in given:
            continue
        ini = config.getini(setting.ini)
        if ini is None:
            value: Any = list(setting.default) if setting.multiple else setting.default
        elif setting.multiple:
            value = [from_ini(setting, word, config) for word in str(ini).split()]
        else:
            value = from_ini(setting, ini, config)
        setattr(config.option, setting.dest, value)
    for setting in SETTINGS:
        if setting.alias and setting.alias in given.get(setting.dest, ()):
            deprecated(config, setting)


def from_ini(setting: Setting, text: str, config: pytest.Config) -> str:
    """An ini value; a relative path is taken from the ini file's folder (as pytest
    does for its own paths), so the file means the same wherever pytest runs."""
    if not setting.path or not text or text == "none" or Path(text).is_absolute():
        return text
    base = config.inipath.parent if config.inipath else config.invocation_params.dir
    return str(base / text)


def deprecation(setting: Setting) -> str:
    return (f"{setting.alias} is deprecated and goes in the next release: use "
            f"{setting.flag} (ini key {setting.ini})")


def deprecated(config: pytest.Config, setting: Setting) -> None:
    """One XdpperfDeprecationWarning for `setting`'s old name; a filter that makes it
    an error makes it a usage error."""
    try:
        config.issue_config_time_warning(XdpperfDeprecationWarning(deprecation(setting)),
                                         stacklevel=2)
    except XdpperfDeprecationWarning:
        raise XdpperfError(f"{setting.alias} is deprecated",
                           f"use {setting.flag}, or ini key {setting.ini}") from None
