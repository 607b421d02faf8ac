"""Checksum x N: CPU demand per packet (reference study, section 1, "CPU demand").

Each round recomputes the L4 checksum over the whole frame. One round is the
headline point; the longer sweep (marked `sweep`) draws throughput against
rounds, a line per mode."""

import pytest

HEADLINE_ROUNDS = [1]
SWEEP_ROUNDS = [8, 64, 512]


def rounds_params():
    return ([pytest.param(r, id=f"rounds{r}") for r in HEADLINE_ROUNDS]
            + [pytest.param(r, id=f"rounds{r}", marks=pytest.mark.sweep) for r in SWEEP_ROUNDS])


@pytest.mark.drop
@pytest.mark.parametrize("rounds", rounds_params())
def test_checksum_drop(xdpperf, rounds):
    result = xdpperf.throughput("checksum", rounds=rounds)
    assert result.forwarded_anything, result.notes


@pytest.mark.passthrough
@pytest.mark.parametrize("rounds", rounds_params())
def test_checksum_passthrough(xdpperf, rounds):
    result = xdpperf.throughput("checksum", rounds=rounds)
    assert result.forwarded_anything, result.notes
