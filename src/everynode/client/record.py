"""Writing core/v1 Events as client-go's ``tools/record`` does, for the controllers and the
node agents.

``EventCorrelator`` is the recorder's correlator, with upstream's defaults:

- similar events (same source, object, type and reason; only the message differs) are
  aggregated once 10 of them came within 10 minutes: from then on one event with the message
  ``(combined from similar events): <latest message>`` stands for them;
- a repeat of an event already written is counted (``count``, ``lastTimestamp`` patched onto
  the first one) instead of written again;
- a source may send 25 events about an object at once, then one every 5 minutes (a token
  bucket per source and object); the others are dropped. A DaemonSet controller creating
  10,000 pods records 25 events about the DaemonSet, not 10,000.

Each of the three caches keeps the 4,096 keys used last. ``EventRecorder`` writes what the
correlator lets through one after another, from a queue of at most 1,000 events (upstream's
broadcaster channel; more are dropped), as one broadcaster's sink does. Events are best
effort: a failed write is dropped. The scheduler records as upstream's ``tools/events`` does:
every event written at once, in parallel, and only identical repeats counted
(``ConcurrentEventRecorder``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from everynode.api.errors import ApiError
from everynode.apiserver.objects import now_rfc3339
from everynode.client.rest import Client

log = logging.getLogger("everynode.events")

MAX_QUEUED = 1000  # events waiting for the writer; more are dropped
CACHE_SIZE = 4096
AGGREGATE_MAX_EVENTS = 10
AGGREGATE_INTERVAL = 600.0  # seconds
SPAM_BURST = 25
SPAM_QPS = 1.0 / 300.0
AGGREGATE_PREFIX = "(combined from similar events): "


class _Lru(dict):
    """A dict that keeps the ``size`` keys used last. The correlator stores every key it looks
    up (``add`` moves it to the end), so a plain ``get`` is the lookup."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def add(self, key: Any, value: Any) -> None:
        self.pop(key, None)
        self[key] = value
        if len(self) > self.size:
            del self[next(iter(self))]


class Correlated:
    """What to write for an event: the event itself (name, count, first timestamp settled) and,
    when it repeats one written before, the patch that counts it."""

    __slots__ = ("event", "patch")

    def __init__(self, event: dict, patch: dict | None):
        self.event = event
        self.patch = patch


