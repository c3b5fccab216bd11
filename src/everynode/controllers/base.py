"""What every control loop shares: a work queue, workers, event recording."""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from collections.abc import Hashable

from everynode.aiotools import cancel_and_wait
from everynode.api.errors import ApiError
from everynode.apiserver.objects import now_rfc3339
from everynode.client.informer import InformerFactory
from everynode.client.rest import Client
from everynode.client.workqueue import WorkQueue

log = logging.getLogger("everynode.controllers")


class Controller(abc.ABC):
    """A keyed control loop: handlers enqueue keys, ``workers`` tasks call ``sync``."""

    name = "controller"
    workers = 2

    def __init__(self, client: Client, informers: InformerFactory):
        self.client = client
        self.informers = informers
        self.queue = WorkQueue(self.name)
        self.recorder = EventRecorder(client, self.component)
        self._tasks: list[asyncio.Task] = []

    @property
    def component(self) -> str:
        return self.name

    @abc.abstractmethod
    async def sync(self, key: Hashable) -> None:
        """Bring the object named by ``key`` to its desired state."""

    async def _worker(self) -> None:
        while True:
            key = await self.queue.get()
            if key is None:
                return
            try:
                await self.sync(key)
                self.queue.forget(key)
            except asyncio.CancelledError:
                raise
            except ApiError as exc:
                log.info("%s: sync %s failed: %s", self.name, key, exc.message)
                self.queue.add_rate_limited(key)
            except Exception:
                log.exception("%s: sync %s crashed", self.name, key)
                self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._worker(), name=f"{self.name}-worker-{i}")
                       for i in range(self.workers)]
        self._tasks.extend(self.background())

    def background(self) -> list[asyncio.Task]:
        """Extra periodic tasks a controller runs (overridden where needed)."""
        return []

    async def stop(self) -> None:
        await self.queue.shutdown()
        await cancel_and_wait(self._tasks)
        await self.recorder.flush()


class EventRecorder:
    """Writes core/v1 Events, aggregating repeats of the same event into a count."""

    def __init__(self, client: Client, component: str, host: str | None = None):
        self.client = client
        self.component = component
        self.host = host
        self._recent: dict[tuple, tuple[str, str, int]] = {}  # key -> (ns, name, count)
        self._pending: set[asyncio.Task] = set()

    def event(self, obj: dict, type_: str, reason: str, message: str) -> None:
        task = asyncio.create_task(self._write(obj, type_, reason, message))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _write(self, obj: dict, type_: str, reason: str, message: str) -> None:
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace") or "default"
        involved = {"kind": obj.get("kind"), "namespace": meta.get("namespace"), "name": meta.get("name"),
                    "uid": meta.get("uid"), "apiVersion": obj.get("apiVersion"),
                    "resourceVersion": meta.get("resourceVersion")}
        involved = {k: v for k, v in involved.items() if v}
        agg = (ns, involved.get("uid"), type_, reason, message)
        now = now_rfc3339()
        try:
            prev = self._recent.get(agg)
            if prev is not None:
                _, name, count = prev
                try:
                    await self.client.patch("events", name, {"count": count + 1, "lastTimestamp": now},
                                            ns, "merge")
                    self._recent[agg] = (ns, name, count + 1)
                    return
                except ApiError:
                    self._recent.pop(agg, None)
            source = {"component": self.component}
            if self.host:
                source["host"] = self.host
            ev = {"apiVersion": "v1", "kind": "Event",
                  "metadata": {"name": f"{meta.get('name', 'event')}.{time.time_ns():x}", "namespace": ns},
                  "involvedObject": involved, "reason": reason, "message": message[:1024], "type": type_,
                  "source": source, "firstTimestamp": now, "lastTimestamp": now, "count": 1,
                  "eventTime": None, "reportingComponent": self.component,
                  "reportingInstance": self.host or self.component}
            await self.client.create("events", ev, ns, result=False)  # the name is ours
            if len(self._recent) > 4096:
                self._recent.clear()
            self._recent[agg] = (ns, ev["metadata"]["name"], 1)
        except Exception as exc:  # events are best effort, never fail a sync
            log.debug("event %s/%s not recorded: %s", reason, meta.get("name"), exc)

    async def flush(self) -> None:
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=5)
