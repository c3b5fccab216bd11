"""The node agent (a kubelet subset): registration and heartbeats.

It talks to the API only. Registration creates (or adopts) the Node with its
labels, taints, capacity and conditions; the heartbeat renews the node's
Lease in kube-node-lease every 10 s and rewrites node status when it changes
and at least every minute, as the kubelet does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import socket
from dataclasses import dataclass, field

from everynode import __version__
from everynode.api.errors import ApiError
from everynode.apiserver.objects import now_micro, now_rfc3339
from everynode.client.rest import Client

log = logging.getLogger("everynode.node")

LEASE_DURATION = 40
LEASE_RENEW = 10.0
STATUS_REFRESH = 60.0


def host_capacity() -> dict[str, str]:
    cpus = os.cpu_count() or 1
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        mem = f"{pages // 1024}Ki"
    except (ValueError, OSError):
        mem = "4Gi"
    try:
        st = os.statvfs("/")
        disk = f"{st.f_blocks * st.f_frsize // 1024}Ki"
    except OSError:
        disk = "100Gi"
    return {"cpu": str(cpus), "memory": mem, "ephemeral-storage": disk, "pods": "110",
            "hugepages-2Mi": "0"}


def parse_taint(text: str) -> dict:
    """'key=value:Effect' or 'key:Effect' -> taint dict."""
    kv, sep, effect = text.rpartition(":")
    if not sep or not kv:
        raise ValueError(f"invalid taint {text!r}: expected key[=value]:Effect")
    key, _, value = kv.partition("=")
    taint = {"key": key, "effect": effect}
    if value:
        taint["value"] = value
    return taint


@dataclass
class NodeConfig:
    name: str
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict] = field(default_factory=list)
    capacity: dict[str, str] = field(default_factory=host_capacity)
    runtime: str = "process"
    address: str = "127.0.0.1"


class NodeAgent:
    def __init__(self, client: Client, config: NodeConfig):
        self.client = client
        self.config = config
        self._tasks: list[asyncio.Task] = []
        self._ready = asyncio.Event()
        self.stopped = False

    # -------------------------------------------------------------- the Node

    def _node_object(self) -> dict:
        c = self.config
        labels = {
            "kubernetes.io/hostname": c.name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": _arch(),
            "beta.kubernetes.io/os": "linux",
            "beta.kubernetes.io/arch": _arch(),
        }
        labels.update(c.labels)
        spec: dict = {}
        if c.taints:
            spec["taints"] = [dict(t) for t in c.taints]
        return {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": c.name, "labels": labels,
                             "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                             "everynode.io/runtime": c.runtime}},
                "spec": spec, "status": self._status()}

    def _conditions(self) -> list[dict]:
        now = now_rfc3339()
        def cond(t: str, status: str, reason: str, message: str) -> dict:
            return {"type": t, "status": status, "lastHeartbeatTime": now, "lastTransitionTime": now,
                    "reason": reason, "message": message}
        return [
            cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ]

    def _status(self) -> dict:
        c = self.config
        return {
            "capacity": dict(c.capacity),
            "allocatable": dict(c.capacity),
            "conditions": self._conditions(),
            "addresses": [{"type": "InternalIP", "address": c.address},
                          {"type": "Hostname", "address": c.name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": c.name, "systemUUID": c.name, "bootID": f"{os.getpid()}",
                "kernelVersion": platform.release(), "osImage": _os_image(),
                "containerRuntimeVersion": f"everynode-{c.runtime}://{__version__}",
                "kubeletVersion": "v1.37.0", "kubeProxyVersion": "",
                "operatingSystem": "linux", "architecture": _arch(),
            },
        }

    async def register(self) -> None:
        node = self._node_object()
        try:
            await self.client.create("nodes", node)
            log.info("registered node %s", self.config.name)
        except ApiError as exc:
            if exc.code != 409:
                raise
            # The node exists (restart): refresh its status, keep its spec and labels.
            current = await self.client.get("nodes", self.config.name)
            current["status"] = self._merge_status(current.get("status") or {})
            await self.client.replace("nodes", current, "status")

    def _merge_status(self, old: dict) -> dict:
        new = self._status()
        old_conds = {c["type"]: c for c in old.get("conditions") or []}
        for cond in new["conditions"]:
            prev = old_conds.get(cond["type"])
            if prev and prev.get("status") == cond["status"]:
                cond["lastTransitionTime"] = prev.get("lastTransitionTime", cond["lastTransitionTime"])
        return new

    # ----------------------------------------------------------- heartbeats

    def _lease(self) -> dict:
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.config.name, "namespace": "kube-node-lease"},
                "spec": {"holderIdentity": self.config.name, "leaseDurationSeconds": LEASE_DURATION,
                         "renewTime": now_micro()}}

    async def renew_lease(self) -> None:
        lease = self._lease()
        try:
            current = await self.client.get("leases", self.config.name, "kube-node-lease")
        except ApiError as exc:
            if exc.code != 404:
                raise
            node = await self.client.get("nodes", self.config.name)
            lease["metadata"]["ownerReferences"] = [{
                "apiVersion": "v1", "kind": "Node", "name": self.config.name,
                "uid": node["metadata"]["uid"]}]
            await self.client.create("leases", lease, "kube-node-lease")
            return
        current["spec"] = {**(current.get("spec") or {}), **lease["spec"]}
        await self.client.replace("leases", current)

    async def update_status(self) -> None:
        node = await self.client.get("nodes", self.config.name)
        node["status"] = self._merge_status(node.get("status") or {})
        await self.client.replace("nodes", node, "status")

    async def _lease_loop(self) -> None:
        while True:
            try:
                await self.renew_lease()
            except Exception as exc:  # the API may be restarting; keep trying
                log.warning("node %s: lease renewal failed: %s", self.config.name, exc)
            await asyncio.sleep(LEASE_RENEW)

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(STATUS_REFRESH)
            try:
                await self.update_status()
            except Exception as exc:
                log.warning("node %s: status update failed: %s", self.config.name, exc)

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        for attempt in range(100):
            try:
                await self.register()
                break
            except (OSError, ApiError) as exc:
                if attempt == 99:
                    raise
                log.info("node %s: registration failed (%s), retrying", self.config.name, exc)
                await asyncio.sleep(0.5)
        await self.renew_lease()
        self._tasks = [asyncio.create_task(self._lease_loop(), name=f"lease-{self.config.name}"),
                       asyncio.create_task(self._status_loop(), name=f"status-{self.config.name}")]
        self.stopped = False

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks = []
        self.stopped = True


def _arch() -> str:
    m = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(m, m)


def _os_image() -> str:
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return socket.gethostname()
