"""The DaemonSet controller: informers and API calls around ``plan_sync``.

Event handlers only enqueue DaemonSet keys (upstream's handler table: pods by
controller reference or, for orphans, every DaemonSet whose selector matches;
nodes only when labels or taints change). One sync lists the DaemonSet's
world from the caches, asks the pure planner what to do and does it, in the
order the planner documents. Expectations keep a sync from creating twice
while the cache has not yet seen its own earlier creates.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass

from everynode.api.errors import ApiError
from everynode.api.selectors import from_label_selector
from everynode.client.informer import key_of
from everynode.controllers.base import Controller
from everynode.controllers.daemonset.history import revision_matches
from everynode.controllers.daemonset.planner import Plan, gc_failed_backoff, plan_sync
from everynode.controllers.daemonset.podtemplate import HASH_LABEL, controller_ref, new_pod
from everynode.controllers.daemonset.view import DaemonSetView, World, comparable

log = logging.getLogger("everynode.daemonset")

EXPECTATIONS_TTL = 300.0


@dataclass
class _Expect:
    adds: int
    dels: int
    at: float

    def satisfied(self) -> bool:
        return (self.adds <= 0 and self.dels <= 0) or time.monotonic() - self.at > EXPECTATIONS_TTL


def _controller_of(obj: dict) -> dict | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


POD_UPDATE_BATCH = 0.1  # seconds

# With EVERYNODE_VERIFY_DS_VIEW set (the test suite sets it) every sync is also planned by
# plan_sync over the whole cache, and any difference from the incremental view is recorded.
VIEW_MISMATCHES: list[str] = []


def _owner_index(pod: dict) -> list[str]:
    """Pods by controller uid; pods without a controller as ``orphan/<namespace>``."""
    ref = _controller_of(pod)
    if ref is not None:
        return [ref.get("uid") or ""]
    return ["orphan/" + (pod["metadata"].get("namespace") or "")]


class DaemonSetController(Controller):
    name = "daemonset-controller"

    def __init__(self, client, informers, workers: int = 2):
        super().__init__(client, informers)
        self.workers = workers
        self.dss = informers.informer("daemonsets")
        self.pods = informers.informer("pods")
        self.nodes = informers.informer("nodes")
        self.revisions = informers.informer("controllerrevisions")
        self.pods.add_index("owner", _owner_index)
        self.revisions.add_index("namespace", lambda o: [o["metadata"].get("namespace", "")])
        self.dss.add_index("uid", lambda o: [o["metadata"]["uid"]])
        self.dss.add_index("namespace", lambda o: [o["metadata"].get("namespace", "")])
        self.expectations: dict[str, _Expect] = {}
        self.failed_backoff: dict = {}
        self._last_gc = time.time()
        self._matchers: dict[str, tuple[str, object]] = {}
        self.views: dict[str, DaemonSetView] = {}
        self.verify_views = bool(os.environ.get("EVERYNODE_VERIFY_DS_VIEW"))
        self.world = World(node=self.nodes.get, nodes=lambda: self.nodes.objects.values(),
                           pod=self.pods.get, candidate_pods=self._candidate_pods)

        # The views hear of every change first (the handlers below may return early).
        self.pods.on_add.append(self._mark_pod)
        self.pods.on_update.append(lambda old, new: self._mark_pod(new))
        self.pods.on_delete.append(self._mark_pod)
        self.nodes.on_add.append(self._mark_node)
        self.nodes.on_update.append(lambda old, new: self._mark_node(new))
        self.nodes.on_delete.append(self._mark_node)
        self.dss.on_add.append(lambda ds: self.queue.add(key_of(ds)))
        self.dss.on_update.append(self._ds_updated)
        self.dss.on_delete.append(self._ds_deleted)
        self.pods.on_add.append(self._pod_added)
        self.pods.on_update.append(self._pod_updated)
        self.pods.on_delete.append(self._pod_deleted)
        self.revisions.on_add.append(lambda r: self._owned_or_orphan(r, None, revision=True))
        self.revisions.on_update.append(lambda old, r: self._owned_or_orphan(r, old, revision=True))
        self.revisions.on_delete.append(lambda r: self._enqueue_owner(r))
        self.nodes.on_add.append(lambda n: self._enqueue_all())
        self.nodes.on_update.append(self._node_updated)

    # ------------------------------------------------------------- handlers

    def _mark_pod(self, pod: dict) -> None:
        ns = pod["metadata"].get("namespace", "")
        key = key_of(pod)
        for ds_key, view in self.views.items():
            if ds_key.partition("/")[0] == ns:
                view.pod_changed(key)

    def _mark_node(self, node: dict) -> None:
        name = node["metadata"]["name"]
        for view in self.views.values():
            view.node_changed(name)

    def _candidate_pods(self, ds: dict):
        """(key, pod) of every pod ``ds`` may claim: its own, and its namespace's orphans."""
        ns = ds["metadata"].get("namespace", "")
        index = self.pods.indexes["owner"]
        for value in (ds["metadata"].get("uid", ""), "orphan/" + ns):
            for key in index.get(value, ()):
                pod = self.pods.objects.get(key)
                if pod is not None and pod["metadata"].get("namespace", "") == ns:
                    yield key, pod

    def _ds_updated(self, old: dict, new: dict) -> None:
        if old["metadata"].get("uid") != new["metadata"].get("uid"):
            self.expectations.pop(key_of(old), None)
        self.queue.add(key_of(new))

    def _ds_deleted(self, ds: dict) -> None:
        self.expectations.pop(key_of(ds), None)
        self.queue.add(key_of(ds))

    def _owner_key(self, obj: dict) -> str | None:
        ref = _controller_of(obj)
        if ref is None or ref.get("kind") != "DaemonSet":
            return None
        for ds in self.dss.by_index("uid", ref.get("uid", "")):
            if ds["metadata"]["name"] == ref.get("name"):
                return key_of(ds)
        return None

    def _enqueue_owner(self, obj: dict) -> None:
        k = self._owner_key(obj)
        if k is not None:
            self.queue.add(k)

    def _matching(self, obj: dict) -> list[str]:
        ns = obj["metadata"].get("namespace", "")
        labels = obj["metadata"].get("labels") or {}
        out = []
        for ds in self.dss.by_index("namespace", ns):
            matcher = self._matcher(ds)
            if matcher is not None and not matcher.empty and matcher.matches(labels):
                out.append(key_of(ds))
        return out

    def _matcher(self, ds: dict):
        k = key_of(ds)
        rv = ds["metadata"].get("resourceVersion", "")
        cached = self._matchers.get(k)
        if cached is not None and cached[0] == rv:
            return cached[1]
        try:
            m = from_label_selector((ds.get("spec") or {}).get("selector"))
        except ValueError:
            m = None
        self._matchers[k] = (rv, m)
        return m

    def _owned_or_orphan(self, obj: dict, old: dict | None, revision: bool = False, batch: bool = False) -> None:
        if old is not None and old["metadata"].get("resourceVersion") == obj["metadata"].get("resourceVersion"):
            return
        if old is not None:
            old_ref, new_ref = _controller_of(old), _controller_of(obj)
            if old_ref != new_ref and old_ref is not None:
                self._enqueue_owner(old)
        owner = self._owner_key(obj)
        if owner is not None:
            if batch:
                self.queue.add_batched(owner, POD_UPDATE_BATCH)
            else:
                self.queue.add(owner)
            return
        if _controller_of(obj) is not None:
            return  # owned by someone else
        if old is not None and old["metadata"].get("labels") == obj["metadata"].get("labels") \
                and _controller_of(old) == _controller_of(obj):
            return
        for k in self._matching(obj):
            self.queue.add(k)

    def _pod_added(self, pod: dict) -> None:
        if pod["metadata"].get("deletionTimestamp"):
            self._pod_deleted(pod)
            return
        owner = self._owner_key(pod)
        if owner is not None:
            exp = self.expectations.get(owner)
            if exp is not None:
                exp.adds -= 1
            self.queue.add(owner)
            return
        self._owned_or_orphan(pod, None)

    def _pod_updated(self, old: dict, new: dict) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return
        if new["metadata"].get("deletionTimestamp") and not old["metadata"].get("deletionTimestamp"):
            self._pod_deleted(new)
            return
        # Status changes of a DaemonSet's own pods are batched: during a creation or a rollout
        # over thousands of nodes they arrive by the hundred per second, and every sync looks
        # at all nodes and pods. Creations (node and pod adds, deletions) stay immediate.
        same_owner = _controller_of(old) == _controller_of(new)
        self._owned_or_orphan(new, old, batch=same_owner)
        owner = self._owner_key(new)
        if owner is not None:
            ds = self.dss.get(owner)
            min_ready = int(((ds or {}).get("spec") or {}).get("minReadySeconds") or 0)
            if min_ready > 0 and not _ready(old) and _ready(new):
                self.queue.add_after(owner, min_ready + 1)

    def _pod_deleted(self, pod: dict) -> None:
        owner = self._owner_key(pod)
        if owner is None:
            return
        exp = self.expectations.get(owner)
        if exp is not None:
            exp.dels -= 1
        self.queue.add(owner)

    def _node_updated(self, old: dict, new: dict) -> None:
        if (old["metadata"].get("labels") != new["metadata"].get("labels")
                or (old.get("spec") or {}).get("taints") != (new.get("spec") or {}).get("taints")):
            self._enqueue_all()

    def _enqueue_all(self) -> None:
        for k in list(self.dss.objects):
            self.queue.add(k)

    # ----------------------------------------------------------------- sync

    async def sync(self, key) -> None:
        ds = self.dss.get(key)
        if ds is None:
            self.expectations.pop(key, None)
            self._matchers.pop(key, None)
            self.views.pop(key, None)
            return
        ns = ds["metadata"].get("namespace", "")
        now = time.time()
        if now - self._last_gc > 60:
            self.failed_backoff = gc_failed_backoff(self.failed_backoff, now)
            self._last_gc = now
        exp = self.expectations.get(key)
        satisfied = exp is None or exp.satisfied()
        revisions = self.revisions.by_index("namespace", ns)
        view = self.views.get(key)
        if view is None:
            view = self.views[key] = DaemonSetView()
        plan = view.plan(ds, self.world, revisions, now, self.failed_backoff, expectations_satisfied=satisfied)
        if self.verify_views:
            in_ns = [p for p in self.pods.objects.values() if p["metadata"].get("namespace", "") == ns]
            full = plan_sync(ds, self.nodes.list(), in_ns, revisions, now,
                             self.failed_backoff, expectations_satisfied=satisfied)
            if comparable(plan) != comparable(full):
                VIEW_MISMATCHES.append(f"{key}: view {comparable(plan)} != full {comparable(full)}")
                log.error("daemonset %s: the incremental plan differs from the full plan", key)
        self.failed_backoff = dict(plan.failed_backoff)
        errors = await self._execute(key, ds, plan)
        if plan.requeue_after is not None:
            self.queue.add_after(key, plan.requeue_after)
        if errors or plan.errors:
            raise ApiError(500, "SyncFailed", "; ".join(errors + plan.errors))

    async def _execute(self, key: str, ds: dict, plan: Plan) -> list[str]:
        ns = ds["metadata"].get("namespace")
        errors: list[str] = []
        for ev in plan.events:
            self.recorder.event(ds, ev.type, ev.reason, ev.message)

        # 1. adoption and release
        if plan.adopt_pods or plan.adopt_revisions:
            if not await self._can_adopt(ds):
                return errors
        for ref in plan.adopt_pods:
            await self._patch_owner(ds, "pods", ref, adopt=True)
        for ref in plan.release_pods:
            await self._patch_owner(ds, "pods", ref, adopt=False)
        for ref in plan.adopt_revisions:
            await self._patch_owner(ds, "controllerrevisions", ref, adopt=True)
        for ref in plan.release_revisions:
            await self._patch_owner(ds, "controllerrevisions", ref, adopt=False)

        # 2. history
        for rev in plan.revision_updates:
            await self.client.replace("controllerrevisions", rev)
        if plan.revision_create is not None:
            try:
                await self.client.create("controllerrevisions", plan.revision_create, ns)
            except ApiError as exc:
                if exc.code != 409:
                    raise
                existing = await self.client.get("controllerrevisions",
                                                 plan.revision_create["metadata"]["name"], ns)
                if not revision_matches(ds, existing):
                    await self._bump_collision_count(ds)
                    return [f"hash collision for revision {plan.revision_create['metadata']['name']}"]
        for pod_name in plan.relabel_pods:
            try:
                await self.client.patch("pods", pod_name, {"metadata": {"labels": {HASH_LABEL: plan.hash}}},
                                        ns, "merge")
            except ApiError as exc:
                if exc.code != 404:
                    raise
        for name in plan.revision_deletes:
            await self._delete_ignore_missing("controllerrevisions", name, ns)

        # 3. pods
        if plan.creates or plan.deletes:
            self.expectations[key] = _Expect(len(plan.creates), len(plan.deletes), time.monotonic())
            errors += await self._create_pods(key, ds, plan)
            errors += await self._delete_pods(key, ds, plan)

        # 4. history cleanup
        for name in plan.history_cleanup:
            await self._delete_ignore_missing("controllerrevisions", name, ns)

        # 5. status
        if plan.status_changed and plan.status is not None:
            await self._write_status(ds, plan.status)
        return errors

    async def _create_pods(self, key: str, ds: dict, plan: Plan) -> list[str]:
        errors: list[str] = []
        pending = list(plan.creates)
        batch = 1
        while pending:
            chunk, pending = pending[:batch], pending[batch:]
            results = await asyncio.gather(*(self._create_one(ds, node, plan) for node in chunk),
                                           return_exceptions=True)
            failed = [r for r in results if isinstance(r, BaseException)]
            for r in failed:
                errors.append(str(r))
            exp = self.expectations.get(key)
            if failed:
                if exp is not None:
                    exp.adds -= len(failed) + len(pending)  # skipped creates will not be observed
                break
            batch *= 2
        return errors

    async def _create_one(self, ds: dict, node: str, plan: Plan) -> None:
        pod = new_pod(ds, node, plan.hash, plan.template_generation)
        ns = ds["metadata"].get("namespace")
        try:
            created = await self.client.create("pods", pod, ns)
        except ApiError as exc:
            if exc.code == 403 and "being terminated" in exc.message:
                return
            self.recorder.event(ds, "Warning", "FailedCreate", f"Error creating: {exc.message}")
            raise
        self.recorder.event(ds, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")

    async def _delete_pods(self, key: str, ds: dict, plan: Plan) -> list[str]:
        ns = ds["metadata"].get("namespace")

        async def one(name: str) -> None:
            try:
                await self.client.delete("pods", name, ns)
            except ApiError as exc:
                if exc.code == 404:
                    exp = self.expectations.get(key)
                    if exp is not None:
                        exp.dels -= 1
                    return
                exp = self.expectations.get(key)
                if exp is not None:
                    exp.dels -= 1
                self.recorder.event(ds, "Warning", "FailedDelete", f"Error deleting: {exc.message}")
                raise
            self.recorder.event(ds, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")

        results = await asyncio.gather(*(one(d.name) for d in plan.deletes), return_exceptions=True)
        return [str(r) for r in results if isinstance(r, BaseException)]

    async def _can_adopt(self, ds: dict) -> bool:
        """Re-read the DaemonSet uncached before adopting anything (upstream's recheck)."""
        meta = ds["metadata"]
        try:
            fresh = await self.client.get("daemonsets", meta["name"], meta.get("namespace"))
        except ApiError as exc:
            if exc.code == 404:
                return False
            raise
        return fresh["metadata"].get("uid") == meta["uid"] and not fresh["metadata"].get("deletionTimestamp")

    async def _patch_owner(self, ds: dict, plural: str, ref, adopt: bool) -> None:
        if adopt:
            patch = {"metadata": {"ownerReferences": [controller_ref(ds)], "uid": ref.uid}}
        else:
            patch = {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": ds["metadata"]["uid"]}],
                                  "uid": ref.uid}}
        try:
            await self.client.patch(plural, ref.name, patch, ds["metadata"].get("namespace"), "strategic")
        except ApiError as exc:
            ignorable = (404,) if adopt else (404, 422)
            if exc.code not in ignorable:
                raise

    async def _delete_ignore_missing(self, plural: str, name: str, ns: str | None) -> None:
        try:
            await self.client.delete(plural, name, ns)
        except ApiError as exc:
            if exc.code != 404:
                raise

    async def _bump_collision_count(self, ds: dict) -> None:
        meta = ds["metadata"]
        fresh = await self.client.get("daemonsets", meta["name"], meta.get("namespace"))
        fresh_status = fresh.get("status") or {}
        if fresh_status.get("collisionCount") != (ds.get("status") or {}).get("collisionCount"):
            return  # someone else bumped it already
        fresh_status["collisionCount"] = int(fresh_status.get("collisionCount") or 0) + 1
        fresh["status"] = fresh_status
        await self.client.replace("daemonsets", fresh, "status")

    async def _write_status(self, ds: dict, status: dict) -> None:
        body = dict(ds)
        body["status"] = status
        try:
            await self.client.replace("daemonsets", body, "status")
            return
        except ApiError as exc:
            if exc.code == 404:
                return
            if exc.code != 409:
                raise
        meta = ds["metadata"]
        fresh = await self.client.get("daemonsets", meta["name"], meta.get("namespace"))
        fresh["status"] = status
        await self.client.replace("daemonsets", fresh, "status")


def _ready(pod: dict) -> bool:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False
