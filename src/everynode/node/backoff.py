"""Per-key exponential back-off, as the kubelet's container restart back-off.

The first failure restarts at once and arms ``initial`` (10 s); a failure
within the current back-off window waits it out (CrashLoopBackOff); each
restart after a wait doubles the window up to ``maximum`` (5 min). A
container that ran for more than twice the maximum (10 min) since the last
restart starts over at ``initial``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class _Entry:
    backoff: float
    last_update: float


@dataclass
class Backoff:
    initial: float = 10.0
    maximum: float = 300.0
    entries: dict[str, _Entry] = field(default_factory=dict)

    def get(self, key: str) -> float:
        e = self.entries.get(key)
        return e.backoff if e else 0.0

    def in_backoff_since(self, key: str, event_time: float, now: float) -> bool:
        e = self.entries.get(key)
        if e is None:
            return False
        if event_time - e.last_update > 2 * self.maximum:
            return False
        return now - event_time < e.backoff

    def next(self, key: str, event_time: float, now: float) -> None:
        e = self.entries.get(key)
        if e is None or event_time - e.last_update > 2 * self.maximum:
            self.entries[key] = _Entry(self.initial, now)
            return
        e.backoff = min(e.backoff * 2, self.maximum)
        e.last_update = now

    def until(self, key: str, event_time: float) -> float:
        """When the current back-off window of ``key`` ends."""
        e = self.entries.get(key)
        return event_time + (e.backoff if e else 0.0)

    def reset(self, key: str) -> None:
        self.entries.pop(key, None)
