"""The embedded cluster behind ``everynode up``: store, API server, control
loops and node agents in one process, with its state in a data dir.

Data dir layout:
  state.db          SQLite store (every API object)
  pki/              CA, serving certificate, admin token
  kubeconfig        for kubectl and clients
  cluster.json      settings that a restart keeps (port, nodes, runtime)
  everynode.pid     pid of the running cluster
  everynode.log     log of a detached cluster
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from dataclasses import asdict, dataclass
from pathlib import Path

from everynode.aiotools import cancel_and_wait
from everynode.apiserver import certs
from everynode.apiserver.app import ApiServer, serve, ssl_context
from everynode.client.rest import Client, Config  # noqa: F401
from everynode.node.agent import NodeAgent, NodeConfig
from everynode.node.heartbeats import HeartbeatClock
from everynode.storage.sqlite import SqliteStore

log = logging.getLogger("everynode")

CONTROL_PLANE = "everynode-control-plane"
# Parts of stored objects that many objects repeat verbatim: all the pods of a DaemonSet share
# their containers, tolerations, labels and owner; the daemon pods of one node their node
# affinity and addresses; pods that started in the same second their conditions; nodes of one
# kind their capacity and images.
SHARED_SUBTREES = {
    "pods": [("spec", "containers"), ("spec", "tolerations"), ("spec", "volumes"), ("spec", "affinity"),
             ("metadata", "labels"), ("metadata", "ownerReferences"),
             ("status", "conditions"), ("status", "hostIPs"), ("status", "podIPs")],
    "nodes": [("status", "capacity"), ("status", "allocatable"), ("status", "images"),
              ("metadata", "labels")],
}


def node_names(n: int) -> list[str]:
    """kind's naming: control-plane, worker, worker2, worker3, ..."""
    names = [CONTROL_PLANE]
    for i in range(1, n):
        names.append("everynode-worker" if i == 1 else f"everynode-worker{i}")
    return names


@dataclass
class Settings:
    port: int = 6443
    nodes: int = 3
    runtime: str = "process"
    controllers: bool = True
    node_grace_period: float = 40.0

    @classmethod
    def load(cls, data_dir: Path) -> Settings | None:
        path = data_dir / "cluster.json"
        if not path.exists():
            return None
        raw = json.loads(path.read_text())
        return cls(**{k: v for k, v in raw.items() if k in cls.__dataclass_fields__})

    def save(self, data_dir: Path) -> None:
        (data_dir / "cluster.json").write_text(json.dumps(asdict(self), indent=2) + "\n")


def default_data_dir() -> Path:
    return Path(os.environ.get("EVERYNODE_DATA_DIR") or ".everynode").resolve()


