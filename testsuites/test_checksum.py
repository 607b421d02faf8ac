"""Checksum x N: CPU demand per packet (reference study, section 1, "CPU demand").

Each round recomputes the L4 checksum over the whole frame. One round is the
headline point; the longer sweep (marked `sweep`) draws throughput against
rounds, a line per mode."""

import pytest

from pytest_xdpperf.suites import points

HEADLINE_ROUNDS = [1]
SWEEP_ROUNDS = [8, 64, 512]


@pytest.mark.drop
@pytest.mark.parametrize("rounds", points("rounds", HEADLINE_ROUNDS, SWEEP_ROUNDS))
def test_checksum_drop(xdpperf, rounds):
    xdpperf.throughput("checksum", rounds=rounds)


@pytest.mark.passthrough
@pytest.mark.parametrize("rounds", points("rounds", HEADLINE_ROUNDS, SWEEP_ROUNDS))
def test_checksum_passthrough(xdpperf, rounds):
    xdpperf.throughput("checksum", rounds=rounds)
