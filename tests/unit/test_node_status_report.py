"""The node agent posts its status when it must, else once per report period."""

import asyncio
import time

from everynode.node import agent as agent_mod
from everynode.node.agent import STATUS_CHECK, STATUS_REPORT, NodeAgent


def test_report_period_is_upstreams():
    # kubelet: nodeStatusUpdateFrequency 10s, nodeStatusReportFrequency 5m.
    assert (STATUS_CHECK, STATUS_REPORT) == (10.0, 300.0)


def test_loops_wait_up_to_four_percent_longer_as_jitter_until_does():
    from everynode.node.agent import JITTER, jittered

    waits = [jittered(10.0) for _ in range(2000)]
    assert JITTER == 0.04
    assert all(10.0 <= w <= 10.4 for w in waits)
    assert max(waits) - min(waits) > 0.3  # spread, not a constant


class _Posts:
    """Just what the status reports touch of an agent; records each post's time."""

    def __init__(self, fail_first: int = 0):
        from everynode.node.heartbeats import HeartbeatClock

        self.at: list[float] = []
        self.fail_first = fail_first
        self.config = type("C", (), {"name": "n1"})()
        self.clock = HeartbeatClock(resolution=0.005)
        self._status_beat = None
        self._reporting = None
        self._status_again = False

    async def update_status(self) -> None:
        self.at.append(time.monotonic())
        await asyncio.sleep(0.01)
        if len(self.at) <= self.fail_first:
            raise OSError("API down")

    _start_status_reports = NodeAgent._start_status_reports
    want_status = NodeAgent.want_status
    _status_due = NodeAgent._status_due
    _report_status = NodeAgent._report_status
    _stop_heartbeats = NodeAgent._stop_heartbeats
    _lease_beat = None
    _renewing = None


async def _run_reports(posts: _Posts, seconds: float, poke_at: tuple[float, ...] = ()) -> float:
    start = time.monotonic()
    posts._start_status_reports()
    elapsed = 0.0
    for at in poke_at:
        await asyncio.sleep(at - elapsed)
        posts.want_status()
        elapsed = at
    await asyncio.sleep(seconds - elapsed)
    await posts._stop_heartbeats()
    await posts.clock.stop()
    return start


def test_unchanged_status_is_posted_once_per_report_period(monkeypatch):
    monkeypatch.setattr(agent_mod, "STATUS_REPORT", 0.2)
    posts = _Posts()
    start = asyncio.run(_run_reports(posts, 0.75))
    gaps = [b - a for a, b in zip(posts.at, posts.at[1:], strict=False)]
    assert posts.at[0] - start <= 0.2 + 0.05  # the first at a random phase within a period
    assert 3 <= len(posts.at) <= 4
    assert all(0.2 <= g <= 0.2 * 1.04 + 0.01 + 0.05 for g in gaps)  # a period after the last post ended


def test_a_heartbeat_gap_posts_at_once(monkeypatch):
    monkeypatch.setattr(agent_mod, "STATUS_REPORT", 60.0)
    posts = _Posts()
    posts.at.append(-1.0)  # not the first: no post due for a minute
    start = asyncio.run(_run_reports(posts, 0.3, poke_at=(0.1,)))
    assert len(posts.at) in (2, 3)  # the random first phase may fall inside the run
    assert any(0.1 <= t - start <= 0.15 for t in posts.at[1:])


def test_wanted_again_while_posting_posts_once_more_then_waits_a_period(monkeypatch):
    monkeypatch.setattr(agent_mod, "STATUS_REPORT", 60.0)
    posts = _Posts()
    posts.at.append(-1.0)
    start = asyncio.run(_run_reports(posts, 0.3, poke_at=(0.1, 0.105, 0.106)))
    after = [t - start for t in posts.at[1:] if t - start >= 0.1]
    assert len(after) == 2  # the post in flight, then one more for the wishes made meanwhile
    assert after[1] - after[0] < 0.05


def test_a_failed_post_is_retried_after_a_check_period(monkeypatch):
    monkeypatch.setattr(agent_mod, "STATUS_REPORT", 60.0)
    monkeypatch.setattr(agent_mod, "STATUS_CHECK", 0.1)
    posts = _Posts(fail_first=2)
    start = asyncio.run(_run_reports(posts, 0.5, poke_at=(0.0,)))
    offsets = [t - start for t in posts.at]
    assert len(offsets) == 3  # failed, failed, then posted and quiet for a report period
    assert offsets[0] < 0.05
    assert 0.1 <= offsets[1] - offsets[0] <= 0.17 and 0.1 <= offsets[2] - offsets[1] <= 0.17


def test_stopped_heartbeats_post_nothing(monkeypatch):
    monkeypatch.setattr(agent_mod, "STATUS_REPORT", 0.05)
    posts = _Posts()

    async def go():
        posts._start_status_reports()
        await posts._stop_heartbeats()
        posts.want_status()
        await asyncio.sleep(0.2)
        await posts.clock.stop()

    asyncio.run(go())
    assert posts.at == []
