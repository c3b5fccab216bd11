"""Pod and node events from the node agent, as the kubelet records them.

The kubelet's recorder is client-go's (``everynode.client.record``: correlated, written in
order by one writer per node from a bounded queue), with its own references: events name the
container they are about (``involvedObject.fieldPath: spec.containers{name}``) and come from
``kubelet`` on this node.
"""

from __future__ import annotations

from everynode.client.record import EventRecorder
from everynode.client.rest import Client


def field_path(pod: dict, container: str | None) -> str:
    if not container:
        return ""
    spec = pod.get("spec") or {}
    if any(c.get("name") == container for c in spec.get("initContainers") or []):
        return f"spec.initContainers{{{container}}}"
    return f"spec.containers{{{container}}}"


class PodEvents(EventRecorder):
    def __init__(self, client: Client, node: str, enabled: bool = True):
        super().__init__(client, "kubelet", node, enabled)
        self.node = node

    def emit(self, pod: dict, type_: str, reason: str, message: str, container: str | None = None) -> None:
        if self.enabled:
            self.event(pod, type_, reason, message, field_path(pod, container))

    def emit_node(self, type_: str, reason: str, message: str) -> None:
        """An event about this node (the kubelet names the node by name in uid too)."""
        if self.enabled:
            node = {"kind": "Node", "metadata": {"name": self.node, "uid": self.node, "namespace": "default"}}
            self.event(node, type_, reason, message)

    def involved(self, obj: dict, field_path: str) -> dict:
        meta = obj.get("metadata") or {}
        kind = obj.get("kind") or "Pod"
        ref = {"kind": kind, "namespace": meta.get("namespace") if kind == "Pod" else None,
               "name": meta.get("name"), "uid": meta.get("uid"), "apiVersion": "v1", "fieldPath": field_path}
        return {k: v for k, v in ref.items() if v}
