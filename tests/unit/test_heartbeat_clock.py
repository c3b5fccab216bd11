"""The node agents' shared heartbeat clock: calls what is due, once, in order; a call booked
again replaces the one before; a removed callback is never called; a failing one does not stop
the clock."""

from __future__ import annotations

import asyncio
import time

from everynode.node.heartbeats import HeartbeatClock


def run(coro):
    return asyncio.run(coro)


def test_calls_each_booking_once_in_due_order():
    async def main():
        clock = HeartbeatClock(resolution=0.005)
        calls: list[tuple[str, float]] = []
        t0 = time.monotonic()
        ids = {name: clock.add(lambda n=name: calls.append((n, time.monotonic() - t0))) for name in "abc"}
        clock.call_in(ids["a"], 0.15)
        clock.call_in(ids["b"], 0.05)
        clock.call_in(ids["c"], 0.10)
        await asyncio.sleep(0.3)
        await clock.stop()
        assert [n for n, _ in calls] == ["b", "c", "a"]
        for (_, at), due in zip(calls, (0.05, 0.10, 0.15), strict=True):
            assert at >= due - 0.005  # never earlier than the resolution allows
        assert clock.scheduled == 0

    run(main())


def test_booking_again_replaces_the_earlier_call():
    async def main():
        clock = HeartbeatClock(resolution=0.005)
        calls: list[float] = []
        t0 = time.monotonic()
        cid = clock.add(lambda: calls.append(time.monotonic() - t0))
        clock.call_in(cid, 0.05)
        clock.call_in(cid, 0.15)  # replaces the call at 0.05
        await asyncio.sleep(0.3)
        await clock.stop()
        assert len(calls) == 1 and calls[0] >= 0.145

    run(main())


def test_an_earlier_booking_wakes_a_sleeping_clock():
    async def main():
        clock = HeartbeatClock(resolution=0.005)
        calls: list[str] = []
        late = clock.add(lambda: calls.append("late"))
        soon = clock.add(lambda: calls.append("soon"))
        clock.call_in(late, 5.0)  # the clock now sleeps for 5 s
        await asyncio.sleep(0.01)
        clock.call_in(soon, 0.02)
        await asyncio.sleep(0.15)
        assert calls == ["soon"]
        await clock.stop()

    run(main())


def test_removed_callbacks_are_not_called_and_a_failing_one_does_not_stop_the_clock():
    async def main():
        clock = HeartbeatClock(resolution=0.005)
        calls: list[str] = []

        def boom() -> None:
            raise RuntimeError("boom")

        gone = clock.add(lambda: calls.append("gone"))
        bad = clock.add(boom)
        good = clock.add(lambda: calls.append("good"))
        clock.call_in(gone, 0.02)
        clock.call_in(bad, 0.03)
        clock.call_in(good, 0.06)
        clock.remove(gone)
        clock.remove(gone)  # idempotent
        await asyncio.sleep(0.15)
        await clock.stop()
        assert calls == ["good"]

    run(main())


def test_booking_an_unknown_id_is_an_error():
    async def main():
        clock = HeartbeatClock()
        cid = clock.add(lambda: None)
        clock.remove(cid)
        try:
            clock.call_in(cid, 1.0)
        except KeyError:
            return
        raise AssertionError("call_in accepted a removed id")

    run(main())


def test_stale_entries_do_not_pile_up():
    async def main():
        clock = HeartbeatClock(resolution=0.005)
        cid = clock.add(lambda: None)
        for _ in range(1000):
            clock.call_in(cid, 10.0)  # each replaces the last; 999 stale heap entries
        clock.call_in(clock.add(lambda: None), 0.01)
        await asyncio.sleep(0.05)  # one pass of the clock rebuilds the heap
        assert len(clock._heap) <= 2 * clock.scheduled + 64
        await clock.stop()

    run(main())


def test_a_callback_booking_itself_later_does_not_delay_the_next_call_due():
    async def main():
        clock = HeartbeatClock(resolution=0.005)
        calls: list[str] = []
        again = clock.add(lambda: (calls.append("again"), clock.call_in(again, 5.0)))
        soon = clock.add(lambda: calls.append("soon"))
        clock.call_in(again, 0.01)  # books itself 5 s later from inside the clock's call
        clock.call_in(soon, 0.05)
        await asyncio.sleep(0.2)
        await clock.stop()
        assert calls == ["again", "soon"]

    run(main())


def test_a_stopped_clock_calls_nothing_until_booked_again():
    async def main():
        clock = HeartbeatClock(resolution=0.005)
        calls: list[str] = []
        a = clock.add(lambda: calls.append("a"))
        b = clock.add(lambda: calls.append("b"))
        clock.call_in(a, 0.02)
        await clock.stop()
        await asyncio.sleep(0.05)
        assert calls == []
        clock.call_in(b, 0.01)  # the clock runs again: what was due is called too
        await asyncio.sleep(0.05)
        await clock.stop()
        assert calls == ["a", "b"]

    run(main())
