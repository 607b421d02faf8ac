"""Where packets flow: a tester host and a DUT host, each with one interface."""

from .base import Host, Testbed
from .veth import VethTestbed

__all__ = ["Host", "Testbed", "VethTestbed"]
