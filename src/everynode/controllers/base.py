"""What every control loop shares: a work queue, workers, an event recorder."""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import Hashable

from everynode.aiotools import cancel_and_wait
from everynode.api.errors import ApiError
from everynode.client.informer import InformerFactory
from everynode.client.record import EventRecorder
from everynode.client.rest import Client
from everynode.client.workqueue import WorkQueue

log = logging.getLogger("everynode.controllers")


class Controller(abc.ABC):
    """A keyed control loop: handlers enqueue keys, ``workers`` tasks call ``sync``."""

    name = "controller"
    workers = 2
    recorder_class = EventRecorder  # client-go's record package (the scheduler's differs)

    def __init__(self, client: Client, informers: InformerFactory):
        self.client = client
        self.informers = informers
        self.queue = WorkQueue(self.name)
        self.recorder = self.recorder_class(client, self.component)
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
