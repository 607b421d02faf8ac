"""xdpperf: a pytest plugin that measures XDP and AF_XDP network functions."""

__version__ = "0.1.0"
