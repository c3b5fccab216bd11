"""When a node agent's next lease renewal is due: a period after the last one was due, so a
late renewal does not shift the node's phase (simulated agents sharing one event loop would
otherwise fall into step after a stall)."""

from __future__ import annotations

import pytest

from everynode.node import agent


@pytest.mark.parametrize("due, now, expected", [
    (100.0, 100.2, 110.0),   # on time: one period after it was due, not after it finished
    (100.0, 109.9, 110.0),   # slow, but within the period
    (100.0, 110.0, 120.0),   # exactly one period late: the missed renewal is skipped
    (100.0, 113.0, 120.0),   # a stall: the next renewal keeps the phase (x0.0 s)
    (100.0, 145.5, 150.0),   # several periods missed
])
def test_next_renewal_keeps_the_phase(monkeypatch, due, now, expected):
    monkeypatch.setattr(agent, "jittered", lambda period: period)
    assert agent.next_renewal(due, now) == pytest.approx(expected)


def test_next_renewal_is_jittered_up_to_four_percent():
    for _ in range(200):
        nxt = agent.next_renewal(100.0, 100.1)
        assert 110.0 <= nxt <= 110.0 + agent.LEASE_RENEW * agent.JITTER
