"""Pod events from the node agent, as the kubelet records them.

Like the controllers' recorder, but events name the container they are
about (``involvedObject.fieldPath: spec.containers{name}``) and come from
``kubelet`` on this node. Repeats of the same event are folded into one
with a growing count. Events are best effort: a failed write is dropped.

As the kubelet's event broadcaster, one writer per node sends the node's events in order,
one after another, from a bounded queue (upstream's channel holds 1,000; more are dropped):
a task per event cost the 10,000-node creation 30,000 tasks for the three container events
of each pod.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from everynode.api.errors import ApiError
from everynode.apiserver.objects import now_rfc3339
from everynode.client.rest import Client

log = logging.getLogger("everynode.node.events")

MAX_QUEUED = 1000  # events waiting for the writer; more are dropped


def field_path(pod: dict, container: str | None) -> str:
    if not container:
        return ""
    spec = pod.get("spec") or {}
    if any(c.get("name") == container for c in spec.get("initContainers") or []):
        return f"spec.initContainers{{{container}}}"
    return f"spec.containers{{{container}}}"


class PodEvents:
    def __init__(self, client: Client, node: str, enabled: bool = True):
        self.client = client
        self.node = node
        self.enabled = enabled
        self._recent: dict[tuple, tuple[str, int]] = {}
        self._queue: deque[tuple] = deque()
        self._writer: asyncio.Task | None = None

    def emit(self, pod: dict, type_: str, reason: str, message: str, container: str | None = None) -> None:
        if self.enabled:
            self._enqueue((pod, type_, reason, message, container, now_rfc3339()))

    def emit_node(self, type_: str, reason: str, message: str) -> None:
        """An event about this node (the kubelet names the node by name in uid too)."""
        if self.enabled:
            node = {"kind": "Node", "metadata": {"name": self.node, "uid": self.node, "namespace": "default"}}
            self._enqueue((node, type_, reason, message, None, now_rfc3339()))

    def _enqueue(self, event: tuple) -> None:
        if len(self._queue) >= MAX_QUEUED:
            log.debug("event %s for %s dropped: %d events wait already", event[2],
                      (event[0].get("metadata") or {}).get("name"), len(self._queue))
            return
        self._queue.append(event)
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain(), name=f"events-{self.node}")

    async def _drain(self) -> None:
        try:
            while self._queue:
                await self._write(*self._queue.popleft())
        finally:
            self._writer = None

    async def _write(self, pod: dict, type_: str, reason: str, message: str, container: str | None,
                     now: str) -> None:
        """Create the event, or count a repeat of a recent one; ``now``: when it happened."""
        meta = pod.get("metadata") or {}
        ns = meta.get("namespace") or "default"
        kind = pod.get("kind") or "Pod"
        involved = {"kind": kind, "namespace": ns if kind == "Pod" else None, "name": meta.get("name"),
                    "uid": meta.get("uid"), "apiVersion": "v1"}
        involved = {k: v for k, v in involved.items() if v is not None}
        fp = field_path(pod, container)
        if fp:
            involved["fieldPath"] = fp
        key = (ns, meta.get("uid"), fp, type_, reason, message)
        try:
            prev = self._recent.get(key)
            if prev is not None:
                name, count = prev
                try:
                    await self.client.patch("events", name, {"count": count + 1, "lastTimestamp": now}, ns, "merge")
                    self._recent[key] = (name, count + 1)
                    return
                except ApiError:
                    self._recent.pop(key, None)
            ev = {"apiVersion": "v1", "kind": "Event",
                  "metadata": {"name": f"{meta.get('name', 'pod')}.{time.time_ns():x}", "namespace": ns},
                  "involvedObject": involved, "reason": reason, "message": message[:1024], "type": type_,
                  "source": {"component": "kubelet", "host": self.node},
                  "firstTimestamp": now, "lastTimestamp": now, "count": 1,
                  "reportingComponent": "kubelet", "reportingInstance": self.node}
            await self.client.create("events", ev, ns, result=False)  # the name is ours
            if len(self._recent) > 4096:
                self._recent.clear()
            self._recent[key] = (ev["metadata"]["name"], 1)
        except Exception as exc:  # best effort
            log.debug("event %s for %s not recorded: %s", reason, meta.get("name"), exc)

    async def flush(self) -> None:
        """Wait (up to 5 s) for the events emitted so far to be written."""
        if self._writer is not None:
            await asyncio.wait([self._writer], timeout=5)
