"""Where packets flow: a tester host and a DUT host, each with one interface.

The interface is testbed.base (Testbed, Host, Capabilities, PathCounters); the
built-in implementation is testbed.veth.VethTestbed, imported from there (not here:
importing this package must not pull in the veth testbed and everything it builds on,
or the modules the veth testbed imports could not import testbed.base)."""

from .base import Capabilities, Host, PathCounters, Testbed

__all__ = ["Capabilities", "Host", "PathCounters", "Testbed"]
