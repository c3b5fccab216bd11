"""Static pods: pods the node runs from its manifest directory, mirrored in the API.

As the kubelet's file source: every ``*.yaml``/``*.yml``/``*.json`` file in
``<node-dir>/manifests`` holds a Pod. Its name gets the node's name
appended, its namespace defaults to ``default``, its uid is a hash of the
manifest (a changed manifest is a new pod) and it tolerates every
NoExecute taint. The agent runs it like any pod and keeps a *mirror pod* in
the API (annotation ``kubernetes.io/config.mirror``, owned by the Node)
carrying its status. Deleting the mirror only makes the agent recreate it;
removing the manifest stops the pod and deletes the mirror. Changes to the
directory are noticed within a second (its listing is compared every half
second), everything is re-read every 20 s, and at once when a mirror changes.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from everynode.aiotools import cancel_and_wait
from everynode.api.errors import ApiError
from everynode.apiserver.objects import now_rfc3339
from everynode.node.worker import PodWorker

if TYPE_CHECKING:
    from everynode.node.agent import NodeAgent

log = logging.getLogger("everynode.node.static")

Obj = dict[str, Any]
MIRROR = "kubernetes.io/config.mirror"
HASH = "kubernetes.io/config.hash"
CHECK_PERIOD = 20.0
WATCH_PERIOD = 0.5  # how often the manifest directory's listing is compared


def static_pod(doc: Obj, node: str) -> Obj | None:
    """The pod a manifest describes on ``node`` (pure): name, namespace, uid, annotations, nodeName."""
    if not isinstance(doc, dict) or doc.get("kind", "Pod") != "Pod" or not (doc.get("metadata") or {}).get("name"):
        return None
    pod = copy.deepcopy(doc)
    pod["apiVersion"], pod["kind"] = "v1", "Pod"
    meta = pod["metadata"]
    meta["name"] = f"{meta['name']}-{node}".lower()
    meta["namespace"] = meta.get("namespace") or "default"
    spec = pod.setdefault("spec", {})
    spec["nodeName"] = node
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    tolerations = spec.setdefault("tolerations", [])
    if not any(t.get("operator") == "Exists" and not t.get("key") and t.get("effect") == "NoExecute"
               for t in tolerations):
        tolerations.append({"operator": "Exists", "effect": "NoExecute"})
    for key in ("uid", "resourceVersion", "creationTimestamp"):
        meta.pop(key, None)
    digest = hashlib.md5(json.dumps(pod, sort_keys=True).encode()).hexdigest()  # noqa: S324 - an id, not security
    meta["uid"] = digest
    ann = meta.setdefault("annotations", {})
    ann[HASH] = digest
    ann["kubernetes.io/config.source"] = "file"
    return pod


def read_manifests(directory: Path, node: str) -> dict[str, Obj]:
    out: dict[str, Obj] = {}
    if not directory.is_dir():
        return out
    for f in sorted(directory.iterdir()):
        if f.suffix not in (".yaml", ".yml", ".json") or f.name.startswith("."):
            continue
        try:
            docs = list(yaml.safe_load_all(f.read_text()))
        except (OSError, yaml.YAMLError) as exc:
            log.warning("static pod manifest %s is not readable: %s", f, exc)
            continue
        for doc in docs:
            pod = static_pod(doc, node)
            if pod is not None:
                out[f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"] = pod
    return out


def mirror_of(pod: Obj, node_uid: str | None) -> Obj:
    mirror = copy.deepcopy(pod)
    meta = mirror["metadata"]
    meta.pop("uid", None)
    meta["annotations"] = {**meta.get("annotations", {}), MIRROR: meta["annotations"][HASH],
                           "kubernetes.io/config.seen": now_rfc3339()}
    if node_uid:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": pod["spec"]["nodeName"],
                                    "uid": node_uid, "controller": True}]
    mirror.pop("status", None)
    return mirror


class StaticPods:
    def __init__(self, agent: NodeAgent):
        self.agent = agent
        self.dir = agent.node_dir / "manifests"
        self.workers: dict[str, PodWorker] = {}  # ns/name -> worker
        self.mirrors: dict[str, Obj] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        for pod in self.agent.source.pods_on(self.agent.config.name):
            if ((pod.get("metadata") or {}).get("annotations") or {}).get(MIRROR):
                self.mirrors[_key(pod)] = pod
        self._task = asyncio.create_task(self._loop(), name=f"static-{self.agent.config.name}")

    async def stop(self) -> None:
        await cancel_and_wait([self._task])
        self._task = None
        self.workers.clear()

    def mirror_changed(self, pod: Obj) -> None:
        key = _key(pod)
        self.mirrors[key] = pod
        w = self.workers.get(key)
        if w is not None and _hash(pod) == w.uid and not pod["metadata"].get("deletionTimestamp"):
            w.mirror = pod
        else:
            self._wake.set()

    def mirror_deleted(self, pod: Obj) -> None:
        key = _key(pod)
        if self.mirrors.get(key, {}).get("metadata", {}).get("uid") == pod["metadata"].get("uid"):
            self.mirrors.pop(key, None)
        w = self.workers.get(key)
        if w is not None and w.mirror is not None and w.mirror["metadata"].get("uid") == pod["metadata"].get("uid"):
            w.mirror = None
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                await self.sync()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("static pods of %s: sync failed", self.agent.config.name)
            await self._wait_for_change()
            self._wake.clear()

    def _dir_stamp(self) -> tuple:
        """Names, sizes and mtimes of the manifests: cheap to read, changes with any edit."""
        try:
            return tuple(sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns)
                                for e in os.scandir(self.dir) if e.is_file()))
        except OSError:
            return ()

    async def _wait_for_change(self) -> None:
        """Like the kubelet's inotify source: react within a second to manifest edits,
        and re-read everything every CHECK_PERIOD regardless."""
        stamp = self._dir_stamp()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CHECK_PERIOD
        while loop.time() < deadline:
            try:
                await asyncio.wait_for(self._wake.wait(), WATCH_PERIOD)
                return
            except TimeoutError:
                pass
            if self._dir_stamp() != stamp:
                return

    async def sync(self) -> None:
        desired = read_manifests(self.dir, self.agent.config.name)
        for key, w in list(self.workers.items()):
            if key not in desired or desired[key]["metadata"]["uid"] != w.uid:
                del self.workers[key]
                w.stopping = True
                w.wake()
        for key, pod in desired.items():
            if key not in self.workers:
                mirror = self.mirrors.get(key)
                if mirror is not None and _hash(mirror) != pod["metadata"]["uid"]:
                    mirror = None
                w = PodWorker(self.agent, pod, static=True, mirror=mirror)
                self.workers[key] = w
                self.agent.add_worker(w)
            await self._ensure_mirror(key, pod)
        for key, mirror in list(self.mirrors.items()):
            if key not in desired:
                await self._delete_mirror(mirror)

    async def _ensure_mirror(self, key: str, pod: Obj) -> None:
        mirror = self.mirrors.get(key)
        w = self.workers.get(key)
        if mirror is not None and _hash(mirror) == pod["metadata"]["uid"] \
                and not mirror["metadata"].get("deletionTimestamp"):
            if w is not None and w.mirror is None:
                w.mirror = mirror
                w.wake()
            return
        if mirror is not None:
            await self._delete_mirror(mirror)
        node_uid = None
        try:
            node = await self.agent.client.get("nodes", self.agent.config.name)
            node_uid = node["metadata"]["uid"]
        except ApiError:
            pass
        try:
            created = await self.agent.client.create("pods", mirror_of(pod, node_uid))
        except ApiError as exc:
            log.info("mirror pod %s: create failed (%s), retrying", key, exc)
            asyncio.get_running_loop().call_later(1.0, self._wake.set)
            return
        self.mirrors[key] = created
        if w is not None:
            w.mirror = created
            w.wake()

    async def _delete_mirror(self, mirror: Obj) -> None:
        meta = mirror["metadata"]
        try:
            await self.agent.client.delete("pods", meta["name"], meta.get("namespace"),
                                           {"gracePeriodSeconds": 0, "preconditions": {"uid": meta.get("uid")}})
        except ApiError as exc:
            if exc.code not in (404, 409):
                log.warning("mirror pod %s: delete failed: %s", meta["name"], exc)
        if self.mirrors.get(_key(mirror), {}).get("metadata", {}).get("uid") == meta.get("uid"):
            self.mirrors.pop(_key(mirror), None)


def _key(pod: Obj) -> str:
    meta = pod["metadata"]
    return f"{meta.get('namespace', 'default')}/{meta['name']}"


def _hash(pod: Obj) -> str:
    return ((pod.get("metadata") or {}).get("annotations") or {}).get(MIRROR, "")
