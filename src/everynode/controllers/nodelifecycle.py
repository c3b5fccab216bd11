"""Node lifecycle: node health from heartbeats, condition taints, NoExecute eviction.

- Every ``monitor_period`` seconds each node's last heartbeat (its Lease's
  renewTime, or the Ready condition's lastHeartbeatTime) is compared with
  ``grace_period``; a silent node gets every condition set to Unknown
  ("Kubelet stopped posting node status.") and its pods marked not Ready.
- Taints follow conditions (TaintNodesByCondition and TaintBasedEvictions):
  Ready False -> node.kubernetes.io/not-ready, Ready Unknown ->
  node.kubernetes.io/unreachable (NoSchedule and NoExecute); pressure
  conditions and spec.unschedulable -> their NoSchedule taints. They are
  removed when the condition clears.
- Pods that do not tolerate a NoExecute taint of their node are deleted,
  after the smallest tolerationSeconds of the matching tolerations when set.
"""

from __future__ import annotations

import asyncio
import logging
import time

from everynode.api import placement
from everynode.api.errors import ApiError
from everynode.apiserver.objects import now_rfc3339, parse_time
from everynode.controllers.base import Controller

log = logging.getLogger("everynode.nodelifecycle")

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
CONDITION_TAINTS = {
    "MemoryPressure": "node.kubernetes.io/memory-pressure",
    "DiskPressure": "node.kubernetes.io/disk-pressure",
    "PIDPressure": "node.kubernetes.io/pid-pressure",
    "NetworkUnavailable": "node.kubernetes.io/network-unavailable",
}
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
NODE_LEASE_NAMESPACE = "kube-node-lease"
MANAGED_KEYS = {NOT_READY, UNREACHABLE, UNSCHEDULABLE, *CONDITION_TAINTS.values()}


def ready_status(node: dict) -> str | None:
    """The status of the node's Ready condition ("Unknown" when it has none), or None when the
    node never posted one."""
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status", "Unknown")
    return None


def desired_taints(node: dict) -> list[dict]:
    """The taints this controller owns, as the node's state implies them (pure)."""
    out: list[dict] = []
    # A node that never posted a Ready condition gets none of these (upstream's tainting pass
    # skips it) until this controller marks it Unknown after the startup grace.
    ready = ready_status(node)
    if ready == "False":
        out += [{"key": NOT_READY, "effect": "NoSchedule"}, {"key": NOT_READY, "effect": "NoExecute"}]
    elif ready == "Unknown":
        out += [{"key": UNREACHABLE, "effect": "NoSchedule"}, {"key": UNREACHABLE, "effect": "NoExecute"}]
    conds = {c.get("type"): c.get("status") for c in (node.get("status") or {}).get("conditions") or []}
    for ctype, key in CONDITION_TAINTS.items():
        if conds.get(ctype) == "True":
            out.append({"key": key, "effect": "NoSchedule"})
    if (node.get("spec") or {}).get("unschedulable"):
        out.append({"key": UNSCHEDULABLE, "effect": "NoSchedule"})
    return out


def reconcile_taints(node: dict, now: str) -> list[dict] | None:
    """The node's new taint list, or None when nothing changes (pure)."""
    current = list((node.get("spec") or {}).get("taints") or [])
    want = desired_taints(node)
    want_ids = {(t["key"], t["effect"]) for t in want}
    kept = [t for t in current if t.get("key") not in MANAGED_KEYS or (t["key"], t.get("effect")) in want_ids]
    have_ids = {(t["key"], t.get("effect")) for t in kept}
    added = []
    for t in want:
        if (t["key"], t["effect"]) not in have_ids:
            t = dict(t)
            if t["effect"] == "NoExecute":
                t["timeAdded"] = now
            added.append(t)
    new = kept + added
    if new == current:
        return None
    return new


def eviction_delay(pod: dict, taints: list[dict], now: float) -> float | None:
    """Seconds until ``pod`` must be evicted for the node's NoExecute taints, or None (pure)."""
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    delay: float | None = None
    for taint in taints:
        if taint.get("effect") != "NoExecute":
            continue
        matching = [t for t in tolerations if placement.toleration_tolerates_taint(t, taint)]
        if not matching:
            return 0.0
        seconds = [t["tolerationSeconds"] for t in matching if t.get("tolerationSeconds") is not None]
        if not seconds:
            continue  # tolerated forever
        added = parse_time(taint.get("timeAdded")) or now
        remaining = max(0.0, added + max(0, min(seconds)) - now)
        delay = remaining if delay is None else min(delay, remaining)
    return delay


