"""When a node agent's next lease renewal is due: a period after the last one was due, so a
late renewal does not shift the node's phase (simulated agents sharing one event loop would
otherwise fall into step after a stall)."""

from __future__ import annotations

import asyncio

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


class _Renewer:
    """Just what a renewal touches of an agent."""

    def __init__(self, fail: bool = False):
        from everynode.node.heartbeats import HeartbeatClock

        self.config = type("C", (), {"name": "n1"})()
        self.clock = HeartbeatClock()
        self._lease_beat = self.clock.add(lambda: None)
        self._lease_next = 0.0
        self._last_renewal = 0.0
        self._renewing = None
        self._status_wanted = asyncio.Event()
        self.fail = fail
        self.renewed = 0

    async def renew_lease(self) -> None:
        await asyncio.sleep(0)
        self.renewed += 1
        if self.fail:
            raise OSError("API down")

    _renew_once = agent.NodeAgent._renew_once


@pytest.mark.parametrize("fail", [False, True])
def test_a_finished_renewal_lets_its_task_go_and_books_the_next(fail):
    async def go() -> _Renewer:
        r = _Renewer(fail)
        agent.NodeAgent._lease_due(r)
        task = r._renewing
        assert task is not None  # held while it runs
        await task
        assert r._renewing is None  # not kept until the next renewal (10 s of collector walks)
        assert r.clock.scheduled == 1
        await r.clock.stop()
        return r

    r = asyncio.run(go())
    assert r.renewed == 1
    assert r._status_wanted.is_set()  # first renewal (and a failed one) ask for a status post
