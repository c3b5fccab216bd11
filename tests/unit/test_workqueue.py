"""client-go work queue semantics, and the batched add the DaemonSet controller uses."""

import asyncio

from everynode.client.workqueue import WorkQueue


def run(coro):
    return asyncio.run(coro)


async def drain(q: WorkQueue) -> list:
    got = []
    while len(q):
        key = await q.get()
        got.append(key)
        q.done(key)
    return got


def test_adds_before_a_worker_takes_the_key_are_one():
    async def main():
        q = WorkQueue()
        for k in ("a", "b", "a", "a"):
            q.add(k)
        assert await drain(q) == ["a", "b"]
    run(main())


def test_added_while_processing_comes_back_after_done():
    async def main():
        q = WorkQueue()
        q.add("a")
        key = await q.get()
        q.add("a")
        assert len(q) == 0  # never handed to two workers at once
        q.done(key)
        assert await drain(q) == ["a"]
    run(main())


def test_batched_adds_within_the_period_become_one():
    async def main():
        q = WorkQueue()
        for _ in range(100):
            q.add_batched("ds", 0.05)
        assert len(q) == 0
        assert len(q._waiting) == 1  # one timer entry, not one per change
        await asyncio.sleep(0.08)
        assert await drain(q) == ["ds"]
        q.add_batched("ds", 0.05)  # a new period starts after the batch fired
        await asyncio.sleep(0.08)
        assert await drain(q) == ["ds"]
    run(main())


def test_batched_add_of_a_queued_key_is_a_no_op_but_not_while_processing():
    async def main():
        q = WorkQueue()
        q.add("ds")
        q.add_batched("ds", 0.01)
        assert not q._waiting  # already queued: the coming sync sees the change
        key = await q.get()
        q.add_batched("ds", 0.01)  # a sync is running: it may have read the old state
        assert len(q._waiting) == 1
        q.done(key)
        await asyncio.sleep(0.03)
        assert await drain(q) == ["ds"]
    run(main())


def test_immediate_add_is_not_held_back_by_a_pending_batch():
    async def main():
        q = WorkQueue()
        q.add_batched("ds", 10)
        q.add("ds")  # e.g. a node joined: sync now
        assert await drain(q) == ["ds"]
        await q.shutdown()
    run(main())


def test_delayed_adds_due_within_a_millisecond_under_uvloop():
    # uvloop turns a call_later under half a millisecond into a call_soon, whose handle has no
    # due time: a second delayed add before it ran raised AttributeError (an informer handler
    # failed with it in a 1,000-node restart).
    import uvloop

    async def main():
        q = WorkQueue()
        q.add_after("a", 0.0001)
        q.add_after("b", 0.0001)
        q.add_batched("c", 0.0002)
        q.add_after("d", 0.05)
        q.add_after("e", 0.0001)  # due with "a": the pending wake-up serves it
        await asyncio.sleep(0.01)
        assert sorted(await drain(q)) == ["a", "b", "c", "e"]
        await asyncio.sleep(0.06)
        assert await drain(q) == ["d"]
    uvloop.run(main())
