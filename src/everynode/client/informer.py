"""Informers: list + watch into a local indexed cache, with event handlers.

An informer lists a resource, then watches from the list's resourceVersion,
keeping ``objects`` (key -> object) and any number of indexes current. When
the watch ends it resumes from the last seen revision; when that revision
is too old (410) it lists again and reconciles (synthesising the adds,
updates and deletes the cache missed). Handlers are plain callables and
must be cheap: controllers' handlers only enqueue keys.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from everynode.aiotools import cancel_and_wait
from everynode.api.errors import ApiError
from everynode.client.rest import Client

log = logging.getLogger("everynode.informer")

Obj = dict[str, Any]
IndexFn = Callable[[Obj], list[str]]


def key_of(obj: Obj) -> str:
    meta = obj["metadata"]
    ns = meta.get("namespace")
    return f"{ns}/{meta['name']}" if ns else meta["name"]


class Informer:
    def __init__(self, client: Client, plural: str, namespace: str | None = None,
                 label_selector: str | None = None, field_selector: str | None = None,
                 watch_timeout: int = 300):
        self.client = client
        self.plural = plural
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.watch_timeout = watch_timeout
        self.objects: dict[str, Obj] = {}
        self.indexers: dict[str, IndexFn] = {}
        self.indexes: dict[str, dict[str, set[str]]] = {}
        self._index_keys: dict[str, dict[str, list[str]]] = {}
        self.on_add: list[Callable[[Obj], None]] = []
        self.on_update: list[Callable[[Obj, Obj], None]] = []
        self.on_delete: list[Callable[[Obj], None]] = []
        self.synced = asyncio.Event()
        self.resource_version = ""
        self._task: asyncio.Task | None = None

    # ------------------------------------------------------------- indexes

    def add_index(self, name: str, fn: IndexFn) -> None:
        self.indexers[name] = fn
        self.indexes[name] = defaultdict(set)
        self._index_keys[name] = {}
        for k, obj in self.objects.items():
            self._index(name, k, obj)

    def _index(self, name: str, key: str, obj: Obj | None) -> None:
        idx = self.indexes[name]
        for old in self._index_keys[name].pop(key, []):
            s = idx.get(old)
            if s is not None:
                s.discard(key)
                if not s:
                    del idx[old]
        if obj is not None:
            values = self.indexers[name](obj)
            if values:
                self._index_keys[name][key] = values
                for v in values:
                    idx[v].add(key)

    def by_index(self, name: str, value: str) -> list[Obj]:
        return [self.objects[k] for k in self.indexes[name].get(value, ()) if k in self.objects]

    def get(self, key: str) -> Obj | None:
        return self.objects.get(key)

    def list(self) -> list[Obj]:
        return list(self.objects.values())

    # ---------------------------------------------------------- cache writes

    def _store(self, obj: Obj) -> Obj | None:
        key = key_of(obj)
        old = self.objects.get(key)
        self.objects[key] = obj
        for name in self.indexers:
            self._index(name, key, obj)
        return old

    def _remove(self, obj: Obj) -> Obj | None:
        key = key_of(obj)
        old = self.objects.pop(key, None)
        for name in self.indexers:
            self._index(name, key, None)
        return old

    def _dispatch(self, kind: str, obj: Obj, old: Obj | None = None) -> None:
        if kind == "update":
            for h in self.on_update:
                try:
                    h(old, obj)
                except Exception:
                    log.exception("%s informer: update handler failed", self.plural)
            return
        for h in self.on_add if kind == "add" else self.on_delete:
            try:
                h(obj)
            except Exception:
                log.exception("%s informer: %s handler failed", self.plural, kind)

    # ----------------------------------------------------------------- run

    async def _list(self) -> None:
        params = {}
        if self.label_selector:
            params["labelSelector"] = self.label_selector
        if self.field_selector:
            params["fieldSelector"] = self.field_selector
        body = await self.client.list_for_cache(self.plural, self.namespace, **params)
        fresh = {key_of(o): o for o in body.get("items") or []}
        for key, obj in list(self.objects.items()):
            if key not in fresh:
                self._remove(obj)
                self._dispatch("delete", obj)
        for obj in fresh.values():
            kind = body.get("kind", "")
            if kind.endswith("List") and "kind" not in obj:
                obj["kind"] = kind[:-4]
                obj["apiVersion"] = body.get("apiVersion")
            old = self._store(obj)
            if old is None:
                self._dispatch("add", obj)
            elif old["metadata"].get("resourceVersion") != obj["metadata"].get("resourceVersion"):
                self._dispatch("update", obj, old)
        self.resource_version = body["metadata"]["resourceVersion"]

    async def _watch_once(self) -> bool:
        """Watch until the stream ends; False when a relist is needed."""
        params = {}
        if self.label_selector:
            params["labelSelector"] = self.label_selector
        if self.field_selector:
            params["fieldSelector"] = self.field_selector
        async for ev in self.client.watch(self.plural, self.namespace, self.resource_version,
                                          timeout_seconds=self.watch_timeout, **params):
            t = ev.get("type")
            obj = ev.get("object") or {}
            if t == "ERROR":
                if obj.get("code") == 410:
                    return False
                raise ApiError(obj.get("code", 500), obj.get("reason", ""), obj.get("message", ""))
            rv = (obj.get("metadata") or {}).get("resourceVersion")
            if t == "BOOKMARK":
                if rv:
                    self.resource_version = rv
                continue
            if t == "ADDED" or t == "MODIFIED":
                old = self._store(obj)
                if old is None:
                    self._dispatch("add", obj)
                else:
                    self._dispatch("update", obj, old)
            elif t == "DELETED":
                old = self._remove(obj)
                self._dispatch("delete", obj if old is None else obj)
            if rv:
                self.resource_version = rv
        return True

    async def run(self) -> None:
        need_list = True
        backoff = 0.2
        while True:
            try:
                if need_list:
                    await self._list()
                    self.synced.set()
                    need_list = False
                need_list = not await self._watch_once()
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except ApiError as exc:
                if exc.code == 410:
                    need_list = True
                    continue
                log.warning("%s informer: %s; retrying", self.plural, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception as exc:  # connection lost: resume the watch
                log.debug("%s informer: watch interrupted: %s", self.plural, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def start(self) -> asyncio.Task:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=f"informer-{self.plural}")
        return self._task

    async def stop(self) -> None:
        await cancel_and_wait([self._task])
        self._task = None


class InformerFactory:
    """Shares one informer per (resource, namespace, selectors) among controllers."""

    def __init__(self, client: Client):
        self.client = client
        self._informers: dict[tuple, Informer] = {}

    def informer(self, plural: str, namespace: str | None = None, label_selector: str | None = None,
                 field_selector: str | None = None) -> Informer:
        key = (plural, namespace, label_selector, field_selector)
        if key not in self._informers:
            self._informers[key] = Informer(self.client, plural, namespace, label_selector, field_selector)
        return self._informers[key]

    def start(self) -> None:
        for inf in self._informers.values():
            inf.start()

    async def wait_for_sync(self, timeout: float = 60) -> None:
        await asyncio.wait_for(asyncio.gather(*(i.synced.wait() for i in self._informers.values())), timeout)

    async def stop(self) -> None:
        for inf in self._informers.values():
            await inf.stop()
