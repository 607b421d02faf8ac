"""Live progress of a search: one self-overwriting line on a terminal, nothing otherwise.

The line is written below whatever pytest was printing (the test's name in -v, its
dots otherwise) and, when the search ends, erased with the cursor put back where pytest
left it, so pytest's own output reads as if the line had never been there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, TextIO

from .rfc2544 import TrialResult

CLEAR_LINE = "\r\033[K"
UP = "\033[A"


class ProgressLine:
    """Shows ``show(text)`` on one line of a terminal.

    ``stream`` is None when the output is not a terminal: then nothing is ever written.
    ``column`` says where on its line the terminal's cursor was when the line was opened
    (restored by ``finish``); ``width`` is the terminal's, lines are cut to fit it.
    ``suspend`` is entered around every write (pytest's output capture is lifted there).
    ``callback``, if given, gets every line's text as well (tests, other front ends).
    """

    def __init__(self, stream: TextIO | None, *, width: int = 80,
                 column: Callable[[], int] = lambda: 0,
                 suspend: Callable[[], AbstractContextManager[Any]] = nullcontext,
                 clock: Callable[[], float] = time.monotonic,
                 callback: Callable[[str], None] | None = None):
        self._stream = stream
        self._callback = callback  # instead of a terminal: each line goes here, as is
        self._width = max(width, 20)
        self._column = column
        self._suspend = suspend
        self._clock = clock
        self._open_at: int | None = None  # the column the line below was opened from
        self._started = clock()
        self.label = ""
        self.trials = 0

    @property
    def enabled(self) -> bool:
        return self._stream is not None or self._callback is not None

    def start(self, label: str) -> None:
        """A new search (or phase of one): resets the trial count and the elapsed time."""
        self.label = label
        self.trials = 0
        self._started = self._clock()

    def trial(self, phase: str, result: TrialResult) -> None:
        """Show one finished trial: the search's trial number, rate, loss, elapsed."""
        self.trials += 1
        if not self.enabled:
            return
        fault = "" if result.valid else " tester-limited"
        self.show(f"{self.label} {phase} trial {self.trials}: "
                  f"{result.intended_load / 1e6:.3f} Mpps x {result.intended_duration:g} s, "
                  f"loss {result.loss_ratio:.4%}{fault}  "
                  f"[{self._clock() - self._started:.0f} s]")

    def show(self, text: str) -> None:
        if self._callback is not None:
            self._callback(text)
        if self._stream is None:
            return
        text = text[: self._width - 1]
        with self._suspend():
            if self._open_at is None:
                self._open_at = self._column()
                self._stream.write("\n" + text)
            else:
                self._stream.write(CLEAR_LINE + text)
            self._stream.flush()

    def finish(self) -> None:
        """Erase the line and put the cursor back where it was before it was opened."""
        if self._stream is None or self._open_at is None:
            return
        column, self._open_at = self._open_at, None
        with self._suspend():
            if column < self._width:
                self._stream.write(CLEAR_LINE + UP + (f"\033[{column}C" if column else ""))
            else:  # the cursor sat past a wrapped line: leave the blank line
                self._stream.write(CLEAR_LINE)
            self._stream.flush()

    @contextmanager
    def running(self, label: str) -> Iterator[ProgressLine]:
        """``start(label)``, and ``finish()`` however the block ends."""
        self.start(label)
        try:
            yield self
        finally:
            self.finish()



def for_pytest(config: Any) -> ProgressLine:
    """The progress line of a pytest run: on its terminal, or quiet when it has none."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or not reporter.isatty:
        return ProgressLine(None)
    capman = config.pluginmanager.get_plugin("capturemanager")
    tw = reporter._tw
    return ProgressLine(
        tw._file,  # under the TerminalWriter, so that its idea of the line is untouched
        width=tw.fullwidth,
        column=lambda: tw.width_of_current_line,
        suspend=capman.global_and_fixture_disabled if capman else nullcontext,
    )