def _silent(last_heartbeat: float, node: dict | None, deadline: float) -> bool:
    """No heartbeat since ``deadline`` and not already marked Unknown (a node without a Ready
    condition can still be marked: upstream's NodeStatusNeverUpdated)."""
    return node is not None and last_heartbeat < deadline and ready_status(node) != "Unknown"


class NodeLifecycleController(Controller):
    name = "node-lifecycle-controller"

    @property
    def component(self) -> str:
        return "node-controller"  # the event source upstream uses
    workers = 2

    def __init__(self, client, informers, grace_period: float = 40.0, monitor_period: float = 5.0,
                 startup_grace: float = 60.0):
        super().__init__(client, informers)
        self.nodes = informers.informer("nodes")
        # All namespaces, as upstream's shared Lease informer: the garbage collector watches
        # every lease too, and one informer serves both (one watch, one cache of 10,000 leases).
        self.leases = informers.informer("leases")
        self.pods = informers.informer("pods")
        self.pods.add_index("node", lambda p: [(p.get("spec") or {}).get("nodeName") or ""])
        self.grace_period = grace_period
        self.monitor_period = monitor_period
        self.startup_grace = startup_grace
        self.clock = time.time
        self.started = self.clock()
        # When this controller first saw each node. As upstream's probe timestamp, a node that
        # has posted status or has a lease is not silent for less than the grace period after
        # that: when the controller (re)starts, the heartbeats stored before it started do not
        # count against the node (restarting a cluster that was down for minutes must not mark
        # its nodes Unknown before their agents had the time to renew).
        self._first_seen: dict[str, float] = {}
        self._posted: set[str] = set()  # nodes whose status has a Ready condition
        # Parsed heartbeat times by node, with the resourceVersion they were parsed from. Kept
        # as dicts of strings and floats (not of (version, time) tuples), which the cyclic
        # collector never tracks: a dict that gains a new tuple is walked whole by the next
        # young collection (a lease renews every 10 s per node).
        self._node_rv: dict[str, str | None] = {}
        self._node_time: dict[str, float] = {}
        self._lease_rv: dict[str, str | None] = {}
        self._lease_time: dict[str, float] = {}
        # Each node's last heartbeat, kept current by the node and lease handlers, so that the
        # monitor's pass over all nodes is a comparison per node (6 us per node with the lookups
        # and parsing in the pass: a 60 ms stall every 5 s at 10,000 nodes).
        self._beats: dict[str, float] = {}
        self.nodes.on_add.append(lambda obj: self._refresh_beat(obj["metadata"]["name"]))
        self.nodes.on_update.append(lambda old, new: self._refresh_beat(new["metadata"]["name"]))
        for handlers in (self.leases.on_add, self.leases.on_delete):
            handlers.append(self._lease_changed)
        self.leases.on_update.append(lambda old, new: self._lease_renewed(new))
        self.nodes.on_delete.append(self._forget)
        self.nodes.on_add.append(self._node_added)
        self.nodes.on_update.append(lambda o, n: self.queue.add(("node", n["metadata"]["name"])))
        self.pods.on_add.append(self._pod_changed)
        self.pods.on_update.append(lambda o, n: self._pod_changed(n))

    def _lease_changed(self, lease: dict) -> None:
        meta = lease["metadata"]
        if meta.get("namespace") == NODE_LEASE_NAMESPACE:
            self._refresh_beat(meta["name"])

    def _lease_renewed(self, lease: dict) -> None:
        """A lease update (1,000 a second at 10,000 nodes): the node's part of its heartbeat is
        kept current by the node handlers, so only the renewal time is parsed here."""
        meta = lease["metadata"]
        name = meta["name"]
        node_time = self._node_time.get(name)
        if meta.get("namespace") != NODE_LEASE_NAMESPACE or node_time is None or name not in self._beats:
            self._lease_changed(lease)
            return
        renewed = parse_time((lease.get("spec") or {}).get("renewTime")) or 0.0
        self._lease_rv[name], self._lease_time[name] = meta.get("resourceVersion"), renewed
        self._beats[name] = max(node_time, renewed, self._first_seen.get(name, 0.0))

    def _node_added(self, node: dict) -> None:
        name = node["metadata"]["name"]
        ref = {"kind": "Node", "apiVersion": "v1", "metadata": {"name": name, "uid": node["metadata"]["uid"]}}
        self.recorder.event(ref, "Normal", "RegisteredNode", f"Node {name} event: Registered Node {name} in Controller")
        self.queue.add(("node", name))

    def _pod_changed(self, pod: dict) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            n = self.nodes.get(node)
            if n is not None and any(t.get("effect") == "NoExecute" for t in (n.get("spec") or {}).get("taints") or []):
                self.queue.add(("evict", node))

    def background(self) -> list[asyncio.Task]:
        return [asyncio.create_task(self._monitor(), name="node-monitor")]

    async def _monitor(self) -> None:
        while True:
            await asyncio.sleep(self.monitor_period)
            # Every node is looked at, but only a node that went silent gets a sync: at 10,000
            # nodes a sync per node per period would be 2,000 syncs/s for nothing.
            for name in self.silent_nodes(self.clock()):
                self.queue.add(("health", name))

    def silent_nodes(self, now: float) -> list[str]:
        """The nodes that ``_went_silent``, from the kept heartbeats."""
        deadline = now - self._grace(now)
        return [name for name, beat in self._beats.items()
                if beat < deadline and _silent(beat, self.nodes.get(name), deadline)]

    def _refresh_beat(self, name: str) -> None:
        node = self.nodes.get(name)
        if node is None:
            self._beats.pop(name, None)
        else:
            self._beats[name] = self.last_heartbeat(node)

    def _grace(self, now: float) -> float:
        grace = self.grace_period
        if now - self.started < self.startup_grace:
            grace = max(grace, self.startup_grace - (now - self.started))
        return grace

    def _went_silent(self, node: dict, now: float) -> bool:
        """The rule, for one node (the monitor applies it to the kept heartbeats)."""
        return _silent(self.last_heartbeat(node), node, now - self._grace(now))

    def last_heartbeat(self, node: dict) -> float:
        """The latest of creation, Lease renewal and Ready heartbeat, and, once the node has a
        Ready condition or a lease, of the time this controller first saw it (``_first_seen``);
        the times are parsed once per object version (the monitor asks for every node every
        period)."""
        meta = node["metadata"]
        name = meta["name"]
        rv = meta.get("resourceVersion")
        if name not in self._node_time or self._node_rv.get(name) != rv:
            best = parse_time(meta.get("creationTimestamp")) or 0.0
            self._posted.discard(name)
            for c in (node.get("status") or {}).get("conditions") or []:
                if c.get("type") == "Ready":
                    best = max(best, parse_time(c.get("lastHeartbeatTime")) or 0.0)
                    self._posted.add(name)
            if name not in self._posted:
                # Never posted status: upstream gives it the startup grace from its creation
                # instead of the grace period (credited here, so one deadline serves all nodes).
                best += max(0.0, self.startup_grace - self.grace_period)
            self._node_rv[name], self._node_time[name] = rv, best
        best = self._node_time[name]
        seen = self._first_seen.get(name)
        if seen is None:
            seen = self._first_seen[name] = self.clock()
        lease = self.leases.get(f"{NODE_LEASE_NAMESPACE}/{name}")
        if lease is not None or name in self._posted:
            best = max(best, seen)  # upstream's probe timestamp starts at first sight
        if lease is not None:
            lrv = (lease.get("metadata") or {}).get("resourceVersion")
            if name not in self._lease_time or self._lease_rv.get(name) != lrv:
                self._lease_rv[name] = lrv
                self._lease_time[name] = parse_time((lease.get("spec") or {}).get("renewTime")) or 0.0
            best = max(best, self._lease_time[name])
        return best

    def _forget(self, obj: dict) -> None:
        name = obj["metadata"]["name"]
        for kept in (self._node_rv, self._node_time, self._lease_rv, self._lease_time, self._first_seen):
            kept.pop(name, None)
        self._posted.discard(name)
        self._beats.pop(name, None)

    async def sync(self, item) -> None:
        what, name = item
        node = self.nodes.get(name)
        if node is None:
            return
        if what == "health":
            await self._check_health(node)
        elif what == "node":
            await self._sync_taints(node)
            self.queue.add(("evict", name))
        elif what == "evict":
            await self._evict(node)

    async def _check_health(self, node: dict) -> None:
        now = self.clock()
        silent = now - self.last_heartbeat(node)
        if silent <= self._grace(now) or ready_status(node) == "Unknown":
            return
        log.info("node %s: no heartbeat for %.0fs, marking conditions Unknown", node["metadata"]["name"], silent)
        stamp = now_rfc3339(now)
        conds = []
        for c in (node.get("status") or {}).get("conditions") or []:
            c = dict(c)
            if c.get("status") != "Unknown":
                c["lastTransitionTime"] = stamp
            c.update(status="Unknown", reason="NodeStatusUnknown", message="Kubelet stopped posting node status.")
            conds.append(c)
        if not any(c.get("type") == "Ready" for c in conds):  # else it would be marked again and again
            conds.append({"type": "Ready", "status": "Unknown", "reason": "NodeStatusNeverUpdated",
                          "message": "Kubelet never posted node status.", "lastHeartbeatTime": stamp,
                          "lastTransitionTime": stamp})
        try:
            await self.client.patch("nodes", node["metadata"]["name"], {"status": {"conditions": conds}},
                                    patch_type="strategic", subresource="status")
        except ApiError as exc:
            if exc.code != 404:
                raise
            return
        await self._mark_pods_not_ready(node["metadata"]["name"], stamp)

    async def _mark_pods_not_ready(self, node_name: str, stamp: str) -> None:
        for pod in self.pods.by_index("node", node_name):
            conds = (pod.get("status") or {}).get("conditions") or []
            ready = next((c for c in conds if c.get("type") == "Ready"), None)
            if ready is None or ready.get("status") == "False":
                continue
            meta = pod["metadata"]
            patch = {"status": {"conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": stamp,
                                                "reason": "NodeNotReady", "message": ""}]}}
            try:
                await self.client.patch("pods", meta["name"], patch, meta["namespace"], "strategic", "status")
            except ApiError as exc:
                if exc.code != 404:
                    raise

    async def _sync_taints(self, node: dict) -> None:
        new = reconcile_taints(node, now_rfc3339())
        if new is None:
            return
        meta = node["metadata"]
        add = ({"op": "add", "path": "/spec/taints", "value": new} if isinstance(node.get("spec"), dict)
               else {"op": "add", "path": "/spec", "value": {"taints": new}})  # stored before spec was defaulted
        patch = [{"op": "test", "path": "/metadata/resourceVersion", "value": meta["resourceVersion"]}, add]
        try:
            await self.client.patch("nodes", meta["name"], patch, patch_type="json")
        except ApiError as exc:
            if exc.code in (409, 422):
                self.queue.add_after(("node", meta["name"]), 0.1)
            elif exc.code != 404:
                raise

    async def _evict(self, node: dict) -> None:
        taints = [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("effect") == "NoExecute"]
        if not taints:
            return
        now = self.clock()
        soonest: float | None = None
        for pod in self.pods.by_index("node", node["metadata"]["name"]):
            meta = pod["metadata"]
            if meta.get("deletionTimestamp"):
                continue
            delay = eviction_delay(pod, taints, now)
            if delay is None:
                continue
            if delay <= 0:
                log.info("evicting pod %s/%s: untolerated NoExecute taint", meta["namespace"], meta["name"])
                self.recorder.event(pod, "Normal", "TaintManagerEviction",
                                    f"Marking for deletion Pod {meta['namespace']}/{meta['name']}")
                try:
                    await self.client.delete("pods", meta["name"], meta["namespace"])
                except ApiError as exc:
                    if exc.code != 404:
                        raise
            else:
                soonest = delay if soonest is None else min(soonest, delay)
        if soonest is not None:
            self.queue.add_after(("evict", node["metadata"]["name"]), soonest + 0.05)
