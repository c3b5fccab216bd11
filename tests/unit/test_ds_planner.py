"""plan_sync: manage, failed pods, rolling updates, OnDelete, status, history - and a whole rollout."""

from __future__ import annotations

import copy
import itertools
import random
from datetime import UTC, datetime

import pytest

from everynode.controllers.daemonset.history import compute_hash, new_revision
from everynode.controllers.daemonset.planner import (
    DELETE_DUPLICATE,
    DELETE_FAILED,
    DELETE_NODE_MISSING,
    DELETE_NOT_ELIGIBLE,
    DELETE_ROLLING_UPDATE,
    DELETE_SUCCEEDED,
    DELETE_SURGE_REPLACED,
    Event,
    ObjectRef,
    failed_backoff_key,
    gc_failed_backoff,
    plan_sync,
)
from everynode.controllers.daemonset.podtemplate import new_pod

NOW = 1_700_000_000.0
HASH_LABEL = "controller-revision-hash"


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_node(name, labels=None, taints=()):
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": list(taints)}}


def nodes(n, **kw):
    return [make_node(f"node-{i}", **kw) for i in range(n)]


def make_ds(strategy=None, min_ready=0, generation=1, template_generation=1, image="img:1", status=None,
            name="ds", **pod_spec):
    spec = {"containers": [{"name": "c", "image": image}]}
    spec.update(pod_spec)
    ds = {
        "metadata": {"name": name, "namespace": "default", "uid": "ds-uid", "generation": generation,
                     "annotations": {"deprecated.daemonset.template.generation": str(template_generation)}},
        "spec": {
            "selector": {"matchLabels": {"app": "x"}},
            "template": {"metadata": {"labels": {"app": "x"}}, "spec": spec},
            "updateStrategy": strategy or {"type": "RollingUpdate",
                                           "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
            "revisionHistoryLimit": 10,
        },
        "status": status if status is not None else {},
    }
    if min_ready:
        ds["spec"]["minReadySeconds"] = min_ready
    return ds


def rolling(max_unavailable=1, max_surge=0):
    return {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": max_unavailable, "maxSurge": max_surge}}


def hash_of(ds):
    return compute_hash(ds["spec"]["template"], (ds.get("status") or {}).get("collisionCount"))


def revision_of(ds, number=1):
    return new_revision(ds, hash_of(ds), number)


def make_pod(name, node, hash=None, ready=True, age=100, phase="Running", deleting=False, bound=True,
             ready_for=None, owner="ds-uid", labels=None, template_generation=None):
    lbl = {"app": "x"}
    if hash:
        lbl[HASH_LABEL] = hash
    if template_generation is not None:
        lbl["pod-template-generation"] = str(template_generation)
    if labels is not None:
        lbl = labels
    meta = {"name": name, "namespace": "default", "uid": f"uid-{name}", "labels": lbl,
            "creationTimestamp": iso(NOW - age)}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "ds", "uid": owner,
                                    "controller": True}]
    if deleting:
        meta["deletionTimestamp"] = iso(NOW)
    spec = {"containers": [{"name": "c"}]}
    if bound:
        spec["nodeName"] = node
    else:
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}}}
    conditions = []
    if ready:
        since = NOW - (ready_for if ready_for is not None else age)
        conditions.append({"type": "Ready", "status": "True", "lastTransitionTime": iso(since)})
    return {"metadata": meta, "spec": spec, "status": {"phase": phase, "conditions": conditions}}


def sync(ds, node_list, pods, revisions=None, now=NOW, backoff=None, **kw):
    if revisions is None:
        revisions = [revision_of(ds)]
    return plan_sync(ds, node_list, pods, revisions, now, backoff, **kw)


def deleted(plan):
    return sorted(d.name for d in plan.deletes)


def reasons(plan):
    return {d.name: d.reason for d in plan.deletes}


# ------------------------------------------------------------------- manage

def test_simple_daemon_launch():
    ds = make_ds()
    plan = sync(ds, nodes(5), [], revisions=[])
    assert plan.creates == [f"node-{i}" for i in range(5)]
    assert plan.deletes == [] and not plan.rolling
    assert plan.revision_create is not None and plan.revision_create["revision"] == 1
    assert plan.hash == hash_of(ds) and plan.template_generation == 1
    assert plan.revision_create["metadata"]["labels"][HASH_LABEL] == plan.hash
    assert plan.status["desiredNumberScheduled"] == 5
    assert plan.status["currentNumberScheduled"] == 0
    assert plan.status["numberUnavailable"] == 5
    assert plan.status["observedGeneration"] == 1
    assert plan.status_changed
    assert plan.errors == [] and plan.events == []


