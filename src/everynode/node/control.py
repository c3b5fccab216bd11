"""The control channel of a running ``everynode up``: node add / remove / stop / start.

The cluster process listens on 127.0.0.1 on a free port and writes
``<data-dir>/control.json`` ({"url": ..., "pid": ...}); requests carry the
cluster's admin token (``pki/admin.token``) as a bearer token, so only
whoever can read the data dir can drive it. Endpoints (JSON)::

    GET    /nodes                 agents of this process and their state
    POST   /nodes                 {"name", "labels", "taints", "cpu", "memory", "pods", "runtime"}
    DELETE /nodes/<name>          cordon, evict non-daemon pods, stop the agent, delete the Node
    POST   /nodes/<name>/stop     the agent stops heartbeating and its containers die (a crashed host)
    POST   /nodes/<name>/start    the agent comes back

Nodes added this way are remembered in ``<data-dir>/nodes.json`` and come
back with the cluster after ``everynode down`` / ``up``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from everynode.api.errors import ApiError
from everynode.api.quantity import parse_quantity
from everynode.node.agent import NodeConfig, host_capacity, parse_taint

log = logging.getLogger("everynode.node.control")

Obj = dict[str, Any]
EXTRA_NODES = "nodes.json"


def load_extra_nodes(data_dir: Path) -> list[Obj]:
    try:
        return list(json.loads((data_dir / EXTRA_NODES).read_text()).get("nodes") or [])
    except (OSError, ValueError):
        return []


def save_extra_nodes(data_dir: Path, nodes: list[Obj]) -> None:
    tmp = data_dir / (EXTRA_NODES + ".tmp")
    tmp.write_text(json.dumps({"nodes": nodes}, indent=2) + "\n")
    os.replace(tmp, data_dir / EXTRA_NODES)


def node_spec_errors(spec: Obj) -> list[str]:
    """Problems with a node-add request (pure)."""
    errs = []
    name = spec.get("name") or ""
    from everynode.api.validation import is_dns1123_subdomain

    if not name:
        errs.append("a node name is required")
    else:
        errs += [f"invalid node name {name!r}: {m}" for m in is_dns1123_subdomain(name)]
    for t in spec.get("taints") or []:
        try:
            taint = parse_taint(t) if isinstance(t, str) else t
        except ValueError as exc:
            errs.append(str(exc))
            continue
        if taint.get("effect") not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            errs.append(f"invalid taint effect {taint.get('effect')!r} in {t!r}: "
                        f"must be NoSchedule, PreferNoSchedule or NoExecute")
    for key in ("cpu", "memory"):
        if spec.get(key) is not None:
            try:
                parse_quantity(str(spec[key]))
            except ValueError:
                errs.append(f"invalid --{key} {spec[key]!r}: not a quantity")
    if spec.get("pods") is not None:
        try:
            if int(spec["pods"]) < 1:
                raise ValueError
        except (TypeError, ValueError):
            errs.append(f"invalid --pods {spec['pods']!r}: must be a positive integer")
    if spec.get("runtime") not in (None, "process", "simulated"):
        errs.append(f"invalid runtime {spec.get('runtime')!r}: process or simulated")
    return errs


def node_config(spec: Obj, default_runtime: str) -> NodeConfig:
    capacity = host_capacity()
    for key in ("cpu", "memory"):
        if spec.get(key) is not None:
            capacity[key] = str(spec[key])
    if spec.get("pods") is not None:
        capacity["pods"] = str(int(spec["pods"]))
    taints = [parse_taint(t) if isinstance(t, str) else dict(t) for t in spec.get("taints") or []]
    return NodeConfig(name=spec["name"], labels=dict(spec.get("labels") or {}), taints=taints,
                      capacity=capacity, runtime=spec.get("runtime") or default_runtime)


def is_daemon_pod(pod: Obj) -> bool:
    return any(o.get("kind") == "DaemonSet" and o.get("controller")
               for o in (pod.get("metadata") or {}).get("ownerReferences") or [])


def is_mirror_pod(pod: Obj) -> bool:
    return "kubernetes.io/config.mirror" in ((pod.get("metadata") or {}).get("annotations") or {})


def pods_to_evict(pods: list[Obj]) -> list[Obj]:
    """What ``kubectl drain --ignore-daemonsets --force --delete-emptydir-data`` evicts (pure)."""
    return [p for p in pods
            if not is_daemon_pod(p) and not is_mirror_pod(p)
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]


class ControlServer:
    def __init__(self, cluster):
        self.cluster = cluster
        self.runner: web.AppRunner | None = None
        self._lock = asyncio.Lock()

    @property
    def path(self) -> Path:
        return self.cluster.data_dir / "control.json"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/nodes", self.list_nodes)
        app.router.add_post("/nodes", self.add_node)
        app.router.add_delete("/nodes/{name}", self.remove_node)
        app.router.add_post("/nodes/{name}/stop", self.stop_node)
        app.router.add_post("/nodes/{name}/start", self.start_node)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"url": f"http://127.0.0.1:{port}", "pid": os.getpid()}, f)
        os.replace(tmp, self.path)

    async def stop(self) -> None:
        try:
            self.path.unlink()
        except OSError:
            pass
        if self.runner is not None:
            await self.runner.cleanup()

    # ----------------------------------------------------------------- http

    def _check(self, request: web.Request) -> None:
        auth = request.headers.get("Authorization", "")
        token = self.cluster.server.token if self.cluster.server else ""
        if not auth.startswith("Bearer ") or not hmac.compare_digest(auth[7:].encode(), token.encode()):
            raise web.HTTPUnauthorized(text=json.dumps({"error": "unauthorized"}), content_type="application/json")

    @staticmethod
    def _error(status: int, message: str) -> web.Response:
        return web.json_response({"error": message}, status=status)

    async def list_nodes(self, request: web.Request) -> web.Response:
        self._check(request)
        return web.json_response({"nodes": [{"name": n, "runtime": a.config.runtime, "stopped": a.stopped,
                                             "address": a.config.address}
                                            for n, a in self.cluster.agents.items()]})

    async def add_node(self, request: web.Request) -> web.Response:
        self._check(request)
        try:
            spec = await request.json()
        except ValueError:
            return self._error(400, "the request body must be JSON")
        errs = node_spec_errors(spec)
        if errs:
            return self._error(400, "; ".join(errs))
        name = spec["name"]
        async with self._lock:
            if name in self.cluster.agents:
                return self._error(409, f'node "{name}" already exists')
            try:
                await self.cluster.client.get("nodes", name)
                return self._error(409, f'node "{name}" already exists (not run by this cluster)')
            except ApiError as exc:
                if exc.code != 404:
                    return self._error(502, exc.message)
            cfg = node_config(spec, self.cluster.settings.runtime)
            agent = await self.cluster.add_agent(cfg)
            extra = [n for n in load_extra_nodes(self.cluster.data_dir) if n.get("name") != name]
            extra.append({k: spec.get(k) for k in ("name", "labels", "taints", "cpu", "memory", "pods", "runtime")
                          if spec.get(k) is not None})
            save_extra_nodes(self.cluster.data_dir, extra)
        ok = await _wait_ready(self.cluster.client, name, 60)
        if not ok:
            return self._error(504, f'node "{name}" did not become Ready')
        return web.json_response({"name": name, "address": agent.config.address, "ready": True}, status=201)

    async def stop_node(self, request: web.Request) -> web.Response:
        self._check(request)
        agent = self.cluster.agents.get(request.match_info["name"])
        if agent is None:
            return self._error(404, f'node "{request.match_info["name"]}" is not run by this cluster')
        if not agent.stopped:
            await agent.pause()
        self._remember_stopped(agent.config.name, True)
        return web.json_response({"name": agent.config.name, "stopped": True})

    async def start_node(self, request: web.Request) -> web.Response:
        self._check(request)
        agent = self.cluster.agents.get(request.match_info["name"])
        if agent is None:
            return self._error(404, f'node "{request.match_info["name"]}" is not run by this cluster')
        if agent.stopped:
            await agent.resume()
        self._remember_stopped(agent.config.name, False)
        ok = await _wait_ready(self.cluster.client, agent.config.name, 60)
        return web.json_response({"name": agent.config.name, "stopped": False, "ready": ok})

    def _remember_stopped(self, name: str, stopped: bool) -> None:
        path = self.cluster.data_dir / "stopped-nodes.json"
        try:
            names = set(json.loads(path.read_text()))
        except (OSError, ValueError):
            names = set()
        names = (names | {name}) if stopped else (names - {name})
        path.write_text(json.dumps(sorted(names)))

    async def remove_node(self, request: web.Request) -> web.Response:
        self._check(request)
        name = request.match_info["name"]
        client = self.cluster.client
        agent = self.cluster.agents.get(name)
        try:
            await client.get("nodes", name)
        except ApiError as exc:
            if exc.code == 404 and agent is None:
                return self._error(404, f'nodes "{name}" not found')
        evicted = await drain(client, name)
        if agent is not None:
            await agent.stop()
            self.cluster.agents.pop(name, None)
            shutil.rmtree(agent.node_dir, ignore_errors=True)
        try:
            await client.delete("nodes", name)
        except ApiError as exc:
            if exc.code != 404:
                return self._error(502, exc.message)
        save_extra_nodes(self.cluster.data_dir,
                         [n for n in load_extra_nodes(self.cluster.data_dir) if n.get("name") != name])
        self._remember_stopped(name, False)
        return web.json_response({"name": name, "removed": True, "evicted": evicted})


async def _wait_ready(client, name: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            node = await client.get("nodes", name)
            for c in (node.get("status") or {}).get("conditions") or []:
                if c.get("type") == "Ready" and c.get("status") == "True":
                    return True
        except ApiError:
            pass
        await asyncio.sleep(0.2)
    return False


async def drain(client, node: str, timeout: float = 120) -> list[str]:
    """Cordon the node and evict its non-daemon pods (eviction API); wait until they are gone."""
    try:
        await client.patch("nodes", node, {"spec": {"unschedulable": True}})
    except ApiError as exc:
        if exc.code != 404:
            raise
    try:
        body = await client.list("pods", fieldSelector=f"spec.nodeName={node}")
        pods = body.get("items") or []
    except ApiError:
        body = await client.list("pods")
        pods = [p for p in body.get("items") or [] if (p.get("spec") or {}).get("nodeName") == node]
    victims = pods_to_evict(pods)
    names = []
    for p in victims:
        meta = p["metadata"]
        names.append(f"{meta['namespace']}/{meta['name']}")
        eviction = {"apiVersion": "policy/v1", "kind": "Eviction",
                    "metadata": {"name": meta["name"], "namespace": meta["namespace"]}}
        try:
            await client.post_subresource("pods", meta["name"], meta["namespace"], "eviction", eviction)
        except ApiError as exc:
            if exc.code != 404:
                log.warning("evicting %s/%s: %s", meta["namespace"], meta["name"], exc)
    deadline = time.monotonic() + timeout
    pending = {(p["metadata"]["namespace"], p["metadata"]["name"], p["metadata"]["uid"]) for p in victims}
    while pending and time.monotonic() < deadline:
        for ns, name, uid in list(pending):
            try:
                cur = await client.get("pods", name, ns)
                if cur["metadata"].get("uid") != uid:
                    pending.discard((ns, name, uid))
            except ApiError as exc:
                if exc.code == 404:
                    pending.discard((ns, name, uid))
        if pending:
            await asyncio.sleep(0.3)
    return names


def control_url(data_dir: Path) -> str | None:
    try:
        return json.loads((data_dir / "control.json").read_text()).get("url")
    except (OSError, ValueError):
        return None
