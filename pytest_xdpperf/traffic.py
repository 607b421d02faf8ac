"""Traffic classes: what a test's marker (@pytest.mark.drop, passthrough, local) asks
of the DUT, and the NF `action` that gives it."""

from __future__ import annotations

from enum import StrEnum


class TrafficClass(StrEnum):
    """A traffic class; its value is the marker's name, `action` what an NF with an
    `action` parameter is given for it (NFs without one, e.g. chain, decide alone).

    - drop: the NF drops every frame; forwarded = what it processed (its rx).
    - passthrough: the NF sends every frame back out (XDP_TX); forwarded = what came
      back to the tester.
    - local: the NF passes every frame to the DUT's stack (XDP_PASS).
    """

    action: str

    def __new__(cls, name: str, action: str) -> TrafficClass:
        member = str.__new__(cls, name)
        member._value_ = name
        member.action = action
        return member

    DROP = "drop", "drop"
    PASSTHROUGH = "passthrough", "tx"
    LOCAL = "local", "pass"

    @classmethod
    def parse(cls, name: str) -> TrafficClass:
        """The class named `name`; ValueError naming the known ones otherwise."""
        for traffic in cls:
            if traffic.value == name:
                return traffic
        raise ValueError(f"unknown traffic class {name!r} "
                         f"(known: {', '.join(c.value for c in cls)})")