def test_no_nodes_no_pods():
    plan = sync(make_ds(), [], [])
    assert plan.creates == [] and plan.deletes == []
    assert plan.status["desiredNumberScheduled"] == 0


def test_steady_state_is_a_noop():
    ds = make_ds()
    h = hash_of(ds)
    pods = [make_pod(f"p{i}", f"node-{i}", h) for i in range(3)]
    ds["status"] = {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberMisscheduled": 0,
                    "numberReady": 3, "updatedNumberScheduled": 3, "numberAvailable": 3,
                    "observedGeneration": 1}
    plan = sync(ds, nodes(3), pods)
    assert plan.creates == [] and plan.deletes == [] and plan.revision_create is None
    assert not plan.status_changed
    assert plan.requeue_after is None


def test_status_write_when_generation_not_observed():
    ds = make_ds(generation=2)
    h = hash_of(ds)
    ds["status"] = {"desiredNumberScheduled": 1, "currentNumberScheduled": 1, "numberReady": 1,
                    "updatedNumberScheduled": 1, "numberAvailable": 1, "observedGeneration": 1}
    plan = sync(ds, nodes(1), [make_pod("p0", "node-0", h)])
    assert plan.status_changed and plan.status["observedGeneration"] == 2


@pytest.mark.parametrize("pod_spec,labels,expected", [
    ({"nodeSelector": {"color": "blue"}}, {"node-0": {"color": "blue"}, "node-2": {"color": "blue"}},
     ["node-0", "node-2"]),
    ({"nodeSelector": {"color": "blue"}}, {}, []),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "color", "operator": "NotIn", "values": ["red"]}]}]}}}},
     {"node-1": {"color": "red"}}, ["node-0", "node-2"]),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-1"]}]}]}}}},
     {}, ["node-1"]),
    ({"nodeName": "node-2"}, {}, ["node-2"]),
])
def test_placement_constraints(pod_spec, labels, expected):
    ns = [make_node(f"node-{i}", labels=labels.get(f"node-{i}")) for i in range(3)]
    plan = sync(make_ds(**pod_spec), ns, [])
    assert plan.creates == expected
    assert plan.status["desiredNumberScheduled"] == len(expected)


