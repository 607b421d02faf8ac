"""The one error type users see: a problem and the way to fix it."""

from __future__ import annotations


class XdpperfError(Exception):
    """Bad input or a missing prerequisite, reported without a traceback."""

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem} ({fix})" if fix else problem)


class NfBuildError(XdpperfError):
    """A C program did not compile; carries the compiler's message."""

    def __init__(self, program: str, output: str) -> None:
        self.program = program
        self.output = output
        super().__init__(
            f"cannot build {program}:\n{output.rstrip()}",
            f"fix the C source of {program} under nfs/",
        )


class ProgramFailed(XdpperfError):
    """A C program (NF or generator) exited or answered with an error."""
