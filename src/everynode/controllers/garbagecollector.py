"""The garbage collector: ownerReferences and deletion propagation.

- Background: a dependent all of whose owners are gone is deleted; a
  reference to a vanished owner next to live ones is removed.
- Foreground: an owner with the ``foregroundDeletion`` finalizer gets its
  dependents deleted; the finalizer is removed once no dependent that blocks
  owner deletion (``blockOwnerDeletion: true``) remains.
- Orphan: an owner with the ``orphan`` finalizer has its references removed
  from every dependent, then the finalizer is removed.

Owners are looked up through the informer caches first and confirmed with a
live GET before anything is deleted, so a slow cache never deletes a child
of a live owner.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from everynode.api.errors import ApiError
from everynode.api.kinds import KINDS
from everynode.client.informer import Informer, key_of
from everynode.controllers.base import Controller

log = logging.getLogger("everynode.gc")

# Resources whose objects we watch as owners and/or dependents.
MONITORED = ("pods", "controllerrevisions", "daemonsets", "leases", "nodes")
_PLURAL_BY_KIND = {(k.group_version, k.kind): k.plural for k in KINDS}


def plural_for(api_version: str, kind: str) -> str | None:
    return _PLURAL_BY_KIND.get((api_version, kind))


class GarbageCollector(Controller):
    name = "garbage-collector"
    workers = 4

    def __init__(self, client, informers):
        super().__init__(client, informers)
        self.infs: dict[str, Informer] = {p: informers.informer(p) for p in MONITORED}
        # owner uid -> set of (plural, key) of dependents
        self.dependents: dict[str, set[tuple[str, str]]] = defaultdict(set)
        # uid -> key and uid -> plural of every object seen. Two dicts of strings, not one of
        # (plural, key) tuples: a dict holding only strings is never tracked by the cyclic
        # collector, while one that gains a new tuple is, and every young collection then walks
        # all its entries (70,000 at 10,000 nodes).
        self.uids: dict[str, str] = {}
        self.uid_plurals: dict[str, str] = {}
        self._listed: set[str] = set()  # owners whose dependents were read from the API
        for plural, inf in self.infs.items():
            inf.on_add.append(lambda o, p=plural: self._observe(p, None, o))
            inf.on_update.append(lambda old, new, p=plural: self._observe(p, old, new))
            inf.on_delete.append(lambda o, p=plural: self._deleted(p, o))

    # ------------------------------------------------------------- graph

    def _refs(self, obj: dict) -> list[dict]:
        return (obj.get("metadata") or {}).get("ownerReferences") or []

    def _observe(self, plural: str, old: dict | None, obj: dict) -> None:
        meta = obj["metadata"]
        refs = meta.get("ownerReferences") or []
        key = None
        # As upstream's graph builder, an update that keeps the owner references changes
        # nothing in the graph: most updates (a lease renewal, a pod status) skip the bookkeeping.
        if old is None or meta["uid"] not in self.uids or self._refs(old) != refs:
            key = key_of(obj)
            if meta["uid"] not in self.uids:  # an object's plural and key never change
                self.uids[meta["uid"]] = key
                self.uid_plurals[meta["uid"]] = plural
            old_refs = self._refs(old) if old is not None else []
            for ref in old_refs:
                self.dependents[ref["uid"]].discard((plural, key))
            for ref in refs:
                self.dependents[ref["uid"]].add((plural, key))
                if ref["uid"] not in self.uids:
                    self.queue.add(("dependent", plural, key))
            # An owner deleting in the foreground looks at its dependents again when one of its
            # references was added, removed or changed (upstream's addUnblockedOwnersToDeleteQueue),
            # not on every update of a dependent.
            for ref in [r for r in old_refs if r not in refs] + [r for r in refs if r not in old_refs]:
                self._recheck_deleting_owner(ref["uid"])
        if meta.get("deletionTimestamp"):
            finalizers = meta.get("finalizers") or []
            if "orphan" in finalizers or "foregroundDeletion" in finalizers:
                self.queue.add(("owner", plural, key or key_of(obj)))

    def _recheck_deleting_owner(self, uid: str) -> None:
        owner = self._owner(uid)
        if owner is not None:
            o = self.infs[owner[0]].get(owner[1])
            if o is not None and o["metadata"].get("deletionTimestamp"):
                self.queue.add(("owner", owner[0], owner[1]))

    def _owner(self, uid: str) -> tuple[str, str] | None:
        """(plural, key) of the object with ``uid``, if seen."""
        key = self.uids.get(uid)
        return None if key is None else (self.uid_plurals[uid], key)

    def _deleted(self, plural: str, obj: dict) -> None:
        meta = obj["metadata"]
        key = key_of(obj)
        self.uids.pop(meta["uid"], None)
        self.uid_plurals.pop(meta["uid"], None)
        self._listed.discard(meta["uid"])
        for ref in self._refs(obj):
            deps = self.dependents.get(ref["uid"])
            if deps is not None:
                deps.discard((plural, key))
            owner = self._owner(ref["uid"])
            if owner is not None:
                self.queue.add(("owner", owner[0], owner[1]))
        for dep in list(self.dependents.pop(meta["uid"], ())):
            self.queue.add(("dependent", dep[0], dep[1]))

    # -------------------------------------------------------------- sync

    async def sync(self, item) -> None:
        role, plural, key = item
        obj = self.infs[plural].get(key)
        if obj is None:
            return
        if role == "owner":
            await self._sync_owner(plural, obj)
        else:
            await self._sync_dependent(plural, obj)

    async def _owner_exists(self, ref: dict, namespace: str | None) -> bool | None:
        """True/False, or None when the owner's kind is not one we can look up."""
        plural = plural_for(ref.get("apiVersion", ""), ref.get("kind", ""))
        if plural is None:
            return None
        from everynode.client.rest import RESOURCES

        ns = namespace if RESOURCES[plural][1] else None
        try:
            live = await self.client.get(plural, ref["name"], ns)
        except ApiError as exc:
            if exc.code == 404:
                return False
            raise
        return live["metadata"].get("uid") == ref["uid"]

    async def _sync_dependent(self, plural: str, obj: dict) -> None:
        meta = obj["metadata"]
        refs = self._refs(obj)
        if not refs or meta.get("deletionTimestamp"):
            return
        dangling = []
        alive = 0
        for ref in refs:
            if ref["uid"] in self.uids:
                alive += 1
                continue
            exists = await self._owner_exists(ref, meta.get("namespace"))
            if exists is False:
                dangling.append(ref)
            else:
                alive += 1
        if not dangling:
            return
        if alive == 0:
            log.info("deleting %s %s: all owners are gone", plural, key_of(obj))
            await self._delete(plural, obj, "Background")
        else:
            await self._remove_refs(plural, obj, {r["uid"] for r in dangling})

    async def _sync_owner(self, plural: str, obj: dict) -> None:
        meta = obj["metadata"]
        if not meta.get("deletionTimestamp"):
            return
        finalizers = meta.get("finalizers") or []
        if meta["uid"] not in self._listed:
            # First look at this deletion: read dependents from the API, so one created
            # just before the owner's deletion cannot be missed; later syncs use the graph.
            deps = await self._live_dependents(meta)
            self._listed.add(meta["uid"])
            for p, dep in deps:
                self.dependents[meta["uid"]].add((p, key_of(dep)))
        else:
            deps = [(p, self.infs[p].get(k)) for p, k in list(self.dependents.get(meta["uid"], ()))]
            deps = [(p, d) for p, d in deps if d is not None]
        if "orphan" in finalizers:
            for p, dep in deps:
                await self._remove_refs(p, dep, {meta["uid"]})
            await self._remove_finalizer(plural, obj, "orphan")
            return
        if "foregroundDeletion" in finalizers:
            blocking = 0
            for p, dep in deps:
                ref = next((r for r in self._refs(dep) if r["uid"] == meta["uid"]), {})
                if ref.get("blockOwnerDeletion"):
                    blocking += 1
                if not dep["metadata"].get("deletionTimestamp"):
                    await self._delete(p, dep, "Foreground" if self.dependents.get(dep["metadata"]["uid"])
                                       else "Background")
            if blocking == 0:
                await self._remove_finalizer(plural, obj, "foregroundDeletion")

    async def _live_dependents(self, owner_meta: dict) -> list[tuple[str, dict]]:
        """Dependents read from the API, not the cache: the cache may not have
        seen a dependent created just before the owner's deletion."""
        from everynode.client.rest import RESOURCES

        uid = owner_meta["uid"]
        out = []
        for plural in MONITORED:
            namespaced = RESOURCES[plural][1]
            # A cluster-scoped owner (a Node) may own objects in any namespace.
            body = await self.client.list(plural, owner_meta.get("namespace") if namespaced else None)
            for item in body.get("items") or []:
                if any(r.get("uid") == uid for r in self._refs(item)):
                    out.append((plural, item))
        return out

    # ------------------------------------------------------------ writes

    async def _delete(self, plural: str, obj: dict, policy: str) -> None:
        meta = obj["metadata"]
        try:
            await self.client.delete(plural, meta["name"], meta.get("namespace"),
                                     {"propagationPolicy": policy, "preconditions": {"uid": meta["uid"]}})
        except ApiError as exc:
            if exc.code not in (404, 409):
                raise

    async def _remove_refs(self, plural: str, obj: dict, uids: set[str]) -> None:
        meta = obj["metadata"]
        patch = {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": u} for u in sorted(uids)],
                              "uid": meta["uid"]}}
        try:
            await self.client.patch(plural, meta["name"], patch, meta.get("namespace"), "strategic")
        except ApiError as exc:
            if exc.code not in (404, 409, 422):
                raise

    async def _remove_finalizer(self, plural: str, obj: dict, finalizer: str) -> None:
        meta = obj["metadata"]
        for _ in range(5):
            try:
                live = await self.client.get(plural, meta["name"], meta.get("namespace"))
            except ApiError as exc:
                if exc.code == 404:
                    return
                raise
            fins = live["metadata"].get("finalizers") or []
            if finalizer not in fins:
                return
            patch = [{"op": "test", "path": "/metadata/resourceVersion",
                      "value": live["metadata"]["resourceVersion"]},
                     {"op": "replace", "path": "/metadata/finalizers", "value": [f for f in fins if f != finalizer]}]
            try:
                await self.client.patch(plural, meta["name"], patch, meta.get("namespace"), "json")
                return
            except ApiError as exc:
                if exc.code == 404:
                    return
                if exc.code not in (409, 422):
                    raise
        raise ApiError(409, "Conflict", f"could not remove finalizer {finalizer} from {meta['name']}")
