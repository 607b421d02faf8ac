"""The session's search options (from the command line or the ini file): validated as
a whole the moment they exist, so a bad value is a usage error before anything is
created. Messages name the options' --xdpperf-<name> names."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .errors import XdpperfError
from .methods import DEFAULT_METHOD, method
from .rfc2544 import SearchSpec


@dataclass(frozen=True)
class RunOptions:
    loss_threshold: float = 0.001
    trial_duration: float = 1.0
    min_load: float = 10_000.0
    relative_width: float = 0.005
    mfr_repetitions: int = 1
    search_duration_max: float = 900.0
    repetitions: int = 1  # whole searches (with confirmation and MFR) per measurement
    confirm_trials: int = 1  # final trials at the NDR and at the PDR; 0: none
    confirm_duration: float | None = None  # s of each; None: trial_duration
    tester_retries: int = 1  # runs of a trial the tester spoiled before its load is a ceiling
    method: str = DEFAULT_METHOD  # the search preset (methods.METHODS)

    def __post_init__(self) -> None:
        method(self.method)  # an unknown one is a usage error here, before anything runs
        if self.repetitions < 1:
            raise XdpperfError(f"--xdpperf-repetitions {self.repetitions} is below 1",
                               "give the number of whole searches, e.g. 10")
        if self.confirm_trials < 0:
            raise XdpperfError(f"--xdpperf-confirm-trials {self.confirm_trials} is negative",
                               "give 0 (no confirmation) or more")
        if self.tester_retries < 0:
            raise XdpperfError(f"--xdpperf-tester-retries {self.tester_retries} is negative",
                               "give 0 (no retry) or more")
        if self.confirm_duration is not None and not 0 < self.confirm_duration < math.inf:
            raise XdpperfError(f"--xdpperf-confirm-duration {self.confirm_duration} is not a "
                               "positive finite number",
                               "give seconds, e.g. 10, or leave it to --xdpperf-trial-duration")
        if self.mfr_repetitions < 1:
            raise XdpperfError(f"--xdpperf-mfr-repetitions {self.mfr_repetitions} is below 1",
                               "give the number of flat-out trials, e.g. 3")
        if not 0 < self.relative_width < 1:
            raise XdpperfError(f"--xdpperf-relative-width {self.relative_width} is not between "
                               "0 and 1",
                               "give the search's final precision, e.g. 0.005")
        if not 0 < self.min_load < math.inf:
            raise XdpperfError(f"--xdpperf-min-load {self.min_load} is not a positive finite "
                               "number",
                               "give the lowest rate to search in packets/s, e.g. 10000")
        if not 0 < self.trial_duration < math.inf:
            raise XdpperfError(f"--xdpperf-trial-duration {self.trial_duration} is not a positive "
                               "finite number",
                               "give seconds, e.g. 1")

    def check_min_load(self, max_load: float) -> None:
        """The calibrated ceiling leaves room to search: a usage error naming both
        rates otherwise (checked right after calibration, before any test runs)."""
        if not self.min_load < max_load:
            raise XdpperfError(
                f"--xdpperf-min-load {self.min_load:.0f} pps is not below the {max_load:.0f} pps "
                "the tester was calibrated to offer", "give a lower --xdpperf-min-load")

    @property
    def effective_confirm_duration(self) -> float:
        return self.trial_duration if self.confirm_duration is None else self.confirm_duration

    @property
    def method_record(self) -> dict[str, Any]:
        """The record's `method` section: the preset and its goal settings."""
        return method(self.method).as_dict(self.trial_duration)

    def search_spec(self, max_load: float) -> SearchSpec:
        preset = method(self.method)
        return SearchSpec(
            exceed_ratio=preset.exceed_ratio,
            duration_sum=preset.duration_sum_trials * self.trial_duration,
            max_load=max_load,
            min_load=self.min_load,
            loss_threshold=self.loss_threshold,
            relative_width=self.relative_width,
            trial_duration=self.trial_duration,
            search_duration_max=self.search_duration_max,
            tester_retries=self.tester_retries,
        )