class EventCorrelator:
    """Aggregation, counting and the spam filter of client-go's EventCorrelator. ``burst``
    None turns the spam filter off, ``max_events`` None the aggregation (identical repeats are
    still counted). ``clock``: monotonic seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, size: int = CACHE_SIZE,
                 burst: int | None = SPAM_BURST, qps: float = SPAM_QPS,
                 max_events: int | None = AGGREGATE_MAX_EVENTS, max_interval: float = AGGREGATE_INTERVAL):
        self.clock = clock
        self.burst, self.qps = burst, qps
        self.max_events, self.max_interval = max_events, max_interval
        self._buckets = _Lru(size)      # source+object -> (tokens, when counted)
        self._aggregates = _Lru(size)   # source+object+type+reason -> (messages, last seen)
        self._written = _Lru(size)      # the whole event -> (name, firstTimestamp, count)

    def correlate(self, event: dict) -> Correlated | None:
        """The event to write for ``event`` (built by the recorder: count 1, its own name), or
        None when the spam filter drops it."""
        now = self.clock()
        source, obj = event["source"], event["involvedObject"]
        spam_key = (source.get("component"), source.get("host"), obj.get("kind"), obj.get("namespace"),
                    obj.get("name"), obj.get("uid"), obj.get("apiVersion"))
        type_, reason, message = event.get("type"), event.get("reason"), event.get("message")
        key: tuple = (spam_key, obj.get("fieldPath"), type_, reason, message)
        if self.max_events is not None:
            event, key = self._aggregate(event, key, (spam_key, type_, reason), message, now)
        out = self._observe(event, key)
        return out if self._allowed(spam_key, now) else None

    def _aggregate(self, event: dict, key: tuple, agg_key: tuple, message: str, now: float) -> tuple[dict, tuple]:
        record = self._aggregates.get(agg_key)
        # The messages seen: one str while there is one (most objects' reasons never see a
        # second: less memory for 10,000 node agents' caches), else a frozenset.
        seen: str | frozenset | None = None
        if record is not None and now - record[1] <= self.max_interval:
            seen = record[0]
        if seen is None or seen == message:
            self._aggregates.add(agg_key, (message, now))
            return event, key
        messages = (seen if isinstance(seen, frozenset) else frozenset((seen,))) | {message}
        assert self.max_events is not None
        if len(messages) < self.max_events:
            self._aggregates.add(agg_key, (messages, now))
            return event, key
        # Keep the set below the maximum (upstream drops an arbitrary member): the next new
        # message is aggregated too, a repeat of one still kept is not.
        self._aggregates.add(agg_key, (messages - {next(iter(messages - {message}))}, now))
        stamp = now_rfc3339()
        obj = event["involvedObject"]
        aggregate = {"apiVersion": "v1", "kind": "Event",
                     "metadata": {"name": f"{obj.get('name') or 'event'}.{time.time_ns():x}",
                                  "namespace": event["metadata"].get("namespace")},
                     "involvedObject": obj, "reason": event.get("reason"),
                     "message": AGGREGATE_PREFIX + message, "type": event.get("type"),
                     "source": event["source"], "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1}
        return aggregate, agg_key

    def _observe(self, event: dict, key: tuple) -> Correlated:
        seen = self._written.get(key)
        patch = None
        if seen is not None:
            name, first, count = seen
            count += 1
            event = {**event, "metadata": {**event["metadata"], "name": name}, "firstTimestamp": first,
                     "count": count}
            patch = {"count": count, "lastTimestamp": event.get("lastTimestamp"), "message": event.get("message")}
        self._written.add(key, (event["metadata"]["name"], event.get("firstTimestamp"), event.get("count", 1)))
        return Correlated(event, patch)

    def _allowed(self, spam_key: tuple, now: float) -> bool:
        if self.burst is None:
            return True
        bucket = self._buckets.get(spam_key)
        tokens = float(self.burst) if bucket is None else min(float(self.burst),
                                                              bucket[0] + (now - bucket[1]) * self.qps)
        allowed = tokens >= 1.0
        self._buckets.add(spam_key, (tokens - 1.0 if allowed else tokens, now))
        return allowed


class EventRecorder:
    """Records events about objects for a component (and the host it runs on, for a node
    agent): correlated, then written in order by one writer task."""

    def __init__(self, client: Client, component: str, host: str | None = None, enabled: bool = True,
                 correlator: EventCorrelator | None = None):
        self.client = client
        self.component = component
        self.host = host
        self.enabled = enabled
        self.correlator = correlator or EventCorrelator()
        self._queue: deque[Correlated] = deque()
        self._writer: asyncio.Task | None = None

    def event(self, obj: dict, type_: str, reason: str, message: str, field_path: str = "") -> None:
        """Record that ``reason`` happened to ``obj`` (now). Never raises: events are best effort,
        a malformed one must not fail the sync that records it."""
        if not self.enabled:
            return
        if self._full():
            log.debug("event %s dropped: %d events wait already", reason, MAX_QUEUED)
            return
        try:
            ev = self._build(obj, type_, reason, message, field_path, now_rfc3339())
            out = self.correlator.correlate(ev)
        except Exception as exc:
            log.debug("event %s not recorded: %r", reason, exc)
            return
        if out is None:
            log.debug("event %s about %s dropped by the spam filter", reason, ev["involvedObject"].get("name"))
            return
        self._enqueue(out)

    def involved(self, obj: dict, field_path: str) -> dict:
        """The event's involvedObject: a reference to ``obj``."""
        meta = obj.get("metadata") or {}
        ref = {"kind": obj.get("kind"), "namespace": meta.get("namespace"), "name": meta.get("name"),
               "uid": meta.get("uid"), "apiVersion": obj.get("apiVersion"),
               "resourceVersion": meta.get("resourceVersion"), "fieldPath": field_path}
        return {k: v for k, v in ref.items() if v}

    def _build(self, obj: dict, type_: str, reason: str, message: str, field_path: str, now: str) -> dict:
        meta = obj.get("metadata") or {}
        source = {"component": self.component}
        if self.host:
            source["host"] = self.host
        return {"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": f"{meta.get('name') or 'event'}.{time.time_ns():x}",
                             "namespace": meta.get("namespace") or "default"},
                "involvedObject": self.involved(obj, field_path), "reason": reason, "message": message[:1024],
                "type": type_, "source": source, "firstTimestamp": now, "lastTimestamp": now, "count": 1,
                "reportingComponent": self.component, "reportingInstance": self.host or self.component}

    def _full(self) -> bool:
        # As upstream's broadcaster channel: an event that finds it full is dropped before the
        # correlator sees it.
        return len(self._queue) >= MAX_QUEUED

    def _enqueue(self, out: Correlated) -> None:
        self._queue.append(out)
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain(), name=f"events-{self.host or self.component}")

    async def _drain(self) -> None:
        try:
            while self._queue:
                await self._write(self._queue.popleft())
        finally:
            self._writer = None

    async def _write(self, out: Correlated) -> None:
        ev = out.event
        ns = ev["metadata"]["namespace"]
        try:
            if out.patch is not None:
                try:
                    await self.client.patch("events", ev["metadata"]["name"], out.patch, ns, "strategic")
                    return
                except ApiError as exc:
                    if exc.code != 404:
                        raise
                    # The event it counts is gone (expired, deleted): written anew, with its count.
            await self.client.create("events", ev, ns, result=False)  # the name is ours
        except Exception as exc:  # best effort: never fails the caller
            log.debug("event %s about %s not recorded: %s", ev.get("reason"),
                      ev["involvedObject"].get("name"), exc)

    async def flush(self) -> None:
        """Wait (up to 5 s) for the events recorded so far to be written."""
        if self._writer is not None:
            await asyncio.wait([self._writer], timeout=5)


class ConcurrentEventRecorder(EventRecorder):
    """The scheduler's recorder (upstream's ``tools/events``): each event is written at once,
    in parallel with the others (a burst of 10,000 pods' Scheduled events must not wait for one
    another); no spam filter, no aggregation; identical repeats are counted, each count written
    after the write before it of the same event (a count must not overtake the create)."""

    def __init__(self, client: Client, component: str, host: str | None = None, enabled: bool = True):
        super().__init__(client, component, host, enabled, EventCorrelator(burst=None, max_events=None))
        self._pending: set[asyncio.Task] = set()
        self._last: dict[str, asyncio.Task] = {}  # event name -> its latest write in flight

    def _full(self) -> bool:
        return False

    def _enqueue(self, out: Correlated) -> None:
        name = out.event["metadata"]["name"]
        task = asyncio.create_task(self._write_after(self._last.get(name), out))
        self._last[name] = task
        self._pending.add(task)
        task.add_done_callback(lambda t: self._done(name, t))

    def _done(self, name: str, task: asyncio.Task) -> None:
        self._pending.discard(task)
        if self._last.get(name) is task:
            del self._last[name]

    async def _write_after(self, before: asyncio.Task | None, out: Correlated) -> None:
        if before is not None:
            await asyncio.wait([before])
        await self._write(out)

    async def flush(self) -> None:
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=5)
