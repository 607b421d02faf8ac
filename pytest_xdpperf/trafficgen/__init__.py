"""Traffic generators: the Generator protocol and the built-in eBPF one."""

from .base import Generator, Offered, TrafficProfile
from .bpfgen import BpfGenerator, Sink

__all__ = ["BpfGenerator", "Generator", "Offered", "Sink", "TrafficProfile"]
