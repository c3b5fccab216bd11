"""One clock for the periodic heartbeats of every node agent in a process.

A kubelet is a process of its own with one lease loop. A cluster that simulates 10,000 nodes
in one process would keep 10,000 tasks asleep instead, 1,000 of them waking every second: each
wake-up costs a timer, a future and two task switches, and each sleep leaves eight objects
(the future, the timer, the context...) that live for the whole 10 s period, long enough for
every generation of the garbage collector to walk them. Here one timer of the event loop is
set for the earliest due time, and its call makes everything due within ``resolution``; each
due time is a tuple of two numbers, which the collector stops tracking after its first look.
The timer is a plain loop callback, not a task asleep in ``asyncio.timeout``: a wake-up (at
most one per ``resolution``) then costs no future, no timeout context and no TimeoutError.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import time
from collections.abc import Callable

log = logging.getLogger("everynode.node")

# A heartbeat may be called up to this much early: the calls due within it are made together.
# On this project's VM a wake-up from idle costs the process 50-150 us of CPU (likely caches
# and TLB refilled after the vCPU halted; a bare ``asyncio.sleep`` loop at 100 wake-ups a second
# takes 1.2-1.5% of a core), so fewer, fuller wake-ups are cheaper: at 1,000 calls a second, 50 ms
# instead of 10 cut the clock's own CPU from 17 to 9 us per call. A lease is renewed every
# 10 s with up to 4% (400 ms) of jitter; 50 ms early is within it.
RESOLUTION = 0.05


class HeartbeatClock:
    """Calls registered callbacks at the times they ask for. Callbacks are plain functions
    run on the event loop; one that has async work starts a task for it."""

    def __init__(self, resolution: float = RESOLUTION):
        self.resolution = resolution
        self._heap: list[tuple[float, int]] = []  # (due, id); stale entries are skipped
        self._due: dict[int, float] = {}  # id -> due time of its live heap entry
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._ids = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due = math.inf  # when the timer fires (``time.monotonic()``)

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
        had due; a time already past is due at once. Needs a running event loop."""
        if cid not in self._callbacks:
            raise KeyError(f"heartbeat {cid} is not registered")
        self._due[cid] = due
        heapq.heappush(self._heap, (due, cid))
        if due < self._timer_due:
            self._arm(due)  # due before what the timer is set for

    @property
    def scheduled(self) -> int:
        return len(self._due)

    def _arm(self, due: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_due = due
        self._timer = asyncio.get_running_loop().call_later(max(0.0, due - time.monotonic()), self._tick)

    def _tick(self) -> None:
        self._timer, self._timer_due = None, math.inf
        heap = self._heap
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
        if heap:
            # Not sooner than ``resolution`` from now: what falls due meanwhile goes together.
            # (A callback may have set the timer already, for a call of its own.)
            due = max(heap[0][0], time.monotonic() + self.resolution)
            if due < self._timer_due:
                self._arm(due)

    async def stop(self) -> None:
        """Stop calling: the calls due are kept, and made again from the next booking on."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_due = None, math.inf
