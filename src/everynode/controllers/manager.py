"""Runs the control loops, as kube-controller-manager does.

Controllers share one informer factory (one list+watch per resource). With
leader election, only the holder of the ``kube-controller-manager`` Lease in
kube-system runs them, so several copies can be started safely.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from everynode.client.informer import InformerFactory
from everynode.client.leaderelection import LeaderElector
from everynode.client.rest import Client
from everynode.controllers.base import Controller

log = logging.getLogger("everynode.controller-manager")


@dataclass
class Timings:
    """Knobs with upstream defaults; the embedded cluster shortens some for snappy demos."""

    node_grace_period: float = 40.0
    node_monitor_period: float = 5.0
    node_startup_grace: float = 60.0
    podgc_interval: float = 20.0
    podgc_quarantine: float = 40.0
    daemonset_workers: int = 2


def _builders(t: Timings) -> dict[str, Callable[[Client, InformerFactory], Controller]]:
    from everynode.controllers.garbagecollector import GarbageCollector
    from everynode.controllers.nodelifecycle import NodeLifecycleController
    from everynode.controllers.podgc import PodGC

    builders: dict[str, Callable[[Client, InformerFactory], Controller]] = {
        "garbagecollector": GarbageCollector,
        "podgc": lambda c, i: PodGC(c, i, t.podgc_interval, t.podgc_quarantine),
        "nodelifecycle": lambda c, i: NodeLifecycleController(c, i, t.node_grace_period, t.node_monitor_period,
                                                              t.node_startup_grace),
    }
    try:
        from everynode.controllers.daemonset.controller import DaemonSetController

        builders["daemonset"] = lambda c, i: DaemonSetController(c, i, workers=t.daemonset_workers)
    except ImportError:
        pass
    try:
        from everynode.controllers.scheduler.scheduler import Scheduler

        builders["scheduler"] = Scheduler
    except ImportError:
        pass
    return builders


def available_controllers() -> list[str]:
    return sorted(_builders(Timings()))


@dataclass
class ControllerManager:
    client: Client
    controllers: list[str] | None = None  # None: all
    timings: Timings = field(default_factory=Timings)
    leader_elect: bool = False
    identity: str = field(default_factory=lambda: f"{socket.gethostname()}_{uuid.uuid4()}")
    running: list[Controller] = field(default_factory=list)

    async def _start_controllers(self) -> None:
        builders = _builders(self.timings)
        names = self.controllers or list(builders)
        unknown = [n for n in names if n not in builders]
        if unknown:
            raise ValueError(f"unknown controllers: {', '.join(unknown)} (known: {', '.join(sorted(builders))})")
        informers = InformerFactory(self.client)
        self.running = [builders[n](self.client, informers) for n in names]
        informers.start()
        await informers.wait_for_sync(120)
        for c in self.running:
            c.start()
        log.info("started controllers: %s", ", ".join(names))
        self._informers = informers

    async def _stop_controllers(self) -> None:
        for c in self.running:
            await c.stop()
        self.running = []
        informers = getattr(self, "_informers", None)
        if informers is not None:
            await informers.stop()

    async def run(self) -> None:
        """Run until cancelled."""
        if not self.leader_elect:
            await self._start_controllers()
            try:
                await asyncio.Event().wait()
            finally:
                await self._stop_controllers()
            return
        elector = LeaderElector(self.client, "kube-controller-manager", "kube-system", self.identity)

        async def lead() -> None:
            await self._start_controllers()
            await asyncio.Event().wait()

        while True:
            await elector.run(lead, self._stop_controllers)
            await asyncio.sleep(elector.retry_period)


def default_identity() -> str:
    return f"{socket.gethostname()}_{os.getpid()}"
