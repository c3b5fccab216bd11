"""A rate-limited, de-duplicating work queue (client-go's workqueue semantics).

- A key added several times before a worker takes it is processed once.
- A key is never handed to two workers at once: added while processing, it
  is queued again when the worker calls ``done``.
- ``add_rate_limited`` retries with per-key exponential backoff (5 ms doubling
  to 1000 s) combined with an overall token bucket (10/s, burst 100);
  ``forget`` resets a key's backoff after a success.
"""

from __future__ import annotations

import asyncio
import collections
import heapq
import time
from collections.abc import Hashable


class RateLimiter:
    def __init__(self, base: float = 0.005, cap: float = 1000.0, qps: float = 10.0, burst: int = 100):
        self.base, self.cap = base, cap
        self.failures: dict[Hashable, int] = {}
        self.qps, self.burst = qps, burst
        self._tokens = float(burst)
        self._last = time.monotonic()

    def when(self, key: Hashable) -> float:
        n = self.failures.get(key, 0)
        self.failures[key] = n + 1
        per_item = min(self.cap, self.base * (2 ** n))
        # token bucket: how long until a token is available
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.qps)
        self._last = now
        self._tokens -= 1
        bucket = 0.0 if self._tokens >= 0 else -self._tokens / self.qps
        return max(per_item, bucket)

    def forget(self, key: Hashable) -> None:
        self.failures.pop(key, None)

    def retries(self, key: Hashable) -> int:
        return self.failures.get(key, 0)


class WorkQueue:
    def __init__(self, name: str = "", rate_limiter: RateLimiter | None = None):
        self.name = name
        self.limiter = rate_limiter or RateLimiter()
        self._queue: collections.deque[Hashable] = collections.deque()
        self._dirty: set[Hashable] = set()
        self._processing: set[Hashable] = set()
        self._waiting: list[tuple[float, int, Hashable]] = []
        self._batching: set[Hashable] = set()
        self._seq = 0
        self._ready = asyncio.Event()
        # The pending wake-up and when it is due (monotonic). uvloop answers a call_later under
        # half a millisecond with a plain Handle, which has no when(): the due time is kept here.
        self._timer: asyncio.Handle | None = None
        self._timer_due = 0.0
        self._shutdown = False
        self.adds = 0

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, key: Hashable) -> None:
        if self._shutdown or key in self._dirty:
            return
        self.adds += 1
        self._dirty.add(key)
        if key in self._processing:
            return
        self._queue.append(key)
        self._notify()

    def _notify(self) -> None:
        self._ready.set()

    def add_after(self, key: Hashable, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        self._seq += 1
        heapq.heappush(self._waiting, (time.monotonic() + delay, self._seq, key))
        self._schedule()

    def add_batched(self, key: Hashable, period: float) -> None:
        """Add ``key`` after ``period`` unless it is queued already or a batched add is
        pending: a burst of changes to one object's dependents becomes one sync."""
        if self._shutdown or key in self._batching or (key in self._dirty and key not in self._processing):
            return
        self._batching.add(key)
        self.add_after(key, period)

    def _schedule(self) -> None:
        if not self._waiting:
            return
        due = self._waiting[0][0]
        if self._timer is not None:
            if self._timer_due <= due + 1e-3:
                return
            self._timer.cancel()
        self._timer_due = due
        self._timer = asyncio.get_running_loop().call_later(max(0.0, due - time.monotonic()), self._fire)

    def _fire(self) -> None:
        self._timer = None
        # Keys due within the millisecond count as due: uvloop rounds a timer to whole
        # milliseconds (and runs one under half of one at once), so the wake-up may come early.
        now = time.monotonic() + 1e-3
        while self._waiting and self._waiting[0][0] <= now:
            _, _, key = heapq.heappop(self._waiting)
            self._batching.discard(key)
            self.add(key)
        self._schedule()

    def add_rate_limited(self, key: Hashable) -> None:
        self.add_after(key, self.limiter.when(key))

    def forget(self, key: Hashable) -> None:
        self.limiter.forget(key)

    async def get(self) -> Hashable | None:
        """The next key to process, or None once shut down."""
        while not self._queue:
            if self._shutdown:
                return None
            self._ready.clear()
            await self._ready.wait()
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def done(self, key: Hashable) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._notify()

    async def shutdown(self) -> None:
        self._shutdown = True
        if self._timer is not None:
            self._timer.cancel()
        self._ready.set()
