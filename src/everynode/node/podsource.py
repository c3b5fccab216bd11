"""Where node agents learn about their pods: a pods informer, shared or per node.

A standalone agent watches only its own pods (``fieldSelector
spec.nodeName=<node>``), as the kubelet does. Agents embedded in one
process share a single watch of all bound pods, dispatched by
``spec.nodeName``: the API sees one watch instead of thousands, and every
agent still reads and writes exactly the objects it would on its own.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from everynode.api.errors import ApiError
from everynode.client.informer import Informer
from everynode.client.rest import Client

log = logging.getLogger("everynode.node.podsource")

Obj = dict[str, Any]


class PodListener(Protocol):
    def pod_added(self, pod: Obj) -> None: ...
    def pod_updated(self, old: Obj, pod: Obj) -> None: ...
    def pod_deleted(self, pod: Obj) -> None: ...


def node_of(pod: Obj) -> str:
    return (pod.get("spec") or {}).get("nodeName") or ""


class PodSource:
    def __init__(self, client: Client, node: str | None = None):
        self.client = client
        self.node = node
        self.listeners: dict[str, PodListener] = {}
        self.informer: Informer | None = None
        self._server_filters = True

    async def start(self) -> None:
        if self.informer is not None:
            return
        selector = f"spec.nodeName={self.node}" if self.node else "spec.nodeName!="
        try:
            await self.client.list("pods", fieldSelector=selector, limit=1)
        except ApiError as exc:
            if exc.code != 400:
                raise
            # An API server without the pods field selector: filter here instead.
            self._server_filters = False
            selector = None
        inf = Informer(self.client, "pods", field_selector=selector)
        inf.add_index("node", lambda p: [node_of(p)] if node_of(p) else [])
        inf.on_add.append(self._added)
        inf.on_update.append(self._updated)
        inf.on_delete.append(self._deleted)
        self.informer = inf
        inf.start()
        await inf.synced.wait()

    async def stop(self) -> None:
        if self.informer is not None:
            await self.informer.stop()
            self.informer = None

    def subscribe(self, node: str, listener: PodListener) -> list[Obj]:
        """Register a node's listener; returns the node's pods known now."""
        self.listeners[node] = listener
        return self.pods_on(node)

    def unsubscribe(self, node: str) -> None:
        self.listeners.pop(node, None)

    def pods_on(self, node: str) -> list[Obj]:
        if self.informer is None:
            return []
        return self.informer.by_index("node", node)

    def get(self, namespace: str, name: str) -> Obj | None:
        if self.informer is None:
            return None
        return self.informer.get(f"{namespace}/{name}")

    def _listener(self, pod: Obj) -> PodListener | None:
        n = node_of(pod)
        return self.listeners.get(n) if n else None

    def _added(self, pod: Obj) -> None:
        lst = self._listener(pod)
        if lst is not None:
            lst.pod_added(pod)

    def _updated(self, old: Obj, pod: Obj) -> None:
        lst = self._listener(pod)
        if lst is None:
            return
        if node_of(old) != node_of(pod):
            lst.pod_added(pod)  # just bound to this node
        else:
            lst.pod_updated(old, pod)

    def _deleted(self, pod: Obj) -> None:
        lst = self._listener(pod)
        if lst is not None:
            lst.pod_deleted(pod)