def test_taints_no_schedule_vs_no_execute():
    ds = make_ds()
    h = hash_of(ds)
    ns = [
        make_node("clean"),
        make_node("noschedule-empty", taints=[{"key": "k", "effect": "NoSchedule"}]),
        make_node("noschedule-busy", taints=[{"key": "k", "effect": "NoSchedule"}]),
        make_node("noexecute-busy", taints=[{"key": "k", "effect": "NoExecute"}]),
        make_node("cordoned", taints=[{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]),
        make_node("not-ready", taints=[{"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}]),
    ]
    pods = [make_pod("keep", "noschedule-busy", h), make_pod("evict", "noexecute-busy", h)]
    plan = sync(ds, ns, pods)
    assert plan.creates == ["clean", "cordoned", "not-ready"]
    assert reasons(plan) == {"evict": DELETE_NOT_ELIGIBLE}
    assert plan.status["desiredNumberScheduled"] == 3
    assert plan.status["numberMisscheduled"] == 2


def test_node_selector_change_moves_pods():
    ds = make_ds(nodeSelector={"color": "blue"})
    h = hash_of(ds)
    ns = [make_node("a", labels={"color": "blue"}), make_node("b", labels={"color": "green"})]
    plan = sync(ds, ns, [make_pod("on-b", "b", h)])
    assert plan.creates == ["a"]
    assert reasons(plan) == {"on-b": DELETE_NOT_ELIGIBLE}


def test_duplicate_pods_keep_the_oldest_bound():
    ds = make_ds()
    h = hash_of(ds)
    pods = [
        make_pod("young", "node-0", h, age=10),
        make_pod("old", "node-0", h, age=50),
        make_pod("unbound-oldest", "node-0", h, age=90, bound=False),
        make_pod("b-twin", "node-1", h, age=30),
        make_pod("a-twin", "node-1", h, age=30),  # same age: name breaks the tie
    ]
    plan = sync(ds, nodes(2), pods)
    assert reasons(plan) == {"young": DELETE_DUPLICATE, "unbound-oldest": DELETE_DUPLICATE,
                             "b-twin": DELETE_DUPLICATE}
    assert plan.creates == []


def test_deleting_pods_block_creation_but_terminal_deleting_do_not():
    ds = make_ds()
    h = hash_of(ds)
    pods = [
        make_pod("terminating", "node-0", h, deleting=True),
        make_pod("gone", "node-1", h, deleting=True, phase="Succeeded"),
    ]
    plan = sync(ds, nodes(2), pods)
    assert plan.creates == ["node-1"]
    assert plan.deletes == []
    assert plan.status["currentNumberScheduled"] == 1  # terminating pods still count


def test_failed_pod_deleted_with_event_and_backoff():
    ds = make_ds(status={"observedGeneration": 1})
    h = hash_of(ds)
    pods = [make_pod("bad", "node-0", h, phase="Failed", ready=False)]
    plan = sync(ds, nodes(1), pods)
    assert reasons(plan) == {"bad": DELETE_FAILED}
    assert plan.events == [Event("Warning", "FailedDaemonPod",
                                 "Found failed daemon pod default/bad on node node-0, will try to kill it")]
    key = failed_backoff_key(ds, "node-0")
    assert key == "ds-uid/1/node-0"
    assert plan.failed_backoff == {key: (1.0, NOW)}

    # The replacement fails too, half a second later: in backoff, so not deleted; requeued.
    again = sync(ds, nodes(1), [make_pod("bad2", "node-0", h, phase="Failed", ready=False)],
                 now=NOW + 0.5, backoff=plan.failed_backoff)
    assert again.deletes == [] and again.events == []
    assert again.requeue_after == 1.0
    assert again.failed_backoff == plan.failed_backoff

    # After the delay it is deleted and the delay doubles, up to 15 minutes.
    later = sync(ds, nodes(1), [make_pod("bad2", "node-0", h, phase="Failed", ready=False)],
                 now=NOW + 2, backoff=again.failed_backoff)
    assert deleted(later) == ["bad2"]
    assert later.failed_backoff[key] == (2.0, NOW + 2)
    capped = sync(ds, nodes(1), [make_pod("bad3", "node-0", h, phase="Failed", ready=False)],
                  now=NOW + 5000, backoff={key: (900.0, NOW + 4000)})
    assert capped.failed_backoff[key] == (900.0, NOW + 5000)
    # idle for more than 30 minutes: starts over
    reset = sync(ds, nodes(1), [make_pod("bad4", "node-0", h, phase="Failed", ready=False)],
                 now=NOW + 10_000, backoff={key: (900.0, NOW)})
    assert reset.failed_backoff[key] == (1.0, NOW + 10_000)


def test_failed_backoff_is_not_mutated_and_gc():
    state = {"a": (1.0, NOW), "b": (900.0, NOW - 4000)}
    before = dict(state)
    ds = make_ds()
    sync(ds, nodes(1), [make_pod("bad", "node-0", hash_of(ds), phase="Failed")], backoff=state)
    assert state == before
    assert gc_failed_backoff(state, NOW) == {"a": (1.0, NOW)}


def test_succeeded_pod_deleted_with_event():
    ds = make_ds()
    plan = sync(ds, nodes(1), [make_pod("done", "node-0", hash_of(ds), phase="Succeeded", ready=False)])
    assert reasons(plan) == {"done": DELETE_SUCCEEDED}
    assert plan.events == [Event("Normal", "SucceededDaemonPod",
                                 "Found succeeded daemon pod default/done on node node-0, will try to delete it")]


def test_unscheduled_pods_for_missing_nodes_are_deleted():
    ds = make_ds()
    h = hash_of(ds)
    pods = [make_pod("pending", "ghost", h, bound=False), make_pod("bound", "ghost2", h)]
    plan = sync(ds, nodes(1), pods + [make_pod("p0", "node-0", h)])
    assert reasons(plan) == {"pending": DELETE_NODE_MISSING}  # bound ones are pod GC's job
    assert plan.status["currentNumberScheduled"] == 1


def test_burst_replicas_caps_creates_and_deletes():
    plan = sync(make_ds(), nodes(300), [])
    assert len(plan.creates) == 250 and plan.creates[0] == "node-0"
    plan = sync(make_ds(), nodes(10), [], burst_replicas=3)
    assert plan.creates == ["node-0", "node-1", "node-2"]


def test_selecting_all_stops_with_warning():
    ds = make_ds()
    ds["spec"]["selector"] = {}
    plan = sync(ds, nodes(2), [])
    assert plan.events == [Event("Warning", "SelectingAll",
                                 "This daemon set is selecting all pods. A non-empty selector is required.")]
    assert plan.creates == [] and plan.status is None and not plan.status_changed


def test_deleting_daemonset_is_inert():
    ds = make_ds()
    ds["metadata"]["deletionTimestamp"] = iso(NOW)
    plan = sync(ds, nodes(2), [])
    assert plan.creates == [] and plan.status is None and plan.revision_create is None


def test_invalid_selector_is_an_error():
    ds = make_ds()
    ds["spec"]["selector"] = {"matchExpressions": [{"key": "a", "operator": "Bogus"}]}
    plan = sync(ds, nodes(1), [])
    assert plan.errors and plan.creates == [] and plan.status is None


def test_unsatisfied_expectations_only_update_status():
    ds = make_ds(generation=3, status={"observedGeneration": 2})
    plan = sync(ds, nodes(2), [], revisions=[], expectations_satisfied=False)
    assert plan.creates == [] and plan.deletes == []
    assert plan.revision_create is not None  # history is still built first
    assert plan.status["observedGeneration"] == 2
    assert plan.status["desiredNumberScheduled"] == 2
    assert plan.status_changed


def test_claiming_adopts_orphans_and_releases_strays():
    ds = make_ds()
    h = hash_of(ds)
    orphan = make_pod("orphan", "node-0", h, owner=None)
    stray = make_pod("stray", "node-1", h, labels={"app": "other"})
    foreign = make_pod("foreign", "node-1", h, owner="someone-else")
    orphan_deleting = make_pod("orphan-deleting", "node-1", h, owner=None, deleting=True)
    plan = sync(ds, nodes(2), [orphan, stray, foreign, orphan_deleting])
    assert plan.adopt_pods == [ObjectRef("orphan", "uid-orphan")]
    assert plan.release_pods == [ObjectRef("stray", "uid-stray")]
    assert plan.creates == ["node-1"]  # node-0 has the adopted pod
    assert plan.status["updatedNumberScheduled"] == 1  # adopted pod with the current hash counts


def test_revisions_are_claimed_too():
    ds = make_ds()
    rev = revision_of(ds)
    del rev["metadata"]["ownerReferences"]
    plan = sync(ds, nodes(1), [], revisions=[rev])
    assert plan.adopt_revisions == [ObjectRef(rev["metadata"]["name"], "")]
    assert plan.revision_create is None


# ----------------------------------------------------------- rolling update

def old_and_new(n_nodes=5, strategy=None, min_ready=0, ready=True, ready_for=None):
    v1 = make_ds(strategy=strategy, min_ready=min_ready)
    v2 = make_ds(strategy=strategy, min_ready=min_ready, image="img:2", generation=2, template_generation=2)
    h1 = hash_of(v1)
    pods = [make_pod(f"old-{i}", f"node-{i}", h1, ready=ready, ready_for=ready_for, template_generation=1)
            for i in range(n_nodes)]
    revisions = [revision_of(v1, 1), revision_of(v2, 2)]
    return v1, v2, pods, revisions


def test_template_unchanged_no_rolling():
    v1, _, pods, _ = old_and_new(strategy=rolling(3))
    plan = sync(v1, nodes(5), pods)
    assert plan.deletes == [] and plan.creates == []


@pytest.mark.parametrize("max_unavailable,expected_deletes", [
    (1, 1), (2, 2), (5, 5), (9, 5), ("20%", 1), ("30%", 2), ("50%", 3), ("100%", 5),
    (0, 1),  # both zero (an impossible spec): maxUnavailable falls back to 1
])
def test_non_surge_budget(max_unavailable, expected_deletes):
    _, v2, pods, revs = old_and_new(strategy=rolling(max_unavailable, 0))
    plan = sync(v2, nodes(5), pods, revs)
    assert plan.rolling
    assert len(plan.deletes) == expected_deletes
    assert {d.reason for d in plan.deletes} == {DELETE_ROLLING_UPDATE}
    assert plan.creates == []
    assert plan.status["updatedNumberScheduled"] == 0


def test_non_surge_counts_unavailable_new_pods_and_empty_nodes():
    _, v2, pods, revs = old_and_new(strategy=rolling(3))
    h2 = hash_of(v2)
    pods[0] = make_pod("new-0", "node-0", h2, ready=False)  # new, not ready: unavailable
    pods[1] = make_pod("new-1", "node-1", h2)  # new, available
    del pods[2]  # empty node: unavailable (manage would create... but see below)
    plan = sync(v2, nodes(5), pods, revs)
    assert plan.creates == ["node-2"] and plan.deletes == []  # manage acts first, rolling waits
    pods.append(make_pod("new-2", "node-2", h2, ready=False))
    plan = sync(v2, nodes(5), pods, revs)
    assert deleted(plan) == ["old-3"]  # 2 unavailable, budget 3: one more


def test_non_surge_old_unavailable_pods_replaced_regardless_of_budget():
    _, v2, pods, revs = old_and_new(strategy=rolling(1), ready=False)
    plan = sync(v2, nodes(5), pods, revs)
    assert deleted(plan) == [f"old-{i}" for i in range(5)]


def test_non_surge_deletes_wait_for_new_pods():
    _, v2, pods, revs = old_and_new(strategy=rolling(2))
    h2 = hash_of(v2)
    pods[0] = make_pod("new-0", "node-0", h2, ready=False)
    pods[1] = make_pod("new-1", "node-1", h2, ready=False)
    plan = sync(v2, nodes(5), pods, revs)
    assert plan.deletes == [] and plan.creates == []


def test_updated_by_template_generation_label():
    _, v2, pods, revs = old_and_new(strategy=rolling(5))
    legacy = make_pod("legacy", "node-0", hash="somethingelse", template_generation=2)
    pods[0] = legacy
    plan = sync(v2, nodes(5), pods, revs)
    assert "legacy" not in deleted(plan)
    assert plan.status["updatedNumberScheduled"] == 1


def test_min_ready_seconds_availability():
    _, v2, pods, revs = old_and_new(strategy=rolling(1), min_ready=30, ready_for=10)
    # Old pods Ready for only 10s of the 30s: not available -> all replaced right away.
    plan = sync(v2, nodes(5), pods, revs)
    assert len(plan.deletes) == 5
    assert plan.status["numberReady"] == 5 and plan.status["numberAvailable"] == 0
    assert plan.requeue_after == 30.0

    _, v2, pods, revs = old_and_new(strategy=rolling(1), min_ready=30, ready_for=31)
    plan = sync(v2, nodes(5), pods, revs)
    assert len(plan.deletes) == 1
    assert plan.status["numberAvailable"] == 5 and plan.requeue_after is None


def test_on_delete_never_deletes_old_pods():
    strategy = {"type": "OnDelete"}
    _, v2, pods, revs = old_and_new(strategy=strategy)
    plan = sync(v2, nodes(5), pods, revs)
    assert plan.deletes == [] and plan.creates == [] and not plan.rolling
    assert plan.status["updatedNumberScheduled"] == 0
    # a deleted pod comes back from the new template
    plan = sync(v2, nodes(5), pods[1:], revs)
    assert plan.creates == ["node-0"] and plan.hash == hash_of(v2)


@pytest.mark.parametrize("max_surge,expected", [(1, 1), (2, 2), ("20%", 1), ("30%", 2), ("100%", 5)])
def test_surge_creates_within_budget(max_surge, expected):
    _, v2, pods, revs = old_and_new(strategy=rolling(0, max_surge))
    plan = sync(v2, nodes(5), pods, revs)
    assert plan.rolling and plan.deletes == []
    assert plan.creates == [f"node-{i}" for i in range(expected)]


def test_surge_states_per_node():
    _, v2, pods, revs = old_and_new(strategy=rolling(0, 2))
    h2 = hash_of(v2)
    pods += [
        make_pod("new-0", "node-0", h2, ready=False, age=5),  # surging, not yet available
        make_pod("new-1", "node-1", h2, age=5),  # available: manage removes the old pod
    ]
    plan = sync(v2, nodes(5), pods, revs)
    assert reasons(plan) == {"old-1": DELETE_SURGE_REPLACED}
    assert plan.creates == [] and not plan.rolling
    # once old-1 is gone, the rolling step may surge once more (2 - 1 surging)
    pods = [p for p in pods if p["metadata"]["name"] != "old-1"]
    plan = sync(v2, nodes(5), pods, revs)
    assert plan.rolling and plan.creates == ["node-2"] and plan.deletes == []


def test_surge_old_not_ready_replaced_outside_budget():
    _, v2, pods, revs = old_and_new(strategy=rolling(0, 1), ready=False)
    plan = sync(v2, nodes(5), pods, revs)
    assert plan.creates == [f"node-{i}" for i in range(5)]


def test_surge_manage_prunes_to_one_old_and_one_new():
    _, v2, pods, revs = old_and_new(n_nodes=1, strategy=rolling(0, 1))
    h1, h2 = pods[0]["metadata"]["labels"][HASH_LABEL], hash_of(v2)
    pods += [make_pod("old-b", "node-0", h1, age=50), make_pod("new-a", "node-0", h2, age=20, ready=False),
             make_pod("new-b", "node-0", h2, age=10, ready=False)]
    plan = sync(v2, nodes(1), pods, revs)
    assert reasons(plan) == {"old-b": DELETE_DUPLICATE, "new-b": DELETE_DUPLICATE}
    # old pod no longer ready: replaced even though the new one is not available
    pods = [make_pod("old-0", "node-0", h1, ready=False), make_pod("new-a", "node-0", h2, ready=False)]
    plan = sync(v2, nodes(1), pods, revs)
    assert reasons(plan) == {"old-0": DELETE_SURGE_REPLACED}


def test_surge_protects_availability_when_nodes_become_ineligible():
    # maxSurge 1; node-0 and node-1 gain a NoSchedule taint (pods keep running) and the
    # template moves. Old pods there are only deleted as pods elsewhere become available.
    v1 = make_ds(strategy=rolling(0, 1))
    v2 = make_ds(strategy=rolling(0, 1), image="img:2", generation=2, template_generation=2)
    h1, h2 = hash_of(v1), hash_of(v2)
    revs = [revision_of(v1, 1), revision_of(v2, 2)]
    taint = [{"key": "k", "effect": "NoSchedule"}]
    ns = [make_node("node-0", taints=taint), make_node("node-1", taints=taint)] + [
        make_node(f"node-{i}") for i in range(2, 4)]
    pods = [make_pod(f"old-{i}", f"node-{i}", h1) for i in range(4)]
    plan = sync(v2, ns, pods, revs)
    # available 4, desired 2: two ineligible old pods may go; surge one new pod
    assert reasons(plan) == {"old-0": DELETE_ROLLING_UPDATE, "old-1": DELETE_ROLLING_UPDATE}
    assert plan.creates == ["node-2"]

    # node-3's old pod is not ready: available 3 vs desired 2, so only one of the two
    # ineligible old pods may go; node-3 gets its new pod outside the surge budget.
    pods = [make_pod(f"old-{i}", f"node-{i}", h1, ready=i != 3) for i in range(4)]
    plan = sync(v2, ns, pods, revs)
    assert reasons(plan) == {"old-0": DELETE_ROLLING_UPDATE}
    assert plan.creates == ["node-3", "node-2"]

    pods = [make_pod(f"old-{i}", f"node-{i}", h1) for i in range(3)] + [make_pod("new-3", "node-3", h2)]
    ns = [make_node("node-0", taints=taint)] + [make_node(f"node-{i}") for i in range(1, 4)]
    plan = sync(v2, ns, pods, revs)
    # available 4 vs desired 3: the pod on the ineligible node may go
    assert reasons(plan) == {"old-0": DELETE_ROLLING_UPDATE}


def test_surge_ineligible_unavailable_old_pod_deleted():
    v1 = make_ds(strategy=rolling(0, 1))
    v2 = make_ds(strategy=rolling(0, 1), image="img:2", generation=2, template_generation=2)
    revs = [revision_of(v1, 1), revision_of(v2, 2)]
    ns = [make_node("node-0", taints=[{"key": "k", "effect": "NoSchedule"}])]
    plan = sync(v2, ns, [make_pod("old-0", "node-0", hash_of(v1), ready=False)], revs)
    assert reasons(plan) == {"old-0": DELETE_ROLLING_UPDATE} and plan.creates == []


def test_surge_old_pod_on_unknown_node_is_an_error():
    _, v2, pods, revs = old_and_new(n_nodes=2, strategy=rolling(0, 1))
    plan = sync(v2, nodes(1), pods, revs)  # node-1 is gone, its bound pod lingers
    assert plan.errors and plan.creates == [] and plan.deletes == []
    assert plan.history_cleanup == [] and plan.status is not None


def test_invalid_budget_is_an_error():
    _, v2, pods, revs = old_and_new(strategy=rolling("abc%", 0))
    plan = sync(v2, nodes(5), pods, revs)
    assert plan.errors and plan.deletes == []


# -------------------------------------------------------------------- status

def test_status_counters_from_first_pod():
    ds = make_ds(min_ready=10)
    h = hash_of(ds)
    ns = nodes(6) + [make_node("tainted", taints=[{"key": "k", "effect": "NoSchedule"}])]
    pods = [
        make_pod("a", "node-0", h),  # ready, available, updated
        make_pod("b", "node-1", h, ready_for=5),  # ready, not yet available
        make_pod("c", "node-2", "oldhash"),  # ready+available, not updated
        make_pod("d", "node-3", h, ready=False),  # not ready
        make_pod("e-old", "node-4", h, age=500),  # first of two: counts
        make_pod("e-new", "node-4", "oldhash", age=1, ready=False),
        make_pod("m", "tainted", h),  # misscheduled
        make_pod("ghost", "nowhere", h),  # unknown node: not counted
    ]
    plan = sync(ds, ns, pods)
    assert {k: plan.status[k] for k in (
        "desiredNumberScheduled", "currentNumberScheduled", "numberMisscheduled", "numberReady",
        "updatedNumberScheduled", "numberAvailable", "numberUnavailable")} == {
        "desiredNumberScheduled": 6, "currentNumberScheduled": 5, "numberMisscheduled": 1, "numberReady": 4,
        "updatedNumberScheduled": 4, "numberAvailable": 3, "numberUnavailable": 3}
    assert plan.requeue_after == 10.0


def test_status_keeps_collision_count_and_conditions():
    ds = make_ds(status={"collisionCount": 2, "conditions": [{"type": "X", "status": "True"}]})
    plan = sync(ds, nodes(1), [], revisions=[])
    assert plan.status["collisionCount"] == 2 and plan.status["conditions"][0]["type"] == "X"
    assert plan.hash == compute_hash(ds["spec"]["template"], 2)


# ------------------------------------------------------------------- history

def test_history_cleanup_in_plan_keeps_hashes_in_use():
    versions = [make_ds(image=f"img:{i}", template_generation=i) for i in range(1, 6)]
    current = versions[-1]
    current["spec"]["revisionHistoryLimit"] = 1
    revs = [revision_of(v, i + 1) for i, v in enumerate(versions)]
    pods = [make_pod("p1", "node-0", hash_of(versions[0])),  # v1 still running
            make_pod("p3", "node-1", hash_of(versions[2]), phase="Failed", deleting=True)]  # terminal, kept
    plan = sync(current, nodes(2), pods, revs)
    assert plan.history_cleanup == [revs[1]["metadata"]["name"], revs[3]["metadata"]["name"]]
    assert revs[4]["metadata"]["name"] not in plan.history_cleanup


def test_rollback_reuses_old_revision():
    v1 = make_ds(image="img:1")
    v2 = make_ds(image="img:2")
    revs = [revision_of(v1, 1), revision_of(v2, 2)]
    back = make_ds(image="img:1", generation=3, template_generation=3)
    pods = [make_pod("p", "node-0", hash_of(v1), template_generation=1)]
    plan = sync(back, nodes(1), pods, revs)
    assert plan.revision_create is None
    assert plan.hash == hash_of(v1)
    assert [(u["metadata"]["name"], u["revision"]) for u in plan.revision_updates] == [
        (revs[0]["metadata"]["name"], 3)]
    assert plan.deletes == [] and plan.status["updatedNumberScheduled"] == 1  # no restart


def test_duplicate_current_revisions_relabel_pods():
    ds = make_ds()
    a = new_revision(ds, "aaa", 1)
    b = new_revision(ds, "bbb", 2)
    pods = [make_pod("p", "node-0", "aaa")]
    plan = sync(ds, nodes(1), pods, [a, b])
    assert plan.hash == "bbb"
    assert plan.revision_deletes == [a["metadata"]["name"]]
    assert plan.relabel_pods == ["p"]


def test_plan_is_pure():
    _, v2, pods, revs = old_and_new(strategy=rolling(0, 1))
    snapshot = copy.deepcopy((v2, pods, revs))
    sync(v2, nodes(5), pods, revs)
    assert (v2, pods, revs) == snapshot


# ------------------------------------------------------- whole-rollout model

class World:
    """An in-memory cluster: plans are applied at once; new pods turn Ready a few steps later."""

    def __init__(self, ds, node_list, seed):
        self.ds, self.nodes, self.rng = ds, node_list, random.Random(seed)
        self.pods: dict[str, dict] = {}
        self.revisions: list[dict] = []
        self.now = NOW
        self.names = itertools.count()
        self.ready_at: dict[str, float] = {}

    def step(self):
        for name, pod in self.pods.items():
            if not pod["status"]["conditions"] and self.ready_at[name] <= self.now:
                pod["status"] = {"phase": "Running", "conditions": [
                    {"type": "Ready", "status": "True", "lastTransitionTime": iso(self.now)}]}
        plan = plan_sync(self.ds, self.nodes, list(self.pods.values()), self.revisions, self.now, {})
        assert not plan.errors
        if plan.revision_create:
            self.revisions.append(plan.revision_create)
        for upd in plan.revision_updates:
            self.revisions = [upd if r["metadata"]["name"] == upd["metadata"]["name"] else r
                              for r in self.revisions]
        for d in plan.deletes:
            del self.pods[d.name]
        for node in plan.creates:
            pod = new_pod(self.ds, node, plan.hash, plan.template_generation)
            name = f"pod-{next(self.names)}"
            pod["metadata"].update(name=name, uid=name, creationTimestamp=iso(self.now))
            pod["spec"]["nodeName"] = node
            pod["status"] = {"phase": "Pending", "conditions": []}
            self.pods[name] = pod
            self.ready_at[name] = self.now + self.rng.randint(1, 3)
        self.ds["status"] = plan.status
        self.now += 1
        return plan

    def per_node(self):
        out: dict[str, list[dict]] = {}
        for pod in self.pods.values():
            out.setdefault(pod["spec"]["nodeName"], []).append(pod)
        return out

    def available_nodes(self):
        return sum(1 for pods in self.per_node().values()
                   if any(p["status"]["conditions"] for p in pods))

    def updated_nodes(self, hash):
        return sum(1 for pods in self.per_node().values()
                   if len(pods) == 1 and pods[0]["metadata"]["labels"][HASH_LABEL] == hash
                   and pods[0]["status"]["conditions"])


def launch(world):
    for _ in range(20):
        plan = world.step()
        if not plan.creates and not plan.deletes and world.available_nodes() == len(world.nodes):
            return
    raise AssertionError("initial launch did not converge")


@pytest.mark.parametrize("strategy,budget", [
    (rolling(1, 0), 1), (rolling(3, 0), 3), (rolling("25%", 0), 5), (rolling("10%", 0), 2),
    (rolling(0, 1), 1), (rolling(0, 4), 4), (rolling(0, "10%"), 2), (rolling(0, "100%"), 20),
])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_whole_rolling_update_respects_budgets_and_converges(strategy, budget, seed):
    n = 20
    world = World(make_ds(strategy=strategy), nodes(n), seed)
    launch(world)
    world.ds = make_ds(strategy=strategy, image="img:2", generation=2, template_generation=2,
                       status=world.ds["status"])
    target = hash_of(world.ds)
    surge = strategy["rollingUpdate"]["maxSurge"] != 0
    for _ in range(400):
        plan = world.step()
        per_node = world.per_node()
        if surge:
            assert max(len(p) for p in per_node.values()) <= 2
            assert sum(1 for p in per_node.values() if len(p) == 2) <= budget
            assert world.available_nodes() == n  # surge never gives up availability
        else:
            assert max(len(p) for p in per_node.values()) == 1
            assert n - world.available_nodes() <= budget
        if not plan.creates and not plan.deletes and world.updated_nodes(target) == n:
            break
    else:
        raise AssertionError("rollout did not converge")
    assert world.ds["status"]["updatedNumberScheduled"] == n
    assert len(world.revisions) == 2


# ------------------------------------------------------- everynode extension


@pytest.mark.parametrize("annotation,expect_rolling", [("true", False), ("false", True), (None, True)])
def test_paused_rollout_replaces_nothing(annotation, expect_rolling):
    _, v2, pods, revs = old_and_new(strategy=rolling(2, 0))
    if annotation is not None:
        v2["metadata"]["annotations"]["everynode.io/rollout-paused"] = annotation
    plan = sync(v2, nodes(5), pods, revs)
    assert plan.rolling is expect_rolling
    assert (len(plan.deletes) == 2) is expect_rolling


def test_paused_rollout_still_places_pods_on_new_nodes():
    _, v2, pods, revs = old_and_new(strategy=rolling(2, 0))
    v2["metadata"]["annotations"]["everynode.io/rollout-paused"] = "true"
    plan = sync(v2, nodes(6), pods, revs)
    assert plan.creates == ["node-5"] and plan.deletes == []
