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
    """Just what the status loop touches of an agent; records each post's time."""

    def __init__(self, fail_first: int = 0):
        self.at: list[float] = []
        self.fail_first = fail_first
        self.config = type("C", (), {"name": "n1"})()
        self._status_wanted = asyncio.Event()

    async def update_status(self) -> None:
        self.at.append(time.monotonic())
        if len(self.at) <= self.fail_first:
            raise OSError("API down")


async def _run_loop(posts: _Posts, seconds: float, poke_at: float | None = None) -> float:
    start = time.monotonic()
    task = asyncio.create_task(NodeAgent._status_loop(posts))
    if poke_at is not None:
        await asyncio.sleep(poke_at)
        posts._status_wanted.set()
        await asyncio.sleep(seconds - poke_at)
    else:
        await asyncio.sleep(seconds)
    task.cancel()
    return start


def test_unchanged_status_is_posted_once_per_report_period(monkeypatch):
    monkeypatch.setattr(agent_mod, "STATUS_REPORT", 0.2)
    posts = _Posts()
    start = asyncio.run(_run_loop(posts, 0.75))
    gaps = [b - a for a, b in zip(posts.at, posts.at[1:], strict=False)]
    assert posts.at[0] - start <= 0.2 + 0.05  # the first at a random phase within a period
    assert 3 <= len(posts.at) <= 4
    assert all(0.2 <= g <= 0.2 * 1.04 + 0.05 for g in gaps)


def test_a_heartbeat_gap_posts_at_once(monkeypatch):
    monkeypatch.setattr(agent_mod, "STATUS_REPORT", 60.0)
    posts = _Posts()
    posts.at.append(-1.0)  # not the first: no post due for a minute
    start = asyncio.run(_run_loop(posts, 0.3, poke_at=0.1))
    assert len(posts.at) in (2, 3)  # the random first phase may fall inside the run
    assert any(0.1 <= t - start <= 0.15 for t in posts.at[1:])


def test_a_failed_post_is_retried_after_a_check_period(monkeypatch):
    monkeypatch.setattr(agent_mod, "STATUS_REPORT", 60.0)
    monkeypatch.setattr(agent_mod, "STATUS_CHECK", 0.1)
    posts = _Posts(fail_first=2)
    start = asyncio.run(_run_loop(posts, 0.5, poke_at=0.0))
    offsets = [t - start for t in posts.at]
    assert len(offsets) == 3  # failed, failed, then posted and quiet for a report period
    assert offsets[0] < 0.05
    assert 0.1 <= offsets[1] - offsets[0] <= 0.16 and 0.1 <= offsets[2] - offsets[1] <= 0.16
