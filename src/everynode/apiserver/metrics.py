"""metrics.k8s.io/v1beta1: NodeMetrics and PodMetrics, so ``kubectl top`` works.

What metrics-server does, without a separate deployment: on each request
the API server asks every node agent for its usage summary (an agent in
this process directly, others on their kubelet endpoint ``/stats/summary``)
and answers NodeMetrics / PodMetrics lists and objects. Usage comes from
the containers' real processes (cgroups or /proc); a node's usage is the
sum of its pods (plus the cluster process on the control-plane node), or
the whole host for an agent joined from its own machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from everynode.api import errors, selectors
from everynode.api.errors import ApiError
from everynode.apiserver.objects import now_rfc3339
from everynode.apiserver.podlogs import node_endpoint
from everynode.node.stats import cpu_quantity, memory_quantity

GROUP, VERSION = "metrics.k8s.io", "v1beta1"
GV = f"{GROUP}/{VERSION}"
RESOURCES = [
    {"name": "nodes", "singularName": "", "namespaced": False, "kind": "NodeMetrics", "verbs": ["get", "list"]},
    {"name": "pods", "singularName": "", "namespaced": True, "kind": "PodMetrics", "verbs": ["get", "list"]},
]

Obj = dict[str, Any]


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def _not_found(resource: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{resource}.{GROUP} "{name}" not found',
                    {"name": name, "group": GROUP, "kind": resource})


def _window(seconds: float) -> str:
    return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"


def node_metrics(node: Obj, summary: Obj) -> Obj:
    n = summary["node"]
    meta = node.get("metadata") or {}
    return {"metadata": {"name": meta.get("name"), "creationTimestamp": now_rfc3339(),
                         "labels": meta.get("labels") or {}},
            "timestamp": n["cpu"]["time"], "window": _window(n.get("window") or 1.0),
            "usage": {"cpu": cpu_quantity(n["cpu"]["usageNanoCores"]),
                      "memory": memory_quantity(n["memory"]["workingSetBytes"])}}


def pod_metrics(pod_summary: Obj) -> Obj:
    ref = pod_summary["podRef"]
    ts = now_rfc3339()
    return {"metadata": {"name": ref["name"], "namespace": ref["namespace"], "creationTimestamp": ts,
                         "labels": pod_summary.get("labels") or {}},
            "timestamp": ts, "window": _window(pod_summary.get("window") or 1.0),
            "containers": [{"name": c["name"], "usage": {"cpu": cpu_quantity(c["cpu"]["usageNanoCores"]),
                                                         "memory": memory_quantity(c["memory"]["workingSetBytes"])}}
                           for c in pod_summary.get("containers") or []]}


class MetricsApi:
    def __init__(self, server, local: Callable[[str], Any]):
        self.server = server
        self.local = local
        self._session: aiohttp.ClientSession | None = None

    def install(self) -> None:
        s = self.server
        if (GROUP, VERSION) not in s.extra_groups:
            s.extra_groups.append((GROUP, VERSION))
        extra = getattr(s, "extra_resources", None)
        if extra is None:
            extra = {}
            s.extra_resources = extra
        extra[GV] = RESOURCES
        s.extra_apis[GV] = self.handle

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    # ---------------------------------------------------------------- data

    def _nodes(self) -> list[Obj]:
        kind = self.server.by_gv["v1"]["nodes"]
        entries, _ = self.server.store.list(f"{kind.qualified_plural}/")
        return [e.value for e in entries]

    async def _summary(self, node: Obj) -> Obj | None:
        name = node["metadata"]["name"]
        agent = self.local(name)
        if agent is not None:
            if agent.stopped:
                return None
            return await agent.stats_summary()
        addr, port = node_endpoint(node)
        if not addr:
            return None
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False))
        try:
            async with self._session.get(f"https://{addr}:{port}/stats/summary",
                                         headers={"Authorization": f"Bearer {self.server.token}"},
                                         timeout=aiohttp.ClientTimeout(total=5)) as resp:
                if resp.status != 200:
                    return None
                return await resp.json()
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
            return None

    async def _summaries(self, nodes: list[Obj]) -> list[tuple[Obj, Obj]]:
        results = await asyncio.gather(*(self._summary(n) for n in nodes), return_exceptions=True)
        return [(n, r) for n, r in zip(nodes, results, strict=True) if isinstance(r, dict)]

    # ------------------------------------------------------------- routing

    async def handle(self, request: web.Request, rest: list[str]) -> web.StreamResponse:
        if request.method != "GET":
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        q = request.query
        label_sel = selectors.parse_label_selector(q["labelSelector"]) if q.get("labelSelector") else None
        if rest and rest[0] == "nodes" and len(rest) <= 2:
            nodes = self._nodes()
            if len(rest) == 2:
                nodes = [n for n in nodes if n["metadata"]["name"] == rest[1]]
                if not nodes:
                    raise _not_found("nodemetrics", rest[1])
            elif label_sel is not None:
                nodes = [n for n in nodes if label_sel.matches(n["metadata"].get("labels") or {})]
            items = [node_metrics(n, s) for n, s in await self._summaries(nodes)]
            if len(rest) == 2:
                if not items:
                    raise _not_found("nodemetrics", rest[1])
                return _json({"kind": "NodeMetrics", "apiVersion": GV, **items[0]})
            return _json({"kind": "NodeMetricsList", "apiVersion": GV, "metadata": {}, "items": items})
        namespace, name = None, None
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] == "pods":
            namespace, rest = rest[1], rest[2:]
        if not rest or rest[0] != "pods" or len(rest) > 2:
            raise errors.path_not_found()
        if len(rest) == 2:
            name = rest[1]
        items = []
        for _node, summary in await self._summaries(self._nodes()):
            for p in summary.get("pods") or []:
                ref = p["podRef"]
                if namespace and ref.get("namespace") != namespace:
                    continue
                if name and ref.get("name") != name:
                    continue
                if label_sel is not None and not label_sel.matches(p.get("labels") or {}):
                    continue
                items.append(pod_metrics(p))
        if name is not None:
            if not items:
                raise _not_found("podmetrics", f"{namespace}/{name}" if namespace else name)
            return _json({"kind": "PodMetrics", "apiVersion": GV, **items[0]})
        items.sort(key=lambda i: (i["metadata"]["namespace"], i["metadata"]["name"]))
        return _json({"kind": "PodMetricsList", "apiVersion": GV, "metadata": {}, "items": items})


def install(server, local: Callable[[str], Any]) -> MetricsApi:
    api = MetricsApi(server, local)
    api.install()
    return api
