"""The transactions procedure: an application on the DUT (memcached) behind the NF,
loaded from the tester (memaslap), its transactions/s recorded (local class)."""

from __future__ import annotations

from . import local
from .session import Context, NfSession


def measure_transactions(session: NfSession, ctx: Context, app: str, duration: float,
                         threads: int, concurrency: int) -> local.AppMeasurement:
    """`app` on the DUT with the (entered, local-class) session's NF in front of it for
    `duration` s of `threads` x `concurrency` connections, recorded and journaled."""
    if session.running is None:
        raise RuntimeError("measure_transactions() needs the session entered")
    result, counts = session.testbed.load_app(app, session.running, session.mode, duration,
                                              threads, concurrency)
    load = {"tool": "memaslap", "threads": threads, "concurrency": concurrency,
            "duration": duration}
    measurement = local.AppMeasurement(session.spec, session.mode, app, load, result, counts)
    local.record_transactions(ctx.benchmark, measurement)
    ctx.journal.write("measurement", ctx.test_id, measurement.extra_info())
    return measurement
