"""The node agent (a kubelet subset): registration, heartbeats and pods.

It talks to the API only. Registration creates (or adopts) the Node with its
labels, taints, capacity and conditions; the heartbeat renews the node's
Lease in kube-node-lease every 10 s and rewrites node status when it changes
and at least every minute, as the kubelet does. Pods bound to the node are
run by pod workers (``worker.py``) through a runtime (``runtime/``); static
pods come from the node's manifest directory (``static.py``).

Node directory (``NodeConfig.node_dir``)::

  root/          the node's "/" for hostPath volumes; root/var/log/pods holds container logs
  pods/<uid>/    volumes (emptyDir, downward API), hosts file, launcher specs
  containers/    one record per running container (pid), to clean up after a crash
  manifests/     static pod manifests
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import os
import platform
import random
import shutil
import socket
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import orjson

from everynode import __version__
from everynode.aiotools import cancel_and_wait
from everynode.api.errors import ApiError
from everynode.apiserver.objects import now_micro, now_rfc3339
from everynode.client.rest import Client
from everynode.node.events import PodEvents
from everynode.node.heartbeats import HeartbeatClock
from everynode.node.images import Catalog
from everynode.node.logaccess import LogError, choose_container, select_instance
from everynode.node.logs import LogOptions, container_log_path
from everynode.node.podsource import PodSource
from everynode.node.runtime.base import Runtime, container_id
from everynode.node.worker import PodWorker

log = logging.getLogger("everynode.node")

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
LEASE_DURATION = 40
LEASE_RENEW = 10.0
# As the kubelet: the node status is posted when it changed (the kubelet looks every
# nodeStatusUpdateFrequency, 10 s), or unchanged once per nodeStatusReportFrequency (the Lease
# is the heartbeat). STATUS_CHECK is also the wait before retrying a failed post.
STATUS_CHECK = 10.0
STATUS_REPORT = 300.0
# The kubelet runs both loops with wait.JitterUntil(period, 0.04): each wait is up to 4% longer.
# Agents started together (``everynode up``, a benchmark registering thousands of nodes) also
# start their periods at a random phase, as a fleet of hosts booted at different times would:
# otherwise 10,000 agents renew their leases within the same second, every 10 s.
JITTER = 0.04


def jittered(period: float) -> float:
    return period * (1 + random.random() * JITTER)


def next_renewal(due: float, now: float) -> float:
    """When the lease renewal after the one due at ``due`` is due: a jittered period after
    ``due``, not after the renewal finished. A renewal that ran late (a busy event loop, an API
    restart) keeps the node's phase: 10,000 simulated agents held up together by one loop would
    otherwise renew together from then on, in waves that saturate the loop every 10 s. Periods
    missed entirely are skipped."""
    nxt = due + jittered(LEASE_RENEW)
    if nxt <= now:
        nxt += ((now - nxt) // LEASE_RENEW + 1) * LEASE_RENEW
    return nxt


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
    node_dir: Path | None = None  # default: a directory under the system temp dir
    host_root: Path | None = None  # hostPath root; default node_dir/root ("/" for a real host)
    cluster_id: str = ""  # keeps cgroups of clusters sharing a host apart
    kubelet_port: int = 10250
    events: bool = True
    # Simulated runtime: startup delay in s ("a-b" uniform, "exp:m" exponential) and the chance an
    # instance crashes; defaults from $EVERYNODE_SIM_STARTUP and $EVERYNODE_SIM_FAILURE_RATE.
    sim_startup: str = field(default_factory=lambda: os.environ.get("EVERYNODE_SIM_STARTUP", "1"))
    sim_failure_rate: float = field(default_factory=lambda: float(os.environ.get("EVERYNODE_SIM_FAILURE_RATE") or 0))
    stop_grace_cap: float = 10.0  # longest wait for a container when the agent stops
    static_pods: bool = True
    host_metrics: bool = False  # node usage = the whole host (a real machine) instead of its pods
    include_self_usage: bool = False  # add this process (control plane + agents) to the node's usage


class NodeAgent:
    def __init__(self, client: Client, config: NodeConfig, pod_source: PodSource | None = None,
                 runtime: Runtime | None = None, catalog: Catalog | None = None,
                 clock: HeartbeatClock | None = None):
        self.client = client
        self.config = config
        # Agents of one process share a clock for their lease renewals and status reports
        # (see heartbeats.py).
        self._own_clock = clock is None
        self.clock = clock or HeartbeatClock()
        self._lease_beat: int | None = None  # this agent's id on the clock while heartbeating
        self._status_beat: int | None = None  # and its status reports' id
        self._reporting: asyncio.Task | None = None  # a status post in flight
        self._status_again = False  # wanted again while a post was in flight
        self._renewing: asyncio.Task | None = None
        self._last_renewal = 0.0
        self._lease_next = 0.0  # when the renewal booked on the clock is due
        self._ready = asyncio.Event()
        self.stopped = False
        if config.node_dir is None:
            config.node_dir = Path(tempfile.gettempdir()) / "everynode" / config.name
        self.node_dir: Path = config.node_dir
        self.root_dir: Path = config.host_root or self.node_dir / "root"
        self.host_root: Path | None = None if config.host_root == Path("/") else self.root_dir
        self.catalog = catalog or Catalog(self.node_dir.parent.parent if self.node_dir.parent.name == "nodes"
                                          else self.node_dir)
        self._runtime = runtime
        self._runtimes: dict[str, Runtime] = {}
        self._own_source = pod_source is None
        self.source = pod_source or PodSource(client, config.name)
        self.events = PodEvents(client, config.name, config.events)
        self._service_env: tuple[str, dict[str, str]] | None = None  # (server, its variables)
        self.workers: dict[str, PodWorker] = {}  # by pod uid
        self.static = None
        self.ca_pem: bytes | None = None
        if client.config.ca_file and os.path.exists(client.config.ca_file):
            self.ca_pem = Path(client.config.ca_file).read_bytes()
        self.pods_running = False
        self._latest_lease: bytes | None = None  # JSON of the last lease written

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
                                             "everynode.io/runtime": c.runtime,
                                             "everynode.io/resource-limits": self.runtime.limits_note
                                             or "not enforced"}},
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
            "daemonEndpoints": {"kubeletEndpoint": {"Port": c.kubelet_port}},
            "nodeInfo": {
                "machineID": c.name, "systemUUID": c.name, "bootID": f"{os.getpid()}",
                "kernelVersion": _kernel(), "osImage": _os_image(),
                "containerRuntimeVersion": f"everynode-{c.runtime}://{__version__}",
                "kubeletVersion": "v1.37.0", "kubeProxyVersion": "",
                "operatingSystem": "linux", "architecture": _arch(),
            },
        }

    def _startup_events(self) -> None:
        """The events a kubelet records when it starts and its node turns Ready."""
        name = self.config.name
        self.events.emit_node("Normal", "Starting", "Starting kubelet.")
        self.events.emit_node("Normal", "NodeAllocatableEnforced", "Updated Node Allocatable limit across pods")
        for reason in ("NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID", "NodeReady"):
            self.events.emit_node("Normal", reason, f"Node {name} status is now: {reason}")

    async def register(self) -> None:
        node = self._node_object()
        self._startup_events()
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
        if self._latest_lease is not None:
            # As the kubelet's lease controller: update from the last lease written, one request;
            # on any failure (conflict, deleted) fall back to get-or-create. The last lease is
            # kept as JSON between renewals: decoded, its dicts and lists would outlive 10 s and
            # be walked by every generation of the garbage collector (10,000 agents).
            latest = orjson.loads(self._latest_lease)
            latest["spec"] = {**(latest.get("spec") or {}), **lease["spec"]}
            try:
                # The answer as the server's JSON bytes: not decoded only to be encoded again.
                self._latest_lease = bytes(await self.client.replace("leases", latest, as_bytes=True))
                return
            except ApiError:
                self._latest_lease = None
        try:
            current = await self.client.get("leases", self.config.name, "kube-node-lease")
        except ApiError as exc:
            if exc.code != 404:
                raise
            node = await self.client.get("nodes", self.config.name)
            lease["metadata"]["ownerReferences"] = [{
                "apiVersion": "v1", "kind": "Node", "name": self.config.name,
                "uid": node["metadata"]["uid"]}]
            self._latest_lease = orjson.dumps(await self.client.create("leases", lease, "kube-node-lease"))
            return
        current["spec"] = {**(current.get("spec") or {}), **lease["spec"]}
        self._latest_lease = orjson.dumps(await self.client.replace("leases", current))

    async def update_status(self) -> None:
        node = await self.client.get("nodes", self.config.name)
        node["status"] = self._merge_status(node.get("status") or {})
        await self.client.replace("nodes", node, "status")

    def _lease_due(self) -> None:
        """The clock's call: renew in a task of its own, which books the next renewal."""
        if self._lease_beat is not None:
            self._renewing = asyncio.create_task(self._renew_once(), name=f"lease-{self.config.name}")

    async def _renew_once(self) -> None:
        try:
            await self.renew_lease()
            now = time.monotonic()
            if now - self._last_renewal > LEASE_DURATION / 2:
                self.want_status()  # the node lifecycle controller may have given up on us
            self._last_renewal = now
        except Exception as exc:  # the API may be restarting; keep trying
            self.want_status()
            log.warning("node %s: lease renewal failed: %s", self.config.name, exc)
        if self._lease_beat is not None:
            self._lease_next = next_renewal(self._lease_next, time.monotonic())
            self.clock.call_at(self._lease_beat, self._lease_next)
        # Let the finished task go now, not at the next renewal: kept, it and its coroutine,
        # context and weak reference (asyncio's set of tasks) would live 10 s, long enough to
        # be walked by every generation of the cyclic collector (half of what its full
        # collections walked at 2,000 idle nodes).
        self._renewing = None

    # The status is a function of the agent's configuration and the clock: registration posted
    # it, and it does not change afterwards, so instead of the kubelet's look every 10 s (1,000
    # digests a second at 10,000 nodes) it is posted once per report period, on the heartbeat
    # clock (no task asleep per node, and the posts due together share the clock's wake-up),
    # or sooner when ``want_status`` is called. A status part that can change must call it.

    def _start_status_reports(self) -> None:
        if self._status_beat is not None:
            self.clock.remove(self._status_beat)
        self._status_beat = self.clock.add(self._status_due)
        self.clock.call_in(self._status_beat, random.random() * STATUS_REPORT)  # a random phase

    def want_status(self) -> None:
        """Post the status soon, before the report period is over: after a gap in the
        heartbeats (the node lifecycle controller may have set the conditions to Unknown, and
        only a status post sets them back), or when a part of the status changes."""
        if self._reporting is not None:
            self._status_again = True
        elif self._status_beat is not None:
            self.clock.call_in(self._status_beat, 0.0)

    def _status_due(self) -> None:
        """The clock's call: post in a task of its own, which books the next post."""
        if self._reporting is not None:
            self._status_again = True
        elif self._status_beat is not None:
            self._reporting = asyncio.create_task(self._report_status(), name=f"status-{self.config.name}")

    async def _report_status(self) -> None:
        try:
            while True:
                self._status_again = False
                try:
                    await self.update_status()
                    delay = jittered(STATUS_REPORT)
                except Exception as exc:
                    delay = jittered(STATUS_CHECK)  # try again at the next check
                    log.warning("node %s: status update failed: %s", self.config.name, exc)
                if not self._status_again:
                    break
            if self._status_beat is not None:
                self.clock.call_in(self._status_beat, delay)
        finally:
            self._reporting = None

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
        self._last_renewal = time.monotonic()
        if self._lease_beat is not None:
            self.clock.remove(self._lease_beat)
        self._lease_beat = self.clock.add(self._lease_due)
        self._lease_next = time.monotonic() + random.random() * LEASE_RENEW
        self.clock.call_at(self._lease_beat, self._lease_next)
        self._start_status_reports()
        self.stopped = False
        await self.start_pods()

    async def stop(self) -> None:
        """Stop the agent (cluster down): containers get SIGTERM, then SIGKILL after a short grace."""
        await self._stop_heartbeats()
        if self._own_clock:
            await self.clock.stop()
        await self.stop_pods(graceful=True)
        self.stopped = True

    async def pause(self) -> None:
        """``everynode node stop``: the host crashes. Heartbeats stop, containers die at once."""
        await self._stop_heartbeats()
        await self.stop_pods(graceful=False)
        self.stopped = True

    async def resume(self) -> None:
        """``everynode node start``: the host is back; pods start again."""
        await self.start()

    async def _stop_heartbeats(self) -> None:
        for beat in (self._lease_beat, self._status_beat):
            if beat is not None:
                self.clock.remove(beat)
        self._lease_beat = self._status_beat = None
        renewing, self._renewing = self._renewing, None
        reporting, self._reporting = self._reporting, None
        await cancel_and_wait([t for t in (renewing, reporting) if t is not None])

    # ------------------------------------------------------------------ pods

    @property
    def runtime(self) -> Runtime:
        return self.runtime_named(self.config.runtime)

    def runtime_named(self, name: str) -> Runtime:
        if self._runtime is not None and self._runtime.name == name:
            return self._runtime
        rt = self._runtimes.get(name)
        if rt is None:
            rt = self._make_runtime(name)
            self._runtimes[name] = rt
        return rt

    def _make_runtime(self, name: str) -> Runtime:
        if name == "simulated":
            from everynode.node.runtime.simulated import SimulatedRuntime

            return SimulatedRuntime(self.catalog, self.config.name, self.config.sim_startup,
                                    self.config.sim_failure_rate)
        from everynode.node.runtime.process import ProcessRuntime

        return ProcessRuntime(self.catalog, self.node_dir, self.config.cluster_id or "standalone", self.config.name)

    def runtime_for(self, pod: dict) -> Runtime:
        """The node's runtime, unless the pod asks for another (annotation everynode.io/runtime)."""
        wanted = ((pod.get("metadata") or {}).get("annotations") or {}).get("everynode.io/runtime")
        if wanted in ("process", "simulated") and wanted != self.config.runtime:
            return self.runtime_named(wanted)
        return self.runtime

    async def start_pods(self) -> None:
        self.node_dir.mkdir(parents=True, exist_ok=True)
        self.root_dir.mkdir(parents=True, exist_ok=True)
        await self.runtime.init()
        if self.config.runtime != "process" and (self.node_dir / "containers").exists():
            await self.runtime_named("process").init()  # a previous run may have used real processes
        await self.source.start()
        self.pods_running = True
        pods = self.source.subscribe(self.config.name, self)
        self._remove_orphaned_pod_dirs({(p.get("metadata") or {}).get("uid") for p in pods})
        for pod in pods:
            self.pod_added(pod)
        if self.config.static_pods:
            from everynode.node.static import StaticPods

            self.static = StaticPods(self)
            self.static.start()

    async def stop_pods(self, graceful: bool) -> None:
        self.pods_running = False
        self.source.unsubscribe(self.config.name)
        if self.static is not None:
            await self.static.stop()
            self.static = None
        workers = list(self.workers.values())
        self.workers.clear()
        if graceful:
            await asyncio.gather(*(w.shutdown(self.config.stop_grace_cap) for w in workers), return_exceptions=True)
        else:
            for w in workers:
                w.abort()
        for rt in {id(r): r for r in [self.runtime, *self._runtimes.values()]}.values():
            rt.kill_all_now()
            if graceful:
                await rt.close()
        if self._own_source:
            await self.source.stop()
        await self.events.flush()

    # PodListener: called by the pod source for pods bound to this node.

    def pod_added(self, pod: dict) -> None:
        if not self.pods_running:
            return
        meta = pod.get("metadata") or {}
        if (meta.get("annotations") or {}).get(MIRROR_ANNOTATION):
            if self.static is not None:
                self.static.mirror_changed(pod)
            return
        uid = meta.get("uid")
        if not uid or uid in self.workers:
            if uid in self.workers:
                self.workers[uid].update(pod)
            return
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed") and not meta.get("deletionTimestamp"):
            return  # finished before this agent started: nothing to run
        w = PodWorker(self, pod)
        self.workers[uid] = w
        w.start()

    def pod_updated(self, old: dict, pod: dict) -> None:
        uid = (pod.get("metadata") or {}).get("uid")
        w = self.workers.get(uid)
        if w is not None:
            w.update(pod)
        else:
            self.pod_added(pod)

    def pod_deleted(self, pod: dict) -> None:
        meta = pod.get("metadata") or {}
        if (meta.get("annotations") or {}).get(MIRROR_ANNOTATION):
            if self.static is not None:
                self.static.mirror_deleted(pod)
            return
        w = self.workers.get(meta.get("uid"))
        if w is not None:
            w.removed()
        elif meta.get("uid"):  # a pod that finished before this agent started: only files are left
            shutil.rmtree(self.pod_dir(meta["uid"]), ignore_errors=True)
            from everynode.node.logs import pod_log_dir

            shutil.rmtree(pod_log_dir(self.root_dir, meta.get("namespace", ""), meta.get("name", ""), meta["uid"]),
                          ignore_errors=True)
            self.unlink_container_logs(meta.get("namespace", ""), meta.get("name", ""), meta["uid"])

    def _remove_orphaned_pod_dirs(self, known: set) -> None:
        """Housekeeping: volumes and logs of pods deleted while the agent was away."""
        from everynode.node.static import read_manifests

        known = known | {p["metadata"]["uid"] for p in read_manifests(self.node_dir / "manifests",
                                                                        self.config.name).values()}
        for d in (self.node_dir / "pods").glob("*"):
            if d.name not in known:
                shutil.rmtree(d, ignore_errors=True)
        for d in (self.root_dir / "var" / "log" / "pods").glob("*_*_*"):
            ns, _, rest = d.name.partition("_")
            name, _, uid = rest.rpartition("_")
            if uid not in known:
                shutil.rmtree(d, ignore_errors=True)
                self.unlink_container_logs(ns, name, uid)

    def worker_finished(self, worker: PodWorker) -> None:
        if self.workers.get(worker.uid) is worker:
            del self.workers[worker.uid]

    def add_worker(self, worker: PodWorker) -> None:
        self.workers[worker.uid] = worker
        worker.start()

    # ------------------------------------------------ what workers ask for

    def pod_dir(self, uid: str) -> Path:
        return self.node_dir.joinpath("pods", uid)

    def allocatable(self) -> dict[str, str]:
        return dict(self.config.capacity)

    def service_env(self) -> dict[str, str]:
        """The 'kubernetes' service variables every container gets, pointing at the real API
        server (read-only: the same dict for every container)."""
        env = self._service_env
        if env is None or env[0] != self.client.config.server:
            env = self._service_env = (self.client.config.server, self._service_env_of(self.client.config.server))
        return env[1]

    @staticmethod
    def _service_env_of(server: str) -> dict[str, str]:
        url = urlparse(server)
        host = url.hostname or "127.0.0.1"
        port = str(url.port or (443 if url.scheme == "https" else 80))
        return {"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port,
                "KUBERNETES_SERVICE_PORT_HTTPS": port, "KUBERNETES_PORT": f"tcp://{host}:{port}",
                f"KUBERNETES_PORT_{port}_TCP": f"tcp://{host}:{port}",
                f"KUBERNETES_PORT_{port}_TCP_PROTO": "tcp", f"KUBERNETES_PORT_{port}_TCP_PORT": port,
                f"KUBERNETES_PORT_{port}_TCP_ADDR": host}

    def link_container_log(self, cfg) -> None:
        """/var/log/containers/<pod>_<ns>_<container>-<id>.log, as the kubelet links them."""
        links = self.root_dir / "var" / "log" / "containers"
        try:
            links.mkdir(parents=True, exist_ok=True)
            link = links / f"{cfg.pod_name}_{cfg.namespace}_{cfg.name}-{cfg.container_id}.log"
            if not link.is_symlink():
                link.symlink_to(cfg.log_path)
        except OSError:
            pass

    def unlink_container_logs(self, namespace: str, name: str, uid: str) -> None:
        links = self.root_dir / "var" / "log" / "containers"
        if not links.exists():
            return
        marker = f"{namespace}_{name}_{uid}"
        for link in links.glob(f"{name}_{namespace}_*.log"):
            try:
                if marker in os.readlink(link):
                    link.unlink()
            except OSError:
                pass

    # ------------------------------------------------------------------ logs

    def find_pod(self, namespace: str, name: str) -> tuple[dict, PodWorker | None] | None:
        for w in self.workers.values():
            if w.namespace == namespace and w.name == name:
                return (w.mirror if w.static and w.mirror else w.pod), w
        pod = self.source.get(namespace, name)
        if pod is not None and (pod.get("spec") or {}).get("nodeName") == self.config.name:
            return pod, None
        return None

    def container_logs(self, pod: dict, container: str, previous: bool, opts: LogOptions) -> AsyncIterator[bytes]:
        """The log stream kubectl logs asks for (pod as the API server has it); LogError when none."""
        meta = pod.get("metadata") or {}
        ns, name = meta.get("namespace", "default"), meta.get("name", "")
        container = choose_container(pod, container)
        found = self.find_pod(ns, name)
        worker = found[1] if found else None
        if worker is not None:
            pod = worker.mirror if worker.static and worker.mirror else worker.pod
            # The agent's own view is fresher than the API's while a status write is under way.
            pod = {**pod, "status": worker.build_status()}
        cid = select_instance(pod, container, previous)
        uid = worker.uid if worker is not None else meta.get("uid", "")
        attempt = _attempt_of(cid, uid, container, pod)
        if attempt is None:
            raise LogError(f'container "{container}" in pod "{name}" is not available')
        handle = worker.handles.get(container) if worker is not None else None
        runtime = worker.runtime if worker is not None else self.runtime
        if handle is not None and handle.run.id == cid:
            return runtime.logs(handle, opts, lambda: not handle.exited.done())
        path = container_log_path(self.root_dir, ns, name, uid, container, attempt)
        return runtime.logs(path, opts, lambda: False)

    # ----------------------------------------------------------------- stats

    async def stats_summary(self) -> dict:
        """Usage rates of the node and its pods (the kubelet's /stats/summary, trimmed)."""
        from everynode.node import stats

        def take() -> dict[str, tuple[int, int]]:
            usage = self.container_usage()
            if self.config.host_metrics:
                usage["__host__"] = stats.host_usage()
            if self.config.include_self_usage:
                usage["__self__"] = stats.self_usage()
            return usage

        if not hasattr(self, "_tracker"):
            self._tracker = stats.RateTracker()
        rates = await stats.two_samples(take, self._tracker)
        now = now_rfc3339()
        pods = []
        total_cpu = total_mem = 0
        window = 0.0
        for w in list(self.workers.values()):
            containers = []
            for name, h in w.handles.items():
                r = rates.get(h.run.id)
                if r is None or h.exited.done():
                    continue
                containers.append({"name": name, "cpu": {"time": now, "usageNanoCores": r[0]},
                                   "memory": {"time": now, "workingSetBytes": r[1]}})
                total_cpu += r[0]
                total_mem += r[1]
                window = max(window, r[2])
            if containers:
                target = w.mirror if w.static and w.mirror else w.pod
                meta = target.get("metadata") or {}
                pods.append({"podRef": {"name": meta.get("name"), "namespace": meta.get("namespace"),
                                        "uid": meta.get("uid")},
                             "labels": meta.get("labels") or {}, "window": window, "containers": containers})
        for key in ("__self__", "__host__"):
            r = rates.get(key)
            if r is None:
                continue
            window = max(window, r[2])
            if key == "__host__":
                total_cpu, total_mem = r[0], r[1]
            else:
                total_cpu += r[0]
                total_mem += r[1]
        return {"node": {"nodeName": self.config.name, "window": window or stats.MIN_WINDOW,
                         "cpu": {"time": now, "usageNanoCores": total_cpu},
                         "memory": {"time": now, "workingSetBytes": total_mem}},
                "pods": pods}

    def container_usage(self) -> dict[str, tuple[int, int]]:
        handles_by_rt: dict[int, tuple[Runtime, list]] = {}
        for w in self.workers.values():
            rt = w.runtime
            handles_by_rt.setdefault(id(rt), (rt, []))[1].extend(w.handles.values())
        out: dict[str, tuple[int, int]] = {}
        for rt, handles in handles_by_rt.values():
            out.update(rt.usage(handles))
        return out


@functools.cache
def _arch() -> str:
    m = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(m, m)


@functools.cache
def _kernel() -> str:
    return platform.release()


@functools.cache
def _os_image() -> str:
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return socket.gethostname()


def _attempt_of(cid: str, uid: str, container: str, pod: dict) -> int | None:
    """The attempt number behind a container id (ids are derived from uid, name and attempt)."""
    hexid = cid.split("://", 1)[-1]
    top = 0
    st = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses"):
        for s in st.get(key) or []:
            if s.get("name") == container:
                top = int(s.get("restartCount") or 0)
    for attempt in range(top + 2, -1, -1):
        if container_id(uid, container, attempt) == hexid:
            return attempt
    return None


def cluster_id_for(data_dir: Path) -> str:
    return hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:8]


def node_address(cluster_id: str, name: str) -> str:
    """A loopback address of its own for each embedded node (127.x.y.z, stable for a name).

    Pods run in the host's network, so each node binding its own address lets
    the same DaemonSet listen on the same port on every node of one host.
    """
    h = hashlib.sha256(f"{cluster_id}/{name}".encode()).digest()
    return f"127.{h[0]}.{h[1]}.{2 + h[2] % 252}"