def read_pid(data_dir: Path) -> int | None:
    try:
        pid = int((data_dir / "everynode.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


class Cluster:
    def __init__(self, data_dir: Path, settings: Settings):
        self.data_dir = data_dir
        self.settings = settings
        self.store: SqliteStore | None = None
        self.server: ApiServer | None = None
        self.runner = None
        self.agents: dict[str, NodeAgent] = {}
        self.heartbeats = HeartbeatClock()  # the agents' lease renewals
        self.client: Client | None = None
        self.stop_event = asyncio.Event()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.settings.port}"

    async def start(self) -> None:
        from everynode import gcpolicy
        from everynode.apiserver import metrics, podlogs
        from everynode.node import controlplane
        from everynode.node.control import ControlServer, load_extra_nodes, node_config
        from everynode.node.podsource import PodSource

        pace = gcpolicy.pace_from_env(os.environ)  # before anything starts: a bad value stops here
        gcpolicy.install()
        self.gc_task = asyncio.create_task(gcpolicy.pace(pace), name="gc-pace") if pace > 0 else None

        d = self.data_dir
        creds = certs.ensure_credentials(d)
        # Events are most of the objects (5 per daemon pod) and no component holds them
        # decoded: the store keeps them as JSON bytes only.
        self.store = SqliteStore(d / "state.db", bytes_only=("events",), shared=SHARED_SUBTREES)
        await self.store.start()
        self.server = ApiServer(self.store, creds.token)
        # pods/log and metrics.k8s.io are answered by the node agents (in this process or remote).
        self.podlogs = podlogs.install(self.server, self.agents.get)
        self.metrics = metrics.install(self.server, self.agents.get)
        await self.server.bootstrap()
        self.runner = await serve(self.server, "127.0.0.1", self.settings.port,
                                  ssl_context(str(creds.server_cert), str(creds.server_key)))
        certs.write_kubeconfig(d / "kubeconfig", self.url, creds)
        log.info("API server listening on %s", self.url)
        # Embedded controllers and agents call the API server in-process (same handler, no TLS/HTTP).
        from everynode.client.local import LocalClient

        self.client = LocalClient(Config(server=self.url, token=creds.token, ca_file=str(creds.ca_cert)),
                                  self.server)
        # The embedded agents share one watch of bound pods.
        self.pod_source = PodSource(self.client)
        self.controller_log = controlplane.install_controller_log(d)
        if self.settings.controllers:
            self.start_controllers()
        for i, name in enumerate(node_names(self.settings.nodes)):
            cfg = NodeConfig(name=name, runtime=self.settings.runtime)
            if i == 0:
                cfg.labels["node-role.kubernetes.io/control-plane"] = ""
                cfg.labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
                cfg.taints.append({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"})
                manifests = d / "nodes" / name / "manifests"
                if self.settings.controllers:
                    controlplane.write_controller_manager_manifest(manifests, d / "logs" / "kube-controller-manager.log")
                else:
                    (manifests / controlplane.MANIFEST).unlink(missing_ok=True)
            await self.add_agent(cfg)
        for spec in load_extra_nodes(d):  # nodes added with 'everynode node add'
            if spec.get("name") not in self.agents:
                await self.add_agent(node_config(spec, self.settings.runtime))
        try:
            stopped = json.loads((d / "stopped-nodes.json").read_text())
        except (OSError, ValueError):
            stopped = []
        for name in stopped:
            if name in self.agents:
                await self.agents[name].pause()
        self.control = ControlServer(self)
        await self.control.start()
        gcpolicy.settle()  # the nodes are registered

    def start_controllers(self) -> None:
        from everynode.controllers.manager import ControllerManager, Timings

        assert self.client is not None
        # Faster than upstream's defaults (documented in docs/architecture.md) so that
        # node failure demos and tests take seconds, not minutes.
        timings = Timings(node_grace_period=self.settings.node_grace_period, node_startup_grace=0,
                          podgc_interval=2.0, podgc_quarantine=2.0)
        # Leader election as kube-controller-manager does it: a second controller
        # manager pointed at this cluster waits instead of acting twice.
        manager = ControllerManager(self.client, timings=timings, leader_elect=True)
        self.controller_task = asyncio.create_task(manager.run(), name="controller-manager")

    async def add_agent(self, cfg: NodeConfig) -> NodeAgent:
        from everynode.node.agent import cluster_id_for, node_address

        assert self.client is not None
        cfg.cluster_id = cfg.cluster_id or cluster_id_for(self.data_dir)
        cfg.node_dir = cfg.node_dir or self.data_dir / "nodes" / cfg.name
        if cfg.address == "127.0.0.1":
            cfg.address = node_address(cfg.cluster_id, cfg.name)
        cfg.include_self_usage = cfg.name == CONTROL_PLANE
        agent = NodeAgent(self.client, cfg, pod_source=getattr(self, "pod_source", None), clock=self.heartbeats)
        await agent.start()
        self.agents[cfg.name] = agent
        log.info("node %s is up", cfg.name)
        return agent

    async def stop(self) -> None:
        task = getattr(self, "controller_task", None)
        if task is not None:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        control = getattr(self, "control", None)
        if control is not None:
            await control.stop()
        await asyncio.gather(*(agent.stop() for agent in self.agents.values()), return_exceptions=True)
        await self.heartbeats.stop()
        source = getattr(self, "pod_source", None)
        if source is not None:
            await source.stop()
        for extra in (getattr(self, "podlogs", None), getattr(self, "metrics", None)):
            if extra is not None:
                await extra.close()
        if getattr(self, "controller_log", None) is not None:
            from everynode.node.controlplane import remove_controller_log

            remove_controller_log(self.controller_log)
        if self.client is not None:
            await self.client.close()
        if self.server is not None:
            self.server.stopping.set()
        if self.runner is not None:
            await self.runner.cleanup()
        if self.store is not None:
            await self.store.close()
            self._verify_shared_objects()
        self._report_view_mismatches()
        from everynode import gcpolicy

        await cancel_and_wait([getattr(self, "gc_task", None)])
        gcpolicy.uninstall()

    def _verify_shared_objects(self) -> None:
        """In-process watchers share the store's decoded objects (client/local.py); one that
        modified them would corrupt what the API serves. With EVERYNODE_VERIFY_CACHE set (the
        test suite sets it), every stored object is compared with the JSON it was stored as."""
        if not os.environ.get("EVERYNODE_VERIFY_CACHE") or self.store is None:
            return
        changed = self.store.modified_in_memory()
        if changed:
            log.error("objects modified in memory after they were stored: %s", ", ".join(changed[:20]))
            (self.data_dir / "cache-violations.txt").write_text("\n".join(changed) + "\n")

    def _report_view_mismatches(self) -> None:
        """With EVERYNODE_VERIFY_DS_VIEW set (the test suite sets it) the DaemonSet controller
        plans every sync both incrementally and in full; differences are written out here."""
        from everynode.controllers.daemonset.controller import VIEW_MISMATCHES

        if VIEW_MISMATCHES:
            (self.data_dir / "ds-view-mismatches.txt").write_text("\n".join(VIEW_MISMATCHES) + "\n")


async def run_foreground(data_dir: Path, settings: Settings, on_ready=None) -> None:
    cluster = Cluster(data_dir, settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, cluster.stop_event.set)
    pid_file = data_dir / "everynode.pid"
    pid_file.write_text(f"{os.getpid()}\n")
    try:
        await cluster.start()
        if on_ready is not None:
            on_ready(cluster)
        await cluster.stop_event.wait()
    finally:
        await cluster.stop()
        try:
            if pid_file.read_text().strip() == str(os.getpid()):
                pid_file.unlink()
        except OSError:
            pass
