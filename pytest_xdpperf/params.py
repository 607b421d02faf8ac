"""An NF's parameters as its own table describes them (`<nf> --describe`, the
`struct nf_param` table of nfs/<nf>/<nf>_user.c), and the check of a test's
parameters against it before the NF is started.

The check finds what the NF would refuse on its own - an unknown key, a value of the
wrong kind or out of range - and says it in one line, `problem (fix)`, without
starting anything. What depends on several parameters together or on the machine
(chain's rules against sessions, memory against what is free) is the NF's own check
at start-up, as before.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .errors import XdpperfError

SUFFIX = {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}  # powers of 1024, as the NF reads them
# what C's strtoll(text, NULL, 0) reads: decimal, 0x hex or 0 octal, with a sign
_C_INTEGER = re.compile(r"\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_SIZE = re.compile(r"([0-9]+)([KMGT]?)", re.IGNORECASE)


class BadParameter(XdpperfError):
    """A test gave an NF a parameter its table does not accept."""


@dataclass(frozen=True)
class Param:
    """One entry of an NF's parameter table."""

    name: str
    type: Literal["int", "choice", "size", "string", "path"]
    help: str = ""
    default: Any = None
    min: int = 0                   # string, path: the length
    max: int = 0
    multiple: int = 1              # size
    choices: tuple[str, ...] = ()  # choice
    required: bool = False         # string, path: the NF does not start without it

    @classmethod
    def from_describe(cls, entry: Mapping[str, Any]) -> Param:
        if entry.get("type") not in ("int", "choice", "size", "string", "path"):
            raise ValueError(f"parameter {entry.get('name')!r} has an unknown type "
                             f"{entry.get('type')!r}")
        return cls(name=str(entry["name"]), type=entry["type"], help=entry.get("help", ""),
                   default=entry.get("default"), min=int(entry.get("min", 0)),
                   max=int(entry.get("max", 0)), multiple=int(entry.get("multiple", 1)),
                   choices=tuple(entry.get("choices", ())),
                   required=bool(entry.get("required", False)))

    def accepts(self) -> str:
        """'action=drop|tx', 'rounds=0..1000000', 'size=64..4G', 'obj=PATH': as the NF
        says it."""
        if self.type == "choice":
            return f"{self.name}={'|'.join(self.choices)}"
        if self.type == "size":
            return f"{self.name}={size_text(self.min)}..{size_text(self.max)}"
        if self.type in ("string", "path"):
            return f"{self.name}={'PATH' if self.type == 'path' else 'TEXT'}"
        return f"{self.name}={self.min}..{self.max}"

    def problem(self, value: Any) -> tuple[str, str] | None:
        """None if the NF takes `value`, else (problem, fix)."""
        text = str(value)
        shown = f"{self.name}={text}"
        if isinstance(value, bool):  # str(True) is "True", which no NF reads
            return f"{shown} is a boolean", f"{self.name} takes {self._range()}"
        if self.type == "choice":
            if text in self.choices:
                return None
            return f"{shown} is not one of its values", f"{self.name} takes {self._range()}"
        if self.type in ("string", "path"):
            return self._text_problem(text, shown)
        if self.type == "int":
            number = c_integer(text)
            if number is None:
                return f"{shown} is not an integer", f"{self.name} takes {self._range()}"
            if not self.min <= number <= self.max:
                return f"{shown} is out of range", f"{self.name} takes {self._range()}"
            return None
        return self._size_problem(text, shown)

    def _size_problem(self, text: str, shown: str) -> tuple[str, str] | None:
        m = _SIZE.fullmatch(text)
        if not m:
            return (f"{shown} is not a byte count",
                    f"give {self._range()}, a multiple of {self.multiple}, with an optional "
                    f"K, M or G suffix, e.g. {self.name}=64M")
        number = int(m.group(1)) << SUFFIX[m.group(2).upper()]
        if not self.min <= number <= self.max:
            return f"{shown} is out of range", f"{self.name} takes {self._range()}"
        if number % self.multiple:
            low = number // self.multiple * self.multiple
            return (f"{shown} is not a multiple of {self.multiple}",
                    f"use {self.name}={low} or {self.name}={low + self.multiple}")
        return None

    def _text_problem(self, text: str, shown: str) -> tuple[str, str] | None:
        """As the NF reads text: its length, and for a path a readable file (the NF runs
        on this machine, so the file it would open is the one checked here)."""
        kind = "path" if self.type == "path" else "value"
        size = len(text.encode())  # bytes, as the NF's char array holds it
        if size > self.max:
            return (f"{self.name} is {size} bytes, over the limit of {self.max}",
                    f"use a shorter {kind}")
        if size < self.min:
            return f"{self.name} is empty", f"give {self.accepts()}"
        if self.type == "path":
            fix = f"give {self.name}=PATH of an existing file"
            if not os.path.exists(text):
                return f"{shown} does not exist", fix
            if not os.path.isfile(text):
                return f"{shown} is not a file", fix
            if not os.access(text, os.R_OK):
                return f"{shown} cannot be read", fix
        return None

    def _range(self) -> str:
        if self.type == "choice":
            return "|".join(self.choices)
        if self.type == "size":
            return f"{size_text(self.min)} to {size_text(self.max)} bytes"
        return f"{self.min} to {self.max}"


def size_text(n: int) -> str:
    """4294967296 -> '4G', 4096 -> '4K', 100 -> '100': as the NF writes sizes."""
    for unit in ("G", "M", "K"):
        if n and n % (1 << SUFFIX[unit]) == 0:
            return f"{n >> SUFFIX[unit]}{unit}"
    return str(n)


def c_integer(text: str) -> int | None:
    """The integer C's strtoll(text, &end, 0) reads when it reads all of text, or None."""
    m = _C_INTEGER.fullmatch(text)
    if not m:
        return None
    sign, digits = m.groups()
    base = 16 if digits[:2].lower() == "0x" else 8 if len(digits) > 1 and digits[0] == "0" \
        else 10
    number = int(digits, base)
    return -number if sign == "-" else number


def table(describe: Mapping[str, Any]) -> list[Param]:
    """The parameter table of a `--describe` answer."""
    return [Param.from_describe(entry) for entry in describe.get("params") or []]


def takes(params: Sequence[Param]) -> str:
    """'action=drop|tx|pass|aborted, rounds=0..1000000', or 'no parameters'."""
    return ", ".join(p.accepts() for p in params) or "no parameters"


def check(nf: str, params: Sequence[Param], given: Mapping[str, Any]) -> None:
    """Raise BadParameter, naming the first problem and its fix, unless the NF `nf`
    with this table takes every parameter of `given` and is given all it requires."""
    by_name = {p.name: p for p in params}
    for key, value in given.items():
        param = by_name.get(key)
        if param is None:
            what = f"{nf} takes: {takes(params)}" if params else f"{nf} takes no parameters"
            raise BadParameter(f"{nf}: unknown parameter '{key}'", what)
        problem = param.problem(value)
        if problem is not None:
            raise BadParameter(f"{nf}: {problem[0]}", problem[1])
    for param in params:
        if param.required and param.name not in given:
            raise BadParameter(f"{nf}: needs the parameter {param.name}",
                               f"give {param.accepts()}: {param.help}")
