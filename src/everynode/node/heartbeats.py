"""One clock for the periodic heartbeats of every node agent in a process.

A kubelet is a process of its own with one lease loop. A cluster that simulates 10,000 nodes
in one process would keep 10,000 tasks asleep instead, 1,000 of them waking every second: each
wake-up costs a timer, a future and two task switches, and each sleep leaves eight objects
(the future, the timer, the context...) that live for the whole 10 s period, long enough for
every generation of the garbage collector to walk them. Here one task sleeps until the
earliest due time and then calls everything due within ``resolution``; each due time is a
tuple of two numbers, which the collector stops tracking after its first look.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import Callable

log = logging.getLogger("everynode.node")

RESOLUTION = 0.01  # a heartbeat may be called up to this much early


class HeartbeatClock:
    """Calls registered callbacks at the times they ask for. Callbacks are plain functions
    run on the event loop; one that has async work starts a task for it."""

    def __init__(self, resolution: float = RESOLUTION):
        self.resolution = resolution
        self._heap: list[tuple[float, int]] = []  # (due, id); stale entries are skipped
        self._due: dict[int, float] = {}  # id -> due time of its live heap entry
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._ids = itertools.count()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    def add(self, callback: Callable[[], None]) -> int:
        """Register ``callback``; the id schedules it (``call_in``) and removes it."""
        cid = next(self._ids)
        self._callbacks[cid] = callback
        return cid

    def remove(self, cid: int) -> None:
        """Forget ``cid``: a call due is not made. Idempotent."""
        self._callbacks.pop(cid, None)
        self._due.pop(cid, None)

    def call_in(self, cid: int, delay: float) -> None:
        """Call ``cid``'s callback once, ``delay`` seconds from now (replacing a call it had due)."""
        self.call_at(cid, time.monotonic() + max(0.0, delay))

    def call_at(self, cid: int, due: float) -> None:
        """Call ``cid``'s callback once at ``due`` (``time.monotonic()``), replacing a call it
        had due; a time already past is due at once."""
        if cid not in self._callbacks:
            raise KeyError(f"heartbeat {cid} is not registered")
        self._due[cid] = due
        heapq.heappush(self._heap, (due, cid))
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="heartbeat-clock")
        elif self._heap[0][1] == cid and self._wake is not None:
            self._wake.set()  # due before what the clock sleeps for

    @property
    def scheduled(self) -> int:
        return len(self._due)

    async def _run(self) -> None:
        assert self._wake is not None
        heap = self._heap
        while True:
            horizon = time.monotonic() + self.resolution
            while heap and heap[0][0] <= horizon:
                due, cid = heapq.heappop(heap)
                if self._due.get(cid) != due:
                    continue  # replaced by a later call_in, or removed
                del self._due[cid]
                try:
                    self._callbacks[cid]()
                except Exception:
                    log.exception("heartbeat callback failed")
            if len(heap) > 2 * len(self._due) + 64:
                # Removed and replaced entries pile up while nobody pops them: rebuild.
                heap[:] = [(d, c) for d, c in heap if self._due.get(c) == d]
                heapq.heapify(heap)
            self._wake.clear()
            wait = None if not heap else max(self.resolution, heap[0][0] - time.monotonic())
            try:
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
