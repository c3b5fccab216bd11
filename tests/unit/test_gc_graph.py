"""The garbage collector's dependency graph, driven through its informers' handlers."""

import pytest

from everynode.client.informer import InformerFactory
from everynode.controllers.garbagecollector import GarbageCollector


def obj(name, uid, owners=(), deleting=False, finalizers=()):
    meta = {"name": name, "namespace": "default", "uid": uid,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": o, "uid": o + "-uid"}
                                for o in owners]}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-23T00:00:00Z"
    if finalizers:
        meta["finalizers"] = list(finalizers)
    return {"metadata": meta}


@pytest.fixture
def gc():
    collector = GarbageCollector(None, InformerFactory(None))
    ds = collector.infs["daemonsets"]
    for name in ("a", "b"):
        owner = obj(name, name + "-uid")
        ds._store(owner)
        ds._dispatch("add", owner)
    collector.queue._queue.clear()
    return collector


def pods(gc, kind, new, old=None):
    inf = gc.infs["pods"]
    inf._store(new)
    inf._dispatch(kind, new, old)


def queued(gc):
    return list(gc.queue._queue)


@pytest.mark.parametrize("before, after, deps_a, deps_b", [
    (("a",), ("a",), {("pods", "default/p")}, set()),          # same owners: nothing to move
    (("a",), ("b",), set(), {("pods", "default/p")}),           # owner changed
    (("a",), ("a", "b"), {("pods", "default/p")}, {("pods", "default/p")}),
    (("a", "b"), (), set(), set()),                             # orphaned by an update
])
def test_updates_move_dependents_between_owners(gc, before, after, deps_a, deps_b):
    first = obj("p", "p-uid", before)
    pods(gc, "add", first)
    pods(gc, "update", obj("p", "p-uid", after), first)
    assert gc.dependents.get("a-uid", set()) == deps_a
    assert gc.dependents.get("b-uid", set()) == deps_b
    assert queued(gc) == []


def test_a_dependent_of_an_unseen_owner_is_checked_when_first_seen(gc):
    pods(gc, "add", obj("p", "p-uid", ("ghost",)))
    assert queued(gc) == [("dependent", "pods", "default/p")]
    assert gc.dependents["ghost-uid"] == {("pods", "default/p")}


def _foreground_owner(gc):
    owner = obj("a", "a-uid", deleting=True, finalizers=["foregroundDeletion"])
    gc.infs["daemonsets"]._store(owner)


def _blocking(o, block=True):
    for ref in o["metadata"]["ownerReferences"]:
        ref["blockOwnerDeletion"] = block
    return o


# As upstream's graph builder (addUnblockedOwnersToDeleteQueue): an owner deleting in the
# foreground is looked at again when a dependent's references to it change, not on every update.
@pytest.mark.parametrize("before, after, queued_owner", [
    (_blocking(obj("p", "p-uid", ("a",))), _blocking(obj("p", "p-uid", ("a",))), False),  # a renewal, a status
    (_blocking(obj("p", "p-uid", ("a",))), obj("p", "p-uid", ()), True),                  # reference removed
    (_blocking(obj("p", "p-uid", ("a",))), _blocking(obj("p", "p-uid", ("a",)), False), True),  # unblocked
    (obj("p", "p-uid", ()), obj("p", "p-uid", ("a",)), True),                             # reference added
    (_blocking(obj("p", "p-uid", ("b",))), obj("p", "p-uid", ()), False),                 # owner not deleting
])
def test_a_foreground_owner_is_queued_when_a_reference_to_it_changes(gc, before, after, queued_owner):
    pods(gc, "add", before)
    _foreground_owner(gc)
    gc.queue._queue.clear()
    pods(gc, "update", after, before)
    assert (("owner", "daemonsets", "default/a") in queued(gc)) == queued_owner


def test_an_object_deleting_with_the_orphan_finalizer_is_queued_as_an_owner(gc):
    first = obj("p", "p-uid", ("a",))
    pods(gc, "add", first)
    pods(gc, "update", obj("p", "p-uid", ("a",), deleting=True, finalizers=["orphan"]), first)
    assert queued(gc) == [("owner", "pods", "default/p")]
