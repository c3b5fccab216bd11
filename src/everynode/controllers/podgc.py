"""Pod garbage collection: pods bound to nodes that no longer exist.

Every ``interval`` seconds, pods whose spec.nodeName names a node missing
from the cache are noted; after ``quarantine`` seconds, and once a live GET
confirms the node is really gone, they are force-deleted (grace period 0),
since no node agent is left to finish a graceful deletion. Terminated pods
beyond ``terminated_threshold`` are deleted oldest first, as upstream does.
"""

from __future__ import annotations

import asyncio
import logging
import time

from everynode.api.errors import ApiError
from everynode.controllers.base import Controller

log = logging.getLogger("everynode.podgc")


class PodGC(Controller):
    name = "pod-garbage-collector"
    workers = 2

    def __init__(self, client, informers, interval: float = 20.0, quarantine: float = 40.0,
                 terminated_threshold: int = 12500):
        super().__init__(client, informers)
        self.pods = informers.informer("pods")
        self.nodes = informers.informer("nodes")
        self.pods.add_index("node", lambda p: [(p.get("spec") or {}).get("nodeName") or ""])
        # Terminated pods by phase: the periodic scan must not walk every pod.
        self.pods.add_index("terminated", lambda p: [ph] if (ph := (p.get("status") or {}).get("phase"))
                            in ("Succeeded", "Failed") else [])
        self.interval = interval
        self.quarantine = quarantine
        self.terminated_threshold = terminated_threshold
        self._missing_since: dict[str, float] = {}

    def background(self) -> list[asyncio.Task]:
        return [asyncio.create_task(self._loop(), name="podgc-loop")]

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                self.scan(time.monotonic())
            except Exception:
                log.exception("pod GC scan failed")

    def scan(self, now: float) -> None:
        """Enqueue nodes that have been missing for longer than the quarantine."""
        bound_nodes = {n for n in self.pods.indexes["node"] if n}
        for node in bound_nodes:
            if node in self.nodes.objects:
                self._missing_since.pop(node, None)
                continue
            first = self._missing_since.setdefault(node, now)
            if now - first >= self.quarantine:
                self.queue.add(("node", node))
        for node in list(self._missing_since):
            if node not in bound_nodes:
                del self._missing_since[node]
        terminated = self.pods.by_index("terminated", "Succeeded") + self.pods.by_index("terminated", "Failed")
        if len(terminated) > self.terminated_threshold:
            terminated.sort(key=lambda p: p["metadata"].get("creationTimestamp", ""))
            for p in terminated[: len(terminated) - self.terminated_threshold]:
                self.queue.add(("pod", f"{p['metadata']['namespace']}/{p['metadata']['name']}"))

    async def sync(self, item) -> None:
        what, name = item
        if what == "pod":
            ns, pod = name.split("/", 1)
            await self._force_delete(ns, pod)
            return
        try:
            await self.client.get("nodes", name)
            self._missing_since.pop(name, None)
            return  # the node exists after all
        except ApiError as exc:
            if exc.code != 404:
                raise
        for pod in self.pods.by_index("node", name):
            meta = pod["metadata"]
            log.info("deleting pod %s/%s bound to missing node %s", meta["namespace"], meta["name"], name)
            await self._force_delete(meta["namespace"], meta["name"])

    async def _force_delete(self, ns: str, name: str) -> None:
        try:
            await self.client.delete("pods", name, ns, {"gracePeriodSeconds": 0})
        except ApiError as exc:
            if exc.code != 404:
                raise
